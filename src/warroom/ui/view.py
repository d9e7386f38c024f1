"""What the panes are given: the folded state and the incident on screen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from warroom.config import Config
from warroom.record.model import Incident, Summary
from warroom.text.sanitize import sanitize


@dataclass(frozen=True, eq=False)
class ConsoleView:
    """The incident list and the head of the incident on screen (its timeline rows reach the
    timeline pane as changes, never whole)."""

    summaries: tuple[Summary, ...]
    incident: Incident | None
    config: Config

    @property
    def open_count(self) -> int:
        return sum(1 for summary in self.summaries if summary.open)

    def severity_class(self) -> str:
        """CSS class for the incident's severity colour: sev-0 is the worst level."""
        if self.incident is None:
            return "sev-none"
        return f"sev-{min(3, self.config.severity.rank(self.incident.severity))}"


def inert(text: str, style: str = "", limit: int = 2000) -> Text:
    """Untrusted text as a Text object: never parsed as markup, escapes neutralised."""
    return Text(sanitize(text, limit=limit), style=style, no_wrap=False, end="")


def show(widget: Static, text: Text) -> None:
    """Static.update, but without laying the screen out again when the new text takes the
    same room as the old (same lines, same widths). The header and the countdown change every
    second; a layout pass of the whole screen each time costs tens of milliseconds while a log
    floods in, and keys wait behind it."""
    old = widget.content
    same_room = isinstance(old, Text) and [cell_len(line) for line in old.plain.split("\n")] == [
        cell_len(line) for line in text.plain.split("\n")
    ]
    widget.update(text, layout=not same_room)


PHASES = ("ok", "soon", "overdue")


def set_phase(widget: Widget, phase: str | None) -> None:
    """Give the widget the countdown phase's class (and no other phase's); nothing changes,
    and nothing is restyled, when it already has it: this runs every second."""
    for name in PHASES:
        if widget.has_class(name) != (name == phase):
            widget.set_class(name == phase, name)


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """Values as a row of block characters, the largest full height (latency, errors/min)."""
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, int(v / top * (len(SPARK) - 1) + 0.5))] for v in values)
