"""The post-mortem's times and timeline, written for a reader rather than a machine.

Times read as "Tue 24 Nov 2026 14:05" in UTC and in the reader's stated zone; labels are
words ("Status changed", not "note (status)"); the timeline keeps what people wrote and
decided and the status, role and severity changes, and sums each check's flips into one
row; every event stays in an appendix, and each pinned log line with its neighbours.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from warroom.errors import UsageError
from warroom.record.events import parse_time
from warroom.record.model import Entry, Flip, Incident, duration_seconds
from warroom.text import durations
from warroom.text.markdown import md_cell, md_inline, placeholder, table, table_row
from warroom.text.sanitize import redact

# --- the reader's zone -------------------------------------------------------------


@dataclass(frozen=True)
class Zone:
    """The zone the reader stated (`--tz`), shown beside UTC; UTC alone when it is UTC."""

    tz: tzinfo
    name: str

    @property
    def is_utc(self) -> bool:
        return self.name in ("UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z")


UTC_ZONE = Zone(UTC, "UTC")


def reader_zone(name: str | None, environ: dict[str, str] | None = None) -> Zone:
    """`--tz NAME` (an IANA name such as Europe/Berlin), else this machine's zone, else UTC."""
    if name:
        try:
            return Zone(ZoneInfo(name.strip()), name.strip())
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise UsageError(
                f"--tz {name!r}: not a time zone this machine knows; give an IANA name such as "
                f"Europe/Berlin or America/New_York, or UTC"
            ) from None
    env = os.environ if environ is None else environ
    for candidate in (env.get("TZ", "").lstrip(":"), _system_zone_name()):
        if candidate:
            try:
                return Zone(ZoneInfo(candidate), candidate)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                continue
    return UTC_ZONE


def _system_zone_name() -> str:
    """The IANA name /etc/localtime points at ("" when it cannot be told)."""
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return ""
    marker = "/zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else ""


def human_time(at: str, zone: Zone = UTC_ZONE) -> str:
    """'Tue 24 Nov 2026 14:05 UTC (15:05 CET)': a time anyone can read and place."""
    if not at:
        return ""
    when = parse_time(at)
    text = when.strftime("%a %d %b %Y %H:%M UTC")
    if not zone.is_utc:
        local = when.astimezone(zone.tz)
        day = "" if local.date() == when.date() else local.strftime("%a %d %b ")
        text += f" ({day}{local.strftime('%H:%M %Z')})"
    return text


def day_time(at: str, first_day: str, zone: Zone = UTC_ZONE) -> str:
    """'14:26 UTC (15:26 CET)', with the day in front when it is not `first_day` (UTC)."""
    when = parse_time(at)
    text = _clock(at, UTC, first_day) + " UTC"
    if not zone.is_utc:
        local_first = parse_time(first_day + "T12:00:00Z").astimezone(zone.tz).strftime("%Y-%m-%d")
        text += f" ({_clock(at, zone.tz, local_first)} {when.astimezone(zone.tz).strftime('%Z')})"
    return text


def _clock(at: str, zone: tzinfo, first_day: str) -> str:
    """HH:MM in `zone`, with the day in front when it is not the incident's first day."""
    when = parse_time(at).astimezone(zone)
    if when.strftime("%Y-%m-%d") == first_day:
        return when.strftime("%H:%M")
    return when.strftime("%d %b %H:%M")


# --- key times -------------------------------------------------------------------------


def key_times_table(incident: Incident, zone: Zone) -> str:
    rows = [
        ("Impact started", incident.field("impact_started_at"), "not recorded"),
        ("Detected", incident.detected_at, "not recorded"),
        ("Declared", incident.declared_at, "not recorded"),
        ("Acknowledged", incident.acknowledged_at, "not recorded"),
        ("Mitigated", incident.mitigated_at, "not yet"),
        ("Resolved", incident.resolved_at, "not yet"),
    ]
    if incident.closed_at:
        rows.append(("Closed", incident.closed_at, ""))
    start = incident.detected_at or incident.declared_at
    since_what = "After detection" if incident.detected_at else "After declaration"
    out = []
    for name, at, missing in rows:
        since = duration_seconds(start, at) if at and at != start else None
        after = ""
        if since is not None:
            after = f"+{durations.human(since)}" if since >= 0 else f"{durations.human(-since)} before"
        if not at:
            out.append([name, missing, *([missing] if not zone.is_utc else []), ""])
            continue
        when = parse_time(at)
        cells = [name, when.strftime("%a %d %b %Y %H:%M")]
        if not zone.is_utc:
            cells.append(when.astimezone(zone.tz).strftime("%a %d %b %Y %H:%M %Z"))
        out.append([*cells, after])
    headers = ["Milestone", "UTC", *([md_cell(zone.name)] if not zone.is_utc else []), since_what]
    return table(headers, out)


# --- check flips, summed per check ---------------------------------------------------


@dataclass
class Span:
    """A check away from "up": from the flip into `state` to the flip out of it ("" if never)."""

    state: str
    start: str
    end: str = ""


@dataclass
class CheckStory:
    check: str
    first_at: str
    flips: int = 0
    spans: list[Span] = field(default_factory=list)


def check_stories(flips: list[Flip]) -> list[CheckStory]:
    """Each check's spans away from "up", in the order the checks first flipped."""
    stories: dict[str, CheckStory] = {}
    for flip in sorted(flips, key=lambda f: f.at):
        story = stories.setdefault(flip.check, CheckStory(flip.check, flip.at))
        story.flips += 1
        open_span = story.spans[-1] if story.spans and not story.spans[-1].end else None
        if open_span is not None and flip.current != open_span.state:
            open_span.end = flip.at
        if flip.current != "up" and (open_span is None or flip.current != open_span.state):
            story.spans.append(Span(flip.current, flip.at))
    return list(stories.values())


def span_seconds(span: Span, until: str) -> float:
    return max(0.0, duration_seconds(span.start, span.end or until) or 0.0)


def _times(count: int) -> str:
    return "once" if count == 1 else "twice" if count == 2 else f"{count} times"


def story_sentence(story: CheckStory, until: str, resolved: bool = False) -> str:
    """'checkout-api down 3 times, 14m in all; degraded once, 2m' (plain text)."""
    parts = []
    for state in dict.fromkeys(s.state for s in story.spans):
        spans = [s for s in story.spans if s.state == state]
        total = sum(span_seconds(s, until) for s in spans)
        parts.append(f"{state} {_times(len(spans))}, {durations.human(total)} in all")
    if not parts:
        return f"{story.check} flipped {_times(story.flips)}, never away from up"
    last = story.spans[-1]
    if last.end:
        tail = f", from {_hhmm(story.spans[0].start)} to {_hhmm(last.end)} UTC"
    else:
        tail = f"; still {last.state} {'when resolved' if resolved else 'at export'}"
    return f"{story.check} " + "; ".join(parts) + tail


def _hhmm(at: str) -> str:
    return parse_time(at).strftime("%H:%M")


# --- the timeline ----------------------------------------------------------------------

TYPE_WORDS = {"note": "Note", "action": "Action taken", "decision": "Decision", "finding": "Finding"}
AUTO_WORDS = {
    "pin": "Log line pinned",
    "declared": "Declared",
    "status": "Status changed",
    "severity": "Severity changed",
    "role": "Role assigned",
    "ack": "Acknowledged",
    "update": "Update posted",
    "action": "Action item",
    "command": "Command run",
    "check": "Check flipped",
    "field": "Field set",
    "snooze": "Reminder snoozed",
    "escalated": "Escalated",
}
# What the story keeps: what people wrote and did, and the incident's own changes.
STORY_AUTOS = frozenset(
    {"", "pin", "declared", "status", "severity", "role", "ack", "escalated", "update", "action", "command"}
)


def label(entry: Entry) -> str:
    """What an entry is, in words."""
    if entry.auto:
        return AUTO_WORDS.get(entry.auto, entry.auto.replace("_", " ").capitalize())
    return TYPE_WORDS.get(entry.type, entry.type.capitalize())


# What the story's "What" column already says, taken off the front of the entry's text.
_SAID = {
    "status": (re.compile(r"^Status: "), ""),
    "severity": (re.compile(r"^Severity: "), ""),
    "update": (re.compile(r"^Status update posted \(([^)\n]*)\): "), r"\1: "),
    "action": (re.compile(r"^Action item: "), ""),
}


def entry_text(entry: Entry, zone: Zone, first_line: bool = False, story: bool = False) -> str:
    text = entry.text
    if story and entry.auto in _SAID:
        pattern, replacement = _SAID[entry.auto]
        text = pattern.sub(replacement, text, count=1)
    time_field = entry.time_field()
    if time_field is not None:
        try:
            text = f"{time_field[0]}: {human_time(time_field[1], zone)}"
        except ValueError:
            pass
    if first_line and "\n" in text:
        head, rest = text.split("\n", 1)
        more = rest.count("\n") + 1
        text = f"{head} (+{more} line{'s' if more > 1 else ''} in the appendix)"
    if entry.source:
        text = f"[{entry.source}] {text}"
    return text + (" (edited)" if entry.edited else "")


class Cells:
    """Markdown cells made once per distinct value: the story and the appendix of a 100k-entry
    incident share most texts, its authors are few, its minutes repeat."""

    def __init__(self, zone: Zone, first_day: str) -> None:
        self.zone = zone
        self.first_day = first_day  # UTC, YYYY-MM-DD
        self.local_first = parse_time(first_day + "T12:00:00.000Z").astimezone(zone.tz).strftime("%Y-%m-%d")
        self._md: dict[str, str] = {}
        self._local: dict[str, str] = {}
        self._labels: dict[tuple[str, str], str] = {}

    def md(self, text: str) -> str:
        cell = self._md.get(text)
        if cell is None:
            cell = self._md[text] = md_cell(text) or " "
        return cell

    def label(self, entry: Entry) -> str:
        key = (entry.auto, entry.type)
        said = self._labels.get(key)
        if said is None:
            said = self._labels[key] = label(entry)
        return said

    def times(self, at: str) -> list[str]:
        """HH:MM in UTC (and in the reader's zone), with the day when not the first day's."""
        utc = at[11:16] if at[:10] == self.first_day else _clock(at, UTC, self.first_day)
        if self.zone.is_utc:
            return [utc]
        local = self._local.get(at[:16])
        if local is None:
            local = self._local[at[:16]] = _clock(at, self.zone.tz, self.local_first)
        return [utc, local]


def timeline_tables(incident: Incident, zone: Zone, now: str, entries: list[Entry] | None = None) -> tuple[str, str]:
    """(the story, every event): made in one pass over the timeline (100k entries: each text
    escaped once for both). The story keeps people's entries and the incident's own changes,
    with one row per flipping check, its spans counted to the resolution (or `now` while open);
    the appendix keeps every event, to the second, in UTC."""
    entries = incident.timeline if entries is None else entries
    if not entries:
        return placeholder("the timeline"), placeholder("the timeline")
    cells = Cells(zone, incident.declared_at[:10])
    story: list[tuple[str, str, str, str]] = []  # (at, who, what, text): markdown already
    every = [table_row(["Time (UTC)", "Who", "What", "Entry"]), "|---|---|---|---|"]
    flagged = False
    declared = incident.declared_at
    for entry in entries:
        at, auto = entry.at, entry.auto  # the fold let through only times as format_time writes them
        who, what = cells.md(entry.author), cells.label(entry)
        text = cells.md(entry_text(entry, zone))
        early = " ⚠" if at < declared else ""
        flagged = flagged or bool(early)
        every.append(f"| {at[:10]} {at[11:19]}{early} | {who} | {what} | {text} |")
        if auto in STORY_AUTOS:
            if auto in _SAID or auto == "command":
                text = cells.md(entry_text(entry, zone, first_line=auto == "command", story=True))
            story.append((at, who, what, text))
    if flagged:
        every += [
            "",
            "⚠ stamped before the incident was declared: backdated with an explicit date, or "
            "by a clock that was wrong. Check these against other sources.",
        ]
    until = incident.resolved_at or now
    summaries = check_stories(incident.flips)
    for check in summaries:
        text = f"{story_sentence(check, until, bool(incident.resolved_at))} (each flip in the appendix)"
        story.append((check.first_at, "health checks", "Check summary", md_cell(text)))
    if summaries:  # the entries came in time order; the summaries go in where their check first flipped
        story.sort(key=lambda row: row[0])
    headers = ["UTC", *([md_cell(zone.name)] if not zone.is_utc else []), "Who", "What", "Entry"]
    lines = [table_row(headers), "|" + "---|" * len(headers)]
    lines += [table_row([*cells.times(at), who, what, text]) for at, who, what, text in story]
    return "\n".join(lines) if story else placeholder("the timeline"), "\n".join(every)


# --- pinned log excerpts ---------------------------------------------------------------


def excerpts(incident: Incident, zone: Zone, entries: list[Entry] | None = None) -> str:
    """Each pinned log line in a code block with the five lines before and after it."""
    pins = [e for e in (incident.timeline if entries is None else entries) if e.auto == "pin"]
    if not pins:
        return "No log lines were pinned."
    out = []
    for pin in pins:
        out.append(
            f"**{md_inline(human_time(pin.at, zone))}**, {md_inline(pin.source)}, pinned by {md_inline(pin.author)}:"
        )
        lines = [f"  {line}" for line in _lines(pin.lines_before)]
        lines += [f"▶ {line}" for line in _lines(pin.text)]
        lines += [f"  {line}" for line in _lines(pin.lines_after)]
        out.append(code_block(lines))
    return "\n\n".join(out)


def _lines(text: str) -> list[str]:
    return [line for line in redact(text).replace("\r", "\n").split("\n") if line.strip()]


_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BACKTICKS = re.compile(r"`+")


def code_block(lines: list[str]) -> str:
    """A fenced block no line can close: the fence is longer than any run of backticks in it."""
    body = [_CONTROLS.sub(" ", line) for line in lines]
    longest = max((len(run) for line in body for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([f"{fence}text", *body, fence])
