/*
 * bench_gateway.c - libllmopt-gateway hot paths:
 *   choose       p50/p99/p99.9 of llmopt_gw_choose over 1000 routes (4 arms)
 *   admit        p50/p99/p99.9 of llmopt_gw_admit, three tiers (global +
 *                tenant + user) at priority high, 1, 2 and 4 threads:
 *                "same keys" (every thread the same tenant and user: all
 *                contend on three buckets), "spread" (each call a random
 *                tenant of 100 and user of 10 000), request buckets only or
 *                request + token buckets, now_us given by the caller or read
 *                by the library (now_us = 0), ids as strings or precomputed
 *                (llmopt_gw_limit_id); "refusing": route-9's limits are
 *                below the call rate (1e6 / 1e5 / 2e4 per s), most checks
 *                are refusals (the admitted count is printed); "handle"
 *                rows check by route handle (llmopt_gw_route_handle +
 *                llmopt_gw_admit_route), "h+ids" with precomputed ids
 *   bucket       one GCRA bucket take, 1 and 4 threads on one bucket
 *   cache        p99 of cache key (2 KB prompt) + LRU lookup (hit)
 *   batch        ns per llmopt_gw_batcher_add (max_batch 16)
 *   report       llmopt_gw_report_request enqueues per second, one thread
 *                (needs the broker; topic llm.bench.gateway, created here)
 * Each admit row also prints the involuntary context switches of its
 * threads (getrusage RUSAGE_THREAD): preemption by other processes or by
 * the row's own threads when they outnumber the cores.
 * Timing: admit and bucket time each call with the TSC (lfence; rdtsc ...
 * rdtscp; lfence), calibrated against CLOCK_MONOTONIC over 200 ms at start;
 * choose and cache with clock_gettime(CLOCK_MONOTONIC). Either way the
 * timer's own cost is inside every sample: the "timer alone" line is the
 * same measurement around nothing. Figures are upper bounds.
 *
 *   bench_gateway [bootstrap] [only]   (default 127.0.0.1:19092; "-" skips
 *                                       report; only = "admit" runs only the
 *                                       admit and bucket parts)
 *   bench_gateway - loop [str|ids|handle] [n] [route] [spread]
 *                                      (one thread, no per-call timer: CPU
 *                                       time per check; for callgrind)
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

#include "common/avro_codec.h"
#include "common/kafka.h"
#include "gateway/include/llmopt_gateway.h"

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Per-call timer: TSC ticks where there is a TSC, else ns. */
static double tick_ns = 1.0;

static inline uint64_t t_start(void) {
#ifdef HAVE_TSC
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
#else
    return (uint64_t)now_ns();
#endif
}

static inline uint64_t t_stop(void) {
#ifdef HAVE_TSC
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
#else
    return (uint64_t)now_ns();
#endif
}

static void tick_calibrate(void) {
#ifdef HAVE_TSC
    int64_t n0 = now_ns();
    uint64_t c0 = __rdtsc();
    while (now_ns() - n0 < 200000000)
        ;
    int64_t n1 = now_ns();
    uint64_t c1 = __rdtsc();
    tick_ns = (double)(n1 - n0) / (double)(c1 - c0);
    printf("%-34s %.3f GHz (200 ms against CLOCK_MONOTONIC)\n", "TSC", 1.0 / tick_ns);
#endif
}

static inline int64_t ticks_to_ns(uint64_t t) { return (int64_t)((double)t * tick_ns + 0.5); }

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void report_pct(const char *what, int64_t *s, size_t n) {
    qsort(s, n, sizeof(*s), cmp64);
    printf("%-40s n=%zu p50=%lld ns p99=%lld ns p99.9=%lld ns\n", what, n,
           (long long)s[n / 2], (long long)s[(size_t)(n * 0.99)],
           (long long)s[(size_t)(n * 0.999)]);
}

/* Routes "route-0".."route-<n-1>"; with limits, three tiers of 1e9 requests
 * per second (never refusing: the bench times the check, not a denial),
 * and on route-8 also 1e12 tokens per minute in each tier; route-9 has
 * limits the bench's calls exceed (global 1e6/s burst 1e4, tenant 1e5/s
 * burst 1e3, user 2e4/s burst 500), so most of its checks are refusals. */
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
            if (r == 8)
                big.tokens_per_min = big.tokens_burst = 1e12;
            d.rate_limits.global = d.rate_limits.per_tenant = d.rate_limits.per_user = big;
            if (r == 9) { /* limits that refuse: global 1e6/s, tenant 1e5/s, user 2e4/s */
                d.rate_limits.global = (llmopt_token_bucket){1e6, 1e4, 0, 0};
                d.rate_limits.per_tenant = (llmopt_token_bucket){1e5, 1e3, 0, 0};
                d.rate_limits.per_user = (llmopt_token_bucket){2e4, 500, 0, 0};
            }
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
    const char *route;
    bool spread;     /* random tenant and user per call */
    bool lib_clock;  /* now_us = 0: the library reads CLOCK_MONOTONIC */
    bool ids;        /* tenant_id / user_id precomputed (llmopt_gw_limit_id) */
    llmopt_gw_route *handle; /* non-NULL: llmopt_gw_admit_route by handle */
    unsigned seed;
    int64_t *s;
    size_t n;
    size_t admitted;
    long preempted; /* involuntary context switches of the thread during the row */
} admit_ctx;

static long nivcsw(void) {
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

static char tenants[100][16];
static char users[10000][16];
static uint64_t tenant_ids[100], user_ids[10000];

static void *admit_thread(void *arg) {
    admit_ctx *c = arg;
    llmopt_gw_admit_args a = {.tenant = "tenant-1", .user = "user-42",
                              .priority = LLMOPT_GW_PRIO_HIGH, .tokens = 100};
    llmopt_gw_admission ad;
    uint64_t x = 0x9e3779b97f4a7c15ull * (c->seed + 1);
    size_t ok = 0;
    if (c->ids) {
        a.tenant_id = llmopt_gw_limit_id(a.tenant);
        a.user_id = llmopt_gw_limit_id(a.user);
    }
    long cs0 = nivcsw();
    for (size_t i = 0; i < c->n; i++) {
        if (c->spread) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            a.tenant = tenants[x % 100];
            a.user = users[(x >> 16) % 10000];
            if (c->ids) {
                a.tenant_id = tenant_ids[x % 100];
                a.user_id = user_ids[(x >> 16) % 10000];
            }
        }
        if (!c->lib_clock)
            a.now_us = now_ns() / 1000; /* the caller's request timestamp */
        uint64_t t = t_start();
        if (c->handle)
            llmopt_gw_admit_route(c->gw, c->handle, &a, &ad);
        else
            llmopt_gw_admit(c->gw, c->route, &a, &ad);
        c->s[i] = ticks_to_ns(t_stop() - t);
        ok += ad.verdict == LLMOPT_GW_ADMIT;
    }
    c->admitted = ok;
    c->preempted = nivcsw() - cs0;
    return NULL;
}

static void bench_admit_h(llmopt_gw *gw, int threads, const char *route, bool spread,
                          bool lib_clock, bool ids, bool handle, const char *what_kind) {
    const size_t per = 300000;
    admit_ctx ctx[4];
    pthread_t th[4];
    int64_t *all = malloc(per * (size_t)threads * sizeof(int64_t));
    for (int i = 0; i < threads; i++) {
        ctx[i] = (admit_ctx){gw, route, spread, lib_clock, ids,
                             handle ? llmopt_gw_route_handle(gw, route) : NULL, (unsigned)i,
                             all + per * (size_t)i, per, 0, 0};
        pthread_create(&th[i], NULL, admit_thread, &ctx[i]);
    }
    size_t ok = 0;
    long preempted = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        ok += ctx[i].admitted;
        preempted += ctx[i].preempted;
    }
    char what[96];
    snprintf(what, sizeof(what), "admit %s, %d thr", what_kind, threads);
    report_pct(what, all, per * (size_t)threads);
    printf("  (%ld involuntary context switches in the row's threads)\n", preempted);
    if (ok != per * (size_t)threads)
        printf("  (admitted %zu of %zu)\n", ok, per * (size_t)threads);
    free(all);
}

static void bench_admit(llmopt_gw *gw, int threads, const char *route, bool spread,
                        bool lib_clock, bool ids, const char *what_kind) {
    bench_admit_h(gw, threads, route, spread, lib_clock, ids, false, what_kind);
}

static void bench_timer(void) {
    const size_t n = 1000000;
    int64_t *s = malloc(n * sizeof(*s));
    for (size_t i = 0; i < n; i++) {
        uint64_t t = t_start();
        s[i] = ticks_to_ns(t_stop() - t);
    }
    report_pct("timer alone (empty region)", s, n);
    free(s);
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
        int64_t now = now_ns();
        uint64_t t = t_start();
        llmopt_gw_bucket_take(c->b, 1e9, 1e9, 1.0, 1, now, NULL);
        c->s[i] = ticks_to_ns(t_stop() - t);
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

/* "loop": one thread, n checks of route (default route-7: three tiers;
 * route-9 refuses most) with the same keys, or with "spread" a tenant of
 * 100 and a user of 10 000 per call, with no per-call timer, for
 * instruction counts (valgrind --tool=callgrind) and CPU time per call
 * (CLOCK_THREAD_CPUTIME_ID); kind "str" (string ids), "ids"
 * (llmopt_gw_limit_id) or "handle" (llmopt_gw_route_handle + ids). */
static double thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void bench_loop(llmopt_gw *gw, const char *kind, size_t n, const char *route,
                       bool spread) {
    llmopt_gw_admit_args a = {.tenant = "tenant-1", .user = "user-42",
                              .priority = LLMOPT_GW_PRIO_HIGH, .tokens = 100};
    llmopt_gw_admission ad;
    bool ids = strcmp(kind, "str") != 0;
    if (ids) {
        a.tenant_id = llmopt_gw_limit_id(a.tenant);
        a.user_id = llmopt_gw_limit_id(a.user);
    }
    llmopt_gw_route *h = strcmp(kind, "handle") == 0 ? llmopt_gw_route_handle(gw, route)
                                                       : NULL;
    size_t ok = 0;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int64_t now = now_ns() / 1000;
    double c0 = thread_cpu_ns();
    for (size_t i = 0; i < n; i++) {
        a.now_us = now + (int64_t)(i >> 4); /* 16 checks per us: 1.6e7/s */
        if (spread) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            a.tenant = tenants[x % 100];
            a.user = users[(x >> 16) % 10000];
            if (ids) {
                a.tenant_id = tenant_ids[x % 100];
                a.user_id = user_ids[(x >> 16) % 10000];
            }
        }
        if (h)
            llmopt_gw_admit_route(gw, h, &a, &ad);
        else
            llmopt_gw_admit(gw, route, &a, &ad);
        ok += ad.verdict == LLMOPT_GW_ADMIT;
    }
    double c1 = thread_cpu_ns();
    printf("loop %s %s%s: %zu checks, %zu admitted, %.1f ns CPU per check\n", kind, route,
           spread ? " spread" : "", n, ok, (c1 - c0) / (double)n);
}

int main(int argc, char **argv) {
    const char *bootstrap = argc > 1 ? argv[1] : "127.0.0.1:19092";
    bool only_admit = argc > 2 && strcmp(argv[2], "admit") == 0;
    bool loop = argc > 2 && strcmp(argv[2], "loop") == 0;
    for (int i = 0; i < 100; i++)
        snprintf(tenants[i], sizeof(tenants[i]), "tenant-%d", i);
    for (int i = 0; i < 10000; i++)
        snprintf(users[i], sizeof(users[i]), "user-%d", i);
    for (int i = 0; i < 100; i++)
        tenant_ids[i] = llmopt_gw_limit_id(tenants[i]);
    for (int i = 0; i < 10000; i++)
        user_ids[i] = llmopt_gw_limit_id(users[i]);
    llmopt_gw_config cfg;
    llmopt_gw_config_init(&cfg);
    llmopt_gw *gw = llmopt_gw_new(&cfg, NULL, 0);
    apply_routes(gw, 1000, true);
    if (loop) {
        bench_loop(gw, argc > 3 ? argv[3] : "str", argc > 4 ? (size_t)atoll(argv[4]) : 20000000,
                   argc > 5 ? argv[5] : "route-7", argc > 6 && strcmp(argv[6], "spread") == 0);
        llmopt_gw_destroy(gw);
        return 0;
    }
    if (!only_admit)
        bench_choose(gw);
    tick_calibrate();
    bench_timer();
    static const int thr[3] = {1, 2, 4};
    for (int i = 0; i < 3; i++)
        bench_admit(gw, thr[i], "route-7", false, false, false, "3 tiers same keys");
    for (int i = 0; i < 3; i++)
        bench_admit(gw, thr[i], "route-7", true, false, false, "3 tiers spread");
    bench_admit(gw, 4, "route-7", false, false, true, "3 tiers same keys ids");
    bench_admit(gw, 4, "route-7", true, false, true, "3 tiers spread ids");
    bench_admit(gw, 4, "route-8", false, false, false, "3 tiers+tokens same keys");
    bench_admit(gw, 4, "route-8", true, false, false, "3 tiers+tokens spread");
    bench_admit(gw, 4, "route-7", false, true, false, "3 tiers same keys lib clock");
    bench_admit(gw, 4, "route-7", true, true, false, "3 tiers spread lib clock");
    for (int i = 0; i < 3; i++)
        bench_admit(gw, thr[i], "route-8", false, false, false, "3 tiers+tokens same keys");
    for (int i = 0; i < 3; i++)
        bench_admit(gw, thr[i], "route-9", false, false, false, "3 tiers refusing same keys");
    /* by handle (llmopt_gw_route_handle + llmopt_gw_admit_route) */
    for (int i = 0; i < 3; i++)
        bench_admit_h(gw, thr[i], "route-7", false, false, true, true,
                      "3 tiers same keys handle+ids");
    for (int i = 0; i < 3; i++)
        bench_admit_h(gw, thr[i], "route-7", false, false, false, true,
                      "3 tiers same keys handle");
    bench_admit_h(gw, 4, "route-7", true, false, true, true, "3 tiers spread handle+ids");
    bench_admit_h(gw, 4, "route-8", false, false, true, true, "3 tiers+tokens same keys h+ids");
    bench_admit_h(gw, 4, "route-7", false, true, true, true, "3 tiers same keys h+ids lib clock");
    bench_admit_h(gw, 4, "route-9", false, false, true, true, "3 tiers refusing same keys h+ids");
    bench_bucket(1);
    bench_bucket(4);
    if (!only_admit) {
        bench_cache(gw);
        bench_batch();
    }
    llmopt_gw_destroy(gw);
    if (!only_admit && strcmp(bootstrap, "-") != 0)
        bench_report(bootstrap);
    return 0;
}
