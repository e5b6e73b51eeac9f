/* pg.c - Postgres session with backoff reconnects; see pg.h for the contract. */
#include "common/pg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct llmopt_pg {
    char *dsn;      /* as given: may hold a password, never printed */
    char *dsn_safe; /* redacted, for messages */
    char *password; /* to scrub from server messages, or NULL */
    llmopt_pg_retry retry;
    PGconn *conn; /* NULL only after a failed reconnect */
    unsigned reconnects;
    char sqlstate[6];
    llmopt_pg_errclass errclass;
    char **channels; /* LISTENed channels, re-issued after reconnects */
    size_t nchannels;
    uint64_t rng; /* xorshift64* state for jitter */
    bool in_copy;
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double rng_uniform(llmopt_pg *pg) {
    uint64_t x = pg->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    pg->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* libpq prints NOTICE and WARNING to stderr by default; migrations
 * ("extension already exists, skipping") and pg_advisory_unlock of a lock not
 * held would litter the output of every tool. Callers that care use the
 * result status, not notices. */
static void quiet_notices(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

void llmopt_pg_retry_default(llmopt_pg_retry *retry) {
    retry->base_ms = 100;
    retry->max_ms = 5000;
    retry->jitter = 0.2;
    retry->max_attempts = 10;
    retry->deadline_ms = 60000;
}

int llmopt_pg_backoff_ms(const llmopt_pg_retry *retry, unsigned attempt, double u) {
    double d = retry->base_ms > 0 ? retry->base_ms : 1;
    for (unsigned i = 0; i < attempt && d < retry->max_ms; i++)
        d *= 2;
    if (d > retry->max_ms)
        d = retry->max_ms;
    double j = retry->jitter < 0 ? 0 : retry->jitter > 1 ? 1 : retry->jitter;
    d *= 1.0 - j + 2.0 * j * u;
    if (d > retry->max_ms)
        d = retry->max_ms;
    return d < 0 ? 0 : (int)d;
}

/* Appends src to out as a libpq single-quoted value. */
static size_t put_quoted(char *out, size_t size, size_t at, const char *src) {
    if (at < size)
        out[at] = '\'';
    at++;
    for (const char *p = src; *p; p++) {
        if (*p == '\'' || *p == '\\') {
            if (at < size)
                out[at] = '\\';
            at++;
        }
        if (at < size)
            out[at] = *p;
        at++;
    }
    if (at < size)
        out[at] = '\'';
    return at + 1;
}

static size_t put_str(char *out, size_t size, size_t at, const char *src) {
    for (const char *p = src; *p; p++, at++)
        if (at < size)
            out[at] = *p;
    return at;
}

void llmopt_pg_dsn_redact(const char *dsn, char *out, size_t out_size) {
    if (!out || out_size == 0)
        return;
    char *perr = NULL;
    PQconninfoOption *opts = dsn ? PQconninfoParse(dsn, &perr) : NULL;
    if (perr)
        PQfreemem(perr); /* may quote part of the DSN: never shown */
    if (!opts) {
        snprintf(out, out_size, "<unparseable dsn>");
        return;
    }
    size_t at = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (at > 0)
            at = put_str(out, out_size, at, " ");
        at = put_str(out, out_size, at, o->keyword);
        at = put_str(out, out_size, at, "=");
        at = put_quoted(out, out_size, at, strcmp(o->keyword, "password") == 0 ? "***" : o->val);
    }
    out[at < out_size ? at : out_size - 1] = '\0';
    PQconninfoFree(opts);
}

/* Copies msg into errstr with the password replaced, newlines folded into
 * "; " and the trailing newline dropped. */
static void copy_scrubbed(const llmopt_pg *pg, char *errstr, size_t errstr_size,
                          const char *prefix, const char *msg) {
    if (!errstr || errstr_size == 0)
        return;
    size_t plen = pg->password ? strlen(pg->password) : 0;
    size_t at = prefix ? put_str(errstr, errstr_size, 0, prefix) : 0;
    const char *p = msg ? msg : "";
    while (*p) {
        if (plen && strncmp(p, pg->password, plen) == 0) {
            at = put_str(errstr, errstr_size, at, "***");
            p += plen;
        } else if (*p == '\n') {
            while (*p == '\n' || *p == ' ' || *p == '\t')
                p++;
            if (*p)
                at = put_str(errstr, errstr_size, at, "; ");
        } else {
            if (at < errstr_size)
                errstr[at] = *p;
            at++;
            p++;
        }
    }
    errstr[at < errstr_size ? at : errstr_size - 1] = '\0';
}

llmopt_pg_errclass llmopt_pg_classify_sqlstate(const char *s) {
    if (!s || strlen(s) != 5)
        return LLMOPT_PG_ERRCLASS_OTHER;
    if (strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
        strcmp(s, "57P03") == 0)
        return LLMOPT_PG_ERRCLASS_CONNECTION;
    if (strncmp(s, "23", 2) == 0)
        return LLMOPT_PG_ERRCLASS_CONSTRAINT;
    if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 || strcmp(s, "55P03") == 0 ||
        strcmp(s, "57014") == 0 || strncmp(s, "53", 2) == 0)
        return LLMOPT_PG_ERRCLASS_TRANSIENT;
    return LLMOPT_PG_ERRCLASS_OTHER;
}

static void clear_error(llmopt_pg *pg) {
    pg->sqlstate[0] = '\0';
    pg->errclass = LLMOPT_PG_ERRCLASS_NONE;
}

/* Records the failure carried by res (may be NULL: then the connection's
 * message) and returns the matching llmopt_err_t. */
static llmopt_err_t fail(llmopt_pg *pg, const PGresult *res, char *errstr, size_t errstr_size) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state ? state : "");
    if (!pg->conn || PQstatus(pg->conn) == CONNECTION_BAD)
        pg->errclass = LLMOPT_PG_ERRCLASS_CONNECTION;
    else
        pg->errclass = llmopt_pg_classify_sqlstate(pg->sqlstate);
    const char *msg = NULL;
    if (res && PQresultErrorMessage(res)[0])
        msg = PQresultErrorMessage(res);
    else if (pg->conn)
        msg = PQerrorMessage(pg->conn);
    copy_scrubbed(pg, errstr, errstr_size, NULL,
                  msg && msg[0] ? msg : (pg->conn ? "unexpected empty result" : "no connection"));
    return pg->errclass == LLMOPT_PG_ERRCLASS_CONSTRAINT ? LLMOPT_ERR_INVALID : LLMOPT_ERR_IO;
}

/* One connection attempt bounded by deadline (ms since the monotonic epoch,
 * 0 = none). Returns the connection, good or bad; NULL only on OOM. */
static PGconn *connect_once(const char *dsn, int64_t deadline) {
    PGconn *c = PQconnectStart(dsn);
    if (!c || PQstatus(c) == CONNECTION_BAD)
        return c;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        struct pollfd pfd = {PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0};
        int wait = -1;
        if (deadline) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                break;
            wait = (int)left;
        }
        int r = poll(&pfd, 1, wait);
        if (r < 0 && errno != EINTR)
            break;
        if (r == 0)
            break; /* deadline */
        st = PQconnectPoll(c);
    }
    return c;
}

static llmopt_err_t relisten(llmopt_pg *pg, char *errstr, size_t errstr_size);

/* Replaces pg->conn with a fresh session, retrying with backoff. */
static llmopt_err_t connect_retry(llmopt_pg *pg, char *errstr, size_t errstr_size) {
    int64_t start = now_ms();
    int64_t deadline = pg->retry.deadline_ms > 0 ? start + pg->retry.deadline_ms : 0;
    char last[512] = "no attempt made";
    unsigned attempt = 0;
    for (;;) {
        PGconn *c = connect_once(pg->dsn, deadline);
        attempt++;
        if (c && PQstatus(c) == CONNECTION_OK) {
            PQsetNoticeProcessor(c, quiet_notices, NULL);
            pg->conn = c;
            clear_error(pg);
            llmopt_err_t e = relisten(pg, errstr, errstr_size);
            if (e == LLMOPT_OK)
                return LLMOPT_OK;
            /* the fresh session broke already: count it as a failed attempt */
            snprintf(last, sizeof(last), "%s", errstr ? errstr : "listen failed");
            PQfinish(pg->conn);
            pg->conn = NULL;
        } else {
            copy_scrubbed(pg, last, sizeof(last), NULL,
                          c && PQerrorMessage(c)[0] ? PQerrorMessage(c) : "connection timed out");
            PQfinish(c);
        }
        if (pg->retry.max_attempts > 0 && attempt >= (unsigned)pg->retry.max_attempts)
            break;
        int wait = llmopt_pg_backoff_ms(&pg->retry, attempt - 1, rng_uniform(pg));
        if (deadline && now_ms() + wait >= deadline)
            break;
        sleep_ms(wait);
    }
    pg->errclass = LLMOPT_PG_ERRCLASS_CONNECTION;
    pg->sqlstate[0] = '\0';
    return llmopt_errf(LLMOPT_ERR_TIMEOUT, errstr, errstr_size,
                       "cannot connect to '%s' after %u attempts in %lld ms: %s", pg->dsn_safe,
                       attempt, (long long)(now_ms() - start), last);
}

llmopt_err_t llmopt_pg_new(llmopt_pg **out, const char *dsn, const llmopt_pg_retry *retry,
                           char *errstr, size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_NOMEM;
    llmopt_pg *pg = NULL;
    PQconninfoOption *opts = NULL;
    *out = NULL;
    if (!dsn)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "missing dsn");
    llmopt_pg_retry r;
    if (retry)
        r = *retry;
    else
        llmopt_pg_retry_default(&r);
    if (r.max_attempts <= 0 && r.deadline_ms <= 0)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "retry needs 'max_attempts' or 'deadline_ms'");
    if (r.base_ms < 0 || r.max_ms < r.base_ms || !(r.jitter >= 0 && r.jitter <= 1))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "retry needs 0 <= 'base_ms' <= 'max_ms' and 0 <= 'jitter' <= 1");
    char *perr = NULL;
    opts = PQconninfoParse(dsn, &perr);
    if (perr)
        PQfreemem(perr);
    if (!opts)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid dsn (libpq cannot parse it)");
    pg = calloc(1, sizeof(*pg));
    if (!pg)
        goto out;
    pg->retry = r;
    pg->dsn = strdup(dsn);
    size_t safe_len = strlen(dsn) * 2 + 256;
    pg->dsn_safe = malloc(safe_len);
    if (!pg->dsn || !pg->dsn_safe)
        goto out;
    llmopt_pg_dsn_redact(dsn, pg->dsn_safe, safe_len);
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0])
            if (!(pg->password = strdup(o->val)))
                goto out;
    pg->rng = ((uint64_t)getpid() << 32) ^ (uint64_t)now_ms() ^ (uint64_t)(uintptr_t)pg;
    if (!pg->rng)
        pg->rng = 0x9e3779b97f4a7c15ULL;
    result = connect_retry(pg, errstr, errstr_size);
    if (result != LLMOPT_OK)
        goto out;
    *out = pg;
    pg = NULL;
    result = LLMOPT_OK;
out:
    if (result == LLMOPT_ERR_NOMEM)
        llmopt_errf(result, errstr, errstr_size, "out of memory");
    PQconninfoFree(opts);
    llmopt_pg_destroy(pg);
    return result;
}

void llmopt_pg_destroy(llmopt_pg *pg) {
    if (!pg)
        return;
    if (pg->conn)
        PQfinish(pg->conn);
    for (size_t i = 0; i < pg->nchannels; i++)
        free(pg->channels[i]);
    free(pg->channels);
    free(pg->dsn);
    free(pg->dsn_safe);
    if (pg->password) {
        memset(pg->password, 0, strlen(pg->password));
        free(pg->password);
    }
    free(pg);
}

PGconn *llmopt_pg_conn(llmopt_pg *pg) { return pg->conn; }
unsigned llmopt_pg_reconnect_count(const llmopt_pg *pg) { return pg->reconnects; }
const char *llmopt_pg_sqlstate(const llmopt_pg *pg) { return pg->sqlstate; }
llmopt_pg_errclass llmopt_pg_errclass_of(const llmopt_pg *pg) { return pg->errclass; }

llmopt_err_t llmopt_pg_reconnect(llmopt_pg *pg, char *errstr, size_t errstr_size) {
    if (pg->conn) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    pg->in_copy = false;
    llmopt_err_t e = connect_retry(pg, errstr, errstr_size);
    if (e == LLMOPT_OK)
        pg->reconnects++;
    return e;
}

llmopt_err_t llmopt_pg_ensure(llmopt_pg *pg, char *errstr, size_t errstr_size) {
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK)
        return LLMOPT_OK;
    return llmopt_pg_reconnect(pg, errstr, errstr_size);
}

static llmopt_err_t need_conn(llmopt_pg *pg, char *errstr, size_t errstr_size) {
    if (pg->in_copy)
        return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                           "session '%s' is inside a COPY", pg->dsn_safe);
    if (!pg->conn) {
        pg->errclass = LLMOPT_PG_ERRCLASS_CONNECTION;
        pg->sqlstate[0] = '\0';
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "no connection to '%s'",
                           pg->dsn_safe);
    }
    return LLMOPT_OK;
}

/* Reads and discards results until the connection is idle, ending any COPY
 * the server started (PQgetResult alone would return COPY states forever). */
static void drain(llmopt_pg *pg) {
    PGresult *r;
    for (int guard = 0; pg->conn && guard < 1000 && (r = PQgetResult(pg->conn)) != NULL; guard++) {
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
            PQputCopyEnd(pg->conn, "abandoned by client");
        if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            char *buf = NULL;
            while (PQgetCopyData(pg->conn, &buf, 0) > 0)
                PQfreemem(buf);
        }
        if (PQstatus(pg->conn) == CONNECTION_BAD)
            break;
    }
}

llmopt_err_t llmopt_pg_query(llmopt_pg *pg, const char *sql, int nparams,
                             const char *const *params, PGresult **res, char *errstr,
                             size_t errstr_size) {
    *res = NULL;
    llmopt_err_t e = need_conn(pg, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    PGresult *r = nparams > 0 ? PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0)
                              : PQexec(pg->conn, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        /* a COPY through the plain query path: end it so the session stays usable */
        if (st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
            PQputCopyEnd(pg->conn, "COPY is not allowed through llmopt_pg_query");
        if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            char *buf = NULL;
            while (PQgetCopyData(pg->conn, &buf, 0) > 0)
                PQfreemem(buf);
        }
        PQclear(r);
        drain(pg);
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "COPY needs llmopt_pg_copy_begin");
    }
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        e = fail(pg, r, errstr, errstr_size);
        PQclear(r);
        return e;
    }
    clear_error(pg);
    *res = r;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_pg_exec(llmopt_pg *pg, const char *sql, int nparams,
                            const char *const *params, char *errstr, size_t errstr_size) {
    PGresult *r = NULL;
    llmopt_err_t e = llmopt_pg_query(pg, sql, nparams, params, &r, errstr, errstr_size);
    PQclear(r);
    return e;
}

llmopt_err_t llmopt_pg_health(llmopt_pg *pg, int timeout_ms, char *errstr, size_t errstr_size) {
    llmopt_err_t e = need_conn(pg, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    if (!PQsendQuery(pg->conn, "SELECT 1"))
        return fail(pg, NULL, errstr, errstr_size);
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
    bool timed_out = false;
    while (PQisBusy(pg->conn)) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd pfd = {PQsocket(pg->conn), POLLIN, 0};
        int rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && !PQconsumeInput(pg->conn))
            break;
    }
    if (timed_out) {
        PGcancel *cancel = PQgetCancel(pg->conn);
        char buf[256];
        if (cancel) {
            PQcancel(cancel, buf, sizeof(buf));
            PQfreeCancel(cancel);
        }
    }
    e = LLMOPT_OK;
    PGresult *r;
    bool ok = false;
    while ((r = PQgetResult(pg->conn)) != NULL) {
        if (PQresultStatus(r) == PGRES_TUPLES_OK)
            ok = true;
        else if (e == LLMOPT_OK)
            e = fail(pg, r, errstr, errstr_size);
        PQclear(r);
    }
    if (timed_out) {
        pg->errclass = LLMOPT_PG_ERRCLASS_TRANSIENT;
        return llmopt_errf(LLMOPT_ERR_TIMEOUT, errstr, errstr_size,
                           "health check on '%s' took over %d ms", pg->dsn_safe, timeout_ms);
    }
    if (e == LLMOPT_OK && !ok)
        e = fail(pg, NULL, errstr, errstr_size);
    if (e == LLMOPT_OK)
        clear_error(pg);
    return e;
}

llmopt_err_t llmopt_pg_begin(llmopt_pg *pg, char *errstr, size_t errstr_size) {
    return llmopt_pg_exec(pg, "BEGIN", 0, NULL, errstr, errstr_size);
}

llmopt_err_t llmopt_pg_commit(llmopt_pg *pg, char *errstr, size_t errstr_size) {
    /* COMMIT of an aborted transaction "succeeds" as ROLLBACK: report it */
    bool aborted = pg->conn && PQtransactionStatus(pg->conn) == PQTRANS_INERROR;
    PGresult *r = NULL;
    llmopt_err_t e = llmopt_pg_query(pg, "COMMIT", 0, NULL, &r, errstr, errstr_size);
    if (e == LLMOPT_OK && (aborted || strcmp(PQcmdStatus(r), "ROLLBACK") == 0)) {
        pg->errclass = LLMOPT_PG_ERRCLASS_OTHER;
        snprintf(pg->sqlstate, sizeof(pg->sqlstate), "25P02");
        e = llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                        "transaction was aborted earlier and has been rolled back");
    }
    PQclear(r);
    return e;
}

llmopt_err_t llmopt_pg_rollback(llmopt_pg *pg, char *errstr, size_t errstr_size) {
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK &&
        PQtransactionStatus(pg->conn) == PQTRANS_IDLE)
        return LLMOPT_OK;
    return llmopt_pg_exec(pg, "ROLLBACK", 0, NULL, errstr, errstr_size);
}

bool llmopt_pg_in_tx(const llmopt_pg *pg) {
    if (!pg->conn)
        return false;
    PGTransactionStatusType t = PQtransactionStatus(pg->conn);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

int64_t llmopt_pg_lock_key(const char *name) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return (int64_t)h;
}

/* Runs a one-row boolean query with the key as its parameter. */
static llmopt_err_t bool_query(llmopt_pg *pg, const char *sql, int64_t key, bool *value,
                               char *errstr, size_t errstr_size) {
    char kbuf[32];
    snprintf(kbuf, sizeof(kbuf), "%lld", (long long)key);
    const char *params[1] = {kbuf};
    PGresult *r = NULL;
    llmopt_err_t e = llmopt_pg_query(pg, sql, 1, params, &r, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    if (value)
        *value = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_pg_lock_try(llmopt_pg *pg, int64_t key, bool *acquired, char *errstr,
                                size_t errstr_size) {
    *acquired = false;
    return bool_query(pg, "SELECT pg_try_advisory_lock($1::bigint)", key, acquired, errstr,
                      errstr_size);
}

llmopt_err_t llmopt_pg_lock(llmopt_pg *pg, int64_t key, int timeout_ms, char *errstr,
                            size_t errstr_size) {
    if (timeout_ms <= 0)
        return bool_query(pg, "SELECT pg_advisory_lock($1::bigint) IS NULL", key, NULL, errstr,
                          errstr_size);
    llmopt_err_t result = LLMOPT_ERR_IO;
    PGresult *old = NULL;
    char tbuf[32];
    snprintf(tbuf, sizeof(tbuf), "%dms", timeout_ms);
    const char *set_params[1] = {tbuf};
    result = llmopt_pg_query(pg, "SELECT current_setting('lock_timeout')", 0, NULL, &old, errstr,
                             errstr_size);
    if (result != LLMOPT_OK)
        goto out;
    result = llmopt_pg_exec(pg, "SELECT set_config('lock_timeout', $1, false)", 1, set_params,
                            errstr, errstr_size);
    if (result != LLMOPT_OK)
        goto out;
    result = bool_query(pg, "SELECT pg_advisory_lock($1::bigint) IS NULL", key, NULL, errstr,
                        errstr_size);
    if (result != LLMOPT_OK && strcmp(pg->sqlstate, "55P03") == 0)
        result = llmopt_errf(LLMOPT_ERR_TIMEOUT, errstr, errstr_size,
                             "advisory lock '%lld' still held by another session after %d ms",
                             (long long)key, timeout_ms);
    /* restore the session setting; a failure here must not hide the lock result */
    const char *restore[1] = {PQgetvalue(old, 0, 0)};
    char save_state[6];
    llmopt_pg_errclass save_class = pg->errclass;
    memcpy(save_state, pg->sqlstate, sizeof(save_state));
    if (pg->conn && PQtransactionStatus(pg->conn) != PQTRANS_INERROR)
        llmopt_pg_exec(pg, "SELECT set_config('lock_timeout', $1, false)", 1, restore, NULL, 0);
    pg->errclass = save_class;
    memcpy(pg->sqlstate, save_state, sizeof(save_state));
out:
    PQclear(old);
    return result;
}

llmopt_err_t llmopt_pg_unlock(llmopt_pg *pg, int64_t key, char *errstr, size_t errstr_size) {
    bool held = false;
    llmopt_err_t e = bool_query(pg, "SELECT pg_advisory_unlock($1::bigint)", key, &held, errstr,
                                errstr_size);
    if (e == LLMOPT_OK && !held)
        return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                           "advisory lock '%lld' was not held by this session", (long long)key);
    return e;
}

static llmopt_err_t listen_one(llmopt_pg *pg, const char *channel, char *errstr,
                               size_t errstr_size) {
    char *ident = PQescapeIdentifier(pg->conn, channel, strlen(channel));
    if (!ident)
        return fail(pg, NULL, errstr, errstr_size);
    size_t n = strlen(ident) + 8;
    char *sql = malloc(n);
    if (!sql) {
        PQfreemem(ident);
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    snprintf(sql, n, "LISTEN %s", ident);
    PQfreemem(ident);
    llmopt_err_t e = llmopt_pg_exec(pg, sql, 0, NULL, errstr, errstr_size);
    free(sql);
    return e;
}

static llmopt_err_t relisten(llmopt_pg *pg, char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < pg->nchannels; i++) {
        llmopt_err_t e = listen_one(pg, pg->channels[i], errstr, errstr_size);
        if (e != LLMOPT_OK)
            return e;
    }
    return LLMOPT_OK;
}

llmopt_err_t llmopt_pg_listen(llmopt_pg *pg, const char *channel, char *errstr,
                              size_t errstr_size) {
    if (!channel || !channel[0])
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "empty channel name");
    llmopt_err_t e = need_conn(pg, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    e = listen_one(pg, channel, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    for (size_t i = 0; i < pg->nchannels; i++)
        if (strcmp(pg->channels[i], channel) == 0)
            return LLMOPT_OK;
    char **grown = realloc(pg->channels, (pg->nchannels + 1) * sizeof(*grown));
    if (!grown)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    pg->channels = grown;
    if (!(pg->channels[pg->nchannels] = strdup(channel)))
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    pg->nchannels++;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_pg_notify(llmopt_pg *pg, const char *channel, const char *payload,
                              char *errstr, size_t errstr_size) {
    const char *params[2] = {channel, payload ? payload : ""};
    return llmopt_pg_exec(pg, "SELECT pg_notify($1, $2)", 2, params, errstr, errstr_size);
}

void llmopt_pg_note_release(llmopt_pg_note *note) {
    if (!note)
        return;
    free(note->channel);
    free(note->payload);
    note->channel = note->payload = NULL;
}

llmopt_err_t llmopt_pg_wait_note(llmopt_pg *pg, int timeout_ms, llmopt_pg_note *note,
                                 char *errstr, size_t errstr_size) {
    memset(note, 0, sizeof(*note));
    llmopt_err_t e = need_conn(pg, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (!PQconsumeInput(pg->conn) || PQstatus(pg->conn) == CONNECTION_BAD)
            return fail(pg, NULL, errstr, errstr_size);
        PGnotify *n = PQnotifies(pg->conn);
        if (n) {
            note->channel = strdup(n->relname);
            note->payload = strdup(n->extra ? n->extra : "");
            note->be_pid = n->be_pid;
            PQfreemem(n);
            if (!note->channel || !note->payload) {
                llmopt_pg_note_release(note);
                return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            }
            clear_error(pg);
            return LLMOPT_OK;
        }
        int wait = -1;
        if (timeout_ms >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                return llmopt_errf(LLMOPT_ERR_TIMEOUT, errstr, errstr_size,
                                   "no notification within %d ms", timeout_ms);
            wait = (int)left;
        }
        int sock = PQsocket(pg->conn);
        if (sock < 0)
            return fail(pg, NULL, errstr, errstr_size);
        struct pollfd pfd = {sock, POLLIN, 0};
        if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
            return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "poll: %s", strerror(errno));
    }
}

llmopt_err_t llmopt_pg_copy_begin(llmopt_pg *pg, const char *copy_sql, char *errstr,
                                  size_t errstr_size) {
    llmopt_err_t e = need_conn(pg, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    PGresult *r = PQexec(pg->conn, copy_sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        if (r && PQresultStatus(r) == PGRES_COPY_OUT) {
            char *buf = NULL;
            while (PQgetCopyData(pg->conn, &buf, 0) > 0)
                PQfreemem(buf);
            PQclear(r);
            drain(pg);
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "'%s' is not a COPY ... FROM STDIN", copy_sql);
        }
        e = fail(pg, r, errstr, errstr_size);
        if (e == LLMOPT_OK || (r && PQresultStatus(r) != PGRES_FATAL_ERROR))
            e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                            "'%s' is not a COPY ... FROM STDIN", copy_sql);
        PQclear(r);
        return e;
    }
    PQclear(r);
    pg->in_copy = true;
    clear_error(pg);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_pg_copy_put(llmopt_pg *pg, const void *data, size_t len, char *errstr,
                                size_t errstr_size) {
    if (!pg->in_copy || !pg->conn)
        return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size, "no COPY in progress");
    const char *p = data;
    while (len > 0) {
        /* PQputCopyData takes an int length */
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        if (PQputCopyData(pg->conn, p, n) != 1) {
            llmopt_err_t e = fail(pg, NULL, errstr, errstr_size);
            pg->in_copy = false;
            PQputCopyEnd(pg->conn, "client send failed");
            drain(pg);
            return e;
        }
        p += n;
        len -= (size_t)n;
    }
    return LLMOPT_OK;
}

llmopt_err_t llmopt_pg_copy_end(llmopt_pg *pg, uint64_t *rows, char *errstr,
                                size_t errstr_size) {
    if (rows)
        *rows = 0;
    if (!pg->in_copy || !pg->conn)
        return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size, "no COPY in progress");
    pg->in_copy = false;
    if (PQputCopyEnd(pg->conn, NULL) != 1) {
        llmopt_err_t e = fail(pg, NULL, errstr, errstr_size);
        drain(pg);
        return e;
    }
    llmopt_err_t e = LLMOPT_OK;
    bool done = false;
    PGresult *r;
    while ((r = PQgetResult(pg->conn)) != NULL) {
        if (PQresultStatus(r) == PGRES_COMMAND_OK && e == LLMOPT_OK) {
            done = true;
            if (rows)
                *rows = strtoull(PQcmdTuples(r), NULL, 10);
        } else if (e == LLMOPT_OK) {
            e = fail(pg, r, errstr, errstr_size);
        }
        PQclear(r);
    }
    if (e == LLMOPT_OK && !done)
        e = fail(pg, NULL, errstr, errstr_size);
    if (e == LLMOPT_OK)
        clear_error(pg);
    return e;
}

void llmopt_pg_copy_abort(llmopt_pg *pg, const char *reason) {
    if (!pg->in_copy || !pg->conn)
        return;
    pg->in_copy = false;
    PQputCopyEnd(pg->conn, reason ? reason : "aborted by client");
    drain(pg);
}
