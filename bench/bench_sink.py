#!/usr/bin/env python3
"""Throughput of `llmopt sink`: rows/s from Kafka into Postgres, exactly once.

Pre-produces N Outcome records (Avro, 33 columns, the widest table) to a fresh
3-partition topic, then starts `llmopt sink` on a scratch database and times
from the process start until llmopt.sink_offsets reaches the end of every
partition (so every row and its offsets are committed). Rows/s = N / elapsed.
Repeats per batch size; reports each run and the median.

Because the machine is shared, each run also reports CPU time: the sink
process's (utime+stime from /proc) and that of the Postgres backend serving
the sink's session (found in pg_stat_activity), as rows per CPU-second of
each. Wall rows/s on a loaded machine is bounded by what the scheduler gives;
the CPU figures say what each side costs per row.

usage: bench/bench_sink.py --llmopt build/tools/llmopt [--rows 200000] [--runs 3]
       [--batch 1000,10000]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import sink_common as sc  # noqa: E402

def cpu_s(pid):
    """utime + stime of a process in seconds, None when it is gone."""
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def sink_backend(db, timeout_s=30):
    """pid of the Postgres backend serving the sink (the only other client
    session on the scratch database)."""
    deadline = time.time() + timeout_s
    with db.connect() as c:
        while time.time() < deadline:
            r = c.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                          "AND backend_type = 'client backend' AND pid <> pg_backend_pid()").fetchall()
            if len(r) == 1:
                return r[0][0]
            time.sleep(0.02)
    return None


def wait_end(db, name, rows, sink, timeout_s=600):
    """Polls llmopt.sink_offsets until its offsets sum to rows (every message
    stored). Returns (time, offsets sum) of the first poll that saw a commit,
    so that the rate after the start-up can be told apart."""
    first = None
    deadline = time.time() + timeout_s
    with db.connect() as c:
        while time.time() < deadline:
            n = c.execute("SELECT coalesce(sum(next_offset), 0) FROM llmopt.sink_offsets "
                          "WHERE sink = %s", (name,)).fetchone()[0]
            n = int(n)
            if n and first is None:
                first = (time.time(), n)
            if n >= rows:
                return first
            if not sink.alive():
                sc.fail("sink exited early with %s" % sink.proc.returncode)
            time.sleep(0.01)
    sc.fail("offsets did not reach %d rows" % rows)


FORMATS = {"metrics": "avro", "signals": "avro", "routing": "avro", "outcomes": "avro"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmopt", required=True)
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch", default="1000,10000")
    args = ap.parse_args()
    llmopt = os.path.abspath(args.llmopt)
    topics = sc.Topics("bench")
    db = sc.ScratchDb(llmopt, "sinkbench")
    try:
        p = sc.producer()
        t0 = int(time.time() * 1000) - 86400000
        for i in range(args.rows):
            o = sc.outcome("b%d" % i, "route-%d" % (i % 16), "arm-%d" % (i % 3), t0 + i,
                           tenant="t%d" % (i % 50), latency_ms=100.0 + i % 900,
                           context={"len": float(i % 1000)})
            sc.produce(p, topics.names["outcomes"], o["route"], sc.encode("Outcome", o, "avro"))
            if i % 10000 == 0:
                p.poll(0)
        p.flush(120)
        results = {}
        steadies = {}
        cpu = {}
        for batch in [int(b) for b in args.batch.split(",")]:
            for run in range(args.runs):
                name = "bench-%d-%d" % (batch, run)
                with db.connect() as c:
                    c.execute("TRUNCATE llmopt.outcomes")
                sink = sc.Sink(llmopt, db.dsn, topics, name, FORMATS,
                               extra=["-X", "sink.batch.rows=%d" % batch,
                                      "-X", "sink.batch.age=1s", "-X", "log.level=warn"])
                start = time.time()
                sink.start()
                be = sink_backend(db)
                be_cpu0 = cpu_s(be) if be else None
                first_t, first_n = wait_end(db, name, args.rows, sink)
                end = time.time()
                elapsed = end - start
                steady = (args.rows - first_n) / max(end - first_t, 1e-3)
                sink_cpu = cpu_s(sink.proc.pid)
                be_cpu = cpu_s(be) - be_cpu0 if be and be_cpu0 is not None else None
                sink.stop()
                with db.connect() as c:
                    n = c.execute("SELECT count(*) FROM llmopt.outcomes").fetchone()[0]
                if n != args.rows:
                    sc.fail("%d rows stored, want %d" % (n, args.rows))
                rate = args.rows / elapsed
                results.setdefault(batch, []).append(rate)
                steadies.setdefault(batch, []).append(steady)
                cpu.setdefault(batch, []).append((args.rows / sink_cpu, args.rows / be_cpu))
                print("batch.rows=%-6d run %d: %d rows in %.2f s = %.0f rows/s from the sink's "
                      "start, %.0f rows/s after its first commit; sink process "
                      "%.2f cpu-s (%.0f rows/cpu-s), its Postgres backend %.2f cpu-s "
                      "(%.0f rows/cpu-s); load %s" % (
                          batch, run + 1, args.rows, elapsed, rate, steady, sink_cpu,
                          args.rows / sink_cpu, be_cpu, args.rows / be_cpu,
                          open("/proc/loadavg").read().split()[0]), flush=True)
        # the database's own ceiling for these rows: INSERT .. SELECT .. ON
        # CONFLICT from a temp copy of them, server side only (no Kafka, no
        # COPY over the wire), in 10000-row transactions
        with db.connect() as c:
            c.execute("CREATE TEMP TABLE src AS SELECT * FROM llmopt.outcomes")
            c.execute("ALTER TABLE src ADD COLUMN n bigserial")
            ceil = []
            mypid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
            cpu0 = cpu_s(mypid)
            for run in range(args.runs):
                c.execute("TRUNCATE llmopt.outcomes")
                start = time.time()
                for lo in range(0, args.rows, 10000):
                    with c.transaction():
                        c.execute("INSERT INTO llmopt.outcomes SELECT outcome_id, request_id, route, arm, provider, model, tenant, user_id, task_type, ts, response_ts, status, latency_ms, ttft_ms, input_tokens, output_tokens, cost_usd, quality, cache_hit, context, propensity, decision_version, experiment_id, variant, reward_quality, reward_cost, reward_latency, reward, rating, thumbs, task_completed, feedback_ts, is_update, now() FROM src WHERE n > %s AND n <= %s ON CONFLICT (outcome_id, ts) DO NOTHING", (lo, lo + 10000))
                ceil.append(args.rows / (time.time() - start))
            be = cpu_s(mypid) - cpu0
            print("database ceiling (INSERT..SELECT ON CONFLICT, no sink): median %.0f rows/s "
                  "(runs: %s); backend %.0f rows/cpu-s" % (
                      statistics.median(ceil), ", ".join("%.0f" % r for r in ceil),
                      args.rows * args.runs / be))
        print("load average during the run: %s" % open("/proc/loadavg").read().split()[:3])
        for batch, rates in results.items():
            print("batch.rows=%d median %.0f rows/s from start (runs: %s), %.0f rows/s after "
                  "the first commit (runs: %s); median rows per cpu-s: sink %.0f, Postgres "
                  "backend %.0f" % (
                      batch, statistics.median(rates), ", ".join("%.0f" % r for r in rates),
                      statistics.median(steadies[batch]),
                      ", ".join("%.0f" % r for r in steadies[batch]),
                      statistics.median(c[0] for c in cpu[batch]),
                      statistics.median(c[1] for c in cpu[batch])))
    finally:
        topics.delete()
        db.drop()


if __name__ == "__main__":
    main()
