/*
 * simulate_oracle.h - expected rewards of the simulated arms and the oracle
 * (the best arm of each route at each moment). Pure: no I/O, no clock.
 *
 * The reward is the processor's (processor/core/reward.h): reward 0 for a
 * failure, else the weighted sum of the normalised quality, cost and latency
 * components. For a profile (simulate_scenario.h) the expectation is exact,
 * in closed form or an exact finite sum:
 *   quality  E[clip01(Q)], Q ~ N(mean, sd):
 *            m (Phi(b) - Phi(a)) + sd (phi(a) - phi(b)) + 1 - Phi(b),
 *            a = -m/sd, b = (1-m)/sd  (sd 0: clip01(m))
 *   latency  E[g(L)], L = median exp(sigma Z), g(l) = clip01((W-l)/(W-B)):
 *            P(L <= B) + (W (F(W) - F(B)) - E[L; B < L < W]) / (W - B)
 *            with E[L; x < L < y] = median e^{sigma^2/2} (Phi(ln(y/median)/sigma
 *            - sigma) - Phi(ln(x/median)/sigma - sigma))
 *   cost     in and out tokens independent uniform integers: for each input
 *            count the clipped linear function of the output count is
 *            summed exactly (three arithmetic pieces)
 *   reward   (1 - error_rate) (wq Eq + wc Ec + wl El) / (wq + wc + wl)
 * An unavailable arm has expected reward 0 (every request to it fails).
 */
#ifndef LLMOPT_SIM_ORACLE_H
#define LLMOPT_SIM_ORACLE_H

#include <stddef.h>

#include "processor/core/reward.h"
#include "tools/simulate_scenario.h"

typedef struct llmopt_sim_expect {
    double quality;   /* E[normalised quality | success] */
    double cost;      /* E[normalised cost | success] */
    double latency;   /* E[normalised latency | success] */
    double reward;    /* E[reward], failures included */
} llmopt_sim_expect;

/* Expected components and reward of profile p under reward config c (which
 * must have passed llmopt_reward_config_check). */
void llmopt_sim_expect_profile(const llmopt_reward_config *c, const llmopt_sim_profile *p,
                               llmopt_sim_expect *out);

/* The pieces, exposed for the known-answer tests. */
double llmopt_sim_expect_clipped_normal(double mean, double sd);
double llmopt_sim_expect_latency_score(double median_ms, double sigma, double best_ms,
                                       double worst_ms);
double llmopt_sim_expect_cost_score(const llmopt_sim_profile *p, double best_usd,
                                    double worst_usd);

typedef struct llmopt_sim_oracle_route {
    llmopt_sim_expect arm[LLMOPT_SIM_MAX_ARMS];
    int best;             /* index of the best available arm; -1 when none */
    double best_reward;   /* its expected reward (0 when none) */
    double uniform_reward;/* mean expected reward over the available arms (0 when none) */
    size_t n_available;
} llmopt_sim_oracle_route;

/* The oracle of route ri for the profiles in st. Ties go to the first arm. */
void llmopt_sim_oracle(const llmopt_sim_scenario *s, const llmopt_sim_state *st, size_t ri,
                       llmopt_sim_oracle_route *out);

#endif
