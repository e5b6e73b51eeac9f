/*
 * cusum.c - tabular (Gaussian) and Bernoulli log-likelihood-ratio CUSUM
 * (see cusum.h).
 */
#include "processor/core/cusum.h"

#include <math.h>
#include <string.h>

#define CUSUM_TAG "CUSM"
#define CUSUM_VERSION 1

llmopt_cusum_config llmopt_cusum_config_default(void) {
    llmopt_cusum_config c;
    memset(&c, 0, sizeof(c));
    c.kind = LLMOPT_CUSUM_GAUSSIAN;
    c.min_instances = 30;
    c.k = 0.5;
    c.h = 5.0;
    c.min_sigma = 0.0;
    c.odds_ratio = 2.0;
    c.h_llr = 10.0;
    c.relearn = 1;
    return c;
}

static int finite_ge(double v, double lo) {
    return isfinite(v) && v >= lo;
}

static llmopt_err_t validate(const llmopt_cusum_config *c, char *errstr, size_t n) {
    if (!c)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, n, "cusum config is null");
    if (c->kind != LLMOPT_CUSUM_GAUSSIAN && c->kind != LLMOPT_CUSUM_BERNOULLI)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, n, "cusum 'kind' %d unknown", (int)c->kind);
    if (c->min_instances < 2)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "cusum 'min_instances' must be >= 2");
    if (!finite_ge(c->k, 0.0))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "cusum 'k' %g not finite and >= 0", c->k);
    if (!finite_ge(c->h, 0.0) || c->h == 0.0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "cusum 'h' %g not finite and > 0", c->h);
    if (!finite_ge(c->min_sigma, 0.0))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "cusum 'min_sigma' %g not finite and >= 0",
                           c->min_sigma);
    if (!finite_ge(c->odds_ratio, 1.0) || c->odds_ratio == 1.0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "cusum 'odds_ratio' %g not finite and > 1",
                           c->odds_ratio);
    if (!finite_ge(c->h_llr, 0.0) || c->h_llr == 0.0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "cusum 'h_llr' %g not finite and > 0",
                           c->h_llr);
    if (c->relearn != 0 && c->relearn != 1)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, n, "cusum 'relearn' must be 0 or 1");
    return LLMOPT_OK;
}

static void clear_chart(llmopt_cusum *c) {
    c->sh = c->sl = 0.0;
    c->nh = c->nl = 0;
    c->hsum = c->lsum = 0.0;
}

static void to_warmup(llmopt_cusum *c) {
    c->warm_n = 0;
    c->warm_mean = c->warm_m2 = c->warm_sum = 0.0;
    c->frozen = 0;
    c->mu0 = c->sigma = 0.0;
    c->up_hit = c->up_miss = c->dn_hit = c->dn_miss = 0.0;
    clear_chart(c);
}

llmopt_err_t llmopt_cusum_init(llmopt_cusum *c, const llmopt_cusum_config *cfg,
                               char *errstr, size_t errstr_size) {
    memset(c, 0, sizeof(*c));
    llmopt_err_t e = validate(cfg, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    c->cfg = *cfg;
    to_warmup(c);
    return LLMOPT_OK;
}

void llmopt_cusum_reset(llmopt_cusum *c) {
    to_warmup(c);
    c->n_seen = 0;
    c->n_detections = 0;
}

/* v where m is all ones, +0.0 where m is zero */
static inline double mask_f64(double v, uint64_t m) {
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    b &= m;
    memcpy(&v, &b, sizeof(v));
    return v;
}

/* max(0, v) on the bits: a negative v (sign bit set, -0.0 included) gives
 * +0.0. fmax() is a libm call without -ffinite-math-only, and GCC turns the
 * plain `v > 0 ? v : 0` into a branch that mispredicts on in-control data.
 * (Unlike fmax, a NaN with a clear sign bit passes through; only overflowed
 * sums can be NaN, and then the chart is meaningless anyway.) */
static inline double clamp_nonneg(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    b &= (b >> 63) - 1;
    memcpy(&v, &b, sizeof(v));
    return v;
}

/* all ones when v (a max(0, .) result, never -0.0) is > 0: its bits are
 * nonzero exactly then; integer ops keep GCC from emitting a branch */
static inline uint64_t pos_mask(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return (uint64_t)0 - (uint64_t)(b != 0);
}

static double p_from_odds(double odds) {
    return odds / (1.0 + odds);
}

static void freeze(llmopt_cusum *c) {
    double n = (double)c->warm_n;
    if (c->cfg.kind == LLMOPT_CUSUM_GAUSSIAN) {
        c->mu0 = c->warm_mean;
        c->sigma = sqrt(c->warm_m2 / (n - 1.0));
        if (c->sigma < c->cfg.min_sigma)
            c->sigma = c->cfg.min_sigma;
    } else {
        double p0 = (c->warm_sum + 0.5) / (n + 1.0);
        double odds0 = p0 / (1.0 - p0);
        double p1 = p_from_odds(odds0 * c->cfg.odds_ratio);
        double q1 = p_from_odds(odds0 / c->cfg.odds_ratio);
        c->mu0 = p0;
        c->sigma = sqrt(p0 * (1.0 - p0));
        c->up_hit = log(p1 / p0);
        c->up_miss = log((1.0 - p1) / (1.0 - p0));
        c->dn_hit = log(q1 / p0);
        c->dn_miss = log((1.0 - q1) / (1.0 - p0));
    }
    c->frozen = 1;
}

int llmopt_cusum_update(llmopt_cusum *c, double x, llmopt_drift_detection *det) {
    uint64_t index = c->n_seen++;
    if (!isfinite(x))
        return 0;
    const int bern = c->cfg.kind == LLMOPT_CUSUM_BERNOULLI;
    if (bern)
        x = x != 0.0 ? 1.0 : 0.0;

    if (!c->frozen) {
        c->warm_n++;
        double d = x - c->warm_mean;
        c->warm_mean += d / (double)c->warm_n;
        c->warm_m2 += d * (x - c->warm_mean);
        c->warm_sum += x;
        if (c->warm_n >= c->cfg.min_instances)
            freeze(c);
        return 0;
    }

    double limit, inc_h, inc_l;
    if (bern) {
        inc_h = x != 0.0 ? c->up_hit : c->up_miss;
        inc_l = x != 0.0 ? c->dn_hit : c->dn_miss;
        limit = c->cfg.h_llr;
    } else {
        double kk = c->cfg.k * c->sigma;
        inc_h = x - (c->mu0 + kk);
        inc_l = (c->mu0 - kk) - x;
        limit = c->cfg.h * c->sigma;
    }
    c->sh = clamp_nonneg(inc_h + c->sh);
    c->sl = clamp_nonneg(inc_l + c->sl);
    /* Run lengths and sums through bit masks, not branches: on in-control
     * data the sign of a side flips at random and branches mispredict. */
    uint64_t mh = pos_mask(c->sh), ml = pos_mask(c->sl);
    c->nh = (c->nh + 1) & mh;
    c->hsum = mask_f64(c->hsum + x, mh);
    c->nl = (c->nl + 1) & ml;
    c->lsum = mask_f64(c->lsum + x, ml);

    int up = c->sh > limit, down = c->sl > limit;
    if (!up && !down)
        return 0;
    if (up && down) /* only possible with a zero sigma or h: take the larger */
        up = c->sh >= c->sl;

    c->n_detections++;
    if (det) {
        double after;
        if (bern)
            after = up ? c->hsum / (double)c->nh : c->lsum / (double)c->nl;
        else if (up)
            after = c->mu0 + c->cfg.k * c->sigma + c->sh / (double)c->nh;
        else
            after = c->mu0 - c->cfg.k * c->sigma - c->sl / (double)c->nl;
        det->direction = up ? LLMOPT_DRIFT_UP : LLMOPT_DRIFT_DOWN;
        det->estimate_before = c->mu0;
        det->estimate_after = after;
        det->sample_index = index;
    }
    if (c->cfg.relearn)
        to_warmup(c);
    else
        clear_chart(c);
    return 1;
}

int llmopt_cusum_ready(const llmopt_cusum *c) {
    return c->frozen;
}

double llmopt_cusum_mu0(const llmopt_cusum *c) {
    return c->mu0;
}

double llmopt_cusum_sigma(const llmopt_cusum *c) {
    return c->sigma;
}

double llmopt_cusum_upper(const llmopt_cusum *c) {
    return c->sh;
}

double llmopt_cusum_lower(const llmopt_cusum *c) {
    return c->sl;
}

uint64_t llmopt_cusum_detections(const llmopt_cusum *c) {
    return c->n_detections;
}

void llmopt_cusum_serialize(const llmopt_cusum *c, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, CUSUM_TAG, CUSUM_VERSION);
    llmopt_wbuf_u8(w, (uint8_t)c->cfg.kind);
    llmopt_wbuf_u32(w, c->cfg.min_instances);
    llmopt_wbuf_f64(w, c->cfg.k);
    llmopt_wbuf_f64(w, c->cfg.h);
    llmopt_wbuf_f64(w, c->cfg.min_sigma);
    llmopt_wbuf_f64(w, c->cfg.odds_ratio);
    llmopt_wbuf_f64(w, c->cfg.h_llr);
    llmopt_wbuf_u8(w, (uint8_t)c->cfg.relearn);
    llmopt_wbuf_u64(w, c->warm_n);
    llmopt_wbuf_f64(w, c->warm_mean);
    llmopt_wbuf_f64(w, c->warm_m2);
    llmopt_wbuf_f64(w, c->warm_sum);
    llmopt_wbuf_u8(w, (uint8_t)c->frozen);
    llmopt_wbuf_f64(w, c->mu0);
    llmopt_wbuf_f64(w, c->sigma);
    llmopt_wbuf_f64(w, c->up_hit);
    llmopt_wbuf_f64(w, c->up_miss);
    llmopt_wbuf_f64(w, c->dn_hit);
    llmopt_wbuf_f64(w, c->dn_miss);
    llmopt_wbuf_f64(w, c->sh);
    llmopt_wbuf_f64(w, c->sl);
    llmopt_wbuf_u64(w, c->nh);
    llmopt_wbuf_u64(w, c->nl);
    llmopt_wbuf_f64(w, c->hsum);
    llmopt_wbuf_f64(w, c->lsum);
    llmopt_wbuf_u64(w, c->n_seen);
    llmopt_wbuf_u64(w, c->n_detections);
}

llmopt_err_t llmopt_cusum_deserialize(llmopt_cusum *c, llmopt_rbuf *r,
                                      char *errstr, size_t errstr_size) {
    llmopt_cusum s;
    memset(&s, 0, sizeof(s));
    if (llmopt_rbuf_header(r, CUSUM_TAG, CUSUM_VERSION) == 0)
        return llmopt_errf(r->err == LLMOPT_ERR_TRUNCATED ? LLMOPT_ERR_TRUNCATED : LLMOPT_ERR_INVALID,
                           errstr, errstr_size, "cusum state has a bad header");
    s.cfg.kind = (llmopt_cusum_kind)llmopt_rbuf_u8(r);
    s.cfg.min_instances = llmopt_rbuf_u32(r);
    s.cfg.k = llmopt_rbuf_f64(r);
    s.cfg.h = llmopt_rbuf_f64(r);
    s.cfg.min_sigma = llmopt_rbuf_f64(r);
    s.cfg.odds_ratio = llmopt_rbuf_f64(r);
    s.cfg.h_llr = llmopt_rbuf_f64(r);
    s.cfg.relearn = llmopt_rbuf_u8(r);
    s.warm_n = llmopt_rbuf_u64(r);
    s.warm_mean = llmopt_rbuf_f64(r);
    s.warm_m2 = llmopt_rbuf_f64(r);
    s.warm_sum = llmopt_rbuf_f64(r);
    s.frozen = llmopt_rbuf_u8(r);
    s.mu0 = llmopt_rbuf_f64(r);
    s.sigma = llmopt_rbuf_f64(r);
    s.up_hit = llmopt_rbuf_f64(r);
    s.up_miss = llmopt_rbuf_f64(r);
    s.dn_hit = llmopt_rbuf_f64(r);
    s.dn_miss = llmopt_rbuf_f64(r);
    s.sh = llmopt_rbuf_f64(r);
    s.sl = llmopt_rbuf_f64(r);
    s.nh = llmopt_rbuf_u64(r);
    s.nl = llmopt_rbuf_u64(r);
    s.hsum = llmopt_rbuf_f64(r);
    s.lsum = llmopt_rbuf_f64(r);
    s.n_seen = llmopt_rbuf_u64(r);
    s.n_detections = llmopt_rbuf_u64(r);
    if (r->err)
        return llmopt_errf(r->err == LLMOPT_ERR_TRUNCATED ? LLMOPT_ERR_TRUNCATED : LLMOPT_ERR_INVALID,
                           errstr, errstr_size, "cusum state truncated");
    if (validate(&s.cfg, errstr, errstr_size) != LLMOPT_OK)
        return LLMOPT_ERR_INVALID;
    /* Sums are kept as they are (huge inputs may overflow them); only the
     * phase structure must be consistent: warm-up ends exactly when
     * min_instances samples have been seen. */
    if ((s.frozen != 0 && s.frozen != 1) || s.warm_n > s.cfg.min_instances ||
        (!s.frozen && s.warm_n == s.cfg.min_instances) || s.sigma < 0.0)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "cusum state inconsistent");
    *c = s;
    return LLMOPT_OK;
}
