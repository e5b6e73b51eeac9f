#!/usr/bin/env python3
"""Seed corpus for tests/fuzz/fuzz_gw_decision.c: real RoutingDecisions in
Avro (Confluent frame, schema id 7) and JSON, each prefixed with the
harness's mode byte (0 = no key). Run from the repo root with .venv."""
import io
import json
import os
import struct

import fastavro

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "fuzz", "corpus", "gw_decision")
schema = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "..", "schemas", "routing_decision.avsc"))))


def arm(i, w, state="active", cd=None):
    return {"arm_id": f"a{i}", "provider": "p", "model": f"m{i}", "params": {"temperature": 0.2},
            "prompt_template_id": None, "weight": w, "state": state, "cooldown_until_ms": cd}


def base(route, arms, algorithm="static", **kw):
    d = {"route": route, "version": kw.pop("version", 3), "ts_ms": 1000, "algorithm": algorithm,
         "arms": arms, "default_arm": "a0", "reason": "seed", "signal_ids": ["s1"],
         "contextual": None, "rate_limits": None, "cache_policy": None, "batching": None,
         "experiment_id": None, "heartbeat": False}
    d.update(kw)
    return d


seeds = {
    "static": base("chat", [arm(0, 0.25), arm(1, 0.75)]),
    "cooldown": base("summarise", [arm(0, 0.5, "cooldown", 4000), arm(1, 0.5), arm(2, 0.0, "disabled")]),
    "linucb": base("ctx", [arm(0, 0.5), arm(1, 0.5)], "linucb", contextual={
        "feature_names": ["len", "code"], "dimension": 2, "alpha": 0.5,
        "arms": [{"arm_id": "a0", "theta": [0.1, 0.2], "a_inv": [1, 0, 0, 1]},
                 {"arm_id": "a1", "theta": [0.3, -0.1], "a_inv": [0.5, 0, 0, 0.5]}]}),
    "lin_ts": base("ctx", [arm(0, 0.5), arm(1, 0.5)], "lin_ts", version=4, contextual={
        "feature_names": ["len", "code"], "dimension": 2, "alpha": 1.0,
        "arms": [{"arm_id": "a0", "theta": [0.1, 0.2], "a_inv": [1, 0, 0, 1]},
                 {"arm_id": "a1", "theta": [0.3, -0.1], "a_inv": [0.5, 0.1, 0.1, 0.5]}]}),
    "limits": base("limits", [arm(0, 1.0)], rate_limits={
        "global": {"requests_per_s": 10, "requests_burst": 5, "tokens_per_min": 600, "tokens_burst": 100},
        "per_tenant": {"requests_per_s": 1, "requests_burst": 2, "tokens_per_min": 0, "tokens_burst": 0},
        "per_user": None, "priority_weights": {"critical": 1, "low": 0.2}, "on_limit": "degrade",
        "retry_after_ms": 100, "queue_timeout_ms": 0},
        cache_policy={"enabled": True, "ttl_ms": 60000, "max_entries": 100, "exclude_patterns": ["code*"]},
        batching={"enabled": True, "max_batch": 8, "max_wait_ms": 20, "token_budget": 4000}),
}

os.makedirs(OUT, exist_ok=True)
for name, d in seeds.items():
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, d)
    with open(os.path.join(OUT, f"{name}.avro"), "wb") as f:
        f.write(b"\x00" + b"\x00" + struct.pack(">i", 7) + buf.getvalue())
    with open(os.path.join(OUT, f"{name}.json"), "wb") as f:
        f.write(b"\x00" + json.dumps(d).encode())
with open(os.path.join(OUT, "tombstone"), "wb") as f:
    f.write(b"\x03chat")
