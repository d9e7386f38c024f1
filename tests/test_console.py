"""The console driven by pilot, asserting on the record (events written) and the screen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from console_support import (  # noqa: F401 (app_room: a fixture)
    app_room,
    events,
    every_pane_has_room,
    open_room,
    story,
    wait_until,
)
from textual.widgets import DataTable, Input

from warroom.record.store import Store
from warroom.ui.factory import make_app
from warroom.ui.panes.countdown import CountdownPane
from warroom.ui.panes.header import IncidentHeader

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def table_texts(app) -> list[str]:
    table = app.query_one("#timeline-table", DataTable)
    return [table.get_row_at(i)[-1].plain for i in range(table.row_count)]


async def test_typing_an_entry_logs_it_and_keeps_the_input_open(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        await pilot.press(*"Paged the database team")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(e.body.get("text") == "Paged the database team"
                                            for e in events(app_room.store.path, "entry.logged")))
        entry_input = app.query_one("#entry-input", Input)
        assert entry_input.value == ""
        assert app.focused is entry_input
        await wait_until(pilot, lambda: "Paged the database team" in table_texts(app))
        # the next line goes straight in
        await pilot.press(*"14:45 ! Fail over to the replica")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(e.body.get("text") == "Fail over to the replica"
                                            for e in events(app_room.store.path, "entry.logged")))
    decision = [e for e in events(app_room.store.path, "entry.logged") if e.body["text"] == "Fail over to the replica"][0]
    assert decision.body["type"] == "decision"
    assert decision.at.startswith("2026-11-24T14:45:00")


async def test_declare_dialog_writes_the_incident(room_dir, clock):
    room = open_room(room_dir, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "No open incident" in str(app.query_one("#hdr-title").render())
        await pilot.press("D")
        await pilot.press(*"Search is down")
        await pilot.press("enter")          # to the severity list (P2 highlighted)
        await pilot.press("up", "enter")    # P1
        await pilot.press(*"Nobody can search")
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(events(room.store.path, "incident.declared")))
        await wait_until(pilot, lambda: app.incident is not None)
        assert app.incident.title == "Search is down"
    declared = events(room.store.path, "incident.declared")[0]
    assert declared.body == {"title": "Search is down", "severity": "P1", "impact": "Nobody can search"}
    room.close()


async def test_severity_status_role_and_ack(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("S", "2")                      # second level: P2
        await wait_until(pilot, lambda: bool(events(db, "incident.severity")))
        await pilot.press("t", "enter")                  # next phase after identified
        await wait_until(pilot, lambda: any(e.body["status"] == "monitoring" for e in events(db, "incident.status")))
        await pilot.press("r", "4")                      # Scribe
        await pilot.press(*"dave", "enter")
        await wait_until(pilot, lambda: any(e.body == {"role": "Scribe", "person": "dave"}
                                            for e in events(db, "role.assigned")))
        await wait_until(pilot, lambda: app.incident.holder("Scribe") == "dave")
        roster = app.query_one("#roster", DataTable)
        assert "dave" in roster.get_row("Scribe")[1].plain
    assert events(db, "incident.severity")[0].body["severity"] == "P2"
    scribe = app_room.state.ordered[0].roles["Scribe"]
    assert [h.person for h in scribe.history] == ["carol", "dave"]  # the handover is kept


async def test_update_composer_posts_and_resets_the_countdown(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    # story() posted the last update 13 minutes before the clock: 2 minutes left of 15
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        pane = app.query_one(CountdownPane)
        pane.tick()
        assert pane.has_class("soon")
        await pilot.press("u")
        await pilot.pause()
        text = app.screen.query_one("TextArea").text
        assert "Checkout returns 500" in text and "{{" not in text
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(events(db, "update.posted")) == 2)
        await wait_until(pilot, lambda: len(app.incident.updates) == 2)
        pane.tick()
        assert pane.has_class("ok")
        assert "update in 15m 00s" in str(pane.render())
    posted = events(db, "update.posted")[-1]
    assert posted.body["template"] == "statuspage-identified"
    assert (app_room.config.root / "exports").is_dir()


async def test_overdue_countdown_rings_once_and_shows_in_header(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    rings = []
    app.bell = lambda: rings.append(1)  # the terminal's bell is the edge we cannot hear
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        clock.advance(minutes=30)
        pane = app.query_one(CountdownPane)
        pane.tick()
        pane.tick()
        await pilot.pause()
        assert pane.has_class("overdue")
        assert "update OVERDUE 28m 00s" in str(pane.render())
        app.query_one(IncidentHeader).refresh_times()
        assert "UPDATE OVERDUE 28m 00s" in str(app.query_one("#hdr-next").render())
        assert rings == [1]


async def test_countdowns_read_as_durations_and_times_of_day_carry_their_zone(app_room, clock):
    """2 minutes left of 15: "in 2m 00s", never "02:00" beside "due 14:47 UTC"."""
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        pane = app.query_one(CountdownPane)
        pane.tick()
        app.query_one(IncidentHeader).refresh_times()
        text = str(pane.render())
        assert "update in 2m 00s" in text, text
        assert "due 15:02 UTC" in text, text  # the clock stands at 15:00 UTC
        assert "next update in 2m 00s" in str(app.query_one("#hdr-next").render())
        for line in text.splitlines():  # every time of day says its zone
            for word in line.split():
                if len(word) == 5 and word[2] == ":" and word.replace(":", "").isdigit():
                    assert "UTC" in line, line


async def test_snooze_records_reason_and_moves_the_deadline(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("z", "2")  # 30 minutes
        await pilot.press(*"vendor call at 15:30", "enter")
        await wait_until(pilot, lambda: bool(events(db, "update.snoozed")))
    snoozed = events(db, "update.snoozed")[0]
    assert snoozed.body == {"minutes": 30, "reason": "vendor call at 15:30"}


async def test_edit_delete_and_undo_keep_history(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await wait_until(pilot, lambda: "Rolled back; error rate falling" in table_texts(app))
        table = app.query_one("#timeline-table", DataTable)
        table.focus()
        table.move_cursor(row=table.row_count - 1)
        await pilot.press("e")
        await pilot.pause()
        field = app.screen.query_one(Input)
        field.value = "Rolled back; error rate back to 0.2%"
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(events(db, "entry.edited")))
        await wait_until(pilot, lambda: "Rolled back; error rate back to 0.2%  (edited)" in table_texts(app))
        await pilot.press("x")
        await wait_until(pilot, lambda: bool(events(db, "entry.deleted")))
        await wait_until(pilot, lambda: not any("error rate back" in t for t in table_texts(app)))
        await pilot.press("ctrl+z")
        await wait_until(pilot, lambda: bool(events(db, "entry.restored")))
        await wait_until(pilot, lambda: any("error rate back" in t for t in table_texts(app)))
    entry = [e for e in app_room.state.ordered[0].entries if "error rate back" in e.text][0]
    assert [r.text for r in entry.history] == ["Rolled back; error rate falling", "Rolled back; error rate back to 0.2%"]


async def test_export_writes_the_postmortem(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("E")
        incident = app.incident
        path = app_room.config.root / "exports" / f"{incident.short_id}-postmortem.md"
        await wait_until(pilot, path.exists)
    text = path.read_text()
    assert "# Post-mortem: Checkout returns 500" in text
    assert "Roll back deploy 4812" in text


async def test_switch_incident(app_room, clock):
    first = app_room.incident()
    clock.advance(60)
    other = app_room.declare("Search is slow", "P3", "")
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await wait_until(pilot, lambda: app.incident is not None)
        # The one rule (Room.meant), as in the commands: the newest incident not closed.
        assert app.incident.id == other.id
        await pilot.press("I")
        await pilot.pause()
        option_list = app.screen.query_one("OptionList")
        ids = [option_list.get_option_at_index(i).id for i in range(option_list.option_count)]
        option_list.highlighted = ids.index(first.id)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.incident.id == first.id)
        assert "Checkout returns 500" in str(app.query_one("#hdr-title").render())


async def test_hostile_text_is_shown_literally(app_room, clock):
    incident = app_room.state.ordered[0]
    hostile = "[@click=app.quit]click me[/] \x1b]52;c;ZXZpbA==\x07 [bold red]x"
    app_room.log(incident, hostile)
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await wait_until(pilot, lambda: any("click me" in t for t in table_texts(app)))
        row = next(t for t in table_texts(app) if "click me" in t)
        assert "[@click=app.quit]click me[/]" in row
        assert "[bold red]x" in row
        assert "\x1b" not in row and "\x07" not in row
        assert app.is_running


async def test_failed_write_keeps_the_typed_text(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.recorder.wait_idle()
        # A real SQLite failure: the connection refuses writes, as on a read-only disk.
        app_room.store.conn.execute("pragma query_only=on")
        await pilot.press("n", *"Do not lose me", "enter")
        await wait_until(pilot, lambda: app.query_one("#entry-input", Input).value == "Do not lose me")
        app_room.store.conn.execute("pragma query_only=off")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(e.body.get("text") == "Do not lose me"
                                            for e in events(app_room.store.path, "entry.logged")))


async def test_another_writer_shows_up_without_touching_the_input(app_room, clock, room_dir):
    app = make_app(app_room, clock, start_sources=False, watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("n", *"half typed")
        subprocess.run([sys.executable, "-m", "warroom", "log", "from the shell"], cwd=room_dir, check=True,
                       capture_output=True)
        await wait_until(pilot, lambda: "from the shell" in table_texts(app), timeout=5)
        assert app.query_one("#entry-input", Input).value == "half typed"


async def test_two_consoles_on_one_file_lose_nothing(app_room, clock, room_dir):
    second_room = open_room(room_dir, clock, author="carol", seed=99)
    first = make_app(app_room, clock, start_sources=False, watch=True)
    second = make_app(second_room, clock, start_sources=False, watch=True)
    async with first.run_test(size=(120, 40)) as pilot_a, second.run_test(size=(120, 40)) as pilot_b:
        await pilot_a.press("n")  # the input stays open after each entry
        await pilot_b.press("n")
        for n in range(10):
            await pilot_a.press(*f"alice {n}", "enter")
            await pilot_b.press(*f"carol {n}", "enter")
        want = {f"alice {n}" for n in range(10)} | {f"carol {n}" for n in range(10)}
        await wait_until(pilot_a, lambda: want <= set(table_texts(first)), timeout=30)
        await wait_until(pilot_b, lambda: want <= set(table_texts(second)), timeout=30)
    logged = [e.body["text"] for e in events(app_room.store.path, "entry.logged")]
    assert want <= set(logged)
    assert len(logged) == len(set(logged))
    second_room.close()


async def test_compact_layout_at_80x24_shows_every_pane(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("compact")
        await every_pane_has_room(pilot)
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not app.screen.has_class("compact")


async def test_theme_choice_persists(app_room, clock, tmp_path):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.theme == "warroom-dark"
        app.theme = "warroom-high-contrast"
        await pilot.pause()
    settings = json.loads((tmp_path / "xdg" / "warroom" / "settings.json").read_text())
    assert settings["theme"] == "warroom-high-contrast"
    again = make_app(app_room, clock, start_sources=False, watch=False)
    async with again.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert again.theme == "warroom-high-contrast"


async def test_palette_offers_every_action(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        titles = {command.title for command in app.get_system_commands(app.screen)}
    for wanted in ("Declare incident", "Change severity", "Advance status", "Assign role", "Post status update",
                   "Record escalation", "Export post-mortem", "Switch incident", "Theme"):
        assert wanted in titles


async def test_help_lists_all_keys(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.__class__.__name__ != "HelpScreen"


async def test_a_shared_copy_swapped_by_git_pull_is_taken_in(app_room, clock, tmp_path):
    """What a fast-forward pull does to warroom.db (a new file renamed over it) reaches the
    console within a watch cycle, adds the teammate's entry, and leaves the record and the
    text being typed as they were."""
    import os

    from warroom.share import exchange

    app = make_app(app_room, clock, start_sources=False, watch=True)
    shared = app_room.exchange
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", *"typed here first", "enter")
        await wait_until(pilot, lambda: "typed here first" in table_texts(app))
        app.recorder.wait_idle()
        await pilot.press(*"still typing")
        # A teammate's copy: ours, plus their entry, written as their sync writes it.
        theirs = tmp_path / "theirs" / "record.db"
        with Store(theirs, author="dana", create_missing=True, clock=clock) as other:
            ours = tmp_path / "ours.db"
            exchange.write(app_room.store.path, ours)
            other.import_file(ours, "test")
            incident_id = app_room.summaries()[0].id
            other.append("entry.logged", incident_id, {"text": "from a teammate", "type": "note"})
            incoming = tmp_path / "incoming.db"
            exchange.write(theirs, incoming)
        os.replace(incoming, shared)
        await wait_until(pilot, lambda: "from a teammate" in table_texts(app), timeout=15)
        assert "typed here first" in table_texts(app)
        assert app.query_one("#entry-input", Input).value == "still typing"
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(e.body.get("text") == "still typing"
                                            for e in events(app_room.store.path, "entry.logged")))
    with Store(app_room.store.path, author="reader") as store:
        assert store.conn.execute("pragma integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("theme", ["warroom-dark", "warroom-light", "warroom-high-contrast"])
async def test_ticked_and_unticked_checklist_boxes_look_different(app_room, clock, theme):
    """An unticked box is empty (its mark in the box's own colour), a ticked one shows its mark."""
    from textual.widgets import SelectionList

    from warroom.ui.screens.checklist import ChecklistScreen

    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.theme = theme
        await pilot.pause()
        app.push_screen(ChecklistScreen("INC-1", ("Timeline complete", "Post-mortem owner named")))
        await wait_until(pilot, lambda: bool(app.screen.query(SelectionList)))
        boxes = app.screen.query_one(SelectionList)
        unticked = boxes.get_component_rich_style("selection-list--button")
        ticked = boxes.get_component_rich_style("selection-list--button-selected")
        assert unticked.color == unticked.bgcolor  # nothing drawn in the box
        assert ticked.color != ticked.bgcolor and ticked.bold


async def test_the_action_items_due_date_example_is_a_week_ahead(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await wait_until(pilot, lambda: bool(app.screen.query("#field-due")))
        assert app.screen.query_one("#field-due", Input).placeholder == "2026-12-01"  # the clock: 2026-11-24


async def test_a_severity_change_reaches_the_header_before_the_write_and_goes_back_if_it_fails(app_room, clock):
    """The header shows the picked severity at once (the write waits here on purpose); when the
    write fails the header shows the severity the record holds again."""
    import threading

    from warroom.errors import UsageError

    release = threading.Event()
    real = app_room.set_severity

    def slow_then_refused(incident, severity):
        release.wait(10)
        raise UsageError("disk full (a test)")

    app_room.set_severity = slow_then_refused
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("S", "2")
        await wait_until(pilot, lambda: "P2" in str(app.query_one("#hdr-sev").render()), timeout=2)
        assert not release.is_set()  # shown while the write is still waiting
        release.set()
        await wait_until(pilot, lambda: "P1" in str(app.query_one("#hdr-sev").render()))
    app_room.set_severity = real
    assert not events(app_room.store.path, "incident.severity")
