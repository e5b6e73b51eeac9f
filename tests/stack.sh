#!/usr/bin/env bash
# Integration-test harness entry: makes sure a Kafka broker and a Postgres are
# up (reusing running ones) and tells tests where they are.
#
#   eval "$(tests/stack.sh env)"     # start or reuse; exports LLMOPT_BOOTSTRAP
#                                    # and LLMOPT_PG_DSN into the calling shell
#   tests/stack.sh run CMD [ARG...]  # start or reuse, then exec CMD with both
#                                    # exported, e.g. tests/stack.sh run ctest
#                                    #   --test-dir build -L integration
#   tests/stack.sh up | down | status
#
# `env` prints only `export NAME='value'` lines on stdout (progress goes to
# stderr), so it is safe to eval. Values already set in the environment win:
# LLMOPT_BOOTSTRAP / LLMOPT_PG_DSN pointing elsewhere skip starting the local
# services they replace. `down` stops the local stack (only what
# deploy/local started). Exit status is non-zero if a service cannot start.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
local_dir="$root/deploy/local"
pg_port="${LLMOPT_LOCAL_PG_PORT:-55432}"
k_port="${LLMOPT_LOCAL_KAFKA_PORT:-19092}"

up() {
    if [ -z "${LLMOPT_PG_DSN:-}" ]; then
        "$local_dir/postgres.sh" start >&2
    fi
    if [ -z "${LLMOPT_BOOTSTRAP:-}" ]; then
        "$local_dir/kafka.sh" start >&2
        "$local_dir/topics.sh" create >&2
    fi
}

print_env() {
    echo "export LLMOPT_BOOTSTRAP='${LLMOPT_BOOTSTRAP:-127.0.0.1:$k_port}'"
    echo "export LLMOPT_PG_DSN='${LLMOPT_PG_DSN:-host=127.0.0.1 port=$pg_port user=llmopt dbname=llmopt}'"
}

case "${1:-env}" in
    env) up; print_env ;;
    run)
        shift; [ $# -gt 0 ] || { echo "usage: $0 run CMD [ARG...]" >&2; exit 2; }
        up; eval "$(print_env)"; exec "$@"
        ;;
    up) up; print_env >&2 ;;
    down) "$local_dir/stack.sh" stop ;;
    status) "$local_dir/stack.sh" status ;;
    *) echo "usage: $0 env|run CMD...|up|down|status" >&2; exit 2 ;;
esac
