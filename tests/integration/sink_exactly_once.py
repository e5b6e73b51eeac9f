#!/usr/bin/env python3
"""`llmopt sink` exactly-once under crashes (integration, real Kafka + Postgres).

(a) While a producer writes metrics (Avro), signals (JSON), routing decisions
    (JSON, with heartbeat repeats) and outcomes (Avro, with redelivered
    duplicates) to fresh topics, the sink is killed with SIGKILL five times
    and its Postgres (a throwaway cluster started here, never the shared one)
    is restarted once. Afterwards every table holds exactly the distinct
    records of its topic (same keys, same values, nothing missing, nothing
    twice), the stored offsets equal the end offsets, and the three
    undecodable messages are in the DLQ with their source offsets.
(b) A second sink name replays the same topics from offset 0 into the same
    tables: no row changes (ingested_at included), none is added.

usage: sink_exactly_once.py --llmopt build/tools/llmopt
"""
import argparse
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time

import psycopg

import sink_common as sc

FORMATS = {"metrics": "avro", "signals": "json", "routing": "json", "outcomes": "avro"}
ROUTES = ["chat", "search", "code", "summarise", "qa", "agent"]
ARMS = ["gpt-4o", "claude", "llama-3"]


def dataset(n_outcomes, seed=7):
    """[(table, key, record, is_garbage)] in production order, interleaved."""
    rng = random.Random(seed)
    t0 = int(time.time() * 1000) - 3 * 86400000  # spans several day partitions
    out = []
    versions = {r: 0 for r in ROUTES}
    for i in range(n_outcomes):
        route = ROUTES[i % len(ROUTES)]
        arm = ARMS[rng.randrange(len(ARMS))]
        ts = t0 + i * 4000  # ~ 3 days for 60k
        o = sc.outcome("req-%d" % i, route, arm, ts, tenant=rng.choice([None, "acme", "globex"]),
                       status=rng.choice(["ok"] * 8 + ["error", "timeout"]),
                       latency_ms=rng.uniform(20, 900), cost_usd=rng.uniform(0, 0.01),
                       reward=rng.random(), context={"len": float(rng.randint(1, 900))})
        out.append(("outcomes", route, o, False))
        if rng.random() < 0.02:  # redelivery: the same record again
            out.append(("outcomes", route, o, False))
        if i % 20 == 0:
            lat = [rng.uniform(20, 900) for _ in range(rng.randint(1, 12))]
            m = sc.metrics(route, arm, (ts // 60000) * 60000, 60000, lat,
                           errors=rng.randint(0, len(lat)), cost_usd=rng.uniform(0, 0.1))
            out.append(("metrics", route, m, False))
        if i % 60 == 0:
            s = sc.signal_rec(route, arm, ts, sample_index=i,
                              detector=rng.choice(["adwin", "cusum", "zscore"]))
            out.append(("signals", route, s, False))
        if i % 150 == 0:
            versions[route] += 1
            d = sc.decision(route, versions[route], ts, {a: rng.random() for a in ARMS})
            out.append(("routing", route, d, False))
            if rng.random() < 0.5:  # heartbeat: same version again
                out.append(("routing", route, d, False))
        if i in (n_outcomes // 4, n_outcomes // 2, 3 * n_outcomes // 4):
            out.append(("signals", route, b"\x00garbage-%d" % i, True))
    return out


def expected(data):
    exp = {t: {} for t in sc.TABLES}
    for table, _, rec, garbage in data:
        if not garbage:
            exp[table].setdefault(sc.key_of(table, rec), rec)
    return exp


def snapshot(conn):
    q = {
        "outcomes": "SELECT outcome_id, (extract(epoch FROM ts) * 1000)::bigint, status, latency_ms, "
                    "cost_usd, tenant, context, reward, is_update, ingested_at FROM llmopt.outcomes",
        "metrics": "SELECT metrics_id, (extract(epoch FROM window_start) * 1000)::bigint, count, "
                   "error_count, cost_usd, tdigest_percentile(latency_digest, 1.0), ingested_at "
                   "FROM llmopt.window_metrics GROUP BY metrics_id, window_start, count, "
                   "error_count, cost_usd, ingested_at",
        "signals": "SELECT signal_id, (extract(epoch FROM ts) * 1000)::bigint, detector, magnitude, "
                   "ingested_at FROM llmopt.signals",
        "routing": "SELECT route, version, (extract(epoch FROM ts) * 1000)::bigint, heartbeat, "
                   "payload->'arms', ingested_at FROM llmopt.routing_decisions",
    }
    return {t: sorted(tuple(str(x) for x in r) for r in conn.execute(s)) for t, s in q.items()}


def check_tables(conn, exp):
    rows = {
        "outcomes": {(r[0], r[1]): r for r in conn.execute(
            "SELECT outcome_id, (extract(epoch FROM ts) * 1000)::bigint, status, latency_ms, "
            "cost_usd, tenant, context, reward FROM llmopt.outcomes")},
        "metrics": {(r[0], r[1]): r for r in conn.execute(
            "SELECT metrics_id, (extract(epoch FROM window_start) * 1000)::bigint, count, "
            "error_count, cost_usd, split_part(latency_digest::text, ' ', 4)::bigint "
            "FROM llmopt.window_metrics")},
        "signals": {(r[0], r[1]): r for r in conn.execute(
            "SELECT signal_id, (extract(epoch FROM ts) * 1000)::bigint, detector, magnitude "
            "FROM llmopt.signals")},
        "routing": {(r[0], r[1]): r for r in conn.execute(
            "SELECT route, version, (extract(epoch FROM ts) * 1000)::bigint, "
            "payload->'arms' FROM llmopt.routing_decisions")},
    }
    counts = {t: conn.execute("SELECT count(*) FROM llmopt.%s" % tbl).fetchone()[0]
              for t, tbl in (("outcomes", "outcomes"), ("metrics", "window_metrics"),
                             ("signals", "signals"), ("routing", "routing_decisions"))}
    for t in sc.TABLES:
        if counts[t] != len(exp[t]) or set(rows[t]) != set(exp[t]):
            missing = set(exp[t]) - set(rows[t])
            extra = set(rows[t]) - set(exp[t])
            sc.fail("%s: %d rows for %d records; missing %d (e.g. %s), extra %d" % (
                t, counts[t], len(exp[t]), len(missing), list(missing)[:3], len(extra)))
        for k, rec in exp[t].items():
            r = rows[t][k]
            if t == "outcomes":
                want = (rec["status"], rec["latency_ms"], rec["cost_usd"], rec["tenant"],
                        rec["context"], rec["reward"])
                got = tuple(r[2:])
            elif t == "metrics":
                want = (rec["count"], rec["error_count"], rec["cost_usd"], rec["count"])
                got = tuple(r[2:])
            elif t == "signals":
                want = (rec["ts_ms"], rec["detector"], rec["magnitude"])
                got = tuple(r[1:])
            else:
                want = (rec["ts_ms"], [a["weight"] for a in rec["arms"]])
                got = (r[2], [a["weight"] for a in r[3]])
            if want != got:
                sc.fail("%s %s: stored %s, produced %s" % (t, k, got, want))
    sc.log("tables equal the topics:", {t: len(exp[t]) for t in sc.TABLES})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmopt", required=True)
    ap.add_argument("--outcomes", type=int,
                    default=8000 if os.environ.get("LLMOPT_SKIP_SLOW") else 40000)
    args = ap.parse_args()
    llmopt = os.path.abspath(args.llmopt)

    var = tempfile.mkdtemp(prefix="llmopt-sink-pg-")
    port = sc.free_port()
    env = dict(os.environ, LLMOPT_VAR=var, LLMOPT_LOCAL_PG_PORT=str(port))
    pgsh = os.path.join(sc.ROOT, "deploy", "local", "postgres.sh")
    topics = None
    sink = None
    passed = False
    try:
        subprocess.run([pgsh, "start"], env=env, check=True, timeout=120, capture_output=True)
        dsn = "host=127.0.0.1 port=%d user=llmopt dbname=llmopt" % port
        r = subprocess.run([llmopt, "migrate", "apply", "-X", "pg.dsn=" + dsn, "-X",
                            "migrate.dir=" + os.path.join(sc.ROOT, "sql", "migrations")],
                           capture_output=True, text=True, timeout=120)
        if r.returncode:
            sc.fail("migrate: " + r.stdout + r.stderr)
        conn_fn = lambda: psycopg.connect(dsn, autocommit=True, connect_timeout=3)
        topics = sc.Topics("eo")
        data = dataset(args.outcomes)
        exp = expected(data)
        sc.log("records to produce:", len(data), "distinct:", {t: len(exp[t]) for t in sc.TABLES})

        # where the garbage lands, to match the DLQ headers later
        garbage_at = []
        lock = threading.Lock()

        def on_delivery(err, msg, garbage):
            if err:
                sc.log("produce failed:", err)
            elif garbage:
                with lock:
                    garbage_at.append((msg.partition(), msg.offset()))

        done = threading.Event()

        def produce_all():
            p = sc.producer()
            chunk = max(1, len(data) // 60)  # ~60 slices over ~15 s
            for i, (table, key, rec, garbage) in enumerate(data):
                value = rec if garbage else sc.encode(sc.RECORD[table], rec, FORMATS[table])
                while True:
                    try:
                        p.produce(topics.names[table], key=key.encode(), value=value,
                                  on_delivery=lambda e, m, g=garbage: on_delivery(e, m, g))
                        break
                    except BufferError:
                        p.poll(0.1)
                if i % chunk == 0:
                    p.poll(0)
                    time.sleep(0.25)
            p.flush(60)
            done.set()

        logpath = os.path.join(var, "sink.log")
        sink = sc.Sink(llmopt, dsn, topics, "eo", FORMATS, logpath=logpath,
                       extra=["-X", "sink.batch.rows=1500", "-X", "sink.batch.age=200ms",
                              "-X", "sink.retry.max=500ms", "-X", "log.level=info"])
        sink.start()
        th = threading.Thread(target=produce_all)
        th.start()
        rng = random.Random(11)
        for k in range(5):
            time.sleep(rng.uniform(1.5, 3.0))
            if not sink.alive():
                sc.fail("sink died by itself (see %s)" % logpath)
            sink.kill9()
            sc.log("kill -9 #%d" % (k + 1))
            if k == 2:
                # Postgres restarts while the sink is running and writing
                time.sleep(0.2)
                sink.start()
                time.sleep(rng.uniform(0.8, 1.5))
                subprocess.run([pgsh, "restart"], env=env, check=True, timeout=120,
                               capture_output=True)
                sc.log("postgres restarted")
                time.sleep(rng.uniform(0.5, 1.5))
                if not sink.alive():
                    sc.fail("sink did not survive the Postgres restart (see %s)" % logpath)
                continue
            time.sleep(rng.uniform(0.1, 0.5))
            sink.start()
        th.join(120)
        if not done.is_set():
            sc.fail("producer did not finish")
        sc.wait_offsets(conn_fn, "eo", topics, sc.TABLES, 180, sink)
        rc = sink.stop()
        if rc != 0:
            sc.fail("sink exit code %s after SIGTERM" % rc)
        with conn_fn() as conn:
            check_tables(conn, exp)
            log_text = open(logpath).read()
            if "reconnected to Postgres" not in log_text:
                sc.fail("the sink never had to reconnect: the Postgres restart did not hit it")

        # DLQ: the three undecodable messages, at least once each, with their source
        dlq = topics.read_all("dlq")
        srcs = set()
        for _, _, _, value, h in dlq:
            if h.get("reason") != b"decode" or h.get("source_topic") != topics.names["signals"].encode():
                sc.fail("unexpected dead letter %s %s" % (h, value[:40]))
            srcs.add((int(h["source_partition"]), int(h["source_offset"])))
        if srcs != set(garbage_at):
            sc.fail("dead letters %s, garbage produced at %s" % (sorted(srcs), sorted(garbage_at)))
        sc.log("dlq holds the %d undecodable messages (%d dead letters)" % (len(srcs), len(dlq)))

        # (b) replay from the start under another name: nothing changes
        with conn_fn() as conn:
            before = snapshot(conn)
        replay = sc.Sink(llmopt, dsn, topics, "eo-replay", FORMATS, logpath=logpath,
                         extra=["-X", "sink.batch.rows=5000"])
        replay.start()
        sc.wait_offsets(conn_fn, "eo-replay", topics, sc.TABLES, 180, replay)
        if replay.stop() != 0:
            sc.fail("replay sink exit code")
        with conn_fn() as conn:
            after = snapshot(conn)
        for t in sc.TABLES:
            if before[t] != after[t]:
                sc.fail("replay changed table %s (%d -> %d rows)" % (t, len(before[t]), len(after[t])))
        sc.log("replay from offset 0 changed nothing")
        sc.log("PASSED: %d sink starts, 5 kill -9, 1 postgres restart" % sink.starts)
        passed = True
    finally:
        if sink and sink.alive():
            sink.kill9()
        if topics:
            topics.delete()
        subprocess.run([pgsh, "stop"], env=env, timeout=120, capture_output=True)
        if passed:
            shutil.rmtree(var, ignore_errors=True)
        else:
            sc.log("kept %s (sink.log, postgres log) for inspection" % var)


if __name__ == "__main__":
    main()
