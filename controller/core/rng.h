/*
 * rng.h - the seeded random number generator behind every randomised
 * decision in controller/core: xoshiro256** (Blackman and Vigna, 2018)
 * seeded through splitmix64, plus the normal, gamma, beta and Student-t
 * draws the bandits need. Never libc rand(): the same seed gives the same
 * stream in every run and on every platform with an IEEE-754 double.
 *
 * Reproducibility: the integer stream and uniform doubles are bit-exact
 * everywhere. The continuous draws use only sqrt (correctly rounded by
 * IEEE-754) and log/pow from libm; two libms that disagree in the last ulp of
 * a log could, very rarely, flip an accept/reject test of the gamma sampler
 * and shift the stream. Within one build (replay, tests, backtests) every
 * draw is bit-identical.
 *
 * Ownership: a plain struct of 32 bytes, embedded by the caller, no
 * allocation, no global state. One thread per generator; give each thread
 * or each route its own (llmopt_rng_seed with a derived seed).
 */
#ifndef LLMOPT_RNG_H
#define LLMOPT_RNG_H

#include <stdint.h>

#include "common/err.h"
#include "processor/core/serial.h"

typedef struct llmopt_rng {
    uint64_t s[4]; /* never all zero (xoshiro's one fixed point) */
} llmopt_rng;

/* Seeds the four state words with four successive splitmix64 outputs of
 * `seed`; any seed, 0 included, gives a valid non-zero state. */
void llmopt_rng_seed(llmopt_rng *r, uint64_t seed);
/* Mixes two 64-bit values into one seed (splitmix64 finaliser of a ^ f(b)),
 * e.g. a route's hash and a decision version, so that every decision has
 * its own reproducible stream. */
uint64_t llmopt_rng_mix(uint64_t a, uint64_t b);

uint64_t llmopt_rng_u64(llmopt_rng *r);
/* Uniform on [0, 1) with 53 random bits: (u64 >> 11) * 2^-53. */
double llmopt_rng_uniform(llmopt_rng *r);
/* Uniform on (0, 1): never 0, so log() of it is finite. */
double llmopt_rng_uniform_pos(llmopt_rng *r);
/* Uniform integer in [0, n) without modulo bias (rejection); n == 0 gives 0. */
uint64_t llmopt_rng_below(llmopt_rng *r, uint64_t n);

/* Standard normal by Marsaglia's polar method (the second variate of each
 * pair is discarded so the state stays four words). */
double llmopt_rng_normal(llmopt_rng *r);
/* Gamma(shape, 1) by Marsaglia and Tsang (2000); for shape < 1 the boost
 * Gamma(shape + 1) * U^(1/shape). shape must be > 0 and finite, otherwise
 * NaN is returned. May return 0 for tiny shapes (U^(1/shape) underflows). */
double llmopt_rng_gamma(llmopt_rng *r, double shape);
/* Beta(a, b) as X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b). a, b > 0 finite,
 * else NaN. If both gamma draws underflow to 0 (a and b below ~1e-3) the
 * draw is a Bernoulli(a / (a + b)), the limit law. */
double llmopt_rng_beta(llmopt_rng *r, double a, double b);
/* Student t with df > 0 (fractional allowed): Z / sqrt(2 G / df),
 * G ~ Gamma(df / 2). NaN for df <= 0. */
double llmopt_rng_student_t(llmopt_rng *r, double df);

/* Checkpoint: tag "RNG1" v1 then the four words. deserialize refuses an
 * all-zero state (INVALID) and a short buffer (TRUNCATED) and leaves *r
 * untouched on failure. */
void llmopt_rng_serialize(const llmopt_rng *r, llmopt_wbuf *w);
llmopt_err_t llmopt_rng_deserialize(llmopt_rng *r, llmopt_rbuf *rb);

#endif
