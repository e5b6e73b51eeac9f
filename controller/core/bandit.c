/* bandit.c - per-arm evidence, priors and conjugate posteriors. */
#include "controller/core/bandit.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* Evidence beyond this weight adds nothing a decision could see and would
 * only bring overflow closer. */
#define N_MAX 1e15
/* Bounds that keep every posterior formula finite (squares of means times
 * weights stay below 1e300): rewards and prior means within +-1e100, prior
 * variances and config scales bounded too. */
#define VAL_MAX 1e100
#define M2_MAX 1e250

void llmopt_bandit_config_default(llmopt_bandit_config *c, llmopt_bandit_reward reward,
                                  uint32_t k) {
    memset(c, 0, sizeof(*c));
    c->reward = reward;
    c->k = k;
    c->gamma = 1.0;
    c->beta_a0 = 1.0;
    c->beta_b0 = 1.0;
    c->nig_alpha0 = 1.0;
    c->kappa_min = 1e-3;
    c->drift_shrink = 0.1;
    c->floor = 0.01;
    c->drift_floor = 0.05;
    c->drift_boost_ms = 600000;
}

static int pos_finite(double x) {
    return x > 0 && x <= N_MAX;
}

static llmopt_err_t check_config(const llmopt_bandit_config *c, char *errstr, size_t sz) {
    if (c->reward != LLMOPT_BANDIT_BERNOULLI && c->reward != LLMOPT_BANDIT_NORMAL)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "unknown reward model '%d'", (int)c->reward);
    if (c->k < 1 || c->k > LLMOPT_BANDIT_MAX_ARMS)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'k' must be 1..%d, got %u",
                           LLMOPT_BANDIT_MAX_ARMS, c->k);
    if (!(c->gamma > 0 && c->gamma <= 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'gamma' must be in (0, 1]");
    if (c->window > LLMOPT_BANDIT_MAX_WINDOW)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'window' must be 0..%d rounds, got %u",
                           LLMOPT_BANDIT_MAX_WINDOW, c->window);
    if (c->window > 0 && c->gamma < 1)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz,
                           "'window' and 'gamma' < 1 are exclusive: pick one");
    if (!pos_finite(c->beta_a0) || !pos_finite(c->beta_b0))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'beta_a0' and 'beta_b0' must be > 0");
    if (!pos_finite(c->nig_alpha0))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'nig_alpha0' must be > 0");
    if (!pos_finite(c->kappa_min))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'kappa_min' must be > 0");
    if (!(c->drift_shrink >= 0 && c->drift_shrink <= 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'drift_shrink' must be in [0, 1]");
    if (!(c->floor >= 0 && c->floor < 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'floor' must be in [0, 1)");
    if (!(c->drift_floor >= c->floor && c->drift_floor < 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'drift_floor' must be in [floor, 1)");
    if (c->drift_boost_ms < 0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'drift_boost_ms' must be >= 0");
    return LLMOPT_OK;
}

static llmopt_err_t check_prior(const llmopt_bandit_config *c, const llmopt_bandit_prior *p,
                                char *errstr, size_t sz) {
    if (!(p->n0 >= 0 && p->n0 <= N_MAX))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "prior 'n0' must be in [0, 1e15]");
    if (!(fabs(p->mean0) <= VAL_MAX))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "prior 'mean0' must be within +-1e100");
    if (c->reward == LLMOPT_BANDIT_BERNOULLI && !(p->mean0 >= 0 && p->mean0 <= 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "prior 'mean0' must be in [0, 1]");
    if (!(p->var0 > 0 && p->var0 <= VAL_MAX))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "prior 'var0' must be in (0, 1e100]");
    return LLMOPT_OK;
}

llmopt_err_t llmopt_bandit_init(llmopt_bandit *b, const llmopt_bandit_config *c, char *errstr,
                                size_t errstr_size) {
    llmopt_err_t e = check_config(c, errstr, errstr_size);
    if (e)
        return e;
    memset(b, 0, sizeof(*b));
    b->cfg = *c;
    for (uint32_t i = 0; i < c->k; i++) {
        b->arm[i].prior.mean0 = c->reward == LLMOPT_BANDIT_BERNOULLI ? 0.5 : 0.0;
        b->arm[i].prior.var0 = 1.0;
    }
    return LLMOPT_OK;
}

llmopt_err_t llmopt_bandit_set_prior(llmopt_bandit *b, uint32_t arm, const llmopt_bandit_prior *p,
                                     char *errstr, size_t errstr_size) {
    if (arm >= b->cfg.k)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "no arm '%u'", arm);
    llmopt_err_t e = check_prior(&b->cfg, p, errstr, errstr_size);
    if (e)
        return e;
    b->arm[arm].prior = *p;
    return LLMOPT_OK;
}

/* Chan et al.: merges y into x; 0 (x untouched) when the result would
 * leave the bounds. */
static int merge(llmopt_bandit_slot *x, const llmopt_bandit_slot *y, llmopt_bandit_reward rw) {
    if (y->n == 0)
        return 1;
    double nn = x->n + y->n;
    double delta = y->mean - x->mean;
    double nmean = x->mean + delta * (y->n / nn);
    double nm2 = x->m2 + y->m2 + delta * delta * (x->n * y->n / nn);
    if (!(nn <= N_MAX) || !(fabs(nmean) <= VAL_MAX) || !(nm2 <= M2_MAX))
        return 0;
    if (rw == LLMOPT_BANDIT_BERNOULLI) /* a convex mix can round past 1 */
        nmean = fmin(1.0, fmax(0.0, nmean));
    *x = (llmopt_bandit_slot){nn, nmean, nm2};
    return 1;
}

llmopt_err_t llmopt_bandit_observe_batch(llmopt_bandit *b, uint32_t arm, double n, double mean,
                                         double m2) {
    if (arm >= b->cfg.k || !(n >= 0 && n <= N_MAX) || !(fabs(mean) <= VAL_MAX) ||
        !(m2 >= 0 && m2 <= M2_MAX))
        return LLMOPT_ERR_RANGE;
    if (b->cfg.reward == LLMOPT_BANDIT_BERNOULLI && !(mean >= 0 && mean <= 1))
        return LLMOPT_ERR_RANGE;
    if (n == 0)
        return LLMOPT_OK;
    llmopt_bandit_arm *a = &b->arm[arm];
    llmopt_bandit_slot tot = {a->n, a->mean, a->m2}, add = {n, mean, m2};
    if (!merge(&tot, &add, b->cfg.reward))
        return LLMOPT_ERR_RANGE;
    if (b->cfg.window) {
        llmopt_bandit_slot cur = b->win[arm][b->win_head];
        if (!merge(&cur, &add, b->cfg.reward))
            return LLMOPT_ERR_RANGE;
        b->win[arm][b->win_head] = cur;
    }
    a->n = tot.n;
    a->mean = tot.mean;
    a->m2 = tot.m2;
    a->pulls += n >= 1 ? (uint64_t)n : 1;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_bandit_observe(llmopt_bandit *b, uint32_t arm, double reward) {
    return llmopt_bandit_observe_batch(b, arm, 1.0, reward, 0.0);
}

/* The arm's evidence re-merged from its window slots, oldest first (the
 * same order every time, so a restored state re-merges identically). */
static void remerge(llmopt_bandit *b, uint32_t arm) {
    llmopt_bandit_arm *a = &b->arm[arm];
    llmopt_bandit_slot tot = {0, 0, 0};
    uint32_t w = b->cfg.window;
    for (uint32_t j = 1; j <= w; j++)
        (void)merge(&tot, &b->win[arm][(b->win_head + j) % w], b->cfg.reward); /* a subset of
                                                    what the bounds already admitted */
    a->n = tot.n;
    a->mean = tot.n > 0 ? tot.mean : 0;
    a->m2 = tot.m2;
}

void llmopt_bandit_decay(llmopt_bandit *b) {
    if (b->cfg.window) {
        b->win_head = (b->win_head + 1) % b->cfg.window;
        for (uint32_t i = 0; i < b->cfg.k; i++) {
            b->win[i][b->win_head] = (llmopt_bandit_slot){0, 0, 0};
            remerge(b, i);
        }
        return;
    }
    if (b->cfg.gamma >= 1.0)
        return;
    for (uint32_t i = 0; i < b->cfg.k; i++) {
        b->arm[i].n *= b->cfg.gamma;
        b->arm[i].m2 *= b->cfg.gamma;
    }
}

llmopt_err_t llmopt_bandit_shrink(llmopt_bandit *b, uint32_t arm) {
    if (arm >= b->cfg.k)
        return LLMOPT_ERR_RANGE;
    llmopt_bandit_arm *a = &b->arm[arm];
    a->n *= b->cfg.drift_shrink;
    a->m2 *= b->cfg.drift_shrink;
    for (uint32_t j = 0; j < b->cfg.window; j++) {
        b->win[arm][j].n *= b->cfg.drift_shrink;
        b->win[arm][j].m2 *= b->cfg.drift_shrink;
    }
    return LLMOPT_OK;
}

llmopt_err_t llmopt_bandit_drift(llmopt_bandit *b, uint32_t arm, int64_t ts_ms) {
    llmopt_err_t e = llmopt_bandit_shrink(b, arm);
    if (e)
        return e;
    llmopt_bandit_arm *a = &b->arm[arm];
    int64_t until = ts_ms > INT64_MAX - b->cfg.drift_boost_ms ? INT64_MAX
                                                              : ts_ms + b->cfg.drift_boost_ms;
    if (until > a->boost_until_ms)
        a->boost_until_ms = until;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_bandit_reset_arm(llmopt_bandit *b, uint32_t arm) {
    if (arm >= b->cfg.k)
        return LLMOPT_ERR_RANGE;
    llmopt_bandit_arm *a = &b->arm[arm];
    a->n = a->mean = a->m2 = 0;
    memset(b->win[arm], 0, sizeof(b->win[arm]));
    return LLMOPT_OK;
}

double llmopt_bandit_floor(const llmopt_bandit *b, uint32_t arm, int64_t now_ms) {
    assert(arm < b->cfg.k);
    return now_ms < b->arm[arm].boost_until_ms ? b->cfg.drift_floor : b->cfg.floor;
}

llmopt_bandit_beta llmopt_bandit_beta_posterior(const llmopt_bandit *b, uint32_t arm) {
    assert(arm < b->cfg.k);
    const llmopt_bandit_arm *a = &b->arm[arm];
    llmopt_bandit_beta p;
    p.alpha = b->cfg.beta_a0 + a->prior.n0 * a->prior.mean0 + a->n * a->mean;
    p.beta = b->cfg.beta_b0 + a->prior.n0 * (1.0 - a->prior.mean0) + a->n * (1.0 - a->mean);
    return p;
}

llmopt_bandit_nig llmopt_bandit_nig_posterior(const llmopt_bandit *b, uint32_t arm) {
    assert(arm < b->cfg.k);
    const llmopt_bandit_arm *a = &b->arm[arm];
    double kappa0 = fmax(a->prior.n0, b->cfg.kappa_min);
    double alpha0 = b->cfg.nig_alpha0;
    double beta0 = alpha0 * a->prior.var0;
    llmopt_bandit_nig p;
    p.kappa = kappa0 + a->n;
    p.mu = (kappa0 * a->prior.mean0 + a->n * a->mean) / p.kappa;
    p.alpha = alpha0 + 0.5 * a->n;
    double d = a->mean - a->prior.mean0;
    p.beta = beta0 + 0.5 * a->m2 + kappa0 * a->n * d * d / (2.0 * p.kappa);
    return p;
}

double llmopt_bandit_mean(const llmopt_bandit *b, uint32_t arm) {
    if (b->cfg.reward == LLMOPT_BANDIT_BERNOULLI) {
        llmopt_bandit_beta p = llmopt_bandit_beta_posterior(b, arm);
        return p.alpha / (p.alpha + p.beta);
    }
    return llmopt_bandit_nig_posterior(b, arm).mu;
}

double llmopt_bandit_eff_n(const llmopt_bandit *b, uint32_t arm) {
    assert(arm < b->cfg.k);
    return b->arm[arm].n + b->arm[arm].prior.n0;
}

double llmopt_bandit_eff_mean(const llmopt_bandit *b, uint32_t arm) {
    assert(arm < b->cfg.k);
    const llmopt_bandit_arm *a = &b->arm[arm];
    double n = a->n + a->prior.n0;
    if (!(n > 0))
        return a->prior.mean0;
    return (a->n * a->mean + a->prior.n0 * a->prior.mean0) / n;
}

void llmopt_bandit_serialize(const llmopt_bandit *b, llmopt_wbuf *w) {
    const llmopt_bandit_config *c = &b->cfg;
    llmopt_wbuf_header(w, "BNDT", 2);
    llmopt_wbuf_u8(w, (uint8_t)c->reward);
    llmopt_wbuf_u32(w, c->k);
    llmopt_wbuf_f64(w, c->gamma);
    llmopt_wbuf_f64(w, c->beta_a0);
    llmopt_wbuf_f64(w, c->beta_b0);
    llmopt_wbuf_f64(w, c->nig_alpha0);
    llmopt_wbuf_f64(w, c->kappa_min);
    llmopt_wbuf_f64(w, c->drift_shrink);
    llmopt_wbuf_f64(w, c->floor);
    llmopt_wbuf_f64(w, c->drift_floor);
    llmopt_wbuf_i64(w, c->drift_boost_ms);
    llmopt_wbuf_u32(w, c->window);     /* v2 */
    llmopt_wbuf_u32(w, b->win_head);   /* v2 */
    for (uint32_t i = 0; i < c->k; i++) {
        const llmopt_bandit_arm *a = &b->arm[i];
        llmopt_wbuf_f64(w, a->prior.n0);
        llmopt_wbuf_f64(w, a->prior.mean0);
        llmopt_wbuf_f64(w, a->prior.var0);
        llmopt_wbuf_f64(w, a->n);
        llmopt_wbuf_f64(w, a->mean);
        llmopt_wbuf_f64(w, a->m2);
        llmopt_wbuf_u64(w, a->pulls);
        llmopt_wbuf_i64(w, a->boost_until_ms);
        for (uint32_t j = 0; j < c->window; j++) { /* v2 */
            llmopt_wbuf_f64(w, b->win[i][j].n);
            llmopt_wbuf_f64(w, b->win[i][j].mean);
            llmopt_wbuf_f64(w, b->win[i][j].m2);
        }
    }
}

llmopt_err_t llmopt_bandit_deserialize(llmopt_bandit *b, llmopt_rbuf *r, char *errstr,
                                       size_t errstr_size) {
    llmopt_bandit tmp;
    llmopt_bandit_config c;
    memset(&c, 0, sizeof(c));
    uint8_t ver = llmopt_rbuf_header(r, "BNDT", 2);
    if (!ver)
        return llmopt_errf(r->err ? (llmopt_err_t)r->err : LLMOPT_ERR_INVALID, errstr,
                           errstr_size, "not a bandit state");
    c.reward = (llmopt_bandit_reward)llmopt_rbuf_u8(r);
    c.k = llmopt_rbuf_u32(r);
    c.gamma = llmopt_rbuf_f64(r);
    c.beta_a0 = llmopt_rbuf_f64(r);
    c.beta_b0 = llmopt_rbuf_f64(r);
    c.nig_alpha0 = llmopt_rbuf_f64(r);
    c.kappa_min = llmopt_rbuf_f64(r);
    c.drift_shrink = llmopt_rbuf_f64(r);
    c.floor = llmopt_rbuf_f64(r);
    c.drift_floor = llmopt_rbuf_f64(r);
    c.drift_boost_ms = llmopt_rbuf_i64(r);
    uint32_t head = 0;
    if (ver >= 2) {
        c.window = llmopt_rbuf_u32(r);
        head = llmopt_rbuf_u32(r);
    }
    if (!r->err && c.window && head >= c.window)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "window head %u of %u", head,
                           c.window);
    if (r->err)
        return llmopt_errf((llmopt_err_t)r->err, errstr, errstr_size, "bandit state truncated");
    llmopt_err_t e = llmopt_bandit_init(&tmp, &c, errstr, errstr_size);
    if (e) {
        r->err = LLMOPT_ERR_INVALID;
        return e;
    }
    for (uint32_t i = 0; i < c.k; i++) {
        llmopt_bandit_arm *a = &tmp.arm[i];
        a->prior.n0 = llmopt_rbuf_f64(r);
        a->prior.mean0 = llmopt_rbuf_f64(r);
        a->prior.var0 = llmopt_rbuf_f64(r);
        a->n = llmopt_rbuf_f64(r);
        a->mean = llmopt_rbuf_f64(r);
        a->m2 = llmopt_rbuf_f64(r);
        a->pulls = llmopt_rbuf_u64(r);
        a->boost_until_ms = llmopt_rbuf_i64(r);
        int bad_slot = 0;
        for (uint32_t j = 0; j < c.window; j++) {
            llmopt_bandit_slot *sl = &tmp.win[i][j];
            sl->n = llmopt_rbuf_f64(r);
            sl->mean = llmopt_rbuf_f64(r);
            sl->m2 = llmopt_rbuf_f64(r);
            if (!(sl->n >= 0 && sl->n <= N_MAX && fabs(sl->mean) <= VAL_MAX && sl->m2 >= 0 &&
                  sl->m2 <= M2_MAX) ||
                (c.reward == LLMOPT_BANDIT_BERNOULLI && !(sl->mean >= 0 && sl->mean <= 1)))
                bad_slot = 1;
        }
        if (r->err)
            return llmopt_errf((llmopt_err_t)r->err, errstr, errstr_size,
                               "bandit state truncated at arm '%u'", i);
        e = check_prior(&c, &a->prior, errstr, errstr_size);
        if (!e && !(a->n >= 0 && a->n <= N_MAX && fabs(a->mean) <= VAL_MAX && a->m2 >= 0 &&
                     a->m2 <= M2_MAX))
            e = llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                            "bad evidence for arm '%u'", i);
        if (!e && bad_slot)
            e = llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                            "bad window slot for arm '%u'", i);
        if (!e && c.reward == LLMOPT_BANDIT_BERNOULLI && !(a->mean >= 0 && a->mean <= 1))
            e = llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                            "bernoulli mean out of [0, 1] for arm '%u'", i);
        if (e) {
            r->err = LLMOPT_ERR_INVALID;
            return e;
        }
    }
    tmp.win_head = head;
    *b = tmp;
    return LLMOPT_OK;
}
