#!/usr/bin/env python3
"""Same decision, same draw, same arm: the Python example gateway
(gateway/examples/python_gateway.py, confluent-kafka + fastavro) and
libllmopt-gateway (C, through tests/integration/gw_choose_cli) follow one
routing topic on the real broker and pick arms for the same uniform draws.
Every arm and every propensity must be identical (propensities bit for bit).

Decisions on a fresh topic: route A in Avro (4 active arms; an older version
produced afterwards must be ignored), route B in JSON (a disabled arm and an
arm in cooldown: the renormalised path), route C (a valid decision then an
invalid one whose weights sum to 0.9: the valid one must stay).

    gateway_python.py --cli build/tests/gw_choose_cli
"""
import argparse
import io
import json
import os
import random
import struct
import subprocess
import sys
import time

import fastavro
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "gateway", "examples", "python_gateway.py")
SCHEMA = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", "routing_decision.avsc"))))


def arm(arm_id, weight, state="active", until=None):
    return {"arm_id": arm_id, "provider": "p", "model": "m-" + arm_id, "params": {"temperature": 0.2},
            "prompt_template_id": None, "weight": weight, "state": state, "cooldown_until_ms": until}


def decision(route, version, arms):
    return {"route": route, "version": version, "ts_ms": int(time.time() * 1000), "algorithm": "thompson",
            "arms": arms, "default_arm": arms[0]["arm_id"], "reason": "test", "signal_ids": [],
            "contextual": None, "rate_limits": None, "cache_policy": None, "batching": None,
            "experiment_id": None, "heartbeat": False}


def avro(d):
    b = io.BytesIO()
    fastavro.schemaless_writer(b, SCHEMA, d)
    return b"\x00" + struct.pack(">I", 7) + b.getvalue()


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit("FAIL: %s exited %d: %s" % (cmd[0], out.returncode, out.stderr.strip()))
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    bootstrap = os.environ.get("LLMOPT_BOOTSTRAP", "127.0.0.1:19092")
    topic = "pygw.%d.routing" % os.getpid()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result()
    failures = 0
    try:
        now = int(time.time() * 1000)
        p = Producer({"bootstrap.servers": bootstrap})
        a3 = decision("A", 3, [arm("a1", 0.1), arm("a2", 0.25), arm("a3", 0.3), arm("a4", 0.35)])
        a2 = decision("A", 2, [arm("a1", 1.0), arm("a2", 0.0), arm("a3", 0.0), arm("a4", 0.0)])
        b1 = decision("B", 1, [arm("b1", 0.2, "cooldown", now + 3600_000), arm("b2", 0.5),
                               arm("b3", 0.0, "disabled"), arm("b4", 0.3)])
        c1 = decision("C", 5, [arm("c1", 0.5), arm("c2", 0.5)])
        c2 = decision("C", 6, [arm("c1", 0.5), arm("c2", 0.4)])  # invalid: sums to 0.9
        p.produce(topic, key="A", value=avro(a3))
        p.produce(topic, key="A", value=avro(a2))        # older: ignored
        p.produce(topic, key="B", value=json.dumps(b1))  # JSON
        p.produce(topic, key="C", value=avro(c1))
        p.produce(topic, key="C", value=avro(c2))        # invalid: the last good one stays
        p.flush(10)
        rng = random.Random(20261129)
        draws = ["0.0", "0.1", "0.35", "0.65", "0.9999999999999999", "0.5", "0.7142857142857143"]
        draws += [repr(rng.random()) for _ in range(500)]
        joined = ",".join(draws)
        expect_versions = {"A": 3, "B": 1, "C": 5}
        for route in ("A", "B", "C"):
            c = run([args.cli, bootstrap, topic, route, str(now), joined])
            py = run([args.python, EXAMPLE, "--bootstrap", bootstrap, "--topic", topic, "--route", route,
                      "--draws", joined, "--now-ms", str(now)])
            if len(c) != len(draws) or len(py) != len(draws):
                print("FAIL: route %s: %d C lines, %d Python lines for %d draws" % (route, len(c), len(py), len(draws)))
                failures += 1
                continue
            bad = 0
            for x, y in zip(c, py):
                if x["arm"] != y["arm"] or float(x["propensity"]) != float(y["propensity"]) or \
                        x["version"] != y["version"]:
                    bad += 1
                    if bad <= 5:
                        print("  route %s u=%s: C %s %s v%s, Python %s %s v%s" % (
                            route, x["u"], x["arm"], x["propensity"], x["version"],
                            y["arm"], y["propensity"], y["version"]))
            arms = sorted(set(x["arm"] for x in c))
            print("route %s: %d draws, version %s, arms %s, mismatches %d" % (
                route, len(draws), c[0]["version"], arms, bad))
            if bad or c[0]["version"] != expect_versions[route]:
                failures += 1
        b = run([args.cli, bootstrap, topic, "B", str(now), joined])
        used = set(x["arm"] for x in b)
        if used & {"b1", "b3"}:
            print("FAIL: route B chose an arm in cooldown or disabled: %s" % sorted(used))
            failures += 1
    finally:
        admin.delete_topics([topic])
    print("gateway_python: %s" % ("ok" if failures == 0 else "FAILED (%d)" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
