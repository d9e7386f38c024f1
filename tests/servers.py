"""Loopback HTTP servers for tests: real sockets on 127.0.0.1, no mocks.

    with serve() as server:
        server.url("/healthy")               # 'http://127.0.0.1:PORT/healthy'
        server.set("/flip", 500, b"down")    # change a route while the test runs
        server.requests                      # [(method, path, {header: value})]

Routes: /healthy, /slow?delay=S, /hang (never answers), /error (500),
/text (not JSON), /huge?mb=N (streams N MiB lazily; bytes written are counted in
`server.huge_sent`), /gzip-bomb (a small gzip body that inflates to 32 MiB),
/close (closes without answering), /metrics (Prometheus text, `server.metrics`),
/statuspage/api/v2/status.json (`server.statuspage`), /redirect-same (302 to
/healthy), /redirect-loop, /redirect-to?url=U (302 to U), /echo-headers,
/status/N. Another `serve()` on its own port is another origin.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

HEALTHY = {"status": "ok", "db": {"ok": True, "latency_ms": 3}, "version": "1.2.3"}

METRICS = """\
# HELP http_requests_error_ratio Ratio of failed requests.
# TYPE http_requests_error_ratio gauge
http_requests_error_ratio{service="checkout"} 0.02
http_requests_error_ratio{service="checkout",region="eu"} 0.5
http_requests_error_ratio{service="search"} 0.07
queue_depth 12
escaped_label{path="/a \\"b\\"",note="x\\\\y"} 3
odd_value{service="checkout"} NaN
"""


def _gzip_bomb(size: int = 32 << 20) -> bytes:
    return gzip.compress(b"\0" * size, compresslevel=6)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        owner = self.server.owner
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        with owner.lock:
            owner.requests.append((self.command, self.path, dict(self.headers.items())))
            custom = owner.custom.get(path)
        if custom is not None:
            status, body, content_type, delay = custom
            if delay:
                time.sleep(delay)
            self._send(status, body, content_type)
            return
        if path == "/healthy":
            self._send(200, json.dumps(HEALTHY).encode())
        elif path == "/slow":
            time.sleep(float(query.get("delay", ["0.5"])[0]))
            self._send(200, json.dumps(HEALTHY).encode())
        elif path == "/hang":
            owner.release.wait()  # until the server shuts down
            self.close_connection = True
        elif path == "/error":
            self._send(500, b"internal error", "text/plain")
        elif path == "/text":
            self._send(200, b"<html>all good, but not JSON</html>", "text/html")
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), b"{}")
        elif path == "/huge":
            self._huge(int(query.get("mb", ["64"])[0]))
        elif path == "/gzip-bomb":
            self._send(200, owner.bomb, "application/json", {"Content-Encoding": "gzip"})
        elif path == "/close":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif path == "/metrics":
            self._send(200, owner.metrics.encode(), "text/plain; version=0.0.4")
        elif path == "/statuspage/api/v2/status.json":
            indicator, description = owner.statuspage
            body = {"page": {"id": "x", "name": "Vendor"},
                    "status": {"indicator": indicator, "description": description}}
            self._send(200, json.dumps(body).encode())
        elif path == "/redirect-same":
            self._send(302, b"", "text/plain", {"Location": "/healthy"})
        elif path == "/redirect-loop":
            self._send(302, b"", "text/plain", {"Location": "/redirect-loop"})
        elif path == "/redirect-to":
            self._send(302, b"", "text/plain", {"Location": query["url"][0]})
        elif path == "/echo-headers":
            self._send(200, json.dumps(dict(self.headers.items())).encode())
        else:
            self._send(404, b'{"error": "not found"}')

    def _huge(self, megabytes: int) -> None:
        owner = self.server.owner
        total = megabytes << 20
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < total and not owner.release.is_set():
                self.wfile.write(chunk)
                sent += len(chunk)
                with owner.lock:
                    owner.huge_sent = max(owner.huge_sent, sent)
        except OSError:
            pass
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: "TestServer"


class TestServer:
    __test__ = False  # not a pytest class

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.custom: dict[str, tuple[int, bytes, str, float]] = {}
        self.metrics = METRICS
        self.statuspage = ("none", "All Systems Operational")
        self.huge_sent = 0
        self._bomb: bytes | None = None
        self.httpd = _Server((host, 0), _Handler)
        self.httpd.owner = self
        self.host, self.port = self.httpd.server_address[:2]
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def bomb(self) -> bytes:
        if self._bomb is None:
            self._bomb = _gzip_bomb()
        return self._bomb

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def set(self, path: str, status: int = 200, body: bytes | str | dict = b"",
            content_type: str = "application/json", delay: float = 0.0) -> None:
        """Serve `path` with this answer from now on (overrides a built-in route)."""
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        with self.lock:
            self.custom[path] = (status, body, content_type, delay)

    def paths_requested(self) -> list[str]:
        with self.lock:
            return [path for _, path, _ in self.requests]

    def start(self) -> "TestServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


@contextmanager
def serve(host: str = "127.0.0.1") -> Iterator[TestServer]:
    """A running loopback server; shut down (hanging handlers released) on exit."""
    server = TestServer(host).start()
    try:
        yield server
    finally:
        server.stop()
