/*
 * bench_codec.c - ns per message of the Avro codec (common/avro_codec.h) for
 * Request and Response: our decoder (body and framed), our encoder, and
 * avro-c generic decode / encode of the same bytes for comparison; then the
 * framed decode of a message from a newer writer schema (resolution
 * path, iterations / 10).
 *
 * Usage: bench_codec [iterations]   (default 1000000; median of 5 runs)
 * Times are thread CPU time (CLOCK_THREAD_CPUTIME_ID). One thread; the
 * record and the avro-c value are reused across iterations,
 * as the processor's consume loop does.
 */
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/avro_codec.h"
#include "common/records.h"

static double now_ns(void) {
    struct timespec ts;
    /* thread CPU time, not wall time: the machine is shared, and time spent
     * preempted is not the codec's cost */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define RUNS 5
typedef void (*bench_fn)(void *ctx, long iters);

static double median_ns(bench_fn fn, void *ctx, long iters) {
    double r[RUNS];
    fn(ctx, iters / 10 + 1); /* warm up */
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_ns();
        fn(ctx, iters);
        r[i] = (now_ns() - t0) / (double)iters;
    }
    qsort(r, RUNS, sizeof(r[0]), cmp_double);
    return r[RUNS / 2];
}

typedef struct ctx {
    llmopt_record_type type;
    llmopt_avro_codec *codec;
    const uint8_t *msg; /* framed */
    size_t len;
    void *rec;         /* decode target / encode source */
    llmopt_wbuf out;
    avro_value_t val;  /* avro-c generic value of the schema */
    avro_reader_t reader;
    avro_writer_t writer;
    char wbuf[4096];
    volatile size_t sink;
} ctx;

static void run_decode_body(void *p, long n) {
    ctx *c = p;
    for (long i = 0; i < n; i++)
        if (llmopt_avro_decode_body(c->type, c->msg + 5, c->len - 5, c->rec, NULL, NULL, 0))
            abort();
}

static void run_decode_framed(void *p, long n) {
    ctx *c = p;
    for (long i = 0; i < n; i++)
        if (llmopt_avro_decode(c->codec, c->msg, c->len, c->type, c->rec, NULL, NULL, 0))
            abort();
}

static void run_encode(void *p, long n) {
    ctx *c = p;
    for (long i = 0; i < n; i++) {
        c->out.len = 0;
        if (llmopt_avro_encode(c->codec, c->type, c->rec, &c->out, NULL, 0))
            abort();
    }
    c->sink = c->out.len;
}

static void run_avroc_decode(void *p, long n) {
    ctx *c = p;
    for (long i = 0; i < n; i++) {
        avro_reader_memory_set_source(c->reader, (const char *)c->msg + 5, (int64_t)(c->len - 5));
        if (avro_value_read(c->reader, &c->val))
            abort();
    }
}

static void run_avroc_encode(void *p, long n) {
    ctx *c = p;
    for (long i = 0; i < n; i++) {
        avro_writer_memory_set_dest(c->writer, c->wbuf, sizeof(c->wbuf));
        if (avro_value_write(c->writer, &c->val))
            abort();
    }
}

/* Schema ids 1..7 are ours; 100 + t is our schema of type t with one more
 * long field at the end (a newer writer): decoded by the field-level resolution
 * plan of avro_codec.c. */
static char *evolved;

static llmopt_err_t evolved_lookup(void *src_ctx, int32_t id, const char **json, char *errstr,
                                   size_t errstr_size) {
    if (id > 100 && id < 100 + LLMOPT_REC_COUNT) {
        const char *pcf = llmopt_avro_schema_pcf[id - 100];
        static const char extra[] = ",{\"name\":\"newer\",\"type\":\"long\"}]}";
        size_t n = strlen(pcf);
        free(evolved);
        evolved = malloc(n - 2 + sizeof(extra));
        memcpy(evolved, pcf, n - 2);
        memcpy(evolved + n - 2, extra, sizeof(extra));
        *json = evolved;
        return LLMOPT_OK;
    }
    return llmopt_avro_builtin_source()->lookup(src_ctx, id, json, errstr, errstr_size);
}

static void bench_fallback(const char *label, llmopt_record_type t, void *rec, long iters) {
    llmopt_schema_source src = {NULL, evolved_lookup, NULL};
    ctx c;
    memset(&c, 0, sizeof(c));
    c.type = t;
    c.codec = llmopt_avro_codec_new(&src, NULL, 0);
    llmopt_wbuf msg;
    llmopt_wbuf_init(&msg);
    uint8_t hdr[LLMOPT_AVRO_HEADER_SIZE];
    llmopt_avro_header_write(hdr, 100 + (int32_t)t);
    llmopt_wbuf_bytes(&msg, hdr, sizeof(hdr));
    if (!c.codec || llmopt_avro_encode_body(t, rec, &msg, NULL, 0))
        abort();
    llmopt_wbuf_u8(&msg, 0x54); /* newer = 42 */
    c.msg = msg.data;
    c.len = msg.len;
    char scratch[1024];
    memset(scratch, 0, sizeof(scratch));
    c.rec = scratch;
    printf("%-9s %4zu B  decode framed, newer writer schema (field-level resolution) "
           "%6.1f ns\n", label, c.len, median_ns(run_decode_framed, &c, iters / 10));
    llmopt_record_release(t, scratch);
    llmopt_wbuf_release(&msg);
    llmopt_avro_codec_destroy(c.codec);
    free(evolved);
    evolved = NULL;
}

static void bench_type(const char *label, llmopt_record_type t, void *rec, long iters) {
    ctx c;
    memset(&c, 0, sizeof(c));
    c.type = t;
    c.codec = llmopt_avro_codec_new(llmopt_avro_builtin_source(), NULL, 0);
    c.rec = rec;
    llmopt_wbuf_init(&c.out);
    llmopt_wbuf msg;
    llmopt_wbuf_init(&msg);
    if (!c.codec || llmopt_avro_encode(c.codec, t, rec, &msg, NULL, 0))
        abort();
    c.msg = msg.data;
    c.len = msg.len;
    avro_schema_t schema;
    const char *json = llmopt_avro_schema_pcf[t];
    if (avro_schema_from_json_length(json, strlen(json), &schema))
        abort();
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_generic_value_new(iface, &c.val);
    c.reader = avro_reader_memory((const char *)c.msg + 5, (int64_t)(c.len - 5));
    c.writer = avro_writer_memory(c.wbuf, sizeof(c.wbuf));

    /* decode into a separate record so `rec` stays the encode source */
    char scratch[1024];
    memset(scratch, 0, sizeof(scratch));
    ctx d = c;
    d.rec = scratch;
    /* in this order: avro-c encode needs the value avro-c decode filled */
    double body = median_ns(run_decode_body, &d, iters);
    double framed = median_ns(run_decode_framed, &d, iters);
    double encode = median_ns(run_encode, &c, iters);
    double a_dec = median_ns(run_avroc_decode, &c, iters);
    double a_enc = median_ns(run_avroc_encode, &c, iters);
    printf("%-9s %4zu B  decode body %6.1f ns  decode framed %6.1f ns  encode framed %6.1f ns"
           "  | avro-c generic decode %6.1f ns  encode %6.1f ns\n",
           label, c.len, body, framed, encode, a_dec, a_enc);
    llmopt_record_release(t, scratch);
    avro_reader_free(c.reader);
    avro_writer_free(c.writer);
    avro_value_decref(&c.val);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    llmopt_wbuf_release(&msg);
    llmopt_wbuf_release(&c.out);
    llmopt_avro_codec_destroy(c.codec);
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 1000000;
    if (iters < 10)
        iters = 10;
    _Static_assert(sizeof(llmopt_request) <= 1024 && sizeof(llmopt_response) <= 1024, "scratch");

    /* a typical Request: tenant, user, experiment, 3 context features */
    llmopt_kv_double ctxf[3] = {{llmopt_str_of("len_norm"), 0.41},
                                {llmopt_str_of("is_vip"), 1.0},
                                {llmopt_str_of("hour"), 13.0}};
    llmopt_request rq;
    llmopt_request_init(&rq);
    rq.request_id = llmopt_str_of("5f0c6e0e-8d1c-4b7a-9c51-2f4e7f3a9b10");
    rq.ts_ms = 1764382800123;
    rq.gateway = llmopt_str_of("gw-eu-1");
    rq.route = llmopt_str_of("support-chat");
    rq.tenant = llmopt_str_of("acme");
    rq.user = llmopt_str_of("u-4242");
    rq.task_type = llmopt_str_of("chat");
    rq.arm = llmopt_str_of("gpt4o-t07");
    rq.provider = llmopt_str_of("openai");
    rq.model = llmopt_str_of("gpt-4o");
    rq.decision_version = 17;
    rq.propensity = 0.35;
    rq.experiment_id = llmopt_str_of("exp-9");
    rq.variant = llmopt_str_of("B");
    rq.input_tokens_est = 812;
    rq.has_context = true;
    rq.context.items = ctxf;
    rq.context.count = 3;
    rq.prompt_hash = llmopt_str_of("9f86d081884c7d65");

    llmopt_response rs;
    llmopt_response_init(&rs);
    rs.request_id = rq.request_id;
    rs.ts_ms = 1764382801456;
    rs.route = rq.route;
    rs.arm = rq.arm;
    rs.status = LLMOPT_STATUS_OK;
    rs.has_http_status = true;
    rs.http_status = 200;
    rs.latency_ms = 1333.25;
    rs.has_ttft_ms = true;
    rs.ttft_ms = 210.5;
    rs.input_tokens = 812;
    rs.output_tokens = 95;
    rs.cost_usd = 0.0049;
    rs.has_quality = true;
    rs.quality = 0.9;
    rs.provider = rq.provider;

    printf("bench_codec: %ld iterations, median of %d runs\n", iters, RUNS);
    bench_type("Request", LLMOPT_REC_REQUEST, &rq, iters);
    bench_type("Response", LLMOPT_REC_RESPONSE, &rs, iters);
    bench_fallback("Request", LLMOPT_REC_REQUEST, &rq, iters);
    bench_fallback("Response", LLMOPT_REC_RESPONSE, &rs, iters);
    return 0;
}
