/*
 * route.h - everything the controller knows and decides about one route:
 * the bandit evidence (controller/core/bandit.h), one circuit breaker per
 * arm, the canary ramp of a graduating experiment winner, per-arm figures
 * from the metrics windows (Pareto, guardrails), operator overrides (pin,
 * disable), an experiment's fixed split, the random stream, and the last
 * published decision. Inputs are decoded records; the output is the weight
 * vector of the next RoutingDecision with its reason and causing signals.
 *
 * Decision (llmopt_route_decide), per arm:
 *   disabled by an operator            OFF, state disabled
 *   breaker OPEN                       OFF, state cooldown (until its end)
 *   violates a route constraint        OFF, state disabled (Pareto verdict)
 *   breaker HALF_OPEN                  FIXED probe share, state cooldown
 *   otherwise                          FLOAT: raw = the algorithm's preference
 *                                      over the Pareto-eligible arms (0 for
 *                                      dominated arms, which keep their floor
 *                                      and so keep being measured), floor =
 *                                      llmopt_bandit_floor (raised after drift)
 *   overlays on FLOAT arms: a running experiment fixes its variants' split
 *   (other arms keep their floors), a canary fixes the new arm's step share
 *   (state canary; once rolled back the arm keeps only its floor until a
 *   new ramp starts), a pin fixes the pinned arm at 1 (so it gets 1 - the
 *   other arms' floors). llmopt_alloc_weights() then gives weights summing
 *   to 1 with every FLOAT arm at or above its floor. When no arm can take
 *   traffic the fallback chain applies: its first arm not disabled by an
 *   operator gets everything.
 * A new version is due when some weight moved by more than the route's
 * epsilon, an arm changed state, or an event forced it (a signal that
 * changed state, an operator change, an experiment or canary transition).
 *
 * Malformed or out-of-range inputs (unknown arm, reward outside [0, 1] for
 * a Bernoulli route, negative counts, errors > count, non-finite figures)
 * return an error and change nothing: the daemon counts and skips them.
 *
 * Ownership: llmopt_route_new() keeps a pointer to the policy route, which
 * must outlive it. Strings handed out (reason, signal ids, the filled
 * record) live in the route until the next call that changes them. One
 * thread (the daemon's loop).
 */
#ifndef LLMOPT_CTL_ROUTE_H
#define LLMOPT_CTL_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/records.h"
#include "controller/core/breaker.h"
#include "controller/core/canary.h"
#include "controller/policy.h"
#include "processor/core/serial.h"

#define LLMOPT_ROUTE_REASON_MAX 1024
#define LLMOPT_ROUTE_MAX_SIGNALS 16

typedef struct llmopt_route llmopt_route;

typedef struct llmopt_route_decision {
    size_t k;
    double w[LLMOPT_BANDIT_MAX_ARMS];
    llmopt_arm_state state[LLMOPT_BANDIT_MAX_ARMS];
    int64_t cooldown_until_ms[LLMOPT_BANDIT_MAX_ARMS]; /* 0: none */
    size_t default_arm;
    char reason[LLMOPT_ROUTE_REASON_MAX];
} llmopt_route_decision;

/* The seed of a route's random stream: controller.seed mixed with an
 * FNV-1a hash of the route name (the daemon and the replay both use it, so
 * a replay draws what the live controller drew). */
uint64_t llmopt_route_seed(uint64_t base_seed, const char *route);

/* Fresh state: registry priors, breakers closed, canary idle, version 0. */
llmopt_route *llmopt_route_new(const llmopt_policy_route *pol, uint64_t seed, int64_t now_ms,
                               char *errstr, size_t errstr_size);
void llmopt_route_destroy(llmopt_route *r); /* NULL: no-op */

const char *llmopt_route_name(const llmopt_route *r);
const llmopt_policy_route *llmopt_route_policy(const llmopt_route *r);

/* ---- inputs ------------------------------------------------------------ */

/* An Outcome's reward into the bandit. UNKNOWN (arm), RANGE (reward). */
llmopt_err_t llmopt_route_outcome(llmopt_route *r, const llmopt_outcome *o, char *errstr,
                                  size_t errstr_size);
/* A closed window of one arm: figures for Pareto and guardrails, the
 * breaker's error-rate check (opening the breaker of a ramping canary's arm
 * rolls the canary back), the canary gate, and one discount round per
 * new window end. UNKNOWN (arm), INVALID (counts), RANGE (figures). */
llmopt_err_t llmopt_route_metrics(llmopt_route *r, const llmopt_window_metrics *m,
                                  int64_t now_ms, char *errstr, size_t errstr_size);
/* Drift: partial posterior reset and raised floor. Anomaly: breaker (only
 * when harmful and material). Either on a ramping canary's new arm rolls
 * the canary back when it breaches the canary's guardrail limits in the
 * harmful direction (latency/cost ratio, error increase, quality/reward
 * drop). The signal id is attached to the next decision. UNKNOWN (arm),
 * RANGE. */
llmopt_err_t llmopt_route_signal(llmopt_route *r, const llmopt_signal *s, int64_t now_ms,
                                 char *errstr, size_t errstr_size);
/* Time passes: OPEN breakers whose cooldown ended go HALF_OPEN. */
void llmopt_route_tick(llmopt_route *r, int64_t now_ms);

/* ---- overrides and overlays ------------------------------------------- */

/* Operator state (from llmopt.controller_arm_overrides): disabled[k] and
 * the pinned arm (-1: none). Forces a new version when anything changed. */
void llmopt_route_set_overrides(llmopt_route *r, const uint8_t *disabled, int pinned);
/* A running experiment's fixed split: alloc[k], < 0 for arms outside it
 * (they keep their floor). experiment_id NULL clears it. Forces a new
 * version when it changes. */
void llmopt_route_set_experiment(llmopt_route *r, const char *experiment_id,
                                 const double *alloc);
const char *llmopt_route_experiment(const llmopt_route *r); /* NULL: none */
/* Starts the canary ramp of `arm` (an experiment's winner). 0 if a ramp is
 * already running or arm is out of range. */
int llmopt_route_canary_start(llmopt_route *r, size_t arm, int64_t now_ms, const char *why);
llmopt_canary_state llmopt_route_canary_state(const llmopt_route *r, int *arm);

/* Adds a line to the next decision's reason and forces it. */
void llmopt_route_note(llmopt_route *r, const char *what);
/* Next alert raised by an input (breaker opened, canary rolled back), into
 * buf; false when none is pending. */
bool llmopt_route_take_alert(llmopt_route *r, char *buf, size_t size);

/* ---- figures for experiments ------------------------------------------ */

/* The latest window of `arm` (NULL if out of range or none yet): kept so
 * experiments read the same windows the route saw. */
typedef struct llmopt_route_window {
    int64_t window_end_ms;
    int64_t count, errors;
    double reward_n, reward_mean, reward_var;
    double quality_n, quality_mean, quality_var;
    double cost_per_request, p95_ms;
} llmopt_route_window;

/* ---- decisions --------------------------------------------------------- */

/* Computes the next weights into *d. Returns 1 when a new version is due,
 * 0 when not, a negative error when no arm at all can serve (every arm
 * operator-disabled): *d is then unusable. */
int llmopt_route_decide(llmopt_route *r, int64_t now_ms, llmopt_route_decision *d);
/* Records that version `version` with *d was persisted: it becomes the
 * published reference and pending reasons and signal ids are cleared. */
void llmopt_route_commit(llmopt_route *r, const llmopt_route_decision *d, int64_t version,
                         int64_t now_ms);
int64_t llmopt_route_version(const llmopt_route *r);
/* The version persisted in Postgres (authoritative on restore). */
void llmopt_route_set_version(llmopt_route *r, int64_t version);
/* The published decision (after a commit or a restore), NULL before. */
const llmopt_route_decision *llmopt_route_published(const llmopt_route *r);
int64_t llmopt_route_published_ms(const llmopt_route *r);
void llmopt_route_set_published_ms(llmopt_route *r, int64_t ts_ms);
/* Signal ids waiting for the next decision. */
size_t llmopt_route_signal_ids(const llmopt_route *r, const char *const **ids);
/* Fills rec to encode version `version` of decision d (strings point into
 * the route and the policy: valid until the next fill or change). */
void llmopt_route_fill(llmopt_route *r, const llmopt_route_decision *d, int64_t version,
                       int64_t ts_ms, bool heartbeat, llmopt_routing_decision *rec);

/* True when state changed since the last llmopt_route_clear_dirty(). */
bool llmopt_route_dirty(const llmopt_route *r);
void llmopt_route_clear_dirty(llmopt_route *r);
/* Per-arm summary for llmopt.controller_arm_state. */
void llmopt_route_arm_summary(const llmopt_route *r, size_t arm, double *n, double *mean,
                              uint64_t *pulls, const char **breaker);
const llmopt_route_window *llmopt_route_last_window(const llmopt_route *r, size_t arm);

/* Checkpoint, tag "CRTE" v2: arm ids, bandit, breakers, canary, rng,
 * figures, published decision, tuner (routes with one), then (v2) the
 * adapted rate limits, cache policy and batch size with their open periods
 * (llmopt_strategy_serialize, "CSTG"). v1 blobs still load: the strategy
 * state then starts from the policy. deserialize: INVALID/TRUNCATED/RANGE
 * for a bad blob. A blob written for another arm list (arms added, dropped
 * or reordered in the policy) is carried over by arm id: the arms that stay
 * keep their evidence (under the same reward model, discount and window),
 * breaker, figures and published weight (renormalised), new arms start from
 * their priors, the canary ramp continues if its arm stays, a tuner
 * restarts, and the next decision is forced with what was kept in its
 * reason. VERSION when no arm is in common or the layout does not fit (a
 * tuner added or removed): the route is then left as it was. The version
 * number is not in the blob (Postgres keeps it in its own column). */
void llmopt_route_serialize(const llmopt_route *r, llmopt_wbuf *w);
llmopt_err_t llmopt_route_deserialize(llmopt_route *r, const void *data, size_t len,
                                      char *errstr, size_t errstr_size);
/* After a successful deserialize: "" when everything was restored, else a
 * line for the log naming what started from the policy (a v1 blob, or a
 * strategy section the policy changed). */
const char *llmopt_route_restore_note(const llmopt_route *r);

#endif
