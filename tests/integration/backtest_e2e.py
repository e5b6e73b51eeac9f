#!/usr/bin/env python3
"""End-to-end test of `llmopt backtest` on the real broker.

Produces synthetic Outcome records (Avro, Confluent framing, a few in JSON)
to a unique topic: two routes, arms fast/balanced/strong logged with known
propensities (0.5, 0.3, 0.2) under two decision versions, Bernoulli rewards
with known means (0.3, 0.5, 0.8), broker timestamps = event times, spread
over one hour. Also: 40 outcomes with propensity 0 (must be counted and
excluded), one revision (is_update) of an in-range outcome, and outcomes
outside the queried range (must be filtered by event time).

Checks, on the JSON report:
  - counts: outcomes in range, excluded propensity-less outcomes, revision applied;
  - the logging value equals the mean logged reward of the range (computed here);
  - the IPS of a fixed candidate equals the value computed here by hand from the
    same records; the 95% intervals of IPS and DR of "all-strong" cover its true
    value 0.8; the support check flags a candidate that uses an arm never logged
    on route-b;
  - a bandit candidate (thompson) is replayed and gives finite estimates;
  - a candidate naming an arm absent from the logs fails with a clear error;
  - a range with no data gives status "no_data";
and on the HTML report: it parses with html.parser with balanced tags, and
holds the inline SVG charts.
"""
import argparse
import html.parser
import io
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import uuid

import fastavro
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARMS = ["fast", "balanced", "strong"]
MU = [0.5, 0.3, 0.2]
MEAN = [0.3, 0.5, 0.8]
HOUR = 3_600_000
# event time of the first outcome: a whole hour 3 h ago (a date far in the past
# would fall to the broker's time-based retention while the test runs)
T0 = (int(time.time() * 1000) // HOUR - 3) * HOUR


def fail(msg):
    sys.exit("backtest_e2e: FAILED: " + msg)


def outcome(i, route, arm, prop, reward, ts, version, is_update=False, oid=None):
    return {
        "outcome_id": oid or "o-%d" % i, "request_id": "r-%d" % i, "route": route, "arm": arm,
        "provider": "p", "model": "m-" + arm, "tenant": None, "user": None, "task_type": "chat",
        "ts_ms": ts, "response_ts_ms": ts + 100, "status": "ok", "latency_ms": 100.0,
        "ttft_ms": None, "input_tokens": 10, "output_tokens": 20, "cost_usd": 0.001,
        "quality": reward, "cache_hit": False, "context": {"len": float(i % 7)},
        "propensity": prop, "decision_version": version, "experiment_id": None, "variant": None,
        "reward_quality": reward, "reward_cost": 1.0, "reward_latency": 1.0, "reward": reward,
        "rating": None, "thumbs": None, "task_completed": None, "feedback_ts_ms": None,
        "is_update": is_update,
    }


def make_records(seed):
    rng = random.Random(seed)
    recs = []
    n = 6000
    for i in range(n):
        ts = T0 + (i * HOUR) // n
        route = "route-a" if i % 3 else "route-b"
        a = rng.choices(range(3), weights=MU)[0]
        prop = MU[a]
        if route == "route-b" and a != 1:
            # route-b's logger gives "strong" no traffic: fast 0.7, balanced 0.3
            a, prop = 0, MU[0] + MU[2]
        r = 1.0 if rng.random() < MEAN[a] else 0.0
        recs.append(outcome(i, route, ARMS[a], prop, r, ts, 1 if ts < T0 + HOUR // 2 else 2))
    for j in range(40):  # no propensity: excluded with a warning
        recs.append(outcome(n + j, "route-a", "fast", 0.0, 1.0, T0 + 1000 + j, 1))
    for j in range(30):  # outside the queried range (before --from)
        recs.append(outcome(n + 100 + j, "route-a", "fast", 0.5, 1.0, T0 - 10 * 60_000 + j, 1))
    # revision of outcome o-5 (route-a): its reward becomes 0.25
    orig = recs[5]
    rev = dict(orig)
    rev.update(reward=0.25, is_update=True, ts_ms=orig["ts_ms"])
    recs.append(rev)
    return recs


def produce(bootstrap, topic, recs):
    schema = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", "outcome.avsc"))))
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True})
    errors = []
    for k, rec in enumerate(recs):
        if k % 500 == 7:  # a few in JSON: the reader takes both formats
            val = json.dumps(rec).encode()
        else:
            buf = io.BytesIO()
            buf.write(b"\x00" + struct.pack(">I", 4))
            fastavro.schemaless_writer(buf, schema, rec)
            val = buf.getvalue()
        p.produce(topic, val, rec["route"].encode(), timestamp=rec["ts_ms"],
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
        if k % 1000 == 0:
            p.poll(0)
    if p.flush(60) or errors:
        fail("produce: %s" % errors[:3])


def run(binary, topic, bootstrap, args, expect_rc=0):
    cmd = [binary, "backtest", "-X", "kafka.bootstrap.servers=" + bootstrap,
           "-X", "backtest.outcomes.topic=" + topic, "-X", "backtest.timeout=20s"] + args
    t = time.time()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if res.returncode != expect_rc:
        fail("%s: exit %d (want %d)\nstderr: %s" % (" ".join(cmd), res.returncode, expect_rc,
                                                     res.stderr[-2000:]))
    print("backtest_e2e: ran %s in %.2f s" % (" ".join(args), time.time() - t))
    return res


class Checker(html.parser.HTMLParser):
    VOID = {"meta", "br", "img", "hr", "input", "link", "col", "area", "base", "wbr",
            "source", "track", "embed", "param"}

    def __init__(self):
        super().__init__()
        self.stack, self.counts, self.errors = [], {}, []

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unbalanced </%s> (open: %s)" % (tag, self.stack[-3:]))
        else:
            self.stack.pop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmopt", required=True)
    a = ap.parse_args()
    bootstrap = os.environ.get("LLMOPT_BOOTSTRAP", "127.0.0.1:19092")
    topic = "test.backtest.%s.llm.outcomes" % uuid.uuid4().hex[:10]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1,
                                      config={"retention.ms": "-1"})])[topic].result(30)
    except Exception as e:
        fail("broker %s: cannot create topic (%s); start it with deploy/local/kafka.sh" % (bootstrap, e))
    try:
        recs = make_records(20261129)
        produce(bootstrap, topic, recs)
        tmp = tempfile.mkdtemp(prefix="llmopt-backtest-")
        pol = os.path.join(tmp, "policy.json")
        json.dump({"candidates": [
            {"name": "all-strong", "weights": {"route-a": {"strong": 1}, "*": {"fast": 1}}},
            {"name": "mix", "weights": {"*": {"fast": 0.2, "balanced": 0.3, "strong": 0.5}}},
            {"name": "ts", "bandit": {"algorithm": "thompson", "draws": 500, "refresh": "5m",
                                      "floor": 0.02}},
            {"name": "eg", "bandit": {"algorithm": "egreedy", "eps": 0.2, "refresh": "2m"}},
        ]}, open(pol, "w"))
        frm, to = T0, T0 + HOUR  # the 30 early outcomes lie before T0
        res = run(a.llmopt, topic, bootstrap, ["--policy", pol, "--from", str(frm), "--to", str(to),
                                               "-X", "backtest.replicates=300"])
        rep = json.loads(res.stdout)
        # expected figures, from the records themselves
        inrange = [r for r in recs if frm <= r["ts_ms"] < to and 0 < r["propensity"] <= 1
                   and not r["is_update"]]
        inrange = [dict(r, reward=0.25) if r["outcome_id"] == "o-5" else r for r in inrange]
        if rep["status"] != "ok":
            fail("status %r" % rep["status"])
        if rep["outcomes"] != len(inrange):
            fail("outcomes %d, want %d" % (rep["outcomes"], len(inrange)))
        if rep["outcomes_without_propensity"] != 40:
            fail("outcomes_without_propensity %d, want 40" % rep["outcomes_without_propensity"])
        if rep["revisions_applied"] != 1:
            fail("revisions_applied %d, want 1" % rep["revisions_applied"])
        if rep["outside_range"] != 30:
            fail("outside_range %d, want 30" % rep["outside_range"])
        if not any("propensity" in w for w in rep["warnings"]):
            fail("no warning about the excluded outcomes: %s" % rep["warnings"])
        routes = {r["route"]: r for r in rep["routes"]}
        if sorted(routes) != ["route-a", "route-b"]:
            fail("routes %s" % sorted(routes))
        for name, rj in routes.items():
            rr = [r for r in inrange if r["route"] == name]
            want_log = sum(r["reward"] for r in rr) / len(rr)
            if abs(rj["logging"]["value"] - want_log) > 1e-12:
                fail("%s logging value %r, want %r" % (name, rj["logging"]["value"], want_log))
            pols = {p["name"]: p for p in rj["policies"]}
            # IPS of "mix" by hand
            w = {"fast": 0.2, "balanced": 0.3, "strong": 0.5}
            ips = sum(w[r["arm"]] / r["propensity"] * r["reward"] for r in rr) / len(rr)
            if abs(pols["mix"]["ips"]["value"] - ips) > 1e-9:
                fail("%s mix IPS %r, want %r" % (name, pols["mix"]["ips"]["value"], ips))
            for p in pols.values():
                for est in ("ips", "snips", "dr"):
                    iv = p[est]
                    if iv["value"] is None or not (iv["lo"] <= iv["hi"]):
                        fail("%s %s %s: %s" % (name, p["name"], est, iv))
            print("backtest_e2e: %s n=%d logging %.4f [%.4f, %.4f]" % (
                name, rj["n"], rj["logging"]["value"], rj["logging"]["lo"], rj["logging"]["hi"]))
            for p in rj["policies"]:
                print("  %-10s IPS %.4f [%.4f, %.4f]  DR %.4f [%.4f, %.4f]  ESS %.0f  unsupported %.3f"
                      % (p["name"], p["ips"]["value"], p["ips"]["lo"], p["ips"]["hi"],
                         p["dr"]["value"], p["dr"]["lo"], p["dr"]["hi"], p["ess"],
                         p["unsupported_mass"]))
        sa = {p["name"]: p for p in routes["route-a"]["policies"]}["all-strong"]
        for est in ("ips", "dr"):
            if not (sa[est]["lo"] <= 0.8 <= sa[est]["hi"]):
                fail("route-a all-strong %s interval %s misses the true 0.8" % (est, sa[est]))
        mixb = {p["name"]: p for p in routes["route-b"]["policies"]}["mix"]
        if "strong" not in routes["route-b"]["arms_never_logged"]:
            fail("route-b arms_never_logged %s" % routes["route-b"]["arms_never_logged"])
        # the arms logged on route-b carry probability 1 under each version, so
        # the 0.5 that "mix" puts on "strong" there is unsupported, exactly
        if abs(mixb["unsupported_mass"] - 0.5) > 1e-9 or mixb["unverified_mass"] != 0:
            fail("route-b mix: support check: %s" % mixb)
        if not any("probability 0" in x for x in mixb["warnings"]):
            fail("route-b mix: no support warning: %s" % mixb["warnings"])
        tl = routes["route-a"]["timeline"]
        if len(tl["bin_start_ms"]) != 24 or sum(tl["count"]) != routes["route-a"]["n"]:
            fail("timeline bins %d, counts %d" % (len(tl["bin_start_ms"]), sum(tl["count"])))
        # same seed, same report
        res2 = run(a.llmopt, topic, bootstrap, ["--policy", pol, "--from", str(frm), "--to", str(to),
                                                "-X", "backtest.replicates=300"])
        if json.loads(res2.stdout)["routes"] != rep["routes"]:
            fail("two runs with the same seed differ")
        # HTML
        out_html = os.path.join(tmp, "report.html")
        run(a.llmopt, topic, bootstrap, ["--policy", pol, "--from", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 / 1000)),
                                         "--to", str(to), "--format", "html", "--out", out_html])
        text = open(out_html, encoding="utf-8").read()
        ck = Checker()
        ck.feed(text)
        ck.close()
        if ck.errors or ck.stack:
            fail("HTML not well-formed: %s; unclosed %s" % (ck.errors[:3], ck.stack))
        # per route: 1 estimate chart + 4 weight charts + 1 reward chart
        if ck.counts.get("svg", 0) != 12 or ck.counts.get("path", 0) < 20:
            fail("HTML charts: %d svg, %d path" % (ck.counts.get("svg", 0), ck.counts.get("path", 0)))
        if "<script" in text or "http://" in text.replace('xmlns="http://www.w3.org/2000/svg"', ""):
            fail("HTML is not self-contained")
        print("backtest_e2e: HTML %d bytes, %d svg, %d path, well-formed" % (
            len(text), ck.counts["svg"], ck.counts["path"]))
        # bad input
        bad = os.path.join(tmp, "bad.json")
        json.dump({"candidates": [{"name": "ghost", "weights": {"*": {"gpt-9": 1}}}]}, open(bad, "w"))
        res = run(a.llmopt, topic, bootstrap, ["--policy", bad, "--from", str(frm), "--to", str(to)], 1)
        if "gpt-9" not in res.stderr or "appears in no outcome" not in res.stderr:
            fail("absent arm: unclear error %r" % res.stderr)
        res = run(a.llmopt, topic, bootstrap, ["--policy", pol, "--from", str(T0 + 10 * HOUR),
                                               "--to", str(T0 + 11 * HOUR)])
        empty = json.loads(res.stdout)
        if empty["status"] != "no_data" or empty["outcomes"] != 0 or empty["routes"]:
            fail("empty range: %s" % res.stdout[:300])
        if "no outcomes" not in res.stderr:
            fail("empty range: stderr %r" % res.stderr)
        res = run(a.llmopt, topic, bootstrap, ["--policy", pol, "--from", "yesterday"], 2)
        print("backtest_e2e: PASSED")
    finally:
        try:
            admin.delete_topics([topic])[topic].result(30)
        except Exception as e:
            print("backtest_e2e: warning: topic deletion failed: %s" % e)


if __name__ == "__main__":
    main()
