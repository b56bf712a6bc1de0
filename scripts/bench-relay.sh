#!/usr/bin/env bash
# Relay throughput (events/s), commit-to-acknowledgement latency (p50, p99) and consumer throughput against
# librdkafka's mock cluster and the local PostgreSQL (or ConnectionStrings__Postgres).
#   scripts/bench-relay.sh [--events 50000] [--rate 1000] [--seconds 15]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${ConnectionStrings__Postgres:-}" ]]; then
  ConnectionStrings__Postgres="$(scripts/local-postgres.sh start)"
  export ConnectionStrings__Postgres
fi
dotnet build src/OrderPlatform.Benchmarks/OrderPlatform.Benchmarks.csproj -c Release -nologo -v q -clp:ErrorsOnly
dotnet build src/OrderPlatform.Projections/OrderPlatform.Projections.csproj -c Release -nologo -v q -clp:ErrorsOnly
dotnet src/OrderPlatform.Benchmarks/bin/Release/net10.0/OrderPlatform.Benchmarks.dll relay "$@"
