"""A pane's place-holder for the first frame."""

from __future__ import annotations

from textual.lazy import Lazy
from textual.widget import Widget


class Deferred(Lazy):
    """Holds a pane's place in the first frame, framed and titled like the pane but empty,
    and swaps the pane in right after that frame is painted (Textual's Lazy does the swap).

    The console appears sooner, and nothing moves when the pane arrives: the stylesheet
    sizes `.deferred-<id>` exactly as it sizes `#<id>`. Only for panes with nothing to show
    in the first frame anyway: the live sources start after it, and hidden tabs."""

    DEFAULT_CSS = """
    Deferred { display: block; }
    """

    def __init__(self, pane: Widget, title: str = "") -> None:
        super().__init__(pane)
        self.border_title = title
        if pane.id:
            self.add_class(f"deferred-{pane.id}")
