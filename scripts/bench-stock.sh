#!/usr/bin/env bash
# A busy SKU's stock after many orders: replay time and memory of its stream with each order's deadline for reserving
# (closed orders forgotten) and as recorded before deadlines were carried (all remembered), alternating, in process.
#   scripts/bench-stock.sh [--orders 1000000] [--rate 200] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/OrderPlatform.Benchmarks/OrderPlatform.Benchmarks.csproj -c Release -nologo -v q -clp:ErrorsOnly
dotnet src/OrderPlatform.Benchmarks/bin/Release/net10.0/OrderPlatform.Benchmarks.dll stock "$@"
