-- 0001_schema: the llmopt schema and the tdigest extension.
--
-- Migrations run inside one transaction each (with their bookkeeping row), so
-- they must not contain BEGIN/COMMIT, VACUUM or CREATE INDEX CONCURRENTLY.

-- Mergeable latency digests (window_metrics.latency_digest / ttft_digest).
-- Pinned to schema public: the default would be the first schema of the
-- search_path, which for a role named llmopt is "$user" = llmopt once that
-- exists, and the type and tdigest_percentile() must resolve the same way in
-- every database. If tdigest is already installed elsewhere it is left there.
CREATE EXTENSION IF NOT EXISTS tdigest WITH SCHEMA public;

CREATE SCHEMA IF NOT EXISTS llmopt;
COMMENT ON SCHEMA llmopt IS
  'llmopt results: outcomes, window metrics, signals, routing decisions, experiments, sink offsets';
