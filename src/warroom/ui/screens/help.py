"""Every key of the console in one place (`?`)."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help"):
            yield Label("Keys", classes="dialog-title")
            for title, keys in self.sections:
                table = Table.grid(padding=(0, 2))
                table.add_column(style="bold", min_width=10)
                table.add_column()
                for key, description in keys:
                    table.add_row(key, description)
                yield Label(title, classes="help-section")
                yield Static(table)
            yield Static("Esc: close", classes="dialog-help")

    def action_close(self) -> None:
        self.dismiss(None)
