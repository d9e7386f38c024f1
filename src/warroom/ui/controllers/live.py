"""The live sources behind the Health and Logs panes, and the background sync.

Health checks run as a worker on the console's loop; each log tail reads and parses in a
thread of its own (a flood never takes the console's loop) and hands its lines over
through `PendingLines` and a coalescing `TailChanged` message. The background sync runs in
its own thread too (livesync). A worker that fails is reported by the app's one
`Worker.StateChanged` handler.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import get_current_worker

from warroom.config import LogConfig
from warroom.ui.controllers.host import Host
from warroom.ui.messages import TailChanged

if TYPE_CHECKING:
    from warroom.share.livesync import LiveSync, SyncStatus
    from warroom.sources.health import HealthMonitor
    from warroom.sources.results import CheckResult
    from warroom.sources.supervisor import LogSource
    from warroom.ui.panes.logs import LogsPane


class PendingLines:
    """What a tail thread has read and the logs pane has not taken yet.

    Bounded: beyond `cap` (the source's buffer, which the pane would fold to anyway) the
    oldest lines are dropped here and counted, so memory stays bounded and the pane still
    says how many were folded. The newest status waits here too, after the lines before it."""

    INTERVAL = 0.05  # a flood reaches the pane at most this often: 20 hand-overs a second

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._lock = threading.Lock()  # the tail thread adds, the console's loop takes
        self._lines: list[Any] = []
        self._folded = 0
        self._status: str | None = None
        self.taken_at = 0.0  # when the pane last took lines (time.monotonic), on the console's loop
        self.retry_set = False  # a later hand-over is already scheduled

    def wait_before_taking(self, now: float) -> float:
        """Seconds until the pane may take lines again (0: now). A line after a quiet spell
        goes at once; during a flood the pane takes them in batches, and keys get the loop
        between batches. A new status goes at once, with the lines before it."""
        with self._lock:
            if self._status is not None:
                return 0.0
        return max(0.0, self.taken_at + self.INTERVAL - now)

    def add(self, lines: list[Any]) -> None:
        with self._lock:
            self._lines.extend(lines)
            if len(self._lines) > self.cap:
                self._folded += len(self._lines) - self.cap
                del self._lines[: -self.cap]

    def set_status(self, text: str) -> None:
        with self._lock:
            self._status = text

    def take(self) -> tuple[list[Any], int, str | None]:
        with self._lock:
            taken = self._lines, self._folded, self._status
            self._lines, self._folded, self._status = [], 0, None
        return taken


class LiveSources(Host):
    """Mixed into the app: health checks, log tails and background sync."""

    def init_live(self) -> None:
        self.live: LiveSync | None = None  # when the war room has a remote to sync with
        self.health_monitor: HealthMonitor | None = None
        self.log_sources: list[LogSource] = []
        self.pending_lines: dict[str, PendingLines] = {}
        self._tails_started = False

    # --- sync --------------------------------------------------------------------------

    @work(thread=True, group="sync", exit_on_error=False)
    def start_sync(self) -> None:
        """Background sync when the war room is a clone with a remote (asking git is a
        subprocess: off the UI thread)."""
        from warroom.share.livesync import LiveSync

        if not LiveSync.wanted(self.config):
            return
        live = LiveSync(
            self.config,
            str(self.room.store.path),
            every=self.config.sync_every,
            author=self.room.store.author,
            clock=self.clock,
            on_status=lambda status: self.from_thread(self.show_sync, status),
        )
        self.live = live
        live.start()

    def show_sync(self, status: SyncStatus) -> None:
        """Offline in the header, who else is here in the roster, a failed sync as a toast."""
        from warroom.ui.panes.header import IncidentHeader

        self.query_one(IncidentHeader).show_sync(status)
        roster = self.query("#roster")
        if roster:
            roster.first().show_peers(status.peers, self.clock.now())  # type: ignore[attr-defined]
        if status.error:
            self.notify(f"Sync: {status.error}", severity="warning", timeout=8, markup=False)

    def changed_locally(self) -> None:
        """A write of ours is durable: the background sync sends it once things settle."""
        if self.live is not None:
            self.live.poke()

    # --- health checks and log tails ---------------------------------------------------

    def start_live_sources(self) -> None:
        self.start_log_tails()
        if self.config.checks:
            self.run_health_checks()

    def start_log_tails(self) -> None:
        if not self._tails_started:
            self._tails_started = True
            for source in self.config.logs:
                if not source.disabled:  # a ${VAR} it needs is unset: the pane says so, nothing runs
                    self.run_log_source(source)

    def logs_pane(self) -> LogsPane:
        from warroom.ui.panes.logs import LogsPane

        return self.query_one("#logs", LogsPane)

    def logs_ready(self) -> bool:
        try:
            return all(found and found.first().is_mounted for found in (self.query("#logs"), self.query("#log-all")))
        except Exception:  # noqa: BLE001 - no screen (closing)
            return False

    @work(group="health", exit_on_error=False)
    async def run_health_checks(self) -> None:
        from warroom.sources.health import HealthMonitor
        from warroom.ui.panes.health import HealthPane

        monitor = HealthMonitor(
            self.config.checks, clock=self.clock, secrets=self.config.secrets, cwd=str(self.config.root)
        )
        self.health_monitor = monitor
        pane = self.query_one("#health", HealthPane)

        def on_result(result: CheckResult, flipped_from: str | None) -> None:
            pane.show_result(result, monitor.history(result.name))
            if flipped_from:
                self.record_flip(result, flipped_from)

        try:
            await monitor.run(on_result)
        finally:
            await monitor.aclose()

    def record_flip(self, result: CheckResult, previous: str) -> None:
        incident = self.incident
        if incident is None or not incident.open or self.closing:
            return  # closing: a check killed on the way out has not flipped
        incident_id = incident.id

        def operation(room: Any) -> Any:
            # Once per flip: a second console watching the same check records nothing new.
            if room.last_flip(incident_id, result.name) == result.state:
                return False
            return room.record_flip(incident, result.name, previous, result.state, result.detail)

        self.record(operation, label="check flip")

    def run_log_source(self, source: LogConfig) -> None:
        pending = self.pending_lines[source.name] = PendingLines(source.buffer)
        self.tail_in_thread(source, pending)

    @work(thread=True, group="logs", exit_on_error=False)
    def tail_in_thread(self, source: LogConfig, pending: PendingLines) -> None:
        """Each tail reads and parses in its own thread and event loop, so a flooding log
        never takes the UI's loop; its lines reach the pane through `pending`."""
        from warroom.sources.supervisor import LogSource

        worker = get_current_worker()
        name = source.name

        def on_lines(lines: list[Any]) -> None:
            pending.add(lines)
            self.post_message(TailChanged(name))

        def on_status(text: str) -> None:
            pending.set_status(text)
            self.post_message(TailChanged(name))

        async def tail() -> None:
            log_source = LogSource(
                source,
                on_lines=on_lines,
                on_status=on_status,
                secrets=self.config.secrets,
                clock=self.clock,
                cwd=str(self.config.root),
            )
            self.log_sources.append(log_source)
            await log_source.start()
            try:
                while not worker.is_cancelled and self._ui_loop is not None and not self._ui_loop.is_closed():
                    await asyncio.sleep(0.2)
            finally:
                await log_source.stop()

        asyncio.run(tail())

    def on_tail_changed(self, message: TailChanged) -> None:
        """A tail's waiting lines (and then its status) into the logs pane. Until the pane is
        mounted, just after the first frame, they wait in PendingLines."""
        pending = self.pending_lines.get(message.source)
        if pending is None:
            return
        if not self.logs_ready():
            self.set_timer(0.02, lambda: self.post_message(TailChanged(message.source)))
            return
        now = time.monotonic()
        wait = pending.wait_before_taking(now)
        if wait > 0:
            if not pending.retry_set:
                pending.retry_set = True

                def again() -> None:
                    pending.retry_set = False
                    self.post_message(TailChanged(message.source))

                self.set_timer(wait, again)
            return
        pending.taken_at = now
        lines, folded, status = pending.take()
        pane = self.logs_pane()
        if lines or folded:
            pane.add_lines(message.source, lines, folded)
        if status is not None:
            pane.set_status(message.source, status)
