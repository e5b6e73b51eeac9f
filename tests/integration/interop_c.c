/*
 * interop_c.c - the C half of the codec interop test (tests/integration/
 * interop.py drives it against the real broker).
 *
 *   interop_c consume BOOTSTRAP REGISTRY_JSON EXPECTED_JSONL AVRO_TOPIC JSON_TOPIC
 *       Reads every message of both topics (from the beginning, by
 *       assignment), decodes Avro (Confluent framing, schema id resolved
 *       through common/registry from the local registry file) and JSON with
 *       the C codecs, and checks every field of every record against the
 *       expected records written by the Python side, field by field with
 *       jansson over the record_desc tables (not through the JSON decoder).
 *       Each expected record must arrive exactly once per format.
 *   interop_c produce BOOTSTRAP REGISTRY_JSON INPUT_JSONL AVRO_TOPIC JSON_TOPIC
 *       Encodes every record of INPUT_JSONL with the C Avro and JSON encoders
 *       and produces it (key = route, header llmopt-record = record name).
 *
 * JSONL lines: {"type": "Request", "record": {...}}; records are keyed by
 * (type, request_id). Exit status 0 only when everything matched.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/avro_codec.h"
#include "common/json_codec.h"
#include "common/record_desc.h"
#include "common/registry.h"

#define HDR_RECORD "llmopt-record"
#define MAX_ERRORS 20

static int n_errors;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...) {
    if (++n_errors <= MAX_ERRORS) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
}

typedef union any_record {
    llmopt_request a;
    llmopt_response b;
    llmopt_feedback c;
} any_record;

typedef struct expected {
    llmopt_record_type type;
    char *request_id;
    json_t *line; /* the whole line; "record" inside */
    int seen[2];  /* per format: 0 avro, 1 json */
} expected;

typedef struct expected_set {
    expected *items;
    size_t count;
} expected_set;

static int load_jsonl(const char *path, expected_set *set) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open '%s'\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &je);
        const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;
        json_t *rec = j ? json_object_get(j, "record") : NULL;
        const char *rid = rec ? json_string_value(json_object_get(rec, "request_id")) : NULL;
        if (!type || !rid || llmopt_record_type_from_name(type) == LLMOPT_REC_NONE) {
            fprintf(stderr, "%s:%d: bad line\n", path, lineno);
            json_decref(j);
            free(line);
            fclose(f);
            return -1;
        }
        set->items = realloc(set->items, (set->count + 1) * sizeof(expected));
        expected *e = &set->items[set->count++];
        memset(e, 0, sizeof(*e));
        e->type = llmopt_record_type_from_name(type);
        e->request_id = strdup(rid);
        e->line = j;
    }
    free(line);
    fclose(f);
    return 0;
}

static expected *find_expected(expected_set *set, llmopt_record_type type, const char *rid,
                               size_t rid_len) {
    for (size_t i = 0; i < set->count; i++)
        if (set->items[i].type == type && strlen(set->items[i].request_id) == rid_len &&
            memcmp(set->items[i].request_id, rid, rid_len) == 0)
            return &set->items[i];
    return NULL;
}

/* ---- field-by-field comparison --------------------------------------------- */

static int same_double(double got, json_t *want) {
    double w;
    if (json_is_real(want))
        w = json_real_value(want);
    else if (json_is_integer(want))
        w = (double)json_integer_value(want);
    else
        return 0;
    return got == w && signbit(got) == signbit(w);
}

static int same_str(const llmopt_str *got, json_t *want) {
    return json_is_string(want) && got->ptr && got->len == json_string_length(want) &&
           memcmp(got->ptr, json_string_value(want), got->len) == 0;
}

static void cmp_record(const char *where, const llmopt_record_desc *d, const void *base,
                       json_t *want, const char *path);

static void cmp_field(const char *where, const llmopt_field_desc *f, const void *base,
                      json_t *w, const char *path) {
    const char *p = (const char *)base + f->off;
    int absent_wanted = !w || json_is_null(w);
    int present = 1;
    if (f->optional) {
        if (f->type == LLMOPT_FT_STRING)
            present = ((const llmopt_str *)p)->ptr != NULL;
        else
            present = *(const bool *)((const char *)base + f->has_off);
    }
    if (absent_wanted || !present) {
        if (absent_wanted != !present || (!f->optional && absent_wanted))
            report("%s: field '%s': presence differs (want %s)", where, path,
                   absent_wanted ? "absent" : "present");
        return;
    }
    int ok = 1;
    switch ((llmopt_ftype)f->type) {
    case LLMOPT_FT_STRING: ok = same_str((const llmopt_str *)p, w); break;
    case LLMOPT_FT_LONG:
        ok = json_is_integer(w) && json_integer_value(w) == *(const int64_t *)p;
        break;
    case LLMOPT_FT_INT:
        ok = json_is_integer(w) && json_integer_value(w) == *(const int32_t *)p;
        break;
    case LLMOPT_FT_DOUBLE: ok = same_double(*(const double *)p, w); break;
    case LLMOPT_FT_BOOL: ok = json_is_boolean(w) && json_is_true(w) == *(const bool *)p; break;
    case LLMOPT_FT_ENUM: {
        int v = *(const int *)p;
        ok = v >= 0 && v < f->nsymbols && json_is_string(w) &&
             strcmp(json_string_value(w), f->symbols[v]) == 0;
        break;
    }
    case LLMOPT_FT_MAP_DOUBLE: {
        const llmopt_map_double *m = (const llmopt_map_double *)p;
        ok = json_is_object(w) && json_object_size(w) == m->count;
        size_t i = 0;
        /* both sides keep the writer's order */
        for (void *it = ok ? json_object_iter(w) : NULL; it && ok;
             it = json_object_iter_next(w, it), i++) {
            const char *k = json_object_iter_key(it);
            size_t kl = json_object_iter_key_len(it);
            ok = m->items[i].key.len == kl && memcmp(m->items[i].key.ptr, k, kl) == 0 &&
                 same_double(m->items[i].value, json_object_iter_value(it));
        }
        break;
    }
    case LLMOPT_FT_ARRAY_STRING:
    case LLMOPT_FT_ARRAY_DOUBLE:
    case LLMOPT_FT_ARRAY_RECORD:
    case LLMOPT_FT_RECORD:
        /* not in the telemetry records this test carries */
        report("%s: field '%s': kind not compared", where, path);
        return;
    }
    if (!ok) {
        char *ws = json_dumps(w, JSON_ENCODE_ANY);
        report("%s: field '%s' differs (want %s)", where, path, ws ? ws : "?");
        free(ws);
    }
}

static void cmp_record(const char *where, const llmopt_record_desc *d, const void *base,
                       json_t *want, const char *path) {
    for (size_t i = 0; i < d->nfields; i++) {
        char sub[160];
        snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", d->fields[i].name);
        cmp_field(where, &d->fields[i], base, json_object_get(want, d->fields[i].name),
                  sub);
    }
    /* the expected record must not carry fields we do not know */
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v) {
        int known = 0;
        for (size_t i = 0; i < d->nfields; i++)
            known |= strcmp(d->fields[i].name, k) == 0;
        if (!known)
            report("%s: expected field '%s' unknown to the C tables", where, k);
    }
}

/* ---- Kafka helpers ------------------------------------------------------------ */

static rd_kafka_t *make_client(rd_kafka_type_t type, const char *bootstrap) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) ||
        (type == RD_KAFKA_CONSUMER &&
         (rd_kafka_conf_set(conf, "group.id", "llmopt-interop-c", err, sizeof(err)) ||
          rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
          rd_kafka_conf_set(conf, "fetch.wait.max.ms", "50", err, sizeof(err)))) ||
        (type == RD_KAFKA_PRODUCER &&
         rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)))) {
        fprintf(stderr, "kafka conf: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (!rk)
        fprintf(stderr, "rd_kafka_new: %s\n", err);
    return rk;
}

/* every partition of the topics, from the beginning */
static int assign_all(rd_kafka_t *rk, const char *const *topics, int n) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
    for (int t = 0; t < n; t++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topics[t], NULL);
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        rd_kafka_topic_destroy(rkt);
        if (e || md->topic_cnt != 1 || md->topics[0].err) {
            fprintf(stderr, "metadata for '%s': %s\n", topics[t],
                    rd_kafka_err2str(e ? e : md->topics[0].err));
            if (md)
                rd_kafka_metadata_destroy(md);
            rd_kafka_topic_partition_list_destroy(parts);
            return -1;
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, topics[t], p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        fprintf(stderr, "assign: %s\n", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static llmopt_record_type header_type(rd_kafka_message_t *m) {
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t n;
    char name[64];
    if (rd_kafka_message_headers(m, &h) ||
        rd_kafka_header_get_last(h, HDR_RECORD, &v, &n) || n >= sizeof(name))
        return LLMOPT_REC_NONE;
    memcpy(name, v, n);
    name[n] = '\0';
    return llmopt_record_type_from_name(name);
}

static const llmopt_str *request_id_of(llmopt_record_type t, any_record *r) {
    switch (t) {
    case LLMOPT_REC_REQUEST: return &r->a.request_id;
    case LLMOPT_REC_RESPONSE: return &r->b.request_id;
    case LLMOPT_REC_FEEDBACK: return &r->c.request_id;
    default: return NULL;
    }
}

/* ---- modes ------------------------------------------------------------------ */

static int consume(const char *bootstrap, llmopt_registry *reg, expected_set *set,
                   const char *avro_topic, const char *json_topic) {
    llmopt_schema_source src;
    llmopt_registry_schema_source(reg, &src);
    char err[512];
    llmopt_avro_codec *codec = llmopt_avro_codec_new(&src, err, sizeof(err));
    if (!codec) {
        fprintf(stderr, "avro codec: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = make_client(RD_KAFKA_CONSUMER, bootstrap);
    const char *topics[2] = {avro_topic, json_topic};
    if (!rk || assign_all(rk, topics, 2) != 0) {
        llmopt_avro_codec_destroy(codec);
        if (rk)
            rd_kafka_destroy(rk);
        return 1;
    }
    size_t want = set->count * 2, got = 0, decode_fail = 0;
    any_record rec;
    memset(&rec, 0, sizeof(rec));
    time_t deadline = time(NULL) + 90;
    while (got < want && time(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                report("consume error: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int fmt = strcmp(rd_kafka_topic_name(m->rkt), json_topic) == 0;
        char where[128];
        snprintf(where, sizeof(where), "%s %s[%" PRId32 "]@%" PRId64, fmt ? "json" : "avro",
                 rd_kafka_topic_name(m->rkt), m->partition, m->offset);
        llmopt_record_type type = header_type(m);
        llmopt_err_t e;
        if (fmt) {
            llmopt_json_error je;
            if (type == LLMOPT_REC_NONE) {
                report("%s: no %s header", where, HDR_RECORD);
                rd_kafka_message_destroy(m);
                got++;
                continue;
            }
            e = llmopt_json_decode(type, m->payload, m->len, &rec, &je, err, sizeof(err));
        } else {
            llmopt_avro_reason why;
            llmopt_record_type peeked = LLMOPT_REC_NONE;
            e = llmopt_avro_peek(codec, m->payload, m->len, &peeked, NULL, &why, err,
                                 sizeof(err));
            if (e == LLMOPT_OK && peeked != type)
                report("%s: schema id names another record than the header", where);
            if (e == LLMOPT_OK)
                e = llmopt_avro_decode(codec, m->payload, m->len, peeked, &rec, &why, err,
                                       sizeof(err));
            type = peeked;
        }
        got++;
        if (e != LLMOPT_OK) {
            decode_fail++;
            report("%s: decode failed: %s", where, err);
            rd_kafka_message_destroy(m);
            continue;
        }
        const llmopt_str *rid = request_id_of(type, &rec);
        expected *x = rid ? find_expected(set, type, rid->ptr, rid->len) : NULL;
        if (!x) {
            report("%s: unexpected record '%.*s'", where, rid ? (int)rid->len : 0,
                   rid ? rid->ptr : "");
        } else {
            if (x->seen[fmt]++)
                report("%s: duplicate record '%s'", where, x->request_id);
            cmp_record(where, llmopt_record_desc_of(type), &rec,
                       json_object_get(x->line, "record"), "");
        }
        rd_kafka_message_destroy(m);
    }
    size_t missing = 0;
    for (size_t i = 0; i < set->count; i++)
        for (int fmt = 0; fmt < 2; fmt++)
            if (!set->items[i].seen[fmt]) {
                missing++;
                report("missing %s record %s '%s'", fmt ? "json" : "avro",
                       llmopt_record_type_name(set->items[i].type),
                       set->items[i].request_id);
            }
    printf("interop_c consume: %zu messages, %zu expected, %zu decode failures, "
           "%zu missing, %d mismatches reported\n",
           got, want, decode_fail, missing, n_errors);
    /* the union holds one record; release with the widest arena owner */
    llmopt_arena_release(llmopt_record_arena(&rec));
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    llmopt_avro_codec_destroy(codec);
    return n_errors ? 1 : 0;
}

static void produce_one(rd_kafka_t *rk, const char *topic, const llmopt_str *key,
                        const char *type_name, const void *val, size_t len) {
    rd_kafka_resp_err_t e;
    do {
        e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_KEY(key->ptr, key->len),
                              RD_KAFKA_V_VALUE((void *)val, len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADER(HDR_RECORD, type_name, -1),
                              RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 100);
    } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    if (e)
        report("produce to '%s': %s", topic, rd_kafka_err2str(e));
}

static const llmopt_str *route_of(llmopt_record_type t, any_record *r) {
    switch (t) {
    case LLMOPT_REC_REQUEST: return &r->a.route;
    case LLMOPT_REC_RESPONSE: return &r->b.route;
    case LLMOPT_REC_FEEDBACK: return &r->c.route;
    default: return NULL;
    }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    if (m->err)
        report("delivery failed: %s", rd_kafka_err2str(m->err));
}

static int produce(const char *bootstrap, llmopt_registry *reg, expected_set *set,
                   const char *avro_topic, const char *json_topic) {
    llmopt_schema_source src;
    llmopt_registry_schema_source(reg, &src);
    char err[512];
    llmopt_avro_codec *codec = llmopt_avro_codec_new(&src, err, sizeof(err));
    if (!codec) {
        fprintf(stderr, "avro codec: %s\n", err);
        return 1;
    }
    char errs[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errs, sizeof(errs));
    rd_kafka_conf_set(conf, "enable.idempotence", "true", errs, sizeof(errs));
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errs, sizeof(errs));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", errs);
        llmopt_avro_codec_destroy(codec);
        return 1;
    }
    any_record rec;
    memset(&rec, 0, sizeof(rec));
    llmopt_json_buf jb;
    llmopt_json_buf_init(&jb);
    llmopt_wbuf wb;
    llmopt_wbuf_init(&wb);
    size_t produced = 0;
    for (size_t i = 0; i < set->count; i++) {
        expected *x = &set->items[i];
        char *text = json_dumps(json_object_get(x->line, "record"), JSON_COMPACT);
        llmopt_json_error je;
        if (!text || llmopt_json_decode(x->type, text, strlen(text), &rec, &je, err,
                                        sizeof(err)) != LLMOPT_OK) {
            report("input record '%s': %s", x->request_id, err);
            free(text);
            continue;
        }
        free(text);
        const char *tname = llmopt_record_type_name(x->type);
        wb.len = 0;
        if (llmopt_avro_encode(codec, x->type, &rec, &wb, err, sizeof(err)) != LLMOPT_OK)
            report("avro encode '%s': %s", x->request_id, err);
        else
            produce_one(rk, avro_topic, route_of(x->type, &rec), tname, wb.data, wb.len);
        if (llmopt_json_encode(x->type, &rec, &jb, err, sizeof(err)) != LLMOPT_OK)
            report("json encode '%s': %s", x->request_id, err);
        else
            produce_one(rk, json_topic, route_of(x->type, &rec), tname, jb.data, jb.len);
        produced += 2;
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        report("flush timed out");
    printf("interop_c produce: %zu messages, %d errors\n", produced, n_errors);
    llmopt_json_buf_release(&jb);
    llmopt_wbuf_release(&wb);
    llmopt_arena_release(llmopt_record_arena(&rec));
    rd_kafka_destroy(rk);
    llmopt_avro_codec_destroy(codec);
    return n_errors ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc != 7 || (strcmp(argv[1], "consume") && strcmp(argv[1], "produce"))) {
        fprintf(stderr, "usage: %s consume|produce BOOTSTRAP REGISTRY_JSON JSONL "
                        "AVRO_TOPIC JSON_TOPIC\n",
                argv[0]);
        return 2;
    }
    char err[512];
    llmopt_registry_conf rc = {.local_path = argv[3]};
    llmopt_registry *reg = llmopt_registry_new(&rc, err, sizeof(err));
    if (!reg) {
        fprintf(stderr, "registry: %s\n", err);
        return 1;
    }
    expected_set set = {0};
    int rc_main = 1;
    if (load_jsonl(argv[4], &set) == 0 && set.count > 0) {
        if (strcmp(argv[1], "consume") == 0)
            rc_main = consume(argv[2], reg, &set, argv[5], argv[6]);
        else
            rc_main = produce(argv[2], reg, &set, argv[5], argv[6]);
    }
    for (size_t i = 0; i < set.count; i++) {
        free(set.items[i].request_id);
        json_decref(set.items[i].line);
    }
    free(set.items);
    llmopt_registry_destroy(reg);
    return rc_main;
}
