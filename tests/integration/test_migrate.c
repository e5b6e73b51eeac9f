/* test_migrate.c - llmopt_migrate() and the schema of sql/migrations on the
 * real Postgres (LLMOPT_PG_DSN), each case in scratch databases
 * llmopt_test_<pid>_<tag>:
 *   - STATUS/VERIFY on an empty database change nothing; APPLY applies every
 *     file, with checksums equal to Postgres's own sha256() of the file; a
 *     second APPLY is a no-op; concurrent APPLYs serialise;
 *   - a changed, missing, out-of-order or failing migration is refused and
 *     named, and nothing of it is left behind;
 *   - the schema: COMMENTs with units on every table and column, tdigest
 *     columns that merge across windows, the partition functions, and column
 *     names matching the Avro records in schemas/. */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/pg.h"
#include "tests/integration/pg_scratch.h"
#include "tools/migrate.h"

#define MIG_DIR "sql/migrations"
#define MAX_FILES 256

static char *dsn_main;  /* migrated once from MIG_DIR; schema tests run here */
static char *files[MAX_FILES];
static size_t nfiles;
static char tmp_root[256];

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_files(void) {
    DIR *d = opendir(MIG_DIR);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && nfiles < MAX_FILES) {
        size_t n = strlen(e->d_name);
        if (n > 4 && e->d_name[0] != '.' && strcmp(e->d_name + n - 4, ".sql") == 0)
            files[nfiles++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(files, nfiles, sizeof(char *), name_cmp);
    return nfiles >= 2 ? 0 : -1;
}

static int suite_init(void) {
    if (list_files() != 0)
        return -1;
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/llmopt_test_%ld_migrate", (long)getpid());
    mkdir(tmp_root, 0700);
    dsn_main = pg_scratch_create("mig");
    return dsn_main ? 0 : -1;
}

static void rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int suite_clean(void) {
    pg_scratch_drop("mig");
    pg_scratch_drop("mig2");
    pg_scratch_drop("mig3");
    pg_scratch_drop("mig4");
    free(dsn_main);
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    rm_tree(tmp_root);
    return 0;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

static void write_file(const char *dir, const char *name, const char *text, const char *mode) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, mode);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* A fresh copy of MIG_DIR at tmp_root/<tag>, without file `skip` if given. */
static const char *copy_dir(const char *tag, const char *skip) {
    static char dir[320];
    snprintf(dir, sizeof(dir), "%s/%s", tmp_root, tag);
    rm_tree(dir);
    mkdir(dir, 0700);
    for (size_t i = 0; i < nfiles; i++) {
        if (skip && strcmp(files[i], skip) == 0)
            continue;
        char src[512];
        snprintf(src, sizeof(src), "%s/%s", MIG_DIR, files[i]);
        char *text = slurp(src, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        write_file(dir, files[i], text, "wb");
        free(text);
    }
    return dir;
}

static llmopt_pg *open_pg(const char *dsn) {
    char err[512] = "";
    llmopt_pg *pg = NULL;
    if (llmopt_pg_new(&pg, dsn, NULL, err, sizeof(err)) != LLMOPT_OK)
        fprintf(stderr, "connect: %s\n", err);
    return pg;
}

/* first value of the first row as text (caller frees), or NULL */
static char *value(llmopt_pg *pg, const char *sql) {
    PGresult *r = NULL;
    char err[512];
    if (llmopt_pg_query(pg, sql, 0, NULL, &r, err, sizeof(err)) != LLMOPT_OK) {
        fprintf(stderr, "%s: %s\n", sql, err);
        return NULL;
    }
    char *v = PQntuples(r) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return v;
}

static long long count(llmopt_pg *pg, const char *sql) {
    char *v = value(pg, sql);
    long long n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

static bool has_text(const char *hay, const char *needle) {
    bool ok = hay && needle && strstr(hay, needle) != NULL;
    if (!ok)
        fprintf(stderr, "expected '%s' in '%s'\n", needle ? needle : "", hay ? hay : "");
    return ok;
}

static void test_status_verify_on_empty(void) {
    char err[1024] = "";
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, MIG_DIR, LLMOPT_MIGRATE_STATUS, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, MIG_DIR, LLMOPT_MIGRATE_VERIFY, err, sizeof(err)),
                    LLMOPT_ERR_STATE);
    CU_ASSERT(has_text(err, "pending"));
    CU_ASSERT(has_text(err, files[0]));
    llmopt_pg *pg = open_pg(dsn_main);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM pg_namespace WHERE nspname = 'llmopt'"), 0);
    llmopt_pg_destroy(pg);
}

static void test_apply_all(void) {
    char err[1024] = "";
    int rc = llmopt_migrate(dsn_main, MIG_DIR, LLMOPT_MIGRATE_APPLY, err, sizeof(err));
    if (rc != LLMOPT_OK)
        fprintf(stderr, "apply: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, LLMOPT_OK);
    llmopt_pg *pg = open_pg(dsn_main);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM llmopt.schema_migrations"), (long long)nfiles);
    /* each row names its file and carries Postgres's own sha256 of the bytes */
    PGresult *r = NULL;
    CU_ASSERT_EQUAL_FATAL(llmopt_pg_query(pg,
                                          "SELECT version, name, checksum FROM "
                                          "llmopt.schema_migrations ORDER BY version",
                                          0, NULL, &r, err, sizeof(err)),
                          LLMOPT_OK);
    for (int i = 0; i < PQntuples(r) && (size_t)i < nfiles; i++) {
        CU_ASSERT_STRING_EQUAL(PQgetvalue(r, i, 1), files[i]);
        CU_ASSERT_EQUAL(strtoll(PQgetvalue(r, i, 0), NULL, 10), strtoll(files[i], NULL, 10));
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", MIG_DIR, files[i]);
        char *text = slurp(path, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        const char *params[1] = {text};
        PGresult *h = NULL;
        CU_ASSERT_EQUAL_FATAL(llmopt_pg_query(pg,
                                              "SELECT encode(sha256(convert_to($1, 'UTF8')), "
                                              "'hex')",
                                              1, params, &h, err, sizeof(err)),
                              LLMOPT_OK);
        CU_ASSERT_STRING_EQUAL(PQgetvalue(r, i, 2), PQgetvalue(h, 0, 0));
        PQclear(h);
        free(text);
    }
    PQclear(r);
    const char *tables[] = {"outcomes",    "window_metrics",  "signals",
                            "routing_decisions", "experiments", "experiment_arms",
                            "sink_offsets", "schema_migrations"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT to_regclass('llmopt.%s') IS NOT NULL", tables[i]);
        char *v = value(pg, sql);
        CU_ASSERT_PTR_NOT_NULL(v);
        if (v) {
            if (strcmp(v, "t") != 0)
                fprintf(stderr, "missing table llmopt.%s\n", tables[i]);
            CU_ASSERT_STRING_EQUAL(v, "t");
        }
        free(v);
    }
    llmopt_pg_destroy(pg);
}

static void test_second_run_noop(void) {
    char err[1024] = "";
    llmopt_pg *pg = open_pg(dsn_main);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    const char *q = "SELECT count(*) || ' ' || max(applied_at) || ' ' || "
                    "(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                    "c.relnamespace WHERE n.nspname = 'llmopt') FROM llmopt.schema_migrations";
    char *before = value(pg, q);
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, MIG_DIR, LLMOPT_MIGRATE_APPLY, err, sizeof(err)),
                    LLMOPT_OK);
    char *after = value(pg, q);
    CU_ASSERT_PTR_NOT_NULL(before);
    CU_ASSERT_PTR_NOT_NULL(after);
    if (before && after)
        CU_ASSERT_STRING_EQUAL(before, after);
    free(before);
    free(after);
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, MIG_DIR, LLMOPT_MIGRATE_STATUS, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, MIG_DIR, LLMOPT_MIGRATE_VERIFY, err, sizeof(err)),
                    LLMOPT_OK);
    llmopt_pg_destroy(pg);
}

static void test_changed_and_missing_refused(void) {
    char err[1024] = "";
    /* an edited applied file: refused and named, even with a new file pending */
    const char *dir = copy_dir("changed", NULL);
    write_file(dir, files[1], "\n-- edited after it was applied\n", "ab");
    write_file(dir, "9001_new.sql", "CREATE TABLE llmopt.never_applied (i int);\n", "wb");
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, dir, LLMOPT_MIGRATE_APPLY, err, sizeof(err)),
                    LLMOPT_ERR_STATE);
    CU_ASSERT(has_text(err, files[1]));
    CU_ASSERT(has_text(err, "changed"));
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, dir, LLMOPT_MIGRATE_VERIFY, err, sizeof(err)),
                    LLMOPT_ERR_STATE);
    CU_ASSERT(has_text(err, files[1]));
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, dir, LLMOPT_MIGRATE_STATUS, err, sizeof(err)),
                    LLMOPT_OK);

    /* an applied file that disappeared */
    dir = copy_dir("missing", files[nfiles - 1]);
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, dir, LLMOPT_MIGRATE_APPLY, err, sizeof(err)),
                    LLMOPT_ERR_STATE);
    CU_ASSERT(has_text(err, files[nfiles - 1]));
    CU_ASSERT(has_text(err, "missing"));

    /* a renamed applied file is a change too (same version, other name) */
    dir = copy_dir("renamed", files[0]);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", MIG_DIR, files[0]);
    char *text = slurp(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    char renamed[256];
    snprintf(renamed, sizeof(renamed), "%.4s_renamed.sql", files[0]);
    write_file(dir, renamed, text, "wb");
    free(text);
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, dir, LLMOPT_MIGRATE_APPLY, err, sizeof(err)),
                    LLMOPT_ERR_STATE);
    CU_ASSERT(has_text(err, renamed));

    llmopt_pg *pg = open_pg(dsn_main);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM llmopt.schema_migrations"), (long long)nfiles);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM pg_class WHERE relname = 'never_applied'"), 0);
    llmopt_pg_destroy(pg);
}

static void test_bad_directory_contents(void) {
    char err[1024] = "";
    const char *dir = copy_dir("badname", NULL);
    write_file(dir, "12_short.sql", "SELECT 1;\n", "wb");
    write_file(dir, "README.md", "ignored\n", "wb");
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, dir, LLMOPT_MIGRATE_APPLY, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT(has_text(err, "12_short.sql"));

    dir = copy_dir("dup", NULL);
    char dup[64];
    snprintf(dup, sizeof(dup), "%.4s_again.sql", files[0]);
    write_file(dir, dup, "SELECT 1;\n", "wb");
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, dir, LLMOPT_MIGRATE_APPLY, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT(has_text(err, dup));
    CU_ASSERT(has_text(err, "share version"));

    /* a directory without migrations is a misconfiguration, not "nothing to do" */
    char empty[320];
    snprintf(empty, sizeof(empty), "%s/empty", tmp_root);
    mkdir(empty, 0700);
    write_file(empty, "README.md", "no migrations here\n", "wb");
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, empty, LLMOPT_MIGRATE_APPLY, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT(has_text(err, "no NNNN_name.sql migrations"));

    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, "/nonexistent/llmopt", LLMOPT_MIGRATE_STATUS, err,
                                   sizeof(err)),
                    LLMOPT_ERR_IO);
    CU_ASSERT(has_text(err, "/nonexistent/llmopt"));
    CU_ASSERT_EQUAL(llmopt_migrate(NULL, MIG_DIR, LLMOPT_MIGRATE_STATUS, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(llmopt_migrate(dsn_main, MIG_DIR, (llmopt_migrate_mode)42, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
}

static void test_pending_failing_out_of_order(void) {
    char err[1024] = "";
    char *dsn = pg_scratch_create("mig3");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dsn);
    const char *dir = copy_dir("pending", NULL);
    CU_ASSERT_EQUAL_FATAL(llmopt_migrate(dsn, dir, LLMOPT_MIGRATE_APPLY, err, sizeof(err)),
                          LLMOPT_OK);

    write_file(dir, "9001_extra.sql", "CREATE TABLE llmopt.extra_t (i int);\n", "wb");
    CU_ASSERT_EQUAL(llmopt_migrate(dsn, dir, LLMOPT_MIGRATE_VERIFY, err, sizeof(err)),
                    LLMOPT_ERR_STATE);
    CU_ASSERT(has_text(err, "9001_extra.sql"));
    CU_ASSERT_EQUAL(llmopt_migrate(dsn, dir, LLMOPT_MIGRATE_APPLY, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_migrate(dsn, dir, LLMOPT_MIGRATE_VERIFY, err, sizeof(err)), LLMOPT_OK);

    /* a failing migration rolls back its own statements and writes no row */
    write_file(dir, "9002_bad.sql",
               "CREATE TABLE llmopt.bad_t (i int);\nINSERT INTO llmopt.bad_t VALUES (1 / 0);\n",
               "wb");
    CU_ASSERT_NOT_EQUAL(llmopt_migrate(dsn, dir, LLMOPT_MIGRATE_APPLY, err, sizeof(err)),
                        LLMOPT_OK);
    CU_ASSERT(has_text(err, "9002_bad.sql"));
    CU_ASSERT(has_text(err, "division by zero"));
    llmopt_pg *pg = open_pg(dsn);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM pg_class WHERE relname = 'bad_t'"), 0);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM llmopt.schema_migrations WHERE version = 9002"),
                    0);

    /* a migration that commits by itself is detected and reported */
    char path[512];
    snprintf(path, sizeof(path), "%s/9002_bad.sql", dir);
    unlink(path);
    write_file(dir, "9003_commits.sql", "CREATE TABLE llmopt.c_t (i int);\nCOMMIT;\n", "wb");
    CU_ASSERT_EQUAL(llmopt_migrate(dsn, dir, LLMOPT_MIGRATE_APPLY, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT(has_text(err, "9003_commits.sql"));
    CU_ASSERT(has_text(err, "ended the transaction"));
    snprintf(path, sizeof(path), "%s/9003_commits.sql", dir);
    unlink(path);

    /* a new file numbered below the newest applied one */
    write_file(dir, "9000_late.sql", "SELECT 1;\n", "wb");
    CU_ASSERT_EQUAL(llmopt_migrate(dsn, dir, LLMOPT_MIGRATE_APPLY, err, sizeof(err)),
                    LLMOPT_ERR_STATE);
    CU_ASSERT(has_text(err, "9000_late.sql"));
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM llmopt.schema_migrations"),
                    (long long)nfiles + 1);
    llmopt_pg_destroy(pg);
    pg_scratch_drop("mig3");
    free(dsn);
}

typedef struct apply_job {
    const char *dsn;
    int rc;
    char err[512];
} apply_job;

static void *apply_thread(void *arg) {
    apply_job *j = arg;
    j->rc = llmopt_migrate(j->dsn, MIG_DIR, LLMOPT_MIGRATE_APPLY, j->err, sizeof(j->err));
    return NULL;
}

static void test_concurrent_apply(void) {
    char *dsn = pg_scratch_create("mig2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dsn);
    apply_job jobs[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        jobs[i].dsn = dsn;
        jobs[i].rc = -100;
        jobs[i].err[0] = '\0';
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, apply_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        if (jobs[i].rc != LLMOPT_OK)
            fprintf(stderr, "concurrent apply %d: %s\n", i, jobs[i].err);
        CU_ASSERT_EQUAL(jobs[i].rc, LLMOPT_OK);
    }
    llmopt_pg *pg = open_pg(dsn);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM llmopt.schema_migrations"), (long long)nfiles);
    llmopt_pg_destroy(pg);
    pg_scratch_drop("mig2");
    free(dsn);
}

static void test_comments_everywhere(void) {
    llmopt_pg *pg = open_pg(dsn_main);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    char err[512];
    PGresult *r = NULL;
    /* partitions inherit their parent's meaning and are not commented */
    CU_ASSERT_EQUAL_FATAL(
        llmopt_pg_query(pg,
                        "SELECT c.relname, a.attname, col_description(c.oid, a.attnum), "
                        "obj_description(c.oid, 'pg_class') "
                        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                        "AND NOT a.attisdropped "
                        "WHERE n.nspname = 'llmopt' AND c.relkind IN ('r', 'p') "
                        "AND NOT c.relispartition ORDER BY 1, a.attnum",
                        0, NULL, &r, err, sizeof(err)),
        LLMOPT_OK);
    int n = PQntuples(r);
    CU_ASSERT(n >= 100); /* the catalog query really saw the schema */
    for (int i = 0; i < n; i++) {
        const char *table = PQgetvalue(r, i, 0), *col = PQgetvalue(r, i, 1);
        bool col_ok = !PQgetisnull(r, i, 2) && strcasestr(PQgetvalue(r, i, 2), "unit");
        if (!col_ok)
            fprintf(stderr, "column llmopt.%s.%s has no comment stating its unit\n", table, col);
        CU_ASSERT(col_ok);
        if (PQgetisnull(r, i, 3))
            fprintf(stderr, "table llmopt.%s has no comment\n", table);
        CU_ASSERT(!PQgetisnull(r, i, 3));
    }
    PQclear(r);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON "
                              "n.oid = p.pronamespace WHERE n.nspname = 'llmopt' AND "
                              "obj_description(p.oid, 'pg_proc') IS NULL AND NOT EXISTS (SELECT 1 FROM "
                              "pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"),
                    0);
    llmopt_pg_destroy(pg);
}

static const char *wm_insert =
    "INSERT INTO llmopt.window_metrics (metrics_id, route, arm, window_start, window_end, "
    "window_kind, size_ms, advance_ms, count, ok_count, error_count, timeout_count, "
    "rate_limited_count, filtered_count, error_rate, latency_digest, input_tokens, "
    "output_tokens, cost_usd, cost_per_request, quality_count, reward_count, cache_hits, "
    "late_count) "
    "SELECT $1, 'r1', 'a1', $2::timestamptz, $2::timestamptz + interval '1 minute', "
    "'tumbling', 60000, 60000, 100, 100, 0, 0, 0, 0, 0, "
    "(SELECT tdigest(x, 100) FROM generate_series($3::int, $3::int + 99) x), "
    "0, 0, 0, 0, 0, 0, 0, 0 RETURNING (SELECT n.nspname || '.' || c.relname FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tableoid)";

static void test_tdigest_windows(void) {
    llmopt_pg *pg = open_pg(dsn_main);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    char err[512];
    PGresult *r = NULL;
    const char *w1[3] = {"m1", "2031-05-01 10:00:00+00", "1"};
    const char *w2[3] = {"m2", "2031-05-01 10:01:00+00", "101"};
    CU_ASSERT_EQUAL_FATAL(llmopt_pg_query(pg, wm_insert, 3, w1, &r, err, sizeof(err)), LLMOPT_OK);
    /* no partition for that day yet: the DEFAULT partition takes the row */
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "llmopt.window_metrics_default");
    PQclear(r);
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, wm_insert, 3, w2, err, sizeof(err)), LLMOPT_OK);
    /* merged over both windows = the digest of 1..200: hand-computed p50 = 100.5
     * and p99 = 198.5 (centroid i at rank i - 0.5, linear interpolation) */
    CU_ASSERT_EQUAL_FATAL(
        llmopt_pg_query(pg,
                        "SELECT tdigest_percentile(latency_digest, 0.5), "
                        "tdigest_percentile(latency_digest, 0.99), "
                        "tdigest_count(tdigest(latency_digest)) FROM llmopt.window_metrics "
                        "WHERE route = 'r1' AND arm = 'a1' AND window_start >= '2031-05-01' "
                        "AND window_start < '2031-05-02'",
                        0, NULL, &r, err, sizeof(err)),
        LLMOPT_OK);
    double p50 = strtod(PQgetvalue(r, 0, 0), NULL), p99 = strtod(PQgetvalue(r, 0, 1), NULL);
    CU_ASSERT_DOUBLE_EQUAL(p50, 100.5, 1.0);
    CU_ASSERT_DOUBLE_EQUAL(p99, 198.5, 1.0);
    CU_ASSERT_EQUAL(strtoll(PQgetvalue(r, 0, 2), NULL, 10), 200);
    PQclear(r);
    /* the Avro text form (WindowMetrics.latency_digest) casts to the column */
    const char *txt[1] = {"flags 1 count 3 compression 100 centroids 3 (1.000000, 1) "
                          "(2.000000, 1) (4.000000, 1)"};
    CU_ASSERT_EQUAL_FATAL(llmopt_pg_query(pg,
                                          "SELECT tdigest_count($1::tdigest), "
                                          "tdigest_percentile($1::tdigest, 0.5)",
                                          1, txt, &r, err, sizeof(err)),
                          LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "3");
    CU_ASSERT_DOUBLE_EQUAL(strtod(PQgetvalue(r, 0, 1), NULL), 2.0, 1e-9);
    PQclear(r);
    /* a malformed digest is refused with a data exception, not a crash */
    const char *bad[1] = {"flags 1 count 3 compression 100 centroids 9 (1.0, 1)"};
    CU_ASSERT_NOT_EQUAL(llmopt_pg_exec(pg, "SELECT $1::tdigest", 1, bad, err, sizeof(err)),
                        LLMOPT_OK);
    llmopt_pg_exec(pg, "DELETE FROM llmopt.window_metrics WHERE route = 'r1'", 0, NULL, err,
                   sizeof(err));
    llmopt_pg_destroy(pg);
}

static const char *outcome_insert =
    "INSERT INTO llmopt.outcomes (outcome_id, request_id, route, arm, provider, model, "
    "task_type, ts, status, input_tokens, output_tokens, cost_usd, cache_hit, propensity, "
    "decision_version, reward_quality, reward_cost, reward_latency, reward, is_update) "
    "VALUES ($1, $1, 'r', 'a', 'p', 'm', 'chat', $2::timestamptz, 'ok', 1, 1, 0.01, false, "
    "1, 1, 1, 1, 1, 1, false) RETURNING (SELECT n.nspname || '.' || c.relname FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tableoid)";

static char *insert_outcome(llmopt_pg *pg, const char *id, const char *ts) {
    const char *p[2] = {id, ts};
    PGresult *r = NULL;
    char err[512];
    if (llmopt_pg_query(pg, outcome_insert, 2, p, &r, err, sizeof(err)) != LLMOPT_OK) {
        fprintf(stderr, "insert outcome: %s\n", err);
        return NULL;
    }
    char *where = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return where;
}

static void test_partition_functions(void) {
    llmopt_pg *pg = open_pg(dsn_main);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    char err[512];
    char *where = insert_outcome(pg, "o1", "2020-01-02 12:00:00+00");
    CU_ASSERT(where && strcmp(where, "llmopt.outcomes_default") == 0);
    free(where);

    /* three day-partitioned tables x three days; the row leaves DEFAULT */
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM "
                              "llmopt.ensure_partitions('2020-01-01', '2020-01-03')"),
                    9);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM llmopt.outcomes_p20200102 "
                              "WHERE outcome_id = 'o1'"),
                    1);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM llmopt.outcomes_default"), 0);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM "
                              "llmopt.ensure_partitions('2020-01-01', '2020-01-03')"),
                    0);
    /* day bounds are UTC midnights, upper bound exclusive */
    where = insert_outcome(pg, "o2", "2020-01-03 23:59:59.999+00");
    CU_ASSERT(where && strcmp(where, "llmopt.outcomes_p20200103") == 0);
    free(where);
    where = insert_outcome(pg, "o3", "2020-01-04 00:00:00+00");
    CU_ASSERT(where && strcmp(where, "llmopt.outcomes_default") == 0);
    free(where);
    where = insert_outcome(pg, "o4", "2020-01-02 23:30:00-05"); /* = 2020-01-03 04:30 UTC */
    CU_ASSERT(where && strcmp(where, "llmopt.outcomes_p20200103") == 0);
    free(where);

    /* today's partition survives drop(0), yesterday's does not */
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM llmopt.ensure_partitions("
                              "(now() AT TIME ZONE 'UTC')::date - 1, "
                              "(now() AT TIME ZONE 'UTC')::date)"),
                    6);
    PGresult *r = NULL;
    CU_ASSERT_EQUAL_FATAL(llmopt_pg_query(pg,
                                          "SELECT d FROM llmopt.drop_partitions_older_than(0) d "
                                          "ORDER BY d",
                                          0, NULL, &r, err, sizeof(err)),
                          LLMOPT_OK);
    CU_ASSERT_EQUAL(PQntuples(r), 12); /* 3 tables x (3 days of 2020 + yesterday) */
    bool saw = false;
    for (int i = 0; i < PQntuples(r); i++)
        saw |= strcmp(PQgetvalue(r, i, 0), "llmopt.outcomes_p20200102") == 0;
    CU_ASSERT(saw);
    PQclear(r);
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM llmopt.outcomes"), 1); /* o3, in DEFAULT */
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM pg_inherits WHERE inhparent = "
                              "'llmopt.outcomes'::regclass"),
                    2); /* DEFAULT + today */
    CU_ASSERT_EQUAL(count(pg, "SELECT count(*) FROM llmopt.drop_partitions_older_than(0)"), 0);

    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, "SELECT llmopt.ensure_partitions('2020-01-03', '2020-01-01')",
                                   0, NULL, err, sizeof(err)),
                    LLMOPT_ERR_IO);
    CU_ASSERT_STRING_EQUAL(llmopt_pg_sqlstate(pg), "22023");
    CU_ASSERT_EQUAL(llmopt_pg_exec(pg, "SELECT llmopt.drop_partitions_older_than(-1)", 0, NULL,
                                   err, sizeof(err)),
                    LLMOPT_ERR_IO);
    CU_ASSERT_STRING_EQUAL(llmopt_pg_sqlstate(pg), "22023");
    llmopt_pg_exec(pg, "DELETE FROM llmopt.outcomes", 0, NULL, err, sizeof(err));
    llmopt_pg_destroy(pg);
}

/* Avro field -> column: "user" is user_id; epoch "<x>_ms" fields become
 * timestamptz "<x>"; record-typed fields (and arrays of records) live in the
 * payload jsonb column. */
static bool complex_type(json_t *type) {
    if (json_is_array(type)) {
        size_t i;
        json_t *m;
        json_array_foreach(type, i, m) if (complex_type(m)) return true;
        return false;
    }
    if (!json_is_object(type))
        return false;
    const char *t = json_string_value(json_object_get(type, "type"));
    if (t && strcmp(t, "record") == 0)
        return true;
    if (t && strcmp(t, "array") == 0)
        return complex_type(json_object_get(type, "items"));
    return false;
}

static void check_avro(llmopt_pg *pg, const char *avsc, const char *table, bool payload_ok) {
    char path[256];
    snprintf(path, sizeof(path), "schemas/%s", avsc);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fprintf(stderr, "%s: %s\n", path, jerr.text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_t *fields = json_object_get(root, "fields");
    CU_ASSERT_FATAL(json_is_array(fields));
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *doc = json_string_value(json_object_get(f, "doc"));
        if (!name)
            continue;
        if (complex_type(json_object_get(f, "type"))) {
            if (!payload_ok)
                fprintf(stderr, "%s.%s is a record but %s has no payload\n", avsc, name, table);
            CU_ASSERT(payload_ok);
            continue;
        }
        char col[128];
        size_t n = strlen(name);
        if (strcmp(name, "user") == 0)
            snprintf(col, sizeof(col), "user_id");
        else if (n > 3 && strcmp(name + n - 3, "_ms") == 0 && doc && strstr(doc, "Unix epoch"))
            snprintf(col, sizeof(col), "%.*s", (int)(n - 3), name);
        else
            snprintf(col, sizeof(col), "%s", name);
        const char *params[2] = {table, col};
        PGresult *r = NULL;
        char err[512];
        CU_ASSERT_EQUAL_FATAL(llmopt_pg_query(pg,
                                              "SELECT data_type FROM information_schema.columns "
                                              "WHERE table_schema = 'llmopt' AND table_name = $1 "
                                              "AND column_name = $2",
                                              2, params, &r, err, sizeof(err)),
                              LLMOPT_OK);
        if (PQntuples(r) != 1)
            fprintf(stderr, "Avro %s field '%s' has no column llmopt.%s.%s\n", avsc, name, table,
                    col);
        CU_ASSERT_EQUAL(PQntuples(r), 1);
        if (PQntuples(r) == 1 && strcmp(col, name) != 0 && strcmp(name, "user") != 0)
            CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "timestamp with time zone");
        PQclear(r);
    }
    json_decref(root);
}

static void test_columns_match_avro(void) {
    llmopt_pg *pg = open_pg(dsn_main);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
    check_avro(pg, "outcome.avsc", "outcomes", false);
    check_avro(pg, "window_metrics.avsc", "window_metrics", false);
    check_avro(pg, "signal.avsc", "signals", false);
    check_avro(pg, "routing_decision.avsc", "routing_decisions", true);
    llmopt_pg_destroy(pg);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("migrate", suite_init, suite_clean);
    /* order matters: the first three build the main database the rest use */
    CU_add_test(s, "status and verify on an empty database", test_status_verify_on_empty);
    CU_add_test(s, "apply everything", test_apply_all);
    CU_add_test(s, "second run is a no-op", test_second_run_noop);
    CU_add_test(s, "changed or missing applied files are refused", test_changed_and_missing_refused);
    CU_add_test(s, "bad directory contents", test_bad_directory_contents);
    CU_add_test(s, "pending, failing, out-of-order", test_pending_failing_out_of_order);
    CU_add_test(s, "concurrent applies serialise", test_concurrent_apply);
    CU_add_test(s, "comments with units everywhere", test_comments_everywhere);
    CU_add_test(s, "tdigest merges across windows", test_tdigest_windows);
    CU_add_test(s, "partition functions", test_partition_functions);
    CU_add_test(s, "columns match the Avro records", test_columns_match_avro);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    if (CU_get_number_of_suites_failed())
        failed++;
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
