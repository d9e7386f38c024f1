"""Sync under faults, with real git repositories (a bare origin, clones) in temp folders.

- a push refused half-way (the pack is sent, then the remote's pre-receive hook refuses it);
- a remote that disappears in the middle of a push (the hook moves the repository away and
  kills the receiving git), then stays away for one more sync;
- git's merge driver (`warroom merge`) SIGKILLed while it writes the merged copy during a
  plain `git pull`;
- an import of a teammate's copy into the record, SIGKILLed at random moments while a console
  holds the record open (the import is one transaction).

Proves: each failure is said in one clear line (no traceback), the local record is intact and
its events committed on the branch (OURS whole after a killed driver), and the next `warroom
sync` completes with nothing lost on either side.

    make test   # all of it
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest
from git_support import git as _git  # noqa: F401 (fixtures)
from git_support import git_identity, origin
from reliability_support import HERE, PYTHON, integrity, record, warroom

from warroom.record.events import Event, new_id
from warroom.record.store import Store
from warroom.share import exchange
from warroom.share.dump import dump_text

git = partial(_git, timeout=120)  # these tests kill git mid-push: give it room


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def one_clear_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Failed with exit 1, the failure said in one line naming the remote and what happens next,
    no traceback."""
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    said = [line for line in (proc.stdout + proc.stderr).splitlines() if "could not be reached" in line]
    assert len(said) == 1, proc.stdout + proc.stderr
    for needle in needles:
        assert needle in said[0], said[0]
    return said[0]


def texts_of(db: Path) -> list[str]:
    """Entry texts of a record or an exchange copy, read with plain sqlite3."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return [json.loads(body)["text"] for (body,) in
                conn.execute("select body from events where kind = 'entry.logged'")]
    finally:
        conn.close()


def intact(room: Path, *texts: str) -> None:
    """The local record holds these entries and is whole; the branch's commit holds them too
    (a clean tree)."""
    db = record(room)
    assert integrity(db) == "ok"
    assert set(texts) <= set(texts_of(db))
    assert git(room, "status", "--porcelain").stdout == ""
    committed = room.parent / f"{room.name}-head.db"
    committed.write_bytes(subprocess.run(["git", "show", "HEAD:warroom.db"], cwd=room, capture_output=True,
                                         check=True, timeout=60).stdout)
    assert set(texts) <= set(texts_of(committed))
    committed.unlink()


def fresh_clone(tmp_path: Path, origin: Path, name: str) -> Path:
    git(tmp_path, "clone", "--quiet", str(origin), name)
    return tmp_path / name


def cloned_texts(tmp_path: Path, origin: Path, name: str) -> set[str]:
    """What a new teammate gets: a clone and one sync (which takes in every copy's ref)."""
    room = fresh_clone(tmp_path, origin, name)
    ok(warroom("sync", "--no-push", cwd=room, user=name))
    return set(texts_of(record(room)))


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
    one_clear_line(failed, "origin", "next sync", "1 event(s) wait")
    assert marker.exists()  # the objects had gone over when the remote refused them
    intact(alice, "alice: paged the database team")
    assert "alice: paged the database team" not in cloned_texts(tmp_path, origin, "before")

    ok(warroom("log", "alice: written after the refusal", cwd=alice, user="alice"))
    refuse.unlink()
    out = ok(warroom("sync", cwd=alice, user="alice")).stdout
    assert "went out to origin: 2 events (2 entry.logged)" in out, out
    assert {"alice: paged the database team", "alice: written after the refusal"} <= cloned_texts(tmp_path, origin,
                                                                                                 "bob")
    assert dump_text(record(tmp_path / "bob")) == dump_text(record(alice))


def test_remote_disappearing_mid_push_then_next_sync_completes(tmp_path: Path, origin: Path, alice: Path):
    away = tmp_path / "origin-away.git"
    # The server vanishes while it receives: the repository moves away and the receiving git dies.
    vanish = hook(origin, f'mv "{origin}" "{away}"\nkill -9 $PPID\nexit 1\n')
    ok(warroom("log", "alice: entry in flight", cwd=alice, user="alice"))
    one_clear_line(warroom("sync", cwd=alice, user="alice"), "origin", "next sync")
    assert not origin.exists() and away.exists()
    intact(alice, "alice: entry in flight")

    ok(warroom("log", "alice: written while the remote is gone", cwd=alice, user="alice"))
    one_clear_line(warroom("sync", cwd=alice, user="alice"), "origin", "next sync")
    intact(alice, "alice: entry in flight", "alice: written while the remote is gone")

    away.rename(origin)
    (origin / "hooks" / "pre-receive").unlink()
    assert git(origin, "fsck", "--no-progress", check=False).returncode == 0
    out = ok(warroom("sync", cwd=alice, user="alice")).stdout
    assert "went out to origin" in out, out
    wanted = {"alice: entry in flight", "alice: written while the remote is gone"}
    assert wanted <= cloned_texts(tmp_path, origin, "bob")
    assert wanted <= set(texts_of(tmp_path / "bob" / "warroom.db"))  # the branch caught up as well
    assert dump_text(record(tmp_path / "bob")) == dump_text(record(alice))
    assert vanish.name == "pre-receive"


def bulk_entries(db: Path, n: int, author: str) -> None:
    """n valid entries written into a record (fast: one transaction, the derived rows with them)."""
    with Store(db, author=author) as store:
        incident = store.load().events[0].id
        newest = store.conn.execute("select max(hlc) from events").fetchone()[0]
        ms = int(newest.split(".")[0]) + 1
        events = [Event(new_id(), incident, f"{ms + i:013d}.00000", author, "entry.logged",
                        "2026-11-24T15:00:00.000Z", {"text": f"{author} bulk {i} " + "w" * 60, "type": "note"})
                  for i in range(n)]
        store.conn.execute("begin immediate")
        store._insert(events)
        store.conn.execute("commit")
        store.checkpoint()


def test_merge_driver_killed_mid_write_then_sync_completes(tmp_path: Path, origin: Path, alice: Path):
    bob = fresh_clone(tmp_path, origin, "bob")
    ok(warroom("git-setup", cwd=bob, user="bob"))
    ok(warroom("log", "bob: offline entry", cwd=bob, user="bob"))
    ok(warroom("sync", "--no-push", cwd=bob, user="bob"))  # bob's warroom.db committed, not pushed
    bob_committed = (bob / "warroom.db").read_bytes()
    bulk_entries(record(alice), 6000, "alice")
    ok(warroom("log", "alice: after the bulk", cwd=alice, user="alice"))
    ok(warroom("sync", cwd=alice, user="alice"))

    log = tmp_path / "driver.log"
    killer = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "merge.warroom.driver",
              "GIT_CONFIG_VALUE_0": f"{PYTHON} {HERE / 'killer_driver.py'} {log} %O %A %B"}
    pulled = git(bob, "pull", "--no-rebase", "origin", "main", check=False, env=killer)
    assert pulled.returncode != 0, pulled.stdout + pulled.stderr
    assert log.read_text().splitlines() == ["killed intact"], log.read_text()
    assert "warroom.db" in git(bob, "diff", "--name-only", "--diff-filter=U").stdout
    # OURS as git left it after the killed driver: bob's copy, whole; his record untouched by git.
    db = bob / "warroom.db"
    assert integrity(db) == "ok"
    assert db.read_bytes() == bob_committed
    assert "bob: offline entry" in texts_of(record(bob))

    out = ok(warroom("sync", cwd=bob, user="bob")).stdout
    assert "finished the merge" in out, out
    assert git(bob, "status", "--porcelain").stdout == ""
    texts = set(texts_of(record(bob)))
    assert {"bob: offline entry", "alice: after the bulk", "alice bulk 0 " + "w" * 60} <= texts
    assert len(texts) == 6000 + 2
    assert set(texts_of(db)) == texts  # and the branch's copy holds the union
    ok(warroom("sync", cwd=alice, user="alice"))
    assert dump_text(record(alice)) == dump_text(record(bob))
    assert integrity(record(alice)) == "ok"


IMPORTER = """
import sys
from warroom.record.clock import SystemClock
from warroom.record.store import Store
with Store(sys.argv[1], clock=SystemClock(), author="importer") as store:
    store.import_file(__import__("pathlib").Path(sys.argv[2]), "teammate")
"""


def test_an_import_killed_while_a_console_holds_the_record(tmp_path: Path):
    """A teammate's copy taken into the record while a console has it open (its -wal beside it).
    SIGKILL the import at random moments: the record is always as it was or holds the whole
    union, never part of it, and its derived rows agree with its events."""
    from warroom.record.clock import SystemClock
    from warroom.paths import record_path

    path = record_path(tmp_path / "room")
    with Store(path, clock=SystemClock(), author="alice", create_missing=True) as store:
        incident = store.append("incident.declared", None, {"title": "t", "severity": "P1"}).id
    bulk_entries(path, 3000, "alice")
    theirs = tmp_path / "theirs" / "warroom.db"
    theirs.parent.mkdir()
    with Store(record_path(tmp_path / "bob"), clock=SystemClock(), author="bob", create_missing=True) as bob:
        bob.import_file(_copy_of(path, tmp_path / "seed.db"), "alice")
    bulk_entries(record_path(tmp_path / "bob"), 8000, "bob")
    exchange.write(record_path(tmp_path / "bob"), theirs)
    # How long a whole import takes on this machine, so that the kills land inside one.
    probe = record_path(tmp_path / "probe")
    _copy_record(path, probe)
    began = time.perf_counter()
    ok(subprocess.run([PYTHON, "-c", IMPORTER, str(probe), str(theirs)], capture_output=True, text=True,
                      timeout=300))
    took = time.perf_counter() - began
    console = sqlite3.connect(path)  # the console: keeps the record open (its WAL alive)
    console.execute("pragma journal_mode=wal")
    before = dump_text(path)
    rng = random.Random(3)
    outcomes = set()
    killed = 0
    for _ in range(6):
        proc = subprocess.Popen([PYTHON, "-c", IMPORTER, str(path), str(theirs)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 0.9) * took)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        count = console.execute("select count(*) from events").fetchone()[0]
        rows = console.execute("select count(*) from entries").fetchone()[0]
        assert integrity(path) == "ok"
        if count == 1 + 3000:
            assert dump_text(path) == before and rows == 1 + 3000
            outcomes.add("as it was")
        else:
            assert count == 1 + 3000 + 8000 and rows == count, (count, rows)
            outcomes.add("union")
            break
    assert killed >= 1, outcomes
    console.close()
    # Whatever happened, the next import completes and the union holds every event once.
    ok(subprocess.run([PYTHON, "-c", IMPORTER, str(path), str(theirs)], capture_output=True, text=True,
                      timeout=300))
    conn = sqlite3.connect(path)
    ids = [row[0] for row in conn.execute("select id from events")]
    assert conn.execute("select count(*) from entries").fetchone()[0] == len(ids)
    conn.close()
    assert len(ids) == len(set(ids)) == 1 + 3000 + 8000
    assert incident in ids


def _copy_of(record_file: Path, dest: Path) -> Path:
    exchange.write(record_file, dest)
    return dest


def _copy_record(source: Path, dest: Path) -> None:
    """A record's copy made the way SQLite backs up a live database."""
    dest.parent.mkdir(parents=True)
    src = sqlite3.connect(source)
    out = sqlite3.connect(dest)
    src.backup(out)
    src.close()
    out.close()
