#!/usr/bin/env python3
"""Integration tests of `llmopt replay` on the real broker.

  replay_test.py --llmopt PATH --proc PATH [--requests N]

One input (tests/tools/proc_workload.py: three co-partitioned topics, a
latency shift, every bad-input class) produced once into fresh topics
rtest.<pid>.in.*, then:

  live       llmopt-processor (processor.event.time.only=true, as the
             processor tests run it) over the whole input; its read_committed
             outputs (outcomes, metrics, signals, dlq).
  reproduce  llmopt replay --no-flush over the range of the input's record
             timestamps: its four output topics hold exactly the live
             outputs (key, value and header bytes, as sorted multisets).
  determinism two flushed replays into two prefixes: each output topic
             partition holds the same records in the same order, byte for
             byte; and every live output is among them (a flush only adds
             what was still open at the end).
  idle       llmopt-processor in its default mode (idle advance by the wall
             clock, 5 s) over the same input, left idle after it: its outputs
             equal the flushed replay's (as sorted multisets).
  sub-range  a second batch produced later: a replay of [between, end) reads
             exactly that batch (offsets for times).
  bad input  a range with no data exits 3 with a message saying so and
             creates nothing; a malformed time and an inverted range exit 2.
  progress   the replay's stderr carries progress lines with a percentage
             and the event time reached, ending at 100%.

Reads LLMOPT_BOOTSTRAP (default 127.0.0.1:19092). Deletes its topics.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import processor_test as pt  # noqa: E402  (workload, producing, reading outputs)

BOOT = pt.BOOT
FAILS = []
OUT_BASE = {"outcomes": "llm.outcomes", "metrics": "llm.metrics", "signals": "llm.signals",
            "dlq": "llm.dlq"}


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg, flush=True)


class Prefixed:
    """The output topics of one replay, in the shape processor_test reads."""

    def __init__(self, prefix):
        self.names = {k: "%s.%s" % (prefix, v) for k, v in OUT_BASE.items()}


def replay(args, inputs, prefix, t_from, t_to, extra=(), timeout=300):
    cmd = [args.llmopt, "replay", "--from", str(t_from), "--to", str(t_to), "--prefix", prefix,
           "-X", "kafka.bootstrap.servers=" + BOOT,
           "-X", "processor.feedback.window=2m",
           "-X", "processor.format.feedback=json"]
    for k in pt.INPUTS:
        cmd += ["-X", "processor.topic.%s=%s" % (k, inputs.inputs[k])]
    cmd += list(extra)
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.time() - t0


def read_ordered(topics, nparts=3):
    """Every record of each output topic partition, in offset order."""
    c = Consumer({"bootstrap.servers": BOOT, "group.id": "rtest-reader",
                  "isolation.level": "read_committed", "enable.partition.eof": True,
                  "enable.auto.commit": False})
    tps = [TopicPartition(topics.names[k], p, 0) for k in pt.OUTPUTS for p in range(nparts)]
    c.assign(tps)
    pending = {(tp.topic, tp.partition) for tp in tps}
    out = {(tp.topic, tp.partition): [] for tp in tps}
    t0 = time.time()
    while pending and time.time() - t0 < 120:
        for m in c.consume(10000, 0.5):
            if m.error():
                if m.error().code() == -191:
                    pending.discard((m.topic(), m.partition()))
                continue
            out[(m.topic(), m.partition())].append((m.key(), m.value(), tuple(m.headers() or [])))
    c.close()
    if pending:
        raise RuntimeError("could not read outputs to their end: %s" % sorted(pending))
    rev = {v: k for k, v in topics.names.items()}
    return {(rev[t], p): v for (t, p), v in out.items()}


def delete_topics(admin, names):
    for f in admin.delete_topics(list(names)).values():
        try:
            f.result(30)
        except Exception:
            pass


def run(args, admin):
    events, bad, _ = pt.wl.gen(args.requests, 23)
    n_in = len(events) + len(bad)
    print("replay: %d input events + %d bad" % (len(events), len(bad)), flush=True)
    pid = os.getpid()
    inputs = pt.Topics(admin, "rtest.%d.in" % pid)
    created = []
    try:
        t_from = int(time.time() * 1000) - 1000
        pt.produce_inputs(inputs, events, bad, fb_json=True)
        # a second batch, later in Kafka time: a sub-range replay reads it alone
        time.sleep(0.3)
        t_mid = int(time.time() * 1000)
        time.sleep(0.3)
        extra = []
        last_ts = max(e["ts"] for e in events)
        for i, e in enumerate([e for e in events if e["topic"] == "requests"][:300]):
            rec = dict(e["rec"], request_id="x%06d" % i, ts_ms=last_ts + 1000 + i)
            extra.append({"topic": "requests", "partition": e["partition"], "ts": rec["ts_ms"],
                          "rec": rec})
        pt.produce_inputs(inputs, extra, [], fb_json=True)
        t_to = int(time.time() * 1000) + 1000
        n_in += len(extra)
        ends = pt.end_offsets(inputs)

        # live
        group = "rtest-%d-live" % pid
        live = pt.Proc(args.proc, inputs, group, "i1", True, args.logdir,
                       extra=["-X", "processor.commit.interval=1s"])
        live.start()
        took = pt.wait_done(group, inputs, ends, [live], 240)
        check(live.term() == 0, "live processor did not stop cleanly")
        want = pt.fingerprint(pt.read_outputs(inputs))
        print("live: %.1f s; outputs %s" % (took, {k: len(v) for k, v in want.items()}), flush=True)
        check(all(len(want[k]) > 0 for k in pt.OUTPUTS), "the live run emitted nothing on some output")

        # reproduce: no flush, like the live processor at the end of its input
        pa = "rtest.%d.nf" % pid
        created += Prefixed(pa).names.values()
        rc, out, err, secs = replay(args, inputs, pa, t_from, t_to, ["--no-flush"])
        check(rc == 0, "replay --no-flush exit %d: %s" % (rc, err[-500:]))
        print(out.strip(), flush=True)
        got = pt.fingerprint(pt.read_outputs(Prefixed(pa)))
        for k in pt.OUTPUTS:
            check(got[k] == want[k], "replay --no-flush: %s differ from the live run (%d vs %d records)"
                  % (k, len(got[k]), len(want[k])))
        print("reproduce: live outputs equal: %s (%.1f s)" % (got == want, secs), flush=True)

        # progress lines
        lines = [l for l in err.splitlines() if l.startswith("replay:")]
        check(len(lines) >= 1 and "100.0%" in lines[-1] and "done" in lines[-1],
              "no final progress line at 100%%: %r" % lines[-1:])
        check(all(re.search(r"\d+\.\d%.*ev/s.*event time \d{4}-", l) for l in lines),
              "progress lines lack the percentage, rate or event time: %r" % lines[:2])
        print("progress: %d lines, last: %s" % (len(lines), lines[-1] if lines else None), flush=True)

        # determinism: two flushed replays, byte for byte in topic order
        runs = []
        for tag in ("f1", "f2"):
            pf = "rtest.%d.%s" % (pid, tag)
            created += Prefixed(pf).names.values()
            rc, out, err, secs = replay(args, inputs, pf, t_from, t_to, ["--format", "json", "--quiet"])
            check(rc == 0, "replay %s exit %d: %s" % (tag, rc, err[-500:]))
            print("%s: %s" % (tag, out.strip()), flush=True)
            runs.append(read_ordered(Prefixed(pf)))
        a, b = runs
        same = all(a[k] == b[k] for k in a) and set(a) == set(b)
        check(same, "two replays differ: %s" % [k for k in a if a[k] != b.get(k)])
        total = sum(len(v) for v in a.values())
        print("determinism: two replays identical: %s (%d records)" % (same, total), flush=True)
        flushed = {k: sorted((m[0] or b"", m[1] or b"", tuple(sorted(m[2])))
                             for (kk, _), v in a.items() if kk == k for m in v) for k in pt.OUTPUTS}
        for k in pt.OUTPUTS:
            rest = list(flushed[k])
            missing = 0
            pos = {}
            for rec in rest:
                pos[rec] = pos.get(rec, 0) + 1
            for rec in want[k]:
                if pos.get(rec, 0):
                    pos[rec] -= 1
                else:
                    missing += 1
            check(missing == 0, "flushed replay lacks %d live %s records" % (missing, k))
        check(len(flushed["metrics"]) > len(want["metrics"]),
              "the flush closed no window beyond the live ones")

        # live in its default mode: once the input is used up, the idle
        # advance (wall clock, far past these event times) closes everything,
        # as the replay's flush does
        live2 = pt.Topics(admin, "rtest.%d.idle" % pid, inputs_from=inputs)
        created += live2.owned
        group = "rtest-%d-idle" % pid
        pr = pt.Proc(args.proc, live2, group, "i1", True, args.logdir,
                     extra=["-X", "processor.commit.interval=1s",
                            "-X", "processor.event.time.only=false",
                            "-X", "processor.idle.timeout=5s"])
        pr.start()
        pt.wait_done(group, live2, ends, [pr], 240)
        time.sleep(8)  # idle timeout, then a commit cycle
        check(pr.term() == 0, "live processor (idle advance) did not stop cleanly")
        idle = pt.fingerprint(pt.read_outputs(live2))
        for k in pt.OUTPUTS:
            check(idle[k] == flushed[k], "live with idle advance vs flushed replay: %s differ "
                  "(%d vs %d records)" % (k, len(idle[k]), len(flushed[k])))
        print("live with idle advance: outputs equal to the flushed replay: %s" % (
            all(idle[k] == flushed[k] for k in pt.OUTPUTS)), flush=True)

        # a sub-range: the offsets for [t_mid, t_to) hold the second batch only
        pm = "rtest.%d.mid" % pid
        created += Prefixed(pm).names.values()
        rc, out, err, _ = replay(args, inputs, pm, t_mid, t_to, ["--format", "json", "--quiet"])
        check(rc == 0, "sub-range replay exit %d: %s" % (rc, err[-500:]))
        sub = json.loads(out.strip().splitlines()[-1]) if rc == 0 else {}
        check(sub.get("events") == len(extra) and sub.get("outcomes") == len(extra),
              "sub-range replay: %s events, %s outcomes, expected %d of each (flushed as missing)"
              % (sub.get("events"), sub.get("outcomes"), len(extra)))
        print("sub-range [t_mid, t_to): %s events, %s outcomes" % (sub.get("events"), sub.get("outcomes")),
              flush=True)

        # bad input
        rc, out, err, _ = replay(args, inputs, "rtest.%d.none" % pid, 1000, 2000)
        check(rc == 3 and "no data" in err, "empty range: exit %d, stderr %r" % (rc, err[-300:]))
        md = admin.list_topics(timeout=10)
        check(not any(t.startswith("rtest.%d.none" % pid) for t in md.topics),
              "an empty range created output topics")
        print("empty range: exit %d: %s" % (rc, err.strip()), flush=True)
        rc, out, err, _ = replay(args, inputs, "rtest.%d.bad" % pid, "yesterday", t_to)
        check(rc == 2 and "invalid --from 'yesterday'" in err, "bad time: exit %d, %r" % (rc, err[-300:]))
        print("bad time: exit %d: %s" % (rc, err.strip()), flush=True)
        rc, out, err, _ = replay(args, inputs, "rtest.%d.bad" % pid, t_to, t_from)
        check(rc == 2 and "not before" in err, "inverted range: exit %d, %r" % (rc, err[-300:]))
        print("inverted range: exit %d: %s" % (rc, err.strip()), flush=True)
        rc, out, err, _ = replay(args, inputs, "rtest.%d.nf" % pid, t_from, t_to, ["--quiet"])
        check(rc == 1 and "already holds" in err, "non-empty outputs: exit %d, %r" % (rc, err[-300:]))
        print("outputs in use: exit %d: %s" % (rc, err.strip()), flush=True)
        check(n_in == sum(ends.values()), "input count mismatch")
    finally:
        delete_topics(admin, set(created))
        inputs.delete()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmopt", required=True)
    ap.add_argument("--proc", required=True)
    ap.add_argument("--logdir", default="/tmp")
    ap.add_argument("--requests", type=int, default=20000)
    args = ap.parse_args()
    admin = AdminClient({"bootstrap.servers": BOOT})
    admin.list_topics(timeout=10)
    t0 = time.time()
    try:
        run(args, admin)
    except Exception as e:  # a crash of the driver is a failure, never a pass
        FAILS.append("driver error: %r" % (e,))
        print("FAIL: driver error:", repr(e), flush=True)
    print("replay: %s in %.1f s" % ("PASSED" if not FAILS else "FAILED (%d)" % len(FAILS),
                                   time.time() - t0), flush=True)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
