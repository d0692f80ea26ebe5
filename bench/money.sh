#!/usr/bin/env bash
# Money movement on PostgreSQL, release build: transfers between random
# pairs and through one hot pair (every transfer touches the OMNIBUS
# account) beside adjustBalance, at c=1, 8 and 32; then point-in-time reads
# of one asset with 1,000 and with 1,000,000 journal rows (same binary,
# same run). Usage: bench/money.sh [SECONDS]   (needs psql and curl;
# PostgreSQL at $PG, default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
SECONDS_PER_POINT=${1:-5}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/accounts-gateway}
LOAD=${LOAD:-$TARGET/release/examples/bench}
PORT=${PORT:-18090}
DB=ag_money_bench_$$
DIR=$(mktemp -d)
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB" >/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
psql -q "$PG/postgres" -c "CREATE DATABASE $DB"
export DATABASE_URL="$PG/$DB?sslmode=disable"
RUST_LOG=warn "$BIN" --bind "127.0.0.1:$PORT" --rate-limit-per-second 0 --card-key-file "$DIR/card.key" > "$DIR/out" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
KEY=$(grep -o 'agk_[A-Za-z0-9_]*' "$DIR/out" | head -1)

echo "== writes (ops/s, p50, p99)"
for c in 1 8 32; do
  for kind in adjust random hot; do
    "$LOAD" --url "http://127.0.0.1:$PORT" --key "$KEY" money --kind "$kind" --concurrency "$c" --seconds "$SECONDS_PER_POINT"
  done
done

# One asset's journal grown to N rows, spread back in time; reads at an
# instant in the middle of it.
asset=$(psql -qAt "$DATABASE_URL" -c "SELECT s.id FROM assets s JOIN accounts a ON a.id = s.account_id JOIN currencies c ON c.id = s.currency_id WHERE a.external_id = 'acc-ana-main' AND c.code = 'USD'")
account=$(psql -qAt "$DATABASE_URL" -c "SELECT id FROM accounts WHERE external_id = 'acc-ana-main'")
grow() { # total rows wanted
  psql -q "$DATABASE_URL" -c "INSERT INTO balance_entries (id, organization_id, asset_id, at, actor, cause, idempotency_key,
    delta_available, delta_on_hold, delta_future, available, on_hold, future, credit_limit)
    SELECT gen_random_uuid(), s.organization_id, s.id, now() - make_interval(secs => g), 'bench', 'ADJUSTMENT', NULL,
      0, 0, 0, s.available, 0, 0, 0
    FROM assets s, generate_series((SELECT count(*) FROM balance_entries WHERE asset_id = '$asset'), $1 - 1) g
    WHERE s.id = '$asset'; ANALYZE balance_entries;"
}
median_ms() { # label, query
  local body times
  body=$(printf '{"query": %s}' "$(printf '%s' "$2" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')")
  for _ in $(seq 1 5); do curl -s -o /dev/null -H "x-api-key: $KEY" -H 'content-type: application/json' -d "$body" "http://127.0.0.1:$PORT/graphql"; done
  times=$(for _ in $(seq 1 31); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "x-api-key: $KEY" -H 'content-type: application/json' -d "$body" "http://127.0.0.1:$PORT/graphql"
  done | sort -n | sed -n 16p)
  printf '  %-40s %6.2f ms\n' "$1" "$(python3 -c "print($times * 1000)")"
}
for rows in 1000 1000000; do
  grow "$rows"
  at=$(psql -qAt "$DATABASE_URL" -c "SELECT to_char((now() - make_interval(secs => $rows / 2)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
  from=$(psql -qAt "$DATABASE_URL" -c "SELECT to_char(date_trunc('day', now() - interval '30 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
  to=$(psql -qAt "$DATABASE_URL" -c "SELECT to_char(date_trunc('day', now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
  echo "== the asset's journal: $(psql -qAt "$DATABASE_URL" -c "SELECT count(*) FROM balance_entries WHERE asset_id = '$asset'") rows (median of 31 requests)"
  median_ms "balance(at:)" "{ account(id: \"$account\") { assets { balance(at: \"$at\") { available } } } }"
  median_ms "valuation(at:)" "{ account(id: \"$account\") { balance(at: \"$at\") { total complete } } }"
  median_ms "balanceHistory (30 days, DAY)" "{ account(id: \"$account\") { assets { balanceHistory(from: \"$from\", to: \"$to\", interval: DAY) { at } } } }"
  median_ms "accountsAggregate(groupBy: CURRENCY, at:)" "{ accountsAggregate(groupBy: [CURRENCY], at: \"$at\") { usdTotal } }"
done
