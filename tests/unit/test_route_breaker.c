/* test_route_breaker.c - the breaker as a route publishes it: an open arm
 * is a cooldown until its open period ends; a half-open arm is a cooldown
 * that has already ended (gateways send it its probe share); anomalies
 * measured against an outage's baseline do not trip it; a recovered arm's
 * bandit evidence is shrunk as after a drift; and when every arm is down
 * the fallback prefers an arm that is not in an error outage. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "controller/policy.h"
#include "controller/route.h"

#define ARM(id, model) "{\"id\":\"" id "\",\"provider\":\"openai\",\"model\":\"" model "\"}"

static llmopt_policy *parse(const char *arms) {
    char js[2048], err[256];
    snprintf(js, sizeof(js),
             "{\"routes\":[{\"route\":\"chat\",\"algorithm\":\"thompson\","
             "\"guardrails\":{\"cooldown_ms\":1000,\"max_cooldown_ms\":4000,"
             "\"probe_requests\":20,\"settle_windows\":3},\"arms\":[%s]}]}",
             arms);
    llmopt_policy *p = llmopt_policy_parse(js, strlen(js), NULL, 0, err, sizeof(err));
    if (!p)
        fprintf(stderr, "policy: %s\n", err);
    return p;
}

/* one closed 1-minute window of arm: n requests, e errors */
static void window(llmopt_route *r, const char *arm, int64_t end_ms, int64_t n, int64_t e,
                   int64_t now_ms) {
    char id[64], err[256];
    snprintf(id, sizeof(id), "%s-%lld", arm, (long long)end_ms);
    llmopt_window_metrics m;
    llmopt_window_metrics_init(&m);
    m.metrics_id = llmopt_str_of(id);
    m.route = llmopt_str_of("chat");
    m.arm = llmopt_str_of(arm);
    m.window_start_ms = end_ms - 60000;
    m.window_end_ms = end_ms;
    m.window_kind = LLMOPT_WINDOW_TUMBLING;
    m.size_ms = m.advance_ms = 60000;
    m.count = n;
    m.ok_count = n - e;
    m.error_count = e;
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, now_ms, err, sizeof(err)), LLMOPT_OK);
    llmopt_window_metrics_release(&m);
}

/* one signal of kind/detector on arm: metric moved in dir from before to after */
static void send_signal(llmopt_route *r, const char *arm, llmopt_signal_kind kind,
                        llmopt_detector det, const char *metric, llmopt_direction dir,
                        double before, double after, double severity, int64_t now_ms) {
    char id[96], err[256];
    snprintf(id, sizeof(id), "sig-%s-%s-%lld", arm, metric, (long long)now_ms);
    llmopt_signal s;
    llmopt_signal_init(&s);
    s.signal_id = llmopt_str_of(id);
    s.ts_ms = now_ms;
    s.route = llmopt_str_of("chat");
    s.arm = llmopt_str_of(arm);
    s.kind = kind;
    s.detector = det;
    s.metric = llmopt_str_of(metric);
    s.direction = dir;
    s.magnitude = after > before ? after - before : before - after;
    s.before = before;
    s.after = after;
    s.severity = severity;
    CU_ASSERT_EQUAL(llmopt_route_signal(r, &s, now_ms, err, sizeof(err)), LLMOPT_OK);
    llmopt_signal_release(&s);
}

/* a harmful anomaly: p95 latency up x30 (what an arm that answered only
 * fast errors shows when it recovers) */
static void latency_anomaly(llmopt_route *r, const char *arm, int64_t now_ms) {
    send_signal(r, arm, LLMOPT_SIGNAL_ANOMALY, LLMOPT_DETECTOR_ZSCORE, "p95_latency_ms",
                LLMOPT_DIRECTION_UP, 20, 645, 9, now_ms);
}

static const char *breaker_of(const llmopt_route *r, size_t arm) {
    double n, mean;
    uint64_t pulls;
    const char *b;
    llmopt_route_arm_summary(r, arm, &n, &mean, &pulls, &b);
    return b;
}

static double evidence_of(const llmopt_route *r, size_t arm) {
    double n, mean;
    uint64_t pulls;
    const char *b;
    llmopt_route_arm_summary(r, arm, &n, &mean, &pulls, &b);
    return n;
}

static void outcomes(llmopt_route *r, const char *arm, double reward, int count) {
    char err[256];
    for (int i = 0; i < count; i++) {
        llmopt_outcome o;
        llmopt_outcome_init(&o);
        o.outcome_id = o.request_id = llmopt_str_of("o");
        o.route = llmopt_str_of("chat");
        o.arm = llmopt_str_of(arm);
        o.status = LLMOPT_STATUS_ERROR;
        o.ts_ms = 1000;
        o.reward = reward;
        CU_ASSERT_EQUAL(llmopt_route_outcome(r, &o, err, sizeof(err)), LLMOPT_OK);
    }
}

static void test_outage_probe_and_recovery(void) {
    llmopt_policy *p = parse(ARM("a", "m1") "," ARM("b", "m2") "," ARM("c", "m3"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char err[256];
    llmopt_route *r = llmopt_route_new(&p->routes[0], 7, 0, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    llmopt_route_decision d;
    int64_t t = 100000;
    /* b fails every request: an error outage */
    outcomes(r, "b", 0, 200);
    window(r, "b", 60000, 100, 100, t);
    CU_ASSERT_STRING_EQUAL(breaker_of(r, 1), "open");
    CU_ASSERT(llmopt_route_decide(r, t, &d) >= 0);
    CU_ASSERT_EQUAL(d.state[1], LLMOPT_ARM_COOLDOWN);
    CU_ASSERT_EQUAL(d.cooldown_until_ms[1], t + 1000);
    CU_ASSERT_EQUAL(d.w[1], 0);
    llmopt_route_commit(r, &d, 1, t);
    /* cooldown over: half-open, published as a cooldown that has ended,
     * with the probe share */
    llmopt_route_tick(r, t + 1000);
    CU_ASSERT_STRING_EQUAL(breaker_of(r, 1), "half_open");
    CU_ASSERT(llmopt_route_decide(r, t + 1000, &d) >= 0);
    CU_ASSERT_EQUAL(d.state[1], LLMOPT_ARM_COOLDOWN);
    CU_ASSERT(d.cooldown_until_ms[1] > 0 && d.cooldown_until_ms[1] <= t + 1000);
    CU_ASSERT_DOUBLE_EQUAL(d.w[1], 0.02, 1e-9);
    llmopt_route_commit(r, &d, 2, t + 1000);
    /* the recovering arm's latency against its outage baseline: ignored */
    latency_anomaly(r, "b", t + 1100);
    CU_ASSERT_STRING_EQUAL(breaker_of(r, 1), "half_open");
    CU_ASSERT(llmopt_route_decide(r, t + 1100, &d) >= 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "outage baseline, breaker half_open"));
    llmopt_route_commit(r, &d, 3, t + 1100);
    /* the probe passes: closed, the outage's evidence shrunk (x0.1) */
    double before = evidence_of(r, 1);
    window(r, "b", 120000, 30, 0, t + 1200);
    CU_ASSERT_STRING_EQUAL(breaker_of(r, 1), "closed");
    CU_ASSERT(evidence_of(r, 1) < 0.11 * before);
    CU_ASSERT(llmopt_route_decide(r, t + 1200, &d) >= 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "outage over: evidence x0.10"));
    CU_ASSERT_EQUAL(d.state[1], LLMOPT_ARM_ACTIVE);
    CU_ASSERT_EQUAL(d.cooldown_until_ms[1], 0);
    llmopt_route_commit(r, &d, 4, t + 1200);
    /* still settling (3 windows): the anomaly is ignored; once settled it
     * opens the breaker */
    window(r, "b", 180000, 30, 0, t + 1300);
    window(r, "b", 240000, 30, 0, t + 1400);
    latency_anomaly(r, "b", t + 1450);
    CU_ASSERT_STRING_EQUAL(breaker_of(r, 1), "closed");
    window(r, "b", 300000, 30, 0, t + 1500);
    latency_anomaly(r, "b", t + 1550);
    CU_ASSERT_STRING_EQUAL(breaker_of(r, 1), "open");
    llmopt_route_destroy(r);
    llmopt_policy_destroy(p);
}

/* a drift signal (CUSUM) on arm of metric in direction dir (before -> after) */
static void drift(llmopt_route *r, const char *arm, const char *metric, llmopt_direction dir,
                  double before, double after, int64_t now_ms) {
    send_signal(r, arm, LLMOPT_SIGNAL_DRIFT, LLMOPT_DETECTOR_CUSUM, metric, dir, before, after, 3,
                now_ms);
}

/* A drift that makes an arm worse shrinks its evidence but does not raise
 * its floor; one that may make it better raises the floor (drift floor 5 %,
 * base floor 1 %). b is the clearly worst arm, so its share is its floor. */
static void test_worse_drift_keeps_floor(void) {
    llmopt_policy *p = parse(ARM("a", "m1") "," ARM("b", "m2") "," ARM("c", "m3"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char err[256];
    llmopt_route *r = llmopt_route_new(&p->routes[0], 7, 0, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    outcomes(r, "a", 1, 200);
    outcomes(r, "b", 0, 200);
    outcomes(r, "c", 1, 200);
    llmopt_route_decision d;
    int64_t t = 100000;
    double n0 = evidence_of(r, 1);
    drift(r, "b", "error", LLMOPT_DIRECTION_UP, 0.01, 0.4, t);
    CU_ASSERT_DOUBLE_EQUAL(evidence_of(r, 1), 0.1 * n0, 1e-9 * n0);
    CU_ASSERT(llmopt_route_decide(r, t, &d) >= 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "no raised floor (worse)"));
    CU_ASSERT(d.w[1] < 0.02);
    llmopt_route_commit(r, &d, 1, t);
    drift(r, "b", "latency_ms", LLMOPT_DIRECTION_UP, 800, 2400, t + 100);
    drift(r, "b", "quality", LLMOPT_DIRECTION_DOWN, 0.8, 0.6, t + 200);
    CU_ASSERT(llmopt_route_decide(r, t + 200, &d) >= 0);
    CU_ASSERT(d.w[1] < 0.02);
    llmopt_route_commit(r, &d, 2, t + 200);
    /* latency down: it may now be better, so it is explored at the drift floor */
    drift(r, "b", "latency_ms", LLMOPT_DIRECTION_DOWN, 2400, 800, t + 300);
    CU_ASSERT(llmopt_route_decide(r, t + 300, &d) >= 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "floor 0.050"));
    CU_ASSERT(d.w[1] >= 0.05 - 1e-9);
    llmopt_route_destroy(r);
    llmopt_policy_destroy(p);
}

static void test_fallback_skips_error_outage(void) {
    llmopt_policy *p = parse(ARM("a", "m1") "," ARM("b", "m2"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char err[256];
    llmopt_route *r = llmopt_route_new(&p->routes[0], 7, 0, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    /* a (first in the chain) fails; b is opened by a latency anomaly */
    window(r, "a", 60000, 100, 60, 100000);
    latency_anomaly(r, "b", 100000);
    CU_ASSERT_STRING_EQUAL(breaker_of(r, 0), "open");
    CU_ASSERT_STRING_EQUAL(breaker_of(r, 1), "open");
    llmopt_route_decision d;
    CU_ASSERT(llmopt_route_decide(r, 100000, &d) >= 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "fallback chain gives everything to 'b'"));
    CU_ASSERT_EQUAL(d.w[1], 1.0);
    CU_ASSERT_EQUAL(d.w[0], 0.0);
    /* both probes fail: both in error outages, the chain's order decides */
    llmopt_route_tick(r, 101000);
    CU_ASSERT_STRING_EQUAL(breaker_of(r, 1), "half_open");
    window(r, "a", 120000, 30, 30, 101100);
    window(r, "b", 120000, 30, 30, 101100);
    CU_ASSERT_STRING_EQUAL(breaker_of(r, 1), "open");
    CU_ASSERT(llmopt_route_decide(r, 101100, &d) >= 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "fallback chain gives everything to 'a'"));
    llmopt_route_destroy(r);
    llmopt_policy_destroy(p);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("route_breaker", NULL, NULL);
    CU_add_test(s, "outage_probe_and_recovery", test_outage_probe_and_recovery);
    CU_add_test(s, "fallback_skips_error_outage", test_fallback_skips_error_outage);
    CU_add_test(s, "worse_drift_keeps_floor", test_worse_drift_keeps_floor);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
