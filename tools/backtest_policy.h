/*
 * backtest_policy.h - candidate routing policies for `llmopt backtest`: the
 * policy file and, per route, the candidate's probability of every arm at
 * each logged event.
 *
 * Policy file (JSON):
 *   {"candidates": [
 *     {"name": "all-strong", "weights": {"*": {"strong": 1}}},
 *     {"name": "mix", "weights": {"route-0": {"a": 0.2, "b": 0.8}, "*": {"a": 1}}},
 *     {"name": "ts", "bandit": {"algorithm": "thompson", "reward": "bernoulli",
 *                               "floor": 0.01, "draws": 2000, "refresh": "60s", "gamma": 1}},
 *     {"name": "ucb", "bandit": {"algorithm": "ucb1", "c": 1}},
 *     {"name": "eg", "bandit": {"algorithm": "egreedy", "eps": 0.1}}]}
 *
 * Fixed weights: per route name, or "*" for every route without its own
 * entry; normalised to sum 1; arms of the route not named get 0.
 * Bandit configurations are replayed over the route's log in event-time
 * order, the way the controller would have run them on the same telemetry:
 * the bandit (controller/core/bandit.h, one per route, all arms of the
 * route, no prior) learns from every logged (arm, reward); every `refresh`
 * of event time its weights are recomputed (thompson.h, ucb.h, egreedy.h)
 * and given exploration floors by alloc.h; between refreshes the published
 * weights are the candidate's probabilities. Randomised algorithms draw from
 * an rng seeded with backtest.seed mixed with the route and candidate index.
 *
 * Ownership: llmopt_bt_policy_set owns every string and array it holds
 * (release with _release); a replay is a heap object (_new/_destroy,
 * _destroy(NULL) no-op) that borrows its candidate.
 */
#ifndef LLMOPT_BACKTEST_POLICY_H
#define LLMOPT_BACKTEST_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef enum llmopt_bt_kind {
    LLMOPT_BT_FIXED = 0,
    LLMOPT_BT_THOMPSON = 1,
    LLMOPT_BT_UCB1 = 2,
    LLMOPT_BT_EGREEDY = 3,
} llmopt_bt_kind;

const char *llmopt_bt_kind_name(llmopt_bt_kind k);

typedef struct llmopt_bt_weights {
    char *route;        /* route name or "*" */
    size_t count;
    char **arms;
    double *weights;    /* normalised to sum 1 */
} llmopt_bt_weights;

typedef struct llmopt_bt_candidate {
    char *name;
    llmopt_bt_kind kind;
    /* FIXED */
    llmopt_bt_weights *routes;
    size_t n_routes;
    /* bandits */
    int normal_reward;      /* 0 bernoulli, 1 normal */
    double floor;           /* per-arm exploration floor, [0, 1/k] */
    double gamma;           /* discount per refresh, (0, 1] */
    uint32_t draws;         /* thompson */
    double c;               /* ucb1 */
    double eps;             /* egreedy */
    int64_t refresh_ms;     /* event time between weight updates */
} llmopt_bt_candidate;

typedef struct llmopt_bt_policy_set {
    llmopt_bt_candidate *items;
    size_t count;
} llmopt_bt_policy_set;

/* Reads and validates a policy file. INVALID with "policy file 'p': ..."
 * (JSON error with line, unknown algorithm, negative or all-zero weights,
 * duplicate name, ...), IO when unreadable, NOMEM. *out is empty on failure. */
llmopt_err_t llmopt_bt_policy_load(const char *path, llmopt_bt_policy_set *out, char *errstr,
                                   size_t errstr_size);
/* Same from a buffer; origin names it in messages. */
llmopt_err_t llmopt_bt_policy_parse(const char *json, size_t len, const char *origin,
                                    llmopt_bt_policy_set *out, char *errstr, size_t errstr_size);
void llmopt_bt_policy_release(llmopt_bt_policy_set *s);

/* The weights a FIXED candidate gives `route` (its own entry, else "*"),
 * or NULL when it names neither. */
const llmopt_bt_weights *llmopt_bt_fixed_for(const llmopt_bt_candidate *c, const char *route);

typedef struct llmopt_bt_replay llmopt_bt_replay;

/* A replay of candidate c over one route with arms[0..k-1] (borrowed
 * names). INVALID when a FIXED candidate has no weights for the route or
 * names an arm not in arms (message names both), RANGE for k outside
 * 1..32 with a bandit, NOMEM. */
llmopt_err_t llmopt_bt_replay_new(const llmopt_bt_candidate *c, const char *route,
                                  const char *const *arms, uint32_t k, uint64_t seed,
                                  llmopt_bt_replay **out, char *errstr, size_t errstr_size);
void llmopt_bt_replay_destroy(llmopt_bt_replay *r);
/* The candidate's probabilities pi[0..k-1] for an event at ts_ms (event
 * times must not decrease). STATE/RANGE from the bandit modules on failure. */
llmopt_err_t llmopt_bt_replay_probs(llmopt_bt_replay *r, int64_t ts_ms, double *pi, char *errstr,
                                    size_t errstr_size);
/* Feeds the logged outcome of the event to a bandit (no-op for FIXED).
 * RANGE for a Bernoulli bandit and a reward outside [0, 1]. */
llmopt_err_t llmopt_bt_replay_learn(llmopt_bt_replay *r, uint32_t arm, double reward);

#endif
