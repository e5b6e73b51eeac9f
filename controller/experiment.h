/*
 * experiment.h - A/B/n experiments run by the controller.
 *
 * An experiment (rows of llmopt.experiments, experiment_arms and
 * controller_experiments, created by `llmopt experiment create`) splits a
 * route's traffic between variants at fixed shares while it is 'running'.
 * Evaluation, after every tumbling metrics window of a variant's arm:
 *   - per (treatment, metric): an always-valid mSPRT of treatment - control
 *     (controller/core/seqtest.h) on the primary metric and each guardrail
 *     metric (reward, quality: higher is better; error_rate: lower is better);
 *   - Holm across all those (treatment, metric) p-values (stats.h);
 *   - SRM: chi-square of the variants' request counts against the shares;
 *     p < 0.001 freezes the experiment (status 'frozen', split kept, no
 *     conclusion drawn) and raises an alert;
 *   - a guardrail significantly worse on a treatment stops the experiment
 *     (status 'stopped') with an alert; a treatment significantly better on
 *     the primary metric with no guardrail breach concludes it (status
 *     'concluded', winner set) and starts the canary ramp of its arm on the
 *     route (route.h), which rolls back on its own guardrails or on a
 *     drift/anomaly signal on that arm;
 *   - past max_duration_ms: 'stopped' without a winner.
 * Status changes are written with `WHERE status = 'running'` so an operator's
 * stop always wins.
 *
 * Ownership: the set belongs to the daemon's leader state; it borrows the
 * store. One thread.
 */
#ifndef LLMOPT_CTL_EXPERIMENT_H
#define LLMOPT_CTL_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/records.h"
#include "controller/route.h"
#include "controller/store.h"

typedef struct llmopt_exp_set llmopt_exp_set;

typedef void (*llmopt_exp_alert_fn)(void *ctx, const char *kind, const char *text);

llmopt_exp_set *llmopt_exp_set_new(llmopt_ctl_store *store, char *errstr, size_t errstr_size);
void llmopt_exp_set_destroy(llmopt_exp_set *s); /* NULL: no-op */

/* Re-reads the running experiments (route NULL: all; else that route's)
 * from Postgres; experiments already loaded keep their in-memory state. */
llmopt_err_t llmopt_exp_set_reload(llmopt_exp_set *s, const char *route, char *errstr,
                                   size_t errstr_size);
/* A metrics window of route r (already accepted by the route). */
void llmopt_exp_set_window(llmopt_exp_set *s, const llmopt_route *r,
                           const llmopt_window_metrics *m);
/* Evaluates experiments with new data, applies overlays (fixed split, end,
 * canary start) to their routes and marks those routes touched. */
void llmopt_exp_set_tick(llmopt_exp_set *s, llmopt_route **routes, size_t n_routes,
                         uint8_t *touched, int64_t now_ms, llmopt_exp_alert_fn alert,
                         void *alert_ctx);
/* Writes changed experiments inside the caller's open transaction. */
llmopt_err_t llmopt_exp_set_flush(llmopt_exp_set *s, char *errstr, size_t errstr_size);

#endif
