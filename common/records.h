/*
 * records.h - the seven llmopt records as C structs, one per Avro schema in
 * schemas/ (namespace io.llmopt). Field names, order and meaning follow the
 * schemas; units and ranges are in schemas/README.md and the schema docs.
 *
 * Mapping of Avro types:
 *   string          -> llmopt_str {ptr, len}; ptr is NUL-terminated and len
 *                      excludes the NUL (Avro strings may hold NUL bytes: len
 *                      is authoritative, ptr[len] == '\0' always)
 *   long / int      -> int64_t / int32_t;  double -> double; boolean -> bool
 *   enum            -> the C enums below (value == Avro symbol index)
 *   map<double>     -> llmopt_map_double;  array<string> -> llmopt_str_array
 *   array<double>   -> llmopt_double_array; array<record> -> {items, count}
 *   nested record   -> embedded struct
 *   union {null, T} -> optional. A string is absent when ptr == NULL. Every
 *                      other optional field X has a `bool has_X` just before
 *                      it; when has_X is false the value is meaningless (0).
 *
 * Ownership: every top-level record embeds an arena as its FIRST member. A
 * decoder (Avro or JSON) puts every string, array and map of the record into
 * that arena, so one record owns everything it points to and _release()
 * frees it all. Decoding into a record that already holds data first calls
 * _clear(), which keeps the arena's memory for reuse (no malloc in steady
 * state). A caller building a record to ENCODE it may instead point fields at
 * any memory that outlives the encode call (string literals, its own
 * buffers); _release() only ever frees the arena, never field pointers.
 * A record must not be copied by value while its pointers refer to its own
 * arena (the copy would share the blocks): move it, or re-decode.
 *
 * Lifecycle: _init() (or zeroing) gives an empty record, all optionals
 * absent, strings NULL. Records are plain data, not thread-safe.
 *
 * Evolution: new fields are appended to a schema as optional (union with
 * null, default null) and appended to the struct here; enum symbols are only
 * appended. Code that zero-initialises records keeps working.
 */
#ifndef LLMOPT_RECORDS_H
#define LLMOPT_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/err.h"

typedef struct llmopt_str {
    const char *ptr; /* NUL-terminated, NULL = absent (optional fields only) */
    size_t len;      /* bytes, excluding the NUL */
} llmopt_str;

typedef struct llmopt_kv_double {
    llmopt_str key;
    double value;
} llmopt_kv_double;

/* Avro map<double>: entries in wire order; keys are not deduplicated. */
typedef struct llmopt_map_double {
    llmopt_kv_double *items;
    size_t count;
} llmopt_map_double;

typedef struct llmopt_str_array {
    llmopt_str *items;
    size_t count;
} llmopt_str_array;

typedef struct llmopt_double_array {
    double *items;
    size_t count;
} llmopt_double_array;

typedef enum llmopt_record_type {
    LLMOPT_REC_NONE = 0,
    LLMOPT_REC_REQUEST = 1,
    LLMOPT_REC_RESPONSE = 2,
    LLMOPT_REC_FEEDBACK = 3,
    LLMOPT_REC_OUTCOME = 4,
    LLMOPT_REC_WINDOW_METRICS = 5,
    LLMOPT_REC_SIGNAL = 6,
    LLMOPT_REC_ROUTING_DECISION = 7,
} llmopt_record_type;
#define LLMOPT_REC_COUNT 8 /* one past the last type */

/* Avro enum ResponseStatus (ok..filtered) and OutcomeStatus (adds missing:
 * the request had no response before the join timed out). */
typedef enum llmopt_status {
    LLMOPT_STATUS_OK = 0,
    LLMOPT_STATUS_ERROR = 1,
    LLMOPT_STATUS_TIMEOUT = 2,
    LLMOPT_STATUS_RATE_LIMITED = 3,
    LLMOPT_STATUS_FILTERED = 4,
    LLMOPT_STATUS_MISSING = 5, /* Outcome only */
} llmopt_status;

typedef enum llmopt_window_kind {
    LLMOPT_WINDOW_TUMBLING = 0,
    LLMOPT_WINDOW_HOPPING = 1,
} llmopt_window_kind;

typedef enum llmopt_signal_kind {
    LLMOPT_SIGNAL_DRIFT = 0,
    LLMOPT_SIGNAL_ANOMALY = 1,
} llmopt_signal_kind;

typedef enum llmopt_detector {
    LLMOPT_DETECTOR_ADWIN = 0,
    LLMOPT_DETECTOR_PAGE_HINKLEY = 1,
    LLMOPT_DETECTOR_CUSUM = 2,
    LLMOPT_DETECTOR_ZSCORE = 3,
    LLMOPT_DETECTOR_IQR = 4,
    LLMOPT_DETECTOR_MAD = 5,
} llmopt_detector;

typedef enum llmopt_direction {
    LLMOPT_DIRECTION_UP = 0,
    LLMOPT_DIRECTION_DOWN = 1,
} llmopt_direction;

typedef enum llmopt_arm_state {
    LLMOPT_ARM_ACTIVE = 0,
    LLMOPT_ARM_DISABLED = 1,
    LLMOPT_ARM_COOLDOWN = 2,
    LLMOPT_ARM_CANARY = 3,
} llmopt_arm_state;

typedef enum llmopt_on_limit {
    LLMOPT_ON_LIMIT_DENY = 0,
    LLMOPT_ON_LIMIT_QUEUE = 1,
    LLMOPT_ON_LIMIT_DEGRADE = 2,
} llmopt_on_limit;

/* Avro symbol of an enum value ("ok", "page_hinkley", ...) or NULL when out
 * of range; and the reverse (returns -1 for an unknown symbol). */
const char *llmopt_status_name(llmopt_status s);
int llmopt_status_from_name(const char *s, size_t len);
const char *llmopt_window_kind_name(llmopt_window_kind k);
int llmopt_window_kind_from_name(const char *s, size_t len);
const char *llmopt_signal_kind_name(llmopt_signal_kind k);
int llmopt_signal_kind_from_name(const char *s, size_t len);
const char *llmopt_detector_name(llmopt_detector d);
int llmopt_detector_from_name(const char *s, size_t len);
const char *llmopt_direction_name(llmopt_direction d);
int llmopt_direction_from_name(const char *s, size_t len);
const char *llmopt_arm_state_name(llmopt_arm_state s);
int llmopt_arm_state_from_name(const char *s, size_t len);
const char *llmopt_on_limit_name(llmopt_on_limit o);
int llmopt_on_limit_from_name(const char *s, size_t len);

/* ---- Request (topic llm.requests, written by gateways) ---------------- */
typedef struct llmopt_request {
    llmopt_arena arena;
    llmopt_str request_id;
    int64_t ts_ms;
    llmopt_str gateway;
    llmopt_str route;
    llmopt_str tenant;        /* optional */
    llmopt_str user;          /* optional */
    llmopt_str task_type;
    llmopt_str arm;
    llmopt_str provider;
    llmopt_str model;
    int64_t decision_version;
    double propensity;
    llmopt_str experiment_id; /* optional */
    llmopt_str variant;       /* optional */
    int64_t input_tokens_est;
    bool has_context;
    llmopt_map_double context;
    llmopt_str prompt_hash;   /* optional */
} llmopt_request;

/* ---- Response (topic llm.responses, written by gateways) -------------- */
typedef struct llmopt_response {
    llmopt_arena arena;
    llmopt_str request_id;
    int64_t ts_ms;
    llmopt_str route;
    llmopt_str arm;
    llmopt_status status;     /* never LLMOPT_STATUS_MISSING */
    bool has_http_status;
    int32_t http_status;
    llmopt_str error_type;    /* optional */
    double latency_ms;
    bool has_ttft_ms;
    double ttft_ms;
    int64_t input_tokens;
    int64_t output_tokens;
    double cost_usd;
    bool has_quality;
    double quality;
    bool cache_hit;
    bool has_batch_size;
    int32_t batch_size;
    llmopt_str provider;      /* optional */
} llmopt_response;

/* ---- Feedback (topic llm.feedback, written by applications) ----------- */
typedef struct llmopt_feedback {
    llmopt_arena arena;
    llmopt_str request_id;
    int64_t ts_ms;
    llmopt_str route;
    bool has_rating;
    double rating;
    bool has_thumbs;
    int32_t thumbs;
    bool has_task_completed;
    bool task_completed;
} llmopt_feedback;

/* ---- Outcome (topic llm.outcomes, written by the processor) ----------- */
typedef struct llmopt_outcome {
    llmopt_arena arena;
    llmopt_str outcome_id;
    llmopt_str request_id;
    llmopt_str route;
    llmopt_str arm;
    llmopt_str provider;
    llmopt_str model;
    llmopt_str tenant;        /* optional */
    llmopt_str user;          /* optional */
    llmopt_str task_type;
    int64_t ts_ms;
    bool has_response_ts_ms;
    int64_t response_ts_ms;
    llmopt_status status;
    bool has_latency_ms;
    double latency_ms;
    bool has_ttft_ms;
    double ttft_ms;
    int64_t input_tokens;
    int64_t output_tokens;
    double cost_usd;
    bool has_quality;
    double quality;
    bool cache_hit;
    llmopt_map_double context;
    double propensity;
    int64_t decision_version;
    llmopt_str experiment_id; /* optional */
    llmopt_str variant;       /* optional */
    double reward_quality;
    double reward_cost;
    double reward_latency;
    double reward;
    bool has_rating;
    double rating;
    bool has_thumbs;
    int32_t thumbs;
    bool has_task_completed;
    bool task_completed;
    bool has_feedback_ts_ms;
    int64_t feedback_ts_ms;
    bool is_update;
} llmopt_outcome;

/* ---- WindowMetrics (topic llm.metrics, written by the processor) ------ */
typedef struct llmopt_window_metrics {
    llmopt_arena arena;
    llmopt_str metrics_id;
    llmopt_str route;
    llmopt_str arm;
    int64_t window_start_ms;
    int64_t window_end_ms;
    llmopt_window_kind window_kind;
    int64_t size_ms;
    int64_t advance_ms;
    int64_t count;
    int64_t ok_count;
    int64_t error_count;
    int64_t timeout_count;
    int64_t rate_limited_count;
    int64_t filtered_count;
    double error_rate;
    bool has_latency_p50_ms;
    double latency_p50_ms;
    bool has_latency_p90_ms;
    double latency_p90_ms;
    bool has_latency_p95_ms;
    double latency_p95_ms;
    bool has_latency_p99_ms;
    double latency_p99_ms;
    llmopt_str latency_digest;
    bool has_ttft_p50_ms;
    double ttft_p50_ms;
    bool has_ttft_p90_ms;
    double ttft_p90_ms;
    bool has_ttft_p95_ms;
    double ttft_p95_ms;
    bool has_ttft_p99_ms;
    double ttft_p99_ms;
    llmopt_str ttft_digest;   /* optional */
    int64_t input_tokens;
    int64_t output_tokens;
    double cost_usd;
    double cost_per_request;
    int64_t quality_count;
    bool has_quality_mean;
    double quality_mean;
    bool has_quality_variance;
    double quality_variance;
    int64_t reward_count;
    bool has_reward_mean;
    double reward_mean;
    bool has_reward_variance;
    double reward_variance;
    int64_t cache_hits;
    bool has_cache_hit_quality_mean;
    double cache_hit_quality_mean;
    bool has_cache_miss_quality_mean;
    double cache_miss_quality_mean;
    int64_t late_count;
    bool has_batch_size_mean;
    double batch_size_mean;
} llmopt_window_metrics;

/* ---- Signal (topic llm.signals, written by the processor) ------------- */
typedef struct llmopt_signal {
    llmopt_arena arena;
    llmopt_str signal_id;
    int64_t ts_ms;
    llmopt_str route;
    llmopt_str arm;
    llmopt_signal_kind kind;
    llmopt_detector detector;
    llmopt_str metric;
    llmopt_direction direction;
    double magnitude;
    double before;
    double after;
    int64_t sample_index;
    double severity;
    bool has_window_end_ms;
    int64_t window_end_ms;
} llmopt_signal;

/* ---- RoutingDecision (topic llm.routing, written by the controller) --- */
typedef struct llmopt_arm {
    llmopt_str arm_id;
    llmopt_str provider;
    llmopt_str model;
    llmopt_map_double params;        /* temperature, top_p, max_tokens, ... */
    llmopt_str prompt_template_id;   /* optional */
    double weight;
    llmopt_arm_state state;
    bool has_cooldown_until_ms;
    int64_t cooldown_until_ms;
} llmopt_arm;

typedef struct llmopt_arm_linear_model {
    llmopt_str arm_id;
    llmopt_double_array theta;       /* dimension values */
    llmopt_double_array a_inv;       /* dimension*dimension, row-major */
} llmopt_arm_linear_model;

typedef struct llmopt_contextual_model {
    llmopt_str_array feature_names;  /* dimension names */
    int32_t dimension;
    double alpha;
    struct {
        llmopt_arm_linear_model *items;
        size_t count;
    } arms;
} llmopt_contextual_model;

typedef struct llmopt_token_bucket {
    double requests_per_s;
    double requests_burst;
    double tokens_per_min;
    double tokens_burst;
} llmopt_token_bucket;

typedef struct llmopt_rate_limits {
    bool has_global;
    llmopt_token_bucket global;
    bool has_per_tenant;
    llmopt_token_bucket per_tenant;
    bool has_per_user;
    llmopt_token_bucket per_user;
    llmopt_map_double priority_weights;
    llmopt_on_limit on_limit;
    int64_t retry_after_ms;
    int64_t queue_timeout_ms;
} llmopt_rate_limits;

typedef struct llmopt_cache_policy {
    bool enabled;
    int64_t ttl_ms;
    int64_t max_entries;
    llmopt_str_array exclude_patterns;
} llmopt_cache_policy;

typedef struct llmopt_batching {
    bool enabled;
    int32_t max_batch;
    int64_t max_wait_ms;
    int64_t token_budget;
} llmopt_batching;

typedef struct llmopt_routing_decision {
    llmopt_arena arena;
    llmopt_str route;
    int64_t version;
    int64_t ts_ms;
    llmopt_str algorithm;
    struct {
        llmopt_arm *items;
        size_t count;
    } arms;
    llmopt_str default_arm;
    llmopt_str reason;
    llmopt_str_array signal_ids;
    bool has_contextual;
    llmopt_contextual_model contextual;
    bool has_rate_limits;
    llmopt_rate_limits rate_limits;
    bool has_cache_policy;
    llmopt_cache_policy cache_policy;
    bool has_batching;
    llmopt_batching batching;
    llmopt_str experiment_id;        /* optional */
    bool heartbeat;
} llmopt_routing_decision;

/* ---- lifecycle --------------------------------------------------------- */
void llmopt_request_init(llmopt_request *r);
void llmopt_request_release(llmopt_request *r);
void llmopt_response_init(llmopt_response *r);
void llmopt_response_release(llmopt_response *r);
void llmopt_feedback_init(llmopt_feedback *r);
void llmopt_feedback_release(llmopt_feedback *r);
void llmopt_outcome_init(llmopt_outcome *r);
void llmopt_outcome_release(llmopt_outcome *r);
void llmopt_window_metrics_init(llmopt_window_metrics *r);
void llmopt_window_metrics_release(llmopt_window_metrics *r);
void llmopt_signal_init(llmopt_signal *r);
void llmopt_signal_release(llmopt_signal *r);
void llmopt_routing_decision_init(llmopt_routing_decision *r);
void llmopt_routing_decision_release(llmopt_routing_decision *r);

/* Generic forms for code that switches on the record type. rec points to the
 * struct matching type; an invalid type is a no-op (size 0, name NULL). */
size_t llmopt_record_size(llmopt_record_type type);
const char *llmopt_record_type_name(llmopt_record_type type); /* "Request" */
/* "Request" or "io.llmopt.Request" -> type; LLMOPT_REC_NONE when unknown */
llmopt_record_type llmopt_record_type_from_name(const char *name);
void llmopt_record_init(llmopt_record_type type, void *rec);
/* Frees the arena; the record is left as after _init(). */
void llmopt_record_release(llmopt_record_type type, void *rec);
/* Zeroes every field but keeps the arena's memory for the next decode. */
void llmopt_record_clear(llmopt_record_type type, void *rec);
/* The record's arena (its first member). */
static inline llmopt_arena *llmopt_record_arena(void *rec) {
    return (llmopt_arena *)rec;
}

/* Copies s[0..len) into the record's arena and points *dst at the copy.
 * LLMOPT_ERR_NOMEM on allocation failure (dst unchanged). s may be NULL only
 * when len == 0 (gives ""). */
llmopt_err_t llmopt_str_set(llmopt_arena *arena, llmopt_str *dst,
                            const char *s, size_t len);
/* Borrowed view of a C string (no copy); {NULL, 0} for NULL. */
static inline llmopt_str llmopt_str_of(const char *cstr) {
    llmopt_str s = {cstr, 0};
    if (cstr)
        while (cstr[s.len])
            s.len++;
    return s;
}

#endif
