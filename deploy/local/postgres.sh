#!/usr/bin/env bash
# Throwaway Postgres 15 cluster for local runs and tests.
#   deploy/local/postgres.sh start|stop|status|env|psql [args]
# Runs as the postgres user (Postgres refuses root), data in $LLMOPT_VAR/pg,
# log in $LLMOPT_VAR/logs/postgres.log, listening on 127.0.0.1:$LLMOPT_LOCAL_PG_PORT
# (default 55432). Creates role and database 'llmopt' (superuser, trust auth on
# loopback: this cluster is for local use only) with the tdigest extension
# available. Idempotent: start on a running cluster only checks it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
var="${LLMOPT_VAR:-$root/var}"
port="${LLMOPT_LOCAL_PG_PORT:-55432}"
pgbin="$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)"
data="$var/pg/data"
logdir="$var/logs"
sock="$var/pg/run"

as_pg() {
    if [ "$(id -un)" = postgres ]; then "$@"
    elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
    else sudo -u postgres "$@"; fi
}

is_up() { "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; }

start() {
    [ -x "$pgbin/initdb" ] || { echo "postgres: postgresql-15 is not installed (run deploy/local/deps.sh)" >&2; exit 1; }
    mkdir -p "$var/pg" "$logdir" "$sock"
    chown postgres:postgres "$var/pg" "$sock" 2>/dev/null || true
    touch "$logdir/postgres.log"; chown postgres "$logdir/postgres.log" 2>/dev/null || true
    # the postgres user must be able to reach the data folder
    d="$var"; while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
    if [ ! -s "$data/PG_VERSION" ]; then
        as_pg "$pgbin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$logdir/initdb.log" 2>&1 \
            || { cat "$logdir/initdb.log" >&2; exit 1; }
        cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
max_connections = 200
fsync = on
shared_buffers = 256MB
max_wal_size = 2GB
CONF
    fi
    if ! is_up; then
        as_pg "$pgbin/pg_ctl" -D "$data" -l "$logdir/postgres.log" -w -t 60 start >/dev/null \
            || { tail -20 "$logdir/postgres.log" >&2; exit 1; }
    fi
    for _ in $(seq 1 60); do is_up && break; sleep 0.5; done
    is_up || { echo "postgres: not ready on port $port" >&2; exit 1; }
    psql_su -tAc "SELECT 1 FROM pg_roles WHERE rolname='llmopt'" | grep -q 1 \
        || psql_su -qc "CREATE ROLE llmopt LOGIN SUPERUSER"
    psql_su -tAc "SELECT 1 FROM pg_database WHERE datname='llmopt'" | grep -q 1 \
        || psql_su -qc "CREATE DATABASE llmopt OWNER llmopt"
    echo "postgres: up on 127.0.0.1:$port (data $data)"
}

psql_su() { psql -X -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }

stop() {
    if [ -s "$data/PG_VERSION" ] && is_up; then
        as_pg "$pgbin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    echo "postgres: stopped"
}

status() {
    if is_up; then echo "postgres: running on 127.0.0.1:$port"; else echo "postgres: not running"; return 1; fi
}

case "${1:-status}" in
    start) start ;;
    stop) stop ;;
    restart) stop; start ;;
    status) status ;;
    env) echo "LLMOPT_PG_DSN='host=127.0.0.1 port=$port user=llmopt dbname=llmopt'" ;;
    psql) shift; psql -X -h 127.0.0.1 -p "$port" -U llmopt -d llmopt "$@" ;;
    *) echo "usage: $0 start|stop|restart|status|env|psql" >&2; exit 2 ;;
esac
