/* test_tdigest_pg.c - the C t-digest against the real Postgres tdigest
 * extension at LLMOPT_PG_DSN: C digests go in as TEXT, Postgres merges them
 * (tdigest(tdigest) aggregate, tdigest_percentile) and its results are
 * compared with C's merge; the extension's text output is parsed back into
 * C; and the means we send are checked to arrive bit-exact. Works in a
 * temporary table, so concurrent runs do not meet. */
#include <CUnit/Basic.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/tdigest.h"

#define NDIGESTS 20
#define PER_DIGEST 5000
#define NSAMPLES (NDIGESTS * PER_DIGEST)

static PGconn *conn;
static double samples[NSAMPLES];
static llmopt_tdigest *digests[NDIGESTS];

static uint64_t sm_state = 2024;
static uint64_t splitmix(void) {
    uint64_t z = (sm_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double unit(void) {
    return ((double)(splitmix() >> 11) + 0.5) / 9007199254740992.0;
}
static double lognormal_ms(void) { /* latency-like: median 800 ms */
    double n = sqrt(-2.0 * log(unit())) * cos(2.0 * M_PI * unit());
    return 800.0 * exp(0.6 * n);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double rank_error(double v, double q) {
    size_t lo = 0, hi = NSAMPLES;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (samples[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (double)lo / NSAMPLES - q;
}

static PGresult *exec(const char *sql) {
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        printf("\n  sql failed: %s: %s", sql, PQerrorMessage(conn));
    return r;
}

/* "{1,2.5,...}" -> values; returns how many */
static int parse_array(const char *s, double *out, int max) {
    int n = 0;
    if (*s == '{')
        s++;
    while (*s && *s != '}' && n < max) {
        char *end;
        out[n++] = strtod(s, &end);
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

static int suite_init(void) {
    const char *dsn = getenv("LLMOPT_PG_DSN");
    if (!dsn || !*dsn)
        dsn = "host=127.0.0.1 port=55432 user=llmopt dbname=llmopt connect_timeout=5";
    conn = PQconnectdb(dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to postgres '%s': %s\n", dsn, PQerrorMessage(conn));
        return 1;
    }
    PQclear(exec("SET client_min_messages = warning"));
    PQclear(exec("CREATE EXTENSION IF NOT EXISTS tdigest"));
    PQclear(exec("CREATE TEMP TABLE td_it (id int, d tdigest)"));
    for (int i = 0; i < NDIGESTS; i++) {
        digests[i] = llmopt_tdigest_new(100);
        for (int j = 0; j < PER_DIGEST; j++) {
            double x = lognormal_ms();
            samples[i * PER_DIGEST + j] = x;
            llmopt_tdigest_add(digests[i], x);
        }
    }
    qsort(samples, NSAMPLES, sizeof(double), cmp_double);
    return 0;
}

static int suite_clean(void) {
    for (int i = 0; i < NDIGESTS; i++)
        llmopt_tdigest_destroy(digests[i]);
    PQfinish(conn);
    return 0;
}

static int insert_text(int id, const char *text) {
    char idbuf[16];
    snprintf(idbuf, sizeof(idbuf), "%d", id);
    const char *params[2] = {idbuf, text};
    PGresult *r = PQexecParams(conn, "INSERT INTO td_it VALUES ($1::int, $2::tdigest)", 2, NULL,
                               params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        printf("\n  insert failed: %s", PQerrorMessage(conn));
    PQclear(r);
    return ok;
}

static const double QS[] = {0.01, 0.1, 0.5, 0.9, 0.99};
#define NQ 5

static void test_merge_in_postgres(void) {
    PQclear(exec("TRUNCATE td_it"));
    for (int i = 0; i < NDIGESTS; i++) {
        char *t = NULL;
        CU_ASSERT_EQUAL_FATAL(llmopt_tdigest_to_text(digests[i], &t, NULL, NULL, 0), LLMOPT_OK);
        CU_ASSERT_FATAL(insert_text(i, t));
        free(t);
    }
    PGresult *r = exec("SELECT sum(tdigest_count(d)) FROM td_it");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "100000");
    PQclear(r);

    /* C merge of the same digests */
    llmopt_tdigest *m = llmopt_tdigest_new(100);
    for (int i = 0; i < NDIGESTS; i++)
        CU_ASSERT_EQUAL(llmopt_tdigest_merge(m, digests[i]), LLMOPT_OK);

    r = exec("SELECT tdigest_percentile(d, ARRAY[0.01,0.1,0.5,0.9,0.99]::float8[])::text, "
             "tdigest(d)::text FROM td_it");
    CU_ASSERT_EQUAL_FATAL(PQntuples(r), 1);
    double pg[NQ];
    CU_ASSERT_EQUAL_FATAL(parse_array(PQgetvalue(r, 0, 0), pg, NQ), NQ);

    /* the merged digest Postgres prints, parsed back into C */
    const char *merged_text = PQgetvalue(r, 0, 1);
    llmopt_tdigest *back = NULL;
    char err[128] = "";
    CU_ASSERT_EQUAL(llmopt_tdigest_from_text(merged_text, strlen(merged_text), &back, err,
                                             sizeof(err)), LLMOPT_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_EQUAL(llmopt_tdigest_count(back), NSAMPLES);

    for (int i = 0; i < NQ; i++) {
        double c = llmopt_tdigest_quantile(m, QS[i]);
        double b = llmopt_tdigest_quantile(back, QS[i]);
        double ec = rank_error(c, QS[i]), ep = rank_error(pg[i], QS[i]),
               eb = rank_error(b, QS[i]);
        printf("\n  q=%-4g C %.3f (rank err %+.4f %%)  PG %.3f (%+.4f %%)  PG text->C %.3f "
               "(%+.4f %%)",
               QS[i], c, 100 * ec, pg[i], 100 * ep, b, 100 * eb);
        /* C meets its bars; Postgres' digest is coarser (its compaction
         * keeps fewer centroids), so it and C's reading of its text agree
         * with C within one percent of rank */
        CU_ASSERT(fabs(ec) <= (QS[i] == 0.99 ? 0.001 : 0.005));
        CU_ASSERT(fabs(ep) <= 0.01);
        CU_ASSERT(fabs(eb) <= 0.01);
        CU_ASSERT(fabs(ec - ep) <= 0.01);
    }
    PQclear(r);
    llmopt_tdigest_destroy(back);
    llmopt_tdigest_destroy(m);
}

/* Means we send arrive bit-exact (the extension parses with strtod):
 * tdigest_double_array prints float8 at round-trip precision. Its own text
 * output (%lf) is where the loss is: 1e-7 reads back as 0. */
static void test_exact_input_lossy_output(void) {
    PQclear(exec("TRUNCATE td_it"));
    llmopt_tdigest *d = llmopt_tdigest_new(100);
    const double vals[] = {-0.1, 1e-7, 0.30000000000000004, 123456.7891234, 6.02214076e23};
    for (size_t i = 0; i < 5; i++)
        llmopt_tdigest_add(d, vals[i]);
    char *t = NULL;
    CU_ASSERT_EQUAL_FATAL(llmopt_tdigest_to_text(d, &t, NULL, NULL, 0), LLMOPT_OK);
    CU_ASSERT_FATAL(insert_text(1, t));
    free(t);
    PGresult *r = exec("SELECT tdigest_double_array(d)::text, d::text FROM td_it");
    CU_ASSERT_EQUAL_FATAL(PQntuples(r), 1);
    double arr[4 + 2 * 5];
    CU_ASSERT_EQUAL_FATAL(parse_array(PQgetvalue(r, 0, 0), arr, 14), 14);
    CU_ASSERT_EQUAL(arr[1], 5); /* count */
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(arr[4 + 2 * i], vals[i]); /* bit-exact */
        CU_ASSERT_EQUAL(arr[5 + 2 * i], 1);
    }
    const char *pgtext = PQgetvalue(r, 0, 1);
    llmopt_tdigest *back = NULL;
    CU_ASSERT_EQUAL_FATAL(llmopt_tdigest_from_text(pgtext, strlen(pgtext), &back, NULL, 0),
                          LLMOPT_OK);
    size_t n;
    const llmopt_tdigest_centroid *c = llmopt_tdigest_centroids(back, &n);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    printf("\n  postgres text: %s", pgtext);
    for (int i = 0; i < 5; i++)
        CU_ASSERT(fabs(c[i].mean - vals[i]) <= 5.01e-7); /* half of the 6th decimal */
    CU_ASSERT_EQUAL(c[1].mean, 0.0); /* 1e-7 printed as 0.000000 */
    PQclear(r);
    llmopt_tdigest_destroy(back);
    llmopt_tdigest_destroy(d);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("tdigest_pg", suite_init, suite_clean);
    CU_add_test(s, "merge_in_postgres", test_merge_in_postgres);
    CU_add_test(s, "exact_input_lossy_output", test_exact_input_lossy_output);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
