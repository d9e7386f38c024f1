"""Declare an incident: title, severity (picked from the profile), impact."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from rich.text import Text

from warroom.config import SeverityProfile, format_duration


class DeclareScreen(ModalScreen[dict[str, str] | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, profile: SeverityProfile) -> None:
        super().__init__()
        self.profile = profile

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="declare"):
            yield Label("Declare an incident", classes="dialog-title")
            yield Label("What is broken (title):")
            yield Input(placeholder="Checkout returns 500 for EU shoppers", id="declare-title")
            yield Label("Severity (↑↓ then Enter, or its number):")
            options = []
            for n, level in enumerate(self.profile.levels, start=1):
                line = Text.assemble((f"{n} {level.id:<5}", "bold"), f"{level.label}: ",
                                     level.description[:70],
                                     (f"  ack {format_duration(level.acknowledge_within)}, "
                                      f"updates every {format_duration(level.update_every)}", "dim"))
                options.append(Option(line, id=level.id))
            yield OptionList(*options, id="declare-severity")
            yield Label("Impact (who is affected, how):")
            yield Input(placeholder="EU shoppers cannot pay", id="declare-impact")
            yield Static("", id="declare-error", classes="dialog-error")
            yield Static("Enter: next / declare    Tab: move    Esc: cancel", classes="dialog-help")

    def on_mount(self) -> None:
        severity = self.query_one("#declare-severity", OptionList)
        severity.highlighted = min(1, len(self.profile.levels) - 1)
        self.query_one("#declare-title", Input).focus()

    def on_key(self, event) -> None:
        if self.focused is self.query_one("#declare-severity") and event.character and event.character.isdigit():
            index = int(event.character) - 1
            if 0 <= index < len(self.profile.levels):
                event.stop()
                self.query_one("#declare-severity", OptionList).highlighted = index
                self.query_one("#declare-impact", Input).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#declare-impact", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "declare-title":
            self.query_one("#declare-severity").focus()
            return
        self.submit()

    def submit(self) -> None:
        title = self.query_one("#declare-title", Input).value.strip()
        if not title:
            self.query_one("#declare-error", Static).update("A title is required: what is broken?")
            self.query_one("#declare-title", Input).focus()
            return
        severity = self.query_one("#declare-severity", OptionList)
        index = severity.highlighted if severity.highlighted is not None else 0
        self.dismiss({"title": title, "severity": self.profile.levels[index].id,
                      "impact": self.query_one("#declare-impact", Input).value.strip()})

    def action_cancel(self) -> None:
        self.dismiss(None)
