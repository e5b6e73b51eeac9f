/*
 * report_html.h - the backtest report as one self-contained HTML page:
 * no scripts, no external files, charts as inline SVG.
 *
 * Rendered from the JSON report of llmopt_bt_evaluate() (backtest_eval.h),
 * so the HTML and `--format json` always carry the same content. Per route:
 * a table and a chart of every policy's IPS / SNIPS / DR estimate with its
 * confidence interval next to the logging policy's own value; arm weights
 * over time, logged (solid) against each candidate (dashed); each arm's
 * mean reward over time. Warnings are listed at the top and per policy.
 * Every string from the data is HTML-escaped.
 */
#ifndef LLMOPT_REPORT_HTML_H
#define LLMOPT_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "common/err.h"

/* Writes the page to out. INVALID when report lacks the expected members
 * (message names the member); IO when writing fails. */
llmopt_err_t llmopt_report_html_write(FILE *out, const json_t *report, const char *title,
                                      char *errstr, size_t errstr_size);

#endif
