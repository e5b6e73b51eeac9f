/*
 * traffic.c - `llmopt traffic`: synthetic gateway telemetry for demos and
 * load, with a scheduled fault.
 *
 * Every route has the same arms. Arm i has a profile (lognormal latency,
 * time to first token, error rate, quality, tokens, price). Requests arrive
 * evenly at traffic.rate per second of event time and pick an arm
 * uniformly (propensity 1/K, decision_version 0: no controller in the loop
 * here). Each response is emitted when event time reaches its own ts_ms
 * (request ts + latency), as a gateway would, so the topics interleave
 * realistically. At traffic.fault.at the second arm's latency is multiplied
 * and the third arm's error rate jumps.
 *
 * Event time is paced against the wall clock by traffic.speed; with speed 0
 * it runs as fast as the producer goes. The same seed gives the same
 * records (ids included).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "common/avro_codec.h"
#include "common/cli.h"
#include "common/json_codec.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/records.h"
#include "common/signals.h"
#include "common/xoshiro.h"
#include "tools/commands.h"
#include "tools/traffic_conf.h"

static const llmopt_logger lg = LLMOPT_LOGGER("traffic");

typedef struct profile {
    double latency_median_ms, latency_sigma;
    double error_rate, quality_mean;
    double cost_per_1k_in, cost_per_1k_out;
    const char *provider, *model;
} profile;

/* Arm profiles by position; arms beyond the table reuse it cyclically. */
static const profile profiles[] = {
    {400, 0.30, 0.010, 0.70, 0.0005, 0.0015, "openai", "gpt-4o-mini"},
    {800, 0.35, 0.010, 0.82, 0.0025, 0.0100, "anthropic", "claude-sonnet"},
    {1500, 0.40, 0.005, 0.90, 0.0050, 0.0150, "openai", "gpt-4o"},
};

/* xoshiro256** seeded by splitmix64: reproducible across platforms. */
typedef struct rng {
    uint64_t s[4];
} rng;

static void rng_seed(rng *r, uint64_t seed) { llmopt_xoshiro_seed(r->s, seed); }

static uint64_t rng_next(rng *r) { return llmopt_xoshiro_next(r->s); }

static double unif(rng *r) {
    return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(rng *r) {
    return sqrt(-2 * log(unif(r))) * cos(2 * M_PI * unif(r));
}

/* A pending response, ordered by ts in a binary heap. */
typedef struct pend {
    int64_t ts_ms;
    uint64_t seq;
    llmopt_response r;
    char id[40], route[32], arm[64];
} pend;

typedef struct heap {
    pend **v;
    size_t n, cap;
} heap;

static int older(const pend *a, const pend *b) {
    return a->ts_ms < b->ts_ms || (a->ts_ms == b->ts_ms && a->seq < b->seq);
}

static int heap_push(heap *h, pend *p) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 1024;
        pend **nv = realloc(h->v, nc * sizeof(*nv));
        if (!nv)
            return 0;
        h->v = nv;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0 && older(p, h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = p;
    return 1;
}

static pend *heap_pop(heap *h) {
    pend *top = h->v[0], *last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const pend *best = last;
        if (l < h->n && older(h->v[l], best)) {
            m = l;
            best = h->v[l];
        }
        if (l + 1 < h->n && older(h->v[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

typedef struct out {
    rd_kafka_t *rk;
    llmopt_avro_codec *avro;
    int json;
    llmopt_wbuf buf;
    llmopt_json_buf jbuf;
    uint64_t produced, failed;
} out;

static int produce(out *o, const char *topic, llmopt_record_type type, const void *rec,
                   const char *key) {
    char err[256];
    const void *data;
    size_t len;
    if (o->json) {
        if (llmopt_json_encode(type, rec, &o->jbuf, err, sizeof(err))) {
            llmopt_log_error(&lg, "encode: %s", err);
            return 0;
        }
        data = o->jbuf.data;
        len = o->jbuf.len;
    } else {
        o->buf.len = 0;
        if (llmopt_avro_encode(o->avro, type, rec, &o->buf, err, sizeof(err))) {
            llmopt_log_error(&lg, "encode: %s", err);
            return 0;
        }
        data = o->buf.data;
        len = o->buf.len;
    }
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            o->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)data, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            llmopt_log_error(&lg, "produce to '%s': %s", topic, rd_kafka_err2str(e));
            o->failed++;
            return 0;
        }
        rd_kafka_poll(o->rk, 50);
    }
    o->produced++;
    rd_kafka_poll(o->rk, 0);
    return 1;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until event time ts is due on the wall clock. */
static void pace(const llmopt_traffic_conf *c, double wall0, int64_t start, int64_t ts) {
    if (c->speed <= 0)
        return;
    double due = wall0 + (double)(ts - start) / 1000.0 / c->speed;
    double now = mono_s();
    if (due > now + 0.001)
        usleep((useconds_t)((due - now) * 1e6));
}

int llmopt_cmd_traffic(int argc, char **argv) {
    llmopt_traffic_conf conf;
    memset(&conf, 0, sizeof(conf));
    const llmopt_config_binding b[] = {
        {&llmopt_common_table, offsetof(llmopt_traffic_conf, common)},
        {&llmopt_traffic_config_table, 0},
    };
    const llmopt_cli_spec spec = {.prog = "llmopt traffic",
                                  .summary = "produce synthetic gateway telemetry with a scheduled fault",
                                  .bindings = b, .n_bindings = 2};
    llmopt_cli cli;
    if (llmopt_cli_parse(&cli, &spec, argc, argv, &conf, sizeof(conf)) != LLMOPT_CLI_RUN)
        return cli.exit_code;
    int rc = 1;
    char err[512];
    out o;
    memset(&o, 0, sizeof(o));
    llmopt_wbuf_init(&o.buf);
    llmopt_json_buf_init(&o.jbuf);
    o.json = conf.format == 1;
    heap h = {0};
    char t_req[256], t_resp[256];
    snprintf(t_req, sizeof(t_req), "%sllm.requests", conf.topic_prefix ? conf.topic_prefix : "");
    snprintf(t_resp, sizeof(t_resp), "%sllm.responses", conf.topic_prefix ? conf.topic_prefix : "");
    char *arms[64];
    int narms = 0;
    char *armlist = strdup(conf.arms ? conf.arms : "");
    for (char *save = NULL, *t = strtok_r(armlist, ",", &save); t && narms < 64;
         t = strtok_r(NULL, ",", &save))
        if (*t)
            arms[narms++] = t;
    if (narms == 0) {
        fprintf(stderr, "llmopt traffic: 'traffic.arms' names no arm\n");
        goto out;
    }
    rd_kafka_conf_t *kc = llmopt_config_kafka_conf(cli.config, err, sizeof(err));
    if (!kc) {
        fprintf(stderr, "llmopt traffic: %s\n", err);
        goto out;
    }
    llmopt_kafka_producer_opts_t po = {.kind = LLMOPT_KAFKA_PRODUCER_IDEMPOTENT,
                                       .user = llmopt_kafka_user_keys_from_config(cli.config)};
    if (llmopt_kafka_producer_new(&o.rk, kc, &po, err, sizeof(err))) {
        fprintf(stderr, "llmopt traffic: %s\n", err);
        goto out;
    }
    if (!o.json && !(o.avro = llmopt_avro_codec_new(llmopt_avro_builtin_source(), err, sizeof(err)))) {
        fprintf(stderr, "llmopt traffic: %s\n", err);
        goto out;
    }
    llmopt_signals_install();
    rng r;
    rng_seed(&r, (uint64_t)conf.seed);
    int64_t start = conf.start_ms ? conf.start_ms : now_ms();
    int64_t end = start + conf.duration_ms;
    double step_ms = 1000.0 / conf.rate;
    double wall0 = mono_s();
    uint64_t seq = 0, nreq = 0;
    llmopt_log_info(&lg, "producing %s telemetry: %lld routes x %d arms, %.0f req/s, %lld s of event "
                         "time at speed %g, fault at +%lld s",
                    o.json ? "JSON" : "Avro", (long long)conf.routes, narms, conf.rate,
                    (long long)(conf.duration_ms / 1000), conf.speed, (long long)(conf.fault_at_ms / 1000));
    for (double t = (double)start; t < (double)end && !llmopt_signals_stop_requested(); t += step_ms) {
        int64_t ts = (int64_t)t;
        /* responses that are due by now go first */
        while (h.n && h.v[0]->ts_ms <= ts) {
            pend *p = heap_pop(&h);
            pace(&conf, wall0, start, p->ts_ms);
            produce(&o, t_resp, LLMOPT_REC_RESPONSE, &p->r, p->route);
            free(p);
        }
        pace(&conf, wall0, start, ts);
        int route = (int)(rng_next(&r) % (uint64_t)conf.routes);
        int ai = (int)(rng_next(&r) % (uint64_t)narms);
        const profile *pf = &profiles[ai % 3];
        int faulted = conf.fault_at_ms >= 0 && ts >= start + conf.fault_at_ms;
        pend *p = calloc(1, sizeof(*p));
        if (!p)
            goto out;
        snprintf(p->id, sizeof(p->id), "req-%llu-%llu", (unsigned long long)conf.seed,
                 (unsigned long long)nreq++);
        snprintf(p->route, sizeof(p->route), "route-%d", route);
        snprintf(p->arm, sizeof(p->arm), "%s", arms[ai]);
        llmopt_request q;
        llmopt_request_init(&q);
        q.request_id = llmopt_str_of(p->id);
        q.ts_ms = ts;
        q.gateway = llmopt_str_of("gw-sim");
        q.route = llmopt_str_of(p->route);
        q.task_type = llmopt_str_of("chat");
        q.arm = llmopt_str_of(p->arm);
        q.provider = llmopt_str_of(pf->provider);
        q.model = llmopt_str_of(pf->model);
        q.decision_version = 0;
        q.propensity = 1.0 / narms;
        int64_t in_tok = 200 + (int64_t)(rng_next(&r) % 800);
        q.input_tokens_est = in_tok;
        produce(&o, t_req, LLMOPT_REC_REQUEST, &q, p->route);

        double lat = pf->latency_median_ms * exp(pf->latency_sigma * normal(&r));
        if (faulted && ai == 1)
            lat *= conf.fault_latency_factor;
        double err_rate = faulted && ai == 2 ? conf.fault_error_rate : pf->error_rate;
        int failed = unif(&r) < err_rate;
        int64_t out_tok = failed ? 0 : 50 + (int64_t)(rng_next(&r) % 400);
        llmopt_response *s = &p->r;
        llmopt_response_init(s);
        s->request_id = llmopt_str_of(p->id);
        s->route = llmopt_str_of(p->route);
        s->arm = llmopt_str_of(p->arm);
        s->provider = llmopt_str_of(pf->provider);
        s->status = failed ? LLMOPT_STATUS_ERROR : LLMOPT_STATUS_OK;
        s->has_http_status = true;
        s->http_status = failed ? 500 : 200;
        if (failed)
            s->error_type = llmopt_str_of("server_error");
        s->latency_ms = failed ? lat * 0.3 : lat;
        s->has_ttft_ms = !failed;
        s->ttft_ms = lat * 0.25;
        s->input_tokens = in_tok;
        s->output_tokens = out_tok;
        s->cost_usd = failed ? 0 : (double)in_tok / 1000 * pf->cost_per_1k_in +
                                       (double)out_tok / 1000 * pf->cost_per_1k_out;
        s->has_quality = !failed;
        double qv = pf->quality_mean + 0.08 * normal(&r);
        s->quality = qv < 0 ? 0 : qv > 1 ? 1 : qv;
        s->ts_ms = ts + (int64_t)s->latency_ms;
        p->ts_ms = s->ts_ms;
        p->seq = seq++;
        if (!heap_push(&h, p)) {
            free(p);
            goto out;
        }
        if (nreq % 5000 == 0)
            llmopt_log_info(&lg, "%llu requests, event time +%lld s", (unsigned long long)nreq,
                            (long long)((ts - start) / 1000));
    }
    while (h.n) {
        pend *p = heap_pop(&h);
        produce(&o, t_resp, LLMOPT_REC_RESPONSE, &p->r, p->route);
        free(p);
    }
    if (llmopt_kafka_producer_flush(o.rk, 30000, NULL, err, sizeof(err))) {
        llmopt_log_error(&lg, "flush: %s", err);
        goto out;
    }
    llmopt_log_info(&lg, "done: %llu requests, %llu messages produced, %llu failed",
                    (unsigned long long)nreq, (unsigned long long)o.produced,
                    (unsigned long long)o.failed);
    rc = o.failed ? 1 : 0;
out:
    while (h.n)
        free(heap_pop(&h));
    free(h.v);
    free(armlist);
    llmopt_kafka_producer_close(o.rk, 10000, NULL, 0);
    llmopt_avro_codec_destroy(o.avro);
    llmopt_wbuf_release(&o.buf);
    llmopt_json_buf_release(&o.jbuf);
    llmopt_cli_release(&cli);
    return rc;
}
