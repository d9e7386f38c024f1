"""The folded state's types (an incident, its entries, roles, action items, updates) and
the clock-based views of it (the update countdown, durations). Pure: no I/O, no clock of
its own."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Protocol, TypeVar

from warroom.config import EscalationLevel
from warroom.record.events import FIELD_ALIASES, TIME_FIELDS, parse_time
from warroom.text import durations


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
_TIME_FIELD_LABELS = frozenset(name.replace("_", " ").capitalize() for name in TIME_FIELDS)  # as the fold says them


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

    def time_field(self) -> tuple[str, str] | None:
        """(label, stored time) when this is the fold's line for a time field being set
        ("Impact started at: 2026-12-02T14:40:49.155Z"): readers show the time their way."""
        if self.auto != "field":
            return None
        label, colon, value = self.text.partition(": ")
        if colon and label in _TIME_FIELD_LABELS and value and " " not in value:
            return label, value
        return None


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
    snoozes: list[tuple[str, int]] = field(default_factory=list)  # (at, minutes) since the last update
    escalated: list[tuple[str, str, str]] = field(default_factory=list)  # (at, to, author)
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

    def escalated_to(self, to: str) -> bool:
        """Whether someone recorded calling in `to` (whatever its case)."""
        return any(name.strip().lower() == to.strip().lower() for _at, name, _author in self.escalated)

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


def update_countdown(
    incident: Incident, cadence_seconds: float | None, now: datetime, warn_seconds: float = 300
) -> Countdown | None:
    """Time left until the next status update, recomputed from the record, never decremented:
    one cadence after the last update posted (after the declaration before the first). A
    cadence of None asks for no updates (None back); 0 (`immediate`) asks for the first at
    once and then none. Each snooze moves the deadline on from the later of its own time
    and the deadline it found, so snoozing early never shortens the time left."""
    if cadence_seconds is None:
        return None
    last = incident.last_update_at
    if cadence_seconds == 0:
        if last:
            return None
        due = parse_time(incident.declared_at)
    else:
        due = next_update_due(parse_time(last or incident.declared_at), cadence_seconds)
    snoozed = False
    for at, minutes in incident.snoozes:
        due, snoozed = max(parse_time(at), due) + timedelta(minutes=minutes), True
    return _countdown(due, now, warn_seconds, snoozed)


def next_update_due(posted: datetime, cadence_seconds: float) -> datetime:
    """An update posted at `posted` asks for the next one cadence later: what the update
    being written says ("next update by ..."), and what the countdown then counts to."""
    return posted + timedelta(seconds=cadence_seconds)


def _countdown(due: datetime, now: datetime, warn_seconds: float, snoozed: bool = False) -> Countdown:
    remaining = (due - now).total_seconds()
    phase = "overdue" if remaining < 0 else "soon" if remaining <= warn_seconds else "ok"
    return Countdown(due, remaining, phase, snoozed)


def target_countdown(
    incident: Incident, within: float | None, done_at: str, now: datetime, warn_seconds: float = 300
) -> Countdown | None:
    """A target counted from the declaration (acknowledge within, resolve within): None when
    there is no target or it was met (done_at is set)."""
    if within is None or done_at:
        return None
    return _countdown(parse_time(incident.declared_at) + timedelta(seconds=within), now, warn_seconds)


def after_resolution(incident: Incident, within: float) -> datetime | None:
    """When a post-incident deadline (`within` seconds after the resolution) falls due; None
    while the incident is not resolved."""
    if not incident.resolved_at:
        return None
    return parse_time(incident.resolved_at) + timedelta(seconds=within)


def target_met(incident: Incident, within: float | None, done_at: str) -> bool | None:
    """Was the target met? None while it cannot be said (no target, or not done yet)."""
    if within is None or not done_at:
        return None
    return parse_time(done_at) <= parse_time(incident.declared_at) + timedelta(seconds=within)


@dataclass(frozen=True)
class Rung:
    """One rung of an incident's escalation path, as of now."""

    to: str  # "" for a level's own escalate_after (no one named)
    after: float
    due_at: datetime
    state: str  # due (flagged until someone records the call) | escalated | later

    def describe(self) -> str:
        who = self.to or "escalate"
        after = f"after {durations.config_form(self.after)}" if self.after else "at declaration"
        when = f"{self.due_at.strftime('%H:%M UTC')} ({after})"
        if self.state == "due":
            return f"ESCALATE NOW: {who} (due {self.due_at.strftime('%H:%M UTC')})"
        if self.state == "escalated":
            return f"escalated: {who}"
        return f"{who} at {when}"


def escalation_rungs(incident: Incident, rungs: Iterable[EscalationLevel], now: datetime) -> list[Rung]:
    """Every rung of the path: each one due stays flagged until someone records that it was
    called in (`warroom escalate TO`), not only the next; one not yet due is `later`. Only
    while the incident is open: a resolved incident escalates no further."""
    declared = parse_time(incident.declared_at)
    result = []
    for rung in rungs:
        due = declared + timedelta(seconds=rung.after)
        # The level's own escalate_after names no one: any call recorded answers it.
        if incident.escalated_to(rung.to) if rung.to else bool(incident.escalated):
            state = "escalated"
        elif due <= now and incident.open:
            state = "due"
        else:
            state = "later"
        result.append(Rung(rung.to, rung.after, due, state))
    return result


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
