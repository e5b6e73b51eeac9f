/*
 * record_desc.h - field descriptors of the records in records.h: for each
 * record, its fields in schema order with type, presence and struct offset.
 * The Avro codec interprets these tables (one tight loop instead of seven
 * hand-unrolled decoders), and any other codec (JSON) may walk them too.
 *
 * Invariants: fields[] is in the order of the Avro schema (schemas/<record>.avsc);
 * `off` is the offset of the value, `has_off` of its `bool has_X` for an
 * optional non-string field (0 otherwise: an optional string is absent when
 * its ptr is NULL). Tables are static constants: thread-safe, never freed.
 */
#ifndef LLMOPT_RECORD_DESC_H
#define LLMOPT_RECORD_DESC_H

#include <stddef.h>
#include <stdint.h>

#include "common/records.h"

typedef enum llmopt_ftype {
    LLMOPT_FT_STRING,       /* llmopt_str */
    LLMOPT_FT_LONG,         /* int64_t */
    LLMOPT_FT_INT,          /* int32_t */
    LLMOPT_FT_DOUBLE,       /* double */
    LLMOPT_FT_BOOL,         /* bool */
    LLMOPT_FT_ENUM,         /* C enum (int-sized), value < nsymbols */
    LLMOPT_FT_MAP_DOUBLE,   /* llmopt_map_double */
    LLMOPT_FT_ARRAY_STRING, /* llmopt_str_array */
    LLMOPT_FT_ARRAY_DOUBLE, /* llmopt_double_array */
    LLMOPT_FT_ARRAY_RECORD, /* struct { T *items; size_t count; }, T = sub */
    LLMOPT_FT_RECORD,       /* embedded struct described by sub */
} llmopt_ftype;

typedef struct llmopt_record_desc llmopt_record_desc;

typedef struct llmopt_field_desc {
    const char *name;
    uint8_t type;              /* llmopt_ftype */
    uint8_t optional;          /* Avro ["null", T] */
    uint16_t nsymbols;         /* ENUM: symbol count */
    uint32_t off;
    uint32_t has_off;
    const llmopt_record_desc *sub;   /* RECORD, ARRAY_RECORD */
    const char *const *symbols;      /* ENUM: Avro symbols by index */
} llmopt_field_desc;

struct llmopt_record_desc {
    const char *name;          /* Avro record name without namespace */
    size_t size;               /* sizeof the C struct */
    size_t nfields;
    const llmopt_field_desc *fields;
};

/* Descriptor of a top-level record; NULL for an invalid type. */
const llmopt_record_desc *llmopt_record_desc_of(llmopt_record_type type);

/* Enum symbol tables (defined in records.c). */
extern const char *const llmopt_status_names[6];
extern const char *const llmopt_window_kind_names[2];
extern const char *const llmopt_signal_kind_names[2];
extern const char *const llmopt_detector_names[6];
extern const char *const llmopt_direction_names[2];
extern const char *const llmopt_arm_state_names[4];
extern const char *const llmopt_on_limit_names[3];

#endif
