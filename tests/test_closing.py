"""Closing an incident from the console: `t`, pick "closed", then the closure checklist."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_support import app_room, wait_until  # noqa: F401 (app_room: a fixture)
from textual.widgets import OptionList, SelectionList, Static

from warroom.record.events import STATUSES
from warroom.record.store import Store
from warroom.ui.factory import make_app
from warroom.ui.screens.checklist import ChecklistScreen
from warroom.ui.screens.pick import PickScreen

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def status_events(db: Path) -> list:
    with Store(db, author="reader") as store:
        found = store.load().events
    return [e for e in found if e.kind == "incident.status"]


def closed_events(db: Path) -> list:
    return [e for e in status_events(db) if e.body.get("status") == "closed"]


async def open_checklist(app, pilot) -> ChecklistScreen:
    await pilot.press("t")
    await wait_until(pilot, lambda: isinstance(app.screen, PickScreen))
    app.screen.query_one(OptionList).highlighted = STATUSES.index("closed")
    await pilot.pause()
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, ChecklistScreen))
    return app.screen


async def test_closing_with_every_item_ticked_records_no_skipped(app_room, clock):
    db = app_room.store.path
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_checklist(app, pilot)
        screen.query_one(SelectionList).select_all()
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(closed_events(db)))
        assert not isinstance(app.screen, ChecklistScreen)
    [closed] = closed_events(db)
    assert not closed.body.get("skipped")


async def test_closing_with_unticked_items_warns_then_records_them(app_room, clock):
    db = app_room.store.path
    checklist = list(app_room.config.checklist)
    assert len(checklist) >= 3
    unticked = [checklist[1], checklist[-1]]
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_checklist(app, pilot)
        selection = screen.query_one(SelectionList)
        for item in checklist:
            if item not in unticked:
                selection.select(item)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        # first ctrl+s only warns
        assert app.screen is screen
        warning = str(screen.query_one("#checklist-warning", Static).render())
        assert "2 item(s) not ticked" in warning
        for item in unticked:
            assert item in warning
        await pilot.pause(0.2)
        assert closed_events(db) == []
        # second ctrl+s closes anyway
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(closed_events(db)))
        assert not isinstance(app.screen, ChecklistScreen)
    [closed] = closed_events(db)
    assert closed.body["skipped"] == unticked


async def test_escape_cancels_closing(app_room, clock):
    db = app_room.store.path
    before = len(status_events(db))
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_checklist(app, pilot)
        screen.query_one(SelectionList).select_all()
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ChecklistScreen))
        await pilot.pause(0.3)
    assert closed_events(db) == []
    assert len(status_events(db)) == before
