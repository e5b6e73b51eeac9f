/*
 * bench_window.c - event-time windows with a t-digest per window across
 * 10k keys (100 routes x 100 arms): events per second through
 * llmopt_window_add (assign, lookup, digest add, watermark, close) plus
 * popping and reading p50/p99 of every closed window; peak RSS.
 *   build-windows/bench/bench_window [events_millions (default 5)] [advance_s (default 60)]
 * Events: 1 partition, 2 000 events/s of event time, out of order by up to
 * 2 s, tumbling 60 s windows (or hopping with advance_s < 60), ooo 5 s,
 * grace 5 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "processor/core/tdigest.h"
#include "processor/core/window.h"

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

typedef struct acc {
    int64_t count;
    llmopt_tdigest *latency;
} acc;

static llmopt_err_t a_init(void *p, void *ctx) {
    acc *a = p;
    a->latency = llmopt_tdigest_new(100);
    return a->latency ? LLMOPT_OK : LLMOPT_ERR_NOMEM;
}
static llmopt_err_t a_add(void *p, const void *ev, void *ctx) {
    acc *a = p;
    a->count++;
    return llmopt_tdigest_add(a->latency, *(const double *)ev);
}
static void a_release(void *p, void *ctx) {
    llmopt_tdigest_destroy(((acc *)p)->latency);
}

int main(int argc, char **argv) {
    long millions = argc > 1 ? atol(argv[1]) : 5;
    int64_t advance_s = argc > 2 ? atol(argv[2]) : 60;
    size_t n = (size_t)millions * 1000000u;
    llmopt_window_config cfg = {60000, advance_s * 1000, 0, 5000, 5000};
    llmopt_window_ops ops = {.payload_size = sizeof(acc), .init = a_init, .add = a_add,
                             .release = a_release};
    char err[128];
    llmopt_window_store *s = llmopt_window_store_new(&cfg, &ops, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char (*keys)[24] = malloc(10000 * sizeof(*keys));
    size_t *klen = malloc(10000 * sizeof(*klen));
    for (int k = 0; k < 10000; k++)
        klen[k] = (size_t)snprintf(keys[k], sizeof(keys[k]), "route-%02d/arm-%02d", k / 100, k % 100);

    uint64_t x = 88172645463325252ULL;
    size_t late = 0, closed = 0, max_open = 0;
    volatile double sink = 0;
    double t0 = now_s(), w0 = wall_s();
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int k = (int)(x % 10000);
        int64_t ts = (int64_t)(i / 2) - (int64_t)((x >> 20) % 2000); /* 2000 ev/s */
        double lat = 200.0 + (double)((x >> 32) % 3000);
        int is_late;
        llmopt_window_add(s, 0, ts, keys[k], klen[k], &lat, &is_late);
        late += (size_t)is_late;
        llmopt_window_closed c;
        while (llmopt_window_pop(s, &c)) {
            acc *a = c.payload;
            sink += llmopt_tdigest_quantile(a->latency, 0.5) +
                    llmopt_tdigest_quantile(a->latency, 0.99);
            llmopt_window_closed_release(s, &c);
            closed++;
        }
        if ((i & 0xffff) == 0) {
            llmopt_window_stats st;
            llmopt_window_get_stats(s, &st);
            if (st.open_windows > max_open)
                max_open = st.open_windows;
        }
    }
    double dt = now_s() - t0, dw = wall_s() - w0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    llmopt_window_stats st;
    llmopt_window_get_stats(s, &st);
    printf("windows: size 60 s advance %lld s, 10k keys, %zu events in %.2f CPU s: %.2f M "
           "events per CPU second (wall %.2f M/s)\n",
           (long long)advance_s, n, dt, (double)n / dt / 1e6, (double)n / dw / 1e6);
    printf("  closed %zu windows (p50+p99 read from each), late events %zu, max open windows %zu\n",
           closed, late, max_open);
    printf("  store bytes now %zu (open %llu), peak RSS %ld MB\n", st.store_bytes,
           (unsigned long long)st.open_windows, ru.ru_maxrss / 1024);
    llmopt_window_store_destroy(s);
    free(keys);
    free(klen);
    return sink == 42.0;
}
