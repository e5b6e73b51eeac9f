#!/usr/bin/env bash
# Creates the llmopt topics on the local broker, idempotently.
#   deploy/local/topics.sh [create|list]
# Partitions from LLMOPT_PARTITIONS (default 3), replication 1 (single node),
# names prefixed with LLMOPT_TOPIC_PREFIX (default none),
# broker from LLMOPT_BOOTSTRAP (default 127.0.0.1:${LLMOPT_LOCAL_KAFKA_PORT:-19092}).
# All topics go through one JVM (deploy/local/kafka/CreateTopics.java, the Kafka
# Admin API): an existing topic is kept; a differing partition count or
# cleanup.policy is reported and makes the script fail (exit 3) rather than
# silently altering data.
#   llm.routing          compacted: latest RoutingDecision per route
#   llm.processor.state  compacted: the processor's state changelog
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bootstrap="${LLMOPT_BOOTSTRAP:-127.0.0.1:${LLMOPT_LOCAL_KAFKA_PORT:-19092}}"
partitions="${LLMOPT_PARTITIONS:-3}"
# LLMOPT_TOPIC_PREFIX: a run-scoped set, e.g. "demo1." creates demo1.llm.requests, ...
pfx="${LLMOPT_TOPIC_PREFIX:-}"

topics=(
    "${pfx}llm.requests"
    "${pfx}llm.responses"
    "${pfx}llm.feedback"
    "${pfx}llm.outcomes"
    "${pfx}llm.metrics"
    "${pfx}llm.signals"
    "${pfx}llm.routing:cleanup.policy=compact"
    "${pfx}llm.dlq"
    "${pfx}llm.processor.state:cleanup.policy=compact"
)

case "${1:-create}" in
    create)
        jars="$("$here/kafka.sh" jars)"
        jopts=(-Xmx256M -XX:TieredStopAtLevel=1 -cp "$jars/*"
               -Dlog4j.configuration="file:$here/kafka/tools-log4j.properties")
        if java --list-modules 2>/dev/null | grep -q '^jdk.compiler'; then
            java "${jopts[@]}" "$here/kafka/CreateTopics.java" "$bootstrap" "$partitions" 1 "${topics[@]}"
        else
            # a JRE without jdk.compiler cannot run the source file: one
            # TopicCommand JVM per topic (slower; no drift report)
            for t in "${topics[@]}"; do
                name="${t%%:*}"; cfg=()
                [ "$name" != "$t" ] && cfg=(--config "${t#*:}")
                java "${jopts[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
                    --create --if-not-exists --topic "$name" --partitions "$partitions" \
                    --replication-factor 1 "${cfg[@]}"
            done
        fi
        ;;
    list) kcat -L -b "$bootstrap" -m 10 | grep -E '^  topic "' ;;
    *) echo "usage: $0 [create|list]" >&2; exit 2 ;;
esac
