/*
 * registry.h - schema registry client: schema id <-> Avro schema text.
 *
 * Two sources, consulted in this order for a lookup by id:
 *   1. an in-memory cache (ids are immutable in a Confluent registry, so an
 *      entry, once known, is never refreshed or evicted);
 *   2. the local registry file (schemas/registry.json), loaded once by
 *      llmopt_registry_new(): every entry's schema file is read then, so a
 *      broken local file fails at start-up, not on the first message;
 *   3. when a URL is configured, a Confluent-compatible Schema Registry over
 *      HTTP (libcurl): GET /schemas/ids/{id}.
 * llmopt_registry_register() POSTs /subjects/{subject}/versions and caches the
 * (subject, schema) -> id answer as well as id -> schema. Without a URL it
 * only finds schemas already listed in the local file (same subject and the
 * same schema text once whitespace is normalised by jansson).
 * llmopt_registry_latest() is never cached: "latest" moves.
 *
 * Ownership: schema strings returned by lookups belong to the registry and
 * stay valid, unchanged, until llmopt_registry_destroy(); callers never free
 * them. The configuration strings are copied by llmopt_registry_new().
 *
 * Threads: every function except _new and _destroy may be called from any
 * thread at once. The cache is guarded by a mutex that is never held during
 * HTTP; two threads missing the same id may both fetch it, and the first
 * answer stored wins (they are equal anyway). Each HTTP request uses its own
 * curl easy handle with CURLOPT_NOSIGNAL, so timeouts are safe in threads.
 *
 * Errors: LLMOPT_ERR_UNKNOWN (id or subject not found: HTTP 404, or not in
 * the local file when there is no URL), LLMOPT_ERR_TIMEOUT (connect or total
 * timeout), LLMOPT_ERR_IO (connection refused, HTTP 5xx, other statuses),
 * LLMOPT_ERR_INVALID (bad argument, malformed answer, HTTP 409/422 schema
 * rejected), LLMOPT_ERR_NOMEM. errstr carries the HTTP status and the
 * registry's error_code and message when there were any; the optional
 * llmopt_registry_fault gives them to programs.
 */
#ifndef LLMOPT_REGISTRY_H
#define LLMOPT_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct llmopt_registry llmopt_registry;

typedef struct llmopt_registry_conf {
    /* local registry file (schemas/registry.json) or NULL for none; schema
     * files named in it are relative to the directory holding it */
    const char *local_path;
    /* base URL of a Confluent-compatible registry ("http://127.0.0.1:8081"),
     * or NULL/"" for local-only operation */
    const char *url;
    long connect_timeout_ms; /* <= 0: 2000 */
    long timeout_ms;         /* whole request, <= 0: 5000 */
} llmopt_registry_conf;

/* Why the last remote call failed, for programs (DLQ reasons, metrics). */
typedef struct llmopt_registry_fault {
    long http_status; /* 0 when no HTTP answer was received */
    int error_code;   /* the registry's "error_code", 0 when absent */
} llmopt_registry_fault;

/* Loads conf->local_path when set and prepares the HTTP client when
 * conf->url is set. Returns NULL with errstr on an unreadable or malformed
 * local file, a duplicate id in it, or an unreadable schema file. */
llmopt_registry *llmopt_registry_new(const llmopt_registry_conf *conf,
                                     char *errstr, size_t errstr_size);
void llmopt_registry_destroy(llmopt_registry *reg);

/* Schema text for id. *schema_out is owned by reg (see above). */
llmopt_err_t llmopt_registry_schema_by_id(llmopt_registry *reg, int32_t id,
                                          const char **schema_out,
                                          llmopt_registry_fault *fault,
                                          char *errstr, size_t errstr_size);

/* Registers schema under subject (idempotent in the registry) and returns
 * its id. Cached: a second call with the same subject and text makes no
 * request. */
llmopt_err_t llmopt_registry_register(llmopt_registry *reg, const char *subject,
                                      const char *schema, int32_t *id_out,
                                      llmopt_registry_fault *fault,
                                      char *errstr, size_t errstr_size);

/* Latest version of subject: its id, version number and schema (owned by
 * reg, via the id cache). Local-only: the highest id listed for subject. */
llmopt_err_t llmopt_registry_latest(llmopt_registry *reg, const char *subject,
                                    int32_t *id_out, int *version_out,
                                    const char **schema_out,
                                    llmopt_registry_fault *fault,
                                    char *errstr, size_t errstr_size);

/* Id of a local-file entry by its record name ("Request", also accepted
 * with its namespace "io.llmopt.Request") or its subject ("llm.requests-value"); LLMOPT_ERR_UNKNOWN when not listed. Never goes to the network. */
llmopt_err_t llmopt_registry_local_id(llmopt_registry *reg, const char *name,
                                      int32_t *id_out, char *errstr,
                                      size_t errstr_size);

/* Fills *out (an llmopt_schema_source, common/avro_codec.h) so that the
 * Avro codec resolves ids through reg: lookup = llmopt_registry_schema_by_id
 * (LLMOPT_ERR_UNKNOWN for an id the registry does not have, i/o and timeout
 * errors otherwise, which the codec reports as "registry unavailable"), and
 * id_for = the local-file id of the record's name (llmopt_registry_local_id).
 * reg is borrowed: it must outlive every codec made from the source. */
struct llmopt_schema_source;
void llmopt_registry_schema_source(llmopt_registry *reg,
                                   struct llmopt_schema_source *out);

/* Number of HTTP requests made so far (for tests and metrics). */
uint64_t llmopt_registry_http_requests(llmopt_registry *reg);

#endif
