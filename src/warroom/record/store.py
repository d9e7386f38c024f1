"""The record: the SQLite file the console and the CLI write, out of git's reach.

A war room keeps its record in `.warroom/record.db`, which git never tracks, so no
fast-forward, pull, checkout, reset or stash can replace it. The committed `warroom.db`
is only an exchange copy (see exchange.py): what git brings there is read, row by row,
validated and added here (`import_file`); nothing in it is ever run, and no schema object
(trigger, view, index, other table) crosses over.

Every append is its own durable transaction (WAL, synchronous=FULL) that also brings the
derived tables up to date (views.py): once `append` returns, the entry survives `kill -9`
and every reader sees it in the timeline. A file that is not ours is refused before
anything is written to it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from warroom.errors import InvalidEvent, RefusedFile, StoreError
from warroom.record import views
from warroom.record.clock import (
    MAX_DRIFT_SECONDS,
    Clock,
    HybridLogicalClock,
    SystemClock,
)
from warroom.record.dbfile import (
    RECORD_APP_ID,
    check_record_header,
    connect,
    create_record,
    inspect,
    read_errors,
)
from warroom.record.events import (
    Event,
    format_time,
    from_values,
    new_id,
    problem,
)
from warroom.record.imports import Imports
from warroom.record.queries import Reads


def default_author() -> str:
    """$WARROOM_USER, else git's user.name, else the login name."""
    user = os.environ.get("WARROOM_USER", "").strip()
    if user:
        return user
    import getpass  # only here: `warroom log` with WARROOM_USER set needs neither
    import subprocess

    try:
        name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=2).stdout.strip()
        if name:
            return name
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - getpass raises various errors without a login name
        return "unknown"


# --- files that may not be ours -------------------------------------------------------


# --- the record -------------------------------------------------------------------------


_INSERT = (
    "insert into main.events (id, incident, hlc, author, kind, at, body, target, local) values (?,?,?,?,?,?,?,?,?)"
)


class Store(Reads, Imports):
    """An open record. Not shared between threads without the caller's care."""

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Clock | None = None,
        author: str | None = None,
        create_missing: bool = False,
        id_factory: Callable[[], str] | None = None,
        max_drift: float = MAX_DRIFT_SECONDS,
    ) -> None:
        self.path = Path(path)
        self.id_factory = id_factory or new_id  # tests inject a seeded factory for stable snapshots
        self.clock = clock or SystemClock()
        self.author = author or default_author()
        if not self.path.exists():
            if not create_missing:
                raise RefusedFile(
                    f"{self.path}: no such record; run `warroom init` to create a war room, or cd into one"
                )
            create_record(self.path)
        self.hlc = HybridLogicalClock(self.clock, max_drift)
        self._batching = False
        self._last: Event | None = None
        self._open()

    def _open(self) -> None:
        # Refuse a file that is not a record BEFORE a read-write connection touches it:
        # `_connect` sets journal_mode=wal, which rewrites the header of a foreign SQLite file
        # (and leaves -wal/-shm beside it) and turns an empty file into a database.
        check_record_header(self.path)
        try:
            self.conn = connect(self.path)
            with read_errors(self.path):
                inspect(self.conn, self.path, RECORD_APP_ID)
        except sqlite3.OperationalError as exc:
            raise StoreError(
                f"{self.path}: cannot open ({exc}): is the disk full or read-only? Nothing was "
                f"logged; free space (or fix permissions) and retry."
            ) from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise RefusedFile(
                f"{self.path}: the record is damaged ({exc}); left untouched. Move it "
                f"aside: warroom rebuilds it from warroom.db on the next start."
            ) from None
        except RefusedFile:
            self.close()
            raise
        self._identity = self._file_identity()
        self.last_rowid = 0
        self._observe_newest()

    def _observe_newest(self) -> None:
        """Pull the HLC past the newest stamp in the record it believes (not a poisoned one
        from the far future: those are quarantined when they come in, but an older record
        may hold some)."""
        row = self.conn.execute("select max(hlc) from events where hlc <= ?", (self.hlc.bound(),)).fetchone()
        if row and row[0]:
            try:
                self.hlc.observe(row[0])
            except ValueError:
                pass

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def close(self) -> None:
        conn = getattr(self, "conn", None)  # None when _open refused the file
        if conn is None:
            return
        try:
            conn.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def copy_id(self) -> str:
        """This record's own id: the name of its ref when it is shared (sync)."""
        return self.meta("copy_id") or "unknown"

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("select value from meta where key = ?", (key,)).fetchone()
        return row[0] if row else None

    # --- writing ---------------------------------------------------------

    def make_event(
        self,
        kind: str,
        incident: str | None,
        body: dict[str, Any],
        *,
        at: str | None = None,
        author: str | None = None,
        event_id: str | None = None,
    ) -> Event:
        event_id = event_id or self.id_factory()
        return Event(
            id=event_id,
            incident=incident or event_id,
            hlc=self.hlc.tick(),
            author=author or self.author,
            kind=kind,
            at=at or format_time(self.clock.now()),
            body=body,
        )

    # The hot append path: a plain sqlite3 connection and one prepared INSERT per event, no
    # library between the scribe's Enter and the fsync (benchmarks/bench_store.py measures
    # it against raw sqlite3). sqlite-utils declares the schema only (dbfile.create_record).
    def append(
        self, kind: str, incident: str | None, body: dict[str, Any], *, at: str | None = None, author: str | None = None
    ) -> Event:
        """Write one event durably and return it. Raises InvalidEvent for a value the fold would
        refuse, StoreError (with the reason) when the disk fails; nothing is written then.
        Inside `batch()`, the event joins the batch's transaction."""
        if self._batching:
            event = self._event(kind, incident, body, at, author)
            try:
                self._insert([event])
            except sqlite3.DatabaseError as exc:
                raise StoreError(_write_failure(self.path, exc)) from None
            return event
        for attempt in range(50):
            try:
                self._begin()
                try:
                    # Another process may have written since we last looked: stay ahead of it.
                    self._observe_newest()
                    self._insert([self._event(kind, incident, body, at, author)])
                    self.conn.execute("commit")
                    return cast(Event, self._last)  # set by _insert
                except BaseException:
                    if self.conn.in_transaction:
                        self.conn.execute("rollback")
                    raise
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    time.sleep(min(0.5, 0.01 * (attempt + 1)))
                    continue
                raise StoreError(_write_failure(self.path, exc)) from None
            except sqlite3.DatabaseError as exc:
                raise StoreError(_write_failure(self.path, exc)) from None
        raise StoreError(f"{self.path}: the record stayed locked by another writer; try again")

    def _event(
        self, kind: str, incident: str | None, body: dict[str, Any], at: str | None, author: str | None
    ) -> Event:
        """The event to write, checked by the fold's rules (InvalidEvent: nothing written)."""
        event = self.make_event(kind, incident, body, at=at, author=author)
        # Stored as every reader decodes it (from_values makes each string inert): the derived
        # rows are computed from this event, not decoded again, so without this an escape written
        # by a caller other than Room.append reached the timeline rows.
        event = from_values(event.id, event.incident, event.hlc, event.author, event.kind, event.at, event.body)
        reason = problem(event)
        if reason:
            raise InvalidEvent(f"refused, nothing was logged: {reason}")
        self._last = event
        return event

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Several appends in one durable transaction: one sync to disk for a burst of typed
        lines instead of one each. An append refused by the rules (InvalidEvent) leaves the
        others in; a failing disk undoes the whole batch (StoreError), and nothing is logged."""
        for attempt in range(50):
            try:
                self._begin()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StoreError(_write_failure(self.path, exc)) from None
                time.sleep(min(0.5, 0.01 * (attempt + 1)))
        else:
            raise StoreError(f"{self.path}: the record stayed locked by another writer; try again")
        self._batching = True
        try:
            self._observe_newest()
            yield
            self.conn.execute("commit")
        except sqlite3.DatabaseError as exc:
            raise StoreError(_write_failure(self.path, exc)) from None
        finally:
            self._batching = False
            if self.conn.in_transaction:
                self.conn.execute("rollback")

    def _begin(self) -> None:
        self.conn.execute("begin immediate")
        if self._file_identity() != self._identity:
            # Someone moved the record aside and a new one took its place: write to that one.
            self.conn.execute("rollback")
            self.reopen()
            self.conn.execute("begin immediate")

    def _insert(self, events: list[Event], bodies: list[str] | None = None) -> None:
        """Inside the caller's transaction: the events, and the derived rows they change.
        Events written here come without `bodies`; imported ones keep their stored bodies (made
        inert by the import when they held anything to make inert)."""
        local = int(bodies is None)
        rows = []
        for index, event in enumerate(events):
            body = (
                bodies[index]
                if bodies is not None
                else json.dumps(event.body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            )
            rows.append(
                (
                    event.id,
                    event.incident,
                    event.hlc,
                    event.author,
                    event.kind,
                    event.at,
                    body,
                    views.target_of(event),
                    local,
                )
            )
        self.conn.executemany(_INSERT, rows)
        views.apply(self.conn, events)

    # --- importing an exchange copy --------------------------------------------------

    def published(self, remote: str, rowid: int) -> None:
        self.remember(f"published:{remote}", str(rowid))

    def remember(self, source: str, signature: str) -> None:
        self.conn.execute("insert or replace into imports (source, signature) values (?, ?)", (source, signature))

    # --- reading ---------------------------------------------------------

    def reopen(self) -> None:
        self.close()
        self._open()

    def checkpoint(self) -> None:
        """Fold the WAL into the main file while idle, so the WAL does not grow."""
        self.conn.execute("pragma wal_checkpoint(truncate)")

    # --- the derived tables (views.py) ------------------------------------------------

    def rebuild_views(self) -> None:
        """Derive every incident's rows again from the events (after an upgrade of the rules)."""
        self._begin()
        try:
            self.conn.execute("delete from entries")
            self.conn.execute("delete from incidents")
            for (incident_id,) in self.conn.execute(
                "select id from events where kind = 'incident.declared'"
            ).fetchall():
                declared = self.declared(incident_id)
                if declared is not None:
                    views.rebuild(self.conn, declared)
            self.conn.execute("commit")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("rollback")
            raise


def _write_failure(path: Path, exc: Exception) -> str:
    text = str(exc)
    if "disk is full" in text or "disk I/O" in text:
        return f"{path}: cannot write, the disk is full or failing ({text}); nothing was logged. Free space and retry."
    if "readonly" in text or "read-only" in text:
        return (
            f"{path}: cannot write, the record or its folder is read-only; nothing was logged. "
            "Fix permissions and retry."
        )
    return f"{path}: cannot write ({text}); nothing was logged. Retry."
