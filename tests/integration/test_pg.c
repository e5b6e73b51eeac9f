/* test_pg.c - common/pg against the real Postgres (LLMOPT_PG_DSN), in a
 * scratch database llmopt_test_<pid>_pg: DSN redaction, backoff arithmetic,
 * bounded connect retries, reconnect after pg_terminate_backend, error
 * classes with SQLSTATE, transactions, advisory locks between two sessions,
 * LISTEN/NOTIFY, COPY in. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/pg.h"
#include "tests/integration/pg_scratch.h"

static char *dsn;

static int suite_init(void) {
    dsn = pg_scratch_create("pg");
    return dsn ? 0 : -1;
}

static int suite_clean(void) {
    pg_scratch_drop("pg");
    free(dsn);
    return 0;
}

static double mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static llmopt_pg *open_pg(void) {
    char err[512] = "";
    llmopt_pg *pg = NULL;
    llmopt_err_t e = llmopt_pg_new(&pg, dsn, NULL, err, sizeof(err));
    if (e != LLMOPT_OK)
        fprintf(stderr, "connect: %s\n", err);
    return pg;
}

/* first column of the first row, as a long */
static long long scalar(llmopt_pg *pg, const char *sql) {
    PGresult *r = NULL;
    char err[512];
    if (llmopt_pg_query(pg, sql, 0, NULL, &r, err, sizeof(err)) != LLMOPT_OK) {
        fprintf(stderr, "%s: %s\n", sql, err);
        return -999;
    }
    long long v = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -998;
    PQclear(r);
    return v;
}

static void test_redact(void) {
    char out[512];
    llmopt_pg_dsn_redact("host=h port=5 user=u password=hunter2 dbname=d", out, sizeof(out));
    CU_ASSERT_PTR_NULL(strstr(out, "hunter2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "password='***'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "host='h'"));
    llmopt_pg_dsn_redact("postgresql://u:hunter2@h:5/d", out, sizeof(out));
    CU_ASSERT_PTR_NULL(strstr(out, "hunter2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "user='u'"));
    llmopt_pg_dsn_redact("host='unterminated password=hunter2", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "<unparseable dsn>");
    /* truncation keeps a NUL and never runs past the buffer */
    char small[8];
    llmopt_pg_dsn_redact("host=averyveryverylonghostname", small, sizeof(small));
    CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
}

static void test_backoff(void) {
    llmopt_pg_retry r = {.base_ms = 100, .max_ms = 1000, .jitter = 0, .max_attempts = 5};
    int want[] = {100, 200, 400, 800, 1000, 1000};
    for (unsigned i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(llmopt_pg_backoff_ms(&r, i, 0.7), want[i]);
    CU_ASSERT_EQUAL(llmopt_pg_backoff_ms(&r, 1000, 0.5), 1000); /* no overflow */
    r.jitter = 0.5;
    CU_ASSERT_EQUAL(llmopt_pg_backoff_ms(&r, 0, 0.0), 50);
    CU_ASSERT_EQUAL(llmopt_pg_backoff_ms(&r, 0, 0.5), 100);
    CU_ASSERT_EQUAL(llmopt_pg_backoff_ms(&r, 0, 0.999), 149);
    CU_ASSERT_EQUAL(llmopt_pg_backoff_ms(&r, 4, 0.999), 1000); /* capped after jitter */
}

static void test_classify(void) {
    CU_ASSERT_EQUAL(llmopt_pg_classify_sqlstate("23505"), LLMOPT_PG_ERRCLASS_CONSTRAINT);
    CU_ASSERT_EQUAL(llmopt_pg_classify_sqlstate("08006"), LLMOPT_PG_ERRCLASS_CONNECTION);
    CU_ASSERT_EQUAL(llmopt_pg_classify_sqlstate("57P01"), LLMOPT_PG_ERRCLASS_CONNECTION);
    CU_ASSERT_EQUAL(llmopt_pg_classify_sqlstate("40001"), LLMOPT_PG_ERRCLASS_TRANSIENT);
    CU_ASSERT_EQUAL(llmopt_pg_classify_sqlstate("42601"), LLMOPT_PG_ERRCLASS_OTHER);
    CU_ASSERT_EQUAL(llmopt_pg_classify_sqlstate(""), LLMOPT_PG_ERRCLASS_OTHER);
    CU_ASSERT_EQUAL(llmopt_pg_classify_sqlstate(NULL), LLMOPT_PG_ERRCLASS_OTHER);
}

static void test_connect_refused_bounded(void) {
    /* nothing listens on port 1 of loopback */
    llmopt_pg_retry r = {.base_ms = 20, .max_ms = 80, .jitter = 0.2, .max_attempts = 4,
                         .deadline_ms = 5000};
    char err[1024] = "";
    llmopt_pg *pg = (llmopt_pg *)1;
    double t0 = mono_ms();
    llmopt_err_t e = llmopt_pg_new(&pg, "host=127.0.0.1 port=1 user=x password=hunter2 "
                                        "connect_timeout=2",
                                   &r, err, sizeof(err));
    double took = mono_ms() - t0;
    CU_ASSERT_EQUAL(e, LLMOPT_ERR_TIMEOUT);
    CU_ASSERT_PTR_NULL(pg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "after 4 attempts"));
    CU_ASSERT_PTR_NULL(strstr(err, "hunter2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "password='***'"));
    /* waits 20 + 40 + 80 (each +-20%) between the 4 attempts */
    CU_ASSERT(took >= 0.8 * 140 && took < 3000);

    /* a deadline shorter than the backoff stops earlier than max_attempts */
    r.max_attempts = 100;
    r.base_ms = 200;
    r.max_ms = 200;
    r.deadline_ms = 500;
    e = llmopt_pg_new(&pg, "host=127.0.0.1 port=1 user=x", &r, err, sizeof(err));
    CU_ASSERT_EQUAL(e, LLMOPT_ERR_TIMEOUT);
    CU_ASSERT_PTR_NULL(strstr(err, "after 100 attempts"));

    e = llmopt_pg_new(&pg, "host='oops password=hunter2", NULL, err, sizeof(err));
    CU_ASSERT_EQUAL(e, LLMOPT_ERR_INVALID);
    CU_ASSERT_PTR_NULL(strstr(err, "hunter2"));
    r.max_attempts = 0;
    r.deadline_ms = 0;
    CU_ASSERT_EQUAL(llmopt_pg_new(&pg, dsn, &r, err, sizeof(err)), LLMOPT_ERR_INVALID);
}

static void test_reconnect_after_terminate(void) {
    llmopt_pg *a = open_pg(), *b = open_pg();
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    char err[512] = "";
    CU_ASSERT_EQUAL(llmopt_pg_listen(a, "llmopt_reconnect", err, sizeof(err)), LLMOPT_OK);
    int pid_a = PQbackendPID(llmopt_pg_conn(a));
    CU_ASSERT_EQUAL(llmopt_pg_health(a, 2000, err, sizeof(err)), LLMOPT_OK);

    char pid_text[32];
    snprintf(pid_text, sizeof(pid_text), "%d", pid_a);
    const char *params[1] = {pid_text};
    CU_ASSERT_EQUAL(llmopt_pg_exec(b, "SELECT pg_terminate_backend($1::int, 5000)", 1, params,
                                   err, sizeof(err)),
                    LLMOPT_OK);

    /* the loss is reported, classified, and not silently repaired */
    CU_ASSERT_EQUAL(llmopt_pg_health(a, 2000, err, sizeof(err)), LLMOPT_ERR_IO);
    CU_ASSERT_EQUAL(llmopt_pg_errclass_of(a), LLMOPT_PG_ERRCLASS_CONNECTION);
    CU_ASSERT_EQUAL(llmopt_pg_exec(a, "SELECT 1", 0, NULL, err, sizeof(err)), LLMOPT_ERR_IO);
    CU_ASSERT_EQUAL(llmopt_pg_errclass_of(a), LLMOPT_PG_ERRCLASS_CONNECTION);
    CU_ASSERT_EQUAL(llmopt_pg_reconnect_count(a), 0);

    CU_ASSERT_EQUAL(llmopt_pg_ensure(a, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_reconnect_count(a), 1);
    CU_ASSERT_NOT_EQUAL(PQbackendPID(llmopt_pg_conn(a)), pid_a);
    CU_ASSERT_EQUAL(scalar(a, "SELECT 41 + 1"), 42);
    CU_ASSERT_EQUAL(llmopt_pg_ensure(a, err, sizeof(err)), LLMOPT_OK); /* healthy: no-op */
    CU_ASSERT_EQUAL(llmopt_pg_reconnect_count(a), 1);

    /* LISTEN was re-issued on the new session */
    CU_ASSERT_EQUAL(llmopt_pg_notify(b, "llmopt_reconnect", "after", err, sizeof(err)), LLMOPT_OK);
    llmopt_pg_note n;
    CU_ASSERT_EQUAL(llmopt_pg_wait_note(a, 3000, &n, err, sizeof(err)), LLMOPT_OK);
    if (n.payload)
        CU_ASSERT_STRING_EQUAL(n.payload, "after");
    llmopt_pg_note_release(&n);

    /* a backend killed while its session waits for notifications */
    pid_a = PQbackendPID(llmopt_pg_conn(a));
    snprintf(pid_text, sizeof(pid_text), "%d", pid_a);
    CU_ASSERT_EQUAL(llmopt_pg_exec(b, "SELECT pg_terminate_backend($1::int, 5000)", 1, params,
                                   err, sizeof(err)),
                    LLMOPT_OK);
    llmopt_err_t e = LLMOPT_ERR_TIMEOUT;
    for (int i = 0; i < 20 && e == LLMOPT_ERR_TIMEOUT; i++)
        e = llmopt_pg_wait_note(a, 100, &n, err, sizeof(err));
    CU_ASSERT_EQUAL(e, LLMOPT_ERR_IO);
    CU_ASSERT_EQUAL(llmopt_pg_errclass_of(a), LLMOPT_PG_ERRCLASS_CONNECTION);
    CU_ASSERT_EQUAL(llmopt_pg_reconnect(a, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_reconnect_count(a), 2);
    CU_ASSERT_EQUAL(scalar(a, "SELECT 7"), 7);
    llmopt_pg_destroy(a);
    llmopt_pg_destroy(b);
}

static void test_errors_and_transactions(void) {
    llmopt_pg *pg = open_pg();
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    char err[512] = "";
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, "CREATE TABLE t_err (id int PRIMARY KEY, v text)", 0, NULL,
                                   err, sizeof(err)),
                    LLMOPT_OK);
    const char *row[2] = {"1", "one"};
    const char *ins = "INSERT INTO t_err VALUES ($1::int, $2)";
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, ins, 2, row, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_errclass_of(pg), LLMOPT_PG_ERRCLASS_NONE);
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, ins, 2, row, err, sizeof(err)), LLMOPT_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(llmopt_pg_sqlstate(pg), "23505");
    CU_ASSERT_EQUAL(llmopt_pg_errclass_of(pg), LLMOPT_PG_ERRCLASS_CONSTRAINT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "duplicate key"));
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));

    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, "SELEC 1", 0, NULL, err, sizeof(err)), LLMOPT_ERR_IO);
    CU_ASSERT_STRING_EQUAL(llmopt_pg_sqlstate(pg), "42601");
    CU_ASSERT_EQUAL(llmopt_pg_errclass_of(pg), LLMOPT_PG_ERRCLASS_OTHER);

    /* rollback discards */
    const char *row2[2] = {"2", "two"};
    CU_ASSERT_EQUAL(llmopt_pg_begin(pg, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT(llmopt_pg_in_tx(pg));
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, ins, 2, row2, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_rollback(pg, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT(!llmopt_pg_in_tx(pg));
    CU_ASSERT_EQUAL(scalar(pg, "SELECT count(*) FROM t_err"), 1);
    CU_ASSERT_EQUAL(llmopt_pg_rollback(pg, err, sizeof(err)), LLMOPT_OK); /* idle: no-op */

    /* commit of an aborted transaction is reported, nothing lands */
    CU_ASSERT_EQUAL(llmopt_pg_begin(pg, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, ins, 2, row2, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, ins, 2, row, err, sizeof(err)), LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(llmopt_pg_commit(pg, err, sizeof(err)), LLMOPT_ERR_STATE);
    CU_ASSERT(!llmopt_pg_in_tx(pg));
    CU_ASSERT_EQUAL(scalar(pg, "SELECT count(*) FROM t_err"), 1);

    CU_ASSERT_EQUAL(llmopt_pg_begin(pg, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, ins, 2, row2, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_commit(pg, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(scalar(pg, "SELECT count(*) FROM t_err"), 2);

    /* NULL parameters are SQL NULL */
    const char *row3[2] = {"3", NULL};
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, ins, 2, row3, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(scalar(pg, "SELECT count(*) FROM t_err WHERE v IS NULL"), 1);
    llmopt_pg_destroy(pg);
    llmopt_pg_destroy(NULL);
}

static void test_advisory_locks(void) {
    llmopt_pg *a = open_pg(), *b = open_pg();
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    char err[512] = "";
    int64_t key = llmopt_pg_lock_key("llmopt.test.lock");
    CU_ASSERT_EQUAL(key, llmopt_pg_lock_key("llmopt.test.lock"));
    CU_ASSERT_NOT_EQUAL(key, llmopt_pg_lock_key("llmopt.test.lock2"));
    bool got = false;
    CU_ASSERT_EQUAL(llmopt_pg_lock_try(a, key, &got, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT(got);
    CU_ASSERT_EQUAL(llmopt_pg_lock_try(b, key, &got, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT(!got);

    double t0 = mono_ms();
    CU_ASSERT_EQUAL(llmopt_pg_lock(b, key, 300, err, sizeof(err)), LLMOPT_ERR_TIMEOUT);
    double waited = mono_ms() - t0;
    CU_ASSERT(waited >= 250 && waited < 5000);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "still held"));
    /* the session's lock_timeout is restored afterwards */
    PGresult *r = NULL;
    CU_ASSERT_EQUAL_FATAL(llmopt_pg_query(b, "SHOW lock_timeout", 0, NULL, &r, err, sizeof(err)),
                          LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "0");
    PQclear(r);

    CU_ASSERT_EQUAL(llmopt_pg_unlock(b, key, err, sizeof(err)), LLMOPT_ERR_STATE);
    CU_ASSERT_EQUAL(llmopt_pg_unlock(a, key, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_lock(b, key, 1000, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_lock_try(a, key, &got, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT(!got);
    /* a session lock dies with its session */
    llmopt_pg_destroy(b);
    got = false;
    for (int i = 0; i < 50 && !got; i++) { /* the backend exits asynchronously */
        CU_ASSERT_EQUAL(llmopt_pg_lock_try(a, key, &got, err, sizeof(err)), LLMOPT_OK);
        if (!got)
            nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    CU_ASSERT(got);
    CU_ASSERT_EQUAL(llmopt_pg_unlock(a, key, err, sizeof(err)), LLMOPT_OK);
    /* blocking lock without timeout */
    CU_ASSERT_EQUAL(llmopt_pg_lock(a, key, 0, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_unlock(a, key, err, sizeof(err)), LLMOPT_OK);
    llmopt_pg_destroy(a);
}

static void test_listen_notify(void) {
    llmopt_pg *a = open_pg(), *b = open_pg();
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    char err[512] = "";
    llmopt_pg_note n;
    CU_ASSERT_EQUAL(llmopt_pg_listen(a, "Llmopt Chan", err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_listen(a, "", err, sizeof(err)), LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(llmopt_pg_wait_note(a, 0, &n, err, sizeof(err)), LLMOPT_ERR_TIMEOUT);
    double t0 = mono_ms();
    CU_ASSERT_EQUAL(llmopt_pg_wait_note(a, 150, &n, err, sizeof(err)), LLMOPT_ERR_TIMEOUT);
    CU_ASSERT(mono_ms() - t0 >= 140);

    CU_ASSERT_EQUAL(llmopt_pg_notify(b, "Llmopt Chan", "hello 'world'", err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL_FATAL(llmopt_pg_wait_note(a, 3000, &n, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(n.channel, "Llmopt Chan");
    CU_ASSERT_STRING_EQUAL(n.payload, "hello 'world'");
    CU_ASSERT_EQUAL(n.be_pid, PQbackendPID(llmopt_pg_conn(b)));
    llmopt_pg_note_release(&n);

    /* inside a transaction the notification waits for commit */
    CU_ASSERT_EQUAL(llmopt_pg_begin(b, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_notify(b, "Llmopt Chan", "tx", err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_wait_note(a, 200, &n, err, sizeof(err)), LLMOPT_ERR_TIMEOUT);
    CU_ASSERT_EQUAL(llmopt_pg_commit(b, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL_FATAL(llmopt_pg_wait_note(a, 3000, &n, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(n.payload, "tx");
    llmopt_pg_note_release(&n);
    /* other channels are not delivered */
    CU_ASSERT_EQUAL(llmopt_pg_notify(b, "llmopt chan", "other", err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_wait_note(a, 200, &n, err, sizeof(err)), LLMOPT_ERR_TIMEOUT);
    llmopt_pg_destroy(a);
    llmopt_pg_destroy(b);
}

static void test_copy_in(void) {
    llmopt_pg *pg = open_pg();
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    char err[512] = "";
    uint64_t rows = 99;
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, "CREATE TABLE t_copy (id int PRIMARY KEY, name text)", 0,
                                   NULL, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_copy_put(pg, "x", 1, err, sizeof(err)), LLMOPT_ERR_STATE);
    CU_ASSERT_EQUAL(llmopt_pg_copy_end(pg, &rows, err, sizeof(err)), LLMOPT_ERR_STATE);

    CU_ASSERT_EQUAL_FATAL(llmopt_pg_copy_begin(pg, "COPY t_copy FROM STDIN", err, sizeof(err)),
                          LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, "SELECT 1", 0, NULL, err, sizeof(err)), LLMOPT_ERR_STATE);
    const char *part1 = "1\ta\n2\tb\n3\t";
    const char *part2 = "c\n4\t\\N\n";
    CU_ASSERT_EQUAL(llmopt_pg_copy_put(pg, part1, strlen(part1), err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_copy_put(pg, part2, strlen(part2), err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_copy_end(pg, &rows, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(rows, 4);
    CU_ASSERT_EQUAL(scalar(pg, "SELECT count(*) FROM t_copy"), 4);
    CU_ASSERT_EQUAL(scalar(pg, "SELECT count(*) FROM t_copy WHERE name IS NULL"), 1);

    /* a refused row fails the whole COPY at the end, with its SQLSTATE */
    CU_ASSERT_EQUAL_FATAL(llmopt_pg_copy_begin(pg, "COPY t_copy FROM STDIN", err, sizeof(err)),
                          LLMOPT_OK);
    const char *dup = "5\tx\n1\tdup\n";
    CU_ASSERT_EQUAL(llmopt_pg_copy_put(pg, dup, strlen(dup), err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_copy_end(pg, &rows, err, sizeof(err)), LLMOPT_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(llmopt_pg_sqlstate(pg), "23505");
    CU_ASSERT_EQUAL(scalar(pg, "SELECT count(*) FROM t_copy"), 4); /* session usable */

    /* malformed data is a server error of another class */
    CU_ASSERT_EQUAL_FATAL(llmopt_pg_copy_begin(pg, "COPY t_copy FROM STDIN", err, sizeof(err)),
                          LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_copy_put(pg, "notanint\tx\n", 11, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_copy_end(pg, &rows, err, sizeof(err)), LLMOPT_ERR_IO);
    CU_ASSERT_STRING_EQUAL(llmopt_pg_sqlstate(pg), "22P02");

    /* abort discards what was sent */
    CU_ASSERT_EQUAL_FATAL(llmopt_pg_copy_begin(pg, "COPY t_copy FROM STDIN", err, sizeof(err)),
                          LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_pg_copy_put(pg, "9\tz\n", 4, err, sizeof(err)), LLMOPT_OK);
    llmopt_pg_copy_abort(pg, "test abort");
    CU_ASSERT_EQUAL(scalar(pg, "SELECT count(*) FROM t_copy"), 4);

    /* begin with a statement that is not COPY FROM STDIN */
    CU_ASSERT_EQUAL(llmopt_pg_copy_begin(pg, "SELECT 1", err, sizeof(err)), LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(llmopt_pg_copy_begin(pg, "COPY t_copy TO STDOUT", err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(llmopt_pg_copy_begin(pg, "COPY nosuch FROM STDIN", err, sizeof(err)),
                    LLMOPT_ERR_IO);
    CU_ASSERT_STRING_EQUAL(llmopt_pg_sqlstate(pg), "42P01");
    CU_ASSERT_EQUAL(scalar(pg, "SELECT count(*) FROM t_copy"), 4);
    /* COPY through the plain query path is refused and leaves the session usable */
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, "COPY t_copy FROM STDIN", 0, NULL, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(scalar(pg, "SELECT count(*) FROM t_copy"), 4);
    llmopt_pg_destroy(pg);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("pg", suite_init, suite_clean);
    CU_add_test(s, "dsn redaction", test_redact);
    CU_add_test(s, "backoff", test_backoff);
    CU_add_test(s, "sqlstate classes", test_classify);
    CU_add_test(s, "connect retries are bounded", test_connect_refused_bounded);
    CU_add_test(s, "reconnect after pg_terminate_backend", test_reconnect_after_terminate);
    CU_add_test(s, "errors and transactions", test_errors_and_transactions);
    CU_add_test(s, "advisory locks", test_advisory_locks);
    CU_add_test(s, "listen/notify", test_listen_notify);
    CU_add_test(s, "copy in", test_copy_in);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    if (CU_get_number_of_suites_failed())
        failed++;
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
