"""Declare an incident: title, severity (picked from the profile), impact.

Enter moves from field to field (title, severity, impact); the dialog declares only from
the last field or with ctrl+s, and only once the title and the impact are filled: until
then it says which is missing and goes to it. A severity's number highlights it; Enter
then moves on, as it does from the list after the arrow keys. A missing field is also
marked on its own border, so the mark is in view wherever the dialog is scrolled (it
scrolls on a small terminal: at 80x24 it is taller than the screen).
"""

from __future__ import annotations

from textwrap import shorten

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from warroom.config import SeverityProfile
from warroom.profiles import target_form
from warroom.ui.screens.prompt import clear_missing

HELP = "Enter: next field, declares from the last    ctrl+s: declare    Tab: move    Esc: cancel"
REQUIRED = (("declare-title", "the title (what is broken)"), ("declare-impact", "the impact (who is affected, how)"))
MISSING = "required: fill in, then Enter"


class DeclareScreen(ModalScreen[dict[str, str] | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "declare", "Declare", priority=True)]

    def __init__(self, profile: SeverityProfile) -> None:
        super().__init__()
        self.profile = profile

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="declare", can_focus=False):
            yield Label("Declare an incident", classes="dialog-title")
            yield Label("What is broken (title):")
            yield Input(placeholder="e.g. Checkout returns 500 for EU shoppers", id="declare-title")
            yield Label("Severity (↑↓ or its number, then Enter):")
            options = []
            for n, level in enumerate(self.profile.levels, start=1):
                line = Text.assemble(
                    (f"{n} {level.id:<5}", "bold"),
                    f"{level.label}: ",
                    shorten(level.description, 70, placeholder="…"),
                    (
                        f"  ack {target_form(level.acknowledge_within)}, "
                        f"updates {'every ' if level.update_every else ''}{target_form(level.update_every)}",
                        "dim",
                    ),
                )
                options.append(Option(line, id=level.id))
            yield OptionList(*options, id="declare-severity")
            yield Label("Impact (who is affected, how):")
            yield Input(placeholder="e.g. EU shoppers cannot pay", id="declare-impact")
            yield Static("", id="declare-error", classes="dialog-error")
            yield Static(Text(HELP), classes="dialog-help")

    def on_mount(self) -> None:
        severity = self.query_one("#declare-severity", OptionList)
        severity.highlighted = min(1, len(self.profile.levels) - 1)
        self.query_one("#declare-title", Input).focus()

    def on_key(self, event: events.Key) -> None:
        # A severity's number picks it; Enter then moves on (it never declares from here).
        severity = self.query_one("#declare-severity", OptionList)
        if self.focused is severity and event.character and event.character.isdigit():
            index = int(event.character) - 1
            if 0 <= index < len(self.profile.levels):
                event.stop()
                severity.highlighted = index

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#declare-impact", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        clear_missing(event)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "declare-title":
            self.query_one("#declare-severity").focus()
            return
        self.action_declare()

    def action_declare(self) -> None:
        values = {field: self.query_one(f"#{field}", Input).value.strip() for field, _ in REQUIRED}
        missing = [(field, name) for field, name in REQUIRED if not values[field]]
        if missing:
            for field, _ in missing:
                marked = self.query_one(f"#{field}", Input)
                marked.add_class("-missing")
                marked.border_subtitle = MISSING
            names = " and ".join(name for _, name in missing)
            self.query_one("#declare-error", Static).update(Text(f"Still needed: {names}. Nothing is declared yet."))
            self.query_one(f"#{missing[0][0]}", Input).focus()
            return
        severity = self.query_one("#declare-severity", OptionList)
        index = severity.highlighted if severity.highlighted is not None else 0
        self.dismiss(
            {
                "title": values["declare-title"],
                "severity": self.profile.levels[index].id,
                "impact": values["declare-impact"],
            }
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
