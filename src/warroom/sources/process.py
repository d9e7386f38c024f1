"""Live sources that feed the console: health checks (health.py) and log tails (logs.py).

They call plain callbacks and never import textual; the UI turns the calls into messages.

`spawn` is the one way both start a local command: argv (no shell), stdin from
/dev/null, stderr merged into stdout, its own session (so the whole process
group can be ended), and an `exited` future. asyncio's `Process.wait()` also
waits for the pipes to close, so a command that leaves a background child
holding its stdout would never count as finished; `exited` resolves when the
process itself ends.

Every group `spawn` starts is remembered until its `Spawned.close()`, so that a console
that loses its terminal (or gets SIGHUP or SIGTERM) can end them all at once, whichever
thread or event loop started them: `end_all()`. After `end_all(refuse_new=True)` spawn
refuses to start anything more (a restarting log source or the next command check must
not outlive the console).
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass


def signal_name(number: int) -> str:
    """SIGTERM for 15: how a status line names the signal that ended a process."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _ExitProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    def __init__(self, exited: asyncio.Future[None], limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self._exited = exited

    def process_exited(self) -> None:
        super().process_exited()
        if not self._exited.done():
            self._exited.set_result(None)


@dataclass
class Spawned:
    process: asyncio.subprocess.Process
    transport: asyncio.SubprocessTransport
    exited: asyncio.Future[None]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def stdout(self) -> asyncio.StreamReader:
        assert self.process.stdout is not None
        return self.process.stdout

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        kill_group(self.process.pid, sig)

    def close(self) -> None:
        """Close the pipes (the process has exited or been killed, and its group with it)."""
        _forget(self.process.pid)
        try:
            self.transport.close()
        except Exception:  # noqa: BLE001 - closing never fails the caller  # pragma: no cover
            pass


async def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    limit: int = 1 << 20,
) -> Spawned:
    """Start argv in its own session; raises OSError (FileNotFoundError, ...) like exec,
    and OSError(ESHUTDOWN) once `end_all(refuse_new=True)` has been called."""
    if _refusing:
        raise OSError(errno.ESHUTDOWN, "the console is closing")
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()
    transport, protocol = await loop.subprocess_exec(
        lambda: _ExitProtocol(exited, limit, loop),
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        env=env,
        cwd=cwd,
    )
    pid = transport.get_pid()
    with _lock:
        _groups.add(pid)
    if _refusing:  # end_all ran while this one was starting: it goes the same way
        kill_group(pid)
    return Spawned(asyncio.subprocess.Process(transport, protocol, loop), transport, exited)


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a whole process group; a group that is already gone is fine."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError, OSError):
        pass


# --- every group spawn started, for end_all ----------------------------------------------

_lock = threading.Lock()
_groups: set[int] = set()
_refusing = False


def _forget(pgid: int) -> None:
    with _lock:
        _groups.discard(pgid)


def groups() -> list[int]:
    """The process groups spawn started that are not closed yet."""
    with _lock:
        return sorted(_groups)


def _live_groups(pgids: list[int]) -> list[int]:
    """Those of `pgids` that still have a running member. A zombie is not running: its
    parent (init, for an orphan) reaps it in its own time."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        entries = None
    if entries is None:  # no /proc: ask the kernel, zombies included
        alive = []
        for pgid in pgids:
            try:
                os.killpg(pgid, 0)
            except OSError:  # gone, or someone else's group now
                continue
            alive.append(pgid)
        return alive
    wanted = set(pgids)
    found: set[int] = set()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp
        if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) in wanted:
            found.add(int(fields[2]))
    return [pgid for pgid in pgids if pgid in found]


def end_all(grace: float = 0.5, *, refuse_new: bool = False) -> int:
    """End every process group spawn started and has not closed: SIGTERM, up to `grace`
    seconds for the groups to go, then SIGKILL to whatever is left. Safe from any thread;
    returns how many groups there were. `refuse_new`: spawn refuses from now on."""
    global _refusing
    if refuse_new:
        _refusing = True
    pending = groups()
    for pgid in pending:
        kill_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + max(0.0, grace)
    alive = _live_groups(pending)
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = _live_groups(alive)
    for pgid in alive:
        kill_group(pgid, signal.SIGKILL)
    return len(pending)


def accept_new() -> None:
    """Let spawn start commands again after `end_all(refuse_new=True)` (a console started
    again in the same process)."""
    global _refusing
    _refusing = False
