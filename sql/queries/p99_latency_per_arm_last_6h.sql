-- p99 latency per arm of route 'chat' over the last 6 hours, from the stored
-- t-digests of the tumbling windows (merged by the aggregate, never an average
-- of per-window percentiles).
SELECT arm,
       tdigest_percentile(latency_digest, 0.99) AS p99_ms,
       sum(count) AS requests
FROM llmopt.window_metrics
WHERE route = 'chat'
  AND window_kind = 'tumbling'
  AND window_start >= now() - interval '6 hours'
GROUP BY arm
ORDER BY arm;
