"""Helpers shared by the `llmopt sink` integration tests (tests/integration/sink_*.py).

Everything here talks to the real broker (LLMOPT_BOOTSTRAP) and a real Postgres;
topics get a unique per-run prefix so runs never see each other's data.
"""
import io
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid

import fastavro
import psycopg
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOOTSTRAP = os.environ.get("LLMOPT_BOOTSTRAP", "127.0.0.1:19092")
ADMIN_DSN = os.environ.get("LLMOPT_PG_DSN", "host=127.0.0.1 port=55432 user=llmopt dbname=llmopt")
TABLES = ("metrics", "signals", "routing", "outcomes")
RECORD = {"metrics": "WindowMetrics", "signals": "Signal", "routing": "RoutingDecision",
          "outcomes": "Outcome"}


def log(*a):
    print("[%s]" % time.strftime("%H:%M:%S"), *a, flush=True)


def fail(msg):
    log("FAILED:", msg)
    sys.exit(1)


def load_schemas():
    reg = json.load(open(os.path.join(ROOT, "schemas", "registry.json")))
    out = {}
    for e in reg["schemas"]:
        schema = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", e["file"]))))
        out[e["record"]] = (e["id"], schema)
    return out


SCHEMAS = load_schemas()


def encode(record, rec, fmt):
    if fmt == "json":
        return json.dumps(rec).encode()
    sid, schema = SCHEMAS[record]
    buf = io.BytesIO()
    buf.write(b"\x00" + struct.pack(">I", sid))
    fastavro.schemaless_writer(buf, schema, rec)
    return buf.getvalue()


def digest_text(values):
    """Postgres tdigest TEXT form holding every value as its own centroid
    (exact for few values, like the processor's small windows)."""
    vs = sorted(values)
    cents = " ".join("(%r, 1)" % float(v) for v in vs)
    return "flags 1 count %d compression 100 centroids %d %s" % (len(vs), len(vs), cents)


# ---- record builders (plain dicts in the Avro/JSON shape) -------------------

def outcome(oid, route, arm, ts_ms, *, tenant=None, status="ok", latency_ms=100.0,
            cost_usd=0.001, quality=0.8, reward=0.5, is_update=False, experiment_id=None,
            variant=None, model=None, context=None, rating=None, feedback_ts_ms=None,
            request_id=None, input_tokens=100, output_tokens=50):
    return {
        "outcome_id": oid, "request_id": request_id or oid.split(":u")[0], "route": route,
        "arm": arm, "provider": "prov", "model": model or arm, "tenant": tenant,
        "user": None, "task_type": "chat", "ts_ms": ts_ms,
        "response_ts_ms": ts_ms + int(latency_ms) if status != "missing" else None,
        "status": status, "latency_ms": latency_ms, "ttft_ms": None,
        "input_tokens": input_tokens, "output_tokens": output_tokens, "cost_usd": cost_usd,
        "quality": quality, "cache_hit": False, "context": context or {},
        "propensity": 0.5, "decision_version": 1, "experiment_id": experiment_id,
        "variant": variant, "reward_quality": quality if quality is not None else 0.0,
        "reward_cost": 0.5, "reward_latency": 0.5, "reward": reward, "rating": rating,
        "thumbs": None, "task_completed": None, "feedback_ts_ms": feedback_ts_ms,
        "is_update": is_update,
    }


def metrics(route, arm, start_ms, size_ms, latencies, *, errors=0, cost_usd=0.0,
            quality_mean=None, kind="tumbling", advance_ms=None):
    n = len(latencies)
    vs = sorted(latencies)
    return {
        "metrics_id": "%s|%s|%s|%d|%d" % (route, arm, kind, size_ms, start_ms),
        "route": route, "arm": arm, "window_start_ms": start_ms,
        "window_end_ms": start_ms + size_ms, "window_kind": kind, "size_ms": size_ms,
        "advance_ms": advance_ms or size_ms, "count": n, "ok_count": n - errors,
        "error_count": errors, "timeout_count": 0, "rate_limited_count": 0,
        "filtered_count": 0, "error_rate": errors / n if n else 0.0,
        "latency_p50_ms": vs[n // 2] if n else None, "latency_p90_ms": None,
        "latency_p95_ms": None, "latency_p99_ms": None, "latency_digest": digest_text(vs),
        "ttft_p50_ms": None, "ttft_p90_ms": None, "ttft_p95_ms": None, "ttft_p99_ms": None,
        "ttft_digest": None, "input_tokens": 100 * n, "output_tokens": 50 * n,
        "cost_usd": cost_usd, "cost_per_request": cost_usd / n if n else 0.0,
        "quality_count": n if quality_mean is not None else 0, "quality_mean": quality_mean,
        "quality_variance": None, "reward_count": 0, "reward_mean": None,
        "reward_variance": None, "cache_hits": 0, "cache_hit_quality_mean": None,
        "cache_miss_quality_mean": None, "late_count": 0, "batch_size_mean": None,
    }


def signal_rec(route, arm, ts_ms, *, detector="adwin", metric="latency_ms", direction="up",
               before=100.0, after=300.0, sample_index=0, kind="drift"):
    return {
        "signal_id": "%s|%s|%s|%s|%d" % (route, arm, detector, metric, sample_index),
        "ts_ms": ts_ms, "route": route, "arm": arm, "kind": kind, "detector": detector,
        "metric": metric, "direction": direction, "magnitude": abs(after - before),
        "before": before, "after": after, "sample_index": sample_index, "severity": 1.5,
        "window_end_ms": None,
    }


def decision(route, version, ts_ms, weights, *, reason="update", signal_ids=(),
             heartbeat=False, states=None):
    arms = []
    for arm, w in sorted(weights.items()):
        arms.append({"arm_id": arm, "provider": "prov", "model": arm,
                     "params": {"temperature": 0.2}, "prompt_template_id": None,
                     "weight": float(w), "state": (states or {}).get(arm, "active"),
                     "cooldown_until_ms": None})
    return {
        "route": route, "version": version, "ts_ms": ts_ms, "algorithm": "thompson",
        "arms": arms, "default_arm": arms[0]["arm_id"], "reason": reason,
        "signal_ids": list(signal_ids), "contextual": None, "rate_limits": None,
        "cache_policy": None, "batching": None, "experiment_id": None, "heartbeat": heartbeat,
    }


def key_of(table, rec):
    if table == "outcomes":
        return (rec["outcome_id"], rec["ts_ms"])
    if table == "metrics":
        return (rec["metrics_id"], rec["window_start_ms"])
    if table == "signals":
        return (rec["signal_id"], rec["ts_ms"])
    return (rec["route"], rec["version"])


# ---- Kafka -------------------------------------------------------------------

class Topics:
    """A fresh set of sink input topics plus a DLQ, unique to this run."""

    def __init__(self, tag, partitions=3):
        self.prefix = "sinktest.%s.%s" % (tag, uuid.uuid4().hex[:8])
        self.names = {t: "%s.%s" % (self.prefix, t) for t in TABLES}
        self.names["dlq"] = "%s.dlq" % self.prefix
        self.admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
        fs = self.admin.create_topics([NewTopic(n, partitions, 1) for n in self.names.values()])
        for n, f in fs.items():
            f.result(30)
        # wait for leaders
        deadline = time.time() + 30
        while time.time() < deadline:
            md = self.admin.list_topics(timeout=10)
            if all(n in md.topics and len(md.topics[n].partitions) == partitions and
                   all(p.leader >= 0 for p in md.topics[n].partitions.values())
                   for n in self.names.values()):
                break
            time.sleep(0.2)
        self.partitions = partitions

    def delete(self):
        try:
            fs = self.admin.delete_topics(list(self.names.values()))
            for f in fs.values():
                f.result(30)
        except Exception as e:  # cleanup only
            log("topic cleanup:", e)

    def end_offsets(self, table):
        c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "sinktest-wm",
                      "enable.auto.commit": False})
        out = {}
        for p in range(self.partitions):
            lo, hi = c.get_watermark_offsets(TopicPartition(self.names[table], p), timeout=10)
            out[p] = hi
        c.close()
        return out

    def read_all(self, table, timeout_s=30):
        """Every message of a topic: list of (partition, offset, key, value, headers)."""
        c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "sinktest-read-" + uuid.uuid4().hex,
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        ends = self.end_offsets(table)
        c.assign([TopicPartition(self.names[table], p, 0) for p in range(self.partitions)])
        got, deadline = [], time.time() + timeout_s
        while sum(1 for _ in got) < sum(ends.values()) and time.time() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            got.append((m.partition(), m.offset(), m.key(), m.value(), dict(m.headers() or [])))
        c.close()
        return got


def producer(transactional_id=None):
    conf = {"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True, "linger.ms": 5}
    if transactional_id:
        conf["transactional.id"] = transactional_id
    return Producer(conf)


def produce(p, topic, key, value):
    while True:
        try:
            p.produce(topic, key=key.encode() if isinstance(key, str) else key, value=value)
            return
        except BufferError:
            p.poll(0.1)


# ---- Postgres ----------------------------------------------------------------

def dsn_with_db(dsn, db):
    parts = [kv for kv in dsn.split() if not kv.startswith("dbname=")]
    return " ".join(parts + ["dbname=%s" % db])


class ScratchDb:
    """A throwaway database on the shared server, migrated with `llmopt migrate`."""

    def __init__(self, llmopt_bin, tag, admin_dsn=ADMIN_DSN):
        self.admin_dsn = admin_dsn
        self.name = "llmopt_test_%d_%s" % (os.getpid(), tag)
        with psycopg.connect(admin_dsn, autocommit=True) as c:
            c.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)
            c.execute('CREATE DATABASE "%s"' % self.name)
        self.dsn = dsn_with_db(admin_dsn, self.name)
        r = subprocess.run([llmopt_bin, "migrate", "apply", "-X", "pg.dsn=" + self.dsn,
                            "-X", "migrate.dir=" + os.path.join(ROOT, "sql", "migrations")],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail("migrate: %s %s" % (r.stdout, r.stderr))

    def connect(self):
        return psycopg.connect(self.dsn, autocommit=True)

    def drop(self):
        try:
            with psycopg.connect(self.admin_dsn, autocommit=True) as c:
                c.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)
        except Exception as e:
            log("db cleanup:", e)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- the sink process --------------------------------------------------------

class Sink:
    def __init__(self, llmopt_bin, dsn, topics, name, formats, extra=(), logpath=None):
        self.args = [llmopt_bin, "sink", "-X", "pg.dsn=" + dsn,
                     "-X", "kafka.bootstrap.servers=" + BOOTSTRAP,
                     "-X", "sink.name=" + name, "-X", "sink.topic.dlq=" + topics.names["dlq"]]
        for t in TABLES:
            self.args += ["-X", "sink.topic.%s=%s" % (t, topics.names[t]),
                          "-X", "sink.format.%s=%s" % (t, formats[t])]
        self.args += list(extra)
        self.logpath = logpath
        self.proc = None
        self.starts = 0

    def start(self):
        logf = open(self.logpath, "a") if self.logpath else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.args, stdout=logf, stderr=logf)
        self.starts += 1

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self, timeout=60):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


def wait_offsets(conn_fn, sink_name, topics, tables, timeout_s, sink=None, poll_s=0.3):
    """Waits until llmopt.sink_offsets of sink_name reach every partition's
    end offset (or the sink dies)."""
    want = {}
    for t in tables:
        for p, hi in topics.end_offsets(t).items():
            want[(topics.names[t], p)] = hi
    deadline = time.time() + timeout_s
    have = {}
    while time.time() < deadline:
        try:
            with conn_fn() as c:
                have = {(r[0], r[1]): r[2] for r in c.execute(
                    "SELECT topic, partition, next_offset FROM llmopt.sink_offsets WHERE sink = %s",
                    (sink_name,))}
        except psycopg.OperationalError:
            have = {}
        if all(have.get(k, 0 if v == 0 else -1) == v for k, v in want.items()):
            return have
        if sink is not None and not sink.alive():
            fail("sink exited early with %s" % sink.proc.returncode)
        time.sleep(poll_s)
    fail("offsets did not reach the end: want %s have %s" % (want, have))
