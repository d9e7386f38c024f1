"""Small modal forms and questions.

PromptScreen: one or more text fields. Enter in a field moves to the next one; the form is
accepted from the last field or with ctrl+s, and only once its required fields are filled
(until then it says which are missing, marks them on their borders and goes to the
first). Escape cancels. The form scrolls when it is taller than the terminal.
ConfirmScreen: a yes/no question before something runs (y: yes; n or Escape: no). Enter
answers nothing, so the Enter that asked (a runbook step's), pressed twice, runs nothing.
AskScreen: a question only `y` answers yes; any other key is no, and is used up by it.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


def clear_missing(event: Input.Changed) -> None:
    """A required field marked missing loses the mark once something is typed into it."""
    if event.value.strip() and event.input.has_class("-missing"):
        event.input.remove_class("-missing")
        event.input.border_subtitle = None


class PromptScreen(ModalScreen[dict[str, str] | None]):
    """fields: (key, label, initial value, placeholder). Returns {key: value} or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "accept", "Accept", priority=True)]

    def __init__(
        self, title: str, fields: list[tuple[str, str, str, str]], note: str = "", required: tuple[str, ...] = ()
    ) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.note = note
        self.required = required

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", can_focus=False):
            yield Label(Text(self.title_text), classes="dialog-title")
            if self.note:
                yield Static(Text(self.note), classes="dialog-note")
            for key, label, value, placeholder in self.fields:
                yield Label(Text(label))
                yield Input(value=value, placeholder=placeholder, id=f"field-{key}")
            yield Static("", id="prompt-error", classes="dialog-error")
            keys = (
                "Enter: accept"
                if len(self.fields) == 1
                else "Enter: next field, accepts from the last    ctrl+s: accept"
            )
            yield Static(Text(f"{keys}    Esc: cancel"), classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        clear_missing(event)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
            return
        self.action_accept()

    def action_accept(self) -> None:
        values = {inp.id.removeprefix("field-"): inp.value for inp in self.query(Input) if inp.id}
        missing = [key for key, *_ in self.fields if key in self.required and not values.get(key, "").strip()]
        if missing:
            labels = {key: label.rstrip(": ") for key, label, *_ in self.fields}
            names = ", ".join(labels[key] for key in missing)
            for key in missing:
                marked = self.query_one(f"#field-{key}", Input)
                marked.add_class("-missing")
                marked.border_subtitle = "required"

            self.query_one("#prompt-error", Static).update(Text(f"Still needed: {names}."))
            self.query_one(f"#field-{missing[0]}", Input).focus()
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape,n", "answer(False)", "No"), Binding("y", "answer(True)", "Yes")]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.question), classes="dialog-title")
            if self.detail:
                yield Static(Text(self.detail), classes="dialog-note")
            yield Static(Text("y: yes    n / Esc: no"), classes="dialog-help")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class AskScreen(ModalScreen[bool]):
    """For questions whose yes cannot be undone (quitting): y is yes, any other key is no."""

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="ask"):
            yield Label(Text(self.question), classes="dialog-title")
            if self.detail:
                yield Static(Text(self.detail), classes="dialog-note")
            yield Static(Text("y: yes    any other key: no"), classes="dialog-help")

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        self.dismiss(event.character in ("y", "Y"))
