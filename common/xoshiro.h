/*
 * xoshiro.h - xoshiro256** (Blackman and Vigna, 2018) seeded through
 * splitmix64: the one integer generator behind every seeded random stream
 * in llmopt (controller/core/rng.h for the bandits' draws, the gateway's
 * arm choice, `llmopt traffic`). Header-only so the gateway library and the
 * pure cores use it without linking anything: the same seed gives the same
 * stream on every platform.
 */
#ifndef LLMOPT_XOSHIRO_H
#define LLMOPT_XOSHIRO_H

#include <stdint.h>

/* One step of splitmix64 over the counter *x. */
static inline uint64_t llmopt_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t llmopt_rotl64(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

/* State from four splitmix64 outputs of seed: any seed (0 included) is
 * valid, since splitmix64 is a bijection of its counter and four successive
 * outputs are never all zero. */
static inline void llmopt_xoshiro_seed(uint64_t s[4], uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        s[i] = llmopt_splitmix64(&x);
}

static inline uint64_t llmopt_xoshiro_next(uint64_t s[4]) {
    uint64_t result = llmopt_rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = llmopt_rotl64(s[3], 45);
    return result;
}

#endif
