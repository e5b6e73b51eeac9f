#!/usr/bin/env python3
"""Golden files for the window-level anomaly detectors (processor/core
zscore, iqr, mad).

An independent reference: the EWMA recursion in plain Python floats, and
quartiles / medians / MADs from numpy (np.percentile with numpy's default
"linear" method, np.median, np.mean). The series are seeded numpy draws.

Run from the repo root:  .venv/bin/python tests/tools/gen_anomaly_golden.py
Writes tests/data/anomaly/<case>.txt:
  line 1: "<detector> <p1> <p2> <warmup> <guard> <min_scale>"
          zscore: p1 = alpha, p2 = threshold; iqr: p1 = window, p2 = k;
          mad: p1 = window, p2 = threshold
  then one line per value:
          "value ready is_anomaly direction baseline scale score lower upper"
  (%.17g; "nan" where the C verdict field is NaN, i.e. during warm-up)
"""
import math
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "anomaly")
MAD_SCALE = 1.4826
MEANAD_SCALE = 1.253314


def score(x, centre, scale):
    d = x - centre
    if scale > 0:
        return d / scale
    if d == 0:
        return 0.0
    return math.inf if d > 0 else -math.inf


def guard_admit(guard, flagged, x, direction_up, lower, upper):
    if not flagged or guard == "include":
        return x
    if guard == "skip":
        return None
    return upper if direction_up else lower


def ref_zscore(xs, alpha, thr, warmup, guard, min_scale):
    rows, n, mean, var = [], 0, 0.0, 0.0
    for x in xs:
        x = float(x)
        if n < warmup:
            rows.append((x, 0, 0, 0, mean if n else math.nan, math.nan, 0.0, math.nan, math.nan))
            adm = x
        else:
            sigma = max(math.sqrt(var), min_scale)
            s = score(x, mean, sigma)
            lo, hi = mean - thr * sigma, mean + thr * sigma
            flag = abs(s) > thr
            direction = (x > mean) - (x < mean)
            rows.append((x, 1, int(flag), direction, mean, sigma, s, lo, hi))
            adm = guard_admit(guard, flag, x, direction > 0, lo, hi)
        if adm is not None:
            if n == 0:
                mean, var = adm, 0.0
            else:
                d = adm - mean
                incr = alpha * d
                mean = mean + incr
                var = (1.0 - alpha) * (var + d * incr)
            n += 1
    return rows


def ref_iqr(xs, window, k, warmup, guard, min_scale):
    rows, win = [], []
    for x in xs:
        x = float(x)
        if len(win) < warmup:
            rows.append((x, 0, 0, 0, float(np.median(win)) if win else math.nan,
                         math.nan, 0.0, math.nan, math.nan))
            adm = x
        else:
            a = np.array(win)
            q1, q3 = (float(v) for v in np.percentile(a, [25, 75]))
            med = float(np.median(a))
            iqr = max(q3 - q1, min_scale)
            if x > q3:
                s = score(x, q3, iqr)
            elif x < q1:
                s = score(x, q1, iqr)
            else:
                s = 0.0
            lo, hi = q1 - k * iqr, q3 + k * iqr
            flag = abs(s) > k
            direction = (x > med) - (x < med)
            rows.append((x, 1, int(flag), direction, med, iqr, s, lo, hi))
            adm = guard_admit(guard, flag, x, s > 0, lo, hi)
        if adm is not None:
            win.append(adm)
            if len(win) > window:
                win.pop(0)
    return rows


def ref_mad(xs, window, thr, warmup, guard, min_scale):
    rows, win = [], []
    for x in xs:
        x = float(x)
        if len(win) < warmup:
            rows.append((x, 0, 0, 0, float(np.median(win)) if win else math.nan,
                         math.nan, 0.0, math.nan, math.nan))
            adm = x
        else:
            a = np.array(win)
            med = float(np.median(a))
            scale = MAD_SCALE * float(np.median(np.abs(a - med)))
            if scale == 0:
                scale = MEANAD_SCALE * float(np.mean(np.abs(a - med)))
            scale = max(scale, min_scale)
            s = score(x, med, scale)
            lo, hi = med - thr * scale, med + thr * scale
            flag = abs(s) > thr
            direction = (x > med) - (x < med)
            rows.append((x, 1, int(flag), direction, med, scale, s, lo, hi))
            adm = guard_admit(guard, flag, x, s > 0, lo, hi)
        if adm is not None:
            win.append(adm)
            if len(win) > window:
                win.pop(0)
    return rows


def series_latency(rng):
    """p95 latency-like: noise, spikes and dips, then a lasting level shift."""
    xs = rng.normal(100.0, 5.0, 300)
    for i, d in ((60, 45.0), (61, 38.0), (95, -40.0), (140, 60.0), (170, -25.0)):
        xs[i] += d
    xs[220:] += 30.0
    return xs


def series_constant(rng):
    """Constant stretch (zero spread), a departure, then noise."""
    xs = np.concatenate([np.full(40, 2.5), [2.5, 2.75, 2.5, 2.5],
                         rng.normal(2.5, 0.1, 60)])
    return xs


def series_counts(rng):
    """Integer-valued error counts: the MAD is often 0 (MeanAD fallback)."""
    xs = rng.poisson(0.4, 200).astype(float)
    xs[[50, 120, 121]] = [6.0, 9.0, 4.0]
    return xs


def fmt(v):
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return "%.17g" % v
    return str(v)


def write(name, header, rows):
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(" ".join(fmt(v) for v in r) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    lat = series_latency(np.random.default_rng(20261129))
    const = series_constant(np.random.default_rng(7))
    counts = series_counts(np.random.default_rng(11))
    n = 0
    for guard in ("include", "skip", "clip"):
        write("zscore_latency_" + guard, "zscore 0.1 3 10 %s 0" % guard,
              ref_zscore(lat, 0.1, 3.0, 10, guard, 0.0))
        write("iqr_latency_" + guard, "iqr 30 1.5 30 %s 0" % guard,
              ref_iqr(lat, 30, 1.5, 30, guard, 0.0))
        write("mad_latency_" + guard, "mad 30 3.5 30 %s 0" % guard,
              ref_mad(lat, 30, 3.5, 30, guard, 0.0))
        n += 3
    write("zscore_constant_skip", "zscore 0.2 3 10 skip 0",
          ref_zscore(const, 0.2, 3.0, 10, "skip", 0.0))
    write("zscore_constant_minscale", "zscore 0.2 3 10 skip 0.05",
          ref_zscore(const, 0.2, 3.0, 10, "skip", 0.05))
    write("iqr_constant_clip", "iqr 20 1.5 20 clip 0",
          ref_iqr(const, 20, 1.5, 20, "clip", 0.0))
    write("mad_constant_skip", "mad 21 3.5 21 skip 0",
          ref_mad(const, 21, 3.5, 21, "skip", 0.0))
    write("mad_counts_include", "mad 25 3.5 25 include 0",
          ref_mad(counts, 25, 3.5, 25, "include", 0.0))
    write("iqr_counts_skip", "iqr 24 1.5 12 skip 0.5",
          ref_iqr(counts, 24, 1.5, 12, "skip", 0.5))
    write("zscore_counts_clip", "zscore 0.05 3 20 clip 0",
          ref_zscore(counts, 0.05, 3.0, 20, "clip", 0.0))
    n += 7
    print("wrote %d golden files to %s" % (n, os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
