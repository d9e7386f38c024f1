"""A modal list to pick one option from, by arrow keys and Enter (or its number)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class PickScreen(ModalScreen[str | None]):
    """Returns the chosen option's id, or None on Escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, options: list[tuple[str, str]], selected: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.selected = selected

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield OptionList(
                *[
                    Option(Text(f"{n}  {label}" if n <= 9 else label), id=key)
                    for n, (key, label) in enumerate(self.options, start=1)
                ],
                id="pick",
            )

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        ids = [key for key, _ in self.options]
        if self.selected in ids:
            option_list.highlighted = ids.index(self.selected)
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def on_key(self, event) -> None:
        if event.character and event.character.isdigit() and event.character != "0":
            index = int(event.character) - 1
            if index < len(self.options):
                event.stop()
                self.dismiss(self.options[index][0])

    def action_cancel(self) -> None:
        self.dismiss(None)
