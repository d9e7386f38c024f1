"""The post-mortem's picture: a Mermaid gantt of the phases, the key moments and each check's
time away from "up". GitHub and most wikis draw a ```mermaid block in markdown.

Every line is one of the grammar's few forms, and record text only ever follows a fixed word
("title Incident ...", "section Check ..."): an incident titled "section x" cannot open a
section. What could end a name or a line (`:`, `#`, `;`, line breaks, backticks, markup) is
taken out of record text (see mermaid_text).
"""

from __future__ import annotations

import re

from warroom.playbook.postmortem_timeline import check_stories
from warroom.record.events import parse_time
from warroom.record.model import Incident

DATE_FORMAT = "YYYY-MM-DD HH:mm:ss"
_UNSAFE = re.compile(r"[^\w .,()/+@=-]")  # letters, digits and a few harmless marks stay
_SPACES = re.compile(r"\s+")
MAX_NAME = 60


def mermaid_text(text: str) -> str:
    """Record text made safe inside a gantt line: only letters, digits, spaces and `.,()/+@=-_`."""
    cleaned = _SPACES.sub(" ", _UNSAFE.sub(" ", text)).strip()
    if len(cleaned) > MAX_NAME:
        cleaned = cleaned[: MAX_NAME - 3].rstrip() + "..."
    return cleaned or "unnamed"


def _date(at: str) -> str:
    return parse_time(at).strftime("%Y-%m-%d %H:%M:%S")


def gantt(incident: Incident, until: str) -> str:
    """The ```mermaid block for `incident`; open phases and spans end at `until`."""
    end = incident.closed_at or incident.resolved_at or until
    spans_end = incident.resolved_at or until  # as the timeline's check summary counts them
    lines = [
        "gantt",
        f"    title Incident {mermaid_text(incident.short_id)} {mermaid_text(incident.title)} (UTC)",
        f"    dateFormat {DATE_FORMAT}",
        "    axisFormat %H:%M",
        "    section Phases",
    ]
    phases = [
        ("Investigating", incident.declared_at),
        ("Identified", incident.identified_at),
        ("Monitoring", incident.mitigated_at if incident.mitigated_at != incident.resolved_at else ""),
        ("Resolved", incident.resolved_at),
    ]
    known = sorted(((at, name) for name, at in phases if at), key=lambda pair: pair[0])
    for index, (start, name) in enumerate(known):
        if name == "Resolved":
            if incident.closed_at and incident.closed_at > start:
                lines.append(f"    Resolved :done, p{index}, {_date(start)}, {_date(incident.closed_at)}")
            else:
                lines.append(f"    Resolved :milestone, p{index}, {_date(start)}, 0m")
            continue
        stop = known[index + 1][0] if index + 1 < len(known) else max(end, start)
        tag = "active" if index + 1 == len(known) and incident.open else "done"
        lines.append(f"    {name} :{tag}, p{index}, {_date(start)}, {_date(stop)}")
    lines.append("    section Key moments")
    moments = [
        ("Impact started", incident.field("impact_started_at")),
        ("Detected", incident.detected_at),
        ("Declared", incident.declared_at),
        ("Acknowledged", incident.acknowledged_at),
    ]
    moments += [(f"Severity {mermaid_text(sev)}", at) for at, sev in incident.severity_history[1:]]
    moments.append(("Mitigated", incident.mitigated_at))
    for index, (name, at) in enumerate(sorted(((n, a) for n, a in moments if a), key=lambda pair: pair[1])):
        lines.append(f"    {name} :milestone, m{index}, {_date(at)}, 0m")
    for number, story in enumerate(check_stories(incident.flips)):
        if not story.spans:
            continue
        lines.append(f"    section Check {mermaid_text(story.check)}")
        for index, span in enumerate(story.spans):
            stop = span.end or max(spans_end, span.start)
            name, tag = ("Down", "crit") if span.state == "down" else ("Degraded", "active")
            if span.state not in ("down", "degraded"):
                name = "Not up"
            lines.append(f"    {name} :{tag}, c{number}s{index}, {_date(span.start)}, {_date(stop)}")
    return "```mermaid\n" + "\n".join(lines) + "\n```"
