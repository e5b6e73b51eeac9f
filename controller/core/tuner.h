/*
 * tuner.h - parameter tuner: local search with shrinking steps over a
 * route's generation parameters (temperature, top_p, max_tokens, ...).
 *
 * The tuner owns k slots (arms of the route set aside for it, k >= 2).
 * Slot `best` serves the incumbent parameter vector; the others serve
 * candidates: the incumbent moved by +- step along one parameter at a time
 * (compass search), clamped into [lo, hi]. A slot may also be idle
 * (retired, weight 0 on the route).
 *
 * A round ends (llmopt_tuner_round) when every live candidate has at least
 * min_samples rewards since it was proposed:
 *   - a candidate wins when its mean reward beats the incumbent's by more
 *     than z standard errors (Welch: se = sqrt(v_c/n_c + v_b/n_b));
 *   - the best winner (largest mean) becomes the incumbent: its slot is
 *     `best` from now on, the step is kept (the search moves); otherwise
 *     every step shrinks by `shrink` (the search narrows);
 *   - every candidate that did not become the incumbent is retired, and new
 *     candidates are proposed around the incumbent with the current steps
 *     into free slots (a candidate equal to the incumbent after clamping,
 *     or to another candidate, is skipped);
 *   - once every step is below its min_step the search has converged: no
 *     candidate is proposed and only the incumbent slot stays live.
 * Every value ever proposed lies within [lo, hi] of its parameter.
 *
 * Evidence: llmopt_tuner_observe(slot, n, mean, m2) merges a batch of
 * rewards (a closed window's reward count, mean and sum of squared
 * deviations) into the slot's statistics since its proposal; a new
 * proposal starts the slot from zero. The incumbent keeps its statistics
 * across rounds (it keeps serving the same parameters).
 *
 * Ownership: plain struct embedded by the caller, no allocation, no I/O,
 * no clock. One thread. Outputs are the slot states plus, per round, a
 * list of changes with a one-line reason each.
 */
#ifndef LLMOPT_TUNER_H
#define LLMOPT_TUNER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/serial.h"

#define LLMOPT_TUNER_MAX_PARAMS 4
#define LLMOPT_TUNER_MAX_SLOTS 16
#define LLMOPT_TUNER_REASON_MAX 256

typedef struct llmopt_tuner_param {
    char name[32];
    double lo, hi;        /* range, lo < hi, finite */
    double step;          /* initial step, > 0 */
    double min_step;      /* converged below this, > 0 */
} llmopt_tuner_param;

typedef struct llmopt_tuner_config {
    size_t n_params;                             /* 1..MAX_PARAMS */
    llmopt_tuner_param params[LLMOPT_TUNER_MAX_PARAMS];
    size_t n_slots;                              /* 2..MAX_SLOTS */
    double start[LLMOPT_TUNER_MAX_PARAMS];       /* initial incumbent, within ranges */
    double min_samples;                          /* rewards per candidate per round, >= 1; default 200 */
    double z;                                    /* win margin in standard errors, >= 0; default 1 */
    double shrink;                               /* step factor after a round without a win, (0, 1); default 0.5 */
} llmopt_tuner_config;

typedef enum llmopt_tuner_slot_state {
    LLMOPT_TUNER_IDLE = 0,     /* retired, serves nothing */
    LLMOPT_TUNER_BEST,         /* the incumbent */
    LLMOPT_TUNER_CANDIDATE,    /* a proposal under evaluation */
    LLMOPT_TUNER_N_STATES
} llmopt_tuner_slot_state;
extern const char *const llmopt_tuner_slot_state_names[LLMOPT_TUNER_N_STATES];

typedef struct llmopt_tuner_slot {
    llmopt_tuner_slot_state state;
    double x[LLMOPT_TUNER_MAX_PARAMS];
    double n, mean, m2;        /* rewards since proposal */
    uint64_t generation;       /* bumps on every proposal into this slot */
} llmopt_tuner_slot;

typedef struct llmopt_tuner {
    llmopt_tuner_config cfg;
    llmopt_tuner_slot slot[LLMOPT_TUNER_MAX_SLOTS];
    size_t best;
    double step[LLMOPT_TUNER_MAX_PARAMS];
    uint64_t rounds;
    int converged;
} llmopt_tuner;

/* One change of a round: slot `slot` went from -> to (a proposal, possibly
 * into a slot that was already a candidate, is CANDIDATE -> CANDIDATE with
 * a new generation). */
typedef struct llmopt_tuner_change {
    size_t slot;
    llmopt_tuner_slot_state from, to;
    char reason[LLMOPT_TUNER_REASON_MAX];
} llmopt_tuner_change;

void llmopt_tuner_config_default(llmopt_tuner_config *c);
/* Validates (RANGE naming the field), puts the start vector in slot 0 as
 * the incumbent and proposes the first candidates into the other slots. */
llmopt_err_t llmopt_tuner_init(llmopt_tuner *t, const llmopt_tuner_config *c, char *errstr,
                               size_t errstr_size);
/* Rewards for a slot: n >= 0 (may be fractional), mean finite, m2 >= 0.
 * RANGE (nothing changes) otherwise or for an idle/out-of-range slot. */
llmopt_err_t llmopt_tuner_observe(llmopt_tuner *t, size_t slot, double n, double mean,
                                  double m2);
/* True when every live candidate has min_samples rewards (and there is at
 * least one): a round can end. */
int llmopt_tuner_ready(const llmopt_tuner *t);
/* Ends the round when ready (see the header comment); writes up to `cap`
 * changes into ch and returns how many happened (0: not ready or nothing
 * to do). */
size_t llmopt_tuner_round(llmopt_tuner *t, llmopt_tuner_change *ch, size_t cap);

/* Checkpoint, tag "TUNR" v1: slots, best, steps, rounds (the config is the
 * caller's, from its policy). deserialize into a tuner initialised with the
 * same config: INVALID/TRUNCATED/RANGE (slot count differs, a value outside
 * its range, bad state), *t untouched on failure. */
void llmopt_tuner_serialize(const llmopt_tuner *t, llmopt_wbuf *w);
llmopt_err_t llmopt_tuner_deserialize(llmopt_tuner *t, llmopt_rbuf *r, char *errstr,
                                      size_t errstr_size);

#endif
