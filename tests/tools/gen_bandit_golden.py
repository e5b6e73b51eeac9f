#!/usr/bin/env python3
"""Golden values for tests/unit/test_bandit.c and test_linucb.c, computed
independently of the C code with scipy and numpy.

pbest.txt: probability that each arm is best, for K independent posteriors,
  P(i best) = integral f_i(x) prod_{j != i} F_j(x) dx  (scipy.integrate.quad)
  beta lines:  beta K a_1 b_1 ... a_K b_K p_1 ... p_K
  t lines:     t K df_1 loc_1 scale_1 ... p_1 ... p_K   (NIG marginals of the mean)
linucb.txt: a disjoint LinUCB run recomputed with numpy by direct inversion:
  header: k d lambda alpha v
  'u arm r x_1..x_d' update lines, then per arm 'theta arm ...' and
  'ainv arm ...' (row-major), then 'score arm alpha x_1..x_d ucb' and
  'ts arm v z x_1..x_d score' lines for fresh contexts.

Run: /work/main/.venv/bin/python tests/tools/gen_bandit_golden.py
"""
import os

import numpy as np
from scipy import integrate, stats

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "bandit")


def pbest(dists, lo, hi, breaks=()):
    ps = []
    for i, di in enumerate(dists):
        def f(x, i=i, di=di):
            v = di.pdf(x)
            for j, dj in enumerate(dists):
                if j != i:
                    v *= dj.cdf(x)
            return v
        p, _ = integrate.quad(f, lo, hi, points=list(breaks) or None, limit=500,
                              epsabs=1e-13, epsrel=1e-11)
        ps.append(p)
    return ps


M64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def xoshiro_stream(seed, n):
    """xoshiro256** (Blackman & Vigna) seeded by four splitmix64 outputs."""
    s, x = [], seed
    for _ in range(4):
        x, z = splitmix64(x)
        s.append(z)
    rotl = lambda v, k: ((v << k) | (v >> (64 - k))) & M64
    out = []
    for _ in range(n):
        out.append((rotl((s[1] * 5) & M64, 7) * 9) & M64)
        t = (s[1] << 17) & M64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "xoshiro.txt"), "w") as f:
        f.write("# seed then the first 8 xoshiro256** outputs after splitmix64 seeding (pure python)\n")
        for seed in (0, 1, 42, 0xDEADBEEFCAFEBABE):
            f.write("%d %s\n" % (seed, " ".join("%d" % v for v in xoshiro_stream(seed, 8))))
    with open(os.path.join(OUT, "pbest.txt"), "w") as f:
        f.write("# beta K (a b)*K p*K | t K (df loc scale)*K p*K ; scipy %s quad\n"
                % __import__("scipy").__version__)
        beta_cases = [
            [(1, 1), (1, 1)],
            [(3, 2), (2, 3)],
            [(11, 91), (16, 86)],
            [(50, 50), (55, 45)],
            [(2.5, 7.25), (3.0, 6.0)],
            [(101, 901), (121, 881)],
            [(5, 5), (6, 4), (7, 3)],
            [(1, 1), (30, 70), (31, 69), (45, 55)],
        ]
        for c in beta_cases:
            ds = [stats.beta(a, b) for a, b in c]
            ps = pbest(ds, 0.0, 1.0)
            f.write("beta %d %s %s\n" % (len(c), " ".join("%r %r" % (float(a), float(b)) for a, b in c),
                                        " ".join("%.17g" % p for p in ps)))
        t_cases = [
            [(4.0, 0.0, 1.0), (4.0, 0.5, 1.0)],
            [(10.0, 1.2, 0.3), (12.0, 1.0, 0.25)],
            [(3.0, 0.1, 2.0), (50.0, 0.0, 0.1), (7.0, -0.3, 0.7)],
        ]
        for c in t_cases:
            ds = [stats.t(df, loc=m, scale=s) for df, m, s in c]
            ps = pbest(ds, -np.inf, np.inf)
            f.write("t %d %s %s\n" % (len(c), " ".join("%r %r %r" % x for x in c),
                                     " ".join("%.17g" % p for p in ps)))

    rng = np.random.default_rng(20261129)
    k, d, lam, alpha, v = 3, 8, 1.0, 0.7, 0.5
    true = rng.normal(0, 0.5, size=(k, d))
    A = [lam * np.eye(d) for _ in range(k)]
    b = [np.zeros(d) for _ in range(k)]
    with open(os.path.join(OUT, "linucb.txt"), "w") as f:
        f.write("# gen_bandit_golden.py, numpy %s: LinUCB disjoint by direct inversion\n"
                % np.__version__)
        f.write("%d %d %r %r %r\n" % (k, d, lam, alpha, v))
        for _ in range(400):
            arm = int(rng.integers(k))
            x = rng.normal(0, 1, size=d)
            x[0] = 1.0
            r = float(true[arm] @ x + rng.normal(0, 0.1))
            A[arm] += np.outer(x, x)
            b[arm] += r * x
            f.write("u %d %.17g %s\n" % (arm, r, " ".join("%.17g" % xi for xi in x)))
        for a in range(k):
            ainv = np.linalg.inv(A[a])
            theta = ainv @ b[a]
            f.write("theta %d %s\n" % (a, " ".join("%.17g" % t for t in theta)))
            f.write("ainv %d %s\n" % (a, " ".join("%.17g" % t for t in ainv.ravel())))
        for _ in range(10):
            x = rng.normal(0, 1, size=d)
            for a in range(k):
                ainv = np.linalg.inv(A[a])
                theta = ainv @ b[a]
                ucb = theta @ x + alpha * np.sqrt(x @ ainv @ x)
                f.write("score %d %r %s %.17g\n" % (a, alpha, " ".join("%.17g" % xi for xi in x), ucb))
                z = float(rng.normal())
                ts = theta @ x + v * z * np.sqrt(x @ ainv @ x)
                f.write("ts %d %r %.17g %s %.17g\n" % (a, v, z, " ".join("%.17g" % xi for xi in x), ts))


if __name__ == "__main__":
    main()
