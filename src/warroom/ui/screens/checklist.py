"""Closing an incident: tick the closure checklist; unticked items are recorded as skipped."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList, Static


class ChecklistScreen(ModalScreen[list[str] | None]):
    """Returns the list of skipped items (empty when all ticked), or None on cancel."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "close", "Close incident", priority=True)]

    def __init__(self, incident_label: str, items: tuple[str, ...]) -> None:
        super().__init__()
        self.incident_label = incident_label
        self.items = items
        self.confirming = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="checklist"):
            yield Label(Text(f"Close {self.incident_label}: closure checklist"), classes="dialog-title")
            yield SelectionList[str](*[(Text(item), item) for item in self.items], id="checklist-items")
            yield Static("", id="checklist-warning", classes="dialog-error")
            yield Static("Space: tick    ctrl+s: close the incident    Esc: cancel", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def skipped(self) -> list[str]:
        ticked = set(self.query_one(SelectionList).selected)
        return [item for item in self.items if item not in ticked]

    def action_close(self) -> None:
        skipped = self.skipped()
        if skipped and not self.confirming:
            self.confirming = True
            self.query_one("#checklist-warning", Static).update(
                Text(
                    f"{len(skipped)} item(s) not ticked: {', '.join(skipped)}. "
                    "Press ctrl+s again to close anyway (they are recorded as skipped)."
                )
            )
            return
        self.dismiss(skipped)

    def action_cancel(self) -> None:
        self.dismiss(None)
