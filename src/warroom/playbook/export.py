"""The post-mortem, the incident log and the metrics (MTTA, MTTR, MTTD).

Text from the record is escaped so that no entry can change the document's
structure: it cannot open a heading, a list, a code fence, a table cell or raw
HTML. The output is CommonMark with GitHub tables.
"""

from __future__ import annotations

import errno
import os
import stat
import statistics
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from warroom.config import Config, SeverityLevel
from warroom.paths import DATA_DIR
from warroom.playbook.templates import fill, postmortem_due_at
from warroom.profiles import target_form
from warroom.record.events import format_time, gc_paused, parse_time
from warroom.record.model import Incident, State, duration_seconds, target_countdown, target_met
from warroom.text import durations
from warroom.text.markdown import md_block, md_cell, md_inline, placeholder, table, table_row


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


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def postmortem_due(incident: Incident, config: Config) -> str:
    level = config.severity.level(incident.severity)
    if level is None or level.postmortem == "optional":
        return ""
    due = postmortem_due_at(incident, level)
    return due.strftime("%Y-%m-%d %H:%M UTC") if due else level.postmortem


# --- the post-mortem -------------------------------------------------------


def _timeline_table(incident: Incident) -> str:
    entries = incident.timeline
    if not entries:
        return placeholder("the timeline")
    # The table of a 100k-event incident: rows written straight out, each author escaped once.
    lines = [table_row(["Time (UTC)", "Who", "Kind", "Entry"]), "|---|---|---|---|"]
    who: dict[str, str] = {}
    flagged = False
    for entry in entries:
        kind = entry.type
        if entry.auto:
            kind += f" ({entry.auto})"
        text = entry.text + (" (edited)" if len(entry.history) > 1 else "")
        if entry.source:
            text = f"[{entry.source}] {text}"
        author = who.get(entry.author)
        if author is None:
            author = who[entry.author] = md_cell(entry.author) or " "
        at = entry.at  # the fold let through only times as format_time writes them
        early = " ⚠" if at < incident.declared_at else ""
        flagged = flagged or bool(early)
        lines.append(f"| {at[:10]} {at[11:19]}{early} | {author} | {kind} | {md_cell(text) or ' '} |")
    if flagged:
        lines += [
            "",
            "⚠ stamped before the incident was declared: backdated with an explicit date, or "
            "by a clock that was wrong. Check these against other sources.",
        ]
    return "\n".join(lines)


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


def _roles_table(incident: Incident) -> str:
    rows = []
    for name, role in incident.roles.items():
        handovers = [h for h in role.history]
        held = ", ".join(f"{md_cell(h.person or 'nobody')} from {utc(h.at)}" for h in handovers)
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
        if incident.resolved_at:
            due = parse_time(incident.resolved_at) + timedelta(seconds=deadline.within)
            lines.append(f"- {md_inline(deadline.name)}: by {due.strftime('%Y-%m-%d %H:%M UTC')} ({within})")
        else:
            lines.append(f"- {md_inline(deadline.name)}: {within} after resolution")
    return "\n".join(lines)


def postmortem_values(incident: Incident, config: Config, now: datetime) -> dict[str, str]:
    level = config.severity.level(incident.severity)
    times = incident_times(incident)
    start = incident.detected_at or incident.declared_at
    duration = duration_seconds(start, incident.resolved_at)
    due = postmortem_due(incident, config)

    def field(name: str, what: str) -> str:
        return md_block(incident.field(name)) or placeholder(what)  # "" when nothing visible

    return {
        "incident_id": incident.short_id,
        "title": md_inline(incident.title),
        "date": parse_time(incident.declared_at).strftime("%Y-%m-%d"),
        "duration": durations.human(duration) if duration is not None else "ongoing",
        "severity": md_inline(incident.severity),
        "severity_label": md_inline(level.label if level else "unknown level"),
        "status": incident.status.capitalize(),
        "impact": md_inline(incident.impact) if incident.impact.strip() else placeholder("who was affected and how"),
        "affected_users": md_inline(incident.field("affected_users")) or placeholder("how many users"),
        "detected_at": utc(incident.detected_at) or "not recorded",
        "declared_at": utc(incident.declared_at),
        "acknowledged_at": utc(incident.acknowledged_at) or "not recorded",
        "mitigated_at": utc(incident.mitigated_at) or "not yet",
        "resolved_at": utc(incident.resolved_at) or "not yet",
        "ic": md_inline(incident.holder("Incident Commander") or "unassigned"),
        "roles_table": _roles_table(incident),
        "timeline_table": _timeline_table(incident),
        "root_cause": field("root_cause", "the root cause and contributing factors"),
        "resolution": field("resolution", "what fixed it"),
        "action_items_table": _actions_table(incident),
        "went_well": field("went_well", "what went well"),
        "could_improve": field("could_improve", "what could be improved"),
        "lessons": field("lessons", "lessons learned"),
        "resolve_target": resolve_target(incident, level, now),
        "deadlines_list": deadlines_list(incident, level),
        "postmortem_due": (
            due
            if due and due[0].isdigit()
            else (f"{due} (deadline set once resolved)" if due else "not required for this severity")
        ),
        "mtta": durations.human(times.mtta) if times.mtta is not None else "not known",
        "mttr": durations.human(times.mttr) if times.mttr is not None else "not resolved yet",
        "updates_list": _updates_list(incident),
        "generated_at": now.strftime("%Y-%m-%d %H:%M UTC"),
    }


def postmortem(incident: Incident, config: Config, now: datetime, template: str | None = None) -> str:
    if template is None:
        template = (DATA_DIR / "postmortem.md").read_text(encoding="utf-8")
    with gc_paused():
        return fill(template, postmortem_values(incident, config, now)).rstrip() + "\n"


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


# --- the report ------------------------------------------------------------


def report(state: State, config: Config) -> str:
    incidents = state.ordered
    rows = []
    for incident in incidents:
        times = incident_times(incident)
        due = postmortem_due(incident, config)
        rows.append(
            [
                parse_time(incident.declared_at).strftime("%Y-%m-%d"),
                incident.short_id,
                md_cell(incident.severity),
                md_cell(incident.title),
                durations.human(times.mttr) if times.mttr is not None else incident.status,
                md_cell(incident.field("root_cause") or "unknown"),
                ("due " + due if due and due[0].isdigit() else due) or "not required",
            ]
        )
    out = ["# Incident log", ""]
    out.append(
        table(["Date", "Incident", "Severity", "Description", "Duration", "Root cause", "Post-mortem"], rows)
        if rows
        else "No incidents recorded."
    )
    out += ["", "## Response metrics by severity", ""]
    metric_rows = []
    for severity in sorted({i.severity for i in incidents}, key=config.severity.rank):
        group = [i for i in incidents if i.severity == severity]
        group_times = [incident_times(i) for i in group]

        def cell(values: list[float | None]) -> str:
            mean = _mean(values)
            return durations.human(mean) if mean is not None else "n/a"

        metric_rows.append(
            [
                md_cell(severity),
                str(len(group)),
                cell([t.mtta for t in group_times]),
                cell([t.mttr for t in group_times]),
                cell([t.mttd for t in group_times]),
            ]
        )
    out.append(
        table(["Severity", "Incidents", "MTTA", "MTTR", "MTTD"], metric_rows)
        if metric_rows
        else "No incidents, no metrics."
    )
    open_items = [(i, a) for i in incidents for a in i.actions if not a.done]
    out += ["", "## Open action items", ""]
    if open_items:
        out.append(
            table(
                ["Incident", "Action", "Owner", "Due", "Priority", "Id"],
                [
                    [
                        i.short_id,
                        md_cell(a.text),
                        md_cell(a.owner or "unassigned"),
                        md_cell(a.due or "not set"),
                        md_cell(a.priority),
                        a.id[:8],
                    ]
                    for i, a in open_items
                ],
            )
        )
    else:
        out.append("None.")
    out += [
        "",
        "MTTA: detection to acknowledgement. MTTR: detection (or declaration) to resolution. "
        "MTTD: impact start to detection, where both are recorded.",
    ]
    return "\n".join(out) + "\n"
