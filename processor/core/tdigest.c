/*
 * tdigest.c - merging t-digest with the k1 (arcsin) scale function, the
 * Postgres tdigest TEXT form and a binary checkpoint form (see tdigest.h).
 */
#include "processor/core/tdigest.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TD_PI 3.14159265358979323846
#define TD_TAG "TDIG"
#define TD_VERSION 1
/* Input buffer length in multiples of the compression: a full buffer is
 * sorted and merged in O(B log B + n), so per add the merge costs
 * O(log B + n / B); 8 x compression makes the merge pass rare enough that
 * adding is bounded by the sort (bench/results/windows.md). */
#define TD_BUFFER_FACTOR 8u
#define TD_BUFFER_MIN 64u
/* The Postgres extension refuses more centroids than this per compression. */
#define TD_TEXT_CENTROID_FACTOR 10u

struct llmopt_tdigest {
    uint32_t compression;
    int64_t count;   /* every value, flushed or not */
    double min, max; /* +inf / -inf while empty */

    llmopt_tdigest_centroid *c; /* flushed centroids, sorted by mean */
    uint32_t n, ccap;

    double *buf;                /* unit-weight input, unsorted */
    uint32_t nbuf, bufcap;

    llmopt_tdigest_centroid *pend; /* weighted input (merge, add_n), unsorted */
    uint32_t npend, pendcap;
};

static uint32_t td_bufmax(uint32_t compression) {
    uint32_t b = compression * TD_BUFFER_FACTOR;
    return b < TD_BUFFER_MIN ? TD_BUFFER_MIN : b;
}

/* ---- scale function k1 over [0, compression] ---- */

static double td_k_of_q(double q, double compression) {
    if (q <= 0.0)
        return 0.0;
    if (q >= 1.0)
        return compression;
    return compression / TD_PI * asin(2.0 * q - 1.0) + compression / 2.0;
}

static double td_q_of_k(double k, double compression) {
    if (k >= compression)
        return 1.0;
    if (k <= 0.0)
        return 0.0;
    return (1.0 - cos(TD_PI * k / compression)) / 2.0;
}

/* ---- sorting ---- */

static void insertion_sort_doubles(double *a, size_t n) {
    for (size_t i = 1; i < n; i++) {
        double v = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

/* Quicksort without a comparator call per element: the buffer sort is the
 * cost of add(). Recurses on the smaller side, so the depth is O(log n). */
static void sort_doubles(double *a, size_t n) {
    while (n > 24) {
        size_t mid = n / 2;
        double x = a[0], y = a[mid], z = a[n - 1], pivot;
        if (x < y)
            pivot = y < z ? y : (x < z ? z : x);
        else
            pivot = x < z ? x : (y < z ? z : y);
        size_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* [0, j] <= pivot <= [j + 1, n) */
        size_t left = j + 1;
        if (left < n - left) {
            sort_doubles(a, left);
            a += left;
            n -= left;
        } else {
            sort_doubles(a + left, n - left);
            n = left;
        }
    }
    insertion_sort_doubles(a, n);
}

/* The buffer sort is the cost of add(): quicksort on random doubles spends
 * its time in mispredicted branches. So: LSD radix sort on the top 32 bits
 * of an order-preserving integer image of each double (4 counting passes,
 * skipped when a byte is constant), then an insertion pass that orders
 * values equal in those bits. That pass is near linear on real data; should
 * it do more than 8 moves per element (values crowded within a relative
 * 2^-20 of each other), quicksort finishes the job. */
static uint64_t key_of(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof(u));
    return (u >> 63) ? ~u : u | ((uint64_t)1 << 63);
}

static double double_of(uint64_t k) {
    uint64_t u = (k >> 63) ? k & ~((uint64_t)1 << 63) : ~k;
    double x;
    memcpy(&x, &u, sizeof(x));
    return x;
}

/* 1 when a is ascending (no pair out of order). Cheap: on unsorted input
 * it usually stops within a few elements. */
static int is_sorted_doubles(const double *a, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (a[i] < a[i - 1])
            return 0;
    return 1;
}

static void sort_buffer(double *a, size_t n) {
    if (is_sorted_doubles(a, n))
        return; /* a sealed pane's buffer (llmopt_tdigest_sort_input) */
    if (n < 256) {
        sort_doubles(a, n);
        return;
    }
    uint64_t *k = malloc(2 * n * sizeof(*k));
    if (!k) { /* no scratch memory: the in-place sort still works */
        sort_doubles(a, n);
        return;
    }
    uint64_t *src = k, *dst = k + n;
    uint32_t hist[4][256];
    memset(hist, 0, sizeof(hist));
    for (size_t i = 0; i < n; i++) {
        uint64_t v = key_of(a[i]);
        src[i] = v;
        hist[0][(v >> 32) & 0xff]++;
        hist[1][(v >> 40) & 0xff]++;
        hist[2][(v >> 48) & 0xff]++;
        hist[3][v >> 56]++;
    }
    for (int p = 0; p < 4; p++) {
        unsigned shift = 32 + 8 * (unsigned)p;
        if (hist[p][(src[0] >> shift) & 0xff] == n)
            continue;
        uint32_t pos[256], sum = 0;
        for (int b = 0; b < 256; b++) {
            pos[b] = sum;
            sum += hist[p][b];
        }
        for (size_t i = 0; i < n; i++)
            dst[pos[(src[i] >> shift) & 0xff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    size_t moves = 0, limit = 8 * n;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = src[i];
        size_t j = i;
        while (j > 0 && src[j - 1] > v && moves < limit) {
            src[j] = src[j - 1];
            j--;
            moves++;
        }
        src[j] = v;
    }
    for (size_t i = 0; i < n; i++)
        a[i] = double_of(src[i]);
    free(k);
    if (moves >= limit)
        sort_doubles(a, n);
}

/* Stable merge sort of centroids by mean, so equal means keep their input
 * order and the result never depends on the sort implementation (a stable
 * sort's output is unique). Natural merge sort: the input of a merge is
 * mostly the concatenated sorted centroid arrays of other digests, so the
 * existing ascending runs are found first and merged pairwise, left to
 * right, O(n log runs) instead of O(n log n). */
static int sort_centroids(llmopt_tdigest_centroid *a, size_t n) {
    size_t nruns = 1;
    for (size_t i = 1; i < n; i++)
        nruns += a[i].mean < a[i - 1].mean;
    if (nruns <= 1)
        return 0;
    llmopt_tdigest_centroid *tmp = malloc(n * sizeof(*tmp));
    size_t *run = malloc((nruns + 1) * sizeof(*run)); /* run k is [run[k], run[k+1]) */
    if (!tmp || !run) {
        free(tmp);
        free(run);
        return -1;
    }
    size_t k = 0;
    run[k++] = 0;
    for (size_t i = 1; i < n; i++)
        if (a[i].mean < a[i - 1].mean)
            run[k++] = i;
    run[k] = n;
    llmopt_tdigest_centroid *src = a, *dst = tmp;
    while (nruns > 1) {
        size_t out = 0;
        for (size_t r = 0; r < nruns; r += 2) {
            size_t lo = run[r];
            if (r + 1 == nruns) { /* odd run out: copied as is */
                memcpy(dst + lo, src + lo, (run[r + 1] - lo) * sizeof(*src));
                run[out++] = lo;
                continue;
            }
            size_t mid = run[r + 1], hi = run[r + 2];
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                dst[o++] = src[j].mean < src[i].mean ? src[j++] : src[i++];
            while (i < mid)
                dst[o++] = src[i++];
            while (j < hi)
                dst[o++] = src[j++];
            run[out++] = lo;
        }
        run[out] = n;
        nruns = out;
        llmopt_tdigest_centroid *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
    free(tmp);
    free(run);
    return 0;
}

/* ---- lifecycle ---- */

llmopt_tdigest *llmopt_tdigest_new(uint32_t compression) {
    if (compression < LLMOPT_TDIGEST_MIN_COMPRESSION ||
        compression > LLMOPT_TDIGEST_MAX_COMPRESSION)
        return NULL;
    llmopt_tdigest *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->compression = compression;
    d->min = INFINITY;
    d->max = -INFINITY;
    return d;
}

void llmopt_tdigest_destroy(llmopt_tdigest *d) {
    if (!d)
        return;
    free(d->c);
    free(d->buf);
    free(d->pend);
    free(d);
}

static void *dup_array(const void *p, size_t n, size_t size) {
    if (n == 0)
        return NULL;
    void *q = malloc(n * size);
    if (q)
        memcpy(q, p, n * size);
    return q;
}

llmopt_tdigest *llmopt_tdigest_clone(const llmopt_tdigest *d) {
    llmopt_tdigest *e = llmopt_tdigest_new(d->compression);
    if (!e)
        return NULL;
    e->count = d->count;
    e->min = d->min;
    e->max = d->max;
    e->c = dup_array(d->c, d->n, sizeof(*d->c));
    e->buf = dup_array(d->buf, d->nbuf, sizeof(*d->buf));
    e->pend = dup_array(d->pend, d->npend, sizeof(*d->pend));
    if ((d->n && !e->c) || (d->nbuf && !e->buf) || (d->npend && !e->pend)) {
        llmopt_tdigest_destroy(e);
        return NULL;
    }
    e->n = e->ccap = d->n;
    e->nbuf = e->bufcap = d->nbuf;
    e->npend = e->pendcap = d->npend;
    return e;
}

void llmopt_tdigest_reset(llmopt_tdigest *d) {
    d->count = 0;
    d->min = INFINITY;
    d->max = -INFINITY;
    d->n = d->nbuf = d->npend = 0;
}

int64_t llmopt_tdigest_count(const llmopt_tdigest *d) {
    return d->count;
}

uint32_t llmopt_tdigest_compression(const llmopt_tdigest *d) {
    return d->compression;
}

double llmopt_tdigest_min(const llmopt_tdigest *d) {
    return d->count ? d->min : NAN;
}

double llmopt_tdigest_max(const llmopt_tdigest *d) {
    return d->count ? d->max : NAN;
}

const llmopt_tdigest_centroid *llmopt_tdigest_centroids(const llmopt_tdigest *d, size_t *n) {
    if (n)
        *n = d->n;
    return d->c;
}

/* ---- compression pass ---- */

/* The three sorted inputs of a merge pass, read in mean order; on equal
 * means centroids come first, then weighted input, then unit input, so the
 * pass is a pure function of the state. */
typedef struct td_stream {
    const llmopt_tdigest_centroid *c, *p;
    const double *b;
    size_t nc, np, nb, ic, ip, ib;
} td_stream;

static inline __attribute__((always_inline)) int td_next(td_stream *s, double *mean,
                                                          int64_t *count) {
    int pick = -1;
    double best = 0;
    if (s->ic < s->nc) {
        pick = 0;
        best = s->c[s->ic].mean;
    }
    if (s->ip < s->np && (pick < 0 || s->p[s->ip].mean < best)) {
        pick = 1;
        best = s->p[s->ip].mean;
    }
    if (s->ib < s->nb && (pick < 0 || s->b[s->ib] < best))
        pick = 2;
    switch (pick) {
    case 0:
        *mean = s->c[s->ic].mean;
        *count = s->c[s->ic++].count;
        return 1;
    case 1:
        *mean = s->p[s->ip].mean;
        *count = s->p[s->ip++].count;
        return 1;
    case 2:
        *mean = s->b[s->ib++];
        *count = 1;
        return 1;
    }
    return 0;
}

static llmopt_err_t td_compress(llmopt_tdigest *d) {
    if (d->nbuf == 0 && d->npend == 0)
        return LLMOPT_OK;
    size_t total_items = (size_t)d->n + d->nbuf + d->npend;
    llmopt_tdigest_centroid *out = malloc(total_items * sizeof(*out));
    if (!out)
        return LLMOPT_ERR_NOMEM;
    if (sort_centroids(d->pend, d->npend) != 0) {
        free(out);
        return LLMOPT_ERR_NOMEM;
    }
    sort_buffer(d->buf, d->nbuf);

    td_stream s = {.c = d->c, .nc = d->n, .p = d->pend, .np = d->npend,
                   .b = d->buf, .nb = d->nbuf};
    const double delta = d->compression;
    const double total = (double)d->count;
    double limit = total * td_q_of_k(1.0, delta);
    int64_t so_far = 0;
    size_t nout = 0;
    llmopt_tdigest_centroid cur;
    td_next(&s, &cur.mean, &cur.count);
    double m;
    int64_t w;
    while (td_next(&s, &m, &w)) {
        if ((double)(so_far + cur.count + w) <= limit) {
            double prev = cur.mean;
            cur.count += w;
            cur.mean += (m - cur.mean) * ((double)w / (double)cur.count);
            /* rounding must not break the order of means */
            if (cur.mean > m)
                cur.mean = m;
            if (cur.mean < prev)
                cur.mean = prev;
        } else {
            out[nout++] = cur;
            so_far += cur.count;
            limit = total * td_q_of_k(td_k_of_q((double)so_far / total, delta) + 1.0, delta);
            cur.mean = m;
            cur.count = w;
        }
    }
    out[nout++] = cur;

    llmopt_tdigest_centroid *shrunk = realloc(out, nout * sizeof(*out));
    if (shrunk)
        out = shrunk;
    free(d->c);
    d->c = out;
    d->n = d->ccap = (uint32_t)nout;
    d->nbuf = 0;
    d->npend = 0;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_tdigest_flush(llmopt_tdigest *d) {
    return td_compress(d);
}

/* ---- adding ---- */

/* Grows the pending-centroid array to hold need entries. It works on the
 * typed pointer: writing d->pend through a (void **) would break strict
 * aliasing, and clang -O2 then kept a stale d->pend (found by
 * fuzz_engine_state). */
static llmopt_err_t td_grow_pend(llmopt_tdigest *d, uint32_t need) {
    if (need <= d->pendcap)
        return LLMOPT_OK;
    uint32_t c = d->pendcap ? d->pendcap : 16;
    while (c < need)
        c = c > UINT32_MAX / 2 ? need : c * 2;
    llmopt_tdigest_centroid *q = realloc(d->pend, (size_t)c * sizeof(*q));
    if (!q)
        return LLMOPT_ERR_NOMEM;
    d->pend = q;
    d->pendcap = c;
    return LLMOPT_OK;
}

static llmopt_err_t td_make_room(llmopt_tdigest *d) {
    uint32_t max = td_bufmax(d->compression);
    if (d->bufcap < max) {
        /* exactly want, never past max: a full buffer of max values is
         * what triggers the merge, so capacity must not depend on history
         * (a restored digest has to merge at the same adds) */
        uint32_t want = d->bufcap ? d->bufcap * 2 : 32;
        if (want > max)
            want = max;
        double *b = realloc(d->buf, (size_t)want * sizeof(double));
        if (!b)
            return LLMOPT_ERR_NOMEM;
        d->buf = b;
        d->bufcap = want;
        return LLMOPT_OK;
    }
    return td_compress(d);
}

llmopt_err_t llmopt_tdigest_add(llmopt_tdigest *d, double x) {
    if (!isfinite(x))
        return LLMOPT_ERR_INVALID;
    if (d->count == INT64_MAX)
        return LLMOPT_ERR_RANGE;
    if (d->nbuf == d->bufcap) {
        llmopt_err_t err = td_make_room(d);
        if (err)
            return err;
    }
    x += 0.0; /* -0.0 -> 0.0 */
    d->buf[d->nbuf++] = x;
    if (x < d->min)
        d->min = x;
    if (x > d->max)
        d->max = x;
    d->count++;
    return LLMOPT_OK;
}

/* Append weighted input; compress when the pending buffer is full. On
 * failure d is as before. */
static llmopt_err_t td_append_pend(llmopt_tdigest *d, const llmopt_tdigest_centroid *c, size_t nc,
                                   const double *b, size_t nb, const llmopt_tdigest_centroid *p,
                                   size_t np, int64_t count, double min, double max) {
    if (count == 0)
        return LLMOPT_OK;
    if (d->count > INT64_MAX - count)
        return LLMOPT_ERR_RANGE;
    size_t need = (size_t)d->npend + nc + nb + np;
    if (need > UINT32_MAX / 2)
        return LLMOPT_ERR_RANGE;
    llmopt_err_t err = td_grow_pend(d, (uint32_t)need);
    if (err)
        return err;
    uint32_t old_npend = d->npend;
    int64_t old_count = d->count;
    double old_min = d->min, old_max = d->max;
    if (nc) {
        memcpy(d->pend + d->npend, c, nc * sizeof(*c));
        d->npend += (uint32_t)nc;
    }
    /* Unit values go in sorted: the compression pass's stable sort then
     * finds one run here instead of n/2. Equal unit values are identical
     * items, so their order among themselves cannot change that sort's
     * result. Without scratch memory they go in unsorted (same result). */
    double *sb = nb > 1 && !is_sorted_doubles(b, nb) ? malloc(nb * sizeof(*sb)) : NULL;
    if (sb) {
        memcpy(sb, b, nb * sizeof(*sb));
        sort_buffer(sb, nb);
        b = sb;
    }
    for (size_t i = 0; i < nb; i++) {
        d->pend[d->npend].mean = b[i];
        d->pend[d->npend++].count = 1;
    }
    free(sb);
    if (np) {
        memcpy(d->pend + d->npend, p, np * sizeof(*p));
        d->npend += (uint32_t)np;
    }
    d->count += count;
    if (min < d->min)
        d->min = min;
    if (max > d->max)
        d->max = max;
    if (d->npend >= td_bufmax(d->compression)) {
        err = td_compress(d);
        if (err) {
            d->npend = old_npend;
            d->count = old_count;
            d->min = old_min;
            d->max = old_max;
            return err;
        }
    }
    return LLMOPT_OK;
}

void llmopt_tdigest_sort_input(llmopt_tdigest *d) {
    sort_buffer(d->buf, d->nbuf);
}

llmopt_err_t llmopt_tdigest_add_n(llmopt_tdigest *d, double x, int64_t count) {
    if (!isfinite(x) || count < 1)
        return LLMOPT_ERR_INVALID;
    if (count == 1)
        return llmopt_tdigest_add(d, x);
    x += 0.0;
    llmopt_tdigest_centroid c = {x, count};
    return td_append_pend(d, &c, 1, NULL, 0, NULL, 0, count, x, x);
}

llmopt_err_t llmopt_tdigest_merge(llmopt_tdigest *dst, const llmopt_tdigest *src) {
    if (dst == src)
        return LLMOPT_ERR_INVALID;
    return td_append_pend(dst, src->c, src->n, src->buf, src->nbuf, src->pend, src->npend,
                          src->count, src->min, src->max);
}

/* ---- queries ---- */

/* The CDF model is piecewise linear through knots (rank, value): (0, min),
 * the centre (left + count / 2, mean) of each centroid, (count, max). A
 * centroid of count 1 is one exact sample owning ranks [left, left + 1], so
 * it contributes a flat step (left, mean), (left + 1, mean) instead. */
typedef struct td_knots {
    const llmopt_tdigest *d;
    size_t i;      /* next centroid */
    int stage;     /* 0 min, 1 centroid, 2 second knot of a singleton, 3 max, 4 done */
    double left;   /* rank before centroid i */
} td_knots;

static int td_knot(td_knots *k, double *rank, double *value) {
    const llmopt_tdigest *d = k->d;
    switch (k->stage) {
    case 0:
        *rank = 0;
        *value = d->min;
        k->stage = d->n ? 1 : 3;
        return 1;
    case 1: {
        const llmopt_tdigest_centroid *c = &d->c[k->i];
        *value = c->mean;
        if (c->count == 1) {
            *rank = k->left;
            k->stage = 2;
            return 1;
        }
        *rank = k->left + (double)c->count / 2.0;
        k->left += (double)c->count;
        if (++k->i == d->n)
            k->stage = 3;
        return 1;
    }
    case 2:
        *value = d->c[k->i].mean;
        k->left += 1.0;
        *rank = k->left;
        k->stage = ++k->i == d->n ? 3 : 1;
        return 1;
    case 3:
        *rank = (double)d->count;
        *value = d->max;
        k->stage = 4;
        return 1;
    }
    return 0;
}

double llmopt_tdigest_quantile(llmopt_tdigest *d, double q) {
    if (d->count == 0 || !(q >= 0.0 && q <= 1.0))
        return NAN;
    if (q == 0.0)
        return d->min;
    if (q == 1.0)
        return d->max;
    if (td_compress(d) != LLMOPT_OK)
        return NAN;
    double r = q * (double)d->count;
    td_knots k = {.d = d};
    double r0, v0, r1, v1;
    td_knot(&k, &r0, &v0);
    while (td_knot(&k, &r1, &v1)) {
        if (r1 >= r) {
            if (r1 <= r0)
                return v1;
            double v = v0 + (r - r0) / (r1 - r0) * (v1 - v0);
            return v < v0 ? v0 : (v > v1 ? v1 : v);
        }
        r0 = r1;
        v0 = v1;
    }
    return d->max;
}

double llmopt_tdigest_cdf(llmopt_tdigest *d, double x) {
    if (d->count == 0 || isnan(x))
        return NAN;
    if (x < d->min)
        return 0.0;
    if (x > d->max)
        return 1.0;
    if (td_compress(d) != LLMOPT_OK)
        return NAN;
    /* ranks where the model first reaches x and last stays at x; values
     * equal to x (a flat stretch) count half */
    double r_lo = -1, r_hi = 0;
    td_knots k = {.d = d};
    double r0, v0, r1, v1;
    td_knot(&k, &r0, &v0);
    while (td_knot(&k, &r1, &v1)) {
        if (r_lo < 0 && v1 >= x)
            r_lo = v0 >= x ? r0 : r0 + (x - v0) / (v1 - v0) * (r1 - r0);
        if (v0 > x)
            break;
        r_hi = v1 <= x ? r1 : r0 + (x - v0) / (v1 - v0) * (r1 - r0);
        r0 = r1;
        v0 = v1;
    }
    if (r_lo < 0)
        r_lo = r_hi;
    double c = (r_lo + r_hi) / 2.0 / (double)d->count;
    return c < 0 ? 0 : (c > 1 ? 1 : c);
}

/* ---- Postgres TEXT form ---- */

/* ---- text form ---- */

static const uint64_t td_pow10[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
    10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL};

/* Digits of v (> 0) at the end of buf[0..20); returns the first. */
static char *td_utoa(uint64_t v, char *end) {
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* %.17g is the 17 significant digits of the exact value of x, rounded to
 * nearest with ties to even (glibc), printed as %f or %e by the exponent
 * and stripped of trailing zeros. In the fast range x = m * 2^e2 with
 * m < 2^53 and x * 10^p (p = 16 - decimal exponent <= 22) is an integer
 * below 2^128 shifted right by -e2: the quotient and remainder are exact. */
size_t llmopt_fmt_g17(double x, char *out) {
    double ax = fabs(x);
    if (!(ax >= 1e-5 && ax < 1e16)) {
        if (x == 0) {
            memcpy(out, signbit(x) ? "-0" : "0", signbit(x) ? 3 : 2);
            return signbit(x) ? 2 : 1;
        }
        return (size_t)snprintf(out, LLMOPT_G17_MAX, "%.17g", x);
    }
    uint64_t u;
    memcpy(&u, &ax, sizeof(u));
    int e2 = (int)(u >> 52) - 1075;
    uint64_t m = (u & ((1ULL << 52) - 1)) | (1ULL << 52);
    /* floor(log10(2^(e2 + 52))) is the decimal exponent or one below it */
    int dx = (int)floor((e2 + 52) * 0.30102999566398120);
    uint64_t d;
    for (;;) {
        int p = 16 - dx; /* in [0, 22]: 1e-5 <= ax < 1e16 */
        unsigned __int128 n = (unsigned __int128)m;
        if (p > 19)
            n *= (unsigned __int128)td_pow10[19] * td_pow10[p - 19];
        else
            n *= td_pow10[p];
        unsigned __int128 rem = 0, half = 0;
        if (e2 >= 0) {
            n <<= e2;
        } else {
            rem = n & ((((unsigned __int128)1) << -e2) - 1);
            half = ((unsigned __int128)1) << (-e2 - 1);
            n >>= -e2;
        }
        if (n >= td_pow10[17]) {
            dx++;
            continue;
        }
        if (n < td_pow10[16]) {
            dx--;
            continue;
        }
        d = (uint64_t)n;
        if (rem > half || (rem == half && half && (d & 1)))
            d++;
        if (d == td_pow10[17]) {
            d = td_pow10[16];
            dx++;
        }
        break;
    }
    char digits[24];
    char *dg = td_utoa(d, digits + sizeof(digits)); /* exactly 17 digits */
    int nd = 17;
    while (nd > 1 && dg[nd - 1] == '0')
        nd--;
    char *o = out;
    if (x < 0)
        *o++ = '-';
    if (dx < -4 || dx >= 17) {
        *o++ = dg[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, dg + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        *o++ = 'e';
        *o++ = dx < 0 ? '-' : '+';
        int ae = dx < 0 ? -dx : dx;
        if (ae >= 100)
            *o++ = (char)('0' + ae / 100);
        *o++ = (char)('0' + ae / 10 % 10);
        *o++ = (char)('0' + ae % 10);
    } else if (dx >= 0) {
        memcpy(o, dg, (size_t)dx + 1);
        o += dx + 1;
        if (nd > dx + 1) {
            *o++ = '.';
            memcpy(o, dg + dx + 1, (size_t)(nd - dx - 1));
            o += nd - dx - 1;
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -dx - 1; i++)
            *o++ = '0';
        memcpy(o, dg, (size_t)nd);
        o += nd;
    }
    *o = 0;
    return (size_t)(o - out);
}

llmopt_err_t llmopt_tdigest_to_text(llmopt_tdigest *d, char **out, size_t *out_len,
                                    char *errstr, size_t errstr_size) {
    if (d->count == 0)
        return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                           "empty digest has no tdigest text form");
    if (td_compress(d) != LLMOPT_OK)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    char tmp[96];
    int len = snprintf(tmp, sizeof(tmp), "flags 1 count %lld compression %u centroids %u",
                       (long long)d->count, d->compression, d->n);
    llmopt_wbuf_bytes(&w, tmp, (size_t)len);
    for (uint32_t i = 0; i < d->n; i++) {
        /* " (%.17g, %lld)" without printf, the costly part of a window's
         * output (counts are >= 1) */
        char *o = tmp;
        *o++ = ' ';
        *o++ = '(';
        o += llmopt_fmt_g17(d->c[i].mean, o);
        *o++ = ',';
        *o++ = ' ';
        char num[24];
        char *nb = td_utoa((uint64_t)d->c[i].count, num + sizeof(num));
        memcpy(o, nb, (size_t)(num + sizeof(num) - nb));
        o += num + sizeof(num) - nb;
        *o++ = ')';
        llmopt_wbuf_bytes(&w, tmp, (size_t)(o - tmp));
    }
    llmopt_wbuf_u8(&w, 0);
    if (w.err) {
        llmopt_wbuf_release(&w);
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    size_t n;
    *out = (char *)llmopt_wbuf_detach(&w, &n);
    if (out_len)
        *out_len = n - 1;
    return LLMOPT_OK;
}

typedef struct td_cursor {
    const char *p, *end;
} td_cursor;

static void cur_skip_ws(td_cursor *c) {
    while (c->p < c->end && isspace((unsigned char)*c->p))
        c->p++;
}

static int cur_word(td_cursor *c, const char *word) {
    cur_skip_ws(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/* Copies the token (at most 63 characters drawn from accept) into tok. */
static size_t cur_token(td_cursor *c, char tok[64], int number_chars_only) {
    cur_skip_ws(c);
    size_t n = 0;
    while (c->p + n < c->end && n < 63) {
        unsigned char ch = (unsigned char)c->p[n];
        int ok = isdigit(ch) || ch == '+' || ch == '-' ||
                 (!number_chars_only && (ch == '.' || isalpha(ch)));
        if (!ok)
            break;
        tok[n++] = (char)ch;
    }
    tok[n] = 0;
    return n;
}

/* 0 ok, LLMOPT_ERR_INVALID not a number, LLMOPT_ERR_RANGE overflow */
static llmopt_err_t cur_i64(td_cursor *c, int64_t *v) {
    char tok[64];
    size_t n = cur_token(c, tok, 1);
    if (n == 0 || n == 63)
        return n ? LLMOPT_ERR_RANGE : LLMOPT_ERR_INVALID;
    char *endp;
    errno = 0;
    long long x = strtoll(tok, &endp, 10);
    if (*endp != 0 || endp == tok)
        return LLMOPT_ERR_INVALID;
    if (errno == ERANGE)
        return LLMOPT_ERR_RANGE;
    c->p += n;
    *v = x;
    return LLMOPT_OK;
}

static llmopt_err_t cur_double(td_cursor *c, double *v) {
    char tok[64];
    size_t n = cur_token(c, tok, 0);
    if (n == 0 || n == 63)
        return LLMOPT_ERR_INVALID;
    char *endp;
    errno = 0;
    double x = strtod(tok, &endp);
    if (*endp != 0 || endp == tok)
        return LLMOPT_ERR_INVALID;
    c->p += n;
    *v = x;
    return LLMOPT_OK;
}

static llmopt_err_t text_field(td_cursor *c, const char *name, int64_t lo, int64_t hi,
                               int64_t *v, char *errstr, size_t errstr_size) {
    if (!cur_word(c, name))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "expected '%s'", name);
    llmopt_err_t err = cur_i64(c, v);
    if (err == LLMOPT_OK && (*v < lo || *v > hi))
        err = LLMOPT_ERR_RANGE;
    if (err == LLMOPT_ERR_RANGE)
        return llmopt_errf(err, errstr, errstr_size, "'%s' out of range [%lld, %lld]", name,
                           (long long)lo, (long long)hi);
    if (err)
        return llmopt_errf(err, errstr, errstr_size, "bad '%s' value", name);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_tdigest_from_text(const char *text, size_t len, llmopt_tdigest **out,
                                      char *errstr, size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_INVALID, err;
    llmopt_tdigest *d = NULL;
    llmopt_tdigest_centroid *c = NULL;
    td_cursor cur = {text, text + len};
    int64_t flags, count, compression, ncent;

    if (len && text[len - 1] == 0)
        cur.end--;
    if ((err = text_field(&cur, "flags", 0, INT32_MAX, &flags, errstr, errstr_size)) ||
        (err = text_field(&cur, "count", 1, INT64_MAX, &count, errstr, errstr_size)) ||
        (err = text_field(&cur, "compression", LLMOPT_TDIGEST_MIN_COMPRESSION,
                          LLMOPT_TDIGEST_MAX_COMPRESSION, &compression, errstr, errstr_size)) ||
        (err = text_field(&cur, "centroids", 1, compression * TD_TEXT_CENTROID_FACTOR, &ncent,
                          errstr, errstr_size))) {
        result = err;
        goto out;
    }
    if (flags > 1) {
        result = llmopt_errf(LLMOPT_ERR_VERSION, errstr, errstr_size,
                             "unsupported tdigest flags '%lld'", (long long)flags);
        goto out;
    }
    /* each centroid takes at least "(0,1)": refuse early instead of
     * allocating for centroids the input cannot hold */
    if (ncent > (cur.end - cur.p) / 5) {
        result = llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, errstr_size,
                             "input too short for '%lld' centroids", (long long)ncent);
        goto out;
    }
    c = malloc((size_t)ncent * sizeof(*c));
    if (!c) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    int64_t total = 0;
    for (int64_t i = 0; i < ncent; i++) {
        double v;
        int64_t w;
        if (!cur_word(&cur, "(") || cur_double(&cur, &v) != LLMOPT_OK || !cur_word(&cur, ",") ||
            (err = cur_i64(&cur, &w)) != LLMOPT_OK || !cur_word(&cur, ")")) {
            result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                 "bad centroid '%lld'", (long long)i);
            goto out;
        }
        if (w <= 0 || w > count) {
            result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                 "centroid '%lld' count out of range", (long long)i);
            goto out;
        }
        if (flags == 0)
            v /= (double)w;
        if (!isfinite(v)) {
            result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                 "centroid '%lld' mean is not finite", (long long)i);
            goto out;
        }
        if (i > 0 && v < c[i - 1].mean) {
            result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                 "centroid '%lld' not sorted by mean", (long long)i);
            goto out;
        }
        if (total > INT64_MAX - w) {
            result = llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "count overflow");
            goto out;
        }
        total += w;
        c[i].mean = v + 0.0;
        c[i].count = w;
    }
    cur_skip_ws(&cur);
    if (cur.p != cur.end) {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "trailing characters");
        goto out;
    }
    if (total != count) {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "centroid counts sum to '%lld', not '%lld'", (long long)total,
                             (long long)count);
        goto out;
    }
    if (!(d = llmopt_tdigest_new((uint32_t)compression))) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    d->c = c;
    c = NULL;
    d->n = d->ccap = (uint32_t)ncent;
    d->count = count;
    d->min = d->c[0].mean;
    d->max = d->c[d->n - 1].mean;
    *out = d;
    d = NULL;
    result = LLMOPT_OK;
out:
    free(c);
    llmopt_tdigest_destroy(d);
    return result;
}

/* ---- binary state ---- */

void llmopt_tdigest_serialize(const llmopt_tdigest *d, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, TD_TAG, TD_VERSION);
    llmopt_wbuf_u32(w, d->compression);
    llmopt_wbuf_i64(w, d->count);
    llmopt_wbuf_f64(w, d->min);
    llmopt_wbuf_f64(w, d->max);
    llmopt_wbuf_u32(w, d->n);
    for (uint32_t i = 0; i < d->n; i++) {
        llmopt_wbuf_f64(w, d->c[i].mean);
        llmopt_wbuf_i64(w, d->c[i].count);
    }
    llmopt_wbuf_u32(w, d->nbuf);
    for (uint32_t i = 0; i < d->nbuf; i++)
        llmopt_wbuf_f64(w, d->buf[i]);
    llmopt_wbuf_u32(w, d->npend);
    for (uint32_t i = 0; i < d->npend; i++) {
        llmopt_wbuf_f64(w, d->pend[i].mean);
        llmopt_wbuf_i64(w, d->pend[i].count);
    }
}

/* Reads n centroids; checks finite means within [min, max], counts >= 1,
 * the running total against overflow and, when sorted, the order. */
static int read_centroids(llmopt_rbuf *r, llmopt_tdigest_centroid *c, uint32_t n, int sorted,
                          double min, double max, int64_t *total) {
    for (uint32_t i = 0; i < n; i++) {
        c[i].mean = llmopt_rbuf_f64(r);
        c[i].count = llmopt_rbuf_i64(r);
        if (r->err)
            return 0;
        if (!(c[i].mean >= min && c[i].mean <= max) || c[i].count < 1 ||
            *total > INT64_MAX - c[i].count || (sorted && i && c[i].mean < c[i - 1].mean))
            return 0;
        *total += c[i].count;
    }
    return 1;
}

llmopt_err_t llmopt_tdigest_deserialize(llmopt_rbuf *r, llmopt_tdigest **out,
                                        char *errstr, size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_INVALID;
    llmopt_tdigest *d = NULL;
    const char *why = "bad digest";

    if (!llmopt_rbuf_header(r, TD_TAG, TD_VERSION))
        goto bad;
    uint32_t compression = llmopt_rbuf_u32(r);
    int64_t count = llmopt_rbuf_i64(r);
    double min = llmopt_rbuf_f64(r), max = llmopt_rbuf_f64(r);
    if (r->err)
        goto bad;
    if (compression < LLMOPT_TDIGEST_MIN_COMPRESSION ||
        compression > LLMOPT_TDIGEST_MAX_COMPRESSION || count < 0) {
        why = "digest compression or count out of range";
        goto bad;
    }
    if (count == 0 ? !(min == INFINITY && max == -INFINITY)
                   : !(isfinite(min) && isfinite(max) && min <= max)) {
        why = "digest min/max inconsistent";
        goto bad;
    }
    d = llmopt_tdigest_new(compression);
    if (!d) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    d->count = count;
    d->min = min;
    d->max = max;
    uint32_t bufmax = td_bufmax(compression);
    int64_t total = 0;

    d->n = llmopt_rbuf_count(r, UINT32_MAX / 2, 16);
    if (r->err)
        goto bad;
    if (d->n && !(d->c = malloc((size_t)d->n * sizeof(*d->c))))
        goto nomem;
    d->ccap = d->n;
    if (!read_centroids(r, d->c, d->n, 1, min, max, &total)) {
        why = "bad digest centroid";
        goto bad;
    }

    d->nbuf = llmopt_rbuf_count(r, bufmax, 8);
    if (r->err)
        goto bad;
    if (d->nbuf && !(d->buf = malloc((size_t)d->nbuf * sizeof(double))))
        goto nomem;
    d->bufcap = d->nbuf;
    for (uint32_t i = 0; i < d->nbuf; i++) {
        double v = llmopt_rbuf_f64(r);
        if (r->err)
            goto bad;
        if (!(v >= min && v <= max) || (v == 0.0 && signbit(v)) || total == INT64_MAX) {
            why = "bad digest buffered value";
            goto bad;
        }
        d->buf[i] = v;
        total++;
    }

    d->npend = llmopt_rbuf_count(r, bufmax, 16);
    if (r->err)
        goto bad;
    if (d->npend && !(d->pend = malloc((size_t)d->npend * sizeof(*d->pend))))
        goto nomem;
    d->pendcap = d->npend;
    if (!read_centroids(r, d->pend, d->npend, 0, min, max, &total)) {
        why = "bad digest weighted input";
        goto bad;
    }
    if (total != count) {
        why = "digest counts do not add up";
        goto bad;
    }
    *out = d;
    d = NULL;
    result = LLMOPT_OK;
    goto out;
nomem:
    result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    goto out;
bad:
    if (r->err == LLMOPT_ERR_TRUNCATED) {
        result = llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, errstr_size, "digest truncated");
    } else {
        if (!r->err)
            r->err = LLMOPT_ERR_INVALID;
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "%s", why);
    }
out:
    llmopt_tdigest_destroy(d);
    return result;
}
