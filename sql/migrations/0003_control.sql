-- 0003_control: low-volume control-plane tables: routing decisions (the
-- controller persists each version here before publishing it to llm.routing),
-- experiments and their arms, and the sink's consumed offsets (written in the
-- same transaction as the rows they cover, for exactly-once effect).

CREATE TABLE llmopt.routing_decisions (
    route         text        NOT NULL,
    version       bigint      NOT NULL CHECK (version >= 1),
    ts            timestamptz NOT NULL,
    algorithm     text        NOT NULL,
    default_arm   text        NOT NULL,
    reason        text        NOT NULL,
    signal_ids    text[]      NOT NULL DEFAULT '{}',
    experiment_id text,
    heartbeat     boolean     NOT NULL DEFAULT false,
    payload       jsonb       NOT NULL,
    ingested_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (route, version)
);
CREATE INDEX routing_decisions_ts ON llmopt.routing_decisions (ts);
CREATE INDEX routing_decisions_signal_ids ON llmopt.routing_decisions USING gin (signal_ids);

COMMENT ON TABLE llmopt.routing_decisions IS
  'Every RoutingDecision version per route (topic llm.routing); versions strictly increase per route and are never rewritten';
COMMENT ON COLUMN llmopt.routing_decisions.route IS 'Route; the Kafka key (unit: none)';
COMMENT ON COLUMN llmopt.routing_decisions.version IS 'Decision version, strictly increasing per route, from 1 (unit: version number)';
COMMENT ON COLUMN llmopt.routing_decisions.ts IS 'When the controller made the decision (unit: timestamp; Avro ts_ms)';
COMMENT ON COLUMN llmopt.routing_decisions.algorithm IS 'Policy that produced the weights: thompson, ucb1, linucb, epsilon_greedy, static, ... (unit: none)';
COMMENT ON COLUMN llmopt.routing_decisions.default_arm IS 'Arm used when no other applies (unit: none)';
COMMENT ON COLUMN llmopt.routing_decisions.reason IS 'Why this version was made, human readable (unit: none)';
COMMENT ON COLUMN llmopt.routing_decisions.signal_ids IS 'signals.signal_id values that triggered this version (unit: none)';
COMMENT ON COLUMN llmopt.routing_decisions.experiment_id IS 'Experiment this decision runs, NULL when none (unit: none)';
COMMENT ON COLUMN llmopt.routing_decisions.heartbeat IS 'True for a periodic re-publication with unchanged content (unit: boolean)';
COMMENT ON COLUMN llmopt.routing_decisions.payload IS 'The whole decision as JSON with the Avro field names: arms (weights, state, params), contextual, rate_limits, cache_policy, batching (units as in schemas/routing_decision.avsc)';
COMMENT ON COLUMN llmopt.routing_decisions.ingested_at IS 'When the row was written (unit: timestamp, database clock)';

CREATE TABLE llmopt.experiments (
    experiment_id  text        PRIMARY KEY,
    name           text        NOT NULL,
    route          text        NOT NULL,
    status         text        NOT NULL DEFAULT 'draft',
    primary_metric text        NOT NULL,
    guardrails     jsonb       NOT NULL DEFAULT '[]'::jsonb,
    allocation     text        NOT NULL DEFAULT 'fixed',
    started_at     timestamptz,
    stopped_at     timestamptz,
    winner         text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (stopped_at IS NULL OR started_at IS NULL OR stopped_at >= started_at)
);
CREATE INDEX experiments_route_status ON llmopt.experiments (route, status);

COMMENT ON TABLE llmopt.experiments IS 'A/B or bandit experiments on a route, managed by the controller';
COMMENT ON COLUMN llmopt.experiments.experiment_id IS 'Experiment id, as in Request.experiment_id (unit: none)';
COMMENT ON COLUMN llmopt.experiments.name IS 'Human-readable name (unit: none)';
COMMENT ON COLUMN llmopt.experiments.route IS 'Route the experiment runs on (unit: none)';
COMMENT ON COLUMN llmopt.experiments.status IS 'Lifecycle state as set by the controller, e.g. draft, running, stopped, concluded (unit: none)';
COMMENT ON COLUMN llmopt.experiments.primary_metric IS 'Metric that decides the winner, e.g. reward, quality, cost_usd (unit: none)';
COMMENT ON COLUMN llmopt.experiments.guardrails IS 'JSON array of guardrails, each {metric, max_relative_change | max_value, ...}; breaching one stops the experiment (units per metric)';
COMMENT ON COLUMN llmopt.experiments.allocation IS 'How traffic is split between arms: fixed (experiment_arms.allocation) or an adaptive policy name (unit: none)';
COMMENT ON COLUMN llmopt.experiments.started_at IS 'When traffic started, NULL before (unit: timestamp)';
COMMENT ON COLUMN llmopt.experiments.stopped_at IS 'When traffic stopped, NULL while running (unit: timestamp)';
COMMENT ON COLUMN llmopt.experiments.winner IS 'Winning variant once decided, NULL before (unit: none)';
COMMENT ON COLUMN llmopt.experiments.created_at IS 'When the row was created (unit: timestamp)';
COMMENT ON COLUMN llmopt.experiments.updated_at IS 'When the row last changed (unit: timestamp)';

CREATE TABLE llmopt.experiment_arms (
    experiment_id text             NOT NULL REFERENCES llmopt.experiments ON DELETE CASCADE,
    variant       text             NOT NULL,
    arm           text             NOT NULL,
    allocation    double precision NOT NULL CHECK (allocation >= 0 AND allocation <= 1),
    is_control    boolean          NOT NULL DEFAULT false,
    PRIMARY KEY (experiment_id, variant)
);

COMMENT ON TABLE llmopt.experiment_arms IS 'The variants of each experiment and the arm each one routes to';
COMMENT ON COLUMN llmopt.experiment_arms.experiment_id IS 'Experiment (unit: none)';
COMMENT ON COLUMN llmopt.experiment_arms.variant IS 'Variant name, as in Request.variant (unit: none)';
COMMENT ON COLUMN llmopt.experiment_arms.arm IS 'Arm the variant routes to (unit: none)';
COMMENT ON COLUMN llmopt.experiment_arms.allocation IS 'Share of the experiment traffic for a fixed split (unit: fraction 0..1)';
COMMENT ON COLUMN llmopt.experiment_arms.is_control IS 'True for the control variant (unit: boolean)';

CREATE TABLE llmopt.sink_offsets (
    sink        text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL CHECK (partition >= 0),
    next_offset bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sink, topic, partition)
);

COMMENT ON TABLE llmopt.sink_offsets IS
  'Next Kafka offset each sink will consume per topic partition, committed in the same transaction as the rows it covers';
COMMENT ON COLUMN llmopt.sink_offsets.sink IS 'Sink name (one per consumer group) (unit: none)';
COMMENT ON COLUMN llmopt.sink_offsets.topic IS 'Kafka topic (unit: none)';
COMMENT ON COLUMN llmopt.sink_offsets.partition IS 'Kafka partition (unit: partition number)';
COMMENT ON COLUMN llmopt.sink_offsets.next_offset IS 'Offset of the next message to consume, i.e. last stored + 1 (unit: Kafka offset)';
COMMENT ON COLUMN llmopt.sink_offsets.updated_at IS 'When the offset was last written (unit: timestamp)';
