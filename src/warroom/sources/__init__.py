"""Live sources that feed the console: health checks (health.py) and log tails (logs.py).

They call plain callbacks and never import textual; the UI turns the calls into messages.

`spawn` is the one way both start a local command: argv (no shell), stdin from
/dev/null, stderr merged into stdout, its own session (so the whole process
group can be ended), and an `exited` future. asyncio's `Process.wait()` also
waits for the pipes to close, so a command that leaves a background child
holding its stdout would never count as finished; `exited` resolves when the
process itself ends.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass
from typing import Sequence


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
        """Close the pipes (the process has exited or been killed)."""
        try:
            self.transport.close()
        except Exception:  # pragma: no cover - closing never fails the caller
            pass


async def spawn(argv: Sequence[str], *, env: dict[str, str] | None = None,
                cwd: str | os.PathLike[str] | None = None, limit: int = 1 << 20) -> Spawned:
    """Start argv in its own session; raises OSError (FileNotFoundError, ...) like exec."""
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()
    transport, protocol = await loop.subprocess_exec(
        lambda: _ExitProtocol(exited, limit, loop), *argv,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True, env=env, cwd=cwd)
    return Spawned(asyncio.subprocess.Process(transport, protocol, loop), transport, exited)


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a whole process group; a group that is already gone is fine."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError, OSError):
        pass
