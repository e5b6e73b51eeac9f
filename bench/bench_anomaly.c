/* bench_anomaly.c - update throughput of the window-level anomaly
 * detectors (zscore, iqr, mad), guard SKIP, on a noisy series with ~1%
 * spikes. Prints updates per second, best of 3 runs per configuration.
 *
 *   bench_anomaly [updates]   (default 2000000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "processor/core/iqr.h"
#include "processor/core/mad.h"
#include "processor/core/zscore.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double *make_series(size_t n) {
    double *xs = malloc(sizeof(double) * n);
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < n && xs; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double u = (double)(s >> 11) / 9007199254740992.0;
        xs[i] = 100.0 + 10.0 * (u - 0.5) + ((s & 127) == 0 ? 60.0 : 0.0);
    }
    return xs;
}

typedef llmopt_err_t (*update_fn)(void *d, double x, llmopt_anomaly_verdict *v);

static double run(update_fn fn, void *d, const double *xs, size_t n, uint64_t *flagged) {
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        uint64_t f = 0;
        llmopt_anomaly_verdict v;
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            fn(d, xs[i], &v);
            f += (uint64_t)v.is_anomaly;
        }
        double rate = (double)n / (now_s() - t0);
        if (rate > best)
            best = rate;
        *flagged = f;
    }
    return best;
}

static llmopt_err_t z_up(void *d, double x, llmopt_anomaly_verdict *v) { return llmopt_zscore_update(d, x, v); }
static llmopt_err_t i_up(void *d, double x, llmopt_anomaly_verdict *v) { return llmopt_iqr_update(d, x, v); }
static llmopt_err_t m_up(void *d, double x, llmopt_anomaly_verdict *v) { return llmopt_mad_update(d, x, v); }

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    double *xs = make_series(n);
    if (!xs)
        return 1;
    uint64_t flagged;
    printf("%-8s %8s %14s %10s\n", "detector", "window", "updates/s", "flagged");
    llmopt_zscore *z;
    if (llmopt_zscore_new(&z, NULL, NULL, 0) != LLMOPT_OK)
        return 1;
    double r = run(z_up, z, xs, n, &flagged);
    printf("%-8s %8s %14.0f %10llu\n", "zscore", "-", r, (unsigned long long)flagged);
    llmopt_zscore_destroy(z);
    static const uint32_t windows[] = {30, 256, 1024};
    for (size_t k = 0; k < 3; k++) {
        llmopt_iqr_config ic;
        llmopt_iqr_config_default(&ic);
        ic.window = ic.warmup = windows[k];
        llmopt_iqr *q;
        if (llmopt_iqr_new(&q, &ic, NULL, 0) != LLMOPT_OK)
            return 1;
        r = run(i_up, q, xs, n, &flagged);
        printf("%-8s %8u %14.0f %10llu\n", "iqr", windows[k], r, (unsigned long long)flagged);
        llmopt_iqr_destroy(q);
        llmopt_mad_config mc;
        llmopt_mad_config_default(&mc);
        mc.window = mc.warmup = windows[k];
        llmopt_mad *m;
        if (llmopt_mad_new(&m, &mc, NULL, 0) != LLMOPT_OK)
            return 1;
        r = run(m_up, m, xs, n, &flagged);
        printf("%-8s %8u %14.0f %10llu\n", "mad", windows[k], r, (unsigned long long)flagged);
        llmopt_mad_destroy(m);
    }
    free(xs);
    return 0;
}
