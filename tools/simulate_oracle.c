/*
 * simulate_oracle.c - exact expected rewards of arm profiles and the oracle
 * (simulate_oracle.h).
 */
#include "tools/simulate_oracle.h"

#include <math.h>

static double Phi(double x) {
    return 0.5 * erfc(-x / sqrt(2.0));
}

static double phi(double x) {
    return exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
}

static double clamp01(double v) {
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

double llmopt_sim_expect_clipped_normal(double mean, double sd) {
    if (!(sd > 0))
        return clamp01(mean);
    double a = (0 - mean) / sd, b = (1 - mean) / sd;
    return mean * (Phi(b) - Phi(a)) + sd * (phi(a) - phi(b)) + (1 - Phi(b));
}

/* F(x) = P(L <= x) and E[L; L <= x] for L = median exp(sigma Z), sigma > 0. */
static double ln_cdf(double x, double median, double sigma) {
    if (x <= 0)
        return 0;
    return Phi(log(x / median) / sigma);
}

static double ln_partial(double x, double median, double sigma) {
    if (x <= 0)
        return 0;
    return median * exp(0.5 * sigma * sigma) * Phi(log(x / median) / sigma - sigma);
}

double llmopt_sim_expect_latency_score(double median_ms, double sigma, double best_ms,
                                       double worst_ms) {
    double span = worst_ms - best_ms;
    if (!(sigma > 0))
        return clamp01((worst_ms - median_ms) / span);
    double fb = ln_cdf(best_ms, median_ms, sigma), fw = ln_cdf(worst_ms, median_ms, sigma);
    double pe = ln_partial(worst_ms, median_ms, sigma) - ln_partial(best_ms, median_ms, sigma);
    return clamp01(fb + (worst_ms * (fw - fb) - pe) / span);
}

/* sum over integer o in [lo, hi] of (A - B o); 0 when lo > hi */
static double lin_sum(double A, double B, int64_t lo, int64_t hi) {
    if (lo > hi)
        return 0;
    double n = (double)(hi - lo + 1);
    return n * A - B * n * (double)(lo + hi) / 2.0;
}

double llmopt_sim_expect_cost_score(const llmopt_sim_profile *p, double best_usd,
                                    double worst_usd) {
    double span = worst_usd - best_usd;
    double pi = p->price_in_per_1k / 1000.0, po = p->price_out_per_1k / 1000.0;
    int64_t o0 = p->output_tokens_min, o1 = p->output_tokens_max;
    double n_out = (double)(o1 - o0 + 1), total = 0;
    for (int64_t in = p->input_tokens_min; in <= p->input_tokens_max; in++) {
        double base = (double)in * pi; /* cost = base + po * o */
        double s;
        if (po <= 0) {
            s = n_out * clamp01((worst_usd - base) / span);
        } else {
            /* score 1 while cost <= best: o <= (best - base) / po; 0 once cost >= worst */
            double x1 = (best_usd - base) / po, x2 = (worst_usd - base) / po;
            int64_t a = x1 < (double)o0 ? o0 - 1 : x1 >= (double)o1 ? o1 : (int64_t)floor(x1);
            int64_t b = x2 <= (double)o0 ? o0 - 1 : x2 > (double)o1 ? o1 : (int64_t)ceil(x2) - 1;
            /* o in [o0, a]: 1; (a, b]: (worst - base - po o)/span; (b, o1]: 0 */
            s = (double)(a - o0 + 1 > 0 ? a - o0 + 1 : 0);
            int64_t lo = a + 1 > o0 ? a + 1 : o0;
            s += lin_sum((worst_usd - base) / span, po / span, lo, b);
        }
        total += s;
    }
    double n_in = (double)(p->input_tokens_max - p->input_tokens_min + 1);
    return clamp01(total / (n_in * n_out));
}

void llmopt_sim_expect_profile(const llmopt_reward_config *c, const llmopt_sim_profile *p,
                               llmopt_sim_expect *out) {
    out->quality = llmopt_sim_expect_clipped_normal(p->quality_mean, p->quality_sd);
    out->cost = llmopt_sim_expect_cost_score(p, c->cost_best_usd, c->cost_worst_usd);
    out->latency = llmopt_sim_expect_latency_score(p->latency_median_ms, p->latency_sigma,
                                                   c->latency_best_ms, c->latency_worst_ms);
    double wsum = c->w_quality + c->w_cost + c->w_latency;
    double ok = p->available ? 1.0 - p->error_rate : 0.0;
    out->reward = ok * (c->w_quality * out->quality + c->w_cost * out->cost +
                        c->w_latency * out->latency) / wsum;
}

void llmopt_sim_oracle(const llmopt_sim_scenario *s, const llmopt_sim_state *st, size_t ri,
                       llmopt_sim_oracle_route *out) {
    const llmopt_sim_route *r = &s->routes[ri];
    out->best = -1;
    out->best_reward = 0;
    out->uniform_reward = 0;
    out->n_available = 0;
    double sum = 0;
    for (size_t ai = 0; ai < r->n_arms; ai++) {
        const llmopt_sim_profile *p = &st->p[ri][ai];
        llmopt_sim_expect_profile(&r->reward, p, &out->arm[ai]);
        if (!p->available)
            continue;
        out->n_available++;
        sum += out->arm[ai].reward;
        if (out->best < 0 || out->arm[ai].reward > out->best_reward) {
            out->best = (int)ai;
            out->best_reward = out->arm[ai].reward;
        }
    }
    if (out->n_available)
        out->uniform_reward = sum / (double)out->n_available;
}
