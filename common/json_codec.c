/*
 * json_codec.c - JSON <-> llmopt records (json_codec.h).
 *
 * The field tables of common/record_desc.h (shared with the Avro codec) give
 * each record's fields in schema order with kind, presence and struct
 * offsets. One generic decoder walks them over jansson's tree; one generic
 * encoder writes straight to a byte buffer (no json_t), which is what makes
 * the member order and the number formatting ours to fix.
 */
#include "common/json_codec.h"

#include "common/record_desc.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- field tables ---------------------------------------------------------- */

/* The tables are common/record_desc.h's, shared with the Avro codec, so the
 * two wire formats cannot disagree about names, order or presence. */
typedef llmopt_field_desc field_desc;
typedef llmopt_record_desc rec_desc;

/* Every array-like member of records.h is {T *items; size_t count;}: one
 * generic view reads them all (checked below). */
typedef struct gen_array {
    void *items;
    size_t count;
} gen_array;

#define SAME_LAYOUT(T)                                                        \
    _Static_assert(sizeof(T) == sizeof(gen_array) &&                          \
                       offsetof(T, count) == offsetof(gen_array, count),      \
                   #T " is not {items, count}")
SAME_LAYOUT(llmopt_map_double);
SAME_LAYOUT(llmopt_str_array);
SAME_LAYOUT(llmopt_double_array);
_Static_assert(sizeof(llmopt_status) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(llmopt_on_limit) == sizeof(int), "enums are stored as int");

/* an optional field other than a string has a bool has_X */
static bool has_flag(const field_desc *f) {
    return f->optional && f->type != LLMOPT_FT_STRING;
}

static const rec_desc *desc_of(llmopt_record_type type) {
    return llmopt_record_desc_of(type);
}

#define AT(base, off, type) ((type *)((char *)(base) + (off)))
#define CAT(base, off, type) ((const type *)((const char *)(base) + (off)))

const char *llmopt_json_reason_name(llmopt_json_reason reason) {
    switch (reason) {
    case LLMOPT_JSON_OK: return "ok";
    case LLMOPT_JSON_MALFORMED: return "malformed_json";
    case LLMOPT_JSON_MISSING_FIELD: return "missing_field";
    case LLMOPT_JSON_WRONG_TYPE: return "wrong_type";
    case LLMOPT_JSON_UNKNOWN_ENUM: return "unknown_enum";
    case LLMOPT_JSON_OUT_OF_RANGE: return "out_of_range";
    case LLMOPT_JSON_NOMEM: return "out_of_memory";
    }
    return "?";
}

/* ---- decoding -------------------------------------------------------------- */

typedef struct dctx {
    llmopt_arena *arena;
    llmopt_json_error *jerr;
    char *errstr;
    size_t errstr_size;
    char path[128]; /* dotted path of the field being decoded */
    size_t path_len;
} dctx;

static size_t path_push(dctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(dctx *c, const char *fmt, ...) {
    size_t saved = c->path_len;
    if (c->path_len < sizeof(c->path) - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->path + c->path_len, sizeof(c->path) - c->path_len, fmt, ap);
        va_end(ap);
        if (n > 0)
            c->path_len += (size_t)n;
        if (c->path_len > sizeof(c->path) - 1)
            c->path_len = sizeof(c->path) - 1;
    }
    return saved;
}

static void path_pop(dctx *c, size_t saved) {
    c->path_len = saved;
    c->path[saved] = '\0';
}

static llmopt_err_t fail(dctx *c, llmopt_json_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static llmopt_err_t fail(dctx *c, llmopt_json_reason reason, const char *fmt, ...) {
    llmopt_err_t err = LLMOPT_ERR_INVALID;
    if (reason == LLMOPT_JSON_UNKNOWN_ENUM)
        err = LLMOPT_ERR_UNKNOWN;
    else if (reason == LLMOPT_JSON_OUT_OF_RANGE)
        err = LLMOPT_ERR_RANGE;
    else if (reason == LLMOPT_JSON_NOMEM)
        err = LLMOPT_ERR_NOMEM;
    if (c->jerr) {
        c->jerr->reason = reason;
        snprintf(c->jerr->field, sizeof(c->jerr->field), "%s", c->path);
    }
    if (c->errstr && c->errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->errstr, c->errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

static const char *json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "real";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static llmopt_err_t wrong_type(dctx *c, const json_t *v, const char *expected) {
    return fail(c, LLMOPT_JSON_WRONG_TYPE, "field '%s' is %s, expected %s", c->path,
                json_type_name(v), expected);
}

static llmopt_err_t nomem(dctx *c) {
    return fail(c, LLMOPT_JSON_NOMEM, "out of memory decoding field '%s'", c->path);
}

static llmopt_err_t dec_str(dctx *c, json_t *v, llmopt_str *out) {
    if (!json_is_string(v))
        return wrong_type(c, v, "string");
    if (llmopt_str_set(c->arena, out, json_string_value(v), json_string_length(v)) !=
        LLMOPT_OK)
        return nomem(c);
    return LLMOPT_OK;
}

static llmopt_err_t dec_i64(dctx *c, json_t *v, int64_t *out) {
    /* jansson keeps integers as long long and refuses to parse bigger ones,
     * so every JSON integer fits; a real (even 5.0) is not an integer */
    if (!json_is_integer(v))
        return wrong_type(c, v, "integer");
    *out = (int64_t)json_integer_value(v);
    return LLMOPT_OK;
}

static llmopt_err_t dec_i32(dctx *c, json_t *v, int32_t *out) {
    if (!json_is_integer(v))
        return wrong_type(c, v, "integer");
    json_int_t x = json_integer_value(v);
    if (x < INT32_MIN || x > INT32_MAX)
        return fail(c, LLMOPT_JSON_OUT_OF_RANGE,
                    "field '%s' value %" JSON_INTEGER_FORMAT " out of int32 range",
                    c->path, x);
    *out = (int32_t)x;
    return LLMOPT_OK;
}

static llmopt_err_t dec_f64(dctx *c, json_t *v, double *out) {
    if (json_is_real(v)) {
        *out = json_real_value(v);
    } else if (json_is_integer(v)) {
        *out = (double)json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n == 3 && memcmp(s, "NaN", 3) == 0)
            *out = NAN;
        else if (n == 8 && memcmp(s, "Infinity", 8) == 0)
            *out = INFINITY;
        else if (n == 9 && memcmp(s, "-Infinity", 9) == 0)
            *out = -INFINITY;
        else
            return wrong_type(c, v, "number");
    } else {
        return wrong_type(c, v, "number");
    }
    return LLMOPT_OK;
}

static llmopt_err_t dec_bool(dctx *c, json_t *v, bool *out) {
    if (!json_is_boolean(v))
        return wrong_type(c, v, "boolean");
    *out = json_is_true(v);
    return LLMOPT_OK;
}

static llmopt_err_t dec_enum(dctx *c, json_t *v, const field_desc *f, int *out) {
    if (!json_is_string(v))
        return wrong_type(c, v, "enum symbol string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    for (int i = 0; i < f->nsymbols; i++) {
        if (strlen(f->symbols[i]) == n && memcmp(f->symbols[i], s, n) == 0) {
            *out = i;
            return LLMOPT_OK;
        }
    }
    return fail(c, LLMOPT_JSON_UNKNOWN_ENUM, "unknown symbol '%.*s' for enum field '%s'",
                n > 64 ? 64 : (int)n, s, c->path);
}

/* n elements of size bytes from the arena, zeroed */
static void *arena_array(dctx *c, size_t n, size_t size) {
    if (n && size > SIZE_MAX / n)
        return NULL;
    void *p = llmopt_arena_alloc(c->arena, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

static llmopt_err_t dec_map_f64(dctx *c, json_t *v, llmopt_map_double *out) {
    if (!json_is_object(v))
        return wrong_type(c, v, "object");
    size_t n = json_object_size(v);
    llmopt_kv_double *items = arena_array(c, n, sizeof(*items));
    if (!items)
        return nomem(c);
    size_t i = 0;
    for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        size_t saved = path_push(c, "[\"%.*s\"]", klen > 32 ? 32 : (int)klen, key);
        llmopt_err_t e = dec_f64(c, json_object_iter_value(it), &items[i].value);
        path_pop(c, saved);
        if (e != LLMOPT_OK)
            return e;
        if (llmopt_str_set(c->arena, &items[i].key, key, klen) != LLMOPT_OK)
            return nomem(c);
        i++;
    }
    out->items = items;
    out->count = i;
    return LLMOPT_OK;
}

static llmopt_err_t dec_record(dctx *c, const rec_desc *rd, json_t *obj, void *base);

static llmopt_err_t dec_array(dctx *c, json_t *v, const field_desc *f, gen_array *out) {
    if (!json_is_array(v))
        return wrong_type(c, v, "array");
    size_t n = json_array_size(v);
    size_t elem = f->type == LLMOPT_FT_ARRAY_STRING   ? sizeof(llmopt_str)
                  : f->type == LLMOPT_FT_ARRAY_DOUBLE ? sizeof(double)
                                         : f->sub->size;
    char *items = arena_array(c, n, elem);
    if (!items)
        return nomem(c);
    for (size_t i = 0; i < n; i++) {
        size_t saved = path_push(c, "[%zu]", i);
        json_t *x = json_array_get(v, i);
        void *dst = items + i * elem;
        llmopt_err_t e;
        if (f->type == LLMOPT_FT_ARRAY_STRING)
            e = dec_str(c, x, dst);
        else if (f->type == LLMOPT_FT_ARRAY_DOUBLE)
            e = dec_f64(c, x, dst);
        else if (!json_is_object(x))
            e = wrong_type(c, x, "object");
        else
            e = dec_record(c, f->sub, x, dst);
        path_pop(c, saved);
        if (e != LLMOPT_OK)
            return e;
    }
    out->items = items;
    out->count = n;
    return LLMOPT_OK;
}

static llmopt_err_t dec_field(dctx *c, const field_desc *f, json_t *v, void *base) {
    void *dst = AT(base, f->off, char);
    switch ((llmopt_ftype)f->type) {
    case LLMOPT_FT_STRING: return dec_str(c, v, dst);
    case LLMOPT_FT_LONG: return dec_i64(c, v, dst);
    case LLMOPT_FT_INT: return dec_i32(c, v, dst);
    case LLMOPT_FT_DOUBLE: return dec_f64(c, v, dst);
    case LLMOPT_FT_BOOL: return dec_bool(c, v, dst);
    case LLMOPT_FT_ENUM: return dec_enum(c, v, f, dst);
    case LLMOPT_FT_MAP_DOUBLE: return dec_map_f64(c, v, dst);
    case LLMOPT_FT_ARRAY_STRING:
    case LLMOPT_FT_ARRAY_DOUBLE:
    case LLMOPT_FT_ARRAY_RECORD: return dec_array(c, v, f, dst);
    case LLMOPT_FT_RECORD:
        if (!json_is_object(v))
            return wrong_type(c, v, "object");
        return dec_record(c, f->sub, v, dst);
    }
    return LLMOPT_ERR_INVALID;
}

static llmopt_err_t dec_record(dctx *c, const rec_desc *rd, json_t *obj, void *base) {
    for (size_t i = 0; i < rd->nfields; i++) {
        const field_desc *f = &rd->fields[i];
        json_t *v = json_object_get(obj, f->name);
        size_t saved = path_push(c, c->path_len ? ".%s" : "%s", f->name);
        llmopt_err_t e = LLMOPT_OK;
        if (!v || json_is_null(v)) {
            /* an absent optional stays absent: the record was cleared */
            if (!f->optional)
                e = v ? fail(c, LLMOPT_JSON_WRONG_TYPE,
                             "required field '%s' is null", c->path)
                      : fail(c, LLMOPT_JSON_MISSING_FIELD,
                             "missing required field '%s'", c->path);
        } else {
            e = dec_field(c, f, v, base);
            if (e == LLMOPT_OK && has_flag(f))
                *AT(base, f->has_off, bool) = true;
        }
        path_pop(c, saved);
        if (e != LLMOPT_OK)
            return e;
    }
    return LLMOPT_OK;
}

llmopt_err_t llmopt_json_decode(llmopt_record_type type, const char *data, size_t len,
                                void *rec, llmopt_json_error *jerr, char *errstr,
                                size_t errstr_size) {
    dctx c = {.jerr = jerr, .errstr = errstr, .errstr_size = errstr_size};
    if (jerr)
        memset(jerr, 0, sizeof(*jerr));
    const rec_desc *rd = desc_of(type);
    if (!rd || !rec || (!data && len))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid json decode call for record type '%d'", (int)type);
    llmopt_record_clear(type, rec);
    c.arena = llmopt_record_arena(rec);

    json_error_t perr;
    json_t *root = json_loadb(data ? data : "", len,
                              JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &perr);
    if (!root) {
        enum json_error_code code = json_error_code(&perr);
        llmopt_json_reason reason = LLMOPT_JSON_MALFORMED;
        if (code == json_error_numeric_overflow)
            reason = LLMOPT_JSON_OUT_OF_RANGE;
        else if (code == json_error_out_of_memory)
            reason = LLMOPT_JSON_NOMEM;
        if (jerr) {
            jerr->line = perr.line;
            jerr->column = perr.column;
        }
        return fail(&c, reason, "%s %s at line %d column %d: %s",
                    reason == LLMOPT_JSON_MALFORMED ? "malformed json"
                                                    : "number out of range in json",
                    rd->name, perr.line, perr.column, perr.text);
    }
    llmopt_err_t e;
    if (!json_is_object(root))
        e = fail(&c, LLMOPT_JSON_WRONG_TYPE, "record '%s' is %s, expected object",
                 rd->name, json_type_name(root));
    else
        e = dec_record(&c, rd, root, rec);
    json_decref(root);
    return e;
}

/* ---- encoding -------------------------------------------------------------- */

void llmopt_json_buf_init(llmopt_json_buf *b) {
    memset(b, 0, sizeof(*b));
}

void llmopt_json_buf_release(llmopt_json_buf *b) {
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof(*b));
}

typedef struct ectx {
    llmopt_json_buf *b;
    bool nomem;
    char *errstr;
    size_t errstr_size;
    char path[128];
    size_t path_len;
} ectx;

static bool reserve(ectx *c, size_t n) {
    llmopt_json_buf *b = c->b;
    if (c->nomem)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) {
        if (cap > SIZE_MAX / 2) {
            c->nomem = true;
            return false;
        }
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (!d) {
        c->nomem = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

static void put(ectx *c, const char *s, size_t n) {
    if (!reserve(c, n))
        return;
    memcpy(c->b->data + c->b->len, s, n);
    c->b->len += n;
}

static void putc_(ectx *c, char ch) {
    put(c, &ch, 1);
}

#define PUTS(c, lit) put(c, lit, sizeof(lit) - 1)

/* Length of the valid UTF-8 sequence at s (max n bytes), 0 if invalid:
 * no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned char b = s[0];
    size_t len;
    uint32_t cp;
    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf) {
        len = 2;
        cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        cp = b & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static llmopt_err_t enc_fail(ectx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static llmopt_err_t enc_fail(ectx *c, const char *fmt, ...) {
    if (c->errstr && c->errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->errstr, c->errstr_size, fmt, ap);
        va_end(ap);
    }
    return LLMOPT_ERR_INVALID;
}

static llmopt_err_t enc_str(ectx *c, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    putc_(c, '"');
    size_t run = 0; /* bytes copied verbatim in one put */
    for (size_t i = 0; i < n;) {
        unsigned char ch = u[i];
        const char *esc = NULL;
        char ubuf[6];
        switch (ch) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (ch < 0x20) {
                memcpy(ubuf, "\\u00", 4);
                ubuf[4] = hex[ch >> 4];
                ubuf[5] = hex[ch & 15];
            }
        }
        if (esc || ch < 0x20) {
            put(c, s + i - run, run);
            run = 0;
            if (esc)
                put(c, esc, strlen(esc));
            else
                put(c, ubuf, 6);
            i++;
            continue;
        }
        size_t l = utf8_seq(u + i, n - i);
        if (!l)
            return enc_fail(c, "field '%s' is not valid utf-8 at byte %zu", c->path, i);
        run += l;
        i += l;
    }
    put(c, s + n - run, run);
    putc_(c, '"');
    return LLMOPT_OK;
}

static void enc_i64(ectx *c, int64_t v) {
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
    put(c, tmp, (size_t)n);
}

static void enc_f64(ectx *c, double v) {
    if (isnan(v)) {
        PUTS(c, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        if (v > 0)
            PUTS(c, "\"Infinity\"");
        else
            PUTS(c, "\"-Infinity\"");
        return;
    }
    char tmp[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp) - 2, "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v)
            break;
    }
    /* keep it visibly a real, as jansson does */
    if (!strpbrk(tmp, ".eE")) {
        tmp[n++] = '.';
        tmp[n++] = '0';
    }
    put(c, tmp, (size_t)n);
}

static size_t epath_push(ectx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t epath_push(ectx *c, const char *fmt, ...) {
    size_t saved = c->path_len;
    if (c->path_len < sizeof(c->path) - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->path + c->path_len, sizeof(c->path) - c->path_len, fmt, ap);
        va_end(ap);
        if (n > 0)
            c->path_len += (size_t)n;
        if (c->path_len > sizeof(c->path) - 1)
            c->path_len = sizeof(c->path) - 1;
    }
    return saved;
}

static void epath_pop(ectx *c, size_t saved) {
    c->path_len = saved;
    c->path[saved] = '\0';
}

static llmopt_err_t enc_record(ectx *c, const rec_desc *rd, const void *base);

static llmopt_err_t enc_map(ectx *c, const llmopt_map_double *m) {
    if (m->count && !m->items)
        return enc_fail(c, "map '%s' has %zu entries and no items", c->path, m->count);
    putc_(c, '{');
    for (size_t i = 0; i < m->count; i++) {
        const llmopt_str *k = &m->items[i].key;
        if (!k->ptr)
            return enc_fail(c, "map '%s' has a null key", c->path);
        /* a JSON object cannot hold a key twice (the decoder rejects it) */
        for (size_t j = 0; j < i; j++)
            if (m->items[j].key.len == k->len &&
                memcmp(m->items[j].key.ptr, k->ptr, k->len) == 0)
                return enc_fail(c, "map '%s' holds key '%.*s' twice", c->path,
                                k->len > 64 ? 64 : (int)k->len, k->ptr);
        if (i)
            putc_(c, ',');
        llmopt_err_t e = enc_str(c, k->ptr, k->len);
        if (e != LLMOPT_OK)
            return e;
        putc_(c, ':');
        enc_f64(c, m->items[i].value);
    }
    putc_(c, '}');
    return LLMOPT_OK;
}

static llmopt_err_t enc_array(ectx *c, const field_desc *f, const gen_array *a) {
    if (a->count && !a->items)
        return enc_fail(c, "array '%s' has %zu items and no storage", c->path, a->count);
    putc_(c, '[');
    for (size_t i = 0; i < a->count; i++) {
        if (i)
            putc_(c, ',');
        llmopt_err_t e = LLMOPT_OK;
        size_t saved = epath_push(c, "[%zu]", i);
        if (f->type == LLMOPT_FT_ARRAY_STRING) {
            const llmopt_str *s = &((const llmopt_str *)a->items)[i];
            e = s->ptr ? enc_str(c, s->ptr, s->len)
                       : enc_fail(c, "array '%s' holds a null string", c->path);
        } else if (f->type == LLMOPT_FT_ARRAY_DOUBLE) {
            enc_f64(c, ((const double *)a->items)[i]);
        } else {
            e = enc_record(c, f->sub, (const char *)a->items + i * f->sub->size);
        }
        epath_pop(c, saved);
        if (e != LLMOPT_OK)
            return e;
    }
    putc_(c, ']');
    return LLMOPT_OK;
}

static llmopt_err_t enc_field(ectx *c, const field_desc *f, const void *base) {
    const void *src = CAT(base, f->off, char);
    if (has_flag(f) && !*CAT(base, f->has_off, bool)) {
        PUTS(c, "null");
        return LLMOPT_OK;
    }
    switch ((llmopt_ftype)f->type) {
    case LLMOPT_FT_STRING: {
        const llmopt_str *s = src;
        if (!s->ptr) {
            if (f->optional) {
                PUTS(c, "null");
                return LLMOPT_OK;
            }
            return enc_fail(c, "required field '%s' is absent", c->path);
        }
        return enc_str(c, s->ptr, s->len);
    }
    case LLMOPT_FT_LONG: enc_i64(c, *(const int64_t *)src); return LLMOPT_OK;
    case LLMOPT_FT_INT: enc_i64(c, *(const int32_t *)src); return LLMOPT_OK;
    case LLMOPT_FT_DOUBLE: enc_f64(c, *(const double *)src); return LLMOPT_OK;
    case LLMOPT_FT_BOOL:
        if (*(const bool *)src)
            PUTS(c, "true");
        else
            PUTS(c, "false");
        return LLMOPT_OK;
    case LLMOPT_FT_ENUM: {
        int v = *(const int *)src;
        const char *sym = (v >= 0 && v < f->nsymbols) ? f->symbols[v] : NULL;
        if (!sym)
            return enc_fail(c, "field '%s' has no symbol for enum value %d", c->path, v);
        putc_(c, '"');
        put(c, sym, strlen(sym));
        putc_(c, '"');
        return LLMOPT_OK;
    }
    case LLMOPT_FT_MAP_DOUBLE: return enc_map(c, src);
    case LLMOPT_FT_ARRAY_STRING:
    case LLMOPT_FT_ARRAY_DOUBLE:
    case LLMOPT_FT_ARRAY_RECORD: return enc_array(c, f, src);
    case LLMOPT_FT_RECORD: return enc_record(c, f->sub, src);
    }
    return LLMOPT_ERR_INVALID;
}

static llmopt_err_t enc_record(ectx *c, const rec_desc *rd, const void *base) {
    putc_(c, '{');
    for (size_t i = 0; i < rd->nfields; i++) {
        const field_desc *f = &rd->fields[i];
        if (i)
            putc_(c, ',');
        putc_(c, '"');
        put(c, f->name, strlen(f->name));
        PUTS(c, "\":");
        size_t saved = epath_push(c, c->path_len ? ".%s" : "%s", f->name);
        llmopt_err_t e = enc_field(c, f, base);
        epath_pop(c, saved);
        if (e != LLMOPT_OK)
            return e;
    }
    putc_(c, '}');
    return LLMOPT_OK;
}

llmopt_err_t llmopt_json_encode(llmopt_record_type type, const void *rec,
                                llmopt_json_buf *out, char *errstr,
                                size_t errstr_size) {
    const rec_desc *rd = desc_of(type);
    if (!rd || !rec || !out)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid json encode call for record type '%d'", (int)type);
    ectx c = {.b = out, .errstr = errstr, .errstr_size = errstr_size};
    out->len = 0;
    llmopt_err_t e = enc_record(&c, rd, rec);
    if (e == LLMOPT_OK && (c.nomem || !reserve(&c, 0)))
        e = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size,
                        "out of memory encoding '%s'", rd->name);
    if (e != LLMOPT_OK) {
        out->len = 0;
        if (out->data)
            out->data[0] = '\0';
        return e;
    }
    out->data[out->len] = '\0';
    return LLMOPT_OK;
}
