/*
 * pg.h - one Postgres session (libpq) that survives restarts of its backend.
 *
 * An llmopt_pg owns one PGconn. It is not thread safe: one thread uses a
 * handle at a time. Every call that talks to the server returns an
 * llmopt_err_t and, on failure, copies PQerrorMessage (trailing newline
 * removed) into errstr; the SQLSTATE and a coarse class of the last failure
 * stay readable through llmopt_pg_sqlstate() / llmopt_pg_errclass() until the
 * next call, so a caller such as the sink can tell "this row is refused"
 * (class 23, do not retry) from "the connection is gone" (class 08, a
 * terminated backend, or PQstatus bad: reconnect and retry the transaction).
 *
 * Failure codes used throughout:
 *   LLMOPT_ERR_INVALID  bad argument, or the server refused the data (class 23)
 *   LLMOPT_ERR_IO       connection lost or any other server-side error
 *   LLMOPT_ERR_TIMEOUT  a deadline passed (connect retries, lock, wait)
 *   LLMOPT_ERR_STATE    call not valid now (e.g. copy_put outside a COPY)
 *
 * Reconnection is never silent: a statement that fails because the backend
 * went away returns LLMOPT_ERR_IO with class LLMOPT_PG_ERRCLASS_CONNECTION,
 * and the caller decides to call llmopt_pg_reconnect() (or _ensure()) and
 * redo its whole transaction; replaying half a transaction on a fresh session
 * would be wrong. After a reconnect the handle re-issues LISTEN for every
 * channel it listened on; session advisory locks are lost with the old
 * session, so a lock holder must take them again (and may find them taken).
 *
 * The DSN (key=value or postgresql:// URI) may contain a password. No message
 * produced here contains it: the DSN is only shown through
 * llmopt_pg_dsn_redact(), and server messages are scrubbed of the password
 * text in case a server or proxy echoes it.
 */
#ifndef LLMOPT_PG_H
#define LLMOPT_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct llmopt_pg llmopt_pg;

/* Backoff between connection attempts: attempt k (0-based) waits
 * min(max_ms, base_ms * 2^k) scaled by a uniform factor in
 * [1 - jitter, 1 + jitter], never more than max_ms. Retrying stops after
 * max_attempts attempts or once deadline_ms has passed since the first
 * attempt, whichever comes first (0 disables that bound; at least one of the
 * two must be set). */
typedef struct llmopt_pg_retry {
    int base_ms;      /* first backoff; default 100 */
    int max_ms;       /* backoff cap; default 5000 */
    double jitter;    /* 0..1; default 0.2 */
    int max_attempts; /* 0 = unbounded; default 10 */
    int deadline_ms;  /* 0 = unbounded; default 60000 */
} llmopt_pg_retry;

typedef enum llmopt_pg_errclass {
    LLMOPT_PG_ERRCLASS_NONE = 0,   /* last call succeeded */
    LLMOPT_PG_ERRCLASS_CONNECTION, /* class 08, 57P01..57P03, or session unusable */
    LLMOPT_PG_ERRCLASS_CONSTRAINT, /* class 23: data refused, retrying cannot help */
    LLMOPT_PG_ERRCLASS_TRANSIENT,  /* 40001, 40P01, 55P03, 57014: redo the transaction */
    LLMOPT_PG_ERRCLASS_OTHER,      /* syntax, missing object, ...: a bug or schema drift */
} llmopt_pg_errclass;

/* A received notification; strings owned by the struct. */
typedef struct llmopt_pg_note {
    char *channel;
    char *payload;
    int be_pid; /* backend that sent it */
} llmopt_pg_note;

void llmopt_pg_retry_default(llmopt_pg_retry *retry);

/* Pure backoff computation, exposed for tests: the wait before attempt
 * `attempt` + 1 given a uniform draw u in [0, 1). */
int llmopt_pg_backoff_ms(const llmopt_pg_retry *retry, unsigned attempt, double u);

/* Copies dsn into out with any password replaced by "***" (key=value form:
 * password='***'; URIs are rewritten to key=value). If dsn cannot be parsed,
 * writes "<unparseable dsn>" rather than risk echoing a secret. Always
 * NUL-terminates when out_size > 0. */
void llmopt_pg_dsn_redact(const char *dsn, char *out, size_t out_size);

/* Connects, retrying per `retry` (NULL = defaults). On success *out owns a
 * connected handle. On failure *out is NULL and errstr names the redacted
 * DSN and the last libpq error: LLMOPT_ERR_INVALID for an unparseable DSN,
 * LLMOPT_ERR_TIMEOUT when attempts or deadline ran out. */
llmopt_err_t llmopt_pg_new(llmopt_pg **out, const char *dsn, const llmopt_pg_retry *retry,
                           char *errstr, size_t errstr_size);
void llmopt_pg_destroy(llmopt_pg *pg); /* NULL is a no-op; closes the session */

/* The underlying connection, for libpq calls not wrapped here. Valid until
 * the next reconnect; do not PQfinish it. */
PGconn *llmopt_pg_conn(llmopt_pg *pg);

/* Drops the current session and connects again with backoff, then re-LISTENs.
 * Same failures as llmopt_pg_new; on failure the handle stays usable for a
 * later reconnect. */
llmopt_err_t llmopt_pg_reconnect(llmopt_pg *pg, char *errstr, size_t errstr_size);
/* Reconnects only if the session is known to be broken (PQstatus bad). */
llmopt_err_t llmopt_pg_ensure(llmopt_pg *pg, char *errstr, size_t errstr_size);
/* Round trip "SELECT 1" within timeout_ms (statement_timeout); fails with
 * LLMOPT_ERR_IO and class CONNECTION when the backend is gone. Does not
 * reconnect. */
llmopt_err_t llmopt_pg_health(llmopt_pg *pg, int timeout_ms, char *errstr, size_t errstr_size);

/* Successful reconnects since _new (observability and tests). */
unsigned llmopt_pg_reconnect_count(const llmopt_pg *pg);
/* SQLSTATE of the last failure ("" when none or no server error). */
const char *llmopt_pg_sqlstate(const llmopt_pg *pg);
llmopt_pg_errclass llmopt_pg_errclass_of(const llmopt_pg *pg);
/* Pure classification of a SQLSTATE (NULL or "" = OTHER). */
llmopt_pg_errclass llmopt_pg_classify_sqlstate(const char *sqlstate);

/* Runs sql (may hold several statements when nparams is 0) and discards the
 * result. params are text values, NULL entries are SQL NULL. */
llmopt_err_t llmopt_pg_exec(llmopt_pg *pg, const char *sql, int nparams,
                            const char *const *params, char *errstr, size_t errstr_size);
/* Like _exec but hands the result (PGRES_TUPLES_OK or PGRES_COMMAND_OK) to
 * the caller, who must PQclear(*res). *res is NULL on failure. */
llmopt_err_t llmopt_pg_query(llmopt_pg *pg, const char *sql, int nparams,
                             const char *const *params, PGresult **res, char *errstr,
                             size_t errstr_size);

/* Transactions. _rollback is safe to call in any state (a no-op outside a
 * transaction, and on a dead session it only records the failure). */
llmopt_err_t llmopt_pg_begin(llmopt_pg *pg, char *errstr, size_t errstr_size);
llmopt_err_t llmopt_pg_commit(llmopt_pg *pg, char *errstr, size_t errstr_size);
llmopt_err_t llmopt_pg_rollback(llmopt_pg *pg, char *errstr, size_t errstr_size);
bool llmopt_pg_in_tx(const llmopt_pg *pg);

/* Session advisory locks (pg_advisory_lock family), held until unlocked or
 * the session ends. llmopt_pg_lock_key() maps a name such as
 * "llmopt.controller" to a stable 64-bit key (FNV-1a). */
int64_t llmopt_pg_lock_key(const char *name);
/* *acquired tells whether the lock was free. */
llmopt_err_t llmopt_pg_lock_try(llmopt_pg *pg, int64_t key, bool *acquired, char *errstr,
                                size_t errstr_size);
/* Waits for the lock; timeout_ms <= 0 waits forever, otherwise
 * LLMOPT_ERR_TIMEOUT once it passes (implemented with lock_timeout). */
llmopt_err_t llmopt_pg_lock(llmopt_pg *pg, int64_t key, int timeout_ms, char *errstr,
                            size_t errstr_size);
/* LLMOPT_ERR_STATE if this session did not hold the lock. */
llmopt_err_t llmopt_pg_unlock(llmopt_pg *pg, int64_t key, char *errstr, size_t errstr_size);

/* LISTEN on channel (quoted as an identifier; remembered for reconnects). */
llmopt_err_t llmopt_pg_listen(llmopt_pg *pg, const char *channel, char *errstr,
                              size_t errstr_size);
/* pg_notify(channel, payload); delivered at commit if inside a transaction. */
llmopt_err_t llmopt_pg_notify(llmopt_pg *pg, const char *channel, const char *payload,
                              char *errstr, size_t errstr_size);
/* Waits up to timeout_ms (0 = just check, < 0 = forever) for one
 * notification, using poll() on PQsocket. On success fills *note (release it
 * with llmopt_pg_note_release); LLMOPT_ERR_TIMEOUT if none came, LLMOPT_ERR_IO
 * (class CONNECTION) if the session broke while waiting. */
llmopt_err_t llmopt_pg_wait_note(llmopt_pg *pg, int timeout_ms, llmopt_pg_note *note,
                                 char *errstr, size_t errstr_size);
void llmopt_pg_note_release(llmopt_pg_note *note);

/* COPY ... FROM STDIN. _copy_begin runs the COPY statement; _copy_put sends
 * bytes in the statement's format (any split of rows across calls is fine);
 * _copy_end finishes and reports the server's verdict (a bad row fails here,
 * with its SQLSTATE), storing the row count in *rows when rows is not NULL;
 * _copy_abort makes the server discard the COPY. After any _copy_put or
 * _copy_end failure the COPY is over: do not call _copy_end again. */
llmopt_err_t llmopt_pg_copy_begin(llmopt_pg *pg, const char *copy_sql, char *errstr,
                                  size_t errstr_size);
llmopt_err_t llmopt_pg_copy_put(llmopt_pg *pg, const void *data, size_t len, char *errstr,
                                size_t errstr_size);
llmopt_err_t llmopt_pg_copy_end(llmopt_pg *pg, uint64_t *rows, char *errstr,
                                size_t errstr_size);
void llmopt_pg_copy_abort(llmopt_pg *pg, const char *reason);

#endif
