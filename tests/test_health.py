"""Health checks against real loopback servers and real subprocesses (no mocks)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from warroom.config import CheckConfig
from warroom.record.clock import FrozenClock
from warroom.sources.answers import find_sample, parse_prometheus, parse_sample_spec
from warroom.sources.results import CheckResult, format_table
from warroom.sources.health import HealthMonitor, check_all
from warroom.text.sanitize import REDACTED

try:
    from servers import serve
except ImportError:  # pragma: no cover - when tests/ is a package
    from tests.servers import serve

SCRIPTS = Path(__file__).parent / "scripts"
PY = sys.executable
CLOCK = FrozenClock("2026-11-24T05:32:00+00:00")


def run(coro, timeout: float = 60):
    """Run a coroutine on a fresh loop; `timeout` is only an upper bound for a hung test."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def http(name="web", **kwargs) -> CheckConfig:
    kwargs.setdefault("timeout", 5.0)
    return CheckConfig(name=name, kind="http", **kwargs)


async def once(check: CheckConfig, **monitor_kwargs) -> CheckResult:
    monitor = HealthMonitor([check], clock=CLOCK, **monitor_kwargs)
    try:
        return await monitor.check_once(check)
    finally:
        await monitor.aclose()


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def server():
    with serve() as srv:
        yield srv


# --- http -----------------------------------------------------------------------------


def test_http_up(server):
    result = run(once(http(url=server.url("/healthy"))))
    assert (result.state, result.detail, result.status_code) == ("up", "HTTP 200", 200)
    assert result.kind == "http" and result.name == "web"
    assert result.latency is not None and result.latency > 0
    assert result.at == CLOCK.now()


def test_http_expect_json(server):
    good = http(url=server.url("/healthy"), expect_json=(("status", "ok"), ("db.ok", True)))
    assert run(once(good)).state == "up"
    wrong = http(url=server.url("/healthy"), expect_json=(("status", "degraded"),))
    result = run(once(wrong))
    assert (result.state, result.detail) == ("down", 'expected status == "degraded", got "ok"')
    missing = http(url=server.url("/healthy"), expect_json=(("db.replica", "ok"),))
    assert run(once(missing)).detail == 'expected db.replica == "ok", missing'
    # true is not 1 and "1" is not 1
    typed = http(url=server.url("/healthy"), expect_json=(("db.ok", 1),))
    assert run(once(typed)).state == "down"
    number = http(url=server.url("/healthy"), expect_json=(("db.latency_ms", 3.0),))
    assert run(once(number)).state == "up"


def test_http_body_not_json(server):
    result = run(once(http(url=server.url("/text"), expect_json=(("status", "ok"),))))
    assert (result.state, result.detail, result.status_code) == ("down", "body is not JSON", 200)


def test_http_status(server):
    result = run(once(http(url=server.url("/error"))))
    assert (result.state, result.detail, result.status_code) == ("down", "expected status 2xx, got 500", 500)
    assert run(once(http(url=server.url("/error"), expect_status=500))).state == "up"
    result = run(once(http(url=server.url("/healthy"), expect_status=204)))
    assert result.detail == "expected status 204, got 200"


def test_http_post_method(server):
    result = run(once(http(url=server.url("/healthy"), method="POST")))
    assert result.state == "up"
    assert ("POST", "/healthy") in [(m, p) for m, p, _ in server.requests]


def test_http_max_latency_degraded(server):
    result = run(once(http(url=server.url("/slow?delay=0.3"), max_latency=0.1)))
    assert result.state == "degraded"
    assert result.detail.startswith("latency ") and result.detail.endswith(" over 100ms")
    assert result.latency >= 0.3


def test_http_timeout(server):
    started = time.perf_counter()
    result = run(once(http(url=server.url("/hang"), timeout=0.3)))
    assert (result.state, result.detail) == ("down", "timeout after 300ms")
    assert time.perf_counter() - started < 10  # bounded by the timeout, not by the server


def test_http_connection_refused():
    result = run(once(http(url=f"http://127.0.0.1:{free_port()}/health")))
    assert (result.state, result.detail) == ("down", "connection refused")


def test_http_dns_failure():
    result = run(once(http(url="http://warroom-no-such-host.invalid/health", timeout=5)))
    assert result.state == "down"
    assert result.detail in ("DNS lookup failed", "timeout after 5s")


def test_http_closed_without_answer(server):
    result = run(once(http(url=server.url("/close"))))
    assert (result.state, result.detail) == ("down", "connection closed without a response")


def test_http_tls_error(server):
    # a plain-HTTP server spoken to over TLS
    result = run(once(http(url=f"https://127.0.0.1:{server.port}/healthy")))
    assert result.state == "down"
    assert result.detail.startswith("TLS error")


def test_invalid_url():
    result = run(once(http(url="http://[::1/bad")))
    assert result.state == "down" and "invalid URL" in result.detail


def test_huge_body_is_capped(server):
    tracemalloc.start()
    try:
        result = run(once(http(url=server.url("/huge?mb=1024"), expect_json=(("status", "ok"),))))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.state, result.detail) == ("down", "body is not JSON (cut at 256 KiB)")
    # the server never got to send its 1 GiB: only what fits in socket buffers past the cap
    assert server.huge_sent < 64 << 20
    assert peak < 32 << 20
    # without a body expectation, the check is up and still reads no more than the cap
    assert run(once(http(url=server.url("/huge?mb=1024")))).detail == "HTTP 200"


def test_gzip_bomb_is_capped(server):
    assert len(server.bomb) < 1 << 20  # built before measuring: 32 MiB of zeros, gzipped
    tracemalloc.start()
    try:
        result = run(once(http(url=server.url("/gzip-bomb"), expect_json=(("status", "ok"),))))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.state, result.detail) == ("down", "body is not JSON (cut at 256 KiB)")
    assert peak < 16 << 20


def test_redirect_same_origin_is_followed_with_headers(server):
    check = http(url=server.url("/redirect-same"), headers=(("Authorization", "Bearer same-origin-token"),),
                 expect_json=(("status", "ok"),))
    result = run(once(check))
    assert (result.state, result.detail) == ("up", "HTTP 200")
    followed = [h for _, p, h in server.requests if p == "/healthy" and "Authorization" in h]
    assert followed and followed[-1]["Authorization"] == "Bearer same-origin-token"


def test_redirect_to_another_host_is_reported_not_followed(server):
    token = "Bearer cross-origin-token-123"
    with serve() as other:
        target = other.url("/healthy")
        check = http(url=server.url(f"/redirect-to?url={target}"), headers=(("Authorization", token),))
        result = run(once(check, secrets=["cross-origin-token-123"]))
        assert result.state == "down"
        assert result.status_code == 302
        assert "redirect to another host not followed" in result.detail
        assert f"127.0.0.1:{other.port}" in result.detail
        assert other.requests == []  # the token never reached the other host
        # another scheme on the same host is another origin too
        check = http(url=server.url(f"/redirect-to?url=https://127.0.0.1:{server.port}/x"),
                     headers=(("Authorization", token),))
        assert "not followed" in run(once(check)).detail


def test_redirect_loop_is_bounded(server):
    result = run(once(http(url=server.url("/redirect-loop"))))
    assert (result.state, result.detail) == ("down", "more than 5 redirects")


def test_expected_redirect_status_is_not_followed(server):
    result = run(once(http(url=server.url("/redirect-same"), expect_status=302)))
    assert (result.state, result.status_code) == ("up", 302)


# --- metrics ------------------------------------------------------------------------------


def metrics(server, sample, **kwargs) -> CheckConfig:
    return CheckConfig(name="errors", kind="metrics", url=server.url("/metrics"), sample=sample, **kwargs)


def test_metrics_thresholds(server):
    sample = 'http_requests_error_ratio{service="checkout"}'
    up = run(once(metrics(server, sample, down_above=0.05)))
    assert (up.state, up.detail) == ("up", "http_requests_error_ratio 0.02")  # not the region="eu" 0.5
    degraded = run(once(metrics(server, sample, down_above=0.05, degraded_above=0.01)))
    assert (degraded.state, degraded.detail) == ("degraded", "http_requests_error_ratio 0.02 > 0.01")
    down = run(once(metrics(server, 'http_requests_error_ratio{service="search"}', down_above=0.05)))
    assert (down.state, down.detail) == ("down", "http_requests_error_ratio 0.07 > 0.05")
    plain = run(once(metrics(server, "queue_depth", down_above=100)))
    assert (plain.state, plain.detail) == ("up", "queue_depth 12")


def test_metrics_missing_sample_and_nan(server):
    missing = run(once(metrics(server, 'http_requests_error_ratio{service="nope"}', down_above=1)))
    assert missing.state == "down"
    assert missing.detail == 'sample http_requests_error_ratio{service="nope"} not found'
    nan = run(once(metrics(server, 'odd_value{service="checkout"}', down_above=1)))
    assert (nan.state, nan.detail) == ("unknown", "odd_value is NaN")
    bad = run(once(metrics(server, "bad{sample", down_above=1)))
    assert bad.state == "unknown" and "cannot read sample" in bad.detail


def test_metrics_server_error(server):
    check = CheckConfig(name="m", kind="metrics", url=server.url("/error"), sample="x", down_above=1)
    assert run(once(check)).detail == "expected status 2xx, got 500"


def test_prometheus_parser():
    text = ('# HELP x help\n# TYPE x gauge\nx{a="1",b="two words"} 3.5 1700000000000\n'
            'x{b="two words",a="1",} 4\ny +Inf\nz -1e3\nbroken{a="1" 5\n'
            'esc{p="a\\"b\\\\c\\nd"} 1\n')
    samples = list(parse_prometheus(text))
    assert ("x", {"a": "1", "b": "two words"}, 3.5) in samples
    assert ("x", {"a": "1", "b": "two words"}, 4.0) in samples
    assert ("y", {}, float("inf")) in samples and ("z", {}, -1000.0) in samples
    assert ("esc", {"p": 'a"b\\c\nd'}, 1.0) in samples
    assert not any(name == "broken" for name, _, _ in samples)
    assert find_sample(text, "x", {"a": "1", "b": "two words"}) == 3.5
    assert find_sample(text, "x", {"a": "1"}) is None
    assert parse_sample_spec('x{a="1", b="2"}') == ("x", {"a": "1", "b": "2"})
    assert parse_sample_spec("queue_depth") == ("queue_depth", {})
    assert parse_sample_spec("x{a=1}") is None
    assert parse_sample_spec("x{a=\"1\"} junk") is None


# --- statuspage ---------------------------------------------------------------------------


@pytest.mark.parametrize("indicator, state", [
    ("none", "up"), ("minor", "degraded"), ("major", "down"), ("critical", "down"), ("weird", "unknown"),
])
def test_statuspage(indicator, state):
    with serve() as srv:
        srv.statuspage = (indicator, f"Vendor says {indicator}")
        for url in (srv.url("/statuspage"), srv.url("/statuspage/"), srv.url("/statuspage/api/v2/status.json")):
            result = run(once(CheckConfig(name="vendor", kind="statuspage", url=url)))
            assert (result.state, result.detail) == (state, f"Vendor says {indicator}")


def test_statuspage_bad_body(server):
    server.set("/badstatus/api/v2/status.json", 200, {"page": {}})
    result = run(once(CheckConfig(name="vendor", kind="statuspage", url=server.url("/badstatus"))))
    assert result.state == "unknown"
    result = run(once(CheckConfig(name="vendor", kind="statuspage", url=server.url("/text"))))
    assert (result.state, result.detail) == ("down", "expected status 2xx, got 404")


# --- command ------------------------------------------------------------------------------


def command(*argv, timeout=10.0) -> CheckConfig:
    return CheckConfig(name="cmd", kind="command", command=tuple(argv), timeout=timeout)


def test_command_up_and_down():
    up = run(once(command(PY, str(SCRIPTS / "exit_with.py"), "0", "first", "all good")))
    # stderr is merged: its last line is the last output line
    assert (up.state, up.detail, up.status_code) == ("up", "giving up: 0", 0)
    up = run(once(command("sh", "-c", "echo first; echo 'all good'; echo")))
    assert (up.state, up.detail) == ("up", "all good")
    down = run(once(command(PY, str(SCRIPTS / "exit_with.py"), "3", "working")))
    assert (down.state, down.detail, down.status_code) == ("down", "exit 3: giving up: 3", 3)
    silent = run(once(command("sh", "-c", "exit 4")))
    assert (silent.state, silent.detail) == ("down", "exit 4")
    crash = run(once(command(PY, str(SCRIPTS / "crash.py"))))
    assert crash.detail == "exit 1: RuntimeError: kaboom"


def test_command_not_found():
    result = run(once(command("warroom-no-such-command", "--flag")))
    assert (result.state, result.detail) == ("down", "command not found: warroom-no-such-command")


def test_command_output_is_sanitized():
    result = run(once(command("sh", "-c", r"printf 'ok\n\033]52;c;cGF5bG9hZA==\007\033[31mred\033[0m\n'")))
    assert (result.state, result.detail) == ("up", "red")


def test_command_timeout_kills_the_group(tmp_path):
    pidfile = tmp_path / "pids"
    started = time.perf_counter()
    result = run(once(command(PY, str(SCRIPTS / "children.py"), str(pidfile), "--ignore-term", timeout=3.0)))
    assert (result.state, result.detail) == ("down", "timeout after 3s")
    assert time.perf_counter() - started < 20
    pids = [int(p) for p in pidfile.read_text().split()]
    for pid in pids:
        assert wait_gone(pid), f"process {pid} survived the timeout"


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                return True
        except (OSError, IndexError):
            return True
        time.sleep(0.02)
    return False


# --- rounds, intervals, flips, history ------------------------------------------------------


def test_hanging_endpoint_does_not_delay_the_round(server):
    checks = [http("hang", url=server.url("/hang"), timeout=0.5),
              http("ok", url=server.url("/healthy")),
              http("slow", url=server.url("/slow?delay=0.2")),
              command("true")]

    async def go():
        monitor = HealthMonitor(checks, clock=CLOCK)
        started = time.perf_counter()
        results = await monitor.run_round()
        elapsed = time.perf_counter() - started
        await monitor.aclose()
        return results, elapsed

    results, elapsed = run(go())
    assert [r.name for r in results] == ["hang", "ok", "slow", "cmd"]
    assert [r.state for r in results] == ["down", "up", "up", "up"]
    assert results[0].detail == "timeout after 500ms"
    # concurrent: the round takes about the longest timeout, not the sum (generous bound)
    assert elapsed < 0.5 + 4.0


def test_flips_are_reported_once_per_flip(server):
    server.set("/flip", 200, {"status": "ok"})
    check = http("flip", url=server.url("/flip"), every=0.01)
    seen: list[tuple[str, str | None]] = []

    async def go():
        monitor = HealthMonitor([check], clock=CLOCK, history=5)
        done = asyncio.Event()

        def on_result(result: CheckResult, flipped_from: str | None) -> None:
            seen.append((result.state, flipped_from))
            # the server changes between two checks, from inside the plain callback
            if len(seen) == 3:
                server.set("/flip", 500, b"{}")
            elif len(seen) == 6:
                server.set("/flip", 200, {"status": "ok"})
            elif len(seen) == 9:
                done.set()

        task = asyncio.create_task(monitor.run(on_result))
        await done.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        history = monitor.history("flip")
        await monitor.aclose()
        return history

    history = run(go())
    assert seen[:9] == [("up", None), ("up", None), ("up", None),
                        ("down", "up"), ("down", None), ("down", None),
                        ("up", "down"), ("up", None), ("up", None)]
    assert len(history) == 5  # bounded


def test_record_flip_rules():
    monitor = HealthMonitor([], clock=CLOCK)

    def result(state):
        return CheckResult("c", "http", state, "", None, None, CLOCK.now())

    flips = [monitor.record(result(s)) for s in
             ("unknown", "up", "up", "unknown", "degraded", "down", "down", "up")]
    assert flips == [None, None, None, None, "up", "degraded", None, "down"]


def test_history_is_bounded(server):
    async def go():
        monitor = HealthMonitor([http(url=server.url("/healthy"))], clock=CLOCK, history=3)
        for _ in range(5):
            await monitor.run_round()
        await monitor.aclose()
        return monitor.history("web"), monitor.latest("web")

    history, latest = run(go())
    assert len(history) == 3 and latest is history[-1]


def test_callback_errors_do_not_stop_checks(server):
    calls = []

    async def go():
        monitor = HealthMonitor([http(url=server.url("/healthy"), every=0.01)], clock=CLOCK)
        done = asyncio.Event()

        def on_result(result, flipped):
            calls.append(result)
            if len(calls) >= 3:
                done.set()
            raise RuntimeError("UI bug")

        task = asyncio.create_task(monitor.run(on_result))
        await done.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await monitor.aclose()

    run(go())
    assert len(calls) >= 3


# --- secrets --------------------------------------------------------------------------------


def test_secrets_are_redacted_from_details(server):
    secret = "s3cr3t-from-env-XYZ"
    server.set("/leaky", 200, {"status": f"bad {secret}"})
    check = http(url=server.url("/leaky"), expect_json=(("status", "ok"),),
                 headers=(("Authorization", f"Bearer {secret}"),))
    result = run(once(check, secrets=[secret]))
    assert result.state == "down"
    assert secret not in result.detail and REDACTED in result.detail
    cmd = run(once(command("sh", "-c", f"echo token is {secret}; exit 2"), secrets=[secret]))
    assert cmd.detail == f"exit 2: token is {REDACTED}"
    shaped = run(once(command("sh", "-c", "echo password=hunter2hunter2")))
    assert shaped.detail == f"password={REDACTED}"


# --- warroom check ----------------------------------------------------------------------------


def test_loopback_is_never_proxied(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    assert run(once(http(url=server.url("/healthy")))).state == "up"


def test_check_all_and_format_table(server):
    checks = [http("api", url=server.url("/healthy")),
              http("broken", url=server.url("/error")),
              command("true")]
    results = run(check_all(checks, CLOCK, ()))
    table = format_table(results)
    lines = table.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "STATE", "CODE", "LATENCY", "DETAIL"]
    assert lines[1].startswith("api ") and "UP" in lines[1] and "200" in lines[1] and " ms" in lines[1]
    assert "DOWN" in lines[2] and "expected status 2xx, got 500" in lines[2]
    assert lines[3].startswith("cmd ") and "exit 0" in lines[3]
    assert len(lines) == 4
    # columns line up
    assert len({line.index("http") for line in lines[1:3]}) == 1


def test_format_table_escapes_hostile_names():
    result = CheckResult("evil\x1b[2Jname", "http", "up", "ok", None, None, CLOCK.now())
    assert "\x1b" not in format_table([result])


def test_health_does_not_import_textual():
    import subprocess

    code = "import sys, warroom.sources.health, warroom.sources.supervisor; sys.exit('textual' in sys.modules)"
    assert subprocess.run([PY, "-c", code], timeout=60).returncode == 0


def test_json_detail_for_nested_values(server):
    server.set("/nested", 200, json.dumps({"checks": [{"name": "db", "ok": False}]}))
    check = http(url=server.url("/nested"), expect_json=(("checks.0.ok", True),))
    assert run(once(check)).detail == "expected checks.0.ok == true, got false"
