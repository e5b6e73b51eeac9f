/*
 * test_gw_batcher.c - batch formation by size, token budget and wait,
 * order and ids preserved, and parameters taken from the route's decision.
 */
#include <stdlib.h>

#include "tests/unit/test_gw_helpers.h"

typedef struct sink {
    char out[64][256]; /* one line per batch: "id,id,..." */
    int n;
} sink;

static void on_batch(void *ctx, const llmopt_gw_batch_item *items, size_t n) {
    sink *s = ctx;
    char *p = s->out[s->n++];
    p[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(p, items[i].request_id);
        if (i + 1 < n)
            strcat(p, ",");
    }
}

static void test_size_and_order(void) {
    sink s = {0};
    llmopt_gw_batcher *b = llmopt_gw_batcher_new(NULL, NULL, 3, 1000, 0, on_batch, &s);
    char id[8];
    for (int i = 1; i <= 7; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        CU_ASSERT_EQUAL(llmopt_gw_batcher_add(b, id, 10, 0), LLMOPT_OK);
    }
    CU_ASSERT_EQUAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(s.out[0], "r1,r2,r3");
    CU_ASSERT_STRING_EQUAL(s.out[1], "r4,r5,r6");
    CU_ASSERT_EQUAL(llmopt_gw_batcher_flush(b), 1);
    CU_ASSERT_STRING_EQUAL(s.out[2], "r7");
    CU_ASSERT_EQUAL(llmopt_gw_batcher_flush(b), 0);
    llmopt_gw_batcher_destroy(b);
}

static void test_token_budget(void) {
    sink s = {0};
    llmopt_gw_batcher *b = llmopt_gw_batcher_new(NULL, NULL, 10, 1000, 100, on_batch, &s);
    llmopt_gw_batcher_add(b, "a", 40, 0);
    llmopt_gw_batcher_add(b, "b", 40, 0);
    llmopt_gw_batcher_add(b, "c", 40, 0); /* 120 > 100: a,b close first */
    llmopt_gw_batcher_add(b, "big", 150, 0); /* larger than the budget: alone */
    llmopt_gw_batcher_add(b, "d", 60, 0);
    llmopt_gw_batcher_add(b, "e", 40, 0); /* exactly 100: closes */
    CU_ASSERT_EQUAL(s.n, 4);
    CU_ASSERT_STRING_EQUAL(s.out[0], "a,b");
    CU_ASSERT_STRING_EQUAL(s.out[1], "c");
    CU_ASSERT_STRING_EQUAL(s.out[2], "big");
    CU_ASSERT_STRING_EQUAL(s.out[3], "d,e");
    llmopt_gw_batcher_destroy(b);
}

static void test_max_wait(void) {
    sink s = {0};
    llmopt_gw_batcher *b = llmopt_gw_batcher_new(NULL, NULL, 10, 10, 0, on_batch, &s);
    llmopt_gw_batcher_add(b, "a", 1, 0);
    llmopt_gw_batcher_add(b, "b", 1, 5);
    CU_ASSERT_EQUAL(llmopt_gw_batcher_poll(b, 9), 0);
    CU_ASSERT_EQUAL(llmopt_gw_batcher_poll(b, 10), 1);
    CU_ASSERT_STRING_EQUAL(s.out[0], "a,b");
    llmopt_gw_batcher_add(b, "c", 1, 20);
    llmopt_gw_batcher_add(b, "d", 1, 31); /* c waited 11 ms: closes before d */
    CU_ASSERT_EQUAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(s.out[1], "c");
    llmopt_gw_batcher_destroy(b); /* flushes d */
    CU_ASSERT_EQUAL(s.n, 3);
    CU_ASSERT_STRING_EQUAL(s.out[2], "d");
}

static void test_from_decision(void) {
    llmopt_gw *gw = gw_offline();
    sink s = {0};
    llmopt_gw_batcher *b = llmopt_gw_batcher_new(gw, "bt", 0, 0, 0, on_batch, &s);
    llmopt_gw_batcher_add(b, "x1", 1, 0); /* no decision: batches of one */
    CU_ASSERT_EQUAL(s.n, 1);
    test_decision t;
    td_init(&t, "bt", 1, 2);
    t.d.has_batching = true;
    t.d.batching.enabled = true;
    t.d.batching.max_batch = 2;
    t.d.batching.max_wait_ms = 100;
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    llmopt_gw_batcher_add(b, "x2", 1, 0);
    CU_ASSERT_EQUAL(s.n, 1);
    llmopt_gw_batcher_add(b, "x3", 1, 1);
    CU_ASSERT_EQUAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(s.out[1], "x2,x3");
    llmopt_gw_batcher_destroy(b);
    llmopt_gw_destroy(gw);
}

int main(void) {
    static const CU_TestInfo tests[] = {
        {"size_and_order", test_size_and_order},
        {"token_budget", test_token_budget},
        {"max_wait", test_max_wait},
        {"from_decision", test_from_decision},
        CU_TEST_INFO_NULL,
    };
    return run_suite("gw_batcher", tests);
}
