/*
 * backtest_cf.h - counterfactual controller replay for `llmopt backtest
 * --settings FILE` (docs/BACKTEST.md, "Counterfactual controller replay").
 *
 * Reads the controller's inputs (llm.outcomes, llm.metrics, llm.signals)
 * and its logged decisions (llm.routing) over a range of broker time, then
 * runs the controller's own decision loop (controller/replay.h over
 * controller/route.c and controller/core) once per setting of the file:
 * the live policy with members overridden (bandit, guardrails, drift,
 * cadence), and optionally the processor's own engine re-run in-process
 * over llm.requests/responses/feedback with other processor or detector
 * settings to produce the metrics, signals and outcomes. The replay clock
 * is the broker timestamp of each input (when it was produced: the live
 * controller's wall clock, give or take the processor's commit interval);
 * inputs derived in-process take the broker timestamp of the telemetry
 * record that caused them.
 *
 * The result is one JSON object (the "counterfactual" member of the
 * report): per setting the decisions it would have made (when, weights,
 * arm states, reason, signal ids), the signals it saw, detection and
 * reaction times, and its agreement with the logged decisions.
 */
#ifndef LLMOPT_TOOLS_BACKTEST_CF_H
#define LLMOPT_TOOLS_BACKTEST_CF_H

#include <stdint.h>

#include <jansson.h>

#include "common/config.h"
#include "tools/backtest_conf.h"

/* The counterfactual section, or NULL on failure with the reason in errstr
 * (unreadable settings or policy file, a setting naming an arm absent from
 * every logged record of the range, unreadable topic). A range without any
 * controller input gives {"status": "no_data", ...}. */
json_t *llmopt_bt_cf_run(const llmopt_backtest_conf *conf, const llmopt_config *cfg,
                         int64_t from_ms, int64_t to_ms, char *errstr, size_t errstr_size);

#endif
