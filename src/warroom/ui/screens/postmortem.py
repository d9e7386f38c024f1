"""The post-mortem's written fields, one at a time: the list on the left says which are
written and which are still to write; Enter opens one in the editor, ctrl+s saves it as one
event (a contributing factor is added to the list), Escape goes back to the list.

The screen never writes: it hands each saved field to `save` (the app records it on the
recorder thread) and shows it as saved at once. Record text is shown inert (rich Text).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from warroom.record.events import MAX_TEXT
from warroom.record.writeup import BY_NAME, WRITTEN_FIELDS, WrittenField
from warroom.text.sanitize import sanitize

HELP_LIST = "Enter: write the selected field    Esc: close"
HELP_EDIT = "ctrl+s: save this field (one entry on the timeline)    Esc: back to the list"


class PostmortemScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save field", priority=True),
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self,
        incident_label: str,
        values: dict[str, str],
        items: dict[str, list[str]],
        save: Callable[[str, str], None],
    ) -> None:
        """values: field -> text as recorded; items: list field -> its items; save(field, text)
        records one field (for a list field: adds one item)."""
        super().__init__()
        self.incident_label = incident_label
        self.values = dict(values)
        self.items = {name: list(found) for name, found in items.items()}
        self.save = save
        self.editing: WrittenField | None = None
        self.discard_armed = False  # Esc once more leaves the editor without saving

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="postmortem"):
            yield Label(Text(f"Post-mortem of {self.incident_label}"), classes="dialog-title")
            with Horizontal():
                yield OptionList(*[self._option(f) for f in WRITTEN_FIELDS], id="postmortem-fields")
                with Vertical(id="postmortem-side"):
                    yield Static("", id="postmortem-current")
                    yield TextArea("", id="postmortem-text", soft_wrap=True, disabled=True)
            yield Static("", id="postmortem-error", classes="dialog-error")
            yield Static(Text(HELP_LIST), id="postmortem-help", classes="dialog-help")

    def on_mount(self) -> None:
        fields = self.query_one(OptionList)
        fields.highlighted = 0
        fields.focus()

    # --- the list ------------------------------------------------------------------

    def _is_written(self, written: WrittenField) -> bool:
        return (
            bool(self.items.get(written.name)) if written.is_list else bool(self.values.get(written.name, "").strip())
        )

    def _option(self, written: WrittenField) -> Option:
        line = Text(f"{'✓' if self._is_written(written) else '·'} {written.label}")
        if written.is_list and self.items.get(written.name):
            line.append(f" ({len(self.items[written.name])})", style="dim")
        return Option(line, id=written.name)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if self.editing is None and event.option.id:
            self._preview(BY_NAME[event.option.id])

    def _preview(self, written: WrittenField) -> None:
        """What the field holds now, or what belongs in it: shown beside the list."""
        text = Text()
        text.append(f"{written.label}\n", style="bold")
        if written.is_list:
            for item in self.items.get(written.name, []):
                text.append("- ")
                text.append(sanitize(item, limit=2000, multiline=True) + "\n")
            text.append(f"({written.asks})" if not self.items.get(written.name) else "Enter adds one more.")
        else:
            value = self.values.get(written.name, "")
            if value.strip():
                lines = sanitize(value, limit=4000, multiline=True).split("\n")
                text.append("\n".join(lines[:12]))
                if len(lines) > 12:
                    text.append(f"\n… {len(lines) - 12} more lines", style="dim")
            else:
                text.append(f"(not written yet: {written.asks})", style="dim")
        self.query_one("#postmortem-current", Static).update(text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self._edit(BY_NAME[event.option.id])

    # --- the editor ----------------------------------------------------------------

    def _edit(self, written: WrittenField) -> None:
        self.editing = written
        self.discard_armed = False
        self._preview(written)
        area = self.query_one(TextArea)
        area.disabled = False
        area.text = "" if written.is_list else self.values.get(written.name, "")
        area.border_title = f"{'Add to: ' if written.is_list else ''}{written.label}"
        area.focus()
        self._say("")
        self.query_one("#postmortem-help", Static).update(Text(HELP_EDIT))

    def _leave_editor(self) -> None:
        written = self.editing
        self.editing = None
        area = self.query_one(TextArea)
        area.text = ""
        area.border_title = None
        area.disabled = True
        fields = self.query_one(OptionList)
        fields.focus()
        self.query_one("#postmortem-help", Static).update(Text(HELP_LIST))
        if written is not None:
            self._preview(written)

    def _say(self, message: str) -> None:
        error = self.query_one("#postmortem-error", Static)
        error.update(Text(message))
        error.set_class(bool(message), "-shown")

    def action_save(self) -> None:
        written = self.editing
        if written is None:
            return
        text = self.query_one(TextArea).text.strip()
        if len(text) > MAX_TEXT:
            self._say(
                f"{written.label} is {len(text)} characters long; a field takes at most {MAX_TEXT}: "
                f"nothing was saved. Shorten it (the text stays here)."
            )
            return
        if written.is_list and not text:
            self._say(f"Write one {written.label.lower().rstrip('s')} to add, or Esc to go back.")
            return
        self.save(written.name, text)
        if written.is_list:
            self.items.setdefault(written.name, []).append(text)
        else:
            self.values[written.name] = text
        fields = self.query_one(OptionList)
        index = [f.name for f in WRITTEN_FIELDS].index(written.name)
        fields.replace_option_prompt_at_index(index, self._option(written).prompt)
        self._leave_editor()

    def action_back(self) -> None:
        written = self.editing
        if written is None:
            self.dismiss(None)
            return
        typed = self.query_one(TextArea).text.strip()
        saved = "" if written.is_list else self.values.get(written.name, "").strip()
        if typed != saved and not self.discard_armed:
            self.discard_armed = True
            self._say("Not saved yet: ctrl+s saves it, Esc again leaves it unsaved.")
            return
        self._say("")
        self._leave_editor()
