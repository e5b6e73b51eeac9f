/*
 * bench_drift.c - update throughput of the drift detectors on one core, and
 * their state size per (key, metric). Not a test: build and run by hand,
 * record results in bench/results/drift.md.
 *
 *   ninja -C build-drift bench_drift && ./build-drift/bench/bench_drift [updates_millions]
 *
 * Inputs are pre-generated (N(0,1), or Bernoulli(0.05) for the Bernoulli
 * CUSUM) so the RNG is not timed; each detector runs on a stationary stream
 * from a fresh init, so ADWIN's window keeps growing through the run (its
 * worst case for the cut scan: it never shrinks). Median of 3 runs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "processor/core/adwin.h"
#include "processor/core/cusum.h"
#include "processor/core/page_hinkley.h"

#define NVALS (1u << 20)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* per-core rate on a shared machine */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x1234567ULL;
static double uniform(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median3(double *v) {
    qsort(v, 3, sizeof(double), cmp_d);
    return v[1];
}

static volatile uint64_t sink;

static double run_adwin(const double *xs, uint64_t n, double *width) {
    static llmopt_adwin a;
    llmopt_adwin_config c = llmopt_adwin_config_default();
    llmopt_adwin_init(&a, &c, NULL, 0);
    uint64_t det = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++)
        det += (uint64_t)llmopt_adwin_update(&a, xs[i & (NVALS - 1)], NULL);
    double t = now_s() - t0;
    sink += det;
    *width = llmopt_adwin_width(&a);
    return (double)n / t;
}

static double run_ph(const double *xs, uint64_t n) {
    llmopt_ph p;
    llmopt_ph_config c = llmopt_ph_config_default();
    llmopt_ph_init(&p, &c, NULL, 0);
    uint64_t det = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++)
        det += (uint64_t)llmopt_ph_update(&p, xs[i & (NVALS - 1)], NULL);
    double t = now_s() - t0;
    sink += det;
    return (double)n / t;
}

static double run_cusum(const double *xs, uint64_t n, llmopt_cusum_kind kind) {
    llmopt_cusum c;
    llmopt_cusum_config cfg = llmopt_cusum_config_default();
    cfg.kind = kind;
    llmopt_cusum_init(&c, &cfg, NULL, 0);
    uint64_t det = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++)
        det += (uint64_t)llmopt_cusum_update(&c, xs[i & (NVALS - 1)], NULL);
    double t = now_s() - t0;
    sink += det;
    return (double)n / t;
}

int main(int argc, char **argv) {
    double millions = argc > 1 ? atof(argv[1]) : 100.0;
    uint64_t n = (uint64_t)(millions * 1e6);
    double *xs = malloc(NVALS * sizeof(double));
    double *bs = malloc(NVALS * sizeof(double));
    if (!xs || !bs)
        return 1;
    for (uint32_t i = 0; i < NVALS; i++) {
        double u = uniform(), v = uniform();
        xs[i] = sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
        bs[i] = uniform() < 0.05 ? 1.0 : 0.0;
    }

    double r[3], width = 0.0;
    printf("updates per run: %llu (inputs cycle through %u pre-generated values)\n",
           (unsigned long long)n, NVALS);
    for (int k = 0; k < 3; k++)
        r[k] = run_adwin(xs, n, &width);
    printf("adwin (defaults, N(0,1))      %8.1f M updates/s  (final window %.0f)\n",
           median3(r) / 1e6, width);
    for (int k = 0; k < 3; k++)
        r[k] = run_adwin(bs, n, &width);
    printf("adwin (defaults, Bern(0.05))  %8.1f M updates/s  (final window %.0f)\n",
           median3(r) / 1e6, width);
    for (int k = 0; k < 3; k++)
        r[k] = run_ph(xs, n);
    printf("page-hinkley (defaults)       %8.1f M updates/s\n", median3(r) / 1e6);
    for (int k = 0; k < 3; k++)
        r[k] = run_cusum(xs, n, LLMOPT_CUSUM_GAUSSIAN);
    printf("cusum gaussian (defaults)     %8.1f M updates/s\n", median3(r) / 1e6);
    for (int k = 0; k < 3; k++)
        r[k] = run_cusum(bs, n, LLMOPT_CUSUM_BERNOULLI);
    printf("cusum bernoulli (defaults)    %8.1f M updates/s\n", median3(r) / 1e6);

    size_t total = sizeof(llmopt_adwin) + sizeof(llmopt_ph) + sizeof(llmopt_cusum);
    printf("state: sizeof adwin %zu + page-hinkley %zu + cusum %zu = %zu bytes per (key, metric); "
           "heap 0 (no allocation in init or update)\n",
           sizeof(llmopt_adwin), sizeof(llmopt_ph), sizeof(llmopt_cusum), total);
    free(xs);
    free(bs);
    return (int)(sink & 0); /* keep the detections observable */
}
