/*
 * bench_backtest.c - how fast `llmopt backtest` evaluates.
 *
 *   bench_backtest eval [N] [replicates]
 *       N synthetic outcomes (default 10M; 3 routes, 3 arms, logged with
 *       propensities 0.5/0.3/0.2, Bernoulli rewards) built in memory, then
 *       timed: (1) the bare estimator pass, controller/core/ope.c, one fixed
 *       candidate; (2) llmopt_bt_evaluate() with the integration test's four
 *       candidates (two fixed, Thompson and epsilon-greedy replays), i.e.
 *       the whole backtest after decoding. Wall and CPU seconds.
 *   bench_backtest produce TOPIC N [bootstrap]
 *       produces N Avro outcomes of the same kind to TOPIC (broker
 *       timestamps = event times) for timing `llmopt backtest` end to end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "common/avro_codec.h"
#include "common/records.h"
#include "controller/core/ope.h"
#include "controller/core/rng.h"
#include "tools/backtest_eval.h"
#include "tools/backtest_policy.h"

static const char *const ARMS[3] = {"fast", "balanced", "strong"};
static const char *const ROUTES[3] = {"route-0", "route-1", "route-2"};
static const double MU[3] = {0.5, 0.3, 0.2}, MEAN[3] = {0.3, 0.5, 0.8};
/* event times: the day before now (a fixed date in the past would be
 * removed by the broker's retention before it is read) */
static int64_t t0_ms;

static double wall_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double cpu_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* event i: route, arm, reward, ts (one day of traffic) */
static void synth(llmopt_rng *g, long i, long n, int *route, int *arm, double *reward, int64_t *ts) {
    double u = llmopt_rng_uniform(g);
    *arm = u < 0.5 ? 0 : u < 0.8 ? 1 : 2;
    *route = (int)(i % 3);
    *reward = llmopt_rng_uniform(g) < MEAN[*arm] ? 1.0 : 0.0;
    *ts = t0_ms + (int64_t)((double)i / (double)n * 86400000.0);
}

static const char *POLICY =
    "{\"candidates\":["
    "{\"name\":\"all-strong\",\"weights\":{\"*\":{\"strong\":1}}},"
    "{\"name\":\"mix\",\"weights\":{\"*\":{\"fast\":0.2,\"balanced\":0.3,\"strong\":0.5}}},"
    "{\"name\":\"ts\",\"bandit\":{\"algorithm\":\"thompson\",\"draws\":1000,\"refresh\":\"60s\"}},"
    "{\"name\":\"eg\",\"bandit\":{\"algorithm\":\"egreedy\",\"eps\":0.1,\"refresh\":\"60s\"}}]}";

static int bench_eval(long n, uint32_t B) {
    llmopt_rng g;
    llmopt_rng_seed(&g, 42);
    /* (1) bare estimator: one ope per route, one fixed candidate */
    llmopt_ope *o[3];
    for (int r = 0; r < 3; r++) {
        llmopt_ope_config c;
        llmopt_ope_config_default(&c, 3, 1);
        c.replicates = B;
        c.seed = (uint64_t)r + 1;
        if (llmopt_ope_new(&c, &o[r], NULL, 0) != LLMOPT_OK)
            return 1;
    }
    int *arm = malloc((size_t)n * sizeof(int)), *rt = malloc((size_t)n * sizeof(int));
    double *rew = malloc((size_t)n * sizeof(double));
    int64_t *ts = malloc((size_t)n * sizeof(int64_t));
    if (!arm || !rt || !rew || !ts)
        return 1;
    for (long i = 0; i < n; i++)
        synth(&g, i, n, &rt[i], &arm[i], &rew[i], &ts[i]);
    const double pi[3] = {0.2, 0.3, 0.5};
    double w0 = wall_s(), c0 = cpu_s();
    for (long i = 0; i < n; i++) {
        llmopt_ope_event ev = {.arm = (uint32_t)arm[i], .propensity = MU[arm[i]], .reward = rew[i],
                               .stratum = 1, .pi = pi};
        llmopt_ope_observe(o[rt[i]], &ev, NULL, 0);
    }
    llmopt_ope_result res;
    llmopt_ope_result_get(o[0], 0, &res);
    double w1 = wall_s(), c1 = cpu_s();
    printf("ope pass, 1 fixed candidate, %u replicates: %ld outcomes in %.2f s wall (%.2f s cpu), "
           "%.2f M outcomes/s; route-0 DR %.4f [%.4f, %.4f]\n",
           B, n, w1 - w0, c1 - c0, (double)n / (w1 - w0) / 1e6, res.dr.value, res.dr.lo, res.dr.hi);
    for (int r = 0; r < 3; r++)
        llmopt_ope_destroy(o[r]);

    /* (2) the whole evaluation over the pre-decoded log */
    llmopt_bt_log log;
    llmopt_bt_log_init(&log, NULL, 0);
    for (long i = 0; i < n; i++)
        if (llmopt_bt_log_add_raw(&log, ROUTES[rt[i]], ARMS[arm[i]], ts[i], 1 + ts[i] / 60000,
                                  MU[arm[i]], rew[i], (uint64_t)i, 0, NULL) != LLMOPT_OK)
            return 1;
    llmopt_bt_log_finish(&log);
    free(arm);
    free(rt);
    free(rew);
    free(ts);
    llmopt_bt_policy_set ps;
    char err[512];
    if (llmopt_bt_policy_parse(POLICY, strlen(POLICY), "bench", &ps, err, sizeof(err)) != LLMOPT_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    llmopt_bt_options opt = {.replicates = B, .seed = 1, .level = 0.95, .bins = 24};
    w0 = wall_s(), c0 = cpu_s();
    json_t *rep = llmopt_bt_evaluate(&log, &ps, &opt, err, sizeof(err));
    w1 = wall_s(), c1 = cpu_s();
    if (!rep) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    json_t *p0 = json_array_get(json_object_get(json_array_get(json_object_get(rep, "routes"), 0),
                                                "policies"), 0);
    printf("llmopt_bt_evaluate, 4 candidates (2 fixed, thompson, egreedy), %u replicates: %ld "
           "outcomes in %.2f s wall (%.2f s cpu), %.2f M outcomes/s; route-0 all-strong DR %.4f\n",
           B, n, w1 - w0, c1 - c0, (double)n / (w1 - w0) / 1e6,
           json_real_value(json_object_get(json_object_get(p0, "dr"), "value")));
    json_decref(rep);
    llmopt_bt_policy_release(&ps);
    llmopt_bt_log_release(&log);
    return 0;
}

static int bench_produce(const char *topic, long n, const char *bootstrap) {
    char err[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (rd_kafka_conf_set(kc, "bootstrap.servers", bootstrap, err, sizeof(err)) ||
        rd_kafka_conf_set(kc, "linger.ms", "50", err, sizeof(err)) ||
        rd_kafka_conf_set(kc, "batch.size", "1000000", err, sizeof(err)) ||
        rd_kafka_conf_set(kc, "compression.type", "lz4", err, sizeof(err)) ||
        rd_kafka_conf_set(kc, "queue.buffering.max.messages", "1000000", err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    llmopt_avro_codec *avro = llmopt_avro_codec_new(llmopt_avro_builtin_source(), err, sizeof(err));
    if (!avro)
        return 1;
    llmopt_rng g;
    llmopt_rng_seed(&g, 42);
    llmopt_wbuf wb;
    memset(&wb, 0, sizeof(wb));
    llmopt_outcome o;
    llmopt_outcome_init(&o);
    char oid[32];
    double w0 = wall_s();
    for (long i = 0; i < n; i++) {
        int route, arm;
        double r;
        int64_t ts;
        synth(&g, i, n, &route, &arm, &r, &ts);
        snprintf(oid, sizeof(oid), "o-%ld", i);
        o.outcome_id = llmopt_str_of(oid);
        o.request_id = llmopt_str_of(oid);
        o.route = llmopt_str_of(ROUTES[route]);
        o.arm = llmopt_str_of(ARMS[arm]);
        o.provider = llmopt_str_of("p");
        o.model = llmopt_str_of(ARMS[arm]);
        o.task_type = llmopt_str_of("chat");
        o.ts_ms = ts;
        o.propensity = MU[arm];
        o.decision_version = 1 + ts / 60000;
        o.reward = r;
        wb.len = 0;
        if (llmopt_avro_encode(avro, LLMOPT_REC_OUTCOME, &o, &wb, err, sizeof(err)) != LLMOPT_OK) {
            fprintf(stderr, "encode: %s\n", err);
            return 1;
        }
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(wb.data, wb.len),
                                 RD_KAFKA_V_KEY(ROUTES[route], strlen(ROUTES[route])),
                                 RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        if (i % 10000 == 0)
            rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 120000)) {
        fprintf(stderr, "flush timed out\n");
        return 1;
    }
    printf("produced %ld outcomes to '%s' in %.2f s\n", n, topic, wall_s() - w0);
    rd_kafka_destroy(rk);
    llmopt_avro_codec_destroy(avro);
    llmopt_wbuf_release(&wb);
    return 0;
}

int main(int argc, char **argv) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    t0_ms = (int64_t)now.tv_sec * 1000 - 86400000;
    if (argc >= 2 && !strcmp(argv[1], "eval"))
        return bench_eval(argc > 2 ? atol(argv[2]) : 10000000L,
                          argc > 3 ? (uint32_t)atol(argv[3]) : 200);
    if (argc >= 4 && !strcmp(argv[1], "produce"))
        return bench_produce(argv[2], atol(argv[3]), argc > 4 ? argv[4] : "127.0.0.1:19092");
    fprintf(stderr, "usage: bench_backtest eval [N] [replicates] | produce TOPIC N [bootstrap]\n");
    return 2;
}
