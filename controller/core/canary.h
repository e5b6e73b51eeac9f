/*
 * canary.h - the ramp that graduates an experiment's winner (the "new arm")
 * to all of a route's traffic, step by step, with a way back.
 *
 *   IDLE --start--> RAMPING(step 0) --gate passed--> RAMPING(step 1) ... --last step passed--> PROMOTED
 *                      |  guardrail breach, drift or anomaly on the new arm
 *                      +------------------------------------------------------> ROLLED_BACK
 *
 * Steps: the new arm's traffic share per step, increasing, the last one 1
 * (default 0.10, 0.25, 0.50, 1.00). A step's gate opens when it has lasted
 * min_step_ms AND seen min_step_samples requests on the new arm, with no
 * guardrail breached. Guardrails compare the new arm with the baseline (the
 * traffic the route served before) over the current step, once the step
 * has min_guard_samples new-arm requests (earlier verdicts would be noise):
 *   error rate     canary - baseline      <= max_error_rate_increase
 *   p95 latency    canary / baseline      <= max_latency_ratio
 *   quality        baseline - canary      <= max_quality_drop
 *   cost           canary / baseline      <= max_cost_ratio
 * A limit of +INFINITY disables that guardrail; a metric that is NaN on
 * either side is not judged. Per-step quality, cost and p95 are the
 * request-weighted means of the observed windows (p95 of a step is thus
 * approximated by the mean of window p95s; pass one merged observation per
 * step when exact quantiles matter).
 *
 * Every state or step change goes through llmopt_canary_set_state(), which
 * records (from, to, step before/after, ts_ms, reason) in `last` and copies
 * it to *tr when given. Time is passed in.
 *
 * Ownership: plain struct embedded by the caller, no allocation, one thread.
 */
#ifndef LLMOPT_CANARY_H
#define LLMOPT_CANARY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/serial.h"

#define LLMOPT_CANARY_MAX_STEPS 8
#define LLMOPT_CANARY_REASON_MAX 160

typedef enum llmopt_canary_state {
    LLMOPT_CANARY_IDLE = 0,
    LLMOPT_CANARY_RAMPING,
    LLMOPT_CANARY_PROMOTED,
    LLMOPT_CANARY_ROLLED_BACK,
    LLMOPT_CANARY_N_STATES
} llmopt_canary_state;

extern const char *const llmopt_canary_state_names[LLMOPT_CANARY_N_STATES];

typedef struct llmopt_canary_config {
    uint32_t n_steps;                        /* 1..MAX_STEPS */
    double steps[LLMOPT_CANARY_MAX_STEPS];   /* strictly increasing in (0, 1], last == 1 */
    int64_t min_step_ms;                     /* >= 0; default 600000 */
    uint64_t min_step_samples;               /* default 500 */
    uint64_t min_guard_samples;              /* >= 1; default 100 */
    double max_error_rate_increase;          /* >= 0; default 0.02 */
    double max_latency_ratio;                /* > 0; default 1.25 */
    double max_quality_drop;                 /* >= 0; default 0.02 */
    double max_cost_ratio;                   /* > 0; default 1.5 */
} llmopt_canary_config;

/* One window (or step) of one side: requests, errors among them, mean
 * quality, p95 latency and mean cost (NaN: unknown). */
typedef struct llmopt_canary_obs {
    uint64_t n;
    uint64_t errors;
    double quality;
    double p95_ms;
    double cost_usd;
} llmopt_canary_obs;

/* Running per-step aggregate of one side. */
typedef struct llmopt_canary_side {
    uint64_t n, errors;
    double q_sum, q_n;       /* request-weighted sums over windows with a known value */
    double p95_sum, p95_n;
    double cost_sum, cost_n;
} llmopt_canary_side;

typedef struct llmopt_canary_transition {
    llmopt_canary_state from, to;
    uint32_t step_from, step_to;
    int64_t ts_ms;
    char reason[LLMOPT_CANARY_REASON_MAX];
} llmopt_canary_transition;

typedef struct llmopt_canary {
    llmopt_canary_config cfg;
    llmopt_canary_state state;
    uint32_t step;              /* index into cfg.steps while RAMPING */
    int64_t step_start_ms;
    int64_t ramp_start_ms;      /* when the current ramp left IDLE (step 0 began) */
    llmopt_canary_side arm, base;
    uint64_t transitions;
    llmopt_canary_transition last;
} llmopt_canary;

/* Defaults above with steps 0.10, 0.25, 0.50, 1.00. */
void llmopt_canary_config_default(llmopt_canary_config *c);
/* RANGE naming the field; starts IDLE. *c untouched on failure. */
llmopt_err_t llmopt_canary_init(llmopt_canary *c, const llmopt_canary_config *cfg, int64_t ts_ms,
                                char *errstr, size_t errstr_size);

/* The one transition function: moves to (to, step) at ts_ms, clears the
 * step aggregates when the step or state changes, records the transition.
 * Returns 1 and fills *tr (may be NULL) on a change, 0 when (to, step) is
 * the current one or invalid (step >= n_steps for RAMPING). */
int llmopt_canary_set_state(llmopt_canary *c, llmopt_canary_state to, uint32_t step,
                            int64_t ts_ms, const char *reason, llmopt_canary_transition *tr);
/* IDLE -> RAMPING step 0; 0 in any other state. */
int llmopt_canary_start(llmopt_canary *c, int64_t ts_ms, llmopt_canary_transition *tr);
/* A window of the new arm and of the baseline while RAMPING (ignored
 * otherwise): accumulates, then rolls back on a breach or advances when the
 * gate opens. INVALID when errors > n on either side (nothing changes). */
llmopt_err_t llmopt_canary_observe(llmopt_canary *c, int64_t ts_ms,
                                   const llmopt_canary_obs *arm, const llmopt_canary_obs *base,
                                   int *changed, llmopt_canary_transition *tr);
/* A drift or anomaly signal on the new arm: rolls back while RAMPING. */
int llmopt_canary_signal(llmopt_canary *c, int64_t ts_ms, const char *what,
                         llmopt_canary_transition *tr);
/* The new arm's traffic share now: the current step while RAMPING, 1 once
 * PROMOTED, 0 when IDLE or ROLLED_BACK. */
double llmopt_canary_share(const llmopt_canary *c);

/* Checkpoint, tag "CNRY" v1; deserialize validates config and state
 * (INVALID/TRUNCATED/RANGE), *c untouched on failure. */
void llmopt_canary_serialize(const llmopt_canary *c, llmopt_wbuf *w);
llmopt_err_t llmopt_canary_deserialize(llmopt_canary *c, llmopt_rbuf *r, char *errstr,
                                       size_t errstr_size);

#endif
