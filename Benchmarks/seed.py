"""A sandbox seed holding the people scripts/lib/gen-directory.py makes (same names, titles, emails).

usage: seed.py USERS [--missing-every N] [--mover-every N]
Every Nth person is missing from MixerAI (a joiner); with --mover-every M, every Mth + M/2 holds viewer instead of
editor (a mover). Everyone else is an editor on Brand A, as the benchmarks' role mapping grants.
"""
import argparse
import json
import sys

p = argparse.ArgumentParser()
p.add_argument("users", type=int)
p.add_argument("--missing-every", type=int, default=100)
p.add_argument("--mover-every", type=int, default=0)
a = p.parse_args()
FIRST = ["Ann", "Ben", "Cara", "Dev", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jia", "Kai", "Lea", "Max", "Nia", "Oto", "Pia"]
LAST = ["Lee", "Khan", "Novak", "Okafor", "Silva", "Berg", "Rossi", "Tanaka", "Moreau", "Dubois", "Kowalski", "Ng"]
TITLES = ["Engineer", "Designer", "Writer", "Analyst", "Manager", "Producer"]
uid = (lambda i: f"user{i:05d}") if a.users < 100000 else (lambda i: f"user{i:06d}")
users = [{"email": "mixer-sync@example.com", "password": "sandbox-password", "full_name": "mixer-sync",
          "role": "admin", "global_role": "admin"}]
for i in range(1, a.users + 1):
    if i % a.missing_every == 0:
        continue
    mover = a.mover_every and i % a.mover_every == a.mover_every // 2
    role = "viewer" if mover else "editor"
    users.append({"email": f"{uid(i)}@example.com", "full_name": f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}",
                  "job_title": TITLES[i % len(TITLES)], "company": "Example Ltd", "role": role, "global_role": role,
                  "brands": {"Brand A": role}})
json.dump({"brands": [{"name": "Brand A"}, {"name": "Brand B"}], "users": users}, sys.stdout)
