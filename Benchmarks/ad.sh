#!/usr/bin/env bash
# Active Directory benchmarks against a throwaway Samba AD DC on 127.0.0.1:389 (needs root or sudo).
# 1. Read USERS AD users (and their 3,000-member-style all-staff group, read in ranges) with `mixer-sync test-query
#    --json` and with `ldapsearch -E pr=1000/noprompt` running the same searches, alternating, medians of RUNS:
#    `ratio mixer-sync/ldapsearch (AD): X.XX` (target ≤ 1.10).
# 2. Offboarding through uSNChanged polling: the daemon (poll interval POLL_MS) with the first 50 AD users in the
#    sandbox; LEAVERS of them disabled one at a time (userAccountControl 546); each latency from the moment before
#    ldapmodify to the sandbox receiving the deactivation: `offboarding p95 (AD): N ms, poll interval: N ms`
#    (target p95 ≤ 2 × the interval).
# usage: Benchmarks/ad.sh [USERS=20000] [RUNS=3] [LEAVERS=20] [POLL_MS=1000]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
USERS=${1:-20000}
RUNS=${2:-3}
LEAVERS=${3:-20}
POLL_MS=${4:-1000}

source Benchmarks/lib.sh
bench_release_build mixer-sync mixerai-sandbox

source scripts/lib/slapd.sh
source scripts/lib/samba.sh
WORK=$(mktemp -d /tmp/mixer-sync-ad-bench.XXXXXX)
SANDBOX_PID=""
DAEMON_PID=""
cleanup() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null
  samba_stop "$WORK/ad"
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "== a Samba AD DC with $USERS users (loading takes a few minutes)"
samba_start "$WORK/ad" "$USERS"
cat > "$WORK/ad.toml" <<TOML
[directory]
url = "ldap://127.0.0.1"
flavor = "active-directory"
bind_dn = "CN=Administrator,CN=Users,DC=example,DC=test"
bind_password_file = "$MIXER_SYNC_TEST_AD_PASSWORD_FILE"
page_size = 1000
timeout = "60s"

[[directory.users]]
name = "staff"
base = "OU=People,DC=example,DC=test"
filter = "(&(objectClass=user)(!(objectClass=computer)))"

[directory.groups]
base = "OU=Groups,DC=example,DC=test"

[[roles]]
group = "CN=editors,OU=Groups,DC=example,DC=test"
role = "Editor"
brand = "Brand A"
TOML

echo "== 1. reading $USERS users: mixer-sync test-query vs ldapsearch (the same searches), $RUNS runs each"
bench_ldapsearch_script "$BIN/mixer-sync" "$WORK/ad.toml" "$WORK/ldapsearch.sh"
"$BIN/mixer-sync" test-query --json --config "$WORK/ad.toml" > /dev/null   # warm-up
bash "$WORK/ldapsearch.sh"
: > "$WORK/ms.txt"; : > "$WORK/ls.txt"
for _ in $(seq 1 "$RUNS"); do
  /usr/bin/time -f "%e %M" -o "$WORK/t" "$BIN/mixer-sync" test-query --json --config "$WORK/ad.toml" > /dev/null; cat "$WORK/t" >> "$WORK/ms.txt"
  /usr/bin/time -f "%e %M" -o "$WORK/t" bash "$WORK/ldapsearch.sh"; cat "$WORK/t" >> "$WORK/ls.txt"
done
python3 - "$WORK" <<'PY'
import statistics, sys
d = sys.argv[1]
def med(name):
    rows = [tuple(float(x) for x in l.split()) for l in open(f"{d}/{name}.txt") if l.strip()]
    return statistics.median(r[0] for r in rows), max(r[1] for r in rows)
ms, rss = med("ms"); ls, _ = med("ls")
print(f"mixer-sync test-query: median {ms:.2f} s, peak RSS {rss/1024:.0f} MiB; ldapsearch: median {ls:.2f} s")
print(f"ratio mixer-sync/ldapsearch (AD): {ms / ls:.2f}")
PY

echo "== 2. offboarding through uSNChanged polling (poll every $POLL_MS ms), $LEAVERS leavers one at a time"
python3 - > "$WORK/seed.json" <<'PY'
import json
users = [{"email": "mixer-sync@example.com", "password": "sandbox-password", "full_name": "mixer-sync",
          "role": "admin", "global_role": "admin"}]
for i in range(1, 51):
    users.append({"email": f"ad{i:05d}@example.test", "full_name": f"Ad User {i}", "job_title": "Engineer",
                  "company": "Example Ltd", "role": "editor", "global_role": "editor", "brands": {"Brand A": "editor"}})
json.dump({"brands": [{"name": "Brand A"}], "users": users}, open("/dev/stdout", "w"))
PY
bench_sandbox "$BIN" "$WORK" --api-limit 10000000 --sensitive-limit 1000000
printf 'sandbox-password\n' > "$WORK/mixerai-password"
chmod 600 "$WORK/mixerai-password"
MPORT=$(free_port)
sed 's/(&(objectClass=user)(!(objectClass=computer)))/(\&(objectClass=user)(sAMAccountName=ad000*))/' "$WORK/ad.toml" > "$WORK/daemon.toml"
{ echo; bench_mixerai_config "$SPORT"; cat <<TOML

[policy]
max_deactivations = 1000
max_deactivations_percent = 100
max_shrink_percent = 100

[state]
directory = "$WORK/state"

[report]
directory = "$WORK/reports"
formats = ["json"]

[daemon]
full_sync_interval = "1h"
change_feed = "usn"
usn_poll_interval = "${POLL_MS}ms"
metrics_listen = "127.0.0.1:$MPORT"
TOML
} >> "$WORK/daemon.toml"
MALLOC_ARENA_MAX=2 "$BIN/mixer-sync" run --config "$WORK/daemon.toml" 2> "$WORK/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 1 600); do grep -q "full reconcile" "$WORK/daemon.log" && grep -q "polling uSNChanged" "$WORK/daemon.log" && break; sleep 0.1; done
python3 - "$LEAVERS" "$WORK" "$MIXER_SYNC_TEST_AD_PASSWORD_FILE" <<'PY'
import json, random, subprocess, sys, time
leavers, work, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
random.seed(3)
# ad00001…ad00099 are in the daemon's scope; skip the ones the DC already has disabled or expired.
picked = random.sample([i for i in range(1, 50) if i % 500 and i % 700], leavers)
started = {}
for i in picked:
    email = f"ad{i:05d}@example.test"
    ldif = f"dn: CN=ad{i:05d},OU=People,DC=example,DC=test\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 546\n"
    started[email] = time.time()
    subprocess.run(["ldapmodify", "-x", "-H", "ldap://127.0.0.1", "-D", "Administrator@example.test", "-y", pw],
                   input=ldif.encode(), check=True, stdout=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline and f"user.email={email}" not in open(f"{work}/daemon.log", errors="replace").read():
        time.sleep(0.01)
    time.sleep(random.uniform(0.2, 0.8))
json.dump(started, open(f"{work}/started.json", "w"))
PY
python3 - "$SPORT" "$WORK" "$POLL_MS" <<'PY'
import datetime, json, sys, urllib.request
sport, work, poll = sys.argv[1], sys.argv[2], int(sys.argv[3])
started = json.load(open(f"{work}/started.json"))
state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sport}/__sandbox/state"))
email_by_id = {u["id"]: u["email"] for u in state["users"]}
at = lambda t: datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
received = {}
for r in json.load(urllib.request.urlopen(f"http://127.0.0.1:{sport}/__sandbox/requests"))["requests"]:
    p = r["path"].split("/")
    if r["method"] == "POST" and len(p) == 5 and p[4] == "deactivate" and r["status"] == 200:
        e = email_by_id.get(p[3])
        if e in started and e not in received:
            received[e] = at(r["time"])
# A leaver never offboarded is a failure, not a missing sample: it counts as an infinite latency.
lat = sorted((received[e] - started[e]) * 1000 if e in received else float("inf") for e in started)
pct = lambda q: lat[min(len(lat) - 1, int(round(q / 100 * (len(lat) - 1))))]
print(f"leavers: {len(started)}, deactivations received: {len(received)}; p50 {pct(50):.0f} ms, max {lat[-1]:.0f} ms")
print(f"offboarding p95 (AD): {pct(95):.0f} ms, poll interval: {poll} ms")
PY
