#!/usr/bin/env python3
"""Signal on llm.signals -> new decision readable on llm.routing, on the real stack.

One llmopt-controller with its own Postgres database, one route with 5 arms (Thompson,
1000 draws). After W untimed warm-up signals, N drift signals are produced one after another (JSON, linger.ms 0, flushed);
each is timed from produce() to the moment the decision carrying its signal id is polled
from llm.routing. The path includes decode, the route update, the decision, the Postgres
transaction (state + version + decision log + offsets) and the idempotent produce.

Usage (repo root, stack up: eval "$(tests/stack.sh env)"):
  .venv/bin/python bench/bench_ctl_latency.py --llmopt build/tools/llmopt \
      --controller build/controller/llmopt-controller --signals 300
Bar (issue 6): p99 <= 50 ms.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import controller_test as ct  # noqa: E402  (shared helpers: Routing, start, dsn_for)

import psycopg  # noqa: E402
from confluent_kafka import Producer  # noqa: E402


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmopt", required=True)
    ap.add_argument("--controller", required=True)
    ap.add_argument("--signals", type=int, default=300)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=5,
                    help="signals sent first and not timed (consumer assignment, first fetches)")
    args = ap.parse_args()
    pid = os.getpid()
    db = "llmopt_ctlbench_%d" % pid
    route = "ctlbench_%d_%d" % (pid, int(time.time()))
    tmp = tempfile.mkdtemp(prefix="ctlbench")
    with psycopg.connect(ct.ADMIN_DSN, autocommit=True) as a:
        a.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
        a.execute("CREATE DATABASE %s" % db)
    proc = None
    try:
        dsn = ct.dsn_for(db)
        r = subprocess.run([args.llmopt, "migrate", "-X", "pg.dsn=" + dsn, "-X",
                            "migrate.dir=" + os.path.join(ROOT, "sql", "migrations")],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            sys.exit("migrate failed: " + r.stderr)
        policy = os.path.join(tmp, "policy.json")
        json.dump({"routes": [{
            "route": route, "algorithm": "thompson", "exploration_floor": 0.02,
            "update": {"epsilon": 0.0, "heartbeat_ms": 60000, "thompson_draws": args.draws},
            "guardrails": {"cooldown_ms": 60000},
            "arms": [{"id": "a%d" % i, "provider": "p", "model": "m%d" % i} for i in range(5)]}]},
            open(policy, "w"))
        # the shared start() points the controller at the test's own metrics topic
        ct.METRICS = "llm.metrics"
        rt = ct.Routing(route)
        prod = Producer({"bootstrap.servers": ct.BOOTSTRAP, "linger.ms": 0})
        proc = ct.start(args.controller, "bench", dsn, policy, 9, tmp)
        rt.poll_until(lambda d: d["version"] == 1, 30, "version 1")
        lat = []
        for i in range(args.warmup + args.signals):
            sid = "%s|a%d|adwin|latency_ms|%d" % (route, i % 5, i)
            rec = {"signal_id": sid, "ts_ms": int(time.time() * 1000), "route": route,
                   "arm": "a%d" % (i % 5), "kind": "drift", "detector": "adwin",
                   "metric": "latency_ms", "direction": "up" if i % 2 == 0 else "down",
                   "magnitude": 150.0, "before": 100.0, "after": 250.0, "sample_index": i,
                   "severity": 1.5, "window_end_ms": None}
            t0 = time.time()
            prod.produce("llm.signals", key=route, value=json.dumps(rec))
            prod.flush(10)
            d = rt.poll_until(lambda d: sid in d["signal_ids"], 10, "decision for " + sid)
            if i >= args.warmup:
                lat.append((d["_seen"] - t0) * 1000.0)
        la = os.getloadavg()
        print("signal -> decision on llm.routing, %d signals, 5 arms, %d draws: "
              "p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (load %.2f %.2f %.2f)"
              % (len(lat), args.draws, pct(lat, 0.5), pct(lat, 0.9), pct(lat, 0.99),
                 max(lat), la[0], la[1], la[2]))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        with psycopg.connect(ct.ADMIN_DSN, autocommit=True) as a:
            a.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)


if __name__ == "__main__":
    main()
