-- 0002_telemetry: the high-volume result tables written by the sink from
-- llm.outcomes, llm.metrics and llm.signals.
--
-- Columns follow the Avro records in schemas/*.avsc with one rule: an Avro
-- epoch field "<x>_ms" / "ts_ms" (ms since the Unix epoch) becomes a
-- timestamptz column "<x>" / "ts"; durations keep their unit suffix
-- (latency_ms, size_ms). Avro "user" is user_id here (USER is reserved in SQL).
--
-- Each table is RANGE partitioned by day (UTC) on its event time, with a
-- DEFAULT partition so that no row is ever refused for lack of a partition;
-- llmopt.ensure_partitions() creates day partitions ahead and moves rows
-- out of DEFAULT when needed. Primary keys include the partition key, as
-- Postgres requires; the deterministic ids make the sink's upserts idempotent.

CREATE TABLE llmopt.outcomes (
    outcome_id       text             NOT NULL,
    request_id       text             NOT NULL,
    route            text             NOT NULL,
    arm              text             NOT NULL,
    provider         text             NOT NULL,
    model            text             NOT NULL,
    tenant           text,
    user_id          text,
    task_type        text             NOT NULL,
    ts               timestamptz      NOT NULL,
    response_ts      timestamptz,
    status           text             NOT NULL
        CHECK (status IN ('ok', 'error', 'timeout', 'rate_limited', 'filtered', 'missing')),
    latency_ms       double precision CHECK (latency_ms >= 0),
    ttft_ms          double precision CHECK (ttft_ms >= 0),
    input_tokens     bigint           NOT NULL CHECK (input_tokens >= 0),
    output_tokens    bigint           NOT NULL CHECK (output_tokens >= 0),
    cost_usd         double precision NOT NULL CHECK (cost_usd >= 0),
    quality          double precision,
    cache_hit        boolean          NOT NULL,
    context          jsonb            NOT NULL DEFAULT '{}'::jsonb,
    propensity       double precision NOT NULL,
    decision_version bigint           NOT NULL,
    experiment_id    text,
    variant          text,
    reward_quality   double precision NOT NULL,
    reward_cost      double precision NOT NULL,
    reward_latency   double precision NOT NULL,
    reward           double precision NOT NULL,
    rating           double precision,
    thumbs           smallint         CHECK (thumbs BETWEEN -1 AND 1),
    task_completed   boolean,
    feedback_ts      timestamptz,
    is_update        boolean          NOT NULL,
    ingested_at      timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (outcome_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE llmopt.outcomes_default PARTITION OF llmopt.outcomes DEFAULT;

CREATE INDEX outcomes_route_arm_ts ON llmopt.outcomes (route, arm, ts);
CREATE INDEX outcomes_ts ON llmopt.outcomes (ts);
CREATE INDEX outcomes_request_id ON llmopt.outcomes (request_id);
CREATE INDEX outcomes_experiment ON llmopt.outcomes (experiment_id, variant, ts)
    WHERE experiment_id IS NOT NULL;

COMMENT ON TABLE llmopt.outcomes IS
  'One row per Outcome (topic llm.outcomes): a Request joined with its Response and Feedback, scored; partitioned by day on ts';
COMMENT ON COLUMN llmopt.outcomes.outcome_id IS 'Deterministic id: request_id, plus '':u<n>'' for the n-th reward update (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.request_id IS 'Id of the joined Request (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.route IS 'Logical route (use case); the Kafka key (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.arm IS 'Arm chosen for the request: model + params + prompt template (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.provider IS 'Provider of the arm (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.model IS 'Model of the arm at the provider (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.tenant IS 'Tenant of the request, NULL when absent (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.user_id IS 'Pseudonymous end user of the request, NULL when absent; Avro field "user" (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.task_type IS 'Task category of the request (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.ts IS 'Event time of the Request; partition key (unit: timestamp, UTC; Avro ts_ms)';
COMMENT ON COLUMN llmopt.outcomes.response_ts IS 'Event time of the Response, NULL when status is missing (unit: timestamp; Avro response_ts_ms)';
COMMENT ON COLUMN llmopt.outcomes.status IS 'ok, error, timeout, rate_limited, filtered, or missing when no response arrived in time (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.latency_ms IS 'End-to-end latency seen by the gateway (unit: ms)';
COMMENT ON COLUMN llmopt.outcomes.ttft_ms IS 'Time to first token, streaming only (unit: ms)';
COMMENT ON COLUMN llmopt.outcomes.input_tokens IS 'Prompt tokens: billed, else the gateway estimate (unit: tokens)';
COMMENT ON COLUMN llmopt.outcomes.output_tokens IS 'Completion tokens, 0 when missing (unit: tokens)';
COMMENT ON COLUMN llmopt.outcomes.cost_usd IS 'Cost of the request, 0 when missing (unit: USD)';
COMMENT ON COLUMN llmopt.outcomes.quality IS 'Automatic quality score of the answer (unit: score 0..1)';
COMMENT ON COLUMN llmopt.outcomes.cache_hit IS 'True when served from the gateway response cache (unit: boolean)';
COMMENT ON COLUMN llmopt.outcomes.context IS 'Context features of the request, feature name -> value (unit: per feature; JSON object of numbers)';
COMMENT ON COLUMN llmopt.outcomes.propensity IS 'Probability the chosen arm had under the deciding policy (unit: probability in (0, 1])';
COMMENT ON COLUMN llmopt.outcomes.decision_version IS 'RoutingDecision version that chose the arm, 0 = none yet (unit: version number)';
COMMENT ON COLUMN llmopt.outcomes.experiment_id IS 'Experiment the request was enrolled in, NULL when none (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.variant IS 'Experiment variant assigned, NULL when none (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.reward_quality IS 'Quality component of the reward, higher is better (unit: score 0..1)';
COMMENT ON COLUMN llmopt.outcomes.reward_cost IS 'Cost component of the reward: 1 = free, 0 = at or above the cost cap (unit: score 0..1)';
COMMENT ON COLUMN llmopt.outcomes.reward_latency IS 'Latency component of the reward: 1 = instant, 0 = at or above the latency cap (unit: score 0..1)';
COMMENT ON COLUMN llmopt.outcomes.reward IS 'Weighted sum of the reward components, weights summing to 1 (unit: score 0..1)';
COMMENT ON COLUMN llmopt.outcomes.rating IS 'Feedback rating, NULL when none (unit: score 0..1)';
COMMENT ON COLUMN llmopt.outcomes.thumbs IS 'Feedback thumbs: -1 down, 0 none, 1 up; NULL when none (unit: none)';
COMMENT ON COLUMN llmopt.outcomes.task_completed IS 'Feedback: the user completed the task, NULL when unknown (unit: boolean)';
COMMENT ON COLUMN llmopt.outcomes.feedback_ts IS 'Event time of the Feedback folded in, NULL when none (unit: timestamp; Avro feedback_ts_ms)';
COMMENT ON COLUMN llmopt.outcomes.is_update IS 'True when this row revises an earlier outcome after Feedback (unit: boolean)';
COMMENT ON COLUMN llmopt.outcomes.ingested_at IS 'When the sink wrote the row (unit: timestamp, database clock)';

CREATE TABLE llmopt.window_metrics (
    metrics_id              text             NOT NULL,
    route                   text             NOT NULL,
    arm                     text             NOT NULL,
    window_start            timestamptz      NOT NULL,
    window_end              timestamptz      NOT NULL,
    window_kind             text             NOT NULL CHECK (window_kind IN ('tumbling', 'hopping')),
    size_ms                 bigint           NOT NULL CHECK (size_ms > 0),
    advance_ms              bigint           NOT NULL CHECK (advance_ms > 0 AND advance_ms <= size_ms),
    count                   bigint           NOT NULL CHECK (count >= 0),
    ok_count                bigint           NOT NULL CHECK (ok_count >= 0),
    error_count             bigint           NOT NULL CHECK (error_count >= 0),
    timeout_count           bigint           NOT NULL CHECK (timeout_count >= 0),
    rate_limited_count      bigint           NOT NULL CHECK (rate_limited_count >= 0),
    filtered_count          bigint           NOT NULL CHECK (filtered_count >= 0),
    error_rate              double precision NOT NULL,
    latency_p50_ms          double precision,
    latency_p90_ms          double precision,
    latency_p95_ms          double precision,
    latency_p99_ms          double precision,
    latency_digest          tdigest          NOT NULL,
    ttft_p50_ms             double precision,
    ttft_p90_ms             double precision,
    ttft_p95_ms             double precision,
    ttft_p99_ms             double precision,
    ttft_digest             tdigest,
    input_tokens            bigint           NOT NULL CHECK (input_tokens >= 0),
    output_tokens           bigint           NOT NULL CHECK (output_tokens >= 0),
    cost_usd                double precision NOT NULL,
    cost_per_request        double precision NOT NULL,
    quality_count           bigint           NOT NULL CHECK (quality_count >= 0),
    quality_mean            double precision,
    quality_variance        double precision,
    reward_count            bigint           NOT NULL CHECK (reward_count >= 0),
    reward_mean             double precision,
    reward_variance         double precision,
    cache_hits              bigint           NOT NULL CHECK (cache_hits >= 0),
    cache_hit_quality_mean  double precision,
    cache_miss_quality_mean double precision,
    late_count              bigint           NOT NULL CHECK (late_count >= 0),
    batch_size_mean         double precision,
    ingested_at             timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (metrics_id, window_start),
    CHECK (window_end > window_start)
) PARTITION BY RANGE (window_start);
CREATE TABLE llmopt.window_metrics_default PARTITION OF llmopt.window_metrics DEFAULT;

CREATE INDEX window_metrics_route_arm_start ON llmopt.window_metrics (route, arm, window_start);
CREATE INDEX window_metrics_start ON llmopt.window_metrics (window_start);

COMMENT ON TABLE llmopt.window_metrics IS
  'One row per WindowMetrics (topic llm.metrics): aggregates of one (route, arm, window), emitted when the window closed; partitioned by day on window_start';
COMMENT ON COLUMN llmopt.window_metrics.metrics_id IS 'Deterministic id ''<route>|<arm>|<window_kind>|<size_ms>|<window_start_ms>'' (unit: none)';
COMMENT ON COLUMN llmopt.window_metrics.route IS 'Route; the Kafka key (unit: none)';
COMMENT ON COLUMN llmopt.window_metrics.arm IS 'Arm (unit: none)';
COMMENT ON COLUMN llmopt.window_metrics.window_start IS 'Window start, inclusive, event time; partition key (unit: timestamp; Avro window_start_ms)';
COMMENT ON COLUMN llmopt.window_metrics.window_end IS 'Window end, exclusive, event time (unit: timestamp; Avro window_end_ms)';
COMMENT ON COLUMN llmopt.window_metrics.window_kind IS 'Window assignment: tumbling or hopping (unit: none)';
COMMENT ON COLUMN llmopt.window_metrics.size_ms IS 'Window length (unit: ms)';
COMMENT ON COLUMN llmopt.window_metrics.advance_ms IS 'Hop between window starts, equal to size_ms when tumbling (unit: ms)';
COMMENT ON COLUMN llmopt.window_metrics.count IS 'Outcomes in the window (unit: events)';
COMMENT ON COLUMN llmopt.window_metrics.ok_count IS 'Outcomes with status ok (unit: events)';
COMMENT ON COLUMN llmopt.window_metrics.error_count IS 'Outcomes with status error (unit: events)';
COMMENT ON COLUMN llmopt.window_metrics.timeout_count IS 'Outcomes with status timeout (unit: events)';
COMMENT ON COLUMN llmopt.window_metrics.rate_limited_count IS 'Outcomes with status rate_limited (unit: events)';
COMMENT ON COLUMN llmopt.window_metrics.filtered_count IS 'Outcomes with status filtered (unit: events)';
COMMENT ON COLUMN llmopt.window_metrics.error_rate IS '(count - ok_count) / count, 0 when count is 0 (unit: fraction 0..1)';
COMMENT ON COLUMN llmopt.window_metrics.latency_p50_ms IS 'Median latency from latency_digest (unit: ms)';
COMMENT ON COLUMN llmopt.window_metrics.latency_p90_ms IS '90th percentile latency (unit: ms)';
COMMENT ON COLUMN llmopt.window_metrics.latency_p95_ms IS '95th percentile latency (unit: ms)';
COMMENT ON COLUMN llmopt.window_metrics.latency_p99_ms IS '99th percentile latency (unit: ms)';
COMMENT ON COLUMN llmopt.window_metrics.latency_digest IS 'Mergeable latency t-digest (tdigest extension); percentiles over several windows: tdigest_percentile(latency_digest, 0.95) (unit: ms, centroid means)';
COMMENT ON COLUMN llmopt.window_metrics.ttft_p50_ms IS 'Median time to first token (unit: ms)';
COMMENT ON COLUMN llmopt.window_metrics.ttft_p90_ms IS '90th percentile time to first token (unit: ms)';
COMMENT ON COLUMN llmopt.window_metrics.ttft_p95_ms IS '95th percentile time to first token (unit: ms)';
COMMENT ON COLUMN llmopt.window_metrics.ttft_p99_ms IS '99th percentile time to first token (unit: ms)';
COMMENT ON COLUMN llmopt.window_metrics.ttft_digest IS 'Mergeable time-to-first-token t-digest, NULL when no streaming responses (unit: ms, centroid means)';
COMMENT ON COLUMN llmopt.window_metrics.input_tokens IS 'Sum of input tokens (unit: tokens)';
COMMENT ON COLUMN llmopt.window_metrics.output_tokens IS 'Sum of output tokens (unit: tokens)';
COMMENT ON COLUMN llmopt.window_metrics.cost_usd IS 'Sum of cost (unit: USD)';
COMMENT ON COLUMN llmopt.window_metrics.cost_per_request IS 'cost_usd / count, 0 when count is 0 (unit: USD per request)';
COMMENT ON COLUMN llmopt.window_metrics.quality_count IS 'Outcomes carrying a quality score (unit: events)';
COMMENT ON COLUMN llmopt.window_metrics.quality_mean IS 'Mean quality (unit: score 0..1)';
COMMENT ON COLUMN llmopt.window_metrics.quality_variance IS 'Sample variance of quality, n-1 denominator (unit: score^2)';
COMMENT ON COLUMN llmopt.window_metrics.reward_count IS 'Outcomes with a reward (unit: events)';
COMMENT ON COLUMN llmopt.window_metrics.reward_mean IS 'Mean reward (unit: score 0..1)';
COMMENT ON COLUMN llmopt.window_metrics.reward_variance IS 'Sample variance of reward, n-1 denominator (unit: score^2)';
COMMENT ON COLUMN llmopt.window_metrics.cache_hits IS 'Outcomes served from the cache (unit: events)';
COMMENT ON COLUMN llmopt.window_metrics.cache_hit_quality_mean IS 'Mean quality of cache hits (unit: score 0..1)';
COMMENT ON COLUMN llmopt.window_metrics.cache_miss_quality_mean IS 'Mean quality of cache misses (unit: score 0..1)';
COMMENT ON COLUMN llmopt.window_metrics.late_count IS 'Events that arrived after the window closed and went to llm.dlq (unit: events)';
COMMENT ON COLUMN llmopt.window_metrics.batch_size_mean IS 'Mean provider batch size (unit: requests per batch)';
COMMENT ON COLUMN llmopt.window_metrics.ingested_at IS 'When the sink wrote the row (unit: timestamp, database clock)';

CREATE TABLE llmopt.signals (
    signal_id    text             NOT NULL,
    ts           timestamptz      NOT NULL,
    route        text             NOT NULL,
    arm          text             NOT NULL,
    kind         text             NOT NULL CHECK (kind IN ('drift', 'anomaly')),
    detector     text             NOT NULL
        CHECK (detector IN ('adwin', 'page_hinkley', 'cusum', 'zscore', 'iqr', 'mad')),
    metric       text             NOT NULL,
    direction    text             NOT NULL CHECK (direction IN ('up', 'down')),
    magnitude    double precision NOT NULL,
    before       double precision NOT NULL,
    after        double precision NOT NULL,
    sample_index bigint           NOT NULL CHECK (sample_index >= 0),
    severity     double precision NOT NULL,
    window_end   timestamptz,
    ingested_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (signal_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE llmopt.signals_default PARTITION OF llmopt.signals DEFAULT;

CREATE INDEX signals_route_arm_ts ON llmopt.signals (route, arm, ts);
CREATE INDEX signals_ts ON llmopt.signals (ts);

COMMENT ON TABLE llmopt.signals IS
  'One row per Signal (topic llm.signals): a drift or anomaly on one (route, arm, metric); partitioned by day on ts';
COMMENT ON COLUMN llmopt.signals.signal_id IS 'Deterministic id ''<route>|<arm>|<detector>|<metric>|<sample_index>''; routing_decisions.signal_ids refers to it (unit: none)';
COMMENT ON COLUMN llmopt.signals.ts IS 'Event time of the sample that raised the signal; partition key (unit: timestamp; Avro ts_ms)';
COMMENT ON COLUMN llmopt.signals.route IS 'Route; the Kafka key (unit: none)';
COMMENT ON COLUMN llmopt.signals.arm IS 'Arm (unit: none)';
COMMENT ON COLUMN llmopt.signals.kind IS 'drift (per-event detectors) or anomaly (window aggregates vs baseline) (unit: none)';
COMMENT ON COLUMN llmopt.signals.detector IS 'Detector that fired: adwin, page_hinkley, cusum, zscore, iqr or mad (unit: none)';
COMMENT ON COLUMN llmopt.signals.metric IS 'Metric watched, e.g. latency_ms, error, quality, cost_usd, reward, p95_latency_ms, error_rate (unit: none)';
COMMENT ON COLUMN llmopt.signals.direction IS 'Direction of the change: up or down (unit: none)';
COMMENT ON COLUMN llmopt.signals.magnitude IS '|after - before| (unit: the unit of metric)';
COMMENT ON COLUMN llmopt.signals.before IS 'Metric level before the change: old window mean or baseline (unit: the unit of metric)';
COMMENT ON COLUMN llmopt.signals.after IS 'Metric level after the change: new window mean or anomalous value (unit: the unit of metric)';
COMMENT ON COLUMN llmopt.signals.sample_index IS 'Index of the triggering sample in the detector stream: events for drift, windows for anomaly (unit: samples)';
COMMENT ON COLUMN llmopt.signals.severity IS 'statistic / threshold - 1, clamped to 0..100 (unit: ratio)';
COMMENT ON COLUMN llmopt.signals.window_end IS 'End of the anomalous window, NULL for drift (unit: timestamp; Avro window_end_ms)';
COMMENT ON COLUMN llmopt.signals.ingested_at IS 'When the sink wrote the row (unit: timestamp, database clock)';
