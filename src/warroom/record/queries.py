"""Reading the record: its events, and the derived tables every reader shows (views.py).

`Reads` is mixed into `Store`: one connection, one object, but the reads live here and the
writes (append, import) in store.py. Plain sqlite3 rows: the console's first frame and the
fold of a large record are measured (benchmarks/), and sqlite-utils' dict rows read 40%
slower after 60 ms of import.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warroom.errors import StoreError
from warroom.record import views
from warroom.record.dbfile import APP_ID, check_file, uri
from warroom.record.events import HEAD_KINDS, Event, from_values, gc_paused


@dataclass
class Quarantined:
    id: str
    reason: str


@dataclass
class Loaded:
    events: list[Event] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)


class Reads:
    """The record's queries; `conn` and `path` are the Store's."""

    conn: sqlite3.Connection
    path: Path

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
                f"(select 1 from {second}.events x where x.id = e.id)"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot read it ({exc})") from None
        finally:
            self.conn.execute("detach database other")

    def unpublished(self, remote: str) -> tuple[int, list[str]]:
        """(the newest rowid, the kinds of the events written here since the last publish to
        `remote`): what waits to go out. Events taken in from copies are out there already."""
        mark = int(self.imported(f"published:{remote}") or 0)
        top = self.conn.execute("select coalesce(max(rowid), 0) from events").fetchone()[0]
        kinds = [row[0] for row in self.conn.execute("select kind from events where local = 1 and rowid > ?", (mark,))]
        return top, kinds

    def imported(self, source: str) -> str | None:
        """The signature remembered for `source` at its last import."""
        row = self.conn.execute("select signature from imports where source = ?", (source,)).fetchone()
        return row[0] if row else None

    def quarantine(self) -> list[tuple[str, str, str]]:
        """(id, source, reason) of every incoming event that was not believed."""
        return self.conn.execute("select id, source, reason from quarantine order by at, id").fetchall()

    def _rows(self, where: str = "", params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
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

    def events(self, where: str, params: tuple[Any, ...] = ()) -> list[Event]:
        """Events matching an SQL condition on the events table, decoded."""
        return self._decode(self._rows(where, params), track=False).events

    def _decode(self, rows: Iterator[tuple[Any, ...]], track: bool = True) -> Loaded:
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
        return int(self.conn.execute("select count(*) from events").fetchone()[0])

    def summaries(self) -> list[tuple[str, str, str, str, str]]:
        """(id, declared_at, status, severity, title) of every incident, oldest first."""
        return self.conn.execute(
            "select id, declared_at, status, severity, title from incidents order by declared_at, id"
        ).fetchall()

    def incident_ids(self) -> list[str]:
        return [row[0] for row in self.conn.execute("select id from incidents")]

    def timeline(
        self, incident_id: str, *, before: tuple[str, str, str] | None = None, limit: int = 200
    ) -> list[tuple[Any, ...]]:
        """The newest `limit` rows of an incident's timeline older than `before` (at, hlc, id),
        oldest first; deleted entries left out."""
        sql = f"select {views.ENTRY_COLUMNS} from entries where incident = ? and deleted = 0"
        params: tuple[Any, ...] = (incident_id,)
        if before is not None:
            sql += " and (at, hlc, id) < (?, ?, ?)"
            params += tuple(before)
        sql += " order by at desc, hlc desc, id desc limit ?"
        rows = self.conn.execute(sql, params + (limit,)).fetchall()
        rows.reverse()
        return rows

    def timeline_rows(self, entry_ids: Iterable[str]) -> list[tuple[Any, ...]]:
        """The rows with these ids (deleted ones included: the caller takes them away)."""
        ids = list(entry_ids)
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows += self.conn.execute(
                f"select {views.ENTRY_COLUMNS} from entries where id in ({', '.join('?' * len(chunk))})", chunk
            ).fetchall()
        return rows

    def head_rows(self, incident_id: str) -> list[tuple[Any, ...]]:
        return self.conn.execute(
            f"select {views.ENTRY_COLUMNS} from entries where incident = ? and origin = 'head'", (incident_id,)
        ).fetchall()

    def last_flip(self, incident_id: str, check: str) -> str | None:
        """The state the newest recorded flip of `check` left it in, if any."""
        row = self.conn.execute(
            "select json_extract(body, '$.current') from events where incident = ? and kind = 'check.flipped' "
            "and json_extract(body, '$.check') = ? order by hlc desc, author desc, id desc limit 1",
            (incident_id, check),
        ).fetchone()
        return str(row[0]) if row else None

    def flips(self) -> list[Event]:
        """Every recorded check flip, whatever incident it was recorded on (the status page)."""
        return self.events("where kind = 'check.flipped'")

    def entry_count(self, incident_id: str) -> int:
        return int(
            self.conn.execute(
                "select count(*) from entries where incident = ? and deleted = 0", (incident_id,)
            ).fetchone()[0]
        )

    def find_entries(self, prefix: str, typed_only: bool = True) -> list[tuple[str, str]]:
        """(id, incident) of the rows whose id starts with `prefix`."""
        sql = "select id, incident from entries where id >= ? and id < ?"
        if typed_only:
            sql += " and origin = 'entry'"
        return self.conn.execute(sql + " limit 5", (prefix, prefix + "\uffff")).fetchall()

    def latest(self, incident_id: str, types: tuple[str, ...], typed_only: bool, limit: int) -> list[tuple[Any, ...]]:
        """The newest rows of these entry types (for templates: latest actions, findings)."""
        sql = (
            f"select {views.ENTRY_COLUMNS} from entries where incident = ? and deleted = 0 and type in "
            f"({', '.join('?' * len(types))})"
        )
        if typed_only:
            sql += " and auto in ('', 'pin')"
        rows = self.conn.execute(
            sql + " order by at desc, hlc desc, id desc limit ?", (incident_id, *types, limit)
        ).fetchall()
        rows.reverse()
        return rows


def decode_row(values: tuple[Any, ...]) -> Event | None:
    try:
        return from_values(*values)
    except (ValueError, TypeError, RecursionError):
        return None
