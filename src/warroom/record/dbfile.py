"""The SQLite files: recognising ours, opening them safely, creating a record.

A file that is not ours (an exchange copy where a record is wanted, a foreign or damaged
database, an empty file) is refused before anything is written to it: `check_file` and
`inspect` read its header and its `meta` table, and nothing else.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Literal

from warroom.errors import RefusedFile, StoreError
from warroom.paths import RECORD_DIR
from warroom.record import views
from warroom.record.events import new_id

APP_ID = "warroom"  # an exchange copy (the committed warroom.db)
SCHEMA_VERSION = 1
RECORD_APP_ID = "warroom-record"  # a record (.warroom/record.db)
RECORD_VERSION = 2
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 15_000
COLUMNS = ("id", "incident", "hlc", "author", "kind", "at", "body")


def sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def signature(path: Path) -> str:
    """Changes whenever the file (or a WAL beside it) does: what an import remembers."""
    parts = []
    for candidate in (path, sidecars(path)[0]):
        try:
            st = candidate.stat()
        except OSError:
            parts.append("-")
            continue
        parts.append(f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
    return "/".join(parts)


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
        raise RefusedFile(
            f"{path}: not a warroom database (not an SQLite file); "
            f"left untouched. Point --db at a warroom.db or run `warroom init`."
        )
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
        raise StoreError(
            f"{path}: cannot open ({exc}): is the disk full or read-only? The file was left "
            f"untouched and nothing was logged; free space (or fix permissions) and retry."
        ) from None
    except sqlite3.DatabaseError as exc:
        raise RefusedFile(
            f"{path}: the database is damaged or truncated ({exc}); left untouched. "
            f"Restore it from git (`git checkout -- {path.name}`) or a backup."
        ) from None
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
        raise RefusedFile(f"{path}: an SQLite file but not a warroom database (no events table); left untouched.")
    try:
        meta = dict(conn.execute(f"select key, value from {schema}.meta"))
    except sqlite3.OperationalError:
        raise RefusedFile(
            f"{path}: its meta table is not warroom's (no key and value columns); left untouched."
        ) from None
    found = meta.get("app")
    if found != app:
        if found in (APP_ID, RECORD_APP_ID):
            raise RefusedFile(
                f"{path}: "
                + (
                    "a record (.warroom/record.db), not an exchange copy; left untouched."
                    if found == RECORD_APP_ID
                    else "a shared exchange copy (warroom.db), not a record: warroom reads it into the record "
                    "by itself; left untouched."
                )
            )
        raise RefusedFile(f"{path}: an SQLite file of another application; left untouched.")
    raw = meta.get("schema_version", "0")
    try:
        version = int(str(raw).strip())
    except ValueError:
        raise RefusedFile(
            f"{path}: its schema_version {str(raw)[:20]!r} is not a number; "
            f"left untouched. Restore it from git or a backup."
        ) from None
    newest = SCHEMA_VERSION if app == APP_ID else RECORD_VERSION
    if version > newest:
        raise RefusedFile(
            f"{path}: written by a newer warroom (schema {version}, this one "
            f"reads {newest}); upgrade warroom. The file was not changed."
        )
    columns = {row[1] for row in conn.execute(f"pragma {schema}.table_info(events)")}
    missing = [name for name in COLUMNS if name not in columns]
    if missing:
        raise RefusedFile(
            f"{path}: its events table has no {', '.join(missing)} column; "
            f"not a usable warroom database, left untouched."
        )


def _create_schema(conn: sqlite3.Connection) -> None:
    """The record's tables and indexes, declared through sqlite-utils (imported here, on first
    use: it takes about 60 ms to import, paid once, when a record is made). The record is
    local: the exchange copy's schema (exchange.py) stays literal SQL, since its bytes are
    what git stores and compares. The derived tables are views.SCHEMA."""
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    db.table("meta").create({"key": str, "value": str}, pk="key", not_null={"value"})
    db.table("events").create(
        {
            "id": str,
            "incident": str,
            "hlc": str,
            "author": str,
            "kind": str,
            "at": str,
            "body": str,
            "target": str,  # the entry an edit, deletion or restore points at (views.target_of)
            "local": int,
        },  # 1: written here, 0: taken in from a copy
        pk="id",
        not_null={"incident", "hlc", "author", "kind", "at", "body", "local"},
        defaults={"local": 0},
    )
    for name, columns in (
        ("events_incident", ["incident", "hlc"]),
        ("events_kind", ["incident", "kind"]),
        ("events_hlc", ["hlc"]),
    ):
        db.table("events").create_index(columns, index_name=name)
    # sqlite-utils makes no partial index: most events point at nothing
    conn.execute("create index events_target on events (target) where target is not null")
    db.table("imports").create({"source": str, "signature": str}, pk="source", not_null={"signature"})
    db.table("quarantine").create(
        {"id": str, "source": str, "reason": str, "at": str},
        pk=("id", "source"),
        not_null={"id", "source", "reason", "at"},
    )


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
        _create_schema(conn)
        conn.executescript(views.SCHEMA)
        conn.executemany(
            "insert into meta (key, value) values (?, ?)",
            [("app", RECORD_APP_ID), ("schema_version", str(RECORD_VERSION)), ("copy_id", new_id())],
        )
        conn.execute("pragma journal_mode=wal")
    finally:
        conn.close()
    os.replace(tmp, path)  # never a half-created record under the real name


def check_record_header(path: Path) -> None:
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


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.execute(f"pragma busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("pragma trusted_schema=off")  # an attached teammate's file runs nothing
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=full")
    return conn


class read_errors:
    """Turns an SQLite error met while inspecting an opened file into the usual refusal."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: object, tb: object) -> Literal[False]:
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            raise RefusedFile(
                f"{self.path}: the database is damaged or truncated ({exc}); left untouched. "
                f"Restore it from git (`git checkout -- {self.path.name}`) or a backup."
            ) from None
        return False
