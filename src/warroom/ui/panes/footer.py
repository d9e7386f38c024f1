"""The footer: the keys that work where the focus is, `?` and `q` always first.

Textual's footer lists the focused widget's keys before the app's and is cut at the right
edge, so at 80 or 120 columns the help and quit keys fell off the end.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

FIRST = ("help", "quit_console")
NO_INCIDENT_FIRST = (*FIRST, "declare")  # nothing on screen: the pane's keys act on nothing yet


class ConsoleFooter(Footer):
    def compose(self) -> ComposeResult:
        shown = list(super().compose())
        wanted = NO_INCIDENT_FIRST if getattr(self.app, "incident", True) is None else FIRST
        first = [key for action in wanted for key in shown if getattr(key, "action", None) == action]
        yield from first
        yield from (widget for widget in shown if widget not in first)
