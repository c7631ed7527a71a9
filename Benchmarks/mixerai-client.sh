#!/usr/bin/env bash
# Benchmark of the MixerAI client against mixerai-sandbox (started here, on 127.0.0.1, stopped by PID).
#  1. Budget: WRITES writes under a sandbox limit of LIMIT per WINDOW s; prints the fraction of the theoretical
#     budget used and the 429s, as `budget used: 0.NN, 429s: N` (target ≥ 0.95 and 0).
#  2. Read speed: list USERS sandbox users with mixer-sync's client and with the best a user could do with curl:
#     one curl process fetching the same pages over one kept-alive connection, with the same session cookie and a
#     cookie jar (so MixerAI's app session is reused, as the client reuses it); both page counts are checked.
#     Prints `ratio mixer-sync/curl: X.XX (keep-alive, same cookies)` (target ≤ 1.0).
# usage: Benchmarks/mixerai-client.sh [WRITES=200] [USERS=100000]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WRITES=${1:-200}
USERS=${2:-100000}
LIMIT=20
WINDOW=10

source Benchmarks/lib.sh
bench_release_build mixerai-sandbox mixerai-bench
WORK=$(mktemp -d /tmp/mixerai-bench.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT INT TERM

start_sandbox() {  # args…; sets PID and PORT
  rm -f "$WORK/port"
  "$BIN/mixerai-sandbox" --port 0 --port-file "$WORK/port" "$@" > "$WORK/sandbox.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do [ -s "$WORK/port" ] && break; sleep 0.1; done
  PORT=$(cat "$WORK/port")
}

echo "== budget: $WRITES writes, sandbox limit $LIMIT per ${WINDOW}s"
start_sandbox --state "$WORK/budget" --sensitive-limit $LIMIT --sensitive-window $WINDOW
"$BIN/mixerai-bench" budget "http://127.0.0.1:$PORT" "$WRITES" $LIMIT $WINDOW | tee "$WORK/budget.txt"
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""

echo "== read speed: $USERS users"
"$BIN/mixerai-sandbox" generate-seed --users "$USERS" --brands 20 > "$WORK/seed.json"
start_sandbox --state "$WORK/read" --seed "$WORK/seed.json" --api-limit 1000000
MS=()
CURL=()
COOKIE=$(sandbox_cookie "$PORT")
PAGES=$(( (USERS + 1 + 99) / 100 + 1 ))
# The session cookie in a Netscape jar: curl sends it and keeps what MixerAI sets (csrf-token, app-session-id).
printf '127.0.0.1\tFALSE\t/\tFALSE\t0\t%s\t%s\n' "${COOKIE%%=*}" "${COOKIE#*=}" > "$WORK/jar"
for page in $(seq 1 $PAGES); do
  printf 'url = "http://127.0.0.1:%s/api/users?page=%s&pageSize=100&includeInactive=true"\noutput = "/dev/null"\n' \
    "$PORT" "$page"
done > "$WORK/pages.curl"
for run in 1 2 3; do
  line=$("$BIN/mixerai-bench" list "http://127.0.0.1:$PORT")
  [ "$(echo "$line" | awk '{print $2}')" -eq $((USERS + 1)) ] || { echo "mixer-sync listed: $line" >&2; exit 1; }
  MS+=("$(echo "$line" | awk '{print $4}')")
  start=$(date +%s.%N)
  curl -s -b "$WORK/jar" -c "$WORK/jar" -K "$WORK/pages.curl" -w '%{http_code} %{num_connects}\n' > "$WORK/curl.out"
  CURL+=("$(python3 -c "print($(date +%s.%N) - $start)")")
  ok=$(grep -c '^200 ' "$WORK/curl.out"); connects=$(awk '{s+=$2} END {print s}' "$WORK/curl.out")
  [ "$ok" -eq "$PAGES" ] || { echo "curl fetched $ok of $PAGES pages" >&2; exit 1; }
  [ "$connects" -eq 1 ] || echo "note: curl opened $connects connections"
done
python3 - "${MS[*]}" "${CURL[*]}" <<'PY'
import statistics, sys
ms = [float(x) for x in sys.argv[1].split()]
cu = [float(x) for x in sys.argv[2].split()]
print(f"mixer-sync list: median {statistics.median(ms):.2f} s ({len(ms)} runs)")
print(f"curl loop:       median {statistics.median(cu):.2f} s ({len(cu)} runs)")
print(f"ratio mixer-sync/curl: {statistics.median(ms) / statistics.median(cu):.2f} (keep-alive, same cookies)")
PY
grep 'budget used' "$WORK/budget.txt"
