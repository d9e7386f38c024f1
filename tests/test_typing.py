"""Nothing typed is lost: every line typed or pasted lands once, as typed, in order.

The keys go to the real console the way a terminal sends them: all at once, with no pause
for the app to catch up (Textual's pilot waits for the app after each key, which hides the
races a fast typist or a paste runs into). Another process writes to the same record and
a log source floods the Logs pane while the scribe types.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from console_support import (
    app_room,  # noqa: F401 (a fixture)
    open_room,
    story,
    wait_until,
)
from console_support import events as record_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual import events

from warroom.ui.factory import make_app
from warroom.ui.panes.timeline import EntryInput

SCRIPTS = Path(__file__).parent / "scripts"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def send(app, *keys: str) -> None:
    """Keys as a terminal delivers them: every one queued before the app reads the first."""
    driver = app._driver
    for key in keys:
        if len(key) == 1:
            name = {" ": "space", "!": "exclamation_mark", "?": "question_mark", ">": "greater_than_sign",
                    "-": "minus", ":": "colon", ".": "full_stop"}.get(key, key)
            event = events.Key(name, key)
        else:
            event = events.Key(key, None)
        event.set_sender(app)
        driver.send_message(event)


def paste(app, text: str) -> None:
    event = events.Paste(text)
    event.set_sender(app)
    app._driver.send_message(event)


def lines_typed(text: str) -> list[str]:
    return [*text, "enter"]


STORY = {"Error rate at 30% on /checkout since deploy 4812", "Roll back deploy 4812",
         "Rolled back; error rate falling"}  # what console_support.story logs


def logged_texts(room_dir: Path, author: str = "alice") -> list[str]:
    """What `author` logged after the story, in the order it was logged."""
    found = [e for e in record_events(room_dir, "entry.logged") if e.author == author
             and e.body["text"] not in STORY]
    return [e.body["text"] for e in sorted(found, key=lambda e: (e.hlc, e.id))]


def with_flooding_log(room_dir: Path) -> None:
    """A [[log]] source that prints lines as fast as it can for the whole test."""
    script = SCRIPTS / "flood.py"
    with open(room_dir / "warroom.toml", "a") as handle:
        handle.write(f'\n[[log]]\nname = "flood"\ncommand = ["{sys.executable}", "{script}", "3000000"]\n'
                     f'restart = true\n')


def other_writer(room_dir: Path) -> subprocess.Popen:
    """A second writer on the same record: a teammate's `warroom log` loop in a shell."""
    code = ("import sys, time\n"
            "from warroom.record.room import Room\n"
            "room = Room.open(sys.argv[1] + '/warroom.toml', author='bob')\n"
            "n = 0\n"
            "while True:\n"
            "    room.log(room.incident(), f'bob {n}')\n"
            "    n += 1\n"
            "    time.sleep(0.01)\n")
    return subprocess.Popen([sys.executable, "-c", code, str(room_dir)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


async def test_500_lines_at_full_speed_with_a_second_writer_and_a_log_flood(room_dir, clock):
    with_flooding_log(room_dir)
    room = open_room(room_dir, clock, seed=None)
    story(room, clock)
    writer = other_writer(room_dir)
    typed = [f"! line-{n:03d} decided" if n % 7 == 0 else f"line-{n:03d} note {n}" for n in range(500)]
    try:
        app = make_app(room, clock, start_sources=True, watch=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            keys = ["n"]
            for text in typed:
                keys += lines_typed(text)
            send(app, *keys)
            await wait_until(pilot, lambda: len(logged_texts(room_dir)) >= 500, timeout=120)
            await wait_until(pilot, lambda: not app.query_one("TimelinePane").pending, timeout=30)
            assert app.query_one(EntryInput).value == ""
    finally:
        writer.kill()
        writer.wait()
    expected = [t[1:].strip() if t.startswith("!") else t for t in typed]  # "!" marks a decision
    got = logged_texts(room_dir)
    assert got == expected  # every line once, as typed, in the order typed
    assert len([e for e in record_events(room_dir, "entry.logged") if e.author == "bob"]) > 0
    decisions = [e for e in record_events(room_dir, "entry.logged")
                 if e.author == "alice" and e.body.get("type") == "decision" and e.body["text"] not in STORY]
    assert len(decisions) == len([n for n in range(500) if n % 7 == 0])


async def test_editing_keys_act_in_the_order_typed(app_room, clock):
    """A backspace typed fast deletes the character before it, not one typed after it."""
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        send(app, "n", *"abcx", "backspace", *"d", "home", *"> ", "end", *"e", "enter",
             *"second", "left", "left", "backspace", "enter")
        await wait_until(pilot, lambda: len(logged_texts(app_room.config.root)) >= 2)
    assert logged_texts(app_room.config.root) == ["abcde", "secnd"]
    actions = [e for e in record_events(app_room.config.root, "entry.logged") if e.body["text"] == "abcde"]
    assert actions[0].body["type"] == "action"


async def test_keys_after_n_reach_the_input_not_the_timeline(app_room, clock):
    """`n` then text at once: `e` and `x` are the timeline's keys (edit, delete) but here they
    are letters of the line."""
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        app.query_one("#timeline-table").focus()
        await pilot.pause()
        send(app, "n", *"exec next fix", "enter")
        await wait_until(pilot, lambda: "exec next fix" in logged_texts(app_room.config.root))
        assert len(app.screen_stack) == 1  # no edit dialog opened
    assert [e for e in record_events(app_room.config.root, "entry.deleted")] == []


async def test_a_bracketed_paste_is_held_whole_then_one_entry(app_room, clock):
    trace = "Traceback (most recent call last):\n  File \"app.py\", line 3\nValueError: boom"
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        send(app, "n", *"Seen: ")
        paste(app, trace + "\n")
        entry_input = app.query_one(EntryInput)
        await wait_until(pilot, lambda: entry_input.held is not None)  # a fixed pause failed under load
        assert entry_input.held == "Seen: " + trace
        await wait_until(pilot, lambda: "lines pasted" in str(app.query_one("#timeline-pending").render()))
        strip = str(app.query_one("#timeline-pending").render())
        assert "3 lines pasted" in strip  # what is about to be logged, before Enter
        send(app, *"x")  # a held paste is not edited
        send(app, "enter")
        await wait_until(pilot, lambda: len(logged_texts(app_room.config.root)) >= 1)
        assert entry_input.held is None and entry_input.value == ""
    assert logged_texts(app_room.config.root) == ["Seen: " + trace]


async def test_a_paste_split_one_entry_per_line_and_esc_drops_it(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        send(app, "n")
        paste(app, "first line\r\nsecond line\n\nthird line\n")
        await pilot.pause(0.1)
        send(app, "ctrl+l")
        await wait_until(pilot, lambda: len(logged_texts(app_room.config.root)) >= 3)
        send(app, *"kept")
        paste(app, "dropped one\ndropped two")
        await pilot.pause(0.1)
        send(app, "escape")
        await wait_until(pilot, lambda: app.query_one(EntryInput).held is None)
        assert app.query_one(EntryInput).value == "kept"
    assert logged_texts(app_room.config.root) == ["first line", "second line", "third line"]


async def test_an_unbracketed_paste_logs_each_line_once(app_room, clock):
    """A terminal without bracketed paste sends the text as keys, line breaks as Enter."""
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        send(app, "n", *lines_typed("alpha"), *lines_typed("beta"), *lines_typed("gamma"))
        await wait_until(pilot, lambda: len(logged_texts(app_room.config.root)) >= 3)
        await pilot.pause(0.3)
    assert logged_texts(app_room.config.root) == ["alpha", "beta", "gamma"]


async def test_a_refused_write_shows_failed_and_keeps_the_text(app_room, clock):
    """The record cannot be written (a read-only connection stands in for a full or read-only
    disk): the first line comes back into the input, the next stays listed as not logged,
    and both land, once, when the record can be written again (Enter, ctrl+r)."""
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        app.recorder.wait_idle()
        app_room.store.conn.execute("pragma query_only=1")
        send(app, "n", *"keep me", "enter", *"second", "enter")
        timeline = app.query_one("TimelinePane")
        entry_input = app.query_one(EntryInput)
        await wait_until(pilot, lambda: entry_input.value == "keep me"
                         and any(p.error and p.text == "second" for p in timeline.pending.values()))
        await wait_until(pilot, lambda: "not logged" in str(app.query_one("#timeline-pending").render()))
        strip = str(app.query_one("#timeline-pending").render())
        assert "not logged" in strip and "second" in strip and "ctrl+r" in strip
        assert logged_texts(app_room.config.root) == []
        app.recorder.submit(lambda room: room.store.conn.execute("pragma query_only=0"))
        app.recorder.wait_idle()
        send(app, "enter", "ctrl+r")
        await wait_until(pilot, lambda: len(logged_texts(app_room.config.root)) >= 2, timeout=15)
        await wait_until(pilot, lambda: not timeline.pending)
        await pilot.pause(0.3)
    assert logged_texts(app_room.config.root) == ["keep me", "second"]


async def test_after_a_delete_the_selection_stays_in_place(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        table = app.query_one("#timeline-table")
        await pilot.press("n")
        for text in ("one", "two", "three", "four"):
            await pilot.press(*text, "enter")
        await wait_until(pilot, lambda: len(logged_texts(app_room.config.root)) >= 4)
        await pilot.press("escape")
        table.focus()
        await pilot.pause()
        timeline = app.query_one("TimelinePane")
        row_of = {timeline.rows[str(table.coordinate_to_cell_key((index, 0)).row_key.value)].text: index
                  for index in range(table.row_count)}
        table.move_cursor(row=row_of["two"])
        await pilot.press("x")
        await wait_until(pilot, lambda: "two" not in [e.text for e in timeline.rows.values()])
        assert timeline.rows[timeline.selected_entry_id()].text == "three"
        await pilot.press("x")
        await wait_until(pilot, lambda: "three" not in [e.text for e in timeline.rows.values()])
        assert timeline.rows[timeline.selected_entry_id()].text == "four"
    deleted = record_events(app_room.config.root, "entry.deleted")
    assert len(deleted) == 2


async def test_a_backdate_before_the_declaration_is_refused_and_kept(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        send(app, "n", *"14:05 on-call acknowledged", "enter")  # declared at 14:40
        timeline = app.query_one("TimelinePane")
        await wait_until(pilot, lambda: app.query_one(EntryInput).value == "14:05 on-call acknowledged"
                         or any(p.error for p in timeline.pending.values()))
    assert logged_texts(app_room.config.root) == []


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(
    st.tuples(st.just("line"), st.text(alphabet="abcdefgh ijk-_.", min_size=1, max_size=12)),
    st.tuples(st.just("paste1"), st.text(alphabet="mnopq rs", min_size=1, max_size=10)),
    st.tuples(st.just("pasteN"), st.lists(st.text(alphabet="tuvw xyz", min_size=1, max_size=8),
                                          min_size=2, max_size=4)),
    st.tuples(st.just("other"), st.integers(0, 2)),
), min_size=1, max_size=12))
def test_any_interleaving_of_keys_pastes_and_writers(tmp_path_factory, plan):
    """Keys, single- and multi-line pastes, and another writer's entries, interleaved at
    random: what the scribe logged is exactly the model's list, in order."""
    import asyncio

    from warroom.record.clock import FrozenClock
    from warroom.share.setup import init

    folder = tmp_path_factory.mktemp("room") / "room"
    init(folder)
    clock = FrozenClock("2026-11-24T15:00:00+00:00")
    room = open_room(folder, clock, seed=None)
    story(room, clock)
    expected: list[str] = []

    async def run() -> None:
        app = make_app(room, clock, start_sources=False, watch=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.2)
            send(app, "n")
            other = open_room(folder, clock, author="bob", seed=None)
            try:
                for kind, value in plan:
                    if kind == "line":
                        send(app, *value, "enter")
                        if value.strip():
                            expected.append(value.strip())
                    elif kind == "paste1":
                        paste(app, value)
                        send(app, "enter")
                        if value.strip():
                            expected.append(value.strip())
                    elif kind == "pasteN":
                        paste(app, "\n".join(value))
                        send(app, "ctrl+l")
                        expected.extend(v.strip() for v in value if v.strip())
                    else:
                        for n in range(value):
                            other.log(other.incident(), f"bob says {n}")
                await wait_until(pilot, lambda: len(logged_texts(folder)) >= len(expected), timeout=30)
                await pilot.pause(0.2)
            finally:
                other.close()

    try:
        asyncio.run(run())
    finally:
        room.close()
    assert logged_texts(folder) == expected


def test_the_real_console_in_tmux_keeps_fast_pairs_apart(tmp_path):
    """`n`, then `line-a` Enter `line-b` Enter ten times, sent to a real terminal with no
    delay: twenty entries, each as typed."""
    import shutil
    import time

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    from warroom.share.setup import init

    folder = tmp_path / "room"
    init(folder)
    env = {"WARROOM_USER": "scribe", "TZ": "UTC"}
    run = lambda *args: subprocess.run([sys.executable, "-m", "warroom", *args], cwd=folder, check=True,
                                       capture_output=True, text=True, env={**__import__("os").environ, **env})
    run("declare", "Checkout down", "--severity", "P1")
    session = f"wr-typing-{tmp_path.name[-12:]}"
    command = f"cd {folder} && WARROOM_USER=scribe TZ=UTC {sys.executable} -m warroom"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], check=True)
    try:
        deadline = time.monotonic() + 20
        while "Timeline" not in subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                               capture_output=True, text=True).stdout:
            assert time.monotonic() < deadline, "the console did not start"
            time.sleep(0.1)
        time.sleep(0.5)
        args = ["tmux", "send-keys", "-t", session, "n"]
        for n in range(10):
            args += [f"line-a{n}", "Enter", f"line-b{n}", "Enter"]
        subprocess.run(args, check=True)  # one write to the terminal: no delay between keys
        deadline = time.monotonic() + 20
        while True:
            shown = run("show").stdout
            if shown.count("line-") >= 20 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    texts = [line.split()[-1] for line in shown.splitlines() if "line-" in line]
    assert texts == [f"line-{side}{n}" for n in range(10) for side in "ab"]
