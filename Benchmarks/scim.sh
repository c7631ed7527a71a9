#!/usr/bin/env bash
# The SCIM bridge under an IdP's load (docs/scim.md). A daemon with `source = "scim"` and `[supabase]` on a
# throwaway state; the sandbox already holds USERS people (Brand A editors, as the role mapping grants), so the
# pushes change nothing in MixerAI and the budget is not what is measured. An IdP-like client (4 keep-alive
# connections, as Entra ID's and Okta's provisioning workers) then
#   1. creates USERS users (each first looked up by `userName eq`, as Okta does) and 50 groups — "Editors" (mapped to
#      Editor on Brand A) with everyone, 49 others with a share each — adding members in PATCHes of 100;
#   2. deactivates 100 of them one at a time (Entra's `Replace` of `active` with "False"), 1.5 s apart.
# Prints `scim: N ops/s` (requests answered 2xx per second in step 1, wall clock) and `offboarding p95 (scim): N ms`
# (the PATCH leaving the client → GoTrue's ban of that user answered, from the sandbox's request log; a leaver
# never banned counts as a failure, not a missing sample).
# usage: Benchmarks/scim.sh [USERS=10000]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
USERS=${1:-10000}

source Benchmarks/lib.sh
source scripts/lib/slapd.sh  # free_port
bench_release_build mixer-sync mixerai-sandbox

WORK=$(mktemp -d /tmp/mixer-sync-scim-bench.XXXXXX)
SANDBOX_PID=""
DAEMON_PID=""
cleanup() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "== $USERS people in the sandbox"
python3 Benchmarks/seed.py "$USERS" --missing-every 100000000 > "$WORK/seed.json"
bench_sandbox "$BIN" "$WORK" --api-limit 10000000 --sensitive-limit 10 --sensitive-window 1
bench_secrets "$WORK"
python3 -c 'import secrets; print(secrets.token_hex(32))' > "$WORK/scim-token"
chmod 600 "$WORK/scim-token"
SCIM_PORT=$(free_port)
MPORT=$(free_port)
{ cat <<TOML
source = "scim"

[scim]
listen = "127.0.0.1:$SCIM_PORT"
token_file = "scim-token"
rate_limit = 100000

[[roles]]
group = "Editors"
role = "Editor"
brand = "Brand A"

TOML
  bench_mixerai_config "$SPORT"; bench_supabase_config "$SPORT"; cat <<TOML

[policy]
max_deactivations = 1000000
max_deactivations_percent = 100
max_shrink_percent = 100

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
"$BIN/mixer-sync" run --config "$WORK/mixer-sync.toml" 2> "$WORK/daemon.log" > /dev/null &
DAEMON_PID=$!
for _ in $(seq 1 300); do grep -q "scim bridge listening" "$WORK/daemon.log" && break; sleep 0.1; done

echo "== the IdP: $USERS users, 50 groups, then 100 deactivations one at a time"
python3 - "$WORK" "$USERS" "$SCIM_PORT" "$SPORT" <<'PY'
import datetime, http.client, json, queue, sys, threading, time, urllib.parse, urllib.request
work, n, port, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
token = open(f"{work}/scim-token").read().strip()
uid = (lambda i: f"user{i:05d}") if n < 100000 else (lambda i: f"user{i:06d}")
FIRST = ["Ann", "Ben", "Cara", "Dev", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jia", "Kai", "Lea", "Max", "Nia", "Oto", "Pia"]
LAST = ["Lee", "Khan", "Novak", "Okafor", "Silva", "Berg", "Rossi", "Tanaka", "Moreau", "Dubois", "Kowalski", "Ng"]
TITLES = ["Engineer", "Designer", "Writer", "Analyst", "Manager", "Producer"]
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
local = threading.local()

def call(method, path, body=None):
    if not hasattr(local, "c"): local.c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    local.c.request(method, "/scim/v2" + path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = local.c.getresponse()
    data = r.read()
    if r.status >= 300: raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
    return json.loads(data) if data else None

def person(i):
    return {"schemas": [USER, ENT], "externalId": f"guid-{i}", "userName": f"{uid(i)}@example.com", "active": True,
            "name": {"formatted": f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"},
            "title": TITLES[i % len(TITLES)], "emails": [{"value": f"{uid(i)}@example.com", "type": "work", "primary": True}],
            ENT: {"organization": "Example Ltd"}}

def parallel(items, work_fn, threads=4):
    q = queue.Queue()
    for it in items: q.put(it)
    out, errors = {}, []
    def worker():
        while True:
            try: it = q.get_nowait()
            except queue.Empty: return
            try: out[it] = work_fn(it)
            except BaseException as e: errors.append(e); return
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts: t.start()
    for t in ts: t.join()
    if errors: raise SystemExit(str(errors[0]))
    return out

ops = 0
t0 = time.time()
def create(i):
    filt = urllib.parse.quote(f'userName eq "{uid(i)}@example.com"')
    found = call("GET", f"/Users?filter={filt}&startIndex=1&count=100")
    assert found["totalResults"] == 0
    return call("POST", "/Users", person(i))["id"]
ids = parallel(range(1, n + 1), create)
ops += 2 * n
groups = {}
for g in range(50):
    name = "Editors" if g == 0 else f"Department {g:02d}"
    groups[g] = call("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name})["id"]
    ops += 1
batches = []
for g in range(50):
    members = [ids[i] for i in range(1, n + 1) if g == 0 or i % 49 == g - 1]
    for k in range(0, len(members), 100):
        batches.append((g, tuple(members[k:k + 100])))
def add(b):
    g, members = b
    call("PATCH", f"/Groups/{groups[g]}", {"schemas": [PATCH], "Operations": [
        {"op": "Add", "path": "members", "value": [{"value": m} for m in members]}]})
parallel(batches, add)
ops += len(batches)
elapsed = time.time() - t0
print(f"{n} users, 50 groups, {len(batches)} membership PATCHes: {ops} requests in {elapsed:.1f} s")

# Let the debounced full plan match everyone before the leavers start: a full run after the pushes that found
# nothing to change (the sandbox already holds everyone as the mapping grants).
log = f"{work}/daemon.log"
pushed = time.time()
deadline = pushed + 600
while time.time() < deadline:
    lines = [l for l in open(log, errors="replace").read().splitlines() if "full reconcile" in l and "run.outcome=" in l]
    if lines and "run.outcome=in-sync" in lines[-1] and len(lines) >= 2: break
    time.sleep(1)
else:
    raise SystemExit("the full plan never came back in sync; the last lines:\n" + "\n".join(open(log).read().splitlines()[-5:]))
print(f"the full plan is in sync {time.time() - pushed:.1f} s after the last push")

sent = {}
for k in range(100):
    i = n - 7 * k
    t = time.time()
    call("PATCH", f"/Users/{ids[i]}", {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    sent[f"{uid(i)}@example.com"] = t
    time.sleep(1.5)
time.sleep(3)
state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sport}/__sandbox/state"))
email_of = {u["id"]: u["email"] for u in state["users"]}
def at(s): return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
banned = {}
for r in json.load(urllib.request.urlopen(f"http://127.0.0.1:{sport}/__sandbox/requests"))["requests"]:
    if r["method"] == "PUT" and r["path"].startswith("/auth/v1/admin/users/") and r["status"] == 200:
        e = email_of.get(r["path"].rsplit("/", 1)[-1])
        if e in sent and e not in banned: banned[e] = at(r["time"])
lat = sorted((banned[e] - sent[e]) * 1000 if e in banned else float("inf") for e in sent)
def pct(p): return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]
print(f"offboardings: {len(sent)}, banned: {len(banned)}, p50 {pct(50):.0f} ms, max {lat[-1]:.0f} ms")
print(f"scim: {ops / elapsed:.0f} ops/s, offboarding p95 (scim): {pct(95):.0f} ms")
PY
