"""Exchange copies: the SQLite files that carry a record between machines through git.

An exchange copy (the committed `warroom.db`, and the file on each copy's ref) holds only a
`meta` table and the `events` table, in the format every warroom version reads. It is
always written afresh from a record (`write`), never edited in place, so nothing a teammate
put in a copy (a trigger, a view, an extra table, a rewritten row) survives into the next
one. It is read only by `Store.import_file`, which validates every row.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from warroom.errors import StoreError
from warroom.record.dbfile import APP_ID, COLUMNS, SCHEMA_VERSION, check_file, sidecars, uri
from warroom.record.events import MAX_BODY_BYTES, Event, from_values, problem, stored_body
from warroom.record.queries import Quarantined

# Plain sqlite3 here, not sqlite-utils: writing and merging copies are single SQL statements
# (ATTACH, then INSERT ... SELECT), which the library would only wrap, and these paths are
# measured (benchmarks/bench_sync.py): importing sqlite-utils alone takes about 60 ms, and
# its rows come as dicts (reading 100k events: 168 ms against 120 ms for plain tuples).
TEMP_SUFFIX = ".warroom-tmp"

_SCHEMA = """
create table meta (key text primary key, value text not null);
create table events (id text primary key, incident text not null, hlc text not null,
                     author text not null, kind text not null, at text not null, body text not null);
"""


def write(record: Path, dest: Path) -> None:
    """Write `dest` afresh: every event of the record, sorted, and nothing else. The same
    events give the same bytes, so git sees no change when there is none. Atomic: a temp
    file beside it, fsync, rename."""
    _write(
        dest,
        lambda conn: conn.execute(
            f"insert into main.events ({', '.join(COLUMNS)}) select {', '.join(COLUMNS)} from source.events "
            f"order by hlc, author, id"
        ),
        source=record,
    )


def write_rows(dest: Path, rows: list[tuple[Any, ...]]) -> None:
    """Write `dest` afresh from (id, incident, hlc, author, kind, at, body) rows."""
    ordered = sorted(rows, key=lambda row: (row[2], row[3], row[0]))
    _write(
        dest,
        lambda conn: conn.executemany(
            f"insert into main.events ({', '.join(COLUMNS)}) values (?,?,?,?,?,?,?)", ordered
        ),
    )


def _write(dest: Path, fill: Callable[[sqlite3.Connection], object], source: Path | None = None) -> None:
    dest = Path(dest)
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}{TEMP_SUFFIX}")
    litter = (tmp, *sidecars(tmp), tmp.with_name(tmp.name + "-journal"))
    _remove(*litter)
    try:
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.execute("pragma journal_mode=off")  # a private temp file: one fsync at the end
            conn.execute("pragma synchronous=off")
            conn.executescript(_SCHEMA)
            conn.executemany(
                "insert into meta (key, value) values (?, ?)",
                [("app", APP_ID), ("schema_version", str(SCHEMA_VERSION))],
            )
            if source is not None:
                conn.execute("attach database ? as source", (uri(source, readonly=True),))
            conn.execute("begin")
            fill(conn)
            conn.execute("commit")
            if source is not None:
                conn.execute("detach database source")
            conn.execute("pragma journal_mode=delete")
        finally:
            conn.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        # A WAL left beside the old file (an older warroom used it as its live record) would be
        # read as part of the new one: it was imported before we got here, and goes now.
        _remove(*sidecars(dest))
        os.replace(tmp, dest)
        try:
            dir_fd = os.open(dest.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{dest}: cannot write the shared copy ({exc}); the record is intact") from None
    except OSError as exc:
        raise StoreError(
            f"{dest}: cannot write the shared copy ({exc.strerror or exc}); the record is intact"
        ) from None
    finally:
        _remove(*litter)


def _remove(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass


def read_rows(path: Path) -> tuple[list[tuple[Any, ...]], list[Quarantined]]:
    """The valid rows of an exchange copy (one per id), as a record stores them, and the ones
    that are not valid."""
    rows, bad, _ = _read_rows(path)
    return rows, bad


def _read_rows(path: Path) -> tuple[list[tuple[Any, ...]], list[Quarantined], bool]:
    """read_rows, and whether a valid row is stored otherwise in the file (not yet inert)."""
    check_file(path, APP_ID)
    good: dict[str, tuple[Any, ...]] = {}
    doubled: set[str] = set()
    bad: list[Quarantined] = []
    raw = False
    conn = sqlite3.connect(uri(path, readonly=True), uri=True)
    try:
        conn.execute("pragma trusted_schema=off")
        cursor = conn.execute(f"select {', '.join(COLUMNS)} from events")
        for stored in cursor:
            reason, row = _checked(stored)
            event_id = str(row[0])[:64]
            if reason:
                bad.append(Quarantined(event_id, reason))
                continue
            raw = raw or row != stored
            if row[0] in good and good[row[0]] != row and from_values(*good[row[0]]) != from_values(*row):
                doubled.add(row[0])
            else:
                good.setdefault(row[0], row)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot read ({exc})") from None
    finally:
        conn.close()
    # One id, two contents, in one file (a table rebuilt without its key): believe neither, as
    # Store.import_file does. Keeping the first would let the merge driver write it into OURS,
    # from where the next import takes it in as valid.
    for event_id in sorted(doubled):
        del good[event_id]
        bad.append(Quarantined(event_id[:64], "the incoming copy holds this id twice with different content"))
    return list(good.values()), bad, raw


def _checked(row: tuple[Any, ...]) -> tuple[str | None, tuple[Any, ...]]:
    """Why the row cannot be taken (or None), and the row as a record stores it: author and
    body inert, as Store.import_file keeps them, so the merge driver writes no raw escape
    either and a record and a merged copy of the same events dump the same."""
    if not all(type(value) is str for value in row):
        return "a column is not text", row
    if len(row[6]) > MAX_BODY_BYTES:
        return "body too large", row
    try:
        event: Event = from_values(*row)
    except (ValueError, TypeError, RecursionError):
        return "body is not a JSON object", row
    return problem(event), (*row[:3], event.author, *row[4:6], stored_body(row[6], event))


def merge_files(ours: Path, theirs: Path) -> tuple[int, list[Quarantined]]:
    """git's merge driver: OURS (%A) becomes a fresh copy holding the valid events of both.
    Either side may be missing or empty (git's add/add). Returns (events added from THEIRS,
    rows refused). A THEIRS that is not an exchange copy is refused and OURS left as it was."""
    ours, theirs = Path(ours), Path(theirs)
    if _empty(theirs):
        return 0, []
    their_rows, bad = read_rows(theirs)
    our_rows, _, raw = _read_rows(ours) if not _empty(ours) else ([], [], False)
    mine = {row[0]: row for row in our_rows}
    added = 0
    for row in their_rows:
        have = mine.get(row[0])
        if have is None:
            mine[row[0]] = row
            added += 1
        elif have != row and from_values(*have) != from_values(*row):
            bad.append(Quarantined(str(row[0])[:64], "id collides with a different event"))
    if added or raw or _empty(ours):  # raw: OURS is written again, inert, even with nothing new
        write_rows(ours, list(mine.values()))
    return added, bad


def _empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True
