/*
 * bench_processor.c - the processor's in-process pipeline and memory.
 *
 *   bench_processor pipeline [events]   (a) decode (our Avro codec, Confluent
 *       framing) + engine of pre-encoded Request/Response messages, 3 routes
 *       x 3 arms, all default detectors and windows; thread CPU time, median
 *       of 3 runs; outputs go to a sink that only counts them
 *   bench_processor hash [events]       the pipeline's input, run once (untimed)
 *       with every output Avro-encoded into one FNV-1a hash: compare builds
 *   bench_processor rss [keys]          (c) resident memory after feeding
 *       `keys` live (route, arm) keys (default 10000; 1000 routes x 10 arms)
 *       20 responses each with their requests, windows open, detectors warm
 *   bench_processor consume BOOTSTRAP TOPIC N RECORD  (b, baseline) bare
 *       librdkafka consume + Avro decode of N RECORD (Request...) messages from TOPIC (3
 *       partitions, from the beginning), wall-clock messages/s
 *
 * The pipeline case is what one engine thread of llmopt-processor does per
 * message minus Kafka I/O and output encoding.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "common/avro_codec.h"
#include "common/records.h"
#include "processor/checkpoint.h"
#include "processor/engine.h"

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t n_out;
/* hash mode: every output Avro-encoded into an FNV-1a hash, so two builds'
 * outputs can be compared byte for byte */
static llmopt_avro_codec *hash_codec;
static uint64_t out_hash = 1469598103934665603ULL;
static void hash_rec(llmopt_record_type type, const void *rec) {
    static llmopt_wbuf w;
    if (!hash_codec)
        return;
    w.len = 0;
    if (llmopt_avro_encode(hash_codec, type, rec, &w, NULL, 0))
        abort();
    for (size_t i = 0; i < w.len; i++)
        out_hash = (out_hash ^ w.data[i]) * 1099511628211ULL;
}
static void s_outcome(void *c, const llmopt_outcome *o) {
    n_out++;
    hash_rec(LLMOPT_REC_OUTCOME, o);
}
static void s_metrics(void *c, const llmopt_window_metrics *m) {
    n_out++;
    hash_rec(LLMOPT_REC_WINDOW_METRICS, m);
}
static void s_signal(void *c, const llmopt_signal *s) {
    n_out++;
    hash_rec(LLMOPT_REC_SIGNAL, s);
}
static void s_dlq(void *c, const llmopt_engine_src *s, llmopt_dlq_reason r, const char *d) {
    n_out++;
    if (hash_codec)
        for (const char *p = d; *p; p++)
            out_hash = (out_hash ^ (unsigned char)*p ^ (unsigned)r) * 1099511628211ULL;
}

typedef struct msg {
    llmopt_record_type type;
    uint8_t *data;
    size_t len;
} msg;

static uint64_t rng_state = 88172645463325252ULL;
static double urand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Encodes requests first..first+n-1 and their responses (interleaved in
 * time order) over nroutes x narms keys. */
static msg *make_msgs_from(llmopt_avro_codec *codec, long first, long n, int nroutes, int narms,
                           long *count) {
    msg *ms = calloc((size_t)n * 2, sizeof(*ms));
    long k = 0;
    char rid[32], route[32], arm[32];
    int64_t t0 = 1764000000000;
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    for (long i = first; i < first + n; i++) {
        int64_t ts = t0 + i * 5;
        snprintf(rid, sizeof(rid), "r%ld", i);
        snprintf(route, sizeof(route), "route%d", (int)(i % nroutes));
        snprintf(arm, sizeof(arm), "arm%d", (int)((i / nroutes) % narms));
        llmopt_request rq;
        llmopt_request_init(&rq);
        rq.request_id = llmopt_str_of(rid);
        rq.ts_ms = ts;
        rq.gateway = llmopt_str_of("gw");
        rq.route = llmopt_str_of(route);
        rq.task_type = llmopt_str_of("qa");
        rq.arm = llmopt_str_of(arm);
        rq.provider = llmopt_str_of("p");
        rq.model = llmopt_str_of("m");
        rq.decision_version = 1;
        rq.propensity = 0.5;
        rq.input_tokens_est = 100;
        w.len = 0;
        if (llmopt_avro_encode(codec, LLMOPT_REC_REQUEST, &rq, &w, NULL, 0))
            abort();
        ms[k].type = LLMOPT_REC_REQUEST;
        ms[k].len = w.len;
        ms[k].data = malloc(w.len);
        memcpy(ms[k].data, w.data, w.len);
        k++;
        llmopt_response rs;
        llmopt_response_init(&rs);
        rs.request_id = rq.request_id;
        rs.ts_ms = ts + 2;
        rs.route = rq.route;
        rs.arm = rq.arm;
        rs.status = urand() < 0.97 ? LLMOPT_STATUS_OK : LLMOPT_STATUS_ERROR;
        rs.latency_ms = 100 + 50 * urand();
        rs.has_ttft_ms = true;
        rs.ttft_ms = rs.latency_ms * 0.3;
        rs.input_tokens = 100;
        rs.output_tokens = 200;
        rs.cost_usd = 0.001;
        rs.has_quality = true;
        rs.quality = urand();
        w.len = 0;
        if (llmopt_avro_encode(codec, LLMOPT_REC_RESPONSE, &rs, &w, NULL, 0))
            abort();
        ms[k].type = LLMOPT_REC_RESPONSE;
        ms[k].len = w.len;
        ms[k].data = malloc(w.len);
        memcpy(ms[k].data, w.data, w.len);
        k++;
    }
    llmopt_wbuf_release(&w);
    *count = k;
    return ms;
}

static msg *make_msgs(llmopt_avro_codec *codec, long n, int nroutes, int narms, long *count) {
    return make_msgs_from(codec, 0, n, nroutes, narms, count);
}

static void free_msgs(msg *ms, long count) {
    for (long i = 0; i < count; i++)
        free(ms[i].data);
    free(ms);
}

static llmopt_engine *new_engine(void) {
    llmopt_engine_config cfg;
    llmopt_engine_config_default(&cfg);
    cfg.feedback_window_ms = 120000;
    llmopt_engine_sink sink = {s_outcome, s_metrics, s_signal, s_dlq, NULL};
    char err[256];
    llmopt_engine *e = llmopt_engine_new(&cfg, &sink, 0, err, sizeof(err));
    if (!e) {
        fprintf(stderr, "engine: %s\n", err);
        exit(1);
    }
    return e;
}

static void feed(llmopt_avro_codec *codec, llmopt_engine *e, const msg *ms, long n) {
    llmopt_request rq;
    llmopt_response rs;
    llmopt_request_init(&rq);
    llmopt_response_init(&rs);
    static int64_t next_offset;
    llmopt_engine_src src = {"in", 0, 0};
    for (long i = 0; i < n; i++) {
        src.offset = next_offset++;
        if (ms[i].type == LLMOPT_REC_REQUEST) {
            if (llmopt_avro_decode(codec, ms[i].data, ms[i].len, LLMOPT_REC_REQUEST, &rq, NULL,
                                   NULL, 0) ||
                llmopt_engine_on_request(e, &rq, &src))
                abort();
        } else {
            if (llmopt_avro_decode(codec, ms[i].data, ms[i].len, LLMOPT_REC_RESPONSE, &rs, NULL,
                                   NULL, 0) ||
                llmopt_engine_on_response(e, &rs, &src))
                abort();
        }
    }
    llmopt_request_release(&rq);
    llmopt_response_release(&rs);
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int consume(const char *boot, const char *topic, long n, llmopt_record_type type) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", boot, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "group.id", "bench-processor-bare", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "queued.min.messages", "1000000", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "100", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    llmopt_avro_codec *codec = llmopt_avro_codec_new(llmopt_avro_builtin_source(), NULL, 0);
    void *rec = calloc(1, llmopt_record_size(type));
    llmopt_record_init(type, rec);
    long got = 0, bad = 0;
    double t0 = 0;
    while (got < n) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m)
            continue;
        if (!m->err) {
            if (!got)
                t0 = wall_s();
            if (llmopt_avro_decode(codec, m->payload, m->len, type, rec, NULL, NULL, 0))
                bad++;
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    double dt = wall_s() - t0;
    printf("bare consume+decode: %ld messages (%ld undecodable) in %.3f s = %.0f msg/s\n", got,
           bad, dt, got / dt);
    llmopt_record_release(type, rec);
    free(rec);
    llmopt_avro_codec_destroy(codec);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "pipeline";
    if (!strcmp(mode, "consume")) {
        if (argc < 6) {
            fprintf(stderr, "usage: bench_processor consume BOOTSTRAP TOPIC N RECORD\n");
            return 2;
        }
        return consume(argv[2], argv[3], atol(argv[4]), llmopt_record_type_from_name(argv[5]));
    }
    llmopt_avro_codec *codec = llmopt_avro_codec_new(llmopt_avro_builtin_source(), NULL, 0);
    if (!strcmp(mode, "pipeline")) {
        long n = argc > 2 ? atol(argv[2]) : 1000000;
        long count;
        msg *ms = make_msgs(codec, n / 2, 3, 3, &count);
        double r[3];
        for (int run = 0; run < 3; run++) {
            llmopt_engine *e = new_engine();
            n_out = 0;
            double t0 = cpu_s();
            feed(codec, e, ms, count);
            r[run] = cpu_s() - t0;
            llmopt_engine_destroy(e);
        }
        qsort(r, 3, sizeof(double), cmp_d);
        printf("pipeline (avro decode + engine, 3x3 keys): %ld messages, median %.3f s CPU = "
               "%.0f msg/s per core (%.0f ns/msg), %" PRIu64 " outputs/run\n",
               count, r[1], count / r[1], r[1] / count * 1e9, n_out);
        free_msgs(ms, count);
    } else if (!strcmp(mode, "hash")) {
        /* one untimed run with every output encoded and hashed, then flushed */
        long n = argc > 2 ? atol(argv[2]) : 1000000;
        long count;
        msg *ms = make_msgs(codec, n / 2, 3, 3, &count);
        hash_codec = codec;
        llmopt_engine *e = new_engine();
        n_out = 0;
        feed(codec, e, ms, count);
        if (llmopt_engine_flush(e))
            abort();
        llmopt_engine_destroy(e);
        printf("hash: %ld messages, %" PRIu64 " outputs, output hash %016" PRIx64 "\n", count,
               n_out, out_hash);
        free_msgs(ms, count);
    } else if (!strcmp(mode, "rss")) {
        long keys = argc > 2 ? atol(argv[2]) : 10000;
        int narms = 10, nroutes = (int)(keys / narms);
        long before = rss_kb();
        llmopt_engine *e = new_engine();
        /* the input is encoded and fed in batches, as a consumer sees it:
         * the whole pre-encoded input (~43 MB) is never resident at once */
        long total = (long)nroutes * narms * 20, batch = 20000;
        for (long first = 0; first < total; first += batch) {
            long count, n = total - first < batch ? total - first : batch;
            msg *ms = make_msgs_from(codec, first, n, nroutes, narms, &count);
            feed(codec, e, ms, count);
            free_msgs(ms, count);
        }
        llmopt_engine_stats st;
        llmopt_engine_get_stats(e, &st);
        long kb = rss_kb();
        printf("rss: %zu live keys, %" PRIu64 " open windows, engine state_bytes %.1f MB, "
               "RSS %.1f MB (process start %.1f MB)\n",
               st.arms, st.open_windows, st.state_bytes / 1e6, kb / 1024.0, before / 1024.0);
        /* the daemon's checkpoint: one blob buffer, produced without a copy */
        llmopt_wbuf w;
        llmopt_wbuf_init(&w);
        double t0 = cpu_s();
        llmopt_engine_save(e, &w);
        double t_save = cpu_s() - t0;
        long kb_ck = rss_kb();
        for (int run = 0; run < 2; run++) { /* best of 3, each into a new buffer as the daemon does */
            llmopt_wbuf w2;
            llmopt_wbuf_init(&w2);
            t0 = cpu_s();
            llmopt_engine_save(e, &w2);
            double d = cpu_s() - t0;
            t_save = d < t_save ? d : t_save;
            if (w2.len != w.len || memcmp(w2.data, w.data, w.len))
                abort(); /* a save is canonical */
            llmopt_wbuf_release(&w2);
        }
        printf("checkpoint of that state: %.1f MB; RSS while it is held %.1f MB\n", w.len / 1e6,
               kb_ck / 1024.0);
        /* what each commit pays for it on the daemon's thread: the save and
         * the manifest's hash (XXH64 since manifest v2; FNV-1a byte at a
         * time before), best of 3 */
        double t_x = 1e9, t_f = 1e9;
        uint64_t hx = 0, hf = 0;
        for (int run = 0; run < 3; run++) {
            t0 = cpu_s();
            hx ^= llmopt_ckpt_hash(w.data, w.len);
            double d = cpu_s() - t0;
            t_x = d < t_x ? d : t_x;
            t0 = cpu_s();
            hf ^= llmopt_ckpt_hash_fnv1a(w.data, w.len);
            d = cpu_s() - t0;
            t_f = d < t_f ? d : t_f;
        }
        printf("checkpoint cost: engine_save %.1f ms; manifest hash XXH64 %.1f ms (%.1f GB/s), "
               "FNV-1a %.1f ms (%.2f GB/s) [%016" PRIx64 " %016" PRIx64 "]\n",
               t_save * 1e3, t_x * 1e3, w.len / t_x / 1e9, t_f * 1e3, w.len / t_f / 1e9, hx, hf);
        llmopt_wbuf_release(&w);
        llmopt_engine_destroy(e);
    } else {
        fprintf(stderr, "usage: bench_processor pipeline [events] | hash [events] | rss [keys] | consume ...\n");
        return 2;
    }
    llmopt_avro_codec_destroy(codec);
    return 0;
}
