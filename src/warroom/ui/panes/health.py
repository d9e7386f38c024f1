"""The Health pane: each configured check, its state, latency, history and reason."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from warroom.config import CheckConfig
from warroom.ui.panes.logs import sparkline
from warroom.ui.view import inert

STATE_STYLE = {"up": "bold green", "degraded": "bold yellow", "down": "bold red", "unknown": "dim"}
STATE_MARK = {"up": "●", "degraded": "◐", "down": "✖", "unknown": "○"}
STRIP_MARK = {"up": "▁", "degraded": "▄", "down": "█", "unknown": " "}


class HealthPane(DataTable):
    def __init__(self, checks: tuple[CheckConfig, ...], **kwargs) -> None:
        super().__init__(cursor_type="row", show_header=False, **kwargs)
        self.checks = checks

    def on_mount(self) -> None:
        self.border_title = "Health"
        self.add_column("check", key="check")
        self.add_column("state", key="state")
        self.add_column("latency", key="latency")
        self.add_column("history", key="history")
        self.add_column("detail", key="detail")
        for check in self.checks:
            self.add_row(Text(check.name), Text("○ not started", style="dim"), Text(""), Text(""),
                         Text(check.kind, style="dim"), key=check.name)
        if not self.checks:
            self.add_row(Text("no checks", style="dim"), Text(""), Text(""), Text(""),
                         Text("add [[check]] to warroom.toml", style="dim"), key="-none-")
        self.border_subtitle = ""

    def show_result(self, result, history: list) -> None:
        """result: sources.health.CheckResult; history: that check's recent results, oldest first."""
        if result.name not in self.rows:
            return
        state = result.state
        self.update_cell(result.name, "state", Text(f"{STATE_MARK.get(state, '?')} {state}",
                                                    style=STATE_STYLE.get(state, "")))
        latency = f"{result.latency * 1000:.0f}ms" if result.latency is not None else ""
        self.update_cell(result.name, "latency", Text(latency))
        strip = Text()
        for past in history[-12:]:
            strip.append(STRIP_MARK.get(past.state, " "), style=STATE_STYLE.get(past.state, ""))
        latencies = [p.latency or 0.0 for p in history[-12:]]
        strip.append(" ")
        strip.append(sparkline(latencies), style="cyan")
        self.update_cell(result.name, "history", strip)
        self.update_cell(result.name, "detail", inert(result.detail, limit=200), update_width=False)
        down = sum(1 for name in self.rows if self.get_cell(name, "state").plain.endswith(" down"))
        self.border_subtitle = f"{down} down" if down else "all up" if self._all_known() else ""

    def _all_known(self) -> bool:
        return all(not self.get_cell(name, "state").plain.endswith("not started") for name in self.rows)
