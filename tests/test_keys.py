"""Every key in `?` works, the README's key table is the `?` screen's, and every tab and pane is
one key away (issue 17, item 1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from console_support import console_ready, events, open_room, story, wait_until
from textual.widgets import TabbedContent

from warroom.record.events import parse_time
from warroom.ui import keys
from warroom.ui.factory import make_app
from warroom.ui.panes.logs import LogsPane
from warroom.ui.panes.timeline import TimelinePane
from warroom.ui.screens.help import HelpScreen

pytestmark = pytest.mark.anyio
README = Path(__file__).resolve().parent.parent / "README.md"
SOURCES = '''
[[log]]
name = "checkout"
command = ["python3", "-c", "print('checkout up')"]

[[log]]
name = "worker"
command = ["python3", "-c", "print('worker up')"]
'''


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def busy_room(room_dir, clock):
    """The story's incident, two log sources, an open action item, a line in the logs."""
    with (room_dir / "warroom.toml").open("a") as config:
        config.write(SOURCES)
    room = open_room(room_dir, clock)
    incident_id = story(room, clock)
    room.add_action(room.head(incident_id), "Alert on pool saturation", "bob", "", "high", "")
    yield room
    room.close()


def readme_keys() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| pane | key | what it does |"):]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        pane, key = (cell.strip() for cell in line.strip("|").split("|")[:2])
        rows.append((pane, key.strip("`")))
    return rows


def test_the_readme_key_table_is_the_help_screen():
    shown = [(section, key) for section, rows in keys.help_sections() for key, _help in rows]
    assert readme_keys() == shown


def test_help_lists_every_key_by_pane_and_every_bound_key_is_listed():
    sections = [section for section, _rows in keys.help_sections()]
    assert sections == ["Anywhere", "Moving", "Timeline", "Logs", "Roster / Actions", "Dialogs"]
    listed = {row.action for row in keys.KEYS if row.shown and row.keys}
    for row in keys.KEYS:  # a bound row without its own line belongs to a listed one ("L T H R", "1-9")
        if row.keys and not row.shown:
            assert row.group in ("Logs", "Moving"), row
    assert {"cycle_tab(-1)", "log_tab(1)", "cycle_filter", "search", "clear_search"} <= listed


def pressed_first(row: keys.Key) -> str:
    if row.action == "log_tab(1)":
        return "2"  # "1" is the tab already shown; its row stands for the digits
    return row.keys.split(",")[0]


# Help rows with no binding of their own: each is driven by a test elsewhere.
ELSEWHERE = {
    ("Anywhere", "ctrl+p"): "test_ctrl_p_and_tab_do_what_the_help_says",
    ("Moving", "tab / shift+tab"): "test_ctrl_p_and_tab_do_what_the_help_says",
    ("Timeline", "HH:MM text"): "test_console.py::test_typing_an_entry_logs_it_and_keeps_the_input_open",
    ("Timeline", "! > ?"): "test_console.py::test_typing_an_entry_logs_it_and_keeps_the_input_open",
    ("Dialogs", "Enter"): "test_dialogs.py",
    ("Dialogs", "ctrl+s"): "test_dialogs.py",
    ("Dialogs", "Esc"): "test_dialogs.py",
}
# Where the focus must be for the key, and keys typed first so the key has something to act on.
FOCUS = {"app": "#timeline-table", "timeline": "#timeline-table", "logs": "logs", "logview": "logs",
         "actions": "#actions"}
BEFORE = {"clear_search": ("slash", "x", "enter"), "undo_delete": ("up", "x")}  # up: a typed entry
BOUND = [row for row in keys.KEYS if row.shown and row.keys]


def test_every_help_row_is_bound_or_driven_elsewhere():
    unbound = {(row.group, row.shown) for row in keys.KEYS if row.shown and not row.keys}
    assert unbound == set(ELSEWHERE)


def observed(app, room) -> tuple:
    """Everything a key can change that a person would notice."""
    logs = app.query_one(LogsPane)
    view = logs.active_view()
    timeline = app.query_one(TimelinePane)
    return (
        tuple(type(screen).__name__ for screen in app.screen_stack),
        app.focused,
        len(app.told),
        len(events(room.store.path)),
        app.query_one("#log-tabs", TabbedContent).active,
        app.query_one("#people", TabbedContent).active,
        timeline.filter,
        timeline.search,
        frozenset(timeline.expanded),
        view.follow,
        view.highlight_only,
        len(view.buffer_lines),
    )


@pytest.mark.parametrize("row", BOUND, ids=lambda row: f"{row.group}:{row.shown}")
async def test_every_key_in_help_does_something(busy_room, clock, row):
    app = make_app(busy_room, clock, start_sources=False, watch=False)
    app.told = []
    notify = app.notify
    app.notify = lambda message, *args, **kwargs: (app.told.append(message), notify(message, *args, **kwargs))
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        from warroom.sources.parse import LogLine

        app.query_one(LogsPane).add_lines("checkout", [LogLine("checkout", "payment timeout", "error", None, 1)])
        if FOCUS[row.scope] == "logs":
            await pilot.press("L")
        elif FOCUS[row.scope] == "#actions":
            await pilot.press("R", "right_square_bracket")
        else:
            app.query_one(FOCUS[row.scope]).focus()
        await pilot.press(*BEFORE.get(row.action, ()))
        await wait_until(pilot, lambda: app.recorder.wait_idle(0.01))
        await pilot.pause(0.1)
        before = observed(app, busy_room)
        await pilot.press(pressed_first(row))
        await pilot.pause(0.1)
        app.recorder.wait_idle()
        await pilot.pause(0.1)
        after = observed(app, busy_room)
        if row.action == "stop_step":  # only on a runbook step's tab (test_playbook_console.py)
            assert after == before and "stop_step" not in {b.action for _k, b in
                                                           [(k, v.binding) for k, v in
                                                            app.screen.active_bindings.items()]}
            return
        assert after != before, f"{row.shown} ({row.action}) changed nothing"


async def test_ctrl_p_and_tab_do_what_the_help_says(busy_room, clock):
    app = make_app(busy_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        app.query_one("#timeline-table").focus()
        await pilot.press("tab")
        assert app.focused is not app.query_one("#timeline-table")
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette")


async def test_brackets_cycle_the_focused_panes_tabs_and_digits_pick_a_log_source(busy_room, clock):
    app = make_app(busy_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        logs = app.query_one("#log-tabs", TabbedContent)
        people = app.query_one("#people", TabbedContent)
        await pilot.press("3")  # from the timeline: the second source
        await wait_until(pilot, lambda: logs.active == "tab-1")
        await pilot.press("1")
        await wait_until(pilot, lambda: logs.active == "tab-all")
        await pilot.press("L", "right_square_bracket")
        await wait_until(pilot, lambda: logs.active == "tab-0")
        await pilot.press("left_square_bracket", "left_square_bracket")  # wraps round
        await wait_until(pilot, lambda: logs.active == "tab-1")
        await pilot.press("R", "right_square_bracket")
        await wait_until(pilot, lambda: people.active == "tab-actions")
        await wait_until(pilot, lambda: app.focused is app.query_one("#actions"))  # `d` works at once
        await pilot.press("9")
        await wait_until(pilot, lambda: any("No log tab 9" in str(n.message) for n in app._notifications))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_footer_shows_help_and_quit_first_at_any_width(busy_room, clock, size):
    app = make_app(busy_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=size) as pilot:
        await console_ready(pilot)
        for focus in ("#timeline-table", "logs"):
            if focus == "logs":
                await pilot.press("L")
            else:
                app.query_one(focus).focus()
            await pilot.pause(0.2)
            footer = app.screen.query_one("ConsoleFooter")
            keys_shown = [key for key in footer.query("FooterKey") if key.display]
            assert [key.action for key in keys_shown[:2]] == ["help", "quit_console"]
            assert all(0 <= key.region.x and key.region.right <= size[0] for key in keys_shown[:2])


async def test_help_screen_shows_every_section(busy_room, clock):
    app = make_app(busy_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        titles = [str(label.render()) for label in app.screen.query(".help-section")]
        assert titles == [section for section, _rows in keys.help_sections()]


def test_dates_in_the_readme_example_are_not_used_as_keys():
    # a guard for the parser above: the table ends at the first line that is not a row
    assert all(not re.fullmatch(r"\d{4}-\d\d-\d\d", key) for _pane, key in readme_keys())
    assert parse_time("2026-11-24T15:00:00Z").year == 2026


async def test_a_dialog_that_opens_and_closes_leaves_the_footer_as_it_was(busy_room, clock):
    """The footer's keys are made again only when they differ: a severity pick used to
    remake (mount, style) twenty key widgets as the picker opened and again as it closed,
    often before the frame that shows the new severity."""
    app = make_app(busy_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        app.query_one("#timeline-table").focus()
        await pilot.pause(0.2)
        footer = app.screen.query_one("ConsoleFooter")
        before = list(footer.query("FooterKey"))
        assert before
        await pilot.press("S")
        await wait_until(pilot, lambda: app.screen is not app.screen_stack[0])
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.screen_stack[0])
        await pilot.pause(0.2)
        assert list(footer.query("FooterKey")) == before  # the same widgets, not made again
        await pilot.press("L")  # the logs pane has keys of its own: those are shown
        await pilot.pause(0.3)
        assert list(footer.query("FooterKey")) != before
