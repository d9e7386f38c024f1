"""The real console in a real terminal (tmux), typed into with no delay between keys.

One `tmux send-keys` call carries the whole declaration (D, title, the severity's number,
Enter, impact, Enter), so the keys reach the console's terminal together, as they do from
a fast typist or a paste. The console runs as a person starts it, in its own tmux server;
its stderr is the terminal's, as it would be.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from console_support import events

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One tmux server of our own (its own socket), one session, 120x40."""

    def __init__(self, cwd: Path) -> None:
        self.socket = f"warroom-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.cwd = cwd

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check,
                              timeout=20)

    def start(self, command: str) -> None:
        self.run("new-session", "-d", "-s", "wr", "-x", "120", "-y", "40", "-c", str(self.cwd), command)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "wr", *keys)

    def screen(self) -> str:
        result = self.run("capture-pane", "-p", "-t", "wr", check=False)
        return result.stdout if result.returncode == 0 else ""

    def alive(self) -> bool:
        return self.run("has-session", "-t", "wr", check=False).returncode == 0

    def wait(self, condition, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not reached; screen:\n{self.screen()}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.run("kill-server", check=False)


@pytest.fixture
def tmux(room_dir):
    session = Tmux(room_dir)
    yield session
    session.stop()


def test_declare_typed_with_no_delay_in_tmux(tmux, room_dir):
    db = room_dir / "warroom.db"
    tmux.start(f"{sys.executable} -m warroom")
    tmux.wait(lambda: "Timeline" in tmux.screen() and "Declare" in tmux.screen(), "the console")
    time.sleep(0.5)  # the panes that arrive after the first frame

    tmux.keys("D", "Search is down", "Enter", "1", "Enter", "Nobody can search", "Enter")

    tmux.wait(lambda: bool(events(db, "incident.declared")), "the declaration in the record")
    declared = events(db, "incident.declared")
    assert [(e.body["title"], e.body["severity"], e.body["impact"]) for e in declared] == [
        ("Search is down", "P1", "Nobody can search")]
    tmux.wait(lambda: "Search is down" in tmux.screen().splitlines()[0], "the incident in the header")
    time.sleep(0.3)
    screen = tmux.screen()
    assert "Status update for" not in screen  # the composer did not open
    assert "Declare an incident" not in screen  # the dialog closed
    assert len(events(db)) == 1  # nothing but the declaration was written

    # q asks while the incident is open; Enter is not a yes, y is
    tmux.keys("q")
    tmux.wait(lambda: "An incident is open (INC-" in tmux.screen(), "the quit question")
    assert ", P1). Quit? y/n" in tmux.screen()
    tmux.keys("Enter")
    tmux.wait(lambda: "Quit? y/n" not in tmux.screen(), "the question answered no")
    assert tmux.alive()
    tmux.keys("q", "y")
    tmux.wait(lambda: not tmux.alive(), "the console quitting", timeout=10)


def test_lines_typed_while_the_console_starts_each_land_in_tmux(tmux, room_dir, clock):
    """`n` and two lines sent in the same instant as the command: they reach the terminal
    before the console does (the tty, still in cooked mode, turns each Enter into a line
    feed) and wait for its panes. Before, `n` found no input yet, the line's `b` opened the
    runbooks, and the line feeds ran the lines together."""
    from console_support import open_room

    room = open_room(room_dir, clock)
    room.declare("Search is down", "P1", "Nobody can search")
    room.close()
    db = room_dir / "warroom.db"
    tmux.start(f"{sys.executable} -m warroom")
    tmux.keys("n", "burst one", "Enter", "bravo two", "Enter")
    tmux.wait(lambda: len(events(db, "entry.logged")) >= 2, "the two lines in the record")
    time.sleep(0.5)
    assert [e.body["text"] for e in events(db, "entry.logged")] == ["burst one", "bravo two"]
    assert "Runbooks" not in tmux.screen()
