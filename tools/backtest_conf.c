/*
 * backtest_conf.c - the property table of `llmopt backtest`.
 */
#include "tools/backtest_conf.h"

#include <stddef.h>

#define OFF(f) offsetof(llmopt_backtest_conf, f)

static const char *const formats[] = {"json", "html", NULL};
static const char *const models[] = {"mean", "ridge", NULL};

static const llmopt_config_prop props[] = {
    {.name = "backtest.outcomes.topic", .type = LLMOPT_CONFIG_STRING, .offset = OFF(outcomes_topic),
     .def = "llm.outcomes", .desc = "topic holding the Outcome records to replay"},
    {.name = "backtest.metrics.topic", .type = LLMOPT_CONFIG_STRING, .offset = OFF(metrics_topic),
     .def = "llm.metrics", .desc = "counterfactual replay: topic of the WindowMetrics records"},
    {.name = "backtest.signals.topic", .type = LLMOPT_CONFIG_STRING, .offset = OFF(signals_topic),
     .def = "llm.signals", .desc = "counterfactual replay: topic of the Signal records"},
    {.name = "backtest.routing.topic", .type = LLMOPT_CONFIG_STRING, .offset = OFF(routing_topic),
     .def = "llm.routing", .desc = "counterfactual replay: topic of the logged RoutingDecision records"},
    {.name = "backtest.requests.topic", .type = LLMOPT_CONFIG_STRING, .offset = OFF(requests_topic),
     .def = "llm.requests",
     .desc = "counterfactual replay with processor settings: topic of the Request records"},
    {.name = "backtest.responses.topic", .type = LLMOPT_CONFIG_STRING,
     .offset = OFF(responses_topic), .def = "llm.responses",
     .desc = "counterfactual replay with processor settings: topic of the Response records"},
    {.name = "backtest.feedback.topic", .type = LLMOPT_CONFIG_STRING, .offset = OFF(feedback_topic),
     .def = "llm.feedback",
     .desc = "counterfactual replay with processor settings: topic of the Feedback records"},
    {.name = "backtest.settings", .type = LLMOPT_CONFIG_STRING, .offset = OFF(settings),
     .desc = "counterfactual controller replay: settings file (JSON, see docs/BACKTEST.md); "
             "also --settings"},
    {.name = "backtest.policy", .type = LLMOPT_CONFIG_STRING, .offset = OFF(policy),
     .desc = "candidate policy file (JSON, see docs/BACKTEST.md); also --policy"},
    {.name = "backtest.from", .type = LLMOPT_CONFIG_STRING, .offset = OFF(from),
     .desc = "range start, epoch ms or ISO-8601 UTC (2026-11-29T00:00:00Z), inclusive; also --from"},
    {.name = "backtest.to", .type = LLMOPT_CONFIG_STRING, .offset = OFF(to),
     .desc = "range end, same syntax, exclusive; also --to"},
    {.name = "backtest.format", .type = LLMOPT_CONFIG_ENUM, .offset = OFF(format),
     .enum_names = formats, .def = "json", .desc = "report format; also --format"},
    {.name = "backtest.out", .type = LLMOPT_CONFIG_STRING, .offset = OFF(out), .def = "-",
     .desc = "report file (- for stdout); also --out"},
    {.name = "backtest.replicates", .type = LLMOPT_CONFIG_INT, .offset = OFF(replicates),
     .min = 0, .max = 10000, .def = "200",
     .desc = "Poisson bootstrap replicates behind each confidence interval (0: none)"},
    {.name = "backtest.seed", .type = LLMOPT_CONFIG_INT, .offset = OFF(seed), .def = "1",
     .desc = "seed of the bootstrap and of randomised candidates: same seed, same report"},
    {.name = "backtest.clip", .type = LLMOPT_CONFIG_DOUBLE, .offset = OFF(clip), .min = 0,
     .max = 1e9, .def = "0", .desc = "clip importance weights at this value (>= 1; 0: no clipping)"},
    {.name = "backtest.level", .type = LLMOPT_CONFIG_DOUBLE, .offset = OFF(level), .min = 0.5,
     .max = 0.999, .def = "0.95", .desc = "confidence level of the intervals"},
    {.name = "backtest.model", .type = LLMOPT_CONFIG_ENUM, .offset = OFF(model),
     .enum_names = models, .def = "mean",
     .desc = "doubly-robust reward model: per-arm mean, or per-arm ridge on backtest.features"},
    {.name = "backtest.features", .type = LLMOPT_CONFIG_STRING, .offset = OFF(features), .def = "",
     .desc = "comma-separated context features of the ridge model (an intercept is added)"},
    {.name = "backtest.ridge.lambda", .type = LLMOPT_CONFIG_DOUBLE, .offset = OFF(ridge_lambda),
     .min = 1e-6, .max = 1e6, .def = "1", .desc = "ridge penalty of the reward model"},
    {.name = "backtest.bins", .type = LLMOPT_CONFIG_INT, .offset = OFF(bins), .min = 1,
     .max = 1000, .def = "24", .desc = "time bins of the over-time charts"},
    {.name = "backtest.timeout", .type = LLMOPT_CONFIG_DURATION, .offset = OFF(timeout_ms),
     .min = 100, .max = 3600000, .def = "30s",
     .desc = "fail when reading the topic makes no progress for this long"},
    {.name = "backtest.slack", .type = LLMOPT_CONFIG_DURATION, .offset = OFF(slack_ms), .min = 0,
     .max = 604800000, .def = "1h",
     .desc = "how far broker timestamps may differ from event time (widens the seek window)"},
    {0}};

const llmopt_config_table llmopt_backtest_config_table = {
    .name = "backtest",
    .desc = "llmopt backtest (off-policy evaluation of candidate policies over llm.outcomes)",
    .props = props,
};
