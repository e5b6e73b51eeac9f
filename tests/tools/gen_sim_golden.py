"""Reference values for tests/unit/test_sim_oracle.c, computed independently of the C
closed forms: numerical integration (scipy.integrate.quad) for the clipped normal and the
lognormal latency score, a brute-force sum over every (input, output) token pair for the
cost score. Writes tests/data/simulate/expect_golden.txt:

  qual MEAN SD VALUE
  lat MEDIAN SIGMA BEST WORST VALUE
  cost IN_MIN IN_MAX OUT_MIN OUT_MAX PRICE_IN PRICE_OUT BEST WORST VALUE

Run: .venv/bin/python tests/tools/gen_sim_golden.py
"""
import os

import numpy as np
from scipy import integrate, stats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "simulate", "expect_golden.txt")


def qual(m, sd):
    f = lambda x: min(max(x, 0.0), 1.0) * stats.norm.pdf(x, m, sd)  # noqa: E731
    pts = [0.0, 1.0]
    v = 0.0
    for a, b in ((-np.inf, 0.0), (0.0, 1.0), (1.0, np.inf)):
        v += integrate.quad(f, a, b, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    return v


def lat(med, sig, best, worst):
    g = lambda l: min(max((worst - l) / (worst - best), 0.0), 1.0)  # noqa: E731
    d = stats.lognorm(s=sig, scale=med)
    v = 0.0
    edges = [0.0] + [x for x in (best, worst) if x > 0] + [np.inf]
    for a, b in zip(edges[:-1], edges[1:]):
        v += integrate.quad(lambda l: g(l) * d.pdf(l), a, b, epsabs=1e-13, epsrel=1e-12, limit=400)[0]
    return v


def cost(i0, i1, o0, o1, pin, pout, best, worst):
    ins = np.arange(i0, i1 + 1, dtype=float)[:, None]
    outs = np.arange(o0, o1 + 1, dtype=float)[None, :]
    c = ins / 1000 * pin + outs / 1000 * pout
    return float(np.clip((worst - c) / (worst - best), 0, 1).mean())


lines = []
for m, sd in [(0.7, 0.1), (0.95, 0.2), (0.05, 0.3), (0.5, 1.0), (1.2, 0.3), (-0.1, 0.05)]:
    lines.append("qual %r %r %.15g" % (m, sd, qual(m, sd)))
for med, sig, b, w in [(500, 0.3, 0, 10000), (2000, 0.3, 0, 10000), (6000, 0.5, 0, 10000),
                       (800, 1.2, 100, 3000), (3000, 0.4, 500, 2500)]:
    lines.append("lat %r %r %r %r %.15g" % (med, sig, b, w, lat(med, sig, b, w)))
for args in [(200, 1000, 50, 450, 0.00015, 0.0006, 0, 0.01),
             (200, 1000, 50, 450, 0.0025, 0.01, 0, 0.01),
             (1000, 3000, 100, 900, 0.005, 0.015, 0.001, 0.02),
             (0, 0, 0, 10, 0.0, 1.0, 0.002, 0.008),
             (10, 20, 5, 5, 0.3, 0.0, 0.004, 0.005)]:
    lines.append("cost %d %d %d %d %r %r %r %r %.15g" % (args + (cost(*args),)))
with open(OUT, "w") as f:
    f.write("\n".join(lines) + "\n")
print("wrote", OUT, len(lines), "cases")
