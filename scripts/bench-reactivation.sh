#!/usr/bin/env bash
# How long a silo takes to activate a SKU with a long stream: its first GET /inventory/{sku} after a restart, once
# replaying the whole stream (Grains:SnapshotEvery=0) and once starting from a snapshot (decision record 0028),
# alternating, on a silo of this build and the bench PostgreSQL (.data/bench/postgres, port 54339).
#   scripts/bench-reactivation.sh [--orders 500000] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
orders=500000 rounds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --orders) orders="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "usage: scripts/bench-reactivation.sh [--orders N] [--rounds N]" >&2; exit 2 ;;
  esac
done
[[ "$orders" =~ ^[1-9][0-9]*$ && "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "--orders and --rounds take positive whole numbers." >&2; exit 2; }

state=".data/bench"
mkdir -p "$state"
export ORDERPLATFORM_PGDATA="${BENCH_PGDATA:-$PWD/$state/postgres}"
export ORDERPLATFORM_PGPORT="${BENCH_PGPORT:-54339}"
bindir="$(scripts/ensure-postgres.sh)"
postgres_started=""
scripts/local-postgres.sh status >/dev/null 2>&1 || postgres_started=yes
scripts/local-postgres.sh start >/dev/null
silo=""
cleanup() {
  [[ -z "$silo" ]] || { kill -KILL "$silo" 2>/dev/null || true; wait "$silo" 2>/dev/null || true; }
  [[ -z "$postgres_started" ]] || scripts/local-postgres.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dotnet build src/OrderPlatform.Host/OrderPlatform.Host.csproj -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
psql=(env PGOPTIONS="-c client_min_messages=warning" "$bindir/psql" -h 127.0.0.1 -p "$ORDERPLATFORM_PGPORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
database="bench_reactivation"
"${psql[@]}" -d postgres -c "drop database if exists $database" -c "create database $database"
connection="Host=127.0.0.1;Port=$ORDERPLATFORM_PGPORT;Username=postgres;Database=$database"
url="http://127.0.0.1:5391"

start_silo() { # $1: Grains:SnapshotEvery
  Grains__SnapshotEvery="$1" ConnectionStrings__Postgres="$connection" Orleans__ClusterId="reactivation-$RANDOM" \
  Orleans__SiloPort=11391 Orleans__GatewayPort=30391 Logging__LogLevel__Default=Warning \
    dotnet src/OrderPlatform.Host/bin/Release/net10.0/OrderPlatform.Host.dll --urls "$url" >"$state/reactivation-silo.log" 2>&1 &
  silo=$!
  for _ in $(seq 1 300); do
    curl -sf "$url/health" >/dev/null && return 0
    kill -0 "$silo" 2>/dev/null || { echo "the silo exited; see $state/reactivation-silo.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "the silo did not answer /health; see $state/reactivation-silo.log" >&2; exit 1
}
stop_silo() { kill -KILL "$silo"; wait "$silo" 2>/dev/null || true; silo=""; }
first_read_ms() { curl -sf -o /dev/null -w '%{time_total}' "$url/inventory/HOT-1" | awk '{ printf "%.0f", $1 * 1000 }'; }

# The schema (the silo migrates), then the stream of a SKU that sold $orders orders one at a time: as the grain records it.
start_silo 0
stop_silo
echo "writing a stream of $orders orders (two events each) for SKU HOT-1..."
"${psql[@]}" -d "$database" <<SQL
insert into events (stream_id, version, event_id, event_type, schema_version, data, metadata, recorded_at)
values ('stock-HOT-1', 1, gen_random_uuid(), 'stock.restocked', 1, jsonb_build_object('quantity', 1000000), '{}', now());
insert into events (stream_id, version, event_id, event_type, schema_version, data, metadata, recorded_at)
select 'stock-HOT-1', 2 * i + k, gen_random_uuid(), case k when 0 then 'stock.reserved' else 'stock.committed' end, 1,
       case k when 0 then jsonb_build_object('orderId', o, 'quantity', 1, 'reserveBy', at + interval '2 minutes', 'at', at)
              else jsonb_build_object('orderId', o, 'quantity', 1, 'reserveBy', at + interval '2 minutes') end,
       '{}', at
from (select i, gen_random_uuid() as o, now() - interval '1 second' * ($orders - i) / 200 as at from generate_series(1, $orders) i) orders,
     (values (0), (1)) as kinds(k);
analyze events;
SQL

replay=() snapshot=()
for round in $(seq 1 "$rounds"); do
  # Without snapshots: the first read replays the whole stream.
  start_silo 0
  ms="$(first_read_ms)"; replay+=("$ms")
  stop_silo
  # With them: an append leaves a snapshot (the first append of an activation past SnapshotEvery events); a later
  # activation starts from it.
  start_silo 10000
  curl -sf -o /dev/null "$url/inventory/HOT-1"
  curl -sf -o /dev/null -X POST "$url/inventory/HOT-1/restock" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: reactivation-$round-$RANDOM" -d '{"quantity": 1}'
  for _ in $(seq 1 100); do
    [[ "$("${psql[@]}" -d "$database" -c "select count(*) from snapshots where stream_id = 'stock-HOT-1'")" == 1 ]] && break
    sleep 0.1
  done
  stop_silo
  start_silo 10000
  ms="$(first_read_ms)"; snapshot+=("$ms")
  stop_silo
  "${psql[@]}" -d "$database" -c "delete from snapshots"
  echo "round $round: replaying $((2 * orders + 1)) events ${replay[-1]} ms, from a snapshot ${snapshot[-1]} ms"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
echo "| first read of the SKU after a restart | median ms | runs |"
echo "| --- | --- | --- |"
echo "| replaying $((2 * orders + 1)) events | $(median "${replay[@]}") | ${replay[*]} |"
echo "| from a snapshot | $(median "${snapshot[@]}") | ${snapshot[*]} |"
