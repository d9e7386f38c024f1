"""The post-mortem, the incident log and the metrics (MTTA, MTTR, MTTD).

Text from the record is escaped so that no entry can change the document's
structure: it cannot open a heading, a list, a code fence, a table cell or raw
HTML. The output is CommonMark with GitHub tables.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warroom.config import Config, SeverityLevel
from warroom.paths import DATA_DIR
from warroom.playbook import postmortem_timeline as story
from warroom.playbook.mermaid import gantt
from warroom.playbook.templates import fill, postmortem_due_at
from warroom.profiles import target_form
from warroom.record.events import format_time, gc_paused, parse_time
from warroom.record.model import Incident, after_resolution, duration_seconds, target_countdown, target_met
from warroom.record.writeup import POSTMORTEM_FIELDS
from warroom.text import durations
from warroom.text.markdown import md_block, md_cell, md_inline, placeholder, table


def utc(at: str) -> str:
    return parse_time(at).strftime("%Y-%m-%d %H:%M UTC") if at else ""


# --- metrics ---------------------------------------------------------------


@dataclass(frozen=True)
class Times:
    mtta: float | None
    mttr: float | None
    mttd: float | None


def incident_times(incident: Incident) -> Times:
    start = incident.detected_at or incident.declared_at
    ack = incident.acknowledged_at or incident.declared_at
    mtta = duration_seconds(start, ack) if (incident.acknowledged_at or incident.detected_at) else None
    mttr = duration_seconds(start, incident.resolved_at)
    mttd = duration_seconds(incident.field("impact_started_at"), incident.detected_at)
    return Times(mtta, mttr, mttd)


def postmortem_due(incident: Incident, config: Config) -> str:
    level = config.severity.level(incident.severity)
    if level is None or level.postmortem == "optional":
        return ""
    due = postmortem_due_at(incident, level)
    return due.strftime("%Y-%m-%d %H:%M UTC") if due else level.postmortem


# --- the post-mortem -------------------------------------------------------


def _actions_table(incident: Incident) -> str:
    if not incident.actions:
        return placeholder("action items, each with an owner and a due date")
    rows = [
        [
            md_cell(a.text),
            md_cell(a.owner or "unassigned"),
            md_cell(a.due or "not set"),
            md_cell(a.priority),
            "done" if a.done else "open",
        ]
        for a in incident.actions
    ]
    return table(["Action", "Owner", "Due", "Priority", "Status"], rows)


def _roles_table(incident: Incident, zone: story.Zone) -> str:
    first_day = incident.declared_at[:10]
    rows = []
    for name, role in incident.roles.items():
        handovers = [h for h in role.history]
        held = ", ".join(
            f"{md_cell(h.person or 'nobody')} from {story.day_time(h.at, first_day, zone)}" for h in handovers
        )
        rows.append([md_cell(name), held or "unassigned"])
    return table(["Role", "Held by"], rows)


def _updates_list(incident: Incident) -> str:
    if not incident.updates:
        return placeholder("status updates sent (none were recorded)")
    return "\n".join(
        f"- {utc(u.at)}, {md_inline(u.template or u.channel or 'update')}: {md_inline(u.text)}"
        for u in incident.updates
    )


def resolve_target(incident: Incident, level: SeverityLevel | None, now: datetime) -> str:
    """The level's resolve_within, and whether it was met: `1h: met (resolved in 42m)`."""
    if level is None or level.resolve_within is None:
        return "none for this severity"
    target = target_form(level.resolve_within)
    met = target_met(incident, level.resolve_within, incident.resolved_at)
    taken = duration_seconds(incident.declared_at, incident.resolved_at or format_time(now))
    if met is None:
        left = target_countdown(incident, level.resolve_within, "", now)
        due = f"due {utc(format_time(left.due_at))}" if left else ""
        return f"{target}: not resolved yet, {due}".rstrip(", ")
    return f"{target}: {'met' if met else 'missed'} (resolved {durations.human(taken)} after declaration)"


def deadlines_list(incident: Incident, level: SeverityLevel | None) -> str:
    """The level's post-incident deadlines, each dated from the resolution once there is one."""
    if level is None or not level.deadlines:
        return ""
    lines = ["Deadlines after resolution:", ""]
    for deadline in level.deadlines:
        within = durations.config_form(deadline.within)
        due = after_resolution(incident, deadline.within)
        if due is not None:
            lines.append(f"- {md_inline(deadline.name)}: by {due.strftime('%Y-%m-%d %H:%M UTC')} ({within})")
        else:
            lines.append(f"- {md_inline(deadline.name)}: {within} after resolution")
    return "\n".join(lines)


def postmortem_values(
    incident: Incident, config: Config, now: datetime, zone: story.Zone = story.UTC_ZONE, diagrams: bool = True
) -> dict[str, str]:
    level = config.severity.level(incident.severity)
    times = incident_times(incident)
    start = incident.detected_at or incident.declared_at
    duration = duration_seconds(start, incident.resolved_at)
    due = postmortem_due(incident, config)
    entries = incident.timeline  # sorted once, read three times
    story_md, every_md = story.timeline_tables(incident, zone, format_time(now), entries)

    def field(name: str, what: str) -> str:
        return md_block(incident.field(name)) or placeholder(what)  # "" when nothing visible

    return written_values(incident, config) | {
        "incident_id": incident.short_id,
        "title": md_inline(incident.title),
        "date": parse_time(incident.declared_at).strftime("%Y-%m-%d"),
        "duration": durations.human(duration) if duration is not None else "ongoing",
        "severity": md_inline(incident.severity),
        "severity_label": md_inline(level.label if level else "unknown level"),
        "status": incident.status.capitalize(),
        "impact": md_inline(incident.impact) if incident.impact.strip() else placeholder("who was affected and how"),
        "detected_at": utc(incident.detected_at) or "not recorded",
        "declared_at": utc(incident.declared_at),
        "acknowledged_at": utc(incident.acknowledged_at) or "not recorded",
        "mitigated_at": utc(incident.mitigated_at) or "not yet",
        "resolved_at": utc(incident.resolved_at) or "not yet",
        "ic": md_inline(incident.holder("Incident Commander") or "unassigned"),
        "roles_table": _roles_table(incident, zone),
        "key_times_table": story.key_times_table(incident, zone),
        "timeline_table": story_md,
        "timeline_diagram": gantt(incident, until=format_time(now)) if diagrams else "",
        "events_table": every_md,
        "log_excerpts": story.excerpts(incident, zone, entries),
        "action_items_table": _actions_table(incident),
        "lessons": field("lessons", "lessons learned"),
        "resolve_target": resolve_target(incident, level, now),
        "deadlines_list": deadlines_list(incident, level),
        "postmortem_due": (
            due
            if due and due[0].isdigit()
            else (f"{due} (deadline set once resolved)" if due else "not required for this severity")
        ),
        "mttd": durations.human(times.mttd) if times.mttd is not None else "not known (no impact start recorded)",
        "mtta": durations.human(times.mtta) if times.mtta is not None else "not known",
        "mttr": durations.human(times.mttr) if times.mttr is not None else "not resolved yet",
        "updates_list": _updates_list(incident),
        "generated_at": now.strftime("%Y-%m-%d %H:%M UTC"),
    }


# --- the written sections and the contacts ------------------------------------


def written_values(incident: Incident, config: Config) -> dict[str, str]:
    """The post-mortem's written sections (record/writeup.py), escaped, and the war room's
    contacts: a field nobody wrote yet is a visible prompt saying what belongs there."""
    values: dict[str, str] = {}
    for written in POSTMORTEM_FIELDS:
        if written.is_list:
            items = [md_inline(item) for item in incident.items(written.name)]
            text = "\n".join(f"- {item}" for item in items if item)
        else:
            text = md_block(incident.field(written.name))
        values[written.name] = text or placeholder(written.asks)
    values["affected_users"] = values["users_affected"]  # the older placeholder's name
    values["contacts_table"] = contacts_table(config)
    return values


def contacts_table(config: Config) -> str:
    """Who to call, from the local warroom.toml: text escaped like any other (it is shared)."""
    if not config.contacts:
        return "No contacts in warroom.toml ([[contact]] with role, name and reach)."
    rows = [[md_cell(c.role), md_cell(c.name), md_cell(c.reach or "not given")] for c in config.contacts]
    return table(["Role", "Name", "How to reach"], rows)


def postmortem(
    incident: Incident,
    config: Config,
    now: datetime,
    template: str | None = None,
    zone: story.Zone = story.UTC_ZONE,
    diagrams: bool = True,
) -> str:
    """The markdown post-mortem; times in UTC and in the reader's `zone`."""
    if template is None:
        template = (DATA_DIR / "postmortem.md").read_text(encoding="utf-8")
    if not diagrams:  # no gap where the diagram was
        template = template.replace("{{timeline_diagram}}\n\n", "")
    with gc_paused():
        return fill(template, postmortem_values(incident, config, now, zone, diagrams)).rstrip() + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write through a temp file and rename: never a half-written export. Only ever replaces
    a regular file: renaming over /dev/null or a pipe would put a file in its place."""
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise OSError(errno.EPERM, "not a regular file", str(path))
    made = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except BaseException:
        _unmake(path.parent, made)
        raise
    try:
        # mkstemp makes the file 0600; an export is for sharing: the mode a plain open() gives.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        _unmake(path.parent, made)
        raise


def _unmake(folder: Path, made: bool) -> None:
    """A failed write leaves no trace: not even the folder it made (when still empty)."""
    if made:
        try:
            folder.rmdir()
        except OSError:
            pass


def _umask() -> int:
    try:  # Linux shows it without changing it (os.umask would, for every thread)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def default_export_path(incident: Incident, config: Config) -> Path:
    return config.root / "exports" / f"{incident.short_id}-postmortem.md"
