-- 0011_outcomes_ts_brin: one B-tree fewer on the sink's hot table.
--
-- llmopt.outcomes is the high-volume table (one row per LLM request), and
-- every B-tree on it costs the sink a descent and a page write per row.
-- outcomes_ts (a B-tree on ts alone) served no view or example query:
-- whole-day reads are narrowed by partition pruning (one partition per UTC
-- day), and "route X since T" reads use outcomes_route_arm_ts. Within a day
-- partition rows arrive in nearly ascending ts, which is what a BRIN index
-- summarises well: a time range inside one day still skips most pages, at a
-- tiny fraction of a B-tree's insert cost (measured with perf on COPY into
-- outcomes: each B-tree is ~7 % of the backend's time; bench/results/sink.md).

DROP INDEX llmopt.outcomes_ts;
CREATE INDEX outcomes_ts_brin ON llmopt.outcomes USING brin (ts);
