#!/usr/bin/env python3
"""Integration tests of llmopt-processor on the real broker.

  processor_test.py --bin PATH truth [--requests N]
      ~200k input events with known ground truth (tests/tools/proc_workload.py):
      window counts and sums exact, latency percentiles within the digest's
      rank tolerance of the exact ones, the drift on the shifted arm caught
      within a bounded number of samples, outcome counts exact, each bad-input
      class in the DLQ with its reason, source headers and original bytes.
  processor_test.py --bin PATH eos [--requests N] [--kills K]
      reference: one uninterrupted run; crash: kill -9 at K random moments,
      restart each time; rebalance: a second instance joins mid-run and
      leaves. The sorted read_committed outputs (outcomes, metrics, signals,
      dlq: key and value bytes) of each must equal the reference's.

Each run uses fresh topics named ptest.<pid>.<run>.* and deletes them after.
Reads LLMOPT_BOOTSTRAP (default 127.0.0.1:19092).
"""
import argparse
import io
import json
import os
import random
import signal
import subprocess
import sys
import time

import fastavro
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import proc_workload as wl  # noqa: E402

BOOT = os.environ.get("LLMOPT_BOOTSTRAP", "127.0.0.1:19092")
IDS = {"requests": 1, "responses": 2, "feedback": 3, "outcomes": 4, "metrics": 5, "signals": 6}
FILES = {"requests": "request.avsc", "responses": "response.avsc", "feedback": "feedback.avsc",
         "outcomes": "outcome.avsc", "metrics": "window_metrics.avsc", "signals": "signal.avsc"}
SCHEMAS = {k: fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", f))))
           for k, f in FILES.items()}
INPUTS = ["requests", "responses", "feedback"]
OUTPUTS = ["outcomes", "metrics", "signals", "dlq"]
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg, flush=True)


def avro_encode(kind, rec):
    buf = io.BytesIO()
    buf.write(b"\x00" + IDS[kind].to_bytes(4, "big"))
    fastavro.schemaless_writer(buf, SCHEMAS[kind], rec)
    return buf.getvalue()


def avro_decode(kind, data):
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == IDS[kind], "bad framing"
    return fastavro.schemaless_reader(io.BytesIO(data[5:]), SCHEMAS[kind])


def json_encode(rec):
    return json.dumps(rec, separators=(",", ":")).encode()


class Topics:
    def __init__(self, admin, prefix, inputs_from=None):
        self.admin = admin
        self.prefix = prefix
        self.names = {k: "%s.%s" % (prefix, k) for k in OUTPUTS + ["state"]}
        self.inputs = inputs_from.inputs if inputs_from else {
            k: "%s.%s" % (prefix, k) for k in INPUTS}
        self.owned = list(self.names.values()) + ([] if inputs_from else list(self.inputs.values()))
        new = [NewTopic(n, num_partitions=3, replication_factor=1,
                        config={"cleanup.policy": "compact"} if n.endswith(".state") else {})
               for n in self.owned]
        for n, f in admin.create_topics(new).items():
            f.result(30)
        time.sleep(0.5)

    def delete(self):
        for f in self.admin.delete_topics(self.owned).values():
            try:
                f.result(30)
            except Exception:
                pass


def produce_inputs(topics, events, bad, fb_json):
    p = Producer({"bootstrap.servers": BOOT, "linger.ms": 20, "queue.buffering.max.messages": 1000000,
                  "enable.idempotence": True})
    dl = {}  # id(bad) -> (partition, offset)

    def cb_for(b):
        def cb(err, msg):
            assert err is None, err
            dl[id(b)] = (msg.partition(), msg.offset())
        return cb
    for kind, e in wl.order_for_produce(events, bad):
        t = e["topic"]
        if kind == "ev":
            val = json_encode(e["rec"]) if (t == "feedback" and fb_json) else avro_encode(t, e["rec"])
            key = e["rec"]["route"].encode()
            cb = None
        else:
            if "raw" in e:
                val = e["raw"]
            else:
                val = json_encode(e["rec"]) if (t == "feedback" and fb_json) else avro_encode(t, e["rec"])
            e["value"] = val
            key = b"chat"
            e["key"] = key
            cb = cb_for(e)
        while True:
            try:
                p.produce(topics.inputs[t], val, key, partition=e["partition"], on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(60) == 0
    for b in bad:
        b["src"] = dl[id(b)]


def end_offsets(topics):
    c = Consumer({"bootstrap.servers": BOOT, "group.id": "ptest-probe"})
    ends = {}
    for t in INPUTS:
        for part in range(3):
            lo, hi = c.get_watermark_offsets(TopicPartition(topics.inputs[t], part), timeout=10)
            ends[(topics.inputs[t], part)] = hi
    c.close()
    return ends


def committed(group, topics):
    # read_uncommitted: no RequireStable, so a transaction left open by a
    # killed instance does not block the probe (it sees the last commit)
    c = Consumer({"bootstrap.servers": BOOT, "group.id": group, "isolation.level": "read_uncommitted"})
    tps = [TopicPartition(topics.inputs[t], p) for t in INPUTS for p in range(3)]
    try:
        got = c.committed(tps, timeout=10)
    finally:
        c.close()
    return {(tp.topic, tp.partition): tp.offset for tp in got}


class Proc:
    def __init__(self, binary, topics, group, instance, fb_json, logdir, extra=()):
        self.args = [binary, "-X", "kafka.bootstrap.servers=" + BOOT,
                     "-X", "processor.group.id=" + group,
                     "-X", "processor.instance.id=" + instance,
                     "-X", "processor.event.time.only=true",
                     "-X", "processor.feedback.window=2m",
                     "-X", "processor.commit.interval=300ms",
                     "-X", "log.level=info",
                     # a killed member is evicted after 6 s (broker minimum),
                     # not librdkafka's 45 s default
                     "-X", "kafka.session.timeout.ms=6000",
                     "-X", "kafka.heartbeat.interval.ms=1500"]
        for k in INPUTS:
            self.args += ["-X", "processor.topic.%s=%s" % (k, topics.inputs[k])]
        for k in ["outcomes", "metrics", "signals", "dlq", "state"]:
            self.args += ["-X", "processor.topic.%s=%s" % (k, topics.names[k])]
        if fb_json:
            self.args += ["-X", "processor.format.feedback=json"]
        self.args += list(extra)
        self.log = open(os.path.join(logdir, "%s-%s.log" % (group, instance)), "ab")
        self.p = None

    def start(self):
        self.p = subprocess.Popen(self.args, stdout=self.log, stderr=self.log)
        self.started = time.time()

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def term(self, timeout=60):
        # a SIGTERM in the first milliseconds, before main() installs its
        # handler, kills the process outright: give it time to start
        # (wait_done can return at once when a killed predecessor had
        # already committed everything)
        settle = self.started + 2.0 - time.time()
        if settle > 0:
            time.sleep(settle)
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout)
        if rc != 0:
            print("processor exit status %d (log %s)" % (rc, self.log.name), flush=True)
        return rc

    def alive(self):
        return self.p.poll() is None


def wait_done(group, topics, ends, procs, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        for pr in procs:
            if pr.p is not None and not pr.alive():
                raise RuntimeError("processor exited with %d (see %s)" % (pr.p.returncode, pr.log.name))
        c = committed(group, topics)
        if all(c.get(k, -1) == v for k, v in ends.items()):
            return time.time() - t0
        time.sleep(0.5)
    raise RuntimeError("processing did not finish within %d s" % timeout)


def read_outputs(topics):
    c = Consumer({"bootstrap.servers": BOOT, "group.id": "ptest-reader", "isolation.level": "read_committed",
                  "enable.partition.eof": True, "enable.auto.commit": False})
    tps = [TopicPartition(topics.names[k], p, 0) for k in OUTPUTS for p in range(3)]
    c.assign(tps)
    pending = {(tp.topic, tp.partition) for tp in tps}
    out = {k: [] for k in OUTPUTS}
    rev = {v: k for k, v in topics.names.items()}
    t0 = time.time()
    while pending and time.time() - t0 < 120:
        for m in c.consume(10000, 0.5):
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    pending.discard((m.topic(), m.partition()))
                continue
            out[rev[m.topic()]].append((m.key(), m.value(), m.headers() or []))
    c.close()
    if pending:
        raise RuntimeError("could not read outputs to their end: %s" % sorted(pending))
    return out


def fingerprint(out):
    return {k: sorted((m[0] or b"", m[1] or b"", tuple(sorted(m[2]))) for m in v) for k, v in out.items()}


# ---------------------------------------------------------------- truth

def rank_ok(values, est, q, tol):
    vs = sorted(values)
    n = len(vs)
    lo = sum(1 for v in vs if v < est) / n
    hi = sum(1 for v in vs if v <= est) / n
    return lo - tol <= q <= hi + tol


def run_truth(args, admin):
    events, bad, shift_ts = wl.gen(args.requests, 7)
    print("truth: %d input events + %d bad" % (len(events), len(bad)), flush=True)
    tp = Topics(admin, "ptest.%d.truth" % os.getpid())
    try:
        t0 = time.time()
        produce_inputs(tp, events, bad, fb_json=True)
        print("produced in %.1f s" % (time.time() - t0), flush=True)
        ends = end_offsets(tp)
        group = "ptest-%d-truth" % os.getpid()
        # two merge threads: the exact counts must hold on the threaded path too
        # (processor_eos compares 3 threads against 1)
        pr = Proc(args.bin, tp, group, "i1", True, args.logdir,
                  extra=["-X", "processor.commit.interval=1s", "-X", "processor.threads=2"])
        pr.start()
        took = wait_done(group, tp, ends, [pr], 240)
        print("processed %d events in %.1f s" % (len(events) + len(bad), took), flush=True)
        check(pr.term() == 0, "processor did not stop cleanly")
        out = read_outputs(tp)
    finally:
        tp.delete()
    want = wl.truth(events, shift_ts)

    # windows
    got = {}
    for k, v, h in out["metrics"]:
        m = avro_decode("metrics", v)
        check(k == m["route"].encode(), "metrics key is not the route")
        key = (m["route"], m["arm"], m["window_start_ms"], m["size_ms"])
        check(key not in got, "window %s emitted twice" % (key,))
        got[key] = m
    check(set(got) == set(want["windows"]),
          "closed windows differ: %d expected, %d emitted, %d missing, %d extra" % (
              len(want["windows"]), len(got), len(set(want["windows"]) - set(got)),
              len(set(got) - set(want["windows"]))))
    bad_w = 0
    for key, w in want["windows"].items():
        m = got.get(key)
        if m is None:
            continue
        ok = (m["count"] == w["count"] and m["ok_count"] == w["st"][0] and m["error_count"] == w["st"][1]
              and m["timeout_count"] == w["st"][2] and m["rate_limited_count"] == w["st"][3]
              and m["input_tokens"] == w["in"] and m["output_tokens"] == w["out"]
              and abs(m["cost_usd"] - w["cost"]) <= 1e-9 * max(1.0, abs(w["cost"]))
              and m["quality_count"] == w["n_quality"])
        n = len(w["lat"])
        tol = max(0.02, 2.0 / n)
        for q, f in ((0.5, "latency_p50_ms"), (0.95, "latency_p95_ms"), (0.99, "latency_p99_ms")):
            if m[f] is None or not rank_ok(w["lat"], m[f], q, tol):
                ok = False
        if not ok:
            bad_w += 1
            if bad_w <= 3:
                print("window mismatch", key, {k: w[k] for k in ("count", "st", "in", "out", "cost")},
                      {k: m[k] for k in ("count", "ok_count", "error_count", "input_tokens", "cost_usd",
                                         "latency_p50_ms", "latency_p99_ms")})
    check(bad_w == 0, "%d of %d windows differ from the ground truth" % (bad_w, len(want["windows"])))
    print("windows: %d checked" % len(want["windows"]), flush=True)

    # outcomes
    outs = [avro_decode("outcomes", v) for _, v, _ in out["outcomes"]]
    firsts = [o for o in outs if not o["is_update"]]
    n_missing = sum(1 for o in firsts if o["status"] == "missing")
    n_joined = len(firsts) - n_missing
    n_upd = sum(1 for o in outs if o["is_update"])
    check(n_joined == want["pairs"], "joined outcomes %d, expected %d" % (n_joined, want["pairs"]))
    check(n_missing == want["missing"], "missing outcomes %d, expected %d" % (n_missing, want["missing"]))
    check(n_upd == want["updates"], "reward updates %d, expected %d" % (n_upd, want["updates"]))
    check(len({o["outcome_id"] for o in outs}) == len(outs), "outcome ids are not unique")

    # drift on the shifted arm
    sigs = [avro_decode("signals", v) for _, v, _ in out["signals"]]
    ss = want["shift_samples"]
    shift_idx = sum(1 for t in ss if t < shift_ts)
    hits = sorted((s for s in sigs if (s["route"], s["arm"]) == wl.SHIFT_ARM and s["kind"] == "drift"
                   and s["metric"] == "latency_ms" and s["direction"] == "up" and s["ts_ms"] >= shift_ts),
                  key=lambda s: s["ts_ms"])
    check(len(hits) > 0, "no upward latency drift signal after the shift")
    if hits:
        delay = {}
        for s in hits:
            if s["detector"] not in delay:
                delay[s["detector"]] = sum(1 for t in ss if shift_ts <= t <= s["ts_ms"])
        print("drift: shift at sample %d of %d; samples to detection per detector: %s" % (
            shift_idx, len(ss), delay), flush=True)
        check(1 <= min(delay.values()) <= 50,
              "first latency drift %d samples after the shift (expected 1..50)" % min(delay.values()))
    print("signals: %d total" % len(sigs), flush=True)

    # dead letters
    by_reason = {}
    for k, v, h in out["dlq"]:
        hd = {a: (b.decode() if b is not None else None) for a, b in h}
        by_reason.setdefault(hd.get("reason"), []).append((k, v, hd))
    for b in bad:
        lst = by_reason.get(b["reason"], [])
        src_topic = tp.inputs[b["topic"]]
        match = [x for x in lst if x[2].get("source_topic") == src_topic
                 and x[2].get("source_partition") == str(b["src"][0])
                 and x[2].get("source_offset") == str(b["src"][1])]
        check(len(match) == 1, "dead letter '%s' from %s not found exactly once" % (b["reason"], b["topic"]))
        if match:
            k, v, hd = match[0]
            check(k == b["key"] and v == b["value"], "dead letter '%s' lost its original bytes" % b["reason"])
            check(bool(hd.get("detail")), "dead letter '%s' has no detail" % b["reason"])
            print("dlq %-14s %-9s detail: %s" % (b["reason"], b["topic"], hd.get("detail")), flush=True)
    n_expected = {}
    for b in bad:
        n_expected[b["reason"]] = n_expected.get(b["reason"], 0) + 1
    for r, n in n_expected.items():
        check(len(by_reason.get(r, [])) == n, "dlq reason '%s': %d messages, expected %d" % (
            r, len(by_reason.get(r, [])), n))
    check(set(by_reason) == set(n_expected), "unexpected dlq reasons: %s" % sorted(set(by_reason) - set(n_expected)))


# ---------------------------------------------------------------- eos

# small transactions: many commit points to crash between, and a run long
# enough for the kills and the rebalance to land inside it
EOS_EXTRA = ["-X", "processor.commit.max.messages=50", "-X", "processor.commit.interval=100ms"]
EOS_THREADS = ["-X", "processor.threads=3"]


def run_eos(args, admin):
    events, bad, _ = wl.gen(args.requests, 11)
    print("eos: %d input events + %d bad" % (len(events), len(bad)), flush=True)
    pid = os.getpid()
    inputs = Topics(admin, "ptest.%d.in" % pid)
    runs = []
    try:
        produce_inputs(inputs, events, bad, fb_json=False)
        ends = end_offsets(inputs)

        # reference
        ref = Topics(admin, "ptest.%d.ref" % pid, inputs_from=inputs)
        runs.append(ref)
        g = "ptest-%d-ref" % pid
        # one merge thread here, three in the crash and rebalance runs: the
        # outputs must not depend on the thread count either
        pr = Proc(args.bin, ref, g, "i1", False, args.logdir,
                  extra=EOS_EXTRA + ["-X", "processor.threads=1"])
        t0 = time.time()
        pr.start()
        took = wait_done(g, ref, ends, [pr], 180)
        check(pr.term() == 0, "reference run did not stop cleanly")
        want = fingerprint(read_outputs(ref))
        print("reference: %.1f s; outputs %s" % (took, {k: len(v) for k, v in want.items()}), flush=True)

        # crash
        cr = Topics(admin, "ptest.%d.crash" % pid, inputs_from=inputs)
        runs.append(cr)
        g = "ptest-%d-crash" % pid
        pr = Proc(args.bin, cr, g, "i1", False, args.logdir, extra=EOS_EXTRA + EOS_THREADS)
        rng = random.Random(args.seed)
        t0 = time.time()
        total = sum(ends.values())
        mid_run = 0
        for i in range(args.kills):
            before = sum(max(0, v) for v in committed(g, cr).values())
            pr.start()
            # wait for this incarnation's first commit (group join, restore),
            # then kill at a random moment of the processing that follows
            dl = time.time() + 20
            while sum(max(0, v) for v in committed(g, cr).values()) == before and time.time() < dl:
                time.sleep(0.1)
            # short: on a quiet machine one incarnation gets through
            # thousands of events per second, and every kill must land
            # before the input is used up
            time.sleep(rng.uniform(0.0, 0.15))
            pr.kill9()
            done = sum(max(0, v) for v in committed(g, cr).values())
            mid_run += done < total
            print("kill -9 #%d at %.1f s (committed %d of %d input offsets)" % (
                i + 1, time.time() - t0, done, total), flush=True)
        # every kill tests recovery (a kill after the input ran out still
        # restarts from the changelog and must not repeat an output), but at
        # least three must land while input remains: on a quiet machine one
        # incarnation can get through a quarter of the input before the
        # first-commit probe sees it
        check(mid_run >= args.kills - 2, "only %d of %d kills hit a running job" % (mid_run, args.kills))
        pr.start()
        wait_done(g, cr, ends, [pr], 180)
        check(pr.term() == 0, "crash run did not stop cleanly")
        got = fingerprint(read_outputs(cr))
        for k in OUTPUTS:
            check(got[k] == want[k], "crash run: %s differ (%d vs %d records)" % (k, len(got[k]), len(want[k])))
        print("crash: %d kills, outputs equal: %s" % (args.kills, got == want), flush=True)

        # rebalance
        rb = Topics(admin, "ptest.%d.rebal" % pid, inputs_from=inputs)
        runs.append(rb)
        g = "ptest-%d-rebal" % pid
        a = Proc(args.bin, rb, g, "a", False, args.logdir, extra=EOS_EXTRA + EOS_THREADS)
        b = Proc(args.bin, rb, g, "b", False, args.logdir, extra=EOS_EXTRA + EOS_THREADS)
        a.start()
        time.sleep(max(2.5, took * 0.3))
        b.start()
        time.sleep(max(4.0, took * 0.3))
        print("rebalance: b leaves", flush=True)
        check(b.term() == 0, "instance b did not stop cleanly")
        b.p = None
        wait_done(g, rb, ends, [a], 180)
        check(a.term() == 0, "instance a did not stop cleanly")
        got = fingerprint(read_outputs(rb))
        for k in OUTPUTS:
            check(got[k] == want[k], "rebalance run: %s differ (%d vs %d records)" % (k, len(got[k]), len(want[k])))
        print("rebalance: outputs equal: %s" % (got == want), flush=True)
    finally:
        for t in runs:
            t.delete()
        inputs.delete()


# ---------------------------------------------------------------- idle

def run_idle(args, admin):
    """The live idle-partition path: with processor.event.time.only=false an
    input partition with no record for processor.idle.timeout has its
    watermark raised to wall clock - ooo, so the last windows close and the
    last unanswered requests become `missing` without new input. The same
    input in event-time-only mode (replay) leaves them open: only event time
    moves time there."""
    now = int(time.time() * 1000)
    base = (now - 10 * 60000) // 60000 * 60000  # minute-aligned, 10 min ago
    events = []
    for i in range(120):  # two minutes of event time, one request a second
        ts = base + i * 1000
        rid = "idle%04d" % i
        events.append({"topic": "requests", "partition": 0, "ts": ts, "rec": {
            "request_id": rid, "ts_ms": ts, "gateway": "gw1", "route": "chat", "tenant": None,
            "user": None, "task_type": "qa", "arm": "a", "provider": "p", "model": "m",
            "decision_version": 1, "propensity": 1.0, "experiment_id": None, "variant": None,
            "input_tokens_est": 10, "context": None, "prompt_hash": None}})
        if i % 10 == 0:
            continue  # never answered
        events.append({"topic": "responses", "partition": 0, "ts": ts + 50, "rec": {
            "request_id": rid, "ts_ms": ts + 50, "route": "chat", "arm": "a", "status": "ok",
            "http_status": 200, "error_type": None, "latency_ms": 50.0, "ttft_ms": None,
            "input_tokens": 10, "output_tokens": 20, "cost_usd": 0.001, "quality": None,
            "cache_hit": False, "batch_size": None, "provider": "p"}})
    inputs = Topics(admin, "ptest.%d.idle" % os.getpid())
    try:
        produce_inputs(inputs, events, [], fb_json=False)
        ends = {k: v for k, v in end_offsets(inputs).items() if v > 0}
        # event time alone: windows ending after max ts - ooo stay open;
        # requests with ts + join window > that watermark stay pending
        wm = events[-1]["ts"] - 5000
        want_et_windows = sum(1 for m in (1, 2) if base + m * 60000 <= wm)
        want_et_missing = sum(1 for i in range(0, 120, 10) if base + i * 1000 + 60000 <= wm)
        for live in (False, True):
            tp = Topics(admin, "ptest.%d.idle%d" % (os.getpid(), live), inputs_from=inputs)
            g = "ptest-%d-idle%d" % (os.getpid(), live)
            pr = Proc(args.bin, tp, g, "i1", False, args.logdir,
                      extra=["-X", "processor.event.time.only=%s" % ("false" if live else "true"),
                             "-X", "processor.idle.timeout=1s", "-X", "processor.join.window=1m"])
            try:
                pr.start()
                t0 = time.time()
                while time.time() - t0 < 60:
                    c = committed(g, tp)
                    if all(c.get(k, -1) == v for k, v in ends.items()):
                        break
                    if not pr.alive():
                        raise RuntimeError("processor exited (see %s)" % pr.log.name)
                    time.sleep(0.5)
                else:
                    raise RuntimeError("idle: input not consumed within 60 s")
                # live: the idle clock must close the rest with no new input
                want_w, want_m = (2, 12) if live else (want_et_windows, want_et_missing)
                t0 = time.time()
                while True:
                    time.sleep(1.0 if live else 3.0)
                    out = read_outputs(tp)
                    mets = [avro_decode("metrics", v) for _, v, _ in out["metrics"]]
                    tumbling = sorted((m["window_start_ms"], m["count"]) for m in mets
                                      if m["size_ms"] == 60000)
                    missing = sum(1 for _, v, _ in out["outcomes"]
                                  if avro_decode("outcomes", v)["status"] == "missing")
                    if not live or (len(tumbling) >= want_w and missing >= want_m) \
                            or time.time() - t0 > 20:
                        break
                mode = "live idle" if live else "event time only"
                check(len(tumbling) == want_w, "%s: %d tumbling windows closed, expected %d"
                      % (mode, len(tumbling), want_w))
                check(all(n == 54 for _, n in tumbling),
                      "%s: window counts %s, expected 54 each" % (mode, tumbling))
                check(missing == want_m, "%s: %d missing outcomes, expected %d" % (mode, missing, want_m))
                print("idle: %s: %d tumbling windows, %d missing outcomes" % (mode, len(tumbling), missing),
                      flush=True)
            finally:
                if pr.alive():
                    pr.term()
                tp.delete()
    finally:
        inputs.delete()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--logdir", default="/tmp")
    ap.add_argument("mode", choices=["truth", "eos", "idle"])
    ap.add_argument("--requests", type=int, default=0)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    if not args.requests:
        args.requests = 90000 if args.mode == "truth" else 20000
    admin = AdminClient({"bootstrap.servers": BOOT})
    admin.list_topics(timeout=10)
    t0 = time.time()
    try:
        {"truth": run_truth, "eos": run_eos, "idle": run_idle}[args.mode](args, admin)
    except Exception as e:  # a crash of the driver is a failure, never a pass
        FAILS.append("driver error: %r" % (e,))
        print("FAIL: driver error:", repr(e), flush=True)
    print("%s: %s in %.1f s (seed %d)" % (args.mode, "PASSED" if not FAILS else "FAILED (%d)" % len(FAILS),
                                         time.time() - t0, args.seed), flush=True)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
