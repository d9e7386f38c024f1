"""The record as data: incidents as JSON that validates against data/schema/incident-v1.json.

Field names follow what common incident tools' import APIs take (id, title, severity, status,
created_at, resolved_at, timeline entries with kind, author, at and text, roles, updates,
action_items), so a small adapter can feed them. Times are UTC, ISO 8601 with a Z, as the
record keeps them; a time not known is null; durations are whole seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from warroom.config import Config
from warroom.paths import DATA_DIR
from warroom.playbook.export import incident_times, postmortem_due
from warroom.playbook.postmortem_timeline import check_stories, span_seconds
from warroom.record.events import INCIDENT_FIELDS, TIME_FIELDS, format_time
from warroom.record.model import Entry, Incident, duration_seconds
from warroom.text.sanitize import inert, redact

SCHEMA_VERSION = 1
SCHEMA_PATH = DATA_DIR / "schema" / "incident-v1.json"
SCHEMA_ID = "https://warroom.invalid/schema/incident-v1.json"
# The fields the post-mortem writes; the incident's own (title, impact) and times are apart.
POSTMORTEM_FIELDS = tuple(f for f in INCIDENT_FIELDS if f not in ("title", "impact", *TIME_FIELDS))


def schema_text() -> str:
    return SCHEMA_PATH.read_text(encoding="utf-8")


def export_json(incidents: Iterable[Incident], config: Config, now: datetime) -> str:
    """The document: schema version, when it was made, and each incident whole."""
    document = {
        "schema_version": SCHEMA_VERSION,
        "$schema": SCHEMA_ID,
        "generator": "warroom",
        "generated_at": format_time(now),
        "incidents": [incident_data(incident, config, now) for incident in incidents],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _time(at: str) -> str | None:
    return at or None


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def _text(text: str) -> str:
    """Inert (what the record reads back is already; an incident folded in memory may not be)
    and without secrets (a record written before redaction on the way in)."""
    return redact(inert(text))


def incident_data(incident: Incident, config: Config, now: datetime) -> dict[str, Any]:
    level = config.severity.level(incident.severity)
    times = incident_times(incident)
    start = incident.detected_at or incident.declared_at
    until = incident.resolved_at or format_time(now)
    due = postmortem_due(incident, config)
    return {
        "id": incident.id,
        "short_id": incident.short_id,
        "title": _text(incident.title),
        "severity": _text(incident.severity),
        "severity_label": level.label if level else None,
        "status": incident.status,
        "impact": _text(incident.impact),
        "created_by": _text(incident.author),
        "created_at": incident.declared_at,
        "impact_started_at": _time(incident.field("impact_started_at")),
        "detected_at": _time(incident.detected_at),
        "acknowledged_at": _time(incident.acknowledged_at),
        "identified_at": _time(incident.identified_at),
        "mitigated_at": _time(incident.mitigated_at),
        "resolved_at": _time(incident.resolved_at),
        "closed_at": _time(incident.closed_at),
        "postmortem": {name: _text(incident.field(name)) for name in POSTMORTEM_FIELDS if incident.field(name)},
        "postmortem_due_at": due if due[:1].isdigit() else None,
        "severity_changes": [{"at": at, "severity": _text(sev)} for at, sev in incident.severity_history],
        "roles": [
            {
                "role": _text(role.name),
                "person": _text(role.person) or None,
                "since": _time(role.since),
                "handovers": [
                    {"person": _text(change.person) or None, "at": change.at, "by": _text(change.author)}
                    for change in role.history
                ],
            }
            for role in incident.roles.values()
        ],
        "timeline": [timeline_item(entry) for entry in incident.timeline],
        "updates": [
            {
                "id": update.id,
                "at": update.at,
                "author": _text(update.author),
                "text": _text(update.text),
                "template": _text(update.template) or None,
                "channel": _text(update.channel) or None,
            }
            for update in incident.updates
        ],
        "action_items": [
            {
                "id": item.id,
                "text": _text(item.text),
                "owner": _text(item.owner) or None,
                "due": _text(item.due) or None,
                "priority": _text(item.priority),
                "status": "done" if item.done else "open",
                "created_at": item.at,
                "created_by": _text(item.author),
                "completed_at": _time(item.done_at),
            }
            for item in incident.actions
        ],
        "checklist": [
            {"item": _text(item), "status": _checklist_status(incident, item)}
            for item in dict.fromkeys([*config.checklist, *incident.skipped_checklist])
        ],
        "check_flips": [
            {
                "at": flip.at,
                "check": _text(flip.check),
                "previous": _text(flip.previous),
                "current": _text(flip.current),
                "reason": _text(flip.reason) or None,
            }
            for flip in sorted(incident.flips, key=lambda f: f.at)
        ],
        "checks": [
            {
                "check": _text(story.check),
                "flips": story.flips,
                "spans": [
                    {
                        "state": _text(span.state),
                        "start": span.start,
                        "end": _time(span.end),
                        "seconds": round(span_seconds(span, until)),
                    }
                    for span in story.spans
                ],
            }
            for story in check_stories(incident.flips)
        ],
        "metrics": {
            "time_to_acknowledge_seconds": _seconds(times.mtta),
            "time_to_resolve_seconds": _seconds(times.mttr),
            "time_to_detect_seconds": _seconds(times.mttd),
            "duration_seconds": _seconds(duration_seconds(start, incident.resolved_at)),
            "events": incident.event_count,
        },
    }


def _checklist_status(incident: Incident, item: str) -> str:
    if incident.status != "closed":
        return "pending"
    return "skipped" if item in incident.skipped_checklist else "done"


def timeline_item(entry: Entry) -> dict[str, Any]:
    """kind: what a person typed (note, action, decision, finding), or what wrote the row
    itself (declared, status, severity, role, ack, update, action_item, command, check, field,
    snooze, pin)."""
    kind = entry.auto or entry.type
    if entry.auto == "action":
        kind = "action_item"
    item: dict[str, Any] = {
        "id": entry.id,
        "kind": kind,
        "type": entry.type,
        "automatic": bool(entry.auto) and entry.auto != "pin",
        "author": _text(entry.author),
        "at": entry.at,
        "text": _text(entry.text),
        "edited": entry.edited,
    }
    if entry.source:
        item["source"] = _text(entry.source)
        item["lines_before"] = [_text(line) for line in entry.lines_before.split("\n") if line]
        item["lines_after"] = [_text(line) for line in entry.lines_after.split("\n") if line]
    return item
