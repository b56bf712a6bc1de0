#!/usr/bin/env bash
# The run command: a local PostgreSQL (unless ConnectionStrings__Postgres points at one), a local Kafka
# (librdkafka's mock cluster, unless Kafka__BootstrapServers points at one), the migrations, and one silo
# with the REST API and the outbox relay on a loopback URL.
#   PORT=5080 ./run.sh
set -euo pipefail
cd "$(dirname "$0")"

if [[ -z "${ConnectionStrings__Postgres:-}" ]]; then
  ConnectionStrings__Postgres="$(scripts/local-postgres.sh start)"
  export ConnectionStrings__Postgres
  echo "PostgreSQL: $ConnectionStrings__Postgres (data in .data/postgres; stop it with scripts/local-postgres.sh stop)"
fi

port="${PORT:-5080}"
dotnet build src/OrderPlatform.Host/OrderPlatform.Host.csproj -c Release -nologo -v q -clp:ErrorsOnly
dotnet build src/OrderPlatform.KafkaMock/OrderPlatform.KafkaMock.csproj -c Release -nologo -v q -clp:ErrorsOnly

children=()
cleanup() { for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if [[ -z "${Kafka__BootstrapServers:-}" ]]; then
  # In-memory and for local use only: its messages are gone when it stops (the outbox keeps the events).
  mkdir -p .data
  bootstrap_file=".data/kafka-bootstrap"
  rm -f "$bootstrap_file"
  topics=()
  for topic in orderplatform.orders orderplatform.inventory orderplatform.payments orderplatform.deadletter; do
    topics+=(--topic "$topic:6")
  done
  dotnet src/OrderPlatform.KafkaMock/bin/Release/net10.0/OrderPlatform.KafkaMock.dll --brokers 1 "${topics[@]}" \
    --bootstrap-file "$bootstrap_file" > .data/kafka-mock.log 2>&1 &
  children+=($!)
  for _ in $(seq 1 100); do [[ -s "$bootstrap_file" ]] && break; sleep 0.1; done
  [[ -s "$bootstrap_file" ]] || { echo "The local Kafka did not start; see .data/kafka-mock.log" >&2; exit 1; }
  Kafka__BootstrapServers="$(cat "$bootstrap_file")"
  export Kafka__BootstrapServers
  echo "Kafka (local mock cluster): $Kafka__BootstrapServers"
  echo "  read the events: kcat -b $Kafka__BootstrapServers -C -t orderplatform.orders -f '%k %h %s\n'"
fi

echo "API: http://127.0.0.1:$port   OpenAPI document: http://127.0.0.1:$port/openapi/v1.json"
dotnet src/OrderPlatform.Host/bin/Release/net10.0/OrderPlatform.Host.dll --urls "http://127.0.0.1:$port" &
children+=($!)
wait "${children[-1]}"
