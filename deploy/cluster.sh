#!/usr/bin/env bash
# A whole cluster on one machine, on loopback: PostgreSQL, the mock Kafka cluster process, three silo processes
# (each with its own HTTP, silo and gateway port) and the downstream consumer.
#   deploy/cluster.sh start          start everything (build first); prints the silos' URLs
#   deploy/cluster.sh stop           stop everything cleanly (SIGTERM, then SIGKILL after 20 s)
#   deploy/cluster.sh status         which processes run
#   deploy/cluster.sh kill N         SIGKILL silo N (1-3), as a chaos script would
#   deploy/cluster.sh restart N      start silo N again on the same ports (it rejoins the cluster)
# State (pids, logs, the Kafka bootstrap list) lives in .data/cluster/.
set -euo pipefail
cd "$(dirname "$0")/.."
state=".data/cluster"
cluster_id="order-platform-cluster"
silos=3

http_port() { echo $((5080 + $1)); }
silo_port() { echo $((11110 + $1)); }
gateway_port() { echo $((30000 + $1)); }

running() { [[ -f "$state/$1.pid" ]] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

connection_string() {
  if [[ -n "${ConnectionStrings__Postgres:-}" ]]; then echo "$ConnectionStrings__Postgres"; else scripts/local-postgres.sh start; fi
}

start_silo() {
  local n="$1"
  ConnectionStrings__Postgres="$(connection_string)" \
  Kafka__BootstrapServers="$(cat "$state/kafka-bootstrap")" \
  Orleans__ClusterId="$cluster_id" \
  Orleans__SiloPort="$(silo_port "$n")" \
  Orleans__GatewayPort="$(gateway_port "$n")" \
    nohup dotnet src/OrderPlatform.Host/bin/Release/net10.0/OrderPlatform.Host.dll --urls "http://127.0.0.1:$(http_port "$n")" \
    >> "$state/silo-$n.log" 2>&1 &
  echo $! > "$state/silo-$n.pid"
}

wait_healthy() {
  local n="$1"
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$(http_port "$n")/health" >/dev/null && return 0
    running "silo-$n" || { echo "silo $n exited; see $state/silo-$n.log" >&2; return 1; }
    sleep 0.2
  done
  echo "silo $n did not become healthy; see $state/silo-$n.log" >&2
  return 1
}

stop_process() {
  local name="$1"
  running "$name" || { rm -f "$state/$name.pid"; return 0; }
  local pid; pid="$(cat "$state/$name.pid")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$state/$name.pid"
}

case "${1:-}" in
  start)
    mkdir -p "$state"
    for project in OrderPlatform.Host OrderPlatform.Projections OrderPlatform.KafkaMock; do
      dotnet build "src/$project/$project.csproj" -c Release -nologo -v q -clp:ErrorsOnly
    done
    cs="$(connection_string)"
    if ! running kafka; then
      rm -f "$state/kafka-bootstrap"
      topics=()
      for topic in orderplatform.orders orderplatform.inventory orderplatform.payments orderplatform.deadletter; do topics+=(--topic "$topic:6"); done
      nohup dotnet src/OrderPlatform.KafkaMock/bin/Release/net10.0/OrderPlatform.KafkaMock.dll --brokers 3 "${topics[@]}" \
        --bootstrap-file "$state/kafka-bootstrap" > "$state/kafka.log" 2>&1 &
      echo $! > "$state/kafka.pid"
      for _ in $(seq 1 100); do [[ -s "$state/kafka-bootstrap" ]] && break; sleep 0.1; done
    fi
    # No silo of this cluster runs: rows of silos killed earlier would only make the new ones wait for them to go stale.
    if ! running silo-1 && ! running silo-2 && ! running silo-3; then
      "$(scripts/ensure-postgres.sh)/psql" "$(sed 's/;/ /g; s/Host=/host=/; s/Port=/port=/; s/Username=/user=/; s/Database=/dbname=/' <<<"$cs")" -qAt \
        -c "delete from orleans_membership where deployment_id = '$cluster_id'" 2>/dev/null || true
    fi
    for n in $(seq 1 $silos); do running "silo-$n" || start_silo "$n"; done
    for n in $(seq 1 $silos); do wait_healthy "$n"; echo "silo $n: http://127.0.0.1:$(http_port "$n")"; done
    if ! running consumer; then
      ConnectionStrings__Postgres="$cs" Kafka__BootstrapServers="$(cat "$state/kafka-bootstrap")" \
        nohup dotnet src/OrderPlatform.Projections/bin/Release/net10.0/OrderPlatform.Projections.dll > "$state/consumer.log" 2>&1 &
      echo $! > "$state/consumer.pid"
    fi
    echo "Kafka: $(cat "$state/kafka-bootstrap"); consumer and logs in $state/"
    ;;
  stop)
    for n in $(seq 1 $silos); do stop_process "silo-$n"; done
    stop_process consumer
    stop_process kafka
    ;;
  status)
    for name in kafka silo-1 silo-2 silo-3 consumer; do
      if running "$name"; then echo "$name: running (pid $(cat "$state/$name.pid"))"; else echo "$name: stopped"; fi
    done
    ;;
  kill)
    n="${2:?silo number}"
    running "silo-$n" || { echo "silo $n is not running" >&2; exit 1; }
    kill -KILL "$(cat "$state/silo-$n.pid")"
    for _ in $(seq 1 50); do running "silo-$n" || break; sleep 0.1; done
    echo "silo $n killed"
    ;;
  restart)
    n="${2:?silo number}"
    running "silo-$n" && { echo "silo $n is running" >&2; exit 1; }
    start_silo "$n"; wait_healthy "$n"; echo "silo $n: http://127.0.0.1:$(http_port "$n")"
    ;;
  *)
    sed -n '2,10p' "$0"; exit 2 ;;
esac
