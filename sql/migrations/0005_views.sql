-- 0005_views: reporting views over the tables the sink fills, and the
-- indexes they need.
--
-- Rollups of window_metrics use tumbling windows only (a hopping window
-- overlaps its neighbours, so summing them would count each event
-- size_ms / advance_ms times) and keep window_size_ms as a column: when the
-- processor runs two tumbling sizes, filter on one. Latency percentiles come
-- from merging the stored t-digests, never from averaging per-window
-- percentiles. Outcome rollups count each request once: rows with is_update
-- (a reward revised after feedback) repeat the request and are skipped for
-- counts, cost and latency; the reward of a request is its latest revision.
-- Days and hours are UTC.

-- No (tenant, ts) index on outcomes: cost by tenant reads whole days, which
-- partition pruning and outcomes_ts already narrow, and every extra index on
-- the largest table slows the sink (measured: 6 indexes, ~10 % per index).
-- "the next decision for the route after this signal"
CREATE INDEX routing_decisions_route_ts ON llmopt.routing_decisions (route, ts);
-- error-rate timeline and rollups of one window size across routes
CREATE INDEX window_metrics_kind_size_start
    ON llmopt.window_metrics (window_kind, size_ms, window_start);

-- ---- hourly and daily rollups per arm -------------------------------------

CREATE VIEW llmopt.arm_hourly AS
SELECT route, arm, window_size_ms, hour, requests, ok_count, failures, error_rate,
       latency_digest, p[1] AS latency_p50_ms, p[2] AS latency_p95_ms, p[3] AS latency_p99_ms,
       cost_usd, input_tokens, output_tokens, quality_mean, reward_mean, cache_hits, late_count
FROM (
    SELECT route, arm, size_ms AS window_size_ms,
           date_trunc('hour', window_start, 'UTC') AS hour,
           sum(count) AS requests,
           sum(ok_count) AS ok_count,
           sum(count - ok_count) AS failures,
           CASE WHEN sum(count) > 0 THEN sum(count - ok_count)::float8 / sum(count) ELSE 0 END
               AS error_rate,
           tdigest(latency_digest) AS latency_digest,
           tdigest_percentile(latency_digest, ARRAY[0.5, 0.95, 0.99]) AS p,
           sum(cost_usd) AS cost_usd,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens,
           sum(quality_mean * quality_count) FILTER (WHERE quality_mean IS NOT NULL)
               / NULLIF(sum(quality_count) FILTER (WHERE quality_mean IS NOT NULL), 0)
               AS quality_mean,
           sum(reward_mean * reward_count) FILTER (WHERE reward_mean IS NOT NULL)
               / NULLIF(sum(reward_count) FILTER (WHERE reward_mean IS NOT NULL), 0)
               AS reward_mean,
           sum(cache_hits) AS cache_hits,
           sum(late_count) AS late_count
    FROM llmopt.window_metrics
    WHERE window_kind = 'tumbling'
    GROUP BY route, arm, size_ms, date_trunc('hour', window_start, 'UTC')
) h;

COMMENT ON VIEW llmopt.arm_hourly IS
  'Per (route, arm, tumbling window size, UTC hour): window_metrics merged; latency percentiles from the merged t-digests';
COMMENT ON COLUMN llmopt.arm_hourly.route IS 'Route (unit: none)';
COMMENT ON COLUMN llmopt.arm_hourly.arm IS 'Arm (unit: none)';
COMMENT ON COLUMN llmopt.arm_hourly.window_size_ms IS 'Size of the tumbling windows merged; filter on one size (unit: ms)';
COMMENT ON COLUMN llmopt.arm_hourly.hour IS 'Start of the UTC hour, by window_start (unit: timestamp)';
COMMENT ON COLUMN llmopt.arm_hourly.requests IS 'Outcomes in the hour (unit: events)';
COMMENT ON COLUMN llmopt.arm_hourly.ok_count IS 'Outcomes with status ok (unit: events)';
COMMENT ON COLUMN llmopt.arm_hourly.failures IS 'Outcomes not ok: error, timeout, rate_limited, filtered (unit: events)';
COMMENT ON COLUMN llmopt.arm_hourly.error_rate IS 'failures / requests, 0 without requests (unit: fraction 0..1)';
COMMENT ON COLUMN llmopt.arm_hourly.latency_digest IS 'Merged latency t-digest of the hour, mergeable further (unit: ms)';
COMMENT ON COLUMN llmopt.arm_hourly.latency_p50_ms IS 'Median latency (unit: ms)';
COMMENT ON COLUMN llmopt.arm_hourly.latency_p95_ms IS '95th percentile latency (unit: ms)';
COMMENT ON COLUMN llmopt.arm_hourly.latency_p99_ms IS '99th percentile latency (unit: ms)';
COMMENT ON COLUMN llmopt.arm_hourly.cost_usd IS 'Cost (unit: USD)';
COMMENT ON COLUMN llmopt.arm_hourly.input_tokens IS 'Input tokens (unit: tokens)';
COMMENT ON COLUMN llmopt.arm_hourly.output_tokens IS 'Output tokens (unit: tokens)';
COMMENT ON COLUMN llmopt.arm_hourly.quality_mean IS 'Mean quality, weighted by quality_count (unit: score 0..1)';
COMMENT ON COLUMN llmopt.arm_hourly.reward_mean IS 'Mean reward, weighted by reward_count (unit: score 0..1)';
COMMENT ON COLUMN llmopt.arm_hourly.cache_hits IS 'Outcomes served from the cache (unit: events)';
COMMENT ON COLUMN llmopt.arm_hourly.late_count IS 'Late events dead-lettered (unit: events)';

CREATE VIEW llmopt.arm_daily AS
SELECT route, arm, window_size_ms, day, requests, ok_count, failures, error_rate,
       latency_digest, p[1] AS latency_p50_ms, p[2] AS latency_p95_ms, p[3] AS latency_p99_ms,
       cost_usd, input_tokens, output_tokens, quality_mean, reward_mean, cache_hits, late_count
FROM (
    SELECT route, arm, size_ms AS window_size_ms,
           (window_start AT TIME ZONE 'UTC')::date AS day,
           sum(count) AS requests,
           sum(ok_count) AS ok_count,
           sum(count - ok_count) AS failures,
           CASE WHEN sum(count) > 0 THEN sum(count - ok_count)::float8 / sum(count) ELSE 0 END
               AS error_rate,
           tdigest(latency_digest) AS latency_digest,
           tdigest_percentile(latency_digest, ARRAY[0.5, 0.95, 0.99]) AS p,
           sum(cost_usd) AS cost_usd,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens,
           sum(quality_mean * quality_count) FILTER (WHERE quality_mean IS NOT NULL)
               / NULLIF(sum(quality_count) FILTER (WHERE quality_mean IS NOT NULL), 0)
               AS quality_mean,
           sum(reward_mean * reward_count) FILTER (WHERE reward_mean IS NOT NULL)
               / NULLIF(sum(reward_count) FILTER (WHERE reward_mean IS NOT NULL), 0)
               AS reward_mean,
           sum(cache_hits) AS cache_hits,
           sum(late_count) AS late_count
    FROM llmopt.window_metrics
    WHERE window_kind = 'tumbling'
    GROUP BY route, arm, size_ms, (window_start AT TIME ZONE 'UTC')::date
) d;

COMMENT ON VIEW llmopt.arm_daily IS
  'Per (route, arm, tumbling window size, UTC day): window_metrics merged; latency percentiles from the merged t-digests';
COMMENT ON COLUMN llmopt.arm_daily.route IS 'Route (unit: none)';
COMMENT ON COLUMN llmopt.arm_daily.arm IS 'Arm (unit: none)';
COMMENT ON COLUMN llmopt.arm_daily.window_size_ms IS 'Size of the tumbling windows merged; filter on one size (unit: ms)';
COMMENT ON COLUMN llmopt.arm_daily.day IS 'UTC day, by window_start (unit: date)';
COMMENT ON COLUMN llmopt.arm_daily.requests IS 'Outcomes in the day (unit: events)';
COMMENT ON COLUMN llmopt.arm_daily.ok_count IS 'Outcomes with status ok (unit: events)';
COMMENT ON COLUMN llmopt.arm_daily.failures IS 'Outcomes not ok (unit: events)';
COMMENT ON COLUMN llmopt.arm_daily.error_rate IS 'failures / requests, 0 without requests (unit: fraction 0..1)';
COMMENT ON COLUMN llmopt.arm_daily.latency_digest IS 'Merged latency t-digest of the day (unit: ms)';
COMMENT ON COLUMN llmopt.arm_daily.latency_p50_ms IS 'Median latency (unit: ms)';
COMMENT ON COLUMN llmopt.arm_daily.latency_p95_ms IS '95th percentile latency (unit: ms)';
COMMENT ON COLUMN llmopt.arm_daily.latency_p99_ms IS '99th percentile latency (unit: ms)';
COMMENT ON COLUMN llmopt.arm_daily.cost_usd IS 'Cost (unit: USD)';
COMMENT ON COLUMN llmopt.arm_daily.input_tokens IS 'Input tokens (unit: tokens)';
COMMENT ON COLUMN llmopt.arm_daily.output_tokens IS 'Output tokens (unit: tokens)';
COMMENT ON COLUMN llmopt.arm_daily.quality_mean IS 'Mean quality, weighted by quality_count (unit: score 0..1)';
COMMENT ON COLUMN llmopt.arm_daily.reward_mean IS 'Mean reward, weighted by reward_count (unit: score 0..1)';
COMMENT ON COLUMN llmopt.arm_daily.cache_hits IS 'Outcomes served from the cache (unit: events)';
COMMENT ON COLUMN llmopt.arm_daily.late_count IS 'Late events dead-lettered (unit: events)';

-- ---- cost by tenant, route and day ------------------------------------------

CREATE VIEW llmopt.cost_by_tenant_daily AS
SELECT (ts AT TIME ZONE 'UTC')::date AS day,
       tenant,
       route,
       count(*) AS requests,
       sum(cost_usd) AS cost_usd,
       sum(input_tokens) AS input_tokens,
       sum(output_tokens) AS output_tokens,
       sum(cost_usd) / count(*) AS cost_per_request,
       count(*) FILTER (WHERE cache_hit) AS cache_hits
FROM llmopt.outcomes
WHERE NOT is_update
GROUP BY 1, 2, 3;

COMMENT ON VIEW llmopt.cost_by_tenant_daily IS
  'Spend per (UTC day, tenant, route) from outcomes, each request once (is_update rows skipped); tenant NULL = requests without a tenant';
COMMENT ON COLUMN llmopt.cost_by_tenant_daily.day IS 'UTC day of the request (unit: date)';
COMMENT ON COLUMN llmopt.cost_by_tenant_daily.tenant IS 'Tenant, NULL when the request had none (unit: none)';
COMMENT ON COLUMN llmopt.cost_by_tenant_daily.route IS 'Route (unit: none)';
COMMENT ON COLUMN llmopt.cost_by_tenant_daily.requests IS 'Requests (unit: requests)';
COMMENT ON COLUMN llmopt.cost_by_tenant_daily.cost_usd IS 'Total cost (unit: USD)';
COMMENT ON COLUMN llmopt.cost_by_tenant_daily.input_tokens IS 'Input tokens (unit: tokens)';
COMMENT ON COLUMN llmopt.cost_by_tenant_daily.output_tokens IS 'Output tokens (unit: tokens)';
COMMENT ON COLUMN llmopt.cost_by_tenant_daily.cost_per_request IS 'cost_usd / requests (unit: USD per request)';
COMMENT ON COLUMN llmopt.cost_by_tenant_daily.cache_hits IS 'Requests served from the cache (unit: requests)';

-- ---- error-rate timeline --------------------------------------------------

CREATE VIEW llmopt.error_rate_timeline AS
SELECT route, arm, size_ms AS window_size_ms, window_start, window_end,
       count AS requests, error_count, timeout_count, rate_limited_count, filtered_count,
       error_rate,
       sum(count - ok_count) OVER w::float8 / NULLIF(sum(count) OVER w, 0) AS route_error_rate
FROM llmopt.window_metrics
WHERE window_kind = 'tumbling'
WINDOW w AS (PARTITION BY route, size_ms, window_start);

COMMENT ON VIEW llmopt.error_rate_timeline IS
  'Per tumbling window and arm: failures by status and the error rate, next to the error rate of the whole route in that window';
COMMENT ON COLUMN llmopt.error_rate_timeline.route IS 'Route (unit: none)';
COMMENT ON COLUMN llmopt.error_rate_timeline.arm IS 'Arm (unit: none)';
COMMENT ON COLUMN llmopt.error_rate_timeline.window_size_ms IS 'Tumbling window size (unit: ms)';
COMMENT ON COLUMN llmopt.error_rate_timeline.window_start IS 'Window start (unit: timestamp)';
COMMENT ON COLUMN llmopt.error_rate_timeline.window_end IS 'Window end, exclusive (unit: timestamp)';
COMMENT ON COLUMN llmopt.error_rate_timeline.requests IS 'Outcomes in the window (unit: events)';
COMMENT ON COLUMN llmopt.error_rate_timeline.error_count IS 'Status error (unit: events)';
COMMENT ON COLUMN llmopt.error_rate_timeline.timeout_count IS 'Status timeout (unit: events)';
COMMENT ON COLUMN llmopt.error_rate_timeline.rate_limited_count IS 'Status rate_limited (unit: events)';
COMMENT ON COLUMN llmopt.error_rate_timeline.filtered_count IS 'Status filtered (unit: events)';
COMMENT ON COLUMN llmopt.error_rate_timeline.error_rate IS 'Not-ok share of the arm in the window (unit: fraction 0..1)';
COMMENT ON COLUMN llmopt.error_rate_timeline.route_error_rate IS 'Not-ok share over all arms of the route in the window (unit: fraction 0..1)';

-- ---- drift and anomaly timeline with the controller's reaction -----------

-- The decision that followed a signal: the first decision of the route that
-- cites the signal in signal_ids, else the first decision of the route at or
-- after the signal's time. arm_weight_before / _after are the signal's arm
-- in the previous version and in that decision.
CREATE VIEW llmopt.signal_timeline AS
SELECT s.ts, s.route, s.arm, s.kind, s.detector, s.metric, s.direction, s.magnitude,
       s.before, s.after, s.severity, s.signal_id,
       d.version AS decision_version,
       d.ts AS decision_ts,
       d.ts - s.ts AS reaction_time,
       d.reason AS decision_reason,
       d.algorithm AS decision_algorithm,
       coalesce(d.signal_ids @> ARRAY[s.signal_id], false) AS decision_cites_signal,
       (SELECT (a->>'weight')::float8 FROM jsonb_array_elements(prev.payload->'arms') a
        WHERE a->>'arm_id' = s.arm LIMIT 1) AS arm_weight_before,
       (SELECT (a->>'weight')::float8 FROM jsonb_array_elements(d.payload->'arms') a
        WHERE a->>'arm_id' = s.arm LIMIT 1) AS arm_weight_after,
       (SELECT a->>'state' FROM jsonb_array_elements(d.payload->'arms') a
        WHERE a->>'arm_id' = s.arm LIMIT 1) AS arm_state_after
FROM llmopt.signals s
LEFT JOIN LATERAL (
    SELECT r.version, r.ts, r.reason, r.algorithm, r.signal_ids, r.payload
    FROM llmopt.routing_decisions r
    WHERE r.route = s.route AND (r.signal_ids @> ARRAY[s.signal_id] OR r.ts >= s.ts)
    ORDER BY (r.signal_ids @> ARRAY[s.signal_id]) DESC, r.ts, r.version
    LIMIT 1
) d ON true
LEFT JOIN LATERAL (
    SELECT p.payload FROM llmopt.routing_decisions p
    WHERE p.route = s.route AND p.version < d.version
    ORDER BY p.version DESC
    LIMIT 1
) prev ON true;

COMMENT ON VIEW llmopt.signal_timeline IS
  'Each drift or anomaly signal with the routing decision that followed it (citing it in signal_ids, else the next decision of the route) and the arm''s weight before and after';
COMMENT ON COLUMN llmopt.signal_timeline.ts IS 'Event time of the signal (unit: timestamp)';
COMMENT ON COLUMN llmopt.signal_timeline.route IS 'Route (unit: none)';
COMMENT ON COLUMN llmopt.signal_timeline.arm IS 'Arm the signal is about (unit: none)';
COMMENT ON COLUMN llmopt.signal_timeline.kind IS 'drift or anomaly (unit: none)';
COMMENT ON COLUMN llmopt.signal_timeline.detector IS 'Detector (unit: none)';
COMMENT ON COLUMN llmopt.signal_timeline.metric IS 'Metric watched (unit: none)';
COMMENT ON COLUMN llmopt.signal_timeline.direction IS 'up or down (unit: none)';
COMMENT ON COLUMN llmopt.signal_timeline.magnitude IS '|after - before| (unit: the unit of metric)';
COMMENT ON COLUMN llmopt.signal_timeline.before IS 'Level before (unit: the unit of metric)';
COMMENT ON COLUMN llmopt.signal_timeline.after IS 'Level after (unit: the unit of metric)';
COMMENT ON COLUMN llmopt.signal_timeline.severity IS 'Severity (unit: ratio)';
COMMENT ON COLUMN llmopt.signal_timeline.signal_id IS 'Signal id (unit: none)';
COMMENT ON COLUMN llmopt.signal_timeline.decision_version IS 'Version of the decision that followed, NULL when none yet (unit: version number)';
COMMENT ON COLUMN llmopt.signal_timeline.decision_ts IS 'When that decision was made (unit: timestamp)';
COMMENT ON COLUMN llmopt.signal_timeline.reaction_time IS 'decision_ts - ts (unit: interval)';
COMMENT ON COLUMN llmopt.signal_timeline.decision_reason IS 'Reason given by the controller (unit: none)';
COMMENT ON COLUMN llmopt.signal_timeline.decision_algorithm IS 'Policy of that decision (unit: none)';
COMMENT ON COLUMN llmopt.signal_timeline.decision_cites_signal IS 'True when the decision lists the signal in signal_ids (unit: boolean)';
COMMENT ON COLUMN llmopt.signal_timeline.arm_weight_before IS 'Weight of the arm in the previous version (unit: fraction 0..1)';
COMMENT ON COLUMN llmopt.signal_timeline.arm_weight_after IS 'Weight of the arm in the decision that followed (unit: fraction 0..1)';
COMMENT ON COLUMN llmopt.signal_timeline.arm_state_after IS 'State of the arm in that decision: active, disabled, cooldown, canary (unit: none)';

-- ---- experiment summary ----------------------------------------------------

CREATE VIEW llmopt.experiment_summary AS
WITH latest AS (
    -- one row per request: its latest reward revision
    SELECT DISTINCT ON (request_id) request_id, reward, rating
    FROM llmopt.outcomes
    WHERE experiment_id IS NOT NULL
    ORDER BY request_id, is_update DESC, feedback_ts DESC NULLS LAST, outcome_id DESC
),
per_variant AS (
    SELECT o.experiment_id, o.variant,
           count(*) AS requests,
           count(*) FILTER (WHERE o.status <> 'ok') AS failures,
           avg(l.reward) AS reward_mean,
           stddev_samp(l.reward) AS reward_stddev,
           avg(o.quality) AS quality_mean,
           avg(l.rating) AS rating_mean,
           sum(o.cost_usd) AS cost_usd,
           avg(o.latency_ms) AS latency_mean_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY o.latency_ms) AS latency_p95_ms
    FROM llmopt.outcomes o
    JOIN latest l ON l.request_id = o.request_id
    WHERE o.experiment_id IS NOT NULL AND NOT o.is_update
    GROUP BY o.experiment_id, o.variant
)
SELECT v.experiment_id, e.name, e.route, e.status, e.primary_metric, e.winner,
       v.variant, ea.arm, ea.is_control, ea.allocation,
       v.requests, v.failures, v.failures::float8 / v.requests AS error_rate,
       v.reward_mean, v.reward_stddev,
       v.reward_stddev / sqrt(v.requests) AS reward_stderr,
       v.reward_mean - max(v.reward_mean) FILTER (WHERE ea.is_control)
           OVER (PARTITION BY v.experiment_id) AS reward_lift_vs_control,
       v.quality_mean, v.rating_mean, v.cost_usd, v.cost_usd / v.requests AS cost_per_request,
       v.latency_mean_ms, v.latency_p95_ms
FROM per_variant v
LEFT JOIN llmopt.experiments e ON e.experiment_id = v.experiment_id
LEFT JOIN llmopt.experiment_arms ea
       ON ea.experiment_id = v.experiment_id AND ea.variant = v.variant;

COMMENT ON VIEW llmopt.experiment_summary IS
  'Per experiment and variant, from outcomes: requests, failures, reward (latest revision per request) with its standard error and lift over the control, quality, cost, latency';
COMMENT ON COLUMN llmopt.experiment_summary.experiment_id IS 'Experiment (unit: none)';
COMMENT ON COLUMN llmopt.experiment_summary.name IS 'Experiment name, NULL when not in llmopt.experiments (unit: none)';
COMMENT ON COLUMN llmopt.experiment_summary.route IS 'Route of the experiment (unit: none)';
COMMENT ON COLUMN llmopt.experiment_summary.status IS 'Experiment state (unit: none)';
COMMENT ON COLUMN llmopt.experiment_summary.primary_metric IS 'Deciding metric (unit: none)';
COMMENT ON COLUMN llmopt.experiment_summary.winner IS 'Winning variant once decided (unit: none)';
COMMENT ON COLUMN llmopt.experiment_summary.variant IS 'Variant (unit: none)';
COMMENT ON COLUMN llmopt.experiment_summary.arm IS 'Arm of the variant (unit: none)';
COMMENT ON COLUMN llmopt.experiment_summary.is_control IS 'Control variant (unit: boolean)';
COMMENT ON COLUMN llmopt.experiment_summary.allocation IS 'Configured traffic share (unit: fraction 0..1)';
COMMENT ON COLUMN llmopt.experiment_summary.requests IS 'Requests enrolled in the variant (unit: requests)';
COMMENT ON COLUMN llmopt.experiment_summary.failures IS 'Requests not ok (unit: requests)';
COMMENT ON COLUMN llmopt.experiment_summary.error_rate IS 'failures / requests (unit: fraction 0..1)';
COMMENT ON COLUMN llmopt.experiment_summary.reward_mean IS 'Mean reward, latest revision per request (unit: score 0..1)';
COMMENT ON COLUMN llmopt.experiment_summary.reward_stddev IS 'Sample standard deviation of the reward (unit: score)';
COMMENT ON COLUMN llmopt.experiment_summary.reward_stderr IS 'Standard error of reward_mean (unit: score)';
COMMENT ON COLUMN llmopt.experiment_summary.reward_lift_vs_control IS 'reward_mean minus the control variant''s, NULL without a control (unit: score)';
COMMENT ON COLUMN llmopt.experiment_summary.quality_mean IS 'Mean quality (unit: score 0..1)';
COMMENT ON COLUMN llmopt.experiment_summary.rating_mean IS 'Mean feedback rating, latest revision (unit: score 0..1)';
COMMENT ON COLUMN llmopt.experiment_summary.cost_usd IS 'Total cost (unit: USD)';
COMMENT ON COLUMN llmopt.experiment_summary.cost_per_request IS 'cost_usd / requests (unit: USD per request)';
COMMENT ON COLUMN llmopt.experiment_summary.latency_mean_ms IS 'Mean latency (unit: ms)';
COMMENT ON COLUMN llmopt.experiment_summary.latency_p95_ms IS '95th percentile latency, exact over outcomes (unit: ms)';
