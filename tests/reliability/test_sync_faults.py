"""Sync under faults, with real git repositories (a bare origin, clones) in temp folders.

- a push refused half-way (the pack is sent, then the remote's pre-receive hook refuses it);
- a remote that disappears in the middle of a push (the hook moves the repository away and
  kills the receiving git), then stays away for one more sync;
- git's merge driver (`warroom merge`) SIGKILLed while it writes the merged copy during a
  plain `git pull`; and the driver killed at random moments while it merges into a live
  record (a console has it open, so the merge goes in place in one transaction).

Proves: each failure is one clear line (no traceback), the local record is intact and
committed (OURS whole after a killed driver), and the next `warroom sync` completes with
nothing lost on either side.

    make test   # all of it (about 15 s)
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest

from git_support import git as _git, git_identity, origin  # noqa: F401 (fixtures)
from reliability_support import HERE, PYTHON, entry_texts, integrity, warroom
from warroom.events import Event, new_id
from warroom.sync import dump_text

git = partial(_git, timeout=120)  # these tests kill git mid-push: give it room


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def one_clear_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Failed with exit 1, one line on stderr naming what to do, no traceback."""
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def intact(room: Path, *texts: str) -> None:
    """The local record holds these entries, is whole, and they are committed (a clean tree)."""
    db = room / "warroom.db"
    assert integrity(db) == "ok"
    assert set(texts) <= set(entry_texts(db))
    assert git(room, "status", "--porcelain").stdout == ""
    committed = room.parent / f"{room.name}-head.db"
    committed.write_bytes(subprocess.run(["git", "show", "HEAD:warroom.db"], cwd=room, capture_output=True,
                                         check=True, timeout=60).stdout)
    assert set(texts) <= set(entry_texts(committed))
    committed.unlink()


def fresh_clone(tmp_path: Path, origin: Path, name: str) -> Path:
    git(tmp_path, "clone", "--quiet", str(origin), name)
    return tmp_path / name


@pytest.fixture
def alice(tmp_path: Path, origin: Path) -> Path:
    room = tmp_path / "alice"
    ok(warroom("init", str(room), cwd=tmp_path))
    git(room, "init", "--quiet", "-b", "main")
    git(room, "remote", "add", "origin", str(origin))
    ok(warroom("declare", "Checkout returns 500", "--severity", "P1", cwd=room, user="alice"))
    ok(warroom("sync", cwd=room, user="alice"))
    return room


def hook(origin: Path, body: str) -> Path:
    path = origin / "hooks" / "pre-receive"
    path.write_text("#!/bin/sh\ncat >/dev/null\n" + body)
    path.chmod(0o755)
    return path


def test_push_refused_half_way_then_next_sync_completes(tmp_path: Path, origin: Path, alice: Path):
    ok(warroom("log", "alice: paged the database team", cwd=alice, user="alice"))
    marker = tmp_path / "pack-received"
    refuse = hook(origin, f'touch "{marker}"\necho "refused by the branch policy" >&2\nexit 1\n')
    failed = warroom("sync", cwd=alice, user="alice")
    one_clear_line(failed, "origin", "warroom sync")
    assert marker.exists()  # the objects had gone over when the remote refused them
    intact(alice, "alice: paged the database team")
    assert "alice: paged the database team" not in entry_texts(fresh_clone(tmp_path, origin, "before") / "warroom.db")

    ok(warroom("log", "alice: written after the refusal", cwd=alice, user="alice"))
    refuse.unlink()
    out = ok(warroom("sync", cwd=alice, user="alice")).stdout
    assert "went out to origin/main" in out, out
    bob = fresh_clone(tmp_path, origin, "bob")
    assert {"alice: paged the database team", "alice: written after the refusal"} <= set(entry_texts(bob / "warroom.db"))
    assert dump_text(bob / "warroom.db") == dump_text(alice / "warroom.db")


def test_remote_disappearing_mid_push_then_next_sync_completes(tmp_path: Path, origin: Path, alice: Path):
    away = tmp_path / "origin-away.git"
    # The server vanishes while it receives: the repository moves away and the receiving git dies.
    vanish = hook(origin, f'mv "{origin}" "{away}"\nkill -9 $PPID\nexit 1\n')
    ok(warroom("log", "alice: entry in flight", cwd=alice, user="alice"))
    one_clear_line(warroom("sync", cwd=alice, user="alice"), "origin", "warroom sync")
    assert not origin.exists() and away.exists()
    intact(alice, "alice: entry in flight")

    ok(warroom("log", "alice: written while the remote is gone", cwd=alice, user="alice"))
    one_clear_line(warroom("sync", cwd=alice, user="alice"), "origin", "warroom sync")
    intact(alice, "alice: entry in flight", "alice: written while the remote is gone")

    away.rename(origin)
    (origin / "hooks" / "pre-receive").unlink()
    assert git(origin, "fsck", "--no-progress", check=False).returncode == 0
    out = ok(warroom("sync", cwd=alice, user="alice")).stdout
    assert "went out to origin/main" in out, out
    bob = fresh_clone(tmp_path, origin, "bob")
    assert {"alice: entry in flight", "alice: written while the remote is gone"} <= set(entry_texts(bob / "warroom.db"))
    assert dump_text(bob / "warroom.db") == dump_text(alice / "warroom.db")
    assert vanish.name == "pre-receive"


def bulk_entries(db: Path, n: int, author: str) -> None:
    """n valid entries written straight into the file (fast), on the file's one incident."""
    conn = sqlite3.connect(db)
    incident = conn.execute("select id from events where kind = 'incident.declared'").fetchone()[0]
    newest = conn.execute("select max(hlc) from events").fetchone()[0]
    ms = int(newest.split(".")[0]) + 1
    rows = [tuple(Event(new_id(), incident, f"{ms + i:013d}.00000", author, "entry.logged",
                        "2026-11-24T15:00:00.000Z", {"text": f"{author} bulk {i} " + "w" * 60,
                                                     "type": "note"}).to_row().values()) for i in range(n)]
    conn.executemany("insert into events values (?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()


def test_merge_driver_killed_mid_write_then_sync_completes(tmp_path: Path, origin: Path, alice: Path):
    bob = fresh_clone(tmp_path, origin, "bob")
    ok(warroom("git-setup", cwd=bob, user="bob"))
    ok(warroom("log", "bob: offline entry", cwd=bob, user="bob"))
    git(bob, "commit", "--quiet", "-am", "bob's entry")
    bob_committed = (bob / "warroom.db").read_bytes()
    bulk_entries(alice / "warroom.db", 6000, "alice")
    ok(warroom("log", "alice: after the bulk", cwd=alice, user="alice"))
    ok(warroom("sync", cwd=alice, user="alice"))

    log = tmp_path / "driver.log"
    killer = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "merge.warroom.driver",
              "GIT_CONFIG_VALUE_0": f"{PYTHON} {HERE / 'killer_driver.py'} {log} %O %A %B"}
    pulled = git(bob, "pull", "--no-rebase", "origin", "main", check=False, env=killer)
    assert pulled.returncode != 0, pulled.stdout + pulled.stderr
    assert log.read_text().splitlines() == ["killed intact"], log.read_text()
    assert "warroom.db" in git(bob, "diff", "--name-only", "--diff-filter=U").stdout
    # OURS as git left it after the killed driver: bob's record, whole, nothing of his lost.
    db = bob / "warroom.db"
    assert integrity(db) == "ok"
    assert db.read_bytes() == bob_committed
    assert "bob: offline entry" in entry_texts(db)

    out = ok(warroom("sync", cwd=bob, user="bob")).stdout
    assert "finished the merge" in out, out
    assert git(bob, "status", "--porcelain").stdout == ""
    texts = set(entry_texts(db))
    assert {"bob: offline entry", "alice: after the bulk", "alice bulk 0 " + "w" * 60} <= texts
    assert len(texts) == 6000 + 2
    ok(warroom("sync", cwd=alice, user="alice"))
    assert dump_text(alice / "warroom.db") == dump_text(db)
    assert integrity(alice / "warroom.db") == "ok"


def test_driver_killed_while_merging_into_a_live_record(tmp_path: Path):
    """A console holds OURS open (a -wal beside it): the driver merges in place in one
    transaction. SIGKILL at random moments: OURS is always as it was or the whole union."""
    from warroom.clock import SystemClock
    from warroom.store import Store

    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    with Store(ours, clock=SystemClock(), author="alice", create_missing=True) as store:
        incident = store.append("incident.declared", None, {"title": "t", "severity": "P1"}).id
    shutil.copyfile(ours, theirs)
    bulk_entries(ours, 3000, "alice")
    bulk_entries(theirs, 8000, "bob")
    # How long a whole merge takes on this machine, so that the kills land inside one.
    probe = tmp_path / "probe.db"
    shutil.copyfile(ours, probe)
    began = time.perf_counter()
    ok(subprocess.run([PYTHON, "-m", "warroom", "merge", "base", str(probe), str(theirs)], capture_output=True,
                      text=True, timeout=120))
    took = time.perf_counter() - began
    conn = sqlite3.connect(ours)  # the console: keeps the WAL (and so the in-place path) alive
    conn.execute("pragma journal_mode=wal")
    before = dump_text(ours)
    rng = random.Random(3)
    outcomes = set()
    killed = 0
    for _ in range(6):
        proc = subprocess.Popen([PYTHON, "-m", "warroom", "merge", "base", str(ours), str(theirs)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 0.9) * took)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        count = conn.execute("select count(*) from events").fetchone()[0]
        assert integrity(ours) == "ok"
        if count == 1 + 3000:
            assert dump_text(ours) == before
            outcomes.add("as it was")
        else:
            assert count == 1 + 3000 + 8000, count
            outcomes.add("union")
            break
    assert killed >= 1, outcomes
    conn.close()
    # Whatever happened, the next merge completes and the union holds every event once.
    ok(subprocess.run([PYTHON, "-m", "warroom", "merge", "base", str(ours), str(theirs)], capture_output=True,
                      text=True, timeout=120))
    ids = [row[0] for row in sqlite3.connect(ours).execute("select id from events")]
    assert len(ids) == len(set(ids)) == 1 + 3000 + 8000
    assert incident in ids
