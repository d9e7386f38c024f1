"""What the public status page says, read from the record: each component's status, the
published incidents and their public updates, and the page's overall indicator. Pure data:
statuspage_html.py and statuspage_feeds.py write it out, statuspage_site.py puts it on disk.

What is public, in one place:
- an update is published when it was posted with a status-page template (`statuspage-*`)
  or the all-clear; internal updates, customer emails (sent by mail, not published) and
  timeline entries never are;
- an incident appears once it has a published update: its title is then public, and
  nothing goes public before someone chooses to publish;
- a component's status is the latest recorded state of its checks (`check.flipped` events,
  whatever incident recorded them): all of them down is a major outage, some down a
  partial outage, any degraded is degraded performance;
- an incident's impact follows its severity's place in the profile: the most severe level
  is critical, the next major, the third minor, any below that none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from warroom.config import Component, Config
from warroom.record.events import Event, format_time, parse_time
from warroom.record.model import Incident, Update
from warroom.record.room import Room

HISTORY_DAYS = 90
PUBLIC_TEMPLATE_PREFIX = "statuspage-"
ALL_CLEAR = "all-clear"
# What each public template says about the incident, in the status-page API's words.
UPDATE_STATUS = {
    "statuspage-investigating": "investigating",
    "statuspage-identified": "identified",
    "statuspage-monitoring": "monitoring",
    "statuspage-resolved": "resolved",
    ALL_CLEAR: "resolved",
}
COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage")
IMPACTS = ("none", "minor", "major", "critical")
IMPACT_BY_RANK = ("critical", "major", "minor")  # the profile's levels, most severe first
# The page's indicator for a component status (the API's convention).
COMPONENT_IMPACT = {
    "operational": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
CHECK_RANK = {"up": 0, "degraded": 1, "down": 2}  # other recorded states say nothing
_NAMESPACE = uuid.UUID("6f0b4b1e-6c64-4c36-9a43-5f1f0d7a0e21")  # page and component ids


def is_public(update: Update) -> bool:
    return update.template.startswith(PUBLIC_TEMPLATE_PREFIX) or update.template == ALL_CLEAR


def impact_of(severity: str, config: Config) -> str:
    rank = config.severity.rank(severity)
    return IMPACT_BY_RANK[rank] if rank < len(IMPACT_BY_RANK) else "none"


def stable_uuid(*parts: str) -> str:
    """A UUID that stays the same build after build (the feed's id)."""
    return str(uuid.uuid5(_NAMESPACE, "\n".join(parts)))


def stable_id(*parts: str) -> str:
    """An id that stays the same build after build (the API's ids are opaque strings)."""
    return stable_uuid(*parts).replace("-", "")[:12]


@dataclass(frozen=True)
class PublicUpdate:
    id: str
    incident_id: str
    status: str
    body: str
    at: str


@dataclass
class PublicIncident:
    id: str
    short_id: str
    name: str
    status: str  # the page's: the latest published update's, resolved once the record says so
    impact: str
    open: bool
    created_at: str
    updated_at: str
    started_at: str
    monitoring_at: str
    resolved_at: str
    updates: list[PublicUpdate]  # newest first


@dataclass
class ComponentStatus:
    id: str
    name: str
    description: str
    status: str
    updated_at: str
    position: int
    days: list[tuple[str, str]] = field(default_factory=list)  # (YYYY-MM-DD, status), oldest first


@dataclass
class Page:
    id: str
    name: str
    updated_at: str
    components: list[ComponentStatus]
    incidents: list[PublicIncident]  # open ones, newest first
    history: list[PublicIncident]  # the others of the last HISTORY_DAYS days, newest first
    indicator: str
    description: str

    @property
    def updates(self) -> list[PublicUpdate]:
        """Every published update on the page, newest first (the feed's entries)."""
        every = [u for incident in self.incidents + self.history for u in incident.updates]
        return sorted(every, key=lambda u: (u.at, u.id), reverse=True)


def collect(room: Room, now: datetime, name: str) -> Page:
    """The page as the record has it at `now`."""
    config = room.config
    since = format_time(now - timedelta(days=HISTORY_DAYS))
    published: list[PublicIncident] = []
    for summary in room.summaries():
        if summary.open or summary.declared_at >= since:
            incident = room.head(summary.id)
            public = public_incident(incident, config)
            if public is not None and (public.open or public.updated_at >= since):
                published.append(public)
    published.sort(key=lambda i: (i.created_at, i.id), reverse=True)
    flips = room.store.flips()
    components = [component_status(c, i, flips, now) for i, c in enumerate(config.components)]
    open_ones = [i for i in published if i.open]
    worst = max(
        [IMPACTS.index(i.impact) for i in open_ones] + [IMPACTS.index(COMPONENT_IMPACT[c.status]) for c in components],
        default=0,
    )
    indicator = IMPACTS[worst]
    return Page(
        id=stable_id("page", name),
        name=name,
        updated_at=format_time(now),
        components=components,
        incidents=open_ones,
        history=[i for i in published if not i.open],
        indicator=indicator,
        description=DESCRIPTIONS[indicator],
    )


def public_incident(incident: Incident, config: Config) -> PublicIncident | None:
    """The incident as the page shows it, or None while nothing about it is published."""
    updates = sorted(
        (
            PublicUpdate(u.id, incident.id, UPDATE_STATUS.get(u.template, "investigating"), u.text, u.at)
            for u in incident.updates
            if is_public(u)
        ),
        key=lambda u: (u.at, u.id),
        reverse=True,
    )
    if not updates:
        return None
    status = "resolved" if not incident.open else updates[0].status
    if status == "resolved" and incident.open:  # said resolved publicly, still open here: say so
        status = "monitoring"
    monitoring = [u.at for u in updates if u.status == "monitoring"]
    return PublicIncident(
        id=incident.id,
        short_id=incident.short_id,
        name=incident.title,
        status=status,
        impact=impact_of(incident.severity, config),
        open=incident.open,
        created_at=incident.declared_at,
        updated_at=max(updates[0].at, incident.resolved_at or ""),
        started_at=incident.field("impact_started_at") or incident.detected_at or incident.declared_at,
        monitoring_at=min(monitoring, default=""),
        resolved_at="" if incident.open else incident.resolved_at or incident.closed_at,
        updates=updates,
    )


def component_status(component: Component, position: int, flips: list[Event], now: datetime) -> ComponentStatus:
    """Its status now, from its checks' latest recorded states, and its worst status on
    each of the last HISTORY_DAYS days (UTC)."""
    mine = sorted(
        (f for f in flips if f.body.get("check") in component.checks and f.body.get("current") in CHECK_RANK),
        key=lambda f: (f.at, f.hlc, f.id),
    )
    state: dict[str, str] = {}
    first_day = (now - timedelta(days=HISTORY_DAYS - 1)).date()
    day_worst: dict[str, int] = {}
    index = 0
    for offset in range(HISTORY_DAYS):
        day = first_day + timedelta(days=offset)
        end = format_time(datetime(day.year, day.month, day.day, tzinfo=now.tzinfo) + timedelta(days=1))
        worst = _combined(state, component)  # the state the day began in
        while index < len(mine) and mine[index].at < end:
            flip = mine[index]
            state[str(flip.body["check"])] = str(flip.body["current"])
            if flip.at >= day.isoformat():
                worst = max(worst, _combined(state, component))
            else:
                worst = _combined(state, component)
            index += 1
        day_worst[day.isoformat()] = worst
    for flip in mine[index:]:  # stamped ahead of now: still the latest recorded state
        state[str(flip.body["check"])] = str(flip.body["current"])
    updated = mine[-1].at if mine else ""
    return ComponentStatus(
        id=stable_id("component", component.name),
        name=component.name,
        description=component.description,
        status=COMPONENT_STATUSES[_combined(state, component)],
        updated_at=updated,
        position=position + 1,
        days=[(day, COMPONENT_STATUSES[rank]) for day, rank in day_worst.items()],
    )


def _combined(state: dict[str, str], component: Component) -> int:
    """The component's status (an index into COMPONENT_STATUSES) from its checks' states."""
    known = [CHECK_RANK[state[c]] for c in component.checks if c in state]
    down = known.count(CHECK_RANK["down"])
    if down and down == len(component.checks):
        return 3
    if down:
        return 2
    return 1 if CHECK_RANK["degraded"] in known else 0


def day_label(day: str) -> str:
    return parse_time(day + "T00:00:00.000Z").strftime("%d %b %Y")
