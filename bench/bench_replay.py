#!/usr/bin/env python3
"""Benchmark: `llmopt replay` events/s as a ratio to the live llmopt-processor
on the same data (issue 8: bar >= 1).

  .venv/bin/python bench/bench_replay.py --llmopt build-X/tools/llmopt \
      --proc build-X/processor/llmopt-processor [--requests 150000] [--runs 3]

Produces the processor-test workload (tests/tools/proc_workload.py: requests,
responses, feedback, Avro, 3 partitions) once into fresh topics, then per run:
  live    llmopt-processor (commit.interval 1 s, event-time only, a fresh
          group): wall rate = input records processed
          (llmopt_processor_events_in_total from /metrics every 50 ms) from
          the first sample above 0 to the first at the total (start-up, group
          join and restore excluded); CPU = the process's user+sys time
          (getrusage of the child, start-up and the final commit included).
  replay  llmopt replay over the range of the input's record timestamps into
          fresh prefixed topics: wall rate = events / the replay's own
          seconds (plan, reading, engine, producing; process start-up and the
          final producer flush excluded); CPU = the process's user+sys time
          (everything included).
Prints each run and the medians of the two ratios (replay / live), wall and
per CPU second. Deletes its topics.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import processor_test as pt  # noqa: E402
import proc_workload as wl  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_live(a, admin, inp, total, tag):
    # fresh output and changelog topics: a new group must not find an
    # earlier run's checkpoint
    tp = pt.Topics(admin, "rbench.%d.%s" % (os.getpid(), tag), inputs_from=inp)
    g = "rbench-%d-%s" % (os.getpid(), tag)
    port = 18000 + (os.getpid() + hash(tag)) % 1000
    pr = pt.Proc(a.proc, tp, g, "b1", False, "/tmp",
                 extra=["-X", "processor.commit.interval=1s", "-X", "http.port=%d" % port,
                        "-X", "log.level=warn"])
    c0 = child_cpu()
    pr.start()
    samples = []
    t0 = time.time()
    while time.time() - t0 < 600:
        try:
            body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port).read().decode()
        except OSError:
            time.sleep(0.05)
            continue
        done = sum(int(float(l.split()[-1])) for l in body.splitlines()
                   if l.startswith("llmopt_processor_events_in_total"))
        samples.append((time.time(), done))
        if done >= total and "llmopt_processor_commits_total 0" not in body:
            break
        time.sleep(0.05)
    pr.term()
    cpu = child_cpu() - c0
    tp.delete()
    moving = [s for s in samples if s[1] > 0]
    first, last = moving[0], moving[-1]
    if last[1] < total:
        raise RuntimeError("live processor did not finish (%d of %d)" % (last[1], total))
    secs = last[0] - first[0]
    return (last[1] - first[1]) / secs, total / cpu


def run_replay(a, tp, t_from, t_to, tag):
    prefix = "rbench.%d.%s" % (os.getpid(), tag)
    cmd = [a.llmopt, "replay", "--from", str(t_from), "--to", str(t_to), "--prefix", prefix,
           "--format", "json", "--quiet", "-X", "kafka.bootstrap.servers=" + pt.BOOT,
           "-X", "processor.feedback.window=2m", "-X", "log.level=warn"]
    for k in pt.INPUTS:
        cmd += ["-X", "processor.topic.%s=%s" % (k, tp.inputs[k])]
    c0 = child_cpu()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    cpu = child_cpu() - c0
    if p.returncode:
        raise RuntimeError("replay failed (%d): %s" % (p.returncode, p.stderr[-500:]))
    r = json.loads(p.stdout.strip().splitlines()[-1])
    return r["events"] / r["seconds"], r["events"] / cpu, prefix, r["events"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmopt", required=True)
    ap.add_argument("--proc", required=True)
    ap.add_argument("--requests", type=int, default=150000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    admin = AdminClient({"bootstrap.servers": pt.BOOT})
    events, _, _ = wl.gen(a.requests, 5)
    tp = pt.Topics(admin, "rbench.%d.in" % os.getpid())
    made = []
    try:
        t_from = int(time.time() * 1000) - 1000
        pt.produce_inputs(tp, events, [], fb_json=False)
        t_to = int(time.time() * 1000) + 1000
        total = sum(pt.end_offsets(tp).values())
        print("input: %d records (requests, responses, feedback; Avro; 3 partitions)" % total,
              flush=True)
        wall, cpu = [], []
        for i in range(a.runs):
            lw, lc = run_live(a, admin, tp, total, "l%d" % i)
            rw, rc, prefix, n = run_replay(a, tp, t_from, t_to, "r%d" % i)
            made += ["%s.%s" % (prefix, t) for t in ("llm.outcomes", "llm.metrics", "llm.signals", "llm.dlq")]
            if n != total:
                raise RuntimeError("replay read %d records, input has %d" % (n, total))
            wall.append(rw / lw)
            cpu.append(rc / lc)
            print("run %d: live %.0f ev/s (%.0f per CPU s); replay %.0f ev/s (%.0f per CPU s); "
                  "ratio wall %.2f, CPU %.2f" % (i + 1, lw, lc, rw, rc, rw / lw, rc / lc), flush=True)
        print("median ratio replay/live: wall %.2f, per CPU second %.2f (load average %s)" % (
            statistics.median(wall), statistics.median(cpu),
            " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
    finally:
        for f in admin.delete_topics(made).values() if made else []:
            try:
                f.result(30)
            except Exception:
                pass
        tp.delete()


if __name__ == "__main__":
    main()
