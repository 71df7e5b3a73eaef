#!/usr/bin/env python3
"""A scriptable HTTP server for lookout's tests, on 127.0.0.1.

Built-in behaviours by path:
  /ok                       200 "ok"
  /status/CODE              that status
  /delay/SECONDS[/CODE]     waits, then 200 (or CODE)
  /hang                     accepts, reads the request, never answers
  /garbage                  bytes that are not HTTP
  /reset                    headers and part of the body, then a TCP reset
  /trickle/N                N body bytes, one per second
  /big/BYTES                a body of BYTES bytes (exposition-like lines)
  /gzipbomb/MIB             a gzip body that inflates to MIB MiB of zeros
  /flap/N                   alternates: N answers 200, then N answers 500, ...
  /dependencies/MODE?NAME=SECONDS&...
                            a Spring Boot style detailed health check that calls each
                            dependency (this server's /delay/SECONDS) one after another
                            (MODE sequential) or all at once (MODE parallel), and reports
                            each one's measured time as details.durationMs
Control:
  POST /_set?path=P         body: JSON {"status":200,"body":"...","headers":{},"delay":0,
                            "fail_times":0,"fail_status":500,"gzip":false} — what P answers from
                            now on ("gzip": send the body gzip-compressed, with Content-Encoding)
  GET  /_received?path=P    JSON list of requests to P: {"method","headers","body","body_hex","time"}
  POST /_clear              forgets received requests
Anything else: 404, unless set with /_set.

Usage: testserver.py PORT [--tls CERT KEY]
"""
import gzip
import io
import json
import socket
import struct
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
routes = {}  # path -> dict
received = {}  # path -> list
counters = {}  # path -> int
_bomb = {}
_big = {}


def bomb(mib):
    with lock:
        if mib not in _bomb:
            buf = io.BytesIO()
            with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as f:
                chunk = b"\0" * (1 << 20)
                for _ in range(mib):
                    f.write(chunk)
            _bomb[mib] = buf.getvalue()
        return _bomb[mib]


def big(size):
    # Built once per size: a target probed every second would otherwise cost the server
    # a copy of the whole body per request.
    with lock:
        if size not in _big:
            line = b"big_series_total{label=\"some value\"} 12345\n"
            _big[size] = (line * (size // len(line) + 1))[:size]
        return _big[size]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK of the headers (40 ms on Linux) on every kept-alive request.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def body_bytes(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, body=b"", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if not headers or "Content-Type" not in headers:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def record(self, path, body):
        with lock:
            received.setdefault(path, []).append(
                {
                    "method": self.command,
                    "headers": {k: v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                    "body_hex": body.hex(),
                    "time": time.time(),
                }
            )
            counters[path] = counters.get(path, 0) + 1
            return counters[path]

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        body = self.body_bytes()
        if path == "/_set":
            with lock:
                routes[query["path"][0]] = json.loads(body or b"{}")
            return self.send(200, "set")
        if path == "/_received":
            with lock:
                items = list(received.get(query["path"][0], []))
            return self.send(200, json.dumps(items), {"Content-Type": "application/json"})
        if path == "/_clear":
            with lock:
                received.clear()
                counters.clear()
            return self.send(200, "cleared")

        n = self.record(path, body)
        with lock:
            route = routes.get(path)
        if route is not None:
            fail_times = route.get("fail_times", 0)
            if n <= fail_times:
                return self.send(route.get("fail_status", 500), "failing on purpose")
            if route.get("hang"):
                time.sleep(3600)
                return
            time.sleep(route.get("delay", 0))
            body = route.get("body", "")
            headers = route.get("headers")
            if route.get("gzip"):
                body = gzip.compress(body.encode())
                headers = dict(headers or {}, **{"Content-Encoding": "gzip"})
            return self.send(route.get("status", 200), body, headers)

        parts = [p for p in path.split("/") if p]
        head = parts[0] if parts else ""
        if head == "ok":
            return self.send(200, "ok")
        if head == "status":
            return self.send(int(parts[1]), "status %s" % parts[1])
        if head == "delay":
            time.sleep(float(parts[1]))
            return self.send(int(parts[2]) if len(parts) > 2 else 200, "slept %s" % parts[1])
        if head == "hang":
            time.sleep(3600)
            return
        if head == "garbage":
            self.wfile.write(b"\x00\x01garbage that is not HTTP\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if head == "reset":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
            self.wfile.flush()
            time.sleep(0.05)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if head == "trickle":
            count = int(parts[1])
            self.send_response(200)
            self.send_header("Content-Length", str(count))
            self.end_headers()
            try:
                for _ in range(count):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
            return
        if head == "big":
            return self.send(200, big(int(parts[1])))
        if head == "gzipbomb":
            data = bomb(int(parts[1]))
            return self.send(200, data, {"Content-Encoding": "gzip", "Content-Type": "text/plain; version=0.0.4"})
        if head == "dependencies":
            return self.send(200, self.dependencies(parts[1], url.query), {"Content-Type": "application/json"})
        if head == "flap":
            period = int(parts[1])
            ok = ((n - 1) // period) % 2 == 0
            return self.send(200 if ok else 500, "flap")
        return self.send(404, "not found")


    def dependencies(self, mode, query):
        port = self.server.server_address[1]
        deps = urllib.parse.parse_qsl(query)
        results = {}

        def call(name, seconds):
            began = time.monotonic()
            with urllib.request.urlopen("http://127.0.0.1:%d/delay/%s" % (port, seconds), timeout=30) as r:
                r.read()
            results[name] = (time.monotonic() - began) * 1000

        if mode == "parallel":
            threads = [threading.Thread(target=call, args=d) for d in deps]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            for name, seconds in deps:
                call(name, seconds)
        components = {
            name: {"status": "UP", "details": {"durationMs": round(results[name], 1)}} for name, _ in deps
        }
        return json.dumps({"status": "UP", "components": components})


class Server(ThreadingHTTPServer):
    # Class attributes: the listen backlog is taken when the constructor binds, so
    # setting it on the instance afterwards leaves the default of 5, and a burst of
    # concurrent connections gets SYNs dropped (1 s and 3 s retransmits).
    request_queue_size = 1024
    daemon_threads = True


def main():
    port = int(sys.argv[1])
    server = Server(("127.0.0.1", port), Handler)
    if len(sys.argv) >= 5 and sys.argv[2] == "--tls":
        # HTTPS with the given certificate and key; the handshake runs in the handler's
        # thread (on first read), not in the accept loop.
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
