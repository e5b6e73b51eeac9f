/* avro_codec.c - see avro_codec.h. The body codec walks the field tables of
 * record_desc.h; the framing layer resolves schema ids with avro-c once per
 * id and caches the verdict. */
#include "common/avro_codec.h"

#include <avro.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/avro_wire.h"
#include "common/record_desc.h"

_Static_assert(LLMOPT_AVRO_WIRE_TRUNCATED == LLMOPT_AVRO_TRUNCATED, "wire codes");
_Static_assert(sizeof(llmopt_status) == sizeof(int), "enums are stored as int");
_Static_assert(LLMOPT_AVRO_WIRE_BAD_VARINT == LLMOPT_AVRO_BAD_VARINT, "wire codes");

static const char *const reason_names[LLMOPT_AVRO_REASON_COUNT] = {
    [LLMOPT_AVRO_OK] = "ok",
    [LLMOPT_AVRO_TRUNCATED] = "truncated",
    [LLMOPT_AVRO_BAD_MAGIC] = "bad_magic",
    [LLMOPT_AVRO_UNKNOWN_SCHEMA_ID] = "unknown_schema_id",
    [LLMOPT_AVRO_WRONG_RECORD_TYPE] = "wrong_record_type",
    [LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA] = "unsupported_writer_schema",
    [LLMOPT_AVRO_BAD_VARINT] = "bad_varint",
    [LLMOPT_AVRO_INT_OUT_OF_RANGE] = "int_out_of_range",
    [LLMOPT_AVRO_NEGATIVE_LENGTH] = "negative_length",
    [LLMOPT_AVRO_STRING_TOO_LONG] = "string_too_long",
    [LLMOPT_AVRO_TOO_MANY_ITEMS] = "too_many_items",
    [LLMOPT_AVRO_INVALID_ENUM] = "invalid_enum",
    [LLMOPT_AVRO_BAD_UNION_BRANCH] = "bad_union_branch",
    [LLMOPT_AVRO_BAD_BOOLEAN] = "bad_boolean",
    [LLMOPT_AVRO_TRAILING_BYTES] = "trailing_bytes",
    [LLMOPT_AVRO_NOMEM] = "nomem",
    [LLMOPT_AVRO_REGISTRY_UNAVAILABLE] = "registry_unavailable",
    [LLMOPT_AVRO_BAD_WRITER_SCHEMA] = "bad_writer_schema",
};

const char *llmopt_avro_reason_name(llmopt_avro_reason r) {
    if ((unsigned)r >= LLMOPT_AVRO_REASON_COUNT)
        return "?";
    return reason_names[r];
}

static llmopt_err_t reason_err(llmopt_avro_reason r) {
    switch (r) {
    case LLMOPT_AVRO_OK: return LLMOPT_OK;
    case LLMOPT_AVRO_TRUNCATED: return LLMOPT_ERR_TRUNCATED;
    case LLMOPT_AVRO_UNKNOWN_SCHEMA_ID: return LLMOPT_ERR_UNKNOWN;
    case LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA: return LLMOPT_ERR_VERSION;
    case LLMOPT_AVRO_NOMEM: return LLMOPT_ERR_NOMEM;
    case LLMOPT_AVRO_REGISTRY_UNAVAILABLE: return LLMOPT_ERR_IO;
    default: return LLMOPT_ERR_INVALID;
    }
}

/* ------------------------------------------------------------------ body decoding */

typedef struct dec {
    const uint8_t *p;
    const uint8_t *end;
    const uint8_t *start;
    llmopt_arena *arena;
    const char *field; /* field being decoded, for the error message */
} dec;

static int dec_fields(dec *d, const llmopt_record_desc *desc, char *base);

static inline int dec_long(dec *d, int64_t *v) {
    return llmopt_avro_read_long(&d->p, d->end, v);
}

static inline __attribute__((always_inline)) int dec_string(dec *d, llmopt_str *s) {
    int64_t n;
    int rc = dec_long(d, &n);
    if (rc)
        return rc;
    if (n < 0)
        return LLMOPT_AVRO_NEGATIVE_LENGTH;
    if (n > (int64_t)LLMOPT_AVRO_MAX_STRING)
        return LLMOPT_AVRO_STRING_TOO_LONG;
    if (n > d->end - d->p)
        return LLMOPT_AVRO_TRUNCATED;
    /* inline bump of the arena's current block (the common case); the
     * arena's own function handles new blocks */
    llmopt_arena *a = d->arena;
    size_t need = ((size_t)n + 8) & ~(size_t)7;
    char *copy;
    if ((size_t)(a->end - a->ptr) >= need && a->ptr) {
        copy = a->ptr;
        if (n <= 16 && d->end - d->p >= 16 && a->end - a->ptr >= 16) {
            /* short string (ids, route and arm names): one fixed 16-byte
             * copy instead of a memcpy call; the bytes past n stay inside
             * the input and the arena block and are overwritten next */
            memcpy(copy, d->p, 16);
        } else {
            memcpy(copy, d->p, (size_t)n);
        }
        a->ptr += need;
        a->used += need;
        copy[n] = '\0';
    } else if (!(copy = llmopt_arena_strdup(a, (const char *)d->p, (size_t)n))) {
        return LLMOPT_AVRO_NOMEM;
    }
    s->ptr = copy;
    s->len = (size_t)n;
    d->p += n;
    return 0;
}

/* Reads one block count of an array or map. A negative count is followed by
 * the block's byte size (which we do not need). Checks that `count` items of
 * at least min_bytes each can still fit in the input, and the running total
 * against LLMOPT_AVRO_MAX_ITEMS. */
static int dec_block(dec *d, size_t total, size_t min_bytes, size_t *count) {
    int64_t n;
    int rc = dec_long(d, &n);
    if (rc)
        return rc;
    if (n < 0) {
        if (n == INT64_MIN)
            return LLMOPT_AVRO_TOO_MANY_ITEMS;
        n = -n;
        int64_t bytes;
        if ((rc = dec_long(d, &bytes)))
            return rc;
        if (bytes < 0)
            return LLMOPT_AVRO_NEGATIVE_LENGTH;
    }
    if ((uint64_t)n > LLMOPT_AVRO_MAX_ITEMS - total)
        return LLMOPT_AVRO_TOO_MANY_ITEMS;
    if ((uint64_t)n > (uint64_t)(d->end - d->p) / min_bytes)
        return LLMOPT_AVRO_TRUNCATED;
    *count = (size_t)n;
    return 0;
}

/* Grows an arena array from `have` to `have + more` elements (blocks after
 * the first are rare, so copying is fine). */
static void *grow(dec *d, void *old, size_t have, size_t more, size_t elem) {
    void *p = llmopt_arena_alloc(d->arena, (have + more) * elem);
    if (p && have)
        memcpy(p, old, have * elem);
    return p;
}

typedef struct any_array {
    void *items;
    size_t count;
} any_array;

static int dec_array(dec *d, const llmopt_field_desc *f, any_array *arr) {
    size_t elem, min_bytes;
    switch (f->type) {
    case LLMOPT_FT_MAP_DOUBLE: elem = sizeof(llmopt_kv_double); min_bytes = 9; break;
    case LLMOPT_FT_ARRAY_STRING: elem = sizeof(llmopt_str); min_bytes = 1; break;
    case LLMOPT_FT_ARRAY_DOUBLE: elem = sizeof(double); min_bytes = 8; break;
    default: elem = f->sub->size; min_bytes = 1; break;
    }
    size_t total = 0;
    char *items = NULL;
    for (;;) {
        size_t n;
        int rc = dec_block(d, total, min_bytes, &n);
        if (rc)
            return rc;
        if (n == 0)
            break;
        items = grow(d, items, total, n, elem);
        if (!items)
            return LLMOPT_AVRO_NOMEM;
        for (size_t i = total; i < total + n; i++) {
            char *it = items + i * elem;
            switch (f->type) {
            case LLMOPT_FT_MAP_DOUBLE: {
                llmopt_kv_double *kv = (llmopt_kv_double *)it;
                if ((rc = dec_string(d, &kv->key)) ||
                    (rc = llmopt_avro_read_double(&d->p, d->end, &kv->value)))
                    return rc;
                break;
            }
            case LLMOPT_FT_ARRAY_STRING:
                if ((rc = dec_string(d, (llmopt_str *)it)))
                    return rc;
                break;
            case LLMOPT_FT_ARRAY_DOUBLE:
                if ((rc = llmopt_avro_read_double(&d->p, d->end, (double *)it)))
                    return rc;
                break;
            default:
                memset(it, 0, elem);
                if ((rc = dec_fields(d, f->sub, it)))
                    return rc;
                break;
            }
        }
        total += n;
        /* publish as we go so a failed decode leaves a consistent record */
        arr->items = items;
        arr->count = total;
    }
    return 0; /* an empty array or map: items NULL, count 0 */
}

static int dec_field(dec *d, const llmopt_field_desc *f, char *base);

static int dec_fields(dec *d, const llmopt_record_desc *desc, char *base) {
    const llmopt_field_desc *f = desc->fields, *fend = f + desc->nfields;
    for (; f < fend; f++) {
        int rc = dec_field(d, f, base);
        if (rc)
            return rc;
    }
    return 0;
}

static int dec_field(dec *d, const llmopt_field_desc *f, char *base) {
    char *v = base + f->off;
    int rc;
    d->field = f->name;
    if (f->optional) {
        /* ["null", T]: branch 0 is null (record is zeroed), 1 is T */
        int64_t branch;
        if ((rc = dec_long(d, &branch)))
            return rc;
        if (branch == 0)
            return 0;
        if (branch != 1)
            return LLMOPT_AVRO_BAD_UNION_BRANCH;
        if (f->type != LLMOPT_FT_STRING)
            *(bool *)(base + f->has_off) = true;
    }
    switch (f->type) {
    case LLMOPT_FT_STRING:
        return dec_string(d, (llmopt_str *)v);
    case LLMOPT_FT_LONG:
        return dec_long(d, (int64_t *)v);
    case LLMOPT_FT_INT: {
        int64_t x;
        if ((rc = dec_long(d, &x)))
            return rc;
        if (x < INT32_MIN || x > INT32_MAX)
            return LLMOPT_AVRO_INT_OUT_OF_RANGE;
        *(int32_t *)v = (int32_t)x;
        return 0;
    }
    case LLMOPT_FT_DOUBLE:
        return llmopt_avro_read_double(&d->p, d->end, (double *)v);
    case LLMOPT_FT_BOOL:
        if (d->p >= d->end)
            return LLMOPT_AVRO_TRUNCATED;
        if (*d->p > 1)
            return LLMOPT_AVRO_BAD_BOOLEAN;
        *(bool *)v = *d->p++;
        return 0;
    case LLMOPT_FT_ENUM: {
        int64_t x;
        if ((rc = dec_long(d, &x)))
            return rc;
        if (x < 0 || x >= f->nsymbols)
            return LLMOPT_AVRO_INVALID_ENUM;
        *(int *)v = (int)x;
        return 0;
    }
    case LLMOPT_FT_RECORD:
        return dec_fields(d, f->sub, v);
    default: /* maps and arrays share one layout: {items, count} */
        return dec_array(d, f, (any_array *)v);
    }
}

/* ---- schema-specialised decoders ----
 * Straight-line decoders of our own Request and Response schemas: the same
 * reads, checks, errors and field names (for the error message) as
 * dec_fields over their tables, without a call and an indirect jump per
 * field. Used only for our own writer schema (no resolution) and only when
 * the table still matches the layout they were written for (checked once);
 * otherwise, and for every other record, the table-driven decoder runs.
 * fuzz_avro_common.h compares the two on every fuzz input. */

#define SD_TRY(x)                                                                          \
    do {                                                                                   \
        int rc_ = (x);                                                                     \
        if (rc_)                                                                           \
            return rc_;                                                                    \
    } while (0)

/* The union branch of an optional field: *present 0 (null) or 1. */
static inline int sd_branch(dec *d, int *present) {
    int64_t b;
    SD_TRY(dec_long(d, &b));
    if (b == 0) {
        *present = 0;
        return 0;
    }
    if (b != 1)
        return LLMOPT_AVRO_BAD_UNION_BRANCH;
    *present = 1;
    return 0;
}

static inline __attribute__((always_inline)) int sd_ostr(dec *d, llmopt_str *s) {
    int pr;
    SD_TRY(sd_branch(d, &pr));
    return pr ? dec_string(d, s) : 0;
}

static inline int sd_int(dec *d, int32_t *v) {
    int64_t x;
    SD_TRY(dec_long(d, &x));
    if (x < INT32_MIN || x > INT32_MAX)
        return LLMOPT_AVRO_INT_OUT_OF_RANGE;
    *v = (int32_t)x;
    return 0;
}

static inline int sd_double(dec *d, double *v) {
    return llmopt_avro_read_double(&d->p, d->end, v);
}

static inline int sd_bool(dec *d, bool *v) {
    if (d->p >= d->end)
        return LLMOPT_AVRO_TRUNCATED;
    if (*d->p > 1)
        return LLMOPT_AVRO_BAD_BOOLEAN;
    *v = *d->p++;
    return 0;
}

/* optional scalars: the has_ flag is set once the branch says present,
 * before the value is read (as dec_field does) */
static inline int sd_odouble(dec *d, bool *has, double *v) {
    int pr;
    SD_TRY(sd_branch(d, &pr));
    if (!pr)
        return 0;
    *has = true;
    return sd_double(d, v);
}

static inline int sd_oint(dec *d, bool *has, int32_t *v) {
    int pr;
    SD_TRY(sd_branch(d, &pr));
    if (!pr)
        return 0;
    *has = true;
    return sd_int(d, v);
}

/* The field's name is only read for an error message: set it on failure
 * (x does not touch d->field; dec_array, which may, is called with the name
 * set first, as the table walk does) */
#define SD_FIELD(i, x)                                                                     \
    do {                                                                                   \
        int rcf_ = (x);                                                                    \
        if (rcf_) {                                                                        \
            d->field = fl[i].name;                                                         \
            return rcf_;                                                                   \
        }                                                                                  \
    } while (0)

static int sd_request(dec *d, const llmopt_field_desc *fl, llmopt_request *r) {
    int pr;
    SD_FIELD(0, dec_string(d, &r->request_id));
    SD_FIELD(1, dec_long(d, &r->ts_ms));
    SD_FIELD(2, dec_string(d, &r->gateway));
    SD_FIELD(3, dec_string(d, &r->route));
    SD_FIELD(4, sd_ostr(d, &r->tenant));
    SD_FIELD(5, sd_ostr(d, &r->user));
    SD_FIELD(6, dec_string(d, &r->task_type));
    SD_FIELD(7, dec_string(d, &r->arm));
    SD_FIELD(8, dec_string(d, &r->provider));
    SD_FIELD(9, dec_string(d, &r->model));
    SD_FIELD(10, dec_long(d, &r->decision_version));
    SD_FIELD(11, sd_double(d, &r->propensity));
    SD_FIELD(12, sd_ostr(d, &r->experiment_id));
    SD_FIELD(13, sd_ostr(d, &r->variant));
    SD_FIELD(14, dec_long(d, &r->input_tokens_est));
    SD_FIELD(15, sd_branch(d, &pr));
    if (pr) {
        r->has_context = true;
        d->field = fl[15].name;
        SD_TRY(dec_array(d, &fl[15], (any_array *)&r->context));
    }
    SD_FIELD(16, sd_ostr(d, &r->prompt_hash));
    return 0;
}

static int sd_response(dec *d, const llmopt_field_desc *fl, llmopt_response *r) {
    int64_t x;
    SD_FIELD(0, dec_string(d, &r->request_id));
    SD_FIELD(1, dec_long(d, &r->ts_ms));
    SD_FIELD(2, dec_string(d, &r->route));
    SD_FIELD(3, dec_string(d, &r->arm));
    SD_FIELD(4, dec_long(d, &x));
    if (x < 0 || x >= fl[4].nsymbols) {
        d->field = fl[4].name;
        return LLMOPT_AVRO_INVALID_ENUM;
    }
    *(int *)&r->status = (int)x;
    SD_FIELD(5, sd_oint(d, &r->has_http_status, &r->http_status));
    SD_FIELD(6, sd_ostr(d, &r->error_type));
    SD_FIELD(7, sd_double(d, &r->latency_ms));
    SD_FIELD(8, sd_odouble(d, &r->has_ttft_ms, &r->ttft_ms));
    SD_FIELD(9, dec_long(d, &r->input_tokens));
    SD_FIELD(10, dec_long(d, &r->output_tokens));
    SD_FIELD(11, sd_double(d, &r->cost_usd));
    SD_FIELD(12, sd_odouble(d, &r->has_quality, &r->quality));
    SD_FIELD(13, sd_bool(d, &r->cache_hit));
    SD_FIELD(14, sd_oint(d, &r->has_batch_size, &r->batch_size));
    SD_FIELD(15, sd_ostr(d, &r->provider));
    return 0;
}

/* What sd_request / sd_response were written for: per field its type,
 * optional flag, offset and has_ offset. */
typedef struct sd_expect {
    uint8_t type, optional;
    uint32_t off, has_off;
} sd_expect;

#define SDX(T, f, ty) {ty, 0, (uint32_t)offsetof(T, f), 0}
#define SDXO(T, f, ty) {ty, 1, (uint32_t)offsetof(T, f), (uint32_t)offsetof(T, has_##f)}
#define SDXS(T, f) {LLMOPT_FT_STRING, 1, (uint32_t)offsetof(T, f), 0}

static const sd_expect sd_request_expect[] = {
    SDX(llmopt_request, request_id, LLMOPT_FT_STRING), SDX(llmopt_request, ts_ms, LLMOPT_FT_LONG),
    SDX(llmopt_request, gateway, LLMOPT_FT_STRING), SDX(llmopt_request, route, LLMOPT_FT_STRING),
    SDXS(llmopt_request, tenant), SDXS(llmopt_request, user),
    SDX(llmopt_request, task_type, LLMOPT_FT_STRING), SDX(llmopt_request, arm, LLMOPT_FT_STRING),
    SDX(llmopt_request, provider, LLMOPT_FT_STRING), SDX(llmopt_request, model, LLMOPT_FT_STRING),
    SDX(llmopt_request, decision_version, LLMOPT_FT_LONG),
    SDX(llmopt_request, propensity, LLMOPT_FT_DOUBLE), SDXS(llmopt_request, experiment_id),
    SDXS(llmopt_request, variant), SDX(llmopt_request, input_tokens_est, LLMOPT_FT_LONG),
    SDXO(llmopt_request, context, LLMOPT_FT_MAP_DOUBLE), SDXS(llmopt_request, prompt_hash),
};

static const sd_expect sd_response_expect[] = {
    SDX(llmopt_response, request_id, LLMOPT_FT_STRING), SDX(llmopt_response, ts_ms, LLMOPT_FT_LONG),
    SDX(llmopt_response, route, LLMOPT_FT_STRING), SDX(llmopt_response, arm, LLMOPT_FT_STRING),
    SDX(llmopt_response, status, LLMOPT_FT_ENUM), SDXO(llmopt_response, http_status, LLMOPT_FT_INT),
    SDXS(llmopt_response, error_type), SDX(llmopt_response, latency_ms, LLMOPT_FT_DOUBLE),
    SDXO(llmopt_response, ttft_ms, LLMOPT_FT_DOUBLE), SDX(llmopt_response, input_tokens, LLMOPT_FT_LONG),
    SDX(llmopt_response, output_tokens, LLMOPT_FT_LONG), SDX(llmopt_response, cost_usd, LLMOPT_FT_DOUBLE),
    SDXO(llmopt_response, quality, LLMOPT_FT_DOUBLE), SDX(llmopt_response, cache_hit, LLMOPT_FT_BOOL),
    SDXO(llmopt_response, batch_size, LLMOPT_FT_INT), SDXS(llmopt_response, provider),
};

static bool sd_matches(const llmopt_record_desc *desc, const sd_expect *x, size_t n) {
    if (!desc || desc->nfields != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const llmopt_field_desc *f = &desc->fields[i];
        if (f->type != x[i].type || f->optional != x[i].optional || f->off != x[i].off ||
            (f->optional && f->type != LLMOPT_FT_STRING && f->has_off != x[i].has_off))
            return false;
    }
    return true;
}

/* 1: the specialised decoder of type applies; checked once per type. */
static _Atomic signed char sd_state[LLMOPT_REC_COUNT];

static bool sd_usable(llmopt_record_type type, const llmopt_record_desc *desc) {
    signed char st = atomic_load_explicit(&sd_state[type], memory_order_relaxed);
    if (!st) {
        bool ok = type == LLMOPT_REC_REQUEST
                      ? sd_matches(desc, sd_request_expect,
                                   sizeof(sd_request_expect) / sizeof(sd_request_expect[0]))
                  : type == LLMOPT_REC_RESPONSE
                      ? sd_matches(desc, sd_response_expect,
                                   sizeof(sd_response_expect) / sizeof(sd_response_expect[0]))
                      : false;
        st = ok ? 1 : -1;
        atomic_store_explicit(&sd_state[type], st, memory_order_relaxed);
    }
    return st == 1;
}

typedef struct resolution resolution;
static int dec_resolved(dec *d, const resolution *r, const llmopt_record_desc *desc, char *base);

/* res: NULL for our own schema, else the plan for a writer version. */
static llmopt_err_t body_decode_as(llmopt_record_type type, const uint8_t *start,
                                   const uint8_t *body, const uint8_t *end,
                                   const resolution *res, bool generic, void *rec,
                                   llmopt_avro_reason *reason, char *errstr,
                                   size_t errstr_size) {
    const llmopt_record_desc *desc = llmopt_record_desc_of(type);
    if (!desc || !rec) {
        if (reason)
            *reason = LLMOPT_AVRO_WRONG_RECORD_TYPE;
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid record type '%d'", (int)type);
    }
    llmopt_record_clear(type, rec);
    dec d = {body, end, start, llmopt_record_arena(rec), ""};
    int rc;
    if (res)
        rc = dec_resolved(&d, res, desc, rec);
    else if (!generic && type == LLMOPT_REC_REQUEST && sd_usable(type, desc))
        rc = sd_request(&d, desc->fields, rec);
    else if (!generic && type == LLMOPT_REC_RESPONSE && sd_usable(type, desc))
        rc = sd_response(&d, desc->fields, rec);
    else
        rc = dec_fields(&d, desc, rec);
    if (!rc && d.p != end) {
        rc = LLMOPT_AVRO_TRAILING_BYTES;
        d.field = "";
    }
    if (reason)
        *reason = (llmopt_avro_reason)rc;
    if (!rc)
        return LLMOPT_OK;
    return llmopt_errf(reason_err((llmopt_avro_reason)rc), errstr, errstr_size,
                       "%s: %s at byte %zu%s%s%s",
                       llmopt_record_type_name(type),
                       llmopt_avro_reason_name((llmopt_avro_reason)rc),
                       (size_t)(d.p - start), d.field[0] ? " in field '" : "",
                       d.field, d.field[0] ? "'" : "");
}

static llmopt_err_t body_decode(llmopt_record_type type, const uint8_t *start,
                                const uint8_t *body, const uint8_t *end,
                                const resolution *res, void *rec,
                                llmopt_avro_reason *reason, char *errstr,
                                size_t errstr_size) {
    return body_decode_as(type, start, body, end, res, false, rec, reason, errstr, errstr_size);
}

llmopt_err_t llmopt_avro_decode_body(llmopt_record_type type, const void *body,
                                     size_t len, void *rec,
                                     llmopt_avro_reason *reason, char *errstr,
                                     size_t errstr_size) {
    const uint8_t *b = body ? body : (const uint8_t *)"";
    return body_decode(type, b, b, b + len, NULL, rec, reason, errstr, errstr_size);
}

llmopt_err_t llmopt_avro_decode_body_generic(llmopt_record_type type, const void *body,
                                             size_t len, void *rec,
                                             llmopt_avro_reason *reason, char *errstr,
                                             size_t errstr_size) {
    const uint8_t *b = body ? body : (const uint8_t *)"";
    return body_decode_as(type, b, b, b + len, NULL, true, rec, reason, errstr, errstr_size);
}

/* ------------------------------------------------------------------ body encoding */

typedef struct enc {
    llmopt_wbuf *w;
    const char *field;
    llmopt_err_t err;
    const char *why;
} enc;

static bool reserve(enc *e, size_t n) {
    llmopt_wbuf *w = e->w;
    if (w->cap - w->len >= n)
        return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2)
            goto nomem;
        cap *= 2;
    }
    uint8_t *p = realloc(w->data, cap);
    if (!p)
        goto nomem;
    w->data = p;
    w->cap = cap;
    return true;
nomem:
    e->err = LLMOPT_ERR_NOMEM;
    e->why = "out of memory";
    return false;
}

static inline bool enc_long(enc *e, int64_t v) {
    if (!reserve(e, 10))
        return false;
    e->w->len += llmopt_avro_write_long(e->w->data + e->w->len, v);
    return true;
}

static inline bool enc_double(enc *e, double v) {
    if (!reserve(e, 8))
        return false;
    e->w->len += llmopt_avro_write_double(e->w->data + e->w->len, v);
    return true;
}

static bool fail(enc *e, llmopt_err_t err, const char *why) {
    e->err = err;
    e->why = why;
    return false;
}

static bool enc_string(enc *e, const llmopt_str *s) {
    if (!s->ptr)
        return fail(e, LLMOPT_ERR_INVALID, "required string is null");
    if (s->len > LLMOPT_AVRO_MAX_STRING)
        return fail(e, LLMOPT_ERR_RANGE, "string longer than the decoder accepts");
    if (!enc_long(e, (int64_t)s->len) || !reserve(e, s->len))
        return false;
    if (s->len)
        memcpy(e->w->data + e->w->len, s->ptr, s->len);
    e->w->len += s->len;
    return true;
}

static bool enc_fields(enc *e, const llmopt_record_desc *desc, const char *base);

static bool enc_array(enc *e, const llmopt_field_desc *f, const any_array *arr) {
    if (arr->count > LLMOPT_AVRO_MAX_ITEMS)
        return fail(e, LLMOPT_ERR_RANGE, "more items than the decoder accepts");
    if (arr->count && !arr->items)
        return fail(e, LLMOPT_ERR_INVALID, "count > 0 but items is null");
    if (arr->count) {
        if (!enc_long(e, (int64_t)arr->count))
            return false;
        for (size_t i = 0; i < arr->count; i++) {
            bool ok;
            switch (f->type) {
            case LLMOPT_FT_MAP_DOUBLE: {
                const llmopt_kv_double *kv = (const llmopt_kv_double *)arr->items + i;
                ok = enc_string(e, &kv->key) && enc_double(e, kv->value);
                break;
            }
            case LLMOPT_FT_ARRAY_STRING:
                ok = enc_string(e, (const llmopt_str *)arr->items + i);
                break;
            case LLMOPT_FT_ARRAY_DOUBLE:
                ok = enc_double(e, ((const double *)arr->items)[i]);
                break;
            default:
                ok = enc_fields(e, f->sub, (const char *)arr->items + i * f->sub->size);
                break;
            }
            if (!ok)
                return false;
        }
    }
    return enc_long(e, 0);
}

static bool enc_fields(enc *e, const llmopt_record_desc *desc, const char *base) {
    for (size_t i = 0; i < desc->nfields; i++) {
        const llmopt_field_desc *f = &desc->fields[i];
        const char *v = base + f->off;
        e->field = f->name;
        if (f->optional) {
            bool present = f->type == LLMOPT_FT_STRING
                               ? ((const llmopt_str *)v)->ptr != NULL
                               : *(const bool *)(base + f->has_off);
            if (!enc_long(e, present ? 1 : 0))
                return false;
            if (!present)
                continue;
        }
        bool ok = true;
        switch (f->type) {
        case LLMOPT_FT_STRING: ok = enc_string(e, (const llmopt_str *)v); break;
        case LLMOPT_FT_LONG: ok = enc_long(e, *(const int64_t *)v); break;
        case LLMOPT_FT_INT: ok = enc_long(e, *(const int32_t *)v); break;
        case LLMOPT_FT_DOUBLE: ok = enc_double(e, *(const double *)v); break;
        case LLMOPT_FT_BOOL:
            ok = reserve(e, 1);
            if (ok)
                e->w->data[e->w->len++] = *(const bool *)v ? 1 : 0;
            break;
        case LLMOPT_FT_ENUM: {
            int x = *(const int *)v;
            if (x < 0 || x >= f->nsymbols)
                return fail(e, LLMOPT_ERR_INVALID, "enum value out of range");
            ok = enc_long(e, x);
            break;
        }
        case LLMOPT_FT_RECORD:
            ok = enc_fields(e, f->sub, v);
            break;
        default:
            ok = enc_array(e, f, (const any_array *)v);
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

llmopt_err_t llmopt_avro_encode_body(llmopt_record_type type, const void *rec,
                                     llmopt_wbuf *out, char *errstr,
                                     size_t errstr_size) {
    const llmopt_record_desc *desc = llmopt_record_desc_of(type);
    if (!desc || !rec || !out)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid record type '%d' or null argument", (int)type);
    size_t mark = out->len;
    enc e = {out, "", LLMOPT_OK, NULL};
    if (enc_fields(&e, desc, rec))
        return LLMOPT_OK;
    out->len = mark;
    return llmopt_errf(e.err, errstr, errstr_size, "%s: %s in field '%s'",
                       desc->name, e.why, e.field);
}

/* ------------------------------------------------------------------ framing */

void llmopt_avro_header_write(uint8_t dst[LLMOPT_AVRO_HEADER_SIZE], int32_t schema_id) {
    uint32_t u = (uint32_t)schema_id;
    dst[0] = 0;
    dst[1] = (uint8_t)(u >> 24);
    dst[2] = (uint8_t)(u >> 16);
    dst[3] = (uint8_t)(u >> 8);
    dst[4] = (uint8_t)u;
}

llmopt_avro_reason llmopt_avro_header_read(const void *msg, size_t len,
                                           int32_t *schema_id) {
    const uint8_t *b = msg;
    if (len < 1)
        return LLMOPT_AVRO_TRUNCATED;
    if (b[0] != 0)
        return LLMOPT_AVRO_BAD_MAGIC;
    if (len < LLMOPT_AVRO_HEADER_SIZE)
        return LLMOPT_AVRO_TRUNCATED;
    *schema_id = (int32_t)((uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 |
                           (uint32_t)b[3] << 8 | b[4]);
    return LLMOPT_AVRO_OK;
}

#define CACHE_SLOTS 64

/* A writer schema that is another version of one of our records: a plan
 * mapping each top-level writer field to our field of the same name (decoded
 * by the fast decoder) or to "skip" (walked by skip_value and dropped). Our
 * fields the writer lacks must be optional and stay null. A mapped field's
 * type must equal ours, except that a writer enum may have extra symbols
 * appended (a value beyond ours is invalid_enum). Owned by its cache slot. */
struct resolution {
    avro_schema_t writer;   /* holds the skipped fields' types alive */
    size_t nfields;
    struct {
        int reader;         /* index into our fields, -1 = skip */
        avro_schema_t type; /* writer field type (borrowed from writer) */
    } *map;
};

typedef struct verdict {
    int32_t id;
    uint8_t type;   /* llmopt_record_type, NONE when unsupported */
    uint8_t reason; /* OK, UNSUPPORTED_WRITER_SCHEMA or BAD_WRITER_SCHEMA */
    resolution *res; /* non-NULL: writer is another version, decode by plan */
} verdict;

static void resolution_free(resolution *r) {
    if (!r)
        return;
    if (r->writer)
        avro_schema_decref(r->writer);
    free(r->map);
    free(r);
}

static avro_schema_t deref(avro_schema_t s) {
    return is_avro_link(s) ? avro_schema_link_target(s) : s;
}

/* Writer field type w can be read as our field type o. */
static bool field_compatible(avro_schema_t w, avro_schema_t o) {
    w = deref(w);
    o = deref(o);
    if (avro_schema_equal(w, o))
        return true;
    if (is_avro_enum(w) && is_avro_enum(o) &&
        strcmp(avro_schema_name(w), avro_schema_name(o)) == 0) {
        int no = avro_schema_enum_number_of_symbols(o);
        if (avro_schema_enum_number_of_symbols(w) < no)
            return false;
        for (int i = 0; i < no; i++)
            if (strcmp(avro_schema_enum_get(w, i), avro_schema_enum_get(o, i)) != 0)
                return false;
        return true;
    }
    return false;
}

/* NULL when the writer cannot be read this way (or memory runs out). */
static resolution *resolution_new(avro_schema_t writer, avro_schema_t ours) {
    size_t nw = avro_schema_record_size(writer), no = avro_schema_record_size(ours);
    resolution *r = calloc(1, sizeof(*r));
    bool *seen = calloc(no ? no : 1, sizeof(bool));
    if (!r || !seen || !(r->map = calloc(nw ? nw : 1, sizeof(*r->map))))
        goto fail;
    r->writer = avro_schema_incref(writer);
    r->nfields = nw;
    for (size_t i = 0; i < nw; i++) {
        const char *name = avro_schema_record_field_name(writer, (int)i);
        r->map[i].type = avro_schema_record_field_get_by_index(writer, (int)i);
        r->map[i].reader = -1;
        /* by name scan: avro-c 1.11's avro_schema_record_field_get() returns
         * junk for a name the record does not have */
        for (size_t j = 0; j < no; j++) {
            if (strcmp(avro_schema_record_field_name(ours, (int)j), name) != 0)
                continue;
            if (seen[j] || !field_compatible(r->map[i].type,
                                             avro_schema_record_field_get_by_index(ours, (int)j)))
                goto fail;
            r->map[i].reader = (int)j;
            seen[j] = true;
        }
    }
    for (size_t j = 0; j < no; j++) {
        if (seen[j])
            continue;
        avro_schema_t t = avro_schema_record_field_get_by_index(ours, (int)j);
        avro_schema_t first = is_avro_union(t) ? avro_schema_union_branch(t, 0) : NULL;
        if (!first || !is_avro_null(first))
            goto fail; /* a required field the writer does not have */
    }
    free(seen);
    return r;
fail:
    free(seen);
    resolution_free(r);
    return NULL;
}

/* Walks one value of writer schema s with the same bounds as the decoder and
 * drops it. 0 or a reason. */
static int skip_string(dec *d) {
    int64_t n;
    int rc = dec_long(d, &n);
    if (rc)
        return rc;
    if (n < 0)
        return LLMOPT_AVRO_NEGATIVE_LENGTH;
    if (n > (int64_t)LLMOPT_AVRO_MAX_STRING)
        return LLMOPT_AVRO_STRING_TOO_LONG;
    if (n > d->end - d->p)
        return LLMOPT_AVRO_TRUNCATED;
    d->p += n;
    return 0;
}

static int skip_value(dec *d, avro_schema_t s, int depth) {
    int64_t x;
    int rc;
    if (depth > 32)
        return LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA; /* recursive writer type */
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (d->p >= d->end)
            return LLMOPT_AVRO_TRUNCATED;
        return *d->p++ > 1 ? LLMOPT_AVRO_BAD_BOOLEAN : 0;
    case AVRO_INT32:
        if ((rc = dec_long(d, &x)))
            return rc;
        return (x < INT32_MIN || x > INT32_MAX) ? LLMOPT_AVRO_INT_OUT_OF_RANGE : 0;
    case AVRO_INT64:
        return dec_long(d, &x);
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
    case AVRO_FIXED: {
        int64_t n = avro_typeof(s) == AVRO_FLOAT    ? 4
                    : avro_typeof(s) == AVRO_DOUBLE ? 8
                                                    : avro_schema_fixed_size(s);
        if (n < 0 || n > d->end - d->p)
            return LLMOPT_AVRO_TRUNCATED;
        d->p += n;
        return 0;
    }
    case AVRO_STRING:
    case AVRO_BYTES:
        return skip_string(d);
    case AVRO_ENUM:
        if ((rc = dec_long(d, &x)))
            return rc;
        return (x < 0 || x >= avro_schema_enum_number_of_symbols(s)) ? LLMOPT_AVRO_INVALID_ENUM
                                                                      : 0;
    case AVRO_UNION:
        if ((rc = dec_long(d, &x)))
            return rc;
        if (x < 0 || (uint64_t)x >= avro_schema_union_size(s))
            return LLMOPT_AVRO_BAD_UNION_BRANCH;
        return skip_value(d, avro_schema_union_branch(s, (int)x), depth + 1);
    case AVRO_RECORD: {
        size_t n = avro_schema_record_size(s);
        for (size_t i = 0; i < n; i++)
            if ((rc = skip_value(d, avro_schema_record_field_get_by_index(s, (int)i), depth + 1)))
                return rc;
        return 0;
    }
    case AVRO_MAP:
    case AVRO_ARRAY: {
        /* every entry takes at least one byte (arrays of null, which would
         * not, are refused when their count exceeds the bytes left) */
        bool map = avro_typeof(s) == AVRO_MAP;
        avro_schema_t item = map ? avro_schema_map_values(s) : avro_schema_array_items(s);
        size_t total = 0, n;
        for (;;) {
            if ((rc = dec_block(d, total, 1, &n)))
                return rc;
            if (n == 0)
                return 0;
            total += n;
            for (size_t i = 0; i < n; i++)
                if ((map && (rc = skip_string(d))) || (rc = skip_value(d, item, depth + 1)))
                    return rc;
        }
    }
    case AVRO_LINK:
        return skip_value(d, avro_schema_link_target(s), depth + 1);
    default:
        return LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA;
    }
}

static int dec_resolved(dec *d, const resolution *r, const llmopt_record_desc *desc,
                        char *base) {
    for (size_t i = 0; i < r->nfields; i++) {
        int rc;
        if (r->map[i].reader >= 0) {
            rc = dec_field(d, &desc->fields[r->map[i].reader], base);
        } else {
            d->field = avro_schema_record_field_name(r->writer, (int)i);
            rc = skip_value(d, r->map[i].type, 0);
        }
        if (rc)
            return rc;
    }
    return 0;
}

struct llmopt_avro_codec {
    llmopt_schema_source src;
    avro_schema_t ours[LLMOPT_REC_COUNT];
    verdict cache[CACHE_SLOTS];
    size_t ncache;
    size_t next_evict;
    size_t last;                            /* index of the last hit */
    int32_t enc_id[LLMOPT_REC_COUNT];
    bool enc_known[LLMOPT_REC_COUNT];
};

llmopt_avro_codec *llmopt_avro_codec_new(const llmopt_schema_source *src,
                                         char *errstr, size_t errstr_size) {
    if (!src || !src->lookup) {
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "schema source has no lookup");
        return NULL;
    }
    llmopt_avro_codec *c = calloc(1, sizeof(*c));
    if (!c) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    c->src = *src;
    for (int t = 1; t < LLMOPT_REC_COUNT; t++) {
        const char *json = llmopt_avro_schema_pcf[t];
        if (avro_schema_from_json_length(json, strlen(json), &c->ours[t])) {
            llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "compiled-in schema '%s' does not parse: %s",
                        llmopt_record_type_name((llmopt_record_type)t), avro_strerror());
            llmopt_avro_codec_destroy(c);
            return NULL;
        }
    }
    return c;
}

void llmopt_avro_codec_destroy(llmopt_avro_codec *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->ncache; i++)
        resolution_free(c->cache[i].res);
    for (int t = 1; t < LLMOPT_REC_COUNT; t++)
        if (c->ours[t])
            avro_schema_decref(c->ours[t]);
    free(c);
}

/* Judges a writer schema against ours: which record it is and whether the
 * fast decoder can read it. */
static verdict judge(llmopt_avro_codec *c, int32_t id, const char *json) {
    verdict v = {id, LLMOPT_REC_NONE, LLMOPT_AVRO_BAD_WRITER_SCHEMA, NULL};
    avro_schema_t w = NULL;
    if (!json || avro_schema_from_json_length(json, strlen(json), &w))
        return v;
    v.reason = LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA;
    if (is_avro_record(w)) {
        const char *ns = avro_schema_namespace(w);
        llmopt_record_type t = llmopt_record_type_from_name(avro_schema_name(w));
        if (t != LLMOPT_REC_NONE && ns && strcmp(ns, "io.llmopt") == 0 &&
            avro_schema_equal(w, c->ours[t])) {
            v.type = (uint8_t)t;
            v.reason = LLMOPT_AVRO_OK;
        } else if (t != LLMOPT_REC_NONE && ns && strcmp(ns, "io.llmopt") == 0) {
            /* our record, another version: readable field by field? */
            v.type = (uint8_t)t;
            if ((v.res = resolution_new(w, c->ours[t])))
                v.reason = LLMOPT_AVRO_OK;
        }
    }
    avro_schema_decref(w);
    return v;
}

static llmopt_avro_reason resolve(llmopt_avro_codec *c, int32_t id, verdict *out,
                                  char *errstr, size_t errstr_size) {
    if (c->ncache && c->cache[c->last].id == id) {
        *out = c->cache[c->last];
        return LLMOPT_AVRO_OK;
    }
    for (size_t i = 0; i < c->ncache; i++)
        if (c->cache[i].id == id) {
            c->last = i;
            *out = c->cache[i];
            return LLMOPT_AVRO_OK;
        }
    const char *json = NULL;
    char why[256] = "";
    llmopt_err_t err = c->src.lookup(c->src.ctx, id, &json, why, sizeof(why));
    if (err == LLMOPT_ERR_UNKNOWN) {
        llmopt_errf(err, errstr, errstr_size, "unknown schema id '%d'", (int)id);
        return LLMOPT_AVRO_UNKNOWN_SCHEMA_ID;
    }
    if (err != LLMOPT_OK) {
        llmopt_errf(err, errstr, errstr_size, "schema id '%d' lookup failed: %s",
                    (int)id, why);
        return LLMOPT_AVRO_REGISTRY_UNAVAILABLE;
    }
    verdict v = judge(c, id, json);
    size_t slot;
    if (c->ncache < CACHE_SLOTS) {
        slot = c->ncache++;
    } else {
        slot = c->next_evict;
        c->next_evict = (c->next_evict + 1) % CACHE_SLOTS;
        resolution_free(c->cache[slot].res);
    }
    c->cache[slot] = v;
    c->last = slot;
    *out = v;
    return LLMOPT_AVRO_OK;
}

static llmopt_err_t peek(llmopt_avro_codec *c, const void *msg, size_t len,
                         verdict *v, llmopt_avro_reason *reason, char *errstr,
                         size_t errstr_size) {
    int32_t id = 0;
    llmopt_avro_reason r = llmopt_avro_header_read(msg, len, &id);
    if (r != LLMOPT_AVRO_OK) {
        *reason = r;
        return llmopt_errf(reason_err(r), errstr, errstr_size, "%s: message of %zu bytes",
                           llmopt_avro_reason_name(r), len);
    }
    r = resolve(c, id, v, errstr, errstr_size);
    *reason = r;
    if (r != LLMOPT_AVRO_OK)
        return reason_err(r);
    if (v->reason != LLMOPT_AVRO_OK) {
        *reason = (llmopt_avro_reason)v->reason;
        return llmopt_errf(reason_err(*reason), errstr, errstr_size,
                           "%s: schema id '%d'%s%s", llmopt_avro_reason_name(*reason),
                           (int)id, v->type ? " of record " : "",
                           v->type ? llmopt_record_type_name(v->type) : "");
    }
    return LLMOPT_OK;
}

llmopt_err_t llmopt_avro_peek(llmopt_avro_codec *c, const void *msg, size_t len,
                              llmopt_record_type *type_out, int32_t *schema_id_out,
                              llmopt_avro_reason *reason, char *errstr,
                              size_t errstr_size) {
    llmopt_avro_reason r_local;
    if (!reason)
        reason = &r_local;
    verdict v = {0, 0, 0, NULL};
    llmopt_err_t err = peek(c, msg, len, &v, reason, errstr, errstr_size);
    if (type_out)
        *type_out = err ? LLMOPT_REC_NONE : (llmopt_record_type)v.type;
    if (schema_id_out)
        *schema_id_out = v.id;
    return err;
}

llmopt_err_t llmopt_avro_decode(llmopt_avro_codec *c, const void *msg, size_t len,
                                llmopt_record_type type, void *rec,
                                llmopt_avro_reason *reason, char *errstr,
                                size_t errstr_size) {
    llmopt_avro_reason r_local;
    if (!reason)
        reason = &r_local;
    verdict v;
    llmopt_err_t err = peek(c, msg, len, &v, reason, errstr, errstr_size);
    if (err)
        return err;
    if (v.type != type) {
        *reason = LLMOPT_AVRO_WRONG_RECORD_TYPE;
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "wrong_record_type: schema id '%d' is '%s', expected '%s'",
                           (int)v.id, llmopt_record_type_name(v.type),
                           llmopt_record_type_name(type) ? llmopt_record_type_name(type) : "?");
    }
    const uint8_t *b = msg;
    return body_decode(type, b, b + LLMOPT_AVRO_HEADER_SIZE, b + len, v.res, rec, reason,
                       errstr, errstr_size);
}

llmopt_err_t llmopt_avro_encode(llmopt_avro_codec *c, llmopt_record_type type,
                                const void *rec, llmopt_wbuf *out, char *errstr,
                                size_t errstr_size) {
    if (!llmopt_record_desc_of(type) || !out)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid record type '%d' or null argument", (int)type);
    if (!c->enc_known[type]) {
        if (!c->src.id_for)
            return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                               "schema source cannot encode '%s'",
                               llmopt_record_type_name(type));
        llmopt_err_t err = c->src.id_for(c->src.ctx, type, &c->enc_id[type], errstr,
                                         errstr_size);
        if (err)
            return err;
        c->enc_known[type] = true;
    }
    size_t mark = out->len;
    enc e = {out, "", LLMOPT_OK, NULL};
    if (!reserve(&e, LLMOPT_AVRO_HEADER_SIZE))
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    llmopt_avro_header_write(out->data + out->len, c->enc_id[type]);
    out->len += LLMOPT_AVRO_HEADER_SIZE;
    llmopt_err_t err = llmopt_avro_encode_body(type, rec, out, errstr, errstr_size);
    if (err)
        out->len = mark;
    return err;
}

/* ------------------------------------------------------------------ builtin source */

static llmopt_err_t builtin_lookup(void *ctx, int32_t id, const char **json,
                                   char *errstr, size_t errstr_size) {
    if (id <= LLMOPT_REC_NONE || id >= LLMOPT_REC_COUNT)
        return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                           "unknown schema id '%d'", (int)id);
    *json = llmopt_avro_schema_pcf[id];
    return LLMOPT_OK;
}

static llmopt_err_t builtin_id_for(void *ctx, llmopt_record_type type, int32_t *id,
                                   char *errstr, size_t errstr_size) {
    if (!llmopt_record_desc_of(type))
        return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                           "unknown record type '%d'", (int)type);
    *id = (int32_t)type;
    return LLMOPT_OK;
}

static const llmopt_schema_source builtin = {NULL, builtin_lookup, builtin_id_for};

const llmopt_schema_source *llmopt_avro_builtin_source(void) {
    return &builtin;
}
