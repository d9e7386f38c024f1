"""The footer: the keys that work where the focus is, `?` and `q` always first.

Textual's footer lists the focused widget's keys before the app's and is cut at the right
edge, so at 80 or 120 columns the help and quit keys fell off the end.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

FIRST = ("help", "quit_console")
NO_INCIDENT_FIRST = (*FIRST, "declare")  # nothing on screen: the pane's keys act on nothing yet


class ConsoleFooter(Footer):
    _made_from: Any = None  # what the keys on show were made from

    def bindings_changed(self, screen: Screen) -> None:
        # Textual makes every key's widget again whenever the screen's bindings are looked at
        # again: as a dialog opens (`n` is not the console's while it is up) and again as it
        # closes (a severity or status pick), twenty widgets mounted and styled, 40 ms, often
        # before the frame that shows the change. The keys are made again only when they
        # differ from those on show, and not while a dialog covers this screen.
        if screen is self.screen and self.is_attached:
            if self.app.screen is not screen and self._made_from is not None:
                return
            made_from = (
                getattr(self.app, "incident", True) is None,
                [(b.key, b.description, enabled) for _, b, enabled, _ in screen.active_bindings.values() if b.show],
            )
            if made_from == self._made_from:
                return
            self._made_from = made_from
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        shown = list(super().compose())
        wanted = NO_INCIDENT_FIRST if getattr(self.app, "incident", True) is None else FIRST
        first = [key for action in wanted for key in shown if getattr(key, "action", None) == action]
        yield from first
        yield from (widget for widget in shown if widget not in first)
