#!/usr/bin/env python3
"""Reference values for controller/core/ope.c, computed independently with numpy.

Writes tests/data/ope/events.txt (a synthetic log: 3 arms, 3 context features
with an intercept, 2 candidate policies, 4 strata) and tests/data/ope/expected.txt
(IPS, SNIPS, DR point estimates and Poisson-bootstrap percentile intervals,
ESS, sum and max of weights, clipped counts; MEAN and RIDGE reward models,
with and without clipping).

Independence: the estimators are evaluated from their per-event definitions
(DR = mean over events of sum_a pi(a) q(x, a) + w (r - q(x, a_i))) with numpy,
not from the sufficient-statistic decomposition the C code uses. Only the
bootstrap weights are shared: the same xoshiro256** stream (seeded by
splitmix64, as controller/core/rng.c) and the same Poisson(1) inversion, so
that the replicates are the same resamples.

Run: .venv/bin/python tests/tools/gen_ope_golden.py
"""
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "ope")
M64 = (1 << 64) - 1


class Xoshiro:
    def __init__(self, seed):
        x = seed & M64
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & M64

    def u64(self):
        s = self.s
        result = (self.rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self.rotl(s[3], 45)
        return result


def poisson1(u):
    x = float(u >> 11) * 2.0 ** -53
    p = float.fromhex("0x1.78b56362cef38p-2")
    cdf = p
    j = 0
    while j < 19 and x >= cdf:
        j += 1
        p /= float(j)
        cdf += p
    return j


def make_log(n, seed):
    rng = np.random.default_rng(seed)
    k = 3
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.uniform(0, 2, size=n)])
    strata = rng.integers(0, 4, size=n)
    logging = np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.34, 0.33, 0.33], [0.1, 0.8, 0.1]])
    mu_all = logging[strata]
    arms = np.array([rng.choice(k, p=m) for m in mu_all])
    mu = mu_all[np.arange(n), arms]
    beta = np.array([[0.3, 0.1, 0.05], [0.5, -0.1, 0.0], [0.2, 0.0, 0.15]])
    mean = np.einsum("ij,ij->i", X, beta[arms])
    r = mean + rng.normal(scale=0.2, size=n)
    pi0 = np.tile([0.1, 0.7, 0.2], (n, 1))                       # fixed weights
    z = np.exp(np.column_stack([X[:, 1], -X[:, 1], X[:, 2] - 1]))  # contextual softmax
    pi1 = z / z.sum(axis=1, keepdims=True)
    return arms, mu, r, strata, X, np.stack([pi0, pi1], axis=1)


def counts_matrix(n, B, seed):
    g = Xoshiro(seed)
    C = np.zeros((B + 1, n))
    C[0, :] = 1
    for i in range(n):
        for b in range(1, B + 1):
            C[b, i] = poisson1(g.u64())
    return C


def q_mean(C, arms, r, k):
    """Per-replicate per-arm logged means (overall mean for an empty arm)."""
    Q = np.zeros((C.shape[0], k))
    for b in range(C.shape[0]):
        c = C[b]
        tot = c.sum()
        for a in range(k):
            na = c[arms == a].sum()
            Q[b, a] = (c[arms == a] * r[arms == a]).sum() / na if na > 0 else (c * r).sum() / tot
    return Q


def ridge_theta(X, arms, r, k, lam):
    d = X.shape[1]
    th = np.zeros((k, d))
    for a in range(k):
        Xa, ra = X[arms == a], r[arms == a]
        th[a] = np.linalg.solve(lam * np.eye(d) + Xa.T @ Xa, Xa.T @ ra)
    return th


def pct(v, level):
    v = v[~np.isnan(v)]
    t = (1 - level) / 2
    return np.percentile(v, 100 * t), np.percentile(v, 100 * (1 - t))


def main():
    n, B, seed, level, lam = 400, 50, 7, 0.9, 0.5
    arms, mu, r, strata, X, PI = make_log(n, 20261129)
    k, P = 3, PI.shape[1]
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "events.txt"), "w") as f:
        f.write("# arm propensity reward stratum x0 x1 x2 pi0[3] pi1[3]  (gen_ope_golden.py)\n")
        for i in range(n):
            vals = [repr(float(v)) for v in (mu[i], r[i], *X[i], *PI[i, 0], *PI[i, 1])]
            f.write("%d %s %s %d %s\n" % (arms[i], vals[0], vals[1], strata[i], " ".join(vals[2:])))
    C = counts_matrix(n, B, seed)
    lines = ["# model clip policy metric value lo hi  (n=%d B=%d seed=%d level=%g lambda=%g)"
             % (n, B, seed, level, lam)]
    for model in ("mean", "ridge"):
        for clip in (0.0, 2.0):
            if model == "mean":
                Q = q_mean(C, arms, r, k)                   # (B+1, k)
                qall = np.broadcast_to(Q[:, None, :], (B + 1, n, k))
            else:
                th = ridge_theta(X, arms, r, k, lam)
                qx = X @ th.T                                # (n, k)
                qall = np.broadcast_to(qx[None, :, :], (B + 1, n, k))
            for p in range(P):
                w = PI[np.arange(n), p, arms] / mu
                clipped = int((w > clip).sum()) if clip > 0 else 0
                if clip > 0:
                    w = np.minimum(w, clip)
                ncount = C.sum(axis=1)
                ips = (C * (w * r)).sum(axis=1) / ncount
                snips = (C * (w * r)).sum(axis=1) / (C * w).sum(axis=1)
                direct = np.einsum("bik,ik->bi", qall, PI[:, p, :])
                qlog = qall[:, np.arange(n), arms]
                dr = (C * (direct + w * (r - qlog))).sum(axis=1) / ncount
                for name, v in (("ips", ips), ("snips", snips), ("dr", dr)):
                    lo, hi = pct(v[1:], level)
                    lines.append("%s %g %d %s %r %r %r" % (model, clip, p, name, float(v[0]), float(lo), float(hi)))
                ess = w.sum() ** 2 / (w ** 2).sum()
                lines.append("%s %g %d ess %r 0 0" % (model, clip, p, float(ess)))
                lines.append("%s %g %d sum_w %r 0 0" % (model, clip, p, float(w.sum())))
                lines.append("%s %g %d max_w %r 0 0" % (model, clip, p, float(w.max())))
                lines.append("%s %g %d clipped %d 0 0" % (model, clip, p, clipped))
    logv = (C * r).sum(axis=1) / C.sum(axis=1)
    lo, hi = pct(logv[1:], level)
    lines.append("any 0 0 logging %r %r %r" % (float(logv[0]), float(lo), float(hi)))
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d expected values" % (len(lines) - 1))


if __name__ == "__main__":
    main()
