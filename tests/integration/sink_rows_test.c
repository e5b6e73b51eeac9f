/*
 * sink_rows_test.c - CUnit suite for tools/sink_rows (records -> COPY text
 * rows), label unit: pure, no services. Expected values are hand-computed.
 */
#include <math.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "common/records.h"
#include "tools/sink_rows.h"

static void test_format_ts(void) {
    char b[40];
    CU_ASSERT_EQUAL(llmopt_sink_format_ts(0, b, sizeof(b)), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(b, "1970-01-01 00:00:00.000+00");
    CU_ASSERT_EQUAL(llmopt_sink_format_ts(-1, b, sizeof(b)), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(b, "1969-12-31 23:59:59.999+00");
    /* 2000-01-01 = 946684800 s; + 59 days = the leap day */
    CU_ASSERT_EQUAL(llmopt_sink_format_ts(951782400000 + 3723004, b, sizeof(b)), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(b, "2000-02-29 01:02:03.004+00");
    CU_ASSERT_EQUAL(llmopt_sink_format_ts(253402300799999, b, sizeof(b)), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(b, "9999-12-31 23:59:59.999+00");
    CU_ASSERT_EQUAL(llmopt_sink_format_ts(-62135596800000, b, sizeof(b)), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(b, "0001-01-01 00:00:00.000+00");
    CU_ASSERT_EQUAL(llmopt_sink_format_ts(253402300800000, b, sizeof(b)), LLMOPT_ERR_RANGE);
    CU_ASSERT_EQUAL(llmopt_sink_format_ts(-62135596800001, b, sizeof(b)), LLMOPT_ERR_RANGE);
    CU_ASSERT_EQUAL(llmopt_sink_format_ts(INT64_MIN, b, sizeof(b)), LLMOPT_ERR_RANGE);
    CU_ASSERT_EQUAL(llmopt_sink_day_of_ms(-1), -1);
    CU_ASSERT_EQUAL(llmopt_sink_day_of_ms(0), 0);
    CU_ASSERT_EQUAL(llmopt_sink_day_of_ms(86399999), 0);
    CU_ASSERT_EQUAL(llmopt_sink_day_of_ms(86400000), 1);
}

static llmopt_signal make_signal(void) {
    llmopt_signal s;
    memset(&s, 0, sizeof(s));
    s.signal_id = llmopt_str_of("chat|a\tb|adwin|latency_ms|7");
    s.ts_ms = 1000;
    s.route = llmopt_str_of("chat");
    s.arm = llmopt_str_of("a\tb\\c\nd");
    s.kind = LLMOPT_SIGNAL_DRIFT;
    s.detector = LLMOPT_DETECTOR_PAGE_HINKLEY;
    s.metric = llmopt_str_of("latency_ms");
    s.direction = LLMOPT_DIRECTION_DOWN;
    s.magnitude = 0.1;
    s.before = NAN;
    s.after = -INFINITY;
    s.sample_index = 7;
    s.severity = 1.5;
    return s;
}

static void test_signal_row(void) {
    llmopt_wbuf row, key;
    llmopt_wbuf_init(&row);
    llmopt_wbuf_init(&key);
    llmopt_json_buf js;
    llmopt_json_buf_init(&js);
    char err[256];
    llmopt_signal s = make_signal();
    CU_ASSERT_EQUAL_FATAL(
        llmopt_sink_row_encode(LLMOPT_SINK_SIGNALS, &s, &row, &key, &js, err, sizeof(err)),
        LLMOPT_OK);
    const char *want = "chat|a\\tb|adwin|latency_ms|7\t1970-01-01 00:00:01.000+00\tchat\t"
                       "a\\tb\\\\c\\nd\tdrift\tpage_hinkley\tlatency_ms\tdown\t"
                       "0.10000000000000001\tNaN\t-Infinity\t7\t1.5\t\\N\n";
    CU_ASSERT_EQUAL(row.len, strlen(want));
    CU_ASSERT(row.len == strlen(want) && !memcmp(row.data, want, row.len));
    /* same id and time -> same key; another time -> another key */
    llmopt_wbuf key2;
    llmopt_wbuf_init(&key2);
    size_t len1 = row.len;
    s.ts_ms = 1001;
    CU_ASSERT_EQUAL(
        llmopt_sink_row_encode(LLMOPT_SINK_SIGNALS, &s, &row, &key2, &js, err, sizeof(err)),
        LLMOPT_OK);
    CU_ASSERT(key.len != key2.len || memcmp(key.data, key2.data, key.len));
    s.ts_ms = 1000;
    CU_ASSERT_EQUAL(
        llmopt_sink_row_encode(LLMOPT_SINK_SIGNALS, &s, &row, &key2, &js, err, sizeof(err)),
        LLMOPT_OK);
    CU_ASSERT(key.len == key2.len && !memcmp(key.data, key2.data, key.len));
    /* refused: NUL inside a string, absent required string, time out of range;
     * the row buffer is left as it was */
    size_t before = row.len;
    CU_ASSERT(before > len1);
    s.metric = (llmopt_str){"lat\0ency", 8};
    CU_ASSERT_EQUAL(
        llmopt_sink_row_encode(LLMOPT_SINK_SIGNALS, &s, &row, &key2, &js, err, sizeof(err)),
        LLMOPT_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'metric'"));
    CU_ASSERT_EQUAL(row.len, before);
    s = make_signal();
    s.route = (llmopt_str){NULL, 0};
    CU_ASSERT_EQUAL(
        llmopt_sink_row_encode(LLMOPT_SINK_SIGNALS, &s, &row, &key2, &js, err, sizeof(err)),
        LLMOPT_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'route'"));
    s = make_signal();
    s.ts_ms = INT64_MAX;
    CU_ASSERT_EQUAL(
        llmopt_sink_row_encode(LLMOPT_SINK_SIGNALS, &s, &row, &key2, &js, err, sizeof(err)),
        LLMOPT_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'ts_ms'"));
    s = make_signal();
    s.detector = (llmopt_detector)99;
    CU_ASSERT_EQUAL(
        llmopt_sink_row_encode(LLMOPT_SINK_SIGNALS, &s, &row, &key2, &js, err, sizeof(err)),
        LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(row.len, before);
    llmopt_wbuf_release(&row);
    llmopt_wbuf_release(&key);
    llmopt_wbuf_release(&key2);
    llmopt_json_buf_release(&js);
}

static void test_routing_row(void) {
    llmopt_routing_decision d;
    memset(&d, 0, sizeof(d));
    llmopt_arm arm;
    memset(&arm, 0, sizeof(arm));
    arm.arm_id = llmopt_str_of("a1");
    arm.provider = llmopt_str_of("p");
    arm.model = llmopt_str_of("m");
    arm.weight = 0.5;
    llmopt_str ids[2] = {llmopt_str_of("s\"1"), llmopt_str_of("s\\2")};
    d.route = llmopt_str_of("chat");
    d.version = 3;
    d.ts_ms = 86400000;
    d.algorithm = llmopt_str_of("ucb1");
    d.arms.items = &arm;
    d.arms.count = 1;
    d.default_arm = llmopt_str_of("a1");
    d.reason = llmopt_str_of("why");
    d.signal_ids.items = ids;
    d.signal_ids.count = 2;
    llmopt_wbuf row, key;
    llmopt_wbuf_init(&row);
    llmopt_wbuf_init(&key);
    llmopt_json_buf js;
    llmopt_json_buf_init(&js);
    char err[256];
    CU_ASSERT_EQUAL_FATAL(
        llmopt_sink_row_encode(LLMOPT_SINK_ROUTING, &d, &row, &key, &js, err, sizeof(err)),
        LLMOPT_OK);
    /* array literal {"s\"1","s\\2"}, then every backslash doubled by COPY */
    const char *prefix = "chat\t3\t1970-01-02 00:00:00.000+00\tucb1\ta1\twhy\t"
                         "{\"s\\\\\"1\",\"s\\\\\\\\2\"}\t\\N\tf\t{";
    CU_ASSERT(row.len > strlen(prefix) && !memcmp(row.data, prefix, strlen(prefix)));
    CU_ASSERT_EQUAL(row.data[row.len - 1], '\n');
    CU_ASSERT_PTR_NOT_NULL(memmem(row.data, row.len, "\"arm_id\":\"a1\"", 13));
    llmopt_wbuf_release(&row);
    llmopt_wbuf_release(&key);
    llmopt_json_buf_release(&js);
}

/* The fields of one binary COPY tuple: count, then (offset, length) each;
 * length -1 is NULL. Returns the bytes consumed, 0 if malformed. */
static size_t binary_fields(const uint8_t *p, size_t n, int *count, size_t off[], int32_t len[],
                            int max) {
    if (n < 2)
        return 0;
    *count = (int16_t)((p[0] << 8) | p[1]);
    size_t at = 2;
    for (int i = 0; i < *count; i++) {
        if (i >= max || n - at < 4)
            return 0;
        len[i] = (int32_t)(((uint32_t)p[at] << 24) | ((uint32_t)p[at + 1] << 16) |
                           ((uint32_t)p[at + 2] << 8) | p[at + 3]);
        at += 4;
        off[i] = at;
        if (len[i] > 0) {
            if (n - at < (size_t)len[i])
                return 0;
            at += (size_t)len[i];
        }
    }
    return at;
}

static uint64_t be64_at(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void test_outcome_binary(void) {
    CU_ASSERT_TRUE(llmopt_sink_table_get(LLMOPT_SINK_OUTCOMES)->binary);
    CU_ASSERT_FALSE(llmopt_sink_table_get(LLMOPT_SINK_METRICS)->binary);
    CU_ASSERT_EQUAL(memcmp(llmopt_sink_copy_binary_header, "PGCOPY\n\377\r\n\0", 11), 0);
    llmopt_outcome o;
    memset(&o, 0, sizeof(o));
    o.outcome_id = o.request_id = llmopt_str_of("r1");
    o.route = o.arm = o.provider = o.model = o.task_type = llmopt_str_of("x");
    o.tenant = llmopt_str_of("t\tab"); /* no escaping in binary */
    llmopt_kv_double kv[3] = {{llmopt_str_of("a\"b"), 1.5},
                              {llmopt_str_of("n"), NAN},
                              {llmopt_str_of("t\tab"), -2}};
    o.context.items = kv;
    o.context.count = 3;
    o.status = LLMOPT_STATUS_MISSING;
    o.ts_ms = INT64_C(946684800001); /* 2000-01-01 00:00:00.001 UTC: 1000 us */
    o.latency_ms = -0.0;
    o.has_latency_ms = true;
    o.input_tokens = -5; /* Postgres' CHECK judges it, not the encoder */
    o.has_thumbs = true;
    o.thumbs = -1;
    llmopt_wbuf row, key;
    llmopt_wbuf_init(&row);
    llmopt_wbuf_init(&key);
    llmopt_json_buf js;
    llmopt_json_buf_init(&js);
    char err[256];
    CU_ASSERT_EQUAL_FATAL(
        llmopt_sink_row_encode(LLMOPT_SINK_OUTCOMES, &o, &row, &key, &js, err, sizeof(err)),
        LLMOPT_OK);
    int count = 0;
    size_t off[40];
    int32_t len[40];
    CU_ASSERT_EQUAL_FATAL(binary_fields(row.data, row.len, &count, off, len, 40), row.len);
    CU_ASSERT_EQUAL_FATAL(count, 33);
    CU_ASSERT(len[0] == 2 && !memcmp(row.data + off[0], "r1", 2));       /* outcome_id */
    CU_ASSERT(len[6] == 4 && !memcmp(row.data + off[6], "t\tab", 4));    /* tenant */
    CU_ASSERT_EQUAL(len[7], -1);                                          /* user_id */
    CU_ASSERT(len[9] == 8 && be64_at(row.data + off[9]) == 1000);         /* ts */
    CU_ASSERT_EQUAL(len[10], -1);                                         /* response_ts */
    CU_ASSERT(len[11] == 7 && !memcmp(row.data + off[11], "missing", 7)); /* status */
    CU_ASSERT(len[12] == 8 && be64_at(row.data + off[12]) == UINT64_C(1) << 63); /* -0.0 */
    CU_ASSERT(len[14] == 8 && be64_at(row.data + off[14]) == (uint64_t)INT64_C(-5));
    CU_ASSERT(len[18] == 1 && row.data[off[18]] == 0);                    /* cache_hit */
    /* jsonb: version 1, then the JSON text, tab escaped by JSON only */
    const char *ctx = "\001{\"a\\\"b\":1.5,\"n\":null,\"t\\u0009ab\":-2}";
    CU_ASSERT(len[19] == (int32_t)strlen(ctx) && !memcmp(row.data + off[19], ctx, strlen(ctx)));
    CU_ASSERT(len[29] == 2 && row.data[off[29]] == 0xff && row.data[off[29] + 1] == 0xff);
    CU_ASSERT_EQUAL(len[30], -1); /* task_completed */
    CU_ASSERT_EQUAL(len[32], 1);  /* is_update */

    /* refusals keep the buffer as it was */
    size_t before = row.len;
    o.thumbs = 40000;
    CU_ASSERT_EQUAL(
        llmopt_sink_row_encode(LLMOPT_SINK_OUTCOMES, &o, &row, &key, &js, err, sizeof(err)),
        LLMOPT_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "thumbs"));
    o.thumbs = 1;
    o.ts_ms = INT64_C(253402300800000); /* year 10000 */
    CU_ASSERT_EQUAL(
        llmopt_sink_row_encode(LLMOPT_SINK_OUTCOMES, &o, &row, &key, &js, err, sizeof(err)),
        LLMOPT_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ts_ms"));
    CU_ASSERT_EQUAL(row.len, before);
    llmopt_wbuf_release(&row);
    llmopt_wbuf_release(&key);
    llmopt_json_buf_release(&js);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("sink_rows", NULL, NULL);
    CU_add_test(s, "timestamps", test_format_ts);
    CU_add_test(s, "signal row, escaping, keys, refusals", test_signal_row);
    CU_add_test(s, "routing row, text[] and payload", test_routing_row);
    CU_add_test(s, "outcome row, binary COPY format", test_outcome_binary);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
