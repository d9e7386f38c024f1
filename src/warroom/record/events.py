"""The event kinds of the record and their encoding.

An event is immutable. `incident` is the id of the incident.declared event that
opened the incident (so a declare event's incident is its own id). `at` is the
wall time the event describes (a scribe may backdate), `hlc` orders events
causally across machines.
"""

from __future__ import annotations

import gc
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, cast

from warroom.text.sanitize import inert

UTC = UTC

STATUSES = ("investigating", "identified", "monitoring", "resolved", "closed")
ENTRY_TYPES = ("note", "action", "decision", "finding")
INCIDENT_FIELDS = (
    "title",
    "impact",
    "root_cause",
    "resolution",
    "eta",
    "runbook",
    "affected_users",
    "summary",
    "went_well",
    "could_improve",
    "detected_at",
    "impact_started_at",
    "lessons",
    # the post-mortem's sections and the guides' update fields (record/writeup.py says what each is)
    "detection",
    "users_affected",
    "requests_failed",
    "business_impact",
    "contributing_factors",
    "prevention",
    "workaround",
    "next_steps",
    "help_needed",
)
# Fields that hold a list: each event adds one item, an empty value clears the list.
LIST_FIELDS = ("contributing_factors",)
# Older names the fold still reads, as the field they became.
FIELD_ALIASES = {"affected_users": "users_affected"}
TIME_FIELDS = ("detected_at", "impact_started_at")  # incident fields holding a stored time
PRIORITIES = ("high", "medium", "low")

# Limits for anything that can arrive from another machine. A pasted stack trace is an
# entry: 64 KiB of text fits. The body holds the JSON of a few such values.
MAX_TEXT = 65_536
MAX_BODY_BYTES = 300_000

_UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_HLC_RE = r"[0-9]{13}\.[0-9]{5}"
# Fields in range; only days 29-31 still need a calendar (see valid_time). Years 1970-8999:
# the fold and the countdowns add durations to these times, and 9999-12-31 + 30 minutes
# raises OverflowError (a pulled record must not be able to crash every reader).
_TIME_RE = (
    r"(?:19[7-9][0-9]|[2-8][0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z"
)
_UUID = re.compile(f"^{_UUID_RE}\\Z")
_HLC = re.compile(f"^{_HLC_RE}\\Z")
_TIME = re.compile(f"^{_TIME_RE}\\Z")
# id, incident, stamp and time of a well-formed event, checked in one match (the fold's hot path).
_HEAD = re.compile(f"^{_UUID_RE}\n{_UUID_RE}\n{_HLC_RE}\n{_TIME_RE}\\Z")

# kind -> {key: (type, required)}
SCHEMAS: dict[str, dict[str, tuple[type, bool]]] = {
    "incident.declared": {
        "title": (str, True),
        "severity": (str, True),
        "impact": (str, False),
        "ic": (str, False),
        "role": (str, False),  # the role the one named in ic takes (default: Incident Commander)
        "detected_at": (str, False),
    },
    "incident.status": {"status": (str, True), "skipped": (list, False), "note": (str, False)},
    "incident.severity": {"severity": (str, True)},
    "incident.field": {"field": (str, True), "value": (str, True)},
    "incident.acknowledged": {},
    "incident.escalated": {"to": (str, True)},
    "role.assigned": {"role": (str, True), "person": (str, True)},
    # A pinned log line keeps its neighbours: lines_before / lines_after, one line each.
    "entry.logged": {
        "text": (str, True),
        "type": (str, True),
        "source": (str, False),
        "lines_before": (str, False),
        "lines_after": (str, False),
    },
    "entry.edited": {"target": (str, True), "text": (str, True), "type": (str, False)},
    "entry.deleted": {"target": (str, True)},
    "entry.restored": {"target": (str, True)},
    "update.posted": {"text": (str, True), "template": (str, False), "channel": (str, False)},
    "update.snoozed": {"minutes": (int, True), "reason": (str, True)},
    "action.added": {
        "text": (str, True),
        "owner": (str, False),
        "due": (str, False),
        "priority": (str, False),
        "entry": (str, False),
    },
    "action.done": {"target": (str, True)},
    "check.flipped": {"check": (str, True), "previous": (str, True), "current": (str, True), "reason": (str, False)},
    "command.ran": {"command": (str, True), "exit_code": (int, True), "output": (str, False), "runbook": (str, False)},
}
KINDS = tuple(SCHEMAS)
# How the fold splits an incident's events (see state.py): the head (what the incident is:
# status, severity, roles, fields, updates, action items), the entries people type and the
# events that change them, and events that are an entry by themselves.
HEAD_KINDS = frozenset(
    {
        "incident.declared",
        "incident.status",
        "incident.severity",
        "incident.field",
        "incident.acknowledged",
        "incident.escalated",
        "role.assigned",
        "update.posted",
        "update.snoozed",
        "action.added",
        "action.done",
    }
)
MODIFIER_KINDS = frozenset({"entry.edited", "entry.deleted", "entry.restored"})
SELF_ENTRY_KINDS = frozenset({"check.flipped", "command.ran"})
assert HEAD_KINDS | MODIFIER_KINDS | SELF_ENTRY_KINDS | {"entry.logged"} == set(KINDS)


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    incident: str
    hlc: str
    author: str
    kind: str
    at: str
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def order_key(self) -> tuple[str, str, str]:
        """Total order used by the fold: causal stamp, then author, then id."""
        return (self.hlc, self.author, self.id)

    @property
    def at_time(self) -> datetime:
        return parse_time(self.at)

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident": self.incident,
            "hlc": self.hlc,
            "author": self.author,
            "kind": self.kind,
            "at": self.at,
            "body": encode_body(self.body),
        }

    def canonical(self) -> str:
        """One line, stable key order: the form git diffs and the dump prints."""
        return json.dumps(
            {
                "id": self.id,
                "incident": self.incident,
                "hlc": self.hlc,
                "author": self.author,
                "kind": self.kind,
                "at": self.at,
                "body": self.body,
            },
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )


def new_id() -> str:
    """A random (version 4) UUID, as uuid.uuid4() gives it: made here because importing uuid
    (and the platform module it brings) was a tenth of `warroom log`'s own time."""
    value = int.from_bytes(os.urandom(16)) & ~(0xF000 << 64) & ~(0xC000 << 48) | (0x4000 << 64) | (0x8000 << 48)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def format_time(at: datetime) -> str:
    """UTC, millisecond precision, 'Z' suffix: sortable as text."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def encode_body(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def stored_body(text: str, event: Event) -> str:
    """The body to keep for `event`, decoded from the stored `text`: the text itself, unless it
    holds a JSON escape or a control character (then the event's inert body, encoded again).
    What the record and every copy written from it hold is what every reader decodes."""
    if "\\" in text or inert(text) is not text:
        return encode_body(event.body)
    return text


def from_row(row: dict[str, Any]) -> Event:
    """Decode a stored row. Raises ValueError when the body is not a JSON object."""
    return from_values(row["id"], row["incident"], row["hlc"], row["author"], row["kind"], row["at"], row["body"])


_new = object.__new__
_FIELDS = ("id", "incident", "hlc", "author", "kind", "at", "body")
assert tuple(f.name for f in fields(Event)) == _FIELDS, "from_values must set every field of Event"
_SLOTS = tuple(Event.__dict__[name].__set__ for name in _FIELDS)


def from_values(id: Any, incident: Any, hlc: Any, author: Any, kind: Any, at: Any, body: Any) -> Event:
    """from_row for the columns in table order: the store decodes 100k rows with this."""
    if isinstance(body, str):
        if len(body) > MAX_BODY_BYTES:
            raise ValueError("body too large")
        body = _decode_body(body)
    if type(body) is not dict:
        raise ValueError("body is not a JSON object")
    # Every value read from a record is made inert here, once: no field of any event can put
    # an escape sequence or a control character on a terminal, in a file or in the clipboard.
    for value in body.values():
        if type(value) is str:
            if inert(value) is not value:
                body = _inert_body(body)
                break
        elif type(value) is list or type(value) is dict:
            body = _inert_body(body)
            break
    author = inert(author) if type(author) is str else author
    # What Event(...) does, without the frozen dataclass's per-field object.__setattr__ (2x faster).
    event = _new(Event)
    s_id, s_incident, s_hlc, s_author, s_kind, s_at, s_body = _SLOTS
    s_id(event, str(id))
    s_incident(event, str(incident))
    s_hlc(event, str(hlc))
    s_author(event, str(author))
    s_kind(event, str(kind))
    s_at(event, str(at))
    s_body(event, body)
    return event


def _inert_body(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of the body with every string value made inert, however deep in lists and
    objects (the caller's dict is left alone). Keys are left as they are: only the schemas'
    keys are ever read, and those are plain."""
    return {key: _inert_value(value) for key, value in body.items()}


def _inert_value(value: Any) -> Any:
    if type(value) is str:
        return inert(value)
    if type(value) is list:
        return [_inert_value(item) for item in value]
    if type(value) is dict:
        return {key: _inert_value(item) for key, item in value.items()}
    return value


_DECODER = json.JSONDecoder()
_loads, _scan = _DECODER.decode, _DECODER.scan_once  # type: ignore[attr-defined]  # set by __init__


def _decode_body(text: str) -> Any:
    """json.loads, less its Python-level overhead (a third of the cost for small bodies)."""
    try:
        body, end = _scan(text, 0)  # the C scanner itself
    except StopIteration:
        return _loads(text)  # blank space first, or not JSON: the full decoder says which
    if end != len(text):
        return _loads(text)  # blank space after it, or extra data
    return body


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cycle collector while a batch (decode, fold, export) makes 100k objects that
    are not garbage: otherwise it runs over all of them again and again (a third of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def problem(event: Event) -> str | None:
    """Why this event cannot be folded, or None when it is well formed.

    Pulled records are untrusted: an unknown kind, a wrong type, an oversized
    text or a bad stamp is quarantined by the fold instead of crashing it.
    """
    kind = event.kind
    checks = _CHECKS.get(kind)
    if checks is None:
        return f"unknown kind {kind[:40]!r}"
    # Regexes, not parsers: the fold checks every event, 100k of them in well under a second.
    at = event.at
    if not _HEAD.match(f"{event.id}\n{event.incident}\n{event.hlc}\n{at}") or (at[8:10] > "28" and not valid_time(at)):
        if not _UUID.match(event.id) or not _UUID.match(event.incident):
            return "malformed id"
        if not _HLC.match(event.hlc):
            return "malformed hlc stamp"
        return "malformed time"
    if not event.author or len(event.author) > 200:
        return "bad author"
    body = event.body
    for key, typ, required, allowed in checks:
        value = body.get(key)
        if value is None:
            if required:
                return f"missing {key}"
            continue
        if type(value) is not typ and (typ is int and isinstance(value, bool) or not isinstance(value, typ)):
            return f"{key} should be {typ.__name__}"
        if typ is str and len(cast(str, value)) > MAX_TEXT:
            return f"{key} too long ({len(cast(str, value))} characters, at most {MAX_TEXT})"
        if allowed is not None and value not in allowed:
            return f"unknown {_ALLOWED_NAMES[key]} {cast(str, value)[:40]!r}"
    if kind in _MORE_CHECKS:
        return _more(kind, event, body)
    return None


_ALLOWED = {"status": frozenset(STATUSES), "type": frozenset(ENTRY_TYPES), "field": frozenset(INCIDENT_FIELDS)}
_ALLOWED_NAMES = {"status": "status", "type": "entry type", "field": "field"}
# kind -> ((key, type, required, allowed values or None), ...): SCHEMAS flattened for the loop above.
_CHECKS = {
    kind: tuple((key, typ, required, _ALLOWED.get(key)) for key, (typ, required) in schema.items())
    for kind, schema in SCHEMAS.items()
}
_MORE_CHECKS = frozenset({"incident.declared", "incident.field"})


def _more(kind: str, event: Event, body: dict[str, Any]) -> str | None:
    """The checks beyond one value's type and range, for the kinds that have them."""
    if kind == "incident.declared" and event.incident != event.id:
        return "declare event must open its own incident"
    if kind == "incident.field" and body["field"] in TIME_FIELDS and not valid_time(body["value"]):
        return f"{body['field']} is not a time"
    if kind == "incident.declared" and body.get("detected_at") and not valid_time(body["detected_at"]):
        return "detected_at is not a time"
    return None


def valid_time(text: str) -> bool:
    """A stored time as format_time writes it, and a real date (no month 13)."""
    if not isinstance(text, str) or not _TIME.match(text):
        return False
    if text[8:10] <= "28":
        return True
    try:
        datetime.fromisoformat(text[:-1])  # 2026-02-30
    except ValueError:
        return False
    return True
