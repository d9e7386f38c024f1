"""Communication templates: `{{name}}` placeholders filled from the incident state.

An unknown placeholder is left visible as written (never a crash), so a typo in a
war room's own template shows up in the composer instead of vanishing.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from warroom.config import Config, SeverityLevel
from warroom.paths import DATA_DIR
from warroom.record.events import parse_time
from warroom.record.model import Incident, next_update_due
from warroom.record.writeup import WRITTEN_FIELDS, not_written
from warroom.text import durations

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
TEMPLATE_NAMES = (
    "initial-alert",
    "internal-update",
    "statuspage-investigating",
    "statuspage-identified",
    "statuspage-monitoring",
    "statuspage-resolved",
    "email-detected",
    "email-resolved",
    "all-clear",
    "handoff",
    "handover-brief",
    "oncall-handoff",
)
HANDOVER_BRIEF = "handover-brief"  # offered on a role handover, not among the status updates
# Templates about the rota, not one incident: `warroom handoff` fills them, the composer skips them.
NOT_INCIDENT_TEMPLATES = frozenset({"oncall-handoff"})
# What an update says for a field nobody wrote yet, where a plain default is true; every other
# written field shows its not-written prompt, which the composer and `warroom update` warn about.
FIELD_DEFAULTS = {
    "root_cause": "under investigation",
    "resolution": "in progress",
    "workaround": "none known yet",
    "help_needed": "none right now",
}
NO_WAR_ROOM_LINK = "(no war_room_link in warroom.toml)"
PHASE_TEMPLATE = {
    "investigating": "statuspage-investigating",
    "identified": "statuspage-identified",
    "monitoring": "statuspage-monitoring",
    "resolved": "statuspage-resolved",
    "closed": "all-clear",
}


def fill(text: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    return PLACEHOLDER.sub(replace, text)


def unknown_placeholders(text: str, values: dict[str, str]) -> list[str]:
    return sorted({m.group(1) for m in PLACEHOLDER.finditer(text) if m.group(1) not in values})


def unfilled(text: str) -> list[str]:
    """What a message about to be posted still lacks: `{{placeholders}}` left as written (unknown
    names, typos) and written fields still showing their not-written prompt. Read from the final
    text, so an edit in the composer that fills one in counts."""
    found = [f"{{{{{m.group(1)}}}}}" for m in PLACEHOLDER.finditer(text)]
    found += [written.name for written in WRITTEN_FIELDS if not_written(written) in text]
    if NO_WAR_ROOM_LINK in text:
        found.append("war_room_link")
    return list(dict.fromkeys(found))


def unfilled_hint(missing: list[str]) -> str:
    """One line saying what is not filled in and how to fill it: the composer and `update` say the same."""
    how = "`warroom set FIELD VALUE` (or P in the console) writes a field"
    if "war_room_link" in missing:
        how += "; war_room_link is a key of warroom.toml"
    if any(name.startswith("{{") for name in missing):
        how += "; a {{name}} left as written is not a placeholder warroom knows"
    return f"not filled in yet: {', '.join(missing)}. {how}"


def written_values(incident: Incident) -> dict[str, str]:
    """Every written field as a placeholder's value (record/writeup.py); a list as bullets."""
    values: dict[str, str] = {}
    for written in WRITTEN_FIELDS:
        if written.is_list:
            items = incident.items(written.name)
            text = "\n".join(f"- {item}" for item in items)
        else:
            text = incident.field(written.name)
        values[written.name] = text or FIELD_DEFAULTS.get(written.name) or not_written(written)
    values["affected_users"] = values["users_affected"]  # the older placeholder's name
    return values


def hhmm(at: str | datetime) -> str:
    if not at:
        return ""
    when = parse_time(at) if isinstance(at, str) else at
    return when.strftime("%H:%M UTC")


def bullets(lines: list[str], empty: str) -> str:
    return "\n".join(f"- {line}" for line in lines) if lines else f"- {empty}"


def postmortem_due_at(incident: Incident, level: SeverityLevel | None) -> datetime | None:
    """When the post-mortem is due: the severity's `postmortem_within` after resolution (None
    while unresolved, or when the severity sets no deadline)."""
    if level is None or not level.postmortem_within or not incident.resolved_at:
        return None
    return parse_time(incident.resolved_at) + timedelta(seconds=level.postmortem_within)


def values_for(incident: Incident, config: Config, now: datetime, author: str = "") -> dict[str, str]:
    """Every placeholder a template may use, from the folded state."""
    level = config.severity.level(incident.severity)
    start = incident.detected_at or incident.declared_at
    end = incident.resolved_at or None
    elapsed = ((parse_time(end) if end else now) - parse_time(start)).total_seconds()
    timeline = incident.timeline
    actions = [e.text for e in timeline if e.type == "action" and not e.auto][-3:]
    findings = [(e.text.splitlines() or [""])[0] for e in timeline if e.type == "finding"][-3:]
    next_update = ""
    if level and level.update_every and incident.open:  # written for posting now: one cadence on
        next_update = hhmm(next_update_due(now, level.update_every))
    due = postmortem_due_at(incident, level)
    postmortem_due = due.strftime("%Y-%m-%d %H:%M UTC") if due else ""
    roles = [f"{name}: {role.person or 'unassigned'}" for name, role in incident.roles.items()]
    open_actions = [
        f"{a.text} ({a.owner or 'no owner'}, due {a.due or 'no date'})" for a in incident.actions if not a.done
    ]
    return written_values(incident) | {
        "incident_id": incident.short_id,
        "title": incident.title,
        "severity": incident.severity,
        "severity_label": level.label if level else incident.severity,
        "status": incident.status.capitalize(),
        "impact": incident.impact or "Under assessment",
        "started_at": hhmm(start),
        "elapsed": durations.human(elapsed),
        "duration": durations.human(elapsed),
        "ic": incident.holder("Incident Commander") or "unassigned",
        "tech_lead": incident.holder("Tech Lead") or "unassigned",
        "comms_lead": incident.holder("Communications Lead") or "unassigned",
        "scribe": incident.holder("Scribe") or "unassigned",
        "roles": bullets(roles, "no roles assigned"),
        "latest_actions": bullets(actions, "none recorded yet"),
        "latest_findings": bullets(findings, "none recorded yet"),
        "open_actions": bullets(open_actions, "none open"),
        "next_update_at": next_update or "when there is news",
        "eta": incident.field("eta") or "not yet known",
        "now": hhmm(now),
        "author": author,
        "runbook": incident.field("runbook") or "none",
        "war_room_link": config.war_room_link or NO_WAR_ROOM_LINK,
        "postmortem_due": postmortem_due or "not scheduled",
    }


def template_dirs(config: Config | None) -> list[Path]:
    """The war room's own templates first, the bundled ones as fallback."""
    dirs = []
    if config is not None:
        dirs.append(config.templates_dir)
    dirs.append(DATA_DIR / "templates")
    return dirs


def available(config: Config | None) -> list[str]:
    names: dict[str, None] = {}
    for folder in template_dirs(config):
        if folder.is_dir():
            for path in sorted(folder.glob("*.md")):
                if path.stem not in NOT_INCIDENT_TEMPLATES:
                    names.setdefault(path.stem, None)
    return list(names)


def load_template(name: str, config: Config | None) -> str:
    for folder in template_dirs(config):
        path = folder / f"{name}.md"
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    raise FileNotFoundError(f"no template {name!r} in {', '.join(str(d) for d in template_dirs(config))}")


def strip_comment(text: str) -> str:
    """Drop the leading <!-- purpose --> line: it guides the writer, it is not posted."""
    lines = text.splitlines()
    while lines and lines[0].lstrip().startswith("<!--"):
        end = next((i for i, line in enumerate(lines) if "-->" in line), 0)
        lines = lines[end + 1 :]
    return "\n".join(lines).strip() + "\n"


def render(name: str, incident: Incident, config: Config, now: datetime, author: str = "") -> str:
    return fill(strip_comment(load_template(name, config)), values_for(incident, config, now, author))


def for_phase(status: str) -> str:
    return PHASE_TEMPLATE.get(status, "internal-update")
