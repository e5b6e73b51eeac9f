/*
 * batch_adapt.h - max batch size of one route, moved within bounds once per
 * period from the measured per-item latency:
 *
 *   p95 > target_p95_ms                     max_batch = max(min_batch,
 *                                               min(max_batch - 1, floor(max_batch * shrink)))
 *   p95 < headroom * target_p95_ms          max_batch = min(max_bound, max_batch + 1)
 *   otherwise, or < min_requests items      stays
 *
 * Additive increase, multiplicative decrease: a latency breach is undone
 * quickly, growth probes gently. p95 is the per-item latency the processor
 * reports (it includes the time an item waited for its batch).
 *
 * Dead time: a decision reaches the gateways some time after the period it
 * judged ended, so the next period's first windows still hold items served
 * under the previous max batch. After a shrink those items ran in larger
 * batches and their latency is the one just acted on; judging them again
 * shrank twice for one breach (measured on the real stack, loop_batch:
 * 16 -> 12 -> 9 -> 6 where 9-10 holds the target). A window whose mean
 * batch size (the processor's batch_size_mean) exceeds the current max
 * batch cannot have been served under it: llmopt_batch_adapt_window_current
 * says so, and the caller leaves it out of the period.
 *
 * Ownership: plain struct embedded by the caller; no allocation, no I/O,
 * no clock. One thread. Invariants (checked by _init): 1 <= min_batch <=
 * initial <= max_bound, target_p95_ms > 0, 0 < headroom < 1, 0 < shrink < 1.
 */
#ifndef LLMOPT_BATCH_ADAPT_H
#define LLMOPT_BATCH_ADAPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct llmopt_batch_adapt_config {
    int32_t initial;         /* default 8 */
    int32_t min_batch;       /* default 1 */
    int32_t max_bound;       /* default 64 */
    double target_p95_ms;    /* the route's latency target; default 5000 */
    double headroom;         /* grow below headroom * target; default 0.8 */
    double shrink;           /* default 0.75 */
    uint64_t min_requests;   /* items a period needs; default 20 */
} llmopt_batch_adapt_config;

typedef struct llmopt_batch_adapt {
    llmopt_batch_adapt_config c;
    int32_t max_batch;
    uint64_t judged;
} llmopt_batch_adapt;

void llmopt_batch_adapt_config_default(llmopt_batch_adapt_config *c);
llmopt_err_t llmopt_batch_adapt_init(llmopt_batch_adapt *a, const llmopt_batch_adapt_config *c,
                                     char *errstr, size_t errstr_size);
/* False when a window's mean batch size batch_mean (NaN: not reported, which
 * counts) is above the current max batch, i.e. the window was served under
 * an earlier, larger setting and says nothing about the current one. */
bool llmopt_batch_adapt_window_current(const llmopt_batch_adapt *a, double batch_mean);
/* One closed period: `items` responses with per-item latency p95 `p95_ms`
 * (NaN: unknown, nothing changes). Returns 1 when max_batch changed, with
 * the reason (may be NULL). */
int llmopt_batch_adapt_judge(llmopt_batch_adapt *a, uint64_t items, double p95_ms,
                             char *reason, size_t reason_size);

#endif
