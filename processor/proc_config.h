/*
 * proc_config.h - the configuration of llmopt-processor: one struct, one
 * property table (llmopt_processor_table, listed in docs/CONFIG.md), and the
 * translation of its engine keys into an llmopt_engine_config.
 *
 * The struct embeds llmopt_common_conf first; bind llmopt_common_table at
 * offsetof(llmopt_processor_conf, common) and llmopt_processor_table at 0.
 * Strings are owned by the llmopt_config that filled the struct.
 *
 * Cross-key rules (finalize): input topics must be three distinct names and
 * differ from every output topic; processor.windows must parse (see
 * llmopt_proc_windows_parse); the processor.drift.* / processor.anomaly.*
 * detector lists and processor.reward.routes must parse; the engine config
 * built from the keys must pass llmopt_engine_config_check.
 */
#ifndef LLMOPT_PROC_CONFIG_H
#define LLMOPT_PROC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "processor/engine.h"

/* Input topic index: also the merge tie-break order (a request before its
 * response before its feedback when their timestamps are equal). */
enum { LLMOPT_PROC_IN_REQUESTS = 0, LLMOPT_PROC_IN_RESPONSES, LLMOPT_PROC_IN_FEEDBACK,
       LLMOPT_PROC_IN_COUNT };
/* Output topic index. */
enum { LLMOPT_PROC_OUT_OUTCOMES = 0, LLMOPT_PROC_OUT_METRICS, LLMOPT_PROC_OUT_SIGNALS,
       LLMOPT_PROC_OUT_COUNT };

/* Wire format of a topic: index into llmopt_proc_format_names. */
typedef enum llmopt_proc_format { LLMOPT_PROC_AVRO = 0, LLMOPT_PROC_JSON = 1 } llmopt_proc_format;
extern const char *const llmopt_proc_format_names[]; /* "avro", "json", NULL */

#define LLMOPT_PROC_MAX_ROUTE_REWARDS 64
#define LLMOPT_PROC_MAX_ROUTE_LEN 127

typedef struct llmopt_processor_conf {
    llmopt_common_conf common; /* always first */
    char *group_id;
    char *instance_id;         /* NULL: the host name */
    char *transactional_id;    /* NULL: "<group_id>-<instance_id>" */
    char *topic_in[LLMOPT_PROC_IN_COUNT];
    int format_in[LLMOPT_PROC_IN_COUNT];
    char *topic_out[LLMOPT_PROC_OUT_COUNT];
    int format_out[LLMOPT_PROC_OUT_COUNT];
    char *topic_dlq;
    char *topic_state;
    int64_t commit_interval_ms;
    int64_t commit_max_messages;
    int64_t idle_timeout_ms;
    bool event_time_only;
    int64_t queue_max_messages;  /* buffered per input topic-partition before pausing it */
    int64_t threads;             /* merge threads (the calling one included); 0: one per CPU */
    int64_t chunk_bytes;         /* checkpoint chunk size on the changelog */
    int64_t txn_timeout_ms;      /* bound on one commit (retries included) */
    int64_t restore_timeout_ms;  /* bound on reading one checkpoint */
    /* engine */
    int64_t join_window_ms;
    int64_t feedback_window_ms;
    int64_t join_max_bytes;
    int64_t ooo_ms;
    int64_t grace_ms;
    int64_t max_future_ms;
    int64_t max_past_ms;
    char *windows;               /* "60s/60s,5m/1m": size/advance pairs */
    int64_t digest_compression;
    /* detectors: which watch which metric (lists such as "adwin,cusum") */
    char *drift_detectors[LLMOPT_DM_COUNT];
    char *anomaly_detectors[LLMOPT_AM_COUNT];
    double adwin_delta;
    double ph_delta, ph_threshold;
    int64_t ph_min_instances;
    double cusum_k, cusum_h, cusum_h_llr;
    double zscore_threshold, zscore_min_scale;
    double iqr_k, iqr_min_scale;
    double mad_threshold, mad_min_scale;
    /* reward: the default for every route */
    llmopt_reward_config reward;
    /* "ROUTE:FIELD=VALUE,FIELD=VALUE;ROUTE:..." parsed by finalize into
     * complete per-route configs (the default with the listed fields
     * replaced); the engine config points at them, so the struct must
     * outlive the engines built from it */
    char *reward_routes;
    size_t nroute_rewards;
    llmopt_engine_route_reward route_rewards[LLMOPT_PROC_MAX_ROUTE_REWARDS];
    char route_names[LLMOPT_PROC_MAX_ROUTE_REWARDS][LLMOPT_PROC_MAX_ROUTE_LEN + 1];
} llmopt_processor_conf;

extern const llmopt_config_table llmopt_processor_table;

/* Parses "SIZE/ADVANCE[,SIZE/ADVANCE...]" (durations as in config.h, e.g.
 * "1m/1m,5m/1m") into at most `max` window specs. LLMOPT_ERR_INVALID with a
 * message naming the bad part. */
llmopt_err_t llmopt_proc_windows_parse(const char *spec, llmopt_window_config *out, int max,
                                       int *n, char *errstr, size_t errstr_size);

/* A detector list ("adwin,page_hinkley,cusum"; "" or "none": no detector)
 * into LLMOPT_DET_* bits; INVALID naming `key` for a name outside
 * `allowed`. */
llmopt_err_t llmopt_proc_detectors_parse(const char *key, const char *list, unsigned allowed,
                                         unsigned *mask, char *errstr, size_t errstr_size);
extern const char *const llmopt_proc_drift_keys[LLMOPT_DM_COUNT];
extern const char *const llmopt_proc_anomaly_keys[LLMOPT_AM_COUNT];

/* The engine configuration the keys describe (defaults for everything the
 * table does not expose), then checked with
 * llmopt_engine_config_check. Defined in proc_engine_conf.c, which links the
 * engine: proc_config.c itself depends on libllmopt only, as the `llmopt
 * config-doc` tool compiles it. */
llmopt_err_t llmopt_proc_engine_config(const llmopt_processor_conf *pc, llmopt_engine_config *ec,
                                       char *errstr, size_t errstr_size);

#endif
