#!/usr/bin/env bash
# A local PostgreSQL for the run command, from the system's binaries, with its data under .data/ in the
# repository (kept between runs). Usage: scripts/local-postgres.sh start|stop|status
#   start  initializes the data directory on first use, starts the server on 127.0.0.1 and prints the
#          connection string on stdout.
# Settings: ORDERPLATFORM_PGDATA (data directory), ORDERPLATFORM_PGPORT (default 54329), ORDERPLATFORM_PGSETTINGS
# (further server options for start, e.g. "-c shared_preload_libraries=pg_stat_statements").
set -euo pipefail
cd "$(dirname "$0")/.."

root="$(pwd)"
data="${ORDERPLATFORM_PGDATA:-$root/.data/postgres}"
port="${ORDERPLATFORM_PGPORT:-54329}"
socket_dir="$(dirname "$data")/postgres-socket"
log="$(dirname "$data")/postgres.log"
database="orderplatform"
bindir="$(scripts/ensure-postgres.sh)"

# initdb refuses to run as root: the server then runs as the "postgres" user that the Debian package creates.
as_owner() {
  if [[ "$(id -u)" == "0" ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  mkdir -p "$(dirname "$data")" "$socket_dir"
  touch "$log"
  if [[ "$(id -u)" == "0" ]]; then
    chown postgres "$socket_dir" "$log"
    if [[ ! -d "$data" ]]; then mkdir -p "$data"; chown postgres "$data"; fi
    if ! runuser -u postgres -- test -w "$data"; then
      echo "The postgres user cannot write $data (a parent directory is closed to it); set ORDERPLATFORM_PGDATA to another place." >&2
      exit 1
    fi
  fi

  if [[ ! -f "$data/PG_VERSION" ]]; then
    echo "Initializing a PostgreSQL data directory in $data ..." >&2
    as_owner "$bindir/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
  fi

  if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-p $port -k $socket_dir -c listen_addresses=127.0.0.1 -c max_connections=300 ${ORDERPLATFORM_PGSETTINGS:-}" start >/dev/null
  fi

  local psql=("$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt)
  if [[ "$("${psql[@]}" -d postgres -c "select 1 from pg_database where datname = '$database'")" != "1" ]]; then
    "${psql[@]}" -d postgres -c "create database $database" >/dev/null
  fi

  echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=$database"
}

case "${1:-start}" in
  start) start ;;
  stop) as_owner "$bindir/pg_ctl" -D "$data" -m fast stop ;;
  status) as_owner "$bindir/pg_ctl" -D "$data" status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
