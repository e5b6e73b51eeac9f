/*
 * iqr.c - Tukey-fence detector over a rolling window (see iqr.h); the
 * window, warm-up, guard and checkpoint are the shell's (anomaly_windowed.h).
 */
#include "processor/core/iqr.h"

#include <stdlib.h>

#include "processor/core/anomaly_windowed.h"

struct llmopt_iqr {
    llmopt_iqr_config cfg;
    llmopt_anomaly_windowed d;
};

/* Distance beyond the box [Q1, Q3] in IQR widths. */
static void iqr_score(const llmopt_anomaly_window *w, double x,
                      const llmopt_anomaly_windowed_params *p, llmopt_anomaly_verdict *v) {
    double q1 = llmopt_anomaly_window_quantile(w, 0.25);
    double q3 = llmopt_anomaly_window_quantile(w, 0.75);
    double iqr = q3 - q1;
    if (iqr < p->min_scale)
        iqr = p->min_scale;
    v->baseline = llmopt_anomaly_window_median(w);
    v->scale = iqr;
    if (x > q3)
        v->score = llmopt_anomaly_score(x, q3, iqr);
    else if (x < q1)
        v->score = llmopt_anomaly_score(x, q1, iqr);
    else
        v->score = 0.0;
    v->lower = q1 - p->threshold * iqr;
    v->upper = q3 + p->threshold * iqr;
}

static const llmopt_anomaly_windowed_kind IQR = {
    .name = "iqr", .threshold_name = "k", .tag = "IQRF", .version = 1, .min_window = 4,
    .score = iqr_score,
};

static llmopt_anomaly_windowed_params params_of(const llmopt_iqr_config *c) {
    return (llmopt_anomaly_windowed_params){c->window, c->k, c->warmup, c->guard, c->min_scale};
}

void llmopt_iqr_config_default(llmopt_iqr_config *c) {
    c->window = 30;
    c->k = 1.5;
    c->warmup = 30;
    c->guard = LLMOPT_ANOMALY_GUARD_SKIP;
    c->min_scale = 0.0;
}

llmopt_err_t llmopt_iqr_config_check(const llmopt_iqr_config *c, char *errstr,
                                     size_t errstr_size) {
    llmopt_anomaly_windowed_params p = params_of(c);
    return llmopt_anomaly_windowed_check(&IQR, &p, errstr, errstr_size);
}

llmopt_err_t llmopt_iqr_new(llmopt_iqr **out, const llmopt_iqr_config *c, char *errstr,
                            size_t errstr_size) {
    *out = NULL;
    llmopt_iqr_config def;
    if (!c) {
        llmopt_iqr_config_default(&def);
        c = &def;
    }
    llmopt_iqr *d = calloc(1, sizeof(*d));
    if (!d)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "cannot allocate 'iqr'");
    llmopt_anomaly_windowed_params p = params_of(c);
    llmopt_err_t e = llmopt_anomaly_windowed_init(&d->d, &IQR, &p, errstr, errstr_size);
    if (e != LLMOPT_OK) {
        free(d);
        return e;
    }
    d->cfg = *c;
    *out = d;
    return LLMOPT_OK;
}

void llmopt_iqr_destroy(llmopt_iqr *d) {
    if (!d)
        return;
    llmopt_anomaly_windowed_release(&d->d);
    free(d);
}

void llmopt_iqr_reset(llmopt_iqr *d) { llmopt_anomaly_windowed_reset(&d->d); }

const llmopt_iqr_config *llmopt_iqr_config_get(const llmopt_iqr *d) { return &d->cfg; }

llmopt_err_t llmopt_iqr_update(llmopt_iqr *d, double x, llmopt_anomaly_verdict *v) {
    return llmopt_anomaly_windowed_update(&d->d, x, v);
}

llmopt_err_t llmopt_iqr_serialize(const llmopt_iqr *d, llmopt_wbuf *w) {
    return llmopt_anomaly_windowed_write(&d->d, w);
}

llmopt_err_t llmopt_iqr_deserialize(llmopt_iqr **out, const void *data, size_t len,
                                    char *errstr, size_t errstr_size) {
    *out = NULL;
    llmopt_iqr *d = calloc(1, sizeof(*d));
    if (!d)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "cannot allocate 'iqr'");
    llmopt_err_t e = llmopt_anomaly_windowed_read(&d->d, &IQR, data, len, errstr, errstr_size);
    if (e != LLMOPT_OK) {
        free(d);
        return e;
    }
    const llmopt_anomaly_windowed_params *p = &d->d.p;
    d->cfg = (llmopt_iqr_config){p->window, p->threshold, p->warmup, p->guard, p->min_scale};
    *out = d;
    return LLMOPT_OK;
}
