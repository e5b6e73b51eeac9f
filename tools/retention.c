/*
 * retention.c - `llmopt retention --days N`: drops the day partitions of
 * outcomes, window_metrics and signals whose whole range ends at or before
 * midnight UTC N days ago, through llmopt.drop_partitions_older_than(N)
 * (sql/migrations/0004_partition_functions.sql). Prints each dropped
 * partition on stdout. Rows in the DEFAULT partitions are never touched.
 * Run it from cron, not at midnight: it takes an ACCESS EXCLUSIVE lock on
 * each parent for a moment.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/config.h"
#include "common/log.h"
#include "common/pg.h"
#include "tools/sink.h"

static const llmopt_logger lg = LLMOPT_LOGGER("retention");

typedef struct retention_conf {
    llmopt_common_conf common;
} retention_conf;

/* Parses a day count: 0..36500. */
static int parse_days(const char *s, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 36500)
        return -1;
    *out = v;
    return 0;
}

int llmopt_retention_main(int argc, char **argv) {
    /* --days is this command's own argument: take it out before the shared
     * option parser sees argv */
    long days = -1;
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (!rest) {
        fprintf(stderr, "llmopt retention: out of memory\n");
        return 1;
    }
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        if (i > 0 && !strcmp(a, "--days")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "llmopt retention: '--days' needs a value\n");
                free(rest);
                return 2;
            }
            v = argv[++i];
        } else if (i > 0 && !strncmp(a, "--days=", 7)) {
            v = a + 7;
        } else {
            rest[n++] = argv[i];
            continue;
        }
        if (parse_days(v, &days) != 0) {
            fprintf(stderr, "llmopt retention: invalid '--days' value '%s' (0..36500)\n", v);
            free(rest);
            return 2;
        }
    }
    retention_conf conf;
    memset(&conf, 0, sizeof(conf));
    const llmopt_config_binding bindings[] = {
        {&llmopt_common_table, offsetof(retention_conf, common)},
    };
    const llmopt_cli_spec spec = {
        .prog = "llmopt retention",
        .summary = "drop day partitions older than --days N (required) days",
        .bindings = bindings,
        .n_bindings = 1,
    };
    llmopt_cli cli;
    if (llmopt_cli_parse(&cli, &spec, n, rest, &conf, sizeof(conf)) != LLMOPT_CLI_RUN) {
        free(rest);
        return cli.exit_code;
    }
    int rc = 1;
    llmopt_pg *pg = NULL;
    PGresult *res = NULL;
    char errstr[1024] = "";
    if (days < 0) {
        fprintf(stderr, "llmopt retention: '--days N' is required\n");
        rc = 2;
        goto out;
    }
    if (!conf.common.pg_dsn || !conf.common.pg_dsn[0]) {
        fprintf(stderr, "llmopt retention: 'pg.dsn' is not set (-X pg.dsn=..., LLMOPT_PG_DSN "
                        "or the config file)\n");
        goto out;
    }
    if (llmopt_pg_new(&pg, conf.common.pg_dsn, NULL, errstr, sizeof(errstr)) != LLMOPT_OK) {
        llmopt_log_error(&lg, "%s", errstr);
        goto out;
    }
    char d[32];
    snprintf(d, sizeof(d), "%ld", days);
    const char *params[1] = {d};
    if (llmopt_pg_query(pg, "SELECT * FROM llmopt.drop_partitions_older_than($1::int)", 1,
                        params, &res, errstr, sizeof(errstr)) != LLMOPT_OK) {
        llmopt_log_error(&lg, "drop_partitions_older_than(%ld) failed: %s", days, errstr);
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++)
        printf("dropped %s\n", PQgetvalue(res, i, 0));
    llmopt_log_info(&lg, "%d partitions older than %ld days dropped", PQntuples(res), days);
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    if (res)
        PQclear(res);
    llmopt_pg_destroy(pg);
    llmopt_cli_release(&cli);
    free(rest);
    return rc;
}
