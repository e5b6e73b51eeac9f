/*
 * proc_config.c - the llmopt-processor property table (see proc_config.h).
 * Data and finalize only: compiled into the llmopt tool for config-doc.
 */
#include "processor/proc_config.h"

#include <ctype.h>
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

static llmopt_err_t proc_finalize(void *obj, char *errstr, size_t errstr_size) {
    llmopt_processor_conf *c = obj;
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
    {0}};

const llmopt_config_table llmopt_processor_table = {
    .name = "processor",
    .desc = "llmopt-processor",
    .props = props,
    .finalize = proc_finalize,
};
