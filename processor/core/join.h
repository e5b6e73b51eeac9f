/*
 * join.h - bounded keyed state for stream joins (request <-> response by
 * request_id, outcome <-> feedback). Pure: no I/O, no clock.
 *
 * A join table holds entries keyed by a byte string (the request_id). Each
 * entry carries its event time ts_ms and a caller payload whose size the
 * caller declares, so the table can enforce a memory budget. The table owns
 * the payloads it holds: they leave through llmopt_join_take() (the caller
 * now owns it) or through the expire callback (which must free or hand it on).
 *
 * Expiry order is deterministic: by (ts_ms, insertion sequence), so two runs
 * over the same input expire the same entries in the same order, whatever
 * the hash layout.
 *
 *   - llmopt_join_expire(wm) hands back every entry with ts_ms + ttl_ms <= wm
 *     with reason LLMOPT_JOIN_EXPIRED (a request whose response never came).
 *   - llmopt_join_put() beyond max_bytes first evicts the oldest entries with
 *     reason LLMOPT_JOIN_EVICTED and counts them, so memory stays bounded.
 *
 * Accounted bytes = payload bytes + key bytes + a fixed per-entry overhead
 * (LLMOPT_JOIN_ENTRY_OVERHEAD), close to what malloc really holds.
 *
 * Not thread-safe: one table per partition, owned by the thread that
 * processes that partition.
 */
#ifndef LLMOPT_JOIN_H
#define LLMOPT_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/serial.h"

#define LLMOPT_JOIN_ENTRY_OVERHEAD 96
#define LLMOPT_JOIN_MAX_KEY 255

typedef enum llmopt_join_reason {
    LLMOPT_JOIN_EXPIRED = 1,  /* ts_ms + ttl_ms passed the watermark */
    LLMOPT_JOIN_EVICTED = 2,  /* the memory budget forced it out */
} llmopt_join_reason;

/* Receives ownership of payload. key is valid only during the call. */
typedef void (llmopt_join_expire_cb)(void *opaque, const void *key, size_t keylen,
                                     int64_t ts_ms, void *payload,
                                     llmopt_join_reason reason);
/* Frees a payload the table still owns at destroy time; may be NULL when
 * payloads need no freeing. */
typedef void (llmopt_join_free_cb)(void *payload);

typedef struct llmopt_join_config {
    int64_t ttl_ms;          /* how long an entry waits for its partner, > 0 */
    size_t max_bytes;        /* memory budget, 0 = unbounded */
    llmopt_join_expire_cb *on_expire;
    llmopt_join_free_cb *free_payload;
    void *opaque;
} llmopt_join_config;

typedef struct llmopt_join_stats {
    size_t entries;
    size_t bytes;            /* accounted bytes currently held */
    uint64_t inserted;
    uint64_t matched;        /* taken by llmopt_join_take() */
    uint64_t expired;
    uint64_t evicted;        /* forced out by max_bytes */
    uint64_t duplicates;     /* llmopt_join_put() refused an existing key */
} llmopt_join_stats;

typedef struct llmopt_join llmopt_join;

/* NULL on allocation failure or invalid config (ttl_ms <= 0, no on_expire). */
llmopt_join *llmopt_join_new(const llmopt_join_config *cfg);
/* Frees every remaining payload with free_payload (no expire callbacks). */
void llmopt_join_destroy(llmopt_join *j);

/* Inserts key -> payload. Returns LLMOPT_OK (the table owns payload now),
 * LLMOPT_ERR_STATE when the key is already present (the caller keeps
 * payload; counted as a duplicate), LLMOPT_ERR_INVALID for an empty or
 * over-long key, LLMOPT_ERR_NOMEM when one entry alone exceeds max_bytes or
 * allocation fails (the caller keeps payload). May call on_expire for
 * evictions before returning. */
llmopt_err_t llmopt_join_put(llmopt_join *j, const void *key, size_t keylen,
                             int64_t ts_ms, void *payload, size_t payload_bytes);

/* Removes key and returns its payload (caller owns it) and event time, or
 * NULL when absent. */
void *llmopt_join_take(llmopt_join *j, const void *key, size_t keylen, int64_t *ts_ms);

/* Returns the payload without removing it (still owned by the table), or
 * NULL. The caller may change the payload but must then report its new size
 * with llmopt_join_resize(). */
void *llmopt_join_peek(llmopt_join *j, const void *key, size_t keylen, int64_t *ts_ms);
void llmopt_join_resize(llmopt_join *j, const void *key, size_t keylen, size_t payload_bytes);

/* The hash every table uses for key (the same function for all tables), so
 * a caller that looks one key up in several tables hashes it once and
 * passes h to the _h variants below, which behave exactly as put, take and
 * peek. h must be llmopt_join_hash(key, keylen). */
uint64_t llmopt_join_hash(const void *key, size_t keylen);
llmopt_err_t llmopt_join_put_h(llmopt_join *j, const void *key, size_t keylen, uint64_t h,
                               int64_t ts_ms, void *payload, size_t payload_bytes);
void *llmopt_join_take_h(llmopt_join *j, const void *key, size_t keylen, uint64_t h,
                         int64_t *ts_ms);
void *llmopt_join_peek_h(llmopt_join *j, const void *key, size_t keylen, uint64_t h,
                         int64_t *ts_ms);

/* Expires, in (ts_ms, sequence) order, every entry with
 * ts_ms + ttl_ms <= watermark_ms. Returns how many expired. */
size_t llmopt_join_expire(llmopt_join *j, int64_t watermark_ms);

void llmopt_join_get_stats(const llmopt_join *j, llmopt_join_stats *st);

/* Checkpoint. The payload codec is the caller's: write_payload appends one
 * payload, read_payload parses one (returning NULL and setting r->err on bad
 * input) and reports its accounted size. Entries are written in expiry order;
 * restoring rebuilds an identical table (same expiry order, same counters). */
typedef void (llmopt_join_write_payload_cb)(void *opaque, llmopt_wbuf *w, const void *payload);
typedef void *(llmopt_join_read_payload_cb)(void *opaque, llmopt_rbuf *r, size_t *payload_bytes);
void llmopt_join_serialize(const llmopt_join *j, llmopt_wbuf *w,
                           llmopt_join_write_payload_cb *wp, void *opaque);
/* Restores into an empty table made with the same config. Returns LLMOPT_OK,
 * LLMOPT_ERR_STATE if the table is not empty, or the reader's error (the
 * table is then emptied again). */
llmopt_err_t llmopt_join_deserialize(llmopt_join *j, llmopt_rbuf *r,
                                     llmopt_join_read_payload_cb *rp, void *opaque);

#endif
