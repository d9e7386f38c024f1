"""Syncing in the background while the console is open: the war room across machines.

A thread of its own runs `sync.sync` every `every` seconds, and soon after a local change
settles, on a connection of its own to the record, so a sync (git over the network) never
delays a key. What it learns is handed to a plain callback as a SyncStatus: online or
offline since when, how many events wait to go out, who else synced lately. Offline is a
state: the record keeps everything and the next round sends it.

Core: no Textual. The console turns the callback into a screen update.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from warroom.config import Config
from warroom.record.clock import Clock, SystemClock
from warroom.text.sanitize import sanitize

SETTLE = 1.0  # a local change syncs once no other came for this long...
SETTLE_AT_MOST = 2.0  # ...or this long after it, whichever comes first


@dataclass(frozen=True)
class SyncStatus:
    online: bool = True
    offline_since: datetime | None = None
    reason: str = ""
    waiting: int = 0  # events the remote does not have yet
    last: datetime | None = None  # the last sync that reached the remote
    received: int = 0  # events the last round brought
    peers: tuple[Any, ...] = field(default=())  # sync.Peer, newest first
    error: str = ""  # a sync that failed for another reason


class LiveSync:
    def __init__(
        self,
        config: Config,
        record: str,
        *,
        every: float,
        author: str,
        on_status: Callable[[SyncStatus], None],
        clock: Clock | None = None,
        remote: str = "origin",
    ) -> None:
        self.config = config
        self.record = record
        self.every = every
        self.author = author
        self.on_status = on_status
        self.clock = clock or SystemClock()
        self.remote = remote
        self.status = SyncStatus()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._poked: float | None = None  # when the first unsynced local change came
        self._last_poke = 0.0
        self._thread = threading.Thread(target=self._run, name="warroom-sync", daemon=True)

    @staticmethod
    def wanted(config: Config, remote: str = "origin") -> bool:
        """True when the war room is a git clone with this remote: there is someone to sync with."""
        from warroom.share.git import git, is_git_repo

        if not is_git_repo(config.root):
            return False
        return remote in git(config.root, "remote", check=False).stdout.split()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def poke(self) -> None:
        """A local change: sync once it settles."""
        now = time.monotonic()
        if self._poked is None:
            self._poked = now
        self._last_poke = now
        self._wake.set()

    def now(self) -> None:
        """Sync at once (a key in the console)."""
        self._poked = time.monotonic() - SETTLE_AT_MOST
        self._wake.set()

    def _due(self) -> float:
        """Seconds until the next round: the interval, or the settling of a local change."""
        if self._poked is None:
            return self.every
        now = time.monotonic()
        return max(0.0, min(self._last_poke + SETTLE, self._poked + SETTLE_AT_MOST) - now)

    def _run(self) -> None:
        next_round = time.monotonic()  # a first round at once: catch up with the others
        while not self._stop.is_set():
            wait = next_round - time.monotonic()
            if self._poked is not None:
                wait = min(wait, self._due())
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
                if self._stop.is_set():
                    return
                if time.monotonic() < next_round and (self._poked is None or self._due() > 0):
                    continue
            self._poked = None
            self._round()
            next_round = time.monotonic() + self.every

    def _failed(self, error: str) -> None:
        """A round that failed for another reason than the network: said once, state kept. The
        message quotes git, whose stderr carries the remote's own words: made one inert line."""
        self.status = replace(self.status, received=0, error=sanitize(error, limit=400, secrets=self.config.secrets))
        self.on_status(self.status)

    def _round(self) -> None:
        from warroom.errors import StoreError, SyncError
        from warroom.record.room import Room
        from warroom.record.store import Store
        from warroom.share.sync import peers, sync

        status = self.status
        try:
            with Store(
                self.record, clock=self.clock, author=self.author, max_drift=self.config.max_clock_drift
            ) as store:
                room = Room(self.config, store, self.clock)
                report = sync(room, remote=self.remote)
                found = tuple(peers(room, self.remote))
        except (SyncError, StoreError, OSError) as exc:
            self._failed(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the syncing thread or the console
            self._failed(f"internal error in sync: {exc!r}")
            return
        now = self.clock.now()
        received = sum(report.received.values())
        if report.offline:
            since = status.offline_since if not status.online and status.offline_since else now
            self.status = SyncStatus(False, since, report.offline, report.waiting, status.last, received, found)
        else:
            self.status = SyncStatus(True, None, "", 0, now, received, found)
        self.on_status(self.status)
