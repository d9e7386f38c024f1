"""A pulled record can only add events (issue 13), tried as a hostile teammate would.

Real bare origins and clones in temp folders, real sqlite3 edits of the committed warroom.db,
the real CLI as a subprocess; nothing is mocked. Whatever git brings (a fast-forward, a pull,
`reset --hard`, a stash, a checkout of the file, a teammate's ref), the responder's record
(.warroom/record.db) keeps every one of its events unchanged, takes in only valid events, and
no schema object crosses over, neither into the record nor into the next warroom.db.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import pytest
from git_support import git, git_identity, origin  # noqa: F401 (fixtures)
from test_sync import clean_tree, clone, events_of, first, texts, wr  # noqa: F401 (first: a fixture)

from warroom.record.clock import parse_hlc
from warroom.record.events import Event, new_id
from warroom.record.dbfile import create_record
from warroom.record.store import Store
from warroom.paths import record_path
from warroom.record.dbfile import signature as file_signature
from warroom.share import exchange
from warroom.share.git import DB_NAME

ROOT_CAUSE = "Root cause: the pool of 10 could not absorb the retry storm"
CLEAN_COPY = {("table", "meta"), ("table", "events"), ("index", "sqlite_autoindex_meta_1"),
              ("index", "sqlite_autoindex_events_1")}


def schema_objects(db: Path) -> set[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {(row[0], row[1]) for row in conn.execute("select type, name from sqlite_master")}
    finally:
        conn.close()


def fresh_record_objects(tmp_path: Path) -> set[tuple[str, str]]:
    path = record_path(tmp_path / "pristine")
    create_record(path)
    return schema_objects(path)


@pytest.fixture
def responder(tmp_path: Path, origin: Path, first: Path) -> Path:
    """Alice's war room with three entries of hers, all synced to origin's branch."""
    for text in ("alice: error rate at 40%", "alice: rolled back deploy 4812", "alice: paged the db team"):
        wr(first, "log", text).ok()
    wr(first, "sync").ok()
    clean_tree(first)
    return first


def hostile_edit(db: Path, victims: list[Event]) -> None:
    """What mallory does to warroom.db with the sqlite3 module: delete one of the responder's
    entries, rewrite another's author and text, add a trigger, a view and an extra table."""
    deleted, rewritten = victims
    conn = sqlite3.connect(db)
    conn.execute("delete from events where id = ?", (deleted.id,))
    conn.execute("update events set author = 'mallory', body = json_set(body, '$.text', 'forged by mallory') "
                 "where id = ?", (rewritten.id,))
    conn.executescript("""
        create trigger hush after insert on events begin
          update events set body = json_set(body, '$.text', 'nothing to see here') where id = new.id;
        end;
        create view every_event as select * from events;
        create table loot (secret text);
        insert into loot values ('exfiltrated');
    """)
    conn.commit()
    conn.close()


def mallory_pushes_the_branch(tmp_path: Path, origin: Path, victims: list[Event], name: str = "mallory") -> Path:
    mallory = clone(tmp_path, origin, name)
    hostile_edit(mallory / DB_NAME, victims)
    git(mallory, "commit", "--quiet", "-am", "tidy up the record")
    git(mallory, "push", "--quiet", "origin", "main")
    return mallory


def alices_entries(room: Path) -> dict[str, Event]:
    return {i: e for i, e in events_of(record_path(room)).items() if e.kind == "entry.logged"}


def assert_record_whole(room: Path, before: dict[str, Event], tmp_path: Path) -> None:
    after = events_of(record_path(room))
    for event_id, event in before.items():
        assert after.get(event_id) == event, f"{event_id} lost or changed"
    assert schema_objects(record_path(room)) == fresh_record_objects(tmp_path)
    names = {row[0] for row in sqlite3.connect(record_path(room)).execute("select name from sqlite_master")}
    assert not names & {"hush", "every_event", "loot"}


def log_and_show(room: Path) -> str:
    wr(room, "log", ROOT_CAUSE, "--kind", "finding").ok()
    shown = wr(room, "show").ok().out
    assert ROOT_CAUSE in shown and "nothing to see here" not in shown
    stored = [e for e in events_of(record_path(room)).values() if e.body.get("text") == ROOT_CAUSE]
    assert len(stored) == 1
    return shown


def next_copy_is_clean(room: Path, before: dict[str, Event]) -> None:
    wr(room, "sync").ok()
    assert schema_objects(room / DB_NAME) == CLEAN_COPY
    shared = events_of(room / DB_NAME)
    for event_id, event in before.items():
        assert shared.get(event_id) == event
    assert ROOT_CAUSE in {e.body.get("text") for e in shared.values()}
    clean_tree(room)


# --- 1. the hostile teammate's edit of warroom.db, through every way git brings it -------------


def _sync(room: Path) -> None:
    out = wr(room, "sync").ok().out
    assert "quarantined 1 incoming event(s)" in out and "collides" in out, out


def _pull(room: Path) -> None:
    git(room, "pull", "--quiet", "--no-rebase", "origin", "main")


def _reset(room: Path) -> None:
    git(room, "fetch", "--quiet", "origin")
    git(room, "reset", "--quiet", "--hard", "origin/main")


def _stash(room: Path) -> None:
    """A local change stashed around the pull; the stash pop leaves the pulled warroom.db."""
    with open(room / "warroom.toml", "a") as handle:
        handle.write("\n# a local tweak\n")
    git(room, "stash", "--quiet")
    git(room, "pull", "--quiet", "--no-rebase", "origin", "main")
    wr(room, "list").ok()  # warroom looks in between
    git(room, "stash", "pop", "--quiet")
    git(room, "checkout", "--quiet", "--", "warroom.toml")


def _checkout(room: Path) -> None:
    git(room, "fetch", "--quiet", "origin")
    git(room, "checkout", "origin/main", "--", DB_NAME)


@pytest.mark.parametrize("bring", [_sync, _pull, _reset, _stash, _checkout],
                         ids=["warroom sync", "git pull", "reset --hard", "stash", "checkout the file"])
def test_a_hostile_edit_of_warroom_db_can_only_add(tmp_path: Path, origin: Path, responder: Path, bring):
    before = events_of(record_path(responder))
    mine = alices_entries(responder)
    victims = sorted(mine.values(), key=lambda e: e.order_key)[:2]
    mallory_pushes_the_branch(tmp_path, origin, victims)
    bring(responder)
    if bring is not _sync:  # git changed warroom.db under the record: the next command takes it in
        assert schema_objects(responder / DB_NAME) != CLEAN_COPY  # the hostile file is in the work tree
    shown = log_and_show(responder)
    assert_record_whole(responder, before, tmp_path)
    for victim in victims:  # the deleted entry is still there, the rewritten one says what alice wrote
        assert victim.body["text"] in shown
    assert "forged by mallory" not in shown and "mallory" not in shown
    if bring is not _sync:
        listed = wr(responder, "quarantine").ok().out
        assert victims[1].id in listed and "collides" in listed
    next_copy_is_clean(responder, before)
    # A teammate cloning now gets alice's record back, whole.
    bob = clone(tmp_path, origin, f"bob-{bring.__name__}")
    shown = wr(bob, "show", user="bob").ok().out
    assert all(victim.body["text"] in shown for victim in victims) and ROOT_CAUSE in shown


def test_the_trigger_never_fires_on_the_responders_writes(tmp_path: Path, origin: Path, responder: Path):
    mine = sorted(alices_entries(responder).values(), key=lambda e: e.order_key)
    mallory_pushes_the_branch(tmp_path, origin, mine[:2])
    _pull(responder)
    out = wr(responder, "log", ROOT_CAUSE).ok().out
    assert out.startswith("logged ")
    assert ROOT_CAUSE in wr(responder, "show").ok().out
    assert "nothing to see here" not in json.dumps([e.body for e in events_of(record_path(responder)).values()])


# --- 2. the same through a hostile copy's ref ------------------------------------------------


def push_ref(repo: Path, ref: str, db: Path) -> None:
    """Publish `db` as the one file of a commit on `ref` (what a copy's sync does), with force."""
    blob = git(repo, "hash-object", "-w", "--", str(db)).stdout.strip()
    tree = git_input(repo, f"100644 blob {blob}\t{DB_NAME}\n", "mktree")
    commit = git(repo, "commit-tree", tree, "-m", "mallory's copy").stdout.strip()
    git(repo, "push", "--quiet", "--force", "origin", f"{commit}:{ref}")


def git_input(repo: Path, text: str, *args: str) -> str:
    import subprocess

    return subprocess.run(["git", *args], cwd=repo, input=text, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.parametrize("impersonate", [False, True], ids=["its own id", "the responder's id"])
def test_a_hostile_ref_adds_valid_events_or_is_quarantined(tmp_path: Path, origin: Path, responder: Path,
                                                         impersonate: bool):
    before = events_of(record_path(responder))
    mine = sorted(alices_entries(responder).values(), key=lambda e: e.order_key)
    incident = next(e for e in before.values() if e.kind == "incident.declared")
    mallory = clone(tmp_path, origin, "mallory")
    doctored = tmp_path / "doctored.db"
    doctored.write_bytes((mallory / DB_NAME).read_bytes())
    hostile_edit(doctored, mine[:2])
    fair = Event(new_id(), incident.id, f"{int(time.time() * 1000):013d}.00000", "mallory", "entry.logged",
                 "2026-11-24T15:00:00.000Z", {"text": "mallory: a fair finding", "type": "finding"})
    conn = sqlite3.connect(doctored)
    conn.execute("drop trigger hush")  # or her own insert below would be rewritten in her copy
    conn.execute("insert into events values (?,?,?,?,?,?,?)", tuple(fair.to_row().values()))
    conn.execute("insert into events values (?,?,?,?,?,?,?)", (new_id(), incident.id, fair.hlc, "mallory",
                                                                "shell.exec", fair.at, '{"command": "sh"}'))
    conn.commit()
    conn.close()
    copy_id = Store(record_path(responder)).copy_id if impersonate else new_id()
    push_ref(mallory, f"refs/warroom/{copy_id}", doctored)

    out = wr(responder, "sync").ok().out
    assert "came in from origin: 1 event (1 entry.logged)" in out, out
    assert "quarantined 2 incoming event(s)" in out, out
    assert_record_whole(responder, before, tmp_path)
    assert "mallory: a fair finding" in texts(responder)
    log_and_show(responder)
    next_copy_is_clean(responder, before)
    # The responder's own ref on origin holds the responder's record again, nothing of mallory's edit.
    mine_ref = Store(record_path(responder)).copy_id
    git(responder, "fetch", "--quiet", "origin", f"+refs/warroom/{mine_ref}:refs/check/mine")
    blob = tmp_path / "on-origin" / DB_NAME
    blob.parent.mkdir()
    blob.write_bytes(_blob(responder, f"refs/check/mine:{DB_NAME}"))
    ours = events_of(blob)
    assert all(ours.get(i) == e for i, e in before.items()) and schema_objects(blob) == CLEAN_COPY


def _blob(repo: Path, spec: str) -> bytes:
    import subprocess

    return subprocess.run(["git", "cat-file", "blob", spec], cwd=repo, capture_output=True, check=True).stdout


# --- 3. clock poison ----------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["branch", "ref"])
def test_a_poisoned_stamp_is_quarantined_and_never_adopted(tmp_path: Path, origin: Path, responder: Path,
                                                          via: str):
    incident = next(e for e in events_of(record_path(responder)).values() if e.kind == "incident.declared")
    poison = Event(new_id(), incident.id, "9999999999999.99999", "mallory", "entry.logged",
                   "2026-11-24T15:00:00.000Z", {"text": "from the end of time", "type": "note"})
    mallory = clone(tmp_path, origin, "mallory")
    conn = sqlite3.connect(mallory / DB_NAME)
    conn.execute("insert into events values (?,?,?,?,?,?,?)", tuple(poison.to_row().values()))
    conn.commit()
    conn.close()
    if via == "branch":
        git(mallory, "commit", "--quiet", "-am", "one more entry")
        git(mallory, "push", "--quiet", "origin", "main")
    else:
        push_ref(mallory, f"refs/warroom/{new_id()}", mallory / DB_NAME)
    out = wr(responder, "sync").ok().out
    assert "quarantined 1 incoming event(s)" in out and poison.id[:36] in out, out
    assert "ahead of this machine's clock" in out, out
    assert poison.id not in events_of(record_path(responder))
    for n in range(3):
        began = int(time.time() * 1000)
        logged = wr(responder, "log", f"after the poison {n}").ok().out
        entry = next(e for e in events_of(record_path(responder)).values()
                     if e.body.get("text") == f"after the poison {n}")
        physical, _ = parse_hlc(entry.hlc)
        assert len(entry.hlc) == 19 and abs(physical - began) < 60_000, entry.hlc
        assert logged.startswith("logged ")
    shown = wr(responder, "show").ok().out
    assert all(f"after the poison {n}" in shown for n in range(3)) and "from the end of time" not in shown
    listed = wr(responder, "quarantine").ok().out
    assert poison.id in listed and "ahead" in listed
    # A teammate's copy takes the responder's entries in (they are not refused anywhere).
    wr(responder, "sync").ok()
    bob = clone(tmp_path, origin, "bob")
    wr(bob, "sync", user="bob").ok()
    assert {f"after the poison {n}" for n in range(3)} <= texts(bob)
    assert poison.id not in events_of(record_path(bob))


# --- 4. a duplicate id, a corrupt file: the sync goes on ---------------------------------------


def without_primary_key(db: Path, incident: Event) -> str:
    """Rebuild the events table without its primary key and put one id in it twice."""
    twice = new_id()
    conn = sqlite3.connect(db)
    conn.executescript("""
        create table events2 (id text, incident text, hlc text, author text, kind text, at text, body text);
        insert into events2 select * from events;
        drop table events;
        alter table events2 rename to events;
    """)
    for text in ("the first of two", "the second of two"):
        conn.execute("insert into events values (?,?,?,?,?,?,?)", (twice, incident.id, "1795536000005.00000", "mallory",
                                                                   "entry.logged", "2026-11-24T15:00:05.000Z",
                                                                   json.dumps({"text": text, "type": "note"})))
    good = Event(new_id(), incident.id, "1795536000006.00000", "mallory", "entry.logged", "2026-11-24T15:00:06.000Z",
                 {"text": "mallory: a good entry", "type": "note"})
    conn.execute("insert into events values (?,?,?,?,?,?,?)", tuple(good.to_row().values()))
    conn.commit()
    conn.close()
    return twice


def truncated(db: Path, dest: Path) -> Path:
    dest.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    return dest


def test_a_duplicate_id_and_a_corrupt_copy_do_not_stop_the_sync(tmp_path: Path, origin: Path, responder: Path):
    before = events_of(record_path(responder))
    incident = next(e for e in before.values() if e.kind == "incident.declared")
    mallory = clone(tmp_path, origin, "mallory")
    for n in range(40):  # enough pages that half the file is missing some of them
        wr(mallory, "log", f"mallory: filler {n} " + "x" * 200, user="mallory").ok()
    wr(mallory, "sync", "--no-push", user="mallory").ok()
    trudy_file = truncated(mallory / DB_NAME, tmp_path / "cut.db")
    twice = without_primary_key(mallory / DB_NAME, incident)
    git(mallory, "commit", "--quiet", "-am", "rebuilt the table")
    git(mallory, "push", "--quiet", "origin", "main")
    trudy_id = new_id()
    push_ref(mallory, f"refs/warroom/{trudy_id}", trudy_file)

    wr(responder, "log", "alice: written before the bad sync").ok()
    result = wr(responder, "sync")
    assert result.code == 0, result
    out = result.out + result.err
    assert "Traceback" not in out and "internal error" not in out
    assert "came in from origin: 41 events (41 entry.logged)" in out, out  # the good one and 40 fillers
    assert "quarantined 1 incoming event(s)" in out and twice[:36] in out and "twice" in out, out
    assert f"({trudy_id[:8]}) on origin was not taken in" in out and "damaged" in out, out
    assert "warroom quarantine" in out
    for temp in ("/tmp/", "warroom-sync-", ".warroom-tmp", "in-0.db", "in-1.db"):
        assert temp not in out, (temp, out)
    assert_record_whole(responder, before, tmp_path)
    assert {"mallory: a good entry", "alice: written before the bad sync"} <= texts(responder)
    assert not {"the first of two", "the second of two"} & texts(responder)
    # Local changes are committed and went out; the tree is clean.
    clean_tree(responder)
    committed = events_of(responder / DB_NAME)
    assert "alice: written before the bad sync" in {e.body.get("text") for e in committed.values()}
    bob = clone(tmp_path, origin, "bob")
    assert "alice: written before the bad sync" in wr(bob, "show", user="bob").ok().out
    listed = wr(responder, "quarantine").ok().out
    assert twice in listed
    # The next sync has nothing left to say about either file.
    again = wr(responder, "sync").ok().out
    assert "quarantined" not in again and "not taken in" not in again, again


def test_a_corrupt_warroom_db_on_the_branch_is_reported_and_replaced(tmp_path: Path, origin: Path,
                                                                    responder: Path):
    before = events_of(record_path(responder))
    mallory = clone(tmp_path, origin, "mallory")
    wr(mallory, "log", "mallory: filler " + "x" * 5000, user="mallory").ok()
    wr(mallory, "sync", "--no-push", user="mallory").ok()
    data = (mallory / DB_NAME).read_bytes()
    (mallory / DB_NAME).write_bytes(data[: len(data) // 2])
    git(mallory, "commit", "--quiet", "-am", "oops")
    git(mallory, "push", "--quiet", "origin", "main")
    wr(responder, "log", "alice: after the breakage").ok()
    result = wr(responder, "sync")
    assert result.code == 0, result
    out = result.out + result.err
    assert "Traceback" not in out and "/tmp/" not in out and "warroom-sync-" not in out, out
    assert "origin/main was not taken in" in out, out
    assert_record_whole(responder, before, tmp_path)
    clean_tree(responder)
    assert schema_objects(responder / DB_NAME) == CLEAN_COPY
    assert "alice: after the breakage" in {e.body.get("text") for e in events_of(responder / DB_NAME).values()}
    # A plain pull of the broken file and a command after it: one clear note, the record intact.
    fresh = clone(tmp_path, origin, "carol")
    shown = wr(fresh, "show", user="carol")
    assert shown.code == 0 and "alice: after the breakage" in shown.out


# --- 5. an old war room (warroom.db was the live record, with a WAL) migrates losing nothing ------

V1_SCHEMA = """
create table meta (key text primary key, value text);
create table events (id text primary key, incident text not null, hlc text not null, author text not null,
                     kind text not null, at text not null, body text not null);
create index idx_events_incident_hlc on events (incident, hlc);
create index idx_events_hlc on events (hlc);
insert into meta values ('app', 'warroom'), ('schema_version', '1');
"""

OLD_WRITER = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("pragma journal_mode=wal")
conn.execute("pragma wal_autocheckpoint=0")  # the old console: entries in the WAL, not yet in the file
for line in sys.stdin:
    conn.execute("insert into events values (?,?,?,?,?,?,?)", tuple(line.rstrip("\\n").split("\\t")))
os._exit(0)  # killed: the WAL is left beside the file, never checkpointed
"""


def old_war_room(tmp_path: Path) -> tuple[Path, list[Event]]:
    import subprocess
    import sys

    room = tmp_path / "old"
    wr(tmp_path, "init", str(room)).ok()
    for leftover in (room / DB_NAME, room / ".warroom"):
        if leftover.is_dir():
            import shutil

            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    (room / ".gitignore").write_text("*.db-wal\n*.db-shm\n*.db.creating\n*.warroom-tmp*\nexports/\n")
    conn = sqlite3.connect(room / DB_NAME)
    conn.executescript(V1_SCHEMA)
    conn.execute("pragma journal_mode=wal")
    incident = new_id()
    declared = Event(incident, incident, "1795532400000.00000", "old-alice", "incident.declared",
                     "2026-11-24T14:00:00.000Z", {"title": "Checkout returns 500", "severity": "P1"})
    first = Event(new_id(), incident, "1795532401000.00000", "old-alice", "entry.logged", "2026-11-24T14:00:01.000Z",
                  {"text": "checkpointed entry", "type": "note"})
    conn.executemany("insert into events values (?,?,?,?,?,?,?)",
                     [tuple(e.to_row().values()) for e in (declared, first)])
    conn.commit()
    conn.close()
    in_wal = [Event(new_id(), incident, f"17955324{n + 10:05d}.00000", "old-bob", "entry.logged",
                    f"2026-11-24T14:00:{n + 10:02d}.000Z", {"text": f"only in the WAL {n}", "type": "finding"})
              for n in range(5)]
    lines = "".join("\t".join(str(v) for v in e.to_row().values()) + "\n" for e in in_wal)
    subprocess.run([sys.executable, "-c", OLD_WRITER, str(room / DB_NAME)], input=lines, text=True, check=True)
    assert (room / (DB_NAME + "-wal")).stat().st_size > 0
    plain = sqlite3.connect(f"file:{room / DB_NAME}?mode=ro&immutable=1", uri=True)  # the file alone
    assert plain.execute("select count(*) from events").fetchone()[0] == 2
    plain.close()
    return room, [declared, first, *in_wal]


def test_an_old_war_room_migrates_by_itself_losing_nothing(tmp_path: Path, origin: Path):
    room, old = old_war_room(tmp_path)
    shown = wr(room, "show").ok().out
    for event in old[1:]:
        assert event.body["text"] in shown
    held = events_of(record_path(room))
    assert all(held.get(e.id) == e for e in old)
    assert (room / ".warroom" / ".gitignore").exists()
    # It goes on working, and the first sync makes warroom.db an exchange copy (the WAL goes).
    wr(room, "log", "written after the upgrade").ok()
    git(room, "init", "--quiet", "-b", "main")
    git(room, "remote", "add", "origin", str(origin))
    wr(room, "sync").ok()
    assert not (room / (DB_NAME + "-wal")).exists()
    assert schema_objects(room / DB_NAME) == CLEAN_COPY
    shared = events_of(room / DB_NAME)
    assert all(shared.get(e.id) == e for e in old)
    assert ".warroom/" in (room / ".gitignore").read_text().splitlines()
    clean_tree(room)
    bob = clone(tmp_path, origin, "bob")
    shown = wr(bob, "show", user="bob").ok().out
    assert "only in the WAL 4" in shown and "written after the upgrade" in shown


def test_an_old_war_room_opened_twice_imports_once(tmp_path: Path):
    room, old = old_war_room(tmp_path)
    wr(room, "list").ok()
    with Store(record_path(room), author="reader") as store:
        count = store.count()
        signature = store.imported(f"file:{DB_NAME}")
    assert count == len(old) and signature == file_signature(room / DB_NAME)
    wr(room, "list").ok()
    with Store(record_path(room), author="reader") as store:
        assert store.count() == count
