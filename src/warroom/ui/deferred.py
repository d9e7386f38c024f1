"""A pane's place-holder for the first frame."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from textual.widget import Widget


class Deferred(Widget):
    """Holds a pane's place in the first frame, framed and titled like the pane but empty,
    and puts the pane there two frames later: after the first frame, and after the one that
    brings the timeline's rows, which matter more.

    The pane is made by `make` only then, so its modules (the tabs, the footer, the logs
    pane) are imported after the first frame too. `make` runs on the app, so a pane made
    there can `data_bind` to the app's reactives. Nothing moves when the pane arrives: the
    stylesheet sizes `.deferred-<id>` as it sizes `#<id>`. Only for panes with nothing to
    show in the first frame: the live sources start after it, and hidden tabs."""

    DEFAULT_CSS = """
    Deferred { height: auto; }
    """

    def __init__(self, make: Callable[[], Widget], *, pane_id: str, title: str = "") -> None:
        super().__init__(classes=f"deferred-{pane_id}")
        self.make = make
        self.border_title = title

    def on_mount(self) -> None:
        self.call_after_refresh(self.call_after_refresh, self.app.call_later, self.swap)

    async def swap(self) -> None:  # on the app's message loop (call_later), for make's data_bind
        parent = self.parent
        if parent is None:  # the app is closing
            return
        await cast(Widget, parent).mount(self.make(), after=self)
        await self.remove()
