"""The footer: the keys that work where the focus is, `?` and `q` always first.

Textual's footer lists the focused widget's keys before the app's and is cut at the right
edge, so at 80 or 120 columns the help and quit keys fell off the end.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

FIRST = ("help", "quit_console")


class ConsoleFooter(Footer):
    def compose(self) -> ComposeResult:
        shown = list(super().compose())
        first = [key for action in FIRST for key in shown if getattr(key, "action", None) == action]
        yield from first
        yield from (widget for widget in shown if widget not in first)
