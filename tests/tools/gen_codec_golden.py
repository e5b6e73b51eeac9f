#!/usr/bin/env python3
"""Golden wire messages for the C Avro codec, made by an independent encoder
(fastavro) from the schemas in schemas/.

For every sample record this writes, under tests/data/codec/:
  <name>.json  the record as JSON (null = absent optional; doubles are exact
               because Python writes the shortest repr that round-trips)
  <name>.bin   the Confluent-framed message: 0x00, schema id (big endian,
               from schemas/registry.json), fastavro schemaless body
and malformed.json: hand-built bad messages with the decode error each must
give (the expected reasons come from reading the Avro spec, not from the C
code). Also seeds the fuzz corpora tests/fuzz/corpus/avro_<record>/.
Run from the repo root: .venv/bin/python tests/tools/gen_codec_golden.py
"""
import io
import json
import os
import struct

import fastavro

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "data", "codec")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")

REG = json.load(open(os.path.join(ROOT, "schemas", "registry.json")))["schemas"]
SCHEMAS = {}
IDS = {}
FILES = {}
for e in REG:
    SCHEMAS[e["record"]] = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", e["file"]))))
    IDS[e["record"]] = e["id"]
    FILES[e["record"]] = e["file"][:-5]


def frame(record, body):
    return b"\x00" + struct.pack(">i", IDS[record]) + body


def body_of(record, value):
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, SCHEMAS[record], value)
    return buf.getvalue()


REQUEST_FULL = {
    "request_id": "req-0001", "ts_ms": 1764382800123, "gateway": "gw-eu-1", "route": "support-chat",
    "tenant": "acme", "user": "u-42", "task_type": "chat", "arm": "gpt4o-t07", "provider": "openai",
    "model": "gpt-4o", "decision_version": 17, "propensity": 0.35, "experiment_id": "exp-9",
    "variant": "B", "input_tokens_est": 812, "context": {"len_norm": 0.41, "is_vip": 1.0, "hour": -3.5},
    "prompt_hash": "9f86d081884c7d65",
}
REQUEST_MIN = {
    "request_id": "r", "ts_ms": 0, "gateway": "", "route": "x", "tenant": None, "user": None,
    "task_type": "", "arm": "a", "provider": "p", "model": "m", "decision_version": 0,
    "propensity": 1.0, "experiment_id": None, "variant": None, "input_tokens_est": -1,
    "context": None, "prompt_hash": None,
}
REQUEST_EDGE = dict(REQUEST_FULL, request_id="r\u00e9q-\u65e5\u672c-\U0001f600", ts_ms=9223372036854775807,
                    decision_version=-9223372036854775808, propensity=5e-324, input_tokens_est=63,
                    context={}, tenant="", gateway="g" * 300)
RESPONSE_FULL = {
    "request_id": "req-0001", "ts_ms": 1764382801456, "route": "support-chat", "arm": "gpt4o-t07",
    "status": "error", "http_status": 529, "error_type": "overloaded", "latency_ms": 1333.25,
    "ttft_ms": 210.5, "input_tokens": 812, "output_tokens": 0, "cost_usd": 0.00406,
    "quality": 0.0, "cache_hit": False, "batch_size": 4, "provider": "openai",
}
RESPONSE_MIN = {
    "request_id": "req-0002", "ts_ms": 1764382801999, "route": "support-chat", "arm": "haiku",
    "status": "ok", "http_status": None, "error_type": None, "latency_ms": 88.0, "ttft_ms": None,
    "input_tokens": 100, "output_tokens": 250, "cost_usd": 1.25e-4, "quality": None, "cache_hit": True,
    "batch_size": None, "provider": None,
}
RESPONSE_FILTERED = dict(RESPONSE_MIN, status="filtered", http_status=-2147483648, batch_size=2147483647)
FEEDBACK_FULL = {"request_id": "req-0001", "ts_ms": 1764382900000, "route": "support-chat",
                 "rating": 0.8, "thumbs": -1, "task_completed": True}
FEEDBACK_MIN = {"request_id": "req-0003", "ts_ms": 1, "route": "r", "rating": None, "thumbs": None,
                "task_completed": None}
OUTCOME_FULL = {
    "outcome_id": "req-0001:u1", "request_id": "req-0001", "route": "support-chat", "arm": "gpt4o-t07",
    "provider": "openai", "model": "gpt-4o", "tenant": "acme", "user": "u-42", "task_type": "chat",
    "ts_ms": 1764382800123, "response_ts_ms": 1764382801456, "status": "ok", "latency_ms": 1333.25,
    "ttft_ms": 210.5, "input_tokens": 812, "output_tokens": 95, "cost_usd": 0.0049,
    "quality": 0.9, "cache_hit": False, "context": {"len_norm": 0.41}, "propensity": 0.35,
    "decision_version": 17, "experiment_id": "exp-9", "variant": "B", "reward_quality": 0.9,
    "reward_cost": 0.51, "reward_latency": 0.7333333333333333, "reward": 0.7713333333333333,
    "rating": 0.8, "thumbs": 1, "task_completed": False, "feedback_ts_ms": 1764382900000, "is_update": True,
}
OUTCOME_MISSING = {
    "outcome_id": "req-0004", "request_id": "req-0004", "route": "support-chat", "arm": "haiku",
    "provider": "anthropic", "model": "claude-haiku", "tenant": None, "user": None, "task_type": "chat",
    "ts_ms": 1764382800000, "response_ts_ms": None, "status": "missing", "latency_ms": None,
    "ttft_ms": None, "input_tokens": 40, "output_tokens": 0, "cost_usd": 0.0, "quality": None,
    "cache_hit": False, "context": {}, "propensity": 0.5, "decision_version": 3, "experiment_id": None,
    "variant": None, "reward_quality": 0.0, "reward_cost": 1.0, "reward_latency": 0.0, "reward": 0.0,
    "rating": None, "thumbs": None, "task_completed": None, "feedback_ts_ms": None, "is_update": False,
}
WINDOW_FULL = {
    "metrics_id": "support-chat|haiku|tumbling|60000|1764382800000", "route": "support-chat", "arm": "haiku",
    "window_start_ms": 1764382800000, "window_end_ms": 1764382860000, "window_kind": "hopping",
    "size_ms": 60000, "advance_ms": 10000, "count": 120, "ok_count": 110, "error_count": 6,
    "timeout_count": 2, "rate_limited_count": 1, "filtered_count": 1, "error_rate": 0.08333333333333333,
    "latency_p50_ms": 91.5, "latency_p90_ms": 180.0, "latency_p95_ms": 230.25, "latency_p99_ms": 410.0,
    "latency_digest": "flags 1 count 3 compression 100 centroids 2 (80.000000, 2) (120.500000, 1)",
    "ttft_p50_ms": 20.0, "ttft_p90_ms": 40.0, "ttft_p95_ms": 45.0, "ttft_p99_ms": 60.0,
    "ttft_digest": "flags 1 count 1 compression 100 centroids 1 (20.000000, 1)",
    "input_tokens": 96000, "output_tokens": 30000, "cost_usd": 0.1575, "cost_per_request": 0.0013125,
    "quality_count": 100, "quality_mean": 0.82, "quality_variance": 0.0123, "reward_count": 120,
    "reward_mean": 0.66, "reward_variance": 0.04, "cache_hits": 12, "cache_hit_quality_mean": 0.8,
    "cache_miss_quality_mean": 0.83, "late_count": 3, "batch_size_mean": 2.5,
}
WINDOW_MIN = dict(WINDOW_FULL, window_kind="tumbling", advance_ms=60000, count=0, ok_count=0, error_count=0,
                  timeout_count=0, rate_limited_count=0, filtered_count=0, error_rate=0.0,
                  latency_p50_ms=None, latency_p90_ms=None, latency_p95_ms=None, latency_p99_ms=None,
                  latency_digest="flags 1 count 0 compression 100 centroids 0", ttft_p50_ms=None,
                  ttft_p90_ms=None, ttft_p95_ms=None, ttft_p99_ms=None, ttft_digest=None, input_tokens=0,
                  output_tokens=0, cost_usd=0.0, cost_per_request=0.0, quality_count=0, quality_mean=None,
                  quality_variance=None, reward_count=0, reward_mean=None, reward_variance=None,
                  cache_hits=0, cache_hit_quality_mean=None, cache_miss_quality_mean=None, late_count=0,
                  batch_size_mean=None)
SIGNAL_FULL = {
    "signal_id": "support-chat|haiku|zscore|p95_latency_ms|42", "ts_ms": 1764382860000,
    "route": "support-chat", "arm": "haiku", "kind": "anomaly", "detector": "zscore",
    "metric": "p95_latency_ms", "direction": "up", "magnitude": 180.25, "before": 230.25,
    "after": 410.5, "sample_index": 42, "severity": 0.75, "window_end_ms": 1764382860000,
}
SIGNAL_MIN = dict(SIGNAL_FULL, kind="drift", detector="mad", direction="down", magnitude=0.0,
                  before=-1.5, after=-1.5, sample_index=0, severity=0.0, window_end_ms=None)
ROUTING_FULL = {
    "route": "support-chat", "version": 18, "ts_ms": 1764382861000, "algorithm": "linucb",
    "arms": [
        {"arm_id": "gpt4o-t07", "provider": "openai", "model": "gpt-4o",
         "params": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 1024.0},
         "prompt_template_id": "tpl-support-v3", "weight": 0.6, "state": "active", "cooldown_until_ms": None},
        {"arm_id": "haiku", "provider": "anthropic", "model": "claude-haiku", "params": {},
         "prompt_template_id": None, "weight": 0.4, "state": "cooldown", "cooldown_until_ms": 1764382921000},
        {"arm_id": "canary-x", "provider": "local", "model": "llama", "params": {"temperature": 0.0},
         "prompt_template_id": None, "weight": 0.0, "state": "canary", "cooldown_until_ms": None},
    ],
    "default_arm": "haiku", "reason": "p95 latency anomaly on haiku",
    "signal_ids": ["support-chat|haiku|zscore|p95_latency_ms|42", "s2"],
    "contextual": {"feature_names": ["bias", "len_norm"], "dimension": 2, "alpha": 0.5,
                   "arms": [{"arm_id": "gpt4o-t07", "theta": [0.1, -0.25],
                             "a_inv": [1.0, 0.0, 0.0, 0.5]},
                            {"arm_id": "haiku", "theta": [0.3, 0.05], "a_inv": [0.5, 0.125, 0.125, 0.25]}]},
    "rate_limits": {"global": {"requests_per_s": 100.0, "requests_burst": 200.0, "tokens_per_min": 1e6,
                               "tokens_burst": 2e5},
                    "per_tenant": None,
                    "per_user": {"requests_per_s": 1.0, "requests_burst": 5.0, "tokens_per_min": 20000.0,
                                 "tokens_burst": 8000.0},
                    "priority_weights": {"gold": 3.0, "silver": 1.5}, "on_limit": "queue",
                    "retry_after_ms": 1000, "queue_timeout_ms": 2500},
    "cache_policy": {"enabled": True, "ttl_ms": 300000, "max_entries": 10000, "exclude_patterns": ["code*"]},
    "batching": {"enabled": True, "max_batch": 8, "max_wait_ms": 20, "token_budget": 16000},
    "experiment_id": "exp-9", "heartbeat": False,
}
ROUTING_MIN = {
    "route": "r", "version": 1, "ts_ms": 0, "algorithm": "static",
    "arms": [{"arm_id": "a", "provider": "p", "model": "m", "params": {}, "prompt_template_id": None,
              "weight": 1.0, "state": "active", "cooldown_until_ms": None}],
    "default_arm": "a", "reason": "", "signal_ids": [], "contextual": None, "rate_limits": None,
    "cache_policy": None, "batching": None, "experiment_id": None, "heartbeat": True,
}

SAMPLES = [
    ("request_full", "Request", REQUEST_FULL), ("request_min", "Request", REQUEST_MIN),
    ("request_edge", "Request", REQUEST_EDGE),
    ("response_full", "Response", RESPONSE_FULL), ("response_min", "Response", RESPONSE_MIN),
    ("response_filtered", "Response", RESPONSE_FILTERED),
    ("feedback_full", "Feedback", FEEDBACK_FULL), ("feedback_min", "Feedback", FEEDBACK_MIN),
    ("outcome_full", "Outcome", OUTCOME_FULL), ("outcome_missing", "Outcome", OUTCOME_MISSING),
    ("window_metrics_full", "WindowMetrics", WINDOW_FULL), ("window_metrics_min", "WindowMetrics", WINDOW_MIN),
    ("signal_full", "Signal", SIGNAL_FULL), ("signal_min", "Signal", SIGNAL_MIN),
    ("routing_decision_full", "RoutingDecision", ROUTING_FULL),
    ("routing_decision_min", "RoutingDecision", ROUTING_MIN),
]


# ---- hand-built Avro pieces for malformed inputs (spec, not fastavro) ----
def zz(n):
    u = (n << 1) ^ (n >> 63)
    u &= (1 << 64) - 1
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def s(text):
    b = text.encode()
    return zz(len(b)) + b


def req_prefix():
    """request_id, ts_ms, gateway, route: the first four Request fields."""
    return s("r1") + zz(5) + s("g") + s("route")


def resp_prefix():
    """Response up to (not including) status."""
    return s("r1") + zz(5) + s("route") + s("arm")


def hdr(rid):
    return b"\x00" + struct.pack(">i", rid)


def malformed():
    good_req = frame("Request", body_of("Request", REQUEST_MIN))
    good_resp = frame("Response", body_of("Response", RESPONSE_MIN))
    cases = [
        ("empty", "Request", b"", "truncated"),
        ("header_cut", "Request", b"\x00\x00\x00", "truncated"),
        ("bad_magic", "Request", b"\x01" + good_req[1:], "bad_magic"),
        ("unknown_schema_id", "Request", hdr(9999) + good_req[5:], "unknown_schema_id"),
        ("wrong_record_type", "Request", good_resp, "wrong_record_type"),
        ("body_cut_mid_string", "Request", hdr(1) + s("req-0001")[:4], "truncated"),
        ("bad_varint_11_bytes", "Request", hdr(1) + s("r1") + b"\xff" * 10 + b"\x01", "bad_varint"),
        ("bad_varint_10th_byte", "Request", hdr(1) + s("r1") + b"\xff" * 9 + b"\x02", "bad_varint"),
        ("negative_string_length", "Request", hdr(1) + zz(-1) + b"abc", "negative_length"),
        ("string_too_long", "Request", hdr(1) + zz((1 << 20) + 1) + b"x" * 16, "string_too_long"),
        ("string_longer_than_input", "Request", hdr(1) + zz(100) + b"x" * 10, "truncated"),
        ("bad_union_branch", "Request", hdr(1) + req_prefix() + zz(2), "bad_union_branch"),
        ("negative_union_branch", "Request", hdr(1) + req_prefix() + zz(-1), "bad_union_branch"),
        ("response_status_missing_invalid", "Response", hdr(2) + resp_prefix() + zz(5), "invalid_enum"),
        ("response_status_negative", "Response", hdr(2) + resp_prefix() + zz(-1), "invalid_enum"),
        ("int_out_of_range", "Response", hdr(2) + resp_prefix() + zz(0) + zz(1) + zz(1 << 31),
         "int_out_of_range"),
        ("bad_boolean", "Feedback", hdr(3) + s("r") + zz(1) + s("route") + zz(0) + zz(0) + zz(1) + b"\x02",
         "bad_boolean"),
        ("trailing_bytes", "Request", good_req + b"\x00", "trailing_bytes"),
        ("map_too_many_items", "Request", hdr(1) + req_prefix() + zz(0) + zz(0) + s("t") + s("a") + s("p")
         + s("m") + zz(1) + struct.pack("<d", 1.0) + zz(0) + zz(0) + zz(1) + zz(1) + zz((1 << 20) + 1),
         "too_many_items"),
        ("map_count_exceeds_input", "Request", hdr(1) + req_prefix() + zz(0) + zz(0) + s("t") + s("a")
         + s("p") + s("m") + zz(1) + struct.pack("<d", 1.0) + zz(0) + zz(0) + zz(1) + zz(1) + zz(1000)
         + b"\x00" * 20, "truncated"),
        ("map_negative_block_size", "Request", hdr(1) + req_prefix() + zz(0) + zz(0) + s("t") + s("a")
         + s("p") + s("m") + zz(1) + struct.pack("<d", 1.0) + zz(0) + zz(0) + zz(1) + zz(1) + zz(-1) + zz(-5)
         + b"\x00" * 20, "negative_length"),
        ("double_cut", "Request", hdr(1) + req_prefix() + zz(0) + zz(0) + s("t") + s("a") + s("p") + s("m")
         + zz(1) + b"\x00\x00\x00", "truncated"),
    ]
    # A valid Request whose context map is written as one negative-count block
    # (count -2 then the block's byte size): legal Avro that must decode.
    ctx = s("k1") + struct.pack("<d", 0.5) + s("k2") + struct.pack("<d", -2.0)
    block_req = (hdr(1) + req_prefix() + zz(0) + zz(0) + s("t") + s("a") + s("p") + s("m") + zz(1)
                 + struct.pack("<d", 1.0) + zz(0) + zz(0) + zz(1) + zz(1) + zz(-2) + zz(len(ctx)) + ctx
                 + zz(0) + zz(0))
    cases.append(("negative_block_count_valid", "Request", block_req, "ok"))
    return [{"name": n, "record": r, "hex": b.hex(), "reason": why} for n, r, b, why in cases]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, record, value in SAMPLES:
        wire = frame(record, body_of(record, value))
        # fastavro must read back what it wrote, unchanged
        assert fastavro.schemaless_reader(io.BytesIO(wire[5:]), SCHEMAS[record]) == value, name
        with open(os.path.join(OUT, name + ".bin"), "wb") as fh:
            fh.write(wire)
        with open(os.path.join(OUT, name + ".json"), "w") as fh:
            json.dump({"record": record, "value": value}, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
        cdir = os.path.join(CORPUS, "avro_" + FILES[record])
        os.makedirs(cdir, exist_ok=True)
        with open(os.path.join(cdir, name + ".bin"), "wb") as fh:
            fh.write(wire)
        with open(os.path.join(cdir, name + ".body"), "wb") as fh:  # bare body seed
            fh.write(wire[5:])
    mal = malformed()
    with open(os.path.join(OUT, "malformed.json"), "w") as fh:
        json.dump(mal, fh, indent=1)
        fh.write("\n")
    with open(os.path.join(OUT, "samples.txt"), "w") as fh:
        fh.write("".join(n + "\n" for n, _, _ in SAMPLES))
    for m in mal:  # malformed inputs seed the corpus of their record too
        cdir = os.path.join(CORPUS, "avro_" + FILES[m["record"]])
        with open(os.path.join(cdir, "bad_" + m["name"] + ".bin"), "wb") as fh:
            fh.write(bytes.fromhex(m["hex"]))


if __name__ == "__main__":
    main()
