/* record_desc.c - the field tables of record_desc.h. Order must match
 * schemas/<record>.avsc (the codec tests decode avro-c output with these tables, so a
 * mismatch fails them). */
#include "common/record_desc.h"

#include <stddef.h>

#define FD(T, f, ty, opt, hoff, sub, nsym, syms) \
    {#f, ty, opt, nsym, (uint32_t)offsetof(T, f), hoff, sub, syms}
#define STR(T, f) FD(T, f, LLMOPT_FT_STRING, 0, 0, NULL, 0, NULL)
#define OSTR(T, f) FD(T, f, LLMOPT_FT_STRING, 1, 0, NULL, 0, NULL)
#define REQ(T, f, ty) FD(T, f, ty, 0, 0, NULL, 0, NULL)
#define OPT(T, f, ty) FD(T, f, ty, 1, (uint32_t)offsetof(T, has_##f), NULL, 0, NULL)
#define ENUMF(T, f, syms) \
    FD(T, f, LLMOPT_FT_ENUM, 0, 0, NULL, sizeof(syms) / sizeof(syms[0]), syms)
#define RECF(T, f, d) FD(T, f, LLMOPT_FT_RECORD, 0, 0, &d, 0, NULL)
#define ORECF(T, f, d) \
    FD(T, f, LLMOPT_FT_RECORD, 1, (uint32_t)offsetof(T, has_##f), &d, 0, NULL)
#define ARECF(T, f, d) FD(T, f, LLMOPT_FT_ARRAY_RECORD, 0, 0, &d, 0, NULL)
#define DESC(T, name, arr) {name, sizeof(T), sizeof(arr) / sizeof(arr[0]), arr}

/* ResponseStatus has the first five symbols of OutcomeStatus. */
static const char *const response_status_names[5] = {
    "ok", "error", "timeout", "rate_limited", "filtered"};

#define T llmopt_request
static const llmopt_field_desc request_fields[] = {
    STR(T, request_id), REQ(T, ts_ms, LLMOPT_FT_LONG), STR(T, gateway), STR(T, route),
    OSTR(T, tenant), OSTR(T, user), STR(T, task_type), STR(T, arm), STR(T, provider),
    STR(T, model), REQ(T, decision_version, LLMOPT_FT_LONG),
    REQ(T, propensity, LLMOPT_FT_DOUBLE), OSTR(T, experiment_id), OSTR(T, variant),
    REQ(T, input_tokens_est, LLMOPT_FT_LONG), OPT(T, context, LLMOPT_FT_MAP_DOUBLE),
    OSTR(T, prompt_hash),
};
#undef T

#define T llmopt_response
static const llmopt_field_desc response_fields[] = {
    STR(T, request_id), REQ(T, ts_ms, LLMOPT_FT_LONG), STR(T, route), STR(T, arm),
    ENUMF(T, status, response_status_names), OPT(T, http_status, LLMOPT_FT_INT),
    OSTR(T, error_type), REQ(T, latency_ms, LLMOPT_FT_DOUBLE),
    OPT(T, ttft_ms, LLMOPT_FT_DOUBLE), REQ(T, input_tokens, LLMOPT_FT_LONG),
    REQ(T, output_tokens, LLMOPT_FT_LONG), REQ(T, cost_usd, LLMOPT_FT_DOUBLE),
    OPT(T, quality, LLMOPT_FT_DOUBLE), REQ(T, cache_hit, LLMOPT_FT_BOOL),
    OPT(T, batch_size, LLMOPT_FT_INT), OSTR(T, provider),
};
#undef T

#define T llmopt_feedback
static const llmopt_field_desc feedback_fields[] = {
    STR(T, request_id), REQ(T, ts_ms, LLMOPT_FT_LONG), STR(T, route),
    OPT(T, rating, LLMOPT_FT_DOUBLE), OPT(T, thumbs, LLMOPT_FT_INT),
    OPT(T, task_completed, LLMOPT_FT_BOOL),
};
#undef T

#define T llmopt_outcome
static const llmopt_field_desc outcome_fields[] = {
    STR(T, outcome_id), STR(T, request_id), STR(T, route), STR(T, arm), STR(T, provider),
    STR(T, model), OSTR(T, tenant), OSTR(T, user), STR(T, task_type),
    REQ(T, ts_ms, LLMOPT_FT_LONG), OPT(T, response_ts_ms, LLMOPT_FT_LONG),
    ENUMF(T, status, llmopt_status_names), OPT(T, latency_ms, LLMOPT_FT_DOUBLE),
    OPT(T, ttft_ms, LLMOPT_FT_DOUBLE), REQ(T, input_tokens, LLMOPT_FT_LONG),
    REQ(T, output_tokens, LLMOPT_FT_LONG), REQ(T, cost_usd, LLMOPT_FT_DOUBLE),
    OPT(T, quality, LLMOPT_FT_DOUBLE), REQ(T, cache_hit, LLMOPT_FT_BOOL),
    REQ(T, context, LLMOPT_FT_MAP_DOUBLE), REQ(T, propensity, LLMOPT_FT_DOUBLE),
    REQ(T, decision_version, LLMOPT_FT_LONG), OSTR(T, experiment_id), OSTR(T, variant),
    REQ(T, reward_quality, LLMOPT_FT_DOUBLE), REQ(T, reward_cost, LLMOPT_FT_DOUBLE),
    REQ(T, reward_latency, LLMOPT_FT_DOUBLE), REQ(T, reward, LLMOPT_FT_DOUBLE),
    OPT(T, rating, LLMOPT_FT_DOUBLE), OPT(T, thumbs, LLMOPT_FT_INT),
    OPT(T, task_completed, LLMOPT_FT_BOOL), OPT(T, feedback_ts_ms, LLMOPT_FT_LONG),
    REQ(T, is_update, LLMOPT_FT_BOOL),
};
#undef T

#define T llmopt_window_metrics
static const llmopt_field_desc window_metrics_fields[] = {
    STR(T, metrics_id), STR(T, route), STR(T, arm), REQ(T, window_start_ms, LLMOPT_FT_LONG),
    REQ(T, window_end_ms, LLMOPT_FT_LONG), ENUMF(T, window_kind, llmopt_window_kind_names),
    REQ(T, size_ms, LLMOPT_FT_LONG), REQ(T, advance_ms, LLMOPT_FT_LONG),
    REQ(T, count, LLMOPT_FT_LONG), REQ(T, ok_count, LLMOPT_FT_LONG),
    REQ(T, error_count, LLMOPT_FT_LONG), REQ(T, timeout_count, LLMOPT_FT_LONG),
    REQ(T, rate_limited_count, LLMOPT_FT_LONG), REQ(T, filtered_count, LLMOPT_FT_LONG),
    REQ(T, error_rate, LLMOPT_FT_DOUBLE), OPT(T, latency_p50_ms, LLMOPT_FT_DOUBLE),
    OPT(T, latency_p90_ms, LLMOPT_FT_DOUBLE), OPT(T, latency_p95_ms, LLMOPT_FT_DOUBLE),
    OPT(T, latency_p99_ms, LLMOPT_FT_DOUBLE), STR(T, latency_digest),
    OPT(T, ttft_p50_ms, LLMOPT_FT_DOUBLE), OPT(T, ttft_p90_ms, LLMOPT_FT_DOUBLE),
    OPT(T, ttft_p95_ms, LLMOPT_FT_DOUBLE), OPT(T, ttft_p99_ms, LLMOPT_FT_DOUBLE),
    OSTR(T, ttft_digest), REQ(T, input_tokens, LLMOPT_FT_LONG),
    REQ(T, output_tokens, LLMOPT_FT_LONG), REQ(T, cost_usd, LLMOPT_FT_DOUBLE),
    REQ(T, cost_per_request, LLMOPT_FT_DOUBLE), REQ(T, quality_count, LLMOPT_FT_LONG),
    OPT(T, quality_mean, LLMOPT_FT_DOUBLE), OPT(T, quality_variance, LLMOPT_FT_DOUBLE),
    REQ(T, reward_count, LLMOPT_FT_LONG), OPT(T, reward_mean, LLMOPT_FT_DOUBLE),
    OPT(T, reward_variance, LLMOPT_FT_DOUBLE), REQ(T, cache_hits, LLMOPT_FT_LONG),
    OPT(T, cache_hit_quality_mean, LLMOPT_FT_DOUBLE),
    OPT(T, cache_miss_quality_mean, LLMOPT_FT_DOUBLE), REQ(T, late_count, LLMOPT_FT_LONG),
    OPT(T, batch_size_mean, LLMOPT_FT_DOUBLE),
};
#undef T

#define T llmopt_signal
static const llmopt_field_desc signal_fields[] = {
    STR(T, signal_id), REQ(T, ts_ms, LLMOPT_FT_LONG), STR(T, route), STR(T, arm),
    ENUMF(T, kind, llmopt_signal_kind_names), ENUMF(T, detector, llmopt_detector_names),
    STR(T, metric), ENUMF(T, direction, llmopt_direction_names),
    REQ(T, magnitude, LLMOPT_FT_DOUBLE), REQ(T, before, LLMOPT_FT_DOUBLE),
    REQ(T, after, LLMOPT_FT_DOUBLE), REQ(T, sample_index, LLMOPT_FT_LONG),
    REQ(T, severity, LLMOPT_FT_DOUBLE), OPT(T, window_end_ms, LLMOPT_FT_LONG),
};
#undef T

#define T llmopt_arm
static const llmopt_field_desc arm_fields[] = {
    STR(T, arm_id), STR(T, provider), STR(T, model), REQ(T, params, LLMOPT_FT_MAP_DOUBLE),
    OSTR(T, prompt_template_id), REQ(T, weight, LLMOPT_FT_DOUBLE),
    ENUMF(T, state, llmopt_arm_state_names), OPT(T, cooldown_until_ms, LLMOPT_FT_LONG),
};
#undef T
static const llmopt_record_desc arm_desc = DESC(llmopt_arm, "Arm", arm_fields);

#define T llmopt_arm_linear_model
static const llmopt_field_desc arm_linear_fields[] = {
    STR(T, arm_id), REQ(T, theta, LLMOPT_FT_ARRAY_DOUBLE), REQ(T, a_inv, LLMOPT_FT_ARRAY_DOUBLE),
};
#undef T
static const llmopt_record_desc arm_linear_desc =
    DESC(llmopt_arm_linear_model, "ArmLinearModel", arm_linear_fields);

#define T llmopt_contextual_model
static const llmopt_field_desc contextual_fields[] = {
    REQ(T, feature_names, LLMOPT_FT_ARRAY_STRING), REQ(T, dimension, LLMOPT_FT_INT),
    REQ(T, alpha, LLMOPT_FT_DOUBLE), ARECF(T, arms, arm_linear_desc),
};
#undef T
static const llmopt_record_desc contextual_desc =
    DESC(llmopt_contextual_model, "ContextualModel", contextual_fields);

#define T llmopt_token_bucket
static const llmopt_field_desc bucket_fields[] = {
    REQ(T, requests_per_s, LLMOPT_FT_DOUBLE), REQ(T, requests_burst, LLMOPT_FT_DOUBLE),
    REQ(T, tokens_per_min, LLMOPT_FT_DOUBLE), REQ(T, tokens_burst, LLMOPT_FT_DOUBLE),
};
#undef T
static const llmopt_record_desc bucket_desc =
    DESC(llmopt_token_bucket, "TokenBucket", bucket_fields);

#define T llmopt_rate_limits
static const llmopt_field_desc rate_limits_fields[] = {
    ORECF(T, global, bucket_desc), ORECF(T, per_tenant, bucket_desc),
    ORECF(T, per_user, bucket_desc), REQ(T, priority_weights, LLMOPT_FT_MAP_DOUBLE),
    ENUMF(T, on_limit, llmopt_on_limit_names), REQ(T, retry_after_ms, LLMOPT_FT_LONG),
    REQ(T, queue_timeout_ms, LLMOPT_FT_LONG),
};
#undef T
static const llmopt_record_desc rate_limits_desc =
    DESC(llmopt_rate_limits, "RateLimits", rate_limits_fields);

#define T llmopt_cache_policy
static const llmopt_field_desc cache_fields[] = {
    REQ(T, enabled, LLMOPT_FT_BOOL), REQ(T, ttl_ms, LLMOPT_FT_LONG),
    REQ(T, max_entries, LLMOPT_FT_LONG), REQ(T, exclude_patterns, LLMOPT_FT_ARRAY_STRING),
};
#undef T
static const llmopt_record_desc cache_desc =
    DESC(llmopt_cache_policy, "CachePolicy", cache_fields);

#define T llmopt_batching
static const llmopt_field_desc batching_fields[] = {
    REQ(T, enabled, LLMOPT_FT_BOOL), REQ(T, max_batch, LLMOPT_FT_INT),
    REQ(T, max_wait_ms, LLMOPT_FT_LONG), REQ(T, token_budget, LLMOPT_FT_LONG),
};
#undef T
static const llmopt_record_desc batching_desc =
    DESC(llmopt_batching, "Batching", batching_fields);

#define T llmopt_routing_decision
static const llmopt_field_desc routing_fields[] = {
    STR(T, route), REQ(T, version, LLMOPT_FT_LONG), REQ(T, ts_ms, LLMOPT_FT_LONG),
    STR(T, algorithm), ARECF(T, arms, arm_desc), STR(T, default_arm), STR(T, reason),
    REQ(T, signal_ids, LLMOPT_FT_ARRAY_STRING), ORECF(T, contextual, contextual_desc),
    ORECF(T, rate_limits, rate_limits_desc), ORECF(T, cache_policy, cache_desc),
    ORECF(T, batching, batching_desc), OSTR(T, experiment_id),
    REQ(T, heartbeat, LLMOPT_FT_BOOL),
};
#undef T

static const llmopt_record_desc top[LLMOPT_REC_COUNT] = {
    [LLMOPT_REC_REQUEST] = DESC(llmopt_request, "Request", request_fields),
    [LLMOPT_REC_RESPONSE] = DESC(llmopt_response, "Response", response_fields),
    [LLMOPT_REC_FEEDBACK] = DESC(llmopt_feedback, "Feedback", feedback_fields),
    [LLMOPT_REC_OUTCOME] = DESC(llmopt_outcome, "Outcome", outcome_fields),
    [LLMOPT_REC_WINDOW_METRICS] =
        DESC(llmopt_window_metrics, "WindowMetrics", window_metrics_fields),
    [LLMOPT_REC_SIGNAL] = DESC(llmopt_signal, "Signal", signal_fields),
    [LLMOPT_REC_ROUTING_DECISION] =
        DESC(llmopt_routing_decision, "RoutingDecision", routing_fields),
};

const llmopt_record_desc *llmopt_record_desc_of(llmopt_record_type type) {
    if (type <= LLMOPT_REC_NONE || type >= LLMOPT_REC_COUNT)
        return NULL;
    return &top[type];
}
