#!/usr/bin/env bash
# Offboarding latency through the change feed, under load. USERS people in a throwaway slapd (syncprov); the
# sandbox holds all but every 10th of them (so the daemon's first full run queues USERS/10 invites) and lets
# through 10 writes a second, so the invites take minutes to drain. Then LEAVERS people are disabled one at a time
# (employeeType=terminated, the config's disabled_filter); each latency runs from the moment before ldapmodify to
# the sandbox receiving `POST /api/users/{id}/deactivate` (its request log, same clock). Prints p50 / p95 / max,
# ending with `offboarding p95: N ms` (target ≤ 1000). Then the idle cost over 60 s once the queue is empty:
# `idle: X.X% cpu, N MiB` (targets < 0.5 % and < 64 MiB). Last, with MixerAI's write budget exhausted (0 left, reset an
# hour away), REVOKED more leavers who can sign in: each latency runs from the moment before ldapmodify to the
# sandbox's GoTrue applying the ban (its request log, same clock: from then on it refuses the password grant, which
# is polled every 50 ms to prove it, and the refresh grant): `sign-in revoked p95: N ms (budget exhausted)` (target
# ≤ 1000); no MixerAI write may reach the sandbox meanwhile. `[supabase]` is on throughout.
# Before the leavers, with the default gates and an empty 24-hour window, BURSTS mass deletions of 121 linked people
# (a third in one ldapdelete, a third as 121 ldapdeletes 10 ms apart, a third disabled by one ldapmodify), each
# undone afterwards with the same entryUUIDs: every burst must end in one held plan of all 121 and no deactivation
# may reach the sandbox: `burst held: N/N, leaked deactivations: 0`. The leavers then run under relaxed gates
# (SIGHUP reloads the config), as one at a time is no mass change.
# usage: Benchmarks/offboarding-latency.sh [USERS=10000] [LEAVERS=100] [IDLE_SECONDS=60] [BURSTS=21] [REVOKED=20]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
USERS=${1:-10000}
LEAVERS=${2:-100}
IDLE=${3:-60}
BURSTS=${4:-21}
REVOKED=${5:-20}

source Benchmarks/lib.sh
bench_release_build mixer-sync mixerai-sandbox

source scripts/lib/slapd.sh
WORK=$(mktemp -d /tmp/mixer-sync-offboard-bench.XXXXXX)
SANDBOX_PID=""
DAEMON_PID=""
cleanup() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null
  slapd_stop "$WORK/slapd"
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "== $USERS users in slapd; $((USERS - USERS / 10)) of them in the sandbox"
bench_slapd "$WORK" "$USERS"
python3 Benchmarks/seed.py "$USERS" --missing-every 10 > "$WORK/seed.json"  # every 10th: a joiner
bench_sandbox "$BIN" "$WORK" --api-limit 10000000 --sensitive-limit 10 --sensitive-window 1
MPORT=$(free_port)

bench_secrets "$WORK"
# The 121 people the bursts delete hold their role through a posixGroup (memberUid) rather than all-staff: slapd's
# refint overlay removes a deleted DN from groupOfNames in the background and would race the restore between bursts.
python3 - "$USERS" "$PORT" "$WORK" <<'PY'
import subprocess, sys
n, port, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
uid = (lambda i: f"user{i:05d}") if n < 100000 else (lambda i: f"user{i:06d}")
victims = [uid(i) for i in range(n, 0, -1) if i % 10 != 0][:121]
open(f"{work}/victims.txt", "w").write("\n".join(victims) + "\n")
ldif = ("dn: cn=all-staff,ou=groups,dc=example,dc=com\nchangetype: modify\ndelete: member\n"
        + "".join(f"member: uid={v},ou=people,dc=example,dc=com\n" for v in victims)
        + "\ndn: cn=burst,ou=groups,dc=example,dc=com\nchangetype: add\nobjectClass: posixGroup\ncn: burst\n"
        + "gidNumber: 5000\n" + "".join(f"memberUid: {v}\n" for v in victims))
subprocess.run(["ldapmodify", "-x", "-H", f"ldap://127.0.0.1:{port}", "-D", "cn=admin,dc=example,dc=com",
                "-y", f"{work}/admin-password"], input=ldif.encode(), check=True, stdout=subprocess.DEVNULL)
PY
{ bench_directory_config "$PORT"; cat <<TOML

[directory.leavers]
disabled_filter = "(employeeType=terminated)"

[[roles]]
group = "cn=all-staff,ou=groups,dc=example,dc=com"
role = "Editor"
brand = "Brand A"

[[roles]]
group = "cn=burst,ou=groups,dc=example,dc=com"
role = "Editor"
brand = "Brand A"

TOML
bench_mixerai_config "$SPORT"; bench_supabase_config "$SPORT"; cat <<TOML

[policy]
# POLICY (the defaults while the bursts run)

[state]
directory = "$WORK/state"

[report]
directory = "$WORK/reports"
formats = ["json"]

[daemon]
full_sync_interval = "1h"
metrics_listen = "127.0.0.1:$MPORT"
TOML
} > "$WORK/mixer-sync.toml"

echo "== the daemon: first full run queues $((USERS / 10)) invites (10 writes/s)"
# As systemd/mixer-sync.service runs it (two malloc arenas).
MALLOC_ARENA_MAX=2 "$BIN/mixer-sync" run --config "$WORK/mixer-sync.toml" 2> "$WORK/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 1 600); do grep -q "change feed connected" "$WORK/daemon.log" && break; sleep 0.1; done
for _ in $(seq 1 600); do
  n=$(curl -s "http://127.0.0.1:$SPORT/__sandbox/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["requests"] if r["path"]=="/api/users/invite"))')
  [ "$n" -ge 20 ] && break
  sleep 0.2
done
echo "invites being sent: $n so far"

echo "== $BURSTS mass deletions of 121 people (default gates, empty 24-hour window)"
python3 - "$USERS" "$BURSTS" "$PORT" "$WORK" "$SPORT" <<'PY'
import json, subprocess, sys, time, urllib.request
n, bursts, port, work, sport = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
uid = (lambda i: f"user{i:05d}") if n < 100000 else (lambda i: f"user{i:06d}")
auth = ["-x", "-H", f"ldap://127.0.0.1:{port}", "-D", "cn=admin,dc=example,dc=com", "-y", f"{work}/admin-password"]
people = "ou=people,dc=example,dc=com"
victims = open(f"{work}/victims.txt").read().split()
dns = [f"uid={v},{people}" for v in victims]
saved = subprocess.run(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", *auth, "-b", people,
                        "(|" + "".join(f"(uid={v})" for v in victims) + ")", "*", "entryUUID"],
                       check=True, capture_output=True, text=True).stdout
assert saved.count("entryUUID: ") == 121, "the victims' entries"
def ldap(tool, ldif, *extra):
    subprocess.run([tool, *extra, *auth], input=ldif.encode(), check=True, stdout=subprocess.DEVNULL)
def deactivations():
    rs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sport}/__sandbox/requests"))["requests"]
    return sum(1 for r in rs if r["method"] == "POST" and r["path"].endswith("/deactivate") and r["status"] == 200)
def held():
    return sum(1 for l in open(f"{work}/daemon.log", errors="replace")
               if "change feed" in l and "run.outcome=held" in l and "run.changes=121" in l)
before, whole, started = deactivations(), 0, time.time()
for b in range(bursts):
    variant = b * 3 // bursts
    seen = held()
    if variant == 0:
        subprocess.run(["ldapdelete", *auth, *dns], check=True)
    elif variant == 1:
        for dn in dns:
            subprocess.run(["ldapdelete", *auth, dn], check=True)
            time.sleep(0.01)
    else:
        ldap("ldapmodify", "\n\n".join(f"dn: {dn}\nchangetype: modify\nreplace: employeeType\nemployeeType: terminated"
                                         for dn in dns) + "\n")
    deadline = time.time() + 60
    while time.time() < deadline and held() <= seen:
        time.sleep(0.05)
    whole += held() > seen
    # Undo it: the same people (entryUUID kept through the relax control), back in their group.
    if variant == 2:
        ldap("ldapmodify", "\n\n".join(f"dn: {dn}\nchangetype: modify\ndelete: employeeType" for dn in dns) + "\n")
    else:
        ldap("ldapadd", saved, "-e", "relax")
    time.sleep(1.5)
leaked = deactivations() - before
print(f"{bursts} bursts in {time.time() - started:.0f} s")
print(f"burst held: {whole}/{bursts}, leaked deactivations: {leaked}")
PY
# One leaver at a time is no mass change: the leavers run under relaxed deactivation gates.
sed -i 's/^# POLICY.*/max_deactivations = 1000000\nmax_deactivations_percent = 100/' "$WORK/mixer-sync.toml"
kill -HUP "$DAEMON_PID"
for _ in $(seq 1 100); do grep -q "configuration reloaded" "$WORK/daemon.log" && break; sleep 0.1; done

echo "== $LEAVERS leavers, one at a time"
python3 - "$USERS" "$LEAVERS" "$PORT" "$WORK" <<'PY'
import json, os, random, subprocess, sys, time, urllib.request
n, leavers, port, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
uid = (lambda i: f"user{i:05d}") if n < 100000 else (lambda i: f"user{i:06d}")
random.seed(7)
picked = random.sample([i for i in range(1, n + 1) if i % 10 != 0], leavers)
started = {}
for i in picked:
    ldif = f"dn: uid={uid(i)},ou=people,dc=example,dc=com\nchangetype: modify\nreplace: employeeType\nemployeeType: terminated\n"
    email = f"{uid(i)}@example.com"
    started[email] = time.time()
    subprocess.run(["ldapmodify", "-x", "-H", f"ldap://127.0.0.1:{port}", "-D", "cn=admin,dc=example,dc=com",
                    "-y", f"{work}/admin-password"], input=ldif.encode(), check=True, stdout=subprocess.DEVNULL)
    # Wait for the daemon to say it is done with this one, then a pause as between real leavers.
    deadline = time.time() + 30
    while time.time() < deadline:
        if f"user.email={email}" in open(f"{work}/daemon.log", errors="replace").read():
            break
        time.sleep(0.01)
    time.sleep(random.uniform(0.3, 1.0))
json.dump(started, open(f"{work}/started.json", "w"))
PY

python3 - "$SPORT" "$WORK" <<'PY'
import json, sys, urllib.request, datetime, statistics
sport, work = sys.argv[1], sys.argv[2]
started = json.load(open(f"{work}/started.json"))
state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sport}/__sandbox/state"))
email_by_id = {u["id"]: u["email"] for u in state["users"]}
requests = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sport}/__sandbox/requests"))["requests"]
def at(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
received = {}
invites_during = 0
for r in requests:
    parts = r["path"].split("/")
    if r["method"] == "POST" and len(parts) == 5 and parts[4] == "deactivate" and r["status"] == 200:
        email = email_by_id.get(parts[3])
        if email in started and email not in received:
            received[email] = at(r["time"])
first, last = min(started.values()), max(received.values() or [0])
invites_during = sum(1 for r in requests if r["path"] == "/api/users/invite" and first <= at(r["time"]) <= last)
missing = [e for e in started if e not in received]
# A leaver never offboarded is a failure, not a missing sample: it counts as an infinite latency.
lat = sorted((received[e] - started[e]) * 1000 if e in received else float("inf") for e in started)
def pct(p): return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]
print(f"leavers: {len(started)}, deactivations received: {len(received)}, missing: {len(missing)}; "
      f"invites sent meanwhile: {invites_during}; 429s: {sum(1 for r in requests if r['status'] == 429)}")
print(f"p50: {pct(50):.0f} ms, p95: {pct(95):.0f} ms, max: {lat[-1]:.0f} ms")
print(f"offboarding p95: {pct(95):.0f} ms")
PY

echo "== idle: waiting for the queue to drain, then $IDLE s"
for _ in $(seq 1 900); do
  depth=$(curl -s "http://127.0.0.1:$MPORT/metrics" | awk '/^mixer_sync_queue_depth /{print $2}')
  [ "${depth%.*}" = "0" ] && break
  sleep 1
done
sleep 2
TICKS=$(getconf CLK_TCK)
read -r u1 s1 < <(awk '{print $14, $15}' /proc/$DAEMON_PID/stat)
sleep "$IDLE"
read -r u2 s2 < <(awk '{print $14, $15}' /proc/$DAEMON_PID/stat)
RSS=$(awk '/^VmRSS/{print int($2/1024)}' /proc/$DAEMON_PID/status)
python3 -c "print(f'idle: {($u2 + $s2 - $u1 - $s1) / $TICKS / $IDLE * 100:.1f}% cpu, $RSS MiB')"

echo "== $REVOKED leavers with MixerAI's write budget exhausted (0 left, reset in an hour): sign-in refused"
curl -s -X POST "http://127.0.0.1:$SPORT/__sandbox/exhaust-rate-limits" -d '{"reset_in": 3600}' > /dev/null
python3 - "$USERS" "$REVOKED" "$PORT" "$WORK" "$SPORT" <<'PY'
import json, random, subprocess, sys, time, urllib.error, urllib.request
n, count, port, work, sport = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
uid = (lambda i: f"user{i:05d}") if n < 100000 else (lambda i: f"user{i:06d}")
base = f"http://127.0.0.1:{sport}"
def post(path, body, headers={}):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req) as r: return r.status, json.load(r)
    except urllib.error.HTTPError as e: return e.code, json.load(e)
def sign_in(email):
    return post("/auth/v1/token?grant_type=password", {"email": email, "password": "leaver-password"},
                {"apikey": "sandbox-anon-key"})
taken = set(json.load(open(f"{work}/started.json"))) | {f"{v}@example.com" for v in open(f"{work}/victims.txt").read().split()}
random.seed(11)
pool = [i for i in range(1, n + 1) if i % 10 != 0 and f"{uid(i)}@example.com" not in taken]
picked = random.sample(pool, count)
def writes():
    rs = json.load(urllib.request.urlopen(base + "/__sandbox/requests"))["requests"]
    return sum(1 for r in rs if r["path"].startswith("/api/users/") and r["method"] != "GET" and r["status"] < 300)
before = writes()
started, polled, refresh_refused = {}, [], 0
for i in picked:
    email = f"{uid(i)}@example.com"
    post("/__sandbox/accept-invite", {"email": email, "password": "leaver-password"})
    status, session = sign_in(email)
    assert status == 200, f"{email} cannot sign in before: {status} {session}"
    ldif = f"dn: uid={uid(i)},ou=people,dc=example,dc=com\nchangetype: modify\nreplace: employeeType\nemployeeType: terminated\n"
    start = time.time()
    started[email] = start
    subprocess.run(["ldapmodify", "-x", "-H", f"ldap://127.0.0.1:{port}", "-D", "cn=admin,dc=example,dc=com",
                    "-y", f"{work}/admin-password"], input=ldif.encode(), check=True, stdout=subprocess.DEVNULL)
    took = float("inf")  # never refused: a failure, not a missing sample
    while time.time() < start + 30:
        status, answer = sign_in(email)
        if status == 400 and answer.get("error_code") == "user_banned":
            took = (time.time() - start) * 1000
            break
        time.sleep(0.05)
    polled.append(took)
    status, answer = post("/auth/v1/token?grant_type=refresh_token", {"refresh_token": session["refresh_token"]},
                          {"apikey": "sandbox-anon-key"})
    refresh_refused += status == 400 and answer.get("msg") == "Invalid Refresh Token: User Banned"
    time.sleep(random.uniform(0.3, 1.0))
# The moment the sandbox starts refusing is when it applied the ban (its request log, same clock): exact, and free
# of the polling's own load. The polled figure (every 50 ms) is an upper bound.
state = json.load(urllib.request.urlopen(base + "/__sandbox/state"))
email_by_id = {u["id"]: u["email"] for u in state["users"]}
rs = json.load(urllib.request.urlopen(base + "/__sandbox/requests"))["requests"]
def at(text):
    import datetime
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
banned_at = {}
for r in rs:
    parts = r["path"].split("/")
    if r["method"] == "PUT" and r["path"].startswith("/auth/v1/admin/users/") and r["status"] == 200 \
            and (r.get("body") or {}).get("ban_duration", "none") != "none":
        email = email_by_id.get(parts[-1])
        if email in started and email not in banned_at:
            banned_at[email] = at(r["time"])
lat = sorted((banned_at[e] - started[e]) * 1000 if e in banned_at else float("inf") for e in started)
polled.sort()
def pct(values, p): return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
print(f"revoked: {sum(1 for x in polled if x != float('inf'))}/{count}, refresh refused: {refresh_refused}/{count}, "
      f"MixerAI writes meanwhile: {writes() - before} (budget exhausted)")
print(f"polled every 50 ms (upper bound): p50 {pct(polled, 50):.0f} ms, p95 {pct(polled, 95):.0f} ms")
print(f"p50: {pct(lat, 50):.0f} ms, max: {lat[-1]:.0f} ms")
print(f"sign-in revoked p95: {pct(lat, 95):.0f} ms (budget exhausted)")
PY
