#!/usr/bin/env bash
# Benchmark: read a 100,000-user directory with mixer-sync (the real snapshot path: paged searches, groups,
# mapping, nesting, leaver evidence) and with ldapsearch running the very same searches, side by side,
# alternating, N runs each. Prints median wall, CPU and peak RSS of both, and as its last line
# `ratio mixer-sync/ldapsearch: X.XX` (median wall over median wall).
#
# usage: Benchmarks/ldap-read.sh [USERS] [RUNS]     (defaults 100000 and 5)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
USERS=${1:-100000}
RUNS=${2:-5}

source Benchmarks/lib.sh
bench_release_build mixer-sync
MIXER_SYNC="$BIN/mixer-sync"

source scripts/lib/slapd.sh
WORK=$(mktemp -d /tmp/mixer-sync-bench.XXXXXX)
trap 'slapd_stop "$WORK/slapd"; rm -rf "$WORK"' EXIT INT TERM

echo "== generating and loading $USERS users"
python3 scripts/lib/gen-directory.py --users "$USERS" --no-specials > "$WORK/data.ldif"
slapd_make_instance "$WORK/slapd"
start=$(date +%s.%N)
slapd_load "$WORK/slapd" "$WORK/data.ldif"
echo "slapadd: $(python3 -c "print(f'{$(date +%s.%N) - $start:.2f}')") s"
PORT=$(free_port)
slapd_start "$WORK/slapd" "ldap://127.0.0.1:$PORT/"

printf 'mixer-sync-test-password' > "$WORK/bind-password"
chmod 600 "$WORK/bind-password"
bench_directory_config "$PORT" > "$WORK/mixer-sync.toml"

# The ldapsearch side runs exactly the searches mixer-sync reports it made.
bench_ldapsearch_script "$MIXER_SYNC" "$WORK/mixer-sync.toml" "$WORK/ldapsearch.sh"

measure() {  # label, command... ; appends "wall cpu rss_kib" to $WORK/label.txt
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" "$@" > /dev/null
  awk '{printf "%s %.3f %d\n", $1, $2 + $3, $4}' "$WORK/time.txt" >> "$WORK/$label.txt"
}

echo "== one warm-up run each (not counted), then $RUNS runs each, alternating"
"$MIXER_SYNC" test-query --json --config "$WORK/mixer-sync.toml" > /dev/null
bash "$WORK/ldapsearch.sh"
for i in $(seq 1 "$RUNS"); do
  measure mixer-sync "$MIXER_SYNC" test-query --json --config "$WORK/mixer-sync.toml"
  measure ldapsearch bash "$WORK/ldapsearch.sh"
done

python3 - "$WORK/mixer-sync.txt" "$WORK/ldapsearch.txt" <<'PY'
import statistics, sys
rows = {}
for name, path in (("mixer-sync", sys.argv[1]), ("ldapsearch", sys.argv[2])):
    runs = [tuple(float(x) for x in line.split()) for line in open(path)]
    rows[name] = tuple(statistics.median(r[i] for r in runs) for i in range(3))
    w, c, m = rows[name]
    print(f"{name:11s} median wall {w:.3f} s, cpu {c:.3f} s, peak RSS {m/1024:.1f} MiB  ({len(runs)} runs)")
print(f"ratio mixer-sync/ldapsearch: {rows['mixer-sync'][0] / rows['ldapsearch'][0]:.2f}")
PY
