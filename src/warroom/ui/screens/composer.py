"""The status-update composer: a template filled from the state, editable, then posted.

Posting records the update on the timeline (which restarts the countdown) and
copies the text to the clipboard, with a file as fallback for terminals that
ignore OSC 52.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from warroom.playbook.templates import unfilled, unfilled_hint


class ComposerScreen(ModalScreen[dict[str, str] | None]):
    BINDINGS = [
        Binding("ctrl+s", "post", "Post update", priority=True),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+t", "focus_templates", "Templates"),
    ]

    POST_HELP = "ctrl+s: post (records it, restarts the countdown, copies it)    ctrl+t: templates    Esc: cancel"

    def __init__(
        self,
        incident_label: str,
        templates: dict[str, str],
        selected: str,
        *,
        title: str = "Status update",
        help_text: str = POST_HELP,
    ) -> None:
        """templates: name -> text already filled from the state. The handover brief uses it
        with its own title and help (ctrl+s then copies without recording)."""
        super().__init__()
        self.incident_label = incident_label
        self.title_text = title
        self.help_text = help_text
        self.templates = templates
        self.selected = selected if selected in templates else next(iter(templates), "")
        self.warned_for = ""  # the text the unfilled-placeholder warning was shown for

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="composer"):
            yield Label(Text(f"{self.title_text} for {self.incident_label}"), classes="dialog-title")
            with Horizontal():
                yield OptionList(*[Option(Text(name), id=name) for name in self.templates], id="composer-templates")
                yield TextArea(self.templates.get(self.selected, ""), id="composer-text", soft_wrap=True)
            yield Static("", id="composer-error", classes="dialog-error")
            yield Static(Text(self.help_text), classes="dialog-help")

    def on_mount(self) -> None:
        names = list(self.templates)
        if self.selected in names:
            self.query_one(OptionList).highlighted = names.index(self.selected)
        area = self.query_one(TextArea)
        area.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.selected = event.option.id or self.selected
        area = self.query_one(TextArea)
        area.text = self.templates[self.selected]
        area.focus()

    def action_focus_templates(self) -> None:
        self.query_one(OptionList).focus()

    def action_post(self) -> None:
        area = self.query_one(TextArea)
        text = area.text.strip()
        if not text:  # nothing to post: say so rather than ignore the key
            self._say("Still needed: the update's text (write it, or ctrl+t to pick a template).")
            area.focus()
            return
        missing = unfilled(text)
        if missing and text != self.warned_for:  # a second ctrl+s on the same text posts it as it is
            self.warned_for = text
            self._say(f"Before posting: {unfilled_hint(missing)}. ctrl+s again posts it as it is.")
            area.focus()
            return
        self.dismiss({"text": text, "template": self.selected})

    def _say(self, message: str) -> None:
        error = self.query_one("#composer-error", Static)
        error.update(Text(message))
        error.add_class("-shown")

    def action_cancel(self) -> None:
        self.dismiss(None)
