/*
 * sink_rows.h - llmopt records -> rows of the llmopt.* tables in a COPY
 * format, plus the key that identifies each row (for deduplicating a batch
 * before INSERT .. SELECT .. ON CONFLICT, which refuses a statement that
 * hits one key twice).
 *
 * Format per table (llmopt_sink_table_desc.binary): outcomes, the
 * high-volume table, uses COPY's binary format (no text to parse on either
 * side: timestamps as int64 microseconds since 2000-01-01, doubles as their
 * bits, jsonb as version byte 1 + JSON text); the other three use the text
 * format (window_metrics' tdigest columns arrive as tdigest text, and the
 * tables are small). A binary COPY stream is llmopt_sink_copy_binary_header,
 * the rows, then llmopt_sink_copy_binary_trailer.
 *
 * Pure: no I/O, no clock, no global state; any thread.
 *
 * Mapping (sql/README.md): epoch milliseconds become timestamptz (text: UTC
 * with millisecond precision "2026-11-29 02:45:21.123+00"); enums their
 * Avro symbol; optional fields \N when absent; Outcome.context a JSON object
 * (non-finite values as null); RoutingDecision.signal_ids a text[] literal and
 * the whole decision, as JSON with the Avro field names, in payload. Doubles
 * print with "%.17g" (NaN, Infinity, -Infinity as Postgres spells them), so
 * values land bit for bit.
 *
 * Refused here, before Postgres sees them (LLMOPT_ERR_INVALID, errstr names
 * the field; the sink dead-letters the message with reason "bad_value"):
 * a timestamp outside years 1..9999, a string holding a NUL byte (Postgres
 * text cannot), a required string that is absent, in binary rows a
 * smallint (thumbs) out of range, and a RoutingDecision the
 * JSON encoder refuses (e.g. invalid UTF-8). Everything else is for
 * Postgres to judge (CHECK constraints, tdigest text, UTF-8 of other strings).
 */
#ifndef LLMOPT_SINK_ROWS_H
#define LLMOPT_SINK_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/json_codec.h"
#include "common/records.h"
#include "processor/core/serial.h"

/* The tables the sink writes; also the index of its input topics. */
typedef enum llmopt_sink_table {
    LLMOPT_SINK_METRICS = 0, /* llm.metrics  -> llmopt.window_metrics */
    LLMOPT_SINK_SIGNALS,     /* llm.signals  -> llmopt.signals */
    LLMOPT_SINK_ROUTING,     /* llm.routing  -> llmopt.routing_decisions */
    LLMOPT_SINK_OUTCOMES,    /* llm.outcomes -> llmopt.outcomes */
    LLMOPT_SINK_TABLE_COUNT
} llmopt_sink_table;

typedef struct llmopt_sink_table_desc {
    const char *table;         /* "window_metrics" (schema llmopt) */
    const char *columns;       /* comma-separated, in row order */
    const char *conflict;      /* the primary key columns, for ON CONFLICT */
    llmopt_record_type record; /* what the topic carries */
    const char *short_name;    /* "metrics": config keys sink.topic.<short_name> */
    bool binary;               /* rows in COPY binary format, else text */
} llmopt_sink_table_desc;

#define LLMOPT_SINK_COPY_BINARY_HEADER_LEN 19
extern const unsigned char llmopt_sink_copy_binary_header[LLMOPT_SINK_COPY_BINARY_HEADER_LEN];
extern const unsigned char llmopt_sink_copy_binary_trailer[2];

/* Descriptor of t; t must be valid. */
const llmopt_sink_table_desc *llmopt_sink_table_get(llmopt_sink_table t);

/* Appends one COPY row (text: a line ending in '\n'; binary: a tuple) for
 * rec, a record of
 * llmopt_sink_table_get(t)->record, to row, and replaces key's contents with
 * the row's primary key (bytes, not NUL-terminated; equal keys <=> equal
 * primary keys). scratch is a reusable buffer for the payload JSON. On
 * failure row->len and key are restored / emptied and the reason is in
 * errstr: LLMOPT_ERR_INVALID (see above) or LLMOPT_ERR_NOMEM. */
llmopt_err_t llmopt_sink_row_encode(llmopt_sink_table t, const void *rec, llmopt_wbuf *row,
                                    llmopt_wbuf *key, llmopt_json_buf *scratch, char *errstr,
                                    size_t errstr_size);

/* UTC day of an epoch-ms time, as days since 1970-01-01 (floor). */
int64_t llmopt_sink_day_of_ms(int64_t ts_ms);

/* The event-time column value of rec in ms (outcomes/signals ts,
 * window_metrics window_start, routing_decisions ts): the day partition the
 * row lands in. */
int64_t llmopt_sink_row_time_ms(llmopt_sink_table t, const void *rec);

/* Formats ts_ms as "YYYY-MM-DD HH:MM:SS.mmm+00" into out (>= 32 bytes).
 * LLMOPT_ERR_RANGE outside years 1..9999. */
llmopt_err_t llmopt_sink_format_ts(int64_t ts_ms, char *out, size_t out_size);

#endif
