/*
 * json_codec.h - JSON encoding and decoding of the llmopt records
 * (common/records.h), the second accepted wire format next to Avro.
 *
 * Mapping (the same field names as the Avro schemas in schemas/):
 *   string  -> JSON string (UTF-8; NUL bytes travel as \u0000)
 *   long    -> JSON integer, exact over the whole int64 range (no doubles)
 *   int     -> JSON integer in [INT32_MIN, INT32_MAX]
 *   double  -> JSON number; an integer literal is accepted on decode. The
 *              non-finite values, which JSON cannot spell, are the strings
 *              "NaN", "Infinity", "-Infinity" (as in the proto3 JSON mapping)
 *   boolean -> true / false
 *   enum    -> its Avro symbol as a string ("rate_limited")
 *   map     -> JSON object; array -> JSON array; record -> JSON object
 *   union {null, T} (optional) -> the plain value of T (no Avro-JSON union
 *              wrapper); absent and null both mean "not set"
 *
 * Decoding: the whole input must be one JSON object (duplicate keys are
 * malformed); members the schema does not know are ignored so that readers
 * survive writers that appended new optional fields. The record is cleared
 * first (llmopt_record_clear keeps its arena) and every string, array and map
 * is copied into the record's arena: nothing points into the input. On
 * failure the record holds partial data: clear or release it, do not use it.
 *
 * Encoding is deterministic: members in schema field order, compact (no
 * whitespace), absent optionals written as null, doubles in the shortest of
 * %.15g/%.16g/%.17g that reads back exactly (always with a '.' or exponent),
 * so equal records give equal bytes. Output is NUL-terminated.
 *
 * Not locale-safe: assumes the "C" LC_NUMERIC (llmopt never calls setlocale).
 * Thread-safe: no global state.
 */
#ifndef LLMOPT_JSON_CODEC_H
#define LLMOPT_JSON_CODEC_H

#include <stddef.h>

#include "common/err.h"
#include "common/records.h"

/* Why a decode failed; the names are meant as DLQ reasons. */
typedef enum llmopt_json_reason {
    LLMOPT_JSON_OK = 0,
    LLMOPT_JSON_MALFORMED = 1,     /* not JSON (line, column set) -> ERR_INVALID */
    LLMOPT_JSON_MISSING_FIELD = 2, /* required field absent -> ERR_INVALID */
    LLMOPT_JSON_WRONG_TYPE = 3,    /* field (or the record) of the wrong JSON
                                      type, or null where required -> ERR_INVALID */
    LLMOPT_JSON_UNKNOWN_ENUM = 4,  /* not a symbol of the enum -> ERR_UNKNOWN */
    LLMOPT_JSON_OUT_OF_RANGE = 5,  /* integer beyond int32/int64 -> ERR_RANGE */
    LLMOPT_JSON_NOMEM = 6,         /* -> ERR_NOMEM */
} llmopt_json_reason;

typedef struct llmopt_json_error {
    llmopt_json_reason reason;
    int line;       /* 1-based, MALFORMED and parser-detected OUT_OF_RANGE */
    int column;     /* 1-based, idem; 0 otherwise */
    /* path of the offending field: "status", "arms[2].state",
     * "rate_limits.global.tokens_burst"; "" for the record itself */
    char field[128];
} llmopt_json_error;

/* "malformed_json", "missing_field", "wrong_type", "unknown_enum",
 * "out_of_range", "out_of_memory"; "ok" for LLMOPT_JSON_OK. */
const char *llmopt_json_reason_name(llmopt_json_reason reason);

/* Decodes data[0..len) into rec, which must point to the struct of type and
 * have been initialised (llmopt_record_init or zeroed). data need not be
 * NUL-terminated. jerr and errstr may be NULL. */
llmopt_err_t llmopt_json_decode(llmopt_record_type type, const char *data,
                                size_t len, void *rec, llmopt_json_error *jerr,
                                char *errstr, size_t errstr_size);

/* A growable output buffer, reused across encodes to avoid malloc. */
typedef struct llmopt_json_buf {
    char *data; /* NUL-terminated after a successful encode; owned */
    size_t len; /* bytes, excluding the NUL */
    size_t cap;
} llmopt_json_buf;

void llmopt_json_buf_init(llmopt_json_buf *b);
void llmopt_json_buf_release(llmopt_json_buf *b);

/* Encodes rec (of type) into out, replacing its contents. Fails with
 * LLMOPT_ERR_INVALID (errstr names the field) when a required string is
 * absent (ptr NULL), a string is not valid UTF-8, an enum value has no
 * symbol, or a map holds the same key twice; LLMOPT_ERR_NOMEM. On failure
 * out->len is 0. */
llmopt_err_t llmopt_json_encode(llmopt_record_type type, const void *rec,
                                llmopt_json_buf *out, char *errstr,
                                size_t errstr_size);

#endif
