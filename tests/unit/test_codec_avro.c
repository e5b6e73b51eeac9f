/* test_codec_avro.c - CUnit suite for common/avro_codec: byte-identical
 * output against fastavro golden files (tests/tools/gen_codec_golden.py),
 * cross-checks with avro-c in both directions, random round trips, every
 * malformed case of tests/data/codec/malformed.json with its expected error,
 * writer-schema checks through a registry read from schemas/registry.json.
 * Runs from the repo root (ctest sets WORKING_DIRECTORY). */
#include <CUnit/Basic.h>
#include <avro.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/avro_codec.h"
#include "common/avro_wire.h"
#include "common/record_desc.h"
#include "common/records.h"

#define DATA "tests/data/codec/"

/* ------------------------------------------------------------ helpers */

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

/* A record of any type, big enough for the largest. */
typedef union any_rec {
    llmopt_request req;
    llmopt_response resp;
    llmopt_feedback fb;
    llmopt_outcome out;
    llmopt_window_metrics wm;
    llmopt_signal sig;
    llmopt_routing_decision rd;
} any_rec;

typedef struct any_array {
    void *items;
    size_t count;
} any_array;

/* JSON (the golden .json files) -> record, by walking the field tables. */
static int json_to_fields(json_t *obj, const llmopt_record_desc *d, char *base,
                          llmopt_arena *a);

static int json_to_str(json_t *j, llmopt_str *s, llmopt_arena *a) {
    if (!json_is_string(j))
        return -1;
    return llmopt_str_set(a, s, json_string_value(j), json_string_length(j));
}

static int json_to_array(json_t *j, const llmopt_field_desc *f, any_array *arr,
                         llmopt_arena *a) {
    size_t n = json_is_object(j) ? json_object_size(j) : json_array_size(j);
    size_t elem = f->type == LLMOPT_FT_MAP_DOUBLE     ? sizeof(llmopt_kv_double)
                  : f->type == LLMOPT_FT_ARRAY_STRING ? sizeof(llmopt_str)
                  : f->type == LLMOPT_FT_ARRAY_DOUBLE ? sizeof(double)
                                                      : f->sub->size;
    char *items = n ? llmopt_arena_alloc(a, n * elem) : NULL;
    if (n)
        memset(items, 0, n * elem);
    arr->items = items;
    arr->count = n;
    if (f->type == LLMOPT_FT_MAP_DOUBLE) {
        const char *k;
        json_t *v;
        size_t i = 0;
        json_object_foreach(j, k, v) {
            llmopt_kv_double *kv = (llmopt_kv_double *)items + i++;
            if (llmopt_str_set(a, &kv->key, k, strlen(k)))
                return -1;
            kv->value = json_number_value(v);
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(j, i);
        char *it = items + i * elem;
        int rc = 0;
        if (f->type == LLMOPT_FT_ARRAY_STRING)
            rc = json_to_str(v, (llmopt_str *)it, a);
        else if (f->type == LLMOPT_FT_ARRAY_DOUBLE)
            *(double *)it = json_number_value(v);
        else
            rc = json_to_fields(v, f->sub, it, a);
        if (rc)
            return rc;
    }
    return 0;
}

static int json_to_fields(json_t *obj, const llmopt_record_desc *d, char *base,
                          llmopt_arena *a) {
    for (size_t i = 0; i < d->nfields; i++) {
        const llmopt_field_desc *f = &d->fields[i];
        json_t *j = json_object_get(obj, f->name);
        char *v = base + f->off;
        if (!j)
            return -1;
        if (json_is_null(j)) {
            if (!f->optional)
                return -1;
            continue;
        }
        if (f->optional && f->type != LLMOPT_FT_STRING)
            *(bool *)(base + f->has_off) = true;
        int rc = 0;
        switch (f->type) {
        case LLMOPT_FT_STRING: rc = json_to_str(j, (llmopt_str *)v, a); break;
        case LLMOPT_FT_LONG: *(int64_t *)v = json_integer_value(j); break;
        case LLMOPT_FT_INT: *(int32_t *)v = (int32_t)json_integer_value(j); break;
        case LLMOPT_FT_DOUBLE: *(double *)v = json_number_value(j); break;
        case LLMOPT_FT_BOOL: *(bool *)v = json_is_true(j); break;
        case LLMOPT_FT_ENUM: {
            int x = -1;
            for (int s = 0; s < f->nsymbols; s++)
                if (strcmp(f->symbols[s], json_string_value(j)) == 0)
                    x = s;
            if (x < 0)
                return -1;
            *(int *)v = x;
            break;
        }
        case LLMOPT_FT_RECORD: rc = json_to_fields(j, f->sub, v, a); break;
        default: rc = json_to_array(j, f, (any_array *)v, a); break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* Bitwise equality of two records (doubles by bit pattern). */
static int fields_equal(const llmopt_record_desc *d, const char *x, const char *y);

static int str_eq(const llmopt_str *a, const llmopt_str *b) {
    if (!a->ptr || !b->ptr)
        return a->ptr == b->ptr;
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0 && a->ptr[a->len] == 0;
}

static int array_equal(const llmopt_field_desc *f, const any_array *a, const any_array *b) {
    if (a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++) {
        switch (f->type) {
        case LLMOPT_FT_MAP_DOUBLE: {
            const llmopt_kv_double *p = (const llmopt_kv_double *)a->items + i;
            const llmopt_kv_double *q = (const llmopt_kv_double *)b->items + i;
            if (!str_eq(&p->key, &q->key) || memcmp(&p->value, &q->value, 8))
                return 0;
            break;
        }
        case LLMOPT_FT_ARRAY_STRING:
            if (!str_eq((const llmopt_str *)a->items + i, (const llmopt_str *)b->items + i))
                return 0;
            break;
        case LLMOPT_FT_ARRAY_DOUBLE:
            if (memcmp((const double *)a->items + i, (const double *)b->items + i, 8))
                return 0;
            break;
        default:
            if (!fields_equal(f->sub, (const char *)a->items + i * f->sub->size,
                              (const char *)b->items + i * f->sub->size))
                return 0;
        }
    }
    return 1;
}

static const char *unequal_field = "";

static int fields_equal(const llmopt_record_desc *d, const char *x, const char *y) {
    for (size_t i = 0; i < d->nfields; i++) {
        const llmopt_field_desc *f = &d->fields[i];
        const char *a = x + f->off, *b = y + f->off;
        unequal_field = f->name;
        if (f->optional && f->type != LLMOPT_FT_STRING) {
            bool ha = *(const bool *)(x + f->has_off), hb = *(const bool *)(y + f->has_off);
            if (ha != hb)
                return 0;
            if (!ha)
                continue;
        }
        int eq = 1;
        switch (f->type) {
        case LLMOPT_FT_STRING: eq = str_eq((const llmopt_str *)a, (const llmopt_str *)b); break;
        case LLMOPT_FT_LONG: case LLMOPT_FT_DOUBLE: eq = !memcmp(a, b, 8); break;
        case LLMOPT_FT_INT: eq = *(const int32_t *)a == *(const int32_t *)b; break;
        case LLMOPT_FT_BOOL: eq = *(const bool *)a == *(const bool *)b; break;
        case LLMOPT_FT_ENUM: eq = *(const int *)a == *(const int *)b; break;
        case LLMOPT_FT_RECORD: eq = fields_equal(f->sub, a, b); break;
        default: eq = array_equal(f, (const any_array *)a, (const any_array *)b); break;
        }
        if (!eq)
            return 0;
    }
    return 1;
}

static int records_equal(llmopt_record_type t, const void *a, const void *b) {
    return fields_equal(llmopt_record_desc_of(t), a, b);
}

/* JSON -> avro-c generic value, walking the avro-c schema (independent of
 * our field tables). */
static int json_to_avro(json_t *j, avro_value_t *v) {
    avro_value_t child;
    switch (avro_value_get_type(v)) {
    case AVRO_STRING:
        return avro_value_set_string_len(v, json_string_value(j), json_string_length(j) + 1);
    case AVRO_INT32: return avro_value_set_int(v, (int32_t)json_integer_value(j));
    case AVRO_INT64: return avro_value_set_long(v, json_integer_value(j));
    case AVRO_DOUBLE: return avro_value_set_double(v, json_number_value(j));
    case AVRO_BOOLEAN: return avro_value_set_boolean(v, json_is_true(j));
    case AVRO_NULL: return avro_value_set_null(v);
    case AVRO_ENUM: {
        int idx = avro_schema_enum_get_by_name(avro_value_get_schema(v), json_string_value(j));
        return idx < 0 ? -1 : avro_value_set_enum(v, idx);
    }
    case AVRO_UNION:
        if (avro_value_set_branch(v, json_is_null(j) ? 0 : 1, &child))
            return -1;
        return json_is_null(j) ? avro_value_set_null(&child) : json_to_avro(j, &child);
    case AVRO_MAP: {
        const char *k;
        json_t *x;
        json_object_foreach(j, k, x) {
            if (avro_value_add(v, k, &child, NULL, NULL) || json_to_avro(x, &child))
                return -1;
        }
        return 0;
    }
    case AVRO_ARRAY:
        for (size_t i = 0; i < json_array_size(j); i++)
            if (avro_value_append(v, &child, NULL) || json_to_avro(json_array_get(j, i), &child))
                return -1;
        return 0;
    case AVRO_RECORD: {
        size_t n;
        avro_value_get_size(v, &n);
        for (size_t i = 0; i < n; i++) {
            const char *name;
            if (avro_value_get_by_index(v, i, &child, &name) ||
                json_to_avro(json_object_get(j, name), &child))
                return -1;
        }
        return 0;
    }
    default:
        return -1;
    }
}

/* avro-c consumed every byte: one more byte cannot be read. */
static int at_eof(avro_reader_t rd) {
    char x;
    return avro_read(rd, &x, 1) != 0;
}

/* ------------------------------------------------------------ local registry */

typedef struct local_reg {
    struct {
        int32_t id;
        llmopt_record_type type;
        char *json;
    } e[16];
    size_t n;
    int fail_io; /* simulate an unreachable registry */
} local_reg;

static llmopt_err_t reg_lookup(void *ctx, int32_t id, const char **json, char *errstr,
                               size_t errstr_size) {
    local_reg *r = ctx;
    if (r->fail_io)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "connection refused");
    for (size_t i = 0; i < r->n; i++)
        if (r->e[i].id == id) {
            *json = r->e[i].json;
            return LLMOPT_OK;
        }
    return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size, "unknown schema id '%d'", (int)id);
}

static llmopt_err_t reg_id_for(void *ctx, llmopt_record_type t, int32_t *id, char *errstr,
                               size_t errstr_size) {
    local_reg *r = ctx;
    for (size_t i = 0; i < r->n; i++)
        if (r->e[i].type == t) {
            *id = r->e[i].id;
            return LLMOPT_OK;
        }
    return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size, "no schema for type");
}

static void reg_add(local_reg *r, int32_t id, llmopt_record_type t, const char *json) {
    r->e[r->n].id = id;
    r->e[r->n].type = t;
    r->e[r->n].json = strdup(json);
    r->n++;
}

/* schemas/registry.json: {"schemas":[{"id","subject","record","file"}]} */
static int reg_load(local_reg *r) {
    memset(r, 0, sizeof(*r));
    json_error_t jerr;
    json_t *root = json_load_file("schemas/registry.json", 0, &jerr);
    if (!root)
        return -1;
    json_t *arr = json_object_get(root, "schemas"), *e;
    size_t i;
    json_array_foreach(arr, i, e) {
        char path[512];
        snprintf(path, sizeof(path), "schemas/%s", json_string_value(json_object_get(e, "file")));
        size_t len;
        char *text = (char *)read_file(path, &len);
        if (!text)
            return -1;
        reg_add(r, (int32_t)json_integer_value(json_object_get(e, "id")),
                llmopt_record_type_from_name(json_string_value(json_object_get(e, "record"))),
                text);
        free(text);
    }
    json_decref(root);
    return (int)r->n;
}

static void reg_free(local_reg *r) {
    for (size_t i = 0; i < r->n; i++)
        free(r->e[i].json);
    r->n = 0;
}

static local_reg g_reg;
static llmopt_avro_codec *g_codec;

static int suite_init(void) {
    if (reg_load(&g_reg) != 7)
        return 1;
    llmopt_schema_source src = {&g_reg, reg_lookup, reg_id_for};
    g_codec = llmopt_avro_codec_new(&src, NULL, 0);
    return g_codec ? 0 : 1;
}

static int suite_clean(void) {
    llmopt_avro_codec_destroy(g_codec);
    reg_free(&g_reg);
    return 0;
}

/* ------------------------------------------------------------ golden files */

typedef struct golden {
    char name[64];
    llmopt_record_type type;
    json_t *value;
    uint8_t *wire;
    size_t wire_len;
} golden;

static int golden_load(const char *name, golden *g) {
    char path[256];
    memset(g, 0, sizeof(*g));
    snprintf(g->name, sizeof(g->name), "%s", name);
    snprintf(path, sizeof(path), DATA "%s.json", name);
    json_t *root = json_load_file(path, 0, NULL);
    if (!root)
        return -1;
    g->type = llmopt_record_type_from_name(json_string_value(json_object_get(root, "record")));
    g->value = json_incref(json_object_get(root, "value"));
    json_decref(root);
    snprintf(path, sizeof(path), DATA "%s.bin", name);
    g->wire = read_file(path, &g->wire_len);
    return g->wire && g->type ? 0 : -1;
}

static void golden_free(golden *g) {
    json_decref(g->value);
    free(g->wire);
}

/* Calls fn for every sample listed in samples.txt; returns how many. */
static int for_each_golden(void (*fn)(golden *g)) {
    size_t len;
    char *list = (char *)read_file(DATA "samples.txt", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    int n = 0;
    for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
        golden g;
        CU_ASSERT_EQUAL_FATAL(golden_load(line, &g), 0);
        fn(&g);
        golden_free(&g);
        n++;
    }
    free(list);
    return n;
}

static void check_golden_encode_decode(golden *g) {
    any_rec want, got;
    llmopt_record_init(g->type, &want);
    llmopt_record_init(g->type, &got);
    const llmopt_record_desc *d = llmopt_record_desc_of(g->type);
    CU_ASSERT_EQUAL_FATAL(json_to_fields(g->value, d, (char *)&want, llmopt_record_arena(&want)), 0);

    /* encode: byte-identical to fastavro */
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    char err[256] = "";
    CU_ASSERT_EQUAL(llmopt_avro_encode(g_codec, g->type, &want, &w, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(w.len, g->wire_len);
    if (w.len != g->wire_len || memcmp(w.data, g->wire, w.len) != 0) {
        fprintf(stderr, "golden '%s': encoding differs from fastavro\n", g->name);
        CU_FAIL("encoding differs");
    }

    /* decode fastavro's bytes: equal to the JSON */
    llmopt_avro_reason why = LLMOPT_AVRO_BAD_MAGIC;
    CU_ASSERT_EQUAL(llmopt_avro_decode(g_codec, g->wire, g->wire_len, g->type, &got, &why, err,
                                       sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(why, LLMOPT_AVRO_OK);
    if (!records_equal(g->type, &want, &got)) {
        fprintf(stderr, "golden '%s': decoded field '%s' differs\n", g->name, unequal_field);
        CU_FAIL("decode differs");
    }
    /* body-only API gives the same record */
    CU_ASSERT_EQUAL(llmopt_avro_decode_body(g->type, g->wire + 5, g->wire_len - 5, &got, &why,
                                            err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT(records_equal(g->type, &want, &got));
    /* peek knows the type */
    llmopt_record_type t = LLMOPT_REC_NONE;
    int32_t id = -1;
    CU_ASSERT_EQUAL(llmopt_avro_peek(g_codec, g->wire, g->wire_len, &t, &id, NULL, NULL, 0),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(t, g->type);
    CU_ASSERT_EQUAL(id, (int32_t)g->type);

    /* every strict prefix is truncated, never accepted or out of bounds
     * (the sanitizer build checks the bounds); the copy is exact-size */
    for (size_t cut = 0; cut < g->wire_len; cut++) {
        uint8_t *p = malloc(cut ? cut : 1);
        memcpy(p, g->wire, cut);
        why = LLMOPT_AVRO_OK;
        llmopt_err_t e = llmopt_avro_decode(g_codec, p, cut, g->type, &got, &why, NULL, 0);
        CU_ASSERT_EQUAL(e, LLMOPT_ERR_TRUNCATED);
        CU_ASSERT_EQUAL(why, LLMOPT_AVRO_TRUNCATED);
        free(p);
    }
    /* every single-byte corruption of the body decodes or fails cleanly */
    for (size_t i = 5; i < g->wire_len; i++) {
        uint8_t *p = malloc(g->wire_len);
        static const uint8_t vals[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff};
        for (size_t k = 0; k < sizeof(vals); k++) {
            memcpy(p, g->wire, g->wire_len);
            p[i] = vals[k];
            llmopt_err_t e = llmopt_avro_decode(g_codec, p, g->wire_len, g->type, &got, &why, NULL, 0);
            CU_ASSERT((e == LLMOPT_OK) == (why == LLMOPT_AVRO_OK));
        }
        free(p);
    }
    llmopt_wbuf_release(&w);
    llmopt_record_release(g->type, &want);
    llmopt_record_release(g->type, &got);
}

static void test_golden(void) {
    CU_ASSERT_EQUAL(for_each_golden(check_golden_encode_decode), 16);
}

/* avro-c, from the same JSON, writes the same bytes as fastavro; avro-c
 * reads our encoding back as an equal value. */
static void check_avroc(golden *g) {
    avro_schema_t schema = NULL;
    const char *json = NULL;
    CU_ASSERT_EQUAL_FATAL(reg_lookup(&g_reg, (int32_t)g->type, &json, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL_FATAL(avro_schema_from_json_length(json, strlen(json), &schema), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t val, back;
    avro_generic_value_new(iface, &val);
    avro_generic_value_new(iface, &back);
    CU_ASSERT_EQUAL_FATAL(json_to_avro(g->value, &val), 0);

    static char buf[1 << 16];
    avro_writer_t wr = avro_writer_memory(buf, sizeof(buf));
    CU_ASSERT_EQUAL(avro_value_write(wr, &val), 0);
    size_t n = (size_t)avro_writer_tell(wr);
    CU_ASSERT_EQUAL(n, g->wire_len - 5);
    CU_ASSERT(memcmp(buf, g->wire + 5, n) == 0);
    avro_writer_free(wr);

    /* avro-c generic encoding -> our decoder */
    any_rec want, got;
    llmopt_record_init(g->type, &want);
    llmopt_record_init(g->type, &got);
    json_to_fields(g->value, llmopt_record_desc_of(g->type), (char *)&want,
                   llmopt_record_arena(&want));
    CU_ASSERT_EQUAL(llmopt_avro_decode_body(g->type, buf, n, &got, NULL, NULL, 0), LLMOPT_OK);
    CU_ASSERT(records_equal(g->type, &want, &got));

    /* our encoder -> avro-c generic decoder */
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    CU_ASSERT_EQUAL(llmopt_avro_encode_body(g->type, &want, &w, NULL, 0), LLMOPT_OK);
    avro_reader_t rd = avro_reader_memory((const char *)w.data, (int64_t)w.len);
    CU_ASSERT_EQUAL(avro_value_read(rd, &back), 0);
    CU_ASSERT(at_eof(rd));
    CU_ASSERT(avro_value_equal(&val, &back));
    avro_reader_free(rd);

    llmopt_wbuf_release(&w);
    llmopt_record_release(g->type, &want);
    llmopt_record_release(g->type, &got);
    avro_value_decref(&val);
    avro_value_decref(&back);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}

static void test_avroc_cross(void) {
    CU_ASSERT_EQUAL(for_each_golden(check_avroc), 16);
}

/* ------------------------------------------------------------ random round trips */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int64_t rnd_long(void) {
    switch (rnd() % 5) {
    case 0: return (int64_t)(rnd() % 128) - 64;
    case 1: return (int64_t)rnd();
    case 2: return rnd() & 1 ? INT64_MAX : INT64_MIN;
    default: return (int64_t)(rnd() % 100000);
    }
}

static double rnd_double(void) {
    if (rnd() % 4 == 0) {
        uint64_t bits = rnd();
        double d;
        memcpy(&d, &bits, 8);
        if (isnan(d)) /* avro-c compares values; NaN != NaN */
            d = -0.0;
        return d;
    }
    return (double)(int64_t)(rnd() % 2000000) / 1000.0;
}

static void rnd_str(llmopt_str *s, llmopt_arena *a) {
    static const char *alpha[] = {"a", "Z", "9", "-", "|", " ", "\xc3\xa9", "\xe6\x97\xa5",
                                  "\xf0\x9f\x98\x80"};
    char buf[1024]; /* up to 229 characters of at most 4 bytes */
    size_t n = rnd() % 8 == 0 ? 150 + rnd() % 80 : rnd() % 12, len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = alpha[rnd() % 9];
        memcpy(buf + len, c, strlen(c));
        len += strlen(c);
    }
    llmopt_str_set(a, s, buf, len);
}

static void rnd_fields(const llmopt_record_desc *d, char *base, llmopt_arena *a, int depth);

static void rnd_array(const llmopt_field_desc *f, any_array *arr, llmopt_arena *a, int depth) {
    size_t n = rnd() % 4, elem = f->type == LLMOPT_FT_MAP_DOUBLE ? sizeof(llmopt_kv_double)
                                : f->type == LLMOPT_FT_ARRAY_STRING ? sizeof(llmopt_str)
                                : f->type == LLMOPT_FT_ARRAY_DOUBLE ? sizeof(double)
                                                                    : f->sub->size;
    char *items = n ? llmopt_arena_alloc(a, n * elem) : NULL;
    if (n)
        memset(items, 0, n * elem);
    for (size_t i = 0; i < n; i++) {
        char *it = items + i * elem;
        if (f->type == LLMOPT_FT_MAP_DOUBLE) {
            /* Avro map keys are unique (avro-c merges duplicates): prefix
             * the random key with its index */
            llmopt_kv_double *kv = (llmopt_kv_double *)it;
            llmopt_str r;
            rnd_str(&r, a);
            char key[1100];
            int kn = snprintf(key, sizeof(key), "%zu:%s", i, r.ptr);
            llmopt_str_set(a, &kv->key, key, (size_t)kn);
            kv->value = rnd_double();
        } else if (f->type == LLMOPT_FT_ARRAY_STRING) {
            rnd_str((llmopt_str *)it, a);
        } else if (f->type == LLMOPT_FT_ARRAY_DOUBLE) {
            *(double *)it = rnd_double();
        } else {
            rnd_fields(f->sub, it, a, depth + 1);
        }
    }
    arr->items = items;
    arr->count = n;
}

static void rnd_fields(const llmopt_record_desc *d, char *base, llmopt_arena *a, int depth) {
    for (size_t i = 0; i < d->nfields; i++) {
        const llmopt_field_desc *f = &d->fields[i];
        char *v = base + f->off;
        if (f->optional && rnd() % 3 == 0)
            continue; /* absent */
        if (f->optional && f->type != LLMOPT_FT_STRING)
            *(bool *)(base + f->has_off) = true;
        switch (f->type) {
        case LLMOPT_FT_STRING: rnd_str((llmopt_str *)v, a); break;
        case LLMOPT_FT_LONG: *(int64_t *)v = rnd_long(); break;
        case LLMOPT_FT_INT: *(int32_t *)v = (int32_t)rnd_long(); break;
        case LLMOPT_FT_DOUBLE: *(double *)v = rnd_double(); break;
        case LLMOPT_FT_BOOL: *(bool *)v = rnd() & 1; break;
        case LLMOPT_FT_ENUM: *(int *)v = (int)(rnd() % f->nsymbols); break;
        case LLMOPT_FT_RECORD: rnd_fields(f->sub, v, a, depth + 1); break;
        default: rnd_array(f, (any_array *)v, a, depth); break;
        }
    }
}

static void test_random_roundtrip(void) {
    avro_value_iface_t *iface[LLMOPT_REC_COUNT] = {0};
    avro_schema_t schema[LLMOPT_REC_COUNT] = {0};
    avro_value_t val[LLMOPT_REC_COUNT];
    for (int t = 1; t < LLMOPT_REC_COUNT; t++) {
        const char *json = llmopt_avro_schema_pcf[t];
        CU_ASSERT_EQUAL_FATAL(avro_schema_from_json_length(json, strlen(json), &schema[t]), 0);
        iface[t] = avro_generic_class_from_schema(schema[t]);
        avro_generic_value_new(iface[t], &val[t]);
    }
    static char buf[1 << 18];
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    int checked = 0;
    for (int i = 0; i < 3500; i++) {
        llmopt_record_type t = (llmopt_record_type)(1 + i % 7);
        any_rec a, b;
        llmopt_record_init(t, &a);
        llmopt_record_init(t, &b);
        rnd_fields(llmopt_record_desc_of(t), (char *)&a, llmopt_record_arena(&a), 0);
        w.len = 0;
        CU_ASSERT_EQUAL_FATAL(llmopt_avro_encode_body(t, &a, &w, NULL, 0), LLMOPT_OK);
        /* avro-c reads exactly our bytes and writes the very same bytes */
        avro_value_reset(&val[t]);
        avro_reader_t rd = avro_reader_memory((const char *)w.data, (int64_t)w.len);
        CU_ASSERT_EQUAL(avro_value_read(rd, &val[t]), 0);
        CU_ASSERT(at_eof(rd));
        avro_reader_free(rd);
        avro_writer_t wr = avro_writer_memory(buf, sizeof(buf));
        CU_ASSERT_EQUAL(avro_value_write(wr, &val[t]), 0);
        CU_ASSERT_EQUAL((size_t)avro_writer_tell(wr), w.len);
        CU_ASSERT(memcmp(buf, w.data, w.len) == 0);
        avro_writer_free(wr);
        /* and we decode to the record we started from */
        CU_ASSERT_EQUAL(llmopt_avro_decode_body(t, w.data, w.len, &b, NULL, NULL, 0), LLMOPT_OK);
        if (!records_equal(t, &a, &b)) {
            fprintf(stderr, "random %d (%s): field '%s' differs\n", i,
                    llmopt_record_type_name(t), unequal_field);
            CU_FAIL("random round trip");
        }
        checked++;
        llmopt_record_release(t, &a);
        llmopt_record_release(t, &b);
    }
    CU_ASSERT_EQUAL(checked, 3500);
    llmopt_wbuf_release(&w);
    for (int t = 1; t < LLMOPT_REC_COUNT; t++) {
        avro_value_decref(&val[t]);
        avro_value_iface_decref(iface[t]);
        avro_schema_decref(schema[t]);
    }
}

/* ------------------------------------------------------------ malformed */

static void test_malformed(void) {
    json_t *cases = json_load_file(DATA "malformed.json", 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cases);
    CU_ASSERT(json_array_size(cases) >= 20);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *hex = json_string_value(json_object_get(c, "hex"));
        const char *want = json_string_value(json_object_get(c, "reason"));
        llmopt_record_type t =
            llmopt_record_type_from_name(json_string_value(json_object_get(c, "record")));
        size_t n = strlen(hex) / 2;
        uint8_t *msg = malloc(n ? n : 1);
        for (size_t k = 0; k < n; k++)
            sscanf(hex + 2 * k, "%2hhx", &msg[k]);
        any_rec r;
        llmopt_record_init(t, &r);
        llmopt_avro_reason why = LLMOPT_AVRO_OK;
        char err[256] = "";
        llmopt_err_t e = llmopt_avro_decode(g_codec, msg, n, t, &r, &why, err, sizeof(err));
        if (strcmp(llmopt_avro_reason_name(why), want) != 0) {
            fprintf(stderr, "malformed '%s': got '%s' (%s), want '%s'\n", name,
                    llmopt_avro_reason_name(why), err, want);
            CU_FAIL("wrong reason");
        }
        CU_ASSERT((e == LLMOPT_OK) == (strcmp(want, "ok") == 0));
        if (e != LLMOPT_OK)
            CU_ASSERT(strlen(err) > 0);
        if (strcmp(want, "truncated") == 0)
            CU_ASSERT_EQUAL(e, LLMOPT_ERR_TRUNCATED);
        if (strcmp(want, "unknown_schema_id") == 0)
            CU_ASSERT_EQUAL(e, LLMOPT_ERR_UNKNOWN);
        if (strcmp(name, "negative_block_count_valid") == 0) {
            CU_ASSERT(r.req.has_context);
            CU_ASSERT_EQUAL(r.req.context.count, 2);
            if (r.req.context.count == 2) {
                CU_ASSERT_STRING_EQUAL(r.req.context.items[1].key.ptr, "k2");
                CU_ASSERT_EQUAL(r.req.context.items[1].value, -2.0);
            }
        }
        llmopt_record_release(t, &r);
        free(msg);
    }
    json_decref(cases);
    /* an error message names the reason, byte offset and field */
    uint8_t bad[] = {0, 0, 0, 0, 1, 0x01};
    char err[256];
    llmopt_request rq;
    llmopt_request_init(&rq);
    llmopt_avro_decode(g_codec, bad, sizeof(bad), LLMOPT_REC_REQUEST, &rq, NULL, err, sizeof(err));
    CU_ASSERT_STRING_EQUAL(err, "Request: negative_length at byte 6 in field 'request_id'");
    llmopt_request_release(&rq);
}

/* ------------------------------------------------------------ writer schemas */

static char *replace(const char *s, const char *from, const char *to) {
    const char *p = strstr(s, from);
    if (!p)
        return NULL;
    size_t n = strlen(s) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    memcpy(out, s, (size_t)(p - s));
    strcpy(out + (p - s), to);
    strcat(out, p + strlen(from));
    return out;
}

static void test_writer_schemas(void) {
    local_reg r;
    CU_ASSERT_EQUAL_FATAL(reg_load(&r), 7);
    const char *fb = r.e[2].json; /* feedback.avsc */
    CU_ASSERT_EQUAL_FATAL(r.e[2].type, LLMOPT_REC_FEEDBACK);
    /* docs and layout changed only: same canonical form -> accepted */
    char *doc = replace(fb, "\"doc\": \"Late feedback", "\"doc\": \"Other words. Late feedback");
    /* an added field -> unsupported */
    char *extra = replace(fb, "\"fields\": [", "\"fields\": [{\"name\": \"x\", \"type\": \"int\"},");
    /* int -> long for thumbs -> unsupported (no resolution fallback) */
    char *promo = replace(fb, "\"int\"", "\"long\"");
    /* another namespace -> unsupported */
    char *ns = replace(fb, "\"io.llmopt\"", "\"com.other\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(extra);
    CU_ASSERT_PTR_NOT_NULL_FATAL(promo);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    reg_add(&r, 100, LLMOPT_REC_FEEDBACK, doc);
    reg_add(&r, 101, LLMOPT_REC_FEEDBACK, extra);
    reg_add(&r, 102, LLMOPT_REC_FEEDBACK, promo);
    reg_add(&r, 103, LLMOPT_REC_FEEDBACK, ns);
    reg_add(&r, 104, LLMOPT_REC_FEEDBACK, "{not json");
    reg_add(&r, 105, LLMOPT_REC_NONE, "\"string\"");
    /* an older Feedback without the optional fields (they stay null) */
    reg_add(&r, 106, LLMOPT_REC_FEEDBACK,
            "{\"type\":\"record\",\"name\":\"Feedback\",\"namespace\":\"io.llmopt\","
            "\"fields\":[{\"name\":\"request_id\",\"type\":\"string\"},"
            "{\"name\":\"ts_ms\",\"type\":\"long\"},{\"name\":\"route\",\"type\":\"string\"}]}");
    /* same with ts_ms as int: no promotion, unsupported */
    reg_add(&r, 108, LLMOPT_REC_FEEDBACK,
            "{\"type\":\"record\",\"name\":\"Feedback\",\"namespace\":\"io.llmopt\","
            "\"fields\":[{\"name\":\"request_id\",\"type\":\"string\"},"
            "{\"name\":\"ts_ms\",\"type\":\"int\"},{\"name\":\"route\",\"type\":\"string\"}]}");
    /* incompatible: required route missing, no default */
    reg_add(&r, 107, LLMOPT_REC_FEEDBACK,
            "{\"type\":\"record\",\"name\":\"Feedback\",\"namespace\":\"io.llmopt\","
            "\"fields\":[{\"name\":\"request_id\",\"type\":\"string\"},"
            "{\"name\":\"ts_ms\",\"type\":\"long\"}]}");
    free(doc), free(extra), free(promo), free(ns);

    llmopt_schema_source src = {&r, reg_lookup, NULL};
    llmopt_avro_codec *c = llmopt_avro_codec_new(&src, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    golden g;
    CU_ASSERT_EQUAL_FATAL(golden_load("feedback_full", &g), 0);
    static const struct {
        int32_t id;
        llmopt_avro_reason why;
        llmopt_err_t err;
    } want[] = {
        {3, LLMOPT_AVRO_OK, LLMOPT_OK},
        {100, LLMOPT_AVRO_OK, LLMOPT_OK},
        /* golden bytes under a writer with an extra leading int: misread,
         * caught by the pre-check (the body is too short for the writer) */
        {101, LLMOPT_AVRO_TRUNCATED, LLMOPT_ERR_TRUNCATED},
        /* thumbs long in the writer, int in ours: no promotion */
        {102, LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA, LLMOPT_ERR_VERSION},
        {107, LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA, LLMOPT_ERR_VERSION},
        {108, LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA, LLMOPT_ERR_VERSION},
        {103, LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA, LLMOPT_ERR_VERSION},
        {104, LLMOPT_AVRO_BAD_WRITER_SCHEMA, LLMOPT_ERR_INVALID},
        {105, LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA, LLMOPT_ERR_VERSION},
        {1, LLMOPT_AVRO_WRONG_RECORD_TYPE, LLMOPT_ERR_INVALID},
        {77, LLMOPT_AVRO_UNKNOWN_SCHEMA_ID, LLMOPT_ERR_UNKNOWN},
    };
    llmopt_feedback f;
    llmopt_feedback_init(&f);
    for (int round = 0; round < 2; round++) /* second round: cached verdicts */
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            llmopt_avro_header_write(g.wire, want[i].id);
            llmopt_avro_reason why = LLMOPT_AVRO_OK;
            char err[256] = "";
            llmopt_err_t e = llmopt_avro_decode(c, g.wire, g.wire_len, LLMOPT_REC_FEEDBACK, &f,
                                                &why, err, sizeof(err));
            if (why != want[i].why || e != want[i].err)
                fprintf(stderr, "writer schema id %d: got %s (%s)\n", (int)want[i].id,
                        llmopt_avro_reason_name(why), err);
            CU_ASSERT_EQUAL(why, want[i].why);
            CU_ASSERT_EQUAL(e, want[i].err);
        }
    llmopt_avro_header_write(g.wire, 100); /* docs-only variant decodes the golden */
    CU_ASSERT_EQUAL(llmopt_avro_decode(c, g.wire, g.wire_len, LLMOPT_REC_FEEDBACK, &f, NULL, NULL, 0),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(f.thumbs, -1);

    /* resolution fallback: writer 101 has an extra leading int field x the
     * reader skips; a message written with it decodes to the golden record */
    any_rec gold;
    llmopt_record_init(LLMOPT_REC_FEEDBACK, &gold);
    json_to_fields(g.value, llmopt_record_desc_of(LLMOPT_REC_FEEDBACK), (char *)&gold,
                   llmopt_record_arena(&gold));
    uint8_t *m = malloc(g.wire_len + 2);
    llmopt_avro_header_write(m, 101);
    m[5] = 0x0a; /* x = 5 */
    memcpy(m + 6, g.wire + 5, g.wire_len - 5);
    for (int i = 0; i < 2; i++) {
        llmopt_avro_reason w = LLMOPT_AVRO_TRUNCATED;
        CU_ASSERT_EQUAL(llmopt_avro_decode(c, m, g.wire_len + 1, LLMOPT_REC_FEEDBACK, &f, &w, NULL,
                                           0), LLMOPT_OK);
        CU_ASSERT_EQUAL(w, LLMOPT_AVRO_OK);
        CU_ASSERT(records_equal(LLMOPT_REC_FEEDBACK, &gold, &f));
    }
    m[g.wire_len + 1] = 0; /* one byte too many */
    llmopt_avro_reason w2;
    CU_ASSERT_EQUAL(llmopt_avro_decode(c, m, g.wire_len + 2, LLMOPT_REC_FEEDBACK, &f, &w2, NULL, 0),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(w2, LLMOPT_AVRO_TRAILING_BYTES);
    free(m);
    llmopt_record_release(LLMOPT_REC_FEEDBACK, &gold);
    /* writer 106: older schema, defaults fill the optional fields */
    const uint8_t old_fb[] = {0, 0, 0, 0, 106, 0x04, 'r', '9', 0x9a, 0x01, 0x04, 'r', 't'};
    char e106[256] = "";
    CU_ASSERT_EQUAL(llmopt_avro_decode(c, old_fb, sizeof(old_fb), LLMOPT_REC_FEEDBACK, &f, &w2, e106,
                                       sizeof(e106)), LLMOPT_OK);
    if (w2 != LLMOPT_AVRO_OK)
        fprintf(stderr, "writer 106: %s\n", e106);
    CU_ASSERT_STRING_EQUAL(f.request_id.ptr, "r9");
    CU_ASSERT_EQUAL(f.ts_ms, 77);
    CU_ASSERT_STRING_EQUAL(f.route.ptr, "rt");
    CU_ASSERT(!f.has_rating && !f.has_thumbs && !f.has_task_completed);
    /* truncated under resolution */
    CU_ASSERT_EQUAL(llmopt_avro_decode(c, old_fb, sizeof(old_fb) - 1, LLMOPT_REC_FEEDBACK, &f,
                                       &w2, e106, sizeof(e106)), LLMOPT_ERR_TRUNCATED);
    CU_ASSERT_EQUAL(w2, LLMOPT_AVRO_TRUNCATED);
    CU_ASSERT_STRING_EQUAL(e106, "Feedback: truncated at byte 11 in field 'route'");
    /* malformed bodies get the same precise reasons as on the fast path */
    const uint8_t neg_fb[] = {0, 0, 0, 0, 106, 0x04, 'r', '9', 0x9a, 0x01, 0x01, 'r', 't'};
    CU_ASSERT_EQUAL(llmopt_avro_decode(c, neg_fb, sizeof(neg_fb), LLMOPT_REC_FEEDBACK, &f, &w2, NULL,
                                       0), LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(w2, LLMOPT_AVRO_NEGATIVE_LENGTH);
    /* registry down: retryable, not cached */
    r.fail_io = 1;
    llmopt_avro_header_write(g.wire, 6);
    llmopt_avro_reason why;
    CU_ASSERT_EQUAL(llmopt_avro_decode(c, g.wire, g.wire_len, LLMOPT_REC_SIGNAL, &f, &why, NULL, 0),
                    LLMOPT_ERR_IO);
    CU_ASSERT_EQUAL(why, LLMOPT_AVRO_REGISTRY_UNAVAILABLE);
    r.fail_io = 0;
    llmopt_record_type t;
    CU_ASSERT_EQUAL(llmopt_avro_peek(c, g.wire, g.wire_len, &t, NULL, &why, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(t, LLMOPT_REC_SIGNAL);
    /* a decode-only codec cannot encode */
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    CU_ASSERT_EQUAL(llmopt_avro_encode(c, LLMOPT_REC_FEEDBACK, &f, &w, NULL, 0), LLMOPT_ERR_STATE);
    CU_ASSERT_EQUAL(w.len, 0);
    llmopt_wbuf_release(&w);
    llmopt_feedback_release(&f);
    golden_free(&g);
    llmopt_avro_codec_destroy(c);
    reg_free(&r);
}

/* The fallback decodes message after message correctly: maps hold exactly
 * their own entries (avro-c's generic map reset is not trusted). */
static void test_fallback_maps(void) {
    local_reg r;
    memset(&r, 0, sizeof(r));
    const char *pcf = llmopt_avro_schema_pcf[LLMOPT_REC_REQUEST];
    size_t n = strlen(pcf);
    char *newer = malloc(n + 64);
    memcpy(newer, pcf, n - 2); /* drop the final "]}" */
    strcpy(newer + n - 2, ",{\"name\":\"newer\",\"type\":\"long\"}]}");
    reg_add(&r, 201, LLMOPT_REC_REQUEST, newer);
    free(newer);
    llmopt_schema_source src = {&r, reg_lookup, NULL};
    llmopt_avro_codec *c = llmopt_avro_codec_new(&src, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    golden g[2];
    CU_ASSERT_EQUAL_FATAL(golden_load("request_full", &g[0]), 0);
    CU_ASSERT_EQUAL_FATAL(golden_load("request_edge", &g[1]), 0);
    llmopt_request got;
    llmopt_request_init(&got);
    for (int i = 0; i < 50; i++) {
        golden *x = &g[i % 2];
        uint8_t *m = malloc(x->wire_len + 1);
        memcpy(m, x->wire, x->wire_len);
        llmopt_avro_header_write(m, 201);
        m[x->wire_len] = 0x54; /* newer = 42 */
        llmopt_avro_reason why;
        char err[256] = "";
        CU_ASSERT_EQUAL(llmopt_avro_decode(c, m, x->wire_len + 1, LLMOPT_REC_REQUEST, &got, &why,
                                           err, sizeof(err)), LLMOPT_OK);
        any_rec want;
        llmopt_record_init(LLMOPT_REC_REQUEST, &want);
        json_to_fields(x->value, llmopt_record_desc_of(LLMOPT_REC_REQUEST), (char *)&want,
                       llmopt_record_arena(&want));
        if (!records_equal(LLMOPT_REC_REQUEST, &want, &got)) {
            fprintf(stderr, "fallback message %d: field '%s' differs (%s)\n", i, unequal_field,
                    err);
            CU_FAIL("fallback decode differs");
        }
        llmopt_record_release(LLMOPT_REC_REQUEST, &want);
        free(m);
    }
    llmopt_request_release(&got);
    golden_free(&g[0]);
    golden_free(&g[1]);
    llmopt_avro_codec_destroy(c);
    reg_free(&r);
}

/* ------------------------------------------------------------ encoder and wire */

static void test_encode_errors(void) {
    llmopt_request r;
    llmopt_request_init(&r);
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_wbuf_bytes(&w, "xy", 2);
    char err[256] = "";
    /* required strings still NULL */
    CU_ASSERT_EQUAL(llmopt_avro_encode(g_codec, LLMOPT_REC_REQUEST, &r, &w, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err, "Request: required string is null in field 'request_id'");
    CU_ASSERT_EQUAL(w.len, 2); /* restored */
    r.request_id = llmopt_str_of("id");
    r.gateway = r.route = r.task_type = r.arm = r.provider = r.model = llmopt_str_of("x");
    CU_ASSERT_EQUAL(llmopt_avro_encode(g_codec, LLMOPT_REC_REQUEST, &r, &w, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(w.len, 2 + 5 + 3 + 1 + 6 * 2 + 2 + 1 + 8 + 2 + 1 + 1 + 1);
    r.has_context = true;
    r.context.count = 3; /* but no items */
    CU_ASSERT_EQUAL(llmopt_avro_encode_body(LLMOPT_REC_REQUEST, &r, &w, NULL, 0), LLMOPT_ERR_INVALID);
    llmopt_response resp;
    llmopt_response_init(&resp);
    resp.request_id = resp.route = resp.arm = llmopt_str_of("x");
    resp.status = LLMOPT_STATUS_MISSING; /* not a Response symbol */
    CU_ASSERT_EQUAL(llmopt_avro_encode_body(LLMOPT_REC_RESPONSE, &resp, &w, NULL, 0),
                    LLMOPT_ERR_INVALID);
    resp.status = LLMOPT_STATUS_TIMEOUT;
    CU_ASSERT_EQUAL(llmopt_avro_encode_body(LLMOPT_REC_RESPONSE, &resp, &w, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_avro_encode_body(LLMOPT_REC_NONE, &resp, &w, NULL, 0), LLMOPT_ERR_INVALID);
    llmopt_wbuf_release(&w);
}

static void test_wire_varints(void) {
    static const struct {
        int64_t v;
        size_t n;
    } cases[] = {{0, 1}, {-1, 1}, {63, 1}, {-64, 1}, {64, 2}, {-65, 2}, {8191, 2}, {8192, 3},
                 {INT32_MAX, 5}, {INT32_MIN, 5}, {INT64_MAX, 10}, {INT64_MIN, 10}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[10];
        size_t n = llmopt_avro_write_long(b, cases[i].v);
        CU_ASSERT_EQUAL(n, cases[i].n);
        const uint8_t *p = b;
        int64_t back = 0;
        CU_ASSERT_EQUAL(llmopt_avro_read_long(&p, b + n, &back), 0);
        CU_ASSERT_EQUAL(back, cases[i].v);
        CU_ASSERT_PTR_EQUAL(p, b + n);
        p = b; /* one byte short */
        CU_ASSERT_EQUAL(llmopt_avro_read_long(&p, b + n - 1, &back), LLMOPT_AVRO_TRUNCATED);
        CU_ASSERT_PTR_EQUAL(p, b);
    }
    /* zigzag by hand: 1 -> 0x02, -1 -> 0x01, 64 -> 0x80 0x01 */
    uint8_t b[10];
    CU_ASSERT_EQUAL(llmopt_avro_write_long(b, 64), 2);
    CU_ASSERT(b[0] == 0x80 && b[1] == 0x01);
    /* non-minimal 0 is accepted */
    const uint8_t nm[] = {0x80, 0x80, 0x00};
    const uint8_t *p = nm;
    int64_t v = 5;
    CU_ASSERT_EQUAL(llmopt_avro_read_long(&p, nm + 3, &v), 0);
    CU_ASSERT_EQUAL(v, 0);
}

static void test_arena_reuse_and_records(void) {
    golden g;
    CU_ASSERT_EQUAL_FATAL(golden_load("request_full", &g), 0);
    llmopt_request r;
    llmopt_request_init(&r);
    const char *first = NULL;
    for (int i = 0; i < 100; i++) {
        CU_ASSERT_EQUAL(llmopt_avro_decode(g_codec, g.wire, g.wire_len, LLMOPT_REC_REQUEST, &r,
                                           NULL, NULL, 0), LLMOPT_OK);
        if (i == 1)
            first = r.request_id.ptr;
    }
    /* steady state: the same arena block is reused, no new allocation */
    CU_ASSERT_PTR_EQUAL(r.request_id.ptr, first);
    CU_ASSERT_STRING_EQUAL(r.request_id.ptr, "req-0001");
    CU_ASSERT_EQUAL(r.context.count, 3);
    CU_ASSERT_STRING_EQUAL(r.context.items[2].key.ptr, "hour");
    CU_ASSERT_EQUAL(r.context.items[2].value, -3.5);
    CU_ASSERT_STRING_EQUAL(r.user.ptr, "u-42");
    llmopt_request_release(&r);
    CU_ASSERT_PTR_NULL(r.request_id.ptr);
    golden_free(&g);

    /* names */
    CU_ASSERT_STRING_EQUAL(llmopt_status_name(LLMOPT_STATUS_RATE_LIMITED), "rate_limited");
    CU_ASSERT_EQUAL(llmopt_detector_from_name("page_hinkley", 12), LLMOPT_DETECTOR_PAGE_HINKLEY);
    CU_ASSERT_EQUAL(llmopt_detector_from_name("nope", 4), -1);
    CU_ASSERT_PTR_NULL(llmopt_status_name((llmopt_status)6));
    CU_ASSERT_EQUAL(llmopt_record_type_from_name("io.llmopt.WindowMetrics"),
                    LLMOPT_REC_WINDOW_METRICS);
    CU_ASSERT_EQUAL(llmopt_record_type_from_name("Nope"), LLMOPT_REC_NONE);
    CU_ASSERT_STRING_EQUAL(llmopt_avro_reason_name(LLMOPT_AVRO_TRAILING_BYTES), "trailing_bytes");
    for (int t = 1; t < LLMOPT_REC_COUNT; t++)
        CU_ASSERT_STRING_EQUAL(llmopt_record_desc_of((llmopt_record_type)t)->name,
                               llmopt_record_type_name((llmopt_record_type)t));
}

/* The compiled-in reader schemas equal the files in schemas/. */
static void test_schema_files_match(void) {
    for (size_t i = 0; i < g_reg.n; i++) {
        avro_schema_t a = NULL, b = NULL;
        const char *pcf = llmopt_avro_schema_pcf[g_reg.e[i].type];
        CU_ASSERT_EQUAL_FATAL(avro_schema_from_json_length(g_reg.e[i].json,
                                                           strlen(g_reg.e[i].json), &a), 0);
        CU_ASSERT_EQUAL_FATAL(avro_schema_from_json_length(pcf, strlen(pcf), &b), 0);
        CU_ASSERT(avro_schema_equal(a, b));
        CU_ASSERT_EQUAL(g_reg.e[i].id, (int32_t)g_reg.e[i].type); /* builtin source agrees */
        avro_schema_decref(a);
        avro_schema_decref(b);
    }
    llmopt_avro_codec *c = llmopt_avro_codec_new(llmopt_avro_builtin_source(), NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    golden g;
    CU_ASSERT_EQUAL_FATAL(golden_load("routing_decision_full", &g), 0);
    llmopt_routing_decision d;
    llmopt_routing_decision_init(&d);
    CU_ASSERT_EQUAL(llmopt_avro_decode(c, g.wire, g.wire_len, LLMOPT_REC_ROUTING_DECISION, &d, NULL,
                                       NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(d.arms.count, 3);
    CU_ASSERT_EQUAL(d.arms.items[1].state, LLMOPT_ARM_COOLDOWN);
    CU_ASSERT(d.has_contextual && d.contextual.arms.count == 2);
    CU_ASSERT_EQUAL(d.contextual.arms.items[1].a_inv.items[1], 0.125);
    CU_ASSERT(d.has_rate_limits && !d.rate_limits.has_per_tenant && d.rate_limits.has_per_user);
    CU_ASSERT_EQUAL(d.rate_limits.on_limit, LLMOPT_ON_LIMIT_QUEUE);
    CU_ASSERT_EQUAL(d.batching.token_budget, 16000);
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    CU_ASSERT_EQUAL(llmopt_avro_encode(c, LLMOPT_REC_ROUTING_DECISION, &d, &w, NULL, 0), LLMOPT_OK);
    CU_ASSERT(w.len == g.wire_len && memcmp(w.data, g.wire, w.len) == 0);
    llmopt_wbuf_release(&w);
    llmopt_routing_decision_release(&d);
    golden_free(&g);
    llmopt_avro_codec_destroy(c);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("codec_avro", suite_init, suite_clean);
    CU_add_test(s, "wire_varints", test_wire_varints);
    CU_add_test(s, "golden_fastavro", test_golden);
    CU_add_test(s, "avroc_cross_check", test_avroc_cross);
    CU_add_test(s, "random_roundtrip_avroc", test_random_roundtrip);
    CU_add_test(s, "malformed", test_malformed);
    CU_add_test(s, "writer_schemas", test_writer_schemas);
    CU_add_test(s, "fallback_maps", test_fallback_maps);
    CU_add_test(s, "encode_errors", test_encode_errors);
    CU_add_test(s, "arena_reuse_and_records", test_arena_reuse_and_records);
    CU_add_test(s, "schema_files_match", test_schema_files_match);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
