"""The event kinds of the record and their encoding.

An event is immutable. `incident` is the id of the incident.declared event that
opened the incident (so a declare event's incident is its own id). `at` is the
wall time the event describes (a scribe may backdate), `hlc` orders events
causally across machines.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

UTC = timezone.utc

STATUSES = ("investigating", "identified", "monitoring", "resolved", "closed")
ENTRY_TYPES = ("note", "action", "decision", "finding")
INCIDENT_FIELDS = (
    "title", "impact", "root_cause", "resolution", "eta", "runbook",
    "affected_users", "summary", "went_well", "could_improve", "detected_at", "impact_started_at",
    "lessons",
)
TIME_FIELDS = ("detected_at", "impact_started_at")  # incident fields holding a stored time
PRIORITIES = ("high", "medium", "low")

# Limits for anything that can arrive from another machine.
MAX_TEXT = 16_000
MAX_BODY_BYTES = 64_000

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_HLC = re.compile(r"^\d{13}\.\d{5}\Z")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")

# kind -> {key: (type, required)}
SCHEMAS: dict[str, dict[str, tuple[type, bool]]] = {
    "incident.declared": {"title": (str, True), "severity": (str, True), "impact": (str, False),
                          "ic": (str, False), "detected_at": (str, False)},
    "incident.status": {"status": (str, True), "skipped": (list, False), "note": (str, False)},
    "incident.severity": {"severity": (str, True)},
    "incident.field": {"field": (str, True), "value": (str, True)},
    "incident.acknowledged": {},
    "role.assigned": {"role": (str, True), "person": (str, True)},
    "entry.logged": {"text": (str, True), "type": (str, True), "source": (str, False)},
    "entry.edited": {"target": (str, True), "text": (str, True), "type": (str, False)},
    "entry.deleted": {"target": (str, True)},
    "entry.restored": {"target": (str, True)},
    "update.posted": {"text": (str, True), "template": (str, False), "channel": (str, False)},
    "update.snoozed": {"minutes": (int, True), "reason": (str, True)},
    "action.added": {"text": (str, True), "owner": (str, False), "due": (str, False),
                     "priority": (str, False), "entry": (str, False)},
    "action.done": {"target": (str, True)},
    "check.flipped": {"check": (str, True), "previous": (str, True), "current": (str, True),
                      "reason": (str, False)},
    "command.ran": {"command": (str, True), "exit_code": (int, True), "output": (str, False),
                    "runbook": (str, False)},
}
KINDS = tuple(SCHEMAS)


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
        return {"id": self.id, "incident": self.incident, "hlc": self.hlc, "author": self.author,
                "kind": self.kind, "at": self.at, "body": encode_body(self.body)}

    def canonical(self) -> str:
        """One line, stable key order: the form git diffs and the dump prints."""
        return json.dumps(
            {"id": self.id, "incident": self.incident, "hlc": self.hlc, "author": self.author,
             "kind": self.kind, "at": self.at, "body": self.body},
            sort_keys=True, ensure_ascii=False, separators=(",", ":"),
        )


def new_id() -> str:
    return str(uuid.uuid4())


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


def from_row(row: dict[str, Any]) -> Event:
    """Decode a stored row. Raises ValueError when the body is not a JSON object."""
    body = row["body"]
    if isinstance(body, str):
        if len(body) > MAX_BODY_BYTES:
            raise ValueError("body too large")
        body = json.loads(body)
    if not isinstance(body, dict):
        raise ValueError("body is not a JSON object")
    return Event(id=str(row["id"]), incident=str(row["incident"]), hlc=str(row["hlc"]),
                 author=str(row["author"]), kind=str(row["kind"]), at=str(row["at"]), body=body)


def problem(event: Event) -> str | None:
    """Why this event cannot be folded, or None when it is well formed.

    Pulled records are untrusted: an unknown kind, a wrong type, an oversized
    text or a bad stamp is quarantined by the fold instead of crashing it.
    """
    schema = SCHEMAS.get(event.kind)
    if schema is None:
        return f"unknown kind {event.kind[:40]!r}"
    # Regexes, not parsers: the fold checks every event, 100k of them in well under a second.
    if not _UUID.match(event.id) or not _UUID.match(event.incident):
        return "malformed id"
    if not _HLC.match(event.hlc):
        return "malformed hlc stamp"
    if not valid_time(event.at):
        return "malformed time"
    if not event.author or len(event.author) > 200:
        return "bad author"
    if event.kind == "incident.declared" and event.incident != event.id:
        return "declare event must open its own incident"
    for key, (typ, required) in schema.items():
        value = event.body.get(key)
        if value is None:
            if required:
                return f"missing {key}"
            continue
        if typ is int and isinstance(value, bool) or not isinstance(value, typ):
            return f"{key} should be {typ.__name__}"
        if isinstance(value, str) and len(value) > MAX_TEXT:
            return f"{key} too long"
    body = event.body
    if event.kind == "incident.status" and body["status"] not in STATUSES:
        return f"unknown status {body['status'][:40]!r}"
    if event.kind in ("entry.logged", "entry.edited") and body.get("type", "note") not in ENTRY_TYPES:
        return "unknown entry type"
    if event.kind == "incident.field" and body["field"] not in INCIDENT_FIELDS:
        return f"unknown field {body['field'][:40]!r}"
    if event.kind == "incident.field" and body["field"] in TIME_FIELDS and not valid_time(body["value"]):
        return f"{body['field']} is not a time"
    if event.kind == "incident.declared" and body.get("detected_at") and not valid_time(body["detected_at"]):
        return "detected_at is not a time"
    return None


def valid_time(text: str) -> bool:
    """A stored time as format_time writes it, and a real date (no month 13)."""
    if not _TIME.match(text):
        return False
    try:
        datetime.fromisoformat(text[:-1])
    except ValueError:
        return False
    return True
