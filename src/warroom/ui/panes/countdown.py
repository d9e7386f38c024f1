"""Time to the next status update, the acknowledge and resolution targets, and the
escalation path (every rung due, flagged, and the next).

Recomputed from the clock and the record on every tick, never decremented, so it
cannot drift; tests freeze the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from warroom.profiles import SeverityLevel, target_form
from warroom.record.clock import Clock
from warroom.record.model import (
    Countdown,
    Incident,
    after_resolution,
    escalation_rungs,
    target_countdown,
    update_countdown,
)
from warroom.text import durations
from warroom.text.sanitize import sanitize
from warroom.ui.view import ConsoleView, set_phase, show


class CountdownPane(Static, can_focus=False):
    view: reactive[ConsoleView | None] = reactive(None, always_update=True)

    class Overdue(Message):
        """The update deadline just passed (sent once per deadline)."""

        def __init__(self, incident_id: str, due_at: str) -> None:
            super().__init__()
            self.incident_id, self.due_at = incident_id, due_at

    def __init__(self, clock: Clock, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.clock = clock
        self._rung_for: set[tuple[str, str]] = set()

    def on_mount(self) -> None:
        self.border_title = "Next update"
        self.set_interval(1, self.tick)

    def watch_view(self, view: ConsoleView | None) -> None:
        self.tick()

    def tick(self) -> None:
        view = self.view
        incident = view.incident if view is not None else None
        level = view.config.severity.level(incident.severity) if view is not None and incident is not None else None
        if view is None or incident is None or level is None or not incident.open:
            set_phase(self, None)
            if view is None:  # the first frame: the record arrives with the next one
                self.update(Text(""))
            elif incident is None:
                self.update(Text("No open incident.\nPress D to declare one."))
            else:
                self.update(self._after_resolution(incident, level))
            return
        now = self.clock.now()
        countdown = update_countdown(incident, level.update_every, now)
        set_phase(self, countdown.phase if countdown else None)
        lines = Text()
        if countdown is None:
            lines.append("no update countdown\n", style="bold")
            lines.append(f"{level.id}: updates when there is news (update_every {target_form(level.update_every)})\n")
        else:
            if countdown.phase == "overdue":
                lines.append(f"update OVERDUE {durations.span(countdown.remaining)}\n", style="bold")
                key = (incident.id, countdown.due_at.isoformat())
                if key not in self._rung_for:
                    self._rung_for.add(key)
                    self.post_message(self.Overdue(incident.id, key[1]))
            else:
                lines.append(f"update {durations.countdown(countdown.remaining)}\n", style="bold")
            every = "first at once" if level.update_every == 0 else f"every {target_form(level.update_every)}"
            lines.append(f"due {clock_time(countdown.due_at, now)}, {every}")
            if countdown.snoozed:
                lines.append(" (snoozed)")
            lines.append("\n")
        ack = target_countdown(incident, level.acknowledge_within, incident.acknowledged_at, now)
        if ack is not None and level.acknowledge_within == 0:  # immediate: wanted from the first second
            lines.append(f"ack AT ONCE (waiting {durations.span(ack.remaining)}): A acks\n", style="bold")
        elif ack is not None:
            _target_line(lines, ack, now, ("ack due", "ack OVERDUE"), ": A acks")
        resolve = target_countdown(incident, level.resolve_within, incident.resolved_at, now)
        if resolve is not None:
            _target_line(lines, resolve, now, ("resolve by", "resolve target MISSED"))
        for line, flagged in self._escalation(view, now):
            lines.append(line + "\n", style="bold" if flagged else "")
        lines.rstrip()
        show(self, lines)

    def _after_resolution(self, incident: Incident, level: SeverityLevel | None) -> Text:
        """A resolved incident: no updates due, and what the level asks for after it (a
        summary in 24 h, a meeting in 7 d), each dated from the resolution."""
        lines = Text(f"{incident.status.capitalize()}: no updates due.")
        now = self.clock.now()
        for deadline in level.deadlines if level is not None else ():
            due = after_resolution(incident, deadline.within)
            if due is None:
                continue
            when = clock_time(due, now)
            left = (due - now).total_seconds()
            said = f"by {when}, in {durations.span(left)}" if left > 0 else f"was due {when}"
            lines.append(f"\n{sanitize(deadline.name, limit=80)}\n  {said}", style="" if left > 0 else "dim")
        return lines

    def _escalation(self, view: ConsoleView, now) -> list[tuple[str, bool]]:
        """Every rung due and not yet called in (flagged), then the next one to come."""
        incident = view.incident
        assert incident is not None  # only asked while an incident is on screen
        rungs = escalation_rungs(incident, view.config.escalation_for(incident.severity), now)
        shown = [(rung.describe() + self._reach(view, rung.to), True) for rung in rungs if rung.state == "due"]
        if shown:
            shown.append(("X records who was called in", False))
        later = [rung for rung in rungs if rung.state == "later"]
        if later:
            shown.append((later[0].describe() + self._reach(view, later[0].to), False))
        return shown

    @staticmethod
    def _reach(view: ConsoleView, to: str) -> str:
        """Who the rung names and how to reach them, from the contacts (by role, else name);
        plain text: the line is a Text, never markup."""
        found = view.config.contacts_for(to)
        if not found:
            return ""
        named = "; ".join(c.name + (f", {c.reach}" if c.reach else "") for c in found if c.name != to)
        return f" ({sanitize(named, limit=200)})" if named else ""


def clock_time(when: datetime, now: datetime) -> str:
    """`15:15 UTC` today, `Thu 15:15 UTC` within a week, `09 Dec 15:15 UTC` further off (a
    weekday names one day only within a week). A P2's 24-hour target read as "resolve by
    16:35 UTC, in 23h 59m", a time that looked already past."""
    when, now = when.astimezone(UTC), now.astimezone(UTC)
    days = abs((when.date() - now.date()).days)
    if days == 0:
        return when.strftime("%H:%M UTC")
    return when.strftime("%a %H:%M UTC" if days < 7 else "%d %b %H:%M UTC")


def _target_line(lines: Text, countdown: Countdown, now: datetime, words: tuple[str, str], hint: str = "") -> None:
    """`ack due 15:15 UTC, in 4m 10s: A acks`, bold once missed: `ack OVERDUE 15:15 UTC,
    overdue 1m 00s`. A countdown reads as a duration, a time of day carries its zone."""
    late = countdown.phase == "overdue"
    lines.append(
        f"{words[late]} {clock_time(countdown.due_at, now)}, {durations.countdown(countdown.remaining)}{hint}\n",
        style="bold" if late else "",
    )
