/* test_strategy.c - CUnit suite for controller/strategy through the real
 * policy parser and route: windows in, adapted limits / cache / batching
 * out in the filled RoutingDecision (which the gateway library must
 * accept), each change with its reason; policy errors name the path. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/policy.h"
#include "controller/route.h"
#include "gateway/include/llmopt_gateway.h"

static const char *POLICY =
    "{\"routes\":[{\"route\":\"chat\",\"algorithm\":\"static\","
    "\"constraints\":{\"max_p95_latency_ms\":2000},"
    "\"arms\":[{\"id\":\"a\",\"provider\":\"openai\",\"model\":\"m1\",\"weight\":3},"
    "{\"id\":\"b\",\"provider\":\"openai\",\"model\":\"m2\",\"weight\":1},"
    "{\"id\":\"c\",\"provider\":\"anthropic\",\"model\":\"m3\",\"weight\":0}],"
    "\"rate_limits\":{\"global\":{\"requests_per_s\":100,\"requests_burst\":50},"
    "\"per_tenant\":{\"requests_per_s\":40},\"priority_weights\":{\"low\":0.2},"
    "\"on_limit\":\"degrade\",\"retry_after_ms\":500,"
    "\"adaptive\":{\"min_rps\":10,\"max_rps\":300,\"period_ms\":10000}},"
    "\"cache\":{\"ttl_ms\":400000,\"max_entries\":500,\"exclude\":[\"code*\"],"
    "\"adaptive\":{\"min_ttl_ms\":100000,\"period_ms\":10000}},"
    "\"batching\":{\"max_batch\":8,\"max_wait_ms\":15,"
    "\"adaptive\":{\"min_batch\":2,\"max_batch\":16,\"target_p95_ms\":1000,"
    "\"period_ms\":10000}}}]}";

static llmopt_window_metrics win(const char *arm, int64_t end_ms, int64_t n, int64_t limited,
                                 int64_t hits, double hq, double mq, double p95) {
    llmopt_window_metrics m;
    memset(&m, 0, sizeof(m));
    m.metrics_id = llmopt_str_of("w");
    m.route = llmopt_str_of("chat");
    m.arm = llmopt_str_of(arm);
    m.window_start_ms = end_ms - 5000;
    m.window_end_ms = end_ms;
    m.window_kind = LLMOPT_WINDOW_TUMBLING;
    m.size_ms = m.advance_ms = 5000;
    m.count = n;
    m.ok_count = n - limited;
    m.rate_limited_count = limited;
    m.quality_count = n - limited;
    m.has_quality_mean = true;
    m.quality_mean = mq;
    m.cache_hits = hits;
    m.has_cache_hit_quality_mean = hits > 0;
    m.cache_hit_quality_mean = hq;
    m.has_cache_miss_quality_mean = true;
    m.cache_miss_quality_mean = mq;
    m.has_latency_p95_ms = true;
    m.latency_p95_ms = p95;
    return m;
}

static void test_adapt_and_fill(void) {
    char err[256];
    llmopt_policy *pol = llmopt_policy_parse(POLICY, strlen(POLICY), NULL, 0, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(pol);
    const llmopt_policy_route *pr = &pol->routes[0];
    CU_ASSERT(pr->strat.rate_adaptive && pr->strat.cache_adaptive && pr->strat.batch_adaptive);
    CU_ASSERT_DOUBLE_EQUAL(pr->strat.batch.target_p95_ms, 1000, 1e-9);
    llmopt_route *r = llmopt_route_new(pr, 1, 1000, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    llmopt_route_decision d;
    CU_ASSERT(llmopt_route_decide(r, 1000, &d) >= 0);
    /* static weights ~0.75 / 0.25 and arm c at its exploration floor: the
     * route rate at which openai receives its 100 req/s, which binds:
     * 100 / (w_a + w_b) (anthropic: 100 / w_c is larger) */
    double openai = d.w[0] + d.w[1];
    CU_ASSERT(openai > 0.9 && openai < 1 && d.w[2] > 0);
    llmopt_routing_decision rec;
    llmopt_route_fill(r, &d, 1, 1000, false, &rec);
    CU_ASSERT_FATAL(rec.has_rate_limits && rec.has_cache_policy && rec.has_batching);
    CU_ASSERT_DOUBLE_EQUAL(rec.rate_limits.global.requests_per_s, 100 / openai, 1e-9);
    CU_ASSERT_EQUAL(rec.rate_limits.on_limit, LLMOPT_ON_LIMIT_DEGRADE);
    CU_ASSERT_EQUAL(rec.rate_limits.priority_weights.count, 4);
    CU_ASSERT_DOUBLE_EQUAL(rec.rate_limits.priority_weights.items[3].value, 0.2, 1e-12);
    CU_ASSERT(rec.rate_limits.has_per_tenant && !rec.rate_limits.has_per_user);
    CU_ASSERT(rec.cache_policy.enabled);
    CU_ASSERT_EQUAL(rec.cache_policy.ttl_ms, 400000);
    CU_ASSERT_EQUAL(rec.cache_policy.exclude_patterns.count, 1);
    CU_ASSERT_EQUAL(rec.batching.max_batch, 8);
    CU_ASSERT_EQUAL(llmopt_gw_validate(&rec, NULL, err, sizeof(err)), LLMOPT_GW_REJECT_NONE);
    llmopt_route_commit(r, &d, 1, 1000);

    /* period [0, 10 s): openai 10 % rate-limited, hits score 0.5 vs 0.8, p95
     * 1500 ms > 1000 (within the 2000 ms constraint) */
    llmopt_window_metrics m;
    m = win("a", 5000, 300, 30, 100, 0.5, 0.8, 1500);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    m = win("b", 10000, 100, 10, 30, 0.5, 0.8, 1500);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    /* the window ending on the period's end judges it at once */
    CU_ASSERT_EQUAL(llmopt_route_decide(r, 1050, &d), 1);
    CU_ASSERT(strstr(d.reason, "100 -> 90 req/s") != NULL);
    m = win("a", 15000, 300, 0, 100, 0.8, 0.8, 500);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_route_decide(r, 1100, &d), 1);
    CU_ASSERT(strstr(d.reason, "rate limit of provider 'openai': rate-limited+error share "
                               "10.00 % of 400 responses > target 1.00 %: 100 -> 90 req/s") !=
              NULL);
    CU_ASSERT(strstr(d.reason, "cache: cached answers score 0.500 vs fresh 0.800") != NULL);
    CU_ASSERT(strstr(d.reason, "TTL 400 s -> 200 s") != NULL);
    CU_ASSERT(strstr(d.reason, "batching: per-item p95 1500 ms over 400 items") != NULL);
    llmopt_route_fill(r, &d, 2, 1100, false, &rec);
    openai = d.w[0] + d.w[1];
    CU_ASSERT_DOUBLE_EQUAL(rec.rate_limits.global.requests_per_s, 90 / openai, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(rec.rate_limits.global.requests_burst, 50 * 0.9 / openai, 1e-9);
    CU_ASSERT_EQUAL(rec.cache_policy.ttl_ms, 200000);
    CU_ASSERT_EQUAL(rec.batching.max_batch, 6);
    CU_ASSERT_EQUAL(llmopt_gw_validate(&rec, NULL, err, sizeof(err)), LLMOPT_GW_REJECT_NONE);
    llmopt_route_commit(r, &d, 2, 1100);

    /* a hopping window is ignored (no double counting) */
    m = win("a", 20000, 1000, 1000, 0, 0.8, 0.8, 9000);
    m.window_kind = LLMOPT_WINDOW_HOPPING;
    m.window_start_ms = 0;
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    /* period [10 s, 20 s): clean -> limit x1.1; hits score as fresh ones
     * (130 hit samples) -> TTL lengthens; p95 500 < 0.8 x 1000 -> +1 */
    m = win("b", 20000, 100, 0, 30, 0.8, 0.8, 500);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    m = win("a", 25000, 100, 0, 0, 0.8, 0.8, 500);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_route_decide(r, 1200, &d), 1);
    CU_ASSERT(strstr(d.reason, "<= target 1.00 %: 90 -> 99 req/s") != NULL);
    CU_ASSERT(strstr(d.reason, "TTL 200 s -> 400 s") != NULL);
    CU_ASSERT(strstr(d.reason, "max batch 6 -> 7") != NULL);
    llmopt_route_fill(r, &d, 3, 1200, false, &rec);
    CU_ASSERT_EQUAL(rec.batching.max_batch, 7);
    llmopt_route_commit(r, &d, 3, 1200);

    /* period [20 s, 30 s) closes in the band: (100 x 500 + 300 x 1000) / 400
     * = 875 ms, between 0.8 x 1000 and 1000: the max batch stays 7 */
    m = win("b", 30000, 300, 0, 0, 0.8, 0.8, 1000);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    llmopt_route_decide(r, 1300, &d);
    CU_ASSERT(strstr(d.reason, "batching:") == NULL);
    /* dead time: period [30 s, 40 s) holds a window still served in batches
     * of 7.6 on average (> the current 7) at p95 3000 ms, and one at 6.5
     * items with p95 900 ms (in the band): only the second counts, so the
     * max batch stays (counting both, 1950 ms, would shrink it) */
    m = win("a", 35000, 300, 0, 0, 0.8, 0.8, 3000);
    m.has_batch_size_mean = true;
    m.batch_size_mean = 7.6;
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    m = win("b", 40000, 300, 0, 0, 0.8, 0.8, 900);
    m.has_batch_size_mean = true;
    m.batch_size_mean = 6.5;
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    llmopt_route_decide(r, 1400, &d);
    CU_ASSERT(strstr(d.reason, "batching:") == NULL);
    llmopt_route_fill(r, &d, 4, 1400, false, &rec);
    CU_ASSERT_EQUAL(rec.batching.max_batch, 7);
    llmopt_route_commit(r, &d, 4, 1400);
    /* without batch sizes (period [40 s, 50 s)) the breach counts: 7 -> 5 */
    m = win("a", 50000, 300, 0, 0, 0.8, 0.8, 3000);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    llmopt_route_decide(r, 1500, &d);
    CU_ASSERT(strstr(d.reason, "batching: per-item p95 3000 ms over 300 items, above the "
                               "target 1000 ms: max batch 7 -> 5") != NULL);
    llmopt_route_fill(r, &d, 5, 1500, false, &rec);
    CU_ASSERT_EQUAL(rec.batching.max_batch, 5);
    llmopt_route_destroy(r);
    llmopt_policy_destroy(pol);
}

static void test_policy_errors(void) {
    char err[256];
    const char *bad[][2] = {
        {"\"rate_limits\":{\"adaptive\":{}}", "needs a global limit"},
        {"\"rate_limits\":{\"global\":{\"requests_per_s\":10},\"on_limit\":\"drop\"}",
         "unknown action 'drop'"},
        {"\"rate_limits\":{\"global\":{\"requests_per_s\":10},\"adaptive\":{\"min_rps\":20}}",
         "initial_rps"},
        {"\"cache\":{\"ttl_ms\":1000,\"adaptive\":{\"min_ttl_ms\":5000}}", "cache: ttl_ms"},
        {"\"batching\":{\"max_batch\":8,\"adaptive\":{\"max_batch\":4}}", "batching:"},
        {"\"cache\":{\"tll_ms\":1000}", "cache.tll_ms: unknown member"},
        {"\"cache\":{\"ttl_ms\":700000000}", "cache.ttl_ms: value"},
        {"\"batching\":{\"max_batch\":2000}", "batching.max_batch: value"},
        {"\"rate_limits\":{\"global\":{\"requests_per_s\":10,\"tokens_per_min\":100,"
         "\"tokens_burst\":0}}",
         "both be set"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char js[1024];
        snprintf(js, sizeof(js),
                 "{\"routes\":[{\"route\":\"x\",\"arms\":[{\"id\":\"a\",\"provider\":\"p\","
                 "\"model\":\"m\"}],%s}]}",
                 bad[i][0]);
        err[0] = 0;
        llmopt_policy *p = llmopt_policy_parse(js, strlen(js), NULL, 0, err, sizeof(err));
        CU_ASSERT_PTR_NULL(p);
        if (!strstr(err, bad[i][1]))
            fprintf(stderr, "case %zu: '%s'\n", i, err);
        CU_ASSERT(strstr(err, bad[i][1]) != NULL);
        llmopt_policy_destroy(p);
    }
}

/* ---- checkpoint: a restart resumes the adaptation exactly ---------------- */

/* Four 10 s periods of windows (a ends mid-period, b ends it). Periods 0, 1
 * and 3: openai 10 % rate-limited, hits score 0.5 vs 0.8, p95 1500 ms;
 * period 2 clean, hits as good as misses, p95 500 ms. */
static llmopt_window_metrics seq_win(int i) {
    int period = i / 2;
    bool bad = period != 2;
    return win(i % 2 ? "b" : "a", 5000 + 5000 * (int64_t)i, i % 2 ? 100 : 300,
               bad ? (i % 2 ? 10 : 30) : 0, i % 2 ? 30 : 100, bad ? 0.5 : 0.8, 0.8,
               bad ? 1500 : 500);
}

#define SEQ_N 8
typedef struct seq_out {
    double rps[SEQ_N];
    int64_t ttl[SEQ_N];
    int32_t batch[SEQ_N];
    char reason[SEQ_N][LLMOPT_ROUTE_REASON_MAX];
} seq_out;

/* window i into r, decide, fill, commit; the published figures into out */
static void seq_step(llmopt_route *r, int i, seq_out *out) {
    char err[256];
    llmopt_window_metrics m = seq_win(i);
    CU_ASSERT_EQUAL_FATAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    llmopt_route_decision d;
    CU_ASSERT(llmopt_route_decide(r, 2000 + i, &d) >= 0);
    llmopt_routing_decision rec;
    llmopt_route_fill(r, &d, i + 2, 2000 + i, false, &rec);
    out->rps[i] = rec.rate_limits.global.requests_per_s * (d.w[0] + d.w[1]); /* openai limit */
    out->ttl[i] = rec.cache_policy.ttl_ms;
    out->batch[i] = rec.batching.max_batch;
    snprintf(out->reason[i], sizeof(out->reason[i]), "%s", d.reason);
    llmopt_route_commit(r, &d, i + 2, 2000 + i);
}

static llmopt_route *seq_route(const llmopt_policy *pol) {
    char err[256];
    llmopt_route *r = llmopt_route_new(&pol->routes[0], 1, 1000, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    llmopt_route_decision d;
    CU_ASSERT(llmopt_route_decide(r, 1000, &d) >= 0);
    llmopt_route_commit(r, &d, 1, 1000);
    return r;
}

static void test_checkpoint_resume(void) {
    char err[256];
    llmopt_policy *pol = llmopt_policy_parse(POLICY, strlen(POLICY), NULL, 0, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(pol);
    /* the uninterrupted run */
    seq_out ref, got;
    memset(&ref, 0, sizeof(ref));
    memset(&got, 0, sizeof(got));
    llmopt_route *a = seq_route(pol);
    for (int i = 0; i < SEQ_N; i++)
        seq_step(a, i, &ref);
    /* known answers: openai 100 -> 90 -> 81 -> 89.1 -> 80.19 req/s; TTL 400
     * -> 200 -> 100 (min) -> 200 -> 100 s; batch 8 -> 6 -> 4 -> 5 -> 3 */
    const double rps[4] = {90, 81, 89.1, 80.19};
    const int64_t ttl[4] = {200000, 100000, 200000, 100000};
    const int32_t batch[4] = {6, 4, 5, 3};
    for (int p = 0; p < 4; p++) {
        CU_ASSERT_DOUBLE_EQUAL(ref.rps[2 * p + 1], rps[p], 1e-9);
        CU_ASSERT_EQUAL(ref.ttl[2 * p + 1], ttl[p]);
        CU_ASSERT_EQUAL(ref.batch[2 * p + 1], batch[p]);
    }
    /* an interrupted run: checkpoint after window 4 (period 2 open with arm
     * a's clean window counted), restore into a fresh route, go on */
    llmopt_route *b = seq_route(pol);
    for (int i = 0; i < 5; i++)
        seq_step(b, i, &got);
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_route_serialize(b, &w);
    CU_ASSERT_FATAL(!w.err && w.len > 5 && w.data[4] == 2);
    llmopt_route_destroy(b);
    llmopt_route *c = llmopt_route_new(&pol->routes[0], 1, 1000, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL_FATAL(llmopt_route_deserialize(c, w.data, w.len, err, sizeof(err)),
                          LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(llmopt_route_restore_note(c), "");
    for (int i = 5; i < SEQ_N; i++)
        seq_step(c, i, &got);
    for (int i = 0; i < SEQ_N; i++) {
        CU_ASSERT_DOUBLE_EQUAL(got.rps[i], ref.rps[i], 1e-9);
        CU_ASSERT_EQUAL(got.ttl[i], ref.ttl[i]);
        CU_ASSERT_EQUAL(got.batch[i], ref.batch[i]);
        CU_ASSERT_STRING_EQUAL(got.reason[i], ref.reason[i]);
    }
    /* the period that spans the restart counted both windows: 400 responses */
    CU_ASSERT(strstr(got.reason[5], "of 400 responses <= target 1.00 %: 81 -> 89.1 req/s") !=
              NULL);
    /* both routes now hold the same state byte for byte */
    llmopt_wbuf wa, wc;
    llmopt_wbuf_init(&wa);
    llmopt_wbuf_init(&wc);
    llmopt_route_serialize(a, &wa);
    llmopt_route_serialize(c, &wc);
    CU_ASSERT(wa.len == wc.len && memcmp(wa.data, wc.data, wa.len) == 0);
    llmopt_wbuf_release(&wa);
    llmopt_wbuf_release(&wc);

    /* a v1 blob (no strategy record) still loads; the strategy then starts
     * from the policy, with a note for the log */
    llmopt_wbuf ws;
    llmopt_wbuf_init(&ws);
    llmopt_route *d = seq_route(pol);
    for (int i = 0; i < 4; i++)
        seq_step(d, i, &got);
    llmopt_route_serialize(d, &ws);
    llmopt_wbuf_release(&w);
    llmopt_wbuf_init(&w);
    /* the strategy record is the blob's tail: its length from a fresh
     * route with the same state is not known, so cut at the CSTG tag */
    size_t cut = 0;
    for (size_t i = 0; i + 4 <= ws.len; i++)
        if (!memcmp(ws.data + i, "CSTG", 4))
            cut = i;
    CU_ASSERT_FATAL(cut > 0);
    uint8_t *v1 = malloc(cut);
    memcpy(v1, ws.data, cut);
    v1[4] = 1;
    llmopt_route *e = llmopt_route_new(&pol->routes[0], 1, 1000, err, sizeof(err));
    CU_ASSERT_EQUAL(llmopt_route_deserialize(e, v1, cut, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT(strstr(llmopt_route_restore_note(e), "checkpoint v1") != NULL);
    seq_out v1o;
    memset(&v1o, 0, sizeof(v1o));
    seq_step(e, 4, &v1o);
    CU_ASSERT_DOUBLE_EQUAL(v1o.rps[4], 100, 1e-9); /* the policy's limit again */
    CU_ASSERT_EQUAL(v1o.ttl[4], 400000);
    CU_ASSERT_EQUAL(v1o.batch[4], 8);
    /* a v1 blob with the v2 tail is refused (trailing bytes); a v2 blob
     * without it is truncated */
    uint8_t *v1long = malloc(ws.len);
    memcpy(v1long, ws.data, ws.len);
    v1long[4] = 1;
    CU_ASSERT_NOT_EQUAL(llmopt_route_deserialize(e, v1long, ws.len, err, sizeof(err)), LLMOPT_OK);
    v1[4] = 2;
    CU_ASSERT_EQUAL(llmopt_route_deserialize(e, v1, cut, err, sizeof(err)),
                    LLMOPT_ERR_TRUNCATED);

    /* corrupt strategy records are refused and leave the route as it was */
    static const struct {
        size_t off; /* from the CSTG tag */
        uint8_t byte;
        llmopt_err_t want;
    } bad[] = {
        {4, 9, LLMOPT_ERR_INVALID},    /* record version */
        {5, 0x80, LLMOPT_ERR_INVALID}, /* unknown section flag */
        {6 + 7, 0x80, LLMOPT_ERR_RANGE}, /* negative window size */
        /* rate: flags(1) tumbling(8) pub(8) period(8) n_prov(4) name len(4)
         * "openai"(6) limit(8): top byte of the limit -> NaN */
        {5 + 1 + 8 + 8 + 8 + 4 + 4 + 6 + 7, 0xff, LLMOPT_ERR_RANGE},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t *x = malloc(ws.len);
        memcpy(x, ws.data, ws.len);
        x[cut + bad[i].off] = bad[i].byte;
        if (i == 3)
            x[cut + bad[i].off - 1] = 0xf8;
        llmopt_err_t got_e = llmopt_route_deserialize(e, x, ws.len, err, sizeof(err));
        if (got_e != bad[i].want)
            fprintf(stderr, "corrupt case %zu: %d (%s)\n", i, (int)got_e, err);
        CU_ASSERT_EQUAL(got_e, bad[i].want);
        free(x);
    }
    /* e still has the v1 restore's state: the policy's limit, grown once by
     * the clean period 2 (not 81 -> 89.1 as the refused blobs would have it) */
    seq_out after;
    memset(&after, 0, sizeof(after));
    seq_step(e, 5, &after);
    CU_ASSERT_DOUBLE_EQUAL(after.rps[5], 110, 1e-9);
    CU_ASSERT_EQUAL(after.batch[5], 9);
    free(v1);
    free(v1long);
    llmopt_wbuf_release(&w);
    llmopt_wbuf_release(&ws);
    llmopt_route_destroy(a);
    llmopt_route_destroy(c);
    llmopt_route_destroy(d);
    llmopt_route_destroy(e);
    llmopt_policy_destroy(pol);
}

/* The policy changed between checkpoint and restore: an adapted value is
 * clamped into the new bounds, a static TTL is the new policy's, a changed
 * period drops the open period (each with a note). */
static llmopt_policy *policy_of(const char *rate_adaptive, const char *cache) {
    char js[1024], err[256];
    snprintf(js, sizeof(js),
             "{\"routes\":[{\"route\":\"chat\",\"algorithm\":\"static\","
             "\"arms\":[{\"id\":\"a\",\"provider\":\"openai\",\"model\":\"m1\",\"weight\":3},"
             "{\"id\":\"b\",\"provider\":\"openai\",\"model\":\"m2\",\"weight\":1},"
             "{\"id\":\"c\",\"provider\":\"anthropic\",\"model\":\"m3\",\"weight\":0}],"
             "\"rate_limits\":{\"global\":{\"requests_per_s\":100,\"requests_burst\":50},"
             "\"adaptive\":%s},\"cache\":%s}]}",
             rate_adaptive, cache);
    llmopt_policy *p = llmopt_policy_parse(js, strlen(js), NULL, 0, err, sizeof(err));
    if (!p)
        fprintf(stderr, "policy: %s\n", err);
    return p;
}

static void test_checkpoint_policy_changes(void) {
    char err[256];
    llmopt_policy *p1 = policy_of("{\"min_rps\":10,\"max_rps\":300,\"period_ms\":10000}",
                                  "{\"ttl_ms\":400000}");
    llmopt_policy *p2 = policy_of("{\"min_rps\":85,\"max_rps\":300,\"period_ms\":20000}",
                                  "{\"ttl_ms\":500000}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p2);
    llmopt_route *r = seq_route(p1);
    seq_out o;
    memset(&o, 0, sizeof(o));
    for (int i = 0; i < 5; i++) /* 100 -> 90 -> 81, period 2 open */
        seq_step(r, i, &o);
    CU_ASSERT_DOUBLE_EQUAL(o.rps[4], 81, 1e-9);
    CU_ASSERT_EQUAL(o.ttl[4], 400000); /* static */
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_route_serialize(r, &w);
    llmopt_route *u = llmopt_route_new(&p2->routes[0], 1, 1000, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(u);
    CU_ASSERT_EQUAL_FATAL(llmopt_route_deserialize(u, w.data, w.len, err, sizeof(err)),
                          LLMOPT_OK);
    CU_ASSERT(strstr(llmopt_route_restore_note(u), "rate limits: period changed") != NULL);
    memset(&o, 0, sizeof(o));
    /* window 5 ends period 2 of the old policy; in the new 20 s periods it
     * is the first window of period [20 s, 40 s): nothing judged yet */
    seq_step(u, 5, &o);
    CU_ASSERT_DOUBLE_EQUAL(o.rps[5], 85, 1e-9); /* 81 clamped to the new min_rps */
    CU_ASSERT_EQUAL(o.ttl[5], 500000);          /* the new policy's static TTL */
    llmopt_wbuf_release(&w);
    llmopt_route_destroy(r);
    llmopt_route_destroy(u);
    llmopt_policy_destroy(p1);
    llmopt_policy_destroy(p2);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("strategy", NULL, NULL);
    CU_add_test(s, "adapt_and_fill", test_adapt_and_fill);
    CU_add_test(s, "policy_errors", test_policy_errors);
    CU_add_test(s, "checkpoint_resume", test_checkpoint_resume);
    CU_add_test(s, "checkpoint_policy_changes", test_checkpoint_policy_changes);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
