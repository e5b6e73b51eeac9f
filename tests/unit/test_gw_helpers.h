/*
 * test_gw_helpers.h - shared by the gateway CUnit suites (test_gw_*.c):
 * build RoutingDecision records in memory and feed them to a gateway
 * without Kafka through llmopt_gw_apply_decision (Avro or JSON).
 */
#ifndef TEST_GW_HELPERS_H
#define TEST_GW_HELPERS_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/avro_codec.h"
#include "common/json_codec.h"
#include "gateway/include/llmopt_gateway.h"

#define GW_MAX_TEST_ARMS 80

typedef struct test_decision {
    llmopt_routing_decision d;
    llmopt_arm arms[GW_MAX_TEST_ARMS];
    char ids[GW_MAX_TEST_ARMS][24];
} test_decision;

/* n arms "a0".."a<n-1>", equal weights, all active, algorithm static,
 * default arm a0. */
static inline void td_init(test_decision *t, const char *route, int64_t version, size_t n) {
    memset(t, 0, sizeof(*t));
    llmopt_routing_decision_init(&t->d);
    t->d.route = llmopt_str_of(route);
    t->d.version = version;
    t->d.ts_ms = 1000;
    t->d.algorithm = llmopt_str_of("static");
    t->d.default_arm = llmopt_str_of("a0");
    t->d.reason = llmopt_str_of("test");
    for (size_t i = 0; i < n; i++) {
        snprintf(t->ids[i], sizeof(t->ids[i]), "a%zu", i);
        t->arms[i].arm_id = llmopt_str_of(t->ids[i]);
        t->arms[i].provider = llmopt_str_of("prov");
        t->arms[i].model = llmopt_str_of("model");
        t->arms[i].weight = 1.0 / (double)n;
        t->arms[i].state = LLMOPT_ARM_ACTIVE;
    }
    t->d.arms.items = t->arms;
    t->d.arms.count = n;
}

/* The Avro encoder of td_apply: one per test program (main thread only),
 * made on first use and freed at exit. Making one parses every compiled-in
 * schema, which cost more than the install itself under valgrind. */
static llmopt_avro_codec *td_codec_;

static inline void td_codec_free(void) {
    llmopt_avro_codec_destroy(td_codec_);
    td_codec_ = NULL;
}

static inline llmopt_avro_codec *td_codec(void) {
    if (!td_codec_) {
        char err[256];
        td_codec_ = llmopt_avro_codec_new(llmopt_avro_builtin_source(), err, sizeof(err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(td_codec_);
        atexit(td_codec_free);
    }
    return td_codec_;
}

static inline llmopt_err_t td_apply(llmopt_gw *gw, const test_decision *t, bool json,
                                    llmopt_gw_reject *rej) {
    char err[256];
    llmopt_err_t e;
    if (json) {
        llmopt_json_buf b;
        llmopt_json_buf_init(&b);
        e = llmopt_json_encode(LLMOPT_REC_ROUTING_DECISION, &t->d, &b, err, sizeof(err));
        CU_ASSERT_EQUAL_FATAL(e, LLMOPT_OK);
        e = llmopt_gw_apply_decision(gw, t->d.route.ptr, t->d.route.len, b.data, b.len, NULL,
                                     rej, err, sizeof(err));
        llmopt_json_buf_release(&b);
    } else {
        llmopt_avro_codec *c = td_codec();
        llmopt_wbuf w;
        llmopt_wbuf_init(&w);
        e = llmopt_avro_encode(c, LLMOPT_REC_ROUTING_DECISION, &t->d, &w, err, sizeof(err));
        CU_ASSERT_EQUAL_FATAL(e, LLMOPT_OK);
        e = llmopt_gw_apply_decision(gw, t->d.route.ptr, t->d.route.len, w.data, w.len, NULL,
                                     rej, err, sizeof(err));
        llmopt_wbuf_release(&w);
    }
    return e;
}

static inline llmopt_gw *gw_offline(void) {
    llmopt_gw_config cfg;
    llmopt_gw_config_init(&cfg);
    cfg.default_arm_id = "fallback-arm";
    cfg.default_provider = "fbprov";
    cfg.default_model = "fbmodel";
    cfg.stale_after_ms = 5000;
    char err[256];
    llmopt_gw *gw = llmopt_gw_new(&cfg, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    return gw;
}

static inline int run_suite(const char *name, const CU_TestInfo *tests) {
    CU_SuiteInfo suites[] = {{name, NULL, NULL, NULL, NULL, (CU_TestInfo *)tests},
                             CU_SUITE_INFO_NULL};
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_register_suites(suites);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

#endif
