/*
 * simulate_scenario.h - the scenario of `llmopt simulate`: routes, arms with
 * their backend profiles, traffic mix, and the schedule of changes. Pure:
 * parsing works on a memory buffer, no clock, no Kafka.
 *
 * A scenario (examples/scenarios/, docs/SIMULATOR.md) names routes;
 * each route has a request rate, tenant and task-type mixes, the reward
 * definition of the processor (processor/core/reward.h: weights and the
 * route's normalisation bounds) and its arms. Every arm has a profile:
 *   latency    lognormal with median_ms and sigma (of log latency)
 *   ttft       time to first token = latency * ttft_fraction
 *   errors     each request fails with probability error_rate
 *   quality    normal(mean, sd) clipped to [0, 1]
 *   tokens     input and output counts uniform on integer [min, max]
 *   prices     USD per 1000 input / output tokens
 *   available  false: the arm does not exist yet (a request routed to it
 *              fails at once) until an "appear" change
 *   capacity   capacity_rps > 0: the backend serves at most that many
 *              requests per second of event time (a token bucket with
 *              capacity_burst); beyond it a request comes back at once as
 *              rate_limited (HTTP 429). 0: unlimited
 *   batch      "batch_latency" present: the gateway batches this arm's
 *              fresh requests (libllmopt-gateway's batcher, following the
 *              route's decision); a batch of n is served in one lognormal
 *              draw + per_item_ms * (n - 1) + per_item_above_knee_ms *
 *              max(0, n - knee) ms, and each item's latency adds its wait
 * A route may have a prompt population ("prompts"): each request asks one
 * of `distinct` prompts drawn from Zipf(zipf_s), so repeated prompts give
 * the gateway's cache something to find; a cached answer scores
 * cached_quality_penalty less than the answer it repeats.
 * Changes happen at an event-time offset from the start and modify the
 * profile of one arm on one route or on every route that has it.
 *
 * Invariants after a successful parse: 1 <= routes <= SIM_MAX_ROUTES, every
 * route has 1..SIM_MAX_ARMS arms with distinct ids, every profile value is
 * finite and in range, changes are sorted by at_ms (stable) and each names
 * an arm that exists on its route(s).
 *
 * Ownership: llmopt_sim_scenario_parse() returns a heap object that owns
 * every string; llmopt_sim_scenario_destroy(NULL) is a no-op. The profiles
 * in it are the INITIAL profiles; the time-varying state is a separate
 * llmopt_sim_state the caller owns.
 */
#ifndef LLMOPT_SIM_SCENARIO_H
#define LLMOPT_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/reward.h"

#define LLMOPT_SIM_MAX_ROUTES 64
#define LLMOPT_SIM_MAX_ARMS 16
#define LLMOPT_SIM_MAX_MIX 32     /* tenants or task types per route */
#define LLMOPT_SIM_MAX_CHANGES 256

typedef struct llmopt_sim_profile {
    double latency_median_ms;  /* > 0 */
    double latency_sigma;      /* >= 0, sigma of ln(latency) */
    double ttft_fraction;      /* 0..1 */
    double error_rate;         /* 0..1 */
    double quality_mean;       /* any finite value; the draw is clipped to 0..1 */
    double quality_sd;         /* >= 0 */
    int64_t input_tokens_min, input_tokens_max;   /* 0 <= min <= max */
    int64_t output_tokens_min, output_tokens_max; /* 0 <= min <= max */
    double price_in_per_1k;    /* USD, >= 0 */
    double price_out_per_1k;   /* USD, >= 0 */
    bool available;
    double capacity_rps;       /* >= 0, 0: unlimited */
    double capacity_burst;     /* >= 1 when capacity_rps > 0 (default max(1, rps)) */
    bool batched;              /* "batch_latency" given: requests go through the batcher */
    double batch_per_item_ms;  /* >= 0, added per item beyond the first */
    int64_t batch_knee;        /* >= 1; 0: no knee */
    double batch_above_knee_ms; /* >= 0, added per item beyond the knee */
} llmopt_sim_profile;

typedef struct llmopt_sim_arm {
    char *id, *provider, *model;
    llmopt_sim_profile profile; /* initial */
    struct llmopt_sim_qmodel *qmodel; /* "quality_by" (simulate_quality.h), NULL: none */
} llmopt_sim_arm;

typedef struct llmopt_sim_mix {
    char *name;
    double weight;              /* > 0 */
} llmopt_sim_mix;

typedef struct llmopt_sim_route {
    char *name;
    double rate;                /* requests per second of event time, > 0 */
    llmopt_reward_config reward;
    double feedback_fraction;   /* share of successes that get a Feedback, 0..1 */
    int64_t feedback_delay_ms;  /* after the response, >= 0 */
    llmopt_sim_mix tenants[LLMOPT_SIM_MAX_MIX];
    size_t n_tenants;           /* 0: requests carry no tenant */
    llmopt_sim_mix tasks[LLMOPT_SIM_MAX_MIX];
    size_t n_tasks;             /* >= 1 (default one task type "chat") */
    llmopt_sim_arm arms[LLMOPT_SIM_MAX_ARMS];
    size_t n_arms;
    /* repeated prompts (0 distinct: every prompt is new, no cache lookups) */
    uint32_t prompts_distinct;
    double prompts_zipf_s;          /* > 0, default 1 */
    double cached_quality_penalty;  /* quality of a cached answer -= this, 0..1 */
    double cached_latency_ms;       /* latency of a cache hit, default 5 */
    /* the route's member of the controller policy, passed through as JSON
     * text (the "controller" object; NULL when absent) */
    char *controller_json;
} llmopt_sim_route;

/* What a change does to a profile; a field is used when its has_ flag is set. */
typedef struct llmopt_sim_change {
    int64_t at_ms;              /* event-time offset from the start, >= 0 */
    char *route;                /* NULL: every route that has the arm */
    char *arm;
    char *label;                /* human text for the summary (generated when absent) */
    bool has_latency_factor;   double latency_factor;   /* median *= f, > 0 */
    bool has_latency_median;   double latency_median_ms;
    bool has_latency_sigma;    double latency_sigma;
    bool has_error_rate;       double error_rate;
    bool has_quality_delta;    double quality_delta;    /* mean += d */
    bool has_quality_mean;     double quality_mean;
    bool has_quality_sd;       double quality_sd;
    bool has_price_factor;     double price_factor;     /* both prices *= f, > 0 */
    bool has_capacity_factor;  double capacity_factor;  /* capacity rps and burst *= f, > 0 */
    bool has_batch_cost_factor; double batch_cost_factor; /* both per-item batch costs *= f, > 0 */
    bool appear;               /* available = true */
    bool disappear;            /* available = false */
} llmopt_sim_change;

typedef struct llmopt_sim_scenario {
    char *name;
    char *description;
    int64_t duration_ms;        /* event time simulated, > 0 */
    double speed;               /* event time / wall time; 0: unpaced */
    uint64_t seed;
    int gateways;               /* simulated gateway instances, 1..16 */
    llmopt_sim_route routes[LLMOPT_SIM_MAX_ROUTES];
    size_t n_routes;
    llmopt_sim_change changes[LLMOPT_SIM_MAX_CHANGES];
    size_t n_changes;
    /* "stack": settings the test harness passes to the processor and the
     * controller (-X key=value), as JSON text; NULL when absent */
    char *stack_json;
} llmopt_sim_scenario;

/* Parses and validates a scenario from buf (len bytes; need not be
 * NUL-terminated). name is used in messages ("scenario 'NAME': ..."). On
 * failure NULL, with a message naming the JSON path of the offending member,
 * e.g. "scenario 'demo.json': routes[0].arms[1].latency.median_ms: expected
 * a number > 0". Unknown members are refused (a typo must not silently fall
 * back to a default). NULL with "out of memory" on allocation failure. */
llmopt_sim_scenario *llmopt_sim_scenario_parse(const char *buf, size_t len, const char *name,
                                               char *errstr, size_t errstr_size);
/* Reads the file and parses it; a read error names the file. */
llmopt_sim_scenario *llmopt_sim_scenario_load(const char *path, char *errstr,
                                              size_t errstr_size);
void llmopt_sim_scenario_destroy(llmopt_sim_scenario *s);

/* Index of a route / an arm by name, or -1. */
int llmopt_sim_route_index(const llmopt_sim_scenario *s, const char *route);
int llmopt_sim_arm_index(const llmopt_sim_route *r, const char *arm);

/* Profile of every (route, arm) at some point of the schedule. Plain data:
 * copy it freely. */
typedef struct llmopt_sim_state {
    llmopt_sim_profile p[LLMOPT_SIM_MAX_ROUTES][LLMOPT_SIM_MAX_ARMS];
    size_t next_change;         /* changes[0..next_change-1] are applied */
} llmopt_sim_state;

/* The initial profiles, no change applied. */
void llmopt_sim_state_init(llmopt_sim_state *st, const llmopt_sim_scenario *s);
/* Applies every change with at_ms <= offset_ms not applied yet, in order.
 * Returns how many were applied; *first (may be NULL) is the index of the
 * first of them. */
size_t llmopt_sim_state_advance(llmopt_sim_state *st, const llmopt_sim_scenario *s,
                                int64_t offset_ms, size_t *first);
/* Applies one change to one profile (used by _advance; exposed for tests). */
void llmopt_sim_change_apply(const llmopt_sim_change *c, llmopt_sim_profile *p);
/* True when change c touches (route ri, arm ai). */
bool llmopt_sim_change_targets(const llmopt_sim_scenario *s, const llmopt_sim_change *c,
                               size_t ri, size_t ai);

/* Writes the controller policy file for the scenario (docs/CONTROLLER_DAEMON.md
 * format) to path: one route per scenario route, its arms (id, provider,
 * model) and the route's "controller" object merged in (its members win;
 * "arms" members there are merged into the arms by id). route_prefix is
 * prepended to every route name. LLMOPT_ERR_IO / LLMOPT_ERR_INVALID with
 * errstr. */
llmopt_err_t llmopt_sim_write_policy(const llmopt_sim_scenario *s, const char *route_prefix,
                                     const char *path, char *errstr, size_t errstr_size);

#endif
