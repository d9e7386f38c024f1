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
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from warroom import views
from warroom.clock import MAX_DRIFT_SECONDS, Clock, HybridLogicalClock, SystemClock, parse_hlc
from warroom.events import (HEAD_KINDS, MAX_BODY_BYTES, Event, format_time, from_values, gc_paused,
                             new_id, problem, stored_body)

APP_ID = "warroom"                 # an exchange copy (the committed warroom.db)
SCHEMA_VERSION = 1
RECORD_APP_ID = "warroom-record"   # a record (.warroom/record.db)
RECORD_VERSION = 2
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 15_000
RECORD_DIR = ".warroom"
RECORD_NAME = "record.db"
COLUMNS = ("id", "incident", "hlc", "author", "kind", "at", "body")


class StoreError(Exception):
    """A database problem the user can act on: printed as one line."""

    exit_code = 1


class RefusedFile(StoreError):
    """The file given is not a warroom database this version can use: a usage error."""

    exit_code = 2


class InvalidEvent(StoreError):
    """A value the fold would refuse: refused before it is written, never reported as logged."""

    exit_code = 2


@dataclass
class Quarantined:
    id: str
    reason: str


@dataclass
class Loaded:
    events: list[Event] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)


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
    except Exception:  # getpass raises various errors without a login name
        return "unknown"


# --- files that may not be ours -------------------------------------------------------


def sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def uri(path: Path, *, readonly: bool) -> str:
    """A file: URI. A read-only copy nobody writes (no -wal beside it) opens immutable, which
    creates no -wal/-shm beside it."""
    quoted = urllib.parse.quote(str(Path(path).resolve()))
    if not readonly:
        return f"file:{quoted}"
    if sidecars(path)[0].exists():
        return f"file:{quoted}?mode=ro"
    return f"file:{quoted}?mode=ro&immutable=1"


def check_file(path: Path, app: str = APP_ID) -> None:
    """Refuse, without touching it, a file that is not a warroom database of the kind `app`
    (an exchange copy or a record). Leaves no -wal/-shm behind."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except IsADirectoryError:
        raise RefusedFile(f"{path}: is a folder, not a warroom database") from None
    except OSError as exc:
        raise RefusedFile(f"{path}: cannot read: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        if not header:
            raise RefusedFile(f"{path}: empty file, not a warroom database; left untouched")
        raise RefusedFile(f"{path}: not a warroom database (not an SQLite file); "
                          f"left untouched. Point --db at a warroom.db or run `warroom init`.")
    wal, shm = sidecars(path)
    existed = (wal.exists(), shm.exists())
    try:
        conn = sqlite3.connect(uri(path, readonly=True), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            inspect(conn, path, app)
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        # Not damage: SQLite could not open or read the file here (a full disk has no room for
        # the -shm a WAL file needs; a read-only folder). "Restore it from git" would be wrong.
        raise StoreError(f"{path}: cannot open ({exc}): is the disk full or read-only? The file was left "
                         f"untouched and nothing was logged; free space (or fix permissions) and retry.") from None
    except sqlite3.DatabaseError as exc:
        raise RefusedFile(f"{path}: the database is damaged or truncated ({exc}); left untouched. "
                          f"Restore it from git (`git checkout -- {path.name}`) or a backup.") from None
    finally:
        for sidecar, had in ((wal, existed[0]), (shm, existed[1])):
            if not had and sidecar.exists():
                try:
                    if sidecar is shm or sidecar.stat().st_size == 0:
                        sidecar.unlink()
                except OSError:  # a read-only folder: nothing was made
                    pass


def inspect(conn: sqlite3.Connection, path: Path, app: str, schema: str = "main") -> None:
    """Raise RefusedFile unless the open file is a warroom database of the kind `app`."""
    objects = {(row[0], row[1]) for row in conn.execute(f"select name, type from {schema}.sqlite_master")}
    if ("meta", "table") not in objects or ("events", "table") not in objects:
        raise RefusedFile(f"{path}: an SQLite file but not a warroom database (no events table); "
                          f"left untouched.")
    try:
        meta = dict(conn.execute(f"select key, value from {schema}.meta"))
    except sqlite3.OperationalError:
        raise RefusedFile(f"{path}: its meta table is not warroom's (no key and value columns); "
                          f"left untouched.") from None
    found = meta.get("app")
    if found != app:
        if found in (APP_ID, RECORD_APP_ID):
            raise RefusedFile(f"{path}: " + (
                "a record (.warroom/record.db), not an exchange copy; left untouched." if found == RECORD_APP_ID
                else "a shared exchange copy (warroom.db), not a record: warroom reads it into the record "
                     "by itself; left untouched."))
        raise RefusedFile(f"{path}: an SQLite file of another application; left untouched.")
    raw = meta.get("schema_version", "0")
    try:
        version = int(str(raw).strip())
    except ValueError:
        raise RefusedFile(f"{path}: its schema_version {str(raw)[:20]!r} is not a number; "
                          f"left untouched. Restore it from git or a backup.") from None
    newest = SCHEMA_VERSION if app == APP_ID else RECORD_VERSION
    if version > newest:
        raise RefusedFile(f"{path}: written by a newer warroom (schema {version}, this one "
                          f"reads {newest}); upgrade warroom. The file was not changed.")
    columns = {row[1] for row in conn.execute(f"pragma {schema}.table_info(events)")}
    missing = [name for name in COLUMNS if name not in columns]
    if missing:
        raise RefusedFile(f"{path}: its events table has no {', '.join(missing)} column; "
                          f"not a usable warroom database, left untouched.")


# --- the record -------------------------------------------------------------------------

_RECORD_SCHEMA = """
create table meta (key text primary key, value text not null);
create table events (
    id text primary key, incident text not null, hlc text not null, author text not null,
    kind text not null, at text not null, body text not null,
    target text,    -- the entry an edit, deletion or restore points at (views.target_of)
    local integer not null default 0);  -- 1: written here, 0: taken in from a copy
create index events_incident on events (incident, hlc);
create index events_kind on events (incident, kind);
create index events_hlc on events (hlc);
create index events_target on events (target) where target is not null;
create table imports (source text primary key, signature text not null);
create table quarantine (id text not null, source text not null, reason text not null,
                         at text not null, primary key (id, source));
"""

_INSERT = ("insert into main.events (id, incident, hlc, author, kind, at, body, target, local) "
           "values (?,?,?,?,?,?,?,?,?)")


def create_record(path: Path) -> None:
    """A new, empty record; refuses to overwrite anything. Its folder tells git to ignore it."""
    if path.exists():
        raise StoreError(f"{path}: already exists; not overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if path.parent.name == RECORD_DIR and not ignore.exists():
        ignore.write_text("# warroom's own record: never committed (the shared copy is warroom.db)\n*\n")
    tmp = path.with_name(path.name + ".creating")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(str(tmp), isolation_level=None)
    try:
        conn.executescript(_RECORD_SCHEMA + views.SCHEMA)
        conn.executemany("insert into meta (key, value) values (?, ?)",
                         [("app", RECORD_APP_ID), ("schema_version", str(RECORD_VERSION)),
                          ("copy_id", new_id())])
        conn.execute("pragma journal_mode=wal")
    finally:
        conn.close()
    os.replace(tmp, path)  # never a half-created record under the real name


def _check_record_header(path: Path) -> None:
    """Raise RefusedFile, touching nothing, unless `path` may be a record. Every record is made
    in WAL mode (bytes 18-19 of the header are 2): such a file is inspected once connected (a
    second, read-only connection here would have to create and then remove a -shm that other
    writers may be mapping). Anything else goes through check_file, which opens it immutable."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
            size = os.fstat(handle.fileno()).st_size
    except OSError:
        header, size = b"", 0
    if header[:16] == SQLITE_HEADER and header[18:20] == b"\x02\x02" and not _cut_short(header, size, path):
        return
    check_file(path, RECORD_APP_ID)


def _cut_short(header: bytes, size: int, path: Path) -> bool:
    """True when the file is shorter than its own header says (a truncated copy): a read-write
    connection could not even close it cleanly and would leave -wal/-shm beside it. Only
    without a -wal beside it: a live WAL may hold pages the main file has not got yet."""
    if len(header) < 100 or sidecars(path)[0].exists():
        return False
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] != header[92:96]:  # the in-header size is not valid: SQLite goes by the file size
        return size % max(page_size, 1) != 0
    return size < pages * page_size


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"pragma busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("pragma trusted_schema=off")  # an attached teammate's file runs nothing
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=full")
    return conn


class Store:
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
        _check_record_header(self.path)
        try:
            self.conn = _connect(self.path)
            with _read_errors(self.path):
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

    def __enter__(self) -> "Store":
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
                    return self._last
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
        Events written here come without `bodies`; imported ones keep their stored bodies (made
        inert by `_incoming` when they held anything to make inert)."""
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
                with _read_errors(path):
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
                theirs = _decode(row[:7]) if body is not None else None
                if theirs is not None and theirs == _decode((tid, *row[9:])):
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
            event = _decode((tid, incident, hlc, author, kind, at, body))
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
            # Stored as every reader decodes it (inert), as a local write is: raw escapes kept
            # here went out again in every copy written from the record (warroom.db, its ref).
            fresh[tid] = (event, stored_body(body, event))
        for tid in sorted(doubled):
            del fresh[tid]
            quarantined.append(Quarantined(tid[:64], "the incoming copy holds this id twice with different "
                                                     "content"))
        result.added = [event for event, _ in fresh.values()]
        result.already_present = total - selected + equal
        return [body for _, body in fresh.values()]

    def missing(self, path: Path | None, *, theirs_new: bool = False) -> list[tuple[str, str, str]]:
        """(kind, incident, body) of the record's events that the exchange copy at `path` lacks
        (all of them for None); with `theirs_new`, the copy's events that the record lacks."""
        if path is None:
            return [] if theirs_new else self.conn.execute("select kind, incident, body from events").fetchall()
        check_file(path, APP_ID)
        self.conn.execute("attach database ? as other", (uri(path, readonly=True),))
        try:
            first, second = ("other", "main") if theirs_new else ("main", "other")
            return self.conn.execute(
                f"select e.kind, e.incident, e.body from {first}.events e where not exists "
                f"(select 1 from {second}.events x where x.id = e.id)").fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot read it ({exc})") from None
        finally:
            self.conn.execute("detach database other")

    def unpublished(self, remote: str) -> tuple[int, list[str]]:
        """(the newest rowid, the kinds of the events written here since the last publish to
        `remote`): what waits to go out. Events taken in from copies are out there already."""
        mark = int(self.imported(f"published:{remote}") or 0)
        top = self.conn.execute("select coalesce(max(rowid), 0) from events").fetchone()[0]
        kinds = [row[0] for row in self.conn.execute(
            "select kind from events where local = 1 and rowid > ?", (mark,))]
        return top, kinds

    def published(self, remote: str, rowid: int) -> None:
        self.remember(f"published:{remote}", str(rowid))

    def imported(self, source: str) -> str | None:
        """The signature remembered for `source` at its last import."""
        row = self.conn.execute("select signature from imports where source = ?", (source,)).fetchone()
        return row[0] if row else None

    def remember(self, source: str, signature: str) -> None:
        self.conn.execute("insert or replace into imports (source, signature) values (?, ?)", (source, signature))

    def quarantine(self) -> list[tuple[str, str, str]]:
        """(id, source, reason) of every incoming event that was not believed."""
        return self.conn.execute("select id, source, reason from quarantine order by at, id").fetchall()

    # --- reading ---------------------------------------------------------

    def _rows(self, where: str = "", params: tuple = ()) -> Iterator[tuple]:
        sql = f"select rowid, id, incident, hlc, author, kind, at, body from events {where}"
        try:
            yield from self.conn.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc}") from None

    def load(self, incident: str | None = None) -> Loaded:
        """Every event (or one incident's); rows that do not decode are quarantined."""
        if incident:
            rows = self._rows("where incident = ?", (incident,))
        else:
            rows = self._rows()
        return self._decode(rows)

    def load_new(self) -> Loaded:
        """Events added since the last load or load_new (by this or another process)."""
        return self._decode(self._rows("where rowid > ?", (self.last_rowid,)))

    def skip_to_end(self) -> None:
        """Let load_new start from now: what is there was read another way (views)."""
        row = self.conn.execute("select max(rowid) from events").fetchone()
        self.last_rowid = row[0] or 0

    def events(self, where: str, params: tuple = ()) -> list[Event]:
        """Events matching an SQL condition on the events table, decoded."""
        return self._decode(self._rows(where, params), track=False).events

    def _decode(self, rows: Iterator[tuple], track: bool = True) -> Loaded:
        loaded = Loaded()
        append = loaded.events.append
        top = self.last_rowid
        with gc_paused():  # 100k new objects would set the cycle collector off again and again
            for rowid, event_id, incident, hlc, author, kind, at, body in rows:
                if rowid > top:
                    top = rowid
                try:
                    append(from_values(event_id, incident, hlc, author, kind, at, body))
                except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: [[[[...]]]]
                    loaded.quarantined.append(Quarantined(str(event_id)[:64], f"undecodable: {exc}"))
        if track:
            self.last_rowid = top
        return loaded

    def declared(self, incident_id: str) -> Event | None:
        found = self.events("where id = ? and kind = 'incident.declared'", (incident_id,))
        return found[0] if found else None

    def head_events(self, incident_id: str) -> list[Event]:
        kinds = ", ".join(f"'{kind}'" for kind in sorted(HEAD_KINDS))
        return self.events(f"where incident = ? and kind in ({kinds})", (incident_id,))

    def count(self) -> int:
        return self.conn.execute("select count(*) from events").fetchone()[0]

    def reopen(self) -> None:
        self.close()
        self._open()

    def checkpoint(self) -> None:
        """Fold the WAL into the main file while idle, so the WAL does not grow."""
        self.conn.execute("pragma wal_checkpoint(truncate)")

    # --- the derived tables (views.py) ------------------------------------------------

    def summaries(self) -> list[tuple[str, str, str, str, str]]:
        """(id, declared_at, status, severity, title) of every incident, oldest first."""
        return self.conn.execute("select id, declared_at, status, severity, title from incidents "
                                 "order by declared_at, id").fetchall()

    def incident_ids(self) -> list[str]:
        return [row[0] for row in self.conn.execute("select id from incidents")]

    def timeline(self, incident_id: str, *, before: tuple[str, str, str] | None = None,
                 limit: int = 200) -> list[tuple]:
        """The newest `limit` rows of an incident's timeline older than `before` (at, hlc, id),
        oldest first; deleted entries left out."""
        sql = f"select {views.ENTRY_COLUMNS} from entries where incident = ? and deleted = 0"
        params: tuple = (incident_id,)
        if before is not None:
            sql += " and (at, hlc, id) < (?, ?, ?)"
            params += tuple(before)
        sql += " order by at desc, hlc desc, id desc limit ?"
        rows = self.conn.execute(sql, params + (limit,)).fetchall()
        rows.reverse()
        return rows

    def timeline_rows(self, entry_ids: Iterable[str]) -> list[tuple]:
        """The rows with these ids (deleted ones included: the caller takes them away)."""
        ids = list(entry_ids)
        rows: list[tuple] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows += self.conn.execute(f"select {views.ENTRY_COLUMNS} from entries where id in "
                                      f"({', '.join('?' * len(chunk))})", chunk).fetchall()
        return rows

    def head_rows(self, incident_id: str) -> list[tuple]:
        return self.conn.execute(f"select {views.ENTRY_COLUMNS} from entries where incident = ? and "
                                 f"origin = 'head'", (incident_id,)).fetchall()

    def last_flip(self, incident_id: str, check: str) -> str | None:
        """The state the newest recorded flip of `check` left it in, if any."""
        row = self.conn.execute(
            "select json_extract(body, '$.current') from events where incident = ? and kind = 'check.flipped' "
            "and json_extract(body, '$.check') = ? order by hlc desc, author desc, id desc limit 1",
            (incident_id, check)).fetchone()
        return str(row[0]) if row else None

    def entry_count(self, incident_id: str) -> int:
        return self.conn.execute("select count(*) from entries where incident = ? and deleted = 0",
                                 (incident_id,)).fetchone()[0]

    def find_entries(self, prefix: str, typed_only: bool = True) -> list[tuple[str, str]]:
        """(id, incident) of the rows whose id starts with `prefix`."""
        sql = "select id, incident from entries where id >= ? and id < ?"
        if typed_only:
            sql += " and origin = 'entry'"
        return self.conn.execute(sql + " limit 5", (prefix, prefix + "\uffff")).fetchall()

    def latest(self, incident_id: str, types: tuple[str, ...], typed_only: bool, limit: int) -> list[tuple]:
        """The newest rows of these entry types (for templates: latest actions, findings)."""
        sql = (f"select {views.ENTRY_COLUMNS} from entries where incident = ? and deleted = 0 and type in "
               f"({', '.join('?' * len(types))})")
        if typed_only:
            sql += " and auto in ('', 'pin')"
        rows = self.conn.execute(sql + " order by at desc, hlc desc, id desc limit ?",
                                 (incident_id, *types, limit)).fetchall()
        rows.reverse()
        return rows

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


class _read_errors:
    """Turns an SQLite error met while inspecting an opened file into the usual refusal."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            raise RefusedFile(f"{self.path}: the database is damaged or truncated ({exc}); left untouched. "
                              f"Restore it from git (`git checkout -- {self.path.name}`) or a backup.") from None
        return False


def _decode(values: tuple) -> Event | None:
    try:
        return from_values(*values)
    except (ValueError, TypeError, RecursionError):
        return None


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
