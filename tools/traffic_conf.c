/*
 * traffic_conf.c - the property table of `llmopt traffic` and `llmopt tail`.
 */
#include "tools/traffic_conf.h"

#include <stddef.h>

#define OFF(f) offsetof(llmopt_traffic_conf, f)

static const char *const formats[] = {"avro", "json", NULL};

static const llmopt_config_prop props[] = {
    {.name = "traffic.routes", .type = LLMOPT_CONFIG_INT, .offset = OFF(routes), .min = 1,
     .max = 100000, .def = "3", .desc = "routes to simulate, named route-0 .. route-N-1"},
    {.name = "traffic.arms", .type = LLMOPT_CONFIG_STRING, .offset = OFF(arms),
     .def = "fast-small,balanced,strong-large", .desc = "comma-separated arm ids of every route"},
    {.name = "traffic.rate", .type = LLMOPT_CONFIG_DOUBLE, .offset = OFF(rate), .min = 0.001,
     .max = 1e7, .def = "200", .desc = "requests per second of event time, all routes together"},
    {.name = "traffic.duration", .type = LLMOPT_CONFIG_DURATION, .offset = OFF(duration_ms),
     .min = 1, .max = 1e12, .def = "10m", .desc = "event time the traffic covers"},
    {.name = "traffic.speed", .type = LLMOPT_CONFIG_DOUBLE, .offset = OFF(speed), .min = 0,
     .max = 1e6, .def = "1", .desc = "event time per wall time (10: ten minutes in one); 0: no pacing"},
    {.name = "traffic.format", .type = LLMOPT_CONFIG_ENUM, .offset = OFF(format),
     .enum_names = formats, .def = "avro", .desc = "wire format of the telemetry"},
    {.name = "traffic.fault.at", .type = LLMOPT_CONFIG_DURATION, .offset = OFF(fault_at_ms),
     .min = -1, .max = 1e12, .def = "4m",
     .desc = "when the fault starts, from the first event (-1: no fault)"},
    {.name = "traffic.fault.latency.factor", .type = LLMOPT_CONFIG_DOUBLE,
     .offset = OFF(fault_latency_factor), .min = 0.01, .max = 1000, .def = "3",
     .desc = "latency multiplier of the second arm after the fault"},
    {.name = "traffic.fault.error.rate", .type = LLMOPT_CONFIG_DOUBLE, .offset = OFF(fault_error_rate),
     .min = 0, .max = 1, .def = "0.4", .desc = "error rate of the third arm after the fault"},
    {.name = "traffic.topic.prefix", .type = LLMOPT_CONFIG_STRING, .offset = OFF(topic_prefix),
     .def = "", .desc = "prefix of the telemetry topics (\"run1.\" writes run1.llm.requests, ...)"},
    {.name = "traffic.seed", .type = LLMOPT_CONFIG_INT, .offset = OFF(seed), .def = "42",
     .desc = "random seed: the same seed gives the same telemetry"},
    {.name = "traffic.start", .type = LLMOPT_CONFIG_INT, .offset = OFF(start_ms), .min = 0,
     .max = 4e15, .def = "0", .desc = "first event time in epoch ms (0: now)"},
    {.name = "tail.count", .type = LLMOPT_CONFIG_INT, .offset = OFF(tail_count), .min = 0,
     .max = 1e15, .def = "0", .desc = "tail: stop after this many records (0: never)"},
    {.name = "tail.timeout", .type = LLMOPT_CONFIG_DURATION, .offset = OFF(tail_timeout_ms),
     .min = 0, .max = 1e12, .def = "0", .desc = "tail: stop after this long without a record (0: never)"},
    {.name = "tail.from.beginning", .type = LLMOPT_CONFIG_BOOL, .offset = OFF(tail_from_beginning),
     .def = "false", .desc = "tail: start at the oldest record instead of the newest"},
    {0}};

const llmopt_config_table llmopt_traffic_config_table = {
    .name = "traffic",
    .desc = "llmopt traffic (synthetic gateway telemetry) and llmopt tail",
    .props = props,
};
