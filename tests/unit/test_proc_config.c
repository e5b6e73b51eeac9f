/* test_proc_config.c - CUnit suite for the processor's property table ->
 * engine configuration: detector lists, detector thresholds and minimum
 * effects, reward weights and bounds, per-route reward overrides (parsed,
 * range-checked, and used by the engine for that route only). */
#include <CUnit/Basic.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "processor/proc_config.h"

typedef struct fixture {
    llmopt_processor_conf pc;
    llmopt_config *c;
} fixture;

/* Sets the keys (NULL-terminated key, value pairs) and finalizes; returns
 * the finalize result, the config in f. */
static llmopt_err_t setup(fixture *f, const char *const *kv, char *err, size_t es) {
    memset(f, 0, sizeof(*f));
    const llmopt_config_binding b[] = {
        {&llmopt_common_table, offsetof(llmopt_processor_conf, common)},
        {&llmopt_processor_table, 0}};
    f->c = llmopt_config_new(&f->pc, sizeof(f->pc), b, 2, err, es);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->c);
    for (size_t i = 0; kv && kv[i]; i += 2) {
        llmopt_err_t e = llmopt_config_set(f->c, kv[i], kv[i + 1], err, es);
        if (e)
            return e;
    }
    return llmopt_config_finalize(f->c, err, es);
}

static void test_defaults_match_engine(void) {
    fixture f;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(setup(&f, NULL, err, sizeof(err)), LLMOPT_OK);
    llmopt_engine_config got, want;
    CU_ASSERT_EQUAL_FATAL(llmopt_proc_engine_config(&f.pc, &got, err, sizeof(err)), LLMOPT_OK);
    llmopt_engine_config_default(&want);
    /* the table's defaults are the engine's own */
    CU_ASSERT(memcmp(&got.detect, &want.detect, sizeof(want.detect)) == 0);
    CU_ASSERT(memcmp(&got.reward, &want.reward, sizeof(want.reward)) == 0);
    CU_ASSERT_EQUAL(got.nroute_rewards, 0);
    llmopt_config_destroy(f.c);
}

static void test_detector_keys(void) {
    fixture f;
    char err[512];
    const char *kv[] = {"processor.drift.latency", "adwin",
                        "processor.drift.error", "none",
                        "processor.drift.reward", "page_hinkley, cusum",
                        "processor.anomaly.quality", "mad",
                        "processor.adwin.delta", "0.0001",
                        "processor.ph.threshold", "80",
                        "processor.ph.min.instances", "50",
                        "processor.cusum.k", "1",
                        "processor.cusum.h", "6",
                        "processor.cusum.bernoulli.h", "12",
                        "processor.zscore.threshold", "4",
                        "processor.zscore.min.scale", "2.5",
                        "processor.iqr.k", "3",
                        "processor.iqr.min.scale", "1",
                        "processor.mad.threshold", "5",
                        "processor.mad.min.scale", "0.5",
                        NULL};
    CU_ASSERT_EQUAL_FATAL(setup(&f, kv, err, sizeof(err)), LLMOPT_OK);
    llmopt_engine_config ec;
    CU_ASSERT_EQUAL_FATAL(llmopt_proc_engine_config(&f.pc, &ec, err, sizeof(err)), LLMOPT_OK);
    const llmopt_detect_config *d = &ec.detect;
    CU_ASSERT_EQUAL(d->drift_mask[LLMOPT_DM_LATENCY], LLMOPT_DET_ADWIN);
    CU_ASSERT_EQUAL(d->drift_mask[LLMOPT_DM_ERROR], 0);
    CU_ASSERT_EQUAL(d->drift_mask[LLMOPT_DM_QUALITY],
                    LLMOPT_DET_ADWIN | LLMOPT_DET_PH | LLMOPT_DET_CUSUM);
    CU_ASSERT_EQUAL(d->drift_mask[LLMOPT_DM_REWARD], LLMOPT_DET_PH | LLMOPT_DET_CUSUM);
    CU_ASSERT_EQUAL(d->anomaly_mask[LLMOPT_AM_QUALITY], LLMOPT_DET_MAD);
    CU_ASSERT_EQUAL(d->anomaly_mask[LLMOPT_AM_ERROR_RATE],
                    LLMOPT_DET_ZSCORE | LLMOPT_DET_IQR | LLMOPT_DET_MAD);
    CU_ASSERT_EQUAL(d->adwin.delta, 0.0001);
    CU_ASSERT_EQUAL(d->ph.threshold, 80);
    CU_ASSERT_EQUAL(d->ph.min_instances, 50);
    CU_ASSERT_EQUAL(d->cusum.k, 1);
    CU_ASSERT_EQUAL(d->cusum.h, 6);
    CU_ASSERT_EQUAL(d->cusum_bernoulli.h_llr, 12);
    CU_ASSERT_EQUAL(d->zscore.threshold, 4);
    CU_ASSERT_EQUAL(d->zscore.min_scale, 2.5);
    CU_ASSERT_EQUAL(d->iqr.k, 3);
    CU_ASSERT_EQUAL(d->iqr.min_scale, 1);
    CU_ASSERT_EQUAL(d->mad.threshold, 5);
    CU_ASSERT_EQUAL(d->mad.min_scale, 0.5);
    llmopt_config_destroy(f.c);

    /* a detector that cannot watch the metric kind, an unknown name */
    const char *bad1[] = {"processor.drift.cost", "adwin,zscore", NULL};
    CU_ASSERT_EQUAL(setup(&f, bad1, err, sizeof(err)), LLMOPT_ERR_INVALID);
    CU_ASSERT(strstr(err, "processor.drift.cost") && strstr(err, "zscore"));
    llmopt_config_destroy(f.c);
    const char *bad2[] = {"processor.anomaly.p95.latency", "iqr,ewma", NULL};
    CU_ASSERT_EQUAL(setup(&f, bad2, err, sizeof(err)), LLMOPT_ERR_INVALID);
    CU_ASSERT(strstr(err, "'ewma'") != NULL);
    llmopt_config_destroy(f.c);
}

/* Outcomes of one engine, by route. */
typedef struct seen {
    double reward[2];
    int n;
} seen;

static void on_outcome(void *ctx, const llmopt_outcome *o) {
    seen *s = ctx;
    if (s->n < 2)
        s->reward[s->n++] = o->reward;
}

static void test_route_rewards(void) {
    fixture f;
    char err[512];
    const char *kv[] = {"processor.reward.w.quality", "0",
                        "processor.reward.w.cost", "0",
                        "processor.reward.w.latency", "1",
                        "processor.reward.latency.worst", "1000",
                        "processor.reward.routes", "fast:latency.worst=200; cheap:w.cost=1,w.latency=0",
                        NULL};
    CU_ASSERT_EQUAL_FATAL(setup(&f, kv, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL_FATAL(f.pc.nroute_rewards, 2);
    CU_ASSERT_STRING_EQUAL(f.pc.route_rewards[0].route, "fast");
    /* an override starts from the default reward and replaces its fields */
    CU_ASSERT_EQUAL(f.pc.route_rewards[0].reward.latency_worst_ms, 200);
    CU_ASSERT_EQUAL(f.pc.route_rewards[0].reward.w_latency, 1);
    CU_ASSERT_EQUAL(f.pc.route_rewards[1].reward.w_cost, 1);
    CU_ASSERT_EQUAL(f.pc.route_rewards[1].reward.w_latency, 0);
    CU_ASSERT_EQUAL(f.pc.route_rewards[1].reward.latency_worst_ms, 1000);
    llmopt_engine_config ec;
    CU_ASSERT_EQUAL_FATAL(llmopt_proc_engine_config(&f.pc, &ec, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(ec.nroute_rewards, 2);

    /* the engine applies "fast"'s bound to route fast only: latency 100 ms
     * scores 1 - 100/200 there and 1 - 100/1000 on another route */
    const char *routes[2] = {"fast", "other"};
    double want[2] = {0.5, 0.9};
    for (int i = 0; i < 2; i++) {
        seen s = {{0, 0}, 0};
        llmopt_engine_sink sink = {on_outcome, NULL, NULL, NULL, &s};
        llmopt_engine *e = llmopt_engine_new(&ec, &sink, 0, err, sizeof(err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        llmopt_request rq;
        llmopt_request_init(&rq);
        rq.request_id = llmopt_str_of("r1");
        rq.ts_ms = 1764000000000;
        rq.route = llmopt_str_of(routes[i]);
        rq.arm = llmopt_str_of("a");
        rq.provider = rq.model = rq.task_type = llmopt_str_of("x");
        rq.propensity = 1;
        llmopt_engine_src src = {"t", 0, 0};
        CU_ASSERT_EQUAL(llmopt_engine_on_request(e, &rq, &src), LLMOPT_OK);
        llmopt_response rs;
        llmopt_response_init(&rs);
        rs.request_id = rq.request_id;
        rs.ts_ms = rq.ts_ms + 100;
        rs.route = rq.route;
        rs.arm = rq.arm;
        rs.status = LLMOPT_STATUS_OK;
        rs.latency_ms = 100;
        src.offset = 1;
        CU_ASSERT_EQUAL(llmopt_engine_on_response(e, &rs, &src), LLMOPT_OK);
        CU_ASSERT_EQUAL(s.n, 1);
        CU_ASSERT(fabs(s.reward[0] - want[i]) < 1e-12);
        llmopt_engine_destroy(e);
        llmopt_request_release(&rq);
        llmopt_response_release(&rs);
    }
    llmopt_config_destroy(f.c);

    const char *bad[][2] = {{"processor.reward.routes", "fast"},
                            {"processor.reward.routes", "fast:speed=1"},
                            {"processor.reward.routes", "fast:w.cost=abc"},
                            {"processor.reward.routes", "fast:latency.worst=0"},
                            {"processor.reward.routes", "a:w.cost=1;a:w.cost=2"},
                            {"processor.reward.routes", ":w.cost=1"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *kvb[] = {bad[i][0], bad[i][1], NULL};
        llmopt_err_t e = setup(&f, kvb, err, sizeof(err));
        CU_ASSERT(e == LLMOPT_ERR_INVALID || e == LLMOPT_ERR_RANGE);
        CU_ASSERT(strstr(err, "processor.reward.routes") != NULL);
        llmopt_config_destroy(f.c);
    }
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("proc_config", NULL, NULL);
    CU_add_test(s, "defaults_match_engine", test_defaults_match_engine);
    CU_add_test(s, "detector_keys", test_detector_keys);
    CU_add_test(s, "route_rewards", test_route_rewards);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
