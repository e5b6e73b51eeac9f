/* test_pmerge.c - CUnit suite for processor/pmerge: the merge order of one
 * input partition's three topics (shared by the live runner and replay):
 * known step sequences, the wait rule, ties, and the merge key. */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <string.h>

#include "processor/pmerge.h"

#define E LLMOPT_PMERGE_EMPTY
#define N LLMOPT_PMERGE_ENDED
#define Q LLMOPT_PMERGE_QUEUED
#define K LLMOPT_PMERGE_OK
#define B LLMOPT_PMERGE_BAD

static llmopt_pmerge_step step(llmopt_pmerge_head a, int64_t ka, llmopt_pmerge_head b,
                               int64_t kb, llmopt_pmerge_head c, int64_t kc) {
    llmopt_pmerge_topic t[3] = {{a, ka}, {b, kb}, {c, kc}};
    return llmopt_pmerge_next(t);
}

static void test_next(void) {
    llmopt_pmerge_step s;
    /* all ended: done */
    s = step(N, 0, N, 0, N, 0);
    CU_ASSERT_EQUAL(s.action, LLMOPT_PMERGE_DONE);
    /* an empty topic that may still get records holds everything, even a
     * bad head behind it (the order must not depend on fetch timing) */
    s = step(E, 0, B, 0, K, 5);
    CU_ASSERT_EQUAL(s.action, LLMOPT_PMERGE_WAIT);
    CU_ASSERT_EQUAL(s.topic, 0);
    s = step(K, 1, K, 2, E, 0);
    CU_ASSERT_EQUAL(s.action, LLMOPT_PMERGE_WAIT);
    CU_ASSERT_EQUAL(s.topic, 2);
    /* undecoded heads are decoded in topic order, bad ones dead-lettered */
    s = step(K, 9, Q, 0, B, 0);
    CU_ASSERT_EQUAL(s.action, LLMOPT_PMERGE_DECODE);
    CU_ASSERT_EQUAL(s.topic, 1);
    s = step(K, 9, K, 3, B, 0);
    CU_ASSERT_EQUAL(s.action, LLMOPT_PMERGE_DEAD);
    CU_ASSERT_EQUAL(s.topic, 2);
    /* smallest key; ties to the lower topic (request before response) */
    s = step(K, 7, K, 3, K, 5);
    CU_ASSERT_EQUAL(s.action, LLMOPT_PMERGE_FEED);
    CU_ASSERT_EQUAL(s.topic, 1);
    s = step(K, 3, K, 3, K, 3);
    CU_ASSERT_EQUAL(s.topic, 0);
    s = step(N, 0, K, 4, K, 4);
    CU_ASSERT_EQUAL(s.action, LLMOPT_PMERGE_FEED);
    CU_ASSERT_EQUAL(s.topic, 1);
    s = step(K, INT64_MIN, K, INT64_MIN + 1, N, 0);
    CU_ASSERT_EQUAL(s.topic, 0);
}

static void nop_out(void *ctx, const llmopt_outcome *o) { (void)ctx, (void)o; }
static void nop_m(void *ctx, const llmopt_window_metrics *m) { (void)ctx, (void)m; }
static void nop_s(void *ctx, const llmopt_signal *s) { (void)ctx, (void)s; }
static void nop_d(void *ctx, const llmopt_engine_src *s, llmopt_dlq_reason r, const char *d) {
    (void)ctx, (void)s, (void)r, (void)d;
}

static void test_key(void) {
    llmopt_engine_config c;
    llmopt_engine_config_default(&c);
    llmopt_engine_sink sk = {nop_out, nop_m, nop_s, nop_d, NULL};
    llmopt_engine *e = llmopt_engine_new(&c, &sk, 0, NULL, 0);
    CU_ASSERT_FATAL(e != NULL);
    int64_t emax = INT64_MIN;
    const int64_t fut = 3600000, t0 = 1764000000000;
    /* nothing seen: any plausible time is its own key; absurd ones first */
    CU_ASSERT_EQUAL(llmopt_pmerge_key(e, fut, &emax, t0), t0);
    CU_ASSERT_EQUAL(llmopt_pmerge_key(e, fut, &emax, 0), INT64_MIN);
    CU_ASSERT_EQUAL(llmopt_pmerge_key(e, fut, &emax, -5), INT64_MIN);
    llmopt_request r;
    llmopt_request_init(&r);
    llmopt_str_set(llmopt_record_arena(&r), &r.request_id, "r1", 2);
    llmopt_str_set(llmopt_record_arena(&r), &r.route, "chat", 4);
    llmopt_str_set(llmopt_record_arena(&r), &r.arm, "a0", 2);
    llmopt_str_set(llmopt_record_arena(&r), &r.provider, "p", 1);
    llmopt_str_set(llmopt_record_arena(&r), &r.model, "m", 1);
    llmopt_str_set(llmopt_record_arena(&r), &r.task_type, "qa", 2);
    r.propensity = 0.5;
    r.ts_ms = t0;
    llmopt_engine_src src = {"in", 0, 0};
    CU_ASSERT_EQUAL(llmopt_engine_on_request(e, &r, &src), LLMOPT_OK);
    CU_ASSERT_EQUAL_FATAL(llmopt_engine_max_event_ms(e), t0); /* accepted */
    /* within max.future of the max seen: its time; beyond: first */
    CU_ASSERT_EQUAL(llmopt_pmerge_key(e, fut, &emax, t0 + fut), t0 + fut);
    CU_ASSERT_EQUAL(llmopt_pmerge_key(e, fut, &emax, t0 + fut + 1), INT64_MIN);
    CU_ASSERT_EQUAL(emax, llmopt_engine_max_event_ms(e));
    llmopt_request_release(&r);
    llmopt_engine_destroy(e);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("pmerge", NULL, NULL);
    CU_add_test(s, "next", test_next);
    CU_add_test(s, "key", test_key);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
