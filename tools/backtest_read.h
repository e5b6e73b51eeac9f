/*
 * backtest_read.h - read one topic's records over a time range, for
 * `llmopt backtest` (outcomes, and the counterfactual replay's metrics,
 * signals, logged decisions and telemetry).
 *
 * Each partition starts at offsets_for_times(from - slack) and stops at
 * offsets_for_times(to + slack) or the high watermark read at start,
 * whichever comes first, so reading ends on a live topic. Records are read
 * read_committed, assigned without a group commit. The caller filters by
 * its own notion of time (event time, or the broker timestamp handed over).
 */
#ifndef LLMOPT_TOOLS_BACKTEST_READ_H
#define LLMOPT_TOOLS_BACKTEST_READ_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

typedef struct llmopt_bt_msg {
    int32_t partition;
    int64_t offset;
    int64_t ts_ms;          /* broker timestamp (CreateTime: when it was produced) */
    const void *payload;
    size_t len;
} llmopt_bt_msg;

/* Returns 0 to go on, non-zero to stop reading with that failure. */
typedef int (llmopt_bt_msg_cb)(void *ctx, const llmopt_bt_msg *m);

typedef struct llmopt_bt_read_opts {
    const char *topic;
    int64_t from_ms, to_ms;  /* INT64_MIN / INT64_MAX: unbounded */
    int64_t slack_ms;
    int64_t timeout_ms;      /* fail after this long without progress */
    uint64_t *partitions;    /* out: partition count (may be NULL) */
} llmopt_bt_read_opts;

/* Epoch ms, or ISO-8601 UTC: 2026-11-29, 2026-11-29T03:00:00Z,
 * 2026-11-29T03:00:00.250Z. Returns 0 on success. (tools/backtest.c) */
int llmopt_bt_parse_time(const char *s, int64_t *ms);

/* 0 on success; 1 on failure with a message on stderr ("llmopt backtest: ..."). */
int llmopt_bt_read_topic(const llmopt_config *cfg, const llmopt_bt_read_opts *o,
                         llmopt_bt_msg_cb *cb, void *ctx);

#endif
