"""The demo's fake shop: pure functions of the seconds since it started, served on loopback.

`DemoService` serves it; `run_demo` (run.py) starts it for the console.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


# --- the fake shop's behaviour: pure functions of the seconds since it started ------------
#
# The schedule is chosen so the console shows something change every minute or two:
#   /health          degraded for 20 s of every 100 s (first at 40 s), and while the db is down
#   /api/health/db   503 for 20 s of every 180 s (first at 95 s)
#   error ratio      drifts 0.005 .. 0.08 over 240 s: amber at start, red from ~20 s,
#                    amber again from ~125 s, green ~175-215 s, then round again

HEALTH_CYCLE, HEALTH_DEGRADED = 100.0, (40.0, 60.0)
DB_CYCLE, DB_DOWN = 180.0, (95.0, 115.0)
RATIO_PERIOD, RATIO_LOW, RATIO_HIGH = 240.0, 0.005, 0.08
_RATIO_MID, _RATIO_AMP = (RATIO_LOW + RATIO_HIGH) / 2, (RATIO_HIGH - RATIO_LOW) / 2
_RATIO_PHASE = math.asin((0.03 - _RATIO_MID) / _RATIO_AMP)  # starts at 3%, rising
DB_POOL_MAX = 50


def _in_window(t: float, cycle: float, window: tuple[float, float]) -> bool:
    offset = t % cycle
    return window[0] <= offset < window[1]


def db_is_down(t: float) -> bool:
    return _in_window(t, DB_CYCLE, DB_DOWN)


def health_is_degraded(t: float) -> bool:
    return _in_window(t, HEALTH_CYCLE, HEALTH_DEGRADED) or db_is_down(t)


def error_ratio(t: float) -> float:
    """The checkout error ratio at `t` seconds: a slow swell plus a small ripple, clamped."""
    swell = _RATIO_MID + _RATIO_AMP * math.sin(2 * math.pi * t / RATIO_PERIOD + _RATIO_PHASE)
    ripple = 0.002 * math.sin(2 * math.pi * t / 17.0)
    return round(min(RATIO_HIGH, max(RATIO_LOW, swell + ripple)), 4)


def pool_in_use(t: float) -> int:
    if db_is_down(t):
        return DB_POOL_MAX
    share = (error_ratio(t) - RATIO_LOW) / (RATIO_HIGH - RATIO_LOW)
    return int(round(12 + share * 34))


def payment_latency(t: float) -> float:
    """p99 seconds of the payment provider's authorisation call; follows the error ratio."""
    share = (error_ratio(t) - RATIO_LOW) / (RATIO_HIGH - RATIO_LOW)
    return round(0.4 + share * 9.0, 3)


def health(t: float) -> tuple[int, dict[str, Any]]:
    down = db_is_down(t)
    degraded = health_is_degraded(t)
    latency_ms = int(payment_latency(t) * 1000)
    checks = {
        "database": {
            "status": "down" if down else "ok",
            "latency_ms": 5000 if down else 3 + int(t) % 5,
            "pool": f"{pool_in_use(t)}/{DB_POOL_MAX}",
        },
        "cache": {"status": "ok", "latency_ms": 1},
        "payment_provider": {
            "status": "degraded" if degraded else "ok",
            "latency_ms": max(latency_ms, 7400) if degraded else latency_ms,
        },
        "queue": {"status": "ok", "depth": queue_depth(t)},
    }
    return 200, {
        "status": "degraded" if degraded else "ok",
        "version": "2.14.3",
        "uptime_s": int(t) + 86_400 * 3,
        "checks": checks,
    }


def database(t: float) -> tuple[int, dict[str, Any]]:
    if db_is_down(t):
        return 503, {
            "status": "down",
            "error": f"timed out acquiring a connection after 5000 ms ({DB_POOL_MAX}/{DB_POOL_MAX} in use)",
            "pool": {"in_use": DB_POOL_MAX, "max": DB_POOL_MAX, "waiting": 37},
        }
    return 200, {
        "status": "ok",
        "latency_ms": 3 + int(t) % 5,
        "pool": {"in_use": pool_in_use(t), "max": DB_POOL_MAX, "waiting": 0},
        "replication_lag_s": round(0.2 + 0.1 * math.sin(t / 9.0), 2),
    }


def queue_depth(t: float) -> int:
    return int(120 + 900 * (error_ratio(t) - RATIO_LOW) / (RATIO_HIGH - RATIO_LOW) + 15 * math.sin(t / 5.0))


def metrics(t: float) -> str:
    """Prometheus text exposition format."""
    ratio = error_ratio(t)
    served = 1_482_330 + int(t * 38)
    failed = 9_214 + int(t * 38 * ratio)
    latency = payment_latency(t)
    lines = [
        "# HELP http_requests_error_ratio Share of requests answered with a 5xx over the last minute.",
        "# TYPE http_requests_error_ratio gauge",
        f'http_requests_error_ratio{{service="checkout"}} {ratio:.4f}',
        f'http_requests_error_ratio{{service="catalog"}} {0.0009 + 0.0003 * math.sin(t / 7):.4f}',
        "# HELP http_requests_total Requests served, by service and status code.",
        "# TYPE http_requests_total counter",
        f'http_requests_total{{service="checkout",code="200"}} {served - failed}',
        f'http_requests_total{{service="checkout",code="500"}} {failed}',
        f'http_requests_total{{service="catalog",code="200"}} {6_120_455 + int(t * 210)}',
        "# HELP http_request_duration_seconds Request latency at the edge.",
        "# TYPE http_request_duration_seconds summary",
        f'http_request_duration_seconds{{service="checkout",quantile="0.5"}} {0.120 + latency / 40:.3f}',
        f'http_request_duration_seconds{{service="checkout",quantile="0.95"}} {0.300 + latency / 3:.3f}',
        f'http_request_duration_seconds{{service="checkout",quantile="0.99"}} {0.450 + latency:.3f}',
        f'http_request_duration_seconds_sum{{service="checkout"}} {served * 0.21:.1f}',
        f'http_request_duration_seconds_count{{service="checkout"}} {served}',
        "# HELP payment_provider_request_duration_seconds p99 of payment authorisation calls.",
        "# TYPE payment_provider_request_duration_seconds gauge",
        f'payment_provider_request_duration_seconds{{provider="paylane",quantile="0.99"}} {latency:.3f}',
        "# HELP db_pool_connections_in_use Database connections checked out of the pool.",
        "# TYPE db_pool_connections_in_use gauge",
        f'db_pool_connections_in_use{{pool="primary"}} {pool_in_use(t)}',
        "# HELP db_pool_connections_max Size of the database connection pool.",
        "# TYPE db_pool_connections_max gauge",
        f'db_pool_connections_max{{pool="primary"}} {DB_POOL_MAX}',
        "# HELP job_queue_depth Jobs waiting in the queue.",
        "# TYPE job_queue_depth gauge",
        f'job_queue_depth{{queue="orders"}} {queue_depth(t)}',
        "# HELP process_resident_memory_bytes Resident memory size in bytes.",
        "# TYPE process_resident_memory_bytes gauge",
        f"process_resident_memory_bytes {412_000_000 + int(t * 9_000) % 60_000_000}",
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
        "# TYPE process_cpu_seconds_total counter",
        f"process_cpu_seconds_total {18_230.5 + t * 0.62:.2f}",
    ]
    return "\n".join(lines) + "\n"


def status_summary(t: float, base_url: str = "", wall: datetime | None = None) -> dict[str, Any]:
    """The hosting provider's public status page (the statuspage.io v2 status.json shape)."""
    updated = (wall or datetime.now(UTC)) - timedelta(minutes=7)
    return {
        "page": {
            "id": "demo0nimbus0",
            "name": "Nimbus Cloud (demo)",
            "url": base_url + "/",
            "time_zone": "Etc/UTC",
            "updated_at": updated.isoformat(timespec="milliseconds"),
        },
        "status": {"indicator": "minor", "description": "Partially Degraded Service"},
    }


# --- the fake shop: a threaded HTTP server on loopback ------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    service: DemoService

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-answer is not worth a traceback on the console's terminal


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demo-shop/2.14.3"
    timeout = 30  # idle keep-alive connections are closed after this

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the console owns the terminal

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        service: DemoService = self.server.service  # type: ignore[attr-defined]
        status, content_type, body = service.respond(self.path)
        service.pause()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)


class DemoService:
    """The fake shop the demo's checks and runbooks talk to.

    Its answers are a function of the seconds since `start()` as measured by `now`
    (default `time.monotonic`), so tests drive it with a fake clock. `jitter` is the
    range of the added latency in seconds; None for none.
    """

    def __init__(
        self,
        now: Callable[[], float] = time.monotonic,
        *,
        jitter: tuple[float, float] | None = (0.010, 0.080),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.now = now
        self.jitter = jitter
        self.host, self.port = host, port
        self._t0 = now()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._random = random.Random()
        self.base_url = ""

    def elapsed(self) -> float:
        return max(0.0, self.now() - self._t0)

    def start(self) -> str:
        """Bind, serve in a daemon thread, return the base URL (http://127.0.0.1:PORT)."""
        if self._server is not None:
            return self.base_url
        server = _Server((self.host, self.port), _Handler)
        server.service = self
        self._server = server
        self._t0 = self.now()
        host, port = str(server.server_address[0]), server.server_address[1]
        self.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="warroom-demo-service", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> DemoService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pause(self) -> None:
        """The added latency of one answer: 10-80 ms, a little more while degraded."""
        if not self.jitter:
            return
        delay = self._random.uniform(*self.jitter)
        if health_is_degraded(self.elapsed()):
            delay += self._random.uniform(0.05, 0.15)
        time.sleep(delay)

    def respond(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a GET of `path` now. No I/O; tests call it directly."""
        t = self.elapsed()
        route = path.split("?", 1)[0].rstrip("/") or "/"
        if route == "/health":
            return _json(*health(t))
        if route == "/api/health/db":
            return _json(*database(t))
        if route == "/metrics":
            return 200, "text/plain; version=0.0.4; charset=utf-8", metrics(t).encode()
        if route == "/api/v2/status.json":
            return _json(200, status_summary(t, self.base_url))
        return _json(404, {"error": "not found", "path": route[:200]})


def _json(status: int, body: dict[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json", (json.dumps(body) + "\n").encode()
