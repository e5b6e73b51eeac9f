/* migrate.c - `llmopt migrate`: ordered SQL migrations with checksums.
 *
 * The directory is read and checksummed before any database work, so a bad
 * file name or an unreadable file fails without touching the database. All
 * modes hold the advisory lock "llmopt.migrate" for the whole run, so a STATUS
 * never sees a half-finished APPLY and two APPLYs never interleave.
 *
 * A migration's SQL runs through the simple query protocol (several
 * statements in one string) inside BEGIN ... COMMIT together with its
 * bookkeeping row; a file that ends the transaction itself is detected and
 * reported, since its effects may then be committed without the row. */
#include "tools/migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/pg.h"
#include "common/sha256.h"

#define MIGRATE_MAX_FILE_BYTES (64u << 20)
#define MIGRATE_LOCK_TIMEOUT_MS (10 * 60 * 1000)

typedef enum mig_state {
    MIG_PENDING,      /* file present, not applied */
    MIG_OK,           /* applied earlier, file unchanged */
    MIG_APPLIED,      /* applied by this run */
    MIG_CHANGED,      /* applied, file differs (name or checksum) */
    MIG_MISSING,      /* applied, no file */
    MIG_OUT_OF_ORDER, /* pending but older than the newest applied */
} mig_state;

static const char *const mig_state_names[] = {"pending", "ok",      "applied",
                                              "changed", "missing", "out-of-order"};

typedef struct mig {
    long long version;
    char *file;       /* file name (also the stored name) */
    char *sql;        /* file contents, NUL-terminated; NULL for MIG_MISSING */
    char sum[LLMOPT_SHA256_HEX_LEN + 1];
    char applied_sum[LLMOPT_SHA256_HEX_LEN + 1];
    char applied_at[40];
    char *applied_name; /* stored name when it differs from file, else NULL */
    mig_state state;
} mig;

typedef struct mig_list {
    mig *v;
    size_t n, cap;
} mig_list;

static void mig_list_release(mig_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].file);
        free(l->v[i].sql);
        free(l->v[i].applied_name);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static mig *mig_list_add(mig_list *l) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        mig *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    mig *m = &l->v[l->n++];
    memset(m, 0, sizeof(*m));
    return m;
}

static int mig_cmp(const void *a, const void *b) {
    const mig *x = a, *y = b;
    return x->version < y->version ? -1 : x->version > y->version;
}

/* NNNN_name.sql with at least four digits and a name of [A-Za-z0-9_-]. */
static bool parse_name(const char *file, long long *version) {
    size_t len = strlen(file), digits = 0;
    if (len < 4 || strcmp(file + len - 4, ".sql") != 0)
        return false;
    while (isdigit((unsigned char)file[digits]))
        digits++;
    if (digits < 4 || digits > 15 || file[digits] != '_' || digits + 1 >= len - 4)
        return false;
    for (size_t i = digits + 1; i < len - 4; i++)
        if (!isalnum((unsigned char)file[i]) && file[i] != '_' && file[i] != '-')
            return false;
    *version = strtoll(file, NULL, 10);
    return *version > 0;
}

static llmopt_err_t read_file(const char *path, char **out, size_t *len, char *errstr,
                              size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_IO;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot open '%s': %s", path,
                           strerror(errno));
    size_t cap = 4096, n = 0;
    buf = malloc(cap + 1);
    if (!buf) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= MIGRATE_MAX_FILE_BYTES) {
                result = llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                                     "migration '%s' is larger than %u bytes", path,
                                     MIGRATE_MAX_FILE_BYTES);
                goto out;
            }
            char *grown = realloc(buf, 2 * cap + 1);
            if (!grown) {
                result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
                goto out;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        result = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot read '%s'", path);
        goto out;
    }
    if (memchr(buf, '\0', n)) {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "migration '%s' contains a NUL byte", path);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    result = LLMOPT_OK;
out:
    free(buf);
    fclose(f);
    return result;
}

/* Reads every migration file of dir, sorted by version. */
static llmopt_err_t scan_dir(const char *dir, mig_list *files, char *errstr,
                             size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_IO;
    char *path = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size,
                           "cannot open migration directory '%s': %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        if (name[0] == '.' || len < 4 || strcmp(name + len - 4, ".sql") != 0)
            continue; /* README.md, editor files */
        long long version;
        if (!parse_name(name, &version)) {
            result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                 "migration file '%s' is not named NNNN_name.sql", name);
            goto out;
        }
        free(path);
        size_t plen = strlen(dir) + len + 2;
        if (!(path = malloc(plen))) {
            result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            goto out;
        }
        snprintf(path, plen, "%s/%s", dir, name);
        mig *m = mig_list_add(files);
        if (!m || !(m->file = strdup(name))) {
            result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            goto out;
        }
        m->version = version;
        size_t n = 0;
        result = read_file(path, &m->sql, &n, errstr, errstr_size);
        if (result != LLMOPT_OK)
            goto out;
        llmopt_sha256_hex(m->sql, n, m->sum);
    }
    if (files->n == 0) {
        /* almost surely the wrong directory: say so rather than do nothing */
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "no NNNN_name.sql migrations in '%s'", dir);
        goto out;
    }
    qsort(files->v, files->n, sizeof(mig), mig_cmp);
    for (size_t i = 1; i < files->n; i++)
        if (files->v[i].version == files->v[i - 1].version) {
            result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                 "migrations '%s' and '%s' share version %lld",
                                 files->v[i - 1].file, files->v[i].file, files->v[i].version);
            goto out;
        }
    result = LLMOPT_OK;
out:
    free(path);
    closedir(d);
    return result;
}

static const char bootstrap_sql[] =
    "CREATE SCHEMA IF NOT EXISTS llmopt;\n"
    "CREATE TABLE IF NOT EXISTS llmopt.schema_migrations (\n"
    "    version      bigint           PRIMARY KEY,\n"
    "    name         text             NOT NULL,\n"
    "    checksum     text             NOT NULL,\n"
    "    applied_at   timestamptz      NOT NULL DEFAULT now(),\n"
    "    execution_ms double precision NOT NULL,\n"
    "    applied_by   text             NOT NULL DEFAULT current_user\n"
    ");\n"
    "COMMENT ON TABLE llmopt.schema_migrations IS "
    "'Migrations applied by llmopt migrate, one row per file of sql/migrations';\n"
    "COMMENT ON COLUMN llmopt.schema_migrations.version IS "
    "'Number NNNN of the file NNNN_name.sql (unit: none)';\n"
    "COMMENT ON COLUMN llmopt.schema_migrations.name IS "
    "'File name of the migration (unit: none)';\n"
    "COMMENT ON COLUMN llmopt.schema_migrations.checksum IS "
    "'SHA-256 of the file bytes when applied, lowercase hex (unit: none)';\n"
    "COMMENT ON COLUMN llmopt.schema_migrations.applied_at IS "
    "'When the migration committed (unit: timestamp)';\n"
    "COMMENT ON COLUMN llmopt.schema_migrations.execution_ms IS "
    "'Time the migration SQL took (unit: ms)';\n"
    "COMMENT ON COLUMN llmopt.schema_migrations.applied_by IS "
    "'Database role that applied it (unit: none)';\n";

static double elapsed_ms(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Loads the applied rows and sets the state of every migration; rows with no
 * file are appended as MIG_MISSING. */
static llmopt_err_t load_applied(llmopt_pg *pg, mig_list *l, char *errstr, size_t errstr_size) {
    PGresult *r = NULL;
    llmopt_err_t e = llmopt_pg_query(pg,
                                     "SELECT to_regclass('llmopt.schema_migrations') IS NOT NULL",
                                     0, NULL, &r, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    bool exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!exists)
        return LLMOPT_OK; /* nothing applied yet; STATUS/VERIFY must not create it */
    e = llmopt_pg_query(pg,
                        "SELECT version, name, checksum, "
                        "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                        "FROM llmopt.schema_migrations ORDER BY version",
                        0, NULL, &r, errstr, errstr_size);
    if (e != LLMOPT_OK)
        return e;
    size_t nfiles = l->n;
    for (int i = 0; i < PQntuples(r); i++) {
        long long version = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        const char *name = PQgetvalue(r, i, 1), *sum = PQgetvalue(r, i, 2);
        mig *m = NULL;
        for (size_t j = 0; j < nfiles; j++)
            if (l->v[j].version == version)
                m = &l->v[j];
        if (!m) {
            m = mig_list_add(l);
            if (!m || !(m->file = strdup(name))) {
                PQclear(r);
                return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            }
            m->version = version;
            m->state = MIG_MISSING;
        } else {
            m->state = strcmp(m->file, name) == 0 && strcmp(m->sum, sum) == 0 ? MIG_OK
                                                                                : MIG_CHANGED;
            if (strcmp(m->file, name) != 0 && !(m->applied_name = strdup(name))) {
                PQclear(r);
                return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            }
        }
        snprintf(m->applied_sum, sizeof(m->applied_sum), "%s", sum);
        snprintf(m->applied_at, sizeof(m->applied_at), "%s", PQgetvalue(r, i, 3));
    }
    PQclear(r);
    qsort(l->v, l->n, sizeof(mig), mig_cmp);
    long long newest = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].state != MIG_PENDING && l->v[i].version > newest)
            newest = l->v[i].version;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].state == MIG_PENDING && l->v[i].version < newest)
            l->v[i].state = MIG_OUT_OF_ORDER;
    return LLMOPT_OK;
}

static void print_line(const mig *m, double ms) {
    switch (m->state) {
    case MIG_OK:
        printf("%-12s %s  applied %s  sha256 %.12s\n", mig_state_names[m->state], m->file,
               m->applied_at, m->sum);
        break;
    case MIG_APPLIED:
        printf("%-12s %s  in %.1f ms  sha256 %.12s\n", mig_state_names[m->state], m->file, ms,
               m->sum);
        break;
    case MIG_CHANGED:
        if (m->applied_name)
            printf("%-12s %s  applied %s as '%s'\n", mig_state_names[m->state], m->file,
                   m->applied_at, m->applied_name);
        else
            printf("%-12s %s  applied %s with sha256 %.12s, file now %.12s\n",
                   mig_state_names[m->state], m->file, m->applied_at, m->applied_sum, m->sum);
        break;
    case MIG_MISSING:
        printf("%-12s %s  applied %s, file not found\n", mig_state_names[m->state], m->file,
               m->applied_at);
        break;
    case MIG_PENDING:
    case MIG_OUT_OF_ORDER:
        printf("%-12s %s  sha256 %.12s\n", mig_state_names[m->state], m->file, m->sum);
        break;
    }
}

/* The first migration that forbids APPLY / fails VERIFY, as an error. */
static llmopt_err_t check_consistent(const mig_list *l, const char *dir, char *errstr,
                                     size_t errstr_size) {
    for (size_t i = 0; i < l->n; i++) {
        const mig *m = &l->v[i];
        if (m->state == MIG_CHANGED && m->applied_name)
            return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                               "migration '%s/%s' has the version of applied migration '%s'; "
                               "refusing to run",
                               dir, m->file, m->applied_name);
        if (m->state == MIG_CHANGED)
            return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                               "applied migration '%s/%s' has changed since it was applied "
                               "(sha256 %.12s then, %.12s now); refusing to run",
                               dir, m->file, m->applied_sum, m->sum);
        if (m->state == MIG_MISSING)
            return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                               "applied migration '%s/%s' is missing; refusing to run", dir,
                               m->file);
        if (m->state == MIG_OUT_OF_ORDER)
            return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                               "migration '%s/%s' is older than the newest applied one; "
                               "renumber it; refusing to run",
                               dir, m->file);
    }
    return LLMOPT_OK;
}

static llmopt_err_t apply_one(llmopt_pg *pg, mig *m, const char *dir, char *errstr,
                              size_t errstr_size) {
    char msg[1024] = "";
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    llmopt_err_t e = llmopt_pg_begin(pg, msg, sizeof(msg));
    if (e == LLMOPT_OK)
        e = llmopt_pg_exec(pg, m->sql, 0, NULL, msg, sizeof(msg));
    if (e == LLMOPT_OK && !llmopt_pg_in_tx(pg))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "migration '%s/%s' ended the transaction itself (COMMIT or ROLLBACK); "
                           "its effects may be committed without its bookkeeping row: "
                           "check the database, remove the statement and rerun",
                           dir, m->file);
    double ms = elapsed_ms(&t0);
    if (e == LLMOPT_OK) {
        char version[32], ms_text[32];
        snprintf(version, sizeof(version), "%lld", m->version);
        snprintf(ms_text, sizeof(ms_text), "%.3f", ms);
        const char *params[4] = {version, m->file, m->sum, ms_text};
        e = llmopt_pg_exec(pg,
                           "INSERT INTO llmopt.schema_migrations "
                           "(version, name, checksum, execution_ms) VALUES ($1, $2, $3, $4)",
                           4, params, msg, sizeof(msg));
    }
    if (e == LLMOPT_OK)
        e = llmopt_pg_commit(pg, msg, sizeof(msg));
    if (e != LLMOPT_OK) {
        llmopt_pg_rollback(pg, NULL, 0);
        return llmopt_errf(e, errstr, errstr_size, "migration '%s/%s' failed: %s", dir, m->file,
                           msg);
    }
    m->state = MIG_APPLIED;
    print_line(m, ms);
    return LLMOPT_OK;
}

int llmopt_migrate(const char *dsn, const char *dir, llmopt_migrate_mode mode, char *errstr,
                   size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_INVALID;
    mig_list l = {0};
    llmopt_pg *pg = NULL;
    bool locked = false;
    char msg[1024] = "";
    const int64_t lock_key = llmopt_pg_lock_key("llmopt.migrate");

    if (!dir)
        dir = "sql/migrations";
    if (!dsn) {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "missing dsn");
        goto out;
    }
    if (mode != LLMOPT_MIGRATE_APPLY && mode != LLMOPT_MIGRATE_STATUS &&
        mode != LLMOPT_MIGRATE_VERIFY) {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "unknown migrate mode '%d'",
                             (int)mode);
        goto out;
    }
    result = scan_dir(dir, &l, errstr, errstr_size);
    if (result != LLMOPT_OK)
        goto out;

    llmopt_pg_retry retry;
    llmopt_pg_retry_default(&retry);
    retry.max_attempts = 5;
    retry.deadline_ms = 30000;
    result = llmopt_pg_new(&pg, dsn, &retry, errstr, errstr_size);
    if (result != LLMOPT_OK)
        goto out;
    result = llmopt_pg_lock(pg, lock_key, MIGRATE_LOCK_TIMEOUT_MS, msg, sizeof(msg));
    if (result != LLMOPT_OK) {
        result = llmopt_errf(result, errstr, errstr_size, "cannot take the migrate lock: %s", msg);
        goto out;
    }
    locked = true;
    if (mode == LLMOPT_MIGRATE_APPLY) {
        /* one transaction: concurrent first runs are already serialised by the lock */
        result = llmopt_pg_begin(pg, msg, sizeof(msg));
        if (result == LLMOPT_OK)
            result = llmopt_pg_exec(pg, bootstrap_sql, 0, NULL, msg, sizeof(msg));
        if (result == LLMOPT_OK)
            result = llmopt_pg_commit(pg, msg, sizeof(msg));
        if (result != LLMOPT_OK) {
            llmopt_pg_rollback(pg, NULL, 0);
            result = llmopt_errf(result, errstr, errstr_size,
                                 "cannot create 'llmopt.schema_migrations': %s", msg);
            goto out;
        }
    }
    result = load_applied(pg, &l, errstr, errstr_size);
    if (result != LLMOPT_OK)
        goto out;

    size_t pending = 0;
    const mig *first_pending = NULL;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].state == MIG_PENDING && !pending++)
            first_pending = &l.v[i];

    if (mode == LLMOPT_MIGRATE_STATUS) {
        for (size_t i = 0; i < l.n; i++)
            print_line(&l.v[i], 0);
        result = LLMOPT_OK;
        goto out;
    }
    llmopt_err_t bad = check_consistent(&l, dir, errstr, errstr_size);
    if (bad != LLMOPT_OK) {
        for (size_t i = 0; i < l.n; i++)
            if (l.v[i].state != MIG_OK)
                print_line(&l.v[i], 0);
        result = bad;
        goto out;
    }
    if (mode == LLMOPT_MIGRATE_VERIFY) {
        for (size_t i = 0; i < l.n; i++)
            print_line(&l.v[i], 0);
        if (pending) {
            result = llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                                 "%zu migration(s) pending, first '%s/%s'", pending, dir,
                                 first_pending->file);
            goto out;
        }
        result = LLMOPT_OK;
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].state == MIG_OK) {
            print_line(&l.v[i], 0);
            continue;
        }
        result = apply_one(pg, &l.v[i], dir, errstr, errstr_size);
        if (result != LLMOPT_OK)
            goto out;
    }
    result = LLMOPT_OK;
out:
    fflush(stdout);
    if (locked)
        llmopt_pg_unlock(pg, lock_key, NULL, 0);
    llmopt_pg_destroy(pg);
    mig_list_release(&l);
    return result;
}
