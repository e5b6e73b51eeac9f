"""Closed-loop scenario tests: llmopt simulate -> llmopt-processor -> llmopt-controller -> back.

  loop_test.py --llmopt BIN --processor BIN --controller BIN CASE [--keep]

Each run owns everything it touches: topics named loop.<pid>.<case>.llm.* (created here,
deleted after), a scratch Postgres database llmopt_loop_<pid> (created, migrated with
`llmopt migrate`, dropped after), its own consumer group, lock name and routes. The
processor and controller settings come from the scenario's "stack" member (`llmopt
simulate stack`), the controller policy from `llmopt simulate policy`.

CASE (scenario file in examples/scenarios/, criterion):
  error       loop-error.json: the best arm's error rate jumps to 40 % at 200 req/s;
              its share (trailing 2 s) falls below 5 % within 10 s of the change
  latency     loop-latency.json (x4): the best arm's latency triples; within 60 s of
              event time its share (trailing 10 s) falls below half its pre-change share
  default     default-30m.json (x20): realised reward >= 95 % of the oracle's and above
              the uniform split's expected reward
  stationary  stationary-30m.json (x20): no published decision ever puts an arm in
              cooldown (the circuit breaker never opens)
  demo        demo.json (x10, not a ctest): every injected change re-routed traffic
  capacity    strat-capacity.json (x2, issue 9 (i)): the backend's capacity halves at +60 s
              under 1.5x its capacity of demand; within 10 adjustment periods (10 s, aligned
              on event time) a period's backend rate-limited share is below 1 %, and from then
              on the route is served at >= 80 % of the new capacity (not starved)
  cache       strat-cache.json (x2, issue 9 (ii)): Zipf prompts through the gateway cache;
              the hit rate of the processor's windows (llm.metrics) equals the simulator's
              count over the same span within 2 points, and, cached answers scoring 0.2
              lower, a decision shortens the TTL or turns caching off
  batch       strat-batch.json (x3, issue 9 batching): one arm served in batches through the
              gateway's batcher, per-item p95 target 800 ms, max batch 6 in bounds 1..16,
              periods of 6 s; (i) before the change the controller grows the max batch by
              >= 5 while the processor's per-item p95 is under the target; (ii) the per-item
              batch cost rises x5 at +75 s (p95 passes the target) and a decision shrinks
              the max batch within 3 adjustment periods (18 s of event time); (iii) every
              published max batch lies in 1..16; (iv) the processor's batch_size_mean
              (llm.metrics, count-weighted) equals the simulator's per-response mean batch
              size over the same span within 2 %
  sampler     demo.json open loop (no processor, no controller, unpaced, 300 s): every
              request falls back to the first arm; its realised mean reward must equal the
              oracle's expected reward of that arm within 4 standard errors (the sampler
              and the closed-form oracle agree)

Prints the simulator's summary and the figure checked; exit 0 pass, 1 fail.
"""
import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import fastavro
import loop_optimize
import psycopg
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOOT = os.environ.get("LLMOPT_BOOTSTRAP", "127.0.0.1:19092")
ADMIN_DSN = os.environ.get("LLMOPT_PG_DSN", "host=127.0.0.1 port=55432 user=llmopt dbname=llmopt")
ROUTING = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", "routing_decision.avsc"))))
CASES = {"error": "loop-error.json", "latency": "loop-latency.json",
         "default": "default-30m.json", "stationary": "stationary-30m.json",
         "demo": "demo.json", "sampler": "demo.json",
         "capacity": "strat-capacity.json", "cache": "strat-cache.json",
         "batch": "strat-batch.json",
         "prompt": "opt-prompt.json", "tuner": "opt-tuner.json"}  # last two: loop_optimize.py
METRICS = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", "window_metrics.avsc"))))
TOPICS = ["llm.requests", "llm.responses", "llm.feedback", "llm.outcomes", "llm.metrics",
          "llm.signals", "llm.dlq", "llm.processor.state", "llm.routing"]


def log(*a):
    print("[%s]" % time.strftime("%H:%M:%S"), *a, flush=True)


def dsn_for(db):
    return " ".join([p for p in ADMIN_DSN.split() if not p.startswith("dbname=")] + ["dbname=" + db])


def shares(path):
    """{t_s: (n, {arm: count})} for the route (one route per scenario here)."""
    out = {}
    for line in open(path):
        r = json.loads(line)
        out[int(round(r["t_s"]))] = (r["n"], r["arms"])
    return out


def window_share(sh, arm, t0, t1):
    n = a = 0
    for t in range(int(t0), int(t1)):
        if t in sh:
            n += sh[t][0]
            a += sh[t][1].get(arm, 0)
    return (a / n if n else float("nan")), n


def routing_records(topic, schema=None):
    schema = schema or ROUTING
    c = Consumer({"bootstrap.servers": BOOT, "group.id": "looptest-read-%d" % os.getpid(),
                  "enable.auto.commit": False})
    md = c.list_topics(topic, timeout=10)
    parts = []
    for p in md.topics[topic].partitions:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if hi > lo:
            parts.append((p, lo, hi))
    c.assign([TopicPartition(topic, p, lo) for p, lo, hi in parts])
    left = {p: hi for p, lo, hi in parts}
    recs = []
    end = time.time() + 30
    while left and time.time() < end:
        m = c.poll(0.2)
        if m is None:
            # a transactional topic (the processor's) ends on a commit marker that
            # is never delivered: the position passing the end says it was read
            for tp in c.position([TopicPartition(topic, p) for p in list(left)]):
                if tp.offset >= left[tp.partition]:
                    left.pop(tp.partition, None)
            continue
        if m.error():
            continue
        v = m.value()
        if v:
            recs.append(fastavro.schemaless_reader(io.BytesIO(v[5:]), schema) if v[:1] == b"\x00"
                        else json.loads(v))
        if m.offset() + 1 >= left.get(m.partition(), 0):
            left.pop(m.partition(), None)
    c.close()
    return recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmopt", required=True)
    ap.add_argument("--processor", required=True)
    ap.add_argument("--controller", required=True)
    ap.add_argument("--keep", action="store_true", help="keep topics, database and files")
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    pid = os.getpid()
    scenario = os.path.join(ROOT, "examples", "scenarios", CASES[a.case])
    prefix = "loop.%d.%s." % (pid, a.case)
    db = "llmopt_loop_%d" % pid
    tmp = tempfile.mkdtemp(prefix="loop-%s-" % a.case)
    admin = AdminClient({"bootstrap.servers": BOOT})
    procs = []
    ok = False
    created = []
    try:
        new = []
        for t in TOPICS:
            cfg = {"cleanup.policy": "compact"} if t in ("llm.processor.state", "llm.routing") else {}
            new.append(NewTopic(prefix + t, num_partitions=1 if t == "llm.routing" else 3,
                                replication_factor=1, config=cfg))
        for n, f in admin.create_topics(new).items():
            f.result(30)
            created.append(n)
        if a.case == "sampler":
            sampler(a, scenario, prefix, tmp)  # raises Done
        with psycopg.connect(ADMIN_DSN, autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
            c.execute("CREATE DATABASE %s" % db)
        dsn = dsn_for(db)
        r = subprocess.run([a.llmopt, "migrate", "-X", "pg.dsn=" + dsn, "-X",
                            "migrate.dir=" + os.path.join(ROOT, "sql", "migrations")],
                           capture_output=True, text=True, timeout=120)
        if r.returncode:
            raise RuntimeError("migrate failed: " + r.stderr)
        policy = os.path.join(tmp, "policy.json")
        sim_common = ["--scenario", scenario, "-X", "simulate.topic.prefix=" + prefix]
        subprocess.run([a.llmopt, "simulate", "policy"] + sim_common +
                       ["-X", "simulate.policy.out=" + policy], check=True, timeout=30)
        stack = subprocess.run([a.llmopt, "simulate", "stack"] + sim_common, check=True,
                               capture_output=True, text=True, timeout=30).stdout.split("\n")
        px = [x.split(" ", 1)[1] for x in stack if x.startswith("processor ")]
        cx = [x.split(" ", 1)[1] for x in stack if x.startswith("controller ")]
        pargs = [a.processor, "-X", "kafka.bootstrap.servers=" + BOOT, "-X", "http.port=0",
                 "-X", "processor.group.id=loop-%d-%s" % (pid, a.case),
                 "-X", "processor.instance.id=p0"]
        for t in ("requests", "responses", "feedback", "outcomes", "metrics", "signals", "dlq"):
            pargs += ["-X", "processor.topic.%s=%sllm.%s" % (t, prefix, t)]
        pargs += ["-X", "processor.topic.state=%sllm.processor.state" % prefix]
        for kv in px:
            pargs += ["-X", kv]
        cargs = [a.controller, "-X", "pg.dsn=" + dsn, "-X", "kafka.bootstrap.servers=" + BOOT,
                 "-X", "http.port=0", "-X", "controller.policy.file=" + policy,
                 "-X", "controller.models.file=", "-X", "controller.instance.id=c0",
                 "-X", "controller.lock.name=loop.%d" % pid,
                 "-X", "controller.notify.channel=loop_%d" % pid,
                 "-X", "controller.start.from=earliest"]
        for t in ("outcomes", "metrics", "signals"):
            cargs += ["-X", "controller.topic.%s=%sllm.%s" % (t, prefix, t)]
        cargs += ["-X", "controller.topic.routing=%sllm.routing" % prefix]
        for kv in cx:
            cargs += ["-X", kv]
        for name, args in (("processor", pargs), ("controller", cargs)):
            procs.append((name, subprocess.Popen(args, stdout=open(os.path.join(tmp, name + ".log"), "w"),
                                                 stderr=subprocess.STDOUT, cwd=ROOT)))
        loop_optimize.before_sim(a.case, a.llmopt, dsn, log)
        files = {k: os.path.join(tmp, k) for k in ("oracle.jsonl", "shares.jsonl", "summary.json")}
        sim = [a.llmopt, "simulate"] + sim_common + [
            "-X", "simulate.oracle.file=" + files["oracle.jsonl"],
            "-X", "simulate.shares.file=" + files["shares.jsonl"],
            "-X", "simulate.summary.file=" + files["summary.json"],
            "-X", "simulate.ready.timeout=60s", "-X", "simulate.progress=10s"]
        log("simulate:", " ".join(sim[2:]))
        r = subprocess.run(sim, timeout=900)
        if r.returncode:
            raise RuntimeError("llmopt simulate exited %d" % r.returncode)
        for name, p in procs:
            if p.poll() is not None:
                raise RuntimeError("%s died (exit %d), log in %s" % (name, p.returncode, tmp))
        summ = json.load(open(files["summary.json"]))
        sh = shares(files["shares.jsonl"])
        if a.case in ("capacity", "cache", "batch"):
            ok = check_strategy(a.case, summ, files["shares.jsonl"], prefix)
        elif a.case in ("prompt", "tuner"):
            ok = loop_optimize.check(a.case, routing_records(prefix + "llm.routing"), dsn, log)
        else:
            ok = check(a.case, summ, sh, prefix)
    except Done as d:
        ok = d.ok
    except Exception as e:  # noqa: BLE001 - report any setup failure as a test failure
        log("FAILED:", e)
        ok = False
    finally:
        for name, p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if not ok:
            for name, _ in procs:
                path = os.path.join(tmp, name + ".log")
                if os.path.exists(path):
                    log("--- last lines of %s ---" % name)
                    print("".join(open(path).readlines()[-25:]), flush=True)
        if not a.keep:
            if created:
                for f in admin.delete_topics(created).values():
                    try:
                        f.result(30)
                    except Exception:  # noqa: BLE001
                        pass
            try:
                with psycopg.connect(ADMIN_DSN, autocommit=True) as c:
                    c.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
            except Exception:  # noqa: BLE001
                pass
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log("kept: topics %s*, database %s, files %s" % (prefix, db, tmp))
    log("PASS" if ok else "FAIL")
    return 0 if ok else 1


def sampler(a, scenario, prefix, tmp):
    """Open loop: the realised reward of the fallback arm against its expected reward."""
    summ_f, orc_f = os.path.join(tmp, "summary.json"), os.path.join(tmp, "oracle.jsonl")
    r = subprocess.run([a.llmopt, "simulate", "--scenario", scenario, "-X", "simulate.topic.prefix=" + prefix,
                        "-X", "simulate.speed=0", "-X", "simulate.duration=300s",
                        "-X", "simulate.ready.timeout=1s", "-X", "simulate.progress=0",
                        "-X", "simulate.summary.file=" + summ_f, "-X", "simulate.oracle.file=" + orc_f],
                       timeout=300)
    if r.returncode:
        raise RuntimeError("llmopt simulate exited %d" % r.returncode)
    tot = json.load(open(summ_f))["total"]
    first = json.loads(open(orc_f).readline())
    arm0 = next(iter(first["arms"]))
    want = first["arms"][arm0]["reward"]
    n = tot["requests"]
    se = 0.5 / n ** 0.5  # rewards lie in [0, 1]: sd <= 0.5
    log("sampler: %d requests to '%s', realised %.5f, expected %.5f (4 SE = %.5f)" %
        (n, arm0, tot["reward"], want, 4 * se))
    ok = n > 10000 and abs(tot["reward"] - want) <= 4 * se and abs(tot["expected"] - want) < 1e-9
    raise Done(ok)


class Done(Exception):
    def __init__(self, ok):
        self.ok = ok


def outcome_buckets(path):
    """[(ts_ms, responses, cache_hits, limited, denied, n)] per second, in order."""
    out = []
    for line in open(path):
        r = json.loads(line)
        out.append((r["ts_ms"], r.get("responses", 0), r.get("cache_hits", 0), r.get("limited", 0),
                    r.get("denied", 0), r["n"]))
    return sorted(out)


def strategy_lines(recs, what):
    """The decisions whose reason mentions `what`, as printable lines."""
    out = []
    for r in recs:
        parts = [p for p in r["reason"].split("; ") if what in p]
        if not parts:
            continue
        rl, cp = r.get("rate_limits"), r.get("cache_policy")
        head = "v%-4d" % r["version"]
        if rl and rl.get("global"):
            head += " limit %7.2f req/s" % rl["global"]["requests_per_s"]
        if cp:
            head += " cache %-3s ttl %6.1f s" % ("on" if cp["enabled"] else "off", cp["ttl_ms"] / 1000)
        out.append(head + "  " + " | ".join(parts))
    return out


def check_strategy(case, summ, shares_path, prefix):
    b = outcome_buckets(shares_path)
    recs = routing_records(prefix + "llm.routing")
    if case == "capacity":
        period = 10000
        T = b[0][0] + 60000  # the first bucket starts at the start of the run
        first = (T + period - 1) // period  # first period entirely after the change
        per = {}
        for ts, resp, hits, lim, den, n in b:
            p = ts // period
            acc = per.setdefault(p, [0, 0, 0])
            acc[0] += resp
            acc[1] += lim
            acc[2] += n
        last = max(per) - 1  # the last period is cut by the end of the run
        rows = []
        clean_k = None
        for k, p in enumerate(range(first, last + 1), 1):
            resp, lim, n = per.get(p, [0, 0, 0])
            share = lim / resp if resp else float("nan")
            rows.append("  period +%d: %5d responses, %4d rate-limited (%.2f %%), %5.1f req/s served" %
                        (k, resp, lim, 100 * share, (resp - lim) / (period / 1000)))
            if clean_k is None and resp >= 100 and share < 0.01:
                clean_k = k
        for line in strategy_lines(recs, "rate limit of provider"):
            log("  decision " + line)
        print("\n".join(rows), flush=True)
        if clean_k is None:
            log("capacity: no period after the change had a rate-limited share below 1 %")
            return False
        after = [per.get(p, [0, 0, 0]) for p in range(first + clean_k - 1, last + 1)]
        served = sum(r - l for r, l, _ in after) / (len(after) * period / 1000)
        tail_share = sum(l for _, l, _ in after) / max(1, sum(r for r, _, _ in after))
        log("capacity: rate-limited share below 1 %% in period +%d after the change; from then "
            "on %.1f req/s served (new capacity 50), rate-limited share %.2f %% overall" %
            (clean_k, served, 100 * tail_share))
        return clean_k <= 10 and served >= 0.8 * 50
    if case == "cache":
        wins = [m for m in routing_records(prefix + "llm.metrics", METRICS)
                if m["window_kind"] == "tumbling"]
        if not wins:
            log("cache: no closed windows on llm.metrics")
            return False
        w0 = min(m["window_start_ms"] for m in wins)
        w1 = max(m["window_end_ms"] for m in wins)
        rep_n = sum(m["count"] for m in wins)
        rep_h = sum(m["cache_hits"] for m in wins)
        tru_n = sum(x[1] for x in b if x[0] >= w0 and x[0] + 1000 <= w1)
        tru_h = sum(x[2] for x in b if x[0] >= w0 and x[0] + 1000 <= w1)
        rep_rate = rep_h / rep_n if rep_n else float("nan")
        tru_rate = tru_h / tru_n if tru_n else float("nan")
        q = [(m["cache_hit_quality_mean"], m["cache_miss_quality_mean"]) for m in wins
             if m.get("cache_hit_quality_mean") is not None and m.get("cache_miss_quality_mean") is not None]
        lines = strategy_lines(recs, "cache:")
        for line in lines:
            log("  decision " + line)
        ttls = [(r["cache_policy"]["enabled"], r["cache_policy"]["ttl_ms"]) for r in recs
                if r.get("cache_policy")]
        shortened = any((not en) or ttl < ttls[0][1] for en, ttl in ttls) if ttls else False
        log("cache: reported hit rate %.2f %% (%d/%d over %d windows) vs simulator %.2f %% (%d/%d); "
            "hit quality %.3f vs miss %.3f (window means); TTL shortened or off: %s" %
            (100 * rep_rate, rep_h, rep_n, len(wins), 100 * tru_rate, tru_h, tru_n,
             sum(h for h, _ in q) / max(1, len(q)), sum(mq for _, mq in q) / max(1, len(q)),
             shortened))
        return (rep_n > 1000 and tru_h > 100 and abs(rep_rate - tru_rate) <= 0.02 and
                shortened and bool(lines))
    if case == "batch":
        return check_batch(summ, shares_path, recs, prefix)
    return False


def check_batch(summ, shares_path, recs, prefix):
    """Issue 9 batching criteria (i)-(iv); the numbers are the scenario's (strat-batch.json)."""
    target, lo, hi, initial, period, speed, t_change = 800.0, 1, 16, 6, 6000, 3.0, 75000
    rows = [json.loads(x) for x in open(shares_path)]
    start = rows[0]["ts_ms"] - round(rows[0]["t_s"] * 1000)
    T = start + t_change

    def ev(wall_ms):  # a decision's wall time on the simulator's event-time axis
        return start + (wall_ms - start) * speed

    dec = [(r["version"], r["ts_ms"], r["batching"]["max_batch"], r["reason"]) for r in recs
           if r.get("batching") and r["batching"]["enabled"]]
    for v, w, mb, why in dec:
        parts = [p for p in why.split("; ") if p.startswith("batching:")]
        if parts or v == dec[0][0]:
            log("  decision v%-4d %+7.1f s  max batch %2d  %s" %
                (v, (ev(w) - start) / 1000, mb, " | ".join(parts)))
    if not dec:
        log("batch: no decision with batching on llm.routing")
        return False
    # (iii) bounds
    outside = [(v, mb) for v, _, mb, _ in dec if not lo <= mb <= hi]
    # (i) growth under the target before the change
    pre = [d for d in dec if ev(d[1]) < T]
    size_at_change = pre[-1][2] if pre else initial
    max_pre = max([d[2] for d in pre] or [initial])
    wins = [m for m in routing_records(prefix + "llm.metrics", METRICS)
            if m["window_kind"] == "tumbling"]

    def p95_over(t0, t1):
        ws = [m for m in wins if m["window_start_ms"] >= t0 and m["window_end_ms"] <= t1
              and m.get("latency_p95_ms") is not None and m["count"] > 0]
        n = sum(m["count"] for m in ws)
        return (sum(m["latency_p95_ms"] * m["count"] for m in ws) / n if n else float("nan")), n
    p95_pre, n_pre = p95_over(start, T)
    p95_after, _ = p95_over(T + period, T + 3 * period)
    # (ii) a shrink after the change, within 3 periods
    post = [d for d in dec if ev(d[1]) >= T]
    shrink = next((d for d in post if d[2] < size_at_change), None)
    shrink_s = (ev(shrink[1]) - T) / 1000 if shrink else None
    p95_end, _ = p95_over(T + 4 * period, start + 10**9)
    # (iv) processor batch_size_mean against the simulator's ground truth
    bw = [m for m in wins if m.get("batch_size_mean") is not None and m["count"] > 0]
    rep_n = sum(m["count"] for m in bw)
    rep_mean = sum(m["batch_size_mean"] * m["count"] for m in bw) / rep_n if rep_n else float("nan")
    w0 = min(m["window_start_ms"] for m in bw) if bw else 0
    w1 = max(m["window_end_ms"] for m in bw) if bw else 0
    span = [r for r in rows if r["ts_ms"] >= w0 and r["ts_ms"] + 1000 <= w1]
    tru_n = sum(r.get("batched", 0) for r in span)
    tru_mean = sum(r.get("batch_items", 0) for r in span) / tru_n if tru_n else float("nan")
    batches = sum(r.get("batches", 0) for r in rows)
    log("batch: (i) max batch %d -> %d before the change, processor per-item p95 %.0f ms over %d "
        "responses (target %.0f); (ii) cost x5 at +%d s: p95 %.0f ms in the 2 periods after it, "
        "max batch %d -> %s after %s s of event time (bound 3 periods = %d s), p95 %.0f ms from "
        "4 periods on; (iii) %d decisions, %d outside %d..%d; (iv) batch_size_mean %.3f "
        "(processor, %d responses) vs %.3f (simulator, %d responses, %d batches): %+.2f %%" %
        (initial, max_pre, p95_pre, n_pre, target, t_change // 1000, p95_after, size_at_change,
         shrink[2] if shrink else "-", "%.1f" % shrink_s if shrink else "never",
         3 * period // 1000, p95_end, len(dec), len(outside), lo, hi, rep_mean, rep_n, tru_mean,
         tru_n, batches, 100 * (rep_mean / tru_mean - 1) if tru_n and rep_n else float("nan")))
    ok_i = max_pre >= initial + 5 and p95_pre < target and n_pre > 1000
    ok_ii = shrink is not None and shrink_s <= 3 * period / 1000
    ok_iii = not outside
    ok_iv = rep_n > 1000 and tru_n > 1000 and abs(rep_mean / tru_mean - 1) <= 0.02
    log("batch: (i) %s (ii) %s (iii) %s (iv) %s" %
        tuple("pass" if x else "FAIL" for x in (ok_i, ok_ii, ok_iii, ok_iv)))
    return ok_i and ok_ii and ok_iii and ok_iv


def check(case, summ, sh, prefix):
    ch = summ["changes"]
    tot = summ["total"]
    if case == "error":
        c = ch[0]
        T = int(c["at_s"])
        pre, _ = window_share(sh, c["arm"], T - 10, T)
        ok_t = None
        for t in range(T + 1, T + 11):
            s, n = window_share(sh, c["arm"], t - 2, t)
            if n >= 50 and s < 0.05:
                ok_t = t - T
                break
        log("error: arm '%s' share %.1f %% before; below 5 %% (trailing 2 s) after %s s" %
            (c["arm"], 100 * pre, ok_t))
        return pre >= 0.2 and ok_t is not None
    if case == "latency":
        c = ch[0]
        T = int(c["at_s"])
        pre, _ = window_share(sh, c["arm"], T - 30, T)
        ok_t = None
        for t in range(T + 1, T + 61):
            s, n = window_share(sh, c["arm"], t - 10, t)
            if n >= 50 and s < pre / 2:
                ok_t = t - T
                break
        log("latency: arm '%s' share %.1f %% before; below half (trailing 10 s) after %s s" %
            (c["arm"], 100 * pre, ok_t))
        return pre >= 0.2 and ok_t is not None
    if case == "default":
        cap = tot["capture"]
        log("default: reward %.4f oracle %.4f capture %.2f %% uniform %.4f" %
            (tot["reward"], tot["oracle"], 100 * cap, tot["uniform"]))
        return cap >= 0.95 and tot["reward"] > tot["uniform"]
    if case == "stationary":
        recs = routing_records(prefix + "llm.routing")
        broken = [(r["version"], arm["arm_id"]) for r in recs for arm in r["arms"]
                  if arm.get("state") == "cooldown"]
        log("stationary: %d decisions read, %d arm-states in cooldown %s" %
            (len(recs), len(broken), broken[:5]))
        return len(recs) > 0 and not broken
    if case == "demo":
        moved = [c["reroute_s"] for c in ch]
        log("demo: capture %.2f %%, re-routing times %s s" % (100 * tot["capture"], moved))
        return all(m is not None for m in moved)
    return False


if __name__ == "__main__":
    sys.exit(main())
