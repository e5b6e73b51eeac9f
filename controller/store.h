/*
 * store.h - the controller's Postgres state (sql/migrations/0010_controller.sql):
 * leader epoch, per-route versions and state blobs, the decision log,
 * consumed offsets, operator overrides, experiments.
 *
 * A flush is one transaction: llmopt_ctl_store_begin() opens it and checks
 * the caller's leader epoch (the fencing token: a deposed leader gets
 * LLMOPT_ERR_STATE and must stop), the _put_* calls add rows, _commit ends
 * it. Any failure rolls the transaction back; the caller keeps its pending
 * decisions and retries on the next flush (or steps down on STATE).
 *
 * Ownership: the store owns one llmopt_pg session (not the leader-lock
 * session, which the daemon keeps apart). One thread.
 */
#ifndef LLMOPT_CTL_STORE_H
#define LLMOPT_CTL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/pg.h"

typedef struct llmopt_ctl_store llmopt_ctl_store;

llmopt_ctl_store *llmopt_ctl_store_new(const char *dsn, char *errstr, size_t errstr_size);
void llmopt_ctl_store_destroy(llmopt_ctl_store *s); /* NULL: no-op */
llmopt_pg *llmopt_ctl_store_pg(llmopt_ctl_store *s);

/* Takes over: epoch = previous + 1 (1 for the first leader), recorded with
 * the instance name. */
llmopt_err_t llmopt_ctl_store_take_epoch(llmopt_ctl_store *s, const char *instance,
                                         int64_t *epoch, char *errstr, size_t errstr_size);

/* The persisted version of `route` (0 if none) and its state blob (malloc'd,
 * NULL if none; caller frees). */
llmopt_err_t llmopt_ctl_store_load_route(llmopt_ctl_store *s, const char *route,
                                         int64_t *version, uint8_t **blob, size_t *len,
                                         char *errstr, size_t errstr_size);

/* Stored next offsets: calls fn for each (topic, partition, next_offset). */
llmopt_err_t llmopt_ctl_store_load_offsets(llmopt_ctl_store *s,
                                           void (*fn)(void *ctx, const char *topic,
                                                      int32_t partition, int64_t next),
                                           void *ctx, char *errstr, size_t errstr_size);

/* Overrides of one route: calls fn per (arm, pinned, disabled) row. */
llmopt_err_t llmopt_ctl_store_load_overrides(llmopt_ctl_store *s, const char *route,
                                             void (*fn)(void *ctx, const char *arm, bool pinned,
                                                        bool disabled),
                                             void *ctx, char *errstr, size_t errstr_size);

/* ---- one flush ------------------------------------------------------- */

llmopt_err_t llmopt_ctl_store_begin(llmopt_ctl_store *s, int64_t epoch, char *errstr,
                                    size_t errstr_size);
llmopt_err_t llmopt_ctl_store_put_state(llmopt_ctl_store *s, const char *route,
                                        const uint8_t *blob, size_t len, char *errstr,
                                        size_t errstr_size);
/* Per-arm human summary rows. */
llmopt_err_t llmopt_ctl_store_put_arm(llmopt_ctl_store *s, const char *route, const char *arm,
                                      double n, double mean, uint64_t pulls,
                                      const char *breaker, double weight, char *errstr,
                                      size_t errstr_size);
/* The version row (must be exactly previous + 1: enforced in SQL, so a
 * reused version fails the flush) and the decision log row. */
llmopt_err_t llmopt_ctl_store_put_decision(llmopt_ctl_store *s, const char *route,
                                           int64_t version, int64_t ts_ms, int64_t epoch,
                                           const char *reason, const char *const *signal_ids,
                                           size_t n_signals, const char *experiment_id,
                                           const char *payload_json, const char *weights_json,
                                           char *errstr, size_t errstr_size);
llmopt_err_t llmopt_ctl_store_put_offset(llmopt_ctl_store *s, const char *topic,
                                         int32_t partition, int64_t next, char *errstr,
                                         size_t errstr_size);
llmopt_err_t llmopt_ctl_store_commit(llmopt_ctl_store *s, char *errstr, size_t errstr_size);
void llmopt_ctl_store_rollback(llmopt_ctl_store *s);

/* Text helpers shared with the admin commands: a Postgres text[] literal of
 * n strings (malloc'd), and bytea hex input "\x..." (malloc'd). */
char *llmopt_ctl_pg_array(const char *const *items, size_t n);
char *llmopt_ctl_pg_bytea_hex(const uint8_t *data, size_t len);

#endif
