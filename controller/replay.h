/*
 * replay.h - the controller's decision loop without Kafka, Postgres or a
 * clock: decoded inputs in, the decisions the controller would publish out.
 * `llmopt backtest --settings` (counterfactual controller replay) runs it
 * over logged or re-derived metrics, signals and outcomes with other
 * bandit, guardrail or cadence settings.
 *
 * It drives the very code the daemon drives (route.h over controller/core)
 * the way daemon.c does: one llmopt_route per policy route seeded with
 * llmopt_route_seed(), the inputs handed to llmopt_route_outcome/_metrics/
 * _signal, and at every step llmopt_route_tick() when controller.tick has
 * passed (touching routes with unpersisted state), then
 * llmopt_route_decide() for every touched route, a commit with version + 1
 * when a decision is due, and the dirty marks cleared when the daemon's
 * flush would have persisted (a decision, or controller.checkpoint.interval). The first step makes
 * each route's initial decision, as a fresh leader does.
 *
 * Time is injected: every call takes now_ms (in the daemon it is the wall
 * clock; in a replay the caller picks the broker timestamp of the logged
 * input, or event time). Not replayed: operator overrides, experiments and
 * heartbeats (a heartbeat re-publishes a version, it never makes one).
 *
 * Ownership: the policy must outlive the replay. Decisions handed to the
 * callback are valid during the call only. One thread.
 */
#ifndef LLMOPT_CTL_REPLAY_H
#define LLMOPT_CTL_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/records.h"
#include "controller/policy.h"
#include "controller/route.h"

typedef struct llmopt_ctl_replay llmopt_ctl_replay;

typedef struct llmopt_ctl_replay_decision {
    size_t route;                    /* index in the policy */
    const char *route_name;
    int64_t version;                 /* 1, 2, ... per route */
    int64_t ts_ms;                   /* the replay clock at the step */
    const llmopt_route_decision *d;  /* weights, arm states, reason */
    const char *const *signal_ids;   /* signals that led to it */
    size_t n_signal_ids;
} llmopt_ctl_replay_decision;

typedef void (llmopt_ctl_replay_cb)(void *ctx, const llmopt_ctl_replay_decision *dec);

typedef struct llmopt_ctl_replay_stats {
    uint64_t inputs, rejected, unknown_route, steps, decisions;
} llmopt_ctl_replay_stats;

/* seed is controller.seed, tick_ms controller.tick, checkpoint_ms
 * controller.checkpoint.interval (a route with undecided state is touched by
 * every tick until a flush persists it); start_ms is the clock at which the
 * routes are created (the leader's start). NULL on failure
 * (bad policy route, out of memory) with the reason in errstr. */
llmopt_ctl_replay *llmopt_ctl_replay_new(const llmopt_policy *p, uint64_t seed, int64_t tick_ms,
                                         int64_t checkpoint_ms, int64_t start_ms, llmopt_ctl_replay_cb *cb, void *ctx,
                                         char *errstr, size_t errstr_size);
void llmopt_ctl_replay_destroy(llmopt_ctl_replay *rp); /* NULL: no-op */

/* One input at replay time now_ms. UNKNOWN for a route not in the policy;
 * the route's own error (unknown arm, out-of-range value) otherwise: both
 * are counted in the stats and change nothing, as in the daemon. */
llmopt_err_t llmopt_ctl_replay_outcome(llmopt_ctl_replay *rp, const llmopt_outcome *o,
                                       int64_t now_ms, char *errstr, size_t errstr_size);
llmopt_err_t llmopt_ctl_replay_metrics(llmopt_ctl_replay *rp, const llmopt_window_metrics *m,
                                       int64_t now_ms, char *errstr, size_t errstr_size);
llmopt_err_t llmopt_ctl_replay_signal(llmopt_ctl_replay *rp, const llmopt_signal *s,
                                      int64_t now_ms, char *errstr, size_t errstr_size);

/* One pass of the daemon's loop after its inputs: tick (when tick_ms has
 * passed since the last one), decide the touched routes, commit and report
 * the due decisions. */
void llmopt_ctl_replay_step(llmopt_ctl_replay *rp, int64_t now_ms);

/* The route state (read-only use), NULL when out of range. */
const llmopt_route *llmopt_ctl_replay_route(const llmopt_ctl_replay *rp, size_t route);
void llmopt_ctl_replay_get_stats(const llmopt_ctl_replay *rp, llmopt_ctl_replay_stats *st);

#endif
