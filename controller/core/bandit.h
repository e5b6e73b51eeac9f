/*
 * bandit.h - the evidence a multi-armed bandit keeps per arm of one route:
 * discounted sufficient statistics, the arm's prior (seeded from the model
 * registry), the conjugate posteriors built from them, discounting for
 * non-stationarity and the partial reset a drift signal triggers. The
 * policies that turn this evidence into allocation weights live next door:
 * thompson.h (probability of being best), ucb.h (UCB1), egreedy.h.
 *
 * Rewards. LLMOPT_BANDIT_BERNOULLI: rewards in [0, 1] (success indicator or
 * the composite reward of processor/core/reward.h), Beta-Bernoulli posterior
 * with the fractional update alpha += r, beta += 1 - r. LLMOPT_BANDIT_NORMAL:
 * any finite reward, Normal-Inverse-Gamma posterior on (mean, variance).
 *
 * Evidence per arm: n (discounted observation weight), mean, m2 (discounted
 * sum of squared deviations), merged exactly (Chan et al.) whether one
 * reward or a closed window (n, mean, m2) arrives. Posteriors, with the
 * registry prior (n0 pseudo-observations of mean mean0, variance var0):
 *
 *   Beta:  alpha = a0 + n0 mean0 + n mean,  beta = b0 + n0 (1 - mean0) + n (1 - mean)
 *          (a0 = b0 = 1 by default: uniform before any evidence)
 *   NIG:   kappa0 = max(n0, kappa_min), mu0 = mean0, alpha0 = cfg.nig_alpha0,
 *          beta0 = alpha0 var0 (prior expected precision 1 / var0)
 *          kappa = kappa0 + n, mu = (kappa0 mu0 + n mean) / kappa,
 *          alpha = alpha0 + n / 2,
 *          beta  = beta0 + m2 / 2 + kappa0 n (mean - mu0)^2 / (2 kappa)
 *          marginal of the arm's mean: Student t, 2 alpha dof, location mu,
 *          scale^2 = beta / (alpha kappa)
 *
 * Non-stationarity, one of two (exclusive) ways; llmopt_bandit_decay() is
 * called once per update round (each closed metrics window):
 *   discount: it multiplies every arm's n and m2 by gamma (cfg.gamma, 1 =
 *     stationary), so evidence older than ~1/(1 - gamma) rounds fades and
 *     posteriors drift back toward the prior;
 *   sliding window (cfg.window = W rounds, 0 = off, needs gamma = 1): each
 *     arm keeps one (n, mean, m2) slot per round, the current one included;
 *     at a round end the slot W rounds old is dropped and the evidence is
 *     re-merged exactly from the W slots left, so a reward counts fully for
 *     W rounds and then not at all.
 * A drift signal on one arm (llmopt_bandit_drift) shrinks that arm's
 * evidence (and every window slot of it, so the reset survives the next
 * re-merge) by cfg.drift_shrink toward its prior and raises its exploration
 * floor to cfg.drift_floor until ts_ms + cfg.drift_boost_ms
 * (llmopt_bandit_floor); llmopt_bandit_shrink does the shrink alone.
 *
 * Ownership: a plain struct with fixed-size arrays (at most
 * LLMOPT_BANDIT_MAX_ARMS arms), embedded by the caller, nothing allocated,
 * no _release. Not thread-safe: one owner (the controller's route worker).
 * Invariants (checked by _init and _deserialize, kept by every update):
 * rewards and means within +-1e100, n <= 1e15, m2 <= 1e250 (so every
 * posterior formula stays finite);
 * 1 <= k <= MAX_ARMS; 0 < gamma <= 1; every n, m2 >= 0 and finite; a
 * Bernoulli arm's mean and mean0 lie in [0, 1].
 */
#ifndef LLMOPT_BANDIT_H
#define LLMOPT_BANDIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/serial.h"

#define LLMOPT_BANDIT_MAX_ARMS 32
#define LLMOPT_BANDIT_MAX_WINDOW 32 /* rounds of a sliding window */

typedef enum llmopt_bandit_reward {
    LLMOPT_BANDIT_BERNOULLI = 0, /* rewards in [0, 1], Beta posterior */
    LLMOPT_BANDIT_NORMAL = 1,    /* real rewards, Normal-Inverse-Gamma posterior */
} llmopt_bandit_reward;

/* An arm's prior from the model registry: expected reward mean0 worth n0
 * observations (n0 = 0: no opinion), and for NORMAL the expected variance
 * of one reward var0 (> 0). */
typedef struct llmopt_bandit_prior {
    double n0;
    double mean0;
    double var0;
} llmopt_bandit_prior;

typedef struct llmopt_bandit_config {
    llmopt_bandit_reward reward;
    uint32_t k;             /* arms, 1..LLMOPT_BANDIT_MAX_ARMS */
    double gamma;           /* discount per update round, (0, 1]; default 1 */
    uint32_t window;        /* sliding window in rounds, 0..MAX_WINDOW, 0 = off;
                               > 0 requires gamma == 1; default 0 */
    double beta_a0;         /* base Beta prior, > 0; default 1 */
    double beta_b0;         /* > 0; default 1 */
    double nig_alpha0;      /* base NIG shape, > 0; default 1 */
    double kappa_min;       /* NIG kappa0 floor when n0 == 0, > 0; default 1e-3 */
    double drift_shrink;    /* evidence kept on a drift signal, [0, 1]; default 0.1 */
    double floor;           /* exploration floor per arm, [0, 1); default 0.01 */
    double drift_floor;     /* floor after a drift signal, >= floor; default 0.05 */
    int64_t drift_boost_ms; /* how long the raised floor lasts, >= 0; default 600000 */
} llmopt_bandit_config;

/* One round's evidence of one arm (sliding window slot). */
typedef struct llmopt_bandit_slot {
    double n, mean, m2;
} llmopt_bandit_slot;

typedef struct llmopt_bandit_arm {
    llmopt_bandit_prior prior;
    double n;                /* discounted weight of observations */
    double mean;             /* their weighted mean (0 when n == 0) */
    double m2;               /* discounted sum of squared deviations */
    uint64_t pulls;          /* raw observations ever, never discounted */
    int64_t boost_until_ms;  /* drift floor in force before this time; 0 = none */
} llmopt_bandit_arm;

typedef struct llmopt_bandit {
    llmopt_bandit_config cfg;
    uint32_t win_head;       /* slot of the current round, < cfg.window */
    llmopt_bandit_arm arm[LLMOPT_BANDIT_MAX_ARMS];
    /* sliding window slots per arm (cfg.window > 0 only); apart from arm[]
     * so the per-decision loops over arms stay on few cache lines */
    llmopt_bandit_slot win[LLMOPT_BANDIT_MAX_ARMS][LLMOPT_BANDIT_MAX_WINDOW];
} llmopt_bandit;

/* Posterior parameters of one arm, as derived in the header comment. */
typedef struct llmopt_bandit_beta {
    double alpha, beta;
} llmopt_bandit_beta;
typedef struct llmopt_bandit_nig {
    double mu, kappa, alpha, beta;
} llmopt_bandit_nig;

void llmopt_bandit_config_default(llmopt_bandit_config *c, llmopt_bandit_reward reward,
                                  uint32_t k);
/* Validates the config (RANGE naming the field) and starts every arm with
 * no evidence and a neutral prior (n0 = 0, mean0 = 0.5 for BERNOULLI, 0 for
 * NORMAL, var0 = 1). *b is untouched on failure. */
llmopt_err_t llmopt_bandit_init(llmopt_bandit *b, const llmopt_bandit_config *c, char *errstr,
                                size_t errstr_size);
/* Sets an arm's registry prior; RANGE if arm >= k, n0 < 0, var0 <= 0, a
 * value is not finite, or a BERNOULLI mean0 is outside [0, 1]. */
llmopt_err_t llmopt_bandit_set_prior(llmopt_bandit *b, uint32_t arm, const llmopt_bandit_prior *p,
                                     char *errstr, size_t errstr_size);
/* One reward. RANGE for a bad arm, a non-finite reward, or a BERNOULLI
 * reward outside [0, 1]; nothing changes then. */
llmopt_err_t llmopt_bandit_observe(llmopt_bandit *b, uint32_t arm, double reward);
/* A batch summarised as n observations (n >= 0, may be fractional), their
 * mean and m2 (sum of squared deviations from that mean; pass 0 when only
 * the mean is known: the variance then comes from the prior). Same RANGE
 * rules; n == 0 is a no-op. */
llmopt_err_t llmopt_bandit_observe_batch(llmopt_bandit *b, uint32_t arm, double n, double mean,
                                         double m2);
/* End of an update round: multiplies every arm's n and m2 by cfg.gamma
 * (no-op when gamma == 1), or with a sliding window drops the oldest round
 * and re-merges each arm's evidence from the rounds left. */
void llmopt_bandit_decay(llmopt_bandit *b);
/* Drift or anomaly on `arm` at ts_ms: n and m2 *= cfg.drift_shrink and the
 * arm's floor is raised until ts_ms + cfg.drift_boost_ms. RANGE for a bad arm. */
llmopt_err_t llmopt_bandit_drift(llmopt_bandit *b, uint32_t arm, int64_t ts_ms);
/* The shrink of llmopt_bandit_drift without raising the floor: for a change
 * known to make the arm worse, which needs no extra exploration to be
 * learnt. RANGE for a bad arm. */
llmopt_err_t llmopt_bandit_shrink(llmopt_bandit *b, uint32_t arm);
/* Forgets all evidence of `arm` (a new arm now sits in its place, e.g. a
 * tuner proposal): n, mean, m2 and window slots to 0, prior kept. RANGE for
 * a bad arm. */
llmopt_err_t llmopt_bandit_reset_arm(llmopt_bandit *b, uint32_t arm);
/* The exploration floor of `arm` at now_ms (cfg.floor or cfg.drift_floor). */
double llmopt_bandit_floor(const llmopt_bandit *b, uint32_t arm, int64_t now_ms);

/* Posterior of `arm` (arm < k is the caller's duty: asserted). */
llmopt_bandit_beta llmopt_bandit_beta_posterior(const llmopt_bandit *b, uint32_t arm);
llmopt_bandit_nig llmopt_bandit_nig_posterior(const llmopt_bandit *b, uint32_t arm);
/* Posterior mean of the arm's expected reward (either model). */
double llmopt_bandit_mean(const llmopt_bandit *b, uint32_t arm);
/* Evidence blended with the prior's pseudo-observations, for frequentist
 * policies (UCB1, epsilon-greedy): n + n0 and the blended mean. */
double llmopt_bandit_eff_n(const llmopt_bandit *b, uint32_t arm);
double llmopt_bandit_eff_mean(const llmopt_bandit *b, uint32_t arm);

/* Checkpoint, tag "BNDT" v1: config, then per arm prior, n, mean, m2,
 * pulls, boost_until_ms, all fixed-width. deserialize validates every
 * invariant above and returns INVALID/TRUNCATED/RANGE with the reason in
 * errstr, leaving *b untouched on failure. Round trip is bit-exact. */
void llmopt_bandit_serialize(const llmopt_bandit *b, llmopt_wbuf *w);
llmopt_err_t llmopt_bandit_deserialize(llmopt_bandit *b, llmopt_rbuf *r, char *errstr,
                                       size_t errstr_size);

#endif
