/*
 * detect.c - the detector bank of one (route, arm) (see detect.h).
 */
#include "processor/detect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Page-Hinkley's delta and threshold are in units of the watched value, so
 * one parameter set cannot fit latency in ms and an error indicator alike.
 * The bank standardises what PH sees: the first ph.min_instances values of a
 * metric fix a mean and sigma (Welford), then PH gets (x - mean) / sigma
 * with sigma floored at ph_min_sigma[m]. Its estimates are mapped back. */
typedef struct scaler {
    uint64_t n;
    double mean, m2;
    int frozen;
    double mu, sigma;
} scaler;

/* ADWIN is allocated compact (adwin.h): a window of n values needs about
 * log2(n / max_buckets) + 1 of the 32 rows a whole struct holds, so a young
 * key's detector is ~0.6 KB instead of 3.2 KB. It grows by ADWIN_ROWS_STEP
 * rows, one row ahead of need, so it computes exactly what a whole one does. */
#define ADWIN_ROWS0 4
#define ADWIN_ROWS_STEP 4

/* Keeps a's storage one row ahead of its window; NULL-safe on NOMEM (the
 * detector then slides at its current bound, still memory-safe). */
static llmopt_adwin *adwin_room(llmopt_adwin **slot) {
    llmopt_adwin *a = *slot;
    uint32_t want = llmopt_adwin_rows_wanted(a);
    if (want <= llmopt_adwin_rows_cap(a))
        return a;
    uint32_t rows = want + ADWIN_ROWS_STEP - 1;
    llmopt_adwin *b = realloc(a, llmopt_adwin_sizeof(&a->cfg, rows));
    if (!b)
        return a;
    llmopt_adwin_set_rows_cap(b, rows);
    *slot = b;
    return b;
}

/* After a restore into a whole struct: give back the rows it does not use. */
static void adwin_trim(llmopt_adwin **slot) {
    llmopt_adwin *a = *slot;
    uint32_t rows = llmopt_adwin_rows_wanted(a) + ADWIN_ROWS_STEP - 1;
    if (rows >= llmopt_adwin_rows_cap(a))
        return;
    llmopt_adwin_set_rows_cap(a, rows);
    llmopt_adwin *b = realloc(a, llmopt_adwin_sizeof(&a->cfg, llmopt_adwin_rows_cap(a)));
    if (b)
        *slot = b;
}

struct llmopt_detect {
    const llmopt_detect_config *cfg;
    scaler ph_scale[LLMOPT_DM_COUNT];
    llmopt_adwin *adwin[LLMOPT_DM_COUNT];
    llmopt_ph *ph[LLMOPT_DM_COUNT];
    llmopt_cusum *cusum[LLMOPT_DM_COUNT];
    llmopt_zscore *zscore[LLMOPT_AM_COUNT];
    llmopt_iqr *iqr[LLMOPT_AM_COUNT];
    llmopt_mad *mad[LLMOPT_AM_COUNT];
};

static const char *const drift_names[LLMOPT_DM_COUNT] = {
    "latency_ms", "error", "quality", "cost_usd", "reward"};
static const char *const anomaly_names[LLMOPT_AM_COUNT] = {
    "p95_latency_ms", "error_rate", "cost_per_request", "quality_mean"};

const char *llmopt_drift_metric_name(llmopt_drift_metric m) {
    return (unsigned)m < LLMOPT_DM_COUNT ? drift_names[m] : NULL;
}

const char *llmopt_anomaly_metric_name(llmopt_anomaly_metric m) {
    return (unsigned)m < LLMOPT_AM_COUNT ? anomaly_names[m] : NULL;
}

void llmopt_detect_config_default(llmopt_detect_config *c) {
    memset(c, 0, sizeof(*c));
    for (int m = 0; m < LLMOPT_DM_COUNT; m++)
        c->drift_mask[m] = m == LLMOPT_DM_REWARD ? 0 : LLMOPT_DET_ADWIN | LLMOPT_DET_PH | LLMOPT_DET_CUSUM;
    /* Page-Hinkley is a Gaussian-scale test: on a rare 0/1 indicator one
     * error is 10-20 warm-up sigmas, so it fired ~35-60 times per 100k
     * stationary events (docs/DRIFT.md). The error indicator is watched by
     * ADWIN and the Bernoulli CUSUM instead. */
    c->drift_mask[LLMOPT_DM_ERROR] = LLMOPT_DET_ADWIN | LLMOPT_DET_CUSUM;
    for (int m = 0; m < LLMOPT_AM_COUNT; m++)
        c->anomaly_mask[m] = LLMOPT_DET_ZSCORE | LLMOPT_DET_IQR | LLMOPT_DET_MAD;
    c->adwin = llmopt_adwin_config_default();
    c->ph = llmopt_ph_config_default();
    /* River's delta 0.005 and threshold 50 (in warm-up sigmas here) give an
     * in-control run of ~1 600 events: a false drift every few seconds per
     * arm. delta 0.25 and threshold 25 act like a CUSUM with k 0.25, h 25:
     * ~1e6 events per side on Gaussian data, a 1-sigma shift caught in ~35
     * events, 3 sigmas in ~10. The scale is learnt from 200 values, not 30
     * (a 30-value sd of skewed data is often half the true one). */
    c->ph.delta = 0.25;
    c->ph.threshold = 25;
    c->ph.min_instances = 200;
    /* no fading: with alpha < 1 and delta > 0 the statistic settles where
     * fading cancels delta (-delta / (1 - alpha)) and then walks without
     * drift, so alarms come every ~1e4 events whatever the threshold */
    c->ph.alpha = 1.0;
    c->cusum = llmopt_cusum_config_default();
    c->cusum.kind = LLMOPT_CUSUM_GAUSSIAN;
    /* h = 10 sigma instead of Montgomery's 5: an in-control run length of
     * about 7e4 samples rather than about 470, at a per-event rate where 5
     * would raise a false drift every few seconds; a 3-sigma shift is still
     * caught within about 5 samples */
    c->cusum.h = 12;
    c->cusum.min_instances = 200;
    /* sigma floor, in the unit the detector sees (log units for latency and
     * cost, so 0.01 = 1 %) */
    c->cusum.min_sigma = 0.01;
    /* latency and cost are right-skewed (about lognormal): the detectors see
     * log(max(x, floor)), where a Gaussian-scale test is calibrated, and a
     * shift is relative (x1.5 is the same effect at 100 ms and at 10 s) */
    c->log_floor[LLMOPT_DM_LATENCY] = 1.0;      /* ms */
    c->log_floor[LLMOPT_DM_COST] = 1e-7;        /* USD */
    c->ph_min_sigma[LLMOPT_DM_LATENCY] = 0.01;  /* log units */
    c->ph_min_sigma[LLMOPT_DM_ERROR] = 0.05;
    c->ph_min_sigma[LLMOPT_DM_QUALITY] = 0.01;
    c->ph_min_sigma[LLMOPT_DM_COST] = 0.01;     /* log units */
    c->ph_min_sigma[LLMOPT_DM_REWARD] = 0.01;
    c->cusum_bernoulli = llmopt_cusum_config_default();
    c->cusum_bernoulli.kind = LLMOPT_CUSUM_BERNOULLI;
    /* p0 from 30 events of a 0.5 % rate is 0.5/31 (no error seen) or
     * 1.5/31: 3-10x off, and the chart then "detects" the true rate */
    c->cusum_bernoulli.min_instances = 2000;
    llmopt_zscore_config_default(&c->zscore);
    llmopt_iqr_config_default(&c->iqr);
    llmopt_mad_config_default(&c->mad);
}

llmopt_err_t llmopt_detect_config_check(const llmopt_detect_config *c, char *errstr,
                                        size_t errstr_size) {
    llmopt_adwin a;
    llmopt_ph p;
    llmopt_cusum s;
    llmopt_err_t err;
    for (int m = 0; m < LLMOPT_DM_COUNT; m++)
        if (c->drift_mask[m] & ~(LLMOPT_DET_ADWIN | LLMOPT_DET_PH | LLMOPT_DET_CUSUM))
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "metric '%s' can only be watched by adwin, page_hinkley and cusum",
                               drift_names[m]);
    for (int m = 0; m < LLMOPT_AM_COUNT; m++)
        if (c->anomaly_mask[m] & ~(LLMOPT_DET_ZSCORE | LLMOPT_DET_IQR | LLMOPT_DET_MAD))
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "metric '%s' can only be watched by zscore, iqr and mad",
                               anomaly_names[m]);
    for (int m = 0; m < LLMOPT_DM_COUNT; m++)
        if (!(c->log_floor[m] >= 0) || !isfinite(c->log_floor[m]))
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                               "metric '%s': log floor must be finite and >= 0", drift_names[m]);
    if ((err = llmopt_adwin_init(&a, &c->adwin, errstr, errstr_size)) ||
        (err = llmopt_ph_init(&p, &c->ph, errstr, errstr_size)) ||
        (err = llmopt_cusum_init(&s, &c->cusum, errstr, errstr_size)) ||
        (err = llmopt_cusum_init(&s, &c->cusum_bernoulli, errstr, errstr_size)) ||
        (err = llmopt_zscore_config_check(&c->zscore, errstr, errstr_size)) ||
        (err = llmopt_iqr_config_check(&c->iqr, errstr, errstr_size)) ||
        (err = llmopt_mad_config_check(&c->mad, errstr, errstr_size)))
        return err;
    return LLMOPT_OK;
}

llmopt_detect *llmopt_detect_new(const llmopt_detect_config *cfg) {
    llmopt_detect *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->cfg = cfg;
    for (int m = 0; m < LLMOPT_DM_COUNT; m++) {
        unsigned mask = cfg->drift_mask[m];
        if (mask & LLMOPT_DET_ADWIN) {
            if (!(d->adwin[m] = malloc(llmopt_adwin_sizeof(&cfg->adwin, ADWIN_ROWS0))) ||
                llmopt_adwin_init_rows(d->adwin[m], &cfg->adwin, ADWIN_ROWS0, NULL, 0))
                goto fail;
        }
        if (mask & LLMOPT_DET_PH) {
            if (!(d->ph[m] = malloc(sizeof(llmopt_ph))) || llmopt_ph_init(d->ph[m], &cfg->ph, NULL, 0))
                goto fail;
        }
        if (mask & LLMOPT_DET_CUSUM) {
            const llmopt_cusum_config *cc = m == LLMOPT_DM_ERROR ? &cfg->cusum_bernoulli : &cfg->cusum;
            if (!(d->cusum[m] = malloc(sizeof(llmopt_cusum))) || llmopt_cusum_init(d->cusum[m], cc, NULL, 0))
                goto fail;
        }
    }
    for (int m = 0; m < LLMOPT_AM_COUNT; m++) {
        unsigned mask = cfg->anomaly_mask[m];
        if ((mask & LLMOPT_DET_ZSCORE) && llmopt_zscore_new(&d->zscore[m], &cfg->zscore, NULL, 0))
            goto fail;
        if ((mask & LLMOPT_DET_IQR) && llmopt_iqr_new(&d->iqr[m], &cfg->iqr, NULL, 0))
            goto fail;
        if ((mask & LLMOPT_DET_MAD) && llmopt_mad_new(&d->mad[m], &cfg->mad, NULL, 0))
            goto fail;
    }
    return d;
fail:
    llmopt_detect_destroy(d);
    return NULL;
}

void llmopt_detect_destroy(llmopt_detect *d) {
    if (!d)
        return;
    for (int m = 0; m < LLMOPT_DM_COUNT; m++) {
        free(d->adwin[m]);
        free(d->ph[m]);
        free(d->cusum[m]);
    }
    for (int m = 0; m < LLMOPT_AM_COUNT; m++) {
        llmopt_zscore_destroy(d->zscore[m]);
        llmopt_iqr_destroy(d->iqr[m]);
        llmopt_mad_destroy(d->mad[m]);
    }
    free(d);
}

static void report_drift(const llmopt_drift_detection *det, unsigned detector, const char *metric,
                         llmopt_detect_cb *cb, void *opaque) {
    llmopt_detect_event ev = {
        .is_anomaly = 0,
        .detector = detector,
        .metric = metric,
        .direction = det->direction == LLMOPT_DRIFT_UP ? 1 : -1,
        .before = det->estimate_before,
        .after = det->estimate_after,
        .magnitude = det->estimate_after - det->estimate_before,
        .sample_index = det->sample_index,
    };
    /* relative change: comparable across metrics of different units */
    double base = fabs(det->estimate_before);
    ev.severity = base > 1e-12 ? fabs(ev.magnitude) / base : fabs(ev.magnitude);
    cb(opaque, &ev);
}

/* Maps a detection's estimates back from the log scale. */
static void unlog(llmopt_drift_detection *det, int logged) {
    if (logged) {
        det->estimate_before = exp(det->estimate_before);
        det->estimate_after = exp(det->estimate_after);
    }
}

void llmopt_detect_drift(llmopt_detect *d, llmopt_drift_metric m, double x,
                         llmopt_detect_cb *cb, void *opaque) {
    if ((unsigned)m >= LLMOPT_DM_COUNT || !isfinite(x))
        return;
    double floor_ = d->cfg->log_floor[m];
    int logged = floor_ > 0;
    if (logged)
        x = log(x > floor_ ? x : floor_);
    llmopt_drift_detection det;
    if (d->adwin[m] && llmopt_adwin_update(adwin_room(&d->adwin[m]), x, &det)) {
        unlog(&det, logged);
        report_drift(&det, LLMOPT_DET_ADWIN, drift_names[m], cb, opaque);
    }
    if (d->ph[m]) {
        scaler *sc = &d->ph_scale[m];
        if (!sc->frozen) {
            sc->n++;
            double dx = x - sc->mean;
            sc->mean += dx / (double)sc->n;
            sc->m2 += dx * (x - sc->mean);
            if (sc->n >= d->cfg->ph.min_instances) {
                double sd = sc->n > 1 ? sqrt(sc->m2 / (double)(sc->n - 1)) : 0;
                sc->mu = sc->mean;
                sc->sigma = sd > d->cfg->ph_min_sigma[m] ? sd : d->cfg->ph_min_sigma[m];
                sc->frozen = 1;
            }
        } else if (llmopt_ph_update(d->ph[m], (x - sc->mu) / sc->sigma, &det)) {
            det.estimate_before = sc->mu + sc->sigma * det.estimate_before;
            det.estimate_after = sc->mu + sc->sigma * det.estimate_after;
            unlog(&det, logged);
            report_drift(&det, LLMOPT_DET_PH, drift_names[m], cb, opaque);
            /* the new regime is the new normal: learn its scale again */
            memset(sc, 0, sizeof(*sc));
        }
    }
    if (d->cusum[m] && llmopt_cusum_update(d->cusum[m], x, &det)) {
        unlog(&det, logged);
        report_drift(&det, LLMOPT_DET_CUSUM, drift_names[m], cb, opaque);
    }
}

static void report_anomaly(const llmopt_anomaly_verdict *v, unsigned detector, const char *metric,
                           llmopt_detect_cb *cb, void *opaque) {
    if (!v->ready || !v->is_anomaly)
        return;
    llmopt_detect_event ev = {
        .is_anomaly = 1,
        .detector = detector,
        .metric = metric,
        .direction = v->direction >= 0 ? 1 : -1,
        .before = v->baseline,
        .after = v->value,
        .magnitude = v->value - v->baseline,
        /* infinite severity (zero spread) is capped so it stays printable */
        .severity = isfinite(v->severity) ? v->severity : 1e300,
        .sample_index = v->index,
    };
    cb(opaque, &ev);
}

void llmopt_detect_anomaly(llmopt_detect *d, llmopt_anomaly_metric m, double x,
                           llmopt_detect_cb *cb, void *opaque) {
    if ((unsigned)m >= LLMOPT_AM_COUNT || !isfinite(x))
        return;
    llmopt_anomaly_verdict v;
    if (d->zscore[m] && llmopt_zscore_update(d->zscore[m], x, &v) == LLMOPT_OK)
        report_anomaly(&v, LLMOPT_DET_ZSCORE, anomaly_names[m], cb, opaque);
    if (d->iqr[m] && llmopt_iqr_update(d->iqr[m], x, &v) == LLMOPT_OK)
        report_anomaly(&v, LLMOPT_DET_IQR, anomaly_names[m], cb, opaque);
    if (d->mad[m] && llmopt_mad_update(d->mad[m], x, &v) == LLMOPT_OK)
        report_anomaly(&v, LLMOPT_DET_MAD, anomaly_names[m], cb, opaque);
}

size_t llmopt_detect_bytes(const llmopt_detect *d) {
    size_t n = sizeof(*d);
    for (int m = 0; m < LLMOPT_DM_COUNT; m++)
        n += (d->adwin[m] ? llmopt_adwin_sizeof(&d->cfg->adwin, llmopt_adwin_rows_cap(d->adwin[m])) : 0) +
             (d->ph[m] ? sizeof(llmopt_ph) : 0) +
             (d->cusum[m] ? sizeof(llmopt_cusum) : 0);
    /* the anomaly detectors hold a ring of recent windows each */
    for (int m = 0; m < LLMOPT_AM_COUNT; m++)
        n += (d->zscore[m] ? 128 : 0) + (d->iqr[m] ? 64 + 16 * d->cfg->iqr.window : 0) +
             (d->mad[m] ? 64 + 16 * d->cfg->mad.window : 0);
    return n;
}

/* Anomaly detectors serialise to a self-contained blob: frame it. */
typedef llmopt_err_t (*blob_ser_fn)(const void *det, llmopt_wbuf *w);

/* Written in place behind a u32 length filled in afterwards: the same bytes
 * as serialising into a buffer of its own and copying it in, without an
 * allocation, growth and copy per detector (three per anomaly metric per
 * key; bench_processor rss: 5-10 % less save time for 10k keys). */
static void frame(llmopt_wbuf *w, const void *det, blob_ser_fn fn) {
    if (w->err)
        return;
    size_t at = w->len;
    llmopt_wbuf_u32(w, 0);
    if (fn(det, w) != LLMOPT_OK || w->err) {
        if (!w->err)
            w->err = LLMOPT_ERR_NOMEM;
        return;
    }
    uint32_t n = (uint32_t)(w->len - at - 4);
    for (int i = 0; i < 4; i++)
        w->data[at + (size_t)i] = (uint8_t)(n >> (8 * i));
}

static llmopt_err_t ser_z(const void *d, llmopt_wbuf *w) { return llmopt_zscore_serialize(d, w); }
static llmopt_err_t ser_i(const void *d, llmopt_wbuf *w) { return llmopt_iqr_serialize(d, w); }
static llmopt_err_t ser_m(const void *d, llmopt_wbuf *w) { return llmopt_mad_serialize(d, w); }

void llmopt_detect_serialize(const llmopt_detect *d, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, "DETB", 1);
    for (int m = 0; m < LLMOPT_DM_COUNT; m++) {
        unsigned mask = (d->adwin[m] ? LLMOPT_DET_ADWIN : 0) | (d->ph[m] ? LLMOPT_DET_PH : 0) |
                        (d->cusum[m] ? LLMOPT_DET_CUSUM : 0);
        llmopt_wbuf_u8(w, (uint8_t)mask);
        if (d->adwin[m])
            llmopt_adwin_serialize(d->adwin[m], w);
        if (d->ph[m]) {
            const scaler *sc = &d->ph_scale[m];
            llmopt_wbuf_u64(w, sc->n);
            llmopt_wbuf_f64(w, sc->mean);
            llmopt_wbuf_f64(w, sc->m2);
            llmopt_wbuf_u8(w, (uint8_t)sc->frozen);
            llmopt_wbuf_f64(w, sc->mu);
            llmopt_wbuf_f64(w, sc->sigma);
            llmopt_ph_serialize(d->ph[m], w);
        }
        if (d->cusum[m])
            llmopt_cusum_serialize(d->cusum[m], w);
    }
    for (int m = 0; m < LLMOPT_AM_COUNT; m++) {
        unsigned mask = (d->zscore[m] ? LLMOPT_DET_ZSCORE : 0) | (d->iqr[m] ? LLMOPT_DET_IQR : 0) |
                        (d->mad[m] ? LLMOPT_DET_MAD : 0);
        llmopt_wbuf_u8(w, (uint8_t)mask);
        if (d->zscore[m])
            frame(w, d->zscore[m], ser_z);
        if (d->iqr[m])
            frame(w, d->iqr[m], ser_i);
        if (d->mad[m])
            frame(w, d->mad[m], ser_m);
    }
}

/* Reads one length-framed blob: returns its bytes (inside r) or NULL. */
static const uint8_t *unframe(llmopt_rbuf *r, size_t *len) {
    uint32_t n = llmopt_rbuf_u32(r);
    if (r->err)
        return NULL;
    if (n > r->left) {
        r->err = LLMOPT_ERR_TRUNCATED;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    *len = n;
    return p;
}

llmopt_err_t llmopt_detect_deserialize(llmopt_detect *d, llmopt_rbuf *r) {
    llmopt_rbuf_header(r, "DETB", 1);
    for (int m = 0; m < LLMOPT_DM_COUNT && !r->err; m++) {
        unsigned mask = llmopt_rbuf_u8(r);
        unsigned have = (d->adwin[m] ? LLMOPT_DET_ADWIN : 0) | (d->ph[m] ? LLMOPT_DET_PH : 0) |
                        (d->cusum[m] ? LLMOPT_DET_CUSUM : 0);
        if (r->err || mask != have) {
            r->err = r->err ? r->err : LLMOPT_ERR_INVALID;
            break;
        }
        if (d->adwin[m]) {
            /* the restore needs a whole struct, trimmed afterwards */
            llmopt_adwin *whole = malloc(sizeof(llmopt_adwin));
            if (!whole) {
                r->err = LLMOPT_ERR_NOMEM;
                break;
            }
            if (llmopt_adwin_deserialize(whole, r, NULL, 0)) {
                free(whole);
                if (!r->err)
                    r->err = LLMOPT_ERR_INVALID;
                break;
            }
            free(d->adwin[m]);
            d->adwin[m] = whole;
            adwin_trim(&d->adwin[m]);
        }
        if (!r->err && d->ph[m]) {
            scaler *sc = &d->ph_scale[m];
            sc->n = llmopt_rbuf_u64(r);
            sc->mean = llmopt_rbuf_f64(r);
            sc->m2 = llmopt_rbuf_f64(r);
            sc->frozen = llmopt_rbuf_u8(r);
            sc->mu = llmopt_rbuf_f64(r);
            sc->sigma = llmopt_rbuf_f64(r);
            if (!r->err && (sc->frozen > 1 || !isfinite(sc->mean) || !isfinite(sc->m2) ||
                            !isfinite(sc->mu) || !isfinite(sc->sigma) ||
                            (sc->frozen && !(sc->sigma > 0))))
                r->err = LLMOPT_ERR_INVALID;
            if (!r->err && llmopt_ph_deserialize(d->ph[m], r, NULL, 0) && !r->err)
                r->err = LLMOPT_ERR_INVALID;
        }
        if (!r->err && d->cusum[m] && llmopt_cusum_deserialize(d->cusum[m], r, NULL, 0) && !r->err)
            r->err = LLMOPT_ERR_INVALID;
    }
    for (int m = 0; m < LLMOPT_AM_COUNT && !r->err; m++) {
        unsigned mask = llmopt_rbuf_u8(r);
        unsigned have = (d->zscore[m] ? LLMOPT_DET_ZSCORE : 0) | (d->iqr[m] ? LLMOPT_DET_IQR : 0) |
                        (d->mad[m] ? LLMOPT_DET_MAD : 0);
        if (r->err || mask != have) {
            r->err = r->err ? r->err : LLMOPT_ERR_INVALID;
            break;
        }
        size_t len;
        const uint8_t *p;
        if (d->zscore[m]) {
            llmopt_zscore *z = NULL;
            if (!(p = unframe(r, &len)) || llmopt_zscore_deserialize(&z, p, len, NULL, 0)) {
                r->err = r->err ? r->err : LLMOPT_ERR_INVALID;
                break;
            }
            llmopt_zscore_destroy(d->zscore[m]);
            d->zscore[m] = z;
        }
        if (d->iqr[m]) {
            llmopt_iqr *q = NULL;
            if (!(p = unframe(r, &len)) || llmopt_iqr_deserialize(&q, p, len, NULL, 0)) {
                r->err = r->err ? r->err : LLMOPT_ERR_INVALID;
                break;
            }
            llmopt_iqr_destroy(d->iqr[m]);
            d->iqr[m] = q;
        }
        if (d->mad[m]) {
            llmopt_mad *a = NULL;
            if (!(p = unframe(r, &len)) || llmopt_mad_deserialize(&a, p, len, NULL, 0)) {
                r->err = r->err ? r->err : LLMOPT_ERR_INVALID;
                break;
            }
            llmopt_mad_destroy(d->mad[m]);
            d->mad[m] = a;
        }
    }
    return r->err ? (llmopt_err_t)r->err : LLMOPT_OK;
}
