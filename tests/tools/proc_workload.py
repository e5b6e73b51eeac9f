"""Workload with known ground truth for the llmopt-processor integration tests.

gen(n_requests, seed) builds the input of three co-partitioned topics
(requests, responses, feedback; route i -> partition i) plus one of each bad
input class, and truth(...) computes, independently of the C code, what the
processor must emit: the closed windows with exact counts and sums and the
exact latency samples (for percentile checks), the outcome counts, and where
the injected latency shift starts.

Semantics mirrored here (docs/PROCESSOR.md): event time is ts_ms; watermark =
max accepted ts of the partition - ooo; a window [s, s+size) closes when the
watermark >= s+size (grace 0); windows start at multiples of the advance.
"""
import random

T0 = 1_764_000_000_000 - (1_764_000_000_000 % 3_600_000)  # hour-aligned
ROUTES = ["chat", "search", "code"]
ARMS = ["a0", "a1", "a2"]
SPAN_MS = 40 * 60 * 1000
OOO_MS = 5000
JOIN_WINDOW_MS = 10 * 60 * 1000
WINDOWS = [(60000, 60000), (300000, 60000)]
SHIFT_ARM = ("code", "a1")
STATUSES = ["ok", "error", "timeout", "rate_limited", "filtered"]


def base_latency(route, arm):
    return 100.0 + 60.0 * ROUTES.index(route) + 40.0 * ARMS.index(arm)


def gen(n_requests, seed, shift=True):
    """Returns (events, bad, shift_ts): events is a list of dicts
    {topic: 'requests'|'responses'|'feedback', partition, ts, rec}; bad is a
    list of {topic, partition, reason, value(bytes or rec), fmt}."""
    rng = random.Random(seed)
    dt = SPAN_MS / n_requests
    shift_ts = T0 + SPAN_MS // 2 if shift else None
    reqs, resps, fbs = [], [], []
    for i in range(n_requests):
        ts = T0 + int(i * dt)
        ri = rng.randrange(3)
        route, arm = ROUTES[ri], ARMS[rng.randrange(3)]
        rid = "r%07d" % i
        reqs.append({"request_id": rid, "ts_ms": ts, "gateway": "gw1", "route": route,
                     "tenant": "t%d" % rng.randrange(4), "user": None, "task_type": "qa",
                     "arm": arm, "provider": "p", "model": "m-" + arm,
                     "decision_version": 1, "propensity": 1.0 / 3,
                     "experiment_id": None, "variant": None,
                     "input_tokens_est": 100, "context": None, "prompt_hash": None})
        if rng.random() < 0.005:
            continue  # no response: becomes a `missing` outcome
        u = rng.random()
        status = "ok" if u < 0.95 else "error" if u < 0.98 else "timeout" if u < 0.99 else "rate_limited"
        mu = base_latency(route, arm)
        if shift and (route, arm) == SHIFT_ARM and ts >= shift_ts:
            mu *= 2.0
        lat = round(max(1.0, rng.gauss(mu, mu * 0.1)), 3)
        rts = ts + int(lat)
        itok, otok = rng.randrange(50, 500), rng.randrange(10, 800)
        cost = round((itok * 1e-6 + otok * 3e-6), 9)
        ok = status == "ok"
        resps.append({"request_id": rid, "ts_ms": rts, "route": route, "arm": arm,
                      "status": status, "http_status": 200 if ok else 500,
                      "error_type": None if ok else "upstream", "latency_ms": lat,
                      "ttft_ms": round(lat * 0.3, 3) if ok else None,
                      "input_tokens": itok, "output_tokens": otok if ok else 0,
                      "cost_usd": cost if ok else 0.0,
                      "quality": round(rng.random(), 4) if ok and rng.random() < 0.5 else None,
                      "cache_hit": rng.random() < 0.1, "batch_size": None, "provider": "p"})
        if ok and rng.random() < 0.2:
            fbs.append({"request_id": rid, "ts_ms": rts + rng.randrange(1000, 60000), "route": route,
                        "rating": round(rng.random(), 3), "thumbs": rng.choice([-1, 0, 1]),
                        "task_completed": rng.random() < 0.7})
    events = []
    for topic, recs in (("requests", reqs), ("responses", resps), ("feedback", fbs)):
        for r in sorted(recs, key=lambda x: x["ts_ms"]):  # stable: each topic in ts order
            events.append({"topic": topic, "partition": ROUTES.index(r["route"]),
                           "ts": r["ts_ms"], "rec": r})
    # one of each bad input class, all on partition 0 (route chat)
    mid = T0 + SPAN_MS // 3
    chat_reqs = [r for r in reqs if r["route"] == "chat"]
    good_req = dict(chat_reqs[0])
    # the duplicate: a request still held (pending or awaiting feedback)
    dup = dict([r for r in chat_reqs if r["ts_ms"] < mid - 2000][-1], ts_ms=mid)
    chat_resp = [r for r in resps if r["route"] == "chat"][0]
    bad = [
        {"topic": "requests", "reason": "decode", "raw": b"\x07not avro at all", "ts": mid},
        {"topic": "feedback", "reason": "decode", "raw": b"{\"request_id\": ", "ts": mid},
        {"topic": "requests", "reason": "missing_field",
         "rec": dict(good_req, request_id="bad-mf", ts_ms=mid, arm=""), "ts": mid},
        {"topic": "responses", "reason": "bad_value",
         "rec": dict(chat_resp, request_id="bad-bv", ts_ms=mid, latency_ms=-5.0), "ts": mid},
        {"topic": "requests", "reason": "bad_timestamp",
         "rec": dict(good_req, request_id="bad-ts", ts_ms=mid + 3 * 3600 * 1000), "ts": mid},
        {"topic": "requests", "reason": "duplicate",
         "rec": dup, "ts": mid},
        {"topic": "responses", "reason": "late",
         "rec": dict(chat_resp, request_id="bad-late", ts_ms=mid - 15 * 60 * 1000), "ts": mid},
        {"topic": "feedback", "reason": "unmatched",
         "rec": {"request_id": "bad-unknown", "ts_ms": mid, "route": "chat", "rating": 0.5,
                 "thumbs": None, "task_completed": None}, "ts": mid},
    ]
    for b in bad:
        b["partition"] = 0
    return events, bad, shift_ts


def order_for_produce(events, bad):
    """Per (topic, partition) production order: events in ts order, each bad
    record placed right after the last event with ts <= its `ts`."""
    out = []
    for e in events:
        out.append(("ev", e))
    for b in bad:
        out.append(("bad", b))
    def key(x):
        kind, e = x
        return (e["ts"], 1 if kind == "bad" else 0)
    return sorted(out, key=key)


def truth(events, shift_ts):
    """Expected closed windows, outcome counts and shift facts from the good
    events alone (the bad ones never move time nor count)."""
    wm = {}
    for e in events:
        p = e["partition"]
        wm[p] = max(wm.get(p, -1), e["ts"])
    wm = {p: t - OOO_MS for p, t in wm.items()}
    win = {}
    for e in events:
        if e["topic"] != "responses":
            continue
        r = e["rec"]
        ts = r["ts_ms"]
        for size, adv in WINDOWS:
            s = (ts // adv) * adv
            while s + size > ts:
                if s + size <= wm[e["partition"]]:
                    k = (r["route"], r["arm"], s, size)
                    w = win.setdefault(k, {"count": 0, "st": [0] * 5, "in": 0, "out": 0,
                                           "cost": 0.0, "lat": [], "n_quality": 0})
                    w["count"] += 1
                    w["st"][STATUSES.index(r["status"])] += 1
                    w["in"] += r["input_tokens"]
                    w["out"] += r["output_tokens"]
                    w["cost"] += r["cost_usd"]
                    w["lat"].append(r["latency_ms"])
                    w["n_quality"] += r["quality"] is not None
                s -= adv
    resp_ids = {e["rec"]["request_id"] for e in events if e["topic"] == "responses"}
    n_pairs = len(resp_ids)
    missing = sum(1 for e in events if e["topic"] == "requests"
                  and e["rec"]["request_id"] not in resp_ids
                  and e["ts"] + JOIN_WINDOW_MS <= wm[e["partition"]])
    n_feedback = sum(1 for e in events if e["topic"] == "feedback")
    shift_samples = []
    if shift_ts is not None:
        shift_samples = sorted(e["rec"]["ts_ms"] for e in events
                               if e["topic"] == "responses" and e["rec"]["status"] == "ok"
                               and (e["rec"]["route"], e["rec"]["arm"]) == SHIFT_ARM)
    return {"windows": win, "pairs": n_pairs, "missing": missing, "updates": n_feedback,
            "shift_samples": shift_samples}
