/*
 * bench_tdigest.c - t-digest costs on one core: adds per second, quantile
 * and cdf query cost, merge cost, bytes per digest. Median of 3 runs.
 *   build-windows/bench/bench_tdigest [adds_millions (default 20)]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "processor/core/tdigest.h"

/* CPU time of this process: the machine is shared, so wall time measures
 * the neighbours as much as the code; both are reported where it matters. */
static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double wall_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t sm = 12345;
static double unit(void) {
    uint64_t z = (sm += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double median3(double a[3]) {
    qsort(a, 3, sizeof(double), cmp);
    return a[1];
}

#define NVALS (1u << 20)
static double vals[NVALS];

int main(int argc, char **argv) {
    long millions = argc > 1 ? atol(argv[1]) : 20;
    size_t nadds = (size_t)millions * 1000000u;
    for (size_t i = 0; i < NVALS; i++) /* lognormal latencies, median 800 ms */
        vals[i] = 800.0 * exp(0.6 * sqrt(-2.0 * log(unit())) * cos(2.0 * M_PI * unit()));

    /* 1. adds per second into one digest (compression 100) */
    double r[3], rw[3];
    for (int k = 0; k < 3; k++) {
        llmopt_tdigest *d = llmopt_tdigest_new(100);
        double t0 = now_s(), w0 = wall_s();
        for (size_t i = 0; i < nadds; i++)
            llmopt_tdigest_add(d, vals[i & (NVALS - 1)]);
        llmopt_tdigest_flush(d);
        r[k] = (double)nadds / (now_s() - t0);
        rw[k] = (double)nadds / (wall_s() - w0);
        llmopt_tdigest_destroy(d);
    }
    printf("add: %.1f M values/s per CPU second (wall: %.1f M/s) (median of 3, %zu adds each, "
           "flush included)\n",
           median3(r) / 1e6, median3(rw) / 1e6, nadds);

    /* 2. queries on a flushed digest of 1M values */
    llmopt_tdigest *d = llmopt_tdigest_new(100);
    for (size_t i = 0; i < NVALS; i++)
        llmopt_tdigest_add(d, vals[i]);
    llmopt_tdigest_flush(d);
    size_t nc;
    llmopt_tdigest_centroids(d, &nc);
    const int NQ = 1000000;
    volatile double sink = 0;
    for (int k = 0; k < 3; k++) {
        double t0 = now_s();
        for (int i = 0; i < NQ; i++)
            sink += llmopt_tdigest_quantile(d, (i % 999 + 1) / 1000.0);
        r[k] = (now_s() - t0) / NQ * 1e9;
    }
    printf("quantile: %.0f ns/query CPU (%zu centroids)\n", median3(r), nc);
    for (int k = 0; k < 3; k++) {
        double t0 = now_s();
        for (int i = 0; i < NQ; i++)
            sink += llmopt_tdigest_cdf(d, vals[i & (NVALS - 1)]);
        r[k] = (now_s() - t0) / NQ * 1e9;
    }
    printf("cdf: %.0f ns/query CPU\n", median3(r));

    /* 3. merge: 1000 flushed digests of 10k values into one */
    enum { NPARTS = 1000, PER = 10000 };
    llmopt_tdigest **parts = malloc(NPARTS * sizeof(*parts));
    for (int p = 0; p < NPARTS; p++) {
        parts[p] = llmopt_tdigest_new(100);
        for (int i = 0; i < PER; i++)
            llmopt_tdigest_add(parts[p], vals[(size_t)(p * PER + i) & (NVALS - 1)]);
        llmopt_tdigest_flush(parts[p]);
    }
    for (int k = 0; k < 3; k++) {
        llmopt_tdigest *m = llmopt_tdigest_new(100);
        double t0 = now_s();
        for (int p = 0; p < NPARTS; p++)
            llmopt_tdigest_merge(m, parts[p]);
        llmopt_tdigest_flush(m);
        r[k] = (now_s() - t0) / NPARTS * 1e6;
        llmopt_tdigest_destroy(m);
    }
    printf("merge: %.2f us CPU per digest merged (%d digests of %d values, flush included)\n",
           median3(r), NPARTS, PER);

    /* 4. size at compression 100 */
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_tdigest_serialize(d, &w);
    char *t;
    size_t tl;
    llmopt_tdigest_to_text(d, &t, &tl, NULL, 0);
    printf("size (1M values, flushed): %zu centroids, binary state %zu B, postgres text %zu B, "
           "heap ~%zu B (centroids; +8 x compression x 8 B input buffer while filling)\n",
           nc, w.len, tl, nc * sizeof(llmopt_tdigest_centroid));
    size_t pc;
    llmopt_tdigest_centroids(parts[0], &pc);
    printf("size (10k values): %zu centroids\n", pc);
    free(t);
    llmopt_wbuf_release(&w);
    for (int p = 0; p < NPARTS; p++)
        llmopt_tdigest_destroy(parts[p]);
    free(parts);
    llmopt_tdigest_destroy(d);
    return sink == 42.0;
}
