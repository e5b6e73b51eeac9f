/*
 * reward.c - normalised reward components and their weighted sum (reward.h).
 */
#include "processor/core/reward.h"

#include <math.h>

void llmopt_reward_config_default(llmopt_reward_config *c) {
    c->w_quality = 0.6;
    c->w_cost = 0.3;
    c->w_latency = 0.1;
    c->cost_best_usd = 0.0;
    c->cost_worst_usd = 0.01;
    c->latency_best_ms = 0.0;
    c->latency_worst_ms = 10000.0;
    c->quality_default = 0.5;
    c->feedback_weight = 1.0;
}

static int finite_nonneg(double v) {
    return isfinite(v) && v >= 0;
}

llmopt_err_t llmopt_reward_config_check(const llmopt_reward_config *c,
                                        char *errstr, size_t errstr_size) {
    if (!finite_nonneg(c->w_quality) || !finite_nonneg(c->w_cost) || !finite_nonneg(c->w_latency))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "reward weights must be finite and >= 0");
    if (c->w_quality + c->w_cost + c->w_latency <= 0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "reward weights must not all be 0");
    if (!finite_nonneg(c->cost_best_usd) || !isfinite(c->cost_worst_usd) ||
        c->cost_worst_usd <= c->cost_best_usd)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'cost_worst_usd' must be finite and above 'cost_best_usd' (>= 0)");
    if (!finite_nonneg(c->latency_best_ms) || !isfinite(c->latency_worst_ms) ||
        c->latency_worst_ms <= c->latency_best_ms)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'latency_worst_ms' must be finite and above 'latency_best_ms' (>= 0)");
    if (!(c->quality_default >= 0 && c->quality_default <= 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'quality_default' must be in [0, 1]");
    if (!(c->feedback_weight >= 0 && c->feedback_weight <= 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'feedback_weight' must be in [0, 1]");
    return LLMOPT_OK;
}

static double clamp01(double v) {
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* The mean of the feedback scores present, or -1 when there is none. */
static double feedback_score(const llmopt_reward_input *in) {
    double sum = 0;
    int n = 0;
    if (in->has_rating) {
        sum += clamp01(in->rating);
        n++;
    }
    if (in->has_thumbs) {
        sum += in->thumbs > 0 ? 1.0 : in->thumbs < 0 ? 0.0 : 0.5;
        n++;
    }
    if (in->has_task_completed) {
        sum += in->task_completed ? 1.0 : 0.0;
        n++;
    }
    return n ? sum / n : -1;
}

void llmopt_reward_compute(const llmopt_reward_config *c, const llmopt_reward_input *in,
                           llmopt_reward *out) {
    if (!in->success) {
        out->quality = out->cost = out->latency = out->reward = 0;
        return;
    }
    double q = in->has_quality ? clamp01(in->quality) : c->quality_default;
    double fb = feedback_score(in);
    if (fb >= 0)
        q = (1 - c->feedback_weight) * q + c->feedback_weight * fb;
    out->quality = q;
    out->cost = clamp01((c->cost_worst_usd - in->cost_usd) / (c->cost_worst_usd - c->cost_best_usd));
    out->latency = clamp01((c->latency_worst_ms - in->latency_ms) /
                           (c->latency_worst_ms - c->latency_best_ms));
    double wsum = c->w_quality + c->w_cost + c->w_latency;
    out->reward = (c->w_quality * out->quality + c->w_cost * out->cost +
                   c->w_latency * out->latency) / wsum;
}
