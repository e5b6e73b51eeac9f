/*
 * mad.c - median-absolute-deviation detector over a rolling window (see
 * mad.h); the window, warm-up, guard and checkpoint are the shell's
 * (anomaly_windowed.h).
 */
#include "processor/core/mad.h"

#include <stdlib.h>

#include "processor/core/anomaly_windowed.h"

struct llmopt_mad {
    llmopt_mad_config cfg;
    llmopt_anomaly_windowed d;
};

/* Modified z-score: distance from the median in scaled MADs (the scaled
 * mean absolute deviation when the MAD is 0). */
static void mad_score(const llmopt_anomaly_window *w, double x,
                      const llmopt_anomaly_windowed_params *p, llmopt_anomaly_verdict *v) {
    double med = llmopt_anomaly_window_median(w);
    double scale = LLMOPT_MAD_SCALE * llmopt_anomaly_window_mad(w, med);
    if (scale == 0)
        scale = LLMOPT_MAD_MEANAD_SCALE * llmopt_anomaly_window_meanad(w, med);
    if (scale < p->min_scale)
        scale = p->min_scale;
    v->baseline = med;
    v->scale = scale;
    v->score = llmopt_anomaly_score(x, med, scale);
    v->lower = med - p->threshold * scale;
    v->upper = med + p->threshold * scale;
}

static const llmopt_anomaly_windowed_kind MAD = {
    .name = "mad", .threshold_name = "threshold", .tag = "MADD", .version = 1, .min_window = 3,
    .score = mad_score,
};

static llmopt_anomaly_windowed_params params_of(const llmopt_mad_config *c) {
    return (llmopt_anomaly_windowed_params){c->window, c->threshold, c->warmup, c->guard,
                                            c->min_scale};
}

void llmopt_mad_config_default(llmopt_mad_config *c) {
    c->window = 30;
    c->threshold = 3.5;
    c->warmup = 30;
    c->guard = LLMOPT_ANOMALY_GUARD_SKIP;
    c->min_scale = 0.0;
}

llmopt_err_t llmopt_mad_config_check(const llmopt_mad_config *c, char *errstr,
                                     size_t errstr_size) {
    llmopt_anomaly_windowed_params p = params_of(c);
    return llmopt_anomaly_windowed_check(&MAD, &p, errstr, errstr_size);
}

llmopt_err_t llmopt_mad_new(llmopt_mad **out, const llmopt_mad_config *c, char *errstr,
                            size_t errstr_size) {
    *out = NULL;
    llmopt_mad_config def;
    if (!c) {
        llmopt_mad_config_default(&def);
        c = &def;
    }
    llmopt_mad *d = calloc(1, sizeof(*d));
    if (!d)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "cannot allocate 'mad'");
    llmopt_anomaly_windowed_params p = params_of(c);
    llmopt_err_t e = llmopt_anomaly_windowed_init(&d->d, &MAD, &p, errstr, errstr_size);
    if (e != LLMOPT_OK) {
        free(d);
        return e;
    }
    d->cfg = *c;
    *out = d;
    return LLMOPT_OK;
}

void llmopt_mad_destroy(llmopt_mad *d) {
    if (!d)
        return;
    llmopt_anomaly_windowed_release(&d->d);
    free(d);
}

void llmopt_mad_reset(llmopt_mad *d) { llmopt_anomaly_windowed_reset(&d->d); }

const llmopt_mad_config *llmopt_mad_config_get(const llmopt_mad *d) { return &d->cfg; }

llmopt_err_t llmopt_mad_update(llmopt_mad *d, double x, llmopt_anomaly_verdict *v) {
    return llmopt_anomaly_windowed_update(&d->d, x, v);
}

llmopt_err_t llmopt_mad_serialize(const llmopt_mad *d, llmopt_wbuf *w) {
    return llmopt_anomaly_windowed_write(&d->d, w);
}

llmopt_err_t llmopt_mad_deserialize(llmopt_mad **out, const void *data, size_t len,
                                    char *errstr, size_t errstr_size) {
    *out = NULL;
    llmopt_mad *d = calloc(1, sizeof(*d));
    if (!d)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "cannot allocate 'mad'");
    llmopt_err_t e = llmopt_anomaly_windowed_read(&d->d, &MAD, data, len, errstr, errstr_size);
    if (e != LLMOPT_OK) {
        free(d);
        return e;
    }
    const llmopt_anomaly_windowed_params *p = &d->d.p;
    d->cfg = (llmopt_mad_config){p->window, p->threshold, p->warmup, p->guard, p->min_scale};
    *out = d;
    return LLMOPT_OK;
}
