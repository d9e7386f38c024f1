"""The record's derived tables: every incident's timeline rows and summary, kept up to date
in the same transaction as the events that change them.

The fold (state.py) is the truth; these tables hold what it says, so that the console and the
CLI read a screenful of a 100k-event timeline, or a list of 10k incidents, without folding
the record. Each derived row is recomputed from its own sources, with the fold's functions:

- an entry someone typed, from its entry.logged event and the edits, deletions and restores
  aimed at it (state.resolve_entry);
- a check flip or a command run, from its one event (state.self_entry);
- the rows an incident's head events write (declared, status, severity, roles, fields,
  updates, snoozes, action items) and its summary, from its head events (state.fold_head),
  which are few whatever the length of its timeline.

Because every row is recomputed from all of its sources, the order in which events arrive
does not matter: a teammate's older events, pulled in later, land where the fold puts them.
Only a declare event arriving after events of its incident rebuilds that incident whole.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from warroom.config import DEFAULT_ROLES
from warroom.record.events import (
    HEAD_KINDS,
    MODIFIER_KINDS,
    SELF_ENTRY_KINDS,
    Event,
    from_values,
)
from warroom.record.fold import IncidentFold, fold_head, resolve_entry, self_entry
from warroom.record.model import Entry, Incident

_ORDER = attrgetter("hlc", "author", "id")

SCHEMA = """
create table if not exists entries (
    id text primary key, incident text not null, at text not null, hlc text not null,
    author text not null, type text not null, text text not null, auto text not null,
    source text not null, deleted integer not null, revisions integer not null,
    origin text not null);
create index if not exists entries_order on entries (incident, at, hlc, id);
create table if not exists incidents (
    id text primary key, declared_at text not null, hlc text not null, status text not null,
    severity text not null, title text not null);
"""

ENTRY_COLUMNS = "id, incident, at, hlc, author, type, text, auto, source, deleted, revisions"
_EVENT_COLUMNS = "id, incident, hlc, author, kind, at, body"
_HEAD_LIST = ", ".join(f"'{kind}'" for kind in sorted(HEAD_KINDS))
_MODIFIER_LIST = ", ".join(f"'{kind}'" for kind in sorted(MODIFIER_KINDS))


@dataclass
class Changes:
    """What a batch of events changed, for the panes: which incidents (their summary and head
    may differ), which rows, and which incidents were rebuilt whole."""

    incidents: set[str] = field(default_factory=set)
    heads: set[str] = field(default_factory=set)  # incidents whose head rows may differ
    entries: set[str] = field(default_factory=set)  # ids of rows that may differ
    rebuilt: set[str] = field(default_factory=set)  # incidents to show again from scratch

    def __bool__(self) -> bool:
        return bool(self.incidents or self.entries or self.rebuilt)

    def update(self, other: Changes) -> None:
        self.incidents |= other.incidents
        self.heads |= other.heads
        self.entries |= other.entries
        self.rebuilt |= other.rebuilt


def affected(events: Iterable[Event]) -> Changes:
    """What these events (already applied) may have changed: the rows to read again."""
    changes = Changes()
    for event in events:
        changes.incidents.add(event.incident)
        kind = event.kind
        if kind == "incident.declared":
            changes.rebuilt.add(event.id)
        elif kind in HEAD_KINDS:
            changes.heads.add(event.incident)
        elif kind in MODIFIER_KINDS:
            target = event.body.get("target")
            if isinstance(target, str):
                changes.entries.add(target)
        else:
            changes.entries.add(event.id)
    return changes


# --- keeping the tables up to date ------------------------------------------------------------


def target_of(event: Event) -> str | None:
    """The entry an edit, deletion or restore points at: a column of its own, indexed."""
    if event.kind in MODIFIER_KINDS:
        target = event.body.get("target")
        return target if isinstance(target, str) else None
    return None


def apply(conn: sqlite3.Connection, events: list[Event]) -> None:
    """Bring the derived tables up to date with `events`, just inserted in this transaction."""
    by_incident: dict[str, list[Event]] = {}
    for event in events:
        by_incident.setdefault(event.incident, []).append(event)
    for incident_id, batch in by_incident.items():
        declared = _declared(conn, incident_id)
        if declared is None:
            continue  # its declare event has not arrived: the fold shows none of them yet
        if any(event.id == incident_id for event in batch):
            rebuild(conn, declared)
            continue
        key = _ORDER(declared)
        batch = [event for event in batch if _ORDER(event) > key]  # the fold refuses the others
        if any(event.kind in HEAD_KINDS for event in batch):
            refresh_head(conn, declared)
        targets: set[str] = set()
        for event in batch:
            kind = event.kind
            if kind == "entry.logged":
                targets.add(event.id)
            elif kind in MODIFIER_KINDS:
                target = target_of(event)
                if target:
                    targets.add(target)
            elif kind in SELF_ENTRY_KINDS:
                _put(conn, [self_entry(event)], incident_id, "event")
        for target in targets:
            refresh_entry(conn, declared, target)


def rebuild(conn: sqlite3.Connection, declared: Event) -> None:
    """Every derived row of one incident, from all its events (a declare that came late)."""
    folded = IncidentFold(declared, DEFAULT_ROLES)
    origins = {declared.id: "head"}
    # Sorted here, on the decoded values the fold sorts on, not by SQL on the stored bytes.
    for event in sorted(_events(conn, "where incident = ?", (declared.id,)), key=_ORDER):
        if _ORDER(event) > folded.key:
            folded.apply(event)
            origins[event.id] = _origin(event.kind)
    conn.execute("delete from entries where incident = ?", (declared.id,))
    rows = folded.incident.entries
    for origin in ("head", "entry", "event"):
        _put(conn, [entry for entry in rows if origins.get(entry.id) == origin], declared.id, origin)
    _summary(conn, folded.incident, declared)


def _origin(kind: str) -> str:
    return "head" if kind in HEAD_KINDS else "event" if kind in SELF_ENTRY_KINDS else "entry"


def refresh_head(conn: sqlite3.Connection, declared: Event) -> None:
    """The incident's summary and the rows its head events write, from its head events."""
    incident = head(conn, declared)
    new = {entry.id: entry for entry in incident.entries}
    old = {
        row[0]: row
        for row in conn.execute(
            f"select {ENTRY_COLUMNS} from entries where incident = ? and origin = 'head'", (declared.id,)
        )
    }
    gone = [(entry_id,) for entry_id in old if entry_id not in new]
    if gone:
        conn.executemany("delete from entries where id = ?", gone)
    changed = [entry for entry_id, entry in new.items() if old.get(entry_id) != _row(entry, declared.id)]
    _put(conn, changed, declared.id, "head")
    _summary(conn, incident, declared)


def head(conn: sqlite3.Connection, declared: Event, roles: Iterable[str] = DEFAULT_ROLES) -> Incident:
    """The incident's head, folded from its head events (few, however long the timeline)."""
    return fold_head(declared, _events(conn, f"where incident = ? and kind in ({_HEAD_LIST})", (declared.id,)), roles)


def refresh_entry(conn: sqlite3.Connection, declared: Event, entry_id: str) -> None:
    """One typed entry, from its entry.logged event and everything aimed at it."""
    logged = next(
        _events(conn, "where id = ? and kind = 'entry.logged' and incident = ?", (entry_id, declared.id)), None
    )
    if logged is None or _ORDER(logged) < _ORDER(declared):
        return  # an edit of nothing (yet): the fold reports it as pointing nowhere
    modifiers = _events(conn, f"where target = ? and kind in ({_MODIFIER_LIST})", (entry_id,))
    _put(conn, [resolve_entry(logged, modifiers)], declared.id, "entry")


def _summary(conn: sqlite3.Connection, incident: Incident, declared: Event) -> None:
    conn.execute(
        "insert or replace into incidents (id, declared_at, hlc, status, severity, title) values (?,?,?,?,?,?)",
        (incident.id, incident.declared_at, declared.hlc, incident.status, incident.severity, incident.title),
    )


def _row(entry: Entry, incident_id: str) -> tuple[Any, ...]:
    return (
        entry.id,
        incident_id,
        entry.at,
        entry.hlc,
        entry.author,
        entry.type,
        entry.text,
        entry.auto,
        entry.source,
        int(entry.deleted),
        len(entry.history),
    )


def _put(conn: sqlite3.Connection, entries: list[Entry], incident_id: str, origin: str) -> None:
    if entries:
        conn.executemany(
            f"insert or replace into entries ({ENTRY_COLUMNS}, origin) values (?,?,?,?,?,?,?,?,?,?,?,?)",
            [(*_row(entry, incident_id), origin) for entry in entries],
        )


def _declared(conn: sqlite3.Connection, incident_id: str) -> Event | None:
    return next(_events(conn, "where id = ? and kind = 'incident.declared'", (incident_id,)), None)


def _events(conn: sqlite3.Connection, where: str, params: tuple[Any, ...] = ()) -> Iterator[Event]:
    """Events of the record (validated when they came in), decoded."""
    for row in conn.execute(f"select {_EVENT_COLUMNS} from events {where}", params):
        try:
            yield from_values(*row)
        except (ValueError, TypeError, RecursionError):
            continue


# --- reading --------------------------------------------------------------------------------


def entry_from_row(row: tuple[Any, ...]) -> Entry:
    """A timeline row as the panes use it. Its edit history is read when asked for (details)."""
    entry_id, _incident, at, hlc, author, type, text, auto, source, deleted, revisions = row
    return Entry(entry_id, at, author, type, text, hlc, auto, source, bool(deleted), [], revisions)
