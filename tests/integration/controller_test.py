"""llmopt-controller on the real broker and Postgres (tests/integration/controller_tests.cmake).

One scratch database (llmopt_ctl_<pid>, migrated with `llmopt migrate`), unique
route names, the shared llm.signals / llm.routing topics. Two controller
instances run; checks, each bounded in time:
  1. both start, exactly one leads and publishes version 1 of the route;
  2. a drift Signal produced on llm.signals yields a new decision whose reason
     names the drift and whose signal_ids hold the signal's id;
  3. an anomaly Signal opens the arm's breaker (arm state cooldown, weight 0)
     and POSTs a circuit-break alert to a local webhook listener;
  4. `llmopt arm pin` reaches llm.routing (pinned arm gets 1 - other floors);
  5. kill -9 of the leader: the standby takes over within 5 s (new epoch),
     a new signal gives a version above every earlier one, and published
     versions never go backwards; the decision log holds 1..N without gaps;
     an adaptive rate limit the leader shrank (windows with 10 % rate-limited
     responses on the test's own metrics topic: 100 -> 90 req/s) survives:
     the standby publishes 90, and a clean period then grows it to 99 (not
     the policy's 100 -> 110), so the checkpoint carried the adapted limit;
  5c. SIGHUP after adding an arm to the policy file: the leader reads it again
     without a restart and publishes the new arm, the old arms keep their
     state (the adapted limit 99 stays); 5d. SIGHUP with a broken policy file:
     refused (logged), the leader goes on under the running policy;
  6. SIGTERM stops the survivor cleanly (exit 0).
"""
import argparse
import http.server
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import fastavro
import psycopg
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOOTSTRAP = os.environ.get("LLMOPT_BOOTSTRAP", "127.0.0.1:19092")
ADMIN_DSN = os.environ.get("LLMOPT_PG_DSN", "host=127.0.0.1 port=55432 user=llmopt dbname=llmopt")
METRICS = "ctltest.%d.llm.metrics" % os.getpid()  # our own windows topic
SCHEMA = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", "routing_decision.avsc"))))


def log(*a):
    print("[%s]" % time.strftime("%H:%M:%S"), *a, flush=True)


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def dsn_for(db):
    parts = [p for p in ADMIN_DSN.split() if not p.startswith("dbname=")]
    return " ".join(parts + ["dbname=" + db])


def decode(value):
    if value[:1] == b"\x00":
        return fastavro.schemaless_reader(io.BytesIO(value[5:]), SCHEMA)
    return json.loads(value)


class Hook(http.server.BaseHTTPRequestHandler):
    posts = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        Hook.posts.append(json.loads(self.rfile.read(n)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


class Routing:
    """Reads llm.routing from its end (at creation) and keeps our route's records."""

    def __init__(self, route):
        self.route = route
        self.c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "ctltest-%d" % os.getpid(),
                           "enable.auto.commit": False, "fetch.wait.max.ms": 10})
        md = self.c.list_topics("llm.routing", timeout=10)
        parts = []
        for p in md.topics["llm.routing"].partitions:
            lo, hi = self.c.get_watermark_offsets(TopicPartition("llm.routing", p), timeout=10)
            parts.append(TopicPartition("llm.routing", p, hi))
        self.c.assign(parts)
        self.records = []

    def poll_until(self, pred, timeout_s, what):
        end = time.time() + timeout_s
        while time.time() < end:
            m = self.c.poll(0.05)
            if m is None or m.error():
                continue
            if m.key() != self.route.encode():
                continue
            rec = decode(m.value())
            rec["_seen"] = time.time()
            self.records.append(rec)
            if pred(rec):
                return rec
        raise Failed("timed out after %.0f s waiting for %s" % (timeout_s, what))


def window(route, arm, end_ms, n, limited):
    """A tumbling 5 s window of `arm` with `limited` of `n` responses rate-limited."""
    return {
        "metrics_id": "%s|%s|tumbling|5000|%d" % (route, arm, end_ms - 5000),
        "route": route, "arm": arm, "window_start_ms": end_ms - 5000, "window_end_ms": end_ms,
        "window_kind": "tumbling", "size_ms": 5000, "advance_ms": 5000, "count": n,
        "ok_count": n - limited, "error_count": 0, "timeout_count": 0,
        "rate_limited_count": limited, "filtered_count": 0, "error_rate": 0.0,
        "latency_p50_ms": 400.0, "latency_p90_ms": 700.0, "latency_p95_ms": 800.0,
        "latency_p99_ms": 900.0, "latency_digest": "",
        "ttft_p50_ms": None, "ttft_p90_ms": None, "ttft_p95_ms": None, "ttft_p99_ms": None,
        "ttft_digest": None, "input_tokens": 100 * n, "output_tokens": 50 * n,
        "cost_usd": 0.002 * n, "cost_per_request": 0.002, "quality_count": n - limited,
        "quality_mean": 0.8, "quality_variance": 0.01, "reward_count": n - limited,
        "reward_mean": 0.6, "reward_variance": 0.04, "cache_hits": 0,
        "cache_hit_quality_mean": None, "cache_miss_quality_mean": None, "late_count": 0,
        "batch_size_mean": None,
    }


def rps(rec):
    rl = rec.get("rate_limits") or {}
    return (rl.get("global") or {}).get("requests_per_s")


def start(llmopt_ctl, name, dsn, policy, hook_port, logdir):
    out = open(os.path.join(logdir, name + ".log"), "w")
    return subprocess.Popen(
        [llmopt_ctl, "-X", "pg.dsn=" + dsn, "-X", "kafka.bootstrap.servers=" + BOOTSTRAP,
         "-X", "controller.topic.metrics=" + METRICS,
         "-X", "controller.policy.file=" + policy, "-X", "controller.models.file=",
         "-X", "controller.instance.id=" + name, "-X", "controller.lock.poll=200ms",
         "-X", "controller.lock.name=ctltest.%d" % os.getpid(),
         "-X", "controller.alert.webhook=http://127.0.0.1:%d/hook" % hook_port,
         "-X", "http.port=0"], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmopt", required=True)
    ap.add_argument("--controller", required=True)
    args = ap.parse_args()
    pid = os.getpid()
    db = "llmopt_ctl_%d" % pid
    route = "ctltest_%d_%d" % (pid, int(time.time()))
    procs = {}
    tmp = tempfile.mkdtemp(prefix="ctltest")
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    ok = False
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for f in admin.create_topics([NewTopic(METRICS, num_partitions=1,
                                           replication_factor=1)]).values():
        f.result(30)
    with psycopg.connect(ADMIN_DSN, autocommit=True) as a:
        a.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
        a.execute("CREATE DATABASE %s" % db)
    try:
        dsn = dsn_for(db)
        r = subprocess.run([args.llmopt, "migrate", "-X", "pg.dsn=" + dsn, "-X",
                            "migrate.dir=" + os.path.join(ROOT, "sql", "migrations")],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "migrate failed: " + r.stderr)
        policy = os.path.join(tmp, "policy.json")
        json.dump({"routes": [{
            "route": route, "algorithm": "thompson", "exploration_floor": 0.05,
            "update": {"epsilon": 0.02, "heartbeat_ms": 1500, "thompson_draws": 500},
            "guardrails": {"cooldown_ms": 60000},
            # one provider, so the published route limit is the provider's
            "rate_limits": {"global": {"requests_per_s": 100, "requests_burst": 50},
                            "adaptive": {"min_rps": 10, "max_rps": 300, "period_ms": 10000}},
            "arms": [{"id": "a", "provider": "p", "model": "m1"},
                     {"id": "b", "provider": "p", "model": "m2"},
                     {"id": "c", "provider": "p", "model": "m3"}]}]}, open(policy, "w"))
        rt = Routing(route)
        prod = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 0})
        port = httpd.server_address[1]
        procs["A"] = start(args.controller, "A", dsn, policy, port, tmp)
        first = rt.poll_until(lambda d: d["version"] == 1, 30, "version 1")
        time.sleep(0.5)
        procs["B"] = start(args.controller, "B", dsn, policy, port, tmp)
        check(abs(sum(x["weight"] for x in first["arms"]) - 1) < 1e-9, "weights do not sum to 1")
        check(all(x["weight"] >= 0.05 - 1e-12 for x in first["arms"]), "floor violated")
        log("1. version 1 published:", first["reason"][:100])

        def signal_rec(kind, arm, sid):
            return {"signal_id": sid, "ts_ms": int(time.time() * 1000), "route": route, "arm": arm,
                    "kind": kind, "detector": "adwin" if kind == "drift" else "zscore",
                    # anomalies are judged on window aggregates (p95), drifts on events
                    "metric": "latency_ms" if kind == "drift" else "p95_latency_ms",
                    "direction": "up", "magnitude": 150.0,
                    "before": 100.0, "after": 250.0, "sample_index": 42, "severity": 1.5,
                    "window_end_ms": None}

        # 2. drift
        sid = "%s|b|adwin|latency_ms|%d" % (route, pid)
        prod.produce("llm.signals", key=route, value=json.dumps(signal_rec("drift", "b", sid)))
        prod.flush(10)
        t0 = time.time()
        d = rt.poll_until(lambda d: sid in d["signal_ids"], 10, "decision for the drift signal")
        check("drift" in d["reason"] and "arm 'b'" in d["reason"], "reason: " + d["reason"])
        log("2. drift -> version %d in %.1f ms: %s" % (d["version"], (d["_seen"] - t0) * 1000,
                                                       d["reason"][:120]))
        # 3. anomaly -> breaker open + alert
        sid2 = "%s|c|zscore|latency_ms|%d" % (route, pid)
        prod.produce("llm.signals", key=route, value=json.dumps(signal_rec("anomaly", "c", sid2)))
        prod.flush(10)
        d = rt.poll_until(lambda d: sid2 in d["signal_ids"], 10, "decision for the anomaly")
        armc = [x for x in d["arms"] if x["arm_id"] == "c"][0]
        check(armc["state"] == "cooldown" and armc["weight"] == 0, "arm c not in cooldown: %r" % armc)
        end = time.time() + 5
        while time.time() < end and not any("circuit-break" in p["text"] for p in Hook.posts):
            time.sleep(0.05)
        check(any("circuit-break" in p["text"] for p in Hook.posts), "no circuit-break alert")
        log("3. anomaly -> arm c cooldown until %s, alert posted" % armc["cooldown_until_ms"])
        # 4. pin
        r = subprocess.run([args.llmopt, "arm", "pin", route, "a", "-X", "pg.dsn=" + dsn],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "arm pin: " + r.stderr)
        d = rt.poll_until(lambda d: "pinned to 'a'" in d["reason"] and not d["heartbeat"], 10,
                          "decision for the pin")
        w = {x["arm_id"]: x["weight"] for x in d["arms"]}
        check(abs(w["a"] - 0.95) < 1e-9 and abs(w["b"] - 0.05) < 1e-9 and w["c"] == 0,
              "pin weights %r" % w)
        log("4. pin -> version %d weights %r" % (d["version"], w))
        check(rps(d) == 100, "initial limit %r" % rps(d))
        # 5. kill -9 the leader, after it shrank the adaptive limit: one 10 s
        # adjustment period (event time) with 10 % rate-limited responses
        t0 = (int(time.time() * 1000) // 10000 - 10) * 10000
        for arm, end, n, lim in (("a", t0 + 5000, 300, 30), ("b", t0 + 10000, 100, 10)):
            prod.produce(METRICS, key=route, value=json.dumps(window(route, arm, end, n, lim)))
        prod.flush(10)
        d = rt.poll_until(lambda d: rps(d) != 100, 15, "the shrunk rate limit")
        check(abs(rps(d) - 90) < 1e-9 and "100 -> 90 req/s" in d["reason"],
              "limit %r: %s" % (rps(d), d["reason"]))
        log("5a. leader shrank the limit: version %d, %g req/s" % (d["version"], rps(d)))
        with psycopg.connect(dsn, autocommit=True) as c:
            leader, epoch = c.execute("SELECT instance, epoch FROM llmopt.controller_leader").fetchone()
        check(leader == "A", "leader is %s" % leader)
        before = max(x["version"] for x in rt.records)
        procs["A"].send_signal(signal.SIGKILL)
        procs["A"].wait(10)
        t_kill = time.time()
        took = None
        with psycopg.connect(dsn, autocommit=True) as c:
            while time.time() - t_kill < 10:
                inst, ep = c.execute("SELECT instance, epoch FROM llmopt.controller_leader").fetchone()
                if ep > epoch:
                    took = time.time() - t_kill
                    break
                time.sleep(0.05)
        check(took is not None and inst == "B", "standby did not take over")
        check(took <= 5.0, "takeover took %.2f s" % took)
        # the standby republishes the persisted decision at once (stamped after
        # the kill, so not one of the leader's records still in flight): the
        # shrunk limit
        n_seen = len(rt.records)
        d = rt.poll_until(lambda d: d["ts_ms"] > t_kill * 1000, 10, "the standby's first record")
        check(abs(rps(d) - 90) < 1e-9, "standby published %r req/s, not 90" % rps(d))
        # a clean period: 90 -> 99 only if the adapted limit was restored
        for arm, end in (("a", t0 + 15000), ("b", t0 + 20000)):
            prod.produce(METRICS, key=route, value=json.dumps(window(route, arm, end, 200, 0)))
        prod.flush(10)
        d = rt.poll_until(lambda d: rps(d) is not None and abs(rps(d) - 90) > 1e-9, 15,
                          "the limit after a clean period")
        check(abs(rps(d) - 99) < 1e-9 and "90 -> 99 req/s" in d["reason"],
              "limit %r after takeover: %s" % (rps(d), d["reason"]))
        log("5b. after takeover: %g req/s republished, then %g (%d records)" %
            (90, rps(d), len(rt.records) - n_seen))
        sid3 = "%s|a|adwin|latency_ms|%d" % (route, pid + 1)
        prod.produce("llm.signals", key=route, value=json.dumps(signal_rec("drift", "a", sid3)))
        prod.flush(10)
        d = rt.poll_until(lambda d: sid3 in d["signal_ids"], 15, "decision after takeover")
        check(d["version"] > before, "version %d not above %d" % (d["version"], before))
        log("5. takeover by B in %.2f s; next version %d > %d" % (took, d["version"], before))
        # 5c. SIGHUP: a policy with one more arm is read again without a
        # restart; the arms that stay keep their state (the adapted limit 99
        # is route state too); a policy that does not load is refused
        pol = json.load(open(policy))
        pol["routes"][0]["arms"].append({"id": "d", "provider": "p", "model": "m4"})
        json.dump(pol, open(policy + ".new", "w"))
        os.replace(policy + ".new", policy)
        t_hup = time.time()
        procs["B"].send_signal(signal.SIGHUP)
        d = rt.poll_until(lambda d: any(x["arm_id"] == "d" for x in d["arms"]), 15,
                          "a decision with the new arm")
        check("policy reloaded" in d["reason"] and "kept the evidence of a, b, c; new: d"
              in d["reason"], "reason after reload: %s" % d["reason"][:300])
        check(abs(rps(d) - 99) < 1e-9, "limit after reload %r, not the adapted 99" % rps(d))
        check(d["version"] > max(x["version"] for x in rt.records[:-1]), "version went back")
        log("5c. SIGHUP with arm d added: version %d in %.2f s, limit %g kept: %s" %
            (d["version"], time.time() - t_hup, rps(d), d["reason"][:120]))
        open(policy, "w").write("{\"routes\": [")
        procs["B"].send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        blog = os.path.join(tmp, "B.log")
        while time.time() < deadline and "keeping the running policy" not in open(blog).read():
            time.sleep(0.1)
        check("keeping the running policy" in open(blog).read(), "bad policy not reported")
        check(procs["B"].poll() is None, "controller died on a bad policy")
        sid4 = "%s|d|adwin|latency_ms|%d" % (route, pid + 2)
        prod.produce("llm.signals", key=route, value=json.dumps(signal_rec("drift", "d", sid4)))
        prod.flush(10)
        d = rt.poll_until(lambda d: sid4 in d["signal_ids"], 15, "decision after a bad reload")
        log("5d. SIGHUP with a broken policy file: refused, still leading (version %d)" %
            d["version"])
        # never backwards: new versions increase; heartbeats repeat the latest
        top = 0
        for x in rt.records:
            if x["heartbeat"]:
                check(x["version"] <= top or top == 0, "heartbeat ahead of versions")
            else:
                check(x["version"] > top, "version %d after %d" % (x["version"], top))
                top = x["version"]
        with psycopg.connect(dsn, autocommit=True) as c:
            vs = [v for (v,) in c.execute("SELECT version FROM llmopt.controller_decisions WHERE "
                                          "route = %s ORDER BY version", (route,))]
        check(vs == list(range(1, len(vs) + 1)) and vs[-1] == d["version"], "log versions %r" % vs)
        # 6. graceful stop
        procs["B"].send_signal(signal.SIGTERM)
        check(procs["B"].wait(20) == 0, "survivor exit code not 0")
        log("6. SIGTERM: clean exit; decision log 1..%d" % vs[-1])
        ok = True
    except Failed as e:
        log("FAILED:", e)
        for name in ("A", "B"):
            p = os.path.join(tmp, name + ".log")
            if os.path.exists(p):
                log("---- %s log tail" % name)
                print("".join(open(p).readlines()[-15:]))
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        httpd.shutdown()
        with psycopg.connect(ADMIN_DSN, autocommit=True) as a:
            a.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
        for f in admin.delete_topics([METRICS]).values():
            try:
                f.result(30)
            except Exception:  # noqa: BLE001
                pass
    log("PASSED" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
