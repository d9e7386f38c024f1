"""A followed file of 1,000,000 lines: start to its last line in the pane.

The war room has one `[[log]] file = ...` source: a 1M-line log file (about 60 MB) whose
last line holds a marker. The whole console process is started under a pseudo-terminal
(120x40, as bench_console does) and timed from its start to the first screen output that
holds the marker: the last line drawn in the Logs pane. The console reads the file from
its end (its last `buffer` lines, 10,000 by default), not the whole file.

Against, in the same run and interleaved with it:
- `tail -n 1 FILE` run to completion: the least any tool can take to read the last line
  (reported, no target: it draws no screen);
- lnav on the same file, under the same pseudo-terminal, to the marker on screen, when
  lnav is installed (target: warroom no slower, ratio <= 1). Skipped, with a note, when
  lnav is not there.

Medians of RUNS runs each.

Run: .venv/bin/python benchmarks/run.py follow   (or this file directly)
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from common import Figure, timed  # noqa: E402

LINES = 1_000_000
RUNS = 7
SIZE = (120, 40)
MARKER = b"zzlastlinezz"


def write_log(path: Path, n: int = LINES) -> None:
    with open(path, "w") as handle:
        write = handle.write
        for i in range(n - 1):
            write(f"2026-11-24T05:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}Z INFO "
                  f"GET /api/orders/{i} 200 {i % 97}ms\n")
        write(f"2026-11-24T06:00:00.000Z INFO {MARKER.decode()} GET /api/orders/last 200 1ms\n")


def until_marker(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> float:
    """Seconds from starting `argv` under a pseudo-terminal to MARKER in its output."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    began = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                raise RuntimeError(f"{argv[0]}: no last line within {timeout} s: {seen[-400:]!r}")
            try:
                data = os.read(master, 1 << 16)
            except OSError:
                data = b""
            if not data:
                raise RuntimeError(f"{argv[0]}: exited before showing the last line: {seen[-2000:]!r}")
            seen = seen[-len(MARKER):] + data if len(seen) > 1 << 16 else seen + data
            if MARKER in seen:
                return time.perf_counter() - began
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        os.close(master)


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(TERM="xterm-256color", COLORTERM="truecolor", WARROOM_USER="bench", TZ="UTC",
               XDG_CONFIG_HOME=str(tmp / "xdg"), HOME=str(tmp / "home"), COLUMNS=str(SIZE[0]),
               LINES=str(SIZE[1]))
    for name in ("TEXTUAL", "TEXTUAL_DRIVER", "NO_COLOR", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    (tmp / "home").mkdir(exist_ok=True)
    return env


def run() -> list[Figure]:
    from warroom.share.setup import init

    with tempfile.TemporaryDirectory(prefix="warroom-bench-follow-") as tmp:
        folder = Path(tmp)
        log = folder / "big.log"
        write_log(log)
        room = folder / "room"
        init(room)
        with open(room / "warroom.toml", "a") as handle:
            handle.write(f'\n[[log]]\nname = "big"\nfile = "{log}"\n')
        env = _env(folder)
        console = [sys.executable, "-m", "warroom", "--dir", str(room)]
        lnav = shutil.which("lnav")
        tail = shutil.which("tail")
        if lnav is None:
            print("bench_follow: lnav is not installed; its figure is left out", file=sys.stderr)
        until_marker(console, env, folder)  # warm the caches: bytecode, the file's pages
        if lnav:
            until_marker([lnav, str(log)], env, folder)
        ours, theirs, tails = [], [], []
        for _ in range(RUNS):  # interleaved: the machine's load falls on both alike
            ours.append(until_marker(console, env, folder))
            if lnav:
                theirs.append(until_marker([lnav, str(log)], env, folder))
            if tail:
                tails.append(timed(lambda: subprocess.run([tail, "-n", "1", str(log)], capture_output=True,
                                                          check=True)))
        figures = []
        warroom_s = statistics.median(ours)
        if tails:
            figures.append(Figure(
                name="followed 1M-line file: start to last line", value=warroom_s * 1000, unit="ms",
                against="`tail -n 1` of the same file", limit=statistics.median(tails) * 1000,
                target="(reported)", met=True))
        if theirs:
            lnav_s = statistics.median(theirs)
            figures.append(Figure(
                name="followed 1M-line file: start to last line", value=warroom_s * 1000, unit="ms",
                against="lnav on the same file, on screen", limit=lnav_s * 1000,
                target="ratio <= 1", met=warroom_s <= lnav_s))
        if not figures:  # neither tail nor lnav: the figure alone
            figures.append(Figure(name="followed 1M-line file: start to last line", value=warroom_s * 1000,
                                  unit="ms", against="(nothing to compare with)", limit=0,
                                  target="(reported)", met=True))
        return figures


if __name__ == "__main__":
    for figure in run():
        print(figure, f"ratio={figure.ratio:.2f}")
