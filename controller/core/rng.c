/* rng.c - xoshiro256** with splitmix64 seeding and the derived draws. */
#include "controller/core/rng.h"

#include <math.h>

#include "common/xoshiro.h"

void llmopt_rng_seed(llmopt_rng *r, uint64_t seed) { llmopt_xoshiro_seed(r->s, seed); }

uint64_t llmopt_rng_mix(uint64_t a, uint64_t b) {
    uint64_t x = b;
    uint64_t h = llmopt_splitmix64(&x);
    x = a ^ h;
    return llmopt_splitmix64(&x);
}

uint64_t llmopt_rng_u64(llmopt_rng *r) { return llmopt_xoshiro_next(r->s); }

double llmopt_rng_uniform(llmopt_rng *r) {
    return (double)(llmopt_rng_u64(r) >> 11) * 0x1.0p-53;
}

double llmopt_rng_uniform_pos(llmopt_rng *r) {
    /* centre of one of 2^53 equal cells: strictly inside (0, 1) */
    return ((double)(llmopt_rng_u64(r) >> 11) + 0.5) * 0x1.0p-53;
}

uint64_t llmopt_rng_below(llmopt_rng *r, uint64_t n) {
    if (n == 0)
        return 0;
    uint64_t threshold = (0 - n) % n; /* 2^64 mod n: values below are biased */
    for (;;) {
        uint64_t x = llmopt_rng_u64(r);
        if (x >= threshold)
            return x % n;
    }
}

double llmopt_rng_normal(llmopt_rng *r) {
    double u, v, s;
    do {
        u = 2.0 * llmopt_rng_uniform(r) - 1.0;
        v = 2.0 * llmopt_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

double llmopt_rng_gamma(llmopt_rng *r, double shape) {
    if (!(shape > 0) || !isfinite(shape))
        return NAN;
    if (shape < 1.0) {
        double g = llmopt_rng_gamma(r, shape + 1.0);
        return g * pow(llmopt_rng_uniform_pos(r), 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = llmopt_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = llmopt_rng_uniform_pos(r);
        double x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2) /* squeeze: skips the logs ~98% of the time */
            return d * v;
        if (log(u) < 0.5 * x2 + d * (1.0 - v + log(v)))
            return d * v;
    }
}

double llmopt_rng_beta(llmopt_rng *r, double a, double b) {
    if (!(a > 0) || !(b > 0) || !isfinite(a) || !isfinite(b))
        return NAN;
    double x = llmopt_rng_gamma(r, a);
    double y = llmopt_rng_gamma(r, b);
    double s = x + y;
    if (s > 0)
        return x / s;
    return llmopt_rng_uniform(r) < a / (a + b) ? 1.0 : 0.0;
}

double llmopt_rng_student_t(llmopt_rng *r, double df) {
    if (!(df > 0) || !isfinite(df))
        return NAN;
    double z = llmopt_rng_normal(r);
    double g = llmopt_rng_gamma(r, 0.5 * df);
    if (!(g > 0)) /* underflow for tiny df: the t is then huge */
        return z >= 0 ? HUGE_VAL : -HUGE_VAL;
    return z / sqrt(2.0 * g / df);
}

void llmopt_rng_serialize(const llmopt_rng *r, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, "RNG1", 1);
    for (int i = 0; i < 4; i++)
        llmopt_wbuf_u64(w, r->s[i]);
}

llmopt_err_t llmopt_rng_deserialize(llmopt_rng *r, llmopt_rbuf *rb) {
    llmopt_rng t;
    llmopt_rbuf_header(rb, "RNG1", 1);
    for (int i = 0; i < 4; i++)
        t.s[i] = llmopt_rbuf_u64(rb);
    if (rb->err)
        return (llmopt_err_t)rb->err;
    if (!(t.s[0] | t.s[1] | t.s[2] | t.s[3])) {
        rb->err = LLMOPT_ERR_INVALID;
        return LLMOPT_ERR_INVALID;
    }
    *r = t;
    return LLMOPT_OK;
}
