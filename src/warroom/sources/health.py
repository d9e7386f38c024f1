"""Health checks: http, metrics (Prometheus text), statuspage and command.

- One shared `httpx.AsyncClient` with explicit timeouts and limits. Redirects
  are followed by hand and only within the same scheme, host and port, so the
  configured headers (tokens) never reach another host: a redirect elsewhere
  is reported, not followed.
- Bodies are streamed and read up to `max_body` bytes (256 KiB), so a 1 GB
  body costs no more than the cap; `Accept-Encoding: identity` is asked for and
  gzip/deflate bodies are inflated only up to the cap.
- Each check has an overall deadline (its `timeout`): a hanging server or a
  stuck command (its whole process group is killed) cannot hold up the others.
- Every detail shown is sanitized and has the config's secrets redacted.

`HealthMonitor.run(on_result)` calls a plain callback; the UI turns it into messages.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from warroom import __version__
from warroom.config import CheckConfig
from warroom.record.clock import Clock, SystemClock
from warroom.sources.answers import (
    MISSING,
    describe_error,
    find_sample,
    json_lookup,
    number_text,
    parse_sample_spec,
    same_value,
    shown_value,
)
from warroom.sources.process import signal_name, spawn
from warroom.sources.results import DETAIL_LIMIT, CheckResult
from warroom.text import durations
from warroom.text.redact import redact_key_blocks
from warroom.text.sanitize import Sanitizer

__all__ = ["HealthMonitor", "STATES", "check_all"]

STATES = ("up", "degraded", "down", "unknown", "disabled")  # disabled: a ${VAR} it needs is unset
KNOWN_STATES = frozenset({"up", "degraded", "down"})
MAX_BODY = 256 * 1024
MAX_REDIRECTS = 5
POOL_SIZE = 64  # HTTP checks per shared client (see HealthMonitor._client_for)
COMMAND_OUTPUT_TAIL = 64 * 1024
_STATUSPAGE = {"none": "up", "minor": "degraded", "maintenance": "degraded", "major": "down", "critical": "down"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


@dataclass
class _Fetched:
    status: int
    body: bytes
    truncated: bool
    latency: float
    problem: str | None = None  # set when the body cannot be decoded


class _Failure(Exception):
    """A check's outcome known before its body is looked at."""

    def __init__(self, state: str, detail: str, status: int | None = None, latency: float | None = None) -> None:
        super().__init__(detail)
        self.state, self.detail, self.status, self.latency = state, detail, status, latency


# --- the monitor ------------------------------------------------------------------

ResultCallback = Callable[[CheckResult, "str | None"], None]


class HealthMonitor:
    """Runs the configured checks; keeps a bounded history per check and reports flips."""

    def __init__(
        self,
        checks: Sequence[CheckConfig],
        *,
        clock: Clock | None = None,
        secrets: Iterable[str] = (),
        history: int = 60,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        max_body: int = MAX_BODY,
        client: httpx.AsyncClient | None = None,
        trust_env: bool = True,
        verify: bool = True,
    ) -> None:
        self.checks = tuple(checks)
        self.clock = clock or SystemClock()
        self.cwd = os.fspath(cwd) if cwd is not None else None
        self.env = env
        self.max_body = max_body
        self.trust_env = trust_env
        self._sanitize = Sanitizer(tuple(secrets), limit=DETAIL_LIMIT)
        self._history_size = max(1, history)
        self._history: dict[str, deque[CheckResult]] = {}
        self._last_known: dict[str, str] = {}
        self._client = client  # given: used for every check, and closed by its owner
        self._clients: list[httpx.AsyncClient] = []
        self._group_of: dict[str, int] = {}
        self.verify = verify

    # --- public ---------------------------------------------------------------

    def history(self, name: str) -> list[CheckResult]:
        return list(self._history.get(name, ()))

    def latest(self, name: str) -> CheckResult | None:
        results = self._history.get(name)
        return results[-1] if results else None

    def record(self, result: CheckResult) -> str | None:
        """Add to the history; -> the previous state if this result flips between two of
        up/degraded/down ('unknown' results neither flip nor break a flip), else None."""
        self._history.setdefault(result.name, deque(maxlen=self._history_size)).append(result)
        if result.state not in KNOWN_STATES:
            return None
        previous = self._last_known.get(result.name)
        self._last_known[result.name] = result.state
        return previous if previous is not None and previous != result.state else None

    async def check_once(self, check: CheckConfig) -> CheckResult:
        """Run one check within its timeout. Never raises; does not record history."""
        if check.disabled:  # never run: a variable it needs is unset
            return self._result(check, "disabled", check.disabled)
        try:
            # command checks enforce their own timeout (and kill); this is the backstop
            slack = 2.0 if check.kind == "command" else 0.05
            async with asyncio.timeout(check.timeout + slack):
                return await self._dispatch(check)
        except TimeoutError:
            return self._result(check, "down", f"timeout after {durations.measured(check.timeout)}")
        except _Failure as failure:
            return self._result(check, failure.state, failure.detail, failure.status, failure.latency)
        except Exception as exc:  # noqa: BLE001 - any failure is the check's result, never the loop's end
            return self._result(check, "unknown", describe_error(exc, check.timeout))

    async def run_round(self) -> list[CheckResult]:
        """Every check once, concurrently; results in config order (and recorded)."""
        results = await asyncio.gather(*(self.check_once(check) for check in self.checks))
        for result in results:
            self.record(result)
        return list(results)

    async def run(self, on_result: ResultCallback) -> None:
        """Run each check on its own interval, each in its own task, until cancelled.
        `on_result(result, flipped_from)` is a plain callback (exceptions in it are ignored)."""
        tasks = [
            asyncio.create_task(self._loop(check, on_result), name=f"check {check.name}")
            for check in self.checks
            if not check.disabled
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:
            try:
                await client.aclose()
            except Exception:  # noqa: BLE001 - closing must not fail the caller  # pragma: no cover
                pass

    # --- internals ------------------------------------------------------------

    async def _loop(self, check: CheckConfig, on_result: ResultCallback) -> None:
        loop = asyncio.get_running_loop()
        every = max(0.01, check.every)
        next_at = loop.time()
        while True:
            result = await self.check_once(check)
            flipped = self.record(result)
            try:
                on_result(result, flipped)
            except Exception:  # noqa: BLE001 - a failing callback must not stop the checks
                pass
            next_at += every
            now = loop.time()
            if next_at < now:
                next_at = now  # a slow check: skip the missed beats rather than burst
            await asyncio.sleep(next_at - now)

    def _result(
        self, check: CheckConfig, state: str, detail: str, status: int | None = None, latency: float | None = None
    ) -> CheckResult:
        return CheckResult(
            name=check.name,
            kind=check.kind,
            state=state,
            detail=self._sanitize(detail),
            status_code=status,
            latency=latency,
            at=self.clock.now(),
        )

    async def _dispatch(self, check: CheckConfig) -> CheckResult:
        if check.kind == "http":
            return await self._http(check)
        if check.kind == "metrics":
            return await self._metrics(check)
        if check.kind == "statuspage":
            return await self._statuspage(check)
        if check.kind == "command":
            return await self._command(check)
        return self._result(check, "unknown", f"unknown check kind {check.kind!r}")

    def _client_for(self, check: CheckConfig) -> httpx.AsyncClient:
        """The client shared by this check's group. Up to POOL_SIZE HTTP checks share one
        client (so a usual config has exactly one); beyond that, checks are spread over
        a few clients, because httpcore's pool scans all its connections on every request
        (quadratic in their number). The clients share one TLS context."""
        if self._client is not None:
            return self._client
        if not self._clients:
            http_checks = [c.name for c in self.checks if c.kind != "command"]
            groups = max(1, -(-len(http_checks) // POOL_SIZE))
            self._group_of = {name: i % groups for i, name in enumerate(http_checks)}
            size = max(10, -(-len(http_checks) // groups))
            # httpx's own default TLS setup (certifi, SSL_CERT_FILE), built once for all
            verify = httpx.create_ssl_context(verify=self.verify, trust_env=self.trust_env)
            self._clients = [
                httpx.AsyncClient(
                    timeout=httpx.Timeout(10.0, connect=5.0),
                    # a connection per check at once, so a round never queues on the pool; no
                    # keep-alive: each check opens a fresh connection, as a new visitor would,
                    # and a server that dropped an idle connection is not mistaken for down
                    limits=httpx.Limits(max_connections=size, max_keepalive_connections=0),
                    follow_redirects=False,
                    headers={"User-Agent": f"warroom/{__version__} health-check", "Accept-Encoding": "identity"},
                    verify=verify,
                    trust_env=self.trust_env,
                    # proxies from the environment apply, but never to this machine's own services
                    mounts=dict.fromkeys(("all://localhost", "all://127.0.0.1", "all://[::1]")),
                )
                for _ in range(groups)
            ]
        return self._clients[self._group_of.get(check.name, 0) % len(self._clients)]

    async def _fetch(self, check: CheckConfig, url: str) -> _Fetched:
        client = self._client_for(check)
        timeout = httpx.Timeout(check.timeout)
        headers = dict(check.headers)
        method = check.method or "GET"
        try:
            current = httpx.URL(url)
        except Exception as exc:  # noqa: BLE001 - httpx raises several kinds for a bad URL: all mean the same
            raise _Failure("down", f"invalid URL: {exc}") from None
        started = time.perf_counter()
        try:
            for hop in range(MAX_REDIRECTS + 1):
                async with client.stream(method, current, headers=headers, timeout=timeout) as response:
                    status = response.status_code
                    if response.has_redirect_location and status != check.expect_status:
                        target = current.join(response.headers["location"])
                        if _origin(target) != _origin(current):
                            raise _Failure(
                                "down",
                                f"HTTP {status}: redirect to another host not followed "
                                f"({target.scheme}://{target.netloc.decode('ascii', 'replace')})",
                                status,
                                time.perf_counter() - started,
                            )
                        if hop == MAX_REDIRECTS:
                            raise _Failure(
                                "down", f"more than {MAX_REDIRECTS} redirects", status, time.perf_counter() - started
                            )
                        if status == 303 or (status in (301, 302) and method == "POST"):
                            method = "GET"
                        current = target
                        continue
                    body, truncated, problem = await self._read_body(response)
                    return _Fetched(status, body, truncated, time.perf_counter() - started, problem)
        except (_Failure, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to fetch is the check's result
            raise _Failure("down", describe_error(exc, check.timeout)) from None
        raise _Failure("down", "no response")  # pragma: no cover

    async def _read_body(self, response: httpx.Response) -> tuple[bytes, bool, str | None]:
        cap = self.max_body
        buffer = bytearray()
        truncated = False
        async for chunk in response.aiter_raw():
            buffer += chunk
            if len(buffer) > cap:
                truncated = True
                del buffer[cap:]
                break
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            return bytes(buffer), truncated, None
        if encoding in ("gzip", "x-gzip", "deflate"):
            for wbits in (47, -15):  # gzip or zlib header; raw deflate
                try:
                    inflater = zlib.decompressobj(wbits)
                    body = inflater.decompress(bytes(buffer), cap)
                    return body, truncated or bool(inflater.unconsumed_tail), None
                except zlib.error:
                    continue
            return b"", truncated, "body cannot be inflated"
        return b"", truncated, f"body is {encoding}-encoded"

    def _status_ok(self, check: CheckConfig, fetched: _Fetched) -> None:
        expected = check.expect_status
        ok = fetched.status == expected if expected else 200 <= fetched.status < 300
        if not ok:
            raise _Failure(
                "down", f"expected status {expected or '2xx'}, got {fetched.status}", fetched.status, fetched.latency
            )

    def _json_body(self, fetched: _Fetched) -> Any:
        if fetched.problem:
            raise _Failure("down", fetched.problem, fetched.status, fetched.latency)
        try:
            return json.loads(fetched.body)
        except (ValueError, UnicodeDecodeError):
            cut = f" (cut at {self.max_body // 1024} KiB)" if fetched.truncated else ""
            raise _Failure("down", f"body is not JSON{cut}", fetched.status, fetched.latency) from None

    async def _http(self, check: CheckConfig) -> CheckResult:
        fetched = await self._fetch(check, check.url)
        self._status_ok(check, fetched)
        if check.expect_json:
            data = self._json_body(fetched)
            for path, want in check.expect_json:
                got = json_lookup(data, path)
                if got is MISSING:
                    raise _Failure(
                        "down", f"expected {path} == {shown_value(want)}, missing", fetched.status, fetched.latency
                    )
                if not same_value(got, want):
                    raise _Failure(
                        "down",
                        f"expected {path} == {shown_value(want)}, got {shown_value(got)}",
                        fetched.status,
                        fetched.latency,
                    )
        if check.max_latency is not None and fetched.latency > check.max_latency:
            return self._result(
                check,
                "degraded",
                f"latency {durations.measured(fetched.latency)} over {durations.measured(check.max_latency)}",
                fetched.status,
                fetched.latency,
            )
        return self._result(check, "up", f"HTTP {fetched.status}", fetched.status, fetched.latency)

    async def _metrics(self, check: CheckConfig) -> CheckResult:
        spec = parse_sample_spec(check.sample)
        if spec is None:
            return self._result(
                check, "unknown", f'cannot read sample {check.sample!r}: expected name{{label="value",...}}'
            )
        fetched = await self._fetch(check, check.url)
        self._status_ok(check, fetched)
        if fetched.problem:
            raise _Failure("down", fetched.problem, fetched.status, fetched.latency)
        name, labels = spec
        value = find_sample(fetched.body.decode("utf-8", "replace"), name, labels)
        if value is None:
            cut = f" (body cut at {self.max_body // 1024} KiB)" if fetched.truncated else ""
            return self._result(check, "down", f"sample {check.sample} not found{cut}", fetched.status, fetched.latency)
        if math.isnan(value):
            return self._result(check, "unknown", f"{name} is NaN", fetched.status, fetched.latency)
        if check.down_above is not None and value > check.down_above:
            state, detail = "down", f"{name} {number_text(value)} > {number_text(check.down_above)}"
        elif check.degraded_above is not None and value > check.degraded_above:
            state, detail = "degraded", f"{name} {number_text(value)} > {number_text(check.degraded_above)}"
        else:
            state, detail = "up", f"{name} {number_text(value)}"
        return self._result(check, state, detail, fetched.status, fetched.latency)

    async def _statuspage(self, check: CheckConfig) -> CheckResult:
        url = check.url
        if not httpx.URL(url).path.endswith(".json"):
            url = url.rstrip("/") + "/api/v2/status.json"
        fetched = await self._fetch(check, url)
        self._status_ok(check, fetched)
        data = self._json_body(fetched)
        status = data.get("status") if isinstance(data, dict) else None
        indicator = status.get("indicator") if isinstance(status, dict) else None
        description = status.get("description") if isinstance(status, dict) else None
        if not isinstance(indicator, str):
            return self._result(
                check, "unknown", "no status.indicator in the status page JSON", fetched.status, fetched.latency
            )
        state = _STATUSPAGE.get(indicator.lower(), "unknown")
        detail = description if isinstance(description, str) and description else indicator
        return self._result(check, state, detail, fetched.status, fetched.latency)

    async def _command(self, check: CheckConfig) -> CheckResult:
        argv = check.command
        if not argv:
            return self._result(check, "unknown", "no command given")
        name = argv[0]
        started = time.perf_counter()
        try:
            spawned = await spawn(argv, env=self.env, cwd=self.cwd)
        except FileNotFoundError:
            if self.cwd is not None and not os.path.isdir(self.cwd):
                return self._result(check, "down", f"working folder not found: {self.cwd}")
            return self._result(check, "down", f"command not found: {name}")
        except PermissionError:
            return self._result(check, "down", f"permission denied: {name}")
        except OSError as exc:
            return self._result(check, "down", f"cannot run {name}: {exc.strerror or exc}")
        tail = bytearray()

        async def collect() -> None:
            while True:
                chunk = await spawned.stdout.read(65536)
                if not chunk:
                    break
                tail.extend(chunk)
                if len(tail) > COMMAND_OUTPUT_TAIL:
                    del tail[: len(tail) - COMMAND_OUTPUT_TAIL]

        reader = asyncio.ensure_future(collect())
        try:
            try:
                await asyncio.wait_for(asyncio.shield(spawned.exited), timeout=check.timeout)
            except TimeoutError:
                return self._result(check, "down", f"timeout after {durations.measured(check.timeout)}")
            try:  # the output a background child may still hold open is not waited for long
                await asyncio.wait_for(asyncio.shield(reader), timeout=0.5)
            except TimeoutError:
                pass
        finally:
            spawned.kill_group()  # on timeout, cancellation, and leftovers of a finished command
            if not reader.done():
                reader.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(spawned.exited), timeout=2.0)
            except (TimeoutError, asyncio.CancelledError):  # pragma: no cover
                pass
            spawned.close()
        code = spawned.returncode if spawned.returncode is not None else -9
        latency = time.perf_counter() - started
        last = ""
        lines = bytes(tail).decode("utf-8", "replace").replace("\r", "\n").split("\n")
        for line in reversed(redact_key_blocks(lines, tail=True)):  # no line of a private key
            if line.strip():
                last = line.strip()
                break
        if code == 0:
            return self._result(check, "up", last or "exit 0", code, latency)
        reason = f"exit {code}" if code > 0 else f"killed by {signal_name(-code)}"
        return self._result(check, "down", f"{reason}: {last}" if last else reason, code, latency)


# --- one round, for `warroom check` --------------------------------------------------


async def check_all(
    config_checks: Sequence[CheckConfig],
    clock: Clock | None = None,
    secrets: Iterable[str] = (),
    cwd: str | os.PathLike[str] | None = None,
) -> list[CheckResult]:
    """One round of every check; the client is closed afterwards."""
    monitor = HealthMonitor(config_checks, clock=clock, secrets=secrets, cwd=cwd)
    try:
        return await monitor.run_round()
    finally:
        await monitor.aclose()
