#!/usr/bin/env bash
# The chaos runner: a fresh database on the local PostgreSQL (or ConnectionStrings__Postgres), librdkafka's mock
# Kafka cluster, N silo processes and the consumer; orders at a constant rate while silos are SIGKILLed (and,
# optionally, PostgreSQL backends terminated, a Kafka broker taken down, the consumer killed); then it waits
# for quiescence and runs the invariant checker. Options: scripts/chaos.sh --help
#   short:  scripts/chaos.sh --duration 40 --rate 10 --kill-every 12 --restart-after 4
#   long:   scripts/chaos.sh --duration 600 --rate 20 --kill-every 25 --restart-after 5 \
#             --terminate-backends-every 45 --broker-down-every 120 --broker-down-for 10 --kill-consumer-every 90
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${ConnectionStrings__Postgres:-}" ]]; then
  ConnectionStrings__Postgres="$(scripts/local-postgres.sh start)"
  export ConnectionStrings__Postgres
fi
for project in OrderPlatform.Host OrderPlatform.Projections OrderPlatform.InvariantChecker OrderPlatform.Chaos; do
  dotnet build "src/$project/$project.csproj" -c Release -nologo -v q -clp:ErrorsOnly
done
exec dotnet src/OrderPlatform.Chaos/bin/Release/net10.0/OrderPlatform.Chaos.dll "$@"
