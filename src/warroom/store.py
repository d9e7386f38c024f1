"""The SQLite file: schema, append, read, pragmas.

The `events` table is the only source of truth. Every append is its own durable
transaction (WAL, synchronous=FULL): once `append` returns, the entry survives
`kill -9` and power loss. A file that is not ours is refused before anything is
written to it.
"""

from __future__ import annotations

import getpass
import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator


from warroom.clock import Clock, HybridLogicalClock, SystemClock
from warroom.events import Event, format_time, from_values, gc_paused, new_id
from warroom.events import _HLC as _HLC_STAMP

SCHEMA_VERSION = 1
APP_ID = "warroom"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 15_000


class StoreError(Exception):
    """A database problem the user can act on: printed as one line."""

    exit_code = 1


class RefusedFile(StoreError):
    """The file given is not a warroom database this version can use: a usage error."""

    exit_code = 2


@dataclass
class Quarantined:
    id: str
    reason: str


@dataclass
class Loaded:
    events: list[Event] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)


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


def check_file(path: Path) -> None:
    """Refuse, without touching it, a file that is not a warroom database."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except IsADirectoryError:
        raise RefusedFile(f"{path}: is a folder, not a warroom database") from None
    except OSError as exc:
        raise RefusedFile(f"{path}: cannot read: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        raise RefusedFile(f"{path}: not a warroom database (not an SQLite file); "
                         f"left untouched. Point --db at a warroom.db or run `warroom init`.")
    # Opening a WAL file, even read-only, creates -wal and -shm beside it: when the file
    # is refused, take away the ones this check made, so it is truly left as it was.
    sidecars = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    existed = [p.exists() for p in sidecars]
    try:
        _inspect(path)
    except StoreError:
        wal, shm = sidecars
        if not existed[0] and not existed[1] and (not wal.exists() or wal.stat().st_size == 0):
            for sidecar in sidecars:
                try:
                    sidecar.unlink(missing_ok=True)
                except OSError:  # a read-only folder (EROFS even for a missing file): nothing was made
                    pass
        raise


def _inspect(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            tables = {row[0] for row in conn.execute("select name from sqlite_master where type='table'")}
            if "meta" not in tables or "events" not in tables:
                raise RefusedFile(f"{path}: an SQLite file but not a warroom database "
                                 f"(no events table); left untouched.")
            meta = dict(conn.execute("select key, value from meta"))
            if meta.get("app") != APP_ID:
                raise RefusedFile(f"{path}: an SQLite file of another application; left untouched.")
            version = int(meta.get("schema_version", "0"))
            if version > SCHEMA_VERSION:
                raise RefusedFile(f"{path}: written by a newer warroom (schema {version}, this one "
                                 f"reads {SCHEMA_VERSION}); upgrade warroom. The file was not changed.")
            result = conn.execute("pragma quick_check").fetchone()[0]
            if result != "ok":
                raise RefusedFile(f"{path}: the database is damaged ({result}); left untouched. "
                                 f"Restore it from git (`git checkout -- {path.name}`) or a backup.")
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        # Not damage: SQLite could not open or read the file here (a full disk has no room for
        # the -shm a WAL file needs; a read-only folder; an I/O error). "Restore it from git"
        # would throw away entries that are safe in the file.
        raise StoreError(f"{path}: cannot open ({exc}): is the disk full or read-only? The file was left "
                         f"untouched and nothing was logged; free space (or fix permissions) and retry.") from None
    except sqlite3.DatabaseError as exc:
        raise RefusedFile(f"{path}: the database is damaged or truncated ({exc}); left untouched. "
                         f"Restore it from git (`git checkout -- {path.name}`) or a backup.") from None


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"pragma busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=full")
    return conn


def create(path: Path) -> None:
    """Create an empty warroom database; refuses to overwrite anything."""
    if path.exists():
        raise StoreError(f"{path}: already exists; not overwritten")
    tmp = path.with_name(path.name + ".creating")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(str(tmp), isolation_level=None)
    try:
        from sqlite_utils import Database  # only when creating: keeps the console's start fast

        db = Database(conn)
        db["meta"].create({"key": str, "value": str}, pk="key")
        db["events"].create({"id": str, "incident": str, "hlc": str, "author": str, "kind": str,
                             "at": str, "body": str}, pk="id", not_null={"incident", "hlc", "author",
                                                                         "kind", "at", "body"})
        db["events"].create_index(["incident", "hlc"])
        db["events"].create_index(["hlc"])
        db["meta"].insert_all([{"key": "app", "value": APP_ID},
                               {"key": "schema_version", "value": str(SCHEMA_VERSION)}])
        conn.execute("pragma journal_mode=wal")
    finally:
        conn.close()
    os.replace(tmp, path)  # never a half-created database under the real name


class Store:
    """An open warroom database. Not shared between threads without the caller's care."""

    def __init__(self, path: Path | str, *, clock: Clock | None = None, author: str | None = None,
                 create_missing: bool = False, id_factory: Callable[[], str] | None = None) -> None:
        self.path = Path(path)
        self.id_factory = id_factory or new_id  # tests inject a seeded factory for stable snapshots
        self.clock = clock or SystemClock()
        self.author = author or default_author()
        if not self.path.exists():
            if not create_missing:
                raise RefusedFile(f"{self.path}: no such database; run `warroom init` to create "
                                 f"a war room, or cd into one")
            create(self.path)
        check_file(self.path)
        self.hlc = HybridLogicalClock(self.clock)
        self._open()

    def _open(self) -> None:
        try:
            self.conn = _connect(self.path)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open: {exc}") from None
        self.generation = getattr(self, "generation", 0) + 1  # readers restart when the file is swapped
        self._identity = self._file_identity()
        self.last_rowid = 0
        self._observe_newest()

    def _observe_newest(self) -> None:
        """Pull the HLC past the newest well-formed stamp in the file. A malformed stamp
        (a pulled record is untrusted) is skipped here and quarantined by the fold."""
        # Stamps are digits: '<:' keeps the range on the index and text like 'zzz' out of it.
        sql = "select hlc from events where hlc < ':' order by hlc desc"
        for limit in (" limit 1", " limit 16", ""):
            for (stamp,) in self.conn.execute(sql + limit).fetchall():
                try:
                    self.hlc.observe(stamp)
                    return
                except (ValueError, TypeError, AttributeError):
                    continue

    @property
    def db(self):
        """The open file as a sqlite-utils Database, for inspection and scripts."""
        from sqlite_utils import Database

        return Database(self.conn)

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- writing ---------------------------------------------------------

    def make_event(self, kind: str, incident: str | None, body: dict[str, Any], *,
                   at: str | None = None, author: str | None = None, event_id: str | None = None) -> Event:
        event_id = event_id or self.id_factory()
        return Event(id=event_id, incident=incident or event_id, hlc=self.hlc.tick(),
                     author=author or self.author, kind=kind, at=at or format_time(self.clock.now()),
                     body=body)

    def append(self, kind: str, incident: str | None, body: dict[str, Any], *,
               at: str | None = None, author: str | None = None) -> Event:
        """Write one event durably and return it. Raises StoreError (with the reason) on failure."""
        for attempt in range(50):
            try:
                self.conn.execute("begin immediate")
                if self.replaced():
                    # git swapped the file under us (pull, fast-forward): writing now would put our
                    # pages in the old file's WAL. Reopen the new file and try again.
                    self.conn.execute("rollback")
                    self.reopen()
                    continue
                try:
                    # Another process may have written since we last looked: stay ahead of it.
                    self._observe_newest()
                    event = self.make_event(kind, incident, body, at=at, author=author)
                    self._insert(event)
                    self.conn.execute("commit")
                    return event
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
        raise StoreError(f"{self.path}: the database stayed locked by another writer; try again")

    def _insert(self, event: Event) -> None:
        row = event.to_row()
        self.conn.execute(
            "insert into events (id, incident, hlc, author, kind, at, body) values (?,?,?,?,?,?,?)",
            (row["id"], row["incident"], row["hlc"], row["author"], row["kind"], row["at"], row["body"]))

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

    def _decode(self, rows: Iterator[tuple]) -> Loaded:
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
        self.last_rowid = top
        if loaded.events:
            try:
                self.hlc.observe(max(e.hlc for e in loaded.events))
            except ValueError:  # a malformed stamp sorts last: observe the newest good one
                stamps = [e.hlc for e in loaded.events if _HLC_STAMP.match(e.hlc)]
                if stamps:
                    self.hlc.observe(max(stamps))
        return loaded

    def count(self) -> int:
        return self.conn.execute("select count(*) from events").fetchone()[0]

    def replaced(self) -> bool:
        """True when the file on disk is no longer the one we opened (git pull, merge)."""
        return self._file_identity() != self._identity

    def reopen(self) -> None:
        self.close()
        check_file(self.path)
        self._open()

    def checkpoint(self) -> None:
        """Fold the WAL into the main file, so a copy of warroom.db alone is complete."""
        self.conn.execute("pragma wal_checkpoint(truncate)")

    def data_version(self) -> int:
        return self.conn.execute("pragma data_version").fetchone()[0]


def _write_failure(path: Path, exc: Exception) -> str:
    text = str(exc)
    if "disk is full" in text or "disk I/O" in text:
        return f"{path}: cannot write, the disk is full or failing ({text}); nothing was logged. Free space and retry."
    if "readonly" in text or "read-only" in text:
        return f"{path}: cannot write, the database or its folder is read-only; nothing was logged. Fix permissions and retry."
    return f"{path}: cannot write ({text}); nothing was logged. Retry."
