"""Disk full and read-only: logging says so clearly, keeps the typed text, loses nothing.

Real mechanisms only (we run as root, so chmod proves nothing):
- a tiny tmpfs mounted for the test (`mount -t tmpfs -o size=2m`), filled to the last byte,
  or remounted read-only; these tests are skipped, with the reason, where mount is not
  permitted (not root, no CAP_SYS_ADMIN, a container without it);
- SQLite's own limits, which work anywhere: `PRAGMA max_page_count` (a real "database or
  disk is full") and a `mode=ro` connection (a real "attempt to write a readonly database").

Proves, for the CLI: exit 1, one clear line naming the problem, no traceback, the entry not
half-written, the file whole and everything logged before still there, and the same
command working once there is room again. For the console: the typed text is back in the
input, an error notification says why, and Enter logs it once the problem is gone.

    make test
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from reliability_support import (
    entry_texts,
    integrity,
    record,
    settle,
    wait_for,
    warroom,
)
from textual.widgets import Input

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MiB tmpfs of our own; skipped where mounting is not permitted."""
    point = tmp_path / "disk"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}); "
                    f"the max_page_count and mode=ro tests cover the same paths without it")
    try:
        yield point
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(point)], capture_output=True)
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write until the filesystem has not one block left."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_clear_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "damaged" not in lines[0] and "git checkout" not in lines[0], lines[0]  # never "restore it"
    return lines[0]


def disk_room(disk: Path) -> Path:
    room = disk / "room"
    assert warroom("init", str(room), cwd=disk).returncode == 0
    assert warroom("declare", "Storage filling up", "--severity", "P1", cwd=room).returncode == 0
    for i in range(3):
        assert warroom("log", f"before {i}", cwd=room).returncode == 0
    return room


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_on_a_full_disk_says_so_and_loses_nothing(small_disk: Path):
    room = disk_room(small_disk)
    db = record(room)
    before = digest(db)

    # 1. Nobody has the record open: even opening it needs room (the -shm a WAL file needs).
    filler = fill(small_disk)
    line = one_clear_line(warroom("log", "typed on a full disk", cwd=room), str(db))
    assert "full" in line
    assert digest(db) == before
    filler.unlink()

    # 2. A console has it open (its -wal and -shm exist): the write itself finds no room.
    console = sqlite3.connect(db)
    console.execute("pragma journal_mode=wal")
    console.execute("pragma wal_checkpoint(truncate)")
    filler = fill(small_disk)
    line = one_clear_line(warroom("log", "typed on a full disk", cwd=room), str(db))
    assert "disk is full" in line and "nothing was logged" in line
    assert integrity(db) == "ok"
    assert "typed on a full disk" not in entry_texts(db)

    filler.unlink()  # room again: the same command now works
    done = warroom("log", "typed on a full disk", cwd=room)
    assert done.returncode == 0, done.stderr
    assert entry_texts(db) == ["before 0", "before 1", "before 2", "typed on a full disk"]
    assert integrity(db) == "ok"
    console.close()


def test_cli_on_a_read_only_filesystem_says_so_and_loses_nothing(small_disk: Path):
    room = disk_room(small_disk)
    db = record(room)
    before = digest(db)
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True).returncode == 0
    try:
        line = one_clear_line(warroom("log", "typed on a read-only disk", cwd=room), str(db))
        assert "read-only" in line
        assert digest(db) == before
    finally:
        assert subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], capture_output=True).returncode == 0
    done = warroom("log", "typed on a read-only disk", cwd=room)
    assert done.returncode == 0, done.stderr
    assert entry_texts(db) == ["before 0", "before 1", "before 2", "typed on a read-only disk"]


# --- the console ------------------------------------------------------------------------------


def open_console(room_dir: Path):
    from warroom import config as config_mod
    from warroom.record.clock import SystemClock
    from warroom.record.room import Room
    from warroom.record.store import Store
    from warroom.ui.factory import make_app

    config = config_mod.load(room_dir / "warroom.toml")
    clock = SystemClock()
    room = Room(config, Store(config.record_path, clock=clock, author="scribe"), clock)
    return room, make_app(room, clock, start_sources=False, watch=False)


async def type_and_fail(app, pilot, text: str, *needles: str) -> None:
    """Type a line; the write fails: the text comes back to the input and an error says why."""
    entry_input = app.query_one("#entry-input", Input)
    await pilot.press("n")
    entry_input.value = text
    await pilot.press("enter")
    await settle(app)
    await wait_for(pilot, lambda: entry_input.value == text, what="the typed text back in the input")
    errors = [n.message for n in app._notifications if n.severity == "error"]
    assert errors, "no error notification"
    for needle in needles:
        assert needle in errors[-1], errors[-1]
    assert "Traceback" not in errors[-1] and "internal error" not in errors[-1]


async def retry(app, pilot, room_dir: Path, text: str, before: list[str]) -> None:
    await pilot.press("enter")  # the text is still in the input: Enter again
    await settle(app)
    await wait_for(pilot, lambda: app.query_one("#entry-input", Input).value == "", what="the input emptied")
    assert entry_texts(record(room_dir)) == before + [text]


async def test_console_on_a_full_database_keeps_the_typed_text(tmp_path: Path):
    """PRAGMA max_page_count: the database cannot grow by one page, as on a full disk."""
    room_dir = tmp_path / "room"
    assert warroom("init", str(room_dir), cwd=tmp_path).returncode == 0
    assert warroom("declare", "Storage filling up", "--severity", "P1", cwd=room_dir).returncode == 0
    room, app = open_console(room_dir)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app)
            from warroom.errors import StoreError

            filled: list[str] = []
            incident = app.incident

            def fill_the_file(room) -> str:
                """On the recorder thread, which owns the connection: cap the file at its size,
                then fill what room its last pages have left, through the store itself."""
                pages = room.store.conn.execute("pragma page_count").fetchone()[0]
                room.store.conn.execute(f"pragma max_page_count = {pages}")
                for i in range(10_000):
                    try:
                        room.log(incident, f"before {i} " + "x" * 200)
                    except StoreError as exc:
                        return str(exc)
                    filled.append(f"before {i} " + "x" * 200)
                return "never full"

            said: list[str] = []
            app.recorder.submit(fill_the_file, on_done=said.append)
            await settle(app)
            assert said and "disk is full" in said[0], said
            await type_and_fail(app, pilot, "Paged the storage team", "disk is full", "nothing was logged")
            assert integrity(record(room_dir)) == "ok"
            assert entry_texts(record(room_dir)) == filled
            app.recorder.submit(lambda room: room.store.conn.execute("pragma max_page_count = 1000000"))
            await retry(app, pilot, room_dir, "Paged the storage team", filled)
            assert app.is_running
    finally:
        room.close()


async def test_console_on_a_full_disk_keeps_the_typed_text(small_disk: Path):
    room_dir = disk_room(small_disk)
    room, app = open_console(room_dir)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app)
            app.recorder.submit(lambda room: room.store.checkpoint())  # an empty WAL: the next entry needs new blocks
            await settle(app)
            filler = fill(small_disk)
            await type_and_fail(app, pilot, "Paged the storage team", "disk is full")
            assert integrity(record(room_dir)) == "ok"
            filler.unlink()
            await retry(app, pilot, room_dir, "Paged the storage team", ["before 0", "before 1", "before 2"])
    finally:
        room.close()


async def test_console_on_a_read_only_database_keeps_the_typed_text(tmp_path: Path):
    """A `mode=ro` connection: SQLite itself refuses the write."""
    room_dir = tmp_path / "room"
    assert warroom("init", str(room_dir), cwd=tmp_path).returncode == 0
    assert warroom("declare", "Storage read-only", "--severity", "P1", cwd=room_dir).returncode == 0
    assert warroom("log", "before 0", cwd=room_dir).returncode == 0
    room, app = open_console(room_dir)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app)
            writable = room.store.conn

            def read_only(room) -> None:  # on the recorder thread, which owns the connection
                room.store.conn = sqlite3.connect(f"file:{room.store.path}?mode=ro", uri=True,
                                                  isolation_level=None, check_same_thread=False)

            def writable_again(room) -> None:
                room.store.conn.close()
                room.store.conn = writable

            app.recorder.submit(read_only)
            await settle(app)
            await type_and_fail(app, pilot, "Rolled back deploy 4812", "read-only", "nothing was logged")
            app.recorder.submit(writable_again)
            await settle(app)
            await retry(app, pilot, room_dir, "Rolled back deploy 4812", ["before 0"])
    finally:
        room.close()
