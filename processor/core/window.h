/*
 * window.h - event-time windows: an assigner (tumbling and hopping windows)
 * and a store of open windows per (partition, key) with a watermark per
 * partition. Pure: no clock. Time only moves through the event times passed
 * in and through llmopt_window_advance(), so replay is deterministic.
 *
 * Semantics (docs/WINDOWS.md):
 *  - Windows are [start, start + size_ms) with start = offset_ms + k *
 *    advance_ms; an event at ts_ms belongs to every window containing it
 *    (ceil(size / advance) windows for hopping, one for tumbling).
 *  - Watermark of a partition = max(event ts seen) - ooo_ms, raised further
 *    by llmopt_window_advance() (idle partitions), never lowered.
 *  - A window closes when its partition's watermark >= end + grace_ms.
 *  - An event is applied to its windows that are still open. If all of them
 *    have closed the event is late: *late is set, nothing is changed, the
 *    caller routes it (llm.dlq). Windows it missed count as late
 *    assignments either way.
 *  - Closed windows queue up for llmopt_window_pop(): each window once, in
 *    close order; the windows closed by one call come in (end, start, key
 *    bytes) order. Keys compare as memcmp, a prefix first.
 *
 * Aggregates are the caller's: a window holds a zeroed payload of
 * ops.payload_size bytes, set up by ops.init, fed by ops.add, optionally
 * finished by ops.close when the window closes, freed by ops.release. The
 * store never looks inside it. ops.serialize/deserialize carry it through
 * checkpoints; the store frames each payload with its length.
 *
 * Ownership and threads: a store is a heap object (_new/_destroy) owned by
 * one thread; callbacks run synchronously on that thread, from inside the
 * store call that triggers them, and must not call back into the store.
 * A popped window is the caller's until llmopt_window_closed_release().
 * Memory of a window (entry, key, payload) is freed at that release; a
 * closed window that is never popped is freed by _destroy.
 */
#ifndef LLMOPT_WINDOW_H
#define LLMOPT_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/serial.h"

/* Event times and watermarks live in [-2^62, 2^62] ms; durations up to
 * 2^52 ms; so no sum the store forms can overflow. */
#define LLMOPT_WINDOW_TS_MAX ((int64_t)1 << 62)
#define LLMOPT_WINDOW_TS_MIN (-LLMOPT_WINDOW_TS_MAX)
#define LLMOPT_WINDOW_DURATION_MAX ((int64_t)1 << 52)
/* Most windows one event may fall into (size / advance, rounded up). */
#define LLMOPT_WINDOW_MAX_OVERLAP 1024
#define LLMOPT_WINDOW_KEY_MAX 4096

typedef struct llmopt_window_config {
    int64_t size_ms;    /* > 0 */
    int64_t advance_ms; /* 0 < advance_ms <= size_ms; == size_ms: tumbling */
    int64_t offset_ms;  /* any; starts are offset + k * advance */
    int64_t ooo_ms;     /* allowed out-of-orderness, >= 0 */
    int64_t grace_ms;   /* >= 0 */
} llmopt_window_config;

/* OK, or INVALID with the reason (which field, which limit). */
llmopt_err_t llmopt_window_config_check(const llmopt_window_config *c, char *errstr,
                                        size_t errstr_size);

/* Starts of the windows containing ts_ms, ascending, into starts[0..max);
 * returns how many there are (may exceed max: then only max were written).
 * c must have passed llmopt_window_config_check and ts_ms be in range. */
size_t llmopt_window_assign(const llmopt_window_config *c, int64_t ts_ms, int64_t *starts,
                            size_t max);

typedef struct llmopt_window_ops {
    size_t payload_size; /* bytes per window, may be 0 */
    /* Set up a zeroed payload. On failure leave nothing to release. */
    llmopt_err_t (*init)(void *payload, void *ctx);
    /* Fold one event in; event is what the caller gave to _add. */
    llmopt_err_t (*add)(void *payload, const void *event, void *ctx);
    /* Optional: the window just closed (e.g. flush a digest). */
    void (*close)(void *payload, void *ctx);
    /* Free what init/deserialize set up (not the payload bytes). */
    void (*release)(void *payload, void *ctx);
    /* Append the payload; errors go in w->err. */
    void (*serialize)(const void *payload, llmopt_wbuf *w, void *ctx);
    /* Rebuild a zeroed payload from exactly the bytes serialize wrote. On
     * failure leave nothing to release. */
    llmopt_err_t (*deserialize)(void *payload, llmopt_rbuf *r, void *ctx);
    void *ctx;
} llmopt_window_ops;

typedef struct llmopt_window_store llmopt_window_store;

/* A popped window; the pointers stay valid until its release. */
typedef struct llmopt_window_closed {
    uint32_t partition;
    int64_t start_ms, end_ms; /* [start, end) */
    const uint8_t *key;
    size_t key_len;
    void *payload;
    void *entry_; /* private */
} llmopt_window_closed;

typedef struct llmopt_window_stats {
    uint64_t events;           /* _add calls that passed validation */
    uint64_t late_events;      /* events that missed all their windows */
    uint64_t late_assignments; /* (event, window) pairs dropped: window closed */
    uint64_t windows_opened;
    uint64_t windows_closed;
    uint64_t open_windows;     /* now */
    uint64_t ready_windows;    /* closed, not yet popped */
    size_t store_bytes;        /* memory held by the store, payload bytes
                                * included, what payloads point to excluded */
} llmopt_window_stats;

/* NULL on a bad config or ops (init, add, release required; serialize and
 * deserialize both or neither) with errstr set, or when out of memory. The
 * ops are copied. */
llmopt_window_store *llmopt_window_store_new(const llmopt_window_config *cfg,
                                             const llmopt_window_ops *ops, char *errstr,
                                             size_t errstr_size);
/* Releases every window, open or closed-but-not-popped. NULL is a no-op. */
void llmopt_window_store_destroy(llmopt_window_store *s);

/* Apply an event at ts_ms for key[0..key_len) in partition. *late = 1 when
 * it missed all its windows (nothing changed). Windows reached by the
 * event's time close and queue up. RANGE for ts_ms outside the time range,
 * INVALID for a key longer than LLMOPT_WINDOW_KEY_MAX; NOMEM; an error of
 * ops.init/add is returned as is: then the event may have been applied to
 * some of its windows (earlier starts first) and the watermark is not
 * moved. */
llmopt_err_t llmopt_window_add(llmopt_window_store *s, uint32_t partition, int64_t ts_ms,
                               const void *key, size_t key_len, const void *event, int *late);
/* Raise the partition's watermark to at least watermark_ms (clamped to the
 * time range) and close what that reaches: for idle partitions, driven by
 * the caller's wall clock in live mode. NOMEM. */
llmopt_err_t llmopt_window_advance(llmopt_window_store *s, uint32_t partition,
                                   int64_t watermark_ms);
/* The partition's watermark; INT64_MIN when it has none yet. */
int64_t llmopt_window_watermark(const llmopt_window_store *s, uint32_t partition);
/* Forget a partition (revoked by a rebalance): its open windows are
 * released without being emitted. Already closed windows stay queued. */
void llmopt_window_drop_partition(llmopt_window_store *s, uint32_t partition);

/* Take the next closed window: 1 and *out filled, or 0 when none. */
int llmopt_window_pop(llmopt_window_store *s, llmopt_window_closed *out);
/* Release a popped window (ops.release, then its memory). */
void llmopt_window_closed_release(llmopt_window_store *s, llmopt_window_closed *c);

void llmopt_window_get_stats(const llmopt_window_store *s, llmopt_window_stats *st);

/* Append the whole store (config, counters, watermarks, open and queued
 * windows, in a canonical order) to w; errors in w->err (NOMEM, or INVALID
 * when ops has no serialize). Does not change the store, so saving twice
 * gives the same bytes. */
void llmopt_window_store_save(const llmopt_window_store *s, llmopt_wbuf *w);
/* Restore what _save wrote into an empty store made with the same config
 * and payload size. Everything is validated: INVALID (differing config,
 * misaligned or already closed window, duplicate, bad payload), TRUNCATED,
 * VERSION, STATE (store not empty), NOMEM. On failure the store is empty. */
llmopt_err_t llmopt_window_store_load(llmopt_window_store *s, const void *data, size_t len,
                                      char *errstr, size_t errstr_size);

#endif
