/*
 * zscore.c - EWMA z-score detector (see zscore.h).
 */
#include "processor/core/zscore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct llmopt_zscore {
    llmopt_zscore_config cfg;
    uint64_t seen;   /* values offered to update(), the next sample index */
    uint64_t nbase;  /* values that entered the baseline */
    double mean;     /* EWMA mean; 0 while nbase == 0 */
    double var;      /* EWMA variance, >= 0; 0 while nbase <= 1 */
};

#define ZSCORE_TAG "ZSCR"
#define ZSCORE_VERSION 1

void llmopt_zscore_config_default(llmopt_zscore_config *c) {
    c->alpha = 0.1;
    c->threshold = 3.0;
    c->warmup = 10;
    c->guard = LLMOPT_ANOMALY_GUARD_SKIP;
    c->min_scale = 0.0;
}

llmopt_err_t llmopt_zscore_config_check(const llmopt_zscore_config *c, char *errstr,
                                        size_t errstr_size) {
    if (!(c->alpha > 0 && c->alpha < 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'alpha' must be in (0, 1), got %g", c->alpha);
    if (!(c->threshold > 0) || !isfinite(c->threshold))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'threshold' must be finite and > 0, got %g", c->threshold);
    if (c->warmup < 2)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'warmup' must be >= 2, got %u", c->warmup);
    if ((unsigned)c->guard > LLMOPT_ANOMALY_GUARD_CLIP)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "unknown 'guard' %d",
                           (int)c->guard);
    if (!(c->min_scale >= 0) || !isfinite(c->min_scale))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'min_scale' must be finite and >= 0, got %g", c->min_scale);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_zscore_new(llmopt_zscore **out, const llmopt_zscore_config *c,
                               char *errstr, size_t errstr_size) {
    *out = NULL;
    llmopt_zscore_config def;
    if (!c) {
        llmopt_zscore_config_default(&def);
        c = &def;
    }
    llmopt_err_t e = llmopt_zscore_config_check(c, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    llmopt_zscore *z = calloc(1, sizeof(*z));
    if (!z)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "cannot allocate 'zscore'");
    z->cfg = *c;
    *out = z;
    return LLMOPT_OK;
}

void llmopt_zscore_destroy(llmopt_zscore *z) {
    free(z);
}

void llmopt_zscore_reset(llmopt_zscore *z) {
    z->seen = 0;
    z->nbase = 0;
    z->mean = 0;
    z->var = 0;
}

const llmopt_zscore_config *llmopt_zscore_config_get(const llmopt_zscore *z) {
    return &z->cfg;
}

static void absorb(llmopt_zscore *z, double x) {
    if (z->nbase == 0) {
        z->mean = x;
        z->var = 0;
    } else {
        double a = z->cfg.alpha;
        double d = x - z->mean;
        double incr = a * d;
        z->mean = z->mean + incr;
        z->var = (1.0 - a) * (z->var + d * incr);
    }
    z->nbase++;
}

llmopt_err_t llmopt_zscore_update(llmopt_zscore *z, double x, llmopt_anomaly_verdict *v) {
    if (!isfinite(x))
        return LLMOPT_ERR_INVALID;
    if (fabs(x) > LLMOPT_ANOMALY_VALUE_MAX || z->seen >= LLMOPT_ANOMALY_INDEX_MAX)
        return LLMOPT_ERR_RANGE;
    x += 0.0; /* -0.0 -> +0.0 */
    llmopt_anomaly_verdict vv;
    memset(&vv, 0, sizeof(vv));
    vv.index = z->seen++;
    vv.value = x;
    vv.threshold = z->cfg.threshold;
    vv.admitted = x;
    if (z->nbase < z->cfg.warmup) {
        vv.baseline = z->nbase ? z->mean : NAN;
        vv.scale = vv.lower = vv.upper = NAN;
        absorb(z, x);
        if (v)
            *v = vv;
        return LLMOPT_OK;
    }
    double sigma = sqrt(z->var);
    if (sigma < z->cfg.min_scale)
        sigma = z->cfg.min_scale;
    vv.ready = 1;
    vv.baseline = z->mean;
    vv.scale = sigma;
    vv.score = llmopt_anomaly_score(x, z->mean, sigma);
    vv.severity = fabs(vv.score);
    vv.direction = x > z->mean ? 1 : (x < z->mean ? -1 : 0);
    vv.lower = z->mean - z->cfg.threshold * sigma;
    vv.upper = z->mean + z->cfg.threshold * sigma;
    vv.is_anomaly = vv.severity > z->cfg.threshold;
    vv.level = llmopt_anomaly_level_of(vv.severity, z->cfg.threshold);
    if (vv.is_anomaly) {
        switch (z->cfg.guard) {
        case LLMOPT_ANOMALY_GUARD_INCLUDE: break;
        case LLMOPT_ANOMALY_GUARD_SKIP: vv.admitted = NAN; break;
        case LLMOPT_ANOMALY_GUARD_CLIP: vv.admitted = vv.direction > 0 ? vv.upper : vv.lower; break;
        }
    }
    if (!isnan(vv.admitted))
        absorb(z, vv.admitted + 0.0);
    if (v)
        *v = vv;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_zscore_serialize(const llmopt_zscore *z, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, ZSCORE_TAG, ZSCORE_VERSION);
    llmopt_wbuf_f64(w, z->cfg.alpha);
    llmopt_wbuf_f64(w, z->cfg.threshold);
    llmopt_wbuf_u32(w, z->cfg.warmup);
    llmopt_wbuf_u8(w, (uint8_t)z->cfg.guard);
    llmopt_wbuf_f64(w, z->cfg.min_scale);
    llmopt_wbuf_u64(w, z->seen);
    llmopt_wbuf_u64(w, z->nbase);
    llmopt_wbuf_f64(w, z->mean);
    llmopt_wbuf_f64(w, z->var);
    return (llmopt_err_t)w->err;
}

llmopt_err_t llmopt_zscore_deserialize(llmopt_zscore **out, const void *data, size_t len,
                                       char *errstr, size_t errstr_size) {
    *out = NULL;
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, len);
    llmopt_rbuf_header(&r, ZSCORE_TAG, ZSCORE_VERSION);
    llmopt_zscore_config c;
    c.alpha = llmopt_rbuf_f64(&r);
    c.threshold = llmopt_rbuf_f64(&r);
    c.warmup = llmopt_rbuf_u32(&r);
    uint8_t g = llmopt_rbuf_u8(&r);
    c.guard = (llmopt_anomaly_guard)g;
    c.min_scale = llmopt_rbuf_f64(&r);
    uint64_t seen = llmopt_rbuf_u64(&r);
    uint64_t nbase = llmopt_rbuf_u64(&r);
    double mean = llmopt_rbuf_f64(&r);
    double var = llmopt_rbuf_f64(&r);
    if (r.err)
        return llmopt_errf((llmopt_err_t)r.err, errstr, errstr_size,
                           "bad 'zscore' checkpoint: %s", llmopt_err_name((llmopt_err_t)r.err));
    if (r.left)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "'zscore' checkpoint has %zu trailing bytes", r.left);
    if (g > LLMOPT_ANOMALY_GUARD_CLIP)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "unknown 'guard' %u", g);
    llmopt_err_t e = llmopt_zscore_config_check(&c, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    int ok = seen <= LLMOPT_ANOMALY_INDEX_MAX && nbase <= seen &&
             fabs(mean) <= LLMOPT_ANOMALY_VALUE_MAX && isfinite(var) && var >= 0 &&
             var <= 4 * LLMOPT_ANOMALY_VALUE_MAX * LLMOPT_ANOMALY_VALUE_MAX &&
             !(mean == 0 && signbit(mean)) && !(var == 0 && signbit(var)) &&
             (nbase > 1 || var == 0) && (nbase > 0 || mean == 0);
    if (!ok)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "inconsistent 'zscore' checkpoint state");
    e = llmopt_zscore_new(out, &c, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    (*out)->seen = seen;
    (*out)->nbase = nbase;
    (*out)->mean = mean;
    (*out)->var = var;
    return LLMOPT_OK;
}
