/*
 * replay_cmd.c - `llmopt replay --from T --to T`: a time range of the input
 * topics through the processor's engine (tools/replay.h) into run-scoped
 * topics <prefix>.<output topic> (docs/BACKTEST.md "Replay").
 *
 * Exit status: 0 replayed, 1 failure, 2 usage error, 3 the range holds no
 * data (nothing is created or written).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/avro_codec.h"
#include "common/cli.h"
#include "common/json_codec.h"
#include "common/kafka.h"
#include "common/log.h"
#include "processor/pmerge.h"
#include "tools/commands.h"
#include "tools/replay.h"
#include "tools/replay_time.h"

enum { EXIT_NO_DATA = 3 };

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

/* ---- arguments ---- */

/* FNV-1a 64 of the keys that decide what the engine emits: the run id's
 * config hash (two replays with a different engine config get different
 * ids). */
static uint64_t config_hash(const llmopt_config *cfg) {
    static const char *const keys[] = {
        "processor.topic.requests", "processor.topic.responses", "processor.topic.feedback",
        "processor.format.requests", "processor.format.responses", "processor.format.feedback",
        "processor.format.outcomes", "processor.format.metrics", "processor.format.signals",
        "processor.join.window", "processor.feedback.window", "processor.join.max.bytes",
        "processor.ooo", "processor.grace", "processor.max.future", "processor.max.past",
        "processor.windows", "processor.digest.compression", NULL};
    uint64_t h = 1469598103934665603ULL;
    char buf[1024];
    for (size_t i = 0; keys[i]; i++) {
        buf[0] = '\0';
        if (llmopt_config_get(cfg, keys[i], false, buf, sizeof(buf), NULL))
            snprintf(buf, sizeof(buf), "?");
        char line[1200];
        int n = snprintf(line, sizeof(line), "%s=%s\n", keys[i], buf);
        for (int k = 0; k < n && k < (int)sizeof(line); k++) {
            h ^= (unsigned char)line[k];
            h *= 1099511628211ULL;
        }
    }
    return h;
}

/* ---- the sink: encode and produce ---- */

static const llmopt_record_type out_types[LLMOPT_PROC_OUT_COUNT] = {
    LLMOPT_REC_OUTCOME, LLMOPT_REC_WINDOW_METRICS, LLMOPT_REC_SIGNAL};

typedef struct out_ctx {
    const llmopt_processor_conf *pc;
    rd_kafka_t *producer;
    rd_kafka_topic_t *rkt[LLMOPT_PROC_OUT_COUNT + 1]; /* outputs, then the dlq */
    llmopt_avro_codec *avro;
    llmopt_wbuf enc;
    llmopt_json_buf jbuf;
    uint64_t encode_errors, produce_errors;
    bool json_progress;
    bool progress;
} out_ctx;

static void produce(out_ctx *c, rd_kafka_topic_t *rkt, const void *key, size_t key_len,
                    const void *val, size_t val_len, rd_kafka_headers_t *hdrs) {
    for (;;) {
        rd_kafka_resp_err_t err;
        if (hdrs)
            err = rd_kafka_producev(c->producer, RD_KAFKA_V_RKT(rkt),
                                    RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_KEY(key, key_len),
                                    RD_KAFKA_V_VALUE((void *)val, val_len),
                                    RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        else
            err = rd_kafka_producev(c->producer, RD_KAFKA_V_RKT(rkt),
                                    RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_KEY(key, key_len),
                                    RD_KAFKA_V_VALUE((void *)val, val_len), RD_KAFKA_V_END);
        if (!err)
            return;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(c->producer, 10);
            continue;
        }
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        c->produce_errors++;
        fprintf(stderr, "llmopt replay: produce to '%s' failed: %s\n", rd_kafka_topic_name(rkt),
                rd_kafka_err2str(err));
        return;
    }
}

static void emit(out_ctx *c, int out, llmopt_str route, const void *rec) {
    char err[512];
    const void *val;
    size_t len;
    llmopt_err_t e;
    if (c->pc->format_out[out] == LLMOPT_PROC_JSON) {
        e = llmopt_json_encode(out_types[out], rec, &c->jbuf, err, sizeof(err));
        val = c->jbuf.data;
        len = c->jbuf.len;
    } else {
        c->enc.len = 0;
        e = llmopt_avro_encode(c->avro, out_types[out], rec, &c->enc, err, sizeof(err));
        val = c->enc.data;
        len = c->enc.len;
    }
    if (e) {
        c->encode_errors++;
        fprintf(stderr, "llmopt replay: cannot encode a '%s' record: %s\n",
                llmopt_record_type_name(out_types[out]), err);
        return;
    }
    produce(c, c->rkt[out], route.ptr, route.len, val, len, NULL);
}

static void sink_outcome(void *ctx, const llmopt_outcome *o) {
    emit(ctx, LLMOPT_PROC_OUT_OUTCOMES, o->route, o);
}

static void sink_metrics(void *ctx, const llmopt_window_metrics *m) {
    emit(ctx, LLMOPT_PROC_OUT_METRICS, m->route, m);
}

static void sink_signal(void *ctx, const llmopt_signal *s) {
    emit(ctx, LLMOPT_PROC_OUT_SIGNALS, s->route, s);
}

static void sink_dlq(void *ctx, const rd_kafka_message_t *m, const char *topic,
                     llmopt_dlq_reason reason, const char *detail) {
    out_ctx *c = ctx;
    produce(c, c->rkt[LLMOPT_PROC_OUT_COUNT], m->key, m->key_len, m->payload, m->len,
            llmopt_pmerge_dlq_headers(reason, detail, topic, m->partition, m->offset));
}

static void sink_progress(void *ctx, const llmopt_replay_progress *p) {
    out_ctx *c = ctx;
    rd_kafka_poll(c->producer, 0);
    if (!c->progress)
        return;
    char et[40];
    llmopt_replay_format_time(p->event_time_ms, et, sizeof(et));
    double pct = p->total ? 100.0 * (double)p->events / (double)p->total : 100.0;
    if (p->done || pct > 100.0)
        pct = p->done ? 100.0 : 99.9;
    double rate = p->elapsed_s > 0 ? p->events / p->elapsed_s : 0;
    if (c->json_progress)
        fprintf(stderr,
                "{\"progress\":{\"events\":%" PRIu64 ",\"total\":%" PRIu64 ",\"percent\":%.1f,"
                "\"events_per_s\":%.0f,\"event_time\":\"%s\",\"partition\":%d,"
                "\"partitions\":%d,\"done\":%s}}\n",
                p->events, p->total, pct, rate, et, p->partition, p->npartitions,
                p->done ? "true" : "false");
    else
        fprintf(stderr,
                "replay: %5.1f%%  %" PRIu64 "/%" PRIu64 " events  %.0f ev/s  event time %s  "
                "partition %d/%d%s\n",
                pct, p->events, p->total, rate, et, p->partition + 1, p->npartitions,
                p->done ? "  done" : "");
}

/* ---- topics ---- */

/* Creates name if missing; fails when it already holds records (a replay
 * never mixes its output with another's). */
static int fresh_topic(rd_kafka_t *rk, const char *name, int partitions) {
    char err[512];
    if (llmopt_kafka_topic_create(rk, name, partitions, -1, NULL, true, 30000, err,
                                  sizeof(err))) {
        fprintf(stderr, "llmopt replay: cannot create '%s': %s\n", name, err);
        return -1;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    int n = 0;
    if (!rd_kafka_metadata(rk, 0, rkt, &md, 10000) && md->topic_cnt == 1)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    int64_t held = 0;
    for (int p = 0; p < n; p++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk, name, p, &lo, &hi, 10000) == 0)
            held += hi - lo;
    }
    if (held > 0) {
        fprintf(stderr,
                "llmopt replay: output topic '%s' already holds %" PRId64 " records (an earlier "
                "replay?): choose another --run-id or --prefix, or delete the topic\n",
                name, held);
        return -1;
    }
    return 0;
}

/* ---- main ---- */

static void usage_flags(FILE *f) {
    fprintf(f, "usage: llmopt replay --from T --to T [--run-id ID] [--prefix P] "
               "[--format text|json] [--no-flush] [--quiet] [--timeout SECONDS] "
               "[-X key=value ...]\n"
               "  T: epoch milliseconds or RFC 3339 (2026-11-29T03:00:00Z); the range is\n"
               "     [from, to) of the input records' Kafka timestamps\n"
               "  outputs: <prefix>.<processor.topic.outcomes|metrics|signals|dlq>, created\n"
               "     if missing, refused if not empty; prefix default replay.<run id>,\n"
               "     run id default <from>-<to>-<config hash>\n"
               "  processor.* keys (topics, formats, windows, ...) as for llmopt-processor\n"
               "  exit status: 0 done, 1 failure, 2 usage, 3 no data in the range\n");
}

int llmopt_cmd_replay(int argc, char **argv) {
    const char *from_s = NULL, *to_s = NULL, *run_id = NULL, *prefix = NULL, *format = "text";
    bool flush = true, quiet = false;
    double timeout_s = 0;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0, rc = 1;
    llmopt_processor_conf conf;
    memset(&conf, 0, sizeof(conf));
    llmopt_cli cli = {0};
    bool cli_ok = false;
    out_ctx oc;
    memset(&oc, 0, sizeof(oc));
    llmopt_wbuf_init(&oc.enc);
    llmopt_json_buf_init(&oc.jbuf);
    llmopt_replay_span *spans = NULL;
    char *names[LLMOPT_PROC_OUT_COUNT + 1] = {0};
    char idbuf[128], pfxbuf[256];
    if (!rest) {
        fprintf(stderr, "llmopt replay: out of memory\n");
        return 1;
    }
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (!strcmp(a, "--from"))
            dst = &from_s;
        else if (!strcmp(a, "--to"))
            dst = &to_s;
        else if (!strcmp(a, "--run-id"))
            dst = &run_id;
        else if (!strcmp(a, "--prefix"))
            dst = &prefix;
        else if (!strcmp(a, "--format"))
            dst = &format;
        if (dst) {
            if (i + 1 >= argc) {
                fprintf(stderr, "llmopt replay: '%s' needs a value\n", a);
                rc = 2;
                goto out;
            }
            *dst = argv[++i];
        } else if (!strcmp(a, "--no-flush")) {
            flush = false;
        } else if (!strcmp(a, "--quiet")) {
            quiet = true;
        } else if (!strcmp(a, "--timeout")) {
            char *e = NULL;
            if (i + 1 >= argc || (timeout_s = strtod(argv[++i], &e)) <= 0 || *e) {
                fprintf(stderr, "llmopt replay: '--timeout' needs a positive number of seconds\n");
                rc = 2;
                goto out;
            }
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage_flags(stdout);
            rest[nrest++] = argv[i];
        } else {
            rest[nrest++] = argv[i];
        }
    }
    const llmopt_config_binding b[] = {
        {&llmopt_common_table, offsetof(llmopt_processor_conf, common)},
        {&llmopt_processor_table, 0},
    };
    const llmopt_cli_spec spec = {
        .prog = "llmopt replay",
        .summary = "replay a time range of the input topics through the processor "
                   "(--from T --to T [--run-id ID] [--prefix P] [--format text|json])",
        .bindings = b, .n_bindings = 2};
    if (llmopt_cli_parse(&cli, &spec, nrest, rest, &conf, sizeof(conf)) != LLMOPT_CLI_RUN) {
        rc = cli.exit_code;
        goto out;
    }
    cli_ok = true;
    if (cli.n_args) {
        fprintf(stderr, "llmopt replay: unexpected argument '%s'\n", cli.args[0]);
        rc = 2;
        goto out;
    }
    int64_t from_ms = 0, to_ms = 0;
    if (!from_s || !to_s) {
        fprintf(stderr, "llmopt replay: give the range with --from T --to T\n");
        usage_flags(stderr);
        rc = 2;
        goto out;
    }
    const char *const flag[2] = {"--from", "--to"}, *const val[2] = {from_s, to_s};
    int64_t *const dst[2] = {&from_ms, &to_ms};
    for (int i = 0; i < 2; i++)
        if (llmopt_replay_parse_time(val[i], dst[i])) {
            fprintf(stderr,
                    "llmopt replay: invalid %s '%s' (epoch ms or RFC 3339, e.g. "
                    "2026-11-29T03:00:00Z)\n",
                    flag[i], val[i]);
            rc = 2;
            goto out;
        }
    if (from_ms >= to_ms) {
        fprintf(stderr, "llmopt replay: invalid range: --from '%s' is not before --to '%s'\n",
                from_s, to_s);
        rc = 2;
        goto out;
    }
    bool json = !strcmp(format, "json");
    if (!json && strcmp(format, "text")) {
        fprintf(stderr, "llmopt replay: unknown --format '%s' (text or json)\n", format);
        rc = 2;
        goto out;
    }
    conf.event_time_only = true; /* only event time moves the watermark */
    if (!run_id) {
        snprintf(idbuf, sizeof(idbuf), "%" PRId64 "-%" PRId64 "-%08" PRIx64, from_ms, to_ms,
                 config_hash(cli.config) >> 32);
        run_id = idbuf;
    }
    if (!prefix) {
        snprintf(pfxbuf, sizeof(pfxbuf), "replay.%s", run_id);
        prefix = pfxbuf;
    }

    char err[1024] = "";
    llmopt_replay_opts ro = {.pc = &conf, .cfg = cli.config, .from_ms = from_ms, .to_ms = to_ms,
                             .flush = flush, .progress_interval_ms = 1000,
                             .timeout_ms = (int64_t)(timeout_s * 1000), .stop = &stop_flag};
    int32_t nparts = 0;
    if (llmopt_replay_plan(&ro, &nparts, &spans, err, sizeof(err))) {
        fprintf(stderr, "llmopt replay: %s\n", err);
        goto out;
    }
    uint64_t total = 0;
    for (int32_t i = 0; i < nparts * LLMOPT_PROC_IN_COUNT; i++)
        total += (uint64_t)(spans[i].end - spans[i].start);
    if (!total) {
        char a[40], z[40];
        llmopt_replay_format_time(from_ms, a, sizeof(a));
        llmopt_replay_format_time(to_ms, z, sizeof(z));
        fprintf(stderr, "llmopt replay: no data in the range [%s, %s) of '%s', '%s', '%s'\n", a,
                z, conf.topic_in[0], conf.topic_in[1], conf.topic_in[2]);
        if (json)
            printf("{\"run_id\":\"%s\",\"from_ms\":%" PRId64 ",\"to_ms\":%" PRId64
                   ",\"no_data\":true}\n",
                   run_id, from_ms, to_ms);
        rc = EXIT_NO_DATA;
        goto out;
    }

    /* outputs */
    oc.pc = &conf;
    oc.progress = !quiet;
    oc.json_progress = json;
    if (!(oc.avro = llmopt_avro_codec_new(llmopt_avro_builtin_source(), err, sizeof(err)))) {
        fprintf(stderr, "llmopt replay: %s\n", err);
        goto out;
    }
    llmopt_kafka_dr_stats_t dr;
    llmopt_kafka_dr_stats_init(&dr);
    rd_kafka_conf_t *kc = llmopt_config_kafka_conf(cli.config, err, sizeof(err));
    llmopt_kafka_producer_opts_t po = {.kind = LLMOPT_KAFKA_PRODUCER_IDEMPOTENT,
                                       .dr_stats = &dr,
                                       .user = llmopt_kafka_user_keys_from_config(cli.config)};
    /* larger batches: less CPU here and on the broker sharing the machine
     * (sys time fell by about a third in a 327k-record replay) */
    if (kc && llmopt_kafka_conf_default(kc, &po.user, "linger.ms", "100", err, sizeof(err))) {
        rd_kafka_conf_destroy(kc);
        kc = NULL;
    }
    if (!kc || llmopt_kafka_producer_new(&oc.producer, kc, &po, err, sizeof(err))) {
        fprintf(stderr, "llmopt replay: producer: %s\n", err);
        goto out;
    }
    for (int o = 0; o <= LLMOPT_PROC_OUT_COUNT; o++) {
        const char *base = o < LLMOPT_PROC_OUT_COUNT ? conf.topic_out[o] : conf.topic_dlq;
        if (asprintf(&names[o], "%s.%s", prefix, base) < 0) {
            names[o] = NULL;
            fprintf(stderr, "llmopt replay: out of memory\n");
            goto out;
        }
        if (fresh_topic(oc.producer, names[o], nparts))
            goto out;
        oc.rkt[o] = rd_kafka_topic_new(oc.producer, names[o], NULL);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    llmopt_replay_sink sink = {.outcome = sink_outcome, .metrics = sink_metrics,
                               .signal = sink_signal, .dlq = sink_dlq,
                               .progress = sink_progress, .ctx = &oc};
    llmopt_replay_stats st;
    llmopt_err_t e = llmopt_replay_run(&ro, &sink, &st, err, sizeof(err));
    char ferr[512] = "";
    llmopt_err_t fe = llmopt_kafka_producer_flush(oc.producer, 60000, &dr, ferr, sizeof(ferr));
    if (e) {
        fprintf(stderr, "llmopt replay: %s\n", err);
        goto out;
    }
    if (fe || oc.produce_errors || oc.encode_errors) {
        fprintf(stderr,
                "llmopt replay: outputs incomplete: %s (%" PRIu64 " produce errors, %" PRIu64
                " encode errors)\n",
                fe ? ferr : "", oc.produce_errors, oc.encode_errors);
        goto out;
    }
    if (!st.events) { /* offsets in range, but only transaction markers */
        fprintf(stderr, "llmopt replay: no data in the range: its %" PRIu64
                " offsets hold no records (transaction markers only)\n", st.total);
        rc = EXIT_NO_DATA;
        goto out;
    }
    uint64_t ndlq = 0;
    for (int d = 0; d < LLMOPT_DLQ_COUNT; d++)
        ndlq += st.dlq[d];
    double rate = st.elapsed_s > 0 ? st.events / st.elapsed_s : 0;
    double cpu_rate = st.cpu_s > 0 ? st.events / st.cpu_s : 0;
    char a[40], z[40];
    llmopt_replay_format_time(st.first_event_ms, a, sizeof(a));
    llmopt_replay_format_time(st.last_event_ms, z, sizeof(z));
    if (json) {
        json_t *j = json_object();
        json_object_set_new(j, "run_id", json_string(run_id));
        json_object_set_new(j, "prefix", json_string(prefix));
        json_object_set_new(j, "from_ms", json_integer(from_ms));
        json_object_set_new(j, "to_ms", json_integer(to_ms));
        json_object_set_new(j, "flush", json_boolean(flush));
        json_t *topics = json_object();
        static const char *const on[] = {"outcomes", "metrics", "signals", "dlq"};
        for (int o = 0; o <= LLMOPT_PROC_OUT_COUNT; o++)
            json_object_set_new(topics, on[o], json_string(names[o]));
        json_object_set_new(j, "topics", topics);
        json_object_set_new(j, "partitions", json_integer(st.partitions));
        json_object_set_new(j, "events", json_integer((json_int_t)st.events));
        json_t *in = json_object();
        for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
            json_object_set_new(in, conf.topic_in[t], json_integer((json_int_t)st.in[t]));
        json_object_set_new(j, "events_by_topic", in);
        json_object_set_new(j, "outcomes", json_integer((json_int_t)st.outcomes));
        json_object_set_new(j, "metrics", json_integer((json_int_t)st.metrics));
        json_object_set_new(j, "signals", json_integer((json_int_t)st.signals));
        json_t *dl = json_object();
        for (int d = 0; d < LLMOPT_DLQ_COUNT; d++)
            if (st.dlq[d])
                json_object_set_new(dl, llmopt_dlq_reason_name(d),
                                    json_integer((json_int_t)st.dlq[d]));
        json_object_set_new(j, "dlq", dl);
        json_object_set_new(j, "first_event_ms",
                            st.first_event_ms == INT64_MIN ? json_null()
                                                           : json_integer(st.first_event_ms));
        json_object_set_new(j, "last_event_ms",
                            st.last_event_ms == INT64_MIN ? json_null()
                                                          : json_integer(st.last_event_ms));
        json_object_set_new(j, "seconds", json_real(st.elapsed_s));
        json_object_set_new(j, "cpu_seconds", json_real(st.cpu_s));
        json_object_set_new(j, "events_per_s", json_real(rate));
        json_object_set_new(j, "events_per_cpu_s", json_real(cpu_rate));
        char *s = json_dumps(j, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(j);
    } else {
        printf("replay %s: %" PRIu64 " events from %d partitions (event time %s .. %s)\n", run_id,
               st.events, st.partitions, a, z);
        printf("  outcomes %" PRIu64 " -> %s\n  metrics  %" PRIu64 " -> %s\n  signals  %" PRIu64
               " -> %s\n  dlq      %" PRIu64 " -> %s\n",
               st.outcomes, names[0], st.metrics, names[1], st.signals, names[2], ndlq, names[3]);
        printf("  %.2f s, %.0f events/s (%.2f CPU s, %.0f events per CPU second)%s\n",
               st.elapsed_s, rate, st.cpu_s, cpu_rate, flush ? "" : ", not flushed");
    }
    rc = 0;
out:
    for (int o = 0; o <= LLMOPT_PROC_OUT_COUNT; o++) {
        if (oc.rkt[o])
            rd_kafka_topic_destroy(oc.rkt[o]);
        free(names[o]);
    }
    if (oc.producer)
        rd_kafka_destroy(oc.producer);
    llmopt_avro_codec_destroy(oc.avro);
    llmopt_wbuf_release(&oc.enc);
    llmopt_json_buf_release(&oc.jbuf);
    free(spans);
    if (cli_ok)
        llmopt_cli_release(&cli);
    free(rest);
    return rc;
}
