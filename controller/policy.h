/*
 * policy.h - the controller's two input files, parsed and validated:
 *
 *   policy file (examples/policy.json): routes, each with its arms (id,
 *     provider, model, params, prompt_template_id, optional floor), the
 *     objective weights (quality, cost, latency), the constraints (max cost
 *     per request, max p95 latency, min quality), the algorithm, the default
 *     exploration floor, the update cadence (epsilon, heartbeat, discount),
 *     guardrails (circuit breaker), the canary ramp, the fallback chain and
 *     the rate limits, cache policy and batching (controller/strategy.h).
 *   model registry (examples/models.json): per model, prices per 1k input
 *     and output tokens, context window, capabilities and optional prior
 *     figures (quality, p95 latency) that seed the bandit priors and the
 *     Pareto filter until measured figures arrive.
 *
 * Validation happens once, at start-up: any malformed or out-of-range value
 * fails with a message naming the JSON path, e.g.
 *   "policy 'p.json': routes[1].arms[0].params.temperature: expected a number"
 * Unknown members are refused too (a typo such as "flor" must not silently
 * fall back to a default).
 *
 * Ownership: llmopt_policy_load() returns one heap object owning every
 * string; llmopt_policy_destroy(NULL) is a no-op. Read-only afterwards, so
 * any thread may read it.
 */
#ifndef LLMOPT_CTL_POLICY_H
#define LLMOPT_CTL_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/core/bandit.h"
#include "controller/core/breaker.h"
#include "controller/core/canary.h"
#include "controller/core/tuner.h"
#include "controller/strategy.h"

#define LLMOPT_POLICY_MAX_PARAMS 16
/* longest arm id, provider, model or prompt template id (gateways refuse
 * LLMOPT_GW_NAME_MAX - 1 = 127 bytes and more) */
#define LLMOPT_POLICY_ARM_STR_MAX 127
#define LLMOPT_POLICY_MAX_CAPS 16

typedef enum llmopt_policy_algo {
    LLMOPT_ALGO_THOMPSON = 0,
    LLMOPT_ALGO_UCB1,
    LLMOPT_ALGO_EGREEDY,
    LLMOPT_ALGO_STATIC, /* weights = the arms' "weight" members, floors kept */
    LLMOPT_ALGO_COUNT
} llmopt_policy_algo;
extern const char *const llmopt_policy_algo_names[LLMOPT_ALGO_COUNT];

typedef struct llmopt_model_info {
    char *name;                 /* "provider/model" */
    double price_in_per_1k;     /* USD per 1000 input tokens */
    double price_out_per_1k;    /* USD per 1000 output tokens */
    int64_t context_window;     /* tokens */
    char *caps[LLMOPT_POLICY_MAX_CAPS];
    size_t n_caps;
    double quality;             /* prior quality 0..1, NaN: unknown */
    double p95_ms;              /* prior p95 latency, NaN: unknown */
} llmopt_model_info;

typedef struct llmopt_policy_arm {
    char *id;
    char *provider;
    char *model;
    char *param_names[LLMOPT_POLICY_MAX_PARAMS];
    double param_values[LLMOPT_POLICY_MAX_PARAMS];
    size_t n_params;
    char *prompt_template_id;   /* NULL: none */
    double floor;               /* exploration floor, [0, 0.5] */
    double static_weight;       /* ALGO_STATIC preference, >= 0 */
    const llmopt_model_info *info; /* registry entry, NULL: none */
    /* figures from the registry (NaN when unknown): seed Pareto + priors */
    double est_cost_usd, est_quality, est_p95_ms;
} llmopt_policy_arm;

typedef struct llmopt_policy_route {
    char *route;
    llmopt_policy_algo algo;
    llmopt_bandit_reward reward;
    double w_quality, w_cost, w_latency;  /* objective weights, sum 1 */
    double max_cost_usd, max_p95_ms, min_quality; /* INFINITY / -INFINITY: none */
    double floor;               /* default exploration floor per arm */
    double epsilon;             /* publish when a weight moves by more */
    int64_t heartbeat_ms;
    double discount;            /* bandit gamma per metrics window */
    uint32_t window;            /* or a sliding window of this many rounds (0: off) */
    /* parameter tuner (member "tuner"): its slots are these arms, the first
     * one's params give the start; n_slots == 0: no tuner */
    llmopt_tuner_config tuner;
    size_t tuner_arms[LLMOPT_TUNER_MAX_SLOTS];
    uint32_t thompson_draws;
    double ucb_c;
    double egreedy_eps;
    double prior_strength;      /* n0 of registry priors */
    double expected_in_tokens, expected_out_tokens; /* cost estimate per request */
    llmopt_breaker_config breaker;
    llmopt_canary_config canary;
    double drift_shrink, drift_floor;
    int64_t drift_boost_ms;
    llmopt_strategy_config strat; /* rate limits, cache, batching (strategy.h) */
    size_t fallback[LLMOPT_BANDIT_MAX_ARMS]; /* arm indices, in order */
    size_t n_fallback;
    llmopt_policy_arm arms[LLMOPT_BANDIT_MAX_ARMS];
    size_t n_arms;
} llmopt_policy_route;

typedef struct llmopt_policy {
    llmopt_policy_route *routes;
    size_t n_routes;
    llmopt_model_info *models;
    size_t n_models;
} llmopt_policy;

/* Parses the registry (models_path may be NULL or "": no registry) and the
 * policy, links arms to their models and computes the registry figures.
 * NULL on failure with "policy '<path>': <json path>: <problem>" (or
 * "models '<path>': ...") in errstr. */
llmopt_policy *llmopt_policy_load(const char *policy_path, const char *models_path,
                                  char *errstr, size_t errstr_size);
/* The same from memory (tests, fuzzing); models_json may be NULL. */
llmopt_policy *llmopt_policy_parse(const char *policy_json, size_t policy_len,
                                   const char *models_json, size_t models_len, char *errstr,
                                   size_t errstr_size);
void llmopt_policy_destroy(llmopt_policy *p);

/* Route by name, NULL if the policy has none. Linear: called at start-up
 * and by the admin path only (the daemon keeps its own hash). */
const llmopt_policy_route *llmopt_policy_find(const llmopt_policy *p, const char *route);
/* Arm index within the route, -1 if none. */
int llmopt_policy_arm_index(const llmopt_policy_route *r, const char *arm);

/* The registry prior of an arm for the bandit: mean0 = the objective
 * weights applied to the registry figures (quality, cost and latency scores
 * against the route's limits), n0 = prior_strength; n0 = 0 when the arm has
 * no registry figures. */
llmopt_bandit_prior llmopt_policy_prior(const llmopt_policy_route *r, size_t arm);

#endif
