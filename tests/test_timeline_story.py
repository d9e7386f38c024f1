"""The timeline as a story (issue 17, item 4): a flapping check's flips fold into one row with
a count and the span, Enter opens the fold and Esc closes it; `f` cycles all / people only /
decisions and actions, named in the pane's title; `/` searches as you type, Esc clears it.
Hostile text in a check name and in a search stays inert."""

from __future__ import annotations

import pytest
from console_support import open_room, story, wait_until
from textual.content import Content
from textual.widgets import DataTable

from warroom.record.events import parse_time
from warroom.record.model import Entry
from warroom.ui.factory import make_app
from warroom.ui.panes import timeline_rows as rows
from warroom.ui.panes.timeline import TimelinePane

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def texts(app) -> list[str]:
    table = app.query_one("#timeline-table", DataTable)
    return [table.get_row_at(i)[-1].plain for i in range(table.row_count)]


def flapping(room, clock, flips: int = 6, check: str = "checkout-api") -> str:
    """The story's incident, then `flips` flips of one check a minute apart, then a note."""
    incident_id = story(room, clock)
    incident = room.head(incident_id)
    states = ["up", "degraded"]
    for n in range(flips):
        clock.advance(minutes=1)
        room.record_flip(incident, check, states[n % 2], states[(n + 1) % 2], f"latency {800 + n}ms over 800ms")
    return incident_id


def entry(n: int, text: str, auto: str = "", type: str = "note", author: str = "alice") -> Entry:
    return Entry(id=f"e{n:03d}", at=f"2026-11-24T14:{n:02d}:00.000Z", author=author, type=type, text=text,
                 hlc=f"{n:03d}", auto=auto)


def flip(n: int, check: str, current: str = "down") -> Entry:
    return entry(n, f"Check {check}: up → {current} (503)", auto="check", type="finding", author="warroom")


def test_flips_of_one_check_in_a_stretch_fold_at_the_newest():
    items = rows.arrange([entry(1, "paged db"), flip(2, "a"), flip(3, "b"), flip(4, "a"), flip(5, "a"),
                          entry(6, "rolled back"), flip(7, "a")], expanded=set())
    shape = [(type(i).__name__, len(i.entries) if isinstance(i, rows.Fold) else i.text[:9]) for i in items]
    assert shape == [("Entry", "paged db"), ("Entry", "Check b: "), ("Fold", 3), ("Entry", "rolled ba"),
                     ("Entry", "Check a: ")]
    opened = rows.arrange([flip(2, "a"), flip(3, "a")], expanded={"fold:e002"})
    assert [i.id for i in opened] == ["e002", "e003"]


def test_a_fold_row_says_how_many_over_what_span_and_where_the_check_stands():
    fold = rows.Fold("checkout-api", [flip(2, "checkout-api", "down"), flip(16, "checkout-api", "degraded")])
    text = rows.fold_cells(fold)[-1].plain
    assert text.startswith("checkout-api: 2 flips in 14m 00s (14:02-14:16 UTC), now degraded (503)"), text


def test_filters_and_search_rules():
    decision, typed = entry(1, "Fail over", type="decision"), entry(2, "paged db")
    auto = entry(3, "Status: identified", auto="status")
    assert [rows.shown_by_filter(e, "people") for e in (decision, typed, auto)] == [True, True, False]
    assert [rows.shown_by_filter(e, "decisions") for e in (decision, typed, auto)] == [True, False, False]
    assert rows.shown_by_search(typed, "PAGED") and not rows.shown_by_search(typed, "fail")
    assert rows.shown_by_search(typed, "alice")  # who wrote it counts


async def test_a_flapping_check_is_one_row_that_enter_opens_and_esc_closes(room_dir, clock):
    room = open_room(room_dir, clock)
    flapping(room, clock, flips=6)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: any("6 flips" in t for t in texts(app)))
        assert sum("checkout-api" in t for t in texts(app)) == 1
        assert "now up (latency 805ms over 800ms)" in texts(app)[-1]
        # one more flip arrives while the console runs: the fold grows, still one row
        room.record_flip(room.head(app.incident.id), "checkout-api", "degraded", "up", "")
        app.recorder.reload()
        await wait_until(pilot, lambda: any("7 flips" in t for t in texts(app)))
        assert sum("checkout-api" in t for t in texts(app)) == 1
        app.query_one("#timeline-table").focus()
        await pilot.press("end", "enter")
        await wait_until(pilot, lambda: sum("Check checkout-api" in t for t in texts(app)) == 7)
        assert not app.screen.is_modal  # Enter on a fold opens it, it shows no details dialog
        await pilot.press("escape")
        await wait_until(pilot, lambda: any("7 flips" in t for t in texts(app)))
    room.close()


async def test_f_cycles_the_filter_and_the_title_names_it(room_dir, clock):
    room = open_room(room_dir, clock)
    flapping(room, clock, flips=3)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: any("3 flips" in t for t in texts(app)))
        pane = app.query_one(TimelinePane)
        app.query_one("#timeline-table").focus()
        everything = len(texts(app))
        await pilot.press("f")
        await wait_until(pilot, lambda: "people only" in str(pane.border_title))
        people = texts(app)
        assert people and len(people) < everything
        assert not any("flips" in t or t.startswith("Status") for t in people), people
        await pilot.press("f")
        await wait_until(pilot, lambda: "decisions and actions" in str(pane.border_title))
        assert texts(app) == ["Roll back deploy 4812", "Rolled back; error rate falling"]
        await pilot.press("f")
        await wait_until(pilot, lambda: str(pane.border_title) == "Timeline")
        assert len(texts(app)) == everything
    room.close()


async def test_slash_searches_as_you_type_and_esc_clears(room_dir, clock):
    room = open_room(room_dir, clock)
    flapping(room, clock, flips=2)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(texts(app)) > 5)
        everything = texts(app)
        pane = app.query_one(TimelinePane)
        app.query_one("#timeline-table").focus()
        await pilot.press("slash", *"roll")
        await wait_until(pilot, lambda: len(texts(app)) == 2)
        assert all("roll" in t.lower() for t in texts(app))
        assert "search: roll" in str(pane.border_title)
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"[red]x")
        await wait_until(pilot, lambda: texts(app) == [])
        assert "search: [red]x" in Content.from_markup(pane.border_title).plain  # shown as typed, not markup
        await pilot.press("escape")
        await wait_until(pilot, lambda: texts(app) == everything)
        assert str(pane.border_title) == "Timeline"
        assert app.focused is app.query_one("#timeline-table")
    room.close()


async def test_a_hostile_check_name_folds_inert(room_dir, clock):
    room = open_room(room_dir, clock)
    flapping(room, clock, flips=3, check="[bold red]api\x1b[2J")
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: any("3 flips" in t for t in texts(app)))
        row = next(t for t in texts(app) if "3 flips" in t)
        assert row.startswith("[bold red]api") and "\x1b" not in row
    room.close()


def test_fold_span_is_read_from_the_times():
    first, last = flip(2, "a"), flip(9, "a")
    assert (parse_time(last.at) - parse_time(first.at)).total_seconds() == 420
    assert "7m 00s" in rows.fold_cells(rows.Fold("a", [first, last]))[-1].plain


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
async def test_an_entry_uses_the_room_it_has_and_ends_in_an_ellipsis(room_dir, clock, size):
    """At 80x24 an entry keeps 40 characters or more; wider, the entry column takes what the
    other columns leave; a longer entry ends in "…" at the pane's edge, never cut silently."""
    room = open_room(room_dir, clock)
    incident_id = story(room, clock)
    room.log(room.head(incident_id), "x" * 300, "note")
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: any(t.startswith("xxx") for t in texts(app)))
        await pilot.pause(0.3)
        table = app.query_one("#timeline-table", DataTable)
        entry = next(column for key, column in table.columns.items() if key.value == "entry")
        others = sum(column.get_render_width(table) for key, column in table.columns.items() if key.value != "entry")
        assert entry.width >= 40
        assert others + entry.get_render_width(table) <= table.scrollable_content_region.width
        assert table.scrollable_content_region.width - others - entry.get_render_width(table) <= 1
        lines = ["".join(segment.text for segment in table.render_line(y)) for y in range(table.size.height)]
        plain = next((line for line in lines if "xxxx" in line), None)  # the long entry's row, as drawn
        assert plain is not None, (lines, table.size, table.scroll_y, table.row_count)
        assert "…" in plain and plain.count("x") >= 39, plain
    room.close()


async def test_a_row_not_from_today_carries_its_date(room_dir, clock):
    """Declared yesterday evening, logged today: yesterday's rows say "11-23 22:00", and the UTC
    column widens to hold it; today's keep their time to the second."""
    room = open_room(room_dir, clock)
    clock.advance(hours=-17)  # 2026-11-23 22:00 UTC
    declared = room.declare("Search is down", "P2", "Nobody can search")
    clock.advance(hours=17)
    room.log(room.head(declared.id), "still down this morning", "note")
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(texts(app)) >= 2)
        table = app.query_one("#timeline-table", DataTable)
        times = [table.get_row_at(i)[0].plain for i in range(table.row_count)]
        assert times[0] == "11-23 22:00" and times[-1] == "15:00:00", times
        utc = next(column for key, column in table.columns.items() if key.value == "utc")
        assert utc.width == 11
    room.close()


def test_a_time_field_row_shows_the_time_not_the_stored_stamp():
    """`warroom set impact_started_at 14:02` is a row a person reads: "Impact started at:
    14:02 UTC", with the date only when it is not the row's own day; other fields as typed."""
    same = entry(10, "Impact started at: 2026-11-24T14:02:31.120Z", auto="field", type="note")
    earlier = entry(11, "Detected at: 2026-11-23T23:50:00.000Z", auto="field", type="note")
    typed = entry(12, "Impact started at: 2026-11-24T14:02:31.120Z")  # typed by a person: as typed
    other = entry(13, "Summary: at 2026-11-24T14:02:31.120Z it broke", auto="field", type="note")
    shown = [rows.entry_cells(e)[-1].plain for e in (same, earlier, typed, other)]
    assert shown == [
        "Impact started at: 14:02 UTC",
        "Detected at: 2026-11-23 23:50 UTC",
        "Impact started at: 2026-11-24T14:02:31.120Z",
        "Summary: at 2026-11-24T14:02:31.120Z it broke",
    ]
    assert same.time_field() == ("Impact started at", "2026-11-24T14:02:31.120Z") and other.time_field() is None


async def test_setting_a_time_field_reads_as_a_time_in_the_console(room_dir, clock):
    room = open_room(room_dir, clock)
    incident_id = story(room, clock)
    room.set_field(room.head(incident_id), "impact_started_at", "2026-11-24T14:31:00.000Z")
    room.close()
    app = make_app(open_room(room_dir, clock), clock, start_sources=False, watch=False)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: any(t.startswith("Impact started at") for t in texts(app)))
        assert "Impact started at: 14:31 UTC" in texts(app)
