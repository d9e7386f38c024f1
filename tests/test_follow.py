"""A followed file starts at its end (issue 14, item 5): its last `buffer` lines, found by
reading backwards from the end as `tail` does, not by reading the whole file. Real files,
real renames and truncations, LogSource as the console runs it."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from warroom.config import LogConfig
from warroom.sources.follow import _FileFollower
from warroom.sources.parse import MAX_LINE_BYTES
from warroom.sources.supervisor import LogSource


class Collector:
    def __init__(self) -> None:
        self.lines: list = []
        self.statuses: list[str] = []

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]


def follow(path: Path, collector: Collector, buffer: int = 10_000, **kwargs) -> LogSource:
    return LogSource(LogConfig(name="file", file=str(path), buffer=buffer), on_lines=collector.lines.extend,
                     on_status=collector.statuses.append, poll_interval=0.01, **kwargs)


async def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def run(coro, timeout: float = 120):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def bytes_read() -> int:
    """What this process has read so far (files, pipes), from /proc/self/io."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_the_last_buffer_lines_arrive_and_little_else_is_read(tmp_path):
    path = tmp_path / "big.log"
    lines = [f"2026-11-24T05:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}Z INFO GET /orders/{i} 200"
             for i in range(300_000)]
    path.write_text("\n".join(lines) + "\n")
    size = path.stat().st_size
    collector = Collector()

    async def go() -> int:
        before = bytes_read()
        source = follow(path, collector, buffer=2_000)
        await source.start()
        await wait_until(lambda: len(collector.lines) >= 2_000)
        read = bytes_read() - before
        await asyncio.sleep(0.1)  # nothing more comes
        await source.stop()
        return read

    read = run(go())
    assert [line.text for line in collector.lines] == [l.split("Z ", 1)[1] for l in lines[-2_000:]]
    assert collector.lines[-1].at is not None
    assert read < size / 20, f"read {read} bytes of a {size}-byte file to show its last 2,000 lines"


def test_the_default_is_the_buffer_and_a_small_file_comes_whole(tmp_path):
    path = tmp_path / "small.log"
    path.write_text("".join(f"line {i}\n" for i in range(50)))
    collector = Collector()

    async def go() -> None:
        source = follow(path, collector, buffer=20)
        await source.start()
        await wait_until(lambda: len(collector.lines) >= 20)
        await source.stop()
        small = Collector()
        source = follow(path, small, buffer=10_000)
        await source.start()
        await wait_until(lambda: len(small.lines) >= 50)
        await source.stop()
        assert small.texts == [f"line {i}" for i in range(50)]

    run(go())
    assert collector.texts == [f"line {i}" for i in range(30, 50)]


def test_a_file_without_a_trailing_newline_shows_its_last_line(tmp_path):
    path = tmp_path / "open.log"
    path.write_bytes(b"first\nsecond\nthe last line, unfinished")
    collector = Collector()

    async def go() -> None:
        source = follow(path, collector, buffer=2)
        await source.start()
        await wait_until(lambda: collector.texts == ["second", "the last line, unfinished"], timeout=5)
        with open(path, "ab") as handle:  # the writer goes on: new lines follow
            handle.write(b"\nnext line\n")
        await wait_until(lambda: collector.texts[-1:] == ["next line"])
        # unfinished again, mid-follow: held while it may still grow, shown once the file is quiet
        with open(path, "ab") as handle:
            handle.write(b"crashed mid-li")
        await asyncio.sleep(0.3)
        assert collector.texts[-1] == "next line"
        await wait_until(lambda: collector.texts[-1:] == ["crashed mid-li"], timeout=10)
        await source.stop()

    run(go())
    assert "" not in collector.texts  # the writer's newline after the unfinished line made no empty line


def test_rotated_and_truncated_while_followed(tmp_path):
    path = tmp_path / "app.log"
    path.write_text("".join(f"old {i}\n" for i in range(10_000)))
    collector = Collector()

    async def go() -> None:
        source = follow(path, collector, buffer=100)
        await source.start()
        await wait_until(lambda: len(collector.lines) >= 100)
        assert collector.texts == [f"old {i}" for i in range(9_900, 10_000)]
        with open(path, "a") as handle:
            handle.write("appended\n")
        await wait_until(lambda: collector.texts[-1] == "appended")
        # rotation: renamed away (one more line reaches the old file), a new file in its place,
        # read whole however long it is
        with open(path, "a") as handle:
            handle.write("last of old\n")
        os.rename(path, tmp_path / "app.log.1")
        path.write_text("".join(f"new {i}\n" for i in range(500)))
        await wait_until(lambda: collector.texts[-1:] == ["new 499"])
        assert collector.texts[-500:] == [f"new {i}" for i in range(500)]
        assert collector.texts.index("last of old") < collector.texts.index("new 0")
        # truncation (copytruncate): read again from the start
        with open(path, "w") as handle:
            handle.write("after truncate\n")
        await wait_until(lambda: collector.texts[-1:] == ["after truncate"])
        await source.stop()

    run(go())
    assert any("(rotated)" in s for s in collector.statuses)
    assert any("truncated" in s for s in collector.statuses)
    assert len(collector.texts) == 100 + 1 + 1 + 500 + 1


def test_a_huge_single_line(tmp_path):
    """A line longer than the backward search (the start of it is never read) shows its end
    after a '…'; one shorter shows its start, capped; neither holds up what follows."""
    huge = tmp_path / "huge.log"
    with open(huge, "wb") as handle:
        handle.write(b"a line before it\n")
        for i in range(40):  # 40 MiB, one line
            handle.write((b"%02d" % i) * (1 << 19))
        handle.write(b"END-OF-HUGE\n")
    long = tmp_path / "long.log"
    long.write_bytes(b"before\n" + b"start-of-long " + b"x" * (5 << 20) + b" end\n")

    async def go(path: Path) -> Collector:
        collector = Collector()
        source = follow(path, collector)
        began = time.monotonic()
        await source.start()
        await wait_until(lambda: len(collector.lines) >= 1, timeout=10)
        assert time.monotonic() - began < 5
        with open(path, "ab") as handle:
            handle.write(b"after it\n")
        await wait_until(lambda: collector.texts[-1:] == ["after it"])
        await source.stop()
        return collector

    tail = run(go(huge))
    first = tail.lines[0].text
    assert first.startswith("…3939") and first.endswith("3939END-OF-HUGE")
    assert "a line before it" not in tail.texts
    assert len(tail.texts) == 2
    shown = run(go(long))
    assert shown.texts[0] == "before"
    assert shown.texts[1].startswith("start-of-long xxx") and shown.texts[1].endswith("chars]")
    assert len(shown.texts) == 3
    assert MAX_LINE_BYTES < (5 << 20) < _FileFollower.SCAN_LIMIT < (40 << 20)


def test_the_console_shows_the_last_lines_of_a_followed_file(room_dir, clock, tmp_path):
    """The console starts its tails before the logs pane is there: the lines wait for it and
    all arrive, the last one last, and only `buffer` of them."""
    import anyio
    from console_support import console_ready, open_room, story
    from console_support import wait_until as pilot_wait

    from warroom.ui.factory import make_app
    from warroom.ui.panes.logs import LogsPane

    log = tmp_path / "app.log"
    log.write_text("".join(f"INFO request {i} done\n" for i in range(50_000)))
    with (room_dir / "warroom.toml").open("a") as handle:
        handle.write(f'\n[[log]]\nname = "app"\nfile = "{log}"\nbuffer = 1000\n')
    room = open_room(room_dir, clock)
    story(room, clock)

    async def go() -> None:
        app = make_app(room, clock, start_sources=True, watch=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await console_ready(pilot)
            view = app.query_one(LogsPane).view_for("app")
            await pilot_wait(pilot, lambda: len(view.buffer_lines) >= 1000, timeout=20)
            await pilot.pause(0.3)
            assert [line.text for line in view.buffer_lines] == [f"INFO request {i} done" for i in range(49_000, 50_000)]
            assert view.total == 1000 and view.folded == 0
            assert view.status == f"following {log}"  # the status that came before the pane, kept
            with open(log, "a") as handle:
                handle.write("WARN appended while followed\n")
            await pilot_wait(pilot, lambda: view.buffer_lines[-1].text == "WARN appended while followed")

    try:
        anyio.run(go)
    finally:
        room.close()
