"""Small modal forms: one or more text fields, Enter to accept, Escape to cancel."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static
from rich.text import Text


class PromptScreen(ModalScreen[dict[str, str] | None]):
    """fields: (key, label, initial value, placeholder). Returns {key: value} or None.

    Enter in the last field accepts; Enter in another moves to the next field.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, fields: list[tuple[str, str, str, str]], note: str = "",
                 required: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.note = note
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            if self.note:
                yield Static(Text(self.note), classes="dialog-note")
            for key, label, value, placeholder in self.fields:
                yield Label(Text(label))
                yield Input(value=value, placeholder=placeholder, id=f"field-{key}")
            yield Static("", id="prompt-error", classes="dialog-error")
            yield Static(Text("Enter: next / accept    Esc: cancel"), classes="dialog-help")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
            return
        values = {inp.id.removeprefix("field-"): inp.value for inp in inputs if inp.id}
        missing = [key for key in self.required if not values.get(key, "").strip()]
        if missing:
            label = next(label for key, label, *_ in self.fields if key == missing[0])
            self.query_one("#prompt-error", Static).update(Text(f"{label.rstrip(':')} is required"))
            self.query_one(f"#field-{missing[0]}", Input).focus()
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape,n", "answer(False)", "No"), Binding("y,enter", "answer(True)", "Yes")]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.question), classes="dialog-title")
            if self.detail:
                yield Static(Text(self.detail), classes="dialog-note")
            yield Static(Text("y / Enter: yes    n / Esc: no"), classes="dialog-help")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
