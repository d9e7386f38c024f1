"""The on-call handoff message: what the outgoing on-call tells the incoming one about the
last days (incidents by severity, the notable ones, open action items) and what to watch.

Filled from the incidents' heads into the war room's `oncall-handoff` template (the bundled
one in data/templates/ unless the war room has its own). Plain text for a chat message: the
record's text is made inert on the way in and printed through the CLI's clean()."""

from __future__ import annotations

from datetime import datetime, timedelta

from warroom.config import Config
from warroom.playbook.templates import NO_WAR_ROOM_LINK, bullets, fill, load_template, strip_comment
from warroom.record.events import parse_time
from warroom.record.model import Incident, State, duration_seconds
from warroom.text import durations

HANDOFF_TEMPLATE = "oncall-handoff"
# The most severe levels of the profile are always notable; so is anything not yet closed.
NOTABLE_LEVELS = 2


def handoff_values(state: State, config: Config, now: datetime, since: float) -> dict[str, str]:
    start = now - timedelta(seconds=since)
    recent = [i for i in state.ordered if parse_time(i.declared_at) >= start]
    unfinished = [i for i in state.ordered if i.status != "closed"]
    counts: dict[str, int] = {}
    for incident in recent:
        counts[incident.severity] = counts.get(incident.severity, 0) + 1
    by_severity = ", ".join(f"{severity}: {counts[severity]}" for severity in sorted(counts, key=config.severity.rank))
    notable = [i for i in recent if config.severity.rank(i.severity) < NOTABLE_LEVELS or i.status != "closed"]
    open_actions = [(incident, item) for incident in state.ordered for item in incident.actions if not item.done]
    today = now.strftime("%Y-%m-%d")
    watch = [f"{i.short_id} ({i.status}, not closed yet): {i.title}" for i in unfinished]
    watch += [
        f"overdue since {item.due}: {item.text} ({incident.short_id}, {item.owner or 'no owner'})"
        for incident, item in open_actions
        if item.due and item.due < today
    ]
    return {
        "week_of": start.strftime("%Y-%m-%d"),
        "since": durations.config_form(since),
        "now": now.strftime("%Y-%m-%d %H:%M UTC"),
        "incident_count": str(len(recent)),
        "incidents_by_severity": by_severity or "none",
        "notable": bullets([_incident_line(i) for i in notable], "nothing notable"),
        "open_actions": bullets(
            [
                f"{item.text} ({incident.short_id}; {item.owner or 'no owner'}; due {item.due or 'not set'})"
                for incident, item in open_actions
            ],
            "none open",
        ),
        "watch_items": bullets(watch, "nothing carried over"),
        "contacts": bullets(
            [f"{c.role}: {c.name}" + (f" ({c.reach})" if c.reach else "") for c in config.contacts],
            "no contacts in warroom.toml",
        ),
        "war_room_link": config.war_room_link or NO_WAR_ROOM_LINK,
    }


def _incident_line(incident: Incident) -> str:
    took = duration_seconds(incident.detected_at or incident.declared_at, incident.resolved_at)
    line = f"{incident.short_id} {incident.severity} {incident.title}: {incident.status}"
    line += f", {durations.human(took)}" if took is not None else ", still running"
    cause = incident.field("root_cause")
    if cause:
        line += f"; cause: {cause.splitlines()[0]}"
    return line


def handoff(state: State, config: Config, now: datetime, since: float) -> str:
    text = strip_comment(load_template(HANDOFF_TEMPLATE, config))
    return fill(text, handoff_values(state, config, now, since))
