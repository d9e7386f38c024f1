"""Losing the terminal is a clean exit (issue 12, item 7).

The real console (`warroom`, the installed entry point) runs in a real tmux, with a
[[log]] command whose shell starts grandchildren (`sleep | cat`) and a command check
that hangs; the terminal is then killed (tmux kill-session, as an SSH drop does), or
the console gets SIGHUP or SIGTERM. Every process the console started carries a marker
in its environment (inherited from the console), so the test finds the whole tree by
reading /proc, grandchildren included, and asserts that none is left 3 s later.

`warroom demo` gets the same treatment, both as the terminal's session leader and under
a parent that, like make, survives the hang-up: then the console gets no signal at all
and must notice the dead terminal by itself.

The typed-entry test holds the record's write lock from the test while the entry is
typed and the console is hung up, and releases it a moment later: the entry written
after the SIGHUP is in the record, so the console drained its queued write before going.

The tmux server is a private one (its own socket) per test, killed at the end.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from console_support import events

from warroom import config as config_mod
from warroom.sources import process as sources

WARROOM = Path(sys.executable).with_name("warroom")
MARK = "WARROOM_TEST_MARK"

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None or not WARROOM.exists(),
                                reason="needs tmux and the installed warroom entry point")

CONFIG = """
[[check]]
name = "hangs"
kind = "command"
command = ["sh", "-c", "sleep 1000; echo never"]
every = "30s"
timeout = "60s"

[[log]]
name = "kids"
command = ["sh", "-c", "echo kids-started; sleep 1000 | cat"]
"""


# --- finding the tree ----------------------------------------------------------------------


def marked(mark: str) -> dict[int, str]:
    """pid -> command line of every running (not zombie) process whose environment holds
    MARK=mark: the console and everything it started, however deep."""
    needle = f"{MARK}={mark}".encode()
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if needle in environ and stat[stat.rfind(b")") + 2:][:1] != b"Z":
            found[int(entry)] = cmdline
    return found


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def gone_within(mark: str, seconds: float, since: float) -> None:
    """Nothing with the mark runs `seconds` after `since` (time.monotonic)."""
    while marked(mark) and time.monotonic() - since < seconds:
        time.sleep(0.05)
    left = marked(mark)
    assert not left, f"left running {time.monotonic() - since:.1f} s after: {left}"


# --- a private tmux ----------------------------------------------------------------------------


class Tmux:
    def __init__(self) -> None:
        self.socket = f"warroom-test-{uuid.uuid4().hex[:12]}"

    def __call__(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, "-f", os.devnull, *args],
                              capture_output=True, text=True, timeout=20)
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {args}: {done.stderr}")
        return done.stdout

    def start(self, command: str, cwd: Path) -> None:
        self("new-session", "-d", "-s", "console", "-x", "120", "-y", "40", "-c", str(cwd), command)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "console", check=False)

    def pane_pid(self) -> int:
        return int(self("display", "-p", "-t", "console", "#{pane_pid}").strip())

    def kill_session(self) -> None:
        self("kill-session", "-t", "console")

    def close(self) -> None:
        self("kill-server", check=False)
        # a server that ended with its last session may leave its socket file behind
        folder = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        try:
            (folder / self.socket).unlink()
        except OSError:
            pass


@pytest.fixture
def tmux():
    server = Tmux()
    yield server
    server.close()


@pytest.fixture
def mark():
    """A marker unique to the test; whatever still carries it at the end is ended."""
    value = uuid.uuid4().hex
    yield value
    for pid in marked(value):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def console_command(mark: str, tmp_path: Path, *args: str) -> str:
    env = {MARK: mark, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "WARROOM_USER": "tester", "TZ": "UTC",
           "TMPDIR": str(tmp_path / "tmp"), "PATH": f"{WARROOM.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    # exec: the console (not a shell) is the pane's process, the terminal's session leader
    return f"exec env {assignments} {shlex.quote(str(WARROOM))} {' '.join(shlex.quote(a) for a in args)}"


@pytest.fixture
def live_room(room_dir: Path, cli) -> Path:
    with (room_dir / "warroom.toml").open("a") as handle:
        handle.write(CONFIG)
    cli("declare", "Checkout returns 500", "--severity", "P1", "--impact", "EU shoppers cannot pay").ok()
    return room_dir


def start_console(tmux: Tmux, mark: str, room: Path, tmp_path: Path) -> int:
    """The console in tmux with its log source's grandchildren and its hanging check running;
    -> the console's pid."""
    tmux.start(console_command(mark, tmp_path, "--dir", str(room)), room)
    wait_for(lambda: "Timeline" in tmux.screen(), 20, "the console on screen")

    def tree() -> bool:
        lines = list(marked(mark).values())
        return (any(line == "sleep 1000" for line in lines) and sum(line == "sleep 1000" for line in lines) >= 2
                and any(line == "cat" for line in lines))

    wait_for(tree, 20, "the log source's grandchildren and the check's sleep")
    wait_for(lambda: "kids-started" in tmux.screen(), 10, "the log source's line on screen")
    pid = tmux.pane_pid()
    assert pid in marked(mark) and "warroom" in marked(mark)[pid]
    return pid


# --- the console ---------------------------------------------------------------------------------


@needs_tmux
@pytest.mark.parametrize("how", ["kill-session", "SIGHUP", "SIGTERM"])
def test_losing_the_terminal_ends_the_console_and_every_child(how, tmux, mark, live_room, tmp_path):
    pid = start_console(tmux, mark, live_room, tmp_path)
    began = time.monotonic()
    if how == "kill-session":
        tmux.kill_session()
    else:
        os.kill(pid, getattr(signal, how))
    gone_within(mark, 3.0, began)
    # a check killed on the way out has not flipped: nothing of the kind was recorded
    db = config_mod.load(live_room / "warroom.toml").record_path
    assert not [e for e in events(db) if "hangs" in str(e.body)]


@needs_tmux
def test_sigterm_with_a_live_terminal_restores_it_and_says_why(tmux, mark, live_room, tmp_path):
    command = console_command(mark, tmp_path, "--dir", str(live_room))
    # a shell around the console: it prints the exit status once the console is gone
    tmux.start(f"sh -c {shlex.quote(command.removeprefix('exec ') + '; echo console-exit=$?; sleep 60')}",
               live_room)
    wait_for(lambda: "Timeline" in tmux.screen(), 20, "the console on screen")
    wait_for(lambda: "kids-started" in tmux.screen(), 20, "the log source's line on screen")
    [pid] = [p for p, line in marked(mark).items() if "bin/warroom" in line]
    began = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: "console-exit=" in tmux.screen(), 3, "the console's exit")
    screen = tmux.screen()
    assert "console-exit=143" in screen
    assert "Timeline" not in screen  # the alternate screen was left: the terminal is usable again
    gone_within(mark, 3.0, began)


@needs_tmux
def test_an_entry_typed_just_before_the_hang_up_is_in_the_record(tmux, mark, live_room, tmp_path):
    db = config_mod.load(live_room / "warroom.toml").record_path
    pid = start_console(tmux, mark, live_room, tmp_path)
    text = f"on-call paged the database team {uuid.uuid4().hex[:8]}"
    conn = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False, timeout=20)
    conn.execute("begin immediate")  # another writer holds the record: the console's write must wait
    try:
        tmux("send-keys", "-t", "console", "n")
        time.sleep(0.5)  # the input has the focus (keys typed in the same instant may not reach it yet)
        tmux("send-keys", "-t", "console", "-l", text)
        wait_for(lambda: text in tmux.screen(), 10, "the typed text in the input")
        tmux("send-keys", "-t", "console", "Enter")
        time.sleep(1.0)  # the console has taken the Enter; its write waits on the lock
        assert text not in [e.body.get("text") for e in events(db, "entry.logged")]
        began = time.monotonic()
        os.kill(pid, signal.SIGHUP)
        time.sleep(0.5)
        assert pid in marked(mark), "the console went without waiting for its queued write"
    finally:
        conn.execute("rollback")
        conn.close()
    gone_within(mark, 3.0, began)
    logged = [e.body.get("text") for e in events(db, "entry.logged")]
    assert text in logged


# --- the demo --------------------------------------------------------------------------------------

# Like make: a parent that catches SIGHUP and waits for its child. Then only this parent, the
# session leader, is signalled when the terminal goes; the console just finds it dead.
SURVIVING_PARENT = ("import signal, subprocess, sys; signal.signal(signal.SIGHUP, lambda *a: None); "
                    "sys.exit(subprocess.call(sys.argv[1:]))")


@needs_tmux
@pytest.mark.parametrize("parent", ["none", "like make"])
def test_closing_the_demos_terminal_leaves_no_process(parent, tmux, mark, tmp_path):
    command = console_command(mark, tmp_path, "demo")
    if parent == "like make":
        inner = command.removeprefix("exec ")
        command = f"exec {shlex.quote(sys.executable)} -c {shlex.quote(SURVIVING_PARENT)} {inner}"
    tmux.start(command, tmp_path)
    wait_for(lambda: "Timeline" in tmux.screen(), 30, "the demo console on screen")
    wait_for(lambda: sum("warroom.demo logs" in line for line in marked(mark).values()) >= 2, 30,
             "the demo's two log generators")
    wait_for(lambda: "checkout" in tmux.screen() and "INF" in tmux.screen(), 20, "log lines on screen")
    began = time.monotonic()
    tmux.kill_session()
    gone_within(mark, 3.0, began)


# --- the pieces, in process ----------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_end_all_ends_every_group_and_refuses_new_ones(mark, monkeypatch):
    """Log sources, command checks and runbook steps all start through `spawn`: end_all
    reaches their grandchildren, one that ignores SIGTERM too, and spawn refuses afterwards."""
    monkeypatch.setenv(MARK, mark)

    async def main() -> None:
        polite = await sources.spawn(["sh", "-c", "sleep 1000 | cat"])
        stubborn = await sources.spawn(["sh", "-c", "trap '' TERM; sleep 1000 & wait"])
        await asyncio.sleep(0.3)
        assert {polite.pid, stubborn.pid} <= set(sources.groups())
        assert len(marked(mark)) >= 5
        began = time.monotonic()
        count = await asyncio.to_thread(sources.end_all, 0.3, refuse_new=True)
        assert count >= 2
        gone_within(mark, 1.0, began)
        with pytest.raises(OSError, match="closing"):
            await sources.spawn(["true"])
        sources.accept_new()
        again = await sources.spawn(["true"])
        await again.exited
        again.close()
        assert again.pid not in sources.groups()
        for spawned in (polite, stubborn):
            await spawned.exited
            spawned.close()

    try:
        asyncio.run(main())
    finally:
        sources.accept_new()


STEP = """\
# Grandchildren

```bash
echo step-started; sleep 1000 | cat
```
"""


@pytest.mark.anyio
async def test_a_runbook_step_ended_on_the_way_out_is_recorded_as_stopped(room_dir, clock, mark, monkeypatch):
    """What the guard does on SIGHUP, minus the exit: the console stops recording and marks
    its steps stopped (begin_closing), then every group goes (end_all). The step's
    grandchildren go with it, and the timeline says the step was stopped."""
    from console_support import console_ready, open_room, story, wait_until

    from warroom.playbook.runbooks import load_runbooks
    from warroom.ui.factory import make_app
    from warroom.ui.screens.runbook import RunbookScreen

    monkeypatch.setenv(MARK, mark)
    (room_dir / "runbooks" / "zz-grandchildren.md").write_text(STEP)
    room = open_room(room_dir, clock)
    story(room, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    db = room.store.path
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            [runbook] = [r for r in load_runbooks(room_dir / "runbooks") if r.name == "zz-grandchildren"]
            await console_ready(pilot)
            app.post_message(RunbookScreen.RunStep(runbook, runbook.step(1)))
            await wait_until(pilot, lambda: sum(line == "sleep 1000" for line in marked(mark).values()) == 1
                             and "cat" in marked(mark).values(), timeout=20)
            app.begin_closing()
            began = time.monotonic()
            await asyncio.to_thread(sources.end_all, 0.5, refuse_new=True)
            gone_within(mark, 1.0, began)
            await wait_until(pilot, lambda: bool(events(db, "command.ran")), timeout=30)
    finally:
        sources.accept_new()
        room.close()
    [ran] = events(db, "command.ran")
    assert ran.body["command"] == "echo step-started; sleep 1000 | cat"
    assert ran.body["output"] == "step-started\n(stopped)"
