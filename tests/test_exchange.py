"""Exchange copies (the committed warroom.db), git's merge driver and the canonical dump.

An exchange copy holds a meta table and the events, nothing else; it is always written
afresh (temp file, fsync, rename), never edited in place. `warroom merge %O %A %B` makes OURS
a fresh copy holding the valid events of both sides; `warroom dump` is the textconv.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_user_error, run_cli

from warroom.errors import RefusedFile, StoreError
from warroom.record.clock import FrozenClock
from warroom.record.events import MAX_BODY_BYTES, Event, from_values, new_id
from warroom.record.fold import fold
from warroom.record.store import Store
from warroom.paths import record_path
from warroom.share import exchange
from warroom.share.dump import dump, dump_text
from warroom.share.exchange import merge_files


def wr(cwd: Path, *args: str, user: str = "alice"):
    return run_cli(*args, cwd=cwd, user=user, timeout=60)


def events_of(copy: Path) -> dict[str, Event]:
    rows, bad = exchange.read_rows(copy)
    assert bad == []
    return {row[0]: from_values(*row) for row in rows}


def texts(copy: Path) -> set[str]:
    return {e.body.get("text", "") for e in events_of(copy).values() if e.kind == "entry.logged"}


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("pragma integrity_check").fetchone()[0]
    finally:
        conn.close()


def schema_objects(db: Path) -> set[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
    try:
        return {(row[0], row[1]) for row in conn.execute("select type, name from sqlite_master")}
    finally:
        conn.close()


def _store(folder: Path, author: str, clock: FrozenClock | None = None) -> Store:
    return Store(record_path(folder), clock=clock or FrozenClock("2026-11-24T15:00:00Z"), author=author,
                 create_missing=True)


def _log(store: Store, incident: str, text: str) -> Event:
    return store.append("entry.logged", incident, {"text": text, "type": "note"})


def _pair(tmp_path: Path) -> tuple[Path, Path, Event]:
    """ours and theirs (exchange copies) sharing a declared incident, each with entries of its own."""
    with _store(tmp_path / "a", "alice") as store:
        declared = store.append("incident.declared", None, {"title": "API down", "severity": "P1"})
        _log(store, declared.id, "ours one")
        shared = [tuple(e.to_row().values()) for e in store.load().events]
        _log(store, declared.id, "ours two")
        exchange.write(store.path, tmp_path / "ours.db")
    with _store(tmp_path / "b", "bob") as store:
        copy = tmp_path / "shared.db"
        exchange.write_rows(copy, shared)
        store.import_file(copy, "shared")
        copy.unlink()
        _log(store, declared.id, "theirs one")
        exchange.write(store.path, tmp_path / "theirs.db")
    return tmp_path / "ours.db", tmp_path / "theirs.db", declared


# --- writing a copy ---------------------------------------------------------------------------


def test_a_copy_holds_the_events_and_nothing_else(tmp_path: Path):
    with _store(tmp_path, "alice") as store:
        declared = store.append("incident.declared", None, {"title": "API down", "severity": "P1"})
        _log(store, declared.id, "one")
        copy = tmp_path / "warroom.db"
        exchange.write(store.path, copy)
        assert {e.id: e for e in store.load().events} == events_of(copy)
    assert schema_objects(copy) == {("table", "meta"), ("table", "events"),
                                    ("index", "sqlite_autoindex_meta_1"), ("index", "sqlite_autoindex_events_1")}
    conn = sqlite3.connect(copy)
    assert dict(conn.execute("select key, value from meta")) == {"app": "warroom", "schema_version": "1"}
    assert conn.execute("pragma journal_mode").fetchone()[0] == "delete"  # no WAL: a plain file for git
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["warroom.db"]  # no temp file left
    before = copy.read_bytes()
    exchange.write(record_path(tmp_path), copy)
    assert copy.read_bytes() == before  # the same events give the same bytes: git sees no change


def test_writing_afresh_drops_whatever_was_added_to_the_old_copy(tmp_path: Path):
    with _store(tmp_path, "alice") as store:
        store.append("incident.declared", None, {"title": "API down", "severity": "P1"})
        copy = tmp_path / "warroom.db"
        exchange.write(store.path, copy)
        clean = schema_objects(copy)
        conn = sqlite3.connect(copy)
        conn.executescript("create trigger t after insert on events begin delete from events; end;"
                           "create view v as select * from events; create table loot (x);")
        conn.close()
        inode = copy.stat().st_ino
        exchange.write(store.path, copy)
    assert schema_objects(copy) == clean
    assert copy.stat().st_ino != inode  # a new file renamed over the old one, never edited in place


# --- merge_files: git's merge driver ----------------------------------------------------------


def test_merge_files_is_a_union_written_atomically(tmp_path: Path):
    ours, theirs, _ = _pair(tmp_path)
    inode = ours.stat().st_ino
    assert merge_files(ours, theirs) == (1, [])
    assert texts(ours) == {"ours one", "ours two", "theirs one"}
    assert integrity(ours) == "ok"
    assert ours.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["ours.db", "theirs.db"]  # no temp
    before = ours.read_bytes()
    assert merge_files(ours, theirs) == (0, [])  # idempotent: nothing new, file untouched
    assert ours.read_bytes() == before


def test_merge_files_with_missing_or_empty_sides(tmp_path: Path):
    ours, theirs, _ = _pair(tmp_path)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    before = ours.read_bytes()
    assert merge_files(ours, empty) == (0, []) and ours.read_bytes() == before
    assert merge_files(ours, tmp_path / "nope.db") == (0, [])
    fresh = tmp_path / "fresh.db"
    fresh.write_bytes(b"")  # git's add/add: our side is empty
    added, bad = merge_files(fresh, theirs)
    assert (added, bad) == (3, []) and texts(fresh) == {"ours one", "theirs one"}
    missing = tmp_path / "missing.db"
    merge_files(missing, theirs)
    assert dump_text(missing) == dump_text(theirs)


@pytest.mark.parametrize("content", [b"just some text\n", b"SQLite format 3\x00" + b"\x00" * 200, None, "record"])
def test_foreign_or_corrupt_theirs_is_refused_and_ours_untouched(tmp_path: Path, content):
    ours, _, _ = _pair(tmp_path)
    bad = tmp_path / "bad.db"
    if content is None:  # a real SQLite file of some other application
        conn = sqlite3.connect(bad)
        conn.execute("create table notes (x)")
        conn.commit()
        conn.close()
    elif content == "record":  # someone committed their record instead of the exchange copy
        bad = record_path(tmp_path / "a")
    else:
        bad.write_bytes(content)
    before = ours.read_bytes()
    with pytest.raises(StoreError) as caught:
        merge_files(ours, bad)
    assert str(bad) in str(caught.value)
    assert ours.read_bytes() == before
    result = wr(tmp_path, "merge", str(tmp_path / "base"), str(ours), str(bad))
    assert_user_error(result, str(bad), code=2)  # git records a conflict; sync resolves it from the record
    assert ours.read_bytes() == before
    assert not list(tmp_path.glob("*.warroom-tmp*"))


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
    escaped = new_id()
    put(escaped, "entry.logged", json.dumps({"text": "\x1b]0;pwned\x07 \x1b[2J", "type": "note"}))  # valid
    conn.execute("update events set body = ? where id = ?",
                 (json.dumps({"text": "rewritten by mallory", "type": "note"}), victim.id))
    conn.execute("insert or replace into meta values ('owner', 'mallory')")
    conn.execute("create trigger hush after insert on events begin delete from events; end")
    conn.commit()
    conn.close()

    added, refused = merge_files(ours, theirs)
    reasons = sorted(q.reason for q in refused)
    assert added == 2  # "theirs one" and the (inert) escape-laden note
    assert len(reasons) == 4, reasons
    assert any("JSON" in r for r in reasons)
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
    assert not any(kind == "trigger" for kind, _ in schema_objects(ours))
    line = next(line for line in dump(ours) if escaped in line)
    assert "\x1b" not in line and "u001b" not in line  # written inert, as a record stores it
    # The CLI driver reports the refusals on stderr and succeeds.
    again = tmp_path / "again"
    again.mkdir()
    ours2, _, _ = _pair(again)
    result2 = wr(tmp_path, "merge", "base", str(ours2), str(theirs)).ok()
    assert "3 refused" in result2.err and "\x1b" not in result2.err  # no collision with this OURS


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
        exchange.write_rows(path, [tuple(declared.to_row().values())] + rows(15_000, author))
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
    clock = FrozenClock("2026-11-24T15:00:00Z")
    with _store(tmp_path, "alice", clock) as store:
        declared = store.append("incident.declared", None, {"title": "Queue backlog", "severity": "P2"})
        for i in range(300):
            clock.advance(1)
            _log(store, declared.id, f"entry {i} " + "ü" * (i % 40))
        store.append("entry.logged", declared.id, {"type": "note", "text": "keys in order"})
        events = store.load().events
        a = tmp_path / "a.db"
        exchange.write(store.path, a)
        record_text = dump_text(store.path)  # the record dumps as its exchange copy does
    b = tmp_path / "b.db"
    exchange.write_rows(b, [])
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
    assert text == dump_text(b) == record_text
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
    """A teammate's copy may hold raw controls (written by hand): the dump shows them escaped."""
    db = tmp_path / "w.db"
    nasty = "esc \x1b[31mred\x1b[0m csi \x9b2J bidi \u202egnp.exe line\u2028sep bell \x07"
    incident = new_id()
    declared = Event(incident, incident, "1795536000000.00000", "alice", "incident.declared",
                     "2026-11-24T15:00:00.000Z", {"title": "t", "severity": "P1"})
    logged = Event(new_id(), incident, "1795536000001.00000", "alice", "entry.logged",
                   "2026-11-24T15:00:00.000Z", {"text": nasty, "type": "note"})
    exchange.write_rows(db, [tuple(declared.to_row().values()), tuple(logged.to_row().values())])
    line = next(line for line in dump(db) if logged.id in line)
    for raw, escaped in (("\x1b", "\\u001b"), ("\x9b", "\\u009b"), ("\u202e", "\\u202e"),
                         ("\u2028", "\\u2028"), ("\x07", "\\u0007")):
        assert raw not in line and escaped in line
    assert json.loads(line) == json.loads(logged.canonical())  # same meaning, inert bytes


def test_dump_cli_defaults_to_the_rooms_record(room_dir: Path):
    wr(room_dir, "declare", "Disk full", "--severity", "P2").ok()
    out = wr(room_dir, "dump").ok().out
    assert out == dump_text(record_path(room_dir)) and '"kind":"incident.declared"' in out
    assert_user_error(wr(room_dir, "dump", str(room_dir / "warroom.toml")), "not a warroom database", code=2)


def test_read_rows_refuses_a_record(tmp_path: Path):
    with _store(tmp_path, "alice"):
        pass
    with pytest.raises(RefusedFile, match="not an exchange copy"):
        exchange.read_rows(record_path(tmp_path))


def test_one_id_twice_in_theirs_is_believed_in_neither_form(tmp_path: Path):
    """A table rebuilt without its key holds one id twice with different content: the merge
    driver keeps neither (as an import does), so the next import cannot take one in as valid."""
    ours, theirs, declared = _pair(tmp_path)
    twice = new_id()
    conn = sqlite3.connect(theirs)
    conn.executescript("""
        create table events2 (id text, incident text, hlc text, author text, kind text, at text, body text);
        insert into events2 select * from events;
        drop table events;
        alter table events2 rename to events;
    """)
    for text in ("first", "second", "first"):
        conn.execute("insert into events values (?,?,?,?,?,?,?)", (twice, declared.id, "1795536000005.00000", "m",
                                                                   "entry.logged", "2026-11-24T15:00:05.000Z",
                                                                   json.dumps({"text": text, "type": "note"})))
    conn.commit()
    conn.close()
    rows, bad = exchange.read_rows(theirs)
    assert twice not in {row[0] for row in rows}
    assert [(q.id, "twice" in q.reason) for q in bad] == [(twice, True)]
    added, refused = merge_files(ours, theirs)
    assert added == 1 and twice not in events_of(ours)  # "theirs one" only
    assert [q.id for q in refused] == [twice]
