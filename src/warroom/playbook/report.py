"""`warroom report`: the incident log, response metrics and the action items across incidents.

Each metric shows its mean, median and 90th percentile: incident durations are skewed (one
long outage drags the mean far from the usual case), so the mean alone misleads. Grouped by
severity, or by month with the count of incidents each month.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from warroom.config import Config
from warroom.playbook.export import incident_times, postmortem_due
from warroom.record.events import parse_time
from warroom.record.model import Incident, State
from warroom.text import durations
from warroom.text.markdown import md_cell, table


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (0..1) of `values`, linear between the two nearest ranks (the
    'inclusive' method: the median of [a, b] is their mean, p90 of one value is that value)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = share * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: list[float | None]) -> str:
    """'mean 15m · median 12m · p90 40m' of the known values, or 'n/a'."""
    known = [v for v in values if v is not None]
    if not known:
        return "n/a"
    mean, median, p90 = statistics.fmean(known), percentile(known, 0.5), percentile(known, 0.9)
    return f"{durations.human(mean)} · {durations.human(median)} · {durations.human(p90)}"


def _month(incident: Incident) -> str:
    return incident.declared_at[:7]  # stored times are YYYY-MM-DDTHH:MM:SS.mmmZ


def metrics_table(groups: dict[str, list[Incident]], first: str) -> str:
    rows = []
    for name, group in groups.items():
        times = [incident_times(i) for i in group]
        rows.append(
            [
                md_cell(name),
                str(len(group)),
                spread([t.mtta for t in times]),
                spread([t.mttr for t in times]),
                spread([t.mttd for t in times]),
            ]
        )
    if not rows:
        return "No incidents, no metrics."
    headers = [first, "Incidents", *(f"{name} (mean · median · p90)" for name in ("MTTA", "MTTR", "MTTD"))]
    return table(headers, rows)


def report(state: State, config: Config, by: str = "severity") -> str:
    incidents = state.ordered
    out = ["# Incident log", "", _log_table(incidents, config)]
    key: Callable[[Incident], str]
    if by == "month":
        out += ["", "## Response metrics by month", ""]
        key, order = _month, sorted({_month(i) for i in incidents})
        first = "Month"
    else:
        out += ["", "## Response metrics by severity", ""]
        key, order = (lambda i: i.severity), sorted({i.severity for i in incidents}, key=config.severity.rank)
        first = "Severity"
    groups: dict[str, list[Incident]] = {name: [] for name in order}
    for incident in incidents:
        groups[key(incident)].append(incident)
    out.append(metrics_table(groups, first))
    out += ["", "## Action items", "", _completion(incidents), ""]
    open_items = [(i, a) for i in incidents for a in i.actions if not a.done]
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
        out.append("No open action items.")
    out += [
        "",
        "MTTA: detection (or declaration) to acknowledgement. MTTR: detection (or declaration) to "
        "resolution. MTTD: impact start to detection, where both are recorded. Each as mean · median "
        "· 90th percentile: nine incidents in ten took no longer than the p90.",
    ]
    return "\n".join(out) + "\n"


def _completion(incidents: list[Incident]) -> str:
    items = [a for i in incidents for a in i.actions]
    if not items:
        return "Action-item completion: no action items recorded."
    done = sum(1 for a in items if a.done)
    return f"Action-item completion: {done} of {len(items)} done ({100 * done // len(items)}%)."


def _log_table(incidents: list[Incident], config: Config) -> str:
    if not incidents:
        return "No incidents recorded."
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
    return table(["Date", "Incident", "Severity", "Description", "Duration", "Root cause", "Post-mortem"], rows)
