#!/usr/bin/env python3
"""An atomic `importAccounts` of N rows (issue 25, item 7): each row a
PERSONAL account of the demo client cli-ana with a USD asset. For each
gateway binary given, in turn: a fresh database on the machine's
PostgreSQL, one call, its wall time and answer. Usage:
bench/import_accounts.py BIN [BIN...]   (ROWS=10000, REQUEST_TIMEOUT_MS as
the gateway's default unless set; stdlib only)."""
import json, os, subprocess, sys, time, urllib.request

from ready import wait_ready

ROWS = int(os.environ.get("ROWS", "10000"))
BASE = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test").rsplit("/", 1)[0]


def run(binary, n):
    db = f"ag_bench_import_{os.getpid()}_{n}"
    port = 21000 + os.getpid() % 1000 + n
    env = dict(os.environ, DATABASE_URL=f"{BASE}/{db}", RUST_LOG="warn", RATE_LIMIT_PER_SECOND="0")
    env.pop("REDIS_URL", None)
    subprocess.run(["psql", f"{BASE}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
    server = None
    try:
        subprocess.run([binary, "seed"], env=env, check=True, capture_output=True)
        key = subprocess.run([binary, "api-key", "create", "--org", "demo", "--role", "ADMIN", "--name", "bench"],
                             env=env, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        server = subprocess.Popen([binary, "--bind", f"127.0.0.1:{port}"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ready(port)
        rows = [{"name": f"imported {i}", "type": "PERSONAL", "ownerExternalId": "cli-ana", "externalId": f"imp-{i}",
                 "assets": [{"currency": "USD", "initialBalance": "10.00"}]} for i in range(ROWS)]
        query = "mutation($r: [CreateAccountInput!]!) { importAccounts(rows: $r, atomic: true) { created failed } }"
        body = json.dumps({"query": query, "variables": {"r": rows}}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                     headers={"content-type": "application/json", "x-api-key": key})
        started = time.monotonic()
        answer = json.load(urllib.request.urlopen(req, timeout=600))
        took = time.monotonic() - started
        shown = answer.get("data") or answer.get("errors", [{}])[0].get("message", "")[:120]
        print(f"{binary}: {ROWS} rows, atomic: {took:.2f} s, {shown}", flush=True)
    finally:
        if server:
            server.terminate()
            server.wait()
        subprocess.run(["psql", f"{BASE}/postgres", "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])


for n, binary in enumerate(sys.argv[1:]):
    run(binary, n)
