-- Spend by tenant over the last 7 UTC days (today included), each request
-- once; requests without a tenant show as '(none)'.
SELECT coalesce(tenant, '(none)') AS tenant,
       sum(requests) AS requests,
       sum(cost_usd) AS cost_usd
FROM llmopt.cost_by_tenant_daily
WHERE day >= (now() AT TIME ZONE 'UTC')::date - 6
GROUP BY 1
ORDER BY cost_usd DESC, tenant;
