/*
 * ctl_config.c - the llmopt-controller property table (see ctl_config.h).
 * Data and finalize only: compiled into the llmopt tool for config-doc.
 */
#include "controller/ctl_config.h"

#include <stddef.h>
#include <string.h>

const char *const llmopt_ctl_format_names[] = {"avro", "json", NULL};
const char *const llmopt_ctl_start_names[] = {"latest", "earliest", NULL};

static llmopt_err_t ctl_finalize(void *obj, char *errstr, size_t errstr_size) {
    llmopt_controller_conf *c = obj;
    const char *names[LLMOPT_CTL_IN_COUNT + 1];
    for (int i = 0; i < LLMOPT_CTL_IN_COUNT; i++)
        names[i] = c->topic_in[i];
    names[LLMOPT_CTL_IN_COUNT] = c->topic_routing;
    for (int i = 0; i <= LLMOPT_CTL_IN_COUNT; i++) {
        if (!names[i] || !*names[i])
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "every 'controller.topic.*' key needs a topic name");
        for (int j = 0; j < i; j++)
            if (!strcmp(names[i], names[j]))
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                   "topic '%s' is configured twice in 'controller.topic.*'",
                                   names[i]);
    }
    if (!c->lock_name || !*c->lock_name)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "'controller.lock.name' must not be empty");
    if (!c->notify_channel || !*c->notify_channel)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "'controller.notify.channel' must not be empty");
    return LLMOPT_OK;
}

#define F(f) offsetof(llmopt_controller_conf, f)
#define TOPIC(key, field, dflt, what)                                                        \
    {.name = key, .type = LLMOPT_CONFIG_STRING, .offset = F(field), .def = dflt, .desc = what}

static const llmopt_config_prop props[] = {
    {.name = "controller.policy.file", .type = LLMOPT_CONFIG_STRING, .offset = F(policy_file),
     .def = "examples/policy.json",
     .desc = "policy file (JSON): routes, arms, objective, constraints, algorithm, guardrails"},
    {.name = "controller.models.file", .type = LLMOPT_CONFIG_STRING, .offset = F(models_file),
     .def = "examples/models.json",
     .desc = "model registry (JSON): prices, context window, capabilities, prior figures; "
             "empty: none"},
    {.name = "controller.instance.id", .type = LLMOPT_CONFIG_STRING, .offset = F(instance_id),
     .desc = "name of this instance in logs and in controller_leader (default: host-pid)"},
    TOPIC("controller.topic.outcomes", topic_in[LLMOPT_CTL_IN_OUTCOMES], "llm.outcomes",
          "input: Outcome records (rewards for the bandits)"),
    TOPIC("controller.topic.metrics", topic_in[LLMOPT_CTL_IN_METRICS], "llm.metrics",
          "input: WindowMetrics (Pareto figures, breakers, experiments, canary)"),
    TOPIC("controller.topic.signals", topic_in[LLMOPT_CTL_IN_SIGNALS], "llm.signals",
          "input: drift and anomaly Signals"),
    TOPIC("controller.topic.routing", topic_routing, "llm.routing",
          "output: one RoutingDecision per route (compacted, key = route)"),
    {.name = "controller.format.routing", .type = LLMOPT_CONFIG_ENUM,
     .offset = F(routing_format), .def = "avro", .enum_names = llmopt_ctl_format_names,
     .desc = "wire format of published decisions: avro (Confluent framing) or json; inputs "
             "are accepted in either"},
    {.name = "controller.start.from", .type = LLMOPT_CONFIG_ENUM, .offset = F(start_from),
     .def = "latest", .enum_names = llmopt_ctl_start_names,
     .desc = "where inputs are read from when no offsets are stored yet"},
    {.name = "controller.lock.name", .type = LLMOPT_CONFIG_STRING, .offset = F(lock_name),
     .def = "llmopt.controller",
     .desc = "name of the Postgres advisory lock that elects the active instance"},
    {.name = "controller.notify.channel", .type = LLMOPT_CONFIG_STRING,
     .offset = F(notify_channel), .def = "llmopt_controller",
     .desc = "LISTEN/NOTIFY channel the admin commands wake the controller on"},
    {.name = "controller.lock.poll", .type = LLMOPT_CONFIG_DURATION, .offset = F(lock_poll_ms),
     .min = 50, .max = 60000, .def = "500ms",
     .desc = "standby: interval between two attempts to take the leader lock"},
    {.name = "controller.lock.check", .type = LLMOPT_CONFIG_DURATION,
     .offset = F(lock_check_ms), .min = 100, .max = 60000, .def = "1s",
     .desc = "leader: interval between two health checks of the lock session"},
    {.name = "controller.checkpoint.interval", .type = LLMOPT_CONFIG_DURATION,
     .offset = F(checkpoint_ms), .min = 10, .max = 600000, .def = "1s",
     .desc = "longest time between two state flushes (decisions always flush at once)"},
    {.name = "controller.tick", .type = LLMOPT_CONFIG_DURATION, .offset = F(tick_ms),
     .min = 10, .max = 60000, .def = "250ms",
     .desc = "period of breaker ticks, heartbeat and experiment duration checks"},
    {.name = "controller.publish.timeout", .type = LLMOPT_CONFIG_DURATION,
     .offset = F(publish_timeout_ms), .min = 100, .max = 600000, .def = "10s",
     .desc = "bound on the broker acknowledging a published decision"},
    {.name = "controller.alert.webhook", .type = LLMOPT_CONFIG_STRING,
     .offset = F(alert_webhook), .flags = LLMOPT_CONFIG_SENSITIVE,
     .desc = "Slack-compatible incoming-webhook URL for circuit-break, rollback and SRM "
             "alerts; empty: no alerts"},
    {.name = "controller.alert.timeout", .type = LLMOPT_CONFIG_DURATION,
     .offset = F(alert_timeout_ms), .min = 100, .max = 60000, .def = "3s",
     .desc = "bound on one alert POST"},
    {.name = "controller.seed", .type = LLMOPT_CONFIG_INT, .offset = F(seed), .min = 0,
     .max = 9.0e18, .def = "1",
     .desc = "base seed of the per-route random streams (Thompson sampling)"},
    {0}};

const llmopt_config_table llmopt_controller_table = {
    .name = "controller",
    .desc = "llmopt-controller",
    .props = props,
    .finalize = ctl_finalize,
};
