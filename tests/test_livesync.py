"""The war room across machines: per-copy refs that never race, a console that syncs by
itself, offline as a state, who is here. Real bare origins and clones in temp folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from console_support import wait_until

from warroom.record.room import Room
from warroom.ui.factory import make_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout


def warroom(cwd: Path, *args: str, user: str = "tester", check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "warroom", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV, "WARROOM_USER": user, "TZ": "UTC"}, timeout=120)
    if check:
        assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare origin holding a war room with one open incident."""
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    first = tmp_path / "first"
    warroom(tmp_path, "init", str(first))
    git(first, "init", "-q", "-b", "main")
    git(first, "remote", "add", "origin", str(bare))
    warroom(first, "declare", "Checkout down", "--severity", "P1", user="ic")
    warroom(first, "sync", user="ic")
    return bare


def clone(origin: Path, where: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(origin), str(where)], check=True, env={**os.environ, **GIT_ENV})
    return where


def texts(folder: Path) -> list[str]:
    with Room.open(folder / "warroom.toml", author="reader") as room:
        incident = room.incident()
        return [e.text for e in room.full(incident.id).timeline if not e.auto]


def test_twenty_clones_syncing_at_once_converge_in_two_rounds(tmp_path: Path, origin: Path):
    clones = [clone(origin, tmp_path / f"c{n}") for n in range(20)]
    for n, folder in enumerate(clones):
        for k in range(5):
            warroom(folder, "log", f"clone {n} entry {k}", user=f"user{n}")

    def round_of_syncs() -> list[subprocess.CompletedProcess]:
        results: list = [None] * len(clones)
        start = threading.Barrier(len(clones))

        def run(index: int) -> None:
            start.wait()
            results[index] = warroom(clones[index], "sync", user=f"user{index}", check=False)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clones))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    for _ in range(2):
        for result in round_of_syncs():
            assert result.returncode == 0, result.stderr
            assert "rejected" not in (result.stdout + result.stderr).lower()
    expected = sorted(f"clone {n} entry {k}" for n in range(20) for k in range(5))
    for folder in clones:
        assert sorted(texts(folder)) == expected  # every clone holds all 100, once each


def test_a_hostile_ref_adds_valid_events_or_is_quarantined(tmp_path: Path, origin: Path):
    """A teammate pushes a doctored copy on a ref of its own: a rewritten entry and a row with
    a poisoned stamp. The responder gains the valid new event, nothing else."""
    import sqlite3

    responder = clone(origin, tmp_path / "responder")
    warroom(responder, "log", "Rolled back deploy 4812", user="resp")
    warroom(responder, "sync", user="resp")
    attacker = clone(origin, tmp_path / "attacker")
    warroom(attacker, "sync", user="evil")
    warroom(attacker, "log", "a fair entry", user="evil")
    copy = tmp_path / "doctored.db"
    from warroom.share import exchange

    exchange.write(attacker / ".warroom" / "record.db", copy)
    conn = sqlite3.connect(copy)
    conn.execute("update events set author = 'someone else', body = json_set(body, '$.text', 'nothing happened') "
                 "where json_extract(body, '$.text') = 'Rolled back deploy 4812'")
    declared = conn.execute("select incident from events limit 1").fetchone()[0]
    conn.execute("insert into events values ('9e0b7a2c-1111-4222-8333-444455556666', ?, '9999999999999.99999', "
                 "'evil', 'entry.logged', '2026-12-02T10:00:00.000Z', '{\"text\":\"from the future\",\"type\":\"note\"}')",
                 (declared,))
    conn.execute("create trigger hide after insert on events begin update events set body = '{}'; end")
    conn.commit()
    conn.close()
    blob = git(attacker, "hash-object", "-w", str(copy)).strip()
    tree = subprocess.run(["git", "mktree"], cwd=attacker, input=f"100644 blob {blob}\twarroom.db\n",
                          capture_output=True, text=True, check=True).stdout.strip()
    commit = git(attacker, "commit-tree", tree, "-m", "doctored").strip()
    git(attacker, "push", "-q", "origin", f"+{commit}:refs/warroom/00000000-0000-4000-8000-000000000bad")
    result = warroom(responder, "sync", user="resp")
    assert "quarantined" in result.stdout
    shown = texts(responder)
    assert "Rolled back deploy 4812" in shown and "nothing happened" not in shown
    assert "a fair entry" in shown and "from the future" not in shown
    warroom(responder, "log", "Root cause: a pool of 10", user="resp")
    assert "Root cause: a pool of 10" in texts(responder)
    record = sqlite3.connect(responder / ".warroom" / "record.db")
    assert record.execute("select count(*) from sqlite_master where type = 'trigger'").fetchone()[0] == 0


def test_offline_is_a_state_and_the_next_round_catches_up(tmp_path: Path, origin: Path):
    mine = clone(origin, tmp_path / "mine")
    theirs = clone(origin, tmp_path / "theirs")
    moved = origin.with_name("moved-away.git")
    origin.rename(moved)
    warroom(mine, "log", "typed while offline", user="me")
    result = warroom(mine, "sync", user="me", check=False)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() + result.stdout.splitlines() if "could not be reached" in line]
    assert lines and "1 event(s) wait" in lines[0]
    assert "Traceback" not in result.stderr
    moved.rename(origin)
    warroom(mine, "sync", user="me")
    warroom(theirs, "sync", user="them")
    assert "typed while offline" in texts(theirs)


async def test_two_consoles_on_two_clones_see_each_other(tmp_path: Path, origin: Path):
    """An entry typed in one console shows in the other within the interval plus 2 seconds;
    the roster says who else is here; taking the remote away shows offline in the header."""
    from warroom import config as config_mod
    from warroom.share.livesync import LiveSync

    one = clone(origin, tmp_path / "one")
    two = clone(origin, tmp_path / "two")
    os.environ.update(GIT_ENV)
    with open(one / "warroom.toml", "a") as handle:
        handle.write('\nsync_every = "1s"\n')
    room = Room.open(one / "warroom.toml", author="alice")
    assert room.config.sync_every == 1.0
    statuses: list = []
    config_two = config_mod.load(two / "warroom.toml")
    other = LiveSync(config_two, str(two / ".warroom" / "record.db"), every=1.0, author="bob",
                     on_status=statuses.append)
    other.start()
    try:
        app = make_app(room, start_sources=False, watch=True, sync=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.live is not None, timeout=30)
            started = time.monotonic()
            warroom(two, "log", "from the second machine", user="bob")
            other.poke()
            await wait_until(pilot, lambda: "from the second machine" in [
                e.text for e in app.query_one("TimelinePane").rows.values()], timeout=15)
            assert time.monotonic() - started < 1.0 + 2.0 + 5.0  # interval + 2 s, and git's own time
            await pilot.press("n", *"from the first machine", "enter")
            await wait_until(pilot, lambda: "from the first machine" in texts(two), timeout=15)
            await wait_until(pilot, lambda: any("bob" in str(row) for row in
                                                app.query_one("#roster").peers), timeout=15)
            origin.rename(origin.with_name("gone.git"))
            await pilot.press(*"while the remote is gone", "enter")
            await wait_until(pilot, lambda: "offline since" in str(app.query_one("#hdr-sync").render()),
                             timeout=15)
            origin.with_name("gone.git").rename(origin)
            await wait_until(pilot, lambda: "offline" not in str(app.query_one("#hdr-sync").render()),
                             timeout=15)
            await wait_until(pilot, lambda: "while the remote is gone" in texts(two), timeout=15)
    finally:
        other.stop()
        room.close()


def test_a_remote_that_refuses_with_escapes_is_reported_as_one_inert_line(origin: Path, tmp_path: Path):
    """A hostile remote's refusal ("remote: ..." on git's stderr) reaches the sync report and the
    console's toast: the escape it carries is shown, never sent to the terminal."""
    from warroom.config import load
    from warroom.share.livesync import LiveSync

    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nprintf 'error: \\033]52;c;cm0gLXJmIH4=\\007\\033]0;PWNED\\007 refused\\n' >&2\nexit 1\n")
    hook.chmod(0o755)
    mine = clone(origin, tmp_path / "mine")
    warroom(mine, "log", "after the hook", user="alice")
    statuses: list = []
    live = LiveSync(load(mine / "warroom.toml"), str(mine / ".warroom" / "record.db"), every=60.0,
                    author="alice", on_status=statuses.append)
    live._round()
    said = statuses[-1]
    shown = said.error + said.reason
    assert "refused" in shown, said
    assert "\x1b" not in shown and "\x07" not in shown, said
    proc = warroom(mine, "sync", user="alice", check=False)
    assert "refused" in proc.stdout + proc.stderr
    assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout + proc.stderr
