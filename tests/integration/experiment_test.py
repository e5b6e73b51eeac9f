"""Experiment graduation end to end on the real broker and Postgres.

  experiment_test.py --llmopt BIN --controller BIN

One llmopt-controller on a scratch database (llmopt_exp_<pid>) and its own topics
(exp.<pid>.llm.*). The test plays the processor: it produces tumbling WindowMetrics (and
one drift Signal) with known figures, so every verdict below is forced by the data:

  grad      A/B/n (control + 2 treatments), primary reward, guardrail error_rate: the
            treatment with the true +0.15 reward gain is declared the winner in Postgres
            (status concluded), and its arm climbs the canary ramp 10 -> 25 -> 50 -> 100 %
            on llm.routing (state canary, then promoted with everything but the floors);
            a benign drift Signal on it during the ramp (latency down 900 -> 600 ms) is
            noted but does not roll it back
  guard     A/B: the winner's canary serves windows with a +11 point error rate (below the
            circuit breaker's 20 %): the canary's own guardrail rolls the ramp back, a
            'rollback' alert is POSTed, and the arm falls back to its exploration floor
  surge     A/B: the winner's canary fails 45 %: its circuit breaker opens, which rolls
            the ramp back too (weight 0)
  drift     A/B: a drift Signal on the winner's arm during the ramp rolls it back
  maxdur    A/B with no true difference and max_duration=8s: stopped without a winner

Windows advance 5 s of event time per round, one round every 0.25 s of wall time; the
canary's min_step_ms is 1 s. Whole run bounded at ~150 s. Exit 0 pass, 1 fail.
"""
import argparse
import http.server
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import fastavro
from controller_test import Failed, Hook, check, dsn_for, log  # shared test helpers
import psycopg
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOOT = os.environ.get("LLMOPT_BOOTSTRAP", "127.0.0.1:19092")
ADMIN_DSN = os.environ.get("LLMOPT_PG_DSN", "host=127.0.0.1 port=55432 user=llmopt dbname=llmopt")
SCHEMA = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", "routing_decision.avsc"))))
FLOOR = 0.02


def drift_signal(route, arm, direction, before, after):
    """A latency drift Signal as the processor writes it (JSON)."""
    return json.dumps({"signal_id": "%s|%s|adwin|latency_ms|%s" % (route, arm, direction),
                       "ts_ms": int(time.time() * 1000), "route": route, "arm": arm,
                       "kind": "drift", "detector": "adwin", "metric": "latency_ms",
                       "direction": direction, "magnitude": abs(after - before),
                       "before": before, "after": after, "sample_index": 1, "severity": 2.0,
                       "window_end_ms": None})


def window(route, arm, end_ms, n, reward, quality, errors, p95, cost):
    size = 5000
    # sample variance of a reward spread around its mean
    rv, qv = 0.04, 0.01
    return {
        "metrics_id": "%s|%s|tumbling|%d|%d" % (route, arm, size, end_ms - size),
        "route": route, "arm": arm, "window_start_ms": end_ms - size, "window_end_ms": end_ms,
        "window_kind": "tumbling", "size_ms": size, "advance_ms": size, "count": n,
        "ok_count": n - errors, "error_count": errors, "timeout_count": 0,
        "rate_limited_count": 0, "filtered_count": 0, "error_rate": errors / n,
        "latency_p50_ms": p95 / 2, "latency_p90_ms": p95 * 0.9, "latency_p95_ms": p95,
        "latency_p99_ms": p95 * 1.2, "latency_digest": "",
        "ttft_p50_ms": None, "ttft_p90_ms": None, "ttft_p95_ms": None, "ttft_p99_ms": None,
        "ttft_digest": None, "input_tokens": 100 * n, "output_tokens": 50 * n,
        "cost_usd": cost * n, "cost_per_request": cost, "quality_count": n,
        "quality_mean": quality, "quality_variance": qv, "reward_count": n - errors,
        "reward_mean": reward, "reward_variance": rv, "cache_hits": 0,
        "cache_hit_quality_mean": None, "cache_miss_quality_mean": None, "late_count": 0,
        "batch_size_mean": None,
    }


class Routing:
    """Latest decision per route from our routing topic (read from the beginning)."""

    def __init__(self, topic):
        self.c = Consumer({"bootstrap.servers": BOOT, "group.id": "exptest-%d" % os.getpid(),
                           "enable.auto.commit": False, "fetch.wait.max.ms": 20})
        self.c.assign([TopicPartition(topic, 0, 0)])
        self.last = {}
        self.history = {}

    def pump(self):
        while True:
            m = self.c.poll(0.01)
            if m is None:
                return
            if m.error() or not m.value():
                continue
            v = m.value()
            rec = fastavro.schemaless_reader(io.BytesIO(v[5:]), SCHEMA) if v[:1] == b"\x00" \
                else json.loads(v)
            self.last[rec["route"]] = rec
            self.history.setdefault(rec["route"], []).append(rec)

    def arm(self, route, arm_id):
        rec = self.last.get(route)
        if not rec:
            return None
        return next((a for a in rec["arms"] if a["arm_id"] == arm_id), None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmopt", required=True)
    ap.add_argument("--controller", required=True)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    pid = os.getpid()
    db = "llmopt_exp_%d" % pid
    prefix = "exp.%d." % pid
    tmp = tempfile.mkdtemp(prefix="exptest")
    admin = AdminClient({"bootstrap.servers": BOOT})
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    created, ctl, ok = [], None, False
    rng = random.Random(6)
    try:
        new = [NewTopic(prefix + t, num_partitions=1, replication_factor=1,
                        config={"cleanup.policy": "compact"} if t == "llm.routing" else {})
               for t in ("llm.outcomes", "llm.metrics", "llm.signals", "llm.routing")]
        for n, f in admin.create_topics(new).items():
            f.result(30)
            created.append(n)
        with psycopg.connect(ADMIN_DSN, autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
            c.execute("CREATE DATABASE %s" % db)
        dsn = dsn_for(db)
        r = subprocess.run([a.llmopt, "migrate", "-X", "pg.dsn=" + dsn, "-X",
                            "migrate.dir=" + os.path.join(ROOT, "sql", "migrations")],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "migrate failed: " + r.stderr)
        R = {k: "exp_%d_%s" % (pid, k) for k in ("grad", "guard", "surge", "drift", "maxdur")}
        canary = {"steps": [0.1, 0.25, 0.5, 1.0], "min_step_ms": 1000, "min_step_samples": 100,
                  "min_guard_samples": 50}

        def route(name, arms):
            return {"route": name, "algorithm": "thompson", "exploration_floor": FLOOR,
                    "update": {"epsilon": 0.01, "heartbeat_ms": 2000, "thompson_draws": 500},
                    "canary": canary,
                    "arms": [{"id": x, "provider": "p", "model": "m-" + x} for x in arms]}
        policy = os.path.join(tmp, "policy.json")
        json.dump({"routes": [route(R["grad"], ["ctl", "t1", "t2"]),
                              route(R["guard"], ["ctl", "t1"]),
                              route(R["surge"], ["ctl", "t1"]),
                              route(R["drift"], ["ctl", "t1"]),
                              route(R["maxdur"], ["ctl", "t1"])]}, open(policy, "w"))

        def llm(*args):
            r = subprocess.run([a.llmopt] + list(args) + ["-X", "pg.dsn=" + dsn],
                               capture_output=True, text=True, timeout=30)
            check(r.returncode == 0, "llmopt %s: %s" % (" ".join(args), r.stderr))
            return r.stdout
        common = ["primary=reward", "guardrail=error_rate", "min_samples=200"]
        llm("experiment", "create", "e-grad", "route=" + R["grad"], "variant=control:ctl:0.34:control",
            "variant=v1:t1:0.33", "variant=v2:t2:0.33", *common)
        for k in ("guard", "surge", "drift"):
            llm("experiment", "create", "e-" + k, "route=" + R[k], "variant=control:ctl:0.5:control",
                "variant=v1:t1:0.5", *common)
        llm("experiment", "create", "e-maxdur", "route=" + R["maxdur"],
            "variant=control:ctl:0.5:control", "variant=v1:t1:0.5", "max_duration=8s", *common)
        for e in ("e-grad", "e-guard", "e-surge", "e-drift", "e-maxdur"):
            llm("experiment", "start", e)

        port = httpd.server_address[1]
        cargs = [a.controller, "-X", "pg.dsn=" + dsn, "-X", "kafka.bootstrap.servers=" + BOOT,
                 "-X", "http.port=0", "-X", "controller.policy.file=" + policy,
                 "-X", "controller.models.file=", "-X", "controller.instance.id=e0",
                 "-X", "controller.lock.name=exptest.%d" % pid,
                 "-X", "controller.notify.channel=exptest_%d" % pid,
                 "-X", "controller.start.from=earliest", "-X", "controller.tick=100ms",
                 "-X", "controller.alert.webhook=http://127.0.0.1:%d/hook" % port]
        for t in ("outcomes", "metrics", "signals", "routing"):
            cargs += ["-X", "controller.topic.%s=%sllm.%s" % (t, prefix, t)]
        ctl = subprocess.Popen(cargs, stdout=open(os.path.join(tmp, "controller.log"), "w"),
                               stderr=subprocess.STDOUT, cwd=ROOT)
        rt = Routing(prefix + "llm.routing")
        prod = Producer({"bootstrap.servers": BOOT, "linger.ms": 5})
        pg = psycopg.connect(dsn, autocommit=True)

        def status(eid):
            return pg.execute("SELECT status, winner FROM llmopt.experiments WHERE experiment_id = %s",
                              (eid,)).fetchone()

        # true figures per (route, arm); the tests mutate them as phases change
        good = {"reward": 0.60, "quality": 0.80, "err": 0.01, "p95": 900.0, "cost": 0.002}
        truth = {(R[k], x): dict(good) for k in R for x in ("ctl", "t1", "t2")}
        truth[(R["grad"], "t1")]["reward"] = 0.61
        truth[(R["grad"], "t2")]["reward"] = 0.75
        truth[(R["guard"], "t1")]["reward"] = 0.72
        truth[(R["surge"], "t1")]["reward"] = 0.72
        truth[(R["drift"], "t1")]["reward"] = 0.72
        arms_of = {R["grad"]: ["ctl", "t1", "t2"]}
        end_ms = int(time.time() * 1000) // 5000 * 5000
        t_start = time.time()
        seen_steps = {}      # route -> list of canary weights seen, in order
        phase = {k: "experiment" for k in R}
        drift_sent = False
        deadline = time.time() + 150
        while time.time() < deadline:
            end_ms += 5000
            for k, rname in R.items():
                for arm in arms_of.get(rname, ["ctl", "t1"]):
                    rec = rt.arm(rname, arm)
                    w = rec["weight"] if rec else 1.0 / len(arms_of.get(rname, [0, 0]))
                    n = max(10, int(round(1200 * w)))
                    tr = truth[(rname, arm)]
                    errs = sum(1 for _ in range(n) if rng.random() < tr["err"])
                    rew = min(1.0, max(0.0, rng.gauss(tr["reward"], (0.04 / n) ** 0.5)))
                    prod.produce(prefix + "llm.metrics", key=rname,
                                 value=json.dumps(window(rname, arm, end_ms, n, rew, tr["quality"],
                                                         errs, tr["p95"], tr["cost"])))
            prod.flush(10)
            time.sleep(0.25)
            rt.pump()
            check(ctl.poll() is None, "controller died (exit %s)" % ctl.poll())
            for k in ("grad", "guard", "surge", "drift"):
                win = "t2" if k == "grad" else "t1"
                rec = rt.arm(R[k], win)
                if rec and rec["state"] == "canary":
                    s = seen_steps.setdefault(k, [])
                    if not s or abs(s[-1] - rec["weight"]) > 1e-9:
                        s.append(rec["weight"])
                if phase[k] == "experiment":
                    st = status("e-" + k)
                    if st[0] != "running":
                        log("%s: experiment %s, winner %s after %.1f s" % (k, st[0], st[1],
                                                                           time.time() - t_start))
                        check(st == ("concluded", "v2" if k == "grad" else "v1"),
                              "%s: experiment ended %r" % (k, st))
                        phase[k] = "ramp"
                elif phase[k] == "ramp" and rec and rec["state"] == "canary":
                    phase[k] = "canary"
                    if k == "grad":
                        prod.produce(prefix + "llm.signals", key=R[k],
                                     value=drift_signal(R[k], "t2", "down", 900.0, 600.0))
                        prod.flush(10)
                        log("grad: canary at %.0f %%, benign drift signal sent" % (100 * rec["weight"]))
                    if k in ("guard", "surge"):
                        truth[(R[k], win)]["err"] = 0.12 if k == "guard" else 0.45
                        log("%s: canary at %.0f %%, new arm now fails %.0f %%" %
                            (k, 100 * rec["weight"], 100 * truth[(R[k], win)]["err"]))
                    if k == "drift" and not drift_sent:
                        prod.produce(prefix + "llm.signals", key=R[k],
                                     value=drift_signal(R[k], "t1", "up", 900.0, 1800.0))
                        prod.flush(10)
                        drift_sent = True
                        log("drift: canary at %.0f %%, drift signal sent" % (100 * rec["weight"]))
                elif phase[k] == "canary" and rec and rec["state"] != "canary":
                    reason = rt.last[R[k]]["reason"]
                    phase[k] = ("promoted" if "-> promoted" in reason else
                                "rolled back" if ("-> rolled_back" in reason or
                                                 "canary rolled back" in reason or
                                                 "rolled back: its breaker opened" in reason)
                                else
                                "left the ramp unexplained")
                    log("%s: canary ended (%s), weight %.3f: %s" % (k, phase[k], rec["weight"],
                                                                   reason[:160]))
            if status("e-maxdur")[0] == "running":
                pass
            elif phase["maxdur"] == "experiment":
                phase["maxdur"] = "ended"
                log("maxdur: %r after %.1f s" % (status("e-maxdur"), time.time() - t_start))
            if all(phase[k] in ("promoted", "rolled back") for k in ("grad", "guard", "surge", "drift")) \
                    and phase["maxdur"] == "ended":
                break
        log("phases:", phase, "canary weights seen:", seen_steps)
        # grad: concluded v2, ramp 10/25/50 then promoted
        check(phase["grad"] == "promoted", "grad: winner not promoted (%s)" % phase["grad"])
        check(any("within the canary's guardrails" in h["reason"] for h in rt.history[R["grad"]]),
              "grad: the benign drift never reached a decision")
        steps = [round(x, 2) for x in seen_steps.get("grad", [])]
        check(steps[:3] == [0.1, 0.25, 0.5], "grad: ramp steps seen %r" % steps)
        w = rt.arm(R["grad"], "t2")["weight"]
        check(abs(w - (1 - 2 * FLOOR)) < 1e-6, "grad: promoted weight %.4f" % w)
        log("grad: ramp %r, promoted weight %.3f" % (steps, w))
        # guard: rolled back on the guardrail, alert posted, arm at its floor
        check(phase["guard"] == "rolled back", "guard: %s" % phase["guard"])
        # the canary's own guardrail rolled it back before any breaker opened (the arm
        # keeps being probed at its floor afterwards, so a breaker may open later)
        hist = rt.history[R["guard"]]
        rb = [h["version"] for h in hist if "rolled_back step" in h["reason"] and
              "guardrail error rate" in h["reason"]]
        br = [h["version"] for h in hist if "breaker closed -> open" in h["reason"]]
        check(rb and (not br or min(br) > min(rb)),
              "guard: not rolled back by the canary's guardrail first (rollback versions %s, "
              "breaker versions %s)" % (rb, br))
        check(phase["surge"] == "rolled back", "surge: %s" % phase["surge"])
        check("rolled back: its breaker opened" in " ".join(h["reason"] for h in rt.history[R["surge"]]),
              "surge: the breaker did not roll the canary back")
        check(any("rollback" in p.get("text", "") or "rolled" in p.get("text", "") for p in Hook.posts),
              "guard: no rollback alert posted (%d posts)" % len(Hook.posts))
        # drift: rolled back on the signal
        check(phase["drift"] == "rolled back", "drift: %s" % phase["drift"])
        check("drift" in rt.last[R["drift"]]["reason"] or any(
            "drift" in h["reason"] and "rolled back" in h["reason"] for h in rt.history[R["drift"]]),
            "drift: no decision names the drift rollback")
        # rolled-back arms hold their floor
        for k in ("guard", "surge", "drift"):
            rt.pump()
            w = rt.arm(R[k], "t1")["weight"]
            # the floor (raised to the policy's drift floor, 0.05, after a drift signal),
            # or 0 when the error surge also opened the arm's breaker
            check(w <= max(FLOOR, 0.05) + 1e-6, "%s: rolled-back arm weight %.4f, want <= the floor" % (k, w))
            log("%s: rolled-back arm weight %.3f" % (k, w))
        check(status("e-maxdur") == ("stopped", None), "maxdur: %r" % (status("e-maxdur"),))
        ev = pg.execute("SELECT evaluation FROM llmopt.controller_experiments WHERE "
                        "experiment_id = 'e-grad'").fetchone()[0]
        check(ev and ev.get("tests"), "grad: no evaluation stored: %r" % ev)
        log("grad evaluation:", json.dumps(ev)[:300])
        ok = True
    except Failed as e:
        log("FAILED:", e)
    except Exception as e:  # noqa: BLE001 - any setup failure is a test failure
        log("FAILED:", repr(e))
    finally:
        if ctl and ctl.poll() is None:
            ctl.send_signal(signal.SIGTERM)
            try:
                ctl.wait(20)
            except subprocess.TimeoutExpired:
                ctl.kill()
                ctl.wait()
        if not ok and os.path.exists(os.path.join(tmp, "controller.log")):
            log("--- last lines of controller.log ---")
            print("".join(open(os.path.join(tmp, "controller.log")).readlines()[-30:]), flush=True)
        httpd.shutdown()
        if not a.keep:
            for f in admin.delete_topics(created).values() if created else []:
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
    log("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
