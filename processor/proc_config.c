/*
 * proc_config.c - the llmopt-processor property table (see proc_config.h).
 * Data and finalize only: compiled into the llmopt tool for config-doc.
 */
#include "processor/proc_config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const llmopt_proc_format_names[] = {"avro", "json", NULL};

/* milliseconds of "250ms", "30s", "5m", "2h", "1d" or a bare integer */
static int parse_duration(const char *s, size_t n, int64_t *out) {
    size_t i = 0;
    int64_t v = 0;
    if (n == 0 || !isdigit((unsigned char)s[0]))
        return 0;
    while (i < n && isdigit((unsigned char)s[i])) {
        if (v > (INT64_MAX - 9) / 10 / 86400000)
            return 0;
        v = v * 10 + (s[i++] - '0');
    }
    const char *u = s + i;
    size_t ul = n - i;
    int64_t mul;
    if (ul == 0 || (ul == 2 && !memcmp(u, "ms", 2)))
        mul = 1;
    else if (ul == 1 && *u == 's')
        mul = 1000;
    else if (ul == 1 && *u == 'm')
        mul = 60000;
    else if (ul == 1 && *u == 'h')
        mul = 3600000;
    else if (ul == 1 && *u == 'd')
        mul = 86400000;
    else
        return 0;
    *out = v * mul;
    return 1;
}

llmopt_err_t llmopt_proc_windows_parse(const char *spec, llmopt_window_config *out, int max,
                                       int *n, char *errstr, size_t errstr_size) {
    *n = 0;
    if (!spec || !*spec)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "'processor.windows' is empty");
    const char *p = spec;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *slash = memchr(p, '/', len);
        int64_t size = 0, adv = 0;
        if (!slash || !parse_duration(p, (size_t)(slash - p), &size) ||
            !parse_duration(slash + 1, len - (size_t)(slash - p) - 1, &adv))
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "invalid window '%.*s' in 'processor.windows': expected "
                               "SIZE/ADVANCE such as 5m/1m",
                               (int)len, p);
        if (size <= 0 || adv <= 0 || adv > size)
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                               "window '%.*s' in 'processor.windows' needs 0 < advance <= size",
                               (int)len, p);
        if (*n >= max)
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                               "'processor.windows' lists more than %d windows", max);
        out[*n] = (llmopt_window_config){.size_ms = size, .advance_ms = adv};
        (*n)++;
        if (!end)
            break;
        p = end + 1;
    }
    return LLMOPT_OK;
}

/* Detector names in processor.drift.* / processor.anomaly.* lists. */
static const struct {
    const char *name;
    unsigned bit;
} det_names[] = {{"adwin", LLMOPT_DET_ADWIN}, {"page_hinkley", LLMOPT_DET_PH},
                 {"ph", LLMOPT_DET_PH},       {"cusum", LLMOPT_DET_CUSUM},
                 {"zscore", LLMOPT_DET_ZSCORE}, {"iqr", LLMOPT_DET_IQR},
                 {"mad", LLMOPT_DET_MAD}};

const char *const llmopt_proc_drift_keys[LLMOPT_DM_COUNT] = {
    "processor.drift.latency", "processor.drift.error", "processor.drift.quality",
    "processor.drift.cost", "processor.drift.reward"};
const char *const llmopt_proc_anomaly_keys[LLMOPT_AM_COUNT] = {
    "processor.anomaly.p95.latency", "processor.anomaly.error.rate",
    "processor.anomaly.cost.per.request", "processor.anomaly.quality"};

llmopt_err_t llmopt_proc_detectors_parse(const char *key, const char *list, unsigned allowed,
                                    unsigned *mask, char *errstr, size_t errstr_size) {
    *mask = 0;
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (!n)
            break;
        unsigned bit = 0;
        if (n == 4 && !strncmp(p, "none", 4))
            bit = 0;
        else {
            for (size_t i = 0; i < sizeof(det_names) / sizeof(det_names[0]) && !bit; i++)
                if (strlen(det_names[i].name) == n && !strncmp(p, det_names[i].name, n))
                    bit = det_names[i].bit;
            if (!(bit & allowed))
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                   "'%s': unknown or unsuitable detector '%.*s'", key, (int)n, p);
        }
        *mask |= bit;
        p += n;
    }
    return LLMOPT_OK;
}

/* Reward fields by their key suffix (processor.reward.<suffix>). */
static const struct {
    const char *name;
    size_t off;
} reward_fields[] = {
    {"w.quality", offsetof(llmopt_reward_config, w_quality)},
    {"w.cost", offsetof(llmopt_reward_config, w_cost)},
    {"w.latency", offsetof(llmopt_reward_config, w_latency)},
    {"cost.best", offsetof(llmopt_reward_config, cost_best_usd)},
    {"cost.worst", offsetof(llmopt_reward_config, cost_worst_usd)},
    {"latency.best", offsetof(llmopt_reward_config, latency_best_ms)},
    {"latency.worst", offsetof(llmopt_reward_config, latency_worst_ms)},
    {"quality.default", offsetof(llmopt_reward_config, quality_default)},
    {"feedback.weight", offsetof(llmopt_reward_config, feedback_weight)},
};

/* "ROUTE:FIELD=VALUE,FIELD=VALUE;ROUTE:..." into c->route_rewards, each the
 * default reward with the listed fields replaced. Ranges are checked with
 * the engine config (llmopt_reward_config_check). */
static llmopt_err_t parse_reward_routes(llmopt_processor_conf *c, char *errstr,
                                        size_t errstr_size) {
    const char *key = "processor.reward.routes";
    c->nroute_rewards = 0;
    const char *p = c->reward_routes ? c->reward_routes : "";
    while (*p) {
        while (*p == ';' || *p == ' ')
            p++;
        if (!*p)
            break;
        size_t elen = strcspn(p, ";");
        const char *colon = memchr(p, ':', elen);
        size_t rlen = colon ? (size_t)(colon - p) : 0;
        if (!colon || rlen == 0 || rlen > LLMOPT_PROC_MAX_ROUTE_LEN)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "'%s': entry '%.*s' must be ROUTE:FIELD=VALUE[,FIELD=VALUE] with a "
                               "route of 1 to %d bytes",
                               key, (int)elen, p, LLMOPT_PROC_MAX_ROUTE_LEN);
        if (c->nroute_rewards == LLMOPT_PROC_MAX_ROUTE_REWARDS)
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                               "'%s' lists more than %d routes", key, LLMOPT_PROC_MAX_ROUTE_REWARDS);
        size_t k = c->nroute_rewards;
        memcpy(c->route_names[k], p, rlen);
        c->route_names[k][rlen] = '\0';
        for (size_t j = 0; j < k; j++)
            if (!strcmp(c->route_names[j], c->route_names[k]))
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                   "'%s' lists route '%s' twice", key, c->route_names[k]);
        llmopt_reward_config rc = c->reward;
        const char *f = colon + 1, *end = p + elen;
        while (f < end) {
            size_t flen = strcspn(f, ",;");
            if (f + flen > end)
                flen = (size_t)(end - f);
            const char *eq = memchr(f, '=', flen);
            size_t i = 0, nlen = eq ? (size_t)(eq - f) : 0;
            for (; eq && i < sizeof(reward_fields) / sizeof(reward_fields[0]); i++)
                if (strlen(reward_fields[i].name) == nlen && !strncmp(f, reward_fields[i].name, nlen))
                    break;
            char num[64];
            size_t vlen = eq ? flen - nlen - 1 : 0;
            char *vend = NULL;
            double v = 0;
            if (eq && vlen && vlen < sizeof(num)) {
                memcpy(num, eq + 1, vlen);
                num[vlen] = '\0';
                v = strtod(num, &vend);
            }
            if (!eq || i == sizeof(reward_fields) / sizeof(reward_fields[0]) || !vend ||
                vend == num || *vend)
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                   "'%s': route '%s': '%.*s' is not FIELD=NUMBER with FIELD one "
                                   "of w.quality, w.cost, w.latency, cost.best, cost.worst, "
                                   "latency.best, latency.worst, quality.default, feedback.weight",
                                   key, c->route_names[k], (int)flen, f);
            *(double *)((char *)&rc + reward_fields[i].off) = v;
            f += flen + 1;
        }
        /* the ranges of llmopt_reward_config_check, here so that
         * --check-config sees them (this file cannot link the engine) */
        if (!(rc.cost_best_usd < rc.cost_worst_usd) || !(rc.latency_best_ms < rc.latency_worst_ms) ||
            !(rc.w_quality + rc.w_cost + rc.w_latency > 0) || rc.w_quality < 0 || rc.w_cost < 0 ||
            rc.w_latency < 0 || rc.cost_best_usd < 0 || rc.latency_best_ms < 0 ||
            !(rc.quality_default >= 0 && rc.quality_default <= 1) ||
            !(rc.feedback_weight >= 0 && rc.feedback_weight <= 1) ||
            !isfinite(rc.cost_worst_usd) || !isfinite(rc.latency_worst_ms) ||
            !isfinite(rc.w_quality + rc.w_cost + rc.w_latency))
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                               "'%s': route '%s': weights must be >= 0 and not all 0, bounds >= 0 "
                               "with best < worst, quality.default and feedback.weight in [0, 1]",
                               key, c->route_names[k]);
        c->route_rewards[k].route = c->route_names[k];
        c->route_rewards[k].reward = rc;
        c->nroute_rewards++;
        p += elen;
    }
    return LLMOPT_OK;
}

static llmopt_err_t proc_finalize(void *obj, char *errstr, size_t errstr_size) {
    llmopt_processor_conf *c = obj;
    llmopt_err_t e;
    unsigned mask;
    for (int m = 0; m < LLMOPT_DM_COUNT; m++)
        if ((e = llmopt_proc_detectors_parse(llmopt_proc_drift_keys[m], c->drift_detectors[m],
                                 LLMOPT_DET_ADWIN | LLMOPT_DET_PH | LLMOPT_DET_CUSUM,
                                 &mask, errstr, errstr_size)))
            return e;
    for (int m = 0; m < LLMOPT_AM_COUNT; m++)
        if ((e = llmopt_proc_detectors_parse(llmopt_proc_anomaly_keys[m], c->anomaly_detectors[m],
                                 LLMOPT_DET_ZSCORE | LLMOPT_DET_IQR | LLMOPT_DET_MAD,
                                 &mask, errstr, errstr_size)))
            return e;
    if ((e = parse_reward_routes(c, errstr, errstr_size)))
        return e;
    const char *names[LLMOPT_PROC_IN_COUNT + LLMOPT_PROC_OUT_COUNT + 2];
    size_t k = 0;
    for (int i = 0; i < LLMOPT_PROC_IN_COUNT; i++)
        names[k++] = c->topic_in[i];
    for (int i = 0; i < LLMOPT_PROC_OUT_COUNT; i++)
        names[k++] = c->topic_out[i];
    names[k++] = c->topic_dlq;
    names[k++] = c->topic_state;
    for (size_t i = 0; i < k; i++) {
        if (!names[i] || !*names[i])
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "every 'processor.topic.*' key needs a topic name");
        for (size_t j = 0; j < i; j++)
            if (!strcmp(names[i], names[j]))
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                   "topic '%s' is configured twice in 'processor.topic.*'",
                                   names[i]);
    }
    if (!c->group_id || !*c->group_id)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "'processor.group.id' must not be empty");
    llmopt_window_config w[LLMOPT_ENGINE_MAX_WINDOWS];
    int n;
    return llmopt_proc_windows_parse(c->windows, w, LLMOPT_ENGINE_MAX_WINDOWS, &n, errstr,
                                     errstr_size);
}

#define F(f) offsetof(llmopt_processor_conf, f)
#define TOPIC(key, field, dflt, what)                                                        \
    {.name = key, .type = LLMOPT_CONFIG_STRING, .offset = F(field), .def = dflt, .desc = what}
#define FORMAT(key, field, what)                                                            \
    {.name = key, .type = LLMOPT_CONFIG_ENUM, .offset = F(field), .def = "avro",            \
     .enum_names = llmopt_proc_format_names, .desc = what}

static const llmopt_config_prop props[] = {
    {.name = "processor.group.id", .type = LLMOPT_CONFIG_STRING, .offset = F(group_id),
     .def = "llmopt-processor",
     .desc = "consumer group of the input topics; instances of one deployment share it"},
    {.name = "processor.instance.id", .type = LLMOPT_CONFIG_STRING, .offset = F(instance_id),
     .desc = "stable name of this instance (default: the host name); part of the "
             "transactional id, so a restarted instance fences its predecessor"},
    {.name = "processor.transactional.id", .type = LLMOPT_CONFIG_STRING,
     .offset = F(transactional_id),
     .desc = "transactional.id of the producer (default: <group.id>-<instance.id>)"},
    TOPIC("processor.topic.requests", topic_in[LLMOPT_PROC_IN_REQUESTS], "llm.requests",
          "input: Request records"),
    TOPIC("processor.topic.responses", topic_in[LLMOPT_PROC_IN_RESPONSES], "llm.responses",
          "input: Response records (co-partitioned with requests)"),
    TOPIC("processor.topic.feedback", topic_in[LLMOPT_PROC_IN_FEEDBACK], "llm.feedback",
          "input: Feedback records (co-partitioned with requests)"),
    FORMAT("processor.format.requests", format_in[LLMOPT_PROC_IN_REQUESTS],
           "wire format of the requests topic: avro (Confluent framing) or json"),
    FORMAT("processor.format.responses", format_in[LLMOPT_PROC_IN_RESPONSES],
           "wire format of the responses topic"),
    FORMAT("processor.format.feedback", format_in[LLMOPT_PROC_IN_FEEDBACK],
           "wire format of the feedback topic"),
    TOPIC("processor.topic.outcomes", topic_out[LLMOPT_PROC_OUT_OUTCOMES], "llm.outcomes",
          "output: Outcome records, keyed by route"),
    TOPIC("processor.topic.metrics", topic_out[LLMOPT_PROC_OUT_METRICS], "llm.metrics",
          "output: WindowMetrics records, keyed by route"),
    TOPIC("processor.topic.signals", topic_out[LLMOPT_PROC_OUT_SIGNALS], "llm.signals",
          "output: Signal records, keyed by route"),
    FORMAT("processor.format.outcomes", format_out[LLMOPT_PROC_OUT_OUTCOMES],
           "wire format written to the outcomes topic"),
    FORMAT("processor.format.metrics", format_out[LLMOPT_PROC_OUT_METRICS],
           "wire format written to the metrics topic"),
    FORMAT("processor.format.signals", format_out[LLMOPT_PROC_OUT_SIGNALS],
           "wire format written to the signals topic"),
    TOPIC("processor.topic.dlq", topic_dlq, "llm.dlq",
          "dead letters: original key and bytes, reason and source in headers"),
    TOPIC("processor.topic.state", topic_state, "llm.processor.state",
          "compacted changelog of engine checkpoints; needs at least as many partitions "
          "as the input topics"),
    {.name = "processor.commit.interval", .type = LLMOPT_CONFIG_DURATION,
     .offset = F(commit_interval_ms), .min = 10, .max = 600000, .def = "1s",
     .desc = "longest time between two transaction commits"},
    {.name = "processor.commit.max.messages", .type = LLMOPT_CONFIG_INT,
     .offset = F(commit_max_messages), .min = 1, .max = 100000000, .def = "200000",
     .desc = "commit early once this many input messages were processed"},
    {.name = "processor.idle.timeout", .type = LLMOPT_CONFIG_DURATION,
     .offset = F(idle_timeout_ms), .min = 100, .max = 86400000, .def = "10s",
     .desc = "live mode: a partition idle this long has its watermark advanced from the "
             "wall clock"},
    {.name = "processor.event.time.only", .type = LLMOPT_CONFIG_BOOL,
     .offset = F(event_time_only), .def = "false",
     .desc = "replay mode: only event time moves time, never the wall clock"},
    {.name = "processor.queue.max.messages", .type = LLMOPT_CONFIG_INT,
     .offset = F(queue_max_messages), .min = 16, .max = 10000000, .def = "20000",
     .desc = "messages buffered per input partition for the event-time merge before "
             "fetching from it pauses"},
    {.name = "processor.threads", .type = LLMOPT_CONFIG_INT, .offset = F(threads), .min = 0,
     .max = 64, .def = "1",
     .desc = "threads that decode and run the partitions' engines, the polling thread "
             "included (each partition is on one thread at a time; outputs do not depend "
             "on it); 0: one per online CPU. More than 1 pays only with cores to spare: on "
             "2 cores shared with the broker, 2 measured slower than 1"},
    {.name = "processor.checkpoint.chunk.bytes", .type = LLMOPT_CONFIG_SIZE,
     .offset = F(chunk_bytes), .min = 1024, .max = 64 << 20, .def = "512KiB",
     .desc = "checkpoints larger than this go to the changelog in several messages "
             "(keep it below the topic's max.message.bytes)"},
    {.name = "processor.txn.timeout", .type = LLMOPT_CONFIG_DURATION,
     .offset = F(txn_timeout_ms), .min = 1000, .max = 600000, .def = "30s",
     .desc = "bound on one transaction commit, retries included"},
    {.name = "processor.restore.timeout", .type = LLMOPT_CONFIG_DURATION,
     .offset = F(restore_timeout_ms), .min = 1000, .max = 3600000, .def = "120s",
     .desc = "bound on reading one partition's checkpoint from the changelog"},
    {.name = "processor.join.window", .type = LLMOPT_CONFIG_DURATION,
     .offset = F(join_window_ms), .min = 1, .max = 7 * 86400000LL, .def = "10m",
     .desc = "event time a request waits for its response before it becomes missing"},
    {.name = "processor.feedback.window", .type = LLMOPT_CONFIG_DURATION,
     .offset = F(feedback_window_ms), .min = 1, .max = 30 * 86400000LL, .def = "1h",
     .desc = "event time an outcome waits for feedback"},
    {.name = "processor.join.max.bytes", .type = LLMOPT_CONFIG_SIZE,
     .offset = F(join_max_bytes), .min = 1 << 20, .max = 1LL << 40, .def = "256MiB",
     .desc = "memory budget of the join tables of one partition"},
    {.name = "processor.ooo", .type = LLMOPT_CONFIG_DURATION, .offset = F(ooo_ms), .min = 0,
     .max = 86400000, .def = "5s", .desc = "allowed out-of-orderness of event time"},
    {.name = "processor.grace", .type = LLMOPT_CONFIG_DURATION, .offset = F(grace_ms),
     .min = 0, .max = 86400000, .def = "0", .desc = "extra wait after a window's end"},
    {.name = "processor.max.future", .type = LLMOPT_CONFIG_DURATION,
     .offset = F(max_future_ms), .min = 1, .max = 30 * 86400000LL, .def = "1h",
     .desc = "events further ahead of the partition's max event time are bad_timestamp"},
    {.name = "processor.max.past", .type = LLMOPT_CONFIG_DURATION, .offset = F(max_past_ms),
     .min = 1, .max = 365 * 86400000LL, .def = "7d",
     .desc = "events further behind the watermark are bad_timestamp"},
    {.name = "processor.windows", .type = LLMOPT_CONFIG_STRING, .offset = F(windows),
     .def = "1m/1m,5m/1m",
     .desc = "window specs SIZE/ADVANCE, comma-separated; the first feeds anomaly detection"},
    {.name = "processor.digest.compression", .type = LLMOPT_CONFIG_INT,
     .offset = F(digest_compression), .min = 10, .max = 10000, .def = "100",
     .desc = "t-digest compression of the latency digests"},
#define DRIFT(key, m, dflt, what)                                                            \
    {.name = key, .type = LLMOPT_CONFIG_STRING, .offset = F(drift_detectors[m]), .def = dflt, \
     .desc = "drift detectors (adwin, page_hinkley, cusum; comma-separated, none: off) on " what}
    DRIFT("processor.drift.latency", LLMOPT_DM_LATENCY, "adwin,page_hinkley,cusum",
          "latency_ms of successful responses"),
    DRIFT("processor.drift.error", LLMOPT_DM_ERROR, "adwin,cusum",
          "the error indicator (CUSUM in its Bernoulli form; page_hinkley is a Gaussian-scale "
          "test that a rare 0/1 indicator makes fire on single errors)"),
    DRIFT("processor.drift.quality", LLMOPT_DM_QUALITY, "adwin,page_hinkley,cusum",
          "response quality"),
    DRIFT("processor.drift.cost", LLMOPT_DM_COST, "adwin,page_hinkley,cusum",
          "cost_usd of successful responses"),
    DRIFT("processor.drift.reward", LLMOPT_DM_REWARD, "none", "the outcome reward"),
#define ANOM(key, m, what)                                                                   \
    {.name = key, .type = LLMOPT_CONFIG_STRING, .offset = F(anomaly_detectors[m]),            \
     .def = "zscore,iqr,mad",                                                                 \
     .desc = "anomaly detectors (zscore, iqr, mad; comma-separated, none: off) on " what}
    ANOM("processor.anomaly.p95.latency", LLMOPT_AM_P95_LATENCY, "each window's p95 latency"),
    ANOM("processor.anomaly.error.rate", LLMOPT_AM_ERROR_RATE, "each window's error rate"),
    ANOM("processor.anomaly.cost.per.request", LLMOPT_AM_COST_PER_REQUEST,
         "each window's cost per request"),
    ANOM("processor.anomaly.quality", LLMOPT_AM_QUALITY, "each window's mean quality"),
#define DBL(key, field, lo, hi, dflt, what)                                                  \
    {.name = key, .type = LLMOPT_CONFIG_DOUBLE, .offset = F(field), .min = lo, .max = hi,     \
     .def = dflt, .desc = what}
    DBL("processor.adwin.delta", adwin_delta, 1e-12, 0.999999, "0.002",
        "ADWIN confidence: smaller means fewer false drifts and later detection"),
    DBL("processor.ph.delta", ph_delta, 0, 1e6, "0.25",
        "Page-Hinkley magnitude tolerance, in standard deviations of the metric's warm-up "
        "(of log values for latency and cost)"),
    DBL("processor.ph.threshold", ph_threshold, 1e-9, 1e9, "25",
        "Page-Hinkley detection threshold, in standard deviations (minimum cumulative effect)"),
    {.name = "processor.ph.min.instances", .type = LLMOPT_CONFIG_INT,
     .offset = F(ph_min_instances), .min = 2, .max = 1000000, .def = "200",
     .desc = "values that fix Page-Hinkley's mean and scale before it judges"},
    DBL("processor.cusum.k", cusum_k, 0, 100, "0.5",
        "CUSUM allowance in sigmas: the smallest shift worth detecting is about 2k"),
    DBL("processor.cusum.h", cusum_h, 1e-9, 1e6, "12",
        "CUSUM decision interval in sigmas (continuous metrics)"),
    DBL("processor.cusum.bernoulli.h", cusum_h_llr, 1e-9, 1e6, "10",
        "CUSUM decision interval in nats for the error indicator"),
    DBL("processor.zscore.threshold", zscore_threshold, 1e-9, 1e6, "3",
        "z-score anomaly threshold, in EWMA standard deviations"),
    DBL("processor.zscore.min.scale", zscore_min_scale, 0, 1e300, "0",
        "floor on the z-score's sigma in the metric's unit: minimum effect = threshold x this"),
    DBL("processor.iqr.k", iqr_k, 1e-9, 1e6, "1.5", "IQR fence multiplier (Tukey's k)"),
    DBL("processor.iqr.min.scale", iqr_min_scale, 0, 1e300, "0",
        "floor on the IQR in the metric's unit: minimum effect = k x this"),
    DBL("processor.mad.threshold", mad_threshold, 1e-9, 1e6, "3.5",
        "MAD anomaly threshold, in scaled MADs"),
    DBL("processor.mad.min.scale", mad_min_scale, 0, 1e300, "0",
        "floor on the scaled MAD in the metric's unit: minimum effect = threshold x this"),
    DBL("processor.reward.w.quality", reward.w_quality, 0, 1e6, "0.6",
        "reward weight of quality (weights are scaled to sum to 1)"),
    DBL("processor.reward.w.cost", reward.w_cost, 0, 1e6, "0.3", "reward weight of cost"),
    DBL("processor.reward.w.latency", reward.w_latency, 0, 1e6, "0.1",
        "reward weight of latency"),
    DBL("processor.reward.cost.best", reward.cost_best_usd, 0, 1e9, "0",
        "cost (USD) whose cost component is 1"),
    DBL("processor.reward.cost.worst", reward.cost_worst_usd, 0, 1e9, "0.01",
        "cost (USD) whose cost component is 0"),
    DBL("processor.reward.latency.best", reward.latency_best_ms, 0, 1e9, "0",
        "latency (ms) whose latency component is 1"),
    DBL("processor.reward.latency.worst", reward.latency_worst_ms, 0, 1e9, "10000",
        "latency (ms) whose latency component is 0"),
    DBL("processor.reward.quality.default", reward.quality_default, 0, 1, "0.5",
        "quality assumed for a success that reports none"),
    DBL("processor.reward.feedback.weight", reward.feedback_weight, 0, 1, "1",
        "share of feedback (rating, thumbs, task_completed) in the blended quality"),
    {.name = "processor.reward.routes", .type = LLMOPT_CONFIG_STRING, .offset = F(reward_routes),
     .def = "",
     .desc = "per-route reward overrides: ROUTE:FIELD=VALUE[,FIELD=VALUE][;ROUTE:...], FIELD a "
             "processor.reward.* suffix (w.cost, latency.worst, ...)"},
    {0}};

const llmopt_config_table llmopt_processor_table = {
    .name = "processor",
    .desc = "llmopt-processor",
    .props = props,
    .finalize = proc_finalize,
};
