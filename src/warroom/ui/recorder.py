"""One thread that owns the war room's record for the console.

Every write (and every reload and fold) happens here, in the order the user
asked for them, so a slow disk or a locked database never freezes a keypress.
Results come back to the UI through plain callbacks (the app turns them into
screen updates with call_from_thread).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

from warroom.config import ConfigError
from warroom.room import Room, UsageError
from warroom.state import State
from warroom.store import StoreError

Operation = Callable[[Room], Any]


@dataclass
class Job:
    operation: Operation
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[str], None] | None = None
    label: str = ""


_STOP = object()


class Recorder:
    def __init__(self, room: Room, on_state: Callable[[State], None],
                 on_error: Callable[[str, Job], None]) -> None:
        self.room = room
        self.on_state = on_state
        self.on_error = on_error
        self._queue: queue.Queue[Job | object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="warroom-recorder", daemon=True)
        self._idle = threading.Event()
        self._idle.set()
        self._reload_pending = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return  # never started (the app failed before mounting) or already stopped
        self._queue.put(_STOP)
        self._thread.join(timeout=5)

    def submit(self, operation: Operation, *, on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None, label: str = "") -> None:
        self._idle.clear()
        self._queue.put(Job(operation, on_done, on_error, label))

    def reload(self) -> None:
        """Ask for a reload; many requests while one is queued collapse into one."""
        if not self._reload_pending.is_set():
            self._reload_pending.set()
            self.submit(self._reload, label="reload")

    def _reload(self, room: Room) -> bool:
        self._reload_pending.clear()
        return room.reload()

    def wait_idle(self, timeout: float = 10) -> bool:
        """For tests and benchmarks: block until every submitted job has finished."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            assert isinstance(job, Job)
            try:
                result = job.operation(self.room)
                if result is not False:  # a reload that found nothing new changes nothing
                    self.on_state(self.room.state)
                if job.on_done:
                    job.on_done(result)
            except (UsageError, ConfigError, StoreError) as exc:
                if job.on_error:
                    job.on_error(str(exc))
                self.on_error(str(exc), job)
            except Exception as exc:  # a bug must not kill the writer thread: say it, keep going
                self.on_error(f"internal error in {job.label or 'an operation'}: {exc!r}", job)
            finally:
                if self._queue.empty():
                    if job.label != "reload":
                        self._fold_wal()
                    self._idle.set()

    def _fold_wal(self) -> None:
        """Keep the WAL empty while idle: a `git pull` that swaps warroom.db must never
        meet a WAL full of the old file's pages, and a copy of the file alone is complete."""
        try:
            self.room.store.checkpoint()
        except Exception:  # busy or read-only: the next idle moment tries again
            pass
