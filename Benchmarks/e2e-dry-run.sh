#!/usr/bin/env bash
# End-to-end dry run: USERS people in a throwaway slapd and in mixerai-sandbox (limits raised), 1 % churn.
# mixer-sync `plan` (read both sides, recover, plan, gate, write the report and the plan file) against the raw I/O
# floor: ldapsearch running the very searches mixer-sync reports and, **at the same time** (mixer-sync reads both
# sides at once, on the same two cores), one curl (keep-alive) fetching every page of the user list with the same
# session and the same cookies a client holds (MixerAI's CSRF and app-session cookies, which the sandbox checks on
# every request, as MixerAI does). The floor is the wall time of the two together. A `plan` that does not end as
# expected (exit 2: the churn is pending) stops the benchmark: a failed run is never timed. Alternating runs,
# medians; ends with `ratio mixer-sync/io-floor: X.XX, peak RSS: N MiB` (targets ≤ 1.3 and ≤ 256 MiB).
# usage: Benchmarks/e2e-dry-run.sh [USERS=100000] [RUNS=3]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
USERS=${1:-100000}
RUNS=${2:-3}

source Benchmarks/lib.sh
bench_release_build mixer-sync mixerai-sandbox

source scripts/lib/slapd.sh
WORK=$(mktemp -d /tmp/mixer-sync-e2e-bench.XXXXXX)
SANDBOX_PID=""
trap '[ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null; slapd_stop "$WORK/slapd"; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT INT TERM

echo "== $USERS users in slapd and in the sandbox"
bench_slapd "$WORK" "$USERS"
# The sandbox holds the same people with 1 % churn: every 100th is missing (a joiner), every 100th + 50 has
# another role (a mover).
python3 Benchmarks/seed.py "$USERS" --missing-every 100 --mover-every 100 > "$WORK/seed.json"
bench_sandbox "$BIN" "$WORK" --api-limit 10000000 --sensitive-limit 1000000

printf 'mixer-sync-test-password' > "$WORK/bind-password"
printf 'sandbox-password\n' > "$WORK/mixerai-password"
chmod 600 "$WORK/bind-password" "$WORK/mixerai-password"
{ bench_directory_config "$PORT"; cat <<TOML

[[roles]]
group = "cn=all-staff,ou=groups,dc=example,dc=com"
role = "Editor"
brand = "Brand A"

TOML
bench_mixerai_config "$SPORT"; cat <<TOML

[policy]
max_deactivations_percent = 100

[state]
directory = "$WORK/state"

[report]
directory = "$WORK/reports"
formats = ["json", "markdown", "html"]
TOML
} > "$WORK/mixer-sync.toml"

# The floor's two halves: the searches mixer-sync reports, and one curl fetching every list page.
bench_ldapsearch_script "$BIN/mixer-sync" "$WORK/mixer-sync.toml" "$WORK/ldapsearch.sh"
COOKIE=$(sandbox_cookie "$SPORT")
# The first call gives curl's jar the CSRF and app-session cookies, as it does mixer-sync's.
curl -s -c "$WORK/jar" -b "$WORK/jar" -H "Cookie: $COOKIE" "http://127.0.0.1:$SPORT/api/me" -o /dev/null
PAGES=$(( USERS / 100 + 2 ))
: > "$WORK/curl.cfg"
for page in $(seq 1 $PAGES); do
  printf 'url = "http://127.0.0.1:%s/api/users?page=%d&pageSize=100&includeInactive=true"\noutput = "/dev/null"\n' \
    "$SPORT" "$page" >> "$WORK/curl.cfg"
done

# The floor: both reads at once; fails if either fails, or if curl did not get every page.
cat > "$WORK/floor.sh" <<SH
set -e
bash "$WORK/ldapsearch.sh" & ldap=\$!
curl -sf -b "$WORK/jar" -H "Cookie: $COOKIE" -K "$WORK/curl.cfg" -w '%{http_code}\n' > "$WORK/curl.codes"
wait \$ldap
[ "\$(grep -c '^200\$' "$WORK/curl.codes")" -eq $PAGES ]
SH

measure() {  # label, expected exit codes, command... ; appends "wall rss_kib" to $WORK/label.txt
  local label=$1 expect=$2 rc=0; shift 2
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > /dev/null 2> "$WORK/$label.err" || rc=$?
  if [[ " $expect " != *" $rc "* ]]; then
    echo "benchmark stopped: $label exited $rc (expected $expect); this run is not timed" >&2
    tail -5 "$WORK/$label.err" >&2
    exit 1
  fi
  tail -1 "$WORK/time.txt" >> "$WORK/$label.txt"
}

echo "== one warm-up run each (not counted), then $RUNS runs each, alternating"
rc=0; "$BIN/mixer-sync" plan --config "$WORK/mixer-sync.toml" > "$WORK/plan.out" || rc=$?
[ "$rc" -eq 2 ] || { echo "the warm-up plan exited $rc, not 2 (changes pending): $(cat "$WORK/plan.out")" >&2; exit 1; }
python3 - "$WORK/reports/latest.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"plan: outcome {r['outcome']}, {r['snapshot']['people']} people, {r['mixerai']['users']} MixerAI users, "
      f"{len(r['changes'])} changes {dict((k, v) for k, v in r['counts'].items() if v)}, timings {r['timings']}")
PY
bash "$WORK/floor.sh"
[ -n "${PROFILE:-}" ] && perf record -g -o /tmp/plan.perf "$BIN/mixer-sync" plan --config "$WORK/mixer-sync.toml" >/dev/null 2>&1 || true
for i in $(seq 1 "$RUNS"); do
  measure mixer-sync 2 "$BIN/mixer-sync" plan --config "$WORK/mixer-sync.toml"
  measure floor 0 bash "$WORK/floor.sh"
  measure ldapsearch 0 bash "$WORK/ldapsearch.sh"
done

python3 - "$WORK" <<'PY'
import statistics, sys
d = sys.argv[1]
def load(name):
    rows = [tuple(float(x) for x in line.split()) for line in open(f"{d}/{name}.txt") if line.strip()]
    return statistics.median(r[0] for r in rows), max(r[1] for r in rows), len(rows)
ms, rss, n = load("mixer-sync")
floor, _, _ = load("floor")
ls, _, _ = load("ldapsearch")
print(f"mixer-sync plan:  median wall {ms:.2f} s, peak RSS {rss/1024:.0f} MiB ({n} runs)")
print(f"io floor:         ldapsearch and the curl list at the same time {floor:.2f} s (ldapsearch alone {ls:.2f} s)")
print(f"ratio mixer-sync/io-floor: {ms / floor:.2f}, peak RSS: {rss/1024:.0f} MiB")
PY
