/*
 * egreedy.h - epsilon-greedy weights on a bandit's evidence: among the m
 * eligible arms the one with the highest prior-blended mean
 * (llmopt_bandit_eff_mean; ties: lowest index) gets 1 - eps + eps/m, every
 * other eligible arm eps/m, ineligible arms 0. Where eps/m is below the
 * exploration floor, alloc.h lifts it.
 *
 * Pure, no allocation, deterministic.
 */
#ifndef LLMOPT_EGREEDY_H
#define LLMOPT_EGREEDY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/core/bandit.h"

/* RANGE unless 0 <= eps <= 1, STATE if nothing is eligible (eligible NULL:
 * all arms). reason (may be NULL): "egreedy eps 0.10: arm 2 greedy (mean 0.5981)". */
llmopt_err_t llmopt_egreedy_weights(const llmopt_bandit *b, const uint8_t *eligible, double eps,
                                    double *w, char *reason, size_t reason_size);

#endif
