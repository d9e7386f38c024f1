"""The demo: a fake shop on loopback, fake log streams and a war room with an incident in progress.

`warroom demo` (and `make demo`) calls `run_demo()`: it copies the bundled demo war room
(data/demo) into a temporary folder, writes a realistic incident into its record, starts
`DemoService` on 127.0.0.1 and opens the console on it. Everything is stdlib and offline.

The demo config's log sources and runbooks call back into this module:

    python3 -m warroom.demo logs checkout     JSON lines (pino style), forever
    python3 -m warroom.demo logs worker       docker-style timestamped text lines, forever
    python3 -m warroom.demo restart-worker    a fake worker restart
    python3 -m warroom.demo serve             the fake shop alone, until Ctrl-C
    python3 -m warroom.demo [--keep]          the whole demo

Only this module's top-level stdlib imports load for `logs`: the streams start at once.
"""

from __future__ import annotations

import base64
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from warroom.paths import DATA_DIR  # stdlib only: the log streams still start at once

if TYPE_CHECKING:
    from warroom.record.clock import Clock
    from warroom.record.room import Room

UTC = UTC
DEMO_DIR = DATA_DIR / "demo"
TEMPLATES_DIR = DATA_DIR / "templates"

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
        "database": {"status": "down" if down else "ok", "latency_ms": 5000 if down else 3 + int(t) % 5,
                     "pool": f"{pool_in_use(t)}/{DB_POOL_MAX}"},
        "cache": {"status": "ok", "latency_ms": 1},
        "payment_provider": {"status": "degraded" if degraded else "ok",
                             "latency_ms": max(latency_ms, 7400) if degraded else latency_ms},
        "queue": {"status": "ok", "depth": queue_depth(t)},
    }
    return 200, {"status": "degraded" if degraded else "ok", "version": "2.14.3",
                 "uptime_s": int(t) + 86_400 * 3, "checks": checks}


def database(t: float) -> tuple[int, dict[str, Any]]:
    if db_is_down(t):
        return 503, {"status": "down", "error": f"timed out acquiring a connection after 5000 ms "
                                                f"({DB_POOL_MAX}/{DB_POOL_MAX} in use)",
                     "pool": {"in_use": DB_POOL_MAX, "max": DB_POOL_MAX, "waiting": 37}}
    return 200, {"status": "ok", "latency_ms": 3 + int(t) % 5,
                 "pool": {"in_use": pool_in_use(t), "max": DB_POOL_MAX, "waiting": 0},
                 "replication_lag_s": round(0.2 + 0.1 * math.sin(t / 9.0), 2)}


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
        "page": {"id": "demo0nimbus0", "name": "Nimbus Cloud (demo)", "url": base_url + "/",
                 "time_zone": "Etc/UTC", "updated_at": updated.isoformat(timespec="milliseconds")},
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

    def __init__(self, now: Callable[[], float] = time.monotonic, *,
                 jitter: tuple[float, float] | None = (0.010, 0.080),
                 host: str = "127.0.0.1", port: int = 0) -> None:
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
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="warroom-demo-service", daemon=True)
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


# --- fake log streams -----------------------------------------------------------------------


def fake_jwt(rng: random.Random) -> str:
    """A token-shaped string that is no one's secret: built at run time, signed by nothing."""
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(b'{"alg":"HS256","typ":"JWT"}')
    payload = part(json.dumps({"sub": "svc-checkout", "scope": "payments:write", "demo": "fake token",
                               "iat": 1_790_000_000 + rng.randrange(10_000_000)}).encode())
    signature = part(bytes(rng.randrange(256) for _ in range(32)))
    return f"{header}.{payload}.{signature}"


SECRET_EVERY = 150  # lines between token-shaped lines (the first comes early)
SECRET_FIRST, MARKUP_FIRST = 12, 25
_ROUTES = (("GET", "/api/cart", 0.35), ("POST", "/api/cart/items", 0.15), ("GET", "/api/products/{sku}", 0.25),
           ("POST", "/api/checkout", 0.15), ("GET", "/api/orders/{order}", 0.05),
           ("POST", "/api/payments/webhook", 0.05))
_JOBS = ("send_order_confirmation", "capture_payment", "render_invoice", "sync_inventory",
         "reconcile_payment", "send_shipping_update")


def _compact(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def _req_id(rng: random.Random) -> str:
    return "req-" + "".join(rng.choice("0123456789abcdef") for _ in range(8))


def _special(n: int, first: int) -> bool:
    return n == first or (n > first and (n - first) % SECRET_EVERY == 0)


def checkout_line(rng: random.Random, n: int, now_ms: int) -> str:
    """Line `n` of the checkout API's log: one JSON object, pino style."""
    base: dict[str, Any] = {"time": now_ms, "pid": 7, "hostname": "checkout-6d9f7b8c4-x2k4q",
                            "req_id": _req_id(rng)}
    if _special(n, SECRET_FIRST):
        token = fake_jwt(rng)
        return _compact({"level": 40, **base, "msg": "payment call failed, request headers: "
                           f"Authorization: Bearer {token}", "url": "/api/checkout", "status": 502})
    if _special(n, MARKUP_FIRST):
        return _compact({"level": 30, **base, "msg": 'cart item added: "[bold]Limited[/bold] mug '
                           '[red blink]x2[/]" [link=http://example.invalid]gift note[/link]',
                           "method": "POST", "url": "/api/cart/items", "status": 200, "responseTime": 41})
    roll = rng.random()
    extra: dict[str, Any]
    if roll < 0.05:
        msg, extra = rng.choice((
            ("payment authorisation timed out after 10000ms", {"provider": "paylane", "attempt": 3}),
            ("POST /api/checkout 500", {"err": {"type": "PoolTimeoutError", "message":
                                                "timed out acquiring a connection after 5000ms (50/50 in use)"}}),
            ("unhandled error in checkout handler", {"err": {"type": "UpstreamError",
                                                             "message": "paylane: 504 Gateway Timeout"}}),
        ))
        return _compact({"level": 50, **base, "msg": msg, "method": "POST", "url": "/api/checkout",
                           "status": 500, "responseTime": rng.randint(5000, 10200), **extra})
    if roll < 0.15:
        msg, extra = rng.choice((
            ("payment provider slow", {"provider": "paylane", "provider_latency_ms": rng.randint(2500, 9800)}),
            ("retrying payment authorisation", {"attempt": rng.randint(1, 2), "max_attempts": 3}),
            ("db pool near capacity", {"in_use": rng.randint(44, 50), "max": 50}),
            ("webhook signature check slow", {"url": "/api/payments/webhook", "ms": rng.randint(800, 2000)}),
        ))
        return _compact({"level": 40, **base, "msg": msg, **extra})
    method, route = _pick_route(rng)
    url = route.replace("{sku}", f"SKU-{rng.randint(1000, 9999)}").replace("{order}", f"ord_{rng.randint(10**5, 10**6)}")
    slow = route == "/api/checkout"
    return _compact({"level": 30, **base, "msg": "request completed", "method": method, "url": url,
                       "status": 201 if method == "POST" and not slow else 200,
                       "responseTime": rng.randint(300, 2400) if slow else rng.randint(4, 180)})


def _pick_route(rng: random.Random) -> tuple[str, str]:
    roll, total = rng.random(), 0.0
    for method, route, weight in _ROUTES:
        total += weight
        if roll < total:
            return method, route
    return _ROUTES[0][0], _ROUTES[0][1]


def docker_time(ns: int) -> str:
    """RFC 3339 with nanoseconds, as `docker logs --timestamps` prints it."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def worker_line(rng: random.Random, n: int, now_ns: int) -> str:
    """Line `n` of the job worker's log: plain text after a docker timestamp."""
    job = 48_200 + n
    stamp = docker_time(now_ns)
    if _special(n, SECRET_FIRST):
        return (f"{stamp} WARN job {job} replay_webhook failed; request headers: "
                f"Authorization: Bearer {fake_jwt(rng)}")
    if _special(n, MARKUP_FIRST):
        return (f"{stamp} INFO job {job} render_invoice preview: \x1b[1;31mTOTAL DUE\x1b[0m "
                f"[bold]$42.00[/bold] [red]overdue[/red]")
    roll = rng.random()
    if roll < 0.04:
        return rng.choice((
            f"{stamp} ERROR job {job} capture_payment failed: timed out acquiring db connection (50/50 in use)",
            f"{stamp} ERROR job {job} reconcile_payment failed: paylane returned 504 after 10.0s",
        ))
    if roll < 0.12:
        return rng.choice((
            f"{stamp} WARN job {job} capture_payment retry {rng.randint(1, 4)}/5: provider timeout after 10s",
            f"{stamp} WARN queue orders depth={rng.randint(600, 1400)} above 500 for 5m",
            f"{stamp} WARN job {job} send_order_confirmation rate limited (429), backing off 2s",
        ))
    if roll < 0.22:
        return f"{stamp} INFO queue orders depth={rng.randint(100, 900)} busy={rng.randint(5, 8)}/8"
    kind = rng.choice(_JOBS)
    if rng.random() < 0.4:
        return f"{stamp} INFO job {job} {kind} started"
    return f"{stamp} INFO job {job} {kind} done in {rng.randint(20, 1500)}ms"


def log_stream(name: str, rng: random.Random | None = None,
               now_ns: Callable[[], int] = time.time_ns) -> Iterator[tuple[float, str]]:
    """Endless (delay before the line, line) pairs: a few a second, with bursts."""
    if name not in LOG_SOURCES:
        raise ValueError(f"no demo log {name!r}; use one of {', '.join(LOG_SOURCES)}")
    rng = rng or random.Random()
    make = LOG_SOURCES[name]
    n, burst = 0, 0
    while True:
        if n == 0:
            delay = 0.0  # the first line at once
        elif burst:
            burst -= 1
            delay = rng.uniform(0.005, 0.03)
        else:
            if rng.random() < 0.04:
                burst = rng.randint(5, 20)
            delay = min(1.5, rng.expovariate(3.0))
        if name == "checkout":
            line = make(rng, n, (now_ns() + int(delay * 1e9)) // 1_000_000)
        else:
            line = make(rng, n, now_ns() + int(delay * 1e9))
        yield delay, line
        n += 1


LOG_SOURCES: dict[str, Callable[..., str]] = {"checkout": checkout_line, "worker": worker_line}


def run_logs(name: str, out: TextIO | None = None, limit: int | None = None,
             sleep: Callable[[float], None] = time.sleep) -> int:
    """Print a demo log to `out`, one flushed line at a time, forever or `limit` lines."""
    out = out or sys.stdout
    for count, (delay, line) in enumerate(log_stream(name)):
        if limit is not None and count >= limit:
            break
        if delay:
            sleep(delay)
        out.write(line + "\n")
        out.flush()
    return 0


def restart_worker(out: TextIO | None = None, pause: float = 0.1) -> int:
    """A fake worker restart: a few lines, then exit 0."""
    out = out or sys.stdout
    for line in restart_lines(random.Random()):
        out.write(line + "\n")
        out.flush()
        time.sleep(pause)
    return 0


def restart_lines(rng: random.Random) -> list[str]:
    old, new = rng.randint(30_000, 40_000), rng.randint(40_001, 50_000)
    held = rng.randint(9, 16)
    return [
        f"worker-orders-1: sending SIGTERM to pid {old}",
        f"worker-orders-1: draining {rng.randint(3, 8)} in-flight jobs back to the queue",
        f"worker-orders-1: stopped after {rng.uniform(0.8, 2.4):.1f}s; released {held} database connections",
        f"worker-orders-1: started pid {new}",
        f"worker-orders-1: healthy, picked up job {48_300 + rng.randint(0, 99)}",
    ]


# --- the demo war room ------------------------------------------------------------------------

_PLACEHOLDER_URL = "http://127.0.0.1:9"  # only to read the config before the service runs


class _Story:
    """Writes the record as several people would have, each event at its own wall time.

    A frozen clock is moved to each event's time, so both `at` and the HLC stamp are
    backdated and the fold sees the story in the order it happened.
    """

    def __init__(self, config: Any, now: datetime) -> None:
        from warroom.record.clock import FrozenClock

        self.config = config
        self.now = now
        self.clock = FrozenClock(now)
        self.rooms: dict[str, Room] = {}

    def at(self, minutes: float) -> _Story:
        when = self.now + timedelta(minutes=minutes)
        if when > self.now:
            raise ValueError("the demo story cannot write in the future")
        self.clock.set(when)
        return self

    def by(self, author: str) -> Room:
        from warroom.record.room import Room
        from warroom.record.store import Store

        room = self.rooms.get(author)
        if room is None:
            store = Store(self.config.record_path, clock=self.clock, author=author, create_missing=True)
            room = self.rooms[author] = Room(self.config, store, self.clock)
        room.reload()  # see what the others wrote
        return room

    def time(self, minutes: float) -> datetime:
        return self.now + timedelta(minutes=minutes)

    def close(self) -> None:
        for room in self.rooms.values():
            try:
                room.store.checkpoint()
            except Exception:  # noqa: BLE001 - closing: a checkpoint that fails costs nothing
                pass
            room.close()


def _hhmm(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%H:%M UTC")


def build_demo(folder: Path, clock: Clock) -> Path:
    """Create the demo war room in `folder` with its record written; return warroom.toml's path.

    The open incident is ~25 minutes old at `clock.now()`; an older resolved one is a
    day earlier. Nothing is written after `clock.now()`.
    """
    from warroom import config as config_mod
    from warroom.errors import UsageError
    from warroom.paths import GITIGNORE_LINES
    from warroom.record.dbfile import create_record
    from warroom.record.store import record_path
    from warroom.share import exchange
    from warroom.share.setup import GITATTRIBUTES

    folder = Path(folder)
    config_path = folder / config_mod.CONFIG_NAME
    if config_path.exists() or (folder / "warroom.db").exists():
        raise UsageError(f"{folder}: already a war room; the demo needs an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(DEMO_DIR, folder, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "warroom.db*"))
    shutil.copytree(TEMPLATES_DIR, folder / "templates", dirs_exist_ok=True)
    (folder / ".gitattributes").write_text(GITATTRIBUTES)
    (folder / ".gitignore").write_text("\n".join(GITIGNORE_LINES) + "\n")
    create_record(record_path(folder))
    config = config_mod.load(config_path, environ={"DEMO_URL": _PLACEHOLDER_URL, **os.environ})
    story = _Story(config, clock.now())
    try:
        _write_resolved_incident(story)
        _write_open_incident(story)
    finally:
        story.close()
    exchange.write(record_path(folder), folder / "warroom.db")  # the shared copy, as a sync leaves it
    return config_path


def _write_resolved_incident(s: _Story) -> None:
    """Yesterday's P3: order confirmation emails delayed, resolved, root cause known."""
    from warroom.record.events import format_time

    day = -26 * 60  # minutes: a day and two hours before now
    declared = s.at(day).by("erin").declare(
        "Order confirmation emails delayed", "P3",
        impact="Confirmation emails arrive 20 to 40 minutes late for about 15% of orders",
        detected_at=s.time(day - 6))
    inc = s.by("erin").head(declared.id)
    s.at(day + 2).by("erin").acknowledge(inc)
    s.at(day + 3).by("erin").assign(inc, "Tech Lead", "frank")
    s.at(day + 3.5).by("erin").assign(inc, "Scribe", "carol")
    s.at(day + 5).by("carol").log(inc, "Support forwarded three customers asking where their confirmation is")
    s.at(day + 10).by("frank").log(inc, "Email queue at 4,800 jobs and climbing; the mail provider answers "
                                        "429 Too Many Requests", "finding")
    s.at(day + 12).by("frank").log(inc, "A marketing campaign started at the same time on the same sending "
                                        "account", "finding")
    s.at(day + 14).by("erin").log(inc, "Lower the email workers' send concurrency from 20 to 5 and let the "
                                       "provider's rate limit recover", "decision")
    s.at(day + 15).by("erin").set_status(inc, "identified")
    s.at(day + 16).by("erin").post_update(
        inc, "Identified: Order confirmation emails delayed\n\nSome confirmation emails are arriving late. "
             "We have found the cause and are slowing our sending so the backlog clears.",
        template="statuspage-identified", channel="status page")
    s.at(day + 18).by("frank").log(inc, "Send concurrency set to 5 on all email workers", "action")
    s.at(day + 40).by("erin").set_status(inc, "monitoring")
    s.at(day + 70).by("frank").log(inc, "Queue drained; confirmation emails go out within a minute again", "finding")
    s.at(day + 85).by("erin").set_status(inc, "resolved")
    s.at(day + 86).by("erin").set_field(inc, "root_cause", "A marketing campaign used the transactional "
                                        "email account and exhausted its send quota; order confirmations "
                                        "queued behind it")
    s.at(day + 86.2).by("carol").set_field(inc, "impact_started_at", format_time(s.time(day - 21)))
    s.at(day + 86.5).by("erin").set_field(inc, "resolution", "Reduced send concurrency until the backlog "
                                          "cleared; campaign sends paused")
    s.at(day + 87).by("erin").post_update(
        inc, "Resolved: Order confirmation emails delayed\n\nConfirmation emails are being delivered "
             "normally again. Thank you for your patience.", template="statuspage-resolved",
        channel="status page")
    due = (s.now + timedelta(days=6)).strftime("%Y-%m-%d")
    s.at(day + 90).by("frank").add_action(inc, "Move marketing campaigns to their own sending account",
                                          owner="frank", due=due, priority="high")
    alert = s.at(day + 91).by("erin").add_action(inc, "Alert when the email queue's oldest job is over 10 minutes",
                                                 owner="erin", priority="medium")
    s.at(day + 300).by("erin").action_done(alert.id)


def _write_open_incident(s: _Story) -> None:
    """The incident in progress: checkout payments failing, P2 raised to P1, cause identified."""
    from warroom.record.events import format_time

    declared = s.at(-25).by("alice").declare(
        "Checkout payments failing intermittently", "P2",
        impact="About 1 in 20 card payments at checkout fails or times out; some customers are "
               "charged and shown an error", ic="alice", detected_at=s.time(-29))
    inc = s.by("alice").head(declared.id)
    s.at(-24.5).by("alice").acknowledge(inc)
    s.at(-24).by("alice").assign(inc, "Tech Lead", "bob")
    s.at(-23.8).by("alice").assign(inc, "Scribe", "carol")
    s.at(-23.5).by("alice").assign(inc, "Communications Lead", "dan")
    s.at(-23).by("carol").log(inc, "Paged by the error-rate alert; checkout error ratio at 2.8% and climbing")
    s.at(-22.5).by("carol").record_flip(inc, "error-rate", "degraded", "down",
                                        'http_requests_error_ratio{service="checkout"} 0.061 above 0.05')
    s.at(-22).by("bob").log(inc, "Payment provider authorisation calls: p99 at 9.4 s (normally 400 ms); "
                                 "our client timeout is 10 s", "finding")
    s.at(-21).by("carol").log(inc, '{"level":50,"msg":"payment authorisation timed out after 10000ms",'
                                   '"req_id":"req-7f3a9c21","url":"/api/checkout","status":500}',
                              "finding", source="log:checkout")
    tickets = s.at(-20).by("dan").log(inc, "Support reports customers charged but shown an error page; "
                                           "14 tickets so far")
    s.at(-19.5).by("alice").log(inc, "Raise to P1: payments are failing and customers are being charged "
                                     "without an order", "decision")
    s.at(-19.4).by("alice").set_severity(inc, "P1")
    s.at(-18).by("alice").record_flip(inc, "database", "up", "down",
                                      "HTTP 503: timed out acquiring a connection (50/50 in use)")
    s.at(-17).by("bob").log(inc, "Checkout retries each payment call 3 times with a 10 s timeout and holds "
                                 "a database connection throughout; the pool is at 50/50", "finding")
    s.at(-16.5).by("bob").log(inc, "Restarting the order worker (stuck-worker runbook) to release the "
                                   "connections it holds", "action")
    s.at(-16).by("bob").record_command(inc, "python3 -m warroom.demo restart-worker", 0,
                                       "\n".join(restart_lines(random.Random(7))), runbook="stuck-worker")
    s.at(-15).by("alice").record_flip(inc, "database", "down", "up", "HTTP 200 in 12 ms")
    s.at(-14.5).by("alice").log(inc, "Switch payment retries off with the checkout.payment_retries flag: fail "
                                     "fast and let customers retry", "decision")
    s.at(-14).by("alice").set_status(inc, "identified")
    s.at(-13.5).by("alice").set_field(inc, "eta", f"by {_hhmm(s.time(+20))} (flag rollout, then the pool drains)")
    s.at(-13.2).by("carol").set_field(inc, "impact_started_at", format_time(s.time(-33)))
    s.at(-12).by("dan").post_update(
        inc, "Identified: Checkout payments failing intermittently\n\n"
             "Some card payments at checkout are failing or timing out, and a few customers were charged "
             "without receiving an order confirmation. We have found the cause and are rolling out a fix.\n\n"
             f"Expected recovery: by {_hhmm(s.time(+20))}.\nNext update by {_hhmm(s.time(+3))}.",
        template="statuspage-identified", channel="status page")
    s.at(-11).by("bob").log(inc, "checkout.payment_retries set to off in production", "action")
    due = (s.now + timedelta(days=7)).strftime("%Y-%m-%d")
    s.at(-10.5).by("alice").add_action(inc, "Put a circuit breaker around payment provider calls",
                                       owner="bob", due=due, priority="high")
    confirm = s.at(-10).by("alice").add_action(inc, "Ask the payments owner to confirm there are no double "
                                                    "charges", owner="dan", priority="high")
    s.at(-9).by("bob").log(inc, "Error ratio falling since the flag change: 6.1% to 3.4%; pool down to 31/50",
                           "finding")
    s.at(-8).by("carol").log(inc, "Payment provider's status page now shows degraded card authorisations "
                                  "in the EU region")
    s.at(-7).by("dan").log(inc, "Payments owner confirms no double charges; 23 orders stuck in pending, to "
                                "reconcile once mitigated")
    s.at(-6.5).by("dan").action_done(confirm.id)
    s.at(-5).by("alice").log(inc, "Stay in Identified until the error ratio holds under 1% for 15 minutes, "
                                  "then move to Monitoring", "decision")
    s.at(-4).by("bob").log(inc, "Two checkout pods never picked up the flag change; their error ratio is "
                                "still 7%", "finding")
    s.at(-3).by("bob").log(inc, "Rolling restart of the two stale checkout pods", "action")
    s.at(-2).by("carol").log(inc, "Customer liaison is still unassigned; support asks who answers "
                                  "customers about pending orders")
    s.at(-1.5).by("dan").edit(tickets.id, "Support reports customers charged but shown an error page; "
                                          "17 tickets so far")


def _python_on_path() -> None:
    """The demo's log sources and runbooks run `python3 -m warroom.demo`: make that this Python.

    `make demo` runs .venv/bin/warroom without activating the venv, so the first python3 on
    PATH might not have warroom installed.
    """
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[:1] != [bindir]:
        os.environ["PATH"] = bindir + (os.pathsep + path if path else "")


DEMO_EXPORTS = "warroom-demo-exports"


def demo_exports_dir(cwd: Path | None = None) -> Path:
    """Where the demo's exports go so that they outlive it: `warroom-demo-exports/` in the
    folder the demo was started from (where a new user looks first, next to what they ran),
    or, when that folder cannot take it, `demo-exports/` in the user's state folder."""
    from warroom.paths import user_state_dir

    for folder in (Path(cwd or os.getcwd()) / DEMO_EXPORTS, user_state_dir() / "demo-exports"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK | os.X_OK):
            return folder.resolve()
    raise OSError("neither ./warroom-demo-exports nor the user's state folder can be written")


def keep_exports(room_folder: Path, target: Path) -> Callable[[], str]:
    """Make the demo room's exports/ land in `target`, which outlives the temporary room.

    Returns what to say once the console has closed: the folder and the files written there
    during this run, or nothing when none was (the folder is then removed if it was made for
    this run and is empty)."""
    had_files = any(target.iterdir())
    before = {p.name: p.stat().st_mtime_ns for p in target.iterdir() if p.is_file()}
    exports = room_folder / "exports"
    try:
        exports.symlink_to(target, target_is_directory=True)
        linked = True
    except OSError:  # no symbolic links here: copy them over when the console closes
        linked = False

    def report() -> str:
        try:
            if not linked and exports.is_dir():
                for path in exports.iterdir():
                    if path.is_file() and not path.name.startswith("."):
                        shutil.copy2(path, target / path.name)
            written = sorted(p.name for p in target.iterdir() if p.is_file() and not p.name.startswith(".")
                             and before.get(p.name) != p.stat().st_mtime_ns)
        except OSError as exc:
            return f"The demo's exports could not be kept in {target}: {exc}"
        if not written:
            if not had_files:
                try:
                    target.rmdir()
                    if linked:  # a kept room (--keep) must not point at a folder that is gone
                        exports.unlink()
                except OSError:
                    pass
            return ""
        return f"The demo's exports are kept in {target}: {', '.join(written)}"

    return report


def run_demo(keep: bool = False, *, console: Callable[[Room], int] | None = None) -> int:
    """Open the console on a fresh demo war room; remove it afterwards unless `keep`.

    `console(room) -> exit code` defaults to warroom.ui.app.run_console (tests pass their own).
    """
    from warroom.errors import ConfigError, StoreError, UsageError
    from warroom.record.clock import SystemClock
    from warroom.record.room import Room

    folder = Path(tempfile.mkdtemp(prefix="warroom-demo-"))
    service = DemoService()
    exports_report: Callable[[], str] | None = None
    code = 1
    try:
        os.environ["DEMO_URL"] = service.start()
        _python_on_path()
        config_path = build_demo(folder, SystemClock())
        # The post-mortem and the last update a toast points to must survive quitting.
        exports_report = keep_exports(folder, demo_exports_dir())
        if console is None:
            try:
                from warroom.ui.factory import run_console

                console = run_console
            except ImportError as exc:
                print(f"warroom demo: the console cannot start ({exc}); reinstall warroom "
                      f"(`make clean demo`)", file=sys.stderr)
                return 1
        room = Room.open(config_path)
        try:
            code = console(room)
        finally:
            room.close()
    except (ConfigError, StoreError, UsageError, OSError) as exc:
        print(f"warroom demo: {exc}", file=sys.stderr)
        code = 1
    finally:
        service.stop()
        if exports_report is not None:
            said = exports_report()
            if said:
                print(said)
        if keep:
            print(f"demo war room kept in {folder} (start its fake shop with "
                  f"`python3 -m warroom.demo serve` and export DEMO_URL to reuse it)")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return code


def serve(port: int = 0) -> int:
    service = DemoService(port=port)
    url = service.start()
    print(f"export DEMO_URL={url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        service.stop()


USAGE = """usage: python -m warroom.demo [--keep]         open the console on a demo war room
       python -m warroom.demo logs checkout|worker  print a fake log stream forever
       python -m warroom.demo restart-worker        pretend to restart the worker
       python -m warroom.demo serve [PORT]          run the fake shop alone"""


def _quiet_exit(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _quiet_exit)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a closed reader ends us silently
    try:
        if args[:1] == ["logs"] and len(args) == 2 and args[1] in LOG_SOURCES:
            return run_logs(args[1])
        if args == ["restart-worker"]:
            return restart_worker()
        if args[:1] == ["serve"] and len(args) <= 2 and all(a.isdigit() for a in args[1:]):
            return serve(int(args[1]) if len(args) == 2 else 0)
        if args in ([], ["--keep"]):
            return run_demo(keep=bool(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:  # stop the interpreter's final flush from complaining about the closed pipe
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
