/*
 * seqtest.c - mSPRT with a normal mixture (see seqtest.h).
 */
#include "controller/core/seqtest.h"

#include <math.h>
#include <string.h>

void llmopt_msprt_config_default(llmopt_msprt_config *c, double tau2) {
    c->alpha = 0.05;
    c->tau2 = tau2;
    c->theta0 = 0.0;
    c->sigma2_a = 0.0;
    c->sigma2_b = 0.0;
    c->min_n = 30;
}

llmopt_err_t llmopt_msprt_init(llmopt_msprt *m, const llmopt_msprt_config *c, char *errstr,
                               size_t errstr_size) {
    if (!(c->alpha > 0 && c->alpha < 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'alpha' must be in (0, 1), got %g", c->alpha);
    if (!(c->tau2 > 0) || !isfinite(c->tau2))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'tau2' must be finite and > 0, got %g", c->tau2);
    if (!isfinite(c->theta0))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "'theta0' must be finite");
    if (!(c->sigma2_a >= 0) || !(c->sigma2_b >= 0) || !isfinite(c->sigma2_a) ||
        !isfinite(c->sigma2_b) || ((c->sigma2_a > 0) != (c->sigma2_b > 0)))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'sigma2_a' and 'sigma2_b' must both be 0 or both finite and > 0");
    if (c->min_n < 2)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'min_n' must be >= 2, got %llu", (unsigned long long)c->min_n);
    memset(m, 0, sizeof(*m));
    m->cfg = *c;
    m->p = 1.0;
    m->ci_lo = -INFINITY;
    m->ci_hi = INFINITY;
    m->lambda = NAN;
    m->estimate = NAN;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_msprt_add(llmopt_msprt *m, int arm_b, double n, double mean, double m2) {
    if (!isfinite(n) || n < 0 || !isfinite(mean) || !isfinite(m2) || m2 < 0)
        return LLMOPT_ERR_INVALID;
    if (n == 0)
        return LLMOPT_OK;
    llmopt_msprt_arm *g = arm_b ? &m->b : &m->a;
    double tot = g->n + n;
    double delta = mean - g->mean;
    /* Chan, Golub, LeVeque pairwise merge of (n, mean, M2) */
    g->mean += delta * (n / tot);
    g->m2 += m2 + delta * delta * (g->n * n / tot);
    g->n = tot;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_msprt_look(llmopt_msprt *m, int *reject) {
    *reject = 0;
    const llmopt_msprt_config *c = &m->cfg;
    if (m->a.n < (double)c->min_n || m->b.n < (double)c->min_n)
        return LLMOPT_ERR_STATE;
    double va, vb;
    if (c->sigma2_a > 0) {
        va = c->sigma2_a;
        vb = c->sigma2_b;
    } else {
        /* pooled plug-in: one variance estimate for both arms, as in the
         * paper's two-sample case with a common sigma^2 */
        va = vb = (m->a.m2 + m->b.m2) / (m->a.n + m->b.n - 2.0);
    }
    double s2 = va / m->a.n + vb / m->b.n;
    if (!(s2 > 0) || !isfinite(s2))
        return LLMOPT_ERR_STATE;
    double d = m->b.mean - m->a.mean;
    double tau2 = c->tau2;
    double dev = d - c->theta0;
    double log_lambda = 0.5 * log(s2 / (s2 + tau2)) + tau2 * dev * dev / (2.0 * s2 * (s2 + tau2));
    m->looks++;
    m->estimate = d;
    m->lambda = exp(log_lambda);
    double p_now = log_lambda >= 0 ? exp(-log_lambda) : 1.0;
    if (p_now < m->p)
        m->p = p_now;
    double half = sqrt(s2 * (s2 + tau2) / tau2 *
                       (2.0 * log(1.0 / c->alpha) + log((s2 + tau2) / s2)));
    if (d - half > m->ci_lo)
        m->ci_lo = d - half;
    if (d + half < m->ci_hi)
        m->ci_hi = d + half;
    *reject = m->p <= c->alpha;
    return LLMOPT_OK;
}
