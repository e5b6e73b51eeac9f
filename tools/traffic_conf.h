/*
 * traffic_conf.h - configuration of `llmopt traffic` and `llmopt tail`.
 */
#ifndef LLMOPT_TRAFFIC_CONF_H
#define LLMOPT_TRAFFIC_CONF_H

#include <stdint.h>

#include "common/config.h"

typedef struct llmopt_traffic_conf {
    llmopt_common_conf common;
    int64_t routes;             /* routes route-0 .. route-(n-1) */
    char *arms;                 /* comma-separated arm ids */
    double rate;                /* requests per second of event time */
    int64_t duration_ms;        /* event time covered */
    double speed;               /* event time / wall time; 0 = as fast as possible */
    int format;                 /* 0 avro, 1 json */
    int64_t fault_at_ms;        /* offset of the fault from the start; < 0: none */
    double fault_latency_factor;/* arm 2's latency multiplied by this after the fault */
    double fault_error_rate;    /* arm 3's error rate after the fault */
    char *topic_prefix;         /* prepended to llm.requests and llm.responses */
    int64_t seed;
    int64_t start_ms;           /* first event time; 0: now */
    int64_t tail_count;         /* tail: stop after this many records; 0: never */
    int64_t tail_timeout_ms;    /* tail: stop when idle this long; 0: never */
    int tail_from_beginning;
} llmopt_traffic_conf;

extern const llmopt_config_table llmopt_traffic_config_table;

#endif
