#!/usr/bin/env bash
# Failover of a pair (docs/high-availability.md). Two daemons share a throwaway PostgreSQL 15 state with a LEASE-second
# lease; USERS people in a throwaway slapd (syncprov); the sandbox holds all but every 10th of them, so the first
# leader queues USERS/10 invites, which drain at 10 writes a second throughout. Then CYCLES times: a leaver is
# disabled, the leader is killed (kill -9 on even cycles, SIGSTOP on odd ones) at a random moment of its work, a
# second leaver is disabled while no one leads, and the other daemon must take over; a killed daemon is started
# again, a stopped one is woken (SIGCONT) three leases after it was stopped and must come back as a standby.
#   failover = leader lost → the new leader holds the lease (its first write is possible): PostgreSQL's grant,
#              on the same clock as the fault (the daemon's `lease.taken_at_unix`).
#   duplicate writes = the same write (method, path, body) answered 2xx more than once, invites by email.
#   lost offboardings = leavers not deactivated and banned in the sandbox once the pair has settled.
#   writes by a non-leader = a write the sandbox received from a PID (its User-Agent) that was not, at that moment,
#              the last to have been granted the lease.
# Before the pair starts: `state ops/s sqlite: N, postgresql: N`, the journal's intent → sent → confirmed cycle on
# both backends (state-bench), so the cost of the pair is known.
# usage: Benchmarks/failover.sh [USERS=10000] [CYCLES=20] [LEASE=3]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
USERS=${1:-10000}
CYCLES=${2:-20}
LEASE=${3:-3}

source Benchmarks/lib.sh
bench_release_build mixer-sync mixerai-sandbox state-bench

source scripts/lib/slapd.sh
source scripts/lib/postgres.sh
WORK=$(mktemp -d /tmp/mixer-sync-failover-bench.XXXXXX)
SANDBOX_PID=""
cleanup() {
  if [ -f "$WORK/pids" ]; then
    while read -r pid; do kill -CONT "$pid" 2>/dev/null || true; kill -KILL "$pid" 2>/dev/null || true; done < "$WORK/pids"
  fi
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null
  slapd_stop "$WORK/slapd"
  pg_stop "$WORK/pg"
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "== PostgreSQL 15 on 127.0.0.1"
pg_start "$WORK/pg"
PG_URL=$MIXER_SYNC_TEST_POSTGRES_URL
PGPASSFILE="$WORK/pg/pgpass" psql -q "$PG_URL" -c 'CREATE DATABASE state_bench' > /dev/null

echo "== the journal's cycle on each backend"
"$BIN/state-bench" 2000 "$WORK/state-bench" "${PG_URL%/*}/state_bench" "$MIXER_SYNC_TEST_POSTGRES_PASSWORD_FILE"

echo "== $USERS users in slapd; $((USERS - USERS / 10)) of them in the sandbox"
bench_slapd "$WORK" "$USERS"
python3 Benchmarks/seed.py "$USERS" --missing-every 10 > "$WORK/seed.json"  # every 10th: a joiner
bench_sandbox "$BIN" "$WORK" --api-limit 10000000 --sensitive-limit 10 --sensitive-window 1

bench_secrets "$WORK"
install -m 600 "$MIXER_SYNC_TEST_POSTGRES_PASSWORD_FILE" "$WORK/postgres-password"
for host in a b; do
  MPORT=$(free_port)
  { bench_directory_config "$PORT"; cat <<TOML

[directory.leavers]
disabled_filter = "(employeeType=terminated)"

[[roles]]
group = "cn=all-staff,ou=groups,dc=example,dc=com"
role = "Editor"
brand = "Brand A"

TOML
  bench_mixerai_config "$SPORT"; bench_supabase_config "$SPORT"; cat <<TOML

[policy]
max_deactivations = 1000000
max_deactivations_percent = 100

[state]
directory = "$WORK/state-$host"
backend = "postgresql"
url = "$PG_URL"
password_file = "postgres-password"

[ha]
lease = "${LEASE}s"

[report]
directory = "$WORK/reports-$host"
formats = ["json"]

[daemon]
full_sync_interval = "1h"
metrics_listen = "127.0.0.1:$MPORT"
TOML
  } > "$WORK/mixer-sync-$host.toml"
done

echo "== the pair: $CYCLES failovers (kill -9 and SIGSTOP in turn), lease ${LEASE} s"
python3 - "$BIN" "$WORK" "$USERS" "$CYCLES" "$LEASE" "$PORT" "$SPORT" <<'PY'
import datetime, json, os, random, re, signal, subprocess, sys, time, urllib.request
bin_, work, n, cycles, lease, port, sport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \
    float(sys.argv[5]), sys.argv[6], sys.argv[7]
uid = (lambda i: f"user{i:05d}") if n < 100000 else (lambda i: f"user{i:06d}")
base = f"http://127.0.0.1:{sport}"
incarnations = []  # (pid, host, log path, Popen)

def start(host):
    log = f"{work}/daemon-{host}-{len(incarnations)}.log"
    p = subprocess.Popen([f"{bin_}/mixer-sync", "run", "--config", f"{work}/mixer-sync-{host}.toml"],
                         stdout=subprocess.DEVNULL, stderr=open(log, "w"), env={**os.environ, "MALLOC_ARENA_MAX": "2"})
    incarnations.append((p.pid, host, log, p))
    with open(f"{work}/pids", "a") as f: f.write(f"{p.pid}\n")
    return p.pid

def text(log): return open(log, errors="replace").read()

def takes():
    """Every grant of the lease: (time on the host's clock, PID), in order."""
    out = []
    for pid, _, log, _ in incarnations:
        for line in text(log).splitlines():
            if "leadership: leader" in line:
                t = re.search(r"lease\.taken_at_unix=([0-9.]+)", line)
                if t: out.append((float(t.group(1)), pid))
    return sorted(out)

def leader(): return (takes() or [(0, None)])[-1][1]

def wait(cond, seconds, step=0.02):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond(): return True
        time.sleep(step)
    return False

def disable(i):
    ldif = f"dn: uid={uid(i)},ou=people,dc=example,dc=com\nchangetype: modify\nreplace: employeeType\nemployeeType: terminated\n"
    subprocess.run(["ldapmodify", "-x", "-H", f"ldap://127.0.0.1:{port}", "-D", "cn=admin,dc=example,dc=com",
                    "-y", f"{work}/admin-password"], input=ldif.encode(), check=True, stdout=subprocess.DEVNULL)

def get(path): return json.load(urllib.request.urlopen(base + path))

a = start("a")
assert wait(lambda: leader() == a, 60), "host a never led:\n" + text(incarnations[0][2])[-3000:]
b = start("b")
assert wait(lambda: "leadership: standby" in text(incarnations[1][2]), 60), "host b never stood by"
assert wait(lambda: "change feed connected" in text(incarnations[0][2]), 120), "the leader's feed never connected"
assert wait(lambda: sum(1 for r in get("/__sandbox/requests")["requests"] if r["path"] == "/api/users/invite") >= 20, 120), \
    "invites never started"
print(f"leader {a} on host a, standby {b} on host b; invites draining")

random.seed(5)
pool = [i for i in range(n, 0, -1) if i % 10 != 0]
leavers, failovers = [], []
for c in range(cycles):
    old = leader()
    old_host = next(h for pid, h, _, _ in incarnations if pid == old)
    old_proc = next(p for pid, _, _, p in incarnations if pid == old)
    first = pool.pop(0)
    disable(first)
    leavers.append(first)
    time.sleep(random.uniform(0, 0.5))  # the fault lands anywhere in the leader's work
    stop = c % 2 == 1
    t0 = time.time()
    os.kill(old, signal.SIGSTOP if stop else signal.SIGKILL)
    second = pool.pop(0)
    disable(second)  # while no one leads
    leavers.append(second)
    if not wait(lambda: any(t > t0 and pid != old for t, pid in takes()), 10 * lease):
        print(f"cycle {c + 1}: no takeover within {10 * lease:.0f} s")
        failovers.append(float("inf"))
    else:
        taken = min(t for t, pid in takes() if t > t0 and pid != old)
        failovers.append((taken - t0) * 1000)
    if stop:
        time.sleep(max(0, t0 + 3 * lease - time.time()))
        seen = text(next(l for pid, _, l, _ in incarnations if pid == old)).count("lease.leader=")
        os.kill(old, signal.SIGCONT)
        ok = wait(lambda: text(next(l for pid, _, l, _ in incarnations if pid == old)).count("lease.leader=") > seen, 10)
        print(f"cycle {c + 1}: SIGSTOP of {old} ({old_host}) → {leader()} leads after {failovers[-1]:.0f} ms; "
              f"woken {'as a standby' if ok else 'WITHOUT saying it stood by'}")
    else:
        old_proc.wait()
        new = start(old_host)
        ok = wait(lambda: "leadership: standby" in text(incarnations[-1][2]), 30)
        print(f"cycle {c + 1}: kill -9 of {old} ({old_host}) → {leader()} leads after {failovers[-1]:.0f} ms; "
              f"restarted as {new}{'' if ok else ' (NOT standing by)'}")
    time.sleep(random.uniform(0.5, 1.5))

print(f"settling: waiting for {len(leavers)} offboardings")
def users_by_email():
    return {u["email"]: u for u in get("/__sandbox/state")["users"]}
def offboarded(u):
    return u and (u.get("user_metadata") or {}).get("status") == "inactive" and u.get("banned_until")
wait(lambda: all(offboarded(users_by_email().get(f"{uid(i)}@example.com")) for i in leavers), 180, step=1)
users = users_by_email()
lost = [uid(i) for i in leavers if not offboarded(users.get(f"{uid(i)}@example.com"))]
for pid, _, _, p in incarnations:
    if p.poll() is None:
        os.kill(pid, signal.SIGCONT); os.kill(pid, signal.SIGTERM)
for pid, _, _, p in incarnations:
    try: p.wait(30)
    except subprocess.TimeoutExpired: p.kill()

def at(s): return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
requests = get("/__sandbox/requests")["requests"]
grants = takes()
seen, duplicates, non_leader, invited = {}, 0, [], {}
for r in requests:
    path = r["path"]
    if r["method"] == "GET" or not (path.startswith("/api/users") or path.startswith("/auth/v1/admin")):
        continue
    if 200 <= r["status"] < 300:
        # An invite twice to one email, or any other write twice with the same body.
        key = ("invite", (r.get("body") or {}).get("email")) if path == "/api/users/invite" \
            else (r["method"], path, json.dumps(r.get("body"), sort_keys=True))
        if key in seen:
            duplicates += 1
            if duplicates <= 10: print(f"repeated write: {r['method']} {path} {json.dumps(r.get('body'))[:120]} at {r['time']}")
        seen[key] = True
        if path == "/api/users/invite": invited[key[1]] = True
    m = re.search(r"pid (\d+)", r.get("user_agent", ""))
    sender = int(m.group(1)) if m else None
    holder = [pid for t, pid in grants if t <= at(r["time"])]
    if sender is None or not holder or holder[-1] != sender:
        non_leader.append(f"{r['method']} {path} at {r['time']} by {sender} (leader: {holder[-1] if holder else None})")
for line in non_leader[:10]: print("non-leader write:", line)
if lost: print("lost:", " ".join(lost))
lat = sorted(failovers)
def pct(p): return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]
print(f"failovers: {len(lat)}, p50 {pct(50):.0f} ms, max {lat[-1]:.0f} ms; invites sent: {len(invited)}; "
      f"writes: {sum(1 for r in requests if r['method'] != 'GET' and r['path'].startswith('/api/users'))}")
print(f"failover p95: {pct(95):.0f} ms, lease: {lease * 1000:.0f} ms, duplicate writes: {duplicates}, "
      f"lost offboardings: {len(lost)}, writes by a non-leader: {len(non_leader)}")
PY
