/* test_codec_json.c - CUnit suite for common/json_codec.
 *
 * Golden files (tests/data/codec_json, written by
 * tests/tools/gen_codec_json_golden.py from the rules in json_codec.h and the
 * field order of the schemas/ .avsc files, not by this encoder): records built here by
 * hand must encode to exactly those bytes, and every golden file must decode
 * and re-encode to itself. As the encoding is injective (every field lands
 * under its own name), encode(decode(g)) == g == encode(hand-built) means the
 * decoder filled every field as the hand-built record has it. Error inputs
 * come with the expected reason, field path and position in
 * errors/manifest.tsv. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_codec.h"

#define DATA "tests/data/codec_json/"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    *len = got;
    return buf;
}

#define S(x) llmopt_str_of(x)

/* encode rec and compare with the golden file byte for byte */
static void check_encodes_to(llmopt_record_type type, const void *rec, const char *file) {
    size_t len = 0;
    char *want = slurp(file, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    llmopt_json_buf b;
    llmopt_json_buf_init(&b);
    char err[256] = "";
    CU_ASSERT_EQUAL(llmopt_json_encode(type, rec, &b, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(b.len, len);
    CU_ASSERT(b.len == len && memcmp(b.data, want, len) == 0);
    if (b.len != len || memcmp(b.data, want, len) != 0)
        fprintf(stderr, "\n%s (%s)\n got: %s\nwant: %s\n", file, err, b.data, want);
    llmopt_json_buf_release(&b);
    free(want);
}

static void test_request_full(void) {
    llmopt_kv_double ctx[] = {{S("len"), 3.5}, {S("hour"), 1e15}, {S("neg"), -0.0},
                              {S("tiny"), 5e-324}};
    static const char id[] = "req-\"1\"\\\n\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x01";
    llmopt_request r;
    llmopt_request_init(&r);
    r.request_id = S(id);
    r.ts_ms = 9007199254740993LL;
    r.gateway = S("gw-1");
    r.route = S("chat");
    r.tenant = S("acme");
    r.user = S("u-42");
    r.task_type = S("summarise");
    r.arm = S("gpt4o-t0.2");
    r.provider = S("openai");
    r.model = S("gpt-4o");
    r.decision_version = INT64_MAX;
    r.propensity = 0.1;
    r.experiment_id = S("exp-7");
    r.variant = S("B");
    r.input_tokens_est = 1234;
    r.has_context = true;
    r.context.items = ctx;
    r.context.count = 4;
    r.prompt_hash = S("ab12");
    check_encodes_to(LLMOPT_REC_REQUEST, &r, DATA "request_full.json");

    llmopt_request m;
    llmopt_request_init(&m);
    m.request_id = S("r");
    m.gateway = S("");
    m.route = S("x");
    m.task_type = S("t");
    m.arm = S("a");
    m.provider = S("p");
    m.model = S("m");
    m.decision_version = INT64_MIN;
    m.propensity = 1.0;
    check_encodes_to(LLMOPT_REC_REQUEST, &m, DATA "request_min.json");
}

static void test_response_feedback_signal(void) {
    llmopt_response r;
    llmopt_response_init(&r);
    r.request_id = S("req-1");
    r.ts_ms = 1700000000123LL;
    r.route = S("chat");
    r.arm = S("a1");
    r.status = LLMOPT_STATUS_RATE_LIMITED;
    r.has_http_status = true;
    r.http_status = 429;
    r.error_type = S("quota");
    r.latency_ms = 1234.5678901234567;
    r.has_ttft_ms = true;
    r.ttft_ms = 98.25;
    r.input_tokens = 100;
    r.output_tokens = 2000;
    r.cost_usd = 0.000123;
    r.has_quality = true;
    r.quality = 0.87;
    r.cache_hit = true;
    r.has_batch_size = true;
    r.batch_size = INT32_MAX;
    r.provider = S("anthropic");
    check_encodes_to(LLMOPT_REC_RESPONSE, &r, DATA "response_full.json");

    llmopt_response m;
    llmopt_response_init(&m);
    m.request_id = S("req-2");
    m.ts_ms = 5;
    m.route = S("chat");
    m.arm = S("a1");
    m.status = LLMOPT_STATUS_OK;
    check_encodes_to(LLMOPT_REC_RESPONSE, &m, DATA "response_min.json");

    llmopt_feedback f;
    llmopt_feedback_init(&f);
    f.request_id = S("req-1");
    f.ts_ms = 1700000000999LL;
    f.route = S("chat");
    f.has_rating = true;
    f.rating = 0.75;
    f.has_thumbs = true;
    f.thumbs = -1;
    f.has_task_completed = true;
    f.task_completed = false;
    check_encodes_to(LLMOPT_REC_FEEDBACK, &f, DATA "feedback_full.json");
    f.has_rating = f.has_thumbs = f.has_task_completed = false;
    f.ts_ms = 1;
    check_encodes_to(LLMOPT_REC_FEEDBACK, &f, DATA "feedback_min.json");

    llmopt_signal s;
    llmopt_signal_init(&s);
    s.signal_id = S("sig-1");
    s.ts_ms = 1700000001000LL;
    s.route = S("chat");
    s.arm = S("a1");
    s.kind = LLMOPT_SIGNAL_ANOMALY;
    s.detector = LLMOPT_DETECTOR_PAGE_HINKLEY;
    s.metric = S("latency_ms");
    s.direction = LLMOPT_DIRECTION_DOWN;
    s.magnitude = 12.5;
    s.before = 100.0;
    s.after = 112.5;
    s.sample_index = 4294967296LL;
    s.severity = 3.0000000000000004;
    s.has_window_end_ms = true;
    s.window_end_ms = 1700000060000LL;
    check_encodes_to(LLMOPT_REC_SIGNAL, &s, DATA "signal_full.json");
    s.has_window_end_ms = false;
    s.kind = LLMOPT_SIGNAL_DRIFT;
    s.detector = LLMOPT_DETECTOR_ADWIN;
    s.direction = LLMOPT_DIRECTION_UP;
    check_encodes_to(LLMOPT_REC_SIGNAL, &s, DATA "signal_min.json");
}

static void test_routing_full(void) {
    llmopt_kv_double p1[] = {{S("temperature"), 0.2}, {S("max_tokens"), 512.0}};
    llmopt_arm arms[2];
    memset(arms, 0, sizeof(arms));
    arms[0] = (llmopt_arm){.arm_id = S("a1"), .provider = S("openai"),
                           .model = S("gpt-4o"), .params = {p1, 2},
                           .prompt_template_id = S("tpl-1"), .weight = 0.7,
                           .state = LLMOPT_ARM_CANARY, .has_cooldown_until_ms = true,
                           .cooldown_until_ms = 1700000009000LL};
    arms[1] = (llmopt_arm){.arm_id = S("a2"), .provider = S("local"),
                           .model = S("llama"), .weight = 0.3,
                           .state = LLMOPT_ARM_ACTIVE};
    llmopt_str sigs[] = {S("sig-1"), S("sig-2")};
    llmopt_str feats[] = {S("len"), S("hour")};
    double theta[] = {0.5, -0.25}, ainv[] = {1.0, 0.0, 0.0, 1.0};
    llmopt_arm_linear_model lm = {S("a1"), {theta, 2}, {ainv, 4}};
    llmopt_token_bucket bucket = {10.0, 20.0, 60000.0, 1e6};
    llmopt_kv_double prio[] = {{S("gold"), 2.0}};
    llmopt_str excl[] = {S("^secret"), S("")};

    llmopt_routing_decision d;
    llmopt_routing_decision_init(&d);
    d.route = S("chat");
    d.version = 42;
    d.ts_ms = 1700000002000LL;
    d.algorithm = S("linucb");
    d.arms.items = arms;
    d.arms.count = 2;
    d.default_arm = S("a1");
    d.reason = S("drift on a2");
    d.signal_ids = (llmopt_str_array){sigs, 2};
    d.has_contextual = true;
    d.contextual.feature_names = (llmopt_str_array){feats, 2};
    d.contextual.dimension = 2;
    d.contextual.alpha = 1.5;
    d.contextual.arms.items = &lm;
    d.contextual.arms.count = 1;
    d.has_rate_limits = true;
    d.rate_limits.has_global = true;
    d.rate_limits.global = bucket;
    d.rate_limits.has_per_user = true;
    d.rate_limits.per_user = bucket;
    d.rate_limits.priority_weights = (llmopt_map_double){prio, 1};
    d.rate_limits.on_limit = LLMOPT_ON_LIMIT_DEGRADE;
    d.rate_limits.retry_after_ms = 1000;
    d.rate_limits.queue_timeout_ms = 250;
    d.has_cache_policy = true;
    d.cache_policy = (llmopt_cache_policy){true, 60000, 10000, {excl, 2}};
    d.has_batching = true;
    d.batching = (llmopt_batching){false, 8, 20, 8192};
    d.experiment_id = S("exp-9");
    d.heartbeat = true;
    check_encodes_to(LLMOPT_REC_ROUTING_DECISION, &d, DATA "routing_decision_full.json");

    llmopt_routing_decision m;
    llmopt_routing_decision_init(&m);
    m.route = S("chat");
    m.version = 1;
    m.ts_ms = 2;
    m.algorithm = S("static");
    m.default_arm = S("a1");
    m.reason = S("");
    check_encodes_to(LLMOPT_REC_ROUTING_DECISION, &m, DATA "routing_decision_min.json");
}

static const struct {
    llmopt_record_type type;
    const char *name;
} GOLDEN[] = {
    {LLMOPT_REC_REQUEST, "request"},           {LLMOPT_REC_RESPONSE, "response"},
    {LLMOPT_REC_FEEDBACK, "feedback"},         {LLMOPT_REC_OUTCOME, "outcome"},
    {LLMOPT_REC_WINDOW_METRICS, "window_metrics"}, {LLMOPT_REC_SIGNAL, "signal"},
    {LLMOPT_REC_ROUTING_DECISION, "routing_decision"},
};

/* every golden file decodes and re-encodes to itself; decoding twice into
 * the same record (arena reuse) changes nothing */
static void test_golden_roundtrip(void) {
    union {
        llmopt_request a;
        llmopt_response b;
        llmopt_feedback c;
        llmopt_outcome d;
        llmopt_window_metrics e;
        llmopt_signal f;
        llmopt_routing_decision g;
    } rec;
    for (size_t i = 0; i < sizeof(GOLDEN) / sizeof(GOLDEN[0]); i++) {
        for (int full = 0; full < 2; full++) {
            char path[256];
            snprintf(path, sizeof(path), DATA "%s_%s.json", GOLDEN[i].name,
                     full ? "full" : "min");
            size_t len;
            char *text = slurp(path, &len);
            CU_ASSERT_PTR_NOT_NULL_FATAL(text);
            llmopt_record_init(GOLDEN[i].type, &rec);
            char err[256] = "";
            for (int rep = 0; rep < 2; rep++) {
                CU_ASSERT_EQUAL(llmopt_json_decode(GOLDEN[i].type, text, len, &rec,
                                                   NULL, err, sizeof(err)),
                                LLMOPT_OK);
                if (err[0])
                    fprintf(stderr, "\n%s: %s\n", path, err);
            }
            free(text);
            check_encodes_to(GOLDEN[i].type, &rec, path);
            llmopt_record_release(GOLDEN[i].type, &rec);
        }
    }
}

/* spot checks of the records not built by hand above */
static void test_outcome_metrics_fields(void) {
    size_t len;
    char *text = slurp(DATA "outcome_full.json", &len);
    llmopt_outcome o;
    llmopt_outcome_init(&o);
    CU_ASSERT_EQUAL_FATAL(llmopt_json_decode(LLMOPT_REC_OUTCOME, text, len, &o, NULL,
                                             NULL, 0),
                          LLMOPT_OK);
    free(text);
    CU_ASSERT_EQUAL(o.status, LLMOPT_STATUS_MISSING);
    CU_ASSERT_STRING_EQUAL(o.outcome_id.ptr, "out-1");
    CU_ASSERT(o.has_response_ts_ms && o.response_ts_ms == 1700000000500LL);
    CU_ASSERT(o.has_thumbs && o.thumbs == 1);
    CU_ASSERT(o.has_feedback_ts_ms && o.feedback_ts_ms == 1700000100000LL);
    CU_ASSERT_EQUAL(o.reward_cost, -0.1);
    CU_ASSERT(o.is_update);
    CU_ASSERT_EQUAL(o.context.count, 1);
    llmopt_outcome_release(&o);

    text = slurp(DATA "window_metrics_min.json", &len);
    llmopt_window_metrics w;
    llmopt_window_metrics_init(&w);
    CU_ASSERT_EQUAL_FATAL(llmopt_json_decode(LLMOPT_REC_WINDOW_METRICS, text, len, &w,
                                             NULL, NULL, 0),
                          LLMOPT_OK);
    free(text);
    CU_ASSERT_EQUAL(w.window_kind, LLMOPT_WINDOW_HOPPING);
    CU_ASSERT_FALSE(w.has_latency_p50_ms);
    CU_ASSERT_FALSE(w.has_batch_size_mean);
    CU_ASSERT_PTR_NULL(w.ttft_digest.ptr);
    CU_ASSERT_STRING_EQUAL(w.latency_digest.ptr, "AAECAw==");
    CU_ASSERT_EQUAL(w.late_count, 2);
    llmopt_window_metrics_release(&w);
}

static const char *reason_of(llmopt_err_t e) {
    switch (e) {
    case LLMOPT_ERR_UNKNOWN: return "unknown_enum";
    case LLMOPT_ERR_RANGE: return "out_of_range";
    default: return NULL;
    }
}

static void test_error_manifest(void) {
    FILE *m = fopen(DATA "errors/manifest.tsv", "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof(line), m)) {
        if (line[0] == '#')
            continue;
        char file[128], recname[64], reason[64], field[128];
        int want_line, want_col;
        if (sscanf(line, "%127[^\t]\t%63[^\t]\t%63[^\t]\t%127[^\t]\t%d\t%d", file, recname,
                   reason, field, &want_line, &want_col) != 6) {
            CU_FAIL("bad manifest line");
            continue;
        }
        char path[256];
        snprintf(path, sizeof(path), DATA "errors/%s", file);
        size_t len;
        char *text = slurp(path, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        llmopt_record_type type = llmopt_record_type_from_name(recname);
        CU_ASSERT_NOT_EQUAL_FATAL(type, LLMOPT_REC_NONE);
        union {
            llmopt_response r;
            llmopt_request q;
            llmopt_routing_decision d;
            llmopt_feedback f;
        } rec;
        llmopt_record_init(type, &rec);
        llmopt_json_error je;
        char err[256] = "";
        llmopt_err_t e = llmopt_json_decode(type, text, len, &rec, &je, err, sizeof(err));
        const char *got = llmopt_json_reason_name(je.reason);
        int ok = e != LLMOPT_OK && strcmp(got, reason) == 0 &&
                 strcmp(je.field, strcmp(field, "-") == 0 ? "" : field) == 0 &&
                 (!want_line || je.line == want_line) &&
                 (!want_col || je.column == want_col) && err[0] != '\0';
        /* the result code agrees with the reason */
        const char *by_code = reason_of(e);
        if (by_code && strcmp(by_code, reason) != 0)
            ok = 0;
        if (!by_code && e != LLMOPT_ERR_INVALID)
            ok = 0;
        if (!ok)
            fprintf(stderr, "\n%s: rc %d reason %s field '%s' at %d:%d: %s\n", file, e,
                    got, je.field, je.line, je.column, err);
        CU_ASSERT(ok);
        llmopt_record_release(type, &rec);
        free(text);
        cases++;
    }
    fclose(m);
    CU_ASSERT(cases >= 20);
}

static void test_messages(void) {
    llmopt_response r;
    llmopt_response_init(&r);
    llmopt_json_error je;
    char err[256];
    const char *in = "{\"request_id\":\"r\",\"ts_ms\":\"x\"}";
    CU_ASSERT_EQUAL(llmopt_json_decode(LLMOPT_REC_RESPONSE, in, strlen(in), &r, &je, err,
                                       sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err, "field 'ts_ms' is string, expected integer");
    in = "{\"request_id\":\"r\"}";
    llmopt_json_decode(LLMOPT_REC_RESPONSE, in, strlen(in), &r, &je, err, sizeof(err));
    CU_ASSERT_STRING_EQUAL(err, "missing required field 'ts_ms'");
    in = "{\"request_id\": \"r\",\n \"ts_ms\": 1, }";
    llmopt_json_decode(LLMOPT_REC_RESPONSE, in, strlen(in), &r, &je, err, sizeof(err));
    CU_ASSERT_EQUAL(je.line, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "malformed json Response at line 2"));
    llmopt_response_release(&r);
}

static void test_absent_null_unknown(void) {
    /* absent optional == null optional; unknown members are ignored */
    const char *a = "{\"request_id\":\"q\",\"ts_ms\":1,\"route\":\"r\",\"rating\":null,"
                    "\"future_field\":{\"x\":[1,2]}}";
    const char *b = "{\"route\":\"r\",\"ts_ms\":1,\"request_id\":\"q\"}";
    llmopt_feedback f;
    llmopt_feedback_init(&f);
    llmopt_json_buf ba, bb;
    llmopt_json_buf_init(&ba);
    llmopt_json_buf_init(&bb);
    CU_ASSERT_EQUAL(llmopt_json_decode(LLMOPT_REC_FEEDBACK, a, strlen(a), &f, NULL, NULL, 0),
                    LLMOPT_OK);
    CU_ASSERT_FALSE(f.has_rating);
    CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_FEEDBACK, &f, &ba, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_json_decode(LLMOPT_REC_FEEDBACK, b, strlen(b), &f, NULL, NULL, 0),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_FEEDBACK, &f, &bb, NULL, 0), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(ba.data, bb.data);
    CU_ASSERT_STRING_EQUAL(ba.data, "{\"request_id\":\"q\",\"ts_ms\":1,\"route\":\"r\","
                                    "\"rating\":null,\"thumbs\":null,"
                                    "\"task_completed\":null}");
    llmopt_json_buf_release(&ba);
    llmopt_json_buf_release(&bb);
    llmopt_feedback_release(&f);
}

static void test_special_values(void) {
    /* NUL inside a string, non-finite doubles, int64 extremes, whitespace */
    const char *in = "{ \"request_id\" : \"a\\u0000b\", \"ts_ms\": -9223372036854775808,"
                     " \"route\": \"r\", \"rating\": \"-Infinity\", \"thumbs\": 0 }";
    llmopt_feedback f;
    llmopt_feedback_init(&f);
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(llmopt_json_decode(LLMOPT_REC_FEEDBACK, in, strlen(in), &f, NULL,
                                             err, sizeof(err)),
                          LLMOPT_OK);
    CU_ASSERT_EQUAL(f.request_id.len, 3);
    CU_ASSERT(memcmp(f.request_id.ptr, "a\0b", 4) == 0);
    CU_ASSERT_EQUAL(f.ts_ms, INT64_MIN);
    CU_ASSERT(isinf(f.rating) && f.rating < 0);
    llmopt_json_buf b;
    llmopt_json_buf_init(&b);
    CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_FEEDBACK, &f, &b, NULL, 0), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(b.data,
                           "{\"request_id\":\"a\\u0000b\",\"ts_ms\":-9223372036854775808,"
                           "\"route\":\"r\",\"rating\":\"-Infinity\",\"thumbs\":0,"
                           "\"task_completed\":null}");
    f.rating = NAN;
    f.has_task_completed = true;
    CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_FEEDBACK, &f, &b, NULL, 0), LLMOPT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"rating\":\"NaN\""));
    CU_ASSERT_EQUAL(llmopt_json_decode(LLMOPT_REC_FEEDBACK, b.data, b.len, &f, NULL, NULL, 0),
                    LLMOPT_OK);
    CU_ASSERT(isnan(f.rating));

    /* shortest exact doubles, a '.0' on integral values */
    static const struct {
        double v;
        const char *s;
    } nums[] = {{0.1, "0.1"},   {1.0 / 3, "0.3333333333333333"},
                {100.0, "100.0"}, {1e300, "1e+300"},
                {-0.0, "-0.0"},  {0.30000000000000004, "0.30000000000000004"},
                {123456789.125, "123456789.125"}};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        f.has_rating = true;
        f.rating = nums[i].v;
        CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_FEEDBACK, &f, &b, NULL, 0), LLMOPT_OK);
        char want[96];
        snprintf(want, sizeof(want), "\"rating\":%s,", nums[i].s);
        CU_ASSERT_PTR_NOT_NULL(strstr(b.data, want));
        CU_ASSERT_EQUAL(llmopt_json_decode(LLMOPT_REC_FEEDBACK, b.data, b.len, &f, NULL,
                                           NULL, 0),
                        LLMOPT_OK);
        CU_ASSERT(f.rating == nums[i].v && signbit(f.rating) == signbit(nums[i].v));
    }
    llmopt_json_buf_release(&b);
    llmopt_feedback_release(&f);
}

static void test_encode_errors(void) {
    llmopt_json_buf b;
    llmopt_json_buf_init(&b);
    char err[256] = "";
    llmopt_feedback f;
    llmopt_feedback_init(&f);
    f.request_id = S("q");
    /* required string absent */
    CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_FEEDBACK, &f, &b, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err, "required field 'route' is absent");
    CU_ASSERT_EQUAL(b.len, 0);
    /* invalid UTF-8: a lone continuation byte, an overlong, a surrogate */
    static const char *bad[] = {"a\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                "\xe2\x82"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f.route = S(bad[i]);
        CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_FEEDBACK, &f, &b, err, sizeof(err)),
                        LLMOPT_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "field 'route' is not valid utf-8"));
    }
    llmopt_response r;
    llmopt_response_init(&r);
    r.request_id = r.route = r.arm = S("x");
    r.status = LLMOPT_STATUS_MISSING; /* not a ResponseStatus symbol */
    CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_RESPONSE, &r, &b, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'status'"));
    llmopt_request q;
    llmopt_request_init(&q);
    q.request_id = q.gateway = q.route = q.task_type = q.arm = q.provider = q.model = S("x");
    llmopt_kv_double dup[] = {{S("k"), 1.0}, {S("k"), 2.0}};
    q.has_context = true;
    q.context = (llmopt_map_double){dup, 2};
    CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_REQUEST, &q, &b, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err, "map 'context' holds key 'k' twice");
    q.context = (llmopt_map_double){NULL, 1};
    CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_REQUEST, &q, &b, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_NONE, &q, &b, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(llmopt_json_decode(LLMOPT_REC_NONE, "{}", 2, &q, NULL, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    llmopt_json_buf_release(&b);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("codec_json", NULL, NULL);
    CU_add_test(s, "request_full", test_request_full);
    CU_add_test(s, "response_feedback_signal", test_response_feedback_signal);
    CU_add_test(s, "routing_full", test_routing_full);
    CU_add_test(s, "golden_roundtrip", test_golden_roundtrip);
    CU_add_test(s, "outcome_metrics_fields", test_outcome_metrics_fields);
    CU_add_test(s, "error_manifest", test_error_manifest);
    CU_add_test(s, "messages", test_messages);
    CU_add_test(s, "absent_null_unknown", test_absent_null_unknown);
    CU_add_test(s, "special_values", test_special_values);
    CU_add_test(s, "encode_errors", test_encode_errors);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
