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

import getpass
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from warroom.errors import InvalidEvent, RefusedFile, StoreError
from warroom.record import views
from warroom.record.clock import (
    MAX_DRIFT_SECONDS,
    Clock,
    HybridLogicalClock,
    SystemClock,
    parse_hlc,
)
from warroom.record.dbfile import (
    COLUMNS,
    RECORD_APP_ID,
    RECORD_DIR,
    RECORD_NAME,
    check_file,
    check_record_header,
    connect,
    create_record,
    inspect,
    read_errors,
    uri,
)
from warroom.record.events import (
    MAX_BODY_BYTES,
    Event,
    format_time,
    from_values,
    new_id,
    problem,
)
from warroom.record.queries import Quarantined, Reads, decode_row

APP_ID = "warroom"                 # an exchange copy (the committed warroom.db)
@dataclass
class Imported:
    """What an import took from an exchange copy."""

    added: list[Event] = field(default_factory=list)
    already_present: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{len(self.added)} new event(s), {self.already_present} already present"
        if self.quarantined:
            first = self.quarantined[0]
            text += f", {len(self.quarantined)} quarantined (first: {first.id[:36]}: {first.reason})"
        return text


def record_path(root: Path | str) -> Path:
    """Where a war room's record lives: beside warroom.toml, in a folder git ignores."""
    return Path(root) / RECORD_DIR / RECORD_NAME


def default_author() -> str:
    """$WARROOM_USER, else git's user.name, else the login name."""
    user = os.environ.get("WARROOM_USER", "").strip()
    if user:
        return user
    try:
        name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True,
                              timeout=2).stdout.strip()
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


_INSERT = ("insert into main.events (id, incident, hlc, author, kind, at, body, target, local) "
           "values (?,?,?,?,?,?,?,?,?)")










class Store(Reads):
    """An open record. Not shared between threads without the caller's care."""

    def __init__(self, path: Path | str, *, clock: Clock | None = None, author: str | None = None,
                 create_missing: bool = False, id_factory: Callable[[], str] | None = None,
                 max_drift: float = MAX_DRIFT_SECONDS) -> None:
        self.path = Path(path)
        self.id_factory = id_factory or new_id  # tests inject a seeded factory for stable snapshots
        self.clock = clock or SystemClock()
        self.author = author or default_author()
        if not self.path.exists():
            if not create_missing:
                raise RefusedFile(f"{self.path}: no such record; run `warroom init` to create "
                                  f"a war room, or cd into one")
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
            raise StoreError(f"{self.path}: cannot open ({exc}): is the disk full or read-only? Nothing was "
                             f"logged; free space (or fix permissions) and retry.") from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise RefusedFile(f"{self.path}: the record is damaged ({exc}); left untouched. Move it "
                              f"aside: warroom rebuilds it from warroom.db on the next start.") from None
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

    def make_event(self, kind: str, incident: str | None, body: dict[str, Any], *,
                   at: str | None = None, author: str | None = None, event_id: str | None = None) -> Event:
        event_id = event_id or self.id_factory()
        return Event(id=event_id, incident=incident or event_id, hlc=self.hlc.tick(),
                     author=author or self.author, kind=kind, at=at or format_time(self.clock.now()),
                     body=body)

    def append(self, kind: str, incident: str | None, body: dict[str, Any], *,
               at: str | None = None, author: str | None = None) -> Event:
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

    def _event(self, kind: str, incident: str | None, body: dict[str, Any], at: str | None,
               author: str | None) -> Event:
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
        Events written here come without `bodies`; imported ones keep their stored bodies."""
        local = int(bodies is None)
        rows = []
        for index, event in enumerate(events):
            body = bodies[index] if bodies is not None else json.dumps(
                event.body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            rows.append((event.id, event.incident, event.hlc, event.author, event.kind, event.at, body,
                         views.target_of(event), local))
        self.conn.executemany(_INSERT, rows)
        views.apply(self.conn, events)

    # --- importing an exchange copy --------------------------------------------------

    def import_file(self, path: Path, source: str, signature: str | None = None) -> Imported:
        """Add to the record the valid events of an exchange copy that it lacks; never remove or
        change one. Rows that do not decode, fail the fold's checks, are stamped further ahead of
        this machine's clock than the allowed drift, or reuse an id for other content are
        quarantined (kept by id and reason, never folded). `signature` is remembered for
        `source`, so an unchanged file is not read again. Raises RefusedFile when the file is
        not an exchange copy; the record is untouched then."""
        check_file(path, APP_ID)
        result = Imported()
        try:
            self.conn.execute("attach database ? as theirs", (uri(path, readonly=True),))
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open ({exc}); nothing was imported") from None
        try:
            for attempt in range(50):
                try:
                    self.conn.execute("begin immediate")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    time.sleep(min(0.5, 0.01 * (attempt + 1)))
            else:
                raise StoreError(f"{self.path}: the record stayed locked by another writer; try again")
            try:
                with read_errors(path):
                    inspect(self.conn, path, APP_ID, "theirs")
                    bodies = self._incoming(result)
                stamp = format_time(self.clock.now())
                if result.added:
                    self._insert(result.added, bodies)
                if result.quarantined:
                    self.conn.executemany(
                        "insert or replace into quarantine (id, source, reason, at) values (?,?,?,?)",
                        [(q.id, source, q.reason, stamp) for q in result.quarantined])
                if signature is not None:
                    self.conn.execute("insert or replace into imports (source, signature) values (?, ?)",
                                      (source, signature))
                self.conn.execute("commit")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("rollback")
                raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot read it ({exc}); nothing was imported, the record is "
                             f"intact") from None
        finally:
            try:
                self.conn.execute("detach database theirs")
            except sqlite3.Error:
                pass
        return result

    def _incoming(self, result: Imported) -> list[str]:
        """The attached copy's rows that the record lacks, validated one by one; the join does
        the bulk of the work, so only new rows (and rows whose id is taken) reach Python.
        Fills `result`; returns the stored bodies of the events to add."""
        total = self.conn.execute("select count(*) from theirs.events").fetchone()[0]
        differs = " or ".join(f"o.{c} is not t.{c}" for c in COLUMNS[1:])
        cursor = self.conn.execute(
            f"select t.id, t.incident, t.hlc, t.author, t.kind, t.at, "
            f"case when length(t.body) > {MAX_BODY_BYTES} then null else t.body end, length(t.body), "
            f"o.id is not null, o.incident, o.hlc, o.author, o.kind, o.at, o.body "
            f"from theirs.events as t left join main.events as o on o.id = t.id "
            f"where o.id is null or {differs}")
        bound = self.hlc.bound()
        fresh: dict[str, tuple[Event, str]] = {}
        doubled: set[str] = set()
        selected = equal = 0
        quarantined = result.quarantined
        for row in cursor:
            selected += 1
            tid, incident, hlc, author, kind, at, body, length, exists = row[:9]
            label = str(tid)[:64]
            if exists:
                theirs = decode_row(row[:7]) if body is not None else None
                if theirs is not None and theirs == decode_row((tid, *row[9:])):
                    equal += 1  # the same event, stored with other JSON spacing or key order
                else:
                    quarantined.append(Quarantined(label, "id collides with a different local event"))
                continue
            if not all(type(value) is str for value in (tid, incident, hlc, author, kind, at)):
                quarantined.append(Quarantined(label, "a column is not text"))
                continue
            if body is None:
                quarantined.append(Quarantined(label, f"body too large ({length} characters)" if length
                                               else "no body"))
                continue
            if type(body) is not str:
                quarantined.append(Quarantined(label, "body is not text"))
                continue
            event = decode_row((tid, incident, hlc, author, kind, at, body))
            if event is None:
                quarantined.append(Quarantined(label, "body is not a JSON object"))
                continue
            reason = problem(event)
            if reason is None and hlc > bound:
                reason = f"stamped {_ahead(hlc, self.clock)} ahead of this machine's clock (more than the " \
                         f"allowed drift); not believed"
            if reason:
                quarantined.append(Quarantined(label, reason))
                continue
            seen = fresh.get(tid)
            if seen is not None:
                if seen[0].canonical() != event.canonical():
                    doubled.add(tid)  # one id, two contents, in one file: believe neither
                continue
            fresh[tid] = (event, body)
        for tid in sorted(doubled):
            del fresh[tid]
            quarantined.append(Quarantined(tid[:64], "the incoming copy holds this id twice with different "
                                                     "content"))
        result.added = [event for event, _ in fresh.values()]
        result.already_present = total - selected + equal
        return [body for _, body in fresh.values()]



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
                    "select id from events where kind = 'incident.declared'").fetchall():
                declared = self.declared(incident_id)
                if declared is not None:
                    views.rebuild(self.conn, declared)
            self.conn.execute("commit")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("rollback")
            raise






def _ahead(stamp: str, clock: Clock) -> str:
    try:
        physical, _ = parse_hlc(stamp)
    except ValueError:
        return "far"
    hours = (physical - int(clock.now().timestamp() * 1000)) / 3_600_000
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} hours"


def _write_failure(path: Path, exc: Exception) -> str:
    text = str(exc)
    if "disk is full" in text or "disk I/O" in text:
        return f"{path}: cannot write, the disk is full or failing ({text}); nothing was logged. Free space and retry."
    if "readonly" in text or "read-only" in text:
        return f"{path}: cannot write, the record or its folder is read-only; nothing was logged. Fix permissions and retry."
    return f"{path}: cannot write ({text}); nothing was logged. Retry."
