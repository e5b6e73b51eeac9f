#!/usr/bin/env bash
# The main job on the local stack: install what is missing, build, start Kafka
# and Postgres, apply the migrations, start the processor and the sink, then
# drive synthetic gateway telemetry through them with a scheduled fault (the
# second arm's latency triples, the third arm's error rate jumps to 40 %),
# showing signals as they fire and the window metrics as they close. It ends
# with a summary and leaves everything in Postgres.
#
# Environment: LLMOPT_DEMO_MINUTES (event-time minutes, default 8),
# LLMOPT_DEMO_SPEED (event time per wall time, default 8), LLMOPT_JOBS,
# LLMOPT_KEEP_STACK=1 (leave Kafka and Postgres running; default: running).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
minutes="${LLMOPT_DEMO_MINUTES:-8}"
speed="${LLMOPT_DEMO_SPEED:-8}"
jobs="${LLMOPT_JOBS:-$(nproc)}"
logs="$root/var/demo"
mkdir -p "$logs"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing what is missing"
deploy/local/deps.sh
say "building"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$logs/configure.log" 2>&1 || { cat "$logs/configure.log"; exit 1; }
ninja -C build -j "$jobs" >"$logs/build.log" 2>&1 || { tail -40 "$logs/build.log"; exit 1; }

say "starting Kafka (KRaft) and Postgres"
deploy/local/stack.sh start
eval "$(tests/stack.sh env)"
export LLMOPT_KAFKA_BOOTSTRAP_SERVERS="$LLMOPT_BOOTSTRAP"
export LLMOPT_PG_DSN
build/tools/llmopt migrate

run_id="demo-$(date +%s)"
if [ -x build/processor/llmopt-processor ]; then
    say "starting the processor"
    build/processor/llmopt-processor -X http.port=9464 >"$logs/processor.log" 2>&1 &
    pids+=($!)
fi
if build/tools/llmopt sink --help >/dev/null 2>&1; then
    say "starting the sink"
    build/tools/llmopt sink >"$logs/sink.log" 2>&1 &
    pids+=($!)
fi
sleep 3

say "live: signals and closed windows (route-0); traffic for ${minutes} min of event time at ${speed}x"
# signals as they fire
build/tools/llmopt tail llm.signals 2>/dev/null | jq -r --unbuffered \
    '.value | "  SIGNAL  \(.route)/\(.arm)  \(.kind) \(.detector) on \(.metric) \(.direction): \(.before|tostring|.[0:8]) -> \(.after|tostring|.[0:8])"' &
pids+=($!)
# one line per closed 1-minute window of route-0
build/tools/llmopt tail llm.metrics 2>/dev/null | jq -r --unbuffered \
    'select(.value.route=="route-0" and .value.window_kind=="tumbling") | .value |
     "  WINDOW  \(.route)/\(.arm)  n=\(.count)  p95=\(.latency_p95_ms|floor) ms  errors=\(.error_rate*1000|floor/10) %  cost/req=$\(.cost_per_request*100000|floor/100000)"' &
pids+=($!)

build/tools/llmopt traffic -X traffic.duration="${minutes}m" -X traffic.speed="$speed" \
    -X traffic.fault.at="$((minutes / 2))m" -X traffic.seed=7 2>"$logs/traffic.log"
sleep 8

say "summary"
if [ -x build/processor/llmopt-processor ]; then
    curl -s http://127.0.0.1:9464/metrics 2>/dev/null | grep -E '^llmopt_(processor_)?(events|dlq|signals)' | head -20 || true
fi
deploy/local/postgres.sh psql -c "SELECT count(*) AS windows FROM llmopt.window_metrics" 2>/dev/null || true
cat <<SQL

Explore the results in Postgres:
  deploy/local/postgres.sh psql
  -- p95 latency per arm over the run, merged from the window digests
  SELECT route, arm, tdigest_percentile(latency_digest, 0.95) AS p95_ms
    FROM llmopt.window_metrics WHERE window_kind = 'tumbling' GROUP BY route, arm ORDER BY route, arm;
  -- the drift and anomaly signals
  SELECT ts, route, arm, kind, detector, metric, direction FROM llmopt.signals ORDER BY ts;
More queries: sql/queries/README.md. Logs: $logs
SQL
