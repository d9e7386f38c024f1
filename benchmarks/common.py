"""Shared by every benchmark: repeat, take medians, report a figure against a limit.

Each benchmarks/bench_*.py exposes `run() -> list[Figure]`; benchmarks/run.py
runs them all and prints one table. Limits are measured in the same run, so the
ratio means something on a noisy 2-core machine.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable


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
# warroom is imported inside the functions, and only through the names that outlive issue 15's
# move into packages: warroom.room, warroom.store, warroom.clock, warroom.ui.app.

import asyncio  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Iterator  # noqa: E402

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
    from warroom.ui.app import make_app

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
    import subprocess

    code = ("import sys, time\n"
            "from warroom.room import Room\n"
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
