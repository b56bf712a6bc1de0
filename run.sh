#!/usr/bin/env bash
# The run command: a local PostgreSQL (unless ConnectionStrings__Postgres points at one), the migrations,
# and one silo with the REST API on a loopback URL.
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
echo "API: http://127.0.0.1:$port   OpenAPI document: http://127.0.0.1:$port/openapi/v1.json"
exec dotnet src/OrderPlatform.Host/bin/Release/net10.0/OrderPlatform.Host.dll --urls "http://127.0.0.1:$port"
