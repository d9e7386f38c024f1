"""Shared by the reliability suite: real war rooms, real SQLite files, the real console.

Nothing here mocks warroom: rooms are made by `warroom.record.room.init`, writers are real
processes, and `console_shows` opens the file in the real app (make_app + run_test).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterable

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def make_room(folder: Path, title: str = "Checkout returns 500") -> str:
    """A war room with one open incident; returns the incident's id."""
    from warroom.record.clock import SystemClock
    from warroom.record.room import Room
    from warroom.share.setup import init

    init(folder)
    with Room.open(folder / "warroom.toml", clock=SystemClock(), author="ic") as room:
        return room.declare(title, "P1", "EU shoppers cannot pay").id


def record(room_dir: Path) -> Path:
    """The record the console and the CLI write (`.warroom/record.db`), not the exchange copy."""
    from warroom.paths import record_path

    return record_path(room_dir)


def rows(db: Path, sql: str = "select id, kind, body from events", params: tuple = ()) -> list[tuple]:
    """Read with a plain sqlite3 connection (recovers a WAL left by a killed writer)."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def event_ids(db: Path) -> set[str]:
    return {row[0] for row in rows(db, "select id from events")}


def entry_texts(db: Path) -> list[str]:
    import json

    return [json.loads(body)["text"] for (body,) in rows(db, "select body from events where kind = 'entry.logged'")]


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return "; ".join(row[0] for row in conn.execute("pragma integrity_check"))
    finally:
        conn.close()


def env(**extra: str) -> dict[str, str]:
    merged = dict(os.environ)
    merged.setdefault("WARROOM_USER", "tester")
    merged.setdefault("TZ", "UTC")
    merged.pop("PYTHONWARNINGS", None)
    merged.update(extra)
    return merged


def warroom(*args: str, cwd: Path, user: str = "tester", timeout: float = 60,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "warroom", *args], cwd=cwd, env=env(WARROOM_USER=user, **(extra_env or {})),
                          capture_output=True, text=True, timeout=timeout)


async def settle(app, timeout: float = 30) -> None:
    """Wait until the console's recorder thread has no job left.

    Recorder.wait_idle blocks; on the app's own thread it would also block the jobs that
    call back into the UI (call_from_thread), so it is waited on from a worker thread.
    """
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, app.recorder.wait_idle, timeout), "recorder still busy"
    await asyncio.sleep(0.02)


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        await pilot.pause(0.05)


def console_shows(room_dir: Path, ids: Iterable[str], size: tuple[int, int] = (120, 40)) -> int:
    """Open the record in the real console. Every id must be an entry of the incident's timeline
    in the record; the console must count all of them and show the newest page of them (a long
    timeline pages in its older rows as you scroll). Returns the count the console shows."""
    from warroom import config as config_mod
    from warroom.record.clock import SystemClock
    from warroom.record.room import Room
    from warroom.record.store import Store
    from warroom.ui.factory import make_app
    from warroom.ui.panes.timeline import TimelinePane

    wanted = set(ids)

    async def check() -> int:
        config = config_mod.load(room_dir / "warroom.toml")
        clock = SystemClock()
        room = Room(config, Store(config.record_path, clock=clock, author="reader"), clock)
        app = make_app(room, clock, start_sources=False, watch=False)
        try:
            incident_id = room.summaries()[0].id
            timeline = {row[0] for row in room.store.timeline(incident_id, limit=10**9)}
            missing = wanted - timeline
            assert not missing, f"{len(missing)} logged entries not in the timeline, e.g. {sorted(missing)[:3]}"
            async with app.run_test(size=size) as pilot:
                await settle(app)
                await wait_for(pilot, lambda: app.incident is not None, what="an incident on screen")
                pane = app.query_one(TimelinePane)
                await wait_for(pilot, lambda: pane.count == len(timeline) and pane.rows, what="every row counted")
                newest = [entry.id for entry in room.timeline(incident_id, limit=len(pane.rows))]
                assert set(newest) <= set(pane.rows), "the newest rows are not the ones on screen"
                assert app.is_running
                return pane.count
        finally:
            room.close()

    return asyncio.run(check())
