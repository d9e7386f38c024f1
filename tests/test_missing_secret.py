"""A missing secret disables only what needs it (issue 12, item 5).

A scribe without production credentials can log, list, sync and export; the check or log
source whose `${VAR}` is unset shows as disabled, naming the variable, and never runs;
`warroom check` reports it and exits non-zero. Real parts only: the CLI as a subprocess,
a loopback HTTP server, real subprocesses for log sources, a bare git origin.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import run_cli
from console_support import console_ready, open_room, story, wait_until
from git_support import git, git_identity, origin  # noqa: F401 (fixtures)
from servers import serve

from warroom.config import load

pytestmark = pytest.mark.anyio
UNSET = "WARROOM_TEST_ADMIN_TOKEN"      # never set by the tests
UNSET_HOST = "WARROOM_TEST_LOG_HOST"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def unset(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(UNSET, raising=False)
    monkeypatch.delenv(UNSET_HOST, raising=False)


def add(room_dir: Path, text: str) -> None:
    with open(room_dir / "warroom.toml", "a", encoding="utf-8") as config:
        config.write("\n" + text)


def config_with_a_secret(room_dir: Path, base: str, marker: Path) -> None:
    """Two checks, the second needing the admin token; two log sources, the second needing
    a host. The ones needing nothing leave proof that they ran; the others must not."""
    py = sys.executable.replace("\\", "\\\\")
    add(room_dir, f"""
[[check]]
name = "public"
kind = "http"
url = "{base}/healthy"
every = "200ms"

[[check]]
name = "admin"
kind = "http"
url = "{base}/admin"
every = "200ms"
headers = {{ Authorization = "Bearer ${{{UNSET}}}" }}

[[log]]
name = "local"
command = ["{py}", "-c", "print('local line', flush=True); import time; time.sleep(30)"]

[[log]]
name = "remote"
command = ["{py}", "-c", "open(r'{marker}', 'w').write('ran')", "${{{UNSET_HOST}}}"]
""")


# --- the config ------------------------------------------------------------------------------


def test_an_unset_variable_disables_only_the_items_that_use_it(tmp_path: Path):
    path = tmp_path / "warroom.toml"
    path.write_text(f"""
[[check]]
name = "uses-two"
kind = "http"
url = "${{BASE_{UNSET}}}/health"
headers = {{ Authorization = "Bearer ${{{UNSET}}}" }}

[[check]]
name = "needs-nothing"
kind = "command"
command = ["true"]

[[check]]
name = "set"
kind = "http"
url = "https://example.invalid/${{PRESENT}}"

[[log]]
name = "followed"
file = "/var/log/${{{UNSET_HOST}}}.log"

[[log]]
name = "tail"
command = ["ssh", "${{{UNSET_HOST}}}", "tail", "-f", "${{{UNSET}}}"]
""")
    loaded = load(path, environ={"PRESENT": "x"})
    disabled = {c.name: c.disabled for c in loaded.checks} | {s.name: s.disabled for s in loaded.logs}
    assert disabled == {
        "uses-two": f"BASE_{UNSET} and {UNSET} are not set",  # an unset URL is no config error
        "needs-nothing": "",
        "set": "",
        "followed": f"{UNSET_HOST} is not set",
        "tail": f"{UNSET_HOST} and {UNSET} are not set",
    }
    assert loaded.checks[2].url == "https://example.invalid/x"


# --- the CLI: a scribe without the secret works ---------------------------------------------------


def test_log_list_show_export_report_work_without_the_secret(room_dir: Path, tmp_path: Path):
    config_with_a_secret(room_dir, "http://127.0.0.1:9", tmp_path / "marker")
    run_cli("declare", "Checkout returns 500", "--severity", "P1", cwd=room_dir).ok()
    run_cli("log", "on-call acknowledged", cwd=room_dir).ok()
    assert "Checkout returns 500" in run_cli("list", cwd=room_dir).ok().out
    assert "on-call acknowledged" in run_cli("show", cwd=room_dir).ok().out
    assert "on-call acknowledged" in run_cli("export", "--out", "-", cwd=room_dir).ok().out
    assert "P1" in run_cli("report", cwd=room_dir).ok().out
    assert not (tmp_path / "marker").exists()


def test_sync_works_without_the_secret(tmp_path: Path, origin: Path):  # noqa: F811 (fixture)
    room = tmp_path / "alice"
    run_cli("init", str(room), cwd=tmp_path).ok()
    git(room, "init", "--quiet", "-b", "main")
    git(room, "remote", "add", "origin", str(origin))
    config_with_a_secret(room, "http://127.0.0.1:9", tmp_path / "marker")
    run_cli("declare", "Checkout returns 500", "--severity", "P1", cwd=room).ok()
    out = run_cli("sync", cwd=room).ok().out
    assert "went out to origin: 1 event" in out, out


def test_check_reports_the_disabled_check_and_fails(room_dir: Path, tmp_path: Path):
    with serve() as server:
        server.set("/admin", 200, {"status": "ok"})
        config_with_a_secret(room_dir, server.base_url, tmp_path / "marker")
        result = run_cli("check", cwd=room_dir)
        requested = server.paths_requested()
    assert result.code == 1, result
    assert "Traceback" not in result.err
    rows = {line.split()[0]: line for line in result.out.splitlines()[1:]}
    assert "UP" in rows["public"].split()
    assert "DISABLED" in rows["admin"].split() and f"{UNSET} is not set" in rows["admin"]
    assert "/healthy" in requested and "/admin" not in requested  # the disabled one never ran


def test_check_with_the_secret_set_runs_it(room_dir: Path, tmp_path: Path):
    with serve() as server:
        server.set("/admin", 200, {"status": "ok"})
        config_with_a_secret(room_dir, server.base_url, tmp_path / "marker")
        result = run_cli("check", cwd=room_dir, env={UNSET: "s3cr3t-admin-token"})
        sent = [headers for _, path, headers in server.requests if path == "/admin"]
    assert result.code == 0, result
    assert "DISABLED" not in result.out
    assert sent and any(v == "Bearer s3cr3t-admin-token" for h in sent for k, v in h.items()
                        if k.lower() == "authorization")


# --- the console: shown as disabled, never run -------------------------------------------------------


async def test_console_shows_disabled_items_and_never_runs_them(room_dir: Path, clock, tmp_path: Path):
    from warroom.ui.factory import make_app
    from warroom.ui.panes.health import HealthPane
    from warroom.ui.panes.logs import LogsPane

    marker = tmp_path / "marker"
    with serve() as server:
        server.set("/admin", 200, {"status": "ok"})
        config_with_a_secret(room_dir, server.base_url, marker)
        room = open_room(room_dir, clock)
        story(room, clock)
        app = make_app(room, clock, start_sources=True, watch=False)
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                await console_ready(pilot)
                health = app.query_one(HealthPane)
                await wait_until(pilot, lambda: health.states()["public"] == "up")
                shown = str(health.render())
                assert "admin" in shown and "disabled" in shown and f"{UNSET} is not set" in shown
                assert health.states()["admin"] == "disabled"
                assert "1 disabled" in str(health.border_subtitle)

                logs = app.query_one(LogsPane)
                local, remote = logs.view_for("local"), logs.view_for("remote")
                await wait_until(pilot, lambda: local.total >= 1)
                assert remote.status == f"disabled: {UNSET_HOST} is not set"
                assert f"remote ({UNSET_HOST} is not set)" in logs.all_view.status
                await pilot.pause(1.0)  # several check rounds and the sources' start-up
                assert health.states()["admin"] == "disabled"
                assert remote.total == 0
        finally:
            room.close()
        requested = server.paths_requested()
    assert "/healthy" in requested and "/admin" not in requested
    assert not marker.exists()  # the disabled log source's command never ran
