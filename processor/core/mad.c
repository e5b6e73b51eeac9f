/*
 * mad.c - median-absolute-deviation detector over a rolling window (see mad.h).
 */
#include "processor/core/mad.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/anomaly_window.h"

struct llmopt_mad {
    llmopt_mad_config cfg;
    uint64_t seen; /* values offered to update(), the next sample index */
    llmopt_anomaly_window win;
};

#define MAD_TAG "MADD"
#define MAD_VERSION 1

void llmopt_mad_config_default(llmopt_mad_config *c) {
    c->window = 30;
    c->threshold = 3.5;
    c->warmup = 30;
    c->guard = LLMOPT_ANOMALY_GUARD_SKIP;
    c->min_scale = 0.0;
}

llmopt_err_t llmopt_mad_config_check(const llmopt_mad_config *c, char *errstr,
                                     size_t errstr_size) {
    if (c->window < 3 || c->window > LLMOPT_ANOMALY_WINDOW_MAX)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'window' must be in [3, %u], got %u", LLMOPT_ANOMALY_WINDOW_MAX,
                           c->window);
    if (!(c->threshold > 0) || !isfinite(c->threshold))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'threshold' must be finite and > 0, got %g", c->threshold);
    if (c->warmup < 3 || c->warmup > c->window)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'warmup' must be in [3, window], got %u", c->warmup);
    if ((unsigned)c->guard > LLMOPT_ANOMALY_GUARD_CLIP)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "unknown 'guard' %d",
                           (int)c->guard);
    if (!(c->min_scale >= 0) || !isfinite(c->min_scale))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'min_scale' must be finite and >= 0, got %g", c->min_scale);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_mad_new(llmopt_mad **out, const llmopt_mad_config *c, char *errstr,
                            size_t errstr_size) {
    *out = NULL;
    llmopt_mad_config def;
    if (!c) {
        llmopt_mad_config_default(&def);
        c = &def;
    }
    llmopt_err_t e = llmopt_mad_config_check(c, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    llmopt_mad *d = calloc(1, sizeof(*d));
    if (!d)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "cannot allocate 'mad'");
    if (llmopt_anomaly_window_init(&d->win, c->window) != LLMOPT_OK) {
        free(d);
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size,
                           "cannot allocate 'mad' window of %u", c->window);
    }
    d->cfg = *c;
    *out = d;
    return LLMOPT_OK;
}

void llmopt_mad_destroy(llmopt_mad *d) {
    if (!d)
        return;
    llmopt_anomaly_window_release(&d->win);
    free(d);
}

void llmopt_mad_reset(llmopt_mad *d) {
    d->seen = 0;
    llmopt_anomaly_window_clear(&d->win);
}

const llmopt_mad_config *llmopt_mad_config_get(const llmopt_mad *d) {
    return &d->cfg;
}

llmopt_err_t llmopt_mad_update(llmopt_mad *d, double x, llmopt_anomaly_verdict *v) {
    if (!isfinite(x))
        return LLMOPT_ERR_INVALID;
    if (fabs(x) > LLMOPT_ANOMALY_VALUE_MAX || d->seen >= LLMOPT_ANOMALY_INDEX_MAX)
        return LLMOPT_ERR_RANGE;
    x += 0.0; /* -0.0 -> +0.0 */
    llmopt_anomaly_verdict vv;
    memset(&vv, 0, sizeof(vv));
    vv.index = d->seen++;
    vv.value = x;
    vv.threshold = d->cfg.threshold;
    vv.admitted = x;
    if (d->win.len < d->cfg.warmup) {
        vv.baseline = d->win.len ? llmopt_anomaly_window_median(&d->win) : NAN;
        vv.scale = vv.lower = vv.upper = NAN;
        llmopt_anomaly_window_push(&d->win, x);
        if (v)
            *v = vv;
        return LLMOPT_OK;
    }
    double med = llmopt_anomaly_window_median(&d->win);
    double scale = LLMOPT_MAD_SCALE * llmopt_anomaly_window_mad(&d->win, med);
    if (scale == 0)
        scale = LLMOPT_MAD_MEANAD_SCALE * llmopt_anomaly_window_meanad(&d->win, med);
    if (scale < d->cfg.min_scale)
        scale = d->cfg.min_scale;
    vv.ready = 1;
    vv.baseline = med;
    vv.scale = scale;
    vv.score = llmopt_anomaly_score(x, med, scale);
    vv.severity = fabs(vv.score);
    vv.direction = x > med ? 1 : (x < med ? -1 : 0);
    vv.lower = med - d->cfg.threshold * scale;
    vv.upper = med + d->cfg.threshold * scale;
    vv.is_anomaly = vv.severity > d->cfg.threshold;
    vv.level = llmopt_anomaly_level_of(vv.severity, d->cfg.threshold);
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

llmopt_err_t llmopt_mad_serialize(const llmopt_mad *d, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, MAD_TAG, MAD_VERSION);
    llmopt_wbuf_u32(w, d->cfg.window);
    llmopt_wbuf_f64(w, d->cfg.threshold);
    llmopt_wbuf_u32(w, d->cfg.warmup);
    llmopt_wbuf_u8(w, (uint8_t)d->cfg.guard);
    llmopt_wbuf_f64(w, d->cfg.min_scale);
    llmopt_wbuf_u64(w, d->seen);
    llmopt_anomaly_window_write(&d->win, w);
    return (llmopt_err_t)w->err;
}

llmopt_err_t llmopt_mad_deserialize(llmopt_mad **out, const void *data, size_t len,
                                    char *errstr, size_t errstr_size) {
    *out = NULL;
    llmopt_mad *d = NULL;
    llmopt_err_t e = LLMOPT_ERR_INVALID;
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, len);
    llmopt_rbuf_header(&r, MAD_TAG, MAD_VERSION);
    llmopt_mad_config c;
    c.window = llmopt_rbuf_u32(&r);
    c.threshold = llmopt_rbuf_f64(&r);
    c.warmup = llmopt_rbuf_u32(&r);
    uint8_t g = llmopt_rbuf_u8(&r);
    c.guard = (llmopt_anomaly_guard)g;
    c.min_scale = llmopt_rbuf_f64(&r);
    uint64_t seen = llmopt_rbuf_u64(&r);
    if (r.err) {
        e = llmopt_errf((llmopt_err_t)r.err, errstr, errstr_size, "bad 'mad' checkpoint: %s",
                        llmopt_err_name((llmopt_err_t)r.err));
        goto out;
    }
    if (g > LLMOPT_ANOMALY_GUARD_CLIP) {
        e = llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "unknown 'guard' %u", g);
        goto out;
    }
    e = llmopt_mad_config_check(&c, errstr, errstr_size);
    if (e != LLMOPT_OK)
        goto out;
    d = calloc(1, sizeof(*d));
    if (!d) {
        e = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "cannot allocate 'mad'");
        goto out;
    }
    d->cfg = c;
    d->seen = seen;
    e = llmopt_anomaly_window_read(&d->win, &r, c.window);
    if (e != LLMOPT_OK) {
        llmopt_errf(e, errstr, errstr_size, "bad 'mad' checkpoint window: %s",
                    llmopt_err_name(e));
        goto out;
    }
    if (d->win.cap != c.window || d->win.len > seen ||
        seen > LLMOPT_ANOMALY_INDEX_MAX) {
        e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "inconsistent 'mad' checkpoint window");
        goto out;
    }
    if (r.left) {
        e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "'mad' checkpoint has %zu trailing bytes", r.left);
        goto out;
    }
    *out = d;
    d = NULL;
    e = LLMOPT_OK;
out:
    llmopt_mad_destroy(d);
    return e;
}
