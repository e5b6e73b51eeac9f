/*
 * iqr.c - Tukey-fence detector over a rolling window (see iqr.h).
 */
#include "processor/core/iqr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/anomaly_window.h"

struct llmopt_iqr {
    llmopt_iqr_config cfg;
    uint64_t seen; /* values offered to update(), the next sample index */
    llmopt_anomaly_window win;
};

#define IQR_TAG "IQRF"
#define IQR_VERSION 1

void llmopt_iqr_config_default(llmopt_iqr_config *c) {
    c->window = 30;
    c->k = 1.5;
    c->warmup = 30;
    c->guard = LLMOPT_ANOMALY_GUARD_SKIP;
    c->min_scale = 0.0;
}

llmopt_err_t llmopt_iqr_config_check(const llmopt_iqr_config *c, char *errstr,
                                     size_t errstr_size) {
    if (c->window < 4 || c->window > LLMOPT_ANOMALY_WINDOW_MAX)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'window' must be in [4, %u], got %u", LLMOPT_ANOMALY_WINDOW_MAX,
                           c->window);
    if (!(c->k > 0) || !isfinite(c->k))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'k' must be finite and > 0, got %g", c->k);
    if (c->warmup < 4 || c->warmup > c->window)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'warmup' must be in [4, window], got %u", c->warmup);
    if ((unsigned)c->guard > LLMOPT_ANOMALY_GUARD_CLIP)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "unknown 'guard' %d",
                           (int)c->guard);
    if (!(c->min_scale >= 0) || !isfinite(c->min_scale))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'min_scale' must be finite and >= 0, got %g", c->min_scale);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_iqr_new(llmopt_iqr **out, const llmopt_iqr_config *c, char *errstr,
                            size_t errstr_size) {
    *out = NULL;
    llmopt_iqr_config def;
    if (!c) {
        llmopt_iqr_config_default(&def);
        c = &def;
    }
    llmopt_err_t e = llmopt_iqr_config_check(c, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    llmopt_iqr *d = calloc(1, sizeof(*d));
    if (!d)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "cannot allocate 'iqr'");
    if (llmopt_anomaly_window_init(&d->win, c->window) != LLMOPT_OK) {
        free(d);
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size,
                           "cannot allocate 'iqr' window of %u", c->window);
    }
    d->cfg = *c;
    *out = d;
    return LLMOPT_OK;
}

void llmopt_iqr_destroy(llmopt_iqr *d) {
    if (!d)
        return;
    llmopt_anomaly_window_release(&d->win);
    free(d);
}

void llmopt_iqr_reset(llmopt_iqr *d) {
    d->seen = 0;
    llmopt_anomaly_window_clear(&d->win);
}

const llmopt_iqr_config *llmopt_iqr_config_get(const llmopt_iqr *d) {
    return &d->cfg;
}

llmopt_err_t llmopt_iqr_update(llmopt_iqr *d, double x, llmopt_anomaly_verdict *v) {
    if (!isfinite(x))
        return LLMOPT_ERR_INVALID;
    if (fabs(x) > LLMOPT_ANOMALY_VALUE_MAX || d->seen >= LLMOPT_ANOMALY_INDEX_MAX)
        return LLMOPT_ERR_RANGE;
    x += 0.0; /* -0.0 -> +0.0 */
    llmopt_anomaly_verdict vv;
    memset(&vv, 0, sizeof(vv));
    vv.index = d->seen++;
    vv.value = x;
    vv.threshold = d->cfg.k;
    vv.admitted = x;
    if (d->win.len < d->cfg.warmup) {
        vv.baseline = d->win.len ? llmopt_anomaly_window_median(&d->win) : NAN;
        vv.scale = vv.lower = vv.upper = NAN;
        llmopt_anomaly_window_push(&d->win, x);
        if (v)
            *v = vv;
        return LLMOPT_OK;
    }
    double q1 = llmopt_anomaly_window_quantile(&d->win, 0.25);
    double q3 = llmopt_anomaly_window_quantile(&d->win, 0.75);
    double med = llmopt_anomaly_window_median(&d->win);
    double iqr = q3 - q1;
    if (iqr < d->cfg.min_scale)
        iqr = d->cfg.min_scale;
    vv.ready = 1;
    vv.baseline = med;
    vv.scale = iqr;
    if (x > q3)
        vv.score = llmopt_anomaly_score(x, q3, iqr);
    else if (x < q1)
        vv.score = llmopt_anomaly_score(x, q1, iqr);
    else
        vv.score = 0.0;
    vv.severity = fabs(vv.score);
    vv.direction = x > med ? 1 : (x < med ? -1 : 0);
    vv.lower = q1 - d->cfg.k * iqr;
    vv.upper = q3 + d->cfg.k * iqr;
    vv.is_anomaly = vv.severity > d->cfg.k;
    vv.level = llmopt_anomaly_level_of(vv.severity, d->cfg.k);
    if (vv.is_anomaly) {
        switch (d->cfg.guard) {
        case LLMOPT_ANOMALY_GUARD_INCLUDE: break;
        case LLMOPT_ANOMALY_GUARD_SKIP: vv.admitted = NAN; break;
        case LLMOPT_ANOMALY_GUARD_CLIP:
            vv.admitted = (vv.score > 0 ? vv.upper : vv.lower) + 0.0;
            break;
        }
    }
    if (!isnan(vv.admitted))
        llmopt_anomaly_window_push(&d->win, vv.admitted);
    if (v)
        *v = vv;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_iqr_serialize(const llmopt_iqr *d, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, IQR_TAG, IQR_VERSION);
    llmopt_wbuf_u32(w, d->cfg.window);
    llmopt_wbuf_f64(w, d->cfg.k);
    llmopt_wbuf_u32(w, d->cfg.warmup);
    llmopt_wbuf_u8(w, (uint8_t)d->cfg.guard);
    llmopt_wbuf_f64(w, d->cfg.min_scale);
    llmopt_wbuf_u64(w, d->seen);
    llmopt_anomaly_window_write(&d->win, w);
    return (llmopt_err_t)w->err;
}

llmopt_err_t llmopt_iqr_deserialize(llmopt_iqr **out, const void *data, size_t len,
                                    char *errstr, size_t errstr_size) {
    *out = NULL;
    llmopt_iqr *d = NULL;
    llmopt_err_t e = LLMOPT_ERR_INVALID;
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, len);
    llmopt_rbuf_header(&r, IQR_TAG, IQR_VERSION);
    llmopt_iqr_config c;
    c.window = llmopt_rbuf_u32(&r);
    c.k = llmopt_rbuf_f64(&r);
    c.warmup = llmopt_rbuf_u32(&r);
    uint8_t g = llmopt_rbuf_u8(&r);
    c.guard = (llmopt_anomaly_guard)g;
    c.min_scale = llmopt_rbuf_f64(&r);
    uint64_t seen = llmopt_rbuf_u64(&r);
    if (r.err) {
        e = llmopt_errf((llmopt_err_t)r.err, errstr, errstr_size, "bad 'iqr' checkpoint: %s",
                        llmopt_err_name((llmopt_err_t)r.err));
        goto out;
    }
    if (g > LLMOPT_ANOMALY_GUARD_CLIP) {
        e = llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "unknown 'guard' %u", g);
        goto out;
    }
    e = llmopt_iqr_config_check(&c, errstr, errstr_size);
    if (e != LLMOPT_OK)
        goto out;
    d = calloc(1, sizeof(*d));
    if (!d) {
        e = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "cannot allocate 'iqr'");
        goto out;
    }
    d->cfg = c;
    d->seen = seen;
    e = llmopt_anomaly_window_read(&d->win, &r, c.window);
    if (e != LLMOPT_OK) {
        llmopt_errf(e, errstr, errstr_size, "bad 'iqr' checkpoint window: %s",
                    llmopt_err_name(e));
        goto out;
    }
    if (d->win.cap != c.window || d->win.len > seen ||
        seen > LLMOPT_ANOMALY_INDEX_MAX) {
        e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "inconsistent 'iqr' checkpoint window");
        goto out;
    }
    if (r.left) {
        e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "'iqr' checkpoint has %zu trailing bytes", r.left);
        goto out;
    }
    *out = d;
    d = NULL;
    e = LLMOPT_OK;
out:
    llmopt_iqr_destroy(d);
    return e;
}
