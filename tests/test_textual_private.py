"""The private parts of Textual the console leans on (ui/textual_private.py) are still there.

An upgrade of Textual that renames or removes one fails here, by name, instead of the
console quietly losing what it gave (keys landing in order, a cheap log view, exact typing).
"""

from __future__ import annotations

from textual.app import App
from textual.geometry import Size
from textual.widgets import Input

from warroom.ui import textual_private
from warroom.ui.panes.logview import LogView


def test_every_relied_on_private_name_exists():
    assert textual_private.missing() == []


def test_the_wrappers_work_on_a_running_app():
    class Probe(App[None]):
        def compose(self):
            yield Input(id="field")
            yield LogView("probe", id="view")

    async def go() -> None:
        app = Probe()
        async with app.run_test() as pilot:
            await pilot.pause()
            field = app.query_one("#field", Input)
            assert any(b.action for b in textual_private.key_bindings(field, "backspace"))
            textual_private.restart_blink(field)
            assert textual_private.busy(field) in (True, False)
            assert textual_private.has_refresh_callbacks(app.screen) in (True, False)
            view = app.query_one("#view", LogView)
            textual_private.set_virtual_size(view, Size(10, 123))
            assert view.virtual_size == Size(10, 123)

    import asyncio

    asyncio.run(go())
