#!/usr/bin/env bash
# Times `seed`, `export` and `import` of N accounts (default 100,000) on a
# fresh PostgreSQL database, then checks the import made every account.
# Usage: bench/import_round_trip.sh [N]   (release build; needs psql and
# PostgreSQL at $PG, default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
N=${1:-100000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/accounts-gateway}
DB=ag_import_bench_$$
DIR=$(mktemp -d)
trap 'psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB" >/dev/null; rm -rf "$DIR"' EXIT
psql -q "$PG/postgres" -c "CREATE DATABASE $DB"
export DATABASE_URL="$PG/$DB" LOG_FORMAT=json CARD_KEY_FILE="$DIR/card.key"
TIMEFORMAT='  %R s'
echo "seed $N";  time "$BIN" seed --accounts "$N" 2>/dev/null
echo "export jsonl"; time "$BIN" export --org demo --output "$DIR/all.jsonl" 2>/dev/null
echo "  $(wc -l < "$DIR/all.jsonl") accounts, $(du -h "$DIR/all.jsonl" | cut -f1)"
echo "import jsonl into an empty organization"; time "$BIN" import "$DIR/all.jsonl" --org restored 2>/dev/null
echo "import jsonl again (everything skipped)"; time "$BIN" import "$DIR/all.jsonl" --org restored 2>/dev/null
"$BIN" export --org demo --output "$DIR/all.csv" 2>/dev/null
echo "import csv into an empty organization"; time "$BIN" import "$DIR/all.csv" --org from_csv 2>/dev/null
psql -qAt "$DATABASE_URL" -c "SELECT o.name, count(a.id) FROM organizations o JOIN accounts a ON a.organization_id = o.id GROUP BY o.name ORDER BY 1"
