/* test_http.c - CUnit suite for common/http: a real server on an ephemeral
 * port on 127.0.0.1, fetched with libcurl. Also covers common/signals. */
#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/http.h"
#include "common/signals.h"

typedef struct body {
    char *p;
    size_t len;
} body;

static size_t on_data(char *ptr, size_t size, size_t n, void *ud) {
    body *b = ud;
    char *np = realloc(b->p, b->len + size * n + 1);
    if (!np)
        return 0;
    memcpy(np + b->len, ptr, size * n);
    b->p = np;
    b->len += size * n;
    b->p[b->len] = '\0';
    return size * n;
}

static long fetch(int port, const char *path, body *b, char *ctype, size_t ctype_size) {
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    b->p = NULL;
    b->len = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    long code = -1;
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        if (ctype)
            snprintf(ctype, ctype_size, "%s", ct ? ct : "");
    }
    curl_easy_cleanup(c);
    return code;
}

static atomic_int ready_flag;

static bool ready(void *opaque, char *reason, size_t reason_size) {
    (void)opaque;
    if (atomic_load(&ready_flag))
        return true;
    snprintf(reason, reason_size, "consumer not assigned");
    return false;
}

static void test_endpoints(void) {
    llmopt_metrics *m = llmopt_metrics_new();
    llmopt_counter_add(llmopt_metrics_counter(m, "llmopt_up_total", "Up.", NULL, NULL), 5);
    char err[256] = "";
    llmopt_http *h = llmopt_http_new("127.0.0.1", 0, m, ready, NULL, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int port = llmopt_http_port(h);
    CU_ASSERT(port > 0);
    body b;
    char ct[128];
    CU_ASSERT_EQUAL(fetch(port, "/healthz", &b, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(b.p, "ok\n");
    free(b.p);
    CU_ASSERT_EQUAL(fetch(port, "/readyz", &b, NULL, 0), 503);
    CU_ASSERT_STRING_EQUAL(b.p, "consumer not assigned\n");
    free(b.p);
    atomic_store(&ready_flag, 1);
    CU_ASSERT_EQUAL(fetch(port, "/readyz", &b, NULL, 0), 200);
    free(b.p);
    CU_ASSERT_EQUAL(fetch(port, "/metrics", &b, ct, sizeof(ct)), 200);
    CU_ASSERT_STRING_EQUAL(b.p, "# HELP llmopt_up_total Up.\n# TYPE llmopt_up_total counter\n"
                                "llmopt_up_total 5\n");
    CU_ASSERT_STRING_EQUAL(ct, LLMOPT_METRICS_CONTENT_TYPE);
    free(b.p);
    CU_ASSERT_EQUAL(fetch(port, "/nope", &b, NULL, 0), 404);
    free(b.p);

    /* the port is taken now: a second server on it fails with a reason */
    CU_ASSERT_PTR_NULL(llmopt_http_new("127.0.0.1", port, m, NULL, NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot serve http on '127.0.0.1' port"));
    CU_ASSERT_PTR_NULL(llmopt_http_new("localhost", 0, m, NULL, NULL, err, sizeof(err)));
    CU_ASSERT_STRING_EQUAL(err, "http listen address 'localhost' is not a numeric IPv4 or IPv6 "
                                "address");
    llmopt_http_destroy(h);
    llmopt_http_destroy(NULL);
    llmopt_metrics_destroy(m);
}

static void test_signals(void) {
    CU_ASSERT_EQUAL(llmopt_signals_install(), LLMOPT_OK);
    CU_ASSERT_FALSE(llmopt_signals_stop_requested());
    raise(SIGHUP);
    CU_ASSERT_TRUE(llmopt_signals_take_reload());
    CU_ASSERT_FALSE(llmopt_signals_take_reload());
    raise(SIGTERM);
    CU_ASSERT_TRUE(llmopt_signals_stop_requested());
    CU_ASSERT_EQUAL(llmopt_signals_stop_signal(), SIGTERM);
    llmopt_signals_clear();
    CU_ASSERT_FALSE(llmopt_signals_stop_requested());
    raise(SIGINT);
    CU_ASSERT_EQUAL(llmopt_signals_stop_signal(), SIGINT);
    llmopt_signals_clear();
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("http", NULL, NULL);
    CU_add_test(s, "endpoints", test_endpoints);
    CU_add_test(s, "signals", test_signals);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_cleanup_registry();
    curl_global_cleanup();
    return fails ? 1 : 0;
}
