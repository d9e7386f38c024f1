"""Taking in an exchange copy: every valid event the record lacks, and nothing else.

`Imports` is mixed into `Store`. A row that does not decode, breaks the record's rules,
reuses an id for other content or is stamped too far ahead is quarantined, never folded;
no schema object of the copy (trigger, view, index, table) is ever read.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.errors import StoreError
from warroom.record.clock import Clock, HybridLogicalClock, parse_hlc
from warroom.record.dbfile import APP_ID, COLUMNS, check_file, inspect, read_errors, uri
from warroom.record.events import (
    MAX_BODY_BYTES,
    Event,
    format_time,
    problem,
    stored_body,
)
from warroom.record.queries import Quarantined, decode_row


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


class Imports:
    """import_file, for Store."""

    if TYPE_CHECKING:  # the Store's, for the type checker
        conn: sqlite3.Connection
        path: Path
        clock: Clock
        hlc: HybridLogicalClock

        def _insert(self, events: list[Event], bodies: list[str] | None = None) -> None: ...

        def remember(self, source: str, signature: str) -> None: ...

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
                        [(q.id, source, q.reason, stamp) for q in result.quarantined],
                    )
                if signature is not None:
                    self.conn.execute(
                        "insert or replace into imports (source, signature) values (?, ?)", (source, signature)
                    )
                self.conn.execute("commit")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("rollback")
                raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot read it ({exc}); nothing was imported, the record is intact") from None
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
            f"where o.id is null or {differs}"
        )
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
                quarantined.append(Quarantined(label, f"body too large ({length} characters)" if length else "no body"))
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
                reason = (
                    f"stamped {_ahead(hlc, self.clock)} ahead of this machine's clock (more than the "
                    f"allowed drift); not believed"
                )
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
            quarantined.append(Quarantined(tid[:64], "the incoming copy holds this id twice with different content"))
        result.added = [event for event, _ in fresh.values()]
        result.already_present = total - selected + equal
        return [body for _, body in fresh.values()]


def _ahead(stamp: str, clock: Clock) -> str:
    try:
        physical, _ = parse_hlc(stamp)
    except ValueError:
        return "far"
    hours = (physical - int(clock.now().timestamp() * 1000)) / 3_600_000
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} hours"
