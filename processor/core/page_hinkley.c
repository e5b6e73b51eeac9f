/*
 * page_hinkley.c - Page-Hinkley change detector (see page_hinkley.h).
 * Expressions keep River's evaluation order so results are bit-identical.
 */
#include "processor/core/page_hinkley.h"

#include <math.h>
#include <string.h>

#define PH_TAG "PGHK"
#define PH_VERSION 1

llmopt_ph_config llmopt_ph_config_default(void) {
    llmopt_ph_config c;
    memset(&c, 0, sizeof(c));
    c.min_instances = 30;
    c.delta = 0.005;
    c.threshold = 50.0;
    c.alpha = 1.0 - 0.0001;
    c.mode = LLMOPT_PH_BOTH;
    return c;
}

/* v where m is all ones, +0.0 where m is zero */
static inline double mask_f64(double v, uint64_t m) {
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    b &= m;
    memcpy(&v, &b, sizeof(v));
    return v;
}

static llmopt_err_t validate(const llmopt_ph_config *c, char *errstr, size_t n) {
    if (!c)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, n, "page-hinkley config is null");
    if (c->min_instances < 1)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "page-hinkley 'min_instances' must be >= 1");
    if (!(c->delta >= 0.0) || !isfinite(c->delta))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "page-hinkley 'delta' %g not finite and >= 0",
                           c->delta);
    if (!(c->threshold > 0.0) || !isfinite(c->threshold))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "page-hinkley 'threshold' %g not finite and > 0",
                           c->threshold);
    if (!(c->alpha > 0.0 && c->alpha <= 1.0))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "page-hinkley 'alpha' %g not in (0, 1]", c->alpha);
    if (c->mode != LLMOPT_PH_UP && c->mode != LLMOPT_PH_DOWN && c->mode != LLMOPT_PH_BOTH)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, n, "page-hinkley 'mode' %d unknown", (int)c->mode);
    return LLMOPT_OK;
}

static void restart(llmopt_ph *p) {
    p->n = 0.0;
    p->mean = 0.0;
    p->sum_inc = 0.0;
    p->sum_dec = 0.0;
    p->min_inc = INFINITY;
    p->max_dec = -1.0; /* River starts it at -1, not -inf */
    p->total = 0.0;
    p->inc_sum = p->dec_sum = 0.0;
    p->inc_n = p->dec_n = 0;
}

llmopt_err_t llmopt_ph_init(llmopt_ph *p, const llmopt_ph_config *cfg,
                            char *errstr, size_t errstr_size) {
    memset(p, 0, sizeof(*p));
    llmopt_err_t e = validate(cfg, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    p->cfg = *cfg;
    restart(p);
    return LLMOPT_OK;
}

void llmopt_ph_reset(llmopt_ph *p) {
    restart(p);
    p->n_seen = 0;
    p->n_detections = 0;
}

int llmopt_ph_update(llmopt_ph *p, double x, llmopt_drift_detection *det) {
    uint64_t index = p->n_seen++;
    if (!isfinite(x))
        return 0;

    /* locals, so the compiler keeps one load and one store per field */
    double n = p->n + 1.0;
    double mean = p->mean + (1.0 / n) * (x - p->mean);
    double dev = x - mean;
    double si = p->cfg.alpha * p->sum_inc + dev - p->cfg.delta;
    double sd = p->cfg.alpha * p->sum_dec + dev + p->cfg.delta;
    p->n = n;
    p->mean = mean;
    p->sum_inc = si;
    p->sum_dec = sd;
    p->total += x;

    /* Ties move the change-point estimate to the latest extreme; the extreme
     * itself is River's (strict comparison). Written with bit masks, not
     * branches: on a stationary stream new extremes come at random and
     * mispredictions would dominate the cost of an update. */
    double mi = p->min_inc, md = p->max_dec;
    uint64_t keep_inc = (uint64_t)(si <= mi) - 1; /* 0 on a new min */
    mi = si < mi ? si : mi;
    p->min_inc = mi;
    p->inc_sum = mask_f64(p->inc_sum + x, keep_inc);
    p->inc_n = (p->inc_n + 1) & keep_inc;
    uint64_t keep_dec = (uint64_t)(sd >= md) - 1; /* 0 on a new max */
    md = sd > md ? sd : md;
    p->max_dec = md;
    p->dec_sum = mask_f64(p->dec_sum + x, keep_dec);
    p->dec_n = (p->dec_n + 1) & keep_dec;

    double t_inc = si - mi;
    double t_dec = md - sd;
    int up = ((p->cfg.mode & LLMOPT_PH_UP) != 0) & (t_inc > p->cfg.threshold);
    int down = ((p->cfg.mode & LLMOPT_PH_DOWN) != 0) & (t_dec > p->cfg.threshold);
    /* one predictable branch: warm-up or no alarm */
    if (!((up | down) & (n >= (double)p->cfg.min_instances)))
        return 0;
    if (up && down) {
        up = t_inc >= t_dec;
        down = !up;
    }

    p->n_detections++;
    if (det) {
        double s = up ? p->inc_sum : p->dec_sum;
        uint64_t k = up ? p->inc_n : p->dec_n;
        double after = k ? s / (double)k : x;
        double nb = p->n - (double)k;
        double before = nb > 0.0 ? (p->total - s) / nb : p->mean;
        det->direction = up ? LLMOPT_DRIFT_UP : LLMOPT_DRIFT_DOWN;
        det->estimate_before = before;
        det->estimate_after = after;
        det->sample_index = index;
    }
    restart(p);
    return 1;
}

double llmopt_ph_mean(const llmopt_ph *p) {
    return p->mean;
}

uint64_t llmopt_ph_detections(const llmopt_ph *p) {
    return p->n_detections;
}

void llmopt_ph_serialize(const llmopt_ph *p, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, PH_TAG, PH_VERSION);
    llmopt_wbuf_u32(w, p->cfg.min_instances);
    llmopt_wbuf_f64(w, p->cfg.delta);
    llmopt_wbuf_f64(w, p->cfg.threshold);
    llmopt_wbuf_f64(w, p->cfg.alpha);
    llmopt_wbuf_u8(w, (uint8_t)p->cfg.mode);
    llmopt_wbuf_f64(w, p->n);
    llmopt_wbuf_f64(w, p->mean);
    llmopt_wbuf_f64(w, p->sum_inc);
    llmopt_wbuf_f64(w, p->sum_dec);
    llmopt_wbuf_f64(w, p->min_inc);
    llmopt_wbuf_f64(w, p->max_dec);
    llmopt_wbuf_f64(w, p->total);
    llmopt_wbuf_f64(w, p->inc_sum);
    llmopt_wbuf_f64(w, p->dec_sum);
    llmopt_wbuf_u64(w, p->inc_n);
    llmopt_wbuf_u64(w, p->dec_n);
    llmopt_wbuf_u64(w, p->n_seen);
    llmopt_wbuf_u64(w, p->n_detections);
}

llmopt_err_t llmopt_ph_deserialize(llmopt_ph *p, llmopt_rbuf *r,
                                   char *errstr, size_t errstr_size) {
    llmopt_ph s;
    memset(&s, 0, sizeof(s));
    if (llmopt_rbuf_header(r, PH_TAG, PH_VERSION) == 0)
        return llmopt_errf(r->err == LLMOPT_ERR_TRUNCATED ? LLMOPT_ERR_TRUNCATED : LLMOPT_ERR_INVALID,
                           errstr, errstr_size, "page-hinkley state has a bad header");
    s.cfg.min_instances = llmopt_rbuf_u32(r);
    s.cfg.delta = llmopt_rbuf_f64(r);
    s.cfg.threshold = llmopt_rbuf_f64(r);
    s.cfg.alpha = llmopt_rbuf_f64(r);
    s.cfg.mode = (llmopt_ph_mode)llmopt_rbuf_u8(r);
    s.n = llmopt_rbuf_f64(r);
    s.mean = llmopt_rbuf_f64(r);
    s.sum_inc = llmopt_rbuf_f64(r);
    s.sum_dec = llmopt_rbuf_f64(r);
    s.min_inc = llmopt_rbuf_f64(r);
    s.max_dec = llmopt_rbuf_f64(r);
    s.total = llmopt_rbuf_f64(r);
    s.inc_sum = llmopt_rbuf_f64(r);
    s.dec_sum = llmopt_rbuf_f64(r);
    s.inc_n = llmopt_rbuf_u64(r);
    s.dec_n = llmopt_rbuf_u64(r);
    s.n_seen = llmopt_rbuf_u64(r);
    s.n_detections = llmopt_rbuf_u64(r);
    if (r->err)
        return llmopt_errf(r->err == LLMOPT_ERR_TRUNCATED ? LLMOPT_ERR_TRUNCATED : LLMOPT_ERR_INVALID,
                           errstr, errstr_size, "page-hinkley state truncated");
    if (validate(&s.cfg, errstr, errstr_size) != LLMOPT_OK)
        return LLMOPT_ERR_INVALID;
    /* Sums may be non-finite (huge inputs overflow them) and are kept as
     * they are; update() only needs n to be a count. */
    if (!(s.n >= 0.0) || !isfinite(s.n))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "page-hinkley sample count out of range");
    *p = s;
    return LLMOPT_OK;
}
