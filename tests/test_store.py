"""The SQLite file: real databases in temp folders, real processes killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from warroom.clock import FrozenClock, parse_hlc
from warroom.events import Event, format_time, new_id
from warroom.store import SCHEMA_VERSION, Store, StoreError, check_file, create


def declare(store: Store, title: str = "Checkout returns 500") -> Event:
    return store.append("incident.declared", None, {"title": title, "severity": "P1"})


def snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    """The file's bytes and mtime, and what else is in its folder (no -wal/-shm may appear)."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


def test_create_records_schema_and_app(tmp_path: Path):
    path = tmp_path / "warroom.db"
    create(path)
    conn = sqlite3.connect(path)
    meta = dict(conn.execute("select key, value from meta"))
    assert meta == {"app": "warroom", "schema_version": str(SCHEMA_VERSION)}
    columns = [row[1] for row in conn.execute("pragma table_info(events)")]
    assert columns == ["id", "incident", "hlc", "author", "kind", "at", "body"]
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert not (tmp_path / "warroom.db.creating").exists()
    with pytest.raises(StoreError, match="already exists"):
        create(path)


def test_append_and_load_round_trip(tmp_path: Path):
    clock = FrozenClock("2026-11-24T15:00:00Z")
    with Store(tmp_path / "w.db", clock=clock, author="alice", create_missing=True) as store:
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


def test_missing_database_is_not_created_by_default(tmp_path: Path):
    with pytest.raises(StoreError, match="warroom init"):
        Store(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()


def test_two_writers_on_one_file_keep_causal_order(tmp_path: Path):
    """A writer whose wall clock is an hour behind still stamps after what it has seen."""
    path = tmp_path / "w.db"
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
    path = tmp_path / "w.db"
    with Store(path, create_missing=True, author="a") as store:
        good = declare(store)
        store.conn.execute("insert into events values (?,?,?,?,?,?,?)",
                           (new_id(), good.id, "0000000000001.00000", "x", "entry.logged",
                            format_time(store.clock.now()), "{not json"))
        store.conn.execute("insert into events values (?,?,?,?,?,?,?)",
                           (new_id(), good.id, "0000000000001.00001", "x", "entry.logged",
                            format_time(store.clock.now()), "[1, 2]"))
        loaded = store.load()
    assert [e.id for e in loaded.events] == [good.id]
    assert len(loaded.quarantined) == 2
    assert all("undecodable" in q.reason for q in loaded.quarantined)


def test_replaced_file_is_noticed_and_reopened(tmp_path: Path):
    path = tmp_path / "w.db"
    other = tmp_path / "other.db"
    with Store(path, create_missing=True, author="a") as store, Store(other, create_missing=True, author="b") as o:
        declare(store)
        declare(o, "from the other copy")
        o.checkpoint()
        assert not store.replaced()
        os.replace(other, path)
        assert store.replaced()
        store.reopen()
        assert [e.body["title"] for e in store.load().events] == ["from the other copy"]


# --- refusing files that are not ours, without touching them ------------------------


def test_text_file_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes\n" * 100)
    before = snapshot(path)
    with pytest.raises(StoreError, match="not an SQLite file"):
        Store(path)
    assert snapshot(path) == before


def test_empty_file_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    before = snapshot(path)
    with pytest.raises(StoreError, match="not a warroom database"):
        Store(path)
    assert snapshot(path) == before


def truncated_copy(tmp_path: Path) -> Path:
    source = tmp_path / "full.db"
    with Store(source, create_missing=True, author="a") as store:
        opened = declare(store)
        for i in range(300):
            store.append("entry.logged", opened.id, {"text": f"entry {i} " + "x" * 200, "type": "note"})
        store.checkpoint()
    data = source.read_bytes()
    assert len(data) > 20_000
    folder = tmp_path / "cut"
    folder.mkdir()
    path = folder / "warroom.db"
    path.write_bytes(data[: len(data) // 3])
    return path


def test_truncated_database_is_refused_untouched(tmp_path: Path):
    path = truncated_copy(tmp_path)
    before = snapshot(path)
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert "damaged" in str(caught.value) and str(path) in str(caught.value)
    assert snapshot(path) == before


def test_foreign_sqlite_file_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("create table users (id integer primary key, name text)")
    conn.execute("insert into users (name) values ('x')")
    conn.commit()
    conn.close()
    before = snapshot(path)
    with pytest.raises(StoreError, match="not a warroom database"):
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
    with pytest.raises(StoreError, match="another application"):
        Store(path)
    assert snapshot(path) == before


def newer_schema_db(path: Path) -> Path:
    create(path)
    conn = sqlite3.connect(path)
    conn.execute("pragma journal_mode=delete")
    conn.execute("update meta set value = ? where key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    return path


def test_newer_schema_is_refused_untouched(tmp_path: Path):
    path = newer_schema_db(tmp_path / "future.db")
    before = snapshot(path)
    with pytest.raises(StoreError, match="newer warroom"):
        Store(path)
    assert snapshot(path) == before


def test_folder_as_database(tmp_path: Path):
    with pytest.raises(StoreError, match="folder"):
        check_file(tmp_path)


# --- durability: what append returned survives kill -9 -----------------------------

WRITER = textwrap.dedent("""
    import sys
    from warroom.store import Store

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
    path = tmp_path / "warroom.db"
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
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    conn.close()
    missing = [i for i in ids if i not in stored]
    assert missing == []
    with Store(path, author="b") as store:
        assert store.count() == len(stored)


def test_malformed_stamps_from_a_pulled_record_do_not_brick_the_file(tmp_path: Path):
    """Rows whose hlc sorts above every real stamp: open, append and load still work."""
    path = tmp_path / "w.db"
    with Store(path, create_missing=True, author="a") as store:
        opened = declare(store)
        for stamp in ("zzz", "9999999999999x", 17):
            store.conn.execute("insert into events values (?,?,?,?,?,?,?)",
                               (new_id(), opened.id, stamp, "x", "entry.logged", opened.at,
                                '{"text": "bad stamp", "type": "note"}'))
    with Store(path, author="b") as store:
        logged = store.append("entry.logged", opened.id, {"text": "still works", "type": "note"})
        assert logged.hlc > opened.hlc
        loaded = store.load()
        assert len(loaded.events) == 5
        again = store.append("entry.logged", opened.id, {"text": "and again", "type": "note"})
        assert again.hlc > logged.hlc


def test_hostile_bodies_are_quarantined(tmp_path: Path):
    path = tmp_path / "w.db"
    with Store(path, create_missing=True, author="a") as store:
        opened = declare(store)
        for body in ("[" * 60_000, "{\"text\": \"" + "x" * 70_000 + "\"}", b"\x00\x01", "", "null"):
            store.conn.execute("insert into events values (?,?,?,?,?,?,?)",
                               (new_id(), opened.id, "0000000000001.00000", "x", "entry.logged", opened.at, body))
        loaded = store.load()
    assert [e.id for e in loaded.events] == [opened.id]
    assert len(loaded.quarantined) == 5
