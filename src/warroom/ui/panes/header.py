"""The top line: which incident, how bad, what phase, how long, when the next update is due."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Static

from warroom.config import Config
from warroom.record.clock import Clock
from warroom.record.events import STATUSES
from warroom.record.model import update_countdown
from warroom.text import durations
from warroom.ui.view import ConsoleView, inert, set_phase, show


class IncidentHeader(Horizontal):
    view: reactive[ConsoleView | None] = reactive(None, always_update=True)

    def __init__(self, clock: Clock, **kwargs) -> None:
        super().__init__(**kwargs)
        self.clock = clock

    def compose(self) -> ComposeResult:
        yield Static("", id="hdr-id")
        yield Static("", id="hdr-sev")
        yield Static("", id="hdr-title")
        yield Static("", id="hdr-status")
        yield Static("", id="hdr-elapsed")
        yield Static("", id="hdr-next")
        yield Static("", id="hdr-sync")

    def on_mount(self) -> None:
        self.set_interval(1, self.refresh_times)

    def fix_widths(self, config: Config) -> None:
        """The severity and status badges as wide as their widest value, once: a change of
        either then redraws one badge in place. Sized by their text, a change to a longer
        label (P2 Major -> P1 Critical) laid the whole screen out again, and the header
        showed it a frame later, 60-100 ms."""
        widths = {
            "#hdr-sev": max((len(f" {level.id} {level.label} ") for level in config.severity.levels), default=0),
            "#hdr-status": max(len(status) for status in STATUSES),
        }
        for selector, width in widths.items():
            widget = self.query_one(selector, Static)
            if widget.styles.width is None or widget.styles.width.value != width:
                widget.styles.box_sizing = "content-box"  # the text's width; the padding is the stylesheet's
                widget.styles.width = width

    def watch_view(self, view: ConsoleView | None) -> None:
        if not self.is_mounted:
            return
        sev = self.query_one("#hdr-sev", Static)
        for cls in [c for c in sev.classes if c.startswith("sev-")]:
            sev.remove_class(cls)
        incident = view.incident if view else None
        if incident is None:
            self.query_one("#hdr-id", Static).update(Text("warroom"))
            sev.update("")
            open_count = view.open_count if view else 0
            if view is None:  # the first frame: the record arrives with the next one
                hint = "Opening the record…"
            elif not open_count:
                hint = "No open incident. Press D to declare one."
            else:
                hint = f"{open_count} open incident(s): press I to pick one."
            self.query_one("#hdr-title", Static).update(Text(hint))
            self.query_one("#hdr-status", Static).update("")
            self.refresh_times()
            return
        assert view is not None  # the incident comes from it
        self.fix_widths(view.config)
        level = view.config.severity.level(incident.severity)
        self.query_one("#hdr-id", Static).update(Text(incident.short_id))
        sev.add_class(view.severity_class())
        sev.update(Text(f" {incident.severity} {level.label if level else ''} "))
        self.query_one("#hdr-title", Static).update(inert(incident.title, limit=200))
        self.query_one("#hdr-status", Static).update(Text(incident.status.capitalize()))
        self.refresh_times()

    def show_sync(self, status) -> None:
        """'offline since 14:05 (3 events waiting)' while the remote cannot be reached."""
        sync = self.query_one("#hdr-sync", Static)
        if status.online:
            sync.update("")
            sync.remove_class("offline")
            return
        since = status.offline_since.strftime("%H:%M UTC") if status.offline_since else "?"
        waiting = f" ({status.waiting} event{'s' if status.waiting != 1 else ''} waiting)" if status.waiting else ""
        sync.update(Text(f"offline since {since}{waiting}"))
        sync.add_class("offline")

    def refresh_times(self) -> None:
        view = self.view
        elapsed = self.query_one("#hdr-elapsed", Static)
        nxt = self.query_one("#hdr-next", Static)
        if view is None or view.incident is None:
            show(elapsed, Text(self.clock.now().strftime("%H:%M:%S UTC")))
            nxt.update("")
            set_phase(nxt, None)
            return
        incident = view.incident
        now = self.clock.now()
        from warroom.record.events import parse_time

        since = durations.human((now - parse_time(incident.declared_at)).total_seconds())
        show(elapsed, Text(f"{since} since declared"))
        level = view.config.severity.level(incident.severity)
        if level is None or not incident.open:
            nxt.update(Text("no updates due"))
            set_phase(nxt, None)
            return
        countdown = update_countdown(incident, level.update_every, now)
        if countdown is None:
            nxt.update(Text("no update countdown"))
            set_phase(nxt, None)
            return
        if countdown.phase == "overdue":
            show(nxt, Text(f"UPDATE OVERDUE {durations.span(countdown.remaining)}"))
        else:
            show(nxt, Text(f"next update {durations.countdown(countdown.remaining)}"))
        set_phase(nxt, countdown.phase)
