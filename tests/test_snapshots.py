"""Screens as pictures: the main screen in each theme at 200x60, 120x40 and 80x24 with a busy
incident (a flapping check, long entries, several log sources), the dialogs, and an overdue
countdown. The clock is frozen and ids are seeded, so they are stable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from console_support import console_ready, open_room, story
from textual.widgets import Input

from warroom.sources.parse import LogLine
from warroom.sources.results import CheckResult

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


BUSY_CONFIG = """
[[check]]
name = "checkout-api"
kind = "http"
url = "http://127.0.0.1:9/health"

[[check]]
name = "database"
kind = "command"
command = ["true"]

[[log]]
name = "checkout"
command = ["true"]

[[log]]
name = "worker"
command = ["true"]
"""
LONG = ("Customer support reports that shoppers in the EU see a spinner after pressing Pay and then "
        "a generic error; the card is sometimes charged twice, so refunds must be checked afterwards")


@pytest.fixture
def busy_app(room_dir, clock):
    """The story, then a check flapping six times, long entries, two log sources with lines
    (some carrying no time of their own), and the health pane's history."""
    with (room_dir / "warroom.toml").open("a") as config:
        config.write(BUSY_CONFIG)
    room = open_room(room_dir, clock)
    incident_id = story(room, clock)
    incident = room.head(incident_id)
    start = clock.now()
    clock.advance(minutes=-8)
    room.log(incident, LONG, "finding")
    for n in range(6):
        clock.advance(seconds=40)
        up, down = ("up", "degraded") if n % 2 == 0 else ("degraded", "up")
        room.record_flip(incident, "checkout-api", up, down, f"latency {820 + n * 7}ms over 800ms")
    room.log(incident, "Keep the retry flag off until the provider confirms the fix", "decision")
    clock.set(start)
    app = make_app(room, clock, start_sources=False, watch=False)

    async def feed() -> None:
        logs = app.query_one("#logs")
        at = clock.now() - timedelta(seconds=30)
        lines = []
        for n in range(14):
            source = "checkout" if n % 2 else "worker"
            stamped = at + timedelta(seconds=2 * n) if n % 3 else None  # every third: no time of its own
            level = "error" if n % 5 == 0 else ("warn" if n % 4 == 0 else "info")
            text = f"{level.upper()} job {48200 + n} capture_payment {'failed: provider timeout after 10s' if level == 'error' else 'done in 212ms'}"
            lines.append(LogLine(source, text, level, stamped, n + 1))
        for source in ("checkout", "worker"):
            logs.add_lines(source, [line for line in lines if line.source == source])
        health = app.query_one("#health")
        for name, states in (("checkout-api", "uduuddud"), ("database", "uuuuuuuu")):
            history = []
            for n, mark in enumerate(states):
                state = {"u": "up", "d": "degraded"}[mark]
                history.append(CheckResult(name, "http", state, "HTTP 200" if state == "up" else "latency 841ms over 800ms",
                                           200, 0.1 + 0.1 * n, clock.now()))
            health.show_result(history[-1], history)

    app.feed_busy = feed
    yield app
    room.close()


def busy(theme: str):
    async def run_before(pilot) -> None:
        pilot.app.theme = theme
        await console_ready(pilot)
        await pilot.app.feed_busy()
        await settle(pilot)
    return run_before


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", [(200, 60), (120, 40), (80, 24)], ids=["200x60", "120x40", "80x24"])
def test_main_screen(snap_compare, busy_app, theme, size):
    assert snap_compare(busy_app, terminal_size=size, run_before=busy(theme))


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
