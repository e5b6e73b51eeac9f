/*
 * pg_scratch.h - a throwaway database per test process on the shared Postgres.
 *
 * LLMOPT_PG_DSN (default "host=127.0.0.1 port=55432 user=llmopt
 * dbname=llmopt") must reach a superuser. pg_scratch_create() makes
 * llmopt_test_<pid>_<tag> and returns a DSN for it (caller frees);
 * pg_scratch_drop() removes it, terminating any session still attached. The
 * shared server itself is never restarted or reconfigured.
 */
#ifndef LLMOPT_TEST_PG_SCRATCH_H
#define LLMOPT_TEST_PG_SCRATCH_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline const char *pg_scratch_admin_dsn(void) {
    const char *d = getenv("LLMOPT_PG_DSN");
    return d && d[0] ? d : "host=127.0.0.1 port=55432 user=llmopt dbname=llmopt";
}

/* The admin DSN with dbname replaced (key=value or URI input). */
static inline char *pg_scratch_dsn_for(const char *dbname) {
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(pg_scratch_admin_dsn(), &err);
    if (err)
        PQfreemem(err);
    if (!opts)
        return NULL;
    size_t cap = 4096, at = 0;
    char *out = calloc(1, cap);
    for (PQconninfoOption *o = opts; out && o->keyword; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
        if (!v)
            continue;
        at += (size_t)snprintf(out + at, cap - at, "%s%s='", at ? " " : "", o->keyword);
        for (const char *p = v; *p && at + 4 < cap; p++) {
            if (*p == '\'' || *p == '\\')
                out[at++] = '\\';
            out[at++] = *p;
        }
        at += (size_t)snprintf(out + at, cap - at, "'");
    }
    PQconninfoFree(opts);
    if (out && !strstr(out, "dbname="))
        snprintf(out + at, cap - at, " dbname='%s'", dbname);
    return out;
}

static inline void pg_scratch_quiet(void *arg, const char *message) {
    (void)arg;
    (void)message; /* "database ... does not exist, skipping" */
}

static inline int pg_scratch_admin_exec(const char *sql) {
    PGconn *c = PQconnectdb(pg_scratch_admin_dsn());
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PQsetNoticeProcessor(c, pg_scratch_quiet, NULL);
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "scratch: '%s': %s", sql, PQerrorMessage(c));
        PQclear(r);
    } else {
        fprintf(stderr, "scratch: cannot connect: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return ok;
}

static inline void pg_scratch_name(char *name, size_t size, const char *tag) {
    snprintf(name, size, "llmopt_test_%ld_%s", (long)getpid(), tag);
}

static inline void pg_scratch_drop(const char *tag) {
    char name[128], sql[256];
    pg_scratch_name(name, sizeof(name), tag);
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    pg_scratch_admin_exec(sql);
}

static inline char *pg_scratch_create(const char *tag) {
    char name[128], sql[256];
    pg_scratch_name(name, sizeof(name), tag);
    pg_scratch_drop(tag);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    if (!pg_scratch_admin_exec(sql))
        return NULL;
    return pg_scratch_dsn_for(name);
}

/* One-value query helper on a raw connection: returns a malloc'd copy of row
 * 0 column 0 ("" for NULL), or NULL on error (printed). */
static inline char *pg_scratch_value(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    char *v = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        v = strdup(PQgetvalue(r, 0, 0));
    else
        fprintf(stderr, "query '%s': %s", sql, PQerrorMessage(c));
    PQclear(r);
    return v;
}

#endif
