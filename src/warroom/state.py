"""fold(events) -> incident state. Pure and deterministic: no I/O, no clock.

Events are applied in their total order (HLC, author, id), so the same set of
events gives the same state whatever order they were read or merged in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Iterable

from warroom.events import STATUSES, Event, gc_paused, parse_time, problem

DEFAULT_ROLES = ("Incident Commander", "Tech Lead", "Communications Lead", "Scribe")
STATUS_LABELS = {s: s.capitalize() for s in STATUSES}
_EVENT_ORDER = attrgetter("hlc", "author", "id")
_TIMELINE_ORDER = attrgetter("at", "hlc", "id")
SHORT_ID_MIN = 4


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
    type: str            # note | action | decision | finding
    text: str
    hlc: str
    auto: str = ""       # "" for typed entries; else status, severity, role, update, check, ...
    source: str = ""     # where a pinned line came from ("log:worker")
    deleted: bool = False
    history: list[Revision] = field(default_factory=list)

    @property
    def edited(self) -> bool:
        return len(self.history) > 1


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
    roles: dict[str, Role] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    actions: list[ActionItem] = field(default_factory=list)
    snoozed_until: str = ""
    snooze_reason: str = ""
    skipped_checklist: list[str] = field(default_factory=list)
    severity_history: list[tuple[str, str]] = field(default_factory=list)  # (at, severity)
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
        return self.fields.get(name, "")

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
        wanted = ref.strip().lower()
        if wanted.startswith("inc-"):
            wanted = wanted[4:]
        if len(wanted) < 3:
            return []
        exact = [i for i in self.incidents.values() if i.id == wanted]
        if exact:
            return exact
        return [i for i in self.incidents.values() if i.id.replace("-", "").startswith(wanted.replace("-", ""))]

    def entry(self, ref: str) -> tuple[Incident, Entry] | None:
        for incident in self.incidents.values():
            for entry in incident.entries:
                if entry.id == ref or (len(ref) >= 4 and entry.id.startswith(ref)):
                    return incident, entry
        return None


def fold(events: Iterable[Event], roles: Iterable[str] = DEFAULT_ROLES) -> State:
    with gc_paused():  # the state is 100k live objects, not garbage: no collector passes over them
        return _fold(events, roles)


def _fold(events: Iterable[Event], roles: Iterable[str]) -> State:
    state = State()
    roles = tuple(roles)
    unique: dict[str, Event] = {}
    collided: dict[str, dict[str, Event]] = {}
    for event in events:
        seen = unique.get(event.id)
        if seen is None:
            unique[event.id] = event
        elif seen is not event:
            # Compared by canonical form (1 == True for ==, not for the record).
            variants = collided.setdefault(event.id, {seen.canonical(): seen})
            variants.setdefault(event.canonical(), event)
    for event_id in sorted(collided):
        # Different events under one id: keep one deterministically, report each other one once.
        variants = collided[event_id]
        first, *others = sorted(variants)
        unique[event_id] = variants[first]
        state.quarantined.extend(Quarantine(event_id, "id collides with a different event") for _ in others)
    entries_by_id: dict[str, tuple[Incident, Entry]] = {}
    actions_by_id: dict[str, ActionItem] = {}
    for event in sorted(unique.values(), key=_EVENT_ORDER):  # Event.order_key, at C speed
        reason = problem(event)
        if reason is None:
            reason = _apply(state, event, roles, entries_by_id, actions_by_id)
        if reason:
            state.quarantined.append(Quarantine(event.id, reason))
    _assign_short_ids(state)
    return state


def _auto(incident: Incident, event: Event, auto: str, text: str, type: str = "note") -> None:
    entry = Entry(id=event.id, at=event.at, author=event.author, type=type, text=text,
                  hlc=event.hlc, auto=auto)
    entry.history.append(Revision(event.hlc, event.author, event.at, text, type))
    incident.entries.append(entry)


def _apply(state: State, event: Event, roles: tuple[str, ...],
           entries_by_id: dict[str, tuple[Incident, Entry]],
           actions_by_id: dict[str, ActionItem]) -> str | None:
    body = event.body
    if None in body.values():  # an explicit null is a missing key (problem() reads it so)
        body = {key: value for key, value in body.items() if value is not None}
    if event.kind == "incident.declared":
        incident = Incident(id=event.id, short_id="", title=body["title"], severity=body["severity"],
                            status="investigating", impact=body.get("impact", ""), author=event.author,
                            declared_at=event.at, detected_at=body.get("detected_at", "") or "")
        for role in roles:
            incident.roles[role] = Role(role)
        ic = body.get("ic") or event.author
        _set_role(incident, "Incident Commander", ic, event)
        incident.severity_history.append((event.at, incident.severity))
        state.incidents[event.id] = incident
        incident.event_count = 1
        _auto(incident, event, "declared",
              f"Declared {incident.severity}: {incident.title}"
              + (f" (impact: {incident.impact})" if incident.impact else "")
              + f"; IC {ic}")
        return None
    incident = state.incidents.get(event.incident)
    if incident is None:
        return "belongs to an unknown incident"
    incident.event_count += 1
    kind = event.kind
    if kind == "entry.logged":  # most of any record: first, and positional (Entry's field order)
        type, text, source = body.get("type", "note"), body["text"], body.get("source", "")
        at, author, hlc = event.at, event.author, event.hlc
        entry = Entry(event.id, at, author, type, text, hlc, "pin" if source else "", source, False,
                      [Revision(hlc, author, at, text, type)])
        incident.entries.append(entry)
        entries_by_id[event.id] = (incident, entry)
    elif kind == "incident.status":
        new, old = body["status"], incident.status
        if new == old:
            return None
        incident.status = new
        stamp = {"identified": "identified_at", "monitoring": "mitigated_at",
                 "resolved": "resolved_at", "closed": "closed_at"}.get(new)
        if stamp and not getattr(incident, stamp):
            setattr(incident, stamp, event.at)
        if new in ("resolved", "closed") and not incident.mitigated_at:
            incident.mitigated_at = event.at
        if new == "closed" and not incident.resolved_at:
            incident.resolved_at = event.at
        if STATUSES.index(new) < STATUSES.index("resolved"):  # reopened
            incident.resolved_at = incident.closed_at = ""
        if new == "closed":
            incident.skipped_checklist = [str(s) for s in body.get("skipped", [])]
        text = f"Status: {STATUS_LABELS[old]} → {STATUS_LABELS[new]}"
        if body.get("note"):
            text += f" ({body['note']})"
        if incident.skipped_checklist and new == "closed":
            text += "; checklist skipped: " + ", ".join(incident.skipped_checklist)
        _auto(incident, event, "status", text)
    elif kind == "incident.severity":
        old, new = incident.severity, body["severity"]
        if old == new:
            return None
        incident.severity = new
        incident.severity_history.append((event.at, new))
        _auto(incident, event, "severity", f"Severity: {old} → {new}")
    elif kind == "incident.field":
        name, value = body["field"], body["value"]
        if name == "title":
            incident.title = value
        elif name == "impact":
            incident.impact = value
        elif name == "detected_at":
            incident.detected_at = value
        else:
            incident.fields[name] = value
        _auto(incident, event, "field", f"{name.replace('_', ' ').capitalize()}: {value}")
    elif kind == "incident.acknowledged":
        if not incident.acknowledged_at or event.at < incident.acknowledged_at:
            incident.acknowledged_at = event.at
        _auto(incident, event, "ack", f"Acknowledged by {event.author}")
    elif kind == "role.assigned":
        role = body["role"]
        previous = incident.holder(role)
        _set_role(incident, role, body["person"], event)
        person = body["person"] or "nobody"
        text = f"{role}: {person}" + (f" (handed over from {previous})" if previous else "")
        _auto(incident, event, "role", text)
    elif kind in ("entry.edited", "entry.deleted", "entry.restored"):
        target = entries_by_id.get(body["target"])
        if target is None or target[0] is not incident:
            return "points at an unknown entry"
        entry = target[1]
        if kind == "entry.edited":
            entry.text = body["text"]
            entry.type = body.get("type") or entry.type
            entry.history.append(Revision(event.hlc, event.author, event.at, entry.text, entry.type))
        else:
            entry.deleted = kind == "entry.deleted"
    elif kind == "update.posted":
        update = Update(id=event.id, at=event.at, author=event.author, text=body["text"],
                        template=body.get("template", ""), channel=body.get("channel", ""))
        incident.updates.append(update)
        incident.snoozed_until = ""
        label = update.template or update.channel or "status update"
        _auto(incident, event, "update", f"Status update posted ({label}): {_first_line(update.text)}")
    elif kind == "update.snoozed":
        minutes = max(1, min(24 * 60, body["minutes"]))
        until = parse_time(event.at) + timedelta(minutes=minutes)
        from warroom.events import format_time
        incident.snoozed_until = format_time(until)
        incident.snooze_reason = body["reason"]
        _auto(incident, event, "snooze", f"Update reminder snoozed {minutes}m: {body['reason']}")
    elif kind == "action.added":
        item = ActionItem(id=event.id, text=body["text"], owner=body.get("owner", ""),
                          due=body.get("due", ""), priority=body.get("priority", "medium"),
                          at=event.at, author=event.author, entry=body.get("entry", ""))
        incident.actions.append(item)
        actions_by_id[event.id] = item
        owner = f" (owner {item.owner})" if item.owner else ""
        _auto(incident, event, "action", f"Action item: {item.text}{owner}", type="action")
    elif kind == "action.done":
        item = actions_by_id.get(body["target"])
        if item is None:
            return "points at an unknown action item"
        if not item.done:
            item.done, item.done_at = True, event.at
            _auto(incident, event, "action", f"Action item done: {item.text}", type="action")
    elif kind == "check.flipped":
        reason = f" ({body['reason']})" if body.get("reason") else ""
        _auto(incident, event, "check",
              f"Check {body['check']}: {body['previous']} → {body['current']}{reason}", type="finding")
    elif kind == "command.ran":
        runbook = f" from {body['runbook']}" if body.get("runbook") else ""
        text = f"Ran `{body['command']}`{runbook}: exit {body['exit_code']}"
        output = body.get("output", "").strip()
        if output:
            text += "\n" + output
        _auto(incident, event, "command", text, type="action")
    return None


def _set_role(incident: Incident, role: str, person: str, event: Event) -> None:
    held = incident.roles.setdefault(role, Role(role))
    held.person, held.since = person, event.at
    held.history.append(RoleChange(person, event.at, event.author))


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:120] + ("…" if len(line) > 120 else "")


def _assign_short_ids(state: State) -> None:
    """INC-xxxx from the declare event's id, lengthened while two incidents share it.

    Derived from the id (not a counter) so two offline copies never hand out the
    same short id for different incidents.
    """
    keys = {i.id: i.id.replace("-", "") for i in state.incidents.values()}
    for incident in state.incidents.values():
        mine = keys[incident.id]
        length = SHORT_ID_MIN
        while any(other != incident.id and key.startswith(mine[:length]) for other, key in keys.items()):
            length += 1
        incident.short_id = f"INC-{mine[:length]}"


# --- time-based views (the clock is passed in; still pure) -----------------


@dataclass(frozen=True)
class Countdown:
    due_at: datetime
    remaining: float       # seconds; negative when overdue
    phase: str             # ok | soon | overdue
    snoozed: bool


def update_countdown(incident: Incident, cadence_seconds: float, now: datetime,
                     warn_seconds: float = 300) -> Countdown:
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
