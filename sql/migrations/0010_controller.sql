-- 0010_controller: the state of llmopt-controller, so that a restart or a
-- standby taking over resumes exactly: no decision version is ever reused,
-- no experiment forgotten, posteriors continue where they were.
--
-- Writes happen in one transaction per controller flush: the bandit state of
-- every route that changed, the new decision versions and their log rows,
-- the consumed input offsets, guarded by the leader epoch (a fencing token:
-- a deposed leader's transaction updates no row and is rolled back). Only
-- after that commit is a decision published to llm.routing.

-- One row: who leads and since when. epoch grows by one at every takeover.
CREATE TABLE llmopt.controller_leader (
    id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
    epoch       bigint      NOT NULL CHECK (epoch >= 0),
    instance    text        NOT NULL,
    since       timestamptz NOT NULL DEFAULT now(),
    heartbeat   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE llmopt.controller_leader IS
  'The active controller instance and its fencing epoch (one row)';
COMMENT ON COLUMN llmopt.controller_leader.epoch IS 'Incremented at each takeover; a flush commits only while it still matches (unit: counter)';
COMMENT ON COLUMN llmopt.controller_leader.instance IS 'controller.instance.id of the leader (unit: none)';
COMMENT ON COLUMN llmopt.controller_leader.since IS 'When this leader took over (unit: timestamp)';
COMMENT ON COLUMN llmopt.controller_leader.heartbeat IS 'Last successful flush of the leader (unit: timestamp)';

-- Per route: the last decision version (persisted BEFORE it is published)
-- and the serialized route state (bandit posteriors, breakers, canary, rng).
CREATE TABLE llmopt.controller_routes (
    route        text        PRIMARY KEY,
    version      bigint      NOT NULL CHECK (version >= 0),
    state        bytea,
    weights      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE llmopt.controller_routes IS
  'Per route: the last persisted decision version and the controller state blob (posteriors, breakers, canary ramp, rng)';
COMMENT ON COLUMN llmopt.controller_routes.version IS 'Last decision version persisted; the next is version + 1 (unit: version number)';
COMMENT ON COLUMN llmopt.controller_routes.state IS 'Serialized route state, tag "CRTE" (controller/route.h) (unit: bytes)';
COMMENT ON COLUMN llmopt.controller_routes.weights IS 'Published weights of that version, arm -> weight (unit: probability)';

-- Per-arm posterior summaries, readable with SQL (the blob above is the
-- authority; this is its human view, rewritten with it).
CREATE TABLE llmopt.controller_arm_state (
    route        text             NOT NULL,
    arm          text             NOT NULL,
    n            double precision NOT NULL,
    mean         double precision NOT NULL,
    pulls        bigint           NOT NULL,
    breaker      text             NOT NULL,
    weight       double precision NOT NULL,
    updated_at   timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (route, arm)
);
COMMENT ON TABLE llmopt.controller_arm_state IS 'Per (route, arm) posterior summary and breaker state, for people (the route blob is authoritative)';
COMMENT ON COLUMN llmopt.controller_arm_state.n IS 'Discounted observation weight (unit: observations)';
COMMENT ON COLUMN llmopt.controller_arm_state.mean IS 'Posterior mean reward (unit: score 0..1)';
COMMENT ON COLUMN llmopt.controller_arm_state.pulls IS 'Raw observations ever (unit: observations)';
COMMENT ON COLUMN llmopt.controller_arm_state.breaker IS 'closed, open or half_open (unit: none)';
COMMENT ON COLUMN llmopt.controller_arm_state.weight IS 'Weight in the last published decision (unit: probability)';

-- The decision log: every version, with its reason and triggering signals.
CREATE TABLE llmopt.controller_decisions (
    route        text        NOT NULL,
    version      bigint      NOT NULL CHECK (version >= 1),
    ts           timestamptz NOT NULL,
    epoch        bigint      NOT NULL,
    reason       text        NOT NULL,
    signal_ids   text[]      NOT NULL DEFAULT '{}',
    experiment_id text,
    payload      jsonb       NOT NULL,
    PRIMARY KEY (route, version)
);
CREATE INDEX controller_decisions_ts ON llmopt.controller_decisions (ts);
COMMENT ON TABLE llmopt.controller_decisions IS
  'Decision log of the controller: each version as persisted before publication (never rewritten)';
COMMENT ON COLUMN llmopt.controller_decisions.epoch IS 'Leader epoch that made it (unit: counter)';
COMMENT ON COLUMN llmopt.controller_decisions.reason IS 'Why this version was made, human readable (unit: none)';
COMMENT ON COLUMN llmopt.controller_decisions.signal_ids IS 'Signal ids that caused it (unit: none)';
COMMENT ON COLUMN llmopt.controller_decisions.payload IS 'The RoutingDecision as JSON (schemas/routing_decision.avsc field names)';

-- Consumed offsets of the controller's input topics, written with the state
-- they produced (so a restart replays exactly what the state has not seen).
CREATE TABLE llmopt.controller_offsets (
    topic        text    NOT NULL,
    partition    integer NOT NULL CHECK (partition >= 0),
    next_offset  bigint  NOT NULL CHECK (next_offset >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);
COMMENT ON TABLE llmopt.controller_offsets IS 'Next offset the controller consumes per input partition, committed with its state';

-- Operator overrides (llmopt arm pin|unpin|disable|enable). The controller
-- LISTENs on channel llmopt_controller; the admin commands NOTIFY it with the
-- route as payload.
CREATE TABLE llmopt.controller_arm_overrides (
    route        text        NOT NULL,
    arm          text        NOT NULL,
    pinned       boolean     NOT NULL DEFAULT false,
    disabled     boolean     NOT NULL DEFAULT false,
    note         text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (route, arm)
);
COMMENT ON TABLE llmopt.controller_arm_overrides IS 'Operator pins and disables per (route, arm); at most one pinned arm per route';
CREATE UNIQUE INDEX controller_arm_overrides_one_pin ON llmopt.controller_arm_overrides (route) WHERE pinned;

-- Experiment settings and evaluation state beyond llmopt.experiments.
CREATE TABLE llmopt.controller_experiments (
    experiment_id   text             PRIMARY KEY REFERENCES llmopt.experiments ON DELETE CASCADE,
    max_duration_ms bigint           NOT NULL CHECK (max_duration_ms > 0),
    alpha           double precision NOT NULL CHECK (alpha > 0 AND alpha < 1),
    tau2            double precision NOT NULL CHECK (tau2 > 0),
    min_samples     bigint           NOT NULL CHECK (min_samples >= 2),
    state           bytea,
    evaluation      jsonb            NOT NULL DEFAULT '{}'::jsonb,
    updated_at      timestamptz      NOT NULL DEFAULT now()
);
COMMENT ON TABLE llmopt.controller_experiments IS 'Controller-side settings of an experiment (duration, alpha, mixing variance) and its sequential-test state';
COMMENT ON COLUMN llmopt.controller_experiments.max_duration_ms IS 'Stop without a winner after this long (unit: ms)';
COMMENT ON COLUMN llmopt.controller_experiments.alpha IS 'Family-wise error rate, Holm across arms and metrics (unit: probability)';
COMMENT ON COLUMN llmopt.controller_experiments.tau2 IS 'mSPRT mixing variance (unit: squared metric units)';
COMMENT ON COLUMN llmopt.controller_experiments.min_samples IS 'Observations per variant before the first counted look (unit: observations)';
COMMENT ON COLUMN llmopt.controller_experiments.state IS 'Serialized per-variant moments and mSPRT state, tag "CEXP" (unit: bytes)';
COMMENT ON COLUMN llmopt.controller_experiments.evaluation IS 'Last evaluation: p-values, Holm-adjusted, SRM, verdict (JSON)';

-- Column comments for the keys and bookkeeping columns above (every column
-- states its unit; tests/integration/test_migrate.c checks it).
COMMENT ON COLUMN llmopt.controller_leader.id IS 'Always 1: the table holds one row (unit: none)';
COMMENT ON COLUMN llmopt.controller_routes.route IS 'Route name (unit: none)';
COMMENT ON COLUMN llmopt.controller_routes.updated_at IS 'Last change of this row (unit: timestamp)';
COMMENT ON COLUMN llmopt.controller_arm_state.route IS 'Route name (unit: none)';
COMMENT ON COLUMN llmopt.controller_arm_state.arm IS 'Arm id within the route (unit: none)';
COMMENT ON COLUMN llmopt.controller_arm_state.updated_at IS 'Last change of this row (unit: timestamp)';
COMMENT ON COLUMN llmopt.controller_decisions.route IS 'Route name (unit: none)';
COMMENT ON COLUMN llmopt.controller_decisions.version IS 'Decision version, strictly increasing per route (unit: counter)';
COMMENT ON COLUMN llmopt.controller_decisions.ts IS 'When the decision was made (unit: timestamp)';
COMMENT ON COLUMN llmopt.controller_decisions.experiment_id IS 'Experiment that shaped the split, if any (unit: none)';
COMMENT ON COLUMN llmopt.controller_decisions.payload IS 'The RoutingDecision as published, in JSON (unit: none)';
COMMENT ON COLUMN llmopt.controller_offsets.topic IS 'Input topic name (unit: none)';
COMMENT ON COLUMN llmopt.controller_offsets.partition IS 'Input partition number (unit: none)';
COMMENT ON COLUMN llmopt.controller_offsets.next_offset IS 'Next offset to consume (unit: Kafka offset)';
COMMENT ON COLUMN llmopt.controller_offsets.updated_at IS 'Last change of this row (unit: timestamp)';
COMMENT ON COLUMN llmopt.controller_arm_overrides.route IS 'Route name (unit: none)';
COMMENT ON COLUMN llmopt.controller_arm_overrides.arm IS 'Arm id within the route (unit: none)';
COMMENT ON COLUMN llmopt.controller_arm_overrides.pinned IS 'Operator pinned all traffic but the floors to this arm (unit: boolean)';
COMMENT ON COLUMN llmopt.controller_arm_overrides.disabled IS 'Operator disabled this arm: weight 0 (unit: boolean)';
COMMENT ON COLUMN llmopt.controller_arm_overrides.note IS 'Free text from the operator (unit: none)';
COMMENT ON COLUMN llmopt.controller_arm_overrides.updated_at IS 'Last change of this row (unit: timestamp)';
COMMENT ON COLUMN llmopt.controller_experiments.experiment_id IS 'Experiment id (unit: none)';
COMMENT ON COLUMN llmopt.controller_experiments.evaluation IS 'Latest statistical evaluation, JSON (unit: none)';
COMMENT ON COLUMN llmopt.controller_experiments.updated_at IS 'Last change of this row (unit: timestamp)';
