#!/usr/bin/env python3
"""The example queries of sql/queries/ and the views of 0005_views.sql, run
against data loaded BY THE SINK (integration, real Kafka + Postgres).

A designed data set (relative to now) goes through fresh topics and
`llmopt sink` into a scratch database; each sql/queries/*.sql file is then run
and its result compared with the answer computed here in Python from the same
records (independently of SQL): exact for counts, ids and versions, 1e-9
relative for means and sums, and for t-digest percentiles a band of the exact
empirical quantiles.

usage: sink_queries.py --llmopt build/tools/llmopt
"""
import argparse
import math
import os
import random
import time

import numpy as np

import sink_common as sc

FORMATS = {"metrics": "avro", "signals": "avro", "routing": "avro", "outcomes": "json"}
MIN = 60000
HOUR = 3600000
DAY = 86400000


def close(a, b, rel=1e-9):
    return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=rel,
                                                            abs_tol=1e-12)


def build(now_ms):
    rng = random.Random(5)
    H = now_ms - now_ms % HOUR
    recs = []  # (table, record)
    lat = {"gpt-4o": [], "claude": [], "llama-3": []}  # tumbling, last 6 h
    # ---- window metrics: route chat, 1-minute tumbling windows every 10 min
    spike_window = H - HOUR + 10 * MIN
    for h in range(4, 0, -1):  # hours H-4 .. H-1
        for k in range(6):
            start = H - h * HOUR + k * 10 * MIN
            for arm in lat:
                if arm == "gpt-4o":
                    v = [rng.uniform(100, 200) for _ in range(10)]
                elif arm == "claude":
                    v = [rng.uniform(800, 1000) if h <= 2 else rng.uniform(100, 200)
                         for _ in range(10)]
                else:
                    v = [rng.uniform(300, 400) for _ in range(10)]
                errors = 5 if (arm == "llama-3" and start == spike_window) else 0
                lat[arm].extend(v)
                recs.append(("metrics", sc.metrics("chat", arm, start, MIN, v, errors=errors,
                                                   cost_usd=0.01 * len(v))))
    # outside the 6 h and of another kind: must not move the p99
    recs.append(("metrics", sc.metrics("chat", "gpt-4o", H - 8 * HOUR, MIN, [5000.0] * 10)))
    recs.append(("metrics", sc.metrics("chat", "gpt-4o", H - 2 * HOUR, 5 * MIN, [9999.0] * 10,
                                       kind="hopping", advance_ms=MIN)))
    # ---- the regression's signal and the controller's reaction
    sig = sc.signal_rec("chat", "claude", H - 2 * HOUR + 15 * MIN, detector="adwin",
                        metric="latency_ms", before=150.0, after=900.0, sample_index=1)
    recs.append(("signals", sig))
    recs.append(("signals", sc.signal_rec("chat", "gpt-4o", H - 30 * HOUR, detector="cusum",
                                          metric="error", sample_index=7)))
    v1 = sc.decision("chat", 1, H - 6 * HOUR, {"gpt-4o": 0.34, "claude": 0.33, "llama-3": 0.33})
    v2 = sc.decision("chat", 2, H - 2 * HOUR + 20 * MIN,
                     {"gpt-4o": 0.475, "claude": 0.05, "llama-3": 0.475},
                     reason="latency drift on claude", signal_ids=[sig["signal_id"]])
    v3 = sc.decision("chat", 3, H - HOUR + 30 * MIN,
                     {"gpt-4o": 0.5, "claude": 0.05, "llama-3": 0.45})
    recs += [("routing", v1), ("routing", v2), ("routing", v2), ("routing", v3)]

    # ---- outcomes over the last days
    models = {"gpt-4o": (0.90, 0.010), "claude": (0.895, 0.006), "llama-3": (0.70, 0.001)}
    n = 0
    for model, (q, cost) in models.items():
        for i in range(120):
            n += 1
            ts = now_ms - rng.randint(HOUR, 5 * DAY)
            st = "error" if i % 12 == 0 else "ok"
            o = sc.outcome("o%d" % n, "chat", model, ts, tenant=["acme", "globex", None][i % 3],
                           status=st, quality=min(1.0, max(0.0, rng.gauss(q, 0.03))),
                           cost_usd=cost * rng.uniform(0.5, 1.5), reward=rng.random())
            recs.append(("outcomes", o))
            if i % 10 == 0:  # a feedback revision: same request, not a new cost
                u = dict(o, outcome_id=o["outcome_id"] + ":u1", is_update=True,
                         reward=rng.random(), feedback_ts_ms=ts + 1000)
                recs.append(("outcomes", u))
    for i in range(10):  # few samples: excluded by the HAVING
        n += 1
        recs.append(("outcomes", sc.outcome("o%d" % n, "chat", "tiny", now_ms - HOUR, quality=0.99,
                                            cost_usd=0.0001, tenant="acme")))
    for i in range(20):  # older than a week
        n += 1
        recs.append(("outcomes", sc.outcome("o%d" % n, "chat", "llama-3", now_ms - 10 * DAY,
                                            quality=0.99, cost_usd=0.5, tenant="acme")))
    # experiment exp-1
    for i in range(80):
        n += 1
        variant, arm = ("control", "gpt-4o") if i % 2 == 0 else ("treatment", "claude")
        o = sc.outcome("x%d" % n, "search", arm, now_ms - rng.randint(HOUR, DAY),
                       experiment_id="exp-1", variant=variant,
                       reward=rng.uniform(0.3, 0.6) if variant == "control" else rng.uniform(0.4, 0.8),
                       cost_usd=0.002)
        recs.append(("outcomes", o))
        if i % 4 < 2:
            recs.append(("outcomes", dict(o, outcome_id=o["outcome_id"] + ":u1", is_update=True,
                                          reward=rng.random(), feedback_ts_ms=o["ts_ms"] + 5000)))
    return H, recs, lat, sig


def run_query(conn, name):
    sql = open(os.path.join(sc.ROOT, "sql", "queries", name)).read()
    cur = conn.execute(sql)
    cols = [d.name for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmopt", required=True)
    args = ap.parse_args()
    llmopt = os.path.abspath(args.llmopt)
    now_ms = int(time.time() * 1000)
    H, recs, lat, sig = build(now_ms)
    db = sc.ScratchDb(llmopt, "sinkq")
    topics = sc.Topics("q")
    sink = None
    checked = []
    try:
        p = sc.producer()
        for table, rec in recs:
            sc.produce(p, topics.names[table], rec["route"],
                       sc.encode(sc.RECORD[table], rec, FORMATS[table]))
        p.flush(30)
        sink = sc.Sink(llmopt, db.dsn, topics, "queries", FORMATS,
                       extra=["-X", "sink.batch.age=300ms"])
        sink.start()
        sc.wait_offsets(db.connect, "queries", topics, sc.TABLES, 120, sink)
        if sink.stop() != 0:
            sc.fail("sink exit code")
        conn = db.connect()
        conn.execute("INSERT INTO llmopt.experiments (experiment_id, name, route, status, "
                     "primary_metric) VALUES ('exp-1', 'gpt vs claude', 'search', 'running', 'reward')")
        conn.execute("INSERT INTO llmopt.experiment_arms VALUES ('exp-1', 'control', 'gpt-4o', 0.5, "
                     "true), ('exp-1', 'treatment', 'claude', 0.5, false)")
        outcomes = [r for t, r in recs if t == "outcomes"]

        # p99 per arm, last 6 h
        rows = run_query(conn, "p99_latency_per_arm_last_6h.sql")
        if [r["arm"] for r in rows] != sorted(lat):
            sc.fail("p99: arms %s" % [r["arm"] for r in rows])
        for r in rows:
            v = np.array(lat[r["arm"]])
            lo, hi = np.percentile(v, 98), np.percentile(v, 99.9)
            if not (lo <= r["p99_ms"] <= hi) or r["requests"] != len(v):
                sc.fail("p99 %s: %s (want %.3f..%.3f), requests %s (want %d)" % (
                    r["arm"], r["p99_ms"], lo, hi, r["requests"], len(v)))
        checked.append("p99_latency_per_arm_last_6h")

        # cheapest model at equal quality
        rows = run_query(conn, "cheapest_model_equal_quality_this_week.sql")
        per = {}
        for o in outcomes:
            if (o["route"] == "chat" and not o["is_update"] and o["status"] == "ok"
                    and o["ts_ms"] >= now_ms - 7 * DAY):
                per.setdefault(o["model"], []).append(o)
        per = {m: v for m, v in per.items() if len(v) >= 30}
        qual = {m: sum(o["quality"] for o in v) / len(v) for m, v in per.items()}
        cost = {m: sum(o["cost_usd"] for o in v) / len(v) for m, v in per.items()}
        best = max(qual.values())
        want = sorted((m for m in per if qual[m] >= best - 0.02), key=lambda m: (cost[m], m))
        if [r["model"] for r in rows] != want or want[0] != "claude":
            sc.fail("cheapest: %s, want %s" % ([r["model"] for r in rows], want))
        for r in rows:
            if r["requests"] != len(per[r["model"]]) or not close(r["quality"], qual[r["model"]]) \
                    or not close(r["cost_per_request"], cost[r["model"]]):
                sc.fail("cheapest row %s" % r)
        checked.append("cheapest_model_equal_quality_this_week")

        # p95 regression and the reaction
        rows = run_query(conn, "p95_regression_and_reaction.sql")
        if len(rows) != 1:
            sc.fail("regression: %d rows %s" % (len(rows), rows))
        r = rows[0]
        hour_ms = int(r["hour"].timestamp() * 1000)
        if (r["arm"] != "claude" or hour_ms != H - 2 * HOUR or r["detector"] != "adwin"
                or r["decision_version"] != 2 or not close(r["arm_weight_before"], 0.33)
                or not close(r["arm_weight_after"], 0.05)
                or not (200 >= r["prev_p95_ms"] >= 180 and 1000 >= r["latency_p95_ms"] >= 960)):
            sc.fail("regression row %s" % r)
        checked.append("p95_regression_and_reaction")

        # cost by tenant
        rows = run_query(conn, "cost_by_tenant_last_7_days.sql")
        today = now_ms // DAY
        agg = {}
        for o in outcomes:
            if not o["is_update"] and o["ts_ms"] // DAY >= today - 6:
                t = o["tenant"] or "(none)"
                a = agg.setdefault(t, [0, 0.0])
                a[0] += 1
                a[1] += o["cost_usd"]
        want = sorted(agg, key=lambda t: (-agg[t][1], t))
        if [r["tenant"] for r in rows] != want:
            sc.fail("cost by tenant order %s want %s" % ([r["tenant"] for r in rows], want))
        for r in rows:
            if r["requests"] != agg[r["tenant"]][0] or not close(r["cost_usd"], agg[r["tenant"]][1]):
                sc.fail("cost by tenant %s want %s" % (r, agg[r["tenant"]]))
        checked.append("cost_by_tenant_last_7_days")

        # error-rate spikes
        rows = run_query(conn, "error_rate_spikes.sql")
        if (len(rows) != 1 or rows[0]["arm"] != "llama-3"
                or int(rows[0]["window_start"].timestamp() * 1000) != H - HOUR + 10 * MIN
                or not close(rows[0]["error_rate"], 0.5)
                or not close(rows[0]["route_error_rate"], 5 / 30)):
            sc.fail("error spikes %s" % rows)
        checked.append("error_rate_spikes")

        # experiment results: latest revision of each request's reward
        rows = run_query(conn, "experiment_results.sql")
        latest = {}
        base = {}
        for o in outcomes:
            if o["experiment_id"] != "exp-1":
                continue
            if not o["is_update"]:
                base[o["request_id"]] = o
            cur = latest.get(o["request_id"])
            if cur is None or (o["is_update"] and not cur["is_update"]):
                latest[o["request_id"]] = o
        means = {}
        for v in ("control", "treatment"):
            rs = [latest[k]["reward"] for k, o in base.items() if o["variant"] == v]
            means[v] = (len(rs), sum(rs) / len(rs), float(np.std(rs, ddof=1)) / math.sqrt(len(rs)))
        if [r["variant"] for r in rows] != ["control", "treatment"]:
            sc.fail("experiment variants %s" % rows)
        for r in rows:
            n_, m_, se_ = means[r["variant"]]
            if r["requests"] != n_ or not close(r["reward_mean"], m_) or not close(r["reward_stderr"], se_, 1e-6):
                sc.fail("experiment row %s want %s" % (r, means[r["variant"]]))
        lift = means["treatment"][1] - means["control"][1]
        if not close(rows[1]["reward_lift_vs_control"], lift) or not close(rows[0]["reward_lift_vs_control"], 0.0):
            sc.fail("lift %s want %s" % (rows[1]["reward_lift_vs_control"], lift))
        checked.append("experiment_results")

        # arm_daily totals agree with the tumbling windows
        got = dict(conn.execute("SELECT arm, sum(requests)::bigint FROM llmopt.arm_daily "
                                "WHERE route = 'chat' AND window_size_ms = 60000 GROUP BY arm").fetchall())
        want = {a: len(v) for a, v in lat.items()}
        want["gpt-4o"] += 10  # the 8-hour-old window
        if got != want:
            sc.fail("arm_daily %s want %s" % (got, want))
        checked.append("view arm_daily")

        # retention: `llmopt retention --days 8` drops the day partitions that
        # end at or before midnight UTC 8 days ago: here only the day of the
        # 10-day-old outcomes, for each of the three tables
        import datetime
        import subprocess
        old_day = datetime.datetime.utcfromtimestamp((now_ms - 10 * DAY) / 1000).strftime("%Y%m%d")
        r = subprocess.run([llmopt, "retention", "--days", "x", "-X", "pg.dsn=" + db.dsn],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 2:
            sc.fail("retention --days x: exit %d" % r.returncode)
        before = conn.execute("SELECT count(*) FROM llmopt.outcomes").fetchone()[0]
        r = subprocess.run([llmopt, "retention", "--days", "8", "-X", "pg.dsn=" + db.dsn],
                           capture_output=True, text=True, timeout=60)
        want = sorted("dropped llmopt.%s_p%s" % (t, old_day)
                      for t in ("outcomes", "signals", "window_metrics"))
        if r.returncode != 0 or sorted(r.stdout.split("\n")[:-1]) != want:
            sc.fail("retention: exit %d, out %r, want %s (%s)" % (r.returncode, r.stdout, want, r.stderr))
        after = conn.execute("SELECT count(*) FROM llmopt.outcomes").fetchone()[0]
        if before - after != 20 or conn.execute(
                "SELECT count(*) FROM llmopt.outcomes WHERE ts < now() - interval '9 days'").fetchone()[0]:
            sc.fail("retention removed %d outcome rows, want the 20 old ones" % (before - after))
        checked.append("retention --days 8")

        missing = sorted(f[:-4] for f in os.listdir(os.path.join(sc.ROOT, "sql", "queries"))
                         if f.endswith(".sql") and f[:-4] not in checked)
        if missing:
            sc.fail("queries without an asserted test: %s" % missing)
        conn.close()
        sc.log("PASSED:", ", ".join(checked))
    finally:
        if sink and sink.alive():
            sink.kill9()
        topics.delete()
        db.drop()


if __name__ == "__main__":
    main()
