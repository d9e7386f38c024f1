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
)
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


def hhmm(at: str | datetime) -> str:
    if not at:
        return ""
    when = parse_time(at) if isinstance(at, str) else at
    return when.strftime("%H:%M UTC")


def _bullets(lines: list[str], empty: str) -> str:
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
    return {
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
        "roles": _bullets(roles, "no roles assigned"),
        "latest_actions": _bullets(actions, "none recorded yet"),
        "latest_findings": _bullets(findings, "none recorded yet"),
        "next_update_at": next_update or "when there is news",
        "eta": incident.field("eta") or "not yet known",
        "now": hhmm(now),
        "author": author,
        "runbook": incident.field("runbook") or "none",
        "root_cause": incident.field("root_cause") or "under investigation",
        "resolution": incident.field("resolution") or "in progress",
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
