-- Which model is cheapest at equal quality this week (last 7 days) on route
-- 'chat': models with at least 30 answered requests whose mean quality is
-- within 0.02 of the best model's, cheapest first.
WITH per_model AS (
    SELECT model,
           count(*) AS requests,
           avg(quality) AS quality,
           avg(cost_usd) AS cost_per_request
    FROM llmopt.outcomes
    WHERE route = 'chat'
      AND NOT is_update
      AND status = 'ok'
      AND quality IS NOT NULL
      AND ts >= now() - interval '7 days'
    GROUP BY model
    HAVING count(*) >= 30
)
SELECT model, requests, quality, cost_per_request
FROM per_model
WHERE quality >= (SELECT max(quality) FROM per_model) - 0.02
ORDER BY cost_per_request, model;
