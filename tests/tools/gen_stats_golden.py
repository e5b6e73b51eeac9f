#!/usr/bin/env python3
"""Golden files for controller/core statistics (dist.c, stats.c).

Reference values from scipy (special functions, distributions, Welch's
t-test, chi-square GOF) and statsmodels (pooled two-proportion z-test, Holm
adjustment). statsmodels is needed only here:
    .venv/bin/pip install statsmodels
Run from the repo root:  .venv/bin/python tests/tools/gen_stats_golden.py

Each file is whitespace-separated text, one case per line, numbers as %.17g,
a '#' first line naming the columns:
  dist.txt     func a b c expected     (func: ndtr ndtri betaln betainc
                                        betaincc gammainc gammaincc tsf t2 chi2sf)
  welch.txt    mean_a var_a n_a mean_b var_b n_b t df p
  propz.txt    x_a n_a x_b n_b z p
  chi2gof.txt  k obs_1..obs_k w_1..w_k stat df p
  holm.txt     m p_1..p_m adj_1..adj_m
"""
import os

import numpy as np
import scipy
from scipy import special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "stats")


def g(v):
    return "%.17g" % float(v)


def dist_cases():
    rows = []
    for x in [-38.0, -37.5, -30.0, -20.0, -10.0, -5.0, -2.5, -1.0, -1e-8, 0.0, 0.3, 1.0, 3.0,
              6.0, 8.0]:
        rows.append(("ndtr", x, 0, 0, special.ndtr(x)))
    for p in [1e-300, 1e-200, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.02, 0.024, 0.025, 0.1, 0.3,
              0.5 - 1e-12, 0.5, 0.5 + 1e-10, 0.6, 0.9, 0.975, 0.999999, 1 - 1e-12]:
        rows.append(("ndtri", p, 0, 0, special.ndtri(p)))
    for a, b in [(0.5, 0.5), (1.5, 7.0), (3.0, 12.0), (12.0, 30.0), (0.5, 5e5), (5e5, 0.5),
                 (1e4, 2e4), (2.5e6, 0.5)]:
        rows.append(("betaln", a, b, 0, special.betaln(a, b)))
    for a, b, x in [(0.5, 0.5, 0.3), (2.0, 3.0, 0.4), (10.0, 0.5, 0.01), (10.0, 0.5, 0.999),
                    (50.0, 0.5, 1e-10), (0.5, 50.0, 0.9), (100.0, 200.0, 0.33), (7.3, 0.5, 0.5)]:
        rows.append(("betainc", a, b, x, special.betainc(a, b, x)))
        rows.append(("betaincc", a, b, x, special.betaincc(a, b, x)))
    for a, x in [(0.5, 0.1), (0.5, 3.0), (1.0, 1.0), (2.5, 0.01), (2.5, 40.0), (4.5, 700.0),
                 (10.0, 9.0), (10.0, 11.0), (0.5, 690.0)]:
        rows.append(("gammainc", a, x, 0, special.gammainc(a, x)))
        rows.append(("gammaincc", a, x, 0, special.gammaincc(a, x)))
    for t, df in [(0.0, 5.0), (0.5, 1.0), (-0.5, 1.0), (2.0, 3.5), (-2.0, 3.5), (1.96, 1e6),
                  (5.0, 10.0), (40.0, 10.0), (1e20, 30.0), (-1e3, 2.0), (37.0, 1e7), (8.0, 123.4),
                  (1e-6, 20.0), (1e150, 1.0)]:
        rows.append(("tsf", t, df, 0, stats.t.sf(t, df)))
        rows.append(("t2", t, df, 0, 2.0 * stats.t.sf(abs(t), df)))
    for x, k in [(0.1, 1.0), (3.84, 1.0), (10.0, 2.0), (50.0, 3.0), (1300.0, 1.0), (1340.0, 4.0),
                 (0.5, 9.0), (30.0, 9.0), (7.0, 7.0)]:
        rows.append(("chi2sf", x, k, 0, stats.chi2.sf(x, k)))
    return rows


def welch_cases(rng):
    rows = []
    specs = [(20, 10.0, 2.0, 25, 10.5, 3.0), (5, 0.0, 1.0, 7, 0.4, 9.0), (200, 1.0, 1.0, 300, 1.1, 1.2),
             (1000, 0.0, 1.0, 1000, 0.0, 1.0), (40, 0.0, 1.0, 40, 3.0, 1.0), (3, 5.0, 0.1, 60, 9.0, 4.0),
             (50000, 0.2, 1.0, 50000, 0.21, 1.0), (30, 100.0, 1.0, 30, 110.0, 1.0),
             (12, 0.0, 0.01, 15, 50.0, 0.02)]
    for na, ma, sa, nb, mb, sb in specs:
        a = rng.normal(ma, sa, na)
        b = rng.normal(mb, sb, nb)
        mean_a, mean_b = float(np.mean(a)), float(np.mean(b))
        var_a, var_b = float(np.var(a, ddof=1)), float(np.var(b, ddof=1))
        res = stats.ttest_ind(a, b, equal_var=False)
        # ttest_ind recomputes the moments from the raw arrays; check it agrees
        # with the summary statistics the C side gets
        ref = stats.ttest_ind_from_stats(mean_a, np.sqrt(var_a), na, mean_b, np.sqrt(var_b), nb,
                                         equal_var=False)
        assert abs(res.statistic - ref.statistic) <= 1e-9 * abs(ref.statistic) + 1e-12
        se2 = var_a / na + var_b / nb
        df = se2 ** 2 / ((var_a / na) ** 2 / (na - 1) + (var_b / nb) ** 2 / (nb - 1))
        rows.append((mean_a, var_a, na, mean_b, var_b, nb, ref.statistic, df, ref.pvalue))
    # summary-statistics cases reaching far into the tail (p near 1e-300)
    for mean_a, var_a, na, mean_b, var_b, nb in [(0.0, 1.0, 10000, 0.45, 1.0, 10000),
                                                 (0.0, 1.0, 10000, 0.52, 1.3, 10000),
                                                 (0.0, 2.0, 4, 9.0, 3.0, 5),
                                                 (1.0, 1e-6, 1000000, 1.000005, 2e-6, 1000000)]:
        ref = stats.ttest_ind_from_stats(mean_a, np.sqrt(var_a), na, mean_b, np.sqrt(var_b), nb,
                                         equal_var=False)
        va, vb = np.sqrt(var_a) ** 2, np.sqrt(var_b) ** 2  # what scipy actually used
        se2 = va / na + vb / nb
        df = se2 ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
        rows.append((mean_a, va, na, mean_b, vb, nb, ref.statistic, df, ref.pvalue))
    return rows


def propz_cases():
    rows = []
    for xa, na, xb, nb in [(45, 1000, 60, 1000), (5, 50, 9, 40), (1200, 10000, 1100, 10000),
                           (0, 100, 10, 100), (500000, 1000000, 505000, 1000000),
                           (3, 7, 3, 7), (10, 1000000, 900, 1000000)]:
        z, p = proportions_ztest(np.array([xa, xb]), np.array([na, nb]))
        rows.append((xa, na, xb, nb, z, p))
    return rows


def chi2_cases():
    rows = []
    for obs, w in [([5010, 4990], [1, 1]), ([5200, 4800], [1, 1]), ([1000, 2100], [1, 2]),
                   ([333, 340, 327], [1, 1, 1]), ([100, 150, 250, 500], [0.1, 0.15, 0.25, 0.5]),
                   ([70000, 30000], [0.5, 0.5]), ([1, 0, 3], [2, 1, 1])]:
        obs = np.array(obs, dtype=float)
        w = np.array(w, dtype=float)
        exp = obs.sum() * (w / w.sum())
        stat, p = stats.chisquare(obs, exp)
        rows.append((len(obs),) + tuple(obs) + tuple(w) + (stat, len(obs) - 1, p))
    return rows


def holm_cases(rng):
    rows = []
    sets = [[0.01, 0.04, 0.03, 0.005], [0.5], [0.2, 0.2, 0.01, 0.9, 0.04],
            [1e-300, 0.5, 1.0, 0.0], list(rng.uniform(0, 0.1, 12)), [0.03, 0.03, 0.03]]
    for ps in sets:
        adj = multipletests(np.array(ps), method="holm")[1]
        rows.append((len(ps),) + tuple(ps) + tuple(adj))
    return rows


def write(name, header, rows):
    with open(os.path.join(OUT, name), "w") as f:
        f.write("# " + header + "\n")
        for r in rows:
            f.write(" ".join(v if isinstance(v, str) else g(v) for v in r) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(424242)
    write("dist.txt", "func a b c expected (scipy %s)" % scipy.__version__, dist_cases())
    write("welch.txt", "mean_a var_a n_a mean_b var_b n_b t df p", welch_cases(rng))
    write("propz.txt", "x_a n_a x_b n_b z p (statsmodels proportions_ztest)", propz_cases())
    write("chi2gof.txt", "k obs_1..obs_k w_1..w_k stat df p", chi2_cases())
    write("holm.txt", "m p_1..p_m adj_1..adj_m (statsmodels multipletests holm)", holm_cases(rng))
    print("wrote golden files to %s" % os.path.normpath(OUT))


if __name__ == "__main__":
    main()
