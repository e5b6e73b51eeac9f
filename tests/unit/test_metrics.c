/* test_metrics.c - CUnit suite for common/metrics: Prometheus text 0.0.4
 * against a hand-written golden file (tests/data/metrics/golden.prom),
 * registration rules, lock-free updates from several threads. */
#include <CUnit/Basic.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

static void test_golden(void) {
    llmopt_metrics *m = llmopt_metrics_new();
    const char *topic[] = {"topic", NULL};
    const char *v1[] = {"llm.requests", NULL};
    const char *v2[] = {"a\"b\\c\nd", NULL};
    const char *help = "Events consumed.\nper topic \\ partition";
    llmopt_counter *c1 = llmopt_metrics_counter(m, "llmopt_events_total", help, topic, v1);
    llmopt_counter *c2 = llmopt_metrics_counter(m, "llmopt_events_total", help, topic, v2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
    CU_ASSERT_PTR_EQUAL(llmopt_metrics_counter(m, "llmopt_events_total", help, topic, v1), c1);
    llmopt_counter_add(c1, 2);
    llmopt_counter_inc(c1);
    llmopt_counter_inc(c2);
    llmopt_gauge *g = llmopt_metrics_gauge(m, "llmopt_lag", "Consumer lag.", NULL, NULL);
    llmopt_gauge_set(g, 1.5);
    llmopt_gauge_add(g, -0.25);
    const double bounds[] = {0.25, 0.5, 1};
    const char *route[] = {"route", NULL};
    const char *chat[] = {"chat", NULL};
    llmopt_histogram *h = llmopt_metrics_histogram(m, "llmopt_latency_seconds",
                                                   "Request latency.", bounds, 3, route, chat);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    llmopt_histogram_observe(h, 0.125);
    llmopt_histogram_observe(h, 0.25); /* le is inclusive */
    llmopt_histogram_observe(h, 0.5);
    llmopt_histogram_observe(h, 4);
    llmopt_histogram_observe(h, NAN); /* ignored */
    size_t len;
    char *text = llmopt_metrics_render(m, &len);
    char *golden = read_all("tests/data/metrics/golden.prom");
    CU_ASSERT_PTR_NOT_NULL_FATAL(golden);
    CU_ASSERT_STRING_EQUAL(text, golden);
    CU_ASSERT_EQUAL(len, strlen(golden));
    if (strcmp(text, golden))
        fprintf(stderr, "\n--- got\n%s--- want\n%s", text, golden);
    free(text);
    free(golden);
    llmopt_metrics_destroy(m);
}

static void test_rules(void) {
    llmopt_metrics *m = llmopt_metrics_new();
    const char *ab[] = {"a", "b", NULL};
    const char *x[] = {"x", NULL};
    const char *xy[] = {"x", "y", NULL};
    const char *le[] = {"le", NULL};
    const char *bad[] = {"__x", NULL};
    CU_ASSERT_PTR_NULL(llmopt_metrics_counter(m, "1bad", "h", NULL, NULL));
    CU_ASSERT_PTR_NULL(llmopt_metrics_counter(m, "ok", "h", ab, x)); /* count mismatch */
    CU_ASSERT_PTR_NULL(llmopt_metrics_counter(m, "ok", "h", bad, x));
    CU_ASSERT_PTR_NULL(llmopt_metrics_histogram(m, "hh", "h", NULL, 0, le, x));
    const double unsorted[] = {1, 0.5};
    CU_ASSERT_PTR_NULL(llmopt_metrics_histogram(m, "hh", "h", unsorted, 2, NULL, NULL));
    CU_ASSERT_PTR_NOT_NULL(llmopt_metrics_counter(m, "ok", "h", ab, xy));
    CU_ASSERT_PTR_NULL(llmopt_metrics_gauge(m, "ok", "h", ab, xy));   /* type clash */
    CU_ASSERT_PTR_NULL(llmopt_metrics_counter(m, "ok", "other", ab, xy)); /* help clash */
    CU_ASSERT_PTR_NULL(llmopt_metrics_counter(m, "ok", "h", x, x));   /* label clash */
    llmopt_counter_inc(NULL);
    llmopt_gauge_set(NULL, 1);
    llmopt_histogram_observe(NULL, 1);
    /* default buckets, special values */
    llmopt_histogram *h = llmopt_metrics_histogram(m, "d", "h", NULL, 0, NULL, NULL);
    llmopt_histogram_observe(h, 0.005);
    llmopt_gauge *g = llmopt_metrics_gauge(m, "g", "h", NULL, NULL);
    llmopt_gauge_set(g, -INFINITY);
    char *text = llmopt_metrics_render(m, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "d_bucket{le=\"0.005\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "d_bucket{le=\"10\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "d_bucket{le=\"+Inf\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "g -Inf\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ok{a=\"x\",b=\"y\"} 0\n"));
    free(text);
    llmopt_metrics_destroy(m);
    llmopt_metrics_destroy(NULL);
    llmopt_metrics *e = llmopt_metrics_new();
    text = llmopt_metrics_render(e, NULL);
    CU_ASSERT_STRING_EQUAL(text, "");
    free(text);
    llmopt_metrics_destroy(e);
}

#define THREADS 4
#define PER_THREAD 100000

typedef struct work {
    llmopt_counter *c;
    llmopt_histogram *h;
    llmopt_gauge *g;
} work;

static void *hammer(void *arg) {
    work *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        llmopt_counter_inc(w->c);
        llmopt_histogram_observe(w->h, (i % 4) * 0.5); /* 0, .5, 1, 1.5 */
        llmopt_gauge_add(w->g, 1.0);
    }
    return NULL;
}

static void test_threads(void) {
    llmopt_metrics *m = llmopt_metrics_new();
    const double b[] = {0.5, 1};
    work w = {llmopt_metrics_counter(m, "c", "h", NULL, NULL),
              llmopt_metrics_histogram(m, "h", "h", b, 2, NULL, NULL),
              llmopt_metrics_gauge(m, "g", "h", NULL, NULL)};
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, &w);
    for (int i = 0; i < 10; i++)
        free(llmopt_metrics_render(m, NULL)); /* render while updating */
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CU_ASSERT_EQUAL(llmopt_counter_value(w.c), THREADS * PER_THREAD);
    CU_ASSERT_EQUAL(llmopt_gauge_value(w.g), THREADS * PER_THREAD);
    char *text = llmopt_metrics_render(m, NULL);
    char want[256];
    /* per thread: 1/4 of values are 0, 1/4 are .5 (le .5), 1/4 are 1, 1/4 1.5 */
    snprintf(want, sizeof(want), "h_bucket{le=\"0.5\"} %d\nh_bucket{le=\"1\"} %d\n"
             "h_bucket{le=\"+Inf\"} %d\nh_sum %d\nh_count %d\n",
             THREADS * PER_THREAD / 2, THREADS * PER_THREAD * 3 / 4, THREADS * PER_THREAD,
             THREADS * PER_THREAD * 3 / 4, THREADS * PER_THREAD);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
    free(text);
    llmopt_metrics_destroy(m);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("metrics", NULL, NULL);
    CU_add_test(s, "golden", test_golden);
    CU_add_test(s, "rules", test_rules);
    CU_add_test(s, "threads", test_threads);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_cleanup_registry();
    return fails ? 1 : 0;
}
