/*
 * simulate_conf.c - the property table of `llmopt simulate`.
 */
#include "tools/simulate_conf.h"

#include <stddef.h>

#define OFF(f) offsetof(llmopt_simulate_conf, f)

static const char *const formats[] = {"avro", "json", NULL};

static const llmopt_config_prop props[] = {
    {.name = "simulate.scenario", .type = LLMOPT_CONFIG_STRING, .offset = OFF(scenario),
     .def = "examples/scenarios/demo.json",
     .desc = "scenario file (JSON, docs/SIMULATOR.md); also --scenario FILE"},
    {.name = "simulate.speed", .type = LLMOPT_CONFIG_DOUBLE, .offset = OFF(speed), .min = -1,
     .max = 1e6, .def = "-1",
     .desc = "event time per wall time (10: ten minutes in one); 0: unpaced; -1: the "
             "scenario's"},
    {.name = "simulate.duration", .type = LLMOPT_CONFIG_DURATION, .offset = OFF(duration_ms),
     .min = 0, .max = 30 * 86400000LL, .def = "0",
     .desc = "event time to simulate (0: the scenario's); changes after it do not happen"},
    {.name = "simulate.seed", .type = LLMOPT_CONFIG_INT, .offset = OFF(seed), .min = -1,
     .max = 9.0e18, .def = "-1", .desc = "random seed (-1: the scenario's)"},
    {.name = "simulate.gateways", .type = LLMOPT_CONFIG_INT, .offset = OFF(gateways), .min = 0,
     .max = 16, .def = "0",
     .desc = "simulated gateway instances, each with its own follower and producer (0: the "
             "scenario's)"},
    {.name = "simulate.start", .type = LLMOPT_CONFIG_INT, .offset = OFF(start_ms), .min = 0,
     .max = 4e15, .def = "0", .desc = "first event time in epoch ms (0: now)"},
    {.name = "simulate.topic.prefix", .type = LLMOPT_CONFIG_STRING, .offset = OFF(topic_prefix),
     .def = "",
     .desc = "prefix of every topic (\"t1.\": t1.llm.requests, ..., t1.llm.routing)"},
    {.name = "simulate.route.prefix", .type = LLMOPT_CONFIG_STRING, .offset = OFF(route_prefix),
     .def = "", .desc = "prefix of every route name on the wire (keeps test runs apart)"},
    {.name = "simulate.gateway.id", .type = LLMOPT_CONFIG_STRING, .offset = OFF(gateway_id),
     .def = "sim-gw", .desc = "gateway ids are <id>-0, <id>-1, ..."},
    {.name = "simulate.format", .type = LLMOPT_CONFIG_ENUM, .offset = OFF(format),
     .enum_names = formats, .def = "avro", .desc = "wire format of the telemetry"},
    {.name = "simulate.oracle.file", .type = LLMOPT_CONFIG_STRING, .offset = OFF(oracle_file),
     .desc = "JSON lines: the best arm of each route and every arm's expected reward, at the "
             "start, at each change and every simulate.oracle.interval"},
    {.name = "simulate.oracle.interval", .type = LLMOPT_CONFIG_DURATION,
     .offset = OFF(oracle_interval_ms), .min = 100, .max = 86400000, .def = "10s",
     .desc = "event time between two periodic oracle lines"},
    {.name = "simulate.shares.file", .type = LLMOPT_CONFIG_STRING, .offset = OFF(shares_file),
     .desc = "JSON lines: requests per arm, per route and simulate.bucket of event time"},
    {.name = "simulate.summary.file", .type = LLMOPT_CONFIG_STRING, .offset = OFF(summary_file),
     .desc = "the summary as one JSON object (rewards, capture, re-routing times)"},
    {.name = "simulate.policy.out", .type = LLMOPT_CONFIG_STRING, .offset = OFF(policy_out),
     .def = "-", .desc = "`llmopt simulate policy`: where the controller policy goes (- = stdout)"},
    {.name = "simulate.progress", .type = LLMOPT_CONFIG_DURATION, .offset = OFF(progress_ms),
     .min = 0, .max = 3600000, .def = "5s",
     .desc = "wall time between two progress lines on stderr (0: none)"},
    {.name = "simulate.ready.timeout", .type = LLMOPT_CONFIG_DURATION,
     .offset = OFF(ready_timeout_ms), .min = 0, .max = 3600000, .def = "30s",
     .desc = "how long to wait at start for a routing decision of every route (then the "
             "route's first arm serves until one arrives)"},
    {.name = "simulate.bucket", .type = LLMOPT_CONFIG_DURATION, .offset = OFF(bucket_ms),
     .min = 100, .max = 3600000, .def = "1s",
     .desc = "event time per bucket of the traffic-share timeline"},
    {0}};

const llmopt_config_table llmopt_simulate_config_table = {
    .name = "simulate",
    .desc = "llmopt simulate (closed-loop gateway and backend simulator)",
    .props = props,
};
