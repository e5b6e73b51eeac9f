#!/usr/bin/env python3
"""fake_registry.py - a small Confluent-compatible Schema Registry test double.

No real Confluent Schema Registry can be installed on this machine (it is not
on Maven Central nor in Debian), so the registry client is tested against this
double. It speaks the subset of the REST API the client uses, with the same
status codes and error bodies ({"error_code": N, "message": "..."}):

  GET  /schemas/ids/{id}                  -> {"schema": "..."} | 404 40403
  POST /subjects/{subject}/versions       {"schema": "..."} -> {"id": N}
                                           (same schema text under a subject
                                           returns the same id; a schema that
                                           is not JSON -> 422 42201)
  GET  /subjects/{subject}/versions/latest -> {"subject","id","version","schema"}
                                           | 404 40401

Test controls (not part of the Confluent API):
  GET  /_stats                 -> {"requests": N, "by_path": {path: n}}
  POST /_fail?status=503&count=2  next `count` API requests answer `status`
  POST /_delay?ms=1500&count=1    next `count` API requests sleep first

Listens on 127.0.0.1 only, on an ephemeral port unless --port is given, and
prints "PORT <n>" on stdout once ready. Standard library only.
"""
import argparse
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CT = "application/vnd.schemaregistry.v1+json"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.schemas = {}      # id -> schema text
        self.by_text = {}      # canonical text -> id (ids are global, as in Confluent)
        self.subjects = {}     # subject -> [id, ...] in version order
        self.next_id = 1
        self.requests = 0
        self.by_path = {}
        self.fail = []         # statuses to answer next
        self.delay = []        # delays (s) to apply next


STATE = State()


def canonical(text):
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", CT)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message):
        self.send_json(status, {"error_code": code, "message": message})

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def control(self, url):
        q = urllib.parse.parse_qs(url.query)
        count = int(q.get("count", ["1"])[0])
        with STATE.lock:
            if url.path == "/_fail":
                STATE.fail.extend([int(q["status"][0])] * count)
            elif url.path == "/_delay":
                STATE.delay.extend([int(q["ms"][0]) / 1000.0] * count)
            else:
                return self.error(404, 404, "no such control")
        self.send_json(200, {})

    def api_prelude(self, path):
        """counts the request and applies injected faults; True if answered"""
        with STATE.lock:
            STATE.requests += 1
            STATE.by_path[path] = STATE.by_path.get(path, 0) + 1
            delay = STATE.delay.pop(0) if STATE.delay else 0
            fail = STATE.fail.pop(0) if STATE.fail else 0
        if delay:
            time.sleep(delay)
        if fail:
            self.error(fail, fail * 100 + 1, "injected failure %d" % fail)
            return True
        return False

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_stats":
            with STATE.lock:
                return self.send_json(200, {"requests": STATE.requests,
                                            "by_path": dict(STATE.by_path)})
        if self.api_prelude(url.path):
            return
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        if len(parts) == 3 and parts[:2] == ["schemas", "ids"]:
            try:
                sid = int(parts[2])
            except ValueError:
                return self.error(404, 40403, "Schema not found")
            with STATE.lock:
                text = STATE.schemas.get(sid)
            if text is None:
                return self.error(404, 40403, "Schema %d not found" % sid)
            return self.send_json(200, {"schema": text})
        if len(parts) == 4 and parts[0] == "subjects" and parts[2:] == ["versions", "latest"]:
            with STATE.lock:
                ids = STATE.subjects.get(parts[1])
                if not ids:
                    return self.error(404, 40401, "Subject '%s' not found." % parts[1])
                sid = ids[-1]
                return self.send_json(200, {"subject": parts[1], "id": sid,
                                            "version": len(ids),
                                            "schema": STATE.schemas[sid]})
        self.error(404, 404, "HTTP 404 Not Found")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        if url.path.startswith("/_"):
            return self.control(url)
        if self.api_prelude(url.path):
            return
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
            try:
                text = json.loads(body)["schema"]
                canon = canonical(text)
            except (ValueError, KeyError, TypeError):
                return self.error(422, 42201, "Invalid schema")
            with STATE.lock:
                sid = STATE.by_text.get(canon)
                if sid is None:
                    sid = STATE.next_id
                    STATE.next_id += 1
                    STATE.by_text[canon] = sid
                    STATE.schemas[sid] = text
                ids = STATE.subjects.setdefault(parts[1], [])
                if sid not in ids:
                    ids.append(sid)
            return self.send_json(200, {"id": sid})
        self.error(404, 404, "HTTP 404 Not Found")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
