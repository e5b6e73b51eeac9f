#!/usr/bin/env python3
"""Generates schemas/*.avsc and schemas/README.md from the one field table
below, so the schema docs and the reference never disagree.

Every field doc reads "<meaning>. Unit: u. Range: r. Required|Optional."; the
README lists the same four columns. Run from the repo root:
    .venv/bin/python tests/tools/gen_codec_schemas.py
Evolution rule: append new fields at the end of a record as optional
(["null", T], default null); append enum symbols only at the end.
"""
import json
import os

NS = "io.llmopt"


def F(name, typ, doc, unit="-", rng="-", opt=False):
    return dict(name=name, typ=typ, doc=doc, unit=unit, rng=rng, opt=opt)


def enum(name, symbols, doc):
    return {"type": "enum", "name": name, "symbols": symbols, "doc": doc}


MAPD = {"type": "map", "values": "double"}
ARRS = {"type": "array", "items": "string"}
ARRD = {"type": "array", "items": "double"}
ID = "non-empty UTF-8 string"
STATUS5 = ["ok", "error", "timeout", "rate_limited", "filtered"]
P01 = "0..1"
NONNEG = ">= 0"


def record(name, doc, fields):
    return dict(name=name, doc=doc, fields=fields)


def label(t):
    if isinstance(t, str):
        return t
    if t.get("type") == "enum":
        return "enum " + t["name"] + " {" + ", ".join(t["symbols"]) + "}"
    if t.get("type") == "map":
        return "map<" + label(t["values"]) + ">"
    if t.get("type") == "array":
        return "array<" + label(t["items"]) + ">"
    if t.get("type") == "record":
        return "record " + t["name"]
    return str(t)


def to_avro(rec, seen):
    fields = []
    for f in rec["fields"]:
        t = f["typ"]
        t = nested(t, seen)
        docs = "%s. Unit: %s. Range: %s. %s." % (
            f["doc"], f["unit"], f["rng"], "Optional (null when absent)" if f["opt"] else "Required")
        out = {"name": f["name"], "type": ["null", t] if f["opt"] else t, "doc": docs}
        if f["opt"]:
            out["default"] = None
        fields.append(out)
    return {"type": "record", "name": rec["name"], "namespace": NS, "doc": rec["doc"], "fields": fields}


def nested(t, seen):
    """Named types are defined once per schema, then referenced by name."""
    if isinstance(t, dict):
        if t.get("type") in ("enum",) or "fields" in t:
            if t["name"] in seen:
                return t["name"]
            seen.add(t["name"])
            if "fields" in t:
                return to_avro(t, seen) | {}
            return dict(t)
        if t.get("type") == "map":
            return {"type": "map", "values": nested(t["values"], seen)}
        if t.get("type") == "array":
            return {"type": "array", "items": nested(t["items"], seen)}
    return t


REQUEST = record("Request", "One LLM request as routed by a gateway (topic llm.requests, key route)", [
    F("request_id", "string", "Unique id of the request, shared by its Response and Feedback", rng=ID),
    F("ts_ms", "long", "Event time the gateway sent the request", "ms since Unix epoch (UTC)", NONNEG),
    F("gateway", "string", "Id of the gateway instance that routed the request", rng=ID),
    F("route", "string", "Logical route (use case) the request belongs to; the Kafka key", rng=ID),
    F("tenant", "string", "Tenant that issued the request", opt=True),
    F("user", "string", "End user (pseudonymous id) that issued the request", opt=True),
    F("task_type", "string", "Task category (chat, summarise, classify, code, ...)", rng="free text"),
    F("arm", "string", "Chosen arm id (model + params + prompt template) from the routing decision", rng=ID),
    F("provider", "string", "Provider serving the arm (openai, anthropic, local, ...)"),
    F("model", "string", "Model name at the provider"),
    F("decision_version", "long", "Version of the RoutingDecision that chose the arm", rng=">= 0 (0: no decision yet)"),
    F("propensity", "double", "Probability the chosen arm had under the policy that chose it (for off-policy evaluation)", "probability", "(0, 1]"),
    F("experiment_id", "string", "Experiment the request is enrolled in", opt=True),
    F("variant", "string", "Experiment variant the request was assigned", opt=True),
    F("input_tokens_est", "long", "Gateway estimate of the prompt size", "tokens", NONNEG),
    F("context", MAPD, "Context features for contextual bandits (feature name -> value)", "per feature", "finite doubles", opt=True),
    F("prompt_hash", "string", "Hash of the normalised prompt (cache key; hex)", opt=True),
])

RESPONSE = record("Response", "Result of one LLM request (topic llm.responses, key route)", [
    F("request_id", "string", "Id of the Request this answers", rng=ID),
    F("ts_ms", "long", "Event time the response completed", "ms since Unix epoch (UTC)", NONNEG),
    F("route", "string", "Route of the request; the Kafka key", rng=ID),
    F("arm", "string", "Arm that served the request", rng=ID),
    F("status", enum("ResponseStatus", STATUS5, "How the request ended"), "How the request ended", rng="ok|error|timeout|rate_limited|filtered"),
    F("http_status", "int", "HTTP status returned by the provider", rng="100..599", opt=True),
    F("error_type", "string", "Provider or gateway error class when status != ok", opt=True),
    F("latency_ms", "double", "End-to-end latency seen by the gateway", "ms", NONNEG),
    F("ttft_ms", "double", "Time to first token (streaming only)", "ms", NONNEG, opt=True),
    F("input_tokens", "long", "Prompt tokens billed", "tokens", NONNEG),
    F("output_tokens", "long", "Completion tokens billed", "tokens", NONNEG),
    F("cost_usd", "double", "Cost of the request", "USD", NONNEG),
    F("quality", "double", "Automatic quality score of the answer (evaluator)", "score", P01, opt=True),
    F("cache_hit", "boolean", "True when the gateway answered from its response cache", rng="true|false"),
    F("batch_size", "int", "Number of requests in the provider batch that carried this one", "requests", ">= 1", opt=True),
    F("provider", "string", "Provider that served the request (per-provider rate-limit counts)", opt=True),
])

FEEDBACK = record("Feedback", "Late feedback on a request from the application (topic llm.feedback, key route)", [
    F("request_id", "string", "Id of the Request the feedback is about", rng=ID),
    F("ts_ms", "long", "Event time the feedback was given", "ms since Unix epoch (UTC)", NONNEG),
    F("route", "string", "Route of the request; the Kafka key", rng=ID),
    F("rating", "double", "User rating", "score", P01, opt=True),
    F("thumbs", "int", "Thumbs down / none / up", rng="-1, 0, 1", opt=True),
    F("task_completed", "boolean", "Whether the user completed the task", rng="true|false", opt=True),
])

OUTCOME = record("Outcome", "Request joined with its Response (and Feedback) and scored by the processor (topic llm.outcomes, key route)", [
    F("outcome_id", "string", "Deterministic id: request_id, plus ':u<n>' for the n-th reward update", rng=ID),
    F("request_id", "string", "Id of the joined Request", rng=ID),
    F("route", "string", "Route; the Kafka key", rng=ID),
    F("arm", "string", "Arm chosen for the request", rng=ID),
    F("provider", "string", "Provider of the arm"),
    F("model", "string", "Model of the arm"),
    F("tenant", "string", "Tenant of the request", opt=True),
    F("user", "string", "User of the request", opt=True),
    F("task_type", "string", "Task category of the request"),
    F("ts_ms", "long", "Event time of the Request", "ms since Unix epoch (UTC)", NONNEG),
    F("response_ts_ms", "long", "Event time of the Response; null when status is missing", "ms since Unix epoch (UTC)", NONNEG, opt=True),
    F("status", enum("OutcomeStatus", STATUS5 + ["missing"], "Response status, or missing when no response arrived before the join timed out"),
      "Response status, or missing when no response arrived in time", rng="ok|error|timeout|rate_limited|filtered|missing"),
    F("latency_ms", "double", "Latency from the Response", "ms", NONNEG, opt=True),
    F("ttft_ms", "double", "Time to first token from the Response", "ms", NONNEG, opt=True),
    F("input_tokens", "long", "Prompt tokens (Response; else the Request estimate)", "tokens", NONNEG),
    F("output_tokens", "long", "Completion tokens (0 when missing)", "tokens", NONNEG),
    F("cost_usd", "double", "Cost (0 when missing)", "USD", NONNEG),
    F("quality", "double", "Automatic quality score from the Response", "score", P01, opt=True),
    F("cache_hit", "boolean", "Served from the gateway cache", rng="true|false"),
    F("context", MAPD, "Context features of the Request (empty map when none)", "per feature", "finite doubles"),
    F("propensity", "double", "Propensity of the chosen arm from the Request", "probability", "(0, 1]"),
    F("decision_version", "long", "RoutingDecision version that chose the arm", rng=NONNEG),
    F("experiment_id", "string", "Experiment of the Request", opt=True),
    F("variant", "string", "Experiment variant of the Request", opt=True),
    F("reward_quality", "double", "Quality component of the reward, normalised (higher is better)", "score", P01),
    F("reward_cost", "double", "Cost component of the reward, normalised (1 = free, 0 = at or above the cost cap)", "score", P01),
    F("reward_latency", "double", "Latency component of the reward, normalised (1 = instant, 0 = at or above the latency cap)", "score", P01),
    F("reward", "double", "Weighted sum of the components (weights sum to 1)", "score", P01),
    F("rating", "double", "Feedback rating", "score", P01, opt=True),
    F("thumbs", "int", "Feedback thumbs", rng="-1, 0, 1", opt=True),
    F("task_completed", "boolean", "Feedback task completion", rng="true|false", opt=True),
    F("feedback_ts_ms", "long", "Event time of the Feedback folded in", "ms since Unix epoch (UTC)", NONNEG, opt=True),
    F("is_update", "boolean", "True when this Outcome revises an earlier one after Feedback", rng="true|false"),
])

WINDOW = record("WindowMetrics", "Aggregates of one (route, arm, window), emitted once when the window closes (topic llm.metrics, key route)", [
    F("metrics_id", "string", "Deterministic id '<route>|<arm>|<window_kind>|<size_ms>|<window_start_ms>'", rng=ID),
    F("route", "string", "Route; the Kafka key", rng=ID),
    F("arm", "string", "Arm", rng=ID),
    F("window_start_ms", "long", "Window start, inclusive (event time)", "ms since Unix epoch (UTC)", NONNEG),
    F("window_end_ms", "long", "Window end, exclusive (event time)", "ms since Unix epoch (UTC)", "> window_start_ms"),
    F("window_kind", enum("WindowKind", ["tumbling", "hopping"], "Window assignment"), "Window assignment", rng="tumbling|hopping"),
    F("size_ms", "long", "Window length", "ms", "> 0"),
    F("advance_ms", "long", "Hop between window starts (== size_ms when tumbling)", "ms", "1..size_ms"),
    F("count", "long", "Outcomes in the window", "events", NONNEG),
    F("ok_count", "long", "Outcomes with status ok", "events", NONNEG),
    F("error_count", "long", "Outcomes with status error", "events", NONNEG),
    F("timeout_count", "long", "Outcomes with status timeout", "events", NONNEG),
    F("rate_limited_count", "long", "Outcomes with status rate_limited", "events", NONNEG),
    F("filtered_count", "long", "Outcomes with status filtered", "events", NONNEG),
    F("error_rate", "double", "(count - ok_count) / count; 0 when count is 0", "fraction", P01),
    F("latency_p50_ms", "double", "Median latency (from latency_digest)", "ms", NONNEG, opt=True),
    F("latency_p90_ms", "double", "90th percentile latency", "ms", NONNEG, opt=True),
    F("latency_p95_ms", "double", "95th percentile latency", "ms", NONNEG, opt=True),
    F("latency_p99_ms", "double", "99th percentile latency", "ms", NONNEG, opt=True),
    F("latency_digest", "string", "Latency t-digest in the text format of the Postgres tdigest extension: 'flags 1 count N compression C centroids K (mean, count) ...', castable with ::tdigest", "ms (centroid means)", "tdigest text"),
    F("ttft_p50_ms", "double", "Median time to first token", "ms", NONNEG, opt=True),
    F("ttft_p90_ms", "double", "90th percentile time to first token", "ms", NONNEG, opt=True),
    F("ttft_p95_ms", "double", "95th percentile time to first token", "ms", NONNEG, opt=True),
    F("ttft_p99_ms", "double", "99th percentile time to first token", "ms", NONNEG, opt=True),
    F("ttft_digest", "string", "Time-to-first-token t-digest, same text format as latency_digest", "ms (centroid means)", "tdigest text", opt=True),
    F("input_tokens", "long", "Sum of input tokens", "tokens", NONNEG),
    F("output_tokens", "long", "Sum of output tokens", "tokens", NONNEG),
    F("cost_usd", "double", "Sum of cost", "USD", NONNEG),
    F("cost_per_request", "double", "cost_usd / count; 0 when count is 0", "USD", NONNEG),
    F("quality_count", "long", "Outcomes carrying a quality score", "events", NONNEG),
    F("quality_mean", "double", "Mean quality", "score", P01, opt=True),
    F("quality_variance", "double", "Sample variance of quality (n-1)", "score^2", "0..0.25", opt=True),
    F("reward_count", "long", "Outcomes with a reward", "events", NONNEG),
    F("reward_mean", "double", "Mean reward", "score", P01, opt=True),
    F("reward_variance", "double", "Sample variance of reward (n-1)", "score^2", "0..0.25", opt=True),
    F("cache_hits", "long", "Outcomes served from the cache", "events", NONNEG),
    F("cache_hit_quality_mean", "double", "Mean quality of cache hits", "score", P01, opt=True),
    F("cache_miss_quality_mean", "double", "Mean quality of cache misses", "score", P01, opt=True),
    F("late_count", "long", "Events that arrived after the window closed (sent to llm.dlq)", "events", NONNEG),
    F("batch_size_mean", "double", "Mean provider batch size", "requests", ">= 1", opt=True),
])

SIGNAL = record("Signal", "A drift or anomaly detected on one (route, arm, metric) (topic llm.signals, key route)", [
    F("signal_id", "string", "Deterministic id '<route>|<arm>|<detector>|<metric>|<sample_index>'", rng=ID),
    F("ts_ms", "long", "Event time of the sample that raised the signal", "ms since Unix epoch (UTC)", NONNEG),
    F("route", "string", "Route; the Kafka key", rng=ID),
    F("arm", "string", "Arm", rng=ID),
    F("kind", enum("SignalKind", ["drift", "anomaly"], "drift: per-event change detector; anomaly: window aggregate vs rolling baseline"), "drift (per-event detectors) or anomaly (window aggregates)", rng="drift|anomaly"),
    F("detector", enum("Detector", ["adwin", "page_hinkley", "cusum", "zscore", "iqr", "mad"], "Detector that fired"), "Detector that fired", rng="adwin|page_hinkley|cusum|zscore|iqr|mad"),
    F("metric", "string", "Metric watched: latency_ms, error, quality, cost_usd, reward, p95_latency_ms, error_rate, cost_per_request, ...", rng="metric name"),
    F("direction", enum("Direction", ["up", "down"], "Direction of the change"), "Direction of the change", rng="up|down"),
    F("magnitude", "double", "|after - before|", "unit of metric", NONNEG),
    F("before", "double", "Metric level before the change (mean of the old window or baseline)", "unit of metric", "finite"),
    F("after", "double", "Metric level after the change (new window mean or anomalous value)", "unit of metric", "finite"),
    F("sample_index", "long", "Index of the triggering sample in the detector's stream (events for drift, windows for anomaly)", "samples", NONNEG),
    F("severity", "double", "How far past its threshold the detector is: statistic / threshold - 1, clamped", "ratio", "0..100"),
    F("window_end_ms", "long", "End of the window whose aggregate was anomalous", "ms since Unix epoch (UTC)", NONNEG, opt=True),
])

BUCKET = {"type": "record", "name": "TokenBucket", "doc": "Token-bucket limits", "fields": [
    F("requests_per_s", "double", "Sustained request rate", "requests/s", NONNEG),
    F("requests_burst", "double", "Request bucket size", "requests", NONNEG),
    F("tokens_per_min", "double", "Sustained token rate (input + output)", "tokens/min", NONNEG),
    F("tokens_burst", "double", "Token bucket size", "tokens", NONNEG),
]}
ARM = {"type": "record", "name": "Arm", "doc": "One routable option: model + parameters + prompt template", "fields": [
    F("arm_id", "string", "Arm id, unique within the route", rng=ID),
    F("provider", "string", "Provider"),
    F("model", "string", "Model name at the provider"),
    F("params", MAPD, "Generation parameters: temperature, top_p, max_tokens, ...", "per parameter", "finite"),
    F("prompt_template_id", "string", "Prompt template to render", opt=True),
    F("weight", "double", "Probability of choosing this arm (weights of active arms sum to 1)", "probability", P01),
    F("state", enum("ArmState", ["active", "disabled", "cooldown", "canary"], "Arm lifecycle state"), "Arm lifecycle state", rng="active|disabled|cooldown|canary"),
    F("cooldown_until_ms", "long", "When a cooldown ends", "ms since Unix epoch (UTC)", NONNEG, opt=True),
]}
LINARM = {"type": "record", "name": "ArmLinearModel", "doc": "Per-arm linear model", "fields": [
    F("arm_id", "string", "Arm id", rng=ID),
    F("theta", ARRD, "Estimated coefficients, one per feature", "reward per feature unit", "dimension values"),
    F("a_inv", ARRD, "Inverse design matrix A^-1, row-major", "-", "dimension*dimension values"),
]}
CONTEXTUAL = {"type": "record", "name": "ContextualModel", "doc": "LinUCB / linear Thompson parameters", "fields": [
    F("feature_names", ARRS, "Feature names, in coefficient order (Request.context keys)", rng="dimension names"),
    F("dimension", "int", "Number of features", "features", ">= 1"),
    F("alpha", "double", "Exploration parameter (UCB width or posterior scale)", "-", NONNEG),
    F("arms", {"type": "array", "items": LINARM}, "One model per arm"),
]}
RATELIM = {"type": "record", "name": "RateLimits", "doc": "Rate limits applied by gateways", "fields": [
    F("global", BUCKET, "Limit for the whole route", opt=True),
    F("per_tenant", "TokenBucket", "Limit applied to each tenant", opt=True),
    F("per_user", "TokenBucket", "Limit applied to each user", opt=True),
    F("priority_weights", MAPD, "Share of capacity per priority class (class -> weight)", "weight", NONNEG),
    F("on_limit", enum("OnLimit", ["deny", "queue", "degrade"], "What a gateway does over the limit"), "What a gateway does over the limit", rng="deny|queue|degrade"),
    F("retry_after_ms", "long", "Retry-After advertised on deny", "ms", NONNEG),
    F("queue_timeout_ms", "long", "Longest wait in the queue before deny", "ms", NONNEG),
]}
CACHE = {"type": "record", "name": "CachePolicy", "doc": "Response cache policy", "fields": [
    F("enabled", "boolean", "Cache on", rng="true|false"),
    F("ttl_ms", "long", "Entry lifetime", "ms", NONNEG),
    F("max_entries", "long", "Capacity", "entries", NONNEG),
    F("exclude_patterns", ARRS, "Glob patterns of task types never cached", rng="glob"),
]}
BATCH = {"type": "record", "name": "Batching", "doc": "Request batching policy", "fields": [
    F("enabled", "boolean", "Batching on", rng="true|false"),
    F("max_batch", "int", "Most requests per batch", "requests", ">= 1"),
    F("max_wait_ms", "long", "Longest a request waits for its batch", "ms", NONNEG),
    F("token_budget", "long", "Most tokens per batch", "tokens", NONNEG),
]}

ROUTING = record("RoutingDecision", "The routing policy of one route (topic llm.routing, compacted, key route)", [
    F("route", "string", "Route; the Kafka key", rng=ID),
    F("version", "long", "Decision version, strictly increasing per route", rng=">= 1"),
    F("ts_ms", "long", "When the controller made the decision", "ms since Unix epoch (UTC)", NONNEG),
    F("algorithm", "string", "Policy that produced the weights (thompson, ucb1, linucb, epsilon_greedy, static, ...)"),
    F("arms", {"type": "array", "items": ARM}, "Arms of the route", rng=">= 1 arm"),
    F("default_arm", "string", "Arm used when no other applies (must be in arms)", rng=ID),
    F("reason", "string", "Why this version was made (human readable)"),
    F("signal_ids", ARRS, "Signals that triggered this version", rng="Signal.signal_id values"),
    F("contextual", CONTEXTUAL, "Linear contextual-bandit parameters", opt=True),
    F("rate_limits", RATELIM, "Rate limits", opt=True),
    F("cache_policy", CACHE, "Cache policy", opt=True),
    F("batching", BATCH, "Batching policy", opt=True),
    F("experiment_id", "string", "Experiment this decision runs", opt=True),
    F("heartbeat", "boolean", "True for a periodic re-publication with unchanged content", rng="true|false"),
])

INTRO = """# llmopt Avro schemas (namespace io.llmopt)

GENERATED by tests/tools/gen_codec_schemas.py from one field table: edit the
script, not this file or the .avsc files, then rerun it and the codec tests.

- Wire format: Confluent framing: magic byte 0, 4-byte big-endian schema id,
  then the Avro binary body. `registry.json` maps the local schema ids to
  subjects (`<topic>-value`), record names and files:
  `{"schemas":[{"id":1,"subject":"llm.requests-value","record":"Request","file":"request.avsc"}, ...]}`.
- Optional fields are `["null", T]` with default null. Timestamps are event
  times in ms since the Unix epoch (UTC). Money is USD as double.
- JSON messages use the same field names (see the JSON codec for its rules).
- Evolution: new fields are appended as optional (default null); enum symbols
  are appended only; nested records (Arm, RateLimits, ...) change only by a
  new top-level optional field. Writers use a registered schema. The C codec
  (common/avro_codec.h) reads a writer schema identical in Parsing Canonical
  Form to these with its fast decoder. Another version of the same record
  is read field by field (by name, top level): unknown writer fields are
  skipped, optional fields the writer lacks stay null, enums may have
  appended symbols; nearly as fast. Anything else (a changed field type, a
  missing required field, a changed nested record) fails with
  `unsupported_writer_schema`, a DLQ reason. So either deployment order
  works for the rules above.
- Each field's doc in the .avsc repeats the unit, range and presence below.
"""

RECORDS = [("request", REQUEST), ("response", RESPONSE), ("feedback", FEEDBACK), ("outcome", OUTCOME),
           ("window_metrics", WINDOW), ("signal", SIGNAL), ("routing_decision", ROUTING)]
SUBJECTS = {"request": "llm.requests", "response": "llm.responses", "feedback": "llm.feedback",
            "outcome": "llm.outcomes", "window_metrics": "llm.metrics", "signal": "llm.signals",
            "routing_decision": "llm.routing"}


def readme_rows(rec, out, prefix=""):
    for f in rec["fields"]:
        out.append("| %s%s | %s | %s | %s | %s | %s |" % (
            prefix, f["name"], label(f["typ"]) if not isinstance(f["typ"], str) or f["typ"] in
            ("string", "long", "int", "double", "boolean") else "record " + f["typ"],
            f["unit"], f["rng"], "optional" if f["opt"] else "required", f["doc"]))


C_TYPES = ["LLMOPT_REC_REQUEST", "LLMOPT_REC_RESPONSE", "LLMOPT_REC_FEEDBACK", "LLMOPT_REC_OUTCOME",
           "LLMOPT_REC_WINDOW_METRICS", "LLMOPT_REC_SIGNAL", "LLMOPT_REC_ROUTING_DECISION"]


def write_pcf_c(path):
    """The reader schemas compiled into the C codec, in Parsing Canonical Form
    (computed by fastavro, an independent implementation)."""
    from fastavro.schema import to_parsing_canonical_form
    out = ["/* avro_schemas.c - GENERATED by tests/tools/gen_codec_schemas.py: do not edit.",
           " * Parsing Canonical Form of each schema in schemas/, the reader schemas of",
           " * the C codec (common/avro_codec.h). */",
           '#include "common/avro_codec.h"', "",
           "const char *const llmopt_avro_schema_pcf[LLMOPT_REC_COUNT] = {"]
    for ctype, (_, rec) in zip(C_TYPES, RECORDS):
        pcf = to_parsing_canonical_form(to_avro(rec, set()))
        out.append("    [%s] =" % ctype)
        for i in range(0, len(pcf), 70):
            out.append("        %s" % json.dumps(pcf[i:i + 70]))
        out[-1] += ","
    out.append("};")
    with open(path, "w") as fh:
        fh.write("\n".join(out) + "\n")


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas")
    reg = {"schemas": []}
    md = [INTRO, ""]
    for i, (fname, rec) in enumerate(RECORDS, start=1):
        schema = to_avro(rec, set())
        with open(os.path.join(root, fname + ".avsc"), "w") as fh:
            json.dump(schema, fh, indent=2)
            fh.write("\n")
        reg["schemas"].append({"id": i, "subject": SUBJECTS[fname] + "-value", "record": rec["name"],
                               "file": fname + ".avsc"})
        md += ["## %s (`%s.avsc`, schema id %d)" % (rec["name"], fname, i), "", rec["doc"] + ".", "",
               "| field | type | unit | range | presence | meaning |", "|---|---|---|---|---|---|"]
        readme_rows(rec, md)
        md.append("")
        subs = []

        def walk(t):
            if isinstance(t, dict):
                if "fields" in t and t["name"] not in [s["name"] for s in subs]:
                    subs.append(t)
                    for f in t["fields"]:
                        walk(f["typ"])
                for k in ("items", "values"):
                    if k in t:
                        walk(t[k])
        for f in rec["fields"]:
            walk(f["typ"])
        for s in subs:
            md += ["### %s.%s" % (rec["name"], s["name"]), "", s["doc"] + ".", "",
                   "| field | type | unit | range | presence | meaning |", "|---|---|---|---|---|---|"]
            readme_rows(s, md)
            md.append("")
    write_pcf_c(os.path.join(root, "..", "common", "avro_schemas.c"))
    with open(os.path.join(root, "registry.json"), "w") as fh:
        json.dump(reg, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(root, "README.md"), "w") as fh:
        fh.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
