/*
 * ope.c - one-pass IPS / SNIPS / DR with Poisson-bootstrap intervals and a
 * support check (see ope.h for the estimators and their contracts).
 *
 * Layout. Every sum is kept for R = B + 1 "replicates": index 0 is the full
 * data (every event counted once), 1..B the Poisson-weighted resamples.
 * Sums are stored replicate-innermost ([stat][R]) so that one event updates
 * each of its few sums with one contiguous, vectorisable loop over R, with
 * no branch on the Poisson count (a zero count adds zero).
 *   base       N[a][R] = sum c [a_i = a], S[a][R] = sum c r [a_i = a],
 *              X[j][R] = sum c x_j (MEAN: D = 1, x = 1, so X[0] = n)
 *   policy p   SW[R] = sum c w, SWR[R] = sum c w r,
 *              W[a][j][R] = sum c w x_j [a_i = a]
 *              P[a][j][R] = sum c pi(a) x_j, kept by segments: while the
 *              candidate's row pi is unchanged (fixed weights, a bandit
 *              between refreshes) P grows by pi(a) times the growth of X,
 *              so only a change of row costs k D R operations, and an
 *              event costs 2 + 2 + D (base) + 2 + D (per policy) per replicate.
 */
#include "controller/core/ope.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "controller/core/rng.h"

#define PI_SUM_TOL 1e-6
#define MU_ONE (1.0 - 1e-12)
#define MU_SAME_TOL 1e-9
#define MAX_ABS_REWARD 1e12
#define MAX_ABS_X 1e6
#define POISSON_MAX 19

typedef struct stratum_tab {
    size_t cap, count;  /* cap a power of two; load kept <= 1/2 */
    int64_t *keys;
    uint8_t *used;
    uint8_t *varies;    /* a propensity of one arm changed within the stratum */
    double *data;       /* per slot: mu[k] (NaN unknown), then pimass[P k] */
} stratum_tab;

struct llmopt_ope {
    llmopt_ope_config cfg;
    uint32_t dim;       /* D */
    size_t R;           /* replicates + 1 */
    double *c;          /* R: Poisson counts of the current event, c[0] = 1 */
    double *N, *S, *X;  /* base sums, k R, k R, D R */
    double *SW, *SWR;   /* P R each */
    double *W, *Pacc;   /* P k D R each */
    double *seg0;       /* P D R: X when the current pi row began */
    double *last_pi;    /* P k */
    double *w;          /* P: importance weights of the current event */
    uint64_t thr[POISSON_MAX]; /* Poisson(1) thresholds on u >> 11 */
    /* full data only */
    double *sum_w2, *max_w;
    uint64_t *clipped;
    double *unsup_direct; /* P: mass off the logged arm at mu = 1 events */
    double *ridge_a;    /* RIDGE: k d*d, sum x x^T (lambda added at solve) */
    double *ridge_b;    /* RIDGE: k d, sum r x */
    stratum_tab st;
    int64_t last_stratum;
    size_t last_slot;
    bool has_last_slot;
    llmopt_rng rng;
    uint64_t n;
};

void llmopt_ope_config_default(llmopt_ope_config *c, uint32_t k, uint32_t n_policies) {
    memset(c, 0, sizeof(*c));
    c->k = k;
    c->n_policies = n_policies;
    c->model = LLMOPT_OPE_MODEL_MEAN;
    c->d = 0;
    c->ridge_lambda = 1.0;
    c->clip = 0;
    c->replicates = 200;
    c->seed = 1;
    c->level = 0.95;
}

/* Inversion with the CDF built by the recurrence p_j = p_{j-1} / j from
 * p_0 = e^-1 (the correctly rounded double below); the reference script
 * repeats the same double operations. */
uint32_t llmopt_ope_poisson1(uint64_t u) {
    const double x = (double)(u >> 11) * 0x1.0p-53;
    double p = 0x1.78b56362cef38p-2, cdf = p;
    uint32_t j = 0;
    while (j < POISSON_MAX && x >= cdf) {
        j++;
        p /= (double)j;
        cdf += p;
    }
    return j;
}

/* The same draw on integers: x 2^-53 >= cdf  <=>  (u >> 11) >= ceil(cdf 2^53)
 * (scaling by 2^53 is exact), so thr[j] = ceil(cdf_j 2^53) gives identical
 * results without a division. */
static void poisson_thresholds(uint64_t *thr) {
    double p = 0x1.78b56362cef38p-2, cdf = p;
    for (uint32_t j = 0; j < POISSON_MAX; j++) {
        thr[j] = (uint64_t)ceil(cdf * 0x1.0p53);
        p /= (double)(j + 1);
        cdf += p;
    }
}

/* Branch-free over the first six thresholds (P(count >= 6) = 6e-4): the
 * exit of a search loop would be mispredicted about once per draw. */
static inline uint32_t poisson_fast(const uint64_t *thr, uint64_t u) {
    const uint64_t x = u >> 11;
    uint32_t j = (uint32_t)(x >= thr[0]) + (uint32_t)(x >= thr[1]) + (uint32_t)(x >= thr[2]) +
                 (uint32_t)(x >= thr[3]) + (uint32_t)(x >= thr[4]) + (uint32_t)(x >= thr[5]);
    if (__builtin_expect(j == 6, 0))
        while (j < POISSON_MAX && x >= thr[j])
            j++;
    return j;
}

llmopt_err_t llmopt_ope_new(const llmopt_ope_config *c, llmopt_ope **out, char *errstr,
                            size_t errstr_size) {
    if (c->k < 1 || c->k > LLMOPT_OPE_MAX_ARMS)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "ope 'k' %u outside 1..%d",
                           c->k, LLMOPT_OPE_MAX_ARMS);
    if (c->n_policies < 1 || c->n_policies > LLMOPT_OPE_MAX_POLICIES)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "ope 'n_policies' %u outside 1..%d", c->n_policies,
                           LLMOPT_OPE_MAX_POLICIES);
    if (c->model != LLMOPT_OPE_MODEL_MEAN && c->model != LLMOPT_OPE_MODEL_RIDGE)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "ope 'model' %d unknown",
                           (int)c->model);
    if (c->model == LLMOPT_OPE_MODEL_RIDGE) {
        if (c->d < 1 || c->d > LLMOPT_OPE_MAX_DIM)
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "ope 'd' %u outside 1..%d",
                               c->d, LLMOPT_OPE_MAX_DIM);
        if (!(c->ridge_lambda > 0 && c->ridge_lambda <= 1e6))
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                               "ope 'ridge_lambda' %g outside (0, 1e6]", c->ridge_lambda);
    }
    if (!(c->clip == 0 || (c->clip >= 1 && isfinite(c->clip))))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "ope 'clip' %g must be 0 (none) or a finite value >= 1", c->clip);
    if (c->replicates > LLMOPT_OPE_MAX_REPLICATES)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "ope 'replicates' %u above %d", c->replicates,
                           LLMOPT_OPE_MAX_REPLICATES);
    if (!(c->level > 0 && c->level < 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "ope 'level' %g outside (0, 1)", c->level);
    llmopt_err_t rc = LLMOPT_ERR_NOMEM;
    llmopt_ope *o = calloc(1, sizeof(*o));
    if (!o)
        goto out;
    o->cfg = *c;
    const size_t k = c->k, P = c->n_policies;
    o->dim = c->model == LLMOPT_OPE_MODEL_RIDGE ? c->d : 1;
    const size_t D = o->dim, R = (size_t)c->replicates + 1;
    o->R = R;
    o->c = calloc(R, sizeof(double));
    o->N = calloc(k * R, sizeof(double));
    o->S = calloc(k * R, sizeof(double));
    o->X = calloc(D * R, sizeof(double));
    o->SW = calloc(P * R, sizeof(double));
    o->SWR = calloc(P * R, sizeof(double));
    o->W = calloc(P * k * D * R, sizeof(double));
    o->Pacc = calloc(P * k * D * R, sizeof(double));
    o->seg0 = calloc(P * D * R, sizeof(double));
    o->last_pi = calloc(P * k, sizeof(double));
    o->w = calloc(P, sizeof(double));
    o->sum_w2 = calloc(P, sizeof(double));
    o->max_w = calloc(P, sizeof(double));
    o->clipped = calloc(P, sizeof(uint64_t));
    o->unsup_direct = calloc(P, sizeof(double));
    if (!o->c || !o->N || !o->S || !o->X || !o->SW || !o->SWR || !o->W || !o->Pacc || !o->seg0 ||
        !o->last_pi || !o->w || !o->sum_w2 || !o->max_w || !o->clipped || !o->unsup_direct)
        goto out;
    if (c->model == LLMOPT_OPE_MODEL_RIDGE) {
        o->ridge_a = calloc(k * c->d * c->d, sizeof(double));
        o->ridge_b = calloc(k * c->d, sizeof(double));
        if (!o->ridge_a || !o->ridge_b)
            goto out;
    }
    poisson_thresholds(o->thr);
    llmopt_rng_seed(&o->rng, c->seed);
    rc = LLMOPT_OK;
out:
    if (rc != LLMOPT_OK) {
        llmopt_ope_destroy(o);
        return llmopt_errf(rc, errstr, errstr_size, "ope: out of memory");
    }
    *out = o;
    return LLMOPT_OK;
}

static void stratum_free(stratum_tab *t) {
    free(t->keys);
    free(t->used);
    free(t->varies);
    free(t->data);
    memset(t, 0, sizeof(*t));
}

void llmopt_ope_destroy(llmopt_ope *o) {
    if (!o)
        return;
    free(o->c);
    free(o->N);
    free(o->S);
    free(o->X);
    free(o->SW);
    free(o->SWR);
    free(o->W);
    free(o->Pacc);
    free(o->seg0);
    free(o->last_pi);
    free(o->w);
    free(o->sum_w2);
    free(o->max_w);
    free(o->clipped);
    free(o->unsup_direct);
    free(o->ridge_a);
    free(o->ridge_b);
    stratum_free(&o->st);
    free(o);
}

uint64_t llmopt_ope_count(const llmopt_ope *o) { return o->n; }

static size_t stratum_stride(const llmopt_ope *o) {
    return (size_t)o->cfg.k * (1 + o->cfg.n_policies);
}

static uint64_t hash64(int64_t key) {
    uint64_t z = (uint64_t)key + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t stratum_probe(const stratum_tab *t, int64_t key) {
    size_t mask = t->cap - 1, i = (size_t)hash64(key) & mask;
    while (t->used[i] && t->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

/* Slot of `key`, creating it (mu unknown, no mass) if new; NULL on NOMEM. */
static double *stratum_get(llmopt_ope *o, int64_t key, size_t *slot_out) {
    stratum_tab *t = &o->st;
    size_t stride = stratum_stride(o);
    if (t->cap == 0 || (t->count + 1) * 2 > t->cap) {
        stratum_tab n = {0};
        n.cap = t->cap ? t->cap * 2 : 16;
        n.keys = calloc(n.cap, sizeof(int64_t));
        n.used = calloc(n.cap, 1);
        n.varies = calloc(n.cap, 1);
        n.data = calloc(n.cap * stride, sizeof(double));
        if (!n.keys || !n.used || !n.varies || !n.data) {
            stratum_free(&n);
            return NULL;
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->used[i])
                continue;
            size_t j = stratum_probe(&n, t->keys[i]);
            n.used[j] = 1;
            n.keys[j] = t->keys[i];
            n.varies[j] = t->varies[i];
            memcpy(n.data + j * stride, t->data + i * stride, stride * sizeof(double));
        }
        n.count = t->count;
        stratum_free(t);
        *t = n;
    }
    size_t i = stratum_probe(t, key);
    if (!t->used[i]) {
        t->used[i] = 1;
        t->keys[i] = key;
        t->count++;
        double *d = t->data + i * stride;
        for (uint32_t a = 0; a < o->cfg.k; a++)
            d[a] = NAN;
    }
    *slot_out = i;
    return t->data + i * stride;
}

llmopt_err_t llmopt_ope_observe(llmopt_ope *o, const llmopt_ope_event *ev, char *errstr,
                                size_t errstr_size) {
    const uint32_t k = o->cfg.k, P = o->cfg.n_policies, D = o->dim;
    const bool ridge = o->cfg.model == LLMOPT_OPE_MODEL_RIDGE;
    if (ev->arm >= k)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "arm %u outside 0..%u",
                           ev->arm, k - 1);
    if (!(ev->propensity > 0 && ev->propensity <= 1))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "propensity %g outside (0, 1]", ev->propensity);
    if (!(fabs(ev->reward) <= MAX_ABS_REWARD))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "reward %g is not a finite value within 1e12", ev->reward);
    if (!ev->pi)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "no candidate probabilities");
    if (ridge) {
        if (!ev->x)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "no context features");
        for (uint32_t j = 0; j < D; j++)
            if (!(fabs(ev->x[j]) <= MAX_ABS_X))
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                   "feature %u value %g is not finite within 1e6", j, ev->x[j]);
    }
    for (uint32_t p = 0; p < P; p++) {
        const double *pi = ev->pi + (size_t)p * k;
        double s = 0;
        for (uint32_t a = 0; a < k; a++) {
            if (!(pi[a] >= 0 && pi[a] <= 1))
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                   "policy %u: probability %g of arm %u outside [0, 1]", p, pi[a],
                                   a);
            s += pi[a];
        }
        if (fabs(s - 1) > PI_SUM_TOL)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "policy %u: probabilities sum to %.9g, not 1", p, s);
    }
    /* Support bookkeeping first: the only step that can fail (NOMEM). */
    size_t slot;
    double *sd;
    if (o->has_last_slot && o->last_stratum == ev->stratum) {
        slot = o->last_slot; /* versions come in long runs */
        sd = o->st.data + slot * stratum_stride(o);
    } else {
        sd = stratum_get(o, ev->stratum, &slot);
        if (!sd)
            return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "ope: out of memory");
        o->has_last_slot = true;
        o->last_stratum = ev->stratum;
        o->last_slot = slot;
    }
    if (isnan(sd[ev->arm]))
        sd[ev->arm] = ev->propensity;
    else if (fabs(sd[ev->arm] - ev->propensity) > MU_SAME_TOL)
        o->st.varies[slot] = 1;
    const bool certain = ev->propensity >= MU_ONE;
    for (uint32_t p = 0; p < P; p++) {
        const double *pi = ev->pi + (size_t)p * k;
        double *mass = sd + k + (size_t)p * k;
        if (certain) {
            /* mu = 1: every other arm had probability 0 at this event */
            o->unsup_direct[p] += 1 - pi[ev->arm];
            mass[ev->arm] += pi[ev->arm];
        } else {
            for (uint32_t a = 0; a < k; a++)
                mass[a] += pi[a];
        }
    }

    for (uint32_t p = 0; p < P; p++) {
        double w = ev->pi[(size_t)p * k + ev->arm] / ev->propensity;
        if (o->cfg.clip > 0 && w > o->cfg.clip) {
            w = o->cfg.clip;
            o->clipped[p]++;
        }
        o->w[p] = w;
        o->sum_w2[p] += w * w;
        if (w > o->max_w[p])
            o->max_w[p] = w;
    }
    if (ridge) {
        uint32_t d = o->cfg.d;
        double *A = o->ridge_a + (size_t)ev->arm * d * d, *b = o->ridge_b + (size_t)ev->arm * d;
        for (uint32_t i = 0; i < d; i++) {
            b[i] += ev->reward * ev->x[i];
            for (uint32_t j = 0; j < d; j++)
                A[i * d + j] += ev->x[i] * ev->x[j];
        }
    }
    static const double one = 1.0;
    const double *x = ridge ? ev->x : &one;
    const double r = ev->reward;
    const size_t R = o->R;
    double *restrict c = o->c;
    c[0] = 1;
    for (size_t b = 1; b < R; b++)
        c[b] = (double)poisson_fast(o->thr, llmopt_rng_u64(&o->rng));
    /* a new pi row closes the policy's segment (before X grows) */
    for (uint32_t p = 0; p < P; p++) {
        const double *pi = ev->pi + (size_t)p * k;
        double *lp = o->last_pi + (size_t)p * k;
        if (o->n > 0 && !memcmp(lp, pi, k * sizeof(double)))
            continue;
        double *seg = o->seg0 + (size_t)p * D * R;
        for (uint32_t a = 0; a < k; a++) {
            if (lp[a] == 0)
                continue;
            for (uint32_t j = 0; j < D; j++) {
                double *restrict pa = o->Pacc + (((size_t)p * k + a) * D + j) * R;
                const double *restrict xj = o->X + (size_t)j * R, *restrict sj = seg + (size_t)j * R;
                for (size_t b = 0; b < R; b++)
                    pa[b] += lp[a] * (xj[b] - sj[b]);
            }
        }
        memcpy(seg, o->X, D * R * sizeof(double));
        memcpy(lp, pi, k * sizeof(double));
    }
    {
        double *restrict N = o->N + (size_t)ev->arm * R, *restrict S = o->S + (size_t)ev->arm * R;
        for (size_t b = 0; b < R; b++) {
            N[b] += c[b];
            S[b] += c[b] * r;
        }
        for (uint32_t j = 0; j < D; j++) {
            double *restrict X = o->X + (size_t)j * R;
            const double xj = x[j];
            for (size_t b = 0; b < R; b++)
                X[b] += c[b] * xj;
        }
    }
    for (uint32_t p = 0; p < P; p++) {
        const double w = o->w[p], wr = w * r;
        if (w == 0)
            continue; /* zero contributions */
        double *restrict SW = o->SW + (size_t)p * R, *restrict SWR = o->SWR + (size_t)p * R;
        for (size_t b = 0; b < R; b++) {
            SW[b] += c[b] * w;
            SWR[b] += c[b] * wr;
        }
        for (uint32_t j = 0; j < D; j++) {
            double *restrict Wj = o->W + (((size_t)p * k + ev->arm) * D + j) * R;
            const double wx = w * x[j];
            for (size_t b = 0; b < R; b++)
                Wj[b] += c[b] * wx;
        }
    }
    o->n++;
    return LLMOPT_OK;
}

/* Solves (lambda I + A) theta = b by Cholesky, A symmetric PSD (d x d). */
static void ridge_solve(const double *A, const double *b, uint32_t d, double lambda,
                        double *L, double *theta) {
    for (uint32_t i = 0; i < d; i++)
        for (uint32_t j = 0; j < d; j++)
            L[i * d + j] = A[i * d + j] + (i == j ? lambda : 0);
    for (uint32_t j = 0; j < d; j++) {
        double s = L[j * d + j];
        for (uint32_t m = 0; m < j; m++)
            s -= L[j * d + m] * L[j * d + m];
        /* lambda > 0 keeps the matrix positive definite; guard rounding */
        L[j * d + j] = sqrt(s > lambda * 1e-12 ? s : lambda * 1e-12);
        for (uint32_t i = j + 1; i < d; i++) {
            double t = L[i * d + j];
            for (uint32_t m = 0; m < j; m++)
                t -= L[i * d + m] * L[j * d + m];
            L[i * d + j] = t / L[j * d + j];
        }
    }
    for (uint32_t i = 0; i < d; i++) { /* L y = b */
        double t = b[i];
        for (uint32_t m = 0; m < i; m++)
            t -= L[i * d + m] * theta[m];
        theta[i] = t / L[i * d + i];
    }
    for (uint32_t ii = d; ii-- > 0;) { /* L^T theta = y */
        double t = theta[ii];
        for (uint32_t m = ii + 1; m < d; m++)
            t -= L[m * d + ii] * theta[m];
        theta[ii] = t / L[ii * d + ii];
    }
}

double llmopt_ope_quantile_sorted(const double *sorted, size_t n, double q) {
    if (n == 0)
        return NAN;
    double h = q * (double)(n - 1);
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1)
        return sorted[n - 1];
    double f = h - (double)lo;
    return sorted[lo] + f * (sorted[lo + 1] - sorted[lo]);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Interval from the replicate values v[1..B] (NaN ones dropped); v[0] is
 * the full-data value. Sorts v[1..] in place. */
static void interval_of(const llmopt_ope *o, double *v, llmopt_ope_interval *out) {
    out->value = v[0];
    size_t m = 0;
    for (size_t b = 1; b < o->R; b++)
        if (!isnan(v[b]))
            v[1 + m++] = v[b];
    qsort(v + 1, m, sizeof(double), cmp_double);
    double tail = (1 - o->cfg.level) / 2;
    out->lo = llmopt_ope_quantile_sorted(v + 1, m, tail);
    out->hi = llmopt_ope_quantile_sorted(v + 1, m, 1 - tail);
}

llmopt_err_t llmopt_ope_logging_value(const llmopt_ope *o, llmopt_ope_interval *out) {
    const size_t R = o->R, k = o->cfg.k;
    double *v = malloc(R * sizeof(double));
    if (!v)
        return LLMOPT_ERR_NOMEM;
    for (size_t b = 0; b < R; b++) {
        double n = 0, sr = 0;
        for (size_t a = 0; a < k; a++) {
            n += o->N[a * R + b];
            sr += o->S[a * R + b];
        }
        v[b] = n > 0 ? sr / n : NAN;
    }
    interval_of(o, v, out);
    free(v);
    return LLMOPT_OK;
}

static void support_mass(const llmopt_ope *o, uint32_t p, double *unsup, double *unver) {
    const uint32_t k = o->cfg.k;
    const size_t stride = stratum_stride(o);
    double u = o->unsup_direct[p], v = 0;
    for (size_t i = 0; i < o->st.cap; i++) {
        if (!o->st.used[i])
            continue;
        const double *mu = o->st.data + i * stride;
        const double *mass = mu + k + (size_t)p * k;
        double known = 0;
        for (uint32_t a = 0; a < k; a++)
            if (!isnan(mu[a]))
                known += mu[a];
        bool complete = !o->st.varies[i] && known >= 1 - 1e-6;
        for (uint32_t a = 0; a < k; a++) {
            if (!isnan(mu[a]))
                continue;
            if (complete)
                u += mass[a];
            else
                v += mass[a];
        }
    }
    *unsup = o->n ? u / (double)o->n : 0;
    *unver = o->n ? v / (double)o->n : 0;
}

llmopt_err_t llmopt_ope_result_get(const llmopt_ope *o, uint32_t policy, llmopt_ope_result *out) {
    if (policy >= o->cfg.n_policies)
        return LLMOPT_ERR_RANGE;
    const size_t k = o->cfg.k, D = o->dim, R = o->R, p = policy;
    const bool ridge = o->cfg.model == LLMOPT_OPE_MODEL_RIDGE;
    llmopt_err_t rc = LLMOPT_ERR_NOMEM;
    double *ips = malloc(R * sizeof(double));
    double *snips = malloc(R * sizeof(double));
    double *dr = malloc(R * sizeof(double));
    double *theta = NULL, *L = NULL;
    if (!ips || !snips || !dr)
        goto out;
    if (ridge) {
        uint32_t d = o->cfg.d;
        theta = malloc(k * d * sizeof(double));
        L = malloc((size_t)d * d * sizeof(double));
        if (!theta || !L)
            goto out;
        for (size_t a = 0; a < k; a++)
            ridge_solve(o->ridge_a + a * d * d, o->ridge_b + a * d, d, o->cfg.ridge_lambda, L,
                        theta + a * d);
    }
    const double *lp = o->last_pi + p * k, *seg = o->seg0 + p * D * R;
    for (size_t b = 0; b < R; b++) {
        double n = 0, sr = 0;
        for (size_t a = 0; a < k; a++) {
            n += o->N[a * R + b];
            sr += o->S[a * R + b];
        }
        if (n <= 0) {
            ips[b] = snips[b] = dr[b] = NAN;
            continue;
        }
        const double sw = o->SW[p * R + b], swr = o->SWR[p * R + b];
        double model = 0;
        for (size_t a = 0; a < k; a++) {
            double m_mean = 0;
            if (!ridge) {
                double na = o->N[a * R + b];
                m_mean = na > 0 ? o->S[a * R + b] / na : sr / n;
            }
            for (size_t j = 0; j < D; j++) {
                const size_t at = ((p * k + a) * D + j) * R + b;
                /* P: closed segments plus the open one */
                double Paj = o->Pacc[at] + lp[a] * (o->X[j * R + b] - seg[j * R + b]);
                double coef = ridge ? theta[a * D + j] : m_mean;
                model += coef * (Paj - o->W[at]);
            }
        }
        ips[b] = swr / n;
        snips[b] = sw > 0 ? swr / sw : NAN;
        dr[b] = (model + swr) / n;
    }
    memset(out, 0, sizeof(*out));
    out->n = o->n;
    interval_of(o, ips, &out->ips);
    interval_of(o, snips, &out->snips);
    interval_of(o, dr, &out->dr);
    const double sw = o->SW[p * R];
    out->sum_w = sw;
    out->ess = o->sum_w2[p] > 0 ? sw * sw / o->sum_w2[p] : 0;
    out->max_w = o->max_w[p];
    out->clipped = o->clipped[p];
    support_mass(o, policy, &out->unsupported_mass, &out->unverified_mass);
    rc = LLMOPT_OK;
out:
    free(ips);
    free(snips);
    free(dr);
    free(theta);
    free(L);
    return rc;
}
