/*
 * backtest_conf.h - configuration of `llmopt backtest` (the `backtest`
 * property table, documented in docs/CONFIG.md). The command-line flags
 * --policy, --settings, --from, --to, --format and --out are shorthands for
 * the backtest.policy, .settings, .from, .to, .format and .out keys.
 */
#ifndef LLMOPT_BACKTEST_CONF_H
#define LLMOPT_BACKTEST_CONF_H

#include <stdint.h>

#include "common/config.h"

enum { LLMOPT_BT_FORMAT_JSON = 0, LLMOPT_BT_FORMAT_HTML = 1 };
enum { LLMOPT_BT_MODEL_MEAN = 0, LLMOPT_BT_MODEL_RIDGE = 1 };

typedef struct llmopt_backtest_conf {
    llmopt_common_conf common;
    char *outcomes_topic;  /* topic of the Outcome records */
    char *metrics_topic;   /* counterfactual replay inputs ... */
    char *signals_topic;
    char *routing_topic;   /* ... and the logged decisions */
    char *requests_topic;  /* telemetry, for settings that re-run the processor */
    char *responses_topic;
    char *feedback_topic;
    char *settings;        /* counterfactual settings file (JSON) */
    char *policy;          /* candidate policy file (JSON) */
    char *from;            /* start of the range: epoch ms or ISO-8601 UTC, inclusive */
    char *to;              /* end of the range, exclusive */
    int format;            /* LLMOPT_BT_FORMAT_* */
    char *out;             /* output file; "-" or unset: stdout */
    int64_t replicates;    /* Poisson bootstrap replicates */
    int64_t seed;
    double clip;           /* importance-weight clip; 0: none */
    double level;          /* confidence level */
    int model;             /* DR reward model, LLMOPT_BT_MODEL_* */
    char *features;        /* ridge model: comma-separated context feature names */
    double ridge_lambda;
    int64_t bins;          /* time bins of the charts */
    int64_t timeout_ms;    /* give up reading after this long without progress */
    int64_t slack_ms;      /* broker timestamps may lead event time by this much */
} llmopt_backtest_conf;

extern const llmopt_config_table llmopt_backtest_config_table;

#endif
