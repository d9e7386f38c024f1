"""Screens as pictures: the main screen in each theme at 120x40 and 80x24, the dialogs,
and an overdue countdown. The clock is frozen and ids are seeded, so they are stable."""

from __future__ import annotations

import pytest
from console_support import open_room, story
from textual.widgets import Input

from warroom.ui.factory import make_app

THEMES = ("warroom-dark", "warroom-light", "warroom-high-contrast")


@pytest.fixture
def demo_app(room_dir, clock):
    room = open_room(room_dir, clock)
    story(room, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    yield app
    room.close()


async def settle(pilot) -> None:
    """Wait for the record and the screen to be still: no blinking cursor, no pending write."""
    await pilot.pause(0.1)  # the panes mounted just after the first frame are in
    for field in pilot.app.screen.query("Input, TextArea"):
        field.cursor_blink = False
    pilot.app.recorder.wait_idle()
    await pilot.pause(0.2)
    pilot.app.recorder.wait_idle()
    await pilot.pause(0.2)


def with_theme(name: str):
    async def run_before(pilot) -> None:
        pilot.app.theme = name
        await settle(pilot)
    return run_before


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_main_screen(snap_compare, demo_app, theme, size):
    assert snap_compare(demo_app, terminal_size=size, run_before=with_theme(theme))


def test_declare_dialog(snap_compare, demo_app):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("D", *"Search is down")
        await settle(pilot)
    assert snap_compare(demo_app, terminal_size=(120, 40), run_before=run_before)


def test_declare_dialog_after_the_severity_was_picked(snap_compare, demo_app):
    """Title typed, P1 picked by its number, Enter (to the impact) and Enter again with the
    impact empty: P1 stays highlighted, the impact has the focus and the dialog names it."""
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("D", *"Search is down", "enter", "1", "enter", "enter")
        await settle(pilot)
    assert snap_compare(demo_app, terminal_size=(120, 40), run_before=run_before)


def test_update_composer(snap_compare, demo_app):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("u")
        for _ in range(200):  # the composer opens once the recorder has read the incident
            if type(pilot.app.screen).__name__ == "ComposerScreen":
                break
            await pilot.pause(0.05)
        await settle(pilot)
    assert snap_compare(demo_app, terminal_size=(120, 40), run_before=run_before)


def test_overdue_countdown(snap_compare, demo_app, clock):
    async def run_before(pilot) -> None:
        pilot.app.bell = lambda: None
        clock.advance(minutes=7)  # 5 minutes past due
        await settle(pilot)
        pilot.app.query_one("#countdown").tick()
        pilot.app.query_one("#header").refresh_times()
        await pilot.pause(0.1)
    assert snap_compare(demo_app, terminal_size=(120, 40), run_before=run_before)
