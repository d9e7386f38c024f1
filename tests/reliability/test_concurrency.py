"""Concurrency: many writers on one file at once, for 5 s (make test) or 30 s (make soak).

Writers, all at the same time on the same record (.warroom/record.db):
- two CLI loops: `python -m warroom log ...` again and again (a scribe's shell scripts);
- two headless consoles: processes writing through the console's own Recorder thread
  (console_writer.py);
- one real console in this process (make_app + run_test, file watching on), typing
  entries into the timeline input.

Proves: every entry a writer reported as logged is in the file exactly once, nothing is
logged that no writer reported, no writer failed, and "database is locked" (or any
error) reached no user: not a CLI's stderr, not a headless console's error line, not the
real console's notifications. The real console shows every entry at the end.

    make test    # 5 s
    make soak    # 30 s
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from reliability_support import (
    HERE,
    PYTHON,
    entry_texts,
    env,
    integrity,
    make_room,
    record,
    settle,
    wait_for,
    warroom,
)
from textual import events
from textual.widgets import Input

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def cli_loop(room_dir: Path, tag: str, stop: threading.Event, logged: list[str], failures: list[str]) -> None:
    n = 0
    while not stop.is_set():
        text = f"{tag} line {n}"
        done = warroom("log", text, cwd=room_dir, user=tag)
        if done.returncode != 0 or "locked" in done.stderr or "Traceback" in done.stderr:
            failures.append(f"{tag}: exit {done.returncode}: {done.stderr.strip()}")
        else:
            logged.append(text)
        n += 1


async def run_writers(room_dir: Path, seconds: float) -> None:
    from warroom import config as config_mod
    from warroom.record.clock import SystemClock
    from warroom.record.room import Room
    from warroom.record.store import Store
    from warroom.ui.factory import make_app

    stop = threading.Event()
    cli_logged: list[str] = []
    failures: list[str] = []
    loops = [threading.Thread(target=cli_loop, args=(room_dir, f"cli{i}", stop, cli_logged, failures))
             for i in (1, 2)]
    consoles = [subprocess.Popen([PYTHON, str(HERE / "console_writer.py"), str(room_dir), str(seconds), f"headless{i}"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
                for i in (1, 2)]
    for loop in loops:
        loop.start()

    config = config_mod.load(room_dir / "warroom.toml")
    clock = SystemClock()
    room = Room(config, Store(config.record_path, clock=clock, author="live"), clock)
    app = make_app(room, clock, start_sources=False, watch=True)
    notified: list[str] = []
    shown_error = app.recorder.on_error
    app.recorder.on_error = lambda message, job: (notified.append(message), shown_error(message, job))
    typed: list[str] = []
    headless_logged: list[str] = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app)
            await pilot.press("n")
            entry_input = app.query_one("#entry-input", Input)
            deadline = time.monotonic() + seconds
            n = 0
            while time.monotonic() < deadline:
                text = f"live line {n}"
                entry_input.value = text
                app._driver.send_message(events.Key("enter", "\r"))  # as the terminal delivers it
                typed.append(text)
                # Under this write load the console can take a second or two per key (it re-renders
                # the whole timeline on every reload); the test is about what gets recorded.
                await wait_for(pilot, lambda: entry_input.value == "", timeout=30, what="the input taking the line")
                n += 1
                await asyncio.sleep(0.05)
            await settle(app, 60)
            assert entry_input.value == "", f"a failed write put text back: {entry_input.value!r}"
            stop.set()
            for loop in loops:
                await asyncio.get_running_loop().run_in_executor(None, loop.join, 120)
            for proc in consoles:
                out, err = await asyncio.get_running_loop().run_in_executor(None, proc.communicate, None, 120)
                assert proc.returncode == 0, f"a headless console failed ({proc.returncode}):\n{out[-2000:]}\n{err[-2000:]}"
                assert "Traceback" not in err and "locked" not in err.lower(), err
                for line in out.splitlines():
                    word, _, text = line.partition(" ")
                    assert word == "ok", f"a headless console reported: {line}"
                    headless_logged.append(text)
            # Everyone is done: the console (watching the file) must count every entry (the
            # declaration's row too) and show the newest of them.
            from warroom.ui.panes.timeline import TimelinePane

            expected_total = len(typed) + len(cli_logged) + len(headless_logged)
            pane = app.query_one(TimelinePane)
            await wait_for(pilot, lambda: pane.count >= expected_total + 1, timeout=30,
                           what=f"the live console counting all {expected_total} entries")
            newest = room.timeline(app.incident.id, limit=min(len(pane.rows), 20))
            await wait_for(pilot, lambda: {e.id for e in newest} <= set(pane.rows), timeout=30,
                           what="the newest entries on screen")
            assert not notified, f"errors shown in the console: {notified[:3]}"
            app_errors = [n for n in app._notifications if n.severity == "error"]
            assert not app_errors, [n.message for n in app_errors]
    finally:
        stop.set()
        for proc in consoles:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        room.close()

    assert not failures, failures[:5]

    db = record(room_dir)
    counts = Counter(entry_texts(db))
    duplicated = [text for text, count in counts.items() if count > 1]
    assert not duplicated, f"logged twice: {duplicated[:5]}"
    reported = set(cli_logged) | set(headless_logged) | set(typed)
    lost = reported - set(counts)
    assert not lost, f"reported as logged but missing: {sorted(lost)[:5]}"
    unknown = set(counts) - reported
    assert not unknown, f"in the file but reported by no writer: {sorted(unknown)[:5]}"
    assert integrity(db) == "ok"
    # everyone really wrote at the same time
    assert len(cli_logged) >= 2 and len(headless_logged) >= 20 and len(typed) >= 2, (
        len(cli_logged), len(headless_logged), len(typed))


async def test_five_writers_on_one_file_for_5s(tmp_path: Path):
    room_dir = tmp_path / "room"
    make_room(room_dir)
    await run_writers(room_dir, 5)


@pytest.mark.soak
async def test_soak_five_writers_for_30s(tmp_path: Path):
    room_dir = tmp_path / "room"
    make_room(room_dir)
    await run_writers(room_dir, 30)
