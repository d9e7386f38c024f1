"""fold(events) -> incident state. Pure and deterministic: no I/O, no clock.

Events are applied in their total order (HLC, author, id), so the same set of
events gives the same state whatever order they were read or merged in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from operator import attrgetter
from typing import Any

from warroom.config import DEFAULT_ROLES
from warroom.record.events import (
    FIELD_ALIASES,
    LIST_FIELDS,
    MODIFIER_KINDS,
    SELF_ENTRY_KINDS,
    STATUSES,
    Event,
    format_time,
    gc_paused,
    parse_time,
    problem,
)
from warroom.record.model import (
    ActionItem,
    Entry,
    Flip,
    Incident,
    Quarantine,
    Revision,
    Role,
    RoleChange,
    State,
    Update,
)
from warroom.text.exits import exit_words

STATUS_LABELS = {s: s.capitalize() for s in STATUSES}
_EVENT_ORDER = attrgetter("hlc", "author", "id")
SHORT_ID_MIN = 4


def fold(events: Iterable[Event], roles: Iterable[str] = DEFAULT_ROLES) -> State:
    with gc_paused():  # the state is 100k live objects, not garbage: no collector passes over them
        return Fold(roles).apply(events)


class Fold:
    """The state, and the events applied to it so far. `apply(new)` costs what `new` costs
    when the new events all come after what was applied (the usual case: appends); a batch
    that reaches back (an import of older events) folds everything again, so that
    fold(a + b) == Fold().apply(a).apply(b) holds whatever the order."""

    def __init__(self, roles: Iterable[str] = DEFAULT_ROLES) -> None:
        self.roles = tuple(roles)
        self.state = State()
        self._unique: dict[str, Event] = {}
        self._collided: dict[str, dict[str, Event]] = {}
        self._incidents: dict[str, IncidentFold] = {}
        self._last: tuple[str, str, str] | None = None  # order key of the last event applied

    def apply(self, events: Iterable[Event]) -> State:
        fresh: list[Event] = []
        unique, collided = self._unique, self._collided
        for event in events:
            seen = unique.get(event.id)
            if seen is None:
                unique[event.id] = event
                fresh.append(event)
            elif seen is not event and seen.canonical() != event.canonical():
                # Compared by canonical form (1 == True for ==, not for the record).
                variants = collided.setdefault(event.id, {seen.canonical(): seen})
                variants.setdefault(event.canonical(), event)
        fresh.sort(key=_EVENT_ORDER)
        if collided or (fresh and self._last is not None and _EVENT_ORDER(fresh[0]) < self._last):
            self._refold()
        else:
            for event in fresh:
                self._apply_one(event)
            self._assign_short_ids(fresh)
        return self.state

    def _refold(self) -> None:
        state = self.state = State()
        self._incidents = {}
        self._last = None
        unique = self._unique
        for event_id in sorted(self._collided):
            # Different events under one id: keep one deterministically, report each other one once.
            variants = self._collided[event_id]
            first, *others = sorted(variants)
            unique[event_id] = variants[first]
            state.quarantined.extend(Quarantine(event_id, "id collides with a different event") for _ in others)
        for event in sorted(unique.values(), key=_EVENT_ORDER):  # Event.order_key, at C speed
            self._apply_one(event)
        _assign_short_ids(state)

    def _apply_one(self, event: Event) -> None:
        self._last = _EVENT_ORDER(event)
        reason = problem(event)
        if reason is None:
            folded: IncidentFold | None
            if event.kind == "incident.declared":
                folded = IncidentFold(event, self.roles)
                self._incidents[event.id] = folded
                self.state.incidents[event.id] = folded.incident
            else:
                folded = self._incidents.get(event.incident)
                reason = "belongs to an unknown incident" if folded is None else folded.apply(event)
        if reason:
            self.state.quarantined.append(Quarantine(event.id, reason))

    def _assign_short_ids(self, fresh: list[Event]) -> None:
        if any(event.kind == "incident.declared" for event in fresh):
            _assign_short_ids(self.state)


class IncidentFold:
    """One incident folded from its own events, in their order. Incidents never touch each
    other, so the record's fold is the union of its incidents' folds; the store keeps each
    incident's timeline rows up to date with the same functions (see views.py)."""

    def __init__(self, declared: Event, roles: tuple[str, ...]) -> None:
        self.declared = declared
        self.key = _EVENT_ORDER(declared)
        self.incident = declare(declared, roles)
        self.entries_by_id: dict[str, Entry] = {}
        self.actions_by_id: dict[str, ActionItem] = {}

    def apply(self, event: Event) -> str | None:
        """Apply one event that comes after everything applied so far; why it cannot be, or None."""
        incident = self.incident
        incident.event_count += 1
        kind = event.kind
        if kind == "entry.logged":  # most of any record: first
            entry = logged_entry(event)
            incident.entries.append(entry)
            self.entries_by_id[event.id] = entry
            return None
        if kind in MODIFIER_KINDS:
            target = self.entries_by_id.get(event.body["target"])
            if target is None:
                return "points at an unknown entry"
            modify_entry(target, event)
            return None
        if kind in SELF_ENTRY_KINDS:
            incident.entries.append(self_entry(event))
            if kind == "check.flipped":
                body = event.body
                flip = Flip(event.at, body["check"], body["previous"], body["current"], body.get("reason") or "")
                incident.flips.append(flip)
            return None
        return apply_head(incident, event, self.actions_by_id)


def declare(event: Event, roles: tuple[str, ...]) -> Incident:
    """The incident an incident.declared event opens, with its first timeline row."""
    body = _present(event.body)
    incident = Incident(
        id=event.id,
        short_id="",
        title=body["title"],
        severity=body["severity"],
        status="investigating",
        impact=body.get("impact", ""),
        author=event.author,
        declared_at=event.at,
        detected_at=body.get("detected_at", "") or "",
    )
    for role in roles:
        incident.roles[role] = Role(role)
    ic = body.get("ic") or event.author
    # The role is the record's word, not this machine's config: every copy folds the same.
    lead = body.get("role") or "Incident Commander"
    _set_role(incident, lead, ic, event)
    incident.severity_history.append((event.at, incident.severity))
    incident.event_count = 1
    _auto(
        incident,
        event,
        "declared",
        f"Declared {incident.severity}: {incident.title}"
        + (f" (impact: {incident.impact})" if incident.impact else "")
        + f"; {'IC' if lead == 'Incident Commander' else lead} {ic}",
    )
    return incident


def _present(body: dict[str, Any]) -> dict[str, Any]:
    """An explicit null is a missing key (problem() reads it so)."""
    if None in body.values():
        return {key: value for key, value in body.items() if value is not None}
    return body


def logged_entry(event: Event) -> Entry:
    body = event.body
    type, text, source = body.get("type") or "note", body["text"], body.get("source") or ""
    at, author, hlc = event.at, event.author, event.hlc
    entry = Entry(
        event.id,
        at,
        author,
        type,
        text,
        hlc,
        "pin" if source else "",
        source,
        False,
        [Revision(hlc, author, at, text, type)],
    )
    if source:
        entry.lines_before = body.get("lines_before") or ""
        entry.lines_after = body.get("lines_after") or ""
    return entry


def modify_entry(entry: Entry, event: Event) -> None:
    """An edit, deletion or restore of an entry, applied in the events' order."""
    if event.kind == "entry.edited":
        body = event.body
        entry.text = body["text"]
        entry.type = body.get("type") or entry.type
        entry.history.append(Revision(event.hlc, event.author, event.at, entry.text, entry.type))
    else:
        entry.deleted = event.kind == "entry.deleted"


def resolve_entry(logged: Event, modifiers: Iterable[Event]) -> Entry:
    """An entry as its logged event and the edits, deletions and restores aimed at it make it;
    the ones stamped before it are not applied (the fold reports them as pointing nowhere)."""
    entry = logged_entry(logged)
    key = _EVENT_ORDER(logged)
    for event in sorted(modifiers, key=_EVENT_ORDER):
        if _EVENT_ORDER(event) > key and event.incident == logged.incident:
            modify_entry(entry, event)
    return entry


def self_entry(event: Event) -> Entry:
    """The row a check flip or a command run puts on the timeline."""
    body = event.body
    if event.kind == "check.flipped":
        reason = f" ({body['reason']})" if body.get("reason") else ""
        return _entry(
            event, "check", f"Check {body['check']}: {body['previous']} → {body['current']}{reason}", "finding"
        )
    runbook = f" from {body['runbook']}" if body.get("runbook") else ""
    text = f"Ran `{body['command']}`{runbook}: {exit_words(body['exit_code'])}"
    output = (body.get("output") or "").strip()
    if output:
        text += "\n" + output
    return _entry(event, "command", text, "action")


def _entry(event: Event, auto: str, text: str, type: str = "note") -> Entry:
    entry = Entry(id=event.id, at=event.at, author=event.author, type=type, text=text, hlc=event.hlc, auto=auto)
    entry.history.append(Revision(event.hlc, event.author, event.at, text, type))
    return entry


def _auto(incident: Incident, event: Event, auto: str, text: str, type: str = "note") -> None:
    incident.entries.append(_entry(event, auto, text, type))


def fold_head(declared: Event, events: Iterable[Event], roles: Iterable[str] = DEFAULT_ROLES) -> Incident:
    """The incident from its declare event and its head events (any order): everything but the
    entries people type, check flips and commands. Its `entries` are the rows the head events
    put on the timeline. Cheap: an incident has few head events, however long its timeline."""
    folded = IncidentFold(declared, tuple(roles))
    for event in sorted(events, key=_EVENT_ORDER):
        if event.id != declared.id and _EVENT_ORDER(event) > folded.key and problem(event) is None:
            folded.apply(event)
    return folded.incident


def apply_head(incident: Incident, event: Event, actions_by_id: dict[str, ActionItem]) -> str | None:
    """A head event, applied after every event before it; why it cannot be, or None."""
    body = _present(event.body)
    kind = event.kind
    if kind == "incident.status":
        new, old = body["status"], incident.status
        if new == old:
            return None
        incident.status = new
        stamp = {
            "identified": "identified_at",
            "monitoring": "mitigated_at",
            "resolved": "resolved_at",
            "closed": "closed_at",
        }.get(new)
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
        elif name in LIST_FIELDS:  # one item per event; an empty value clears the list
            items = incident.lists.setdefault(name, [])
            if value.strip():
                items.append(value)
            else:
                items.clear()
        else:
            incident.fields[FIELD_ALIASES.get(name, name)] = value
        label = FIELD_ALIASES.get(name, name).replace("_", " ").capitalize()
        if not value.strip():
            text = f"{label} cleared"
        elif name in LIST_FIELDS:
            text = f"{label.removesuffix('s')} added: {value}"
        else:
            text = f"{label}: {value}"
        _auto(incident, event, "field", text)
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
    elif kind == "update.posted":
        update = Update(
            id=event.id,
            at=event.at,
            author=event.author,
            text=body["text"],
            template=body.get("template", ""),
            channel=body.get("channel", ""),
        )
        incident.updates.append(update)
        incident.snoozed_until = ""
        incident.snoozes = []
        label = update.template or update.channel or "status update"
        _auto(incident, event, "update", f"Status update posted ({label}): {_first_line(update.text)}")
    elif kind == "update.snoozed":
        minutes = max(1, min(24 * 60, body["minutes"]))
        until = parse_time(event.at) + timedelta(minutes=minutes)
        incident.snoozed_until = format_time(until)
        incident.snooze_reason = body["reason"]
        incident.snoozes.append((event.at, minutes))
        _auto(incident, event, "snooze", f"Update reminder snoozed {minutes}m: {body['reason']}")
    elif kind == "incident.escalated":
        incident.escalated.append((event.at, body["to"], event.author))
        _auto(incident, event, "escalated", f"Escalated to {body['to']}")
    elif kind == "action.added":
        item = ActionItem(
            id=event.id,
            text=body["text"],
            owner=body.get("owner", ""),
            due=body.get("due", ""),
            priority=body.get("priority", "medium"),
            at=event.at,
            author=event.author,
            entry=body.get("entry", ""),
        )
        incident.actions.append(item)
        actions_by_id[event.id] = item
        owner = f" (owner {item.owner})" if item.owner else ""
        _auto(incident, event, "action", f"Action item: {item.text}{owner}", type="action")
    elif kind == "action.done":
        done = actions_by_id.get(body["target"])
        if done is None:
            return "points at an unknown action item"
        if not done.done:
            done.done, done.done_at = True, event.at
            _auto(incident, event, "action", f"Action item done: {done.text}", type="action")
    return None


def _set_role(incident: Incident, role: str, person: str, event: Event) -> None:
    held = incident.roles.setdefault(role, Role(role))
    held.person, held.since = person, event.at
    held.history.append(RoleChange(person, event.at, event.author))


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:120] + ("…" if len(line) > 120 else "")


def _assign_short_ids(state: State) -> None:
    """INC-xxxx from the declare event's id, lengthened while two incidents share it."""
    for incident_id, short in short_ids(state.incidents).items():
        state.incidents[incident_id].short_id = short


def short_ids(incident_ids: Iterable[str]) -> dict[str, str]:
    """INC-xxxx for each incident id: the shortest prefix of its hex digits (at least
    SHORT_ID_MIN) that no other incident shares. Derived from the id, not a counter, so two
    offline copies never hand out the same short id for different incidents. Sorted once:
    the longest prefix an id shares is with a neighbour in sorted order (n log n)."""
    keys = sorted((i.replace("-", ""), i) for i in incident_ids)
    names: dict[str, str] = {}
    for index, (key, incident_id) in enumerate(keys):
        shared = 0
        for other_index in (index - 1, index + 1):
            if 0 <= other_index < len(keys):
                shared = max(shared, _common_prefix(key, keys[other_index][0]))
        names[incident_id] = f"INC-{key[: max(SHORT_ID_MIN, shared + 1)]}"
    return names


def _common_prefix(a: str, b: str) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length
