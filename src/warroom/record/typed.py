"""What people type, read: a `--at` time (`14:05`, a date and time) and a console line
(`14:05 ! text`: a backdate, a type prefix, the text). The one rule both faces use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from warroom.errors import UsageError
from warroom.record.events import (
    parse_time,
)
from warroom.record.model import Incident

if TYPE_CHECKING:
    pass

# What a stored time can hold (events.valid_time): later years would overflow when the
# countdowns add a cadence to them.
_FIRST_YEAR, _LAST_YEAR = 1970, 8999


def parse_at(
    text: str,
    now: datetime,
    tz: tzinfo | None = None,
    *,
    not_before: str = "",
    incident: str = "",
    option: str = "--at",
) -> datetime:
    """When something happened, as typed: '14:05' is the most recent 14:05 that is not ahead
    (today, or yesterday when today's is still to come); an ISO time is taken as given (local
    time unless it carries a zone). Returns an aware datetime in `now`'s zone.

    Backdating cannot invent history: a '14:05' that falls before `not_before` (the incident's
    declaration or impact start, as stored) or more than 24 hours back is refused, naming
    both readings and how to give a date. A time in the future, or outside the years a record
    holds, is refused too. Raises UsageError naming the value.
    """
    text = text.strip()
    local_now = now.astimezone(tz)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if match:
        hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise UsageError(f"{option} {text}: not a time of day; use HH:MM (00:00 to 23:59) or an ISO time")
        today = _local(datetime.combine(local_now.date(), time(hour, minute, second)), tz)
        at = today
        if at > local_now + timedelta(minutes=1):
            at = _local(datetime.combine(local_now.date() - timedelta(days=1), time(hour, minute, second)), tz)
        too_old = local_now - at > timedelta(hours=24)
        early = bool(not_before) and at < parse_time(not_before)
        if too_old or early:
            reading = f"{at.strftime('%Y-%m-%d %H:%M')}" + (
                f" (today's {text} is still ahead)" if at is not today else ""
            )
            why = (
                f"before {incident or 'the incident'} began ({_shown(not_before, tz)})"
                if early
                else "more than 24 hours ago"
            )
            raise UsageError(
                f"{option} {text} reads as {reading}, {why}; nothing was written. To mean "
                f"another day, give the date: {option} {at.strftime('%Y-%m-%d')}T{text}"
            )
        return at.astimezone(now.tzinfo)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option} {text}: not a time; use HH:MM or an ISO time like 2026-11-24T14:05Z") from None
    if at.tzinfo is None:
        try:
            at = _local(at, tz)
        except (OverflowError, ValueError, OSError):
            raise UsageError(
                f"{option} {text}: out of range; give a time between {_FIRST_YEAR} and {_LAST_YEAR}"
            ) from None
    try:
        at = at.astimezone(now.tzinfo)
        utc_year = at.astimezone(UTC).year
    except (OverflowError, ValueError, OSError):
        utc_year = 0
    if not _FIRST_YEAR <= utc_year <= _LAST_YEAR:
        raise UsageError(f"{option} {text}: out of range; give a time between {_FIRST_YEAR} and {_LAST_YEAR}")
    if at > now + timedelta(minutes=1):
        raise UsageError(
            f"{option} {text}: that is in the future; the record keeps what happened, give a time up to now"
        )
    return at


def _shown(stored: str, tz: tzinfo | None = None) -> str:
    """A stored UTC time, as the person typing reads their clock."""
    return parse_time(stored).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _local(naive: datetime, tz: tzinfo | None = None) -> datetime:
    """A wall-clock time in `tz` (default: the local zone) with the UTC offset of that date,
    not of today: across a daylight-saving change the two differ by an hour."""
    return naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()


def history_start(incident: Incident) -> str:
    """The earliest moment the incident's record may describe: its declaration, or the impact
    start or detection recorded for it when they come first."""
    times = [t for t in (incident.declared_at, incident.detected_at, incident.field("impact_started_at")) if t]
    return min(times)


_PREFIX_TYPES = {"!": "decision", ">": "action", "?": "finding"}


@dataclass(frozen=True)
class TypedLine:
    text: str
    type: str
    at: datetime | None


def parse_typed_line(
    line: str, now: datetime, tz: tzinfo | None = None, *, not_before: str = "", incident: str = ""
) -> TypedLine:
    """The console's one-line grammar: optional 'HH:MM ' backdate, then '!' decision,
    '>' action, '?' finding, else a note. A backdate that parse_at refuses (before the
    incident began) raises UsageError; one that is no time of day ("25:99") is just text."""
    text = line.strip()
    at = None
    match = re.match(r"^(\d{1,2}):(\d{2})\s+(.*)$", text, re.S)
    if match and int(match.group(1)) <= 23 and int(match.group(2)) <= 59:
        at = parse_at(
            f"{match.group(1)}:{match.group(2)}",
            now,
            tz,
            not_before=not_before,
            incident=incident,
            option="the backdate",
        )
        text = match.group(3).strip()
    kind = "note"
    if text[:1] in _PREFIX_TYPES:
        kind = _PREFIX_TYPES[text[0]]
        text = text[1:].strip()
    return TypedLine(text=text, type=kind, at=at)
