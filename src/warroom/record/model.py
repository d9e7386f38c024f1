"""The folded state's types (an incident, its entries, roles, action items, updates) and
the clock-based views of it (the update countdown, durations). Pure: no I/O, no clock of
its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Protocol, TypeVar

from warroom.record.events import FIELD_ALIASES, parse_time


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_Ided = TypeVar("_Ided", bound=_HasId)


def matching(ref: str, items: Sequence[_Ided]) -> list[_Ided]:
    """The incidents `ref` means: a full id, a short id (INC-3f2a) or a prefix of at least
    three characters (dashes ignored). The one rule the commands and the fold share."""
    wanted = ref.strip().lower()
    if wanted.startswith("inc-"):
        wanted = wanted[4:]
    if len(wanted) < 3:
        return []
    exact = [item for item in items if item.id == wanted]
    if exact:
        return exact
    wanted = wanted.replace("-", "")
    return [item for item in items if item.id.replace("-", "").startswith(wanted)]


_TIMELINE_ORDER = attrgetter("at", "hlc", "id")


@dataclass
class Revision:
    hlc: str
    author: str
    at: str
    text: str
    type: str


@dataclass
class Entry:
    """One line of the timeline: typed by someone, or written by an action (auto)."""

    id: str
    at: str
    author: str
    type: str  # note | action | decision | finding
    text: str
    hlc: str
    auto: str = ""  # "" for typed entries; else status, severity, role, update, check, ...
    source: str = ""  # where a pinned line came from ("log:worker")
    deleted: bool = False
    history: list[Revision] = field(default_factory=list)
    revisions: int = 0  # how many texts it has had, when read from the record's rows (no history)
    lines_before: str = ""  # a pinned log line's neighbours in its log, one per line
    lines_after: str = ""

    @property
    def edited(self) -> bool:
        return max(len(self.history), self.revisions) > 1


@dataclass
class Flip:
    """A health check changing state, kept whole (the post-mortem draws and sums them)."""

    at: str
    check: str
    previous: str
    current: str
    reason: str


@dataclass
class RoleChange:
    person: str
    at: str
    author: str


@dataclass
class Role:
    name: str
    person: str = ""
    since: str = ""
    history: list[RoleChange] = field(default_factory=list)


@dataclass
class ActionItem:
    id: str
    text: str
    owner: str
    due: str
    priority: str
    at: str
    author: str
    entry: str = ""
    done: bool = False
    done_at: str = ""


@dataclass
class Update:
    id: str
    at: str
    author: str
    text: str
    template: str
    channel: str


@dataclass
class Incident:
    id: str
    short_id: str
    title: str
    severity: str
    status: str
    impact: str
    author: str
    declared_at: str
    detected_at: str = ""
    acknowledged_at: str = ""
    identified_at: str = ""
    mitigated_at: str = ""
    resolved_at: str = ""
    closed_at: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)  # LIST_FIELDS: contributing factors
    roles: dict[str, Role] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    actions: list[ActionItem] = field(default_factory=list)
    snoozed_until: str = ""
    snooze_reason: str = ""
    skipped_checklist: list[str] = field(default_factory=list)
    severity_history: list[tuple[str, str]] = field(default_factory=list)  # (at, severity)
    flips: list[Flip] = field(default_factory=list)  # in the order applied; sort by `at` to read
    event_count: int = 0

    @property
    def open(self) -> bool:
        return self.status not in ("resolved", "closed")

    @property
    def timeline(self) -> list[Entry]:
        """Entries in the order they happened (their wall time), deleted ones left out."""
        return [e for e in sorted(self.entries, key=_TIMELINE_ORDER) if not e.deleted]

    @property
    def last_update_at(self) -> str:
        return max((u.at for u in self.updates), default="")

    def field(self, name: str) -> str:
        return self.fields.get(FIELD_ALIASES.get(name, name), "")

    def items(self, name: str) -> list[str]:
        """The items of a list field (contributing factors), oldest first."""
        return self.lists.get(name, [])

    def holder(self, role: str) -> str:
        held = self.roles.get(role)
        return held.person if held else ""


@dataclass
class Quarantine:
    id: str
    reason: str


@dataclass
class State:
    incidents: dict[str, Incident] = field(default_factory=dict)
    quarantined: list[Quarantine] = field(default_factory=list)

    @property
    def ordered(self) -> list[Incident]:
        return sorted(self.incidents.values(), key=lambda i: (i.declared_at, i.id))

    @property
    def open_incidents(self) -> list[Incident]:
        return [i for i in self.ordered if i.open]

    def find(self, ref: str) -> list[Incident]:
        """Incidents matching a full id, a short id (INC-3f2a) or a unique prefix."""
        return matching(ref, list(self.incidents.values()))


# --- time-based views (the clock is passed in; still pure) -----------------


@dataclass(frozen=True)
class Countdown:
    due_at: datetime
    remaining: float  # seconds; negative when overdue
    phase: str  # ok | soon | overdue
    snoozed: bool


def update_countdown(incident: Incident, cadence_seconds: float, now: datetime, warn_seconds: float = 300) -> Countdown:
    """Time left until the next status update: recomputed from the record, never decremented."""
    last = incident.last_update_at or incident.declared_at
    due = parse_time(last) + timedelta(seconds=cadence_seconds)
    snoozed = False
    if incident.snoozed_until:
        until = parse_time(incident.snoozed_until)
        if until > due:
            due, snoozed = until, True
    remaining = (due - now).total_seconds()
    phase = "overdue" if remaining < 0 else "soon" if remaining <= warn_seconds else "ok"
    return Countdown(due, remaining, phase, snoozed)


def duration_seconds(start: str, end: str) -> float | None:
    if not start or not end:
        return None
    return (parse_time(end) - parse_time(start)).total_seconds()


@dataclass(frozen=True)
class Summary:
    """One line of the incident list, read from the record's summary table."""

    id: str
    short_id: str
    declared_at: str
    status: str
    severity: str
    title: str

    @property
    def open(self) -> bool:
        return self.status not in ("resolved", "closed")
