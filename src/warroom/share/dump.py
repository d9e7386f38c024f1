"""The canonical dump: a warroom database as text, one line per event.

git's textconv for warroom.db (so `git diff` and `git log -p` read as events) and
`warroom dump`. The same events always give the same lines, whatever the file's layout.
"""

from __future__ import annotations

# Plain sqlite3 rows, not sqlite-utils: the dump is measured (benchmarks/bench_sync.py), and
# the library's dict rows read 100k events 40% slower, after 60 ms of import.
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from warroom.errors import RefusedFile, StoreError
from warroom.record.dbfile import APP_ID, BUSY_TIMEOUT_MS, COLUMNS, RECORD_APP_ID, check_file, uri
from warroom.record.events import MAX_BODY_BYTES, from_values

# Characters a terminal or a line splitter may act on, kept inside JSON strings: written as
# \uXXXX escapes, which keeps each line valid JSON with the same meaning (JSON itself escapes
# only U+0000..U+001F, quotes and backslashes).
_UNSAFE = re.compile(
    "[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _inert(line: str) -> str:
    if _UNSAFE.search(line):
        return _UNSAFE.sub(_escape, line)
    return line


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_DECODE = json.JSONDecoder().decode


def _canonical_row(values: tuple[Any, ...]) -> str:
    """Event.canonical() of a stored row (same bytes), or a stable line for an undecodable one."""
    eid, incident, hlc, author, kind, at, body = values
    if (
        type(body) is str
        and len(body) <= MAX_BODY_BYTES
        and type(eid) is str
        and type(incident) is str
        and type(hlc) is str
        and type(author) is str
        and type(kind) is str
        and type(at) is str
    ):
        try:
            parsed = _DECODE(body)
        except (ValueError, RecursionError):
            parsed = None
        if type(parsed) is dict:
            # The dict Event.canonical() encodes, with the same encoder settings.
            return _inert(
                _ENCODER.encode(
                    {
                        "id": eid,
                        "incident": incident,
                        "hlc": hlc,
                        "author": author,
                        "kind": kind,
                        "at": at,
                        "body": parsed,
                    }
                )
            )
    try:
        return _inert(from_values(*values).canonical())
    except (ValueError, TypeError, RecursionError):
        pass
    shown = body[:200] if isinstance(body, str) else repr(body)[:200]
    return _inert(
        _ENCODER.encode({"id": str(eid)[:64], "kind": str(kind)[:64], "hlc": str(hlc)[:32], "undecodable": shown})
    )


def dump(path: Path | str) -> Iterator[str]:
    """The record as canonical text: one line (no newline) per event, sorted by (hlc, author, id).

    Each line is Event.canonical() (sorted keys, compact, UTF-8), with characters a terminal
    could act on written as JSON \\u escapes. The same events always give the same lines,
    whatever the file's page layout. Reads the file read-only; a missing or empty file
    (git's side of an added or deleted file) dumps as nothing.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            return
    except FileNotFoundError:
        return
    try:
        check_file(path, APP_ID)
    except RefusedFile:
        check_file(path, RECORD_APP_ID)  # a record dumps too (`warroom dump` of the room's own)
    try:
        conn = sqlite3.connect(uri(path, readonly=True), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open ({exc})") from None
    try:
        conn.execute("pragma trusted_schema=off")
        cursor = conn.execute(f"select {', '.join(COLUMNS)} from events order by hlc, author, id")
        for row in cursor:
            yield _canonical_row(row)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot read ({exc})") from None
    finally:
        conn.close()


def dump_text(path: Path | str) -> str:
    return "".join(line + "\n" for line in dump(path))
