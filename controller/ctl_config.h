/*
 * ctl_config.h - the configuration of llmopt-controller: one struct, one
 * property table (llmopt_controller_table, listed in docs/CONFIG.md).
 *
 * The struct embeds llmopt_common_conf first; bind llmopt_common_table at
 * offsetof(llmopt_controller_conf, common) and llmopt_controller_table at 0.
 * Strings are owned by the llmopt_config that filled the struct.
 *
 * Cross-key rules (finalize): the three input topics and the routing topic
 * are distinct non-empty names; a policy file is given; pg.dsn is checked
 * by the daemon (the common table owns it).
 */
#ifndef LLMOPT_CTL_CONFIG_H
#define LLMOPT_CTL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

enum { LLMOPT_CTL_IN_OUTCOMES = 0, LLMOPT_CTL_IN_METRICS, LLMOPT_CTL_IN_SIGNALS,
       LLMOPT_CTL_IN_COUNT };

/* Wire format of the published decisions: index into llmopt_ctl_format_names. */
typedef enum llmopt_ctl_format { LLMOPT_CTL_AVRO = 0, LLMOPT_CTL_JSON = 1 } llmopt_ctl_format;
extern const char *const llmopt_ctl_format_names[]; /* "avro", "json", NULL */

/* Where a leader with no stored offsets starts reading its inputs. */
typedef enum llmopt_ctl_start { LLMOPT_CTL_START_LATEST = 0, LLMOPT_CTL_START_EARLIEST = 1 }
    llmopt_ctl_start;
extern const char *const llmopt_ctl_start_names[]; /* "latest", "earliest", NULL */

typedef struct llmopt_controller_conf {
    llmopt_common_conf common; /* always first */
    char *policy_file;
    char *models_file;         /* NULL: no registry (neutral priors) */
    char *instance_id;         /* NULL: host name + pid */
    char *topic_in[LLMOPT_CTL_IN_COUNT];
    char *topic_routing;
    int routing_format;        /* llmopt_ctl_format */
    int start_from;            /* llmopt_ctl_start */
    char *lock_name;           /* advisory lock name (llmopt_pg_lock_key) */
    char *notify_channel;
    int64_t lock_poll_ms;      /* standby: how often it tries the lock */
    int64_t lock_check_ms;     /* leader: how often it checks its lock session */
    int64_t checkpoint_ms;     /* longest time between two state flushes */
    int64_t tick_ms;           /* breaker ticks, experiment checks, heartbeats */
    int64_t publish_timeout_ms;
    char *alert_webhook;       /* Slack-compatible URL; NULL: no alerts */
    int64_t alert_timeout_ms;
    int64_t seed;              /* base seed of the per-route rngs */
} llmopt_controller_conf;

extern const llmopt_config_table llmopt_controller_table;

#endif
