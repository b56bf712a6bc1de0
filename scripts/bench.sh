#!/usr/bin/env bash
# The platform's benchmark, on one machine in one run, printing one table:
#   1. pgbench (TPC-B-like, 4 clients, 2 threads, durable commits) against the benchmark's PostgreSQL server, in a
#      database of its own: the commit ceiling of this machine, in transactions per second;
#   2. the mock Kafka cluster and the silo(s) on a fresh database of the same server, then the load generator ramping
#      the order rate to find the highest one sustained with p99 under --max-p99 and no errors;
#   3. the load generator at fixed rates.
# Each run's row has sagas/s, latency from the order's intended start to its terminal state, errors, PostgreSQL
# commits per saga, the relay's backlog and lag, silo CPU and memory, PostgreSQL's CPU (the postmaster with its
# backends), how busy the whole machine was, the load generator's own CPU (it shares the machine), silo and
# PostgreSQL CPU milliseconds per saga, and sagas/s as a share of pgbench's tps.
#   scripts/bench.sh                                   # the full benchmark, about 11 minutes
#   scripts/bench.sh --pgbench-seconds 5 --settle 50:10 --ramp 20:60:20 --step-duration 5 --rates 50,100 --duration 5 --warmup 2
# Options: --pgbench-seconds S (15), --pgbench-scale N (10), --ramp FROM:TO:STEP (50:1000:50), --step-duration S (10),
#   --max-p99 MS (1000), --rates R,R,... (100,200,500), --duration S (20), --warmup S (5), --silos N (1),
#   --skus N (100), --max-in-flight N (2000), --completion-timeout S (30), --no-ramp, --no-rates,
#   --wait-in post|get (post: each order's POST waits for its end, one request an order; get: the POST is answered 202
#   and the order read with GET until its end, two requests an order; the load generator's --wait-in),
#   --host-dir DIR (the silo build to measure; default this tree's Release build, e.g. another worktree's for a before/after),
#   --settle RATE:SECONDS (100:60; 0:0 for none: orders at RATE for SECONDS before anything is measured, not reported, so
#   the silo's just-in-time compiler has tiered up the hot path, as on a silo that has run for a while),
#   --memory COMPLETED:INFLIGHT (instead of pgbench, ramp and rates: silo memory as COMPLETED orders accumulate at
#   --memory-rate R (200) orders/s, then with INFLIGHT orders held in flight by a 60 s payment authorization;
#   "live MB" is the GC heap after the last full collection, forced at every moment but those placing orders (so with
#   the orders held in flight too); "heap MB" counts garbage; the silo's admission limit is lifted for it unless
#   Admission__MaxRunningSagas is set),
#   --statements (also print where PostgreSQL's execution time went during the load, by statement, from
#   pg_stat_statements: the server is restarted with it preloaded if it runs without it; the load generator's own
#   statements, tagged /* load generator */, are left out of the shares and summed apart),
#   --no-check (skip the invariant checker after the load; by default, once every saga has finished and the relay has
#   published every event, it checks ARCHITECTURE.md's invariants against the database, and a violation fails the
#   benchmark).
# Under the table, per run: where the completed orders' time went by stage, the silos' grouped writes (appends and the
# payment simulator's answers: per statement, waiting and writing), and the silos' garbage collector (KB allocated per
# saga, the share of the window it paused them, collections by generation; from GET /silo/status).
# PostgreSQL runs from the system's binaries (installed by scripts/ensure-postgres.sh when missing) with its
# default, durable settings, its data in .data/bench/postgres, on port BENCH_PGPORT (54339). Results: .data/bench/.
# The silos take settings from the environment as always, e.g. PaymentGateway__SimulatorLedger=memory (the platform's own
# cost, with the payment simulator's ledger off the database; printed before the results when set).
# A server the benchmark starts takes further settings from ORDERPLATFORM_PGSETTINGS, e.g. "-c shared_buffers=2GB", to
# compare them side by side (pgbench runs against the same server). After the load it prints what the server did: its
# checkpoints, the buffers that backends had to write themselves, and the platform database's cache hits and size.
set -euo pipefail
cd "$(dirname "$0")/.."

pgbench_seconds=15 pgbench_scale=10 ramp=50:1000:50 step_duration=10 max_p99=1000 rates=100,200,500
duration=20 warmup=5 silos=1 skus=100 max_in_flight=2000 completion_timeout=30 host_dir="" memory="" memory_rate=200 statements="" wait_in=post
settle=100:60 check_invariants=yes
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --pgbench-seconds|--pgbench-scale|--ramp|--step-duration|--max-p99|--rates|--duration|--warmup|--silos|--skus|--max-in-flight|--completion-timeout|--host-dir|--memory|--memory-rate|--settle|--wait-in)
      [[ $# -ge 2 ]] || { echo "$1 needs a value." >&2; exit 2; }
      name="${1#--}"; declare "${name//-/_}=$2"; shift 2 ;;
    --no-ramp) ramp=""; shift ;;
    --no-rates) rates=""; shift ;;
    --statements) statements=yes; shift ;;
    --no-check) check_invariants=""; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "Unknown argument '$1'." >&2; usage >&2; exit 2 ;;
  esac
done
for value in "$pgbench_seconds" "$pgbench_scale" "$silos"; do
  [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "--pgbench-seconds, --pgbench-scale and --silos take whole numbers above 0, not '$value'." >&2; exit 2; }
done
(( silos <= 9 )) || { echo "--silos takes 1 to 9." >&2; exit 2; }
[[ -n "$ramp" || -n "$rates" ]] || { echo "--no-ramp and --no-rates together leave nothing to run." >&2; exit 2; }
[[ "$settle" =~ ^[0-9]+:[0-9]+$ ]] || { echo "--settle takes RATE:SECONDS (whole numbers, e.g. 100:60; 0:0 for none), not '$settle'." >&2; exit 2; }
if [[ -n "$memory" ]]; then
  [[ "$memory" =~ ^[1-9][0-9]*:[1-9][0-9]*$ && "$memory_rate" =~ ^[1-9][0-9]*$ ]] \
    || { echo "--memory takes COMPLETED:INFLIGHT (whole numbers above 0, e.g. 100000:10000) and --memory-rate a whole number above 0." >&2; exit 2; }
  # INFLIGHT sagas running at once on one silo are more than it admits by default (Admission:MaxRunningSagas, 1,000,
  # decision record 0037): the rest would be refused with 503 and never held. The memory run lifts the limit (0) unless
  # the environment sets one.
  export Admission__MaxRunningSagas="${Admission__MaxRunningSagas:-0}"
  # The orders held in flight wait 60 s for their authorization, longer than the payment grain waits for its provider
  # (PaymentGateway:Timeout, 10 s): each would time out, be retried and, at the saga's deadline, be cancelled. The
  # memory run waits 90 s for the provider unless the environment says otherwise, so they are held waiting and complete.
  export PaymentGateway__Timeout="${PaymentGateway__Timeout:-00:01:30}"
fi

host_dll="${host_dir:-src/OrderPlatform.Host/bin/Release/net10.0}/OrderPlatform.Host.dll"
if [[ -n "$host_dir" && ! -f "$host_dll" ]]; then echo "--host-dir: no OrderPlatform.Host.dll in $host_dir." >&2; exit 2; fi

state=".data/bench"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$state"
export ORDERPLATFORM_PGDATA="${BENCH_PGDATA:-$PWD/$state/postgres}"
export ORDERPLATFORM_PGPORT="${BENCH_PGPORT:-54339}"
bindir="$(scripts/ensure-postgres.sh)"

children=()
postgres_started=""
cleanup() {
  local pid
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [[ -n "$postgres_started" ]]; then scripts/local-postgres.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building the host, the mock Kafka cluster, the load generator and the invariant checker (Release)..."
for project in OrderPlatform.Host OrderPlatform.KafkaMock OrderPlatform.LoadGen OrderPlatform.InvariantChecker; do
  dotnet build "src/$project/$project.csproj" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
done

# The load generator checks its own arguments: ask it now (against a closed port) rather than after pgbench.
run_arguments=(--warmup "$warmup" --skus "$skus" --max-in-flight "$max_in_flight" --completion-timeout "$completion_timeout" --wait-in "$wait_in")
[[ -z "$ramp" ]] || run_arguments+=(--ramp "$ramp" --step-duration "$step_duration" --max-p99 "$max_p99")
[[ -z "$rates" ]] || run_arguments+=(--rate "$rates" --duration "$duration")
check=0
dotnet src/OrderPlatform.LoadGen/bin/Release/net10.0/OrderPlatform.LoadGen.dll --target http://127.0.0.1:9 "${run_arguments[@]}" \
  >/dev/null 2>"$state/arguments.log" || check=$?
if [[ $check -eq 2 ]]; then head -n 1 "$state/arguments.log" >&2; exit 2; fi
rm -f "$state/arguments.log"

scripts/local-postgres.sh status >/dev/null 2>&1 || postgres_started=yes
psql=(env PGOPTIONS="-c client_min_messages=warning" "$bindir/psql" -h 127.0.0.1 -p "$ORDERPLATFORM_PGPORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
if [[ -n "$statements" ]]; then
  export ORDERPLATFORM_PGSETTINGS="${ORDERPLATFORM_PGSETTINGS:-} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
  if [[ -z "$postgres_started" && "$("${psql[@]}" -d postgres -c "show shared_preload_libraries")" != *pg_stat_statements* ]]; then
    scripts/local-postgres.sh stop >/dev/null
    postgres_started=yes
  fi
fi
scripts/local-postgres.sh start >/dev/null
# The postmaster, whose CPU (with its backends') the load generator samples: the first line of postmaster.pid.
postmaster_pid="$(head -n 1 "$ORDERPLATFORM_PGDATA/postmaster.pid" 2>/dev/null || true)"
[[ "$postmaster_pid" =~ ^[1-9][0-9]*$ ]] || { echo "No postmaster pid in $ORDERPLATFORM_PGDATA/postmaster.pid." >&2; exit 1; }
server_version="$("${psql[@]}" -d postgres -c "show server_version")"
synchronous_commit="$("${psql[@]}" -d postgres -c "show synchronous_commit")" fsync="$("${psql[@]}" -d postgres -c "show fsync")"
shared_buffers="$("${psql[@]}" -d postgres -c "show shared_buffers")" max_wal_size="$("${psql[@]}" -d postgres -c "show max_wal_size")"
durability="synchronous_commit=$synchronous_commit, fsync=$fsync"
memory_settings="shared_buffers $shared_buffers, max_wal_size $max_wal_size"

# The memory run skips pgbench: it measures memory, not speed.
tps=0
[[ -n "$memory" ]] && pgbench_seconds=0
# 1. The commit ceiling: pgbench's default TPC-B-like script on a database of its own, before the platform starts.
if [[ -z "$memory" ]]; then
echo "pgbench: scale $pgbench_scale, 4 clients, 2 threads, $pgbench_seconds s ($durability)..."
"${psql[@]}" -d postgres -c "drop database if exists pgbench" -c "create database pgbench"
"$bindir/pgbench" -h 127.0.0.1 -p "$ORDERPLATFORM_PGPORT" -U postgres -i -q -s "$pgbench_scale" pgbench >"$state/pgbench-init.log" 2>&1
"$bindir/pgbench" -h 127.0.0.1 -p "$ORDERPLATFORM_PGPORT" -U postgres -c 4 -j 2 -T "$pgbench_seconds" pgbench >"$state/pgbench.log" 2>&1
tps="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$state/pgbench.log" | tail -n 1)"
[[ -n "$tps" ]] || { echo "pgbench printed no tps; see $state/pgbench.log" >&2; exit 1; }
echo "pgbench: $tps tps"
fi

# 2. The platform on a fresh database of the same server: the mock Kafka cluster and the silos.
database="bench_platform"
"${psql[@]}" -d postgres -c "drop database if exists $database" -c "create database $database"
connection="Host=127.0.0.1;Port=$ORDERPLATFORM_PGPORT;Username=postgres;Database=$database"

bootstrap="$state/kafka-bootstrap"
rm -f "$bootstrap"
topics=()
for topic in orderplatform.orders orderplatform.inventory orderplatform.payments orderplatform.deadletter; do topics+=(--topic "$topic:6"); done
dotnet src/OrderPlatform.KafkaMock/bin/Release/net10.0/OrderPlatform.KafkaMock.dll --brokers 1 "${topics[@]}" \
  --bootstrap-file "$bootstrap" >"$state/kafka.log" 2>&1 &
children+=($!)
for _ in $(seq 1 100); do [[ -s "$bootstrap" ]] && break; sleep 0.1; done
[[ -s "$bootstrap" ]] || { echo "The mock Kafka cluster did not start; see $state/kafka.log" >&2; exit 1; }

targets=() silo_pids=()
for n in $(seq 1 "$silos"); do
  port=$((5290 + n))
  ConnectionStrings__Postgres="$connection" \
  Kafka__BootstrapServers="$(cat "$bootstrap")" \
  Orleans__ClusterId="bench-$stamp" \
  Orleans__SiloPort=$((11290 + n)) \
  Orleans__GatewayPort=$((30290 + n)) \
  Logging__LogLevel__Default=Warning \
    dotnet "$host_dll" --urls "http://127.0.0.1:$port" >"$state/silo-$n.log" 2>&1 &
  children+=($!) silo_pids+=($!) targets+=("http://127.0.0.1:$port")
done
for n in $(seq 1 "$silos"); do
  for _ in $(seq 1 300); do
    curl -sf "${targets[n-1]}/health" >/dev/null && break
    kill -0 "${silo_pids[n-1]}" 2>/dev/null || { echo "silo $n exited; see $state/silo-$n.log" >&2; exit 1; }
    sleep 0.2
  done
  curl -sf "${targets[n-1]}/health" >/dev/null || { echo "silo $n did not answer /health; see $state/silo-$n.log" >&2; exit 1; }
done

if [[ -n "$memory" ]]; then
  loadgen=(dotnet src/OrderPlatform.LoadGen/bin/Release/net10.0/OrderPlatform.LoadGen.dll --target "$(IFS=,; echo "${targets[*]}")"
    --sku-prefix memory-sku --skus "$skus" --max-in-flight 20000)
  # One line per sample: orders finished and in flight (from the saga index), this silo's activations and memory.
  sample() {
    local counts status
    counts="$("${psql[@]}" -d "$database" -F ' ' -c "select count(*) filter (where finished), count(*) filter (where not finished) from sagas")"
    status="$(curl -sf "${targets[0]}/silo/status${2:+?collect=true}" || echo '{}')"
    field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$status"; }
    mib() { local bytes; bytes="$(field "$1")"; echo $(( ${bytes:-0} / 1048576 )); }
    printf '%-28s %9s %9s %7s %7s %7s %7s %8s %8s %8s\n' "$1" ${counts} "$(field OrderSagaGrain)" "$(field OrderGrain)" "$(field PaymentGrain)" \
      "$(field InventoryGrain)" "$(mib workingSetBytes)" "$(mib gcHeapBytes)" "$(mib gcHeapAfterLastFullCollectionBytes)"
  }
  watch_while() {
    while kill -0 "$1" 2>/dev/null; do
      sleep 15
      if kill -0 "$1" 2>/dev/null; then sample "$2"; fi
    done
  }
  completed="${memory%%:*}" inflight="${memory##*:}"
  echo
  echo "OrderPlatform memory $stamp: $(nproc) cores, 1 silo; $completed orders at $memory_rate/s, then $inflight held in flight (Admission__MaxRunningSagas=$Admission__MaxRunningSagas, PaymentGateway__Timeout=$PaymentGateway__Timeout)"
  printf '%-28s %9s %9s %7s %7s %7s %7s %8s %8s %8s\n' "moment" finished "in flight" sagas orders payments stock "RSS MB" "heap MB" "live MB"
  sample "started"
  "${loadgen[@]}" --restock 1000000 --rate "$memory_rate" --duration $(( (completed + memory_rate - 1) / memory_rate )) --warmup 0 \
    --completion-timeout 120 --json "$state/memory-completed-$stamp.json" >"$state/memory-completed-$stamp.log" 2>&1 &
  watch_while $! "placing orders"
  for _ in $(seq 1 120); do [[ "$("${psql[@]}" -d "$database" -c "select count(*) from sagas where not finished")" == 0 ]] && break; sleep 1; done
  sample "all finished" collect
  sleep $(( 10 + 5 ))
  sample "15 s later (grains at rest gone)" collect
  in_flight_rate=$(( inflight / 40 > 0 ? inflight / 40 : 1 ))
  "${loadgen[@]}" --token tok_slow_60000 --rate "$in_flight_rate" --duration 40 --warmup 0 --completion-timeout 180 \
    --json "$state/memory-inflight-$stamp.json" >"$state/memory-inflight-$stamp.log" 2>&1 &
  held=$!
  sleep 42
  sample "held in flight" collect
  wait "$held" || true
  sample "those finished too" collect
  echo "load generator reports: $state/memory-*-$stamp.log"
  exit 0
fi

# 3. The ramp, then the fixed rates, in one invocation of the load generator: one table.
loadgen_json="$state/loadgen-$stamp.json"
arguments=(
  --target "$(IFS=,; echo "${targets[*]}")" "${run_arguments[@]}" --sku-prefix bench-sku --restock 1000000
  --silo-pid "$(IFS=,; echo "${silo_pids[*]}")" --postgres-pid "$postmaster_pid" --postgres "$connection" --quiet-wait 60 --commit-ceiling "$tps" --json "$loadgen_json"
)
[[ -z "${PaymentGateway__SimulatorLedger:-}" ]] || echo "payment simulator ledger: $PaymentGateway__SimulatorLedger (PaymentGateway__SimulatorLedger)"
settle_rate="${settle%%:*}" settle_seconds="${settle##*:}"
if (( settle_rate > 0 && settle_seconds > 0 )); then
  # A silo's first minute is spent largely in the just-in-time compiler (tiered compilation recompiles the hot path
  # with optimizations after it has run a while): measured runs start once that is behind.
  echo "settling: $settle_rate orders/s for $settle_seconds s (not measured)..."
  dotnet src/OrderPlatform.LoadGen/bin/Release/net10.0/OrderPlatform.LoadGen.dll --target "$(IFS=,; echo "${targets[*]}")" \
    --sku-prefix bench-sku --skus "$skus" --restock 1000000 --rate "$settle_rate" --duration "$settle_seconds" --warmup 0 \
    --completion-timeout "$completion_timeout" --wait-in "$wait_in" --postgres "$connection" --quiet-wait 60 >"$state/settle-$stamp.log" 2>&1 \
    || { echo "The settling run failed; see $state/settle-$stamp.log" >&2; exit 1; }
fi
if [[ -n "$statements" ]]; then
  "${psql[@]}" -d "$database" -c "create extension if not exists pg_stat_statements" -c "select pg_stat_statements_reset()" >/dev/null
fi
# The server's counters from here on are the measured load's (and the load generator's samples).
"${psql[@]}" -d "$database" -c "select pg_stat_reset_shared('bgwriter')" -c "select pg_stat_reset()" >/dev/null
echo
echo "OrderPlatform benchmark $stamp: $(nproc) cores, PostgreSQL $server_version ($durability; $memory_settings), $silos silo(s), pgbench $tps tps"
status=0
dotnet src/OrderPlatform.LoadGen/bin/Release/net10.0/OrderPlatform.LoadGen.dll "${arguments[@]}" || status=$?
if [[ -n "$statements" ]]; then
  # Top-level statements and those run inside functions and triggers (track=all): a function's time also counts in
  # the statement that called it, so shares of nested lines overlap their caller's.
  echo
  echo "PostgreSQL execution time by statement during the load (pg_stat_statements, database $database):"
  "${psql[@]}" -d "$database" -F $'\t' -c "
    with s as (select query, calls, rows, total_exec_time, toplevel from pg_stat_statements
               where dbid = (select oid from pg_database where datname = current_database())
                 and query not like '/* load generator */%')
    select to_char(100 * total_exec_time / nullif((select sum(total_exec_time) from s where toplevel), 0), '990.0') || '%',
           calls, to_char(total_exec_time / nullif(calls, 0), '990.000') || ' ms', round(rows::numeric / nullif(calls, 0), 1),
           case when toplevel then '' else '(nested) ' end || left(regexp_replace(query, '\s+', ' ', 'g'), 110)
      from s order by total_exec_time desc limit 15" |
    awk -F'\t' 'BEGIN { printf "%7s %9s %11s %8s  %s\n", "share", "calls", "per call", "rows", "statement" }
                 { printf "%7s %9s %11s %8s  %s\n", $1, $2, $3, $4, $5 }'
  # The load generator's own statements (its samples, its read of the orders' milestones after each run) are left out
  # of the shares above: they are the benchmark's, not the platform's.
  "${psql[@]}" -d "$database" -c "
    select 'left out: the load generator''s own statements, ' || coalesce(sum(calls), 0) || ' calls, '
           || to_char(coalesce(sum(total_exec_time), 0), 'FM999990.0') || ' ms'
      from pg_stat_statements
     where dbid = (select oid from pg_database where datname = current_database()) and query like '/* load generator */%'"
fi
[[ $status -le 1 ]] || { echo "The load generator could not run (exit code $status)." >&2; exit "$status"; }
# What the server did during the load: checkpoints asked for by WAL volume (max_wal_size reached) write pages early and
# add full-page images to the WAL; buffers written by backends are dirty pages a backend had to evict itself to make
# room in shared_buffers; blocks read missed shared_buffers (the OS cache may still have had them).
IFS='|' read -r checkpoints_timed checkpoints_requested buffers_checkpoint buffers_backend blocks_read blocks_hit database_bytes < <(
  "${psql[@]}" -d "$database" -c "
    select b.checkpoints_timed, b.checkpoints_req, b.buffers_checkpoint, b.buffers_backend, d.blks_read, d.blks_hit,
           pg_database_size(current_database())
      from pg_stat_bgwriter b, pg_stat_database d where d.datname = current_database()")
echo "PostgreSQL during the load: checkpoints $checkpoints_timed timed, $checkpoints_requested asked for by WAL volume" \
  "($buffers_checkpoint buffers written); $buffers_backend buffers written by backends; platform database" \
  "$(awk -v r="$blocks_read" -v h="$blocks_hit" 'BEGIN { printf "%.2f", ((r + h) > 0 ? 100 * h / (r + h) : 100) }')% of" \
  "$((blocks_read + blocks_hit)) block reads from shared_buffers, $((database_bytes / 1048576)) MB"
for n in $(seq 1 "$silos"); do
  kill -0 "${silo_pids[n-1]}" 2>/dev/null || { echo "silo $n (pid ${silo_pids[n-1]}) exited during the benchmark: its numbers are void; see $state/silo-$n.log" >&2; status=1; }
done

# 4. The invariants after the load: once no saga is unfinished and no outbox row unpublished (or after 60 s), the
# invariant checker reads the database. Not the topics: the mock cluster keeps at most 5 MiB a partition, far less than
# a ramp publishes, so invariant 4 rests on the outbox (a row leaves it only once the broker acknowledged it); the chaos
# runs and the tests read the topics. With the payment simulator's ledger in the silo's memory, the provider's side of
# invariant 3 is not checked. Its exit code goes in the JSON; a violation (or a check that could not complete) fails
# the benchmark.
checker_exit=null
if [[ -n "$check_invariants" ]]; then
  waited=0
  until [[ "$("${psql[@]}" -d "$database" -c "select (select count(*) from sagas where not finished) + (select count(*) from outbox where published_at is null)")" == 0 ]] \
      || (( waited >= 120 )); do
    sleep 0.5; waited=$((waited + 1))
  done
  checked_at=$SECONDS checker_exit=0
  dotnet src/OrderPlatform.InvariantChecker/bin/Release/net10.0/OrderPlatform.InvariantChecker.dll --postgres "$connection" \
    --provider-ledger "${PaymentGateway__SimulatorLedger:-postgres}" --json "$state/invariants-$stamp.json" >"$state/invariants-$stamp.log" 2>&1 || checker_exit=$?
  echo "invariants after the load (the invariant checker, exit code $checker_exit, $((SECONDS - checked_at)) s; report $state/invariants-$stamp.log):"
  sed -n '1,40p' "$state/invariants-$stamp.log" | sed 's/^/  /'
  (( checker_exit == 0 )) || { echo "The invariant checker did not pass (exit code $checker_exit): the run's numbers are not of a correct platform." >&2; status=1; }
fi

results="$state/bench-$stamp.json"
{
  printf '{\n  "stamp": "%s",\n  "cores": %s,\n  "postgres": {"version": "%s", "synchronousCommit": "%s", "fsync": "%s", "sharedBuffers": "%s", "maxWalSize": "%s",\n' \
    "$stamp" "$(nproc)" "$server_version" "$synchronous_commit" "$fsync" "$shared_buffers" "$max_wal_size"
  printf '    "duringLoad": {"checkpointsTimed": %s, "checkpointsRequested": %s, "buffersCheckpoint": %s, "buffersBackend": %s, "blocksRead": %s, "blocksHit": %s, "databaseBytes": %s}},\n' \
    "$checkpoints_timed" "$checkpoints_requested" "$buffers_checkpoint" "$buffers_backend" "$blocks_read" "$blocks_hit" "$database_bytes"
  printf '  "pgbench": {"tps": %s, "clients": 4, "threads": 2, "seconds": %s, "scale": %s},\n  "silos": %s,\n  "invariantCheckerExitCode": %s,\n  "loadgen": ' \
    "$tps" "$pgbench_seconds" "$pgbench_scale" "$silos" "$checker_exit"
  sed 's/^/  /' "$loadgen_json" | sed '1s/^  //'
  printf '}\n'
} >"$results"
rm -f "$loadgen_json"
echo "results: $results (silo logs in $state/)"
exit "$status"
