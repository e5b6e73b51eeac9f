/*
 * anomaly_windowed.c - the shell of the window detectors (see
 * anomaly_windowed.h).
 */
#include "processor/core/anomaly_windowed.h"

#include <math.h>
#include <string.h>

llmopt_err_t llmopt_anomaly_windowed_check(const llmopt_anomaly_windowed_kind *k,
                                           const llmopt_anomaly_windowed_params *p,
                                           char *errstr, size_t errstr_size) {
    if (p->window < k->min_window || p->window > LLMOPT_ANOMALY_WINDOW_MAX)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'window' must be in [%u, %u], got %u", k->min_window,
                           LLMOPT_ANOMALY_WINDOW_MAX, p->window);
    if (!(p->threshold > 0) || !isfinite(p->threshold))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'%s' must be finite and > 0, got %g", k->threshold_name,
                           p->threshold);
    if (p->warmup < k->min_window || p->warmup > p->window)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'warmup' must be in [%u, window], got %u", k->min_window, p->warmup);
    if ((unsigned)p->guard > LLMOPT_ANOMALY_GUARD_CLIP)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "unknown 'guard' %d",
                           (int)p->guard);
    if (!(p->min_scale >= 0) || !isfinite(p->min_scale))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "'min_scale' must be finite and >= 0, got %g", p->min_scale);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_anomaly_windowed_init(llmopt_anomaly_windowed *d,
                                          const llmopt_anomaly_windowed_kind *k,
                                          const llmopt_anomaly_windowed_params *p,
                                          char *errstr, size_t errstr_size) {
    memset(d, 0, sizeof(*d));
    llmopt_err_t e = llmopt_anomaly_windowed_check(k, p, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    if (llmopt_anomaly_window_init(&d->win, p->window) != LLMOPT_OK)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size,
                           "cannot allocate '%s' window of %u", k->name, p->window);
    d->kind = k;
    d->p = *p;
    return LLMOPT_OK;
}

void llmopt_anomaly_windowed_release(llmopt_anomaly_windowed *d) {
    llmopt_anomaly_window_release(&d->win);
}

void llmopt_anomaly_windowed_reset(llmopt_anomaly_windowed *d) {
    d->seen = 0;
    llmopt_anomaly_window_clear(&d->win);
}

llmopt_err_t llmopt_anomaly_windowed_update(llmopt_anomaly_windowed *d, double x,
                                            llmopt_anomaly_verdict *v) {
    if (!isfinite(x))
        return LLMOPT_ERR_INVALID;
    if (fabs(x) > LLMOPT_ANOMALY_VALUE_MAX || d->seen >= LLMOPT_ANOMALY_INDEX_MAX)
        return LLMOPT_ERR_RANGE;
    x += 0.0; /* -0.0 -> +0.0 */
    const llmopt_anomaly_windowed_params *p = &d->p;
    llmopt_anomaly_verdict vv;
    memset(&vv, 0, sizeof(vv));
    vv.index = d->seen++;
    vv.value = x;
    vv.threshold = p->threshold;
    vv.admitted = x;
    if (d->win.len < p->warmup) {
        vv.baseline = d->win.len ? llmopt_anomaly_window_median(&d->win) : NAN;
        vv.scale = vv.lower = vv.upper = NAN;
        llmopt_anomaly_window_push(&d->win, x);
        if (v)
            *v = vv;
        return LLMOPT_OK;
    }
    d->kind->score(&d->win, x, p, &vv);
    vv.ready = 1;
    vv.severity = fabs(vv.score);
    vv.direction = x > vv.baseline ? 1 : (x < vv.baseline ? -1 : 0);
    vv.is_anomaly = vv.severity > p->threshold;
    vv.level = llmopt_anomaly_level_of(vv.severity, p->threshold);
    if (vv.is_anomaly) {
        switch (p->guard) {
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

llmopt_err_t llmopt_anomaly_windowed_write(const llmopt_anomaly_windowed *d, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, d->kind->tag, d->kind->version);
    llmopt_wbuf_u32(w, d->p.window);
    llmopt_wbuf_f64(w, d->p.threshold);
    llmopt_wbuf_u32(w, d->p.warmup);
    llmopt_wbuf_u8(w, (uint8_t)d->p.guard);
    llmopt_wbuf_f64(w, d->p.min_scale);
    llmopt_wbuf_u64(w, d->seen);
    llmopt_anomaly_window_write(&d->win, w);
    return (llmopt_err_t)w->err;
}

llmopt_err_t llmopt_anomaly_windowed_read(llmopt_anomaly_windowed *d,
                                          const llmopt_anomaly_windowed_kind *k,
                                          const void *data, size_t len, char *errstr,
                                          size_t errstr_size) {
    memset(d, 0, sizeof(*d));
    llmopt_err_t e;
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, len);
    llmopt_rbuf_header(&r, k->tag, k->version);
    llmopt_anomaly_windowed_params p;
    p.window = llmopt_rbuf_u32(&r);
    p.threshold = llmopt_rbuf_f64(&r);
    p.warmup = llmopt_rbuf_u32(&r);
    uint8_t g = llmopt_rbuf_u8(&r);
    p.guard = (llmopt_anomaly_guard)g;
    p.min_scale = llmopt_rbuf_f64(&r);
    uint64_t seen = llmopt_rbuf_u64(&r);
    if (r.err)
        return llmopt_errf((llmopt_err_t)r.err, errstr, errstr_size,
                           "bad '%s' checkpoint: %s", k->name,
                           llmopt_err_name((llmopt_err_t)r.err));
    if (g > LLMOPT_ANOMALY_GUARD_CLIP)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "unknown 'guard' %u", g);
    e = llmopt_anomaly_windowed_check(k, &p, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    e = llmopt_anomaly_window_read(&d->win, &r, p.window);
    if (e != LLMOPT_OK)
        return llmopt_errf(e, errstr, errstr_size, "bad '%s' checkpoint window: %s", k->name,
                           llmopt_err_name(e));
    if (d->win.cap != p.window || d->win.len > seen || seen > LLMOPT_ANOMALY_INDEX_MAX) {
        e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "inconsistent '%s' checkpoint window", k->name);
        goto fail;
    }
    if (r.left) {
        e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "'%s' checkpoint has %zu trailing bytes", k->name, r.left);
        goto fail;
    }
    d->kind = k;
    d->p = p;
    d->seen = seen;
    return LLMOPT_OK;
fail:
    llmopt_anomaly_window_release(&d->win);
    return e;
}
