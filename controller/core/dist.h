/*
 * dist.h - the distribution functions behind controller/core statistics:
 * normal CDF and quantile, Student t, chi-square, and the special functions
 * they rest on (log beta, regularized incomplete beta and gamma). Pure: no
 * allocation, no I/O, no global state; thread-safe.
 *
 * Accuracy target: relative error below 1e-9 against scipy wherever the
 * result is above 1e-300, tails included. Tail probabilities are computed
 * directly (never as 1 - something), and each function has an upper-tail
 * twin so callers need not subtract.
 *
 * Domain errors (NaN input, df <= 0, p outside [0, 1], ...) return NaN.
 */
#ifndef LLMOPT_DIST_H
#define LLMOPT_DIST_H

/* Phi(x) = P(Z <= x), computed as erfc(-x / sqrt 2) / 2 (relative accuracy
 * in the lower tail down to the underflow at x ~ -38). */
double llmopt_dist_normal_cdf(double x);
/* 1 - Phi(x) = Phi(-x). */
double llmopt_dist_normal_sf(double x);
/* Phi^-1(p): Acklam's rational approximation (relative error 1.15e-9)
 * refined by one Halley step on erf/erfc; 0 and 1 give -+INFINITY. For
 * p < 1e-300 the refinement is skipped (its exp(x^2/2) would overflow). */
double llmopt_dist_normal_quantile(double p);

/* log B(a, b) for a, b > 0; for large arguments by Stirling series with the
 * big terms combined analytically, so no lgamma(a+b) - lgamma(a) cancels. */
double llmopt_dist_lbeta(double a, double b);
/* Regularized incomplete beta I_x(a, b) (upper = 0) or 1 - I_x(a, b)
 * (upper = 1). The caller passes y = 1 - x computed exactly (e.g.
 * t^2/(df+t^2) next to df/(df+t^2)) so neither tail loses digits. Modified
 * Lentz continued fraction on the side that converges. */
double llmopt_dist_beta_inc(double a, double b, double x, double y, int upper);
/* Regularized lower / upper incomplete gamma P(a, x), Q(a, x): series for
 * x < a + 1, Lentz continued fraction otherwise, each tail computed directly. */
double llmopt_dist_gamma_p(double a, double x);
double llmopt_dist_gamma_q(double a, double x);

/* Student t with df > 0 degrees of freedom (df may be fractional, as in
 * Welch's test): CDF, survival, and the two-sided p = P(|T| >= |t|). */
double llmopt_dist_t_cdf(double t, double df);
double llmopt_dist_t_sf(double t, double df);
double llmopt_dist_t_two_sided(double t, double df);

/* Chi-square with k > 0 degrees of freedom: P(X >= x) = Q(k/2, x/2). */
double llmopt_dist_chi2_sf(double x, double k);

#endif
