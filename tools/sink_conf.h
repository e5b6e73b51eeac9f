/*
 * sink_conf.h - the configuration of `llmopt sink`: one struct, one property
 * table (llmopt_sink_config_table, listed in docs/CONFIG.md).
 *
 * The struct embeds llmopt_common_conf first; bind llmopt_common_table at
 * offsetof(llmopt_sink_conf, common) and llmopt_sink_config_table at 0. Strings are
 * owned by the llmopt_config that filled the struct.
 *
 * Cross-key rules (finalize): the input topics (the outcomes topic only when
 * sink.outcomes is on) are distinct and differ from the DLQ topic; sink.name
 * is non-empty.
 */
#ifndef LLMOPT_SINK_CONF_H
#define LLMOPT_SINK_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "tools/sink_rows.h"

/* Wire format of an input topic: index into llmopt_sink_format_names. */
typedef enum llmopt_sink_format { LLMOPT_SINK_AVRO = 0, LLMOPT_SINK_JSON = 1 } llmopt_sink_format;
extern const char *const llmopt_sink_format_names[]; /* "avro", "json", NULL */

typedef struct llmopt_sink_conf {
    llmopt_common_conf common; /* always first */
    char *name;                /* key of llmopt.sink_offsets rows; one per sink */
    char *topic[LLMOPT_SINK_TABLE_COUNT];
    int format[LLMOPT_SINK_TABLE_COUNT];
    bool outcomes;             /* consume the outcomes topic at all */
    char *topic_dlq;
    int64_t batch_rows;        /* flush when this many rows are pending */
    int64_t batch_age_ms;      /* or when the oldest pending message is this old */
    int64_t retry_max_ms;      /* cap of the backoff between failed flushes */
    int64_t partition_past_days;   /* ensure_partitions only for days in */
    int64_t partition_future_days; /* [today - past, today + future] */
} llmopt_sink_conf;

extern const llmopt_config_table llmopt_sink_config_table;

#endif
