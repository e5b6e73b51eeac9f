/*
 * sink_rows.c - records -> COPY text rows (see sink_rows.h).
 */
#include "tools/sink_rows.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define OUTCOME_COLUMNS                                                                    \
    "outcome_id, request_id, route, arm, provider, model, tenant, user_id, task_type, ts, " \
    "response_ts, status, latency_ms, ttft_ms, input_tokens, output_tokens, cost_usd, "     \
    "quality, cache_hit, context, propensity, decision_version, experiment_id, variant, "  \
    "reward_quality, reward_cost, reward_latency, reward, rating, thumbs, task_completed, " \
    "feedback_ts, is_update"

#define METRICS_COLUMNS                                                                     \
    "metrics_id, route, arm, window_start, window_end, window_kind, size_ms, advance_ms, "  \
    "count, ok_count, error_count, timeout_count, rate_limited_count, filtered_count, "     \
    "error_rate, latency_p50_ms, latency_p90_ms, latency_p95_ms, latency_p99_ms, "          \
    "latency_digest, ttft_p50_ms, ttft_p90_ms, ttft_p95_ms, ttft_p99_ms, ttft_digest, "     \
    "input_tokens, output_tokens, cost_usd, cost_per_request, quality_count, quality_mean, " \
    "quality_variance, reward_count, reward_mean, reward_variance, cache_hits, "            \
    "cache_hit_quality_mean, cache_miss_quality_mean, late_count, batch_size_mean"

#define SIGNAL_COLUMNS                                                                 \
    "signal_id, ts, route, arm, kind, detector, metric, direction, magnitude, before, " \
    "after, sample_index, severity, window_end"

#define ROUTING_COLUMNS                                                                    \
    "route, version, ts, algorithm, default_arm, reason, signal_ids, experiment_id, "      \
    "heartbeat, payload"

#define OUTCOME_NCOLS 33

static const llmopt_sink_table_desc descs[LLMOPT_SINK_TABLE_COUNT] = {
    [LLMOPT_SINK_METRICS] = {"window_metrics", METRICS_COLUMNS, "metrics_id, window_start",
                             LLMOPT_REC_WINDOW_METRICS, "metrics", false},
    [LLMOPT_SINK_SIGNALS] = {"signals", SIGNAL_COLUMNS, "signal_id, ts", LLMOPT_REC_SIGNAL,
                             "signals", false},
    [LLMOPT_SINK_ROUTING] = {"routing_decisions", ROUTING_COLUMNS, "route, version",
                             LLMOPT_REC_ROUTING_DECISION, "routing", false},
    [LLMOPT_SINK_OUTCOMES] = {"outcomes", OUTCOME_COLUMNS, "outcome_id, ts",
                              LLMOPT_REC_OUTCOME, "outcomes", true},
};

/* "PGCOPY\n\377\r\n\0", flags 0, header extension length 0 */
const unsigned char llmopt_sink_copy_binary_header[LLMOPT_SINK_COPY_BINARY_HEADER_LEN] = {
    'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0};
const unsigned char llmopt_sink_copy_binary_trailer[2] = {0xff, 0xff};

const llmopt_sink_table_desc *llmopt_sink_table_get(llmopt_sink_table t) {
    return &descs[t];
}

/* Years 1..9999, the range Postgres and ISO 8601 agree on comfortably. */
#define MIN_TS_MS INT64_C(-62135596800000)
#define MAX_TS_MS INT64_C(253402300799999)

int64_t llmopt_sink_day_of_ms(int64_t ts_ms) {
    int64_t d = ts_ms / 86400000;
    if (ts_ms % 86400000 < 0)
        d--;
    return d;
}

/* Proleptic Gregorian date of a day number (days since 1970-01-01), by
 * counting 400-year eras of 146097 days starting on March 1st, so the leap
 * day is the last day of each shifted year. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

llmopt_err_t llmopt_sink_format_ts(int64_t ts_ms, char *out, size_t out_size) {
    if (ts_ms < MIN_TS_MS || ts_ms > MAX_TS_MS)
        return LLMOPT_ERR_RANGE;
    int64_t day = llmopt_sink_day_of_ms(ts_ms);
    int64_t ms_of_day = ts_ms - day * 86400000;
    int64_t y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    unsigned s = (unsigned)(ms_of_day / 1000), ms = (unsigned)(ms_of_day % 1000);
    snprintf(out, out_size, "%04" PRId64 "-%02u-%02u %02u:%02u:%02u.%03u+00", y, m, d, s / 3600,
             s / 60 % 60, s % 60, ms);
    return LLMOPT_OK;
}

int64_t llmopt_sink_row_time_ms(llmopt_sink_table t, const void *rec) {
    switch (t) {
    case LLMOPT_SINK_METRICS:
        return ((const llmopt_window_metrics *)rec)->window_start_ms;
    case LLMOPT_SINK_SIGNALS:
        return ((const llmopt_signal *)rec)->ts_ms;
    case LLMOPT_SINK_ROUTING:
        return ((const llmopt_routing_decision *)rec)->ts_ms;
    case LLMOPT_SINK_OUTCOMES:
        return ((const llmopt_outcome *)rec)->ts_ms;
    default:
        return 0;
    }
}

/* ---- row writer ------------------------------------------------------- */

/* One writer for both COPY formats: text (tab-separated, escaped, '\n'
 * ended) and binary (per field a big-endian int32 length, -1 for NULL, then
 * the type's binary form; the row starts with an int16 field count). */
typedef struct rw {
    llmopt_wbuf *b;
    bool binary;
    int ncols;
    const char *bad; /* first field refused, or NULL */
    const char *why;
} rw;

static void be16(llmopt_wbuf *b, uint16_t v) {
    uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    llmopt_wbuf_bytes(b, t, 2);
}

static void be32(llmopt_wbuf *b, uint32_t v) {
    uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    llmopt_wbuf_bytes(b, t, 4);
}

static void be64(llmopt_wbuf *b, uint64_t v) {
    uint8_t t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (uint8_t)(v >> (56 - 8 * i));
    llmopt_wbuf_bytes(b, t, 8);
}

/* binary: the length word of a field of n bytes */
static void field_len(rw *w, size_t n) {
    w->ncols++;
    be32(w->b, (uint32_t)n);
}

static void sep(rw *w) {
    if (w->ncols++ > 0)
        llmopt_wbuf_u8(w->b, '\t');
}

static void put_null(rw *w) {
    if (w->binary) {
        w->ncols++;
        be32(w->b, UINT32_MAX); /* -1 */
        return;
    }
    sep(w);
    llmopt_wbuf_bytes(w->b, "\\N", 2);
}

/* COPY text escaping of raw bytes (no separator). */
static void put_escaped(llmopt_wbuf *b, const char *s, size_t n) {
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: continue;
        }
        llmopt_wbuf_bytes(b, s + run, i - run);
        llmopt_wbuf_bytes(b, esc, 2);
        run = i + 1;
    }
    llmopt_wbuf_bytes(b, s + run, n - run);
}

static void put_str(rw *w, const char *field, llmopt_str s, int required) {
    if (!s.ptr) {
        if (required && !w->bad) {
            w->bad = field;
            w->why = "is absent";
        }
        put_null(w);
        return;
    }
    if (memchr(s.ptr, '\0', s.len) && !w->bad) {
        w->bad = field;
        w->why = "holds a NUL byte";
    }
    if (w->binary) {
        if (s.len > INT32_MAX && !w->bad) {
            w->bad = field;
            w->why = "is longer than 2 GiB";
        }
        field_len(w, s.len);
        llmopt_wbuf_bytes(w->b, s.ptr, s.len);
        return;
    }
    sep(w);
    put_escaped(w->b, s.ptr, s.len);
}

static void put_cstr(rw *w, const char *s) {
    if (w->binary) {
        size_t n = strlen(s);
        field_len(w, n);
        llmopt_wbuf_bytes(w->b, s, n);
        return;
    }
    sep(w);
    put_escaped(w->b, s, strlen(s));
}

static void put_i64(rw *w, int64_t v) {
    if (w->binary) {
        field_len(w, 8);
        be64(w->b, (uint64_t)v);
        return;
    }
    char t[32];
    int n = snprintf(t, sizeof(t), "%" PRId64, v);
    sep(w);
    llmopt_wbuf_bytes(w->b, t, (size_t)n);
}

static int fmt_double(char *t, size_t size, double v) {
    if (isnan(v))
        return snprintf(t, size, "NaN");
    if (isinf(v))
        return snprintf(t, size, v > 0 ? "Infinity" : "-Infinity");
    return snprintf(t, size, "%.17g", v);
}

/* A smallint column (text: Postgres range-checks; binary: refused here). */
static void put_i16(rw *w, const char *field, int64_t v) {
    if (!w->binary) {
        put_i64(w, v);
        return;
    }
    if ((v < INT16_MIN || v > INT16_MAX) && !w->bad) {
        w->bad = field;
        w->why = "is outside smallint";
    }
    field_len(w, 2);
    be16(w->b, (uint16_t)(int16_t)v);
}

static void put_f64(rw *w, double v) {
    if (w->binary) {
        uint64_t bits;
        memcpy(&bits, &v, sizeof(bits));
        field_len(w, 8);
        be64(w->b, bits); /* NaN and infinities pass as they are */
        return;
    }
    char t[40];
    int n = fmt_double(t, sizeof(t), v);
    sep(w);
    llmopt_wbuf_bytes(w->b, t, (size_t)n);
}

static void put_opt_f64(rw *w, bool has, double v) {
    if (has)
        put_f64(w, v);
    else
        put_null(w);
}

static void put_bool(rw *w, bool v) {
    if (w->binary) {
        field_len(w, 1);
        llmopt_wbuf_u8(w->b, v ? 1 : 0);
        return;
    }
    sep(w);
    llmopt_wbuf_u8(w->b, v ? 't' : 'f');
}

/* 2000-01-01 00:00 UTC, the epoch of binary timestamptz (microseconds) */
#define PG_EPOCH_MS INT64_C(946684800000)

static void put_ts(rw *w, const char *field, int64_t ts_ms) {
    char t[40];
    if (ts_ms < MIN_TS_MS || ts_ms > MAX_TS_MS) {
        if (!w->bad) {
            w->bad = field;
            w->why = "is outside years 1..9999";
        }
        put_null(w);
        return;
    }
    if (w->binary) {
        field_len(w, 8);
        be64(w->b, (uint64_t)((ts_ms - PG_EPOCH_MS) * 1000));
        return;
    }
    llmopt_sink_format_ts(ts_ms, t, sizeof(t));
    sep(w);
    llmopt_wbuf_bytes(w->b, t, strlen(t));
}

static void put_opt_ts(rw *w, const char *field, bool has, int64_t ts_ms) {
    if (has)
        put_ts(w, field, ts_ms);
    else
        put_null(w);
}

static void put_enum(rw *w, const char *field, const char *name) {
    if (!name) {
        if (!w->bad) {
            w->bad = field;
            w->why = "is not a symbol of its enum";
        }
        put_null(w);
        return;
    }
    put_cstr(w, name);
}

/* JSON string body (RFC 8259 escapes) into b, unquoted. */
static void json_escaped(llmopt_wbuf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            llmopt_wbuf_u8(b, '\\');
            llmopt_wbuf_u8(b, c);
        } else if (c < 0x20) {
            char t[8];
            snprintf(t, sizeof(t), "\\u%04x", c);
            llmopt_wbuf_bytes(b, t, 6);
        } else {
            llmopt_wbuf_u8(b, c);
        }
    }
}

/* map<double> as a JSON object, then COPY-escaped as one field. */
static void put_context(rw *w, const llmopt_map_double *m, llmopt_wbuf *tmp) {
    tmp->len = 0;
    llmopt_wbuf_u8(tmp, '{');
    for (size_t i = 0; i < m->count; i++) {
        const llmopt_kv_double *kv = &m->items[i];
        if (i)
            llmopt_wbuf_u8(tmp, ',');
        llmopt_wbuf_u8(tmp, '"');
        if (kv->key.ptr)
            json_escaped(tmp, kv->key.ptr, kv->key.len);
        llmopt_wbuf_bytes(tmp, "\":", 2);
        if (isfinite(kv->value)) {
            char t[40];
            int n = snprintf(t, sizeof(t), "%.17g", kv->value);
            llmopt_wbuf_bytes(tmp, t, (size_t)n);
        } else {
            llmopt_wbuf_bytes(tmp, "null", 4); /* jsonb has no NaN or Infinity */
        }
    }
    llmopt_wbuf_u8(tmp, '}');
    if (w->binary) {
        field_len(w, 1 + tmp->len);
        llmopt_wbuf_u8(w->b, 1); /* jsonb binary format version 1: the JSON text */
        llmopt_wbuf_bytes(w->b, tmp->data, tmp->len);
        return;
    }
    sep(w);
    put_escaped(w->b, (const char *)tmp->data, tmp->len);
}

/* text[] literal {"a","b"}: each element double-quoted with " and \ escaped,
 * then the whole literal COPY-escaped. */
static void put_text_array(rw *w, const char *field, const llmopt_str_array *a,
                           llmopt_wbuf *tmp) {
    tmp->len = 0;
    llmopt_wbuf_u8(tmp, '{');
    for (size_t i = 0; i < a->count; i++) {
        llmopt_str s = a->items[i];
        if (i)
            llmopt_wbuf_u8(tmp, ',');
        if (!s.ptr) {
            llmopt_wbuf_bytes(tmp, "NULL", 4);
            continue;
        }
        if (memchr(s.ptr, '\0', s.len) && !w->bad) {
            w->bad = field;
            w->why = "holds a NUL byte";
        }
        llmopt_wbuf_u8(tmp, '"');
        for (size_t k = 0; k < s.len; k++) {
            if (s.ptr[k] == '"' || s.ptr[k] == '\\')
                llmopt_wbuf_u8(tmp, '\\');
            llmopt_wbuf_u8(tmp, (uint8_t)s.ptr[k]);
        }
        llmopt_wbuf_u8(tmp, '"');
    }
    llmopt_wbuf_u8(tmp, '}');
    sep(w);
    put_escaped(w->b, (const char *)tmp->data, tmp->len);
}

static void key_of(llmopt_wbuf *key, llmopt_str id, int64_t n) {
    key->len = 0;
    if (id.ptr)
        llmopt_wbuf_bytes(key, id.ptr, id.len);
    llmopt_wbuf_u8(key, 0); /* ids may hold any byte but NUL is refused above */
    llmopt_wbuf_i64(key, n);
}

static void row_outcome(rw *w, const llmopt_outcome *o, llmopt_wbuf *tmp) {
    put_str(w, "outcome_id", o->outcome_id, 1);
    put_str(w, "request_id", o->request_id, 1);
    put_str(w, "route", o->route, 1);
    put_str(w, "arm", o->arm, 1);
    put_str(w, "provider", o->provider, 1);
    put_str(w, "model", o->model, 1);
    put_str(w, "tenant", o->tenant, 0);
    put_str(w, "user", o->user, 0);
    put_str(w, "task_type", o->task_type, 1);
    put_ts(w, "ts_ms", o->ts_ms);
    put_opt_ts(w, "response_ts_ms", o->has_response_ts_ms, o->response_ts_ms);
    put_enum(w, "status", llmopt_status_name(o->status));
    put_opt_f64(w, o->has_latency_ms, o->latency_ms);
    put_opt_f64(w, o->has_ttft_ms, o->ttft_ms);
    put_i64(w, o->input_tokens);
    put_i64(w, o->output_tokens);
    put_f64(w, o->cost_usd);
    put_opt_f64(w, o->has_quality, o->quality);
    put_bool(w, o->cache_hit);
    put_context(w, &o->context, tmp);
    put_f64(w, o->propensity);
    put_i64(w, o->decision_version);
    put_str(w, "experiment_id", o->experiment_id, 0);
    put_str(w, "variant", o->variant, 0);
    put_f64(w, o->reward_quality);
    put_f64(w, o->reward_cost);
    put_f64(w, o->reward_latency);
    put_f64(w, o->reward);
    put_opt_f64(w, o->has_rating, o->rating);
    if (o->has_thumbs)
        put_i16(w, "thumbs", o->thumbs);
    else
        put_null(w);
    if (o->has_task_completed)
        put_bool(w, o->task_completed);
    else
        put_null(w);
    put_opt_ts(w, "feedback_ts_ms", o->has_feedback_ts_ms, o->feedback_ts_ms);
    put_bool(w, o->is_update);
}

static void row_metrics(rw *w, const llmopt_window_metrics *m) {
    put_str(w, "metrics_id", m->metrics_id, 1);
    put_str(w, "route", m->route, 1);
    put_str(w, "arm", m->arm, 1);
    put_ts(w, "window_start_ms", m->window_start_ms);
    put_ts(w, "window_end_ms", m->window_end_ms);
    put_enum(w, "window_kind", llmopt_window_kind_name(m->window_kind));
    put_i64(w, m->size_ms);
    put_i64(w, m->advance_ms);
    put_i64(w, m->count);
    put_i64(w, m->ok_count);
    put_i64(w, m->error_count);
    put_i64(w, m->timeout_count);
    put_i64(w, m->rate_limited_count);
    put_i64(w, m->filtered_count);
    put_f64(w, m->error_rate);
    put_opt_f64(w, m->has_latency_p50_ms, m->latency_p50_ms);
    put_opt_f64(w, m->has_latency_p90_ms, m->latency_p90_ms);
    put_opt_f64(w, m->has_latency_p95_ms, m->latency_p95_ms);
    put_opt_f64(w, m->has_latency_p99_ms, m->latency_p99_ms);
    put_str(w, "latency_digest", m->latency_digest, 1);
    put_opt_f64(w, m->has_ttft_p50_ms, m->ttft_p50_ms);
    put_opt_f64(w, m->has_ttft_p90_ms, m->ttft_p90_ms);
    put_opt_f64(w, m->has_ttft_p95_ms, m->ttft_p95_ms);
    put_opt_f64(w, m->has_ttft_p99_ms, m->ttft_p99_ms);
    put_str(w, "ttft_digest", m->ttft_digest, 0);
    put_i64(w, m->input_tokens);
    put_i64(w, m->output_tokens);
    put_f64(w, m->cost_usd);
    put_f64(w, m->cost_per_request);
    put_i64(w, m->quality_count);
    put_opt_f64(w, m->has_quality_mean, m->quality_mean);
    put_opt_f64(w, m->has_quality_variance, m->quality_variance);
    put_i64(w, m->reward_count);
    put_opt_f64(w, m->has_reward_mean, m->reward_mean);
    put_opt_f64(w, m->has_reward_variance, m->reward_variance);
    put_i64(w, m->cache_hits);
    put_opt_f64(w, m->has_cache_hit_quality_mean, m->cache_hit_quality_mean);
    put_opt_f64(w, m->has_cache_miss_quality_mean, m->cache_miss_quality_mean);
    put_i64(w, m->late_count);
    put_opt_f64(w, m->has_batch_size_mean, m->batch_size_mean);
}

static void row_signal(rw *w, const llmopt_signal *s) {
    put_str(w, "signal_id", s->signal_id, 1);
    put_ts(w, "ts_ms", s->ts_ms);
    put_str(w, "route", s->route, 1);
    put_str(w, "arm", s->arm, 1);
    put_enum(w, "kind", llmopt_signal_kind_name(s->kind));
    put_enum(w, "detector", llmopt_detector_name(s->detector));
    put_str(w, "metric", s->metric, 1);
    put_enum(w, "direction", llmopt_direction_name(s->direction));
    put_f64(w, s->magnitude);
    put_f64(w, s->before);
    put_f64(w, s->after);
    put_i64(w, s->sample_index);
    put_f64(w, s->severity);
    put_opt_ts(w, "window_end_ms", s->has_window_end_ms, s->window_end_ms);
}

static void row_routing(rw *w, const llmopt_routing_decision *d, llmopt_wbuf *tmp,
                        const llmopt_json_buf *payload) {
    put_str(w, "route", d->route, 1);
    put_i64(w, d->version);
    put_ts(w, "ts_ms", d->ts_ms);
    put_str(w, "algorithm", d->algorithm, 1);
    put_str(w, "default_arm", d->default_arm, 1);
    put_str(w, "reason", d->reason, 1);
    put_text_array(w, "signal_ids", &d->signal_ids, tmp);
    put_str(w, "experiment_id", d->experiment_id, 0);
    put_bool(w, d->heartbeat);
    sep(w);
    put_escaped(w->b, payload->data, payload->len);
}

llmopt_err_t llmopt_sink_row_encode(llmopt_sink_table t, const void *rec, llmopt_wbuf *row,
                                    llmopt_wbuf *key, llmopt_json_buf *scratch, char *errstr,
                                    size_t errstr_size) {
    llmopt_err_t rc = LLMOPT_ERR_INVALID;
    size_t start = row->len;
    llmopt_wbuf tmp;
    llmopt_wbuf_init(&tmp);
    rw w = {.b = row, .binary = descs[t].binary};
    switch (t) {
    case LLMOPT_SINK_OUTCOMES: {
        const llmopt_outcome *o = rec;
        if (w.binary)
            be16(row, OUTCOME_NCOLS); /* the field count */
        row_outcome(&w, o, &tmp);
        assert(w.ncols == OUTCOME_NCOLS);
        key_of(key, o->outcome_id, o->ts_ms);
        break;
    }
    case LLMOPT_SINK_METRICS: {
        const llmopt_window_metrics *m = rec;
        row_metrics(&w, m);
        key_of(key, m->metrics_id, m->window_start_ms);
        break;
    }
    case LLMOPT_SINK_SIGNALS: {
        const llmopt_signal *s = rec;
        row_signal(&w, s);
        key_of(key, s->signal_id, s->ts_ms);
        break;
    }
    case LLMOPT_SINK_ROUTING: {
        const llmopt_routing_decision *d = rec;
        char jerr[256] = "";
        if (llmopt_json_encode(LLMOPT_REC_ROUTING_DECISION, d, scratch, jerr, sizeof(jerr)) !=
            LLMOPT_OK) {
            llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "routing decision payload: %s", jerr);
            goto out;
        }
        row_routing(&w, d, &tmp, scratch);
        key_of(key, d->route, d->version);
        break;
    }
    default:
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "unknown sink table %d", (int)t);
        goto out;
    }
    if (!w.binary)
        llmopt_wbuf_u8(row, '\n');
    if (row->err || key->err || tmp.err) {
        rc = LLMOPT_ERR_NOMEM;
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory encoding a '%s' row", descs[t].table);
        goto out;
    }
    if (w.bad) {
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "field '%s' %s", w.bad, w.why);
        goto out;
    }
    rc = LLMOPT_OK;
out:
    if (rc != LLMOPT_OK) {
        row->len = start;
        key->len = 0;
    }
    llmopt_wbuf_release(&tmp);
    return rc;
}
