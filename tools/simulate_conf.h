/*
 * simulate_conf.h - configuration of `llmopt simulate` (table "simulate",
 * docs/CONFIG.md). Values that the scenario file also carries (speed,
 * duration, seed, gateways) override it when set to a non-default value.
 */
#ifndef LLMOPT_SIMULATE_CONF_H
#define LLMOPT_SIMULATE_CONF_H

#include <stdint.h>

#include "common/config.h"

typedef struct llmopt_simulate_conf {
    llmopt_common_conf common;
    char *scenario;           /* scenario file (JSON) */
    double speed;             /* < 0: the scenario's */
    int64_t duration_ms;      /* 0: the scenario's */
    int64_t seed;             /* < 0: the scenario's */
    int64_t gateways;         /* 0: the scenario's */
    int64_t start_ms;         /* first event time, epoch ms; 0: now */
    char *topic_prefix;       /* prepended to every llm.* topic */
    char *route_prefix;       /* prepended to every route name on the wire */
    char *gateway_id;         /* gateways are <id>-0, <id>-1, ... */
    int format;               /* telemetry: 0 avro, 1 json */
    char *oracle_file;        /* JSON lines; NULL/empty: none */
    int64_t oracle_interval_ms;
    char *shares_file;        /* JSON lines per second and route; NULL/empty: none */
    char *summary_file;       /* one JSON object; NULL/empty: none */
    char *policy_out;         /* `llmopt simulate policy`: output path, "-" = stdout */
    int64_t progress_ms;      /* wall time between progress lines; 0: none */
    int64_t ready_timeout_ms; /* wait for a decision of every route at start */
    int64_t bucket_ms;        /* share buckets */
} llmopt_simulate_conf;

extern const llmopt_config_table llmopt_simulate_config_table;

#endif
