"""Time to the next status update, the acknowledge deadline and the next escalation.

Recomputed from the clock and the record on every tick, never decremented, so it
cannot drift; tests freeze the clock.
"""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from warroom.record.clock import Clock
from warroom.record.events import parse_time
from warroom.record.model import update_countdown
from warroom.text import durations
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
                self.update(Text(f"{incident.status.capitalize()}: no updates due."))
            return
        now = self.clock.now()
        countdown = update_countdown(incident, level.update_every, now)
        set_phase(self, countdown.phase)
        lines = Text()
        if countdown.phase == "overdue":
            lines.append(f"update OVERDUE {durations.span(countdown.remaining)}\n", style="bold")
            key = (incident.id, countdown.due_at.isoformat())
            if key not in self._rung_for:
                self._rung_for.add(key)
                self.post_message(self.Overdue(incident.id, key[1]))
        else:
            lines.append(f"update {durations.countdown(countdown.remaining)}\n", style="bold")
        lines.append(f"due {countdown.due_at.strftime('%H:%M UTC')}, every {durations.config_form(level.update_every)}")
        if countdown.snoozed:
            lines.append(" (snoozed)")
        lines.append("\n")
        declared = parse_time(incident.declared_at)
        if not incident.acknowledged_at:
            ack_due = declared + timedelta(seconds=level.acknowledge_within)
            left = (ack_due - now).total_seconds()
            lines.append(
                f"ack due {ack_due.strftime('%H:%M UTC')}, {durations.countdown(left)}: A acks\n",
                style="bold" if left < 0 else "",
            )
        escalation = self._next_escalation(view, declared, now)
        if escalation:
            lines.append(escalation)
        show(self, lines)

    def _next_escalation(self, view: ConsoleView, declared, now) -> str:
        incident = view.incident
        assert incident is not None  # only asked while an incident is on screen
        levels = [e for e in view.config.escalation if not e.severities or incident.severity in e.severities]
        level = view.config.severity.level(incident.severity)
        if not levels and level is not None:
            due = declared + timedelta(seconds=level.escalate_after)
            state = "DUE" if due <= now else "at"
            return f"escalate {state} {due.strftime('%H:%M UTC')} (after {durations.config_form(level.escalate_after)})"
        for step in levels:
            due = declared + timedelta(seconds=step.after)
            if due > now:
                return f"escalate to {step.to} at {due.strftime('%H:%M UTC')}"
        if levels:
            last = levels[-1]
            return f"ESCALATION DUE: {last.to} (after {durations.config_form(last.after)})"
        return ""
