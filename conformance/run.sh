#!/usr/bin/env bash
# Starts the gateway ($1: its binary) on a fresh SQLite database and a free
# port, then runs the GraphQL-over-HTTP audit suite and the graphql-ws
# reference client and Apollo Client's persisted-queries link against it.
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" --bind "127.0.0.1:$port" --database-url "sqlite://$work/conformance.db?mode=rwc" --rate-limit-per-second 0 \
  >"$work/out.log" 2>"$work/err.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  key=$(grep -o 'agk_[0-9a-f]*' "$work/out.log" | head -1 || true)
  [ -n "$key" ] && break
  sleep 0.1
done
[ -n "$key" ] || { cat "$work/err.log"; echo "the gateway did not start"; exit 1; }
cd "$here"
npm ci --no-audit --no-fund --silent
URL="http://127.0.0.1:$port/graphql" KEY="$key" node http-audit.mjs
URL="http://127.0.0.1:$port/graphql" KEY="$key" node ws-client.mjs
URL="http://127.0.0.1:$port/graphql" KEY="$key" node resume.mjs
URL="http://127.0.0.1:$port/graphql" KEY="$key" node apollo-apq.mjs
