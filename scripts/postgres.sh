# Sourced by the test and benchmark scripts: a throw-away PostgreSQL server.
#
# start_postgres: installs Debian's server when missing, runs initdb as the
# `postgres` user in a temporary folder, starts it on a free loopback port, and
# exports TELEHUB_TEST_POSTGRES (a postgresql:// URL; tests add ?schema=… to
# keep apart). stop_postgres stops it and removes the folder; the caller sets
# a trap so that happens on any exit.

postgres_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/pg_ctl" ] && { echo "$dir"; return; }
    done
}

# Runs a command as the `postgres` user (initdb refuses to run as root).
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

start_postgres() {
    if [ -z "$(postgres_bin)" ]; then ensure_apt postgresql; fi
    local bin port sudo=""
    bin="$(postgres_bin)"
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    TELEHUB_PG_DIR=$(mktemp -d /tmp/telehub-pg.XXXXXX)
    chmod 755 "$TELEHUB_PG_DIR"
    $sudo chown postgres "$TELEHUB_PG_DIR"
    as_postgres "$bin/initdb" -D "$TELEHUB_PG_DIR/data" --auth=trust --username=postgres -E UTF8 >"$TELEHUB_PG_DIR/initdb.log" 2>&1 \
        || { cat "$TELEHUB_PG_DIR/initdb.log"; return 1; }
    # Durable as in production (fsync on), sized for tests: many schemas, a few hubs.
    as_postgres "$bin/pg_ctl" -D "$TELEHUB_PG_DIR/data" -l "$TELEHUB_PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$TELEHUB_PG_DIR -c max_connections=300 -c shared_buffers=128MB" \
        start >/dev/null || { cat "$TELEHUB_PG_DIR/server.log"; return 1; }
    export TELEHUB_PG_DIR
    export TELEHUB_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable"
    echo "   PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

stop_postgres() {
    [ -n "${TELEHUB_PG_DIR:-}" ] || return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    as_postgres "$(postgres_bin)/pg_ctl" -D "$TELEHUB_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    $sudo rm -rf "$TELEHUB_PG_DIR"
    unset TELEHUB_PG_DIR
}
