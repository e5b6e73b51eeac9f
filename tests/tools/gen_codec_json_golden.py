#!/usr/bin/env python3
"""gen_codec_json_golden.py - golden files for common/json_codec.

Writes tests/data/codec_json/:
  <record>_full.json  every field set (optionals too), canonical encoding
  <record>_min.json   required fields only, optionals as null
  errors/*.json       inputs the decoder must refuse, listed with the expected
                      reason, field path and (for malformed input) line and
                      column in errors/manifest.tsv

The canonical encoding is written here from the rules in json_codec.h, not
by the C encoder: members in the .avsc field order, compact, absent optional
-> null, long/int as integers, doubles as the shortest of %.15g/%.16g/%.17g
that reads back exactly, with ".0" added when it has no '.' or exponent,
strings as json.dumps(ensure_ascii=False) escapes them. The field order is
taken from schemas/*.avsc, so a C table out of schema order fails the test.

Run: /work/main/.venv/bin/python tests/tools/gen_codec_json_golden.py
"""
import json
import math
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "codec_json")
SCHEMAS = os.path.join(ROOT, "schemas")

FILES = {
    "Request": "request", "Response": "response", "Feedback": "feedback",
    "Outcome": "outcome", "WindowMetrics": "window_metrics", "Signal": "signal",
    "RoutingDecision": "routing_decision",
}


def fmt_double(v):
    if math.isnan(v):
        return '"NaN"'
    if math.isinf(v):
        return '"Infinity"' if v > 0 else '"-Infinity"'
    for p in (15, 16, 17):
        s = "%.*g" % (p, v)
        if float(s) == v:
            break
    if not any(c in s for c in ".eE"):
        s += ".0"
    return s


def enc(value, typ, named):
    """canonical JSON text of value for Avro type typ"""
    if isinstance(typ, list):  # ["null", T]
        if value is None:
            return "null"
        return enc(value, [t for t in typ if t != "null"][0], named)
    if isinstance(typ, str) and typ in named:
        typ = named[typ]
    if isinstance(typ, dict):
        k = typ["type"]
        if k == "record":
            named[typ["name"]] = typ
            return "{" + ",".join(
                json.dumps(f["name"]) + ":" + enc(value.get(f["name"]), f["type"], named)
                for f in typ["fields"]) + "}"
        if k == "enum":
            named[typ["name"]] = typ
            assert value in typ["symbols"], value
            return json.dumps(value)
        if k == "array":
            return "[" + ",".join(enc(v, typ["items"], named) for v in value) + "]"
        if k == "map":
            return "{" + ",".join(json.dumps(kk, ensure_ascii=False) + ":" +
                                  enc(v, typ["values"], named)
                                  for kk, v in value.items()) + "}"
        typ = k
    if typ == "string":
        assert isinstance(value, str), value
        return json.dumps(value, ensure_ascii=False)
    if typ in ("long", "int"):
        assert isinstance(value, int) and not isinstance(value, bool), value
        lim = 2**63 if typ == "long" else 2**31
        assert -lim <= value < lim
        return str(value)
    if typ == "double":
        return fmt_double(float(value))
    if typ == "boolean":
        assert isinstance(value, bool)
        return "true" if value else "false"
    raise ValueError("type %r" % (typ,))


# ---- the records (the C suite builds the same ones by hand) ----------------

REQUEST_FULL = {
    "request_id": "req-\"1\"\\\n\t\u00e9\u20ac\U0001F600\u0001", "ts_ms": 9007199254740993,
    "gateway": "gw-1", "route": "chat", "tenant": "acme", "user": "u-42",
    "task_type": "summarise", "arm": "gpt4o-t0.2", "provider": "openai",
    "model": "gpt-4o", "decision_version": 9223372036854775807, "propensity": 0.1,
    "experiment_id": "exp-7", "variant": "B", "input_tokens_est": 1234,
    "context": {"len": 3.5, "hour": 1e15, "neg": -0.0, "tiny": 5e-324},
    "prompt_hash": "ab12",
}
REQUEST_MIN = {
    "request_id": "r", "ts_ms": 0, "gateway": "", "route": "x", "task_type": "t",
    "arm": "a", "provider": "p", "model": "m", "decision_version": -9223372036854775808,
    "propensity": 1.0, "input_tokens_est": 0,
}
RESPONSE_FULL = {
    "request_id": "req-1", "ts_ms": 1700000000123, "route": "chat", "arm": "a1",
    "status": "rate_limited", "http_status": 429, "error_type": "quota",
    "latency_ms": 1234.5678901234567, "ttft_ms": 98.25, "input_tokens": 100,
    "output_tokens": 2000, "cost_usd": 0.000123, "quality": 0.87, "cache_hit": True,
    "batch_size": 2147483647, "provider": "anthropic",
}
RESPONSE_MIN = {
    "request_id": "req-2", "ts_ms": 5, "route": "chat", "arm": "a1", "status": "ok",
    "latency_ms": 0.0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0,
    "cache_hit": False,
}
FEEDBACK_FULL = {
    "request_id": "req-1", "ts_ms": 1700000000999, "route": "chat", "rating": 0.75,
    "thumbs": -1, "task_completed": False,
}
FEEDBACK_MIN = {"request_id": "req-1", "ts_ms": 1, "route": "chat"}
SIGNAL_FULL = {
    "signal_id": "sig-1", "ts_ms": 1700000001000, "route": "chat", "arm": "a1",
    "kind": "anomaly", "detector": "page_hinkley", "metric": "latency_ms",
    "direction": "down", "magnitude": 12.5, "before": 100.0, "after": 112.5,
    "sample_index": 4294967296, "severity": 3.0000000000000004,
    "window_end_ms": 1700000060000,
}
SIGNAL_MIN = dict(SIGNAL_FULL, window_end_ms=None, kind="drift", detector="adwin",
                  direction="up")
BUCKET = {"requests_per_s": 10.0, "requests_burst": 20.0, "tokens_per_min": 60000.0,
          "tokens_burst": 1e6}
ROUTING_FULL = {
    "route": "chat", "version": 42, "ts_ms": 1700000002000, "algorithm": "linucb",
    "arms": [
        {"arm_id": "a1", "provider": "openai", "model": "gpt-4o",
         "params": {"temperature": 0.2, "max_tokens": 512.0},
         "prompt_template_id": "tpl-1", "weight": 0.7, "state": "canary",
         "cooldown_until_ms": 1700000009000},
        {"arm_id": "a2", "provider": "local", "model": "llama", "params": {},
         "prompt_template_id": None, "weight": 0.3, "state": "active",
         "cooldown_until_ms": None},
    ],
    "default_arm": "a1", "reason": "drift on a2", "signal_ids": ["sig-1", "sig-2"],
    "contextual": {
        "feature_names": ["len", "hour"], "dimension": 2, "alpha": 1.5,
        "arms": [{"arm_id": "a1", "theta": [0.5, -0.25],
                  "a_inv": [1.0, 0.0, 0.0, 1.0]}],
    },
    "rate_limits": {"global": BUCKET, "per_tenant": None, "per_user": BUCKET,
                    "priority_weights": {"gold": 2.0}, "on_limit": "degrade",
                    "retry_after_ms": 1000, "queue_timeout_ms": 250},
    "cache_policy": {"enabled": True, "ttl_ms": 60000, "max_entries": 10000,
                     "exclude_patterns": ["^secret", ""]},
    "batching": {"enabled": False, "max_batch": 8, "max_wait_ms": 20,
                 "token_budget": 8192},
    "experiment_id": "exp-9", "heartbeat": True,
}
ROUTING_MIN = {
    "route": "chat", "version": 1, "ts_ms": 2, "algorithm": "static", "arms": [],
    "default_arm": "a1", "reason": "", "signal_ids": [], "heartbeat": False,
}
OUTCOME_FULL = {
    "outcome_id": "out-1", "request_id": "req-1", "route": "chat", "arm": "a1",
    "provider": "openai", "model": "gpt-4o", "tenant": "acme", "user": "u1",
    "task_type": "chat", "ts_ms": 1700000000000, "response_ts_ms": 1700000000500,
    "status": "missing", "latency_ms": 500.0, "ttft_ms": 50.5, "input_tokens": 10,
    "output_tokens": 20, "cost_usd": 0.002, "quality": 0.9, "cache_hit": False,
    "context": {"len": 1.0}, "propensity": 0.5, "decision_version": 3,
    "experiment_id": "e", "variant": "A", "reward_quality": 0.9, "reward_cost": -0.1,
    "reward_latency": -0.05, "reward": 0.75, "rating": 1.0, "thumbs": 1,
    "task_completed": True, "feedback_ts_ms": 1700000100000, "is_update": True,
}
OUTCOME_MIN = {k: v for k, v in OUTCOME_FULL.items() if k in (
    "outcome_id", "request_id", "route", "arm", "provider", "model", "task_type",
    "ts_ms", "status", "input_tokens", "output_tokens", "cost_usd", "cache_hit",
    "context", "propensity", "decision_version", "reward_quality", "reward_cost",
    "reward_latency", "reward", "is_update")}
OUTCOME_MIN["context"] = {}
OUTCOME_MIN["status"] = "timeout"
WM_FULL = {
    "metrics_id": "m-1", "route": "chat", "arm": "a1", "window_start_ms": 1700000000000,
    "window_end_ms": 1700000060000, "window_kind": "hopping", "size_ms": 60000,
    "advance_ms": 10000, "count": 100, "ok_count": 90, "error_count": 5,
    "timeout_count": 3, "rate_limited_count": 1, "filtered_count": 1,
    "error_rate": 0.1, "latency_p50_ms": 100.0, "latency_p90_ms": 200.0,
    "latency_p95_ms": 250.0, "latency_p99_ms": 400.0, "latency_digest": "AAECAw==",
    "ttft_p50_ms": 10.0, "ttft_p90_ms": 20.0, "ttft_p95_ms": 25.0,
    "ttft_p99_ms": 40.0, "ttft_digest": "BAUG", "input_tokens": 10000,
    "output_tokens": 20000, "cost_usd": 1.25, "cost_per_request": 0.0125,
    "quality_count": 80, "quality_mean": 0.8, "quality_variance": 0.01,
    "reward_count": 70, "reward_mean": 0.6, "reward_variance": 0.02,
    "cache_hits": 12, "cache_hit_quality_mean": 0.85, "cache_miss_quality_mean": 0.79,
    "late_count": 2, "batch_size_mean": 1.5,
}
WM_MIN = {k: (None if k.endswith(("_p50_ms", "_p90_ms", "_p95_ms", "_p99_ms", "_mean",
                                  "_variance")) or k == "ttft_digest" else v)
          for k, v in WM_FULL.items()}

RECORDS = {
    "Request": (REQUEST_FULL, REQUEST_MIN), "Response": (RESPONSE_FULL, RESPONSE_MIN),
    "Feedback": (FEEDBACK_FULL, FEEDBACK_MIN), "Outcome": (OUTCOME_FULL, OUTCOME_MIN),
    "WindowMetrics": (WM_FULL, WM_MIN), "Signal": (SIGNAL_FULL, SIGNAL_MIN),
    "RoutingDecision": (ROUTING_FULL, ROUTING_MIN),
}

# ---- inputs the decoder must refuse -------------------------------------------
# name, record, text, reason, field, line, column (0 = not checked)
RESP = dict(RESPONSE_MIN)


def resp(**kw):
    d = dict(RESP)
    for k, v in kw.items():
        if v is KeyError:
            d.pop(k)
        else:
            d[k] = v
    return json.dumps(d)


ERRORS = [
    ("malformed_eof", "Response", '{"request_id": "r",\n  "ts_ms": ', "malformed_json", "", 2, 11),
    ("malformed_comma", "Response", '{\n"a": 1,,\n}', "malformed_json", "", 2, 8),
    ("malformed_trailing", "Response", resp() + " x", "malformed_json", "", 0, 0),
    ("malformed_dup_key", "Response", '{"route": "a", "route": "b"}', "malformed_json", "", 0, 0),
    ("malformed_bad_utf8", "Response", b'{"route": "\xff"}', "malformed_json", "", 0, 0),
    ("not_object", "Response", "[1, 2]", "wrong_type", "", 0, 0),
    ("missing_route", "Response", resp(route=KeyError), "missing_field", "route", 0, 0),
    ("null_required", "Response", resp(arm=None), "wrong_type", "arm", 0, 0),
    ("ts_as_string", "Response", resp(ts_ms="5"), "wrong_type", "ts_ms", 0, 0),
    ("ts_as_real", "Response", resp(ts_ms=5.0), "wrong_type", "ts_ms", 0, 0),
    ("bool_as_int", "Response", resp(cache_hit=1), "wrong_type", "cache_hit", 0, 0),
    ("latency_as_bool", "Response", resp(latency_ms=True), "wrong_type", "latency_ms", 0, 0),
    ("latency_bad_string", "Response", resp(latency_ms="nan"), "wrong_type", "latency_ms", 0, 0),
    ("unknown_status", "Response", resp(status="bogus"), "unknown_enum", "status", 0, 0),
    ("status_missing_in_response", "Response", resp(status="missing"), "unknown_enum", "status", 0, 0),
    ("status_as_index", "Response", resp(status=1), "wrong_type", "status", 0, 0),
    ("http_status_int32_overflow", "Response", resp(http_status=2147483648), "out_of_range", "http_status", 0, 0),
    ("batch_size_int32_underflow", "Response", resp(batch_size=-2147483649), "out_of_range", "batch_size", 0, 0),
    ("ts_int64_overflow", "Response", '{"ts_ms": 9223372036854775808}', "out_of_range", "", 1, 0),
    ("double_overflow", "Response", '{"latency_ms": 1e999}', "out_of_range", "", 1, 0),
    ("map_value_string", "Request", json.dumps(dict(REQUEST_MIN, context={"a": "x"})), "wrong_type", 'context["a"]', 0, 0),
    ("nested_enum", "RoutingDecision", json.dumps(dict(ROUTING_FULL, arms=[dict(ROUTING_FULL["arms"][0], state="on")])), "unknown_enum", "arms[0].state", 0, 0),
    ("nested_missing", "RoutingDecision", json.dumps(dict(ROUTING_FULL, rate_limits=dict(ROUTING_FULL["rate_limits"], per_user={"requests_per_s": 1.0}))), "missing_field", "rate_limits.per_user.requests_burst", 0, 0),
    ("array_item_type", "RoutingDecision", json.dumps(dict(ROUTING_FULL, signal_ids=["a", 3])), "wrong_type", "signal_ids[1]", 0, 0),
    ("arms_not_array", "RoutingDecision", json.dumps(dict(ROUTING_FULL, arms={})), "wrong_type", "arms", 0, 0),
    ("dimension_int32", "RoutingDecision", json.dumps(dict(ROUTING_FULL, contextual=dict(ROUTING_FULL["contextual"], dimension=-2147483649))), "out_of_range", "contextual.dimension", 0, 0),
    ("empty", "Feedback", "", "malformed_json", "", 0, 0),
]


def main():
    os.makedirs(os.path.join(OUT, "errors"), exist_ok=True)
    for rec, (full, minimal) in RECORDS.items():
        schema = json.load(open(os.path.join(SCHEMAS, FILES[rec] + ".avsc")))
        names = {f["name"] for f in schema["fields"]}
        for d in (full, minimal):
            assert set(d) <= names, (rec, set(d) - names)
        for suffix, d in (("full", full), ("min", minimal)):
            text = enc(d, schema, {})
            json.loads(text)  # well-formed
            with open(os.path.join(OUT, "%s_%s.json" % (FILES[rec], suffix)), "w",
                      encoding="utf-8") as f:
                f.write(text)
    with open(os.path.join(OUT, "errors", "manifest.tsv"), "w") as m:
        m.write("# file\trecord\treason\tfield\tline\tcolumn (0: not checked)\n")
        for name, rec, text, reason, field, line, col in ERRORS:
            data = text if isinstance(text, bytes) else text.encode()
            with open(os.path.join(OUT, "errors", name + ".json"), "wb") as f:
                f.write(data)
            m.write("%s.json\t%s\t%s\t%s\t%d\t%d\n" % (name, rec, reason, field or "-", line, col))


if __name__ == "__main__":
    main()
