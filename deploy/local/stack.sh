#!/usr/bin/env bash
# The whole local stack: Postgres 15, the Kafka broker and the llmopt topics.
#   deploy/local/stack.sh start|stop|restart|status|env
# start is idempotent (running services are only checked, topics are created
# if missing); stop stops Kafka first, then Postgres; status exits non-zero
# when any service is down. Settings are those of postgres.sh, kafka.sh and
# topics.sh (LLMOPT_VAR, LLMOPT_CACHE, LLMOPT_LOCAL_PG_PORT, LLMOPT_LOCAL_KAFKA_PORT,
# LLMOPT_PARTITIONS).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

case "${1:-status}" in
    start)
        "$here/postgres.sh" start
        "$here/kafka.sh" start
        "$here/topics.sh" create
        ;;
    stop)
        "$here/kafka.sh" stop
        "$here/postgres.sh" stop
        ;;
    restart) "$0" stop; "$0" start ;;
    status)
        rc=0
        "$here/postgres.sh" status || rc=1
        "$here/kafka.sh" status || rc=1
        exit $rc
        ;;
    env)
        "$here/kafka.sh" env
        "$here/postgres.sh" env
        ;;
    *) echo "usage: $0 start|stop|restart|status|env" >&2; exit 2 ;;
esac
