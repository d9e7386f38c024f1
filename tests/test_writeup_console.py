"""The post-mortem screen (P), the Contacts tab, the escalation line's contact and the
composer's warning, on the real app with a real war room, a frozen clock and pilot keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_support import console_ready, events, open_room, story, wait_until
from test_dialogs import static_text, type_fast
from test_snapshots import settle
from textual.widgets import DataTable, OptionList, TabbedContent, TextArea

from warroom.playbook import export
from warroom.record.events import MAX_TEXT
from warroom.record.writeup import WRITTEN_FIELDS
from warroom.ui.factory import make_app
from warroom.ui.panes.countdown import CountdownPane
from warroom.ui.screens.composer import ComposerScreen
from warroom.ui.screens.postmortem import PostmortemScreen

pytestmark = pytest.mark.anyio
HOSTILE = "\x1b[31mred\x1b[0m [bold red]boss[/] <b>x</b> # not a heading"
CONTACTS = f'''
[[contact]]
role = "Primary On-Call"
name = "Dana"
reach = "dana@example.test, +1 555 0100"

[[contact]]
role = "Engineering Manager"
name = "Lee [bold]boss[/]"
reach = "lee@example.test {HOSTILE.replace(chr(27), "")}"

[[escalation]]
after = "30m"
to = "Engineering Manager"
'''


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def contacts_room(room_dir: Path, clock):
    path = room_dir / "warroom.toml"
    path.write_text(path.read_text() + CONTACTS)
    room = open_room(room_dir, clock)
    story(room, clock)
    yield room
    room.close()


def field_events(room_dir: Path) -> list[tuple[str, str]]:
    return [(e.body["field"], e.body["value"]) for e in events(room_dir, "incident.field")]


async def test_each_saved_field_is_one_event_and_reaches_the_export(contacts_room, clock, room_dir: Path):
    app = make_app(contacts_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        await type_fast(pilot, "P")
        screen = app.screen
        assert isinstance(screen, PostmortemScreen)
        assert app.focused is screen.query_one(OptionList)
        # Summary (the first row): Enter, type, ctrl+s
        await type_fast(pilot, "enter", *"Checkout failed for 20 minutes", "ctrl+s")
        # Contributing factors, twice: each is an item of its own
        index = [f.name for f in WRITTEN_FIELDS].index("contributing_factors")
        await type_fast(pilot, *["down"] * index, "enter", *"no canary", "ctrl+s")
        await type_fast(pilot, "enter", *"pool too small", "ctrl+s")
        await wait_until(pilot, lambda: len(field_events(room_dir)) == 3)
        assert field_events(room_dir) == [
            ("summary", "Checkout failed for 20 minutes"),
            ("contributing_factors", "no canary"),
            ("contributing_factors", "pool too small"),
        ]
        option = screen.query_one(OptionList).get_option_at_index(index)
        assert "✓ Contributing factors (2)" in str(option.prompt)
        await type_fast(pilot, "escape")
        assert not isinstance(app.screen, PostmortemScreen)
    incident = contacts_room.full(contacts_room.incident().id)
    doc = export.postmortem(incident, contacts_room.config, clock.now())
    assert "## Summary\n\nCheckout failed for 20 minutes\n" in doc
    assert "### Contributing factors\n\n- no canary\n- pool too small\n" in doc


async def test_hostile_text_is_inert_on_the_screen_and_a_too_long_value_is_kept(contacts_room, clock, room_dir):
    contacts_room.set_field(contacts_room.incident(), "root_cause", HOSTILE + "\nline two")
    app = make_app(contacts_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        await type_fast(pilot, "P")
        screen = app.screen
        index = [f.name for f in WRITTEN_FIELDS].index("root_cause")
        await type_fast(pilot, *["down"] * index)
        shown = static_text(screen, "#postmortem-current")
        assert "[bold red]boss[/]" in shown and "\x1b" not in shown and "line two" in shown
        # an edit of a stack-trace size over the limit: refused with the count, the text kept
        await type_fast(pilot, "enter")
        area = screen.query_one(TextArea)
        assert area.text.startswith("[31mred") or "boss" in area.text  # the stored value, to edit
        area.load_text("x" * (MAX_TEXT + 5))
        await type_fast(pilot, "ctrl+s")
        assert f"{MAX_TEXT + 5} characters long" in static_text(screen, "#postmortem-error")
        assert len(area.text) == MAX_TEXT + 5 and isinstance(app.screen, PostmortemScreen)
        # Esc with unsaved text asks once, then leaves it
        await type_fast(pilot, "escape")
        assert "Not saved yet" in static_text(screen, "#postmortem-error")
        assert screen.editing is not None
        await type_fast(pilot, "escape")
        assert screen.editing is None and app.focused is screen.query_one(OptionList)
    assert [name for name, _ in field_events(room_dir)] == ["root_cause"]  # only the one set before


async def test_the_contacts_tab_lists_the_config_inert(contacts_room, clock):
    app = make_app(contacts_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        tabs = app.query_one("#people", TabbedContent)

        def shown() -> bool:
            # Under load the tab's pane can still be mounting when it is first chosen: choose
            # it again until its table is on screen.
            if tabs.active != "tab-contacts":
                tabs.active = "tab-contacts"
            found = app.query("#contacts")
            return bool(found) and found.first().region.height > 0

        await wait_until(pilot, shown, timeout=30)
        table = app.query_one("#contacts", DataTable)
        rows = [str(table.get_row_at(n)[0]) for n in range(table.row_count)]
        assert rows[0] == "Primary On-Call: Dana\n  dana@example.test, +1 555 0100"
        assert rows[1].startswith("Engineering Manager: Lee [bold]boss[/]\n") and "[bold red]boss[/]" in rows[1]
        line = str(app.query_one(CountdownPane).render())
        assert "Engineering Manager at 15:10 UTC (after 30m) (Lee [bold]boss[/], lee@example.test" in " ".join(line.split())


async def test_the_composer_warns_once_then_posts(contacts_room, clock, room_dir):
    (room_dir / "templates" / "mine.md").write_text("Found by: {{detection}}\nOwner: {{team_owner}}\n")
    app = make_app(contacts_room, clock, start_sources=False, watch=False)
    before = len(events(room_dir, "update.posted"))
    async with app.run_test(size=(120, 40)) as pilot:
        await console_ready(pilot)
        await type_fast(pilot, "u")
        screen = app.screen
        assert isinstance(screen, ComposerScreen)
        screen.query_one(TextArea).load_text(screen.templates["mine"])
        await type_fast(pilot, "ctrl+s")
        warning = static_text(screen, "#composer-error")
        assert "not filled in yet: {{team_owner}}, detection" in warning
        assert isinstance(app.screen, ComposerScreen)
        assert len(events(room_dir, "update.posted")) == before
        await type_fast(pilot, "ctrl+s")
        assert not isinstance(app.screen, ComposerScreen)
    await_posted = events(room_dir, "update.posted")
    assert len(await_posted) == before + 1 and "{{team_owner}}" in await_posted[-1].body["text"]


def test_postmortem_screen_snapshot(snap_compare, contacts_room, clock):
    contacts_room.set_field(contacts_room.incident(), "summary", "Checkout failed for 20 minutes")
    contacts_room.set_field(contacts_room.incident(), "contributing_factors", "no canary")
    app = make_app(contacts_room, clock, start_sources=False, watch=False)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
