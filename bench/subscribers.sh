#!/usr/bin/env bash
# Subscription fan-out (issue 27, item 4; BENCHMARKS.md "Subscriptions"):
# one gateway on a fresh PostgreSQL database of the machine's server and a
# private Redis prefix, then examples/bench.rs `subscribers` in the three
# shapes the issue measures. Run it for two builds back to back to compare.
# Usage: bench/subscribers.sh GATEWAY BENCH_EXAMPLE
set -euo pipefail
gateway=$1 bench=$2
base=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
server=${base%/*}
db="ag_bench_subscribers_$$"
port=$((20000 + $$ % 10000))
export DATABASE_URL="$server/$db" REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379} RUST_LOG=warn
# Thousands of sockets open at once on two shared cores: no rate limit, no
# per-credential cap, and time to send connection_init.
export RATE_LIMIT_PER_SECOND=0 WS_MAX_SOCKETS_PER_CREDENTIAL=30000 WS_INIT_TIMEOUT_MS=60000
# One tenant sends 1,000 changes a second: no per-organization share either.
export TENANT_MAX_CONCURRENT_REQUESTS=0
ulimit -n 20000
psql "$base" -qc "CREATE DATABASE $db"
pid=
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; pid=; }
trap 'stop; psql "$base" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true' EXIT
"$gateway" seed --accounts 1500 >/dev/null  # about 80% ACTIVE or INACTIVE: 1,000 to change
key=$("$gateway" api-key create --org demo --role ADMIN --name bench | tail -1)
run() { # a fresh server (and Redis prefix) per shape, then the bench's flags
  stop
  REDIS_PREFIX="sub$$-$RANDOM:" "$gateway" --bind "127.0.0.1:$port" >"/tmp/ag-subscribers-$$.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  echo "== subscribers $*"
  "$bench" subscribers --url "http://127.0.0.1:$port" --key "$key" --server-pid "$pid" "$@"
}
# SHAPES picks some of: one (10,000 on one account), idle (19,000, the most
# this machine's open-file limit allows one process), spread.
for shape in ${SHAPES:-one idle spread}; do
  case $shape in
    one) run --count 10000 --rounds 5 ;;
    idle) run --count 19000 --rounds 1 ;;
    spread) run --count 10000 --accounts 1000 --rate "${RATE:-1000}" --seconds 10 ;;
  esac
done
