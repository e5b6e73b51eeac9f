/*
 * thompson.h - Thompson sampling weights: each arm's posterior probability
 * of having the highest expected reward, estimated by Monte Carlo with the
 * caller's seeded generator, so a decision reproduces exactly from its seed.
 *
 * Each of `draws` rounds samples every eligible arm's mean from its
 * posterior (bandit.h: Beta for BERNOULLI, the NIG marginal Student t for
 * NORMAL) and credits the arm with the largest draw (ties, which need equal
 * doubles, go to the lowest index). p_best[i] = wins_i / draws; the Monte
 * Carlo standard error of each is sqrt(p (1 - p) / draws), 0.005 at most for
 * 10k draws. These preferences then go through alloc.h for floors.
 *
 * Pure apart from advancing *rng; no allocation; cost O(draws * k) gamma
 * draws (bench/results/bandit.md).
 */
#ifndef LLMOPT_THOMPSON_H
#define LLMOPT_THOMPSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/core/bandit.h"
#include "controller/core/rng.h"

#define LLMOPT_THOMPSON_DEFAULT_DRAWS 10000

/* One draw of arm `arm`'s expected reward from its posterior. */
double llmopt_thompson_sample(const llmopt_bandit *b, uint32_t arm, llmopt_rng *rng);

/* p_best[0..k-1]: probability of being best among the arms with
 * eligible[i] != 0 (eligible NULL: all k arms); ineligible arms get 0.
 * A single eligible arm gets 1 without consuming the generator. RANGE for
 * draws == 0, STATE when no arm is eligible. reason (may be NULL): e.g.
 * "thompson beta: p(best) over 10000 draws, leader arm 2 at 0.8731". */
llmopt_err_t llmopt_thompson_weights(const llmopt_bandit *b, const uint8_t *eligible,
                                     uint32_t draws, llmopt_rng *rng, double *p_best,
                                     char *reason, size_t reason_size);

#endif
