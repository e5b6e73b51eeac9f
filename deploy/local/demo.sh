#!/usr/bin/env bash
# The main job: the closed loop on the local stack.
#
# Installs what is missing, builds, starts Kafka (KRaft) and Postgres, applies
# the migrations, then starts the processor, the controller and the sink and
# drives them with `llmopt simulate` (examples/scenarios/demo.json): simulated
# gateways choose every arm through libllmopt-gateway, which follows the
# controller's decisions on llm.routing. At +2 min of event time the best
# arm's latency triples; at +5 min the cheap arm's error rate jumps to 40 %.
# Repeated prompts go through the gateway cache, whose answers score lower: rate
# limit and cache policy changes show as STRATEGY lines.
# While it runs the terminal shows the traffic split, closed windows (p95,
# error rate), signals as they fire and decisions with their reasons. It ends
# with the summary (reward against the oracle and a uniform split, time to
# re-route after each change) and leaves everything in Postgres.
#
# Environment: LLMOPT_DEMO_SCENARIO (default examples/scenarios/demo.json),
# LLMOPT_JOBS. Kafka and Postgres stay running (deploy/local/stack.sh stop).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
scenario="${LLMOPT_DEMO_SCENARIO:-examples/scenarios/demo.json}"
jobs="${LLMOPT_JOBS:-$(nproc)}"
run="demo-$(date +%s)"
logs="$root/var/demo/$run"
mkdir -p "$logs"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    # $! of a `tail | jq | awk &` pipeline is only its awk: the tail and jq
    # stay blocked on an idle topic and `wait` never returns. All of them are
    # this shell's children (procps is in deps.sh).
    pkill -TERM -P $$ 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing what is missing"
deploy/local/deps.sh
say "building"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$logs/configure.log" 2>&1 || { cat "$logs/configure.log"; exit 1; }
ninja -C build -j "$jobs" >"$logs/build.log" 2>&1 || { tail -40 "$logs/build.log"; exit 1; }
llmopt=build/tools/llmopt

say "starting Kafka (KRaft) and Postgres"
deploy/local/stack.sh start
eval "$(tests/stack.sh env)"
export LLMOPT_KAFKA_BOOTSTRAP_SERVERS="$LLMOPT_BOOTSTRAP"
export LLMOPT_PG_DSN
$llmopt migrate

# This run gets its own topics (run.llm.requests, ...), consumer groups and
# route names, so earlier runs and tests on the same stack never mix in.
t="$run."
LLMOPT_TOPIC_PREFIX="$t" deploy/local/topics.sh create >"$logs/topics.log" 2>&1 || { cat "$logs/topics.log"; exit 1; }
sim=(--scenario "$scenario" -X simulate.route.prefix="$run-" -X simulate.topic.prefix="$t" -X log.level=warn)
$llmopt simulate policy "${sim[@]}" -X simulate.policy.out="$logs/policy.json"
proc_x=(); ctl_x=()
while read -r who kv; do
    case "$who" in
        processor) proc_x+=(-X "$kv") ;;
        controller) ctl_x+=(-X "$kv") ;;
    esac
done < <($llmopt simulate stack "${sim[@]}")

say "starting the processor, the controller and the sink (logs in $logs)"
build/processor/llmopt-processor -X http.port=9464 -X processor.group.id="$run" \
    -X processor.topic.requests="${t}llm.requests" -X processor.topic.responses="${t}llm.responses" \
    -X processor.topic.feedback="${t}llm.feedback" -X processor.topic.outcomes="${t}llm.outcomes" \
    -X processor.topic.metrics="${t}llm.metrics" -X processor.topic.signals="${t}llm.signals" \
    -X processor.topic.dlq="${t}llm.dlq" -X processor.topic.state="${t}llm.processor.state" \
    "${proc_x[@]}" >"$logs/processor.log" 2>&1 &
pids+=($!)
build/controller/llmopt-controller -X http.port=9465 -X controller.policy.file="$logs/policy.json" \
    -X controller.models.file= -X controller.instance.id="$run" -X controller.lock.name="$run" \
    -X controller.topic.outcomes="${t}llm.outcomes" -X controller.topic.metrics="${t}llm.metrics" \
    -X controller.topic.signals="${t}llm.signals" -X controller.topic.routing="${t}llm.routing" \
    "${ctl_x[@]}" >"$logs/controller.log" 2>&1 &
pids+=($!)
$llmopt sink -X sink.name="$run" -X sink.topic.metrics="${t}llm.metrics" -X sink.topic.signals="${t}llm.signals" \
    -X sink.topic.routing="${t}llm.routing" -X sink.topic.outcomes="${t}llm.outcomes" \
    -X sink.topic.dlq="${t}llm.dlq" >"$logs/sink.log" 2>&1 &
pids+=($!)
sleep 4

say "live: traffic split, windows, signals, decisions (event time runs faster than the clock)"
# decisions that move the split, with their reasons (heartbeats and repeats skipped)
$llmopt tail "${t}llm.routing" 2>/dev/null | jq -r --unbuffered --arg run "$run-" \
    'select(.value.route | startswith($run)) | .value | select(.heartbeat | not) |
     ([.arms[] | "\(.arm_id)=\(.weight*100|floor)%"] | join(" ")) + "\t" + "v\(.version) " + (.reason[0:120])' |
    awk -F'\t' '$1 != last { printf "  DECISION  %s  | %s\n", $1, $2; fflush(); last = $1 }' &
pids+=($!)
# signals as they fire: anomalies, and drifts that move the level by 10 % or more
$llmopt tail "${t}llm.signals" 2>/dev/null | jq -r --unbuffered --arg run "$run-" \
    'def num: tostring | if test("e") then (split("e") | "\(.[0][0:6])e\(.[1])") else .[0:7] end;
     select(.value.route | startswith($run)) | .value |
     select(.kind == "anomaly" or ((.after - .before) | fabs) >= 0.1 * (.before | fabs)) |
     "  SIGNAL    \(.arm): \(.kind) \(.detector) on \(.metric) \(.direction) \(.before|num) -> \(.after|num)"' &
pids+=($!)
# rate limit and cache policy changes, with their reasons (controller/strategy.h); no awk
# here: Debian's awk (mawk) reads a pipe in blocks, so these few lines sat in its buffer
# until the cleanup killed it
$llmopt tail "${t}llm.routing" 2>/dev/null | jq -r --unbuffered --arg run "$run-" \
    'select(.value.route | startswith($run)) | .value | select(.heartbeat | not) |
     [.reason | split("; ")[] | select(test("^rate limit of provider|^cache: "))] as $why | select($why | length > 0) |
     "  STRATEGY  v\(.version) limit \(.rate_limits.global.requests_per_s // 0 | floor) req/s, cache \(if .cache_policy.enabled then "on" else "off" end) ttl \((.cache_policy.ttl_ms // 0) / 1000) s | \($why | join("; ") | .[0:150])"' &
pids+=($!)
# one closed window per arm and event-time minute
$llmopt tail "${t}llm.metrics" 2>/dev/null | jq -r --unbuffered --arg run "$run-" \
    'select(.value.route | startswith($run)) | .value | select(.window_kind == "tumbling" and .window_end_ms % 60000 == 0) |
     "  WINDOW    \(.arm): n=\(.count) p95=\(.latency_p95_ms // 0 | floor) ms errors=\(.error_rate*1000|floor/10) %"' &
pids+=($!)

# the simulator: progress lines (traffic split) on stderr, the summary on stdout
$llmopt simulate "${sim[@]}" -X simulate.progress=5s -X simulate.summary.file="$logs/summary.json" \
    -X simulate.oracle.file="$logs/oracle.jsonl" >"$logs/summary.txt" 2> >(sed -u 's/^/  /' >&2)
sleep 3

say "summary"
cat "$logs/summary.txt"
cat <<SQL

The run's data stays in Postgres (routes $run-*) and on the topics ${t}llm.*. Explore it:
  deploy/local/postgres.sh psql
  -- p95 latency per arm, merged from the window digests
  SELECT route, arm, round(tdigest_percentile(latency_digest, 0.95)::numeric, 1) AS p95_ms
    FROM llmopt.window_metrics WHERE window_kind = 'tumbling' AND route LIKE '$run-%'
   GROUP BY route, arm ORDER BY route, arm;
  -- rate limit and cache policy as the controller adapted them
  SELECT version, round((payload->'rate_limits'->'global'->>'requests_per_s')::numeric, 1) AS limit_rps,
         payload->'cache_policy'->>'enabled' AS cache_on, payload->'cache_policy'->>'ttl_ms' AS ttl_ms, left(reason, 100)
    FROM llmopt.routing_decisions WHERE route LIKE '$run-%' AND reason ~ '(rate limit of provider|cache: )' ORDER BY version;
  -- what fired, and what the controller did next
  SELECT * FROM llmopt.signal_timeline WHERE route LIKE '$run-%' ORDER BY 1 LIMIT 20;
More queries: sql/queries/README.md. Logs: $logs
SQL
