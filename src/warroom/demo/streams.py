"""The demo's fake log streams: a checkout API's JSON lines and a worker's docker-style lines,
with a token-shaped line and markup-shaped text now and then (the console must show them inert)."""

from __future__ import annotations

import base64
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    pass


# --- fake log streams -----------------------------------------------------------------------


def fake_jwt(rng: random.Random) -> str:
    """A token-shaped string that is no one's secret: built at run time, signed by nothing."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(b'{"alg":"HS256","typ":"JWT"}')
    payload = part(
        json.dumps(
            {
                "sub": "svc-checkout",
                "scope": "payments:write",
                "demo": "fake token",
                "iat": 1_790_000_000 + rng.randrange(10_000_000),
            }
        ).encode()
    )
    signature = part(bytes(rng.randrange(256) for _ in range(32)))
    return f"{header}.{payload}.{signature}"


SECRET_EVERY = 150  # lines between token-shaped lines (the first comes early)
SECRET_FIRST, MARKUP_FIRST = 12, 25
_ROUTES = (
    ("GET", "/api/cart", 0.35),
    ("POST", "/api/cart/items", 0.15),
    ("GET", "/api/products/{sku}", 0.25),
    ("POST", "/api/checkout", 0.15),
    ("GET", "/api/orders/{order}", 0.05),
    ("POST", "/api/payments/webhook", 0.05),
)
_JOBS = (
    "send_order_confirmation",
    "capture_payment",
    "render_invoice",
    "sync_inventory",
    "reconcile_payment",
    "send_shipping_update",
)


def _compact(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def _req_id(rng: random.Random) -> str:
    return "req-" + "".join(rng.choice("0123456789abcdef") for _ in range(8))


def _special(n: int, first: int) -> bool:
    return n == first or (n > first and (n - first) % SECRET_EVERY == 0)


def checkout_line(rng: random.Random, n: int, now_ms: int) -> str:
    """Line `n` of the checkout API's log: one JSON object, pino style."""
    base: dict[str, Any] = {"time": now_ms, "pid": 7, "hostname": "checkout-6d9f7b8c4-x2k4q", "req_id": _req_id(rng)}
    if _special(n, SECRET_FIRST):
        token = fake_jwt(rng)
        return _compact(
            {
                "level": 40,
                **base,
                "msg": f"payment call failed, request headers: Authorization: Bearer {token}",
                "url": "/api/checkout",
                "status": 502,
            }
        )
    if _special(n, MARKUP_FIRST):
        return _compact(
            {
                "level": 30,
                **base,
                "msg": 'cart item added: "[bold]Limited[/bold] mug '
                '[red blink]x2[/]" [link=http://example.invalid]gift note[/link]',
                "method": "POST",
                "url": "/api/cart/items",
                "status": 200,
                "responseTime": 41,
            }
        )
    roll = rng.random()
    extra: dict[str, Any]
    if roll < 0.05:
        msg, extra = rng.choice(
            (
                ("payment authorisation timed out after 10000ms", {"provider": "paylane", "attempt": 3}),
                (
                    "POST /api/checkout 500",
                    {
                        "err": {
                            "type": "PoolTimeoutError",
                            "message": "timed out acquiring a connection after 5000ms (50/50 in use)",
                        }
                    },
                ),
                (
                    "unhandled error in checkout handler",
                    {"err": {"type": "UpstreamError", "message": "paylane: 504 Gateway Timeout"}},
                ),
            )
        )
        return _compact(
            {
                "level": 50,
                **base,
                "msg": msg,
                "method": "POST",
                "url": "/api/checkout",
                "status": 500,
                "responseTime": rng.randint(5000, 10200),
                **extra,
            }
        )
    if roll < 0.15:
        msg, extra = rng.choice(
            (
                ("payment provider slow", {"provider": "paylane", "provider_latency_ms": rng.randint(2500, 9800)}),
                ("retrying payment authorisation", {"attempt": rng.randint(1, 2), "max_attempts": 3}),
                ("db pool near capacity", {"in_use": rng.randint(44, 50), "max": 50}),
                ("webhook signature check slow", {"url": "/api/payments/webhook", "ms": rng.randint(800, 2000)}),
            )
        )
        return _compact({"level": 40, **base, "msg": msg, **extra})
    method, route = _pick_route(rng)
    url = route.replace("{sku}", f"SKU-{rng.randint(1000, 9999)}").replace(
        "{order}", f"ord_{rng.randint(10**5, 10**6)}"
    )
    slow = route == "/api/checkout"
    return _compact(
        {
            "level": 30,
            **base,
            "msg": "request completed",
            "method": method,
            "url": url,
            "status": 201 if method == "POST" and not slow else 200,
            "responseTime": rng.randint(300, 2400) if slow else rng.randint(4, 180),
        }
    )


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
        return f"{stamp} WARN job {job} replay_webhook failed; request headers: Authorization: Bearer {fake_jwt(rng)}"
    if _special(n, MARKUP_FIRST):
        return (
            f"{stamp} INFO job {job} render_invoice preview: \x1b[1;31mTOTAL DUE\x1b[0m "
            f"[bold]$42.00[/bold] [red]overdue[/red]"
        )
    roll = rng.random()
    if roll < 0.04:
        return rng.choice(
            (
                f"{stamp} ERROR job {job} capture_payment failed: timed out acquiring db connection (50/50 in use)",
                f"{stamp} ERROR job {job} reconcile_payment failed: paylane returned 504 after 10.0s",
            )
        )
    if roll < 0.12:
        return rng.choice(
            (
                f"{stamp} WARN job {job} capture_payment retry {rng.randint(1, 4)}/5: provider timeout after 10s",
                f"{stamp} WARN queue orders depth={rng.randint(600, 1400)} above 500 for 5m",
                f"{stamp} WARN job {job} send_order_confirmation rate limited (429), backing off 2s",
            )
        )
    if roll < 0.22:
        return f"{stamp} INFO queue orders depth={rng.randint(100, 900)} busy={rng.randint(5, 8)}/8"
    kind = rng.choice(_JOBS)
    if rng.random() < 0.4:
        return f"{stamp} INFO job {job} {kind} started"
    return f"{stamp} INFO job {job} {kind} done in {rng.randint(20, 1500)}ms"


def log_stream(
    name: str, rng: random.Random | None = None, now_ns: Callable[[], int] = time.time_ns
) -> Iterator[tuple[float, str]]:
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


def run_logs(
    name: str, out: TextIO | None = None, limit: int | None = None, sleep: Callable[[float], None] = time.sleep
) -> int:
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
