"""Under the timeline: the typed lines the record does not hold yet ("… saving"), the ones it
refused ("✗ not logged", kept for ctrl+r), and a held multi-line paste waiting for a choice."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from warroom.ui.view import inert

PASTE_HINT = (
    "{lines} lines pasted: Enter logs them as one entry, ctrl+l as {lines} entries (one per line), Esc drops them"
)
SHOWN_PENDING = 5  # lines listed; more are counted


@dataclass
class Pending:
    key: int
    incident_id: str
    text: str
    error: str = ""


class PendingStrip(Static):
    def on_mount(self) -> None:
        self.display = False

    def show(self, lines: list[Pending], held_lines: int) -> None:
        self.display = bool(lines) or bool(held_lines)
        if not self.display:
            return
        text = Text()
        if held_lines:
            text.append(PASTE_HINT.format(lines=held_lines) + "\n", style="bold")
        for line in lines[:SHOWN_PENDING]:
            first = (line.text.splitlines() or [""])[0]
            more = line.text.count("\n")
            body = inert(first, limit=300)
            if more:
                body.append(f" (+{more} lines)", style="dim")
            if line.error:
                text.append("✗ not logged: ", style="bold red")
                text.append_text(body)
                text.append(f"  ({line.error[:200]}; ctrl+r retries)\n", style="red")
            else:
                text.append("… saving: ", style="dim")
                text.append_text(body)
                text.append("\n")
        if len(lines) > SHOWN_PENDING:
            text.append(f"and {len(lines) - SHOWN_PENDING} more\n", style="dim")
        text.rstrip()
        self.update(text)
