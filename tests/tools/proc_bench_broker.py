#!/usr/bin/env python3
"""Benchmark (b): llmopt-processor throughput through the local broker divided
by a bare librdkafka consume + Avro decode of the same input in the same run.

  proc_bench_broker.py --proc PATH --bench PATH [--requests N]

Produces N requests and their responses (Avro) to fresh topics, then
  bare:      bench_processor consume (one consumer, assign, decode) over the
             requests topic and over the responses topic, messages/s summed
             as total messages / total time;
  processor: llmopt-processor (commit.interval 1 s, event-time only); its rate
             is input messages processed (llmopt_processor_events_in_total,
             sampled from /metrics every 50 ms) from the first sample above 0
             to the first sample at the total, over that time (start-up, group
             join and restore excluded; the final commit included).
Also printed, as a diagnosis that a loaded machine disturbs less: CPU time
(user + system, all threads) per message of each side over the same spans
(bare: the child's rusage; processor: /proc/PID/stat at those two samples),
the Kafka broker's own CPU per message over each span (/proc/PID/stat of the
broker listening on the bootstrap port), and the ceiling these put on the
ratio on this machine: however the work is spread over threads, the processor
cannot run faster than ncpu / (processor CPU + broker CPU per message), so
ratio <= ncpu / ((processor + broker CPU per message) x bare rate).

With --passthrough (the default; --no-passthrough skips it) the same run then
measures bench_processor passthrough over the same input topics (its own
group and output topic): one group consumer, Avro decode of every message and
one Outcome per response produced in 1 s transactions with the consumed
offsets, nothing else; a processor honouring the output contract does at least
this much, so its ratio bounds the processor's here. Its rate is its own
(first message to the commit covering the last), its CPU per message its
getrusage over that span, the broker's CPU per message /proc/PID/stat of the
broker at the start and end lines it prints. Then `ideal processor`: the
pass-through's CPU plus the engine alone (`bench_processor pipeline` minus its
decode) plus the broker's CPU during the pass-through, as if spread perfectly
over every CPU: the ceiling of any processor doing this work on this machine.
--passthrough-split then also
runs it without outcomes (`offsets`: transactions with the offsets only) and
without a producer (`consume`: group consume + decode), each in its own group.
"""
import argparse
import os
import resource
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import processor_test as pt  # noqa: E402
import proc_workload as wl  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def broker_pid(boot):
    """The pid of the local Kafka broker whose listeners name boot's port, or None."""
    port = boot.rsplit(":", 1)[1]
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"kafka.Kafka" not in argv:
            continue
        props = argv[argv.index(b"kafka.Kafka") + 1].decode() if len(argv) > argv.index(b"kafka.Kafka") + 1 else ""
        try:
            with open(props) as f:
                if any(l.startswith("listeners=") and (":%s" % port) in l for l in f):
                    return int(d)
        except OSError:
            continue
    return None


def passthrough(a, admin, tp, n, bpid, proc_cpu, thread_cpu, bare, level="full"):
    """Runs bench_processor passthrough (at `level`) over tp's inputs and prints its lines."""
    out = tp.prefix + ".pass.outcomes"
    if out not in tp.owned:
        for f in admin.create_topics([NewTopic(out, num_partitions=3,
                                               replication_factor=1)]).values():
            f.result(30)
        tp.owned.append(out)
    label = "passthrough" if level == "full" else "passthrough (%s only)" % level
    want = n["requests"] + n["responses"]
    p = subprocess.Popen([a.bench, "passthrough", pt.BOOT, tp.inputs["requests"],
                          tp.inputs["responses"], out, "pbench-pass-%s-%d" % (level, os.getpid()),
                          str(want), level],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    b0 = b1 = float("nan")
    th0 = th1 = {}
    result = None
    for line in p.stdout:
        if line.startswith("passthrough: first message"):
            b0 = proc_cpu(bpid) if bpid else float("nan")
            th0 = thread_cpu(p.pid)
        elif line.startswith("passthrough: "):
            b1 = proc_cpu(bpid) if bpid else float("nan")
            th1 = thread_cpu(p.pid)
            result = line.strip()
    rc = p.wait(60)
    if rc or not result:
        print("%s: failed (exit %d): %s" % (label, rc, p.stderr.read().strip()))
        return
    print(result if level == "full" else result.replace("passthrough", label, 1))
    rate = float(result.split("= ")[1].split()[0])
    rate_last = float(result.split("= ")[2].split()[0])
    cpu = float(result.split("cpu ")[1].split()[0])
    broker = (b1 - b0) / want * 1e6
    print("%s: %.0f msg/s; ratio to bare %.2f; cpu per message %.2f us; broker cpu per "
          "message %.2f us; ceiling on %d cpus: ratio <= %.2f; to the last message (final "
          "commit excluded) %.0f msg/s, ratio %.2f"
          % (label, rate, rate / bare, cpu, broker, os.cpu_count(),
             os.cpu_count() / ((cpu + broker) * 1e-6 * bare), rate_last, rate_last / bare))
    parts = []
    for tid in sorted(th1):
        name, c1, s1 = th1[tid]
        _, c0, s0 = th0.get(tid, (name, 0.0, 0))
        if c1 - c0 > 0:
            parts.append("%s/%d %.2f us %.1f cs" % (name, tid, (c1 - c0) / want * 1e6,
                                                     (s1 - s0) * 1000.0 / want))
    print(label + " per thread (us/msg, context switches per 1000 msgs): " + "; ".join(parts))
    if level == "full":
        ideal(a, cpu, broker, bare)


def ideal(a, pass_cpu, pass_broker, bare):
    """The ceiling of an ideal processor on this machine: the pass-through's
    CPU per message (consume, decode, one transactional Outcome per response)
    plus the engine alone (bench_processor pipeline minus its decode, in
    process, outputs not encoded), plus the broker's CPU per message during
    the pass-through, spread perfectly over every CPU, over the bare rate of
    this run. A real processor also checkpoints, merges, emits metrics and
    signals: it can only be slower."""
    out = subprocess.run([a.bench, "pipeline", "400000"], capture_output=True, text=True,
                         timeout=120).stdout
    eng = [l for l in out.splitlines() if l.startswith("decode alone:")]
    if not eng:
        print("ideal processor: bench_processor pipeline printed no engine figure")
        return
    engine_us = float(eng[0].split("engine alone: ")[1].split()[0]) / 1000.0
    total = pass_cpu + engine_us + pass_broker
    print("ideal processor (pass-through %.2f + engine alone %.2f us CPU + broker %.2f us per "
          "message, perfectly spread over %d cpus): <= %.0f msg/s, ratio <= %.2f"
          % (pass_cpu, engine_us, pass_broker, os.cpu_count(),
             os.cpu_count() / (total * 1e-6), os.cpu_count() / (total * 1e-6 * bare)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proc", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--requests", type=int, default=150000)
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument("--perf", help="also `perf record -g` the processor (all its threads) "
                    "into this file while it runs")
    ap.add_argument("--perf-call-graph", default="fp", help="perf's --call-graph (fp, dwarf)")
    ap.add_argument("--passthrough", action=argparse.BooleanOptionalAction, default=True,
                    help="also run bench_processor passthrough on the same input (default on)")
    ap.add_argument("--passthrough-split", action="store_true",
                    help="then also its `offsets` (no outcomes) and `consume` (no producer) "
                    "levels, to see what the outcomes and the transactions cost")
    a = ap.parse_args()
    admin = AdminClient({"bootstrap.servers": pt.BOOT})
    events, _, _ = wl.gen(a.requests, 5, shift=False)
    events = [e for e in events if e["topic"] != "feedback"]
    tp = pt.Topics(admin, "pbench.%d" % os.getpid())
    try:
        pt.produce_inputs(tp, events, [], fb_json=False)
        ends = pt.end_offsets(tp)
        n = {t: sum(v for (tn, _), v in ends.items() if tn == tp.inputs[t]) for t in pt.INPUTS}
        tick = os.sysconf("SC_CLK_TCK")

        def proc_cpu(pid):
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick
        bpid = broker_pid(pt.BOOT)
        total_t = 0.0
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        bk0 = proc_cpu(bpid) if bpid else float("nan")
        for t in ("requests", "responses"):
            t0 = time.time()
            rec = "Request" if t == "requests" else "Response"
            out = subprocess.run([a.bench, "consume", pt.BOOT, tp.inputs[t], str(n[t]), rec],
                                 capture_output=True, text=True, check=True).stdout
            print(t, out.strip())
            rate = float(out.split("=")[1].split()[0])
            total_t += n[t] / rate
        bare = (n["requests"] + n["responses"]) / total_t
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        bk1 = proc_cpu(bpid) if bpid else float("nan")
        bare_cpu = (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / (
            n["requests"] + n["responses"])
        bare_broker = (bk1 - bk0) / (n["requests"] + n["responses"])

        def thread_cpu(pid):
            """{tid: (name, cpu seconds, context switches)} of every thread."""
            out = {}
            for tid in os.listdir("/proc/%d/task" % pid):
                try:
                    with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                        st = f.read()
                    with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                        cs = sum(int(l.split()[1]) for l in f if "ctxt_switches" in l)
                except OSError:
                    continue
                name = st[st.index("(") + 1:st.rindex(")")]
                fl = st.rsplit(")", 1)[1].split()
                out[int(tid)] = (name, (int(fl[11]) + int(fl[12])) / tick, cs)
            return out
        g = "pbench-%d" % os.getpid()
        port = 18000 + os.getpid() % 1000
        pr = pt.Proc(a.proc, tp, g, "b1", False, "/tmp", extra=["-X", "processor.commit.interval=1s",
                                                                  "-X", "http.port=%d" % port,
                                                                  "-X", "log.level=warn"] + a.extra)
        pr.start()
        perf = None
        samples = []
        want = n["requests"] + n["responses"]
        t0 = time.time()
        while time.time() - t0 < 300:
            try:
                body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port).read().decode()
            except OSError:
                time.sleep(0.05)
                continue
            done = sum(int(float(l.split()[-1])) for l in body.splitlines()
                       if l.startswith("llmopt_processor_events_in_total"))
            try:
                cpu = proc_cpu(pr.p.pid)
            except OSError:
                cpu = float("nan")
            try:
                threads = thread_cpu(pr.p.pid)
            except OSError:
                threads = {}
            try:
                bcpu = proc_cpu(bpid) if bpid else float("nan")
            except OSError:
                bcpu = float("nan")
            samples.append((time.time(), done, cpu, threads, bcpu))
            if a.perf and not perf:
                # attached once /metrics answers: its threads exist by then
                # (perf -p follows only the threads present when it attaches)
                perf = subprocess.Popen(["perf", "record", "-q", "-F", "1999", "--call-graph",
                                         a.perf_call_graph, "-o", a.perf,
                                         "-p", str(pr.p.pid)], stdout=subprocess.DEVNULL)
            if done >= want and "llmopt_processor_commits_total 0" not in body:
                break
            time.sleep(0.05)
        if perf:
            perf.send_signal(2)
            perf.wait(60)
        pr.term()
        moving = [s for s in samples if s[1] > 0]
        first, last = moving[0], moving[-1]
        proc = (last[1] - first[1]) / (last[0] - first[0])
        print("bare consume+decode: %.0f msg/s; processor: %.0f msg/s (%d msgs in %.2f s); ratio %.2f" % (bare, proc, last[1] - first[1], last[0] - first[0],
                                                 proc / bare))
        pcpu = (last[2] - first[2]) / max(1, last[1] - first[1])
        print("cpu per message: bare %.2f us, processor %.2f us (all threads); cpu ratio %.2f"
              % (bare_cpu * 1e6, pcpu * 1e6, bare_cpu / pcpu if pcpu > 0 else float("nan")))
        pbroker = (last[4] - first[4]) / max(1, last[1] - first[1])
        ncpu = os.cpu_count()
        print("broker cpu per message: during bare %.2f us, during processor %.2f us; ceiling on "
              "%d cpus: processor <= %.0f msg/s, ratio <= %.2f (bare alone <= %.0f msg/s)"
              % (bare_broker * 1e6, pbroker * 1e6, ncpu, ncpu / (pcpu + pbroker),
                 ncpu / ((pcpu + pbroker) * bare), ncpu / (bare_cpu + bare_broker)))
        # per thread, in creation order (the daemon creates the producer,
        # then the group consumer, then the changelog reader, then the HTTP
        # server): CPU per message and context switches per 1000 messages
        msgs = max(1, last[1] - first[1])
        parts = []
        for tid in sorted(last[3]):
            name, c1, s1 = last[3][tid]
            _, c0, s0 = first[3].get(tid, (name, 0.0, 0))
            if c1 - c0 > 0 or s1 - s0 > 100:
                parts.append("%s/%d %.2f us %.1f cs" % (name, tid, (c1 - c0) / msgs * 1e6,
                                                         (s1 - s0) * 1000.0 / msgs))
        print("per thread (us/msg, context switches per 1000 msgs): " + "; ".join(parts))
        if a.passthrough:
            passthrough(a, admin, tp, n, bpid, proc_cpu, thread_cpu, bare)
            for level in ("offsets", "consume") if a.passthrough_split else ():
                passthrough(a, admin, tp, n, bpid, proc_cpu, thread_cpu, bare, level)
    finally:
        tp.delete()


if __name__ == "__main__":
    main()
