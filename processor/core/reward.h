/*
 * reward.h - the reward of one outcome, from its quality, cost and latency.
 * Pure: no I/O.
 *
 * Each component is normalised to [0, 1], 1 being best:
 *   quality  q                      (already 0..1; feedback may replace it)
 *   cost     (worst - c) / (worst - best), clipped to [0, 1]
 *   latency  (worst - l) / (worst - best), clipped to [0, 1]
 * with per-route bounds: cost_best_usd/cost_worst_usd and
 * latency_best_ms/latency_worst_ms. The reward is the weighted sum with
 * weights scaled to sum to 1 (defaults quality 0.6, cost 0.3, latency 0.1).
 *
 * A request that did not succeed (error, timeout, rate_limited, filtered,
 * missing) earns reward 0 and every component 0: failure must never look
 * cheap. A successful response without a quality score takes
 * quality_default (default 0.5, i.e. "unknown"); say so in dashboards.
 *
 * Feedback: when an application later reports rating (0..1), thumbs
 * (-1/0/1 -> 0, 0.5, 1) or task_completed (0/1), that feedback score
 * replaces quality with weight feedback_weight (default 1: feedback is the
 * ground truth) and the reward is recomputed: the processor emits the new
 * value as a reward update.
 */
#ifndef LLMOPT_REWARD_H
#define LLMOPT_REWARD_H

#include <stdbool.h>

#include "common/err.h"

typedef struct llmopt_reward_config {
    double w_quality;         /* >= 0 */
    double w_cost;            /* >= 0 */
    double w_latency;         /* >= 0; the three must not all be 0 */
    double cost_best_usd;     /* cost with component 1, >= 0 */
    double cost_worst_usd;    /* cost with component 0, > best */
    double latency_best_ms;   /* latency with component 1, >= 0 */
    double latency_worst_ms;  /* latency with component 0, > best */
    double quality_default;   /* quality assumed when a success has none, 0..1 */
    double feedback_weight;   /* share of feedback in the blended quality, 0..1 */
} llmopt_reward_config;

typedef struct llmopt_reward_input {
    bool success;             /* status ok */
    bool has_quality;
    double quality;           /* 0..1 */
    double cost_usd;
    double latency_ms;
    /* feedback, any subset */
    bool has_rating;
    double rating;            /* 0..1 */
    bool has_thumbs;
    int thumbs;               /* -1, 0, 1 */
    bool has_task_completed;
    bool task_completed;
} llmopt_reward_input;

typedef struct llmopt_reward {
    double quality;           /* normalised components, 0..1 */
    double cost;
    double latency;
    double reward;            /* weighted sum, 0..1 */
} llmopt_reward;

/* Defaults: weights 0.6/0.3/0.1, cost 0..0.01 USD, latency 0..10000 ms,
 * quality_default 0.5, feedback_weight 1. */
void llmopt_reward_config_default(llmopt_reward_config *c);
/* LLMOPT_OK, or LLMOPT_ERR_RANGE naming the offending field in errstr. */
llmopt_err_t llmopt_reward_config_check(const llmopt_reward_config *c,
                                        char *errstr, size_t errstr_size);
/* Computes the reward; c must have passed llmopt_reward_config_check. */
void llmopt_reward_compute(const llmopt_reward_config *c, const llmopt_reward_input *in,
                           llmopt_reward *out);

#endif
