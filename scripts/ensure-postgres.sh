#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries are on this machine (Debian package "postgresql" when missing)
# and prints their directory. Used by the run command and the test command.
set -euo pipefail

find_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    if [[ -x "$dir/initdb" && -x "$dir/postgres" ]]; then echo "$dir"; return 0; fi
  fi
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/postgres" ]]; then echo "$dir"; return 0; fi
  return 1
}

if ! bindir="$(find_bindir)"; then
  if [[ "$(id -u)" != "0" ]]; then
    echo "PostgreSQL server binaries are missing. Install them with: sudo apt-get install -y postgresql" >&2
    exit 1
  fi
  echo "Installing PostgreSQL from the Debian packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir="$(find_bindir)" || { echo "PostgreSQL installed but its binaries were not found." >&2; exit 1; }
fi

echo "$bindir"
