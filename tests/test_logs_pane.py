"""The Logs pane in the real console, fed by real subprocesses through LogSource.

The hostile corpus goes through the exact path the pane uses (subprocess ->
LogSource -> LogView.render_line) and the assertions are on the rendered strips.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from console_support import console_ready, open_room, story, wait_until

from warroom.playbook import export
from warroom.record.store import Store
from warroom.ui.factory import make_app
from warroom.ui.panes.logs import LogsPane
from warroom.ui.panes.logview import LogView

pytestmark = pytest.mark.anyio
SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def add_log_sources(room_dir: Path, sources: dict[str, list[str]]) -> None:
    config = room_dir / "warroom.toml"
    text = config.read_text()
    for name, argv in sources.items():
        quoted = ", ".join(f'"{arg}"' for arg in argv)
        text += f'\n[[log]]\nname = "{name}"\ncommand = [{quoted}]\n'
    config.write_text(text)


def rendered(view: LogView) -> list[str]:
    """What the pane draws: each visible line as the terminal would receive it."""
    return ["".join(segment.text for segment in view.render_line(y)) for y in range(view.size.height)]


def all_rendered(view: LogView) -> list[str]:
    return ["".join(seg.text for seg in view.line_text(line).render(view.app.console)) for line in view.shown]


@pytest.fixture
def console(room_dir, clock):
    py = sys.executable
    add_log_sources(room_dir, {
        "formats": [py, str(SCRIPTS / "formats.py")],
        "hostile": [py, str(SCRIPTS / "hostile_corpus.py")],
        "crashy": [py, str(SCRIPTS / "exit_with.py"), "3", "about to fail"],
    })
    room = open_room(room_dir, clock)
    story(room, clock)
    app = make_app(room, clock, start_sources=True, watch=False)
    yield app, room
    room.close()


def view_of(app, name: str) -> LogView:
    return app.query_one(LogsPane).view_for(name)


async def mounted_view(app, pilot, name: str) -> LogView:
    """The pane is mounted just after the first frame: wait for it, then find the view."""
    await console_ready(pilot)
    return view_of(app, name)


async def test_hostile_corpus_renders_inert(console):
    app, _room = console
    async with app.run_test(size=(160, 50)) as pilot:
        hostile = await mounted_view(app, pilot, "hostile")
        await wait_until(pilot, lambda: any(l.text.startswith("invalid") for l in hostile.buffer_lines))
        lines = all_rendered(hostile)
        joined = "\n".join(lines)
        assert "\x1b" not in joined and "\x07" not in joined and "\x00" not in joined
        assert not any(0x80 <= ord(ch) <= 0x9f for ch in joined)
        assert "[@click=app.quit]x[/]" in joined          # markup shown as text, not run
        assert "[bold red]not markup[/bold red]" in joined
        assert "hunter2hunter2" not in joined and "s3cr3t-pass" not in joined
        assert "eyJzdWIiOiIxIn0" not in joined and "AKIAIOSFODNN7EXAMPLE" not in joined
        assert "invalid" in joined and "\ufffd" in joined  # invalid UTF-8 replaced, not dropped
        assert app.is_running
        # the on-screen strips too
        app.query_one(LogsPane).query_one("TabbedContent").active = "tab-1"
        await pilot.pause(0.2)
        screen_text = "\n".join(rendered(hostile))
        assert "\x1b" not in screen_text


async def test_formats_levels_and_min_level(console):
    app, _room = console
    async with app.run_test(size=(160, 50)) as pilot:
        formats = await mounted_view(app, pilot, "formats")
        await wait_until(pilot, lambda: formats.total >= 6)
        levels = {line.level for line in formats.buffer_lines}
        assert {"info", "error", "warn"} <= levels
        formats.set_min_level("error")
        assert formats.shown and all(line.level == "error" for line in formats.shown)
        formats.set_min_level("debug")
        assert len(formats.shown) == formats.total


async def test_filter_highlight_invalid_regex_and_recall(console):
    app, _room = console
    async with app.run_test(size=(160, 50)) as pilot:
        formats = await mounted_view(app, pilot, "formats")
        pane = app.query_one(LogsPane)
        await wait_until(pilot, lambda: formats.total >= 6)
        pane.query_one("TabbedContent").active = "tab-0"
        await pilot.pause()
        formats.focus()
        await pilot.press("slash", *"timed out|declined", "enter")
        await pilot.pause()
        assert formats.shown and all(("timed out" in l.text or "declined" in l.text) for l in formats.shown)
        assert len(formats.shown) < formats.total
        await pilot.press("h")   # highlight: everything shown again, matches marked
        assert len(formats.shown) == formats.total
        await pilot.press("h")
        await pilot.press("slash")
        await pilot.pause()
        assert app.screen.query_one("Input").value == "timed out|declined"  # the last filter is recalled
        app.screen.query_one("Input").value = "(["
        await pilot.press("enter")
        await pilot.pause()
        assert app.is_running
        assert formats.filter_text == "(["   # taken as plain text, with a message instead of a crash


async def test_follow_pause_and_clear(console):
    app, _room = console
    async with app.run_test(size=(160, 50)) as pilot:
        hostile = await mounted_view(app, pilot, "hostile")
        await wait_until(pilot, lambda: hostile.total >= 30)
        hostile.follow = False
        hostile.add_lines(list(hostile.buffer_lines)[:3])  # three more lines arrive while paused
        assert hostile.arrived_while_paused == 3
        assert "PAUSED, 3 new" in hostile.status_line()
        hostile.follow = True
        assert hostile.arrived_while_paused == 0
        hostile.action_clear()
        assert not hostile.shown


async def test_pin_writes_a_redacted_finding(console):
    app, room = console
    async with app.run_test(size=(160, 50)) as pilot:
        hostile = await mounted_view(app, pilot, "hostile")
        await wait_until(pilot, lambda: hostile.total >= 30)
        target = next(i for i, line in enumerate(hostile.shown) if "Authorization" in line.text)
        hostile.cursor = target
        hostile.focus()
        await pilot.press("p")

        def pinned():
            with Store(room.store.path, author="reader") as store:
                return [e for e in store.load().events if e.kind == "entry.logged" and e.body.get("source")]

        await wait_until(pilot, lambda: bool(pinned()))
        # The five lines before and after it in its log stay with it, for the post-mortem's excerpt.
        before = [line.text for line in hostile.shown[max(0, target - 5):target]]
        after = [line.text for line in hostile.shown[target + 1:target + 6]]
    event = pinned()[0]
    assert event.body["source"] == "log:hostile" and event.body["type"] == "finding"
    assert "Authorization" in event.body["text"] and "eyJ" not in event.body["text"]
    assert len(before) == 5 and len(after) == 5
    assert event.body["lines_before"].split("\n") == before
    assert event.body["lines_after"].split("\n") == after
    assert "\x1b" not in event.body["lines_before"] + event.body["lines_after"]
    doc = export.postmortem(room.full(event.incident), room.config, room.clock.now())
    excerpt = doc.split("## Appendix: pinned log excerpts", 1)[1]
    assert excerpt.count("\n▶ ") == 1 and excerpt.count("\n  ") >= 10


async def test_a_crashing_source_says_so_in_its_tab(console):
    app, _room = console
    async with app.run_test(size=(160, 50)) as pilot:
        crashy = await mounted_view(app, pilot, "crashy")
        await wait_until(pilot, lambda: "exited with code 3" in crashy.status)
        assert "giving up: 3" in crashy.status or "about to fail" in crashy.status
        assert app.is_running


async def test_flood_is_bounded_and_counts_what_it_folded(room_dir, clock):
    add_log_sources(room_dir, {"flood": [sys.executable, str(SCRIPTS / "flood.py"), "30000"]})
    text = (room_dir / "warroom.toml").read_text().replace('name = "flood"', 'name = "flood"\nbuffer = 1000')
    (room_dir / "warroom.toml").write_text(text)
    room = open_room(room_dir, clock)
    story(room, clock)
    app = make_app(room, clock, start_sources=True, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        flood = await mounted_view(app, pilot, "flood")
        await wait_until(pilot, lambda: flood.total >= 30000, timeout=30)
        assert len(flood.buffer_lines) == 1000
        assert flood.folded == flood.total - 1000
        assert "folded" in flood.status_line()
    room.close()


# --- the pane's fast paths give what the plain ones give -------------------------------------

def _lines_for_rows():
    from datetime import datetime, timezone

    from warroom.sources.parse import LogLine

    at = datetime(2026, 11, 24, 5, 32, 42, 123000, tzinfo=timezone.utc)
    out = []
    for seq, (level, text, source) in enumerate([
        ("error", "upstream timed out", "api"), ("warn", "slow", "a-very-long-source-name"),
        ("info", "GET /x 200", "api"), ("debug", "cache miss", "db"), (None, "no level", "api"),
        ("error", "", "api"), (None, "", "x"), ("info", "wide 日本語 and emoji 🚀", "api"),
        ("warn", "[bold]not markup[/bold] «REDACTED»", ""), ("error", "x" * 300, "api"),
    ]):
        out.append(LogLine(source, text, level, at if seq % 2 else None, seq))
    return out


async def test_row_segments_are_those_of_the_text_render(console):
    """render_line draws most rows from line_segments, not through a Text: the segments (text
    and style) are exactly what rendering line_text gives, in the source tab and in "all"."""
    app, _room = console
    async with app.run_test(size=(160, 50)) as pilot:
        formats = await mounted_view(app, pilot, "formats")
        everything = app.query_one("#log-all", LogView)
        for view in (formats, everything):
            for line in _lines_for_rows():
                assert view.line_segments(line) == list(view.line_text(line).render(app.console)), line


def _reference_merge(buffer, last_at, lines):
    """AllLogView.add_lines as it was (one Python step per line): -> the new last stamp."""
    out_of_order = False
    for line in lines:
        if line.at is not None and buffer and last_at is not None and line.at < last_at:
            out_of_order = True
        if line.at is not None and (last_at is None or line.at > last_at):
            last_at = line.at
    buffer.extend(lines)
    if out_of_order:
        ordered = sorted(list(buffer)[-len(lines) * 4:],
                         key=lambda l: (l.at.timestamp() if l.at else float("inf"), l.seq))
        head = list(buffer)[:len(buffer) - len(ordered)]
        buffer.clear()
        buffer.extend(head + ordered)
    return last_at


async def test_all_view_merge_matches_the_line_by_line_merge(console):
    import random
    from collections import deque
    from datetime import datetime, timedelta, timezone

    from warroom.sources.parse import LogLine

    app, _room = console
    async with app.run_test(size=(160, 50)) as pilot:
        await mounted_view(app, pilot, "formats")
        everything = app.query_one("#log-all", LogView)
        app.workers.cancel_group(app, "logs")  # only the batches below
        await pilot.pause(0.3)
        everything.action_clear()
        everything._last_at = None
        rng = random.Random(7)
        base = datetime(2026, 11, 24, 5, 0, tzinfo=timezone.utc)
        buffer, last_at, seq, clock = deque(maxlen=everything.buffer_lines.maxlen), None, 0, 0
        for _ in range(300):
            batch = []
            for _ in range(rng.choice([1, 3, 50, 400])):
                seq += 1
                kind = rng.random()
                if kind < 0.15:
                    at = None
                elif kind < 0.25:  # late: before the newest so far
                    at = base + timedelta(milliseconds=clock - rng.randint(1, 5000))
                else:
                    clock += rng.choice([0, 0, 1, 7])
                    at = base + timedelta(milliseconds=clock)
                batch.append(LogLine(rng.choice(["a", "b"]), f"line {seq}", "info", at, seq))
            last_at = _reference_merge(buffer, last_at, batch)
            everything.add_lines(batch)
            assert list(everything.buffer_lines) == list(buffer)
            assert everything.shown == list(buffer)
            assert everything._last_at == last_at


async def test_a_hidden_tab_catches_up_when_shown(console):
    """Lines reaching a tab that is not shown cost no layout or repaint; its size and scroll
    catch up when the tab is shown."""
    from warroom.sources.parse import LogLine

    app, _room = console
    async with app.run_test(size=(160, 50)) as pilot:
        formats = await mounted_view(app, pilot, "formats")
        await wait_until(pilot, lambda: formats.total >= 6)
        tabs = app.query_one(LogsPane).query_one("TabbedContent")
        assert tabs.active == "tab-all"
        formats.add_lines([LogLine("formats", f"late line {i}", "info", None, 10_000 + i) for i in range(500)])
        tabs.active = "tab-0"
        await wait_until(pilot, lambda: formats.virtual_size.height == len(formats.shown))
        await wait_until(pilot, lambda: "late line 499" in "".join(rendered(formats)))
        assert formats.scroll_y == formats.max_scroll_y


async def test_status_line_follows_the_counts(console):
    """A flood posts at most one Changed message per view at a time; the status line still
    ends up with the final counts."""
    from warroom.sources.parse import LogLine

    app, _room = console
    async with app.run_test(size=(160, 50)) as pilot:
        formats = await mounted_view(app, pilot, "formats")
        await wait_until(pilot, lambda: formats.total >= 6)
        pane = app.query_one(LogsPane)
        everything = app.query_one("#log-all", LogView)
        for start in range(0, 3000, 100):
            pane.add_lines("formats", [LogLine("formats", f"more {i}", "error", None, 20_000 + i)
                                       for i in range(start, start + 100)])
        status = app.query_one("#log-status")
        await wait_until(pilot, lambda: f"{everything.total:,} lines" in str(status.render()))
        assert everything.total >= 3006 and "errors/min" in str(status.render())
