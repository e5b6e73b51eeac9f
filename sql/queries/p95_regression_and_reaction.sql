-- When did p95 latency regress (an hour's p95 above 1.5x the previous hour's,
-- per arm of route 'chat', 1-minute tumbling windows), and what did the
-- controller do: the latency signals raised in that hour and the routing
-- decision that followed each (arm weight before and after).
WITH hourly AS (
    SELECT route, arm, hour, latency_p95_ms,
           lag(latency_p95_ms) OVER (PARTITION BY route, arm ORDER BY hour) AS prev_p95_ms
    FROM llmopt.arm_hourly
    WHERE route = 'chat' AND window_size_ms = 60000
)
SELECT h.arm, h.hour, h.prev_p95_ms, h.latency_p95_ms,
       st.detector, st.ts AS signal_ts, st.decision_version, st.decision_reason,
       st.arm_weight_before, st.arm_weight_after
FROM hourly h
LEFT JOIN llmopt.signal_timeline st
       ON st.route = h.route AND st.arm = h.arm AND st.metric LIKE '%latency%'
      AND st.ts >= h.hour AND st.ts < h.hour + interval '1 hour'
WHERE h.latency_p95_ms > 1.5 * h.prev_p95_ms
ORDER BY h.hour, h.arm, st.ts;
