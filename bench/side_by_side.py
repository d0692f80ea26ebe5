#!/usr/bin/env python3
"""The gateway and PostGraphile 5 side by side, on one database.

Starts its own PostgreSQL (with pg_stat_statements) and Redis on free
ports, seeds the gateway's schema, serves that same database with the
release gateway and with PostGraphile 5 (installed from the npm registry,
with Node 22 from the registry's `node` package), checks that both return
the same data value by value, then drives both with wrk, interleaved, and
prints one table: req/s, p50, p99, CPU per request of each server and of
PostgreSQL, SQL statements and Redis commands per request, and memory.

    bench/side_by_side.py --accounts 10000 --seconds 10 --concurrency 1,8,32

`--accounts 20 --seconds 1 --concurrency 2` is the few-second run CI makes
to prove the harness still works; CI never fails on speed. Nothing of the
machine's own PostgreSQL or Redis is touched. Needs wrk, initdb and
redis-server (Debian packages), npm, and runs PostgreSQL as user
`postgres` when started as root.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRAPHILE = "postgraphile@5.1.5"
NODE = "node@22"

# The page of DESIGN.md's yardstick: accounts by uid with owner, type,
# assets with currency, balances and wallets with network, cards and the
# first 5 sub-accounts. One query per API, the same data.
GATEWAY_PAGE = """query($n: Int!) { accounts(first: $n, orderBy: {field: UID, direction: ASC}) { nodes {
  uid name status owner { name email } type { code }
  assets { currency { code } balance { available onHold } wallets { address network { code } } }
  smartCards { last4 expirationDate } subAccounts(first: 5) { nodes { uid name } } %s } } }"""
PEER_PAGE = """query($n: Int!) { allAccounts(first: $n, orderBy: [UID_ASC]) { nodes {
  uid name status clientByOwnerId { name email } accountTypeByTypeId { code }
  assetsByAccountId { nodes { currencyByCurrencyId { code } available onHold
    walletsByAssetId { nodes { address networkByNetworkId { code } } } } }
  smartCardsByAccountId { nodes { last4 expirationDate } }
  accountsByParentId(first: 5, orderBy: [CREATED_AT_DESC, PRIMARY_KEY_DESC]) { nodes { uid name } } } } }"""
GATEWAY_ONE = """query($id: UUID!) { account(id: $id) { uid name status owner { name email }
  assets { currency { code } balance { available onHold } } balance { total complete } } }"""
PEER_ONE = """query($id: UUID!) { accountByRowId(rowId: $id) { uid name status clientByOwnerId { name email }
  assetsByAccountId { nodes { currencyByCurrencyId { code } available onHold } } } }"""

PEER_SERVER = """
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ["public"] })],
  grafserv: { graphqlPath: "/graphql", graphiql: false },
  grafast: { explain: false },
};
const pgl = postgraphile(preset);
const server = createServer();
server.on("error", (e) => { console.error(e); process.exit(1); });
await pgl.createServ(grafserv).addTo(server);
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"));
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def as_postgres(cmd):
    """Runs PostgreSQL's tools as user postgres when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def wait_until(what, check, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    sys.exit(f"{what} did not come up")


def post(url, query, variables, headers):
    body = json.dumps({"query": query, "variables": variables}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            out = json.load(resp)
    except urllib.error.HTTPError as e:
        out = json.loads(e.read() or b"{}") or {"errors": [f"HTTP {e.code}"]}
    if out.get("errors"):
        sys.exit(f"{url} answered errors: {json.dumps(out['errors'])[:800]}")
    return out["data"]


class Cluster:
    """A PostgreSQL of our own, with pg_stat_statements."""

    def __init__(self, work):
        self.dir = work / "pg"
        self.port = free_port()
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bins:
            sys.exit("no PostgreSQL binaries under /usr/lib/postgresql")
        self.bin = bins[-1]
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(work, "postgres")
            shutil.chown(self.dir, "postgres")
        run(as_postgres([str(self.bin / "initdb"), "-D", str(self.dir), "-A", "trust", "-U", "postgres"]))
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                "-c shared_preload_libraries=pg_stat_statements -c fsync=off -c synchronous_commit=off")
        run(as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.dir), "-o", opts, "-l",
                         str(self.dir / "log"), "-w", "start"]))
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/bench"
        self.sql("postgres", "CREATE DATABASE bench")
        self.sql("bench", "CREATE EXTENSION pg_stat_statements")

    def sql(self, db, text):
        return run(["psql", f"postgres://postgres@127.0.0.1:{self.port}/{db}", "-Atqc", text]).strip()

    def pids(self):
        postmaster = int((self.dir / "postmaster.pid").read_text().split()[0])
        children = run(["pgrep", "-P", str(postmaster)]).split()
        return [postmaster, *map(int, children)]

    def statements(self):
        return int(self.sql("bench", "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                                     "WHERE query NOT LIKE '%pg_stat_statements%'"))

    def stop(self):
        subprocess.run(as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "immediate", "stop"]),
                       capture_output=True)


def cpu_seconds(pids):
    """User + system CPU of `pids` so far, by pid."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return out


def cpu_delta(before, after):
    return sum(after[p] - before.get(p, 0.0) for p in after)


def memory_mb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def redis_commands(port):
    info = run(["redis-cli", "-p", str(port), "info", "stats"])
    return int(re.search(r"total_commands_processed:(\d+)", info).group(1))


def wrk(url, body, headers, concurrency, seconds, work):
    script = work / "post.lua"
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    lines.append(f"wrk.body = [==[{body}]==]")
    # A 200 with GraphQL errors is a failure too: each thread counts them.
    lines += [
        "local threads = {}",
        "function setup(thread) table.insert(threads, thread) end",
        "function init(args) errors = 0 end",
        "function response(status, headers, body)",
        "  if string.find(body, '\"errors\"', 1, true) then errors = errors + 1 end",
        "end",
        "function done(summary, latency, requests)",
        "  local n = 0",
        "  for _, t in ipairs(threads) do n = n + t:get('errors') end",
        "  io.write(string.format('GraphQL errors: %d\\n', n))",
        "end",
    ]
    script.write_text("\n".join(lines) + "\n")
    out = run(["wrk", "-t", str(min(concurrency, 2)), "-c", str(concurrency), "-d", f"{seconds}s", "--latency",
               "-s", str(script), url])
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        sys.exit(f"{url}: {bad.group(1)} failed responses under load\n{out}")
    errors = re.search(r"GraphQL errors: (\d+)", out)
    if not errors or int(errors.group(1)) > 0:
        sys.exit(f"{url}: answers with GraphQL errors under load\n{out}")

    def latency(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
        return float(m.group(1)) * scale[m.group(2)] if m else float("nan")

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "requests": requests,
            "p50": latency(50), "p99": latency(99)}


def decimal_text(v):
    """A decimal as text without trailing zeros: the gateway shows amounts
    at the currency's scale, PostgreSQL's NUMERIC as stored."""
    d = Decimal(str(v)).normalize()
    return format(d, "f") if d == d.to_integral() else str(d)


def address_text(a):
    """EVM addresses without their checksum: the gateway shows EIP-55, the
    table keeps them lower-case."""
    return a.lower() if a.startswith("0x") else a


def normal_page(rows, gateway):
    """Both APIs' pages as one shape, lists in a fixed order."""
    out = []
    for a in rows:
        if gateway:
            owner, ty, assets = a["owner"], a["type"]["code"], a["assets"]
            cards, subs = a["smartCards"], a["subAccounts"]["nodes"]
            assets = [(x["currency"]["code"], x["balance"]["available"], x["balance"]["onHold"],
                       [(address_text(w["address"]), w["network"]["code"]) for w in x["wallets"]]) for x in assets]
        else:
            owner, ty = a["clientByOwnerId"], a["accountTypeByTypeId"]["code"]
            cards, subs = a["smartCardsByAccountId"]["nodes"], a["accountsByParentId"]["nodes"]
            assets = [(x["currencyByCurrencyId"]["code"], x["available"], x["onHold"],
                       [(address_text(w["address"]), w["networkByNetworkId"]["code"])
                        for w in x["walletsByAssetId"]["nodes"]])
                      for x in a["assetsByAccountId"]["nodes"]]
        out.append({
            "uid": int(a["uid"]), "name": a["name"], "status": a["status"], "type": ty,
            "owner": owner and {"name": owner["name"], "email": owner["email"]},
            "assets": sorted((c, decimal_text(av), decimal_text(oh), sorted(w)) for c, av, oh, w in assets),
            "cards": sorted((c["last4"], c["expirationDate"]) for c in cards),
            "subAccounts": [(int(s["uid"]), s["name"]) for s in subs],
        })
    return out


def same(label, ours, theirs):
    if ours != theirs:
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if a != b:
                sys.exit(f"{label}: row {i} differs\n gateway:      {a}\n postgraphile: {b}")
        sys.exit(f"{label}: {len(ours)} rows against {len(theirs)}")
    print(f"equal: {label} ({len(ours)} rows, value by value)")


def check_equal(gw, peer, first, account_id):
    ours = post(gw.url, GATEWAY_PAGE % "", {"n": first}, gw.headers)["accounts"]["nodes"]
    theirs = post(peer.url, PEER_PAGE, {"n": first}, {})["allAccounts"]["nodes"]
    same(f"page of {first}", normal_page(ours, True), normal_page(theirs, False))
    one = post(gw.url, GATEWAY_ONE, {"id": account_id}, gw.headers)["account"]
    their_one = post(peer.url, PEER_ONE, {"id": account_id}, {})["accountByRowId"]
    mine = {**one, "owner": one["owner"], "assets": [
        (x["currency"]["code"], decimal_text(x["balance"]["available"]), decimal_text(x["balance"]["onHold"]))
        for x in one["assets"]]}
    theirs_one = {"uid": their_one["uid"], "name": their_one["name"], "status": their_one["status"],
                  "owner": their_one["clientByOwnerId"], "assets": [
                      (x["currencyByCurrencyId"]["code"], decimal_text(x["available"]), decimal_text(x["onHold"]))
                      for x in their_one["assetsByAccountId"]["nodes"]]}
    mine.pop("balance")
    mine["assets"], theirs_one["assets"] = sorted(mine["assets"]), sorted(theirs_one["assets"])
    mine["uid"], theirs_one["uid"] = int(mine["uid"]), int(theirs_one["uid"])
    same("one account by id", [mine], [theirs_one])


class Server:
    def __init__(self, name, proc, url, headers):
        self.name, self.proc, self.url, self.headers = name, proc, url, headers


def medians(runs):
    """One row per (scenario, server, c), each figure the median over rounds
    (peak memory the highest)."""
    keys = []
    for x in runs:
        k = (x["scenario"], x["server"], x["c"])
        if k not in keys:
            keys.append(k)
    out = []
    for k in keys:
        same = [x for x in runs if (x["scenario"], x["server"], x["c"]) == k]
        row = dict(same[0])
        for f, v in same[0].items():
            if f == "peak_mb":
                row[f] = max(x[f] for x in same)
            elif isinstance(v, (int, float)) and f != "c":
                row[f] = statistics.median(x[f] for x in same)
        out.append(row)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=10000, help="generated accounts (seed --accounts)")
    ap.add_argument("--first", type=int, default=50, help="accounts per page")
    ap.add_argument("--seconds", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--concurrency", default="1,8,32", help="comma-separated connection counts")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat every point; odd rounds run the baseline before the gateway, and the table "
                         "gives each figure's median over the rounds")
    ap.add_argument("--gateway", default=None, help="the gateway binary (default: the release build)")
    ap.add_argument("--baseline", default=None,
                    help="another gateway binary (a change's parent) to run interleaved with the first")
    ap.add_argument("--npm-cache", default="/var/tmp/ag-bench-npm", help="where PostGraphile is installed")
    args = ap.parse_args()
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    gateway_bin = Path(args.gateway or target / "release" / "accounts-gateway")
    if not gateway_bin.exists():
        sys.exit(f"{gateway_bin} is missing: cargo build --release --bin accounts-gateway")
    for tool in ["wrk", "redis-server", "redis-cli", "psql", "npm", "pgrep"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing (wrk, redis-server and psql come from Debian's packages)")
    npm_dir = Path(args.npm_cache)
    node = npm_dir / "node_modules" / ".bin" / "node"
    if not (npm_dir / "node_modules" / "postgraphile").exists() or not node.exists():
        npm_dir.mkdir(parents=True, exist_ok=True)
        print(f"installing {POSTGRAPHILE} and {NODE} into {npm_dir}", flush=True)
        run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(npm_dir), NODE, POSTGRAPHILE])

    work = Path(tempfile.mkdtemp(prefix="ag-bench-"))
    procs, cluster = [], None
    try:
        cluster = Cluster(work)
        redis_port = free_port()
        procs.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL))
        wait_until("Redis", lambda: run(["redis-cli", "-p", str(redis_port), "ping"]).strip() == "PONG")
        # The card key is the gateway's own secret; any 32 bytes do here.
        env = {**os.environ, "RUST_LOG": "warn", "CARD_HASH_KEY": "side-by-side-bench-card-key-32-bytes"}
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        started = time.monotonic()
        run([str(gateway_bin), "seed", "--accounts", str(args.accounts), "--database-url", cluster.url], env=env)
        print(f"seeded {args.accounts} accounts in {time.monotonic() - started:.1f} s", flush=True)
        key = run([str(gateway_bin), "api-key", "create", "--org", "demo", "--role", "ADMIN", "--name", "bench",
                   "--database-url", cluster.url], env=env).strip().splitlines()[-1]
        # What a PostGraphile user adds: an index on each foreign key it
        # follows. The gateway's own indexes lead with organization_id,
        # which PostGraphile's queries (one tenant, no filter) cannot use.
        for table, column in [("accounts", "parent_id"), ("accounts", "owner_id"), ("accounts", "type_id"),
                              ("accounts", "project_id"), ("assets", "currency_id"), ("wallets", "network_id")]:
            cluster.sql("bench", f"CREATE INDEX IF NOT EXISTS peer_{table}_{column} ON {table} ({column})")
        cluster.sql("bench", "ANALYZE")

        def start_gateway(binary):
            port = free_port()
            proc = subprocess.Popen(
                [str(binary), "--bind", f"127.0.0.1:{port}", "--database-url", cluster.url,
                 "--redis-url", f"redis://127.0.0.1:{redis_port}", "--rate-limit-per-second", "0"],
                env=env, stdout=subprocess.DEVNULL)
            procs.append(proc)
            return proc, port

        gw_proc, gw_port = start_gateway(gateway_bin)
        peer_port = free_port()
        (work / "server.mjs").write_text(PEER_SERVER)
        (work / "package.json").write_text('{"type": "module"}')
        peer_env = {**os.environ, "DATABASE_URL": cluster.url, "PORT": str(peer_port),
                    "NODE_PATH": str(npm_dir / "node_modules"), "NODE_ENV": "production"}
        # ESM resolves packages from the script's folder up: link them in.
        (work / "node_modules").symlink_to(npm_dir / "node_modules")
        peer_proc = subprocess.Popen([str(node), str(work / "server.mjs")], env=peer_env, stdout=subprocess.DEVNULL)
        procs.append(peer_proc)
        gw = Server("gateway", gw_proc, f"http://127.0.0.1:{gw_port}/graphql", {"x-api-key": key})
        base = None
        if args.baseline:
            base_proc, base_port = start_gateway(Path(args.baseline))
            base = Server("baseline", base_proc, f"http://127.0.0.1:{base_port}/graphql", {"x-api-key": key})
            wait_until("the baseline", lambda: post(base.url, "{ __typename }", {}, base.headers) is not None)
        peer = Server("PostGraphile", peer_proc, f"http://127.0.0.1:{peer_port}/graphql", {})
        wait_until("the gateway", lambda: post(gw.url, "{ __typename }", {}, gw.headers) is not None)
        wait_until("PostGraphile", lambda: post(peer.url, "{ __typename }", {}, {}) is not None)
        first = min(args.first, args.accounts)
        account_id = cluster.sql("bench", "SELECT id FROM accounts WHERE owner_id IS NOT NULL ORDER BY uid LIMIT 1")
        check_equal(gw, peer, first, account_id)
        idle = {s.name: memory_mb(s.proc.pid, "VmRSS") for s in (gw, peer)}
        gateways = [gw, base] if base else [gw]

        def scenarios(order):
            return [
                *[("page", g, GATEWAY_PAGE % "", {"n": first}) for g in order],
                ("page", peer, PEER_PAGE, {"n": first}),
                *[("page with USD balance", g, GATEWAY_PAGE % "balance { total complete }", {"n": first})
                  for g in order],
                *[("one account by id (gateway with USD)", g, GATEWAY_ONE, {"id": account_id}) for g in order],
                ("one account by id (gateway with USD)", peer, PEER_ONE, {"id": account_id}),
            ]

        # Whichever binary runs first at a point was measured slower by
        # about 10% in some runs: alternating the order over rounds and
        # taking medians cancels that.
        points = [(c, label, server, query, variables)
                  for r in range(max(args.rounds, 1))
                  for c in [int(c) for c in args.concurrency.split(",")]
                  for label, server, query, variables in scenarios(gateways if r % 2 == 0 else gateways[::-1])]
        runs = []
        for c, label, server, query, variables in points:
            body = json.dumps({"query": query, "variables": variables})
            pids = {"server": [server.proc.pid], "pg": cluster.pids()}
            cpu0 = {k: cpu_seconds(v) for k, v in pids.items()}
            stmts0, redis0 = cluster.statements(), redis_commands(redis_port)
            r = wrk(server.url, body, server.headers, c, args.seconds, work)
            stmts1, redis1 = cluster.statements(), redis_commands(redis_port)
            cpu1 = {k: cpu_seconds(cluster.pids() if k == "pg" else v) for k, v in pids.items()}
            n = max(r["requests"], 1)
            runs.append({
                "scenario": label, "server": server.name, "c": c, **r,
                "cpu_ms": cpu_delta(cpu0["server"], cpu1["server"]) * 1000 / n,
                "pg_cpu_ms": cpu_delta(cpu0["pg"], cpu1["pg"]) * 1000 / n,
                "sql": (stmts1 - stmts0) / n, "redis": (redis1 - redis0) / n,
                "peak_mb": memory_mb(server.proc.pid, "VmHWM"),
            })
            print(f"  {label:40} {server.name:13} c={c:<3} {r['rps']:8.1f} req/s", flush=True)
        results = medians(runs)
        print()
        print(f"{args.accounts} accounts, pages of {first}, {args.seconds} s per run, "
              f"{max(args.rounds, 1)} round(s) (medians), wrk; "
              f"idle RSS: gateway {idle['gateway']:.0f} MB, PostGraphile {idle['PostGraphile']:.0f} MB")
        print()
        print("| scenario | server | c | req/s | p50 ms | p99 ms | server CPU ms/req | PG CPU ms/req "
              "| SQL/req | Redis/req | peak RSS MB |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for x in results:
            print(f"| {x['scenario']} | {x['server']} | {x['c']} | {x['rps']:.0f} | {x['p50']:.1f} | {x['p99']:.1f} "
                  f"| {x['cpu_ms']:.2f} | {x['pg_cpu_ms']:.2f} | {x['sql']:.1f} | {x['redis']:.1f} "
                  f"| {x['peak_mb']:.0f} |")
        print()
        for c in sorted({x["c"] for x in results}):
            row = {(x["scenario"], x["server"]): x for x in results if x["c"] == c}
            theirs = row.get(("page", "PostGraphile"))
            for name in [g.name for g in gateways]:
                ours = row.get(("page", name))
                if ours and theirs:
                    print(f"c={c}: {name} page {ours['rps'] / theirs['rps']:.2f}x PostGraphile's req/s, "
                          f"p99 {ours['p99'] / theirs['p99']:.2f}x, {ours['cpu_ms']:.2f} ms CPU per page")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if cluster:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
