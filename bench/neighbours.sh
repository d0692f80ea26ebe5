#!/usr/bin/env bash
# Noisy neighbours (issue 25, item 15; BENCHMARKS.md "Isolation: noisy
# neighbours"): one gateway on a fresh PostgreSQL database of the machine's
# server and a private Redis prefix, organization A (the demo set plus
# generated accounts) reading pages while organization B makes noise.
# Usage: bench/neighbours.sh GATEWAY NEIGHBOURS_EXAMPLE [SECONDS_PER_PHASE]
# The example exits non-zero when any of A's requests fails; CI runs this
# with a debug build and a few seconds a phase, and never judges speed.
set -euo pipefail
gateway=$1 example=$2 seconds=${3:-10}
base=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
server=${base%/*}
db="ag_bench_neighbours_$$"
port=$((20000 + $$ % 10000))
export DATABASE_URL="$server/$db" REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379} REDIS_PREFIX="nb$$:"
# Limits for the run: A reads far faster than the default 50 requests a
# second, so every credential may spend 1,000 a second (B too); the rest
# are the defaults.
export RATE_LIMIT_PER_SECOND=1000 RATE_LIMIT_BURST=2000 RUST_LOG=warn
psql "$base" -qc "CREATE DATABASE $db"
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  psql "$base" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
}
trap cleanup EXIT
"$gateway" seed --accounts 2000 >/dev/null
key_a=$("$gateway" api-key create --org demo --role VIEWER --name neighbour-a | tail -1)
key_b=$("$gateway" api-key create --org noisy --role ADMIN --name neighbour-b | tail -1)
"$gateway" --bind "127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.2
done
"$example" --url "http://127.0.0.1:$port" --key-a "$key_a" --key-b "$key_b" --seconds "$seconds" "${@:4}"
