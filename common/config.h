/*
 * config.h - typed configuration from property tables (librdkafka
 * rdkafka_conf.c style), with a `kafka.*` passthrough to librdkafka.
 *
 * A binary's configuration is ONE plain C struct that the binary owns. One or
 * more property tables describe its fields: the shared `common` table
 * (llmopt_common_conf, embedded in every binary's struct) plus tables the
 * binary adds. A property names its field by offset; the table is bound to
 * the struct at a base offset, so the same table serves every binary.
 *
 * Adding a table (e.g. for the processor) takes three steps:
 *
 *   // processor/processor_conf.h
 *   typedef struct llmopt_processor_conf {
 *       llmopt_common_conf common;       // always first
 *       int64_t window_ms;
 *       char *input_topic;
 *   } llmopt_processor_conf;
 *   extern const llmopt_config_table llmopt_processor_table;
 *
 *   // processor/processor_conf.c (data + finalize only; links with libllmopt)
 *   #define F(f) offsetof(llmopt_processor_conf, f)
 *   static const llmopt_config_prop props[] = {
 *       {.name = "processor.window", .type = LLMOPT_CONFIG_DURATION,
 *        .offset = F(window_ms), .min = 1000, .max = 86400000, .def = "60s",
 *        .desc = "length of a tumbling window"},
 *       {.name = "processor.input.topic", .type = LLMOPT_CONFIG_STRING,
 *        .offset = F(input_topic), .def = "llm.requests",
 *        .desc = "request topic", .flags = LLMOPT_CONFIG_RELOADABLE},
 *       {0}};
 *   const llmopt_config_table llmopt_processor_table = {
 *       .name = "processor", .desc = "llmopt-processor", .props = props};
 *
 *   // processor/processor_conf.cmake: build it and list it in docs/CONFIG.md
 *   llmopt_config_table(llmopt_processor_table ${CMAKE_CURRENT_LIST_DIR}/processor_conf.c)
 *
 * Offsets in a table are relative to the struct passed at binding time: the
 * processor binds llmopt_common_table at offsetof(llmopt_processor_conf,
 * common) and llmopt_processor_table at 0 (see llmopt_config_binding).
 *
 * Field types by property type (the field must have exactly this type):
 *   STRING   char *     owned by the llmopt_config; NULL when unset
 *   INT      int64_t
 *   DOUBLE   double
 *   BOOL     bool       accepts true|false|1|0|yes|no|on|off
 *   ENUM     int        index into enum_names
 *   DURATION int64_t    milliseconds; accepts 250ms, 30s, 5m, 2h, 1d; a bare
 *                       integer is milliseconds
 *   SIZE     int64_t    bytes; accepts 512, 64KiB, 16MiB, 1GiB, 10kB, 5MB
 * min/max bound INT, DOUBLE, DURATION (ms) and SIZE (bytes) values
 * inclusively; min == max == 0 means unbounded.
 *
 * Sources, in increasing precedence: defaults < JSON file < environment <
 * command line. Precedence is the call order: each load overrides what came
 * before, and llmopt_cli_parse() (common/cli.h) calls them in that order.
 *
 * kafka.* keys: everything after "kafka." is a librdkafka property. Each one
 * is validated with rd_kafka_conf_set() on a scratch conf when it is set
 * (librdkafka's own errstr is reported), kept in first-set order, and
 * applied in that order by llmopt_config_kafka_conf(). Names containing
 * "password" or "secret", and ssl.key.pem, ssl_key, sasl.oauthbearer.config
 * are SENSITIVE.
 *
 * Environment: LLMOPT_<KEY> with dots as underscores, upper case:
 * LLMOPT_LOG_LEVEL -> log.level. Since underscores are ambiguous, a name is
 * resolved against the known keys; LLMOPT_KAFKA_<X> against librdkafka's
 * property list (LLMOPT_KAFKA_BOOTSTRAP_SERVERS -> kafka.bootstrap.servers).
 * A variable whose first word names a section of a known key (LOG, HTTP,
 * PG, KAFKA, ... see the generated docs) must resolve or loading fails; other
 * LLMOPT_* variables (LLMOPT_VAR, LLMOPT_BOOTSTRAP used by scripts and tests)
 * are not configuration and are ignored.
 *
 * SENSITIVE values are never printed, logged or echoed in error messages;
 * they print as [redacted]. Printed string values also go through
 * llmopt_log_redact() so credentials inside a URL never show.
 *
 * Threads: an llmopt_config and the struct it fills belong to one thread
 * (the main thread). Other threads may read the struct after
 * llmopt_config_finalize() as long as nothing sets or reloads it.
 */
#ifndef LLMOPT_CONFIG_H
#define LLMOPT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "common/err.h"

typedef enum llmopt_config_type {
    LLMOPT_CONFIG_STRING,
    LLMOPT_CONFIG_INT,
    LLMOPT_CONFIG_DOUBLE,
    LLMOPT_CONFIG_BOOL,
    LLMOPT_CONFIG_ENUM,
    LLMOPT_CONFIG_DURATION,
    LLMOPT_CONFIG_SIZE,
} llmopt_config_type;

/* Property flags. */
#define LLMOPT_CONFIG_SENSITIVE 0x1  /* never printed, logged or echoed */
#define LLMOPT_CONFIG_RELOADABLE 0x2 /* llmopt_config_reload() may change it */

/* Where an effective value came from. */
typedef enum llmopt_config_source {
    LLMOPT_CONFIG_SRC_DEFAULT,
    LLMOPT_CONFIG_SRC_FILE,
    LLMOPT_CONFIG_SRC_ENV,
    LLMOPT_CONFIG_SRC_CLI,
    LLMOPT_CONFIG_SRC_API, /* llmopt_config_set() from code */
} llmopt_config_source;

const char *llmopt_config_source_name(llmopt_config_source src);

struct llmopt_config_prop;

/* Optional extra check after the value parsed and passed min/max. `parsed`
 * points to the parsed value in the field's type (for STRING a
 * `const char *const *`). Return LLMOPT_OK, or an error with a complete
 * message naming prop->name; never put a SENSITIVE value in it. */
typedef llmopt_err_t (*llmopt_config_validate_fn)(const struct llmopt_config_prop *prop,
                                                  const void *parsed, char *errstr,
                                                  size_t errstr_size);

typedef struct llmopt_config_prop {
    const char *name;              /* "log.level"; lowercase, dot-separated */
    llmopt_config_type type;
    size_t offset;                 /* of the field in the table's struct */
    double min, max;               /* inclusive; both 0: unbounded */
    const char *def;               /* default in the same syntax as set(); NULL:
                                    * unset (STRING NULL, numbers 0, bool false) */
    const char *const *enum_names; /* ENUM: NULL-terminated, index = value */
    llmopt_config_validate_fn validate;
    int flags;                     /* LLMOPT_CONFIG_SENSITIVE | _RELOADABLE */
    const char *desc;              /* one line for --help and docs/CONFIG.md */
} llmopt_config_prop;

typedef struct llmopt_config_table {
    const char *name;                /* "common", "processor" */
    const char *desc;                /* who reads it, one line */
    const llmopt_config_prop *props; /* terminated by an entry with name NULL */
    /* Optional cross-key rules, run by llmopt_config_finalize(). `obj` is
     * the table's struct (already offset by the binding). */
    llmopt_err_t (*finalize)(void *obj, char *errstr, size_t errstr_size);
} llmopt_config_table;

/* A table placed at `offset` inside the binary's struct. */
typedef struct llmopt_config_binding {
    const llmopt_config_table *table;
    size_t offset;
} llmopt_config_binding;

/* ---- the common table ------------------------------------------------- */

/* Shared by every binary; embed it (first, by convention) in the binary's
 * struct and bind llmopt_common_table at its offset. */
typedef struct llmopt_common_conf {
    int log_level;                      /* llmopt_log_level (common/log.h) */
    int log_format;                     /* llmopt_log_format */
    char *http_listen;                  /* numeric IPv4/IPv6 address */
    int64_t http_port;                  /* 0: no HTTP server */
    char *pg_dsn;                       /* libpq DSN; SENSITIVE */
    char *schema_registry_url;          /* NULL: none */
    char *schema_registry_file;         /* NULL: none */
    char *schema_registry_auth;         /* "user:password"; SENSITIVE */
    int64_t schema_registry_timeout_ms;
    int64_t shutdown_timeout_ms;
} llmopt_common_conf;

extern const llmopt_config_table llmopt_common_table;

/* ---- lifecycle -------------------------------------------------------- */

typedef struct llmopt_config llmopt_config;

/* Binds `n` tables to the caller's struct `obj` of `obj_size` bytes (which
 * must outlive the config) and applies every default. Duplicate key names
 * across tables or a bad default are programming errors: NULL with the
 * reason in errstr. Also NULL on allocation failure. */
llmopt_config *llmopt_config_new(void *obj, size_t obj_size,
                                 const llmopt_config_binding *bindings, size_t n,
                                 char *errstr, size_t errstr_size);

/* Frees the config and every STRING it stored in the struct (fields are set
 * to NULL). NULL is a no-op. */
void llmopt_config_destroy(llmopt_config *c);

/* ---- setting values --------------------------------------------------- */

/* Sets one key from its string form, recording `src`.
 *   LLMOPT_OK
 *   LLMOPT_ERR_UNKNOWN  "unknown configuration key 'log.levle' (did you mean 'log.level'?)"
 *                       (kafka.*: librdkafka's message)
 *   LLMOPT_ERR_INVALID  "invalid value 'x' for 'http.port': expected an integer"
 *                       (kafka.*: librdkafka's message)
 *   LLMOPT_ERR_RANGE    "value '70000' for 'http.port' is out of range 0..65535"
 *   LLMOPT_ERR_NOMEM
 * On failure the previous value stays. SENSITIVE values are replaced by
 * [redacted] in messages. */
llmopt_err_t llmopt_config_set_from(llmopt_config *c, llmopt_config_source src,
                                    const char *key, const char *value, char *errstr,
                                    size_t errstr_size);

/* llmopt_config_set_from(c, LLMOPT_CONFIG_SRC_API, ...). */
llmopt_err_t llmopt_config_set(llmopt_config *c, const char *key, const char *value,
                               char *errstr, size_t errstr_size);

/* Loads a JSON object: nested objects flatten with dots; strings, numbers
 * and booleans are accepted where the key's type fits (a STRING key wants a
 * JSON string; kafka.* takes any scalar). Stops at the first error; the
 * message starts with "config file '<path>': ". LLMOPT_ERR_IO when the file
 * cannot be read, LLMOPT_ERR_INVALID for bad JSON (with line and column). */
llmopt_err_t llmopt_config_load_file(llmopt_config *c, const char *path, char *errstr,
                                     size_t errstr_size);
/* Same from a buffer; `origin` names it in messages. */
llmopt_err_t llmopt_config_load_json(llmopt_config *c, const char *json, size_t len,
                                     const char *origin, llmopt_config_source src,
                                     char *errstr, size_t errstr_size);

/* Loads LLMOPT_* variables from `envp` (NULL: the process environment), in
 * sorted name order so results do not depend on environment order. Messages
 * start with "environment LLMOPT_X: ". */
llmopt_err_t llmopt_config_load_env(llmopt_config *c, char *const *envp, char *errstr,
                                     size_t errstr_size);

/* Parses "key=value" (one -X argument) and sets it with SRC_CLI. Messages
 * start with "-X key: ". */
llmopt_err_t llmopt_config_set_arg(llmopt_config *c, const char *key_eq_value,
                                   char *errstr, size_t errstr_size);

/* Runs every table's finalize callback in binding order, then builds the
 * full librdkafka conf once. Call after all sources are loaded. */
llmopt_err_t llmopt_config_finalize(llmopt_config *c, char *errstr, size_t errstr_size);

/* Re-reads the sources recorded by the loads (file path, environment, -X
 * arguments) into a scratch copy. When that is valid, RELOADABLE keys whose
 * value changed are applied to the live struct, and for each the callback
 * (may be NULL) is called with the key; changes to other keys are left
 * alone and reported through `skipped` (may be NULL). On any error nothing
 * changes. Main thread only (typically on SIGHUP). */
llmopt_err_t llmopt_config_reload(llmopt_config *c,
                                  void (*changed)(const char *key, bool applied,
                                                  void *opaque),
                                  void *opaque, char *errstr, size_t errstr_size);

/* ---- reading ---------------------------------------------------------- */

/* The value of `key` in set() syntax, into buf (SENSITIVE -> "[redacted]"
 * unless `reveal`; unset string -> ""). LLMOPT_ERR_UNKNOWN if no such key. */
llmopt_err_t llmopt_config_get(const llmopt_config *c, const char *key, bool reveal,
                               char *buf, size_t buf_size,
                               llmopt_config_source *src_out);

/* Finds a property by name across the bound tables; NULL if none. */
const llmopt_config_prop *llmopt_config_find(const llmopt_config *c, const char *key);

/* Prints every key, "key = value  (source)", redacted, in binding order,
 * then the kafka.* keys that were set. */
void llmopt_config_print(const llmopt_config *c, FILE *out);

/* ---- kafka passthrough ------------------------------------------------ */

/* A new rd_kafka_conf_t with every kafka.* key applied in order; the caller
 * owns it (rd_kafka_conf_destroy or hand it to rd_kafka_new). NULL with
 * librdkafka's reason if a value is refused, or on allocation failure. */
rd_kafka_conf_t *llmopt_config_kafka_conf(const llmopt_config *c, char *errstr,
                                          size_t errstr_size);

/* True if the user set librdkafka property `name` (without "kafka.") from
 * any source; llmopt's own defaults apply only where this is false. */
bool llmopt_config_kafka_is_set(const llmopt_config *c, const char *name);

/* Number of kafka.* keys set, and the i-th (name without "kafka.", raw
 * value; check llmopt_config_kafka_sensitive() before printing). */
size_t llmopt_config_kafka_count(const llmopt_config *c);
bool llmopt_config_kafka_get(const llmopt_config *c, size_t i, const char **name,
                             const char **value, llmopt_config_source *src);

/* True for librdkafka property names whose value is a secret. */
bool llmopt_config_kafka_sensitive(const char *name);

/* ---- documentation ---------------------------------------------------- */

/* Writes the markdown reference (docs/CONFIG.md) for `n` tables. */
void llmopt_config_doc(FILE *out, const llmopt_config_table *const *tables, size_t n);

/* Levenshtein distance, exposed for tests and for CLI suggestions. */
size_t llmopt_config_edit_distance(const char *a, const char *b);

#endif
