/*
 * migrate.h - `llmopt migrate`: applies the ordered SQL migrations in sql/.
 *
 * Migrations are files named NNNN_description.sql, applied in NNNN order,
 * each in its own transaction together with its row in the bookkeeping table
 * (version, name, sha256 checksum, applied_at). A migration that was applied
 * and whose file has changed since makes the command refuse to run, naming
 * the file. Concurrent runs serialise on a Postgres advisory lock.
 */
#ifndef LLMOPT_MIGRATE_H
#define LLMOPT_MIGRATE_H

#include <stddef.h>

typedef enum llmopt_migrate_mode {
    LLMOPT_MIGRATE_APPLY,   /* apply every pending migration */
    LLMOPT_MIGRATE_STATUS,  /* list applied and pending, change nothing */
    LLMOPT_MIGRATE_VERIFY,  /* fail if any applied migration changed or any is pending */
} llmopt_migrate_mode;

/* Runs migrations from `dir` against the database at libpq `dsn`. Prints one
 * line per migration to stdout. Returns 0 (LLMOPT_OK) or a negative
 * llmopt_err_t with the reason in errstr (may be NULL). */
int llmopt_migrate(const char *dsn, const char *dir, llmopt_migrate_mode mode,
                   char *errstr, size_t errstr_size);

#endif
