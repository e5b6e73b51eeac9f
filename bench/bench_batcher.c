/*
 * bench_batcher.c - batch formation in libllmopt-gateway's batcher (issue 9
 * "batch formation: recorded"), single thread, CPU time per request
 * (CLOCK_PROCESS_CPUTIME_ID) over 2 000 000 requests per case:
 *   fixed      llmopt_gw_batcher_new(NULL, ...): fixed max_batch 16, no
 *              budget, wait 1000 ms (closes on size)
 *   decision   the batcher of a gateway route whose installed decision says
 *              batching on, max_batch 16, wait 1000 ms: every add re-reads
 *              the decision (route lookup + RCU read), as gateways run it
 *   budget     same route, token budget 2000 with 100..399 tokens per request
 *              (closes on the budget; mean batch size printed)
 *   wait       same route, max_batch 1024, wait 5 ms: one request per ms of
 *              the caller's clock and a poll per ms (closes on the wait; the
 *              figure is per request and includes its poll)
 *   off        a route whose decision has batching off: batches of one
 * Each line also gives batches formed and the mean size; a count that does
 * not match the expected formation fails the run (exit 1).
 *
 *   bench_batcher            (no broker needed; the gateway does not follow)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/avro_codec.h"
#include "gateway/include/llmopt_gateway.h"

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct acc {
    size_t batches, items;
} acc;

static void on_batch(void *ctx, const llmopt_gw_batch_item *items, size_t n) {
    acc *a = ctx;
    (void)items;
    a->batches++;
    a->items += n;
}

static void install(llmopt_gw *gw, const char *route, bool enabled, int32_t max_batch,
                    int64_t wait_ms, int64_t budget) {
    llmopt_avro_codec *c = llmopt_avro_codec_new(llmopt_avro_builtin_source(), NULL, 0);
    llmopt_arm arm;
    memset(&arm, 0, sizeof(arm));
    arm.arm_id = llmopt_str_of("a");
    arm.provider = llmopt_str_of("p");
    arm.model = llmopt_str_of("m");
    arm.weight = 1;
    llmopt_routing_decision d;
    llmopt_routing_decision_init(&d);
    d.route = llmopt_str_of(route);
    d.version = 1;
    d.ts_ms = 1000;
    d.algorithm = llmopt_str_of("static");
    d.arms.items = &arm;
    d.arms.count = 1;
    d.default_arm = arm.arm_id;
    d.reason = llmopt_str_of("bench");
    d.has_batching = true;
    d.batching.enabled = enabled;
    d.batching.max_batch = max_batch;
    d.batching.max_wait_ms = wait_ms;
    d.batching.token_budget = budget;
    llmopt_wbuf wb;
    llmopt_wbuf_init(&wb);
    llmopt_avro_encode(c, LLMOPT_REC_ROUTING_DECISION, &d, &wb, NULL, 0);
    char err[256] = "";
    if (llmopt_gw_apply_decision(gw, route, strlen(route), wb.data, wb.len, NULL, NULL, err,
                                 sizeof(err)))
        fprintf(stderr, "bench_batcher: decision for '%s' not installed: %s\n", route, err);
    llmopt_wbuf_release(&wb);
    llmopt_avro_codec_destroy(c);
}

/* Runs n requests through b; tokens 100..399 when vary, poll each step when
 * poll. Returns CPU ns per request. */
static double run(llmopt_gw_batcher *b, size_t n, bool vary, bool poll) {
    char id[32];
    snprintf(id, sizeof(id), "req-0123456789abcdef");
    double t0 = cpu_s();
    for (size_t i = 0; i < n; i++) {
        int64_t now = (int64_t)i; /* one request per ms */
        if (poll)
            llmopt_gw_batcher_poll(b, now);
        llmopt_gw_batcher_add(b, id, vary ? 100 + (int64_t)(i * 7919 % 300) : 100, now);
    }
    double per = (cpu_s() - t0) * 1e9 / (double)n;
    llmopt_gw_batcher_flush(b);
    return per;
}

static int line(const char *what, double per, const acc *a, size_t n, double want_mean,
                double tol) {
    double mean = a->batches ? (double)a->items / (double)a->batches : 0;
    bool ok = a->items == n && mean > want_mean - tol && mean < want_mean + tol;
    printf("%-44s %6.1f ns CPU/request  %8zu batches  mean size %6.2f%s\n", what, per,
           a->batches, mean, ok ? "" : "  UNEXPECTED");
    return ok ? 0 : 1;
}

int main(void) {
    const size_t n = 2000000;
    int bad = 0;
    llmopt_gw_config cfg;
    llmopt_gw_config_init(&cfg);
    cfg.follow = false;
    char err[256];
    llmopt_gw *gw = llmopt_gw_new(&cfg, err, sizeof(err));
    if (!gw) {
        fprintf(stderr, "bench_batcher: %s\n", err);
        return 1;
    }
    install(gw, "r-size", true, 16, 1000, 0);
    install(gw, "r-budget", true, 16, 1000, 2000);
    install(gw, "r-wait", true, 1024, 5, 0);
    install(gw, "r-off", false, 16, 1000, 0);

    acc a = {0, 0};
    llmopt_gw_batcher *b = llmopt_gw_batcher_new(NULL, NULL, 16, 1000, 0, on_batch, &a);
    bad |= line("fixed max_batch 16 (no gateway)", run(b, n, false, false), &a, n, 16, 0.01);
    llmopt_gw_batcher_destroy(b);

    a = (acc){0, 0};
    b = llmopt_gw_batcher_new(gw, "r-size", 1, 0, 0, on_batch, &a);
    bad |= line("decision max_batch 16", run(b, n, false, false), &a, n, 16, 0.01);
    llmopt_gw_batcher_destroy(b);

    /* 100..399 tokens (mean ~250) under a 2000 budget: 7-8 per batch */
    a = (acc){0, 0};
    b = llmopt_gw_batcher_new(gw, "r-budget", 1, 0, 0, on_batch, &a);
    bad |= line("decision token budget 2000 (100..399 tok)", run(b, n, true, false), &a, n,
                7.5, 1.0);
    llmopt_gw_batcher_destroy(b);

    /* one request per ms, wait 5 ms: the oldest waits 5 ms -> 5 per batch */
    a = (acc){0, 0};
    b = llmopt_gw_batcher_new(gw, "r-wait", 1, 0, 0, on_batch, &a);
    bad |= line("decision wait 5 ms, 1 req/ms + poll per ms", run(b, n, false, true), &a, n,
                5, 0.01);
    llmopt_gw_batcher_destroy(b);

    a = (acc){0, 0};
    b = llmopt_gw_batcher_new(gw, "r-off", 1, 0, 0, on_batch, &a);
    bad |= line("decision batching off (batches of one)", run(b, n, false, false), &a, n, 1,
                0.01);
    llmopt_gw_batcher_destroy(b);
    llmopt_gw_destroy(gw);
    return bad;
}
