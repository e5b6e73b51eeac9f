/*
 * backtest_eval.h - the backtest's log of outcomes and its evaluation.
 *
 * llmopt_bt_log is a compact, columnar copy of the outcomes of a time
 * range (route and arm interned, 48 bytes per outcome plus the requested
 * context features), filled one decoded Outcome at a time. Outcomes
 * without a valid propensity ((0, 1]) are counted and left out. Revisions
 * (is_update, after late feedback) replace the reward of the outcome they
 * revise when that outcome is in the log (the last revision wins), and
 * otherwise stand for it.
 *
 * llmopt_bt_evaluate() runs, route by route in event-time order, every
 * candidate of a policy set through controller/core/ope.h and returns the
 * report as a JSON object (the schema is in docs/BACKTEST.md); the HTML
 * report is rendered from that same object.
 *
 * Ownership: the log owns its arrays and names (_init/_release). The
 * returned JSON is the caller's (json_decref).
 */
#ifndef LLMOPT_BACKTEST_EVAL_H
#define LLMOPT_BACKTEST_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "common/records.h"
#include "tools/backtest_policy.h"

typedef struct llmopt_bt_event {
    int64_t ts_ms;
    int64_t version;     /* decision_version: the support check's stratum */
    double propensity;
    double reward;
    uint32_t route;      /* index into routes */
    uint32_t arm;        /* index into arms */
    uint64_t id_hash;    /* of outcome_id, for revisions */
} llmopt_bt_event;

typedef struct llmopt_bt_names {
    char **names;
    size_t count, cap;
    uint32_t *slots;     /* open addressing, index + 1; 0 empty */
    size_t n_slots;
} llmopt_bt_names;

typedef struct llmopt_bt_log {
    llmopt_bt_event *ev;
    uint8_t *is_update;
    double *x;           /* n_features per event, row-major (missing: 0) */
    size_t n, cap;
    char **features;     /* borrowed names of the context features to keep */
    size_t n_features;
    llmopt_bt_names routes, arms;
    uint64_t no_propensity;  /* left out: propensity outside (0, 1] */
    uint64_t bad_reward;     /* left out: reward not finite */
    uint64_t revisions_applied;
    int64_t min_ts_ms, max_ts_ms;
} llmopt_bt_log;

void llmopt_bt_log_init(llmopt_bt_log *l, char **features, size_t n_features);
void llmopt_bt_log_release(llmopt_bt_log *l);
/* Appends one outcome (or counts it as left out). NOMEM only. */
llmopt_err_t llmopt_bt_log_add(llmopt_bt_log *l, const llmopt_outcome *o);
/* Appends from plain values (benchmarks, tests); x has n_features values
 * or is NULL. NOMEM, INVALID for a NULL name. */
llmopt_err_t llmopt_bt_log_add_raw(llmopt_bt_log *l, const char *route, const char *arm,
                                   int64_t ts_ms, int64_t version, double propensity,
                                   double reward, uint64_t id_hash, int is_update,
                                   const double *x);
/* Applies revisions; call once after the last add. NOMEM only. */
llmopt_err_t llmopt_bt_log_finish(llmopt_bt_log *l);

typedef struct llmopt_bt_options {
    uint32_t replicates;
    uint64_t seed;
    double clip;
    double level;
    int ridge;           /* 0 mean model, 1 ridge on the log's features + intercept */
    double ridge_lambda;
    uint32_t bins;
} llmopt_bt_options;

/* The report, or NULL with errstr: INVALID when a candidate names an arm
 * that appears nowhere in the log, or has no weights for a route; RANGE
 * when a route has more arms than the estimators take; NOMEM. An empty
 * log gives a report with "status": "no_data". */
json_t *llmopt_bt_evaluate(const llmopt_bt_log *l, const llmopt_bt_policy_set *ps,
                           const llmopt_bt_options *opt, char *errstr, size_t errstr_size);

#endif
