"""The Logs pane: one tab per log source plus "all", a status line and an error sparkline."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter, le
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TabbedContent, TabPane

from warroom.config import LogConfig
from warroom.sources.rate import ErrorRate
from warroom.ui import keys
from warroom.ui.panes.logview import LogView
from warroom.ui.view import sparkline

_LEVEL = attrgetter("level")
_AT = attrgetter("at")


class AllLogView(LogView):
    """Every source merged: in arrival order, except that lines carrying their own
    timestamp are placed by it among the recent lines."""

    def add_lines(self, lines) -> None:
        lines = list(lines)
        if not lines:
            return
        # The common case, checked at C speed: every stamped line is at or after the last one
        # (the running maximum), so nothing needs placing. Same answer as the loop below.
        ats = list(filter(None, map(_AT, lines)))  # the stamps (a datetime is never false)
        last = self._last_at
        if not ats:
            super().add_lines(lines)
            return
        if (last is None or not self.buffer_lines or ats[0] >= last) and all(map(le, ats, ats[1:])):
            if last is None or ats[-1] > last:
                self._last_at = ats[-1]
            super().add_lines(lines)
            return
        out_of_order = False
        for line in lines:
            if line.at is not None and self.buffer_lines and self._last_at is not None and line.at < self._last_at:
                out_of_order = True
            if line.at is not None and (self._last_at is None or line.at > self._last_at):
                self._last_at = line.at
        if not out_of_order:
            super().add_lines(lines)
            return
        super().add_lines(lines)
        ordered = sorted(
            list(self.buffer_lines)[-len(lines) * 4 :],
            key=lambda line: (line.at.timestamp() if line.at else float("inf"), line.seq),
        )
        keep = len(self.buffer_lines) - len(ordered)
        head = list(self.buffer_lines)[:keep]
        self.buffer_lines.clear()
        self.buffer_lines.extend(head + ordered)
        self._refilter()
        self._update_size()

    _last_at = None


class LogsPane(Vertical):
    BINDINGS = keys.bindings("logs")  # the key table: ui/keys.py

    STEP_PREFIX = "step: "  # tabs of runbook steps (the app names them "step: <runbook> #n")

    @dataclass
    class StopRequested(Message):
        """`s` on a runbook step's tab: the app stops that step if it still runs."""

        name: str

    def __init__(self, sources: tuple[LogConfig, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self.sources = sources
        self.last_filter = ""
        self.errors = ErrorRate()

    def compose(self) -> ComposeResult:
        # Kept by reference, not queried: when the pane is mounted after the first frame, its
        # tabs are composed a moment after the pane itself, and lines may already be arriving.
        self.all_view = AllLogView("all", show_source=True, id="log-all")
        disabled = [source for source in self.sources if source.disabled]  # a ${VAR} it needs is unset
        self.all_view.status = (
            f"{len(self.sources) - len(disabled)} source(s) merged"
            if self.sources
            else "no [[log]] sources in warroom.toml"
        )
        if disabled:
            self.all_view.status += "; disabled: " + "; ".join(f"{s.name} ({s.disabled})" for s in disabled)
        self.source_views = [
            LogView(source.name, buffer=source.buffer, id=f"log-{index}") for index, source in enumerate(self.sources)
        ]
        for source, view in zip(self.sources, self.source_views, strict=True):
            if source.disabled:
                view.status = f"disabled: {source.disabled}"
        with TabbedContent(id="log-tabs"):
            with TabPane("all", id="tab-all"):
                yield self.all_view
            for index, (source, view) in enumerate(zip(self.sources, self.source_views, strict=True)):
                with TabPane(source.name, id=f"tab-{index}"):
                    yield view
        yield Static("", id="log-status")

    def on_mount(self) -> None:
        self.border_title = "Logs"
        self.set_interval(2, self.refresh_status)
        self.refresh_status()

    def view_for(self, name: str) -> LogView | None:
        for index, source in enumerate(self.sources):
            if source.name == name:
                return self.source_views[index]
        return None

    def add_lines(self, name: str, lines: list[Any], folded: int = 0) -> None:
        """folded: lines that arrived but were dropped before reaching the pane (a flood)."""
        view = self.view_for(name)
        everything = self.all_view
        for target in (view, everything):
            if target is not None and folded:
                target.total += folded
                target.folded += folded
        if view is not None:
            view.add_lines(lines)
        everything.add_lines(lines)
        self.errors.count(name, list(map(_LEVEL, lines)).count("error"))

    def set_status(self, name: str, status: str) -> None:
        view = self.view_for(name)
        if view is not None:
            view.status = status
            self.refresh_status()

    def add_tab(self, name: str, buffer: int = 2000) -> LogView:
        """A tab for something run from the console (a runbook step)."""
        tabs = self.query_one(TabbedContent)
        index = len(self.sources) + len(self.query(LogView))
        view = LogView(name, buffer=buffer, id=f"log-extra-{index}")
        tabs.add_pane(TabPane(name, view, id=f"tab-extra-{index}"))
        tabs.active = f"tab-extra-{index}"
        return view

    def set_view_status(self, view: LogView, status: str) -> None:
        """The status line of a tab made by add_tab (a runbook step)."""
        view.status = status
        if view is self.active_view():
            self.refresh_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_step":
            try:
                return self.active_view().source_name.startswith(self.STEP_PREFIX)
            except Exception:  # noqa: BLE001 - not composed yet
                return False
        return True

    def action_stop_step(self) -> None:
        name = self.active_view().source_name
        if name.startswith(self.STEP_PREFIX):
            self.post_message(self.StopRequested(name))

    def active_view(self) -> LogView:
        tabs = self.query_one(TabbedContent)
        pane = tabs.active_pane
        if pane is not None:
            views = list(pane.query(LogView))
            if views:
                return views[0]
        return self.all_view

    def errors_per_minute(self, name: str | None, minutes: int = 20) -> list[int]:
        return self.errors.per_minute(minutes=minutes, source=name)

    def refresh_status(self) -> None:
        view = self.active_view()
        name = None if view.source_name == "all" else view.source_name
        counts = self.errors_per_minute(name)
        text = Text(view.status_line(), style="dim")
        text.append("  errors/min ")
        text.append(sparkline(counts), style="red")
        text.append(f" {counts[-1]}" if counts else "")
        # one row, its height fixed by the stylesheet: no layout pass for a new status text
        self.query_one("#log-status", Static).update(text, layout=False)

    def on_log_view_changed(self, event: LogView.Changed) -> None:
        event.stop()
        if event.view is self.active_view():
            self.refresh_status()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_status()
        self.refresh_bindings()  # `s` (stop step) shows on step tabs only

    def action_filter(self) -> None:
        from warroom.ui.screens.prompt import PromptScreen

        def apply(values: dict[str, str] | None) -> None:
            if values is None:
                return
            self.last_filter = values["filter"]
            message = self.active_view().set_filter(values["filter"])
            if message:
                self.notify(message, severity="warning", markup=False)
            self.refresh_status()

        self.app.push_screen(
            PromptScreen(
                "Filter log lines (text or regex; empty clears)",
                [("filter", "Filter:", self.last_filter, "timeout|5\\d\\d")],
            ),
            apply,
        )

    def action_highlight(self) -> None:
        self.active_view().toggle_highlight()
        self.refresh_status()

    def action_level(self) -> None:
        from warroom.ui.screens.pick import PickScreen

        def apply(level: str | None) -> None:
            if level:
                self.active_view().set_min_level(level)
                self.refresh_status()

        self.app.push_screen(
            PickScreen(
                "Show lines at or above",
                [("debug", "debug (everything)"), ("info", "info"), ("warn", "warn"), ("error", "error")],
                self.active_view().min_level,
            ),
            apply,
        )
