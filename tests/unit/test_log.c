/* test_log.c - CUnit suite for common/log: DSN/URI redaction table, text and
 * JSON line formats, level filtering, whole lines under concurrency. */
#include <CUnit/Basic.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static const struct { const char *in, *out; } redact_cases[] = {
    {"host=127.0.0.1 port=5432 user=u password=secret dbname=d",
     "host=127.0.0.1 port=5432 user=u password=[redacted] dbname=d"},
    {"password = 'it\\'s quoted' host=h", "password = [redacted] host=h"},
    {"PASSWORD=x", "PASSWORD=[redacted]"},
    {"postgres://alice:pa55@db.example:5432/llmopt",
     "postgres://alice:[redacted]@db.example:5432/llmopt"},
    {"postgresql://alice@db/llmopt?sslmode=require&password=pw&x=1",
     "postgresql://alice@db/llmopt?sslmode=require&password=[redacted]&x=1"},
    {"https://u:p@registry:8081/subjects", "https://u:[redacted]@registry:8081/subjects"},
    {"http://registry:8081/a@b", "http://registry:8081/a@b"},
    {"kafka.sasl.password=hunter2, next", "kafka.sasl.password=[redacted], next"},
    {"client_secret=abc", "client_secret=[redacted]"},
    {"no secrets here: user=u host=h", "no secrets here: user=u host=h"},
    {"", ""},
};

static void test_redact(void) {
    for (size_t i = 0; i < sizeof(redact_cases) / sizeof(redact_cases[0]); i++) {
        char out[256];
        size_t n = llmopt_log_redact(redact_cases[i].in, out, sizeof(out));
        if (strcmp(out, redact_cases[i].out))
            fprintf(stderr, "\ncase %zu: got '%s'\n", i, out);
        CU_ASSERT_STRING_EQUAL(out, redact_cases[i].out);
        CU_ASSERT_EQUAL(n, strlen(redact_cases[i].out));
    }
    /* truncation keeps a terminated prefix and reports the full length */
    char small[8];
    size_t n = llmopt_log_redact("password=abcdef", small, sizeof(small));
    CU_ASSERT_EQUAL(n, strlen("password=[redacted]"));
    CU_ASSERT_STRING_EQUAL(small, "passwor");
}

static char *capture(void (*fn)(void)) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    llmopt_log_set_output(f);
    fn();
    llmopt_log_set_output(NULL);
    fclose(f);
    return buf;
}

static const llmopt_logger lg = LLMOPT_LOGGER("unit");

static void emit_text(void) {
    llmopt_log_setup(LLMOPT_LOG_INFO, LLMOPT_LOG_TEXT);
    llmopt_log_debug(&lg, "hidden %d", 1);
    llmopt_log_info(&lg, "connected to '%s'", "host=h password=pw");
    llmopt_log_error(&lg, "boom");
}

static void test_text(void) {
    char *out = capture(emit_text);
    /* 2026-11-29T12:00:00.123Z info  [unit] connected to 'host=h password=[redacted]' */
    size_t nl = strcspn(out, "\n");
    CU_ASSERT_FATAL(out[nl] == '\n');
    CU_ASSERT_EQUAL(out[4], '-');
    CU_ASSERT_EQUAL(out[10], 'T');
    CU_ASSERT_EQUAL(out[23], 'Z');
    CU_ASSERT_EQUAL(strncmp(out + 24, " info  [unit] connected to 'host=h password=[redacted]'\n",
                            nl - 23),
                    0);
    CU_ASSERT_PTR_NULL(strstr(out, "hidden"));
    CU_ASSERT_PTR_NULL(strstr(out, "=pw"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out + nl + 1, " error [unit] boom\n"));
    free(out);
}

static void emit_json(void) {
    llmopt_log_setup(LLMOPT_LOG_DEBUG, LLMOPT_LOG_JSON);
    llmopt_log_debug(&lg, "quote \" and \\ and dsn postgres://a:b@h/d");
    llmopt_log_setup(LLMOPT_LOG_INFO, LLMOPT_LOG_TEXT);
}

static void test_json(void) {
    char *out = capture(emit_json);
    json_error_t je;
    json_t *o = json_loads(out, JSON_DISABLE_EOF_CHECK, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "level")), "debug");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "component")), "unit");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "msg")),
                           "quote \" and \\ and dsn postgres://a:[redacted]@h/d");
    CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(o, "ts"))), 24);
    CU_ASSERT_EQUAL(out[strlen(out) - 1], '\n');
    json_decref(o);
    free(out);
}

static void *writer(void *arg) {
    for (int i = 0; i < 500; i++)
        llmopt_log_warn(&lg, "thread %ld line %d xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", (long)arg, i);
    return NULL;
}

static void emit_threads(void) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, writer, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
}

static void test_threads(void) {
    char *out = capture(emit_threads);
    int lines = 0;
    for (char *p = out, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        /* each line is whole: starts with a timestamp, ends with the x run */
        CU_ASSERT_EQUAL(p[23], 'Z');
        CU_ASSERT_EQUAL(strncmp(nl - 4, "xxxx", 4), 0);
        lines++;
    }
    CU_ASSERT_EQUAL(lines, 2000);
    free(out);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("log", NULL, NULL);
    CU_add_test(s, "redact", test_redact);
    CU_add_test(s, "text", test_text);
    CU_add_test(s, "json", test_json);
    CU_add_test(s, "threads", test_threads);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_cleanup_registry();
    return fails ? 1 : 0;
}
