"""Shared by every benchmark: repeat, take medians, report a figure against a limit.

Each benchmarks/bench_*.py exposes `run() -> list[Figure]`; benchmarks/run.py
runs them all and prints one table. Limits are measured in the same run, so the
ratio means something on a noisy 2-core machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator


@dataclass
class Figure:
    name: str            # what was measured
    value: float         # our figure
    unit: str            # "ms", "lines/s", "MB", ...
    against: str         # the limit or peer it is compared with
    limit: float         # that limit's figure, measured in the same run (or a fixed target)
    target: str          # the target, in words: "ratio <= 2", "ratio >= 0.5", "< 1000 ms"
    met: bool            # whether the target is met

    @property
    def ratio(self) -> float:
        if not self.limit:  # a count against a target of 0
            return 0.0 if not self.value else float("inf")
        return self.value / self.limit


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- shared by the console benchmarks (bench_typing, bench_scale, bench_livesync) -------------
# warroom is imported inside the functions, so a bench that needs no console loads no Textual.

SIZE = (120, 40)
FRAME = 1 / 60


@contextlib.contextmanager
def scratch(prefix: str = "warroom-bench-") -> Iterator[Path]:
    """A temp folder, with the per-user config (the saved theme) kept inside it meanwhile."""
    saved = os.environ.get("XDG_CONFIG_HOME")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "xdg")
        try:
            yield Path(tmp)
        finally:
            if saved is None:
                os.environ.pop("XDG_CONFIG_HOME", None)
            else:
                os.environ["XDG_CONFIG_HOME"] = saved


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a `python -m warroom` subprocess: a fixed user and zone, a private
    config folder, and byte-compiled sources as a user has them."""
    env = dict(os.environ)
    env.update(WARROOM_USER="bench", TZ="UTC", XDG_CONFIG_HOME=str(tmp / "xdg"), **extra)
    for name in ("TEXTUAL", "TEXTUAL_DRIVER", "NO_COLOR", "TEXTUAL_SCREENSHOT", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


@contextlib.contextmanager
def console_app(room, *, watch: bool = False, sync: bool = False):
    """The real console on `room` (make_app, headless through run_test), with the collector
    handled as `warroom` does for the console: paused until the first frame, then the
    start-up objects frozen out of later collections (WarroomApp.start_background)."""
    from warroom.ui.factory import make_app

    gc.disable()
    try:
        yield make_app(room, room.clock, start_sources=False, watch=watch, sync=sync)
    finally:
        room.close()
        gc.enable()


async def settle(app, timeout: float = 30) -> None:
    """Wait until the recorder has no job left (from a thread: Recorder.wait_idle blocks), then
    a frame."""
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, app.recorder.wait_idle, timeout):
        raise RuntimeError(f"the recorder was still busy after {timeout} s")
    await asyncio.sleep(FRAME)


async def ready(app, timeout: float = 30) -> None:
    """The console fully up: every pane deferred past the first frame (logs, health, roster tabs,
    footer) mounted, the recorder idle, a few frames painted. Keys typed before then measure
    start-up, not typing."""
    await wait_for(lambda: not app.query(".deferred-logs, .deferred-health, .deferred-people, .deferred-footer")
                   and app.query("#logs") and app.query("#health"), timeout, "the deferred panes", step=0.01)
    await settle(app, timeout)
    await asyncio.sleep(0.2)


KEY_NAMES = {" ": "space", "!": "exclamation_mark", "?": "question_mark", ">": "greater_than_sign",
             "-": "minus", ":": "colon", ".": "full_stop", ",": "comma", "%": "percent_sign",
             "/": "slash", "_": "underscore", "=": "equals_sign"}


def key_event(key: str):
    """A key as the terminal driver makes it: a character, or a named key ("enter")."""
    from textual import events

    if len(key) == 1:
        return events.Key(KEY_NAMES.get(key, key), key)
    return events.Key(key, "\r" if key == "enter" else None)


def send(app, *keys: str) -> None:
    """Keys as a terminal delivers them: every one queued before the app reads the first
    (tests/test_typing.py `send`)."""
    driver = app._driver
    for key in keys:
        event = key_event(key)
        event.set_sender(app)
        driver.send_message(event)


async def wait_for(predicate, timeout: float, what: str, step: float = 0.001) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(step)


def other_writer(room_dir: Path, author: str = "bob", pause: float = 0.01):
    """A second writer on the same record: a teammate's logging loop in another process
    (tests/test_typing.py `other_writer`)."""
    code = ("import sys, time\n"
            "from warroom.record.room import Room\n"
            f"room = Room.open(sys.argv[1] + '/warroom.toml', author={author!r})\n"
            "n = 0\n"
            "while True:\n"
            f"    room.log(room.incident(), f'{author} {{n}}')\n"
            "    n += 1\n"
            f"    time.sleep({pause})\n")
    return subprocess.Popen([sys.executable, "-c", code, str(room_dir)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


class Stamps:
    """Enter, durable and row moments of each typed line, by its text."""

    def __init__(self, texts: list[str]) -> None:
        self.wanted = set(texts)
        self.enter: dict[str, float] = {}
        self.durable: dict[str, float] = {}
        self.row: dict[str, float] = {}
        self.errors: list[str] = []

    def hook(self, app) -> None:
        from warroom.ui.panes.timeline import EntryInput, TimelinePane

        stamps = self
        entry_input = app.query_one(EntryInput)
        submit = entry_input._submit

        def stamped_submit(split: bool) -> None:
            text = (entry_input.held if entry_input.held is not None else entry_input.value).strip()
            if text in stamps.wanted:
                stamps.enter.setdefault(text, time.perf_counter())
            submit(split)

        entry_input._submit = stamped_submit  # Enter (and ctrl+l) act through it

        recorder = app.recorder
        recorder_submit = recorder.submit

        def hooked_submit(operation, *, on_done=None, on_error=None, label=""):
            if label == "log entry":
                def done(event, on_done=on_done):
                    stamps.durable.setdefault(event.body["text"], time.perf_counter())  # committed
                    if on_done:
                        on_done(event)

                def failed(message, on_error=on_error):
                    stamps.errors.append(message)
                    if on_error:
                        on_error(message)

                return recorder_submit(operation, on_done=done, on_error=failed, label=label)
            return recorder_submit(operation, on_done=on_done, on_error=on_error, label=label)

        recorder.submit = hooked_submit

        timeline = app.query_one(TimelinePane)
        apply_rows, show_page = timeline.apply_rows, timeline.show_page

        def seen(entries) -> None:
            now = time.perf_counter()
            for entry in entries:
                if entry.text in stamps.wanted and entry.id in timeline.rows:
                    stamps.row.setdefault(entry.text, now)

        def hooked_apply(incident_id, changed, total):
            apply_rows(incident_id, changed, total)
            seen(changed.values())

        def hooked_page(incident_id, entries, has_older, total):
            show_page(incident_id, entries, has_older, total)
            seen(entries)

        timeline.apply_rows, timeline.show_page = hooked_apply, hooked_page

    def laps(self, since: dict[str, float] | None = None) -> tuple[list[float], list[float]]:
        """(Enter to durable, Enter to row) in ms, for every line that got there."""
        since = since if since is not None else self.enter
        durable = [(self.durable[t] - since[t]) * 1000 for t in since if t in self.durable]
        row = [(self.row[t] - since[t]) * 1000 for t in since if t in self.row]
        return durable, row


# --- a whole process under a pseudo-terminal, as bench_console.py times the console -----------


def terminal_env(tmp: Path) -> dict[str, str]:
    return cli_env(tmp, TERM="xterm-256color", COLORTERM="truecolor", COLUMNS=str(SIZE[0]), LINES=str(SIZE[1]))


def until_on_screen(argv: list[str], marker: bytes, env: dict[str, str], cwd: Path, *, linger: float = 0.0,
                    timeout: float = 60) -> tuple[float, float]:
    """Start argv under a 120x40 pseudo-terminal: -> (seconds from the start to the first output
    holding `marker`, the process's peak RSS in MB `linger` seconds later, the terminal read
    meanwhile). The process group is killed afterwards."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    began = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    seen = b""
    elapsed = None
    try:
        while True:
            if elapsed is not None and time.perf_counter() - began >= elapsed + linger:
                return elapsed, rss_mb(proc.pid, "VmHWM")
            if elapsed is None and time.perf_counter() - began > timeout:  # it draws, but never that
                raise RuntimeError(f"{argv}: {marker!r} not on screen within {timeout} s: {seen[-400:]!r}")
            ready, _, _ = select.select([master], [], [], 0.05 if elapsed is not None else timeout)
            if not ready:
                if elapsed is None:
                    raise RuntimeError(f"{argv}: {marker!r} not on screen within {timeout} s: {seen[-400:]!r}")
                continue
            try:
                data = os.read(master, 1 << 16)
            except OSError:
                data = b""
            if not data:
                raise RuntimeError(f"{argv}: exited before showing {marker!r}: {seen[-2000:]!r}")
            if elapsed is None:
                seen = seen[-len(marker):] + data if len(seen) > 1 << 16 else seen + data
                if marker in seen:
                    elapsed = time.perf_counter() - began
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        os.close(master)
