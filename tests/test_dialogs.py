"""Dialogs and keys as a tired on-call engineer types them: fast.

`type_fast` hands the console a whole burst of keys at once, as a terminal does when they
arrive together (a quick typist, a paste, tmux): the app reads the next key before the
previous one has had its effect. Every test asserts on the record (a fresh connection to
the real SQLite file) and on the screens, with the real app on a real war room.
"""

from __future__ import annotations

import unicodedata

import pytest
from console_support import app_room, events, open_room, story, wait_until  # noqa: F401 (app_room: a fixture)
from rich.text import Text
from textual import events as textual_events
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.widgets import DataTable, Input, Label, OptionList, Static, TextArea

from warroom.ui.controllers.keygate import settled
from warroom.ui.factory import make_app
from warroom.ui.screens.checklist import ChecklistScreen
from warroom.ui.screens.composer import ComposerScreen
from warroom.ui.screens.declare import DeclareScreen
from warroom.ui.screens.entry import EntryScreen
from warroom.ui.screens.help import HelpScreen
from warroom.ui.screens.pick import PickScreen
from warroom.ui.screens.prompt import AskScreen, PromptScreen
from warroom.ui.screens.runbook import RunbookScreen

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def key_event(key: str) -> textual_events.Key:
    """The Key event a terminal driver makes for `key` (a character or a key name)."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        char = key if len(key) == 1 else None
    return textual_events.Key(key, char)


async def type_fast(pilot, *keys: str) -> None:
    """Post every key to the app at once, with no pause between them, then wait until the
    console has handled all of them and the record has taken what they wrote."""
    app = pilot.app
    for key in keys:
        event = key_event(key)
        event.set_sender(app)
        app.post_message(event)
    await pilot.pause()
    gate = app.key_gate
    await wait_until(pilot, lambda: not gate.held and not gate.in_flight and settled(app))
    app.recorder.wait_idle()
    await pilot.pause(0.05)


def stack(app) -> list[str]:
    return [type(screen).__name__ for screen in app.screen_stack]


def said(app) -> list[str]:
    """Every notification the app shows from now on, as text."""
    notes: list[str] = []
    original = app.notify

    def notify(message, *args, **kwargs):
        notes.append(str(message))
        return original(message, *args, **kwargs)

    app.notify = notify
    return notes


def static_text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


# --- the declare dialog ------------------------------------------------------------------


async def test_declare_typed_in_one_burst_declares_with_its_impact(room_dir, clock):
    room = open_room(room_dir, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "D", *"Search is down", "enter", "1", "enter", *"Nobody can search", "enter")
        assert stack(app) == ["Screen"]  # declared and closed; nothing else opened
        declared = events(room_dir / "warroom.db", "incident.declared")
        assert [(e.body["title"], e.body["severity"], e.body["impact"]) for e in declared] == [
            ("Search is down", "P1", "Nobody can search")]
    room.close()


async def test_enter_on_the_severity_moves_on_and_an_empty_impact_is_named(room_dir, clock):
    room = open_room(room_dir, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        # the fault from issue 12: title, the severity's number, Enter, Enter (impact not typed yet)
        await type_fast(pilot, "D", *"Search is down", "enter", "1", "enter", "enter")
        screen = app.screen
        assert isinstance(screen, DeclareScreen)
        assert events(room_dir / "warroom.db", "incident.declared") == []
        assert "Still needed: the impact" in static_text(screen, "#declare-error")
        assert "title" not in static_text(screen, "#declare-error")
        impact = screen.query_one("#declare-impact", Input)
        assert app.focused is impact
        assert impact.has_class("-missing") and "required" in str(impact.border_subtitle)
        assert not screen.query_one("#declare-title", Input).has_class("-missing")
        assert screen.query_one("#declare-severity", OptionList).highlighted == 0  # P1 kept
        # the impact typed next goes into the dialog, console keys (u, x, q, E) included
        await type_fast(pilot, *"users queue; fix Exits", "enter")
        assert stack(app) == ["Screen"]
        declared = events(room_dir / "warroom.db", "incident.declared")
        assert [(e.body["severity"], e.body["impact"]) for e in declared] == [("P1", "users queue; fix Exits")]
        assert not (room_dir / "exports").exists()
    room.close()


async def test_digits_typed_in_the_title_stay_in_the_title(room_dir, clock):
    room = open_room(room_dir, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "D", *"API 500s on 2 hosts", "enter", "down", "enter", *"EU users", "enter")
        declared = events(room_dir / "warroom.db", "incident.declared")
        # P2 is highlighted when the dialog opens; one step down is P3
        assert [(e.body["title"], e.body["severity"], e.body["impact"]) for e in declared] == [
            ("API 500s on 2 hosts", "P3", "EU users")]
    room.close()


async def test_ctrl_s_declares_from_any_field_once_the_required_ones_are_filled(room_dir, clock):
    room = open_room(room_dir, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "D", "ctrl+s")
        screen = app.screen
        error = static_text(screen, "#declare-error")
        assert "the title" in error and "the impact" in error
        assert app.focused is screen.query_one("#declare-title", Input)
        await type_fast(pilot, *"Search is down", "ctrl+s")
        assert "the title" not in static_text(screen, "#declare-error")
        assert app.focused is screen.query_one("#declare-impact", Input)
        assert events(room_dir / "warroom.db", "incident.declared") == []
        await type_fast(pilot, *"Nobody can search", "shift+tab", "shift+tab", "ctrl+s")
        assert stack(app) == ["Screen"]
        declared = events(room_dir / "warroom.db", "incident.declared")
        assert [(e.body["title"], e.body["severity"], e.body["impact"]) for e in declared] == [
            ("Search is down", "P2", "Nobody can search")]
    room.close()


async def test_at_80x24_the_dialog_scrolls_to_the_missing_field(room_dir, clock):
    room = open_room(room_dir, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_fast(pilot, "D", *"Search is down", "enter", "1", "enter", "enter")
        screen = app.screen
        impact = screen.query_one("#declare-impact", Input)
        dialog = screen.query_one("#declare").region
        assert app.focused is impact and impact.has_class("-missing")
        assert dialog.contains_region(impact.region), (dialog, impact.region)  # in view, mark included
        await type_fast(pilot, *"Nobody can search")
        assert not impact.has_class("-missing") and not impact.border_subtitle
        await type_fast(pilot, "enter")
        assert stack(app) == ["Screen"]
    assert [e.body["impact"] for e in events(room_dir / "warroom.db", "incident.declared")] == ["Nobody can search"]
    room.close()


# --- the other forms -----------------------------------------------------------------------


async def test_a_prompt_names_its_missing_field_and_keeps_what_is_typed_next(app_room, clock, room_dir):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    before = len(events(room_dir / "warroom.db", "role.assigned"))
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "r", "4", "enter")  # Scribe, then Enter with nobody typed
        screen = app.screen
        assert isinstance(screen, PromptScreen)
        assert static_text(screen, "#prompt-error") == "Still needed: Who takes it."
        await type_fast(pilot, *"quinn", "enter")
        assert stack(app) == ["Screen", "ComposerScreen"]  # carol handed over: the brief is offered
    assigned = events(room_dir / "warroom.db", "role.assigned")
    assert len(assigned) == before + 1
    assert (assigned[-1].body["role"], assigned[-1].body["person"]) == ("Scribe", "quinn")


async def test_an_action_item_form_moves_on_enter_and_accepts_with_ctrl_s(app_room, clock, room_dir):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        app.query_one("#timeline-table", DataTable).move_cursor(row=0)  # an automatic row
        await type_fast(pilot, "a", "enter", "enter", "ctrl+s")  # through two fields, then accept: no text
        screen = app.screen
        assert isinstance(screen, PromptScreen)
        assert static_text(screen, "#prompt-error") == "Still needed: Action."
        assert app.focused is screen.query_one("#field-text", Input)
        await type_fast(pilot, *"Alert on pool saturation", "enter", *"bob", "ctrl+s")
        assert stack(app) == ["Screen"]
    added = events(room_dir / "warroom.db", "action.added")
    assert [(e.body["text"], e.body["owner"]) for e in added] == [("Alert on pool saturation", "bob")]


async def test_an_empty_update_is_named_not_posted(app_room, clock, room_dir):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    before = len(events(room_dir / "warroom.db", "update.posted"))
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "u")
        screen = app.screen
        assert isinstance(screen, ComposerScreen)
        screen.query_one(TextArea).load_text("   \n")
        await type_fast(pilot, "ctrl+s")
        assert isinstance(app.screen, ComposerScreen)
        assert "Still needed: the update's text" in static_text(screen, "#composer-error")
        assert screen.query_one("#composer-error").display
        await type_fast(pilot, *"We are rolling back.", "ctrl+s")
        assert stack(app) == ["Screen"]
    posted = events(room_dir / "warroom.db", "update.posted")
    assert len(posted) == before + 1 and posted[-1].body["text"] == "We are rolling back."


# --- keys typed in a modal never reach the console ----------------------------------------------

CONSOLE_KEYS = ("u", "x", "E", "t", "D", "n", "ctrl+z")  # composer, delete, export, status, declare, log

MODALS = [
    (("D",), DeclareScreen),
    (("S",), PickScreen),
    (("t",), PickScreen),
    (("t", "5"), ChecklistScreen),  # closed: through the checklist
    (("r",), PickScreen),
    (("r", "1"), PromptScreen),
    (("z", "1"), PromptScreen),
    (("I",), PickScreen),
    (("a",), PromptScreen),
    (("e",), PromptScreen),
    (("u",), ComposerScreen),
    (("enter",), EntryScreen),
    (("question_mark",), HelpScreen),
    (("b",), RunbookScreen),
]


@pytest.mark.parametrize("opener,modal", MODALS, ids=["+".join(keys) for keys, _ in MODALS])
async def test_keys_typed_in_a_modal_never_reach_the_console(app_room, clock, room_dir, opener, modal):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = room_dir / "warroom.db"
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        table = app.query_one("#timeline-table", DataTable)
        table.move_cursor(row=table.row_count - 1)  # a typed entry: `x` would delete it, `e` edit it
        before = len(events(db))
        # the keys right after the one that opens it, with no pause
        await type_fast(pilot, *opener, *CONSOLE_KEYS)
        assert type(app.screen) is modal
        assert len(app.screen_stack) == 2, stack(app)
        assert len(events(db)) == before
        # and the keys right before the one that closes it
        await type_fast(pilot, *CONSOLE_KEYS, "escape")
        assert stack(app) == ["Screen"]
        assert app.is_running
    assert len(events(db)) == before  # nothing deleted, declared, logged or changed
    assert not (room_dir / "exports").exists()  # nothing exported


async def test_keys_right_after_a_dialog_closes_go_to_the_console_in_order(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "question_mark", "escape", "u")
        assert stack(app) == ["Screen", "ComposerScreen"]
        await type_fast(pilot, "escape", "S", "escape", "question_mark")
        assert stack(app) == ["Screen", "HelpScreen"]


async def test_keys_right_after_b_reach_the_runbooks_while_they_load(app_room, clock, room_dir):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = room_dir / "warroom.db"
    before = len(events(db))
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "b", "slash", *"max_connections", "enter", "x", "E")
        screen = app.screen
        assert isinstance(screen, RunbookScreen)
        assert screen.query_one("#runbook-search", Input).value == "max_connections"
        listed = screen.query_one("#runbook-list", OptionList)
        await wait_until(pilot, lambda: listed.option_count == 1
                         and listed.get_option_at_index(0).id == "database-unreachable")
        assert app.focused is listed
    assert len(events(db)) == before
    assert not (room_dir / "exports").exists()


async def test_lines_typed_in_one_burst_are_logged_each_as_typed(app_room, clock, room_dir):
    """Characters behind characters go straight in; Enter waits for them, and the next line's
    characters wait for Enter: no line runs into the next."""
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = room_dir / "warroom.db"
    before = len(events(db, "entry.logged"))
    lines = [f"line-{n} {'x' * (n % 7 + 1)}" for n in range(12)]
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "n", *[key for line in lines for key in (*line, "enter")])
        await wait_until(pilot, lambda: len(events(db, "entry.logged")) == before + len(lines))
    assert [e.body["text"] for e in events(db, "entry.logged")[before:]] == lines


async def test_lines_typed_ahead_before_raw_mode_end_in_line_feeds_and_still_log_each(app_room, clock, room_dir):
    """Keys typed while the console starts pass the tty's cooked mode, which turns Enter's CR
    into LF: Textual reads it as ctrl+j. In the input it is Enter, so `n`, two lines and their
    line feeds typed ahead log two entries, not one line run together."""
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = room_dir / "warroom.db"
    before = len(events(db, "entry.logged"))
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "n", *"burst one", "ctrl+j", *"burst two", "ctrl+j")
        await wait_until(pilot, lambda: len(events(db, "entry.logged")) == before + 2)
        assert app.query_one("#entry-input").value == ""
    assert [e.body["text"] for e in events(db, "entry.logged")[before:]] == ["burst one", "burst two"]


async def test_a_double_enter_on_a_runbook_step_runs_nothing(app_room, clock, room_dir):
    (room_dir / "runbooks" / "aa-echo.md").write_text("# Echo\n\n```bash\necho hello-from-step\n```\n")
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "b")
        await wait_until(pilot, lambda: app.screen.loaded)
        # the list is on aa-echo (first by name): Enter to its steps, Enter asks, Enter again
        await type_fast(pilot, "enter", "enter", "enter", "enter")
        assert stack(app) == ["Screen", "RunbookScreen", "ConfirmScreen"]
        assert not app.running_steps
        await type_fast(pilot, "n")
        assert stack(app) == ["Screen", "RunbookScreen"]
        await type_fast(pilot, "enter", "y")
        await wait_until(pilot, lambda: bool(events(room_dir / "warroom.db", "command.ran")))
    ran = events(room_dir / "warroom.db", "command.ran")
    assert [e.body["command"] for e in ran] == ["echo hello-from-step"]


# --- quitting --------------------------------------------------------------------------------------


async def test_q_asks_while_an_incident_is_open_and_only_y_quits(app_room, clock, room_dir):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = room_dir / "warroom.db"
    before = len(events(db))
    short_id = app_room.incident().short_id
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "q")
        screen = app.screen
        assert isinstance(screen, AskScreen)
        question = screen.query_one(".dialog-title", Label).render()
        assert str(question) == f"An incident is open ({short_id}, P1). Quit? y/n"
        await type_fast(pilot, "n")
        assert stack(app) == ["Screen"] and app.return_code is None
        for answer in ("enter", "escape", "x", "q", "u", "n"):
            await type_fast(pilot, "q", answer)  # the answer is used up by the question
            assert stack(app) == ["Screen"], answer
            assert app.is_running and app.return_code is None
        assert len(events(db)) == before, [(e.kind, e.body) for e in events(db)[before:]]  # `x` deleted nothing
        await type_fast(pilot, "q", "y")
        await wait_until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0


async def test_q_quits_at_once_without_an_open_incident(room_dir, clock):
    room = open_room(room_dir, clock)
    incident_id = story(room, clock)
    room.set_status(room.state.incidents[incident_id], "resolved")
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code is not None)
        assert not any(isinstance(screen, AskScreen) for screen in app.screen_stack)
    assert app.return_code == 0
    room.close()


async def test_q_right_after_declaring_asks_about_that_incident(room_dir, clock):
    room = open_room(room_dir, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "D", *"Search is down", "enter", "1", "enter", *"Nobody can search", "enter",
                        "q", "x")
        assert app.is_running and app.return_code is None
        assert stack(app) == ["Screen"]  # asked, and `x` said no
        await type_fast(pilot, "q")
        declared = events(room_dir / "warroom.db", "incident.declared")
        assert len(declared) == 1
        question = str(app.screen.query_one(".dialog-title", Label).render())
        assert question.startswith("An incident is open (INC-") and ", P1). Quit? y/n" in question
    room.close()


async def test_two_open_incidents_are_both_named(app_room, clock):
    app_room.declare("Search is slow", "P3", "Some searches time out")
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_fast(pilot, "q")
        question = str(app.screen.query_one(".dialog-title", Label).render())
        ids = [i.short_id for i in app_room.state.open_incidents]
        assert question.startswith("2 incidents are open (")
        assert all(short_id in question for short_id in ids) and "P1" in question and "P3" in question


async def test_ctrl_c_keeps_textuals_default(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        notes = said(app)
        await type_fast(pilot, "ctrl+c")
        await wait_until(pilot, lambda: bool(notes))
        assert app.is_running and stack(app) == ["Screen"]
        assert "to quit the app" in Text.from_markup(notes[-1]).plain
