"""Shared fixtures: a real war room in a temp folder, a frozen clock, an isolated env.

Nothing here mocks warroom's own parts: the war room is made by `warroom.record.room.init`,
the database is a real SQLite file, and `run_cli` starts `python -m warroom` as a
subprocess in the war room folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from warroom.record.clock import FrozenClock

NOW = "2026-11-24T15:00:00+00:00"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Every test runs as the same author, in UTC, with no warroom.toml above it."""
    monkeypatch.setenv("WARROOM_USER", "tester")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    # git's identity must not leak into authorship when a test unsets WARROOM_USER.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def room_dir(tmp_path: Path) -> Path:
    from warroom.share.setup import init

    folder = tmp_path / "room"
    init(folder)
    return folder


@pytest.fixture
def room(room_dir: Path, clock: FrozenClock):
    from warroom.record.room import Room

    with Room.open(room_dir / "warroom.toml", clock=clock, author="alice") as opened:
        yield opened


@dataclass
class Result:
    code: int
    out: str
    err: str

    def ok(self) -> "Result":
        assert self.code == 0, f"exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}"
        assert "Traceback" not in self.err, self.err
        return self


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("WARROOM_USER", "tester")
    env.setdefault("TZ", "UTC")
    env.pop("PYTHONWARNINGS", None)
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path, user: str = "tester", env: dict[str, str] | None = None,
            timeout: float = 30) -> Result:
    merged = cli_env(WARROOM_USER=user, **(env or {}))
    proc = subprocess.run([sys.executable, "-m", "warroom", *args], cwd=cwd, env=merged,
                          capture_output=True, text=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(room_dir: Path):
    """Run the CLI in the temp war room: cli("log", "text", user="carol")."""

    def call(*args: str, user: str = "tester", env: dict[str, str] | None = None, cwd: Path | None = None):
        return run_cli(*args, cwd=cwd or room_dir, user=user, env=env)

    return call


def assert_user_error(result: Result, *needles: str, code: int = 2) -> str:
    """One clear line on stderr naming what is wrong, the given exit status, no traceback."""
    assert result.code == code, f"exit {result.code}\nstdout:\n{result.out}\nstderr:\n{result.err}"
    assert "Traceback" not in result.err, result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.err}"
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]
