/*
 * bench_gateway.c - libllmopt-gateway hot paths:
 *   choose       p50/p99/p99.9 of llmopt_gw_choose over 1000 routes (4 arms)
 *   admit        p99 of llmopt_gw_admit (global + tenant + user buckets) with
 *                1, 2 and 4 threads
 *   cache        p99 of cache key (2 KB prompt) + LRU lookup (hit)
 *   batch        ns per llmopt_gw_batcher_add (max_batch 16)
 *   report       llmopt_gw_report_request enqueues per second, one thread
 *                (needs the broker; topic llm.bench.gateway, created here)
 * Each call is timed with clock_gettime(CLOCK_MONOTONIC), whose own cost
 * (~20-30 ns here) is included: the figures are upper bounds.
 *
 *   bench_gateway [bootstrap]      (default 127.0.0.1:19092; "-" skips report)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/avro_codec.h"
#include "common/kafka.h"
#include "gateway/include/llmopt_gateway.h"

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void report_pct(const char *what, int64_t *s, size_t n) {
    qsort(s, n, sizeof(*s), cmp64);
    printf("%-34s n=%zu p50=%lld ns p99=%lld ns p99.9=%lld ns\n", what, n,
           (long long)s[n / 2], (long long)s[(size_t)(n * 0.99)],
           (long long)s[(size_t)(n * 0.999)]);
}

static void apply_routes(llmopt_gw *gw, int n, bool limits) {
    llmopt_avro_codec *c = llmopt_avro_codec_new(llmopt_avro_builtin_source(), NULL, 0);
    for (int r = 0; r < n; r++) {
        char route[32], ids[4][8];
        snprintf(route, sizeof(route), "route-%d", r);
        llmopt_arm arms[4];
        memset(arms, 0, sizeof(arms));
        double w[4] = {0.1, 0.2, 0.3, 0.4};
        for (int i = 0; i < 4; i++) {
            snprintf(ids[i], sizeof(ids[i]), "arm%d", i);
            arms[i].arm_id = llmopt_str_of(ids[i]);
            arms[i].provider = llmopt_str_of("provider");
            arms[i].model = llmopt_str_of("model-name-x");
            arms[i].weight = w[i];
        }
        llmopt_routing_decision d;
        llmopt_routing_decision_init(&d);
        d.route = llmopt_str_of(route);
        d.version = 1;
        d.ts_ms = 1000;
        d.algorithm = llmopt_str_of("thompson");
        d.arms.items = arms;
        d.arms.count = 4;
        d.default_arm = arms[0].arm_id;
        d.reason = llmopt_str_of("bench");
        if (limits) {
            d.has_rate_limits = true;
            llmopt_token_bucket big = {1e9, 1e9, 0, 0};
            d.rate_limits.has_global = d.rate_limits.has_per_tenant =
                d.rate_limits.has_per_user = true;
            d.rate_limits.global = d.rate_limits.per_tenant = d.rate_limits.per_user = big;
        }
        d.has_cache_policy = true;
        d.cache_policy.enabled = true;
        d.cache_policy.ttl_ms = 3600000;
        d.cache_policy.max_entries = 10000;
        llmopt_wbuf wb;
        llmopt_wbuf_init(&wb);
        llmopt_avro_encode(c, LLMOPT_REC_ROUTING_DECISION, &d, &wb, NULL, 0);
        llmopt_gw_apply_decision(gw, route, strlen(route), wb.data, wb.len, NULL, NULL, NULL, 0);
        llmopt_wbuf_release(&wb);
    }
    llmopt_avro_codec_destroy(c);
}

static void bench_choose(llmopt_gw *gw) {
    const size_t n = 1000000;
    int64_t *s = malloc(n * sizeof(*s));
    char routes[1000][32];
    for (int r = 0; r < 1000; r++)
        snprintf(routes[r], sizeof(routes[r]), "route-%d", r);
    llmopt_gw_choose_args a = {.now_ms = 2000, .u = -1};
    llmopt_gw_choice c;
    uint64_t x = 88172645463325252ull;
    int64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const char *r = routes[x % 1000];
        int64_t a0 = now_ns();
        llmopt_gw_choose(gw, r, &a, &c);
        s[i] = now_ns() - a0;
    }
    double per = (double)(now_ns() - t0) / n;
    report_pct("choose (1000 routes, 4 arms)", s, n);
    printf("%-34s %.0f ns/call incl. timer, %.2f M/s\n", "choose throughput", per, 1e3 / per);
    free(s);
}

typedef struct admit_ctx {
    llmopt_gw *gw;
    int64_t *s;
    size_t n;
} admit_ctx;

static void *admit_thread(void *arg) {
    admit_ctx *c = arg;
    llmopt_gw_admit_args a = {.tenant = "tenant-1", .user = "user-42",
                              .priority = LLMOPT_GW_PRIO_HIGH, .tokens = 100};
    llmopt_gw_admission ad;
    for (size_t i = 0; i < c->n; i++) {
        int64_t t = now_ns();
        a.now_us = t / 1000;
        llmopt_gw_admit(c->gw, "route-7", &a, &ad);
        c->s[i] = now_ns() - t;
    }
    return NULL;
}

static void bench_admit(llmopt_gw *gw, int threads) {
    const size_t per = 300000;
    admit_ctx ctx[4];
    pthread_t th[4];
    int64_t *all = malloc(per * (size_t)threads * sizeof(int64_t));
    for (int i = 0; i < threads; i++) {
        ctx[i] = (admit_ctx){gw, all + per * (size_t)i, per};
        pthread_create(&th[i], NULL, admit_thread, &ctx[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    char what[64];
    snprintf(what, sizeof(what), "admit, 3 scopes, %d thread(s)", threads);
    report_pct(what, all, per * (size_t)threads);
    free(all);
}

static void bench_bucket(int threads);

static void bench_cache(llmopt_gw *gw) {
    char prompt[2048];
    for (size_t i = 0; i < sizeof(prompt); i++)
        prompt[i] = (i % 7 == 0) ? ' ' : (char)('A' + i % 26);
    char key[LLMOPT_GW_CACHE_KEY_LEN + 1];
    llmopt_gw_cache_key("route-3", prompt, sizeof(prompt), key);
    llmopt_gw_cache_put(gw, "route-3", "chat", key, "cached answer", 13, 1000);
    const size_t n = 100000;
    int64_t *s = malloc(n * sizeof(*s));
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t t = now_ns();
        llmopt_gw_cache_key("route-3", prompt, sizeof(prompt), key);
        void *v;
        size_t len;
        if (llmopt_gw_cache_get(gw, "route-3", "chat", key, 2000, &v, &len)) {
            hits++;
            free(v);
        }
        s[i] = now_ns() - t;
    }
    report_pct("cache key (2 KB) + LRU hit", s, n);
    if (hits != n)
        printf("  unexpected misses: %zu\n", n - hits);
    free(s);
}

static size_t batches;
static void on_batch(void *ctx, const llmopt_gw_batch_item *items, size_t n) {
    (void)ctx;
    (void)items;
    (void)n;
    batches++;
}

static void bench_batch(void) {
    llmopt_gw_batcher *b = llmopt_gw_batcher_new(NULL, NULL, 16, 1000, 0, on_batch, NULL);
    const size_t n = 2000000;
    int64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++)
        llmopt_gw_batcher_add(b, "req-0123456789abcdef", 100, 0);
    double per = (double)(now_ns() - t0) / n;
    printf("%-34s %.1f ns/request, %zu batches of 16\n", "batcher add (max_batch 16)", per,
           batches);
    llmopt_gw_batcher_destroy(b);
}

static void bench_report(const char *bootstrap) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_t *admin = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (llmopt_kafka_topic_create(admin, "llm.bench.gateway", 3, 1, NULL, true, 10000, err,
                                  sizeof(err)) != LLMOPT_OK) {
        printf("report: cannot create the bench topic: %s\n", err);
        rd_kafka_destroy(admin);
        return;
    }
    llmopt_gw_config cfg;
    llmopt_gw_config_init(&cfg);
    cfg.bootstrap_servers = bootstrap;
    cfg.follow = false;
    cfg.requests_topic = "llm.bench.gateway";
    cfg.report_queue_max = 1000000;
    llmopt_gw *gw = llmopt_gw_new(&cfg, err, sizeof(err));
    if (!gw) {
        printf("report: %s\n", err);
        rd_kafka_destroy(admin);
        return;
    }
    llmopt_request r;
    llmopt_request_init(&r);
    r.request_id = llmopt_str_of("0d5e7a3c-4b9f-4c1e-9a5d-2f1e8b7c6d5a");
    r.ts_ms = 1764400000000;
    r.gateway = llmopt_str_of("bench");
    r.route = llmopt_str_of("route-1");
    r.task_type = llmopt_str_of("chat");
    r.arm = llmopt_str_of("arm2");
    r.provider = llmopt_str_of("provider");
    r.model = llmopt_str_of("model-name-x");
    r.decision_version = 12;
    r.propensity = 0.3;
    r.input_tokens_est = 512;
    const size_t n = 300000;
    size_t ok = 0;
    int64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++)
        if (llmopt_gw_report_request(gw, &r, NULL, 0) == LLMOPT_OK)
            ok++;
    double secs = (now_ns() - t0) / 1e9;
    printf("%-34s %.0f k/s enqueued (%zu of %zu), Avro ~%s\n", "report_request, 1 thread",
           ok / secs / 1e3, ok, n, "90 B");
    int64_t t1 = now_ns();
    llmopt_gw_flush(gw, 60000);
    llmopt_gw_stats st;
    llmopt_gw_stats_get(gw, &st);
    printf("%-34s %.0f k/s end to end (delivered %llu)\n", "report + delivery", 
           st.report_delivered / ((now_ns() - t0) / 1e9) / 1e3,
           (unsigned long long)st.report_delivered);
    (void)t1;
    llmopt_gw_destroy(gw);
    llmopt_kafka_topic_delete(admin, "llm.bench.gateway", 10000, NULL, 0);
    rd_kafka_destroy(admin);
}

typedef struct bucket_ctx {
    llmopt_gw_bucket *b;
    int64_t *s;
    size_t n;
} bucket_ctx;

static void *bucket_thread(void *arg) {
    bucket_ctx *c = arg;
    for (size_t i = 0; i < c->n; i++) {
        int64_t t = now_ns();
        llmopt_gw_bucket_take(c->b, 1e9, 1e9, 1.0, 1, t, NULL);
        c->s[i] = now_ns() - t;
    }
    return NULL;
}

static void bench_bucket(int threads) {
    llmopt_gw_bucket b;
    llmopt_gw_bucket_init(&b);
    const size_t per = 500000;
    int64_t *all = malloc(per * (size_t)threads * sizeof(int64_t));
    bucket_ctx ctx[4];
    pthread_t th[4];
    for (int i = 0; i < threads; i++) {
        ctx[i] = (bucket_ctx){&b, all + per * (size_t)i, per};
        pthread_create(&th[i], NULL, bucket_thread, &ctx[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    char what[64];
    snprintf(what, sizeof(what), "one bucket take, %d thread(s)", threads);
    report_pct(what, all, per * (size_t)threads);
    free(all);
}

int main(int argc, char **argv) {
    const char *bootstrap = argc > 1 ? argv[1] : "127.0.0.1:19092";
    llmopt_gw_config cfg;
    llmopt_gw_config_init(&cfg);
    llmopt_gw *gw = llmopt_gw_new(&cfg, NULL, 0);
    apply_routes(gw, 1000, true);
    int64_t t = now_ns();
    (void)t;
    bench_choose(gw);
    bench_admit(gw, 1);
    bench_admit(gw, 2);
    bench_admit(gw, 4);
    bench_bucket(1);
    bench_bucket(4);
    bench_cache(gw);
    bench_batch();
    llmopt_gw_destroy(gw);
    if (strcmp(bootstrap, "-") != 0)
        bench_report(bootstrap);
    return 0;
}
