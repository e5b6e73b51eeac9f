/* test_anomaly.c - CUnit suites for the window-level anomaly detectors
 * (processor/core zscore, iqr, mad): hand-computed cases, golden files from
 * numpy (tests/tools/gen_anomaly_golden.py), warm-up, guards, zero spread,
 * bad input, reset and exact checkpoint round trips.
 *
 * `test_anomaly --write-corpus DIR` writes real checkpoints as the fuzz
 * seed corpus (tests/fuzz/corpus/anomaly_state) and exits. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/iqr.h"
#include "processor/core/mad.h"
#include "processor/core/zscore.h"

#define GOLDEN_DIR "tests/data/anomaly"

/* ---- a detector behind one interface, so every check runs on all three ---- */

typedef enum { DET_Z, DET_IQR, DET_MAD } det_kind;

typedef struct det {
    det_kind kind;
    void *p;
} det;

static llmopt_err_t det_update(det *d, double x, llmopt_anomaly_verdict *v) {
    switch (d->kind) {
    case DET_Z: return llmopt_zscore_update(d->p, x, v);
    case DET_IQR: return llmopt_iqr_update(d->p, x, v);
    case DET_MAD: return llmopt_mad_update(d->p, x, v);
    }
    return LLMOPT_ERR_INVALID;
}

static void det_destroy(det *d) {
    switch (d->kind) {
    case DET_Z: llmopt_zscore_destroy(d->p); break;
    case DET_IQR: llmopt_iqr_destroy(d->p); break;
    case DET_MAD: llmopt_mad_destroy(d->p); break;
    }
    d->p = NULL;
}

static void det_reset(det *d) {
    switch (d->kind) {
    case DET_Z: llmopt_zscore_reset(d->p); break;
    case DET_IQR: llmopt_iqr_reset(d->p); break;
    case DET_MAD: llmopt_mad_reset(d->p); break;
    }
}

static llmopt_err_t det_serialize(const det *d, llmopt_wbuf *w) {
    switch (d->kind) {
    case DET_Z: return llmopt_zscore_serialize(d->p, w);
    case DET_IQR: return llmopt_iqr_serialize(d->p, w);
    case DET_MAD: return llmopt_mad_serialize(d->p, w);
    }
    return LLMOPT_ERR_INVALID;
}

static llmopt_err_t det_deserialize(det_kind kind, det *out, const void *b, size_t n) {
    char err[128];
    out->kind = kind;
    out->p = NULL;
    switch (kind) {
    case DET_Z: return llmopt_zscore_deserialize((llmopt_zscore **)&out->p, b, n, err, sizeof(err));
    case DET_IQR: return llmopt_iqr_deserialize((llmopt_iqr **)&out->p, b, n, err, sizeof(err));
    case DET_MAD: return llmopt_mad_deserialize((llmopt_mad **)&out->p, b, n, err, sizeof(err));
    }
    return LLMOPT_ERR_INVALID;
}

/* Builds a detector from the p1/p2 convention of the golden files. */
static llmopt_err_t det_new(det *d, det_kind kind, double p1, double p2, uint32_t warmup,
                            llmopt_anomaly_guard guard, double min_scale) {
    char err[128] = "";
    llmopt_err_t e = LLMOPT_ERR_INVALID;
    d->kind = kind;
    d->p = NULL;
    if (kind == DET_Z) {
        llmopt_zscore_config c = {p1, p2, warmup, guard, min_scale};
        e = llmopt_zscore_new((llmopt_zscore **)&d->p, &c, err, sizeof(err));
    } else if (kind == DET_IQR) {
        llmopt_iqr_config c = {(uint32_t)p1, p2, warmup, guard, min_scale};
        e = llmopt_iqr_new((llmopt_iqr **)&d->p, &c, err, sizeof(err));
    } else {
        llmopt_mad_config c = {(uint32_t)p1, p2, warmup, guard, min_scale};
        e = llmopt_mad_new((llmopt_mad **)&d->p, &c, err, sizeof(err));
    }
    if (e != LLMOPT_OK)
        fprintf(stderr, "det_new: %s\n", err);
    return e;
}

static int same_double(double a, double b) {
    return memcmp(&a, &b, sizeof(a)) == 0;
}

static int same_verdict(const llmopt_anomaly_verdict *a, const llmopt_anomaly_verdict *b) {
    return a->index == b->index && a->ready == b->ready && a->is_anomaly == b->is_anomaly &&
           a->direction == b->direction && a->level == b->level &&
           same_double(a->value, b->value) && same_double(a->baseline, b->baseline) &&
           same_double(a->scale, b->scale) && same_double(a->score, b->score) &&
           same_double(a->severity, b->severity) && same_double(a->threshold, b->threshold) &&
           same_double(a->lower, b->lower) && same_double(a->upper, b->upper) &&
           same_double(a->admitted, b->admitted);
}

static int close_to(double got, double want) {
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= 1e-9 * fmax(fabs(got), fabs(want)) + 1e-12;
}

/* ---- hand-computed cases ---- */

static void test_zscore_hand(void) {
    det d;
    CU_ASSERT_FATAL(det_new(&d, DET_Z, 0.5, 3.0, 2, LLMOPT_ANOMALY_GUARD_CLIP, 0) == LLMOPT_OK);
    llmopt_anomaly_verdict v;
    CU_ASSERT(det_update(&d, 0.0, &v) == LLMOPT_OK);
    CU_ASSERT(v.index == 0 && !v.ready && !v.is_anomaly);
    CU_ASSERT(det_update(&d, 2.0, &v) == LLMOPT_OK);
    CU_ASSERT(v.index == 1 && !v.ready && v.baseline == 0.0);
    /* mean = 0 + 0.5*2 = 1, var = 0.5*(0 + 2*1) = 1 */
    CU_ASSERT(det_update(&d, 4.0, &v) == LLMOPT_OK); /* z = 3 exactly: not > 3 */
    CU_ASSERT(v.ready && !v.is_anomaly && v.score == 3.0 && v.level == LLMOPT_ANOMALY_LEVEL_NONE);
    CU_ASSERT(v.baseline == 1.0 && v.scale == 1.0 && v.lower == -2.0 && v.upper == 4.0);
    /* 4 entered: d = 3, mean = 2.5, var = 0.5*(1 + 3*1.5) = 2.75 */
    double sd = sqrt(2.75);
    CU_ASSERT(det_update(&d, 2.5 + 4.0 * sd, &v) == LLMOPT_OK);
    CU_ASSERT(v.is_anomaly && v.direction == 1 && fabs(v.score - 4.0) < 1e-12);
    CU_ASSERT(v.level == LLMOPT_ANOMALY_LEVEL_MINOR && v.baseline == 2.5);
    CU_ASSERT(fabs(v.admitted - (2.5 + 3.0 * sd)) < 1e-12); /* clipped to the fence */
    CU_ASSERT(det_update(&d, -100.0, &v) == LLMOPT_OK);
    CU_ASSERT(v.is_anomaly && v.direction == -1 && v.level == LLMOPT_ANOMALY_LEVEL_CRITICAL);
    CU_ASSERT(v.index == 4 && v.value == -100.0);
    det_destroy(&d);
}

static void test_iqr_hand(void) {
    det d;
    CU_ASSERT_FATAL(det_new(&d, DET_IQR, 5, 1.5, 5, LLMOPT_ANOMALY_GUARD_SKIP, 0) == LLMOPT_OK);
    llmopt_anomaly_verdict v;
    const double xs[5] = {3, 1, 5, 2, 4};
    for (int i = 0; i < 5; i++) {
        CU_ASSERT(det_update(&d, xs[i], &v) == LLMOPT_OK);
        CU_ASSERT(!v.ready);
    }
    /* sorted 1..5: Q1 = 2, Q3 = 4, median 3, IQR 2, fences -1 and 7 */
    CU_ASSERT(det_update(&d, 10.0, &v) == LLMOPT_OK);
    CU_ASSERT(v.ready && v.is_anomaly && v.score == 3.0 && v.baseline == 3.0 && v.scale == 2.0);
    CU_ASSERT(v.lower == -1.0 && v.upper == 7.0 && v.level == LLMOPT_ANOMALY_LEVEL_MAJOR);
    CU_ASSERT(isnan(v.admitted)); /* skipped: window unchanged */
    CU_ASSERT(det_update(&d, 7.0, &v) == LLMOPT_OK); /* on the fence: not outside */
    CU_ASSERT(!v.is_anomaly && v.score == 1.5 && v.admitted == 7.0);
    /* window now 1 5 2 4 7 (3 evicted): sorted 1 2 4 5 7, Q1 2, Q3 5, IQR 3 */
    CU_ASSERT(det_update(&d, -5.0, &v) == LLMOPT_OK);
    CU_ASSERT(v.is_anomaly && v.direction == -1 && fabs(v.score - (-7.0 / 3.0)) < 1e-15);
    CU_ASSERT(v.baseline == 4.0 && v.level == LLMOPT_ANOMALY_LEVEL_MAJOR);
    det_destroy(&d);

    /* even count, fractional positions: 1 2 3 4 -> h = 0.75 and 2.25 */
    CU_ASSERT_FATAL(det_new(&d, DET_IQR, 4, 1.5, 4, LLMOPT_ANOMALY_GUARD_INCLUDE, 0) == LLMOPT_OK);
    for (int i = 1; i <= 4; i++)
        det_update(&d, i, &v);
    CU_ASSERT(det_update(&d, 2.5, &v) == LLMOPT_OK);
    CU_ASSERT(v.scale == 1.5 && v.baseline == 2.5 && v.lower == 1.75 - 2.25 && v.upper == 3.25 + 2.25);
    det_destroy(&d);
}

static void test_mad_hand(void) {
    det d;
    llmopt_anomaly_verdict v;
    CU_ASSERT_FATAL(det_new(&d, DET_MAD, 5, 3.5, 5, LLMOPT_ANOMALY_GUARD_INCLUDE, 0) == LLMOPT_OK);
    const double xs[5] = {100, 4, 1, 3, 2};
    for (int i = 0; i < 5; i++)
        det_update(&d, xs[i], &v);
    /* median 3, |dev| = 97 1 2 0 1 -> MAD 1, scale 1.4826 */
    CU_ASSERT(det_update(&d, 10.0, &v) == LLMOPT_OK);
    CU_ASSERT(v.baseline == 3.0 && v.scale == 1.4826 && v.score == 7.0 / 1.4826 && v.is_anomaly);
    CU_ASSERT(v.level == LLMOPT_ANOMALY_LEVEL_MINOR);
    det_destroy(&d);

    /* MAD 0: 5 5 5 5 9 -> MeanAD 0.8 -> scale 1.253314 * 0.8 */
    CU_ASSERT_FATAL(det_new(&d, DET_MAD, 5, 3.5, 5, LLMOPT_ANOMALY_GUARD_SKIP, 0) == LLMOPT_OK);
    const double ys[5] = {5, 5, 9, 5, 5};
    for (int i = 0; i < 5; i++)
        det_update(&d, ys[i], &v);
    CU_ASSERT(det_update(&d, 9.0, &v) == LLMOPT_OK);
    CU_ASSERT(fabs(v.scale - 1.253314 * 0.8) < 1e-15 && v.is_anomaly && v.baseline == 5.0);
    CU_ASSERT(fabs(v.score - 4.0 / (1.253314 * 0.8)) < 1e-12);
    CU_ASSERT(det_update(&d, 6.0, &v) == LLMOPT_OK);
    CU_ASSERT(!v.is_anomaly && v.direction == 1);
    det_destroy(&d);

    /* every value equal: zero scale, any departure is infinitely far */
    CU_ASSERT_FATAL(det_new(&d, DET_MAD, 4, 3.5, 4, LLMOPT_ANOMALY_GUARD_SKIP, 0) == LLMOPT_OK);
    for (int i = 0; i < 4; i++)
        det_update(&d, 7.0, &v);
    CU_ASSERT(det_update(&d, 7.0, &v) == LLMOPT_OK);
    CU_ASSERT(v.ready && !v.is_anomaly && v.score == 0.0 && v.scale == 0.0);
    CU_ASSERT(det_update(&d, 7.001, &v) == LLMOPT_OK);
    CU_ASSERT(v.is_anomaly && isinf(v.score) && v.score > 0 &&
              v.level == LLMOPT_ANOMALY_LEVEL_CRITICAL);
    det_destroy(&d);

    /* with min_scale the same departure is small */
    CU_ASSERT_FATAL(det_new(&d, DET_MAD, 4, 3.5, 4, LLMOPT_ANOMALY_GUARD_SKIP, 0.01) == LLMOPT_OK);
    for (int i = 0; i < 4; i++)
        det_update(&d, 7.0, &v);
    CU_ASSERT(det_update(&d, 7.001, &v) == LLMOPT_OK);
    CU_ASSERT(!v.is_anomaly && fabs(v.score - 0.1) < 1e-9 && v.scale == 0.01);
    det_destroy(&d);
}

static void test_zero_variance_zscore(void) {
    det d;
    llmopt_anomaly_verdict v;
    CU_ASSERT_FATAL(det_new(&d, DET_Z, 0.1, 3, 3, LLMOPT_ANOMALY_GUARD_CLIP, 0) == LLMOPT_OK);
    for (int i = 0; i < 3; i++)
        det_update(&d, 1.0, &v);
    CU_ASSERT(det_update(&d, 1.0, &v) == LLMOPT_OK);
    CU_ASSERT(v.ready && v.scale == 0.0 && v.score == 0.0 && !v.is_anomaly);
    CU_ASSERT(det_update(&d, 0.5, &v) == LLMOPT_OK);
    CU_ASSERT(v.is_anomaly && v.score == -INFINITY && v.direction == -1);
    CU_ASSERT(v.admitted == 1.0); /* the collapsed fence */
    det_destroy(&d);
}

/* ---- properties on all three ---- */

static const det_kind KINDS[3] = {DET_Z, DET_IQR, DET_MAD};

static det make_default(det_kind k, llmopt_anomaly_guard g) {
    det d;
    if (k == DET_Z)
        det_new(&d, k, 0.1, 3.0, 10, g, 0);
    else if (k == DET_IQR)
        det_new(&d, k, 30, 1.5, 20, g, 0);
    else
        det_new(&d, k, 31, 3.5, 31, g, 0);
    return d;
}

/* Deterministic test series: noise, spikes, a shift, repeated values. */
static double series(int i) {
    uint64_t s = (uint64_t)i * 0x9E3779B97F4A7C15ULL;
    s ^= s >> 31;
    s *= 0xBF58476D1CE4E5B9ULL;
    s ^= s >> 29;
    double u = (double)(s >> 11) / 9007199254740992.0;
    double x = 50.0 + 10.0 * (u - 0.5);
    if (i % 37 == 0)
        x += 80.0;
    if (i % 53 == 0)
        x -= 70.0;
    if (i > 400)
        x += 25.0;
    if (i % 11 == 0)
        x = 50.0;
    return x;
}

static void test_bad_input(void) {
    for (int k = 0; k < 3; k++) {
        det d = make_default(KINDS[k], LLMOPT_ANOMALY_GUARD_SKIP);
        CU_ASSERT_FATAL(d.p != NULL);
        llmopt_anomaly_verdict v;
        CU_ASSERT(det_update(&d, NAN, &v) == LLMOPT_ERR_INVALID);
        CU_ASSERT(det_update(&d, INFINITY, &v) == LLMOPT_ERR_INVALID);
        CU_ASSERT(det_update(&d, -1e200, &v) == LLMOPT_ERR_RANGE);
        CU_ASSERT(det_update(&d, 1.0, &v) == LLMOPT_OK);
        CU_ASSERT(v.index == 0); /* refused values left no trace */
        CU_ASSERT(det_update(&d, -0.0, &v) == LLMOPT_OK);
        CU_ASSERT(v.value == 0.0 && !signbit(v.value));
        det_destroy(&d);
    }
    char err[128];
    llmopt_zscore *z;
    llmopt_zscore_config zc;
    llmopt_zscore_config_default(&zc);
    zc.alpha = 1.0;
    CU_ASSERT(llmopt_zscore_new(&z, &zc, err, sizeof(err)) == LLMOPT_ERR_RANGE && z == NULL);
    CU_ASSERT(strstr(err, "'alpha'") != NULL);
    llmopt_iqr *q;
    llmopt_iqr_config qc;
    llmopt_iqr_config_default(&qc);
    qc.warmup = qc.window + 1;
    CU_ASSERT(llmopt_iqr_new(&q, &qc, err, sizeof(err)) == LLMOPT_ERR_RANGE && q == NULL);
    llmopt_mad *m;
    llmopt_mad_config mc;
    llmopt_mad_config_default(&mc);
    mc.threshold = -1;
    CU_ASSERT(llmopt_mad_new(&m, &mc, NULL, 0) == LLMOPT_ERR_RANGE && m == NULL);
    mc.threshold = 3.5;
    mc.guard = (llmopt_anomaly_guard)7;
    CU_ASSERT(llmopt_mad_new(&m, &mc, err, sizeof(err)) == LLMOPT_ERR_RANGE);
    llmopt_zscore_destroy(NULL);
    llmopt_iqr_destroy(NULL);
    llmopt_mad_destroy(NULL);
}

static void test_warmup_and_reset(void) {
    for (int k = 0; k < 3; k++) {
        det a = make_default(KINDS[k], LLMOPT_ANOMALY_GUARD_SKIP);
        det b = make_default(KINDS[k], LLMOPT_ANOMALY_GUARD_SKIP);
        uint32_t warm = KINDS[k] == DET_Z ? 10 : (KINDS[k] == DET_IQR ? 20 : 31);
        llmopt_anomaly_verdict va, vb;
        for (int i = 0; i < 100; i++) {
            det_update(&a, series(i), &va);
            CU_ASSERT(va.ready == (i >= (int)warm));
            if (i < (int)warm)
                CU_ASSERT(!va.is_anomaly && va.admitted == va.value);
        }
        det_reset(&a);
        int same = 1;
        for (int i = 0; i < 300; i++) {
            det_update(&a, series(i), &va);
            det_update(&b, series(i), &vb);
            same &= same_verdict(&va, &vb);
        }
        CU_ASSERT(same);
        det_destroy(&a);
        det_destroy(&b);
    }
}

/* Serialise mid-stream, restore, and the continuation is bit-identical. */
static void test_roundtrip(void) {
    for (int k = 0; k < 3; k++) {
        for (int g = 0; g < 3; g++) {
            for (int cut = 0; cut < 700; cut += 233) {
                det a = make_default(KINDS[k], (llmopt_anomaly_guard)g);
                llmopt_anomaly_verdict va, vb;
                for (int i = 0; i < cut; i++)
                    det_update(&a, series(i), &va);
                llmopt_wbuf w;
                llmopt_wbuf_init(&w);
                CU_ASSERT_FATAL(det_serialize(&a, &w) == LLMOPT_OK);
                det b;
                CU_ASSERT_FATAL(det_deserialize(KINDS[k], &b, w.data, w.len) == LLMOPT_OK);
                int same = 1, flagged = 0;
                for (int i = cut; i < cut + 700; i++) {
                    det_update(&a, series(i), &va);
                    det_update(&b, series(i), &vb);
                    same &= same_verdict(&va, &vb);
                    flagged += va.is_anomaly;
                }
                CU_ASSERT(same);
                CU_ASSERT(flagged > 0); /* the series does exercise the guard */
                llmopt_wbuf w2, w3;
                llmopt_wbuf_init(&w2);
                llmopt_wbuf_init(&w3);
                det_serialize(&a, &w2);
                det_serialize(&b, &w3);
                CU_ASSERT(w2.len == w3.len && memcmp(w2.data, w3.data, w2.len) == 0);
                llmopt_wbuf_release(&w);
                llmopt_wbuf_release(&w2);
                llmopt_wbuf_release(&w3);
                det_destroy(&a);
                det_destroy(&b);
            }
        }
    }
}

static void test_bad_checkpoints(void) {
    for (int k = 0; k < 3; k++) {
        det a = make_default(KINDS[k], LLMOPT_ANOMALY_GUARD_CLIP);
        for (int i = 0; i < 50; i++)
            det_update(&a, series(i), NULL);
        llmopt_wbuf w;
        llmopt_wbuf_init(&w);
        det_serialize(&a, &w);
        det b;
        /* every strict prefix is refused */
        int refused = 1;
        for (size_t n = 0; n < w.len; n++) {
            llmopt_err_t e = det_deserialize(KINDS[k], &b, w.data, n);
            refused &= e != LLMOPT_OK && b.p == NULL;
        }
        CU_ASSERT(refused);
        /* one trailing byte */
        uint8_t *big = malloc(w.len + 1);
        memcpy(big, w.data, w.len);
        big[w.len] = 0;
        CU_ASSERT(det_deserialize(KINDS[k], &b, big, w.len + 1) == LLMOPT_ERR_INVALID);
        /* another detector's tag */
        CU_ASSERT(det_deserialize(KINDS[(k + 1) % 3], &b, w.data, w.len) != LLMOPT_OK);
        /* the last stored double (a window value, or the variance) made NaN */
        memcpy(big, w.data, w.len);
        uint64_t nanbits = 0x7ff8000000000001ULL;
        memcpy(big + w.len - 8, &nanbits, 8);
        CU_ASSERT(det_deserialize(KINDS[k], &b, big, w.len) != LLMOPT_OK);
        /* the guard byte out of range (offset 5 + 8 + 8 + 4 for z, 5 + 4 + 8 + 4 else) */
        memcpy(big, w.data, w.len);
        big[KINDS[k] == DET_Z ? 25 : 21] = 9;
        CU_ASSERT(det_deserialize(KINDS[k], &b, big, w.len) == LLMOPT_ERR_RANGE);
        /* the sample count at its bound: accepted, but no further update */
        memcpy(big, w.data, w.len);
        size_t seen_at = KINDS[k] == DET_Z ? 34 : 30;
        uint64_t seen = LLMOPT_ANOMALY_INDEX_MAX;
        for (int i = 0; i < 8; i++)
            big[seen_at + i] = (uint8_t)(seen >> (8 * i));
        CU_ASSERT_FATAL(det_deserialize(KINDS[k], &b, big, w.len) == LLMOPT_OK);
        CU_ASSERT(det_update(&b, 1.0, NULL) == LLMOPT_ERR_RANGE);
        det_destroy(&b);
        seen++;
        for (int i = 0; i < 8; i++)
            big[seen_at + i] = (uint8_t)(seen >> (8 * i));
        CU_ASSERT(det_deserialize(KINDS[k], &b, big, w.len) == LLMOPT_ERR_INVALID);
        free(big);
        llmopt_wbuf_release(&w);
        det_destroy(&a);
    }
}

/* ---- golden files from numpy ---- */

static void run_golden(const char *name) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s.txt", GOLDEN_DIR, name);
    FILE *f = fopen(path, "r");
    CU_ASSERT_FATAL(f != NULL);
    char kindname[16], guardname[16];
    double p1, p2, min_scale;
    unsigned warmup;
    CU_ASSERT_FATAL(fscanf(f, "%15s %lf %lf %u %15s %lf", kindname, &p1, &p2, &warmup, guardname,
                           &min_scale) == 6);
    det_kind kind = !strcmp(kindname, "zscore") ? DET_Z : !strcmp(kindname, "iqr") ? DET_IQR : DET_MAD;
    llmopt_anomaly_guard g = !strcmp(guardname, "include") ? LLMOPT_ANOMALY_GUARD_INCLUDE
                             : !strcmp(guardname, "skip")  ? LLMOPT_ANOMALY_GUARD_SKIP
                                                           : LLMOPT_ANOMALY_GUARD_CLIP;
    det d;
    CU_ASSERT_FATAL(det_new(&d, kind, p1, p2, warmup, g, min_scale) == LLMOPT_OK);
    int rows = 0, bad = 0, flagged = 0;
    char tok[9][64];
    while (fscanf(f, "%63s %63s %63s %63s %63s %63s %63s %63s %63s", tok[0], tok[1], tok[2],
                  tok[3], tok[4], tok[5], tok[6], tok[7], tok[8]) == 9) {
        double x = strtod(tok[0], NULL);
        llmopt_anomaly_verdict v;
        CU_ASSERT(det_update(&d, x, &v) == LLMOPT_OK);
        int ok = v.ready == atoi(tok[1]) && v.is_anomaly == atoi(tok[2]) &&
                 v.direction == atoi(tok[3]) && close_to(v.baseline, strtod(tok[4], NULL)) &&
                 close_to(v.scale, strtod(tok[5], NULL)) && close_to(v.score, strtod(tok[6], NULL)) &&
                 close_to(v.lower, strtod(tok[7], NULL)) && close_to(v.upper, strtod(tok[8], NULL)) &&
                 v.index == (uint64_t)rows;
        if (!ok && bad++ < 3)
            fprintf(stderr, "%s row %d: got ready %d anomaly %d dir %d base %.17g scale %.17g "
                    "score %.17g lower %.17g upper %.17g; want %s %s %s %s %s %s %s %s\n",
                    name, rows, v.ready, v.is_anomaly, v.direction, v.baseline, v.scale,
                    v.score, v.lower, v.upper, tok[1], tok[2], tok[3], tok[4], tok[5], tok[6],
                    tok[7], tok[8]);
        flagged += v.is_anomaly;
        rows++;
    }
    fclose(f);
    CU_ASSERT(rows >= 100);
    CU_ASSERT(bad == 0);
    CU_ASSERT(flagged > 0);
    det_destroy(&d);
}

static const char *GOLDEN[] = {
    "zscore_latency_include", "zscore_latency_skip", "zscore_latency_clip",
    "iqr_latency_include", "iqr_latency_skip", "iqr_latency_clip",
    "mad_latency_include", "mad_latency_skip", "mad_latency_clip",
    "zscore_constant_skip", "zscore_constant_minscale", "iqr_constant_clip",
    "mad_constant_skip", "mad_counts_include", "iqr_counts_skip", "zscore_counts_clip",
};

static void test_golden(void) {
    for (size_t i = 0; i < sizeof(GOLDEN) / sizeof(GOLDEN[0]); i++)
        run_golden(GOLDEN[i]);
}

/* ---- seed corpus for tests/fuzz/fuzz_anomaly_state.c ---- */

static int write_corpus(const char *dir) {
    const char *names[3] = {"zscore", "iqr", "mad"};
    for (int k = 0; k < 3; k++) {
        for (int g = 0; g < 3; g++) {
            det a = make_default(KINDS[k], (llmopt_anomaly_guard)g);
            for (int i = 0; i < 15 + 20 * g; i++)
                det_update(&a, series(i), NULL);
            llmopt_wbuf w;
            llmopt_wbuf_init(&w);
            det_serialize(&a, &w);
            char path[512];
            snprintf(path, sizeof(path), "%s/%s_%s.bin", dir, names[k],
                     llmopt_anomaly_guard_name((llmopt_anomaly_guard)g));
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(w.data, 1, w.len, f) != w.len) {
                fprintf(stderr, "cannot write '%s'\n", path);
                return 1;
            }
            fclose(f);
            llmopt_wbuf_release(&w);
            det_destroy(&a);
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write-corpus"))
        return write_corpus(argv[2]);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("anomaly", NULL, NULL);
    CU_add_test(s, "zscore_hand", test_zscore_hand);
    CU_add_test(s, "iqr_hand", test_iqr_hand);
    CU_add_test(s, "mad_hand", test_mad_hand);
    CU_add_test(s, "zero_variance_zscore", test_zero_variance_zscore);
    CU_add_test(s, "bad_input", test_bad_input);
    CU_add_test(s, "warmup_and_reset", test_warmup_and_reset);
    CU_add_test(s, "roundtrip", test_roundtrip);
    CU_add_test(s, "bad_checkpoints", test_bad_checkpoints);
    CU_add_test(s, "golden_numpy", test_golden);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
