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
export RATE_LIMIT_PER_SECOND=0 WS_MAX_SOCKETS_PER_CREDENTIAL=30000
ulimit -n 20000
psql "$base" -qc "CREATE DATABASE $db"
pid=
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; pid=; }
trap 'stop; psql "$base" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true' EXIT
"$gateway" seed --accounts 1000 >/dev/null
key=$("$gateway" api-key create --org demo --role ADMIN --name bench | tail -1)
run() { # a fresh server (and Redis prefix) per shape, then the bench's flags
  stop
  REDIS_PREFIX="sub$$-$RANDOM:" "$gateway" --bind "127.0.0.1:$port" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  echo "== subscribers $*"
  "$bench" subscribers --url "http://127.0.0.1:$port" --key "$key" --server-pid "$pid" "$@"
}
run --count 10000 --rounds 5
run --count 19000 --rounds 1
run --count 10000 --accounts 1000 --rate 1000 --seconds 10
