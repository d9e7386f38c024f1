"""A timeline entry in full: text, author, times and its edit history."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from warroom.record.events import parse_time
from warroom.record.model import Entry
from warroom.text.sanitize import sanitize


class EntryScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, entry: Entry) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        entry = self.entry
        at = parse_time(entry.at)
        with VerticalScroll(classes="dialog", id="entry-details"):
            yield Label(
                Text(
                    f"{entry.type} by {sanitize(entry.author, limit=80)} at "
                    f"{at.strftime('%Y-%m-%d %H:%M:%S UTC')} ({at.astimezone().strftime('%H:%M local')})"
                ),
                classes="dialog-title",
            )
            yield Static(Text(sanitize(entry.text, limit=70_000, multiline=True)))  # whole: 64 KiB fits
            if len(entry.history) > 1:
                history = Text("\nHistory:\n", style="bold")
                for revision in entry.history:
                    history.append(f"{revision.at[11:19]} {sanitize(revision.author, limit=40)}: ", style="dim")
                    history.append(sanitize(revision.text, limit=2000) + "\n")
                yield Static(history)
            yield Static(Text(f"id {entry.id}"), classes="dialog-help")

    def action_close(self) -> None:
        self.dismiss(None)
