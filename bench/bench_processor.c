/*
 * bench_processor.c - the processor's in-process pipeline and memory.
 *
 *   bench_processor pipeline [events]   (a) decode (our Avro codec, Confluent
 *       framing) + engine of pre-encoded Request/Response messages, 3 routes
 *       x 3 arms, all default detectors and windows; thread CPU time, median
 *       of 3 runs; outputs go to a sink that only counts them; then the
 *       decode alone the same way, and so the engine alone (the difference)
 *   bench_processor hash [events]       the pipeline's input, run once (untimed)
 *       with every output Avro-encoded into one FNV-1a hash: compare builds
 *   bench_processor rss [keys]          (c) resident memory after feeding
 *       `keys` live (route, arm) keys (default 10000; 1000 routes x 10 arms)
 *       20 responses each with their requests, windows open, detectors warm
 *   bench_processor consume BOOTSTRAP TOPIC N RECORD  (b, baseline) bare
 *       librdkafka consume + Avro decode of N RECORD (Request...) messages from TOPIC (3
 *       partitions, from the beginning), wall-clock messages/s
 *   bench_processor passthrough BOOTSTRAP REQUESTS RESPONSES OUT GROUP N
 *       (b, upper bound) the least a processor honouring the output contract
 *       does: one group consumer (subscribe, read_committed, the daemon's
 *       consumer settings) over both topics, Avro decode of every message,
 *       one Outcome per response (its own fields copied, the rest default)
 *       Avro-encoded and produced keyed by route to OUT through a
 *       transactional producer (linger 100 ms as the daemon), the consumed
 *       offsets sent to the transaction, a commit every 1 s (or 200000
 *       messages, the daemon's defaults). No join, windows, detectors or
 *       checkpoint. Stops after N messages and the commit covering them;
 *       prints its rate from the first message to that commit and its CPU
 *       per message over the same span (getrusage, all threads)
 *       An optional LEVEL after N takes parts away, to see what each costs:
 *       `offsets` produces no outcomes (transactions with the offsets only),
 *       `consume` has no producer at all (group consume + decode); default
 *       `full`
 *
 * The pipeline case is what one engine thread of llmopt-processor does per
 * message minus Kafka I/O and output encoding.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "common/avro_codec.h"
#include "common/kafka.h"
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
                (e && llmopt_engine_on_request(e, &rq, &src)))
                abort();
        } else {
            if (llmopt_avro_decode(codec, ms[i].data, ms[i].len, LLMOPT_REC_RESPONSE, &rs, NULL,
                                   NULL, 0) ||
                (e && llmopt_engine_on_response(e, &rs, &src)))
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

/* ---- passthrough: (b)'s upper bound ---------------------------------- */

typedef enum pass_level { PASS_CONSUME, PASS_OFFSETS, PASS_FULL } pass_level;

typedef struct pass {
    pass_level level;
    rd_kafka_t *consumer, *producer;
    rd_kafka_topic_t *rkt_out;
    llmopt_kafka_dr_stats_t dr;
    llmopt_avro_codec *codec;
    const char *topic_resp;
    llmopt_request rq;
    llmopt_response rs;
    llmopt_wbuf w;
    long got, bad, outcomes, cycle_msgs, commits;
    long queue_full; /* produce calls refused with a full queue (waited 10 ms each) */
    bool txn_open;
    double cycle_start, t_last; /* t_last: when the last message was decoded */
    double commit_s;            /* wall time spent in commits */
} pass;

static double rusage_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* A conf with bootstrap.servers and the given key, value... pairs (NULL
 * ended) set, or NULL with the reason on stderr. */
static rd_kafka_conf_t *pass_conf(const char *boot, const char *const *kv) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", boot, err, sizeof(err)))
        goto fail;
    for (; kv && kv[0]; kv += 2)
        if (rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof(err)))
            goto fail;
    return conf;
fail:
    fprintf(stderr, "passthrough: %s\n", err);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* The daemon's transactional producer (processor/runner.c llmopt_runner_new). */
static int pass_producer(pass *p, const char *boot, const char *txn_id) {
    static const char *const kv[] = {"transaction.timeout.ms", "60000", "message.max.bytes",
                                     "4000000", NULL};
    char err[512];
    rd_kafka_conf_t *conf = pass_conf(boot, kv);
    if (!conf)
        return 1;
    llmopt_kafka_dr_stats_init(&p->dr);
    llmopt_kafka_producer_opts_t po = {.kind = LLMOPT_KAFKA_PRODUCER_TRANSACTIONAL,
                                       .transactional_id = txn_id,
                                       .init_timeout_ms = 30000,
                                       .dr_stats = &p->dr,
                                       .linger_ms = "100"};
    if (llmopt_kafka_producer_new(&p->producer, conf, &po, err, sizeof(err))) {
        fprintf(stderr, "passthrough: producer: %s\n", err);
        return 1;
    }
    return 0;
}

/* The daemon's group consumer, with the session settings the bench gives
 * the daemon (tests/integration/processor_test.py Proc), subscribed to both
 * input topics. */
static int pass_consumer(pass *p, const char *boot, const char *group, const char *req,
                         const char *resp) {
    static const char *const kv[] = {"enable.partition.eof", "true",
                                     "partition.assignment.strategy", "range",
                                     "session.timeout.ms", "6000",
                                     "heartbeat.interval.ms", "1500", NULL};
    char err[512];
    rd_kafka_conf_t *conf = pass_conf(boot, kv);
    if (!conf)
        return 1;
    llmopt_kafka_consumer_opts_t co = {.group_id = group, .app_commits = true,
                                       .read_committed = true};
    if (llmopt_kafka_consumer_new(&p->consumer, conf, &co, err, sizeof(err))) {
        fprintf(stderr, "passthrough: consumer: %s\n", err);
        return 1;
    }
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(sub, req, RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(sub, resp, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t ke = rd_kafka_subscribe(p->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (ke) {
        fprintf(stderr, "passthrough: subscribe: %s\n", rd_kafka_err2str(ke));
        return 1;
    }
    return 0;
}

/* The outcome of a response alone: its own fields, everything else the
 * record's default (no request, reward or feedback). */
static void outcome_of(const llmopt_response *rs, llmopt_outcome *o) {
    o->outcome_id = o->request_id = rs->request_id;
    o->route = rs->route;
    o->arm = rs->arm;
    o->provider = rs->provider.ptr ? rs->provider : llmopt_str_of("");
    o->model = o->task_type = llmopt_str_of("");
    o->ts_ms = rs->ts_ms;
    o->has_response_ts_ms = true;
    o->response_ts_ms = rs->ts_ms;
    o->status = rs->status;
    o->has_latency_ms = true;
    o->latency_ms = rs->latency_ms;
    o->has_ttft_ms = rs->has_ttft_ms;
    o->ttft_ms = rs->ttft_ms;
    o->input_tokens = rs->input_tokens;
    o->output_tokens = rs->output_tokens;
    o->cost_usd = rs->cost_usd;
    o->has_quality = rs->has_quality;
    o->quality = rs->quality;
    o->cache_hit = rs->cache_hit;
}

static int pass_produce_outcome(pass *p) {
    llmopt_outcome o;
    llmopt_outcome_init(&o);
    outcome_of(&p->rs, &o);
    char err[256];
    p->w.len = 0;
    llmopt_err_t e = llmopt_avro_encode(p->codec, LLMOPT_REC_OUTCOME, &o, &p->w, err, sizeof(err));
    llmopt_outcome_release(&o);
    if (e) {
        fprintf(stderr, "passthrough: encode: %s\n", err);
        return 1;
    }
    for (;;) {
        rd_kafka_resp_err_t ke = rd_kafka_producev(
            p->producer, RD_KAFKA_V_RKT(p->rkt_out), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(p->rs.route.ptr, p->rs.route.len),
            RD_KAFKA_V_VALUE(p->w.data, p->w.len), RD_KAFKA_V_END);
        if (!ke)
            break;
        if (ke != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "passthrough: produce: %s\n", rd_kafka_err2str(ke));
            return 1;
        }
        p->queue_full++;
        rd_kafka_poll(p->producer, 10);
    }
    p->outcomes++;
    return 0;
}

/* Decodes one consumed message; a response also gives an outcome. The
 * transaction is opened by the first message of a cycle. */
static int pass_on_message(pass *p, const rd_kafka_message_t *m) {
    char err[512];
    if (m->err)
        return 0; /* partition EOF and the like: nothing consumed */
    if (p->level >= PASS_OFFSETS && !p->txn_open) {
        if (llmopt_kafka_txn_begin(p->producer, err, sizeof(err))) {
            fprintf(stderr, "passthrough: begin: %s\n", err);
            return 1;
        }
        p->txn_open = true;
    }
    p->got++;
    p->cycle_msgs++;
    if (strcmp(rd_kafka_topic_name(m->rkt), p->topic_resp)) {
        if (llmopt_avro_decode(p->codec, m->payload, m->len, LLMOPT_REC_REQUEST, &p->rq, NULL,
                               NULL, 0))
            p->bad++;
        return 0;
    }
    if (llmopt_avro_decode(p->codec, m->payload, m->len, LLMOPT_REC_RESPONSE, &p->rs, NULL, NULL,
                           0)) {
        p->bad++;
        return 0;
    }
    return p->level == PASS_FULL ? pass_produce_outcome(p) : 0;
}

/* Commits the open transaction with the consumer's positions. */
static int pass_commit(pass *p) {
    char err[512];
    llmopt_kafka_txn_status_t st;
    p->txn_open = false;
    p->cycle_msgs = 0;
    double t0 = wall_s();
    if (llmopt_kafka_txn_commit(p->producer, p->consumer, NULL, 30000, &st, err, sizeof(err))) {
        fprintf(stderr, "passthrough: commit (%s): %s\n", llmopt_kafka_txn_status_name(st), err);
        return 1;
    }
    p->commits++;
    p->cycle_start = wall_s(); /* the next cycle starts after the commit, as the daemon's */
    p->commit_s += p->cycle_start - t0;
    return 0;
}

/* Consumes until n messages are in and committed, within 300 s. */
static int pass_loop(pass *p, long n, double *t0, double *cpu0) {
    double give_up = wall_s() + 300;
    p->cycle_start = wall_s();
    while (p->got < n || p->txn_open) {
        if (wall_s() > give_up) {
            fprintf(stderr, "passthrough: %ld of %ld messages in 300 s\n", p->got, n);
            return 1;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p->consumer, 50);
        /* take what is already fetched (up to 10000) before the commit check */
        for (int k = 0; m; k++) {
            if (!p->got && !m->err) {
                *t0 = wall_s();
                *cpu0 = rusage_s();
                printf("passthrough: first message\n");
                fflush(stdout);
            }
            int rc = pass_on_message(p, m);
            rd_kafka_message_destroy(m);
            if (rc)
                return 1;
            if (p->got == n && !p->t_last)
                p->t_last = wall_s();
            m = p->got < n && k < 10000 ? rd_kafka_consumer_poll(p->consumer, 0) : NULL;
        }
        if (p->producer)
            rd_kafka_poll(p->producer, 0);
        if (p->txn_open && (p->got >= n || wall_s() - p->cycle_start >= 1.0 ||
                            p->cycle_msgs >= 200000) && pass_commit(p))
            return 1;
    }
    return 0;
}

static int passthrough(const char *boot, const char *req, const char *resp, const char *out,
                       const char *group, long n, pass_level level) {
    pass p;
    memset(&p, 0, sizeof(p));
    p.level = level;
    p.topic_resp = resp;
    p.codec = llmopt_avro_codec_new(llmopt_avro_builtin_source(), NULL, 0);
    llmopt_request_init(&p.rq);
    llmopt_response_init(&p.rs);
    llmopt_wbuf_init(&p.w);
    char txn_id[256];
    snprintf(txn_id, sizeof(txn_id), "%s-pass", group);
    double t0 = 0, cpu0 = 0;
    int rc = (level >= PASS_OFFSETS && pass_producer(&p, boot, txn_id)) ||
             pass_consumer(&p, boot, group, req, resp);
    if (!rc) {
        if (p.producer)
            p.rkt_out = rd_kafka_topic_new(p.producer, out, NULL);
        rc = pass_loop(&p, n, &t0, &cpu0);
    }
    if (!rc) {
        double dt = wall_s() - t0, cpu = rusage_s() - cpu0;
        printf("passthrough: %ld messages (%ld undecodable), %ld outcomes (%" PRIu64
               " delivered, %" PRIu64 " failed), %ld commits (%.0f ms), in %.3f s = %.0f msg/s; "
               "cpu %.2f us/msg (all threads); to the last message %.3f s = %.0f msg/s; "
               "producer queue full %ld times\n",
               p.got, p.bad, p.outcomes, (uint64_t)atomic_load(&p.dr.delivered),
               (uint64_t)atomic_load(&p.dr.failed), p.commits, p.commit_s * 1e3, dt,
               p.got / dt,
               cpu / p.got * 1e6, p.t_last - t0, p.got / (p.t_last - t0), p.queue_full);
        fflush(stdout);
        rc = atomic_load(&p.dr.failed) || (uint64_t)atomic_load(&p.dr.delivered) !=
                                               (uint64_t)p.outcomes;
    }
    if (p.rkt_out)
        rd_kafka_topic_destroy(p.rkt_out);
    llmopt_kafka_consumer_close(p.consumer);
    char err[256];
    if (llmopt_kafka_producer_close(p.producer, 10000, err, sizeof(err)))
        fprintf(stderr, "passthrough: close: %s\n", err);
    llmopt_wbuf_release(&p.w);
    llmopt_request_release(&p.rq);
    llmopt_response_release(&p.rs);
    llmopt_avro_codec_destroy(p.codec);
    return rc;
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
    if (!strcmp(mode, "passthrough")) {
        if (argc < 8) {
            fprintf(stderr, "usage: bench_processor passthrough BOOTSTRAP REQUESTS RESPONSES OUT "
                            "GROUP N [full|offsets|consume]\n");
            return 2;
        }
        const char *lv = argc > 8 ? argv[8] : "full";
        pass_level level = !strcmp(lv, "consume") ? PASS_CONSUME
                           : !strcmp(lv, "offsets") ? PASS_OFFSETS
                                                    : PASS_FULL;
        if (level == PASS_FULL && strcmp(lv, "full")) {
            fprintf(stderr, "passthrough: LEVEL is full, offsets or consume, not '%s'\n", lv);
            return 2;
        }
        return passthrough(argv[2], argv[3], argv[4], argv[5], argv[6], atol(argv[7]), level);
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
        /* the decode alone, to split the pipeline's cost (engine alone =
         * pipeline - decode; proc_bench_broker.py uses it for the ideal
         * processor's CPU) */
        double d[3];
        for (int run = 0; run < 3; run++) {
            double t0 = cpu_s();
            feed(codec, NULL, ms, count);
            d[run] = cpu_s() - t0;
        }
        qsort(d, 3, sizeof(double), cmp_d);
        printf("decode alone: %.0f ns/msg; engine alone: %.0f ns/msg\n", d[1] / count * 1e9,
               (r[1] - d[1]) / count * 1e9);
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
        fprintf(stderr, "usage: bench_processor pipeline [events] | hash [events] | rss [keys] "
                        "| consume ... | passthrough ...\n");
        return 2;
    }
    llmopt_avro_codec_destroy(codec);
    return 0;
}
