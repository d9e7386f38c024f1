"""Losing the terminal is a clean exit.

A console's terminal goes away in three ways: SIGHUP (the terminal or the SSH session
closed, `tmux kill-session`), SIGTERM (a supervisor, `kill`), or nothing at all: when the
console is not the session leader (`make demo` runs it under make), the kernel signals
only the leader, and the console just sees its terminal hang up: reads give EOF, writes
EIO. Textual's input thread then spins on the EOF and its output thread dies on the EIO,
and the console runs on, with every child it started, for ever.

`TerminalGuard` turns each of the three into the same exit, within `DEADLINE` seconds:

1. a dead terminal is swapped for inert files (/dev/null), so nothing blocks on it, and
   the SIGCONT that the kernel sends with SIGHUP is ignored (Textual would take it for a
   resume after ctrl+z and start drawing on the dead terminal again);
2. the console stops recording check flips, and marks its running runbook steps as
   stopped;
3. every process group that `warroom.sources.spawn` started (log commands, command
   checks, runbook steps, and their children) gets SIGTERM, then SIGKILL, and no new
   one may start;
4. the recorder finishes the writes already queued (an entry typed just before is kept);
5. the app exits with 128 + the signal's number; if it has not managed within the
   deadline (its loop stuck on the dead terminal), the process ends there.

Steps 1-4 run on a thread of their own, so a UI loop blocked on the terminal cannot
hold them up. The hang-up watch is one `poll()` on the terminal that wakes only on
POLLHUP/POLLERR: it costs nothing while the terminal lives.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from warroom.sources import process as sources

if TYPE_CHECKING:
    from warroom.ui.controllers.host import Host

DEADLINE = 1.8  # seconds from the news to the process being gone
GROUP_GRACE = 0.5  # SIGTERM to SIGKILL for the children's process groups


def terminal_dead(fd: int) -> bool:
    """True when `fd` (the console's terminal) has hung up or is no longer open."""
    try:
        poller = select.poll()
        poller.register(fd, 0)  # no events asked: only POLLHUP, POLLERR and POLLNVAL come back
        return any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _fd, mask in poller.poll(0))
    except (OSError, ValueError):
        return True


def silence_terminal() -> None:
    """Point the console's terminal descriptors at /dev/null. Writes to a hung-up terminal
    fail with EIO, which ends Textual's output thread and then blocks the UI on its full
    queue; reads give EOF as the hung-up terminal did, until Textual's input thread stops
    (a read already under way cannot hang, as it would on a pipe nobody writes)."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)  # EOF at once: a read already under way on the terminal cannot hang
        os.close(null)
    except OSError:
        pass


class TerminalGuard:
    """Installed by the console once it runs on a real terminal; see the module's doc."""

    def __init__(self, app: Host, fd: int = 0) -> None:
        self.app = app
        self.fd = fd
        self.reason: int | None = None  # the signal that ended the console (SIGHUP for a hang-up)
        self._previous: dict[int, Any] = {}
        self._stop = threading.Event()
        self._started = threading.Lock()
        self._watch: threading.Thread | None = None
        self._silenced = threading.Lock()

    def install(self) -> TerminalGuard:
        for signum, handler in (
            (signal.SIGHUP, self._on_signal),
            (signal.SIGTERM, self._on_signal),
            (signal.SIGCONT, self._on_continue),
        ):
            try:
                self._previous[signum] = signal.signal(signum, handler)
            except (ValueError, OSError):  # not the main thread: no signals for us
                pass
        self._watch = threading.Thread(target=self._watch_terminal, name="warroom-terminal", daemon=True)
        self._watch.start()
        return self

    def uninstall(self) -> None:
        self._stop.set()
        for signum, previous in self._previous.items():
            try:
                signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
            except (ValueError, OSError, TypeError):
                pass
        self._previous.clear()

    # --- the news -----------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.lost(signum)

    def _on_continue(self, signum: int, frame: Any) -> None:
        """SIGCONT: Textual's resume after ctrl+z, unless the terminal hung up: the kernel
        sends SIGCONT with a hang-up's SIGHUP, and a resume would start a second output
        thread on the dead terminal (which dies on EIO and then blocks the UI)."""
        if terminal_dead(self.fd):
            self._silence()
            self.lost(signal.SIGHUP)
            return
        if self._started.locked():
            return
        previous = self._previous.get(signal.SIGCONT)
        if callable(previous):
            previous(signum, frame)

    def _watch_terminal(self) -> None:
        try:
            poller = select.poll()
            poller.register(self.fd, 0)
        except (OSError, ValueError):
            return
        while not self._stop.is_set():
            try:
                events = poller.poll(500)
            except InterruptedError:
                continue
            except OSError:
                return
            if any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _fd, mask in events):
                # also after a SIGHUP or SIGTERM: the hang-up may come a moment later
                self._silence()
                self.lost(signal.SIGHUP)
                return

    def _silence(self) -> None:
        if self._silenced.acquire(blocking=False):
            silence_terminal()

    def lost(self, signum: int) -> None:
        """The terminal is gone (or we were told to go): shut down once, off the UI thread."""
        if not self._started.acquire(blocking=False):
            return  # already on the way out
        self.reason = signum
        threading.Thread(target=self._shut_down, args=(signum,), name="warroom-exit", daemon=True).start()

    # --- the exit -----------------------------------------------------------------------

    def _shut_down(self, signum: int) -> None:
        began = time.monotonic()
        code = 128 + signum
        if terminal_dead(self.fd):
            self._silence()
        app = self.app
        self._on_ui(app.begin_closing, timeout=0.2)
        app.closing = True  # whether or not the UI loop answered
        sources.end_all(GROUP_GRACE, refuse_new=True)
        # a step that ended records itself ("command ran", stopped) from the UI loop: let it
        self._wait(lambda: not app.running_steps, until=began + 1.0)
        self._on_ui(lambda: None, timeout=0.2)
        stopper = threading.Thread(target=app.recorder.stop, name="warroom-drain", daemon=True)
        stopper.start()
        stopper.join(max(0.0, began + DEADLINE - 0.3 - time.monotonic()))
        self._on_ui(lambda: app.exit(code), timeout=0)
        time.sleep(max(0.0, began + DEADLINE - time.monotonic()))
        # Still here: the UI loop is stuck (on the dead terminal). The writes and the
        # children are dealt with; end the process.
        sources.end_all(0)
        os._exit(code)

    def _on_ui(self, callback: Callable[[], Any], timeout: float) -> bool:
        """Run `callback` on the UI loop; wait up to `timeout` for it to have run."""
        loop = self.app._ui_loop
        done = threading.Event()

        def run() -> None:
            try:
                callback()
            except Exception:  # noqa: BLE001 - the exit goes on whatever the callback does
                pass
            finally:
                done.set()

        if loop is None or loop.is_closed():
            return False
        try:
            loop.call_soon_threadsafe(run)
        except RuntimeError:
            return False
        return done.wait(timeout) if timeout > 0 else True

    @staticmethod
    def _wait(predicate: Callable[[], bool], until: float) -> None:
        while time.monotonic() < until:
            try:
                if predicate():
                    return
            except Exception:  # noqa: BLE001 - a predicate that fails ends the wait
                return
            time.sleep(0.02)


def real_terminal(app: Any) -> bool:
    """True when the app draws on a real terminal (not headless, not a test pilot)."""
    try:
        return not app.is_headless and sys.__stdin__ is not None and os.isatty(sys.__stdin__.fileno())
    except (AttributeError, ValueError, OSError):
        return False
