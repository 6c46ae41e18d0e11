#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for tests (Python 3 standard library only).

    python3 fault_proxy.py --upstream http://127.0.0.1:PDS_PORT

Listens on 127.0.0.1 on a free port and prints one line `READY <port>` on stdout. Every request
is forwarded to the upstream unchanged (same method, path, query, headers and body) and the
upstream's answer is passed back, except where a fault rule matches. It exits when its stdin
closes (the test that started it is done).

Control endpoints (answered by the proxy itself, never forwarded):

    POST   /__faults   {"rules": [RULE, ...]}   replaces the rules (and resets their counters)
    DELETE /__faults                            removes every rule
    GET    /__stats                             {"received": {path: n}, "forwarded": {path: n},
                                                 "completed": {path: n}, "in_flight": n,
                                                 "faults": [{"rule": i, "action": a, "path": p}]}

A RULE:

    {"method": "POST",                # optional, exact (case-insensitive)
     "path": "createRecord",          # optional, substring of the path (without the query)
     "body": "some text",             # optional, substring of the request body (UTF-8)
     "nth": [1, 2],                   # optional: only these occurrences (1-based) of a match
     "times": 2,                      # optional: only the first N occurrences of a match
     "action": "429",                 # see below
     "seconds": 3,                    # delay: how long; 429: Retry-After / RateLimit-Reset
     "retry_after": true}             # 429: send Retry-After too (default true)

Without `nth` and `times` a rule applies to every matching request. The first rule that
matches and applies wins; a rule's occurrence counter counts every request it matches.

Actions:
    429          answer 429 RateLimitExceeded with Bluesky's rate-limit headers; nothing forwarded
    500, 502     answer that status before forwarding (nothing reaches the upstream)
    500_after    forward (the upstream acts), then answer 500 instead of its answer
    drop_before  close the client connection without forwarding and without an answer
    drop_after   forward (the upstream acts), then close the client connection without an answer
    truncate_after  forward, send the upstream's status line and headers and half its body,
                 then close the connection
    delay        wait `seconds`, then forward (the upstream acts even if the client gave up)
    reflect      answer `status` (default 400) without forwarding, with the request body quoted
                 in the error message (as some servers and gateways do)
    answer       answer `status` (default 200) with the JSON value `json` without forwarding
                 (a call the upstream cannot serve, e.g. one missing from a mock's spec)
"""

import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.matched = []  # per rule: how many requests it matched
        self.received = {}
        self.forwarded = {}
        self.completed = {}
        self.in_flight = 0
        self.faults = []

    def set_rules(self, rules):
        with self.lock:
            self.rules = list(rules)
            self.matched = [0] * len(self.rules)

    def bump(self, table, path):
        with self.lock:
            table[path] = table.get(path, 0) + 1

    def pick(self, method, path, body):
        """The rule that applies to this request, or None. Counts occurrences."""
        with self.lock:
            chosen = None
            for i, rule in enumerate(self.rules):
                if "method" in rule and rule["method"].upper() != method.upper():
                    continue
                if "path" in rule and rule["path"] not in path:
                    continue
                if "body" in rule and rule["body"].encode("utf-8") not in body:
                    continue
                self.matched[i] += 1
                n = self.matched[i]
                applies = True
                if "nth" in rule and n not in rule["nth"]:
                    applies = False
                if "times" in rule and n > rule["times"]:
                    applies = False
                if applies and chosen is None:
                    chosen = (i, rule)
            if chosen is not None:
                self.faults.append(
                    {"rule": chosen[0], "action": chosen[1]["action"], "path": path}
                )
            return chosen[1] if chosen else None

    def stats(self):
        with self.lock:
            return {
                "received": dict(self.received),
                "forwarded": dict(self.forwarded),
                "completed": dict(self.completed),
                "in_flight": self.in_flight,
                "faults": list(self.faults),
            }


STATE = State()
UPSTREAM = None  # (host, port)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-proxy"

    def log_message(self, fmt, *args):  # quiet: request lines could carry secrets in queries
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def answer_json(self, status, value, headers=()):
        body = json.dumps(value).encode("utf-8")
        self.answer(status, body, [("Content-Type", "application/json")] + list(headers))

    def drop(self):
        """Close the connection without a byte of answer."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def control(self, method, path, body):
        if path == "/__faults" and method == "POST":
            rules = json.loads(body or b"{}").get("rules", [])
            STATE.set_rules(rules)
            self.answer_json(200, {"rules": len(rules)})
        elif path == "/__faults" and method == "DELETE":
            STATE.set_rules([])
            self.answer_json(200, {"rules": 0})
        elif path == "/__stats" and method == "GET":
            self.answer_json(200, STATE.stats())
        else:
            self.answer_json(404, {"error": "NoSuchControl"})

    def forward(self, method, body):
        """Sends the request upstream; returns (status, reason, headers, body)."""
        path = urllib.parse.urlsplit(self.path).path
        STATE.bump(STATE.forwarded, path)
        conn = http.client.HTTPConnection(UPSTREAM[0], UPSTREAM[1], timeout=120)
        try:
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP
            }
            headers["Host"] = "%s:%d" % UPSTREAM
            headers["Content-Length"] = str(len(body))
            headers["Connection"] = "close"
            conn.request(method, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            STATE.bump(STATE.completed, path)
            return resp.status, resp.reason, out, data
        finally:
            conn.close()

    def handle_any(self):
        method = self.command
        path = urllib.parse.urlsplit(self.path).path
        body = self.read_body()
        if path.startswith("/__"):
            self.control(method, path, body)
            return
        STATE.bump(STATE.received, path)
        with STATE.lock:
            STATE.in_flight += 1
        try:
            self.proxy(method, path, body)
        finally:
            with STATE.lock:
                STATE.in_flight -= 1

    def proxy(self, method, path, body):
        rule = STATE.pick(method, path, body)
        action = rule["action"] if rule else None

        if action == "429":
            secs = int(rule.get("seconds", 1))
            headers = [
                ("RateLimit-Limit", "100"),
                ("RateLimit-Remaining", "0"),
                ("RateLimit-Reset", str(int(time.time()) + secs)),
                ("RateLimit-Policy", "100;w=300"),
            ]
            if rule.get("retry_after", True):
                headers.append(("Retry-After", str(secs)))
            self.answer_json(
                429,
                {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                headers,
            )
            return
        if action in ("500", "502"):
            self.answer_json(
                int(action),
                {"error": "InternalServerError", "message": "Internal Server Error"},
            )
            return
        if action == "answer":
            self.answer_json(int(rule.get("status", 200)), rule.get("json"))
            return
        if action == "reflect":
            self.answer_json(
                int(rule.get("status", 400)),
                {
                    "error": "InvalidRequest",
                    "message": "invalid input: " + body.decode("utf-8", "replace"),
                },
            )
            return
        if action == "drop_before":
            self.drop()
            return
        if action == "delay":
            time.sleep(float(rule.get("seconds", 1)))

        try:
            status, reason, headers, data = self.forward(method, body)
        except (OSError, http.client.HTTPException) as e:
            self.answer_json(502, {"error": "BadGateway", "message": type(e).__name__})
            return

        try:
            if action == "500_after":
                self.answer_json(
                    500,
                    {"error": "InternalServerError", "message": "Internal Server Error"},
                )
            elif action == "drop_after":
                self.drop()
            elif action == "truncate_after":
                self.send_response(status, reason)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.drop()
            else:
                self.send_response(status, reason)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
        except OSError:
            # The client gave up (e.g. its timeout after a delay): the upstream acted anyway.
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global UPSTREAM
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    up = urllib.parse.urlsplit(args.upstream)
    UPSTREAM = (up.hostname, up.port or 80)

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("READY %d" % server.server_address[1], flush=True)
    # Stop when the test closes our stdin (or dies).
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
