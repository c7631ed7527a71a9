#!/usr/bin/env python3
"""Runs scim2-tester (pinned in scripts/lib/scim2-tester.txt) against a running SCIM bridge.

usage: scim-conformance.py BASE_URL TOKEN_FILE
Prints every check that did not succeed and a last line `checks: N, not success: M`; exits 1 when M > 0.
"""
import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base, token_file = sys.argv[1], sys.argv[2]
token = open(token_file).read().split()[0]
client = SyncSCIMClient(httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30))
results = check_server(client)
failed = [r for r in results if r.status != Status.SUCCESS]
for r in failed:
    print(f"{r.status.name} {r.resource_type or '-'} {r.title}: {(r.reason or '')[:400]}")
print(f"checks: {len(results)}, not success: {len(failed)}")
sys.exit(1 if failed or not results else 0)
