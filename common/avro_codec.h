/*
 * avro_codec.h - llmopt records (common/records.h) <-> Avro binary in the
 * Confluent wire format: byte 0 = magic 0, bytes 1..4 = schema id (big
 * endian), then the Avro binary body of the record.
 *
 * Decoder: hand-written, interprets the field tables of record_desc.h; it
 * does not use avro-c per message. avro-c is used once per schema id, to
 * parse the writer schema and compare it with ours.
 *
 * Writer schemas: a schema id resolves (through llmopt_schema_source) to the
 * writer schema's JSON, parsed once per id with avro-c (the verdict is
 * cached: registry ids are immutable). avro-c never reads message bodies.
 *  - Equal to our reader schema (avro_schema_equal: names, field names and
 *    order, types, symbols; docs, defaults and whitespace do not matter, i.e.
 *    equal Parsing Canonical Form): the decoder runs straight through.
 *  - Another version of the same io.llmopt record: field-level resolution
 *    by name at the top level. Writer fields we do not know are walked with
 *    full bounds checks and dropped; our fields the writer lacks must be
 *    optional and are left null; a shared field's type must equal ours, or
 *    be an enum whose symbols extend ours (a value past ours is
 *    invalid_enum). Nested records must match exactly. No type promotion.
 *    This covers the evolution rules of schemas/README.md in both deployment
 *    orders, at nearly fast-path speed.
 *  - Anything else (another record or namespace, a required field missing,
 *    a changed field type): LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA.
 *
 * Ownership: decoded strings, arrays and maps live in the record's arena
 * (copied out of the input, NUL-terminated), so the input buffer (e.g. the
 * Kafka message) may be freed right after decode. Decoding first clears the
 * record and reuses its arena memory: decode many messages into one record
 * and there is no malloc in steady state. After a failed decode the record
 * holds a partial result that is safe to release or decode into again.
 *
 * Bounds: every read is bounded by the input length; a length or count is
 * checked against the bytes left before anything is allocated, so hostile
 * input allocates at most a small multiple of its own size.
 *
 * Threads: the stateless functions (_body, names) may be called from any
 * thread. A llmopt_avro_codec caches schema verdicts without locks: one
 * thread at a time (one codec per consumer thread).
 */
#ifndef LLMOPT_AVRO_CODEC_H
#define LLMOPT_AVRO_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/records.h"
#include "processor/core/serial.h"

#define LLMOPT_AVRO_MAX_STRING (1u << 20) /* bytes per string */
#define LLMOPT_AVRO_MAX_ITEMS (1u << 20)  /* entries per array or map */
#define LLMOPT_AVRO_HEADER_SIZE 5

/* Why a decode failed: a stable name for each (llmopt_avro_reason_name) is
 * meant as the DLQ reason header. */
typedef enum llmopt_avro_reason {
    LLMOPT_AVRO_OK = 0,
    LLMOPT_AVRO_TRUNCATED = 1,          /* input ended inside a value/header */
    LLMOPT_AVRO_BAD_MAGIC = 2,          /* first byte is not 0 */
    LLMOPT_AVRO_UNKNOWN_SCHEMA_ID = 3,  /* registry does not know the id */
    LLMOPT_AVRO_WRONG_RECORD_TYPE = 4,  /* id is another record than asked */
    LLMOPT_AVRO_UNSUPPORTED_WRITER_SCHEMA = 5, /* not equal to our schema */
    LLMOPT_AVRO_BAD_VARINT = 6,         /* more than 10 bytes / overflow */
    LLMOPT_AVRO_INT_OUT_OF_RANGE = 7,   /* Avro int outside int32 */
    LLMOPT_AVRO_NEGATIVE_LENGTH = 8,    /* string or block byte size < 0 */
    LLMOPT_AVRO_STRING_TOO_LONG = 9,    /* > LLMOPT_AVRO_MAX_STRING */
    LLMOPT_AVRO_TOO_MANY_ITEMS = 10,    /* > LLMOPT_AVRO_MAX_ITEMS */
    LLMOPT_AVRO_INVALID_ENUM = 11,      /* enum index out of range */
    LLMOPT_AVRO_BAD_UNION_BRANCH = 12,  /* union index not 0 or 1 */
    LLMOPT_AVRO_BAD_BOOLEAN = 13,       /* boolean byte not 0 or 1 */
    LLMOPT_AVRO_TRAILING_BYTES = 14,    /* bytes left after the record */
    LLMOPT_AVRO_NOMEM = 15,
    LLMOPT_AVRO_REGISTRY_UNAVAILABLE = 16, /* lookup failed (I/O): retry,
                                            * do not dead-letter */
    LLMOPT_AVRO_BAD_WRITER_SCHEMA = 17, /* registry JSON unparsable */
} llmopt_avro_reason;
#define LLMOPT_AVRO_REASON_COUNT 18

/* "truncated", "bad_magic", "unknown_schema_id", ...; "?" when invalid. */
const char *llmopt_avro_reason_name(llmopt_avro_reason r);

/* Where schema ids come from (the registry client, or a table in tests).
 * lookup: the writer schema JSON of an id; *schema_json stays valid as long
 *   as ctx lives. Returns LLMOPT_ERR_UNKNOWN when the id does not exist
 *   (-> LLMOPT_AVRO_UNKNOWN_SCHEMA_ID), any other error when the answer is
 *   not known now (-> LLMOPT_AVRO_REGISTRY_UNAVAILABLE, nothing cached).
 * id_for: the schema id to write for a record type (encoding only; may be
 *   NULL for a decode-only codec).
 * The record type of an id is the writer schema's record name
 * (io.llmopt.<Name>). */
typedef struct llmopt_schema_source {
    void *ctx;
    llmopt_err_t (*lookup)(void *ctx, int32_t schema_id, const char **schema_json,
                           char *errstr, size_t errstr_size);
    llmopt_err_t (*id_for)(void *ctx, llmopt_record_type type, int32_t *schema_id,
                           char *errstr, size_t errstr_size);
} llmopt_schema_source;

/* Built-in source: schema id N <-> record type N (1 Request .. 7
 * RoutingDecision, as in schemas/registry.json) with the compiled-in schemas.
 * For tools, tests and benchmarks without a registry. */
const llmopt_schema_source *llmopt_avro_builtin_source(void);

/* Parsing Canonical Form of our (reader) schema of each type; generated from
 * schemas/ into avro_schemas.c. NULL for LLMOPT_REC_NONE. */
extern const char *const llmopt_avro_schema_pcf[LLMOPT_REC_COUNT];

typedef struct llmopt_avro_codec llmopt_avro_codec;

/* src is copied (its ctx is borrowed and must outlive the codec). Parses
 * the compiled-in reader schemas with avro-c; NULL (errstr) on failure. */
llmopt_avro_codec *llmopt_avro_codec_new(const llmopt_schema_source *src,
                                         char *errstr, size_t errstr_size);
void llmopt_avro_codec_destroy(llmopt_avro_codec *c);

/* Reads the header of a framed message and resolves its schema id to a
 * record type without decoding the body. schema_id_out may be NULL. */
llmopt_err_t llmopt_avro_peek(llmopt_avro_codec *c, const void *msg, size_t len,
                              llmopt_record_type *type_out, int32_t *schema_id_out,
                              llmopt_avro_reason *reason, char *errstr,
                              size_t errstr_size);

/* Decodes a framed message that must carry a record of `type` into rec (a
 * struct of that type, initialised). On failure returns LLMOPT_ERR_TRUNCATED
 * (truncated), LLMOPT_ERR_UNKNOWN (unknown schema id), LLMOPT_ERR_VERSION
 * (unsupported writer schema), LLMOPT_ERR_NOMEM, LLMOPT_ERR_IO (registry
 * unavailable) or LLMOPT_ERR_INVALID (every other reason); *reason (may be
 * NULL) tells exactly which, errstr adds the byte offset and field. */
llmopt_err_t llmopt_avro_decode(llmopt_avro_codec *c, const void *msg, size_t len,
                                llmopt_record_type type, void *rec,
                                llmopt_avro_reason *reason, char *errstr,
                                size_t errstr_size);

/* Appends the framed message (header with id_for(type), then body) to out.
 * LLMOPT_ERR_INVALID when a required string is NULL, an enum is out of range
 * or an array has count > 0 but no items; LLMOPT_ERR_RANGE when a string or
 * count exceeds the decoder's limits; LLMOPT_ERR_NOMEM; the source's error
 * when id_for fails. On failure out->len is restored. */
llmopt_err_t llmopt_avro_encode(llmopt_avro_codec *c, llmopt_record_type type,
                                const void *rec, llmopt_wbuf *out, char *errstr,
                                size_t errstr_size);

/* The same without framing: the Avro binary body alone (the whole input
 * must be one record: bytes left over are LLMOPT_AVRO_TRAILING_BYTES). */
llmopt_err_t llmopt_avro_decode_body(llmopt_record_type type, const void *body,
                                     size_t len, void *rec,
                                     llmopt_avro_reason *reason, char *errstr,
                                     size_t errstr_size);
/* The same decode through the table-driven decoder alone (Request and
 * Response otherwise take a schema-specialised path with identical
 * results); for tests and fuzzers that compare the two. */
llmopt_err_t llmopt_avro_decode_body_generic(llmopt_record_type type, const void *body,
                                             size_t len, void *rec,
                                             llmopt_avro_reason *reason, char *errstr,
                                             size_t errstr_size);
llmopt_err_t llmopt_avro_encode_body(llmopt_record_type type, const void *rec,
                                     llmopt_wbuf *out, char *errstr,
                                     size_t errstr_size);

/* Writes / reads the 5-byte Confluent header. read: TRUNCATED, BAD_MAGIC. */
void llmopt_avro_header_write(uint8_t dst[LLMOPT_AVRO_HEADER_SIZE], int32_t schema_id);
llmopt_avro_reason llmopt_avro_header_read(const void *msg, size_t len,
                                           int32_t *schema_id);

#endif
