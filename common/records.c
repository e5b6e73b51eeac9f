/* records.c - lifecycle and enum names of the llmopt records (records.h). */
#include "common/records.h"
#include "common/record_desc.h"

#include <string.h>

#define NAMES_FN(prefix, type, ...)                                          \
    const char *const prefix##_names[] = {__VA_ARGS__};                      \
    const char *prefix##_name(type v) {                                      \
        size_t n = sizeof(prefix##_names) / sizeof(prefix##_names[0]);       \
        return ((size_t)v < n) ? prefix##_names[v] : NULL;                   \
    }                                                                        \
    int prefix##_from_name(const char *s, size_t len) {                      \
        size_t n = sizeof(prefix##_names) / sizeof(prefix##_names[0]);       \
        for (size_t i = 0; i < n; i++)                                       \
            if (strlen(prefix##_names[i]) == len &&                          \
                memcmp(prefix##_names[i], s, len) == 0)                      \
                return (int)i;                                               \
        return -1;                                                           \
    }

NAMES_FN(llmopt_status, llmopt_status, "ok", "error", "timeout", "rate_limited",
         "filtered", "missing")
NAMES_FN(llmopt_window_kind, llmopt_window_kind, "tumbling", "hopping")
NAMES_FN(llmopt_signal_kind, llmopt_signal_kind, "drift", "anomaly")
NAMES_FN(llmopt_detector, llmopt_detector, "adwin", "page_hinkley", "cusum",
         "zscore", "iqr", "mad")
NAMES_FN(llmopt_direction, llmopt_direction, "up", "down")
NAMES_FN(llmopt_arm_state, llmopt_arm_state, "active", "disabled", "cooldown",
         "canary")
NAMES_FN(llmopt_on_limit, llmopt_on_limit, "deny", "queue", "degrade")

static const struct {
    const char *name;
    size_t size;
} rec_info[LLMOPT_REC_COUNT] = {
    [LLMOPT_REC_REQUEST] = {"Request", sizeof(llmopt_request)},
    [LLMOPT_REC_RESPONSE] = {"Response", sizeof(llmopt_response)},
    [LLMOPT_REC_FEEDBACK] = {"Feedback", sizeof(llmopt_feedback)},
    [LLMOPT_REC_OUTCOME] = {"Outcome", sizeof(llmopt_outcome)},
    [LLMOPT_REC_WINDOW_METRICS] = {"WindowMetrics", sizeof(llmopt_window_metrics)},
    [LLMOPT_REC_SIGNAL] = {"Signal", sizeof(llmopt_signal)},
    [LLMOPT_REC_ROUTING_DECISION] = {"RoutingDecision", sizeof(llmopt_routing_decision)},
};

static int type_ok(llmopt_record_type t) {
    return t > LLMOPT_REC_NONE && t < LLMOPT_REC_COUNT;
}

size_t llmopt_record_size(llmopt_record_type type) {
    return type_ok(type) ? rec_info[type].size : 0;
}

const char *llmopt_record_type_name(llmopt_record_type type) {
    return type_ok(type) ? rec_info[type].name : NULL;
}

llmopt_record_type llmopt_record_type_from_name(const char *name) {
    if (!name)
        return LLMOPT_REC_NONE;
    if (strncmp(name, "io.llmopt.", 10) == 0)
        name += 10;
    for (int t = 1; t < LLMOPT_REC_COUNT; t++)
        if (strcmp(rec_info[t].name, name) == 0)
            return (llmopt_record_type)t;
    return LLMOPT_REC_NONE;
}

void llmopt_record_init(llmopt_record_type type, void *rec) {
    if (type_ok(type))
        memset(rec, 0, rec_info[type].size);
}

void llmopt_record_release(llmopt_record_type type, void *rec) {
    if (!type_ok(type) || !rec)
        return;
    llmopt_arena_release(llmopt_record_arena(rec));
    memset(rec, 0, rec_info[type].size);
}

void llmopt_record_clear(llmopt_record_type type, void *rec) {
    if (!type_ok(type))
        return;
    llmopt_arena keep = *llmopt_record_arena(rec);
    memset(rec, 0, rec_info[type].size);
    llmopt_arena_reset(&keep);
    *llmopt_record_arena(rec) = keep;
}

llmopt_err_t llmopt_str_set(llmopt_arena *arena, llmopt_str *dst, const char *s,
                            size_t len) {
    char *p = llmopt_arena_strdup(arena, len ? s : "", len);
    if (!p)
        return LLMOPT_ERR_NOMEM;
    dst->ptr = p;
    dst->len = len;
    return LLMOPT_OK;
}

#define LIFECYCLE(prefix, type, rt)                                          \
    void prefix##_init(type *r) { llmopt_record_init(rt, r); }               \
    void prefix##_release(type *r) { llmopt_record_release(rt, r); }

LIFECYCLE(llmopt_request, llmopt_request, LLMOPT_REC_REQUEST)
LIFECYCLE(llmopt_response, llmopt_response, LLMOPT_REC_RESPONSE)
LIFECYCLE(llmopt_feedback, llmopt_feedback, LLMOPT_REC_FEEDBACK)
LIFECYCLE(llmopt_outcome, llmopt_outcome, LLMOPT_REC_OUTCOME)
LIFECYCLE(llmopt_window_metrics, llmopt_window_metrics, LLMOPT_REC_WINDOW_METRICS)
LIFECYCLE(llmopt_signal, llmopt_signal, LLMOPT_REC_SIGNAL)
LIFECYCLE(llmopt_routing_decision, llmopt_routing_decision, LLMOPT_REC_ROUTING_DECISION)
