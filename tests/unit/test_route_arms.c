/* test_route_arms.c - a route checkpoint restored under a policy whose arm
 * list changed (arms added, dropped or reordered, e.g. prompt variants
 * registered): the arms that stay keep their evidence, breakers and
 * published weight; new arms start from their priors; nothing in common,
 * or another layout, is VERSION with the route untouched. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/policy.h"
#include "controller/route.h"

#define ARM(id, model) "{\"id\":\"" id "\",\"provider\":\"openai\",\"model\":\"" model "\"}"

static llmopt_policy *parse(const char *arms, const char *extra) {
    char js[2048], err[256];
    snprintf(js, sizeof(js),
             "{\"routes\":[{\"route\":\"chat\",\"algorithm\":\"thompson\"%s,\"arms\":[%s]}]}",
             extra, arms);
    llmopt_policy *p = llmopt_policy_parse(js, strlen(js), NULL, 0, err, sizeof(err));
    if (!p)
        fprintf(stderr, "policy: %s\n", err);
    return p;
}

static void outcome(llmopt_route *r, const char *arm, double reward, int i) {
    char id[32], err[256];
    snprintf(id, sizeof(id), "o%d", i);
    llmopt_outcome o;
    llmopt_outcome_init(&o);
    o.outcome_id = llmopt_str_of(id);
    o.request_id = llmopt_str_of(id);
    o.route = llmopt_str_of("chat");
    o.arm = llmopt_str_of(arm);
    o.status = LLMOPT_STATUS_OK;
    o.ts_ms = 1000 + i;
    o.reward = reward;
    CU_ASSERT_EQUAL(llmopt_route_outcome(r, &o, err, sizeof(err)), LLMOPT_OK);
}

/* a route of p1 that has seen rewards 1 on a (60x), 0 on b (40x), 1/0 on c */
static llmopt_route *trained(const llmopt_policy *p1, llmopt_wbuf *w) {
    char err[256];
    llmopt_route *r = llmopt_route_new(&p1->routes[0], 7, 1000, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (int i = 0; i < 60; i++)
        outcome(r, "a", 1, i);
    for (int i = 0; i < 40; i++)
        outcome(r, "b", 0, 100 + i);
    for (int i = 0; i < 20; i++)
        outcome(r, "c", i % 2, 200 + i);
    llmopt_route_decision d;
    CU_ASSERT(llmopt_route_decide(r, 2000, &d) >= 0);
    llmopt_route_commit(r, &d, 3, 2000);
    llmopt_wbuf_init(w);
    llmopt_route_serialize(r, w);
    CU_ASSERT_EQUAL_FATAL(w->err, 0);
    return r;
}

static void summary(const llmopt_route *r, size_t arm, double *n, double *mean, uint64_t *pulls) {
    const char *breaker;
    llmopt_route_arm_summary(r, arm, n, mean, pulls, &breaker);
}

static void test_arms_added_dropped_reordered(void) {
    llmopt_policy *p1 = parse(ARM("a", "m1") "," ARM("b", "m2") "," ARM("c", "m3"), "");
    /* b dropped, d added, c before a */
    llmopt_policy *p2 = parse(ARM("c", "m3") "," ARM("d", "m4") "," ARM("a", "m1"), "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p2);
    llmopt_wbuf w;
    llmopt_route *r = trained(p1, &w);
    char err[256];
    llmopt_route *u = llmopt_route_new(&p2->routes[0], 7, 1000, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(u);
    CU_ASSERT_EQUAL_FATAL(llmopt_route_deserialize(u, w.data, w.len, err, sizeof(err)),
                          LLMOPT_OK);
    /* a (old 0) -> 2, c (old 2) -> 0, d new */
    static const size_t to[3] = {2, (size_t)-1, 0};
    for (size_t j = 0; j < 3; j++) {
        if (to[j] == (size_t)-1)
            continue;
        double n0, m0, n1, m1;
        uint64_t p0, q1;
        summary(r, j, &n0, &m0, &p0);
        summary(u, to[j], &n1, &m1, &q1);
        CU_ASSERT_EQUAL(p0, q1);
        CU_ASSERT_DOUBLE_EQUAL(n0, n1, 0);
        CU_ASSERT_DOUBLE_EQUAL(m0, m1, 0);
    }
    double n, m;
    uint64_t pulls;
    summary(u, 1, &n, &m, &pulls);
    CU_ASSERT_EQUAL(pulls, 0); /* d: its prior only */
    summary(u, 2, &n, &m, &pulls);
    CU_ASSERT_EQUAL(pulls, 60);
    /* the published weights were carried and renormalised over a and c */
    const llmopt_route_decision *pub = llmopt_route_published(u);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
    CU_ASSERT_EQUAL(pub->k, 3);
    CU_ASSERT_DOUBLE_EQUAL(pub->w[0] + pub->w[1] + pub->w[2], 1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(pub->w[1], 0, 0);
    /* a forced decision says what was kept */
    llmopt_route_decision d;
    CU_ASSERT_EQUAL(llmopt_route_decide(u, 3000, &d), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "policy arms changed: kept the evidence of c, a; "
                                            "new: d"));
    /* a (all rewards 1) still ahead of c; d explores from its prior */
    CU_ASSERT(d.w[2] > d.w[0]);
    CU_ASSERT(d.w[1] > 0);
    llmopt_route_commit(u, &d, 4, 3000);
    /* the carried state is an ordinary state of the new arm list */
    llmopt_wbuf w2, w3;
    llmopt_wbuf_init(&w2);
    llmopt_wbuf_init(&w3);
    llmopt_route_serialize(u, &w2);
    llmopt_route *v = llmopt_route_new(&p2->routes[0], 7, 1000, err, sizeof(err));
    CU_ASSERT_EQUAL_FATAL(llmopt_route_deserialize(v, w2.data, w2.len, err, sizeof(err)),
                          LLMOPT_OK);
    llmopt_route_serialize(v, &w3);
    CU_ASSERT_EQUAL(w2.len, w3.len);
    CU_ASSERT(w2.len == w3.len && memcmp(w2.data, w3.data, w2.len) == 0);
    llmopt_wbuf_release(&w);
    llmopt_wbuf_release(&w2);
    llmopt_wbuf_release(&w3);
    llmopt_route_destroy(r);
    llmopt_route_destroy(u);
    llmopt_route_destroy(v);
    llmopt_policy_destroy(p1);
    llmopt_policy_destroy(p2);
}

static void test_nothing_in_common_or_other_bandit(void) {
    llmopt_policy *p1 = parse(ARM("a", "m1") "," ARM("b", "m2") "," ARM("c", "m3"), "");
    llmopt_policy *p2 = parse(ARM("x", "m1") "," ARM("y", "m2"), "");
    /* same arms plus one, but a sliding window instead of no forgetting */
    llmopt_policy *p3 =
        parse(ARM("a", "m1") "," ARM("b", "m2") "," ARM("c", "m3") "," ARM("e", "m5"),
              ",\"update\":{\"window\":8}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p3);
    llmopt_wbuf w;
    llmopt_route *r = trained(p1, &w);
    char err[256];
    llmopt_route *u = llmopt_route_new(&p2->routes[0], 7, 1000, err, sizeof(err));
    CU_ASSERT_EQUAL(llmopt_route_deserialize(u, w.data, w.len, err, sizeof(err)),
                    LLMOPT_ERR_VERSION);
    CU_ASSERT_PTR_NULL(llmopt_route_published(u)); /* untouched */
    llmopt_route *v = llmopt_route_new(&p3->routes[0], 7, 1000, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL_FATAL(llmopt_route_deserialize(v, w.data, w.len, err, sizeof(err)),
                          LLMOPT_OK);
    double n, m;
    uint64_t pulls;
    summary(v, 0, &n, &m, &pulls);
    CU_ASSERT_EQUAL(pulls, 0); /* evidence restarted: other forgetting */
    llmopt_route_decision d;
    CU_ASSERT_EQUAL(llmopt_route_decide(v, 3000, &d), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "evidence restarted"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "new: e"));
    llmopt_wbuf_release(&w);
    llmopt_route_destroy(r);
    llmopt_route_destroy(u);
    llmopt_route_destroy(v);
    llmopt_policy_destroy(p1);
    llmopt_policy_destroy(p2);
    llmopt_policy_destroy(p3);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("route_arms", NULL, NULL);
    CU_add_test(s, "arms_added_dropped_reordered", test_arms_added_dropped_reordered);
    CU_add_test(s, "nothing_in_common_or_other_bandit", test_nothing_in_common_or_other_bandit);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
