#!/usr/bin/env python3
"""A minimal gateway in Python that follows llm.routing and picks arms exactly
as libllmopt-gateway does (gateway/include/llmopt_gateway.h, "Choosing an arm").

It needs only confluent-kafka and fastavro. Decisions arrive Avro (Confluent
framing: magic 0, 4-byte schema id, then the RoutingDecision body of
schemas/routing_decision.avsc) or JSON with the same field names; the latest
version per route wins, older or equal versions are ignored, and a decision
that fails validation is dropped while the last good one stays.

    python_gateway.py --bootstrap 127.0.0.1:19092 --route chat --draws 0.1,0.7
prints one JSON line per draw: {"u": .., "arm": .., "propensity": .., "version": ..}

choose() is weighted sampling only (contextual linucb/lin_ts decisions are
out of scope for this example): the same decision and the same draw u give
the same arm and propensity as the C library, bit for bit.
"""
import argparse
import io
import json
import os
import sys
import time
import uuid

import fastavro
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "schemas", "routing_decision.avsc")


def load_schema(path=SCHEMA):
    with open(path) as f:
        return fastavro.parse_schema(json.load(f))


def decode(value, schema):
    """A RoutingDecision as a dict, from Avro (Confluent framing) or JSON."""
    if value and value[0] == 0:
        if len(value) < 5:
            raise ValueError("truncated Confluent header")
        return fastavro.schemaless_reader(io.BytesIO(value[5:]), schema)
    return json.loads(value)


def valid(d):
    """The library's weight rules: no negative weight, and the weights of the
    arms that are not disabled sum to 1 within 1e-6."""
    arms = d.get("arms") or []
    if not arms or any(a["weight"] < 0 for a in arms):
        return False
    total = 0.0
    for a in arms:
        if a["state"] != "disabled":
            total += a["weight"]
    return abs(total - 1.0) <= 1e-6


def eligible(arm, now_ms):
    if arm["state"] in ("active", "canary"):
        return True
    if arm["state"] == "cooldown":
        until = arm.get("cooldown_until_ms")
        return until is not None and now_ms >= until
    return False


def choose(d, u, now_ms):
    """(arm_id, propensity) for draw u in [0, 1), in the library's exact
    arithmetic order."""
    arms = d["arms"]
    elig = [eligible(a, now_ms) for a in arms]
    if not any(elig):
        return d["default_arm"], 1.0
    w_total = 0.0
    for a, e in zip(arms, elig):
        if e:
            w_total += a["weight"]
    every = all(elig) and abs(w_total - 1.0) <= 1e-6
    t = u if every else u * w_total
    c = 0.0
    for a, e in zip(arms, elig):
        if not e:
            continue
        c += a["weight"]
        if t < c:
            return a["arm_id"], (a["weight"] if every else a["weight"] / w_total)
    last = [a for a, e in zip(arms, elig) if e and a["weight"] > 0]
    a = last[-1]
    return a["arm_id"], (a["weight"] if every else a["weight"] / w_total)


class Follower:
    """Reads the routing topic from the beginning and keeps the latest valid
    decision per route."""

    def __init__(self, bootstrap, topic="llm.routing"):
        self.schema = load_schema()
        self.topic = topic
        self.decisions = {}
        self.rejected = 0
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": "pygw-" + uuid.uuid4().hex,
                           "enable.auto.commit": False, "isolation.level": "read_committed"})
        md = self.c.list_topics(topic, timeout=10)
        parts = md.topics[topic].partitions
        self.c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        self.ends = {p: self.c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                     for p in parts}

    def apply(self, value):
        try:
            d = decode(value, self.schema)
        except Exception:
            self.rejected += 1
            return
        if not valid(d):
            self.rejected += 1
            return
        held = self.decisions.get(d["route"])
        if held is None or d["version"] > held["version"]:
            self.decisions[d["route"]] = d

    def catch_up(self, timeout=30):
        """Consume until every partition reached its end offset at start."""
        pos = {p: 0 for p in self.ends}
        deadline = time.time() + timeout
        while any(pos[p] < self.ends[p] for p in pos) and time.time() < deadline:
            m = self.c.poll(0.2)
            if m is None or m.error():
                continue
            pos[m.partition()] = m.offset() + 1
            if m.value() is not None:
                self.apply(m.value())
        return all(pos[p] >= self.ends[p] for p in pos)

    def close(self):
        self.c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bootstrap", default=os.environ.get("LLMOPT_BOOTSTRAP", "127.0.0.1:19092"))
    ap.add_argument("--topic", default="llm.routing")
    ap.add_argument("--route", required=True)
    ap.add_argument("--draws", required=True, help="comma-separated uniform draws in [0, 1)")
    ap.add_argument("--now-ms", type=int, default=None)
    args = ap.parse_args()
    f = Follower(args.bootstrap, args.topic)
    if not f.catch_up():
        print("python_gateway: did not catch up with %s" % args.topic, file=sys.stderr)
        return 1
    d = f.decisions.get(args.route)
    f.close()
    if d is None:
        print("python_gateway: no decision for route %r" % args.route, file=sys.stderr)
        return 1
    now = args.now_ms if args.now_ms is not None else int(time.time() * 1000)
    for s in args.draws.split(","):
        u = float(s)
        arm, prop = choose(d, u, now)
        print(json.dumps({"u": s, "arm": arm, "propensity": repr(prop), "version": d["version"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
