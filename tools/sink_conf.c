/*
 * sink_conf.c - property table of `llmopt sink` (see sink_conf.h). Data and
 * finalize only: compiled into the llmopt tool through llmopt_config_table().
 */
#include "tools/sink_conf.h"

#include <stddef.h>
#include <string.h>

const char *const llmopt_sink_format_names[] = {"avro", "json", NULL};

#define F(f) offsetof(llmopt_sink_conf, f)
#define TOPIC(key, field, dflt, what) \
    {.name = key, .type = LLMOPT_CONFIG_STRING, .offset = F(field), .def = dflt, .desc = what}
#define FORMAT(key, field, what)                                                       \
    {.name = key, .type = LLMOPT_CONFIG_ENUM, .offset = F(field), .def = "avro",       \
     .enum_names = llmopt_sink_format_names, .desc = what}

static const llmopt_config_prop props[] = {
    {.name = "sink.name", .type = LLMOPT_CONFIG_STRING, .offset = F(name), .def = "sink",
     .desc = "name of this sink: its rows in llmopt.sink_offsets and its advisory lock; "
             "two sinks with one name never run at once"},
    TOPIC("sink.topic.metrics", topic[LLMOPT_SINK_METRICS], "llm.metrics",
          "WindowMetrics topic, written to llmopt.window_metrics"),
    TOPIC("sink.topic.signals", topic[LLMOPT_SINK_SIGNALS], "llm.signals",
          "Signal topic, written to llmopt.signals"),
    TOPIC("sink.topic.routing", topic[LLMOPT_SINK_ROUTING], "llm.routing",
          "RoutingDecision topic, written to llmopt.routing_decisions"),
    TOPIC("sink.topic.outcomes", topic[LLMOPT_SINK_OUTCOMES], "llm.outcomes",
          "Outcome topic, written to llmopt.outcomes when sink.outcomes is true"),
    FORMAT("sink.format.metrics", format[LLMOPT_SINK_METRICS],
           "wire format of the metrics topic: avro (Confluent framing) or json"),
    FORMAT("sink.format.signals", format[LLMOPT_SINK_SIGNALS],
           "wire format of the signals topic"),
    FORMAT("sink.format.routing", format[LLMOPT_SINK_ROUTING],
           "wire format of the routing topic"),
    FORMAT("sink.format.outcomes", format[LLMOPT_SINK_OUTCOMES],
           "wire format of the outcomes topic"),
    {.name = "sink.outcomes", .type = LLMOPT_CONFIG_BOOL, .offset = F(outcomes), .def = "true",
     .desc = "consume the outcomes topic (the largest) into llmopt.outcomes"},
    TOPIC("sink.topic.dlq", topic_dlq, "llm.dlq",
          "dead letters: undecodable messages and rows Postgres refuses, with the reason in "
          "headers"),
    {.name = "sink.batch.rows", .type = LLMOPT_CONFIG_INT, .offset = F(batch_rows), .min = 1,
     .max = 1000000, .def = "10000",
     .desc = "flush (one Postgres transaction) once this many rows are pending"},
    {.name = "sink.batch.age", .type = LLMOPT_CONFIG_DURATION, .offset = F(batch_age_ms),
     .min = 1, .max = 3600000, .def = "1s",
     .desc = "flush once the oldest pending message has waited this long"},
    {.name = "sink.retry.max", .type = LLMOPT_CONFIG_DURATION, .offset = F(retry_max_ms),
     .min = 10, .max = 600000, .def = "5s",
     .desc = "cap of the exponential backoff while Postgres is unreachable (the batch is "
             "kept and retried until it lands)"},
    {.name = "sink.partitions.past.days", .type = LLMOPT_CONFIG_INT,
     .offset = F(partition_past_days), .min = 0, .max = 3650, .def = "400",
     .desc = "create day partitions for rows up to this many days old; older rows land "
             "in the DEFAULT partition"},
    {.name = "sink.partitions.future.days", .type = LLMOPT_CONFIG_INT,
     .offset = F(partition_future_days), .min = 0, .max = 366, .def = "7",
     .desc = "create day partitions for rows up to this many days ahead of the clock"},
    {0}};

/* sink_rows.c has these too; repeated so this file needs libllmopt only */
static const char *const short_names[LLMOPT_SINK_TABLE_COUNT] = {"metrics", "signals", "routing",
                                                                 "outcomes"};

static llmopt_err_t finalize(void *obj, char *errstr, size_t errstr_size) {
    const llmopt_sink_conf *c = obj;
    if (!c->name || !c->name[0])
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "'sink.name' is empty");
    const char *names[LLMOPT_SINK_TABLE_COUNT + 1];
    int n = 0;
    for (int t = 0; t < LLMOPT_SINK_TABLE_COUNT; t++) {
        if (t == LLMOPT_SINK_OUTCOMES && !c->outcomes)
            continue;
        if (!c->topic[t] || !c->topic[t][0])
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "'sink.topic.%s' is empty", short_names[t]);
        names[n++] = c->topic[t];
    }
    if (!c->topic_dlq || !c->topic_dlq[0])
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "'sink.topic.dlq' is empty");
    names[n++] = c->topic_dlq;
    for (int i = 0; i < n; i++)
        for (int k = i + 1; k < n; k++)
            if (!strcmp(names[i], names[k]))
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                   "topic '%s' is configured twice (sink.topic.*)", names[i]);
    return LLMOPT_OK;
}

const llmopt_config_table llmopt_sink_config_table = {
    .name = "sink",
    .desc = "llmopt sink: result topics -> Postgres, exactly once",
    .props = props,
    .finalize = finalize,
};
