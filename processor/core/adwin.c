/*
 * adwin.c - ADWIN2 with exponential-histogram buckets (see adwin.h).
 *
 * The floating-point expressions are written in exactly the order River
 * evaluates them; do not "simplify" them (e.g. into reciprocals or FMAs)
 * without re-running the golden comparison in tests/unit/test_adwin.c.
 */
#include "processor/core/adwin.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define ADWIN_TAG "ADWN"
#define ADWIN_VERSION 1

llmopt_adwin_config llmopt_adwin_config_default(void) {
    llmopt_adwin_config c;
    memset(&c, 0, sizeof(c));
    c.delta = 0.002;
    c.clock = 32;
    c.max_buckets = 5;
    c.min_window_length = 5;
    c.grace_period = 10;
    c.scan = LLMOPT_ADWIN_SCAN_FULL;
    c.after = LLMOPT_ADWIN_AFTER_SHRINK;
    return c;
}

static llmopt_err_t validate(const llmopt_adwin_config *c, char *errstr, size_t n) {
    if (!c)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, n, "adwin config is null");
    if (!(c->delta > 0.0 && c->delta < 1.0))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "adwin 'delta' %g not in (0, 1)", c->delta);
    if (c->clock < 1)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "adwin 'clock' must be >= 1");
    if (c->max_buckets < 1 || c->max_buckets > 31)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "adwin 'max_buckets' %u not in [1, 31]",
                           c->max_buckets);
    if (c->min_window_length < 1)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, n, "adwin 'min_window_length' must be >= 1");
    if (c->scan != LLMOPT_ADWIN_SCAN_FULL && c->scan != LLMOPT_ADWIN_SCAN_SKIP_NEWEST)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, n, "adwin 'scan' %d unknown", (int)c->scan);
    if (c->after != LLMOPT_ADWIN_AFTER_SHRINK && c->after != LLMOPT_ADWIN_AFTER_RESET)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, n, "adwin 'after' %d unknown", (int)c->after);
    return LLMOPT_OK;
}

static void empty_window(llmopt_adwin *a) {
    a->nrows = 1;
    a->tick = 0;
    a->phase = 0;
    a->width = 0.0;
    a->total = 0.0;
    a->variance = 0.0;
    memset(a->cnt, 0, sizeof(a->cnt));
}

static uint32_t whole_rows(uint32_t max_buckets) {
    uint32_t r = LLMOPT_ADWIN_SLOTS / (max_buckets + 1);
    return r > LLMOPT_ADWIN_MAX_ROWS ? LLMOPT_ADWIN_MAX_ROWS : r;
}

static void set_layout(llmopt_adwin *a) {
    a->row_cap = a->cfg.max_buckets + 1;
    a->max_rows = whole_rows(a->cfg.max_buckets);
    a->cap_rows = a->max_rows;
    a->bv_off = a->cap_rows * a->row_cap;
}

#define BT(a) ((a)->slots)
#define BV(a) ((a)->slots + (a)->bv_off)

size_t llmopt_adwin_sizeof(const llmopt_adwin_config *cfg, uint32_t rows) {
    uint32_t max = whole_rows(cfg->max_buckets);
    if (rows < 1)
        rows = 1;
    if (rows > max)
        rows = max;
    return offsetof(llmopt_adwin, slots) +
           2 * (size_t)rows * (cfg->max_buckets + 1) * sizeof(double);
}

llmopt_err_t llmopt_adwin_init_rows(llmopt_adwin *a, const llmopt_adwin_config *cfg,
                                    uint32_t rows, char *errstr, size_t errstr_size) {
    memset(a, 0, offsetof(llmopt_adwin, slots));
    llmopt_err_t e = validate(cfg, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    a->cfg = *cfg;
    set_layout(a);
    if (rows < 1)
        rows = 1;
    if (rows < a->max_rows) {
        a->cap_rows = rows;
        a->bv_off = rows * a->row_cap;
    }
    memset(a->slots, 0, 2 * (size_t)a->bv_off * sizeof(double));
    empty_window(a);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_adwin_init(llmopt_adwin *a, const llmopt_adwin_config *cfg,
                               char *errstr, size_t errstr_size) {
    memset(a, 0, sizeof(*a));
    return llmopt_adwin_init_rows(a, cfg, LLMOPT_ADWIN_MAX_ROWS, errstr, errstr_size);
}

uint32_t llmopt_adwin_rows_cap(const llmopt_adwin *a) {
    return a->cap_rows;
}

uint32_t llmopt_adwin_rows_wanted(const llmopt_adwin *a) {
    return a->nrows < a->max_rows ? a->nrows + 1 : a->max_rows;
}

void llmopt_adwin_set_rows_cap(llmopt_adwin *a, uint32_t rows) {
    if (rows < a->nrows)
        rows = a->nrows;
    if (rows > a->max_rows)
        rows = a->max_rows;
    uint32_t off = rows * a->row_cap;
    if (off != a->bv_off)
        memmove(a->slots + off, a->slots + a->bv_off, (size_t)a->nrows * a->row_cap * sizeof(double));
    a->cap_rows = rows;
    a->bv_off = off;
}

void llmopt_adwin_reset(llmopt_adwin *a) {
    empty_window(a);
    a->n_seen = 0;
    a->n_detections = 0;
}

/* Drop the first `by` of `n` entries. Rows are at most 32 long and usually
 * 6: an inline loop beats a memmove call (adwin.cmake keeps GCC from
 * turning the loop back into one). */
static inline void shift_down(double *t, double *v, uint32_t n, uint32_t by) {
    if (n == 6 && by == 2) { /* compress() with the default max_buckets 5 */
        t[0] = t[2], t[1] = t[3], t[2] = t[4], t[3] = t[5];
        v[0] = v[2], v[1] = v[3], v[2] = v[4], v[3] = v[5];
        return;
    }
    for (uint32_t i = by; i < n; i++) {
        t[i - by] = t[i];
        v[i - by] = v[i];
    }
}

static inline double bucket_size(uint32_t row) {
    return (double)((uint64_t)1 << row);
}

/* 2^-row, built from its bit pattern (exact, no divide) */
static inline double bucket_size_inv(uint32_t row) {
    uint64_t bits = (uint64_t)(1023 - row) << 52;
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

/* Drop the oldest bucket of the last row; returns its size. Removing the
 * bucket's contribution from the variance uses the Chan et al. merge formula
 * run backwards, as River does. */
static double delete_oldest(llmopt_adwin *a, double *sum_out) {
    uint32_t last = a->nrows - 1;
    double *t = BT(a) + (size_t)last * a->row_cap;
    double *v = BV(a) + (size_t)last * a->row_cap;
    double n = bucket_size(last);
    double u = t[0];
    double var = v[0];
    double mu = u / n;

    a->width -= n;
    a->total -= u;
    double mu_window = a->total / a->width;
    double inc = var + n * a->width * (mu - mu_window) * (mu - mu_window) / (n + a->width);
    a->variance -= inc;

    uint32_t c = a->cnt[last];
    shift_down(t, v, c, 1);
    a->cnt[last] = (uint8_t)(c - 1);
    /* Drop every empty trailing row. River pops only one; with
     * max_buckets >= 2 inner rows are never empty so that is the same, but
     * with max_buckets 1 they can be, and River would then read a bucket
     * from an empty row. */
    while (a->nrows > 1 && a->cnt[a->nrows - 1] == 0)
        a->nrows--;
    if (sum_out)
        *sum_out = u;
    return n;
}

/* Merge the two oldest buckets of every row that reached max_buckets + 1. */
static void compress(llmopt_adwin *a) {
    const uint32_t m = a->cfg.max_buckets, rc = a->row_cap;
    uint32_t idx = 0;
    while (a->cnt[idx] == m + 1) {
        if (idx + 1 == a->cap_rows) {
            /* no row left to merge into: the window slides at its bound */
            delete_oldest(a, NULL);
            return;
        }
        double *t = BT(a) + (size_t)idx * rc;
        double *v = BV(a) + (size_t)idx * rc;
        double n1 = bucket_size(idx);
        /* t / 2^idx == t * 2^-idx exactly (both are the correctly rounded
         * scaling), and a multiply is far cheaper than a divide */
        double inv = bucket_size_inv(idx);
        double t0 = t[0], t1 = t[1];
        double mu1 = t0 * inv, mu2 = t1 * inv;
        double total12 = t0 + t1;
        double temp = n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2);
        double v12 = v[0] + v[1] + temp;

        if (idx + 1 >= a->nrows)
            a->nrows = idx + 2; /* the new row is empty: cnt was kept at 0 */
        uint32_t nc = a->cnt[idx + 1];
        BT(a)[(size_t)(idx + 1) * rc + nc] = total12;
        BV(a)[(size_t)(idx + 1) * rc + nc] = v12;
        a->cnt[idx + 1] = (uint8_t)(nc + 1);

        shift_down(t, v, m + 1, 2);
        a->cnt[idx] = (uint8_t)(m - 1);
        idx++;
    }
}

/* One pass over the cut points, oldest boundary first. Returns 1 after
 * dropping a bucket because a cut qualified.
 *
 * The first loop walks the buckets and records, per cut point, the running
 * n0, n1, u0, u1 exactly as River accumulates them (sequential adds and
 * subtractions, so the same roundings). A branch-free, vectorisable loop
 * then screens all cuts with a conservative division-free bound, and only
 * cuts that pass it get River's exact test, in scan order; the first that
 * qualifies is taken, as in River. Detections are therefore bit-identical
 * to River's (the golden tests check it) at a fraction of the cost: on a
 * stationary stream almost no cut passes the screen. */
static int scan_once(llmopt_adwin *a, double *dropped_n, double *dropped_sum) {
    const double mwl = (double)a->cfg.min_window_length;
    const int skip = a->cfg.scan == LLMOPT_ADWIN_SCAN_SKIP_NEWEST;
    /* constant during a pass: River recomputes them per cut, same values */
    const double dprime = log(2.0 * log(a->width) / a->cfg.delta);
    const double vw = a->variance / a->width;
    double n0 = 0.0, n1 = a->width, u0 = 0.0, u1 = a->total;
    double an0[LLMOPT_ADWIN_SLOTS], an1[LLMOPT_ADWIN_SLOTS];
    double au0[LLMOPT_ADWIN_SLOTS], au1[LLMOPT_ADWIN_SLOTS];
    uint32_t j = 0;

    for (int32_t idx = (int32_t)a->nrows - 1; idx >= 0; idx--) {
        const double bs = bucket_size((uint32_t)idx);
        const uint32_t c = a->cnt[idx];
        const uint32_t lim = skip ? (c ? c - 1 : 0) : c;
        const double *t = BT(a) + (size_t)idx * a->row_cap;
        for (uint32_t k = 0; k < lim; k++) {
            n0 += bs;
            n1 -= bs;
            u0 += t[k];
            u1 -= t[k];
            if (idx == 0 && k == c - 1)
                break; /* W1 would be empty: not a cut */
            an0[j] = n0;
            an1[j] = n1;
            au0[j] = u0;
            au1[j] = u1;
            j++;
        }
    }

    /* Division-free necessary condition, evaluated for all cuts at once.
     * A cut needs |dm| > eps >= sqrt(2 m s2 d'), i.e. with dm = E/(n0 n1),
     * E = u0 n1 - u1 n0, m = (a + b)/(a b), a = n0 - mwl + 1, b = n1 - mwl + 1:
     *     E^2 a b > 2 s2 d' (a + b) (n0 n1)^2.
     * E is inflated by 1e-12 of its terms (rounding of River's dm is ~1e-16
     * of them) and the right side deflated by 1e-9, so every cut River's
     * arithmetic would take passes; only those get the exact test. With a
     * negative s2 or d', infinities or NaN the filter passes everything;
     * it is also switched off (k2 = 0) when s2 is outside [1e-200, 1e200],
     * where products could leave the normal range and lose the margin.
     * (A constant window, s2 = 0, thus always gets the exact test.) */
    const double k2 = (vw > 1e-200 && vw < 1e200) ? 2.0 * vw * dprime * (1.0 - 1e-9) : 0.0;
    double lhs[LLMOPT_ADWIN_SLOTS], rhs[LLMOPT_ADWIN_SLOTS];
    for (uint32_t i = 0; i < j; i++) {
        double x0 = an0[i], x1 = an1[i], s0 = au0[i], s1 = au1[i];
        double ca = x0 - mwl + 1.0, cb = x1 - mwl + 1.0;
        double e = fabs(s0 * x1 - s1 * x0) + 1e-12 * (fabs(s0) * x1 + fabs(s1) * x0);
        double p = x0 * x1;
        lhs[i] = e * e * ca * cb;
        rhs[i] = k2 * (ca + cb) * p * p;
    }
    for (uint32_t i = 0; i < j; i++) {
        if (!(an1[i] >= mwl && an0[i] >= mwl))
            continue;
        if (lhs[i] < rhs[i] && rhs[i] < HUGE_VAL)
            continue; /* cannot cut */
        /* River's test, in River's operation order */
        double delta_mean = (au0[i] / an0[i]) - (au1[i] / an1[i]);
        double m = 1.0 / (an0[i] - mwl + 1.0) + 1.0 / (an1[i] - mwl + 1.0);
        double eps = sqrt(2.0 * m * vw * dprime) + 2.0 / 3.0 * dprime * m;
        if (fabs(delta_mean) > eps) {
            double s;
            *dropped_n += delete_oldest(a, &s);
            *dropped_sum += s;
            return 1;
        }
    }
    return 0;
}

int llmopt_adwin_update(llmopt_adwin *a, double x, llmopt_drift_detection *det) {
    uint64_t index = a->n_seen++;
    if (!isfinite(x))
        return 0;

    /* insert into row 0 */
    uint32_t c = a->cnt[0];
    BT(a)[c] = x;
    BV(a)[c] = 0.0;
    a->cnt[0] = (uint8_t)(c + 1);
    a->width += 1.0;
    if (a->width > 1.0) {
        double d = x - a->total / (a->width - 1.0);
        a->variance += (a->width - 1.0) * d * d / a->width;
    }
    a->total += x;
    if (c + 1 > a->cfg.max_buckets)
        compress(a);

    a->tick++;
    if (++a->phase == a->cfg.clock)
        a->phase = 0;
    if (a->phase != 0 || !(a->width > (double)a->cfg.grace_period))
        return 0;

    double dropped_n = 0.0, dropped_sum = 0.0;
    int cut = 0;
    while (scan_once(a, &dropped_n, &dropped_sum))
        cut = 1;
    if (!cut)
        return 0;

    a->n_detections++;
    if (det) {
        double before = dropped_sum / dropped_n;
        double after = a->total / a->width;
        det->direction = after > before ? LLMOPT_DRIFT_UP : LLMOPT_DRIFT_DOWN;
        det->estimate_before = before;
        det->estimate_after = after;
        det->sample_index = index;
    }
    if (a->cfg.after == LLMOPT_ADWIN_AFTER_RESET)
        empty_window(a);
    return 1;
}

double llmopt_adwin_mean(const llmopt_adwin *a) {
    return a->width > 0.0 ? a->total / a->width : 0.0;
}

double llmopt_adwin_width(const llmopt_adwin *a) {
    return a->width;
}

double llmopt_adwin_variance(const llmopt_adwin *a) {
    return a->width > 0.0 ? a->variance / a->width : 0.0;
}

uint64_t llmopt_adwin_detections(const llmopt_adwin *a) {
    return a->n_detections;
}

void llmopt_adwin_serialize(const llmopt_adwin *a, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, ADWIN_TAG, ADWIN_VERSION);
    llmopt_wbuf_f64(w, a->cfg.delta);
    llmopt_wbuf_u32(w, a->cfg.clock);
    llmopt_wbuf_u32(w, a->cfg.max_buckets);
    llmopt_wbuf_u32(w, a->cfg.min_window_length);
    llmopt_wbuf_u32(w, a->cfg.grace_period);
    llmopt_wbuf_u8(w, (uint8_t)a->cfg.scan);
    llmopt_wbuf_u8(w, (uint8_t)a->cfg.after);
    llmopt_wbuf_u64(w, a->tick);
    llmopt_wbuf_u64(w, a->n_seen);
    llmopt_wbuf_u64(w, a->n_detections);
    llmopt_wbuf_f64(w, a->width);
    llmopt_wbuf_f64(w, a->total);
    llmopt_wbuf_f64(w, a->variance);
    llmopt_wbuf_u32(w, a->nrows);
    for (uint32_t i = 0; i < a->nrows; i++) {
        llmopt_wbuf_u8(w, a->cnt[i]);
        for (uint32_t k = 0; k < a->cnt[i]; k++) {
            llmopt_wbuf_f64(w, BT(a)[(size_t)i * a->row_cap + k]);
            llmopt_wbuf_f64(w, BV(a)[(size_t)i * a->row_cap + k]);
        }
    }
}

static llmopt_err_t rbuf_fail(const llmopt_rbuf *r, char *errstr, size_t n) {
    if (r->err == LLMOPT_ERR_TRUNCATED)
        return llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, n, "adwin state truncated");
    return llmopt_errf(LLMOPT_ERR_INVALID, errstr, n, "adwin state has a bad header");
}

llmopt_err_t llmopt_adwin_deserialize(llmopt_adwin *a, llmopt_rbuf *r,
                                      char *errstr, size_t errstr_size) {
    llmopt_adwin s;
    memset(&s, 0, sizeof(s));
    if (llmopt_rbuf_header(r, ADWIN_TAG, ADWIN_VERSION) == 0)
        return rbuf_fail(r, errstr, errstr_size);
    s.cfg.delta = llmopt_rbuf_f64(r);
    s.cfg.clock = llmopt_rbuf_u32(r);
    s.cfg.max_buckets = llmopt_rbuf_u32(r);
    s.cfg.min_window_length = llmopt_rbuf_u32(r);
    s.cfg.grace_period = llmopt_rbuf_u32(r);
    s.cfg.scan = (llmopt_adwin_scan)llmopt_rbuf_u8(r);
    s.cfg.after = (llmopt_adwin_after)llmopt_rbuf_u8(r);
    s.tick = llmopt_rbuf_u64(r);
    s.n_seen = llmopt_rbuf_u64(r);
    s.n_detections = llmopt_rbuf_u64(r);
    s.width = llmopt_rbuf_f64(r);
    s.total = llmopt_rbuf_f64(r);
    s.variance = llmopt_rbuf_f64(r);
    s.nrows = llmopt_rbuf_u32(r);
    if (r->err)
        return rbuf_fail(r, errstr, errstr_size);
    llmopt_err_t e = validate(&s.cfg, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return LLMOPT_ERR_INVALID;
    set_layout(&s);
    s.phase = (uint32_t)(s.tick % s.cfg.clock);
    if (s.nrows < 1 || s.nrows > s.max_rows)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "adwin row count '%u' out of range", s.nrows);
    double width = 0.0;
    for (uint32_t i = 0; i < s.nrows; i++) {
        uint8_t c = llmopt_rbuf_u8(r);
        if (r->err)
            return rbuf_fail(r, errstr, errstr_size);
        if (c > s.cfg.max_buckets)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "adwin row %u holds '%u' buckets", i, c);
        if (i == s.nrows - 1 && i > 0 && c == 0)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "adwin last row empty");
        s.cnt[i] = c;
        for (uint32_t k = 0; k < c; k++) {
            double t = llmopt_rbuf_f64(r), v = llmopt_rbuf_f64(r);
            if (r->err)
                return rbuf_fail(r, errstr, errstr_size);
            BT(&s)[(size_t)i * s.row_cap + k] = t;
            BV(&s)[(size_t)i * s.row_cap + k] = v;
        }
        width += (double)c * bucket_size(i);
    }
    if (width != s.width)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "adwin width '%g' differs from its buckets' '%g'", s.width, width);
    *a = s;
    return LLMOPT_OK;
}
