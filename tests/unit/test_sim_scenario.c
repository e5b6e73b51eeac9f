/* test_sim_scenario.c - CUnit suite for tools/simulate_scenario: defaults,
 * inheritance from "defaults", precise errors naming the JSON member, the
 * change schedule, the generated controller policy. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tools/simulate_scenario.h"

#define ARM_A "{\"id\":\"a\",\"latency\":{\"median_ms\":500},\"quality\":{\"mean\":0.7}," \
              "\"price_in_per_1k\":0.001,\"price_out_per_1k\":0.002}"
#define ARM_B "{\"id\":\"b\",\"provider\":\"p\",\"model\":\"m\",\"latency\":{\"median_ms\":900," \
              "\"sigma\":0.5},\"error_rate\":0.05,\"quality\":{\"mean\":0.8,\"sd\":0.2}," \
              "\"input_tokens\":{\"min\":10,\"max\":20},\"price_in_per_1k\":0.01," \
              "\"price_out_per_1k\":0.03,\"available\":false}"

static llmopt_sim_scenario *parse(const char *json, char *err, size_t n) {
    return llmopt_sim_scenario_parse(json, strlen(json), "t.json", err, n);
}

static void test_defaults_and_inheritance(void) {
    char err[512] = "";
    llmopt_sim_scenario *s = parse(
        "{\"duration\":\"2m\",\"speed\":5,\"seed\":9,\"gateways\":3,"
        "\"defaults\":{\"rate\":50,\"arms\":[" ARM_A "," ARM_B "],"
        "\"controller\":{\"algorithm\":\"ucb1\"}},"
        "\"routes\":[{\"name\":\"r1\"},{\"name\":\"r2\",\"rate\":7,\"arms\":[" ARM_A "],"
        "\"reward\":{\"weights\":{\"quality\":1,\"cost\":0,\"latency\":0},\"latency_worst_ms\":5000}}],"
        "\"changes\":[{\"at\":\"90s\",\"arm\":\"a\",\"error_rate\":0.5},"
        "{\"at\":30,\"route\":\"r1\",\"arm\":\"b\",\"appear\":true}]}",
        err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->duration_ms, 120000);
    CU_ASSERT_EQUAL(s->speed, 5);
    CU_ASSERT_EQUAL(s->seed, 9);
    CU_ASSERT_EQUAL(s->gateways, 3);
    CU_ASSERT_STRING_EQUAL(s->name, "t.json");
    CU_ASSERT_EQUAL(s->n_routes, 2);
    const llmopt_sim_route *r1 = &s->routes[0], *r2 = &s->routes[1];
    CU_ASSERT_EQUAL(r1->rate, 50);
    CU_ASSERT_EQUAL(r2->rate, 7);
    CU_ASSERT_EQUAL(r1->n_arms, 2);
    CU_ASSERT_EQUAL(r2->n_arms, 1);
    /* profile defaults */
    const llmopt_sim_profile *a = &r1->arms[0].profile;
    CU_ASSERT_STRING_EQUAL(r1->arms[0].provider, "sim");
    CU_ASSERT_STRING_EQUAL(r1->arms[0].model, "a");
    CU_ASSERT_EQUAL(a->latency_sigma, 0.3);
    CU_ASSERT_EQUAL(a->error_rate, 0.01);
    CU_ASSERT_EQUAL(a->input_tokens_min, 200);
    CU_ASSERT_EQUAL(a->output_tokens_max, 450);
    CU_ASSERT(a->available);
    CU_ASSERT(!r1->arms[1].profile.available);
    CU_ASSERT_EQUAL(r1->arms[1].profile.input_tokens_max, 20);
    /* reward: processor defaults unless overridden */
    CU_ASSERT_EQUAL(r1->reward.w_quality, 0.6);
    CU_ASSERT_EQUAL(r1->reward.latency_worst_ms, 10000);
    CU_ASSERT_EQUAL(r2->reward.w_quality, 1);
    CU_ASSERT_EQUAL(r2->reward.w_cost, 0);
    CU_ASSERT_EQUAL(r2->reward.latency_worst_ms, 5000);
    CU_ASSERT_EQUAL(r1->n_tasks, 1);
    CU_ASSERT_STRING_EQUAL(r1->tasks[0].name, "chat");
    CU_ASSERT_PTR_NOT_NULL(r2->controller_json);
    /* changes sorted by time; labels generated */
    CU_ASSERT_EQUAL(s->n_changes, 2);
    CU_ASSERT_EQUAL(s->changes[0].at_ms, 30000);
    CU_ASSERT_STRING_EQUAL(s->changes[0].label, "appears");
    CU_ASSERT_STRING_EQUAL(s->changes[1].label, "error rate 0.5");
    CU_ASSERT_PTR_NULL(s->stack_json);
    llmopt_sim_scenario_destroy(s);
    llmopt_sim_scenario_destroy(NULL);
}

static const struct {
    const char *json, *expect;
} bad[] = {
    {"[1]", "scenario 't.json': : expected a JSON object at the top"},
    {"{\"duration\":\"1m\"}", "scenario 't.json': routes: required member is missing"},
    {"{\"routes\":[]}", "duration: required member is missing"},
    {"{\"duration\":\"1x\",\"routes\":[]}", "duration: unknown unit 'x'"},
    {"{\"duration\":60,\"spede\":1,\"routes\":[]}", "spede: unknown member"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\"}]}",
     "routes[0].arms: the route has no arms"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[{\"id\":\"a\",\"latency\":"
     "{\"median_ms\":0},\"quality\":{\"mean\":0.5},\"price_in_per_1k\":0,\"price_out_per_1k\":0}]}]}",
     "routes[0].arms[0].latency.median_ms: value 0 is out of range (0..3.6e+06"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[{\"id\":\"a\",\"latency\":"
     "{\"median_ms\":1},\"quality\":{\"mean\":\"x\"},\"price_in_per_1k\":0,\"price_out_per_1k\":0}]}]}",
     "routes[0].arms[0].quality.mean: expected a number"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A ",{\"id\":\"b\",\"latency\":"
     "{\"median_ms\":1},\"quality\":{\"mean\":1},\"price_in_per_1k\":0}]}]}",
     "routes[0].arms[1].price_out_per_1k: required member is missing"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A "," ARM_A "]}]}",
     "routes[0].arms[1].id: duplicate arm id 'a'"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A "]},{\"name\":\"r\",\"arms\":["
     ARM_A "]}]}", "routes[1].name: duplicate route 'r'"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A "],\"input_tokens\":1}]}",
     "routes[0].input_tokens: unknown member"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[{\"id\":\"a\",\"latency\":{\"median_ms\":1},"
     "\"quality\":{\"mean\":1},\"price_in_per_1k\":0,\"price_out_per_1k\":0,"
     "\"output_tokens\":{\"min\":5,\"max\":4}}]}]}",
     "routes[0].arms[0].output_tokens.max: must be >= min (5)"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A "],\"reward\":{\"cost_worst_usd\":0}}]}",
     "routes[0].reward: 'cost_worst_usd' must be finite and above 'cost_best_usd'"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A "],\"tenants\":[{\"name\":\"t\","
     "\"weight\":0}]}]}", "routes[0].tenants[0].weight: value 0 is out of range (0..1e+09"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A "]}],\"changes\":[{\"at\":\"2m\","
     "\"arm\":\"a\",\"error_rate\":1}]}", "changes[0].at: the change is at or after the end"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A "]}],\"changes\":[{\"at\":1,"
     "\"arm\":\"zz\",\"error_rate\":1}]}", "changes[0].arm: no route has an arm 'zz'"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A "]}],\"changes\":[{\"at\":1,"
     "\"route\":\"q\",\"arm\":\"a\",\"error_rate\":1}]}", "changes[0].route: no route 'q'"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A "]}],\"changes\":[{\"at\":1,"
     "\"arm\":\"a\"}]}", "changes[0]: the change changes nothing"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A "]}],\"changes\":[{\"at\":1,"
     "\"arm\":\"a\",\"error_rate\":1.5}]}", "changes[0].error_rate: value 1.5 is out of range 0..1"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A "]}],\"stack\":{\"processor\":"
     "{\"processor.ooo\":1}}}", "stack.processor.processor.ooo: expected a string value"},
    {"{\"duration\":60,\"routes\":[{\"name\":\"r\\\"x\",\"arms\":[" ARM_A "]}]}",
     "routes[0].name: control character, quote or backslash"},
    {"{\"duration\":60,\"duration\":70,\"routes\":[]}", "duplicate object key"},
    {"{\"duration\":60,", "line 1 column"},
};

static void test_errors_name_the_member(void) {
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[512] = "";
        llmopt_sim_scenario *s = parse(bad[i].json, err, sizeof(err));
        CU_ASSERT_PTR_NULL(s);
        if (!strstr(err, bad[i].expect)) {
            fprintf(stderr, "case %zu: got \"%s\", want \"%s\"\n", i, err, bad[i].expect);
            CU_FAIL("message");
        }
        llmopt_sim_scenario_destroy(s);
    }
    /* a NULL errstr is accepted; truncated input never crashes */
    const char *j = bad[6].json;
    for (size_t n = 0; n < strlen(j); n++)
        CU_ASSERT_PTR_NULL(llmopt_sim_scenario_parse(j, n, "t", NULL, 0));
}

static void test_schedule(void) {
    char err[512] = "";
    llmopt_sim_scenario *s = parse(
        "{\"duration\":600,\"routes\":[{\"name\":\"r1\",\"arms\":[" ARM_A "," ARM_B "]},"
        "{\"name\":\"r2\",\"arms\":[" ARM_A "]}],\"changes\":["
        "{\"at\":100,\"arm\":\"a\",\"latency_factor\":3,\"quality_delta\":-0.2,\"price_factor\":0.5},"
        "{\"at\":100,\"route\":\"r1\",\"arm\":\"a\",\"latency_median_ms\":50},"
        "{\"at\":200,\"route\":\"r1\",\"arm\":\"b\",\"appear\":true,\"error_rate\":0.3,\"quality_mean\":0.1,"
        "\"quality_sd\":0,\"latency_sigma\":0}]}",
        err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    llmopt_sim_state st;
    llmopt_sim_state_init(&st, s);
    size_t first = 99;
    CU_ASSERT_EQUAL(llmopt_sim_state_advance(&st, s, 99999, &first), 0);
    CU_ASSERT_EQUAL(first, 0);
    CU_ASSERT_EQUAL(st.p[0][0].latency_median_ms, 500);
    CU_ASSERT_EQUAL(llmopt_sim_state_advance(&st, s, 100000, &first), 2);
    CU_ASSERT_EQUAL(first, 0);
    /* in file order at equal times: x3 then set to 50 on r1; only x3 on r2 */
    CU_ASSERT_EQUAL(st.p[0][0].latency_median_ms, 50);
    CU_ASSERT_EQUAL(st.p[1][0].latency_median_ms, 1500);
    CU_ASSERT_DOUBLE_EQUAL(st.p[1][0].quality_mean, 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(st.p[1][0].price_in_per_1k, 0.0005, 1e-15);
    CU_ASSERT_EQUAL(st.p[0][1].error_rate, 0.05); /* b untouched */
    CU_ASSERT(!st.p[0][1].available);
    CU_ASSERT_EQUAL(llmopt_sim_state_advance(&st, s, 100000, NULL), 0); /* idempotent */
    CU_ASSERT_EQUAL(llmopt_sim_state_advance(&st, s, 10000000, &first), 1);
    CU_ASSERT_EQUAL(first, 2);
    CU_ASSERT(st.p[0][1].available);
    CU_ASSERT_EQUAL(st.p[0][1].error_rate, 0.3);
    CU_ASSERT_EQUAL(st.p[0][1].quality_mean, 0.1);
    CU_ASSERT(llmopt_sim_change_targets(s, &s->changes[0], 1, 0));
    CU_ASSERT(!llmopt_sim_change_targets(s, &s->changes[1], 1, 0));
    CU_ASSERT_EQUAL(llmopt_sim_route_index(s, "r2"), 1);
    CU_ASSERT_EQUAL(llmopt_sim_route_index(s, "r3"), -1);
    CU_ASSERT_EQUAL(llmopt_sim_arm_index(&s->routes[0], "b"), 1);
    llmopt_sim_scenario_destroy(s);
}

static void test_policy(void) {
    char err[512] = "";
    llmopt_sim_scenario *s = parse(
        "{\"duration\":60,\"defaults\":{\"controller\":{\"algorithm\":\"static\","
        "\"arms\":[{\"id\":\"b\",\"weight\":2}]}},"
        "\"routes\":[{\"name\":\"r1\",\"arms\":[" ARM_A "," ARM_B "]}],"
        "\"stack\":{\"processor\":{\"processor.ooo\":\"1s\"}}}",
        err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL(s->stack_json);
    char path[] = "/tmp/test_sim_policy_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(llmopt_sim_write_policy(s, "pre.", path, err, sizeof(err)), LLMOPT_OK);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_t *r = json_array_get(json_object_get(root, "routes"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "route")), "pre.r1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "algorithm")), "static");
    json_t *arms = json_object_get(r, "arms");
    CU_ASSERT_EQUAL(json_array_size(arms), 2);
    json_t *b = json_array_get(arms, 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "provider")), "p");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "model")), "m");
    CU_ASSERT_EQUAL(json_number_value(json_object_get(b, "weight")), 2);
    CU_ASSERT_PTR_NULL(json_object_get(json_array_get(arms, 0), "weight"));
    json_decref(root);
    unlink(path);
    close(fd);
    CU_ASSERT_EQUAL(llmopt_sim_write_policy(s, "", "/nonexistent/dir/p.json", err, sizeof(err)),
                    LLMOPT_ERR_IO);
    CU_ASSERT(strstr(err, "/nonexistent/dir/p.json") != NULL);
    llmopt_sim_scenario_destroy(s);
}

/* "batch_latency" on an arm and "batch_cost_factor" changes */
static void test_batch_latency(void) {
    char err[512] = "";
    llmopt_sim_scenario *s = parse(
        "{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A ","
        "{\"id\":\"c\",\"latency\":{\"median_ms\":200},\"quality\":{\"mean\":0.7},"
        "\"price_in_per_1k\":0,\"price_out_per_1k\":0,\"batch_latency\":{\"per_item_ms\":4,"
        "\"knee\":8,\"per_item_above_knee_ms\":10}}]}],"
        "\"changes\":[{\"at\":30,\"arm\":\"c\",\"batch_cost_factor\":2.5}]}",
        err, sizeof(err));
    if (!s)
        fprintf(stderr, "%s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const llmopt_sim_profile *a = &s->routes[0].arms[0].profile;
    const llmopt_sim_profile *c = &s->routes[0].arms[1].profile;
    CU_ASSERT(!a->batched);
    CU_ASSERT(c->batched);
    CU_ASSERT_EQUAL(c->batch_per_item_ms, 4);
    CU_ASSERT_EQUAL(c->batch_knee, 8);
    CU_ASSERT_EQUAL(c->batch_above_knee_ms, 10);
    CU_ASSERT_STRING_EQUAL(s->changes[0].label, "batch cost x2.5");
    llmopt_sim_state st;
    llmopt_sim_state_init(&st, s);
    CU_ASSERT_EQUAL(llmopt_sim_state_advance(&st, s, 30000, NULL), 1);
    CU_ASSERT_EQUAL(st.p[0][1].batch_per_item_ms, 10);
    CU_ASSERT_EQUAL(st.p[0][1].batch_above_knee_ms, 25);
    CU_ASSERT_EQUAL(st.p[0][1].batch_knee, 8);
    CU_ASSERT_EQUAL(st.p[0][1].latency_median_ms, 200);
    llmopt_sim_scenario_destroy(s);
    static const struct {
        const char *bl, *expect;
    } bad_bl[] = {
        {"{}", "batch_latency.per_item_ms: required member is missing"},
        {"{\"per_item_ms\":-1}", "batch_latency.per_item_ms: value -1 is out of range"},
        {"{\"per_item_ms\":1,\"knee\":0}", "batch_latency.knee: value 0 is out of range"},
        {"{\"per_item_ms\":1,\"knee\":2.5}", "batch_latency.knee: expected an integer"},
        {"{\"per_item_ms\":1,\"per_item_above_knee_ms\":3}",
         "batch_latency.knee: per_item_above_knee_ms needs a knee"},
        {"{\"per_item_ms\":1,\"kne\":3}", "batch_latency.kne: unknown member"},
        {"5", "batch_latency: expected an object"},
    };
    for (size_t i = 0; i < sizeof(bad_bl) / sizeof(bad_bl[0]); i++) {
        char j[1024];
        snprintf(j, sizeof(j),
                 "{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[{\"id\":\"c\","
                 "\"latency\":{\"median_ms\":200},\"quality\":{\"mean\":0.7},"
                 "\"price_in_per_1k\":0,\"price_out_per_1k\":0,\"batch_latency\":%s}]}]}",
                 bad_bl[i].bl);
        err[0] = 0;
        CU_ASSERT_PTR_NULL(parse(j, err, sizeof(err)));
        if (!strstr(err, bad_bl[i].expect))
            fprintf(stderr, "case %zu: got '%s', want '%s'\n", i, err, bad_bl[i].expect);
        CU_ASSERT(strstr(err, bad_bl[i].expect) != NULL);
    }
    err[0] = 0;
    CU_ASSERT_PTR_NULL(parse("{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM_A
                             "]}],\"changes\":[{\"at\":1,\"arm\":\"a\",\"batch_cost_factor\":0}]}",
                             err, sizeof(err)));
    CU_ASSERT(strstr(err, "batch_cost_factor: value 0 is out of range") != NULL);
}

static void test_examples_load(void) {
    const char *files[] = {"examples/scenarios/demo.json", "examples/scenarios/loop-error.json",
                           "examples/scenarios/loop-latency.json",
                           "examples/scenarios/default-30m.json",
                           "examples/scenarios/stationary-30m.json",
                           "examples/scenarios/strat-batch.json"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char err[512] = "";
        llmopt_sim_scenario *s = llmopt_sim_scenario_load(files[i], err, sizeof(err));
        if (!s)
            fprintf(stderr, "%s\n", err);
        CU_ASSERT_PTR_NOT_NULL(s);
        llmopt_sim_scenario_destroy(s);
    }
    char err[512] = "";
    CU_ASSERT_PTR_NULL(llmopt_sim_scenario_load("/nonexistent.json", err, sizeof(err)));
    CU_ASSERT(strstr(err, "cannot open scenario '/nonexistent.json'") != NULL);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("sim_scenario", NULL, NULL);
    CU_add_test(s, "defaults_and_inheritance", test_defaults_and_inheritance);
    CU_add_test(s, "errors_name_the_member", test_errors_name_the_member);
    CU_add_test(s, "schedule", test_schedule);
    CU_add_test(s, "policy", test_policy);
    CU_add_test(s, "batch_latency", test_batch_latency);
    CU_add_test(s, "examples_load", test_examples_load);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
