"""Logs line up (issue 17, item 6): every line has a time column (its own time, or the time it
arrived, dimmed, when it carries none), the level is said once, the filter reads as typed, and
the lines take the theme's colours (item 7)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from console_support import app_room, console_ready  # noqa: F401 (app_room: a fixture)
from rich.color import Color as RichColor

from warroom.sources.parse import LogLine
from warroom.ui.factory import make_app
from warroom.ui.panes.logs import LogsPane

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def drawn(view, line) -> str:
    return "".join(segment.text for segment in view.line_segments(line))


async def test_a_line_without_a_time_shows_when_it_arrived_and_the_level_once(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        pane = app.query_one(LogsPane)
        own = LogLine("all", "INFO job 48201 render_invoice started", "info",
                      datetime(2026, 11, 24, 14, 58, 1, tzinfo=UTC), 1)
        bare = LogLine("all", "ERROR: job 48202 failed \x1b[31m[red]boom[/red]", "error", None, 2)
        untagged = LogLine("all", "INFORMATION is not a level word here", None, None, 3)
        pane.all_view.add_lines([own, bare, untagged])
        view = pane.all_view
        assert drawn(view, own).startswith("14:58:01 INF all        job 48201")
        assert drawn(view, bare).startswith("15:00:00 ERR all        job 48202")  # the clock: arrival
        assert drawn(view, untagged).startswith("15:00:00     all        INFORMATION is")
        assert len({drawn(view, line).index("all ") for line in (own, bare, untagged)}) == 1  # one column
        arrival = view.line_segments(bare)[0]
        assert arrival.style.dim and arrival.style.italic
        assert "[red]boom[/red]" in drawn(view, bare)  # shown as text, never as markup
        assert view.line_segments(bare) == list(view.line_text(bare).render(app.console))


async def test_the_filter_reads_as_typed(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        view = app.query_one(LogsPane).all_view
        view.set_filter(r"\d{4}")
        assert "filter “\\d{4}”" in view.status_line()
        assert "\\\\" not in view.status_line()


@pytest.mark.parametrize("theme", ["warroom-dark", "warroom-light", "warroom-high-contrast"])
async def test_log_lines_take_the_themes_colours(app_room, clock, theme):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.theme = theme
        await console_ready(pilot)
        view = app.query_one(LogsPane).all_view
        line = LogLine("all", "job failed", "error", None, 1)
        view.add_lines([line])
        await pilot.pause(0.1)
        error = [segment for segment in view.line_segments(line) if segment.text == "ERR "][0]
        assert error.style.color == RichColor.parse(app.current_theme.error)
        strip = view.render_line(0)
        backgrounds = {segment.style.bgcolor for segment in strip if segment.style}
        assert backgrounds == {view.rich_style.bgcolor}  # the pane's, never the terminal's default
        assert view.rich_style.bgcolor is not None
