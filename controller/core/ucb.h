/*
 * ucb.h - UCB1 (Auer, Cesa-Bianchi and Fischer, 2002) on a bandit's
 * evidence: score_i = mean_i + c sqrt(2 ln N / n_i), where n_i and mean_i
 * blend the arm's observations with its registry prior's pseudo-observations
 * (llmopt_bandit_eff_n / _eff_mean) and N = sum of n_i over eligible arms
 * (ln N taken as 0 below N = 1). An eligible arm with n_i == 0 scores
 * +infinity, so untried arms are tried first. c = 1 is textbook UCB1 for
 * rewards in [0, 1]; scale c with the reward range otherwise.
 *
 * Weights: all preference to the argmax (ties: lowest index); alloc.h then
 * gives every other enabled arm its floor. Discounting (bandit_decay)
 * turns this into discounted UCB: n_i and N both fade.
 *
 * Pure, no allocation, deterministic.
 */
#ifndef LLMOPT_UCB_H
#define LLMOPT_UCB_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/core/bandit.h"

/* scores[i] for eligible arms (eligible NULL: all), -INFINITY for the
 * others. RANGE if c < 0 or not finite, STATE if nothing is eligible. */
llmopt_err_t llmopt_ucb1_scores(const llmopt_bandit *b, const uint8_t *eligible, double c,
                                double *scores);
/* w[argmax] = 1, others 0; same failures. reason (may be NULL):
 * "ucb1: arm 1 leads with score 0.7312 (mean 0.6021, n 412.0)". */
llmopt_err_t llmopt_ucb1_weights(const llmopt_bandit *b, const uint8_t *eligible, double c,
                                 double *w, char *reason, size_t reason_size);

#endif
