"""The demo: fake shop on loopback, fake log streams, the demo war room and its runbooks.

Real parts throughout: a real HTTP server on 127.0.0.1, real subprocesses, real SQLite.
"""

from __future__ import annotations

import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

from warroom import config as config_mod
from warroom.demo import shop as demo
from warroom.demo.run import run_demo
from warroom.demo.shop import DemoService
from warroom.demo.story import DEMO_DIR, build_demo
from warroom.demo.streams import log_stream
from warroom.errors import UsageError
from warroom.record.clock import FrozenClock
from warroom.record.events import ENTRY_TYPES, parse_time
from warroom.record.model import update_countdown
from warroom.record.room import Room

NOW = datetime(2026, 11, 24, 14, 30, tzinfo=timezone.utc)
PY_BIN = str(Path(sys.executable).parent)


def _env(**extra: str) -> dict[str, str]:
    """The environment the console gives log sources and runbooks: this Python first on PATH."""
    env = dict(os.environ)
    env["PATH"] = PY_BIN + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in metrics")


ERROR_RATIO = 'http_requests_error_ratio{service="checkout"}'


# --- the fake shop ---------------------------------------------------------------------------


def test_schedule_drifts_and_flips():
    ratios = [demo.error_ratio(t) for t in range(0, 481)]
    assert min(ratios) >= 0.005 and max(ratios) <= 0.08
    assert min(ratios) < 0.01 and max(ratios) > 0.05  # green, amber and red all happen
    assert 0.02 < demo.error_ratio(0) < 0.04          # starts amber
    health = [demo.health_is_degraded(t) for t in range(0, 300)]
    flips = sum(1 for a, b in zip(health, health[1:]) if a != b)
    assert health[0] is False and flips >= 4          # a flip every minute or two
    db = [demo.db_is_down(t) for t in range(0, 360)]
    down = [t for t, d in enumerate(db) if d]
    assert db[0] is False and 15 <= len(down) / 2 <= 25  # ~20 s down per cycle, twice
    assert demo.database(down[0])[0] == 503 and demo.database(0)[0] == 200


def test_service_routes_follow_the_injected_time():
    t = [0.0]
    with DemoService(now=lambda: t[0], jitter=None) as service:
        base = service.base_url
        assert base.startswith("http://127.0.0.1:")

        status, body = _get(base + "/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        assert set(json.loads(body)["checks"]) >= {"database", "payment_provider"}
        status, body = _get(base + "/api/health/db")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, text = _get(base + "/metrics")
        assert status == 200
        assert "# HELP http_requests_error_ratio" in text and "# TYPE http_requests_error_ratio gauge" in text
        assert 0.01 < _sample(text, ERROR_RATIO) < 0.05
        assert "http_requests_total{" in text and "db_pool_connections_in_use{" in text

        t[0] = demo.HEALTH_DEGRADED[0] + 5
        status, body = _get(base + "/health")
        assert status == 200 and json.loads(body)["status"] == "degraded"

        t[0] = 60.0
        assert _sample(_get(base + "/metrics")[1], ERROR_RATIO) > 0.05

        t[0] = demo.DB_DOWN[0] + 5
        status, body = _get(base + "/api/health/db")
        assert status == 503 and json.loads(body)["status"] == "down"
        t[0] = demo.DB_DOWN[1] + 1
        assert _get(base + "/api/health/db")[0] == 200

        t[0] = 190.0
        assert _sample(_get(base + "/metrics")[1], ERROR_RATIO) < 0.01

        status, body = _get(base + "/api/v2/status.json")
        summary = json.loads(body)
        assert status == 200 and summary["status"]["indicator"] == "minor"
        assert summary["status"]["description"] == "Partially Degraded Service" and summary["page"]["name"]

        status, body = _get(base + "/nope")
        assert status == 404
    with pytest.raises(OSError):
        urllib.request.urlopen(base + "/health", timeout=1)


def test_service_adds_latency_jitter():
    with DemoService() as service:
        started = time.perf_counter()
        for _ in range(3):
            assert _get(service.base_url + "/health")[0] == 200
        per_request = (time.perf_counter() - started) / 3
    assert 0.01 <= per_request < 0.5


# --- fake logs -------------------------------------------------------------------------------

WORKER_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (INFO|WARN|ERROR) \S")


def _lines(name: str, count: int) -> list[str]:
    stream = log_stream(name, random.Random(4))
    return [next(stream)[1] for _ in range(count)]


def test_checkout_log_is_pino_json_with_levels_a_secret_and_markup():
    lines = _lines("checkout", 400)
    records = [json.loads(line) for line in lines]
    for record in records:
        assert {"level", "time", "msg", "req_id"} <= set(record)
        assert isinstance(record["time"], int) and record["time"] > 1_600_000_000_000
    assert {30, 40, 50} <= {r["level"] for r in records}
    assert any(r["level"] == 50 and r.get("status") == 500 for r in records)
    assert any(re.search(r"Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+", line) for line in lines)
    assert any("[bold]" in r["msg"] for r in records)
    assert sum("Bearer" in line for line in lines) <= 3  # rare


def test_worker_log_is_docker_timestamped_text():
    lines = _lines("worker", 400)
    assert all(WORKER_LINE.match(line) for line in lines)
    levels = {line.split()[1] for line in lines}
    assert levels == {"INFO", "WARN", "ERROR"}
    assert any("Bearer eyJ" in line for line in lines)
    assert any("\x1b[" in line and "[bold]" in line for line in lines)


def _first_lines(proc: subprocess.Popen, count: int, timeout: float) -> list[str]:
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            found.put(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    lines = []
    while len(lines) < count:
        lines.append(found.get(timeout=max(0.01, deadline - time.monotonic())))
    return lines


def test_logs_checkout_subprocess_streams_json_and_stops_cleanly():
    proc = subprocess.Popen([sys.executable, "-m", "warroom.demo", "logs", "checkout"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        first = _first_lines(proc, 1, timeout=1.0)  # the first line comes at once
        more = _first_lines(proc, 2, timeout=5.0)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=5)
    for line in first + more:
        assert json.loads(line)["msg"]
    assert proc.returncode == 0
    assert err == ""


def test_logs_worker_subprocess_survives_a_closed_pipe_quietly():
    result = subprocess.run(["bash", "-c", f"'{sys.executable}' -m warroom.demo logs worker | head -n 3"],
                            capture_output=True, text=True, timeout=15, env=_env())
    assert result.returncode == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(WORKER_LINE.match(line) for line in lines)


def test_restart_worker_and_usage():
    result = subprocess.run([sys.executable, "-m", "warroom.demo", "restart-worker"],
                            capture_output=True, text=True, timeout=10, env=_env())
    assert result.returncode == 0 and len(result.stdout.splitlines()) >= 3 and result.stderr == ""
    result = subprocess.run([sys.executable, "-m", "warroom.demo", "logs", "nothing"],
                            capture_output=True, text=True, timeout=10, env=_env())
    assert result.returncode == 2 and "usage" in result.stderr and "Traceback" not in result.stderr


# --- the demo war room ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_room(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    path = build_demo(folder, FrozenClock(NOW))
    return folder, path


def test_build_demo_writes_the_folder(demo_room):
    folder, path = demo_room
    assert path == folder / "warroom.toml"
    assert (folder / "warroom.db").is_file() and not (folder / "warroom.db-wal").exists()
    assert sorted(p.name for p in (folder / "runbooks").glob("*.md")) == \
        sorted(p.name for p in DEMO_DIR.joinpath("runbooks").glob("*.md"))
    assert (folder / "templates" / "statuspage-identified.md").is_file()
    assert "merge=warroom" in (folder / ".gitattributes").read_text()
    assert "*.db-wal" in (folder / ".gitignore").read_text()
    with pytest.raises(UsageError):
        build_demo(folder, FrozenClock(NOW))


def test_build_demo_record_is_an_incident_in_progress(demo_room, monkeypatch):
    folder, path = demo_room
    monkeypatch.setenv("DEMO_URL", "http://127.0.0.1:1")
    config = config_mod.load(path)
    assert {c.name for c in config.checks} >= {"checkout-api", "database", "error-rate", "cloud-provider"}
    assert {s.name for s in config.logs} == {"checkout", "worker"}
    with Room.open(path, clock=FrozenClock(NOW), author="tester") as room:
        state = room.state
        assert not state.quarantined
        (incident,) = state.open_incidents
        assert incident.severity == "P1" and incident.status == "identified"
        assert [sev for _, sev in incident.severity_history] == ["P2", "P1"]
        assert incident.acknowledged_at and incident.detected_at < incident.declared_at
        declared = parse_time(incident.declared_at)
        assert 20 * 60 <= (NOW - declared).total_seconds() <= 30 * 60
        assert all(parse_time(e.at) <= NOW for i in state.incidents.values() for e in i.entries)

        typed = [e for e in incident.timeline if not e.auto]
        assert len(typed) >= 10
        assert {e.type for e in typed} == set(ENTRY_TYPES)
        assert len({e.author for e in incident.timeline}) >= 4
        autos = {e.auto for e in incident.timeline}
        assert {"declared", "ack", "role", "severity", "status", "check", "command", "update",
                "field", "action", "pin"} <= autos
        assert any(e.edited for e in incident.entries)

        holders = {name: role.person for name, role in incident.roles.items()}
        assert all(holders[r] for r in ("Incident Commander", "Tech Lead", "Communications Lead", "Scribe"))
        assert len(set(holders.values()) - {""}) == 4
        assert "Customer liaison" in config.roles and holders["Customer liaison"] == ""

        assert len(incident.updates) == 1
        assert [a.done for a in incident.actions].count(True) == 1 and len(incident.actions) == 2
        assert incident.field("eta")

        cadence = config.severity.level("P1").update_every
        countdown = update_countdown(incident, cadence, NOW)
        assert countdown.phase == "soon" and 0 < countdown.remaining <= 300

        resolved = [i for i in state.ordered if not i.open]
        assert len(resolved) == 1
        old = resolved[0]
        assert old.severity == "P3" and old.status == "resolved" and old.field("root_cause")
        assert parse_time(old.declared_at).date() < NOW.date()


def test_warroom_report_on_the_demo(demo_room):
    folder, _ = demo_room
    result = subprocess.run([sys.executable, "-m", "warroom", "report"], cwd=folder, capture_output=True,
                            text=True, timeout=15, env=_env(DEMO_URL="http://127.0.0.1:1"))
    assert result.returncode == 0, result.stderr
    assert "MTTR" in result.stdout
    p3 = next(line for line in result.stdout.splitlines() if line.startswith("| P3 "))
    assert "n/a" not in p3.split("|")[4]  # the resolved incident has a time to resolve


# --- the demo runbooks against a running fake shop -------------------------------------------------

RUNNABLE = {"curl", "df", "uptime", "ps", "python3"}
FENCE = re.compile(r"```(?:bash|sh|shell)[ \t]*\n(.*?)```", re.S)


def _runbook_steps() -> list[tuple[str, str]]:
    steps = []
    for file in sorted((DEMO_DIR / "runbooks").glob("*.md")):
        for index, block in enumerate(FENCE.findall(file.read_text())):
            if block.split()[0] in RUNNABLE:
                steps.append((f"{file.stem}#{index}", block))
    return steps


STEPS = _runbook_steps()


def test_runbooks_have_runnable_steps():
    assert len(STEPS) >= 20


@pytest.fixture(scope="module")
def shop():
    with DemoService() as service:
        yield service.base_url


@pytest.mark.parametrize("step", [s[1] for s in STEPS], ids=[s[0] for s in STEPS])
def test_runbook_step_succeeds_against_the_demo(step, shop):
    result = subprocess.run(["bash", "-c", step], capture_output=True, text=True, timeout=30,
                            env=_env(DEMO_URL=shop))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "curl: (" not in result.stderr and "Traceback" not in result.stderr


# --- run_demo up to the console ----------------------------------------------------------------


def test_run_demo_opens_a_live_room_and_cleans_up(monkeypatch, capsys):
    monkeypatch.setenv("DEMO_URL", "unset")
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    seen = {}

    def console(room: Room) -> int:
        seen["folder"] = room.config.root
        seen["incident"] = room.incident()
        seen["health"] = _get(os.environ["DEMO_URL"] + "/health")[0]
        seen["check_url"] = room.config.checks[0].url
        seen["python_first"] = os.environ["PATH"].split(os.pathsep)[0]
        return 7

    assert run_demo(console=console) == 7
    assert seen["incident"].severity == "P1"
    assert seen["health"] == 200
    assert seen["check_url"] == os.environ["DEMO_URL"] + "/health"
    assert seen["python_first"] == PY_BIN
    assert not seen["folder"].exists()
    assert capsys.readouterr().out == ""

    assert run_demo(keep=True, console=lambda room: 0) == 0
    out = capsys.readouterr().out
    kept = Path(re.search(r"kept in (\S+)", out).group(1))
    try:
        assert (kept / "warroom.db").is_file()
    finally:
        import shutil

        shutil.rmtree(kept, ignore_errors=True)
