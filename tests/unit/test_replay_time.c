/* test_replay_time.c - CUnit suite for tools/replay_time: the --from/--to
 * parser of `llmopt replay` against known epoch values (checked with GNU
 * date -u -d ... +%s), and what it must refuse. */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <string.h>

#include "tools/replay_time.h"

static int64_t ok(const char *s) {
    int64_t ms = -7;
    CU_ASSERT_EQUAL(llmopt_replay_parse_time(s, &ms), 0);
    return ms;
}

static void test_accepts(void) {
    CU_ASSERT_EQUAL(ok("0"), 0);
    CU_ASSERT_EQUAL(ok("1764000000000"), 1764000000000LL);
    CU_ASSERT_EQUAL(ok("1970-01-01"), 0);
    CU_ASSERT_EQUAL(ok("2026-11-29"), 1795910400000LL);
    CU_ASSERT_EQUAL(ok("2026-11-29T03:00:00Z"), 1795921200000LL);
    CU_ASSERT_EQUAL(ok("2026-11-29t03:00:00z"), 1795921200000LL);
    CU_ASSERT_EQUAL(ok("2026-11-29 03:00:00Z"), 1795921200000LL);
    CU_ASSERT_EQUAL(ok("2026-11-29T03:00:00.5Z"), 1795921200500LL);
    CU_ASSERT_EQUAL(ok("2026-11-29T03:00:00.123456Z"), 1795921200123LL);
    CU_ASSERT_EQUAL(ok("2026-11-29T04:30:00+01:30"), 1795921200000LL);
    CU_ASSERT_EQUAL(ok("2026-11-28T22:00:00-05:00"), 1795921200000LL);
    CU_ASSERT_EQUAL(ok("2024-02-29T00:00:00Z"), 1709164800000LL); /* leap day */
    CU_ASSERT_EQUAL(ok("2000-03-01T00:00:00Z"), 951868800000LL);
}

static void test_refuses(void) {
    static const char *const bad[] = {
        "", "yesterday", "-5", "12a", "1234567890123456", "2026-11-29T03:00:00",
        "2026-11-29T03:00Z", "2026-13-01", "2026-02-29", "2025-11-31", "2026-11-29T24:00:00Z",
        "2026-11-29T03:60:00Z", "2026-11-29T03:00:00.Z", "2026-11-29T03:00:00+1:00",
        "2026-11-29T03:00:00+01:00x", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+00:01",
        "2026-1-29", "2026/11/29", NULL};
    for (size_t i = 0; bad[i]; i++) {
        int64_t ms = -7;
        CU_ASSERT_EQUAL(llmopt_replay_parse_time(bad[i], &ms), -1);
        CU_ASSERT_EQUAL(ms, -7);
        if (ms != -7)
            fprintf(stderr, "accepted '%s'\n", bad[i]);
    }
    CU_ASSERT_EQUAL(llmopt_replay_parse_time(NULL, NULL), -1);
}

static void test_format(void) {
    char b[40];
    llmopt_replay_format_time(1795921200123LL, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "2026-11-29T03:00:00.123Z");
    llmopt_replay_format_time(0, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "1970-01-01T00:00:00.000Z");
    llmopt_replay_format_time(INT64_MIN, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "-");
    /* round trip */
    int64_t ms = 0;
    llmopt_replay_format_time(1709164800001LL, b, sizeof(b));
    CU_ASSERT_EQUAL(llmopt_replay_parse_time(b, &ms), 0);
    CU_ASSERT_EQUAL(ms, 1709164800001LL);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("replay_time", NULL, NULL);
    CU_add_test(s, "accepts", test_accepts);
    CU_add_test(s, "refuses", test_refuses);
    CU_add_test(s, "format", test_format);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
