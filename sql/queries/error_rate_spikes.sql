-- Windows of the last 24 hours where one arm of a route failed at more than
-- twice the rate of the route as a whole (and at least 20% of its requests).
SELECT route, arm, window_start, requests, error_rate, route_error_rate
FROM llmopt.error_rate_timeline
WHERE window_start >= now() - interval '24 hours'
  AND error_rate >= 0.2
  AND error_rate > 2 * route_error_rate
ORDER BY window_start, route, arm;
