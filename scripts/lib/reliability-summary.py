"""Sums a reliability run: which rows of scripts/lib/reliability-rows survived (every test they name passed in the
swift test log, every script step they name succeeded), and the ledger the tests wrote (duplicate invites, wrong
deactivations, crash runs, canary hits). Prints one line per row and the closing line; exits 1 unless all is well.
usage: reliability-summary.py TEST_LOG LEDGER [STEP=0|1|skip ...]   (a step not given counts as failed; "skip" leaves
it out of a short run, and says so)"""
import json, os, re, sys

log_path, ledger_path = sys.argv[1], sys.argv[2]
steps = dict(a.split("=", 1) for a in sys.argv[3:])
rows_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reliability-rows")
log = open(log_path, encoding="utf-8", errors="replace").read()
passed = set(re.findall(r"^✔ Test (\w+)\(", log, re.M))
failed = set(re.findall(r"^✘ Test (\w+)\(", log, re.M))
total = survived = 0
for line in open(rows_file, encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    row, what, proof = line.rstrip("\n").split("|")
    missing, skipped = [], []
    for item in proof.split():
        if item.startswith("step:"):
            if steps.get(item[5:]) == "skip":
                skipped.append(item[5:])
            elif steps.get(item[5:]) != "1":
                missing.append(item)
        elif item in failed or item not in passed:
            missing.append(item)
    total += 1
    survived += not missing
    print(f"row {row:>3} {'survived' if not missing else 'FAILED  '} {what}" + (f"  ({', '.join(missing)})" if missing else "")
          + (f"  (short run: {', '.join(skipped)} left to scripts/reliability)" if skipped else ""))
ledger = [json.loads(l) for l in open(ledger_path)] if os.path.exists(ledger_path) else []
wrong = sum(e.get("wrong_deactivations", 0) for e in ledger)
dups = sum(e.get("duplicate_invites", 0) for e in ledger)
crash = [e for e in ledger if "crash_run" in e]
crash_ok = sum(1 for e in crash if e.get("converged"))
canary = sum(e.get("canary_leaks", 0) for e in ledger)
print(f"audited runs: {len(ledger)} (each ends with a read of the sandbox's request log)")
print(f"faults survived: {survived}/{total}, wrong deactivations: {wrong}, duplicate invites: {dups}, "
      f"crash runs: {crash_ok}/{len(crash)}, canary leaks: {canary}")
ok = survived == total and wrong == 0 and dups == 0 and crash and crash_ok == len(crash) and canary == 0
sys.exit(0 if ok else 1)
