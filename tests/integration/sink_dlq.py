#!/usr/bin/env python3
"""`llmopt sink` dead letters (integration, real Kafka + Postgres).

One batch of outcomes and window metrics holds three rows Postgres refuses
(CHECK constraints: negative latency, negative cost, advance_ms > size_ms), one
the sink refuses itself (a NUL byte in a string) and one undecodable message.
Expected: every other row of the batch lands; the five messages are in the
DLQ exactly once each, with their original bytes, reason (rejected + SQLSTATE
23514, bad_value, decode) and source topic/partition/offset; the stored
offsets reach the end of every partition. The sink's /metrics (http.port)
counts the same: dead letters per reason, messages in and rows stored per
table, committed batches, Postgres errors by class, lag 0 at the end; /healthz
and /readyz answer 200.

usage: sink_dlq.py --llmopt build/tools/llmopt
"""
import argparse
import os
import re
import time
import urllib.request

import sink_common as sc

FORMATS = {"metrics": "avro", "signals": "json", "routing": "json", "outcomes": "avro"}


def scrape(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        return r.status, r.read().decode()


def metric(text, name, labels=""):
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else None


def check_metrics(port, sent):
    for path, body in (("/healthz", "ok"), ("/readyz", "ready")):
        st, text = scrape(port, path)
        if st != 200 or body not in text:
            sc.fail("%s answered %s %r" % (path, st, text))
    want = {}
    for table, _, reason in sent:
        if reason:
            want[("llmopt_sink_dlq_total", '{reason="%s"}' % reason)] = \
                want.get(("llmopt_sink_dlq_total", '{reason="%s"}' % reason), 0) + 1
    tables = {"outcomes": "outcomes", "metrics": "window_metrics", "routing": "routing_decisions"}
    for t, tbl in tables.items():
        n_in = sum(1 for table, _, _ in sent if table == t)
        n_out = sum(1 for table, _, r in sent if table == t and r is None)
        want[("llmopt_sink_messages_in_total", '{table="%s"}' % tbl)] = n_in
        want[("llmopt_sink_rows_out_total", '{table="%s"}' % tbl)] = n_out
        want[("llmopt_sink_consumer_lag", '{table="%s"}' % tbl)] = 0
    deadline = time.time() + 10
    while True:
        _, text = scrape(port, "/metrics")
        got = {k: metric(text, *k) for k in want}
        if got == want or time.time() > deadline:
            break
        time.sleep(0.5)  # the gauges refresh once a second
    if got != want:
        sc.fail("metrics %s, want %s" % (
            {k: v for k, v in got.items() if want[k] != v}, {k: v for k, v in want.items() if got[k] != v}))
    batches = metric(text, "llmopt_sink_batches_total")
    constraint = metric(text, "llmopt_sink_pg_errors_total", '{class="constraint"}')
    if not batches or not constraint:
        sc.fail("batches_total %s, pg_errors_total{class=constraint} %s: want both > 0" % (
            batches, constraint))
    sc.log("metrics: %d series checked, %d batches, %d constraint errors" % (
        len(want), batches, constraint))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmopt", required=True)
    args = ap.parse_args()
    llmopt = os.path.abspath(args.llmopt)
    db = sc.ScratchDb(llmopt, "sinkdlq")
    topics = sc.Topics("dlq")
    sink = None
    try:
        t0 = int(time.time() * 1000) - 3600000
        sent = []  # (table, record or bytes, expected reason or None)
        for i in range(200):
            o = sc.outcome("r%d" % i, "chat", "a%d" % (i % 3), t0 + i * 1000)
            reason = None
            if i == 17:
                o["latency_ms"] = -5.0
                reason = "rejected"
            elif i == 90:
                o["cost_usd"] = -1.0
                reason = "rejected"
            elif i == 150:
                o["tenant"] = "bad\u0000tenant"
                reason = "bad_value"
            sent.append(("outcomes", o, reason))
        for i in range(20):
            m = sc.metrics("chat", "a%d" % (i % 3), t0 + i * 60000, 60000, [10.0, 20.0])
            reason = None
            if i == 5:
                m["advance_ms"] = 120000
                reason = "rejected"
            sent.append(("metrics", m, reason))
        sent.append(("routing", b"{not json", "decode"))
        sent.append(("routing", sc.decision("chat", 1, t0, {"a0": 0.5, "a1": 0.5}), None))

        p = sc.producer()
        meta = {}

        def cb(err, msg, idx):
            if err:
                sc.fail("produce: %s" % err)
            meta[idx] = (msg.partition(), msg.offset())

        values = []
        for idx, (table, rec, _) in enumerate(sent):
            v = rec if isinstance(rec, bytes) else sc.encode(sc.RECORD[table], rec, FORMATS[table])
            values.append(v)
            p.produce(topics.names[table], key=b"chat", value=v,
                      on_delivery=lambda e, m, i=idx: cb(e, m, i))
        p.flush(30)

        port = sc.free_port()
        sink = sc.Sink(llmopt, db.dsn, topics, "dlqtest", FORMATS,
                       extra=["-X", "sink.batch.rows=100000", "-X", "sink.batch.age=1s",
                              "-X", "http.port=%d" % port])
        sink.start()
        sc.wait_offsets(db.connect, "dlqtest", topics, sc.TABLES, 120, sink)
        check_metrics(port, sent)
        if sink.stop() != 0:
            sc.fail("sink exit code")

        with db.connect() as c:
            got_o = {r[0] for r in c.execute("SELECT outcome_id FROM llmopt.outcomes")}
            got_m = {r[0] for r in c.execute("SELECT metrics_id FROM llmopt.window_metrics")}
            n_r = c.execute("SELECT count(*) FROM llmopt.routing_decisions").fetchone()[0]
        want_o = {rec["outcome_id"] for t, rec, r in sent if t == "outcomes" and r is None}
        want_m = {rec["metrics_id"] for t, rec, r in sent if t == "metrics" and r is None}
        if got_o != want_o:
            sc.fail("outcomes: missing %s, unexpected %s" % (want_o - got_o, got_o - want_o))
        if got_m != want_m:
            sc.fail("metrics: missing %s, unexpected %s" % (want_m - got_m, got_m - want_m))
        if n_r != 1:
            sc.fail("routing_decisions: %d rows, want 1" % n_r)
        sc.log("rest of the batch landed: %d outcomes, %d metrics" % (len(got_o), len(got_m)))

        dlq = topics.read_all("dlq")
        want = {}
        for idx, (table, rec, reason) in enumerate(sent):
            if reason:
                part, off = meta[idx]
                want[(topics.names[table], part, off)] = (reason, values[idx])
        got = {}
        for _, _, key, value, h in dlq:
            src = (h["source_topic"].decode(), int(h["source_partition"]), int(h["source_offset"]))
            if src in got:
                sc.fail("dead letter for %s twice" % (src,))
            got[src] = (h["reason"].decode(), value)
            if key != b"chat":
                sc.fail("dead letter lost its key: %r" % key)
            if h["reason"] == b"rejected" and h.get("sqlstate") != b"23514":
                sc.fail("rejected row with sqlstate %r, want 23514" % h.get("sqlstate"))
            if not h.get("detail"):
                sc.fail("dead letter without detail")
        if got != want:
            sc.fail("dead letters %s, want %s" % (
                sorted((k, v[0]) for k, v in got.items()), sorted((k, v[0]) for k, v in want.items())))
        sc.log("dlq: %s" % sorted(v[0] for v in got.values()))
        sc.log("PASSED")
    finally:
        if sink and sink.alive():
            sink.kill9()
        topics.delete()
        db.drop()


if __name__ == "__main__":
    main()
