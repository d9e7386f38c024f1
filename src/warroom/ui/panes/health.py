"""The Health pane: each configured check, its state, latency history and reason.

Two lines a check, so the reason a check is down is always visible, even in a narrow column.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from warroom.config import CheckConfig
from warroom.text.sanitize import sanitize
from warroom.ui.view import sparkline

STATE_STYLE = {"up": "bold green", "degraded": "bold yellow", "down": "bold red", "unknown": "dim", "disabled": "dim"}
STATE_VARIABLE = {"up": "check-up", "degraded": "check-degraded", "down": "check-down", "unknown": "check-unknown"}
STATE_MARK = {"up": "●", "degraded": "◐", "down": "✖", "unknown": "○"}
STRIP_MARK = {"up": "▁", "degraded": "▄", "down": "█", "unknown": " "}


class HealthPane(Static, can_focus=True):
    def __init__(self, checks: tuple[CheckConfig, ...], **kwargs) -> None:
        super().__init__("", **kwargs)
        self.checks = checks
        self.results: dict[str, Any] = {}
        self.histories: dict[str, list[Any]] = {}

    def on_mount(self) -> None:
        self.border_title = "Health"
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.redraw())
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()  # the history strips take the room the row has, no more

    def show_result(self, result, history: list[Any]) -> None:
        """result: sources.health.CheckResult; history: that check's recent results, oldest first."""
        self.results[result.name] = result
        self.histories[result.name] = list(history)[-12:]
        self.redraw()

    def states(self) -> dict[str, str]:
        return {
            check.name: "disabled" if check.disabled else getattr(self.results.get(check.name), "state", "not started")
            for check in self.checks
        }

    def state_styles(self) -> dict[str, str]:
        """The states' colours from the theme (check-up, ...): a light theme's are darker."""
        try:
            variables = self.app.current_theme.variables
        except Exception:  # noqa: BLE001 - not attached to an app (a bare render in a test)
            return STATE_STYLE
        styles = dict(STATE_STYLE)
        for state, name in STATE_VARIABLE.items():
            if name in variables:
                styles[state] = f"{'' if state == 'unknown' else 'bold '}{variables[name]}"
        return styles

    def redraw(self) -> None:
        state_style = self.state_styles()
        if not self.checks:
            self.update(Text("No checks configured.\nAdd [[check]] to warroom.toml.", style="dim"))
            return
        room = self.content_region.width or 80
        # The state word is what matters at 3 a.m.: it is always whole; a long name gives way.
        width = min(max(len(check.name) for check in self.checks), max(4, room - 2 - 1 - 8))

        def name(check: CheckConfig) -> str:
            return check.name if len(check.name) <= width else check.name[: width - 1] + "…"

        # mark, name, state and latency first; the rest of the row is shared by the latency
        # sparkline and the state strip (up to 8 marks each), so a row is never two lines
        fixed = 2 + width + 1 + 9
        show_latency = room >= fixed + 8
        marks = max(0, min(8, (room - fixed - (8 if show_latency else 0) - 1) // 2))
        text = Text(no_wrap=True, overflow="ellipsis")
        for check in self.checks:
            result = self.results.get(check.name)
            if check.disabled:  # never run: a ${VAR} it needs is unset
                text.append(f"⊘ {name(check):<{width}}  disabled\n", style="dim")
                text.append(f"  {check.disabled}\n", style="yellow")
                continue
            if result is None:
                text.append(f"○ {name(check):<{width}}  not started\n", style="dim")
                text.append(f"  {check.kind} every {check.every:g}s\n", style="dim")
                continue
            history = self.histories.get(check.name, [])
            style = state_style.get(result.state, "")
            text.append(f"{STATE_MARK.get(result.state, '?')} ", style=style)
            text.append(f"{name(check):<{width}} ", style="bold")
            text.append(f"{result.state:<8} ", style=style)
            if show_latency:
                text.append(f"{result.latency * 1000:>5.0f}ms " if result.latency is not None else "     -  ")
            if marks:
                recent = history[-marks:]
                text.append(sparkline([p.latency or 0.0 for p in recent]), style="cyan")
                text.append(" ")
                for past in recent:
                    text.append(STRIP_MARK.get(past.state, " "), style=state_style.get(past.state, ""))
            text.rstrip()
            text.append("\n")
            detail = sanitize(result.detail, limit=300).replace("\n", " ")
            text.append(f"  {detail}\n", style="dim" if result.state == "up" else style.replace("bold ", ""))
        self.update(text)
        states = [state for state in self.states().values() if state != "disabled"]
        down = sum(1 for state in states if state == "down")
        known = all(state != "not started" for state in states)
        subtitle = f"{down} down" if down else ("all up" if states and known and all(s == "up" for s in states) else "")
        disabled = len(self.checks) - len(states)
        self.border_subtitle = ", ".join(filter(None, [subtitle, f"{disabled} disabled" if disabled else ""]))
