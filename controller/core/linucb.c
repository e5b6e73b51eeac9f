/* linucb.c - per-arm ridge regression with Sherman-Morrison updates. */
#include "controller/core/linucb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define X_MAX 1e6
/* Bounds a checkpoint must meet so that updates and scores stay finite:
 * Cholesky of A squares square roots of its entries, theta multiplies
 * A^-1 (entries <= 2/lambda) by b. */
#define A_MAX 1e200
#define N_MAX 1e15

typedef struct linarm {
    double *a;      /* d*d, row-major */
    double *a_inv;  /* d*d, row-major */
    double *b;      /* d */
    double *theta;  /* d */
    double n;
    uint32_t since; /* Sherman-Morrison updates since the last re-inversion */
} linarm;

struct llmopt_linucb {
    llmopt_linucb_config cfg;
    linarm arm[LLMOPT_LINUCB_MAX_ARMS];
    double *scratch; /* d*d + d */
    double *mem;
};

void llmopt_linucb_config_default(llmopt_linucb_config *c, uint32_t k, uint32_t d) {
    memset(c, 0, sizeof(*c));
    c->k = k;
    c->d = d;
    c->lambda = 1.0;
    c->alpha = 1.0;
    c->gamma = 1.0;
    c->drift_shrink = 0.1;
    c->reinvert_every = 64;
}

static llmopt_err_t check_config(const llmopt_linucb_config *c, char *errstr, size_t sz) {
    if (c->k < 1 || c->k > LLMOPT_LINUCB_MAX_ARMS)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'k' must be 1..%d", LLMOPT_LINUCB_MAX_ARMS);
    if (c->d < 1 || c->d > LLMOPT_LINUCB_MAX_DIM)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'d' must be 1..%d", LLMOPT_LINUCB_MAX_DIM);
    if (!(c->lambda >= 1e-6 && c->lambda <= 1e6))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'lambda' must be in [1e-6, 1e6]");
    if (!(c->alpha >= 0 && c->alpha <= 1e6))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'alpha' must be in [0, 1e6]");
    if (!(c->gamma > 0 && c->gamma <= 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'gamma' must be in (0, 1]");
    if (!(c->drift_shrink >= 0 && c->drift_shrink <= 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'drift_shrink' must be in [0, 1]");
    if (c->reinvert_every < 1)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'reinvert_every' must be >= 1");
    return LLMOPT_OK;
}

static void recompute_theta(const llmopt_linucb *m, linarm *a) {
    uint32_t d = m->cfg.d;
    for (uint32_t i = 0; i < d; i++) {
        double s = 0;
        for (uint32_t j = 0; j < d; j++)
            s += a->a_inv[i * d + j] * a->b[j];
        a->theta[i] = s;
    }
}

/* A = L L^T into l (lower triangle, upper zeroed); 0 unless A is PD. */
static int cholesky(const double *a, double *l, uint32_t d) {
    memset(l, 0, sizeof(double) * d * d);
    for (uint32_t j = 0; j < d; j++) {
        double s = a[j * d + j];
        for (uint32_t k = 0; k < j; k++)
            s -= l[j * d + k] * l[j * d + k];
        if (!(s > 0) || !isfinite(s))
            return 0;
        double ljj = sqrt(s);
        l[j * d + j] = ljj;
        for (uint32_t i = j + 1; i < d; i++) {
            double t = a[i * d + j];
            for (uint32_t k = 0; k < j; k++)
                t -= l[i * d + k] * l[j * d + k];
            l[i * d + j] = t / ljj;
        }
    }
    return 1;
}

/* inv = A^-1 via A = L L^T: invert L in place (lower triangular), then
 * inv = L^-T L^-1, which is symmetric by construction. */
static int invert_spd(const double *a, double *inv, double *l, uint32_t d) {
    if (!cholesky(a, l, d))
        return 0;
    for (uint32_t j = 0; j < d; j++) { /* column j of L^-1 by forward substitution */
        l[j * d + j] = 1.0 / l[j * d + j];
        for (uint32_t i = j + 1; i < d; i++) {
            double s = 0;
            for (uint32_t k = j; k < i; k++)
                s -= l[i * d + k] * l[k * d + j];
            l[i * d + j] = s / l[i * d + i];
        }
    }
    /* careful: the loop above reads l[i*d+i] still holding L's diagonal for
     * rows below j, and the inverted diagonal for row j itself */
    for (uint32_t i = 0; i < d; i++)
        for (uint32_t j = 0; j <= i; j++) {
            double s = 0;
            for (uint32_t k = i; k < d; k++) /* (L^-T L^-1)_ij = sum_k Li_ki Li_kj, k >= max(i,j) */
                s += l[k * d + i] * l[k * d + j];
            inv[i * d + j] = s;
            inv[j * d + i] = s;
        }
    return 1;
}

/* Full re-inversion; on failure A^-1 is left as it was. Resets the
 * Sherman-Morrison counter either way (the next try waits a period). */
static llmopt_err_t reinvert(llmopt_linucb *m, linarm *a) {
    uint32_t d = m->cfg.d;
    double *l = m->scratch;
    double *tmp = m->scratch + d * d;
    a->since = 0;
    if (!invert_spd(a->a, tmp, l, d))
        return LLMOPT_ERR_STATE;
    memcpy(a->a_inv, tmp, sizeof(double) * d * d);
    recompute_theta(m, a);
    return LLMOPT_OK;
}

/* A^-1 of a state that satisfies A >= lambda I has entries within 1/lambda;
 * a checkpoint may only claim A >= lambda/2 I, hence the factor 2. */
static int a_inv_sane(const llmopt_linucb *m, const linarm *a) {
    uint32_t d = m->cfg.d;
    double bound = 2.0 / m->cfg.lambda;
    for (uint32_t j = 0; j < d * d; j++)
        if (!(fabs(a->a_inv[j]) <= bound))
            return 0;
    return 1;
}

static llmopt_err_t alloc_model(const llmopt_linucb_config *c, llmopt_linucb **out) {
    llmopt_linucb *m = calloc(1, sizeof(*m));
    if (!m)
        return LLMOPT_ERR_NOMEM;
    size_t d = c->d, per_arm = 2 * d * d + 2 * d;
    m->mem = calloc(per_arm * c->k + 2 * d * d, sizeof(double));
    if (!m->mem) {
        free(m);
        return LLMOPT_ERR_NOMEM;
    }
    m->cfg = *c;
    double *p = m->mem;
    for (uint32_t i = 0; i < c->k; i++) {
        linarm *a = &m->arm[i];
        a->a = p;
        a->a_inv = p + d * d;
        a->b = p + 2 * d * d;
        a->theta = p + 2 * d * d + d;
        p += per_arm;
    }
    m->scratch = p;
    *out = m;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_linucb_new(const llmopt_linucb_config *c, llmopt_linucb **out, char *errstr,
                               size_t errstr_size) {
    llmopt_err_t e = check_config(c, errstr, errstr_size);
    if (e)
        return e;
    llmopt_linucb *m;
    if (alloc_model(c, &m))
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    uint32_t d = c->d;
    for (uint32_t i = 0; i < c->k; i++)
        for (uint32_t j = 0; j < d; j++) {
            m->arm[i].a[j * d + j] = c->lambda;
            m->arm[i].a_inv[j * d + j] = 1.0 / c->lambda;
        }
    *out = m;
    return LLMOPT_OK;
}

void llmopt_linucb_destroy(llmopt_linucb *m) {
    if (!m)
        return;
    free(m->mem);
    free(m);
}

const llmopt_linucb_config *llmopt_linucb_config_of(const llmopt_linucb *m) {
    return &m->cfg;
}

llmopt_err_t llmopt_linucb_update(llmopt_linucb *m, uint32_t arm, const double *x, double r) {
    if (arm >= m->cfg.k || !(fabs(r) <= X_MAX) || !(m->arm[arm].n < N_MAX))
        return LLMOPT_ERR_RANGE;
    uint32_t d = m->cfg.d;
    for (uint32_t i = 0; i < d; i++)
        if (!(fabs(x[i]) <= X_MAX))
            return LLMOPT_ERR_RANGE;
    linarm *a = &m->arm[arm];
    double *u = m->scratch; /* u = A^-1 x */
    double q = 0;
    for (uint32_t i = 0; i < d; i++) {
        double s = 0;
        for (uint32_t j = 0; j < d; j++)
            s += a->a_inv[i * d + j] * x[j];
        u[i] = s;
        q += x[i] * s;
    }
    /* x^T A^-1 x >= 0 for a true inverse; otherwise A^-1 has lost touch
     * with A (rounding or a corrupt checkpoint): re-invert instead */
    int rank1 = q > -0.5 && isfinite(q);
    double inv_den = rank1 ? 1.0 / (1.0 + q) : 0.0;
    for (uint32_t i = 0; i < d; i++) {
        for (uint32_t j = 0; j < d; j++) {
            a->a[i * d + j] += x[i] * x[j];
            if (rank1)
                a->a_inv[i * d + j] -= u[i] * u[j] * inv_den;
        }
        a->b[i] += r * x[i];
    }
    a->n += 1.0;
    if (!rank1 || ++a->since >= m->cfg.reinvert_every || !a_inv_sane(m, a))
        return reinvert(m, a);
    recompute_theta(m, a);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_linucb_reinvert(llmopt_linucb *m, uint32_t arm) {
    if (arm >= m->cfg.k)
        return LLMOPT_ERR_RANGE;
    return reinvert(m, &m->arm[arm]);
}

static llmopt_err_t shrink(llmopt_linucb *m, linarm *a, double f) {
    uint32_t d = m->cfg.d;
    double lam = m->cfg.lambda;
    for (uint32_t i = 0; i < d; i++) {
        for (uint32_t j = 0; j < d; j++)
            a->a[i * d + j] = (i == j ? lam : 0.0) + f * (a->a[i * d + j] - (i == j ? lam : 0.0));
        a->b[i] *= f;
    }
    a->n *= f;
    return reinvert(m, a);
}

llmopt_err_t llmopt_linucb_decay(llmopt_linucb *m) {
    if (m->cfg.gamma >= 1.0)
        return LLMOPT_OK;
    llmopt_err_t e = LLMOPT_OK;
    for (uint32_t i = 0; i < m->cfg.k; i++)
        if (shrink(m, &m->arm[i], m->cfg.gamma))
            e = LLMOPT_ERR_STATE;
    return e;
}

llmopt_err_t llmopt_linucb_drift(llmopt_linucb *m, uint32_t arm) {
    if (arm >= m->cfg.k)
        return LLMOPT_ERR_RANGE;
    return shrink(m, &m->arm[arm], m->cfg.drift_shrink);
}

const double *llmopt_linucb_theta(const llmopt_linucb *m, uint32_t arm) {
    return arm < m->cfg.k ? m->arm[arm].theta : NULL;
}

const double *llmopt_linucb_a_inv(const llmopt_linucb *m, uint32_t arm) {
    return arm < m->cfg.k ? m->arm[arm].a_inv : NULL;
}

double llmopt_linucb_n(const llmopt_linucb *m, uint32_t arm) {
    return arm < m->cfg.k ? m->arm[arm].n : 0.0;
}

double llmopt_linucb_score(uint32_t d, const double *theta, const double *a_inv, const double *x,
                           double alpha) {
    double mean = 0, q = 0;
    for (uint32_t i = 0; i < d; i++) {
        mean += theta[i] * x[i];
        double s = 0;
        for (uint32_t j = 0; j < d; j++)
            s += a_inv[i * d + j] * x[j];
        q += x[i] * s;
    }
    return mean + alpha * sqrt(q > 0 ? q : 0);
}

void llmopt_linucb_scores(const llmopt_linucb *m, const double *x, double *scores) {
    for (uint32_t i = 0; i < m->cfg.k; i++)
        scores[i] = llmopt_linucb_score(m->cfg.d, m->arm[i].theta, m->arm[i].a_inv, x,
                                        m->cfg.alpha);
}

llmopt_err_t llmopt_linucb_choose(const llmopt_linucb *m, const double *x,
                                  const uint8_t *eligible, uint32_t *arm) {
    uint32_t best = m->cfg.k;
    double best_s = 0;
    for (uint32_t i = 0; i < m->cfg.k; i++) {
        if (eligible && !eligible[i])
            continue;
        double s = llmopt_linucb_score(m->cfg.d, m->arm[i].theta, m->arm[i].a_inv, x,
                                       m->cfg.alpha);
        if (best == m->cfg.k || s > best_s) {
            best = i;
            best_s = s;
        }
    }
    if (best == m->cfg.k)
        return LLMOPT_ERR_STATE;
    *arm = best;
    return LLMOPT_OK;
}

void llmopt_linucb_serialize(const llmopt_linucb *m, llmopt_wbuf *w) {
    const llmopt_linucb_config *c = &m->cfg;
    uint32_t d = c->d;
    llmopt_wbuf_header(w, "LUCB", 1);
    llmopt_wbuf_u32(w, c->k);
    llmopt_wbuf_u32(w, c->d);
    llmopt_wbuf_f64(w, c->lambda);
    llmopt_wbuf_f64(w, c->alpha);
    llmopt_wbuf_f64(w, c->gamma);
    llmopt_wbuf_f64(w, c->drift_shrink);
    llmopt_wbuf_u32(w, c->reinvert_every);
    for (uint32_t i = 0; i < c->k; i++) {
        const linarm *a = &m->arm[i];
        llmopt_wbuf_f64(w, a->n);
        llmopt_wbuf_u32(w, a->since);
        for (uint32_t j = 0; j < d * d; j++)
            llmopt_wbuf_f64(w, a->a[j]);
        for (uint32_t j = 0; j < d * d; j++)
            llmopt_wbuf_f64(w, a->a_inv[j]);
        for (uint32_t j = 0; j < d; j++)
            llmopt_wbuf_f64(w, a->b[j]);
    }
}

llmopt_err_t llmopt_linucb_deserialize(llmopt_rbuf *r, llmopt_linucb **out, char *errstr,
                                       size_t errstr_size) {
    llmopt_linucb_config c;
    llmopt_linucb *m = NULL;
    llmopt_err_t e = LLMOPT_ERR_INVALID;
    memset(&c, 0, sizeof(c));
    if (!llmopt_rbuf_header(r, "LUCB", 1)) {
        e = llmopt_errf(r->err ? (llmopt_err_t)r->err : LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "not a linucb state");
        goto out;
    }
    c.k = llmopt_rbuf_u32(r);
    c.d = llmopt_rbuf_u32(r);
    c.lambda = llmopt_rbuf_f64(r);
    c.alpha = llmopt_rbuf_f64(r);
    c.gamma = llmopt_rbuf_f64(r);
    c.drift_shrink = llmopt_rbuf_f64(r);
    c.reinvert_every = llmopt_rbuf_u32(r);
    if (r->err) {
        e = llmopt_errf((llmopt_err_t)r->err, errstr, errstr_size, "linucb state truncated");
        goto out;
    }
    if ((e = check_config(&c, errstr, errstr_size)))
        goto out;
    /* refuse before allocating when the bytes cannot hold the arms */
    size_t need = (size_t)c.k * (12 + 8 * (2 * (size_t)c.d * c.d + c.d));
    if (r->left < need) {
        e = llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, errstr_size, "linucb state truncated");
        goto out;
    }
    if (alloc_model(&c, &m)) {
        e = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    uint32_t d = c.d;
    for (uint32_t i = 0; i < c.k; i++) {
        linarm *a = &m->arm[i];
        a->n = llmopt_rbuf_f64(r);
        a->since = llmopt_rbuf_u32(r);
        for (uint32_t j = 0; j < d * d; j++)
            a->a[j] = llmopt_rbuf_f64(r);
        for (uint32_t j = 0; j < d * d; j++)
            a->a_inv[j] = llmopt_rbuf_f64(r);
        for (uint32_t j = 0; j < d; j++)
            a->b[j] = llmopt_rbuf_f64(r);
        if (r->err) {
            e = llmopt_errf((llmopt_err_t)r->err, errstr, errstr_size, "linucb state truncated");
            goto out;
        }
        int ok = a->n >= 0 && a->n <= N_MAX && a->since < c.reinvert_every && a_inv_sane(m, a);
        for (uint32_t j = 0; ok && j < d * d; j++)
            ok = fabs(a->a[j]) <= A_MAX && a->a[j] == a->a[(j % d) * d + j / d] &&
                 a->a_inv[j] == a->a_inv[(j % d) * d + j / d];
        for (uint32_t j = 0; ok && j < d; j++)
            ok = fabs(a->b[j]) <= A_MAX;
        if (ok) { /* A >= lambda I in every state we write; demand lambda/2 */
            double *t = m->scratch + d * d;
            memcpy(t, a->a, sizeof(double) * d * d);
            for (uint32_t j = 0; j < d; j++)
                t[j * d + j] -= 0.5 * c.lambda;
            ok = cholesky(t, m->scratch, d);
        }
        if (!ok) {
            e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                            "bad regression state for arm '%u'", i);
            goto out;
        }
        recompute_theta(m, a);
        for (uint32_t j = 0; ok && j < d; j++)
            ok = isfinite(a->theta[j]);
        if (!ok) {
            e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                            "non-finite theta for arm '%u'", i);
            goto out;
        }
    }
    *out = m;
    m = NULL;
    e = LLMOPT_OK;
out:
    if (e && !r->err)
        r->err = e == LLMOPT_ERR_TRUNCATED ? LLMOPT_ERR_TRUNCATED : LLMOPT_ERR_INVALID;
    llmopt_linucb_destroy(m);
    return e;
}
