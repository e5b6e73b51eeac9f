/*
 * dist.c - distribution functions (see dist.h).
 */
#include "controller/core/dist.h"

#include <float.h>
#include <math.h>

#define LN_SQRT_2PI 0.91893853320467274178 /* log(sqrt(2 pi)) */
#define SQRT_2PI 2.50662827463100050242
#define TINY 1e-300
#define EPS 1e-16

double llmopt_dist_normal_cdf(double x) {
    if (isnan(x))
        return NAN;
    return 0.5 * erfc(-x * M_SQRT1_2);
}

double llmopt_dist_normal_sf(double x) {
    return llmopt_dist_normal_cdf(-x);
}

/* Acklam's coefficients (published with the algorithm, 2003). */
static const double AK_A[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
static const double AK_B[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
static const double AK_C[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
static const double AK_D[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
#define AK_PLOW 0.02425

/* Quantile for p <= 0.5; the upper half follows by symmetry, which keeps
 * 1 - p (exact for p >= 0.5) out of the tail computation. */
static double quantile_lower(double p) {
    double x;
    int central = p >= AK_PLOW;
    if (!central) {
        double q = sqrt(-2.0 * log(p));
        x = (((((AK_C[0] * q + AK_C[1]) * q + AK_C[2]) * q + AK_C[3]) * q + AK_C[4]) * q + AK_C[5]) /
            ((((AK_D[0] * q + AK_D[1]) * q + AK_D[2]) * q + AK_D[3]) * q + 1.0);
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((AK_A[0] * r + AK_A[1]) * r + AK_A[2]) * r + AK_A[3]) * r + AK_A[4]) * r + AK_A[5]) * q /
            (((((AK_B[0] * r + AK_B[1]) * r + AK_B[2]) * r + AK_B[3]) * r + AK_B[4]) * r + 1.0);
    }
    if (p < 1e-300)
        return x;
    /* Halley step on f(x) = Phi(x) - p. Near the centre the residual is
     * formed from erf and the exact p - 0.5 so that it keeps its relative
     * accuracy as x -> 0; in the tail from erfc, which is accurate there. */
    double e = central ? 0.5 * erf(x * M_SQRT1_2) - (p - 0.5) : llmopt_dist_normal_cdf(x) - p;
    double u = e * SQRT_2PI * exp(0.5 * x * x);
    return x - u / (1.0 + 0.5 * x * u);
}

double llmopt_dist_normal_quantile(double p) {
    if (isnan(p) || p < 0 || p > 1)
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    if (p > 0.5)
        return -quantile_lower(1.0 - p);
    if (p == 0.5)
        return 0.0;
    return quantile_lower(p);
}

/* Remainder of Stirling's series, lgamma(x) - [(x - 1/2) log x - x +
 * log sqrt(2 pi)], for x >= 10 (next term below 1e-15 there). */
static double stirling_corr(double x) {
    double r = 1.0 / x, r2 = r * r;
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 -
               r2 * (1.0 / 1188 - r2 * (691.0 / 360360))))));
}

double llmopt_dist_lbeta(double a, double b) {
    if (isnan(a) || isnan(b) || a <= 0 || b <= 0)
        return NAN;
    double p = fmin(a, b), q = fmax(a, b);
    if (p >= 10) {
        /* both large: the (x - 1/2) log x terms combined into logs of ratios */
        double corr = stirling_corr(p) + stirling_corr(q) - stirling_corr(p + q);
        return -0.5 * log(q) + LN_SQRT_2PI + corr + (p - 0.5) * log(p / (p + q)) +
               q * log1p(-p / (p + q));
    }
    if (q >= 10) {
        /* lgamma(q) - lgamma(p + q) without subtracting two large numbers */
        double corr = stirling_corr(q) - stirling_corr(p + q);
        return lgamma(p) + corr + p - p * log(p + q) + (q - 0.5) * log1p(-p / (p + q));
    }
    return lgamma(p) + lgamma(q) - lgamma(p + q);
}

/* Continued fraction for I_x(a, b) (modified Lentz), valid and fast for
 * x < (a + 1) / (a + b + 2). Returns NaN if it does not converge. */
static double beta_cf(double a, double b, double x) {
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < TINY)
        d = TINY;
    d = 1.0 / d;
    double h = d;
    long maxit = 1000 + (long)(50.0 * sqrt(a + b));
    for (long m = 1; m <= maxit; m++) {
        double m2 = 2.0 * m;
        double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2)); /* even step */
        d = 1.0 + num * d;
        if (fabs(d) < TINY)
            d = TINY;
        c = 1.0 + num / c;
        if (fabs(c) < TINY)
            c = TINY;
        d = 1.0 / d;
        h *= d * c;
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0)); /* odd step */
        d = 1.0 + num * d;
        if (fabs(d) < TINY)
            d = TINY;
        c = 1.0 + num / c;
        if (fabs(c) < TINY)
            c = TINY;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < EPS)
            return h;
    }
    return NAN;
}

double llmopt_dist_beta_inc(double a, double b, double x, double y, int upper) {
    if (isnan(a) || isnan(b) || isnan(x) || isnan(y) || a <= 0 || b <= 0 || x < 0 || y < 0 ||
        x > 1 || y > 1)
        return NAN;
    if (x == 0)
        return upper ? 1.0 : 0.0;
    if (y == 0)
        return upper ? 0.0 : 1.0;
    /* log of x^a y^b / B(a, b), each log taken from whichever of x, y is
     * small so that log(1 - tiny) keeps its digits */
    double lx = x <= 0.5 ? log(x) : log1p(-y);
    double ly = y <= 0.5 ? log(y) : log1p(-x);
    double front = exp(a * lx + b * ly - llmopt_dist_lbeta(a, b));
    if (x < (a + 1.0) / (a + b + 2.0)) {
        double t = front * beta_cf(a, b, x) / a; /* I_x(a, b) */
        return upper ? 1.0 - t : t;
    }
    double t = front * beta_cf(b, a, y) / b; /* I_y(b, a) = 1 - I_x(a, b) */
    return upper ? t : 1.0 - t;
}

/* log of x^a e^-x / Gamma(a) */
static double gamma_front(double a, double x) {
    return exp(a * log(x) - x - lgamma(a));
}

static double gamma_series(double a, double x) {
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 100000; n++) {
        term *= x / (a + n);
        sum += term;
        if (fabs(term) < fabs(sum) * EPS)
            return sum * gamma_front(a, x);
    }
    return NAN;
}

static double gamma_cf(double a, double x) {
    double b = x + 1.0 - a, c = 1.0 / TINY, d = 1.0 / b, h = d;
    for (int i = 1; i < 100000; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < TINY)
            d = TINY;
        c = b + an / c;
        if (fabs(c) < TINY)
            c = TINY;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < EPS)
            return h * gamma_front(a, x);
    }
    return NAN;
}

double llmopt_dist_gamma_p(double a, double x) {
    if (isnan(a) || isnan(x) || a <= 0 || x < 0)
        return NAN;
    if (x == 0)
        return 0.0;
    if (isinf(x))
        return 1.0;
    return x < a + 1.0 ? gamma_series(a, x) : 1.0 - gamma_cf(a, x);
}

double llmopt_dist_gamma_q(double a, double x) {
    if (isnan(a) || isnan(x) || a <= 0 || x < 0)
        return NAN;
    if (x == 0)
        return 1.0;
    if (isinf(x))
        return 0.0;
    return x < a + 1.0 ? 1.0 - gamma_series(a, x) : gamma_cf(a, x);
}

/* P(|T| >= |t|) = I_x(df/2, 1/2) with x = df / (df + t^2). */
static double t_tail2(double t, double df, int upper) {
    double at = fabs(t), tt = at * at, x, y;
    if (isinf(at))
        return upper ? 1.0 : 0.0;
    if (isfinite(tt) && isfinite(df + tt)) {
        x = df / (df + tt);
        y = tt / (df + tt);
    } else {
        x = (df / at) / at;
        y = 1.0;
    }
    return llmopt_dist_beta_inc(0.5 * df, 0.5, x, y, upper);
}

double llmopt_dist_t_two_sided(double t, double df) {
    if (isnan(t) || isnan(df) || df <= 0)
        return NAN;
    return t_tail2(t, df, 0);
}

double llmopt_dist_t_sf(double t, double df) {
    if (isnan(t) || isnan(df) || df <= 0)
        return NAN;
    if (t >= 0)
        return 0.5 * t_tail2(t, df, 0);
    return 0.5 + 0.5 * t_tail2(t, df, 1);
}

double llmopt_dist_t_cdf(double t, double df) {
    return llmopt_dist_t_sf(-t, df);
}

double llmopt_dist_chi2_sf(double x, double k) {
    if (isnan(x) || isnan(k) || k <= 0)
        return NAN;
    if (x <= 0)
        return 1.0;
    return llmopt_dist_gamma_q(0.5 * k, 0.5 * x);
}
