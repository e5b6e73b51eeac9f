#!/usr/bin/env python3
"""interop.py - codec interop test on the real broker (label integration).

A third-party client (confluent-kafka + fastavro) and the C codecs must agree
on both wire formats, in both directions:

  1. generate Request/Response/Feedback records from a seeded RNG with varied
     optional fields and edge values; write them to expected.jsonl;
  2. Python produces them as Avro (Confluent framing, ids from
     schemas/registry.json, fastavro) and as JSON to two fresh topics;
     `interop_c consume` decodes every message with the C codecs and checks
     every field against expected.jsonl;
  3. `interop_c produce` encodes the same records with the C encoders to two
     other fresh topics; Python consumes, decodes with fastavro / json and
     checks every field (doubles bit for bit).

Topics are unique per run, created and deleted with the admin API.
Usage: interop.py --c-binary PATH [--count N] [--seed S] [--keep]
Environment: LLMOPT_BOOTSTRAP (default 127.0.0.1:19092).
"""
import argparse
import io
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import uuid

import fastavro
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HDR = "llmopt-record"


def load_registry():
    path = os.path.join(ROOT, "schemas", "registry.json")
    reg = json.load(open(path))
    by_record, by_id = {}, {}
    for e in reg["schemas"]:
        schema = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", e["file"]))))
        by_record[e["record"]] = (e["id"], schema)
        by_id[e["id"]] = (e["record"], schema)
    return path, by_record, by_id


def opt(rng, p, value):
    return value if rng.random() < p else None


STRINGS = ["chat", "summarise", "code/py", "ünïcödé-€", "emoji-😀", "quote\"back\\slash",
           "tab\tnew\nline", "nul\u0000inside", ""]


def rand_double(rng):
    r = rng.random()
    if r < 0.05:
        return -0.0
    if r < 0.1:
        return 5e-324
    if r < 0.15:
        return 1.7976931348623157e308
    if r < 0.2:
        return float(rng.randint(0, 1000))
    return rng.uniform(-1e6, 1e6) * rng.choice([1, 1e-9, 1e9])


def rand_long(rng):
    return rng.choice([0, 1, -1, 2**63 - 1, -2**63, 2**53 + 1, rng.randint(-2**63, 2**63 - 1)])


def gen(count, seed, run):
    rng = random.Random(seed)
    out = []
    for i in range(count):
        rid = "req-%s-%d%s" % (run, i, rng.choice(["", "-é", "-😀"]))
        route = rng.choice(STRINGS[:5])
        ctx = None
        if rng.random() < 0.6:
            ctx = {"f%d%s" % (j, rng.choice(["", "é"])): rand_double(rng)
                   for j in range(rng.randint(0, 4))}
        out.append(("Request", {
            "request_id": rid, "ts_ms": rand_long(rng), "gateway": "gw-%d" % (i % 3),
            "route": route, "tenant": opt(rng, 0.7, rng.choice(STRINGS)),
            "user": opt(rng, 0.5, "u-%d" % rng.randint(0, 99)),
            "task_type": rng.choice(STRINGS), "arm": "arm-%d" % rng.randint(0, 4),
            "provider": rng.choice(["openai", "anthropic", "local"]),
            "model": rng.choice(["gpt-4o", "claude", "llama-3"]),
            "decision_version": rand_long(rng), "propensity": rand_double(rng),
            "experiment_id": opt(rng, 0.3, "exp-%d" % rng.randint(0, 9)),
            "variant": opt(rng, 0.3, rng.choice("ABC")),
            "input_tokens_est": rand_long(rng), "context": ctx,
            "prompt_hash": opt(rng, 0.5, "%016x" % rng.getrandbits(64)),
        }))
        if rng.random() < 0.9:
            out.append(("Response", {
                "request_id": rid, "ts_ms": rand_long(rng), "route": route,
                "arm": "arm-%d" % rng.randint(0, 4),
                "status": rng.choice(["ok", "error", "timeout", "rate_limited", "filtered"]),
                "http_status": opt(rng, 0.6, rng.choice([200, 429, 500, -2**31, 2**31 - 1])),
                "error_type": opt(rng, 0.3, rng.choice(STRINGS)),
                "latency_ms": rand_double(rng), "ttft_ms": opt(rng, 0.5, rand_double(rng)),
                "input_tokens": rand_long(rng), "output_tokens": rand_long(rng),
                "cost_usd": rand_double(rng), "quality": opt(rng, 0.5, rng.random()),
                "cache_hit": rng.random() < 0.5,
                "batch_size": opt(rng, 0.4, rng.randint(1, 64)),
                "provider": opt(rng, 0.5, rng.choice(["openai", "local"])),
            }))
        if rng.random() < 0.4:
            out.append(("Feedback", {
                "request_id": rid, "ts_ms": rand_long(rng), "route": route,
                "rating": opt(rng, 0.5, rng.random()),
                "thumbs": opt(rng, 0.5, rng.choice([-1, 0, 1])),
                "task_completed": opt(rng, 0.5, rng.random() < 0.5),
            }))
    # JSON may omit an absent optional instead of writing null: do so for a
    # third of them so the C decoder sees both spellings
    for _, rec in out:
        for k in [k for k, v in rec.items() if v is None]:
            if rng.random() < 0.33:
                del rec[k]
    return out


def same(want, got, schema_fields, where, errors):
    for f in schema_fields:
        name = f["name"]
        w, g = want.get(name), got.get(name)
        if isinstance(w, float) or isinstance(g, float):
            ok = (isinstance(g, (int, float)) and isinstance(w, (int, float)) and
                  float(g) == float(w) and math.copysign(1, float(g)) == math.copysign(1, float(w)))
        elif isinstance(w, dict):
            ok = isinstance(g, dict) and list(w.keys()) == list(g.keys()) and all(
                float(g[k]) == w[k] and math.copysign(1, float(g[k])) == math.copysign(1, w[k])
                for k in w)
        else:
            ok = w == g and type(w) == type(g)
        if not ok:
            errors.append("%s: field %r: want %r got %r" % (where, name, w, g))
    unknown = set(got) - {f["name"] for f in schema_fields}
    if unknown:
        errors.append("%s: unknown fields %s" % (where, sorted(unknown)))


def wait_for_broker(bootstrap, seconds):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.time() + seconds
    while True:
        try:
            admin.list_topics(timeout=5)
            return admin
        except KafkaException as e:
            if time.time() > deadline:
                sys.exit("interop: FAILED: broker %s not reachable (%s); start it with "
                         "deploy/local/kafka.sh" % (bootstrap, e))
            time.sleep(1)


def create_topics(admin, names):
    fs = admin.create_topics([NewTopic(n, num_partitions=3, replication_factor=1) for n in names])
    for n, f in fs.items():
        f.result(timeout=30)


def delete_topics(admin, names):
    try:
        for f in admin.delete_topics(names).values():
            f.result(timeout=30)
    except Exception as e:  # cleanup only
        print("interop: warning: topic deletion failed: %s" % e)


def py_produce(bootstrap, records, by_record, avro_topic, json_topic):
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "linger.ms": 5})
    failures = []
    cb = lambda err, msg: failures.append(str(err)) if err else None
    for rtype, rec in records:
        sid, schema = by_record[rtype]
        buf = io.BytesIO()
        buf.write(b"\x00" + struct.pack(">I", sid))
        fastavro.schemaless_writer(buf, schema, rec)
        hdr = [(HDR, rtype.encode())]
        key = rec["route"].encode()
        p.produce(avro_topic, buf.getvalue(), key, headers=hdr, on_delivery=cb)
        p.produce(json_topic, json.dumps(rec, ensure_ascii=False).encode(), key,
                  headers=hdr, on_delivery=cb)
        p.poll(0)
    left = p.flush(30)
    if left or failures:
        sys.exit("interop: FAILED: python produce: %d undelivered, errors %s" % (left, failures[:3]))


def py_consume_check(bootstrap, records, by_id, by_record, avro_topic, json_topic, timeout_s):
    want = {}
    for rtype, rec in records:
        want[(rtype, rec["request_id"])] = rec
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "interop-py-" + uuid.uuid4().hex,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    parts = []
    for t in (avro_topic, json_topic):
        md = c.list_topics(t, timeout=10).topics[t]
        parts += [TopicPartition(t, p, 0) for p in md.partitions]
    c.assign(parts)
    seen = {avro_topic: set(), json_topic: set()}
    errors = []
    n = 0
    deadline = time.time() + timeout_s
    while n < 2 * len(records) and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            errors.append("consume error %s" % m.error())
            continue
        n += 1
        topic = m.topic()
        where = "%s[%d]@%d" % (topic, m.partition(), m.offset())
        hdr = dict(m.headers() or [])
        rtype = hdr.get(HDR, b"").decode()
        val = m.value()
        if topic == avro_topic:
            if len(val) < 5 or val[0] != 0:
                errors.append("%s: bad Confluent header" % where)
                continue
            sid = struct.unpack(">I", val[1:5])[0]
            if sid not in by_id or by_id[sid][0] != rtype:
                errors.append("%s: schema id %d does not match header %r" % (where, sid, rtype))
                continue
            body = io.BytesIO(val[5:])
            got = fastavro.schemaless_reader(body, by_id[sid][1])
            if body.tell() != len(val) - 5:
                errors.append("%s: %d trailing bytes" % (where, len(val) - 5 - body.tell()))
        else:
            got = json.loads(val.decode("utf-8"))
            if list(got.keys()) != [f["name"] for f in by_record[rtype][1]["fields"]]:
                errors.append("%s: json members not in schema order" % where)
        key = (rtype, got.get("request_id"))
        if key not in want:
            errors.append("%s: unexpected record %r" % (where, key))
            continue
        if key in seen[topic]:
            errors.append("%s: duplicate %r" % (where, key))
        seen[topic].add(key)
        if m.key() != want[key]["route"].encode():
            errors.append("%s: key is not the route" % where)
        same(want[key], got, by_record[rtype][1]["fields"], where, errors)
    c.close()
    for t in (avro_topic, json_topic):
        missing = set(want) - seen[t]
        if missing:
            errors.append("%s: %d records missing, e.g. %r" % (t, len(missing), sorted(missing)[0]))
    return n, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--c-binary", required=True)
    ap.add_argument("--count", type=int, default=300, help="requests (responses ~90%%, feedback ~40%%)")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--keep", action="store_true", help="keep topics and files")
    args = ap.parse_args()
    bootstrap = os.environ.get("LLMOPT_BOOTSTRAP", "127.0.0.1:19092")
    if not os.access(args.c_binary, os.X_OK):
        sys.exit("interop: FAILED: C program %s missing" % args.c_binary)
    registry_path, by_record, by_id = load_registry()
    run = uuid.uuid4().hex[:10]
    records = gen(args.count, args.seed, run)
    counts = {t: sum(1 for r, _ in records if r == t) for t in ("Request", "Response", "Feedback")}
    print("interop: run %s, seed %d, records %s" % (run, args.seed, counts))

    admin = wait_for_broker(bootstrap, 60)
    topics = ["llmopt.it.interop.%s.%s" % (run, s) for s in ("py2c-avro", "py2c-json", "c2py-avro", "c2py-json")]
    create_topics(admin, topics)
    tmp = tempfile.mkdtemp(prefix="llmopt-interop-")
    failed = []
    try:
        expected = os.path.join(tmp, "expected.jsonl")
        with open(expected, "w", encoding="utf-8") as f:
            for rtype, rec in records:
                f.write(json.dumps({"type": rtype, "record": rec}, ensure_ascii=False) + "\n")

        t0 = time.time()
        py_produce(bootstrap, records, by_record, topics[0], topics[1])
        r = subprocess.run([args.c_binary, "consume", bootstrap, registry_path, expected,
                            topics[0], topics[1]], timeout=180)
        print("interop: python -> C: exit %d (%.1f s)" % (r.returncode, time.time() - t0))
        if r.returncode != 0:
            failed.append("python -> C")

        t0 = time.time()
        r = subprocess.run([args.c_binary, "produce", bootstrap, registry_path, expected,
                            topics[2], topics[3]], timeout=180)
        if r.returncode != 0:
            failed.append("C produce")
        n, errors = py_consume_check(bootstrap, records, by_id, by_record, topics[2], topics[3], 90)
        for e in errors[:20]:
            print("interop: " + e)
        print("interop: C -> python: %d messages, %d errors (%.1f s)" % (n, len(errors), time.time() - t0))
        if errors or n != 2 * len(records):
            failed.append("C -> python")
    finally:
        if not args.keep:
            delete_topics(admin, topics)
            for name in os.listdir(tmp):
                os.unlink(os.path.join(tmp, name))
            os.rmdir(tmp)
    if failed:
        sys.exit("interop: FAILED: %s" % ", ".join(failed))
    print("interop: OK (%d records, each direction, Avro and JSON)" % len(records))


if __name__ == "__main__":
    main()
