"""The playbook in the console, driven by pilot: runbook steps run for real (subprocesses in
the war room folder), stopped, refused; action items listed and marked done. Assertions are
on the record (events read back with a fresh Store) and on the screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_support import (
    console_ready,
    events,
    every_pane_has_room,
    open_room,
    story,
    wait_until,
)
from textual.widgets import DataTable, Input, OptionList, Static, TabbedContent

from warroom.playbook.runbooks import load_runbooks
from warroom.ui.factory import make_app
from warroom.ui.panes.actions import ActionsPane
from warroom.ui.panes.logs import LogsPane
from warroom.ui.screens.prompt import ConfirmScreen, PromptScreen
from warroom.ui.screens.runbook import RunbookScreen

pytestmark = pytest.mark.anyio

UNSET = "WARROOM_TEST_SURELY_UNSET"

SMOKE = f"""\
# Smoke test

Steps for the tests: one that fails on purpose, one that hangs, one that needs a variable.

## Check

```bash
echo hello-from-step; exit 3
```

## Wait

```bash
echo waiting; sleep 30; echo never-printed
```

## Needs a variable

```bash
echo "${{{UNSET}}}"
```

```bash
echo "incident=${{INCIDENT_ID}} title=$TITLE"
```

## By hand

1. Check the provider's status page.
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app_room(room_dir, clock, monkeypatch):
    monkeypatch.delenv(UNSET, raising=False)
    (room_dir / "runbooks" / "aa-smoke.md").write_text(SMOKE)
    room = open_room(room_dir, clock)
    story(room, clock)
    yield room
    room.close()


def notes(app) -> list[str]:
    """Every notification the app shows, as text."""
    said: list[str] = []
    original = app.notify

    def notify(message, *args, **kwargs):
        said.append(str(message))
        return original(message, *args, **kwargs)

    app.notify = notify
    return said


def timeline_texts(app) -> list[str]:
    table = app.query_one("#timeline-table", DataTable)
    return [table.get_row_at(i)[-1].plain for i in range(table.row_count)]


async def open_runbook(pilot, app, search: str = "smoke") -> RunbookScreen:
    await pilot.press("b")
    await wait_until(pilot, lambda: isinstance(app.screen, RunbookScreen) and app.screen.loaded)
    screen = app.screen
    await pilot.press("slash", *search, "enter")
    await wait_until(pilot, lambda: screen.current is not None and screen.current.name == "aa-smoke")
    return screen


async def highlight_step(pilot, screen: RunbookScreen, index: int) -> None:
    steps = screen.query_one("#runbook-steps", OptionList)
    steps.focus()
    steps.highlighted = index - 1
    await pilot.pause()


async def run_step(pilot, app, index: int) -> RunbookScreen:
    screen = await open_runbook(pilot, app)
    await highlight_step(pilot, screen, index)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    return screen


async def start_long_step(pilot, app) -> None:
    """Run step 2 of aa-smoke (prints, then sleeps 30 s) and wait until it is running."""
    await run_step(pilot, app, 2)
    await pilot.press("y")
    await wait_until(pilot, lambda: ("aa-smoke", 2) in app.running_steps)


async def test_runbook_screen_lists_searches_and_renders(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, RunbookScreen) and app.screen.loaded)
        screen = app.screen
        listed = screen.query_one("#runbook-list", OptionList)
        names = [listed.get_option_at_index(i).id for i in range(listed.option_count)]
        assert names == [r.name for r in load_runbooks(app_room.config.runbooks_dir)]
        assert "database-unreachable" in names and "aa-smoke" in names
        # search by content: only the database runbook mentions max_connections
        await pilot.press("slash", *"max_connections")
        await wait_until(pilot, lambda: listed.option_count == 1)
        assert listed.get_option_at_index(0).id == "database-unreachable"
        await wait_until(pilot, lambda: "Database unreachable" in screen.source)
        steps = screen.query_one("#runbook-steps", OptionList)
        assert steps.option_count == len(screen.current.steps) >= 5
        first = str(steps.get_option_at_index(0).prompt)
        assert 'psql "${DATABASE_URL}"' in first and "asks for ${DATABASE_URL}" in first
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunbookScreen))


async def test_running_a_step_streams_its_output_and_records_it(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        await run_step(pilot, app, 1)
        detail = app.screen.query_one(".dialog-note", Static)
        assert "echo hello-from-step; exit 3" in str(detail.render())
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(events(db, "command.ran")), timeout=30)
        pane = app.query_one(LogsPane)
        view = pane.active_view()
        assert view.source_name == "step: aa-smoke #1"
        await wait_until(pilot, lambda: any(line.text == "hello-from-step" for line in view.buffer_lines))
        await wait_until(pilot, lambda: any(t.startswith("Ran `echo hello-from-step; exit 3` from aa-smoke: exit 3")
                                            for t in timeline_texts(app)), timeout=15)
        assert "exited with code 3" in view.status
        assert not app.running_steps
    [ran] = events(db, "command.ran")
    assert ran.body == {"command": "echo hello-from-step; exit 3", "exit_code": 3, "output": "hello-from-step",
                        "runbook": "aa-smoke"}
    assert ran.author == "alice"


async def test_a_step_sees_incident_fields_as_environment(app_room, clock):
    incident = app_room.state.ordered[0]
    app_room.set_field(incident, "title", 'Checkout "$(touch pwned)"; 500')
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        await run_step(pilot, app, 4)
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(events(db, "command.ran")), timeout=30)
    [ran] = events(db, "command.ran")
    assert ran.body["exit_code"] == 0
    assert ran.body["output"] == f'incident={incident.short_id} title=Checkout "$(touch pwned)"; 500'
    assert not (app_room.config.root / "pwned").exists()


async def test_stopping_a_step_from_its_log_tab_records_the_stop(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        await start_long_step(pilot, app)
        pane = app.query_one(LogsPane)
        view = pane.active_view()
        await wait_until(pilot, lambda: any(line.text == "waiting" for line in view.buffer_lines), timeout=15)
        view.focus()
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(events(db, "command.ran")), timeout=30)
        await wait_until(pilot, lambda: not app.running_steps)
    [ran] = events(db, "command.ran")
    assert ran.body["command"] == "echo waiting; sleep 30; echo never-printed"
    assert ran.body["exit_code"] != 0
    assert ran.body["output"] == "waiting\n(stopped)"


async def test_stopping_a_step_from_the_runbook_screen(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        await start_long_step(pilot, app)
        screen = await open_runbook(pilot, app)
        steps = screen.query_one("#runbook-steps", OptionList)
        assert steps.highlighted == 1  # the step run last is where we left it
        assert "running" in str(steps.get_option_at_index(1).prompt)
        steps.focus()
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(events(db, "command.ran")), timeout=30)
        await wait_until(pilot, lambda: "running" not in str(steps.get_option_at_index(1).prompt))
    [ran] = events(db, "command.ran")
    assert ran.body["output"].endswith("(stopped)")


async def test_a_step_with_an_unset_variable_asks_for_it_and_runs_it_as_data(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    said = notes(app)
    root = app_room.config.root
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_runbook(pilot, app)
        await highlight_step(pilot, screen, 3)
        assert f"asks for ${{{UNSET}}}" in str(screen.query_one("#runbook-steps", OptionList).get_option_at_index(2).prompt)
        # the app checks again when asked to run it without the value (the screen is not the only gate)
        runbook = screen.current
        app.post_message(RunbookScreen.RunStep(runbook, runbook.step(3)))
        await wait_until(pilot, lambda: any(UNSET in note and "needs" in note for note in said))
        assert not app.running_steps
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = 'x"; touch pwned; echo "$(touch pwned2)'
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        detail = str(app.screen.query_one(".dialog-note", Static).render())
        assert f'echo "${{{UNSET}}}"' in detail and f"with ${{{UNSET}}} given for this run only" in detail
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(events(db, "command.ran")), timeout=30)
    [ran] = events(db, "command.ran")
    assert ran.body["command"] == f'echo "${{{UNSET}}}"'  # the value is not pasted into the record
    assert ran.body["exit_code"] == 0
    assert ran.body["output"] == "«REDACTED»"  # a value given for a ${NAME} is kept out like a secret
    assert not (root / "pwned").exists() and not (root / "pwned2").exists()


async def test_use_runbook_sets_the_incident_field(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_runbook(pilot, app)
        screen.query_one("#runbook-list", OptionList).focus()
        await pilot.press("U")
        await wait_until(pilot, lambda: any(e.body == {"field": "runbook", "value": "aa-smoke"}
                                            for e in events(db, "incident.field")))
        await wait_until(pilot, lambda: app.incident.fields.get("runbook") == "aa-smoke")
        assert "in use" in str(screen.query_one("#runbook-list", OptionList).get_option_at_index(0).prompt)


async def test_actions_tab_lists_items_and_d_marks_one_done(app_room, clock):
    incident = app_room.state.ordered[0]
    low = app_room.add_action(incident, "Write the deploy checklist", "carol", "", "low")
    high = app_room.add_action(incident, "Add a canary stage", "bob", "2026-12-01", "high")
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        tabs = app.query_one("#people", TabbedContent)
        # the Actions tab is hidden at start, so it is mounted just after the first frame
        await wait_until(pilot, lambda: bool(app.query("#actions")))
        pane = app.query_one("#actions", ActionsPane)
        await wait_until(pilot, lambda: pane.row_count == 2)
        assert str(tabs.get_tab("tab-actions").label) == "Actions (2)"
        tabs.active = "tab-actions"
        await pilot.pause()
        assert pane.region.height > 0
        rows = [[cell.plain for cell in pane.get_row_at(i)] for i in range(pane.row_count)]
        assert rows == [["☐", "Add a canary stage", "bob", "2026-12-01", "high"],   # most urgent first
                        ["☐", "Write the deploy checklist", "carol", "-", "low"]]
        pane.focus()
        pane.move_cursor(row=0)
        await pilot.press("d")
        await wait_until(pilot, lambda: any(e.body == {"target": high.id} for e in events(db, "action.done")))
        await wait_until(pilot, lambda: str(tabs.get_tab("tab-actions").label) == "Actions (1)")
        rows = [[cell.plain for cell in pane.get_row_at(i)] for i in range(pane.row_count)]
        assert rows[0][:2] == ["☐", "Write the deploy checklist"]
        assert rows[1][:2] == ["☑", "Add a canary stage"]
        assert all("dim" in str(cell.style) for cell in pane.get_row_at(1))
        # d on a done item says so and records nothing
        pane.move_cursor(row=1)
        await pilot.press("d")
        await pilot.pause(0.3)
        app.recorder.wait_idle()
    assert [e.body["target"] for e in events(db, "action.done")] == [high.id]
    assert low.id != high.id


async def test_compact_layout_shows_the_actions_tab_and_the_runbook_screen(app_room, clock):
    app_room.add_action(app_room.state.ordered[0], "Add a canary stage", "bob", "2026-12-01", "high")
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("compact")
        await every_pane_has_room(pilot)
        app.query_one("#people", TabbedContent).active = "tab-actions"
        await pilot.pause()
        actions = app.query_one("#actions", ActionsPane)
        assert actions.region.height >= 2 and actions.region.width > 20
        screen = await open_runbook(pilot, app)
        for part in ("#runbook-list", "#runbook-doc", "#runbook-steps", "#runbook-search"):
            region = screen.query_one(part).region
            assert region.width > 0 and region.height > 0, part


async def test_without_an_incident_steps_are_not_run(room_dir, clock):
    (room_dir / "runbooks" / "aa-smoke.md").write_text(SMOKE)
    room = open_room(room_dir, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    said = notes(app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_runbook(pilot, app)
        await highlight_step(pilot, screen, 1)
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("No incident on screen" in note for note in said))
        assert isinstance(app.screen, RunbookScreen)
        assert not app.running_steps
    assert events(room.store.path, "command.ran") == []
    room.close()


async def test_an_empty_runbooks_folder_says_what_to_do(room_dir, clock):
    import shutil

    shutil.rmtree(room_dir / "runbooks")
    room = open_room(room_dir, clock)
    story(room, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, RunbookScreen))
        screen = app.screen
        await wait_until(pilot, lambda: "No runbooks in" in screen.source)
        assert screen.query_one("#runbook-list", OptionList).option_count == 1  # "no runbooks", disabled
        await pilot.press("enter", "s", "U")  # nothing to run, stop or use: no crash
        await pilot.pause()
        assert app.is_running
    room.close()


# --- focus, the runbook found, manual steps (issue 17: screens own their focus) -------------------


async def test_the_search_has_the_focus_every_time_and_shows_the_runbook_found(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    said = notes(app)
    async with app.run_test(size=(120, 40)) as pilot:
        # first open: go to stuck-worker's fifth step and leave it there
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, RunbookScreen) and app.screen.loaded)
        screen = app.screen
        assert app.focused is screen.query_one("#runbook-search", Input)
        await pilot.press(*"jammed", "enter", "enter")
        await wait_until(pilot, lambda: screen.current is not None and screen.current.name == "stuck-worker")
        await highlight_step(pilot, screen, 5)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunbookScreen))
        # second open: the search has the focus, and typed text reaches it at once
        await pilot.press("b", *"redis")
        await wait_until(pilot, lambda: isinstance(app.screen, RunbookScreen))
        screen = app.screen
        search = screen.query_one("#runbook-search", Input)
        assert app.focused is search and search.value == "redis"
        await wait_until(pilot, lambda: screen.current is not None and screen.current.name == "cache-down")
        listed = screen.query_one("#runbook-list", OptionList)
        await pilot.press("down")
        assert app.focused is listed and listed.highlighted_option.id == "cache-down"
        await pilot.pause(0.2)  # highlights queued while the list was refilled come in: they change nothing
        assert screen.current.name == "cache-down" and "Cache down" in screen.source
        await pilot.press("enter")
        steps = screen.query_one("#runbook-steps", OptionList)
        assert app.focused is steps and steps.highlighted == 0
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, (ConfirmScreen, PromptScreen)) or bool(said))
        shown = app.screen
        question = str(shown.query_one(".dialog-title").render())
        assert "Cache down" in question and "Stuck worker" not in question
        await pilot.press("escape")


async def test_a_manual_step_is_ticked_recorded_and_shown_checked(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_runbook(pilot, app)
        steps = screen.query_one("#runbook-steps", OptionList)
        assert str(steps.get_option_at_index(4).prompt).startswith("☐ #5")
        await highlight_step(pilot, screen, 5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: bool([e for e in events(db, "entry.logged") if e.body.get("source")]))
        assert str(steps.get_option_at_index(4).prompt).startswith("☑ #5")
        assert isinstance(app.screen, RunbookScreen)  # ticking keeps the runbook open
        await pilot.press("escape")
        # opened again, the tick is read back from the record, with who and when
        screen = await open_runbook(pilot, app)
        steps = screen.query_one("#runbook-steps", OptionList)
        await wait_until(pilot, lambda: "done: alice" in str(steps.get_option_at_index(4).prompt))
        assert not app.running_steps
    [tick] = [e for e in events(db, "entry.logged") if e.body.get("source")]
    assert tick.body == {"text": "Done by hand: Check the provider's status page.", "type": "action",
                         "source": "runbook:aa-smoke #5"}
    assert tick.author == "alice"
    assert events(db, "command.ran") == []


async def test_a_stopped_step_says_stopped_not_a_negative_exit(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        await start_long_step(pilot, app)
        app.stop_step(("aa-smoke", 2))
        await wait_until(pilot, lambda: bool(events(db, "command.ran")), timeout=30)
        await wait_until(pilot, lambda: any("echo waiting; sleep 30" in t and ": stopped (SIGTERM)" in t
                                            for t in timeline_texts(app)), timeout=15)
        assert not any("exit -15" in t for t in timeline_texts(app))


def test_runbook_screen_snapshot(snap_compare, app_room, clock):
    """The runbook screen at 120x40: the search focused, the runbook rendered, its steps with a
    manual one's checkbox."""
    app = make_app(app_room, clock, start_sources=False, watch=False)

    async def run_before(pilot) -> None:
        await pilot.press("b", *"smoke")
        await wait_until(pilot, lambda: isinstance(app.screen, RunbookScreen) and app.screen.current is not None
                         and app.screen.current.name == "aa-smoke")
        for field in app.screen.query("Input"):
            field.cursor_blink = False
        app.recorder.wait_idle()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


async def test_a_step_run_before_the_logs_pane_is_there_waits_for_it(app_room, clock):
    """`b`, a step and `y` typed the moment the console opens came before the logs pane (it
    is mounted just after the first frame): the step was dropped with "No nodes match
    '#logs'". It now waits for the pane and runs."""
    runbook = next(r for r in load_runbooks(app_room.config.runbooks_dir) if r.name == "aa-smoke")
    step = runbook.steps[3]
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    said = notes(app)
    async with app.run_test(size=(120, 40)) as pilot:
        early = not app.logs_ready()
        app.post_message(RunbookScreen.RunStep(runbook, step, {}))
        await wait_until(pilot, lambda: bool(events(db, "command.ran")), timeout=30)
    assert early, "the logs pane was already there: this test no longer tests the wait"
    [ran] = events(db, "command.ran")
    assert ran.body["exit_code"] == 0 and ran.body["output"].startswith("incident=")
    assert not any("stopped" in note for note in said), said
