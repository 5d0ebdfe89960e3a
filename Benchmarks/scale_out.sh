#!/usr/bin/env bash
# Several hubs on one PostgreSQL database against one hub on SQLite, in the
# same run: starts a throw-away PostgreSQL server (scripts/postgres.sh: initdb
# in a temporary folder, a free loopback port, fsync on), runs
# `telehub bench --scale-out` against it with the server's pid (so its CPU
# seconds are counted beside the hubs'), then stops it and removes the folder.
#
#   bash Benchmarks/scale_out.sh [path/to/telehub] [more bench options, e.g. --instances 1,2,3 --json]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release/telehub}
shift || true
source scripts/ensure-deps.sh
source scripts/postgres.sh
start_postgres
trap stop_postgres EXIT
pid=$(head -1 "$TELEHUB_PG_DIR/data/postmaster.pid")
"$bin" bench --scale-out --postgres "$TELEHUB_TEST_POSTGRES" --postgres-pid "$pid" "$@"
