"""One thread that owns the war room's record for the console.

Every write, every read of the record and every import happens here, in the order the
user asked for them, so a slow disk or a locked database never freezes a keypress. After
each job the thread reads what changed (its own writes and anyone else's) and hands the
UI a Delta: the incident list when it changed, the head of the incident on screen when
it changed, and the timeline rows that changed, never the whole record. Results come
back through plain callbacks (the app turns them into screen updates on its own loop).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from warroom.errors import ConfigError, InvalidEvent, StoreError, UsageError
from warroom.record.model import Entry, Incident, Summary
from warroom.record.room import Room
from warroom.record.views import Changes, entry_from_row

Operation = Callable[[Room], Any]
PAGE = 200  # timeline rows read at a time: a few screens, whatever the incident's length
BATCHED = "log entry"  # jobs with this label may share a transaction (Recorder._run_batch)
MAX_BATCH = 64


@dataclass
class Job:
    operation: Operation
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[str], None] | None = None
    label: str = ""


@dataclass
class Delta:
    """What the panes need after a batch of changes. Later deltas merge into earlier ones
    still waiting for the UI, so a burst of writes costs the screen one update."""

    summaries: tuple[Summary, ...] | None = None  # the incident list, when it changed
    incident_id: str | None = None  # the incident the rest is about
    incident: Incident | None = None  # its head, when it changed
    switched: bool = False  # another incident (or none) is on screen now
    page: list[Entry] | None = None  # the newest rows, to show afresh
    has_older: bool = False  # rows older than the page exist
    rows: dict[str, Entry] = field(default_factory=dict)  # rows that changed (deleted ones too)
    count: int | None = None  # the incident's entries

    def merge(self, later: Delta) -> None:
        if later.summaries is not None:
            self.summaries = later.summaries
        if later.switched or later.incident_id != self.incident_id:
            self.incident_id, self.switched = later.incident_id, True
            self.incident, self.page, self.has_older = later.incident, later.page, later.has_older
            self.rows = dict(later.rows)
        else:
            if later.incident is not None:
                self.incident = later.incident
            if later.page is not None:
                self.page, self.has_older, self.rows = later.page, later.has_older, {}
            self.rows.update(later.rows)
        if later.count is not None:
            self.count = later.count

    def __bool__(self) -> bool:
        return (
            self.summaries is not None
            or self.switched
            or self.incident is not None
            or self.page is not None
            or bool(self.rows)
        )


_STOP = object()


class Recorder:
    def __init__(
        self,
        room: Room,
        on_delta: Callable[[Delta], None],
        on_error: Callable[[str, Job], None],
        pick: Callable[[list[Summary]], str | None],
    ) -> None:
        self.room = room
        self.on_delta = on_delta
        self.on_error = on_error
        self.pick = pick  # which incident to show when none is: Room.meant, the one rule
        self.shown: str | None = None
        self._queue: queue.Queue[Job | object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="warroom-recorder", daemon=True)
        self._idle = threading.Event()
        self._idle.set()
        self._reload_pending = threading.Event()
        self._take_in_pending = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Finish every job already queued (nothing typed is lost), then stop."""
        if not self._thread.is_alive():
            return  # never started (the app failed before mounting) or already stopped
        self._queue.put(_STOP)
        self._thread.join(timeout=timeout)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def submit(
        self,
        operation: Operation,
        *,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        label: str = "",
    ) -> None:
        self._idle.clear()
        self._queue.put(Job(operation, on_done, on_error, label))

    def reload(self) -> None:
        """Ask for a look at what other writers added; requests while one waits collapse."""
        if not self._reload_pending.is_set():
            self._reload_pending.set()
            self.submit(self._reload, label="reload")

    def _reload(self, room: Room) -> None:
        self._reload_pending.clear()

    def take_in(self) -> None:
        """git changed warroom.db: import it (it can only add events)."""
        if not self._take_in_pending.is_set():
            self._take_in_pending.set()
            self.submit(self._take_in, label="import")

    def _take_in(self, room: Room):
        self._take_in_pending.clear()
        return room.take_in()

    def show(self, incident_id: str | None) -> None:
        """Put another incident on screen (its head and newest rows arrive as a Delta)."""

        def switch(room: Room) -> None:
            self.shown = incident_id
            self.on_delta(self.first(switched=True))

        self.submit(switch, label="switch incident")

    def first(self, switched: bool = True) -> Delta:
        """The whole picture: the incident list, the incident on screen, its newest rows.
        Runs on the recorder thread, or on the UI thread before the recorder starts."""
        room = self.room
        summaries = tuple(room.summaries())
        if self.shown is None or all(s.id != self.shown for s in summaries):
            self.shown = self.pick(list(summaries))
        delta = Delta(summaries=summaries, incident_id=self.shown, switched=switched)
        if self.shown is not None:
            delta.incident = room.head(self.shown)
            rows = room.store.timeline(self.shown, limit=PAGE + 1)
            delta.has_older = len(rows) > PAGE
            delta.page = [entry_from_row(row) for row in rows[-PAGE:]]
            delta.count = room.store.entry_count(self.shown)
        return delta

    def older(
        self, incident_id: str, before: tuple[str, str, str], on_done: Callable[[tuple[list[Entry], bool]], None]
    ) -> None:
        """The PAGE rows before `before`, and whether there are more."""

        def read(room: Room) -> tuple[list[Entry], bool]:
            rows = room.store.timeline(incident_id, before=before, limit=PAGE + 1)
            return [entry_from_row(row) for row in rows[-PAGE:]], len(rows) > PAGE

        self.submit(read, on_done=on_done, label="older entries")

    def wait_idle(self, timeout: float = 10) -> bool:
        """For tests and benchmarks: block until every submitted job has finished."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        following: Job | object | None = None
        while True:
            job = following if following is not None else self._queue.get()
            following = None
            if job is _STOP:
                return
            assert isinstance(job, Job)
            if job.label == BATCHED:
                # Lines typed faster than the disk syncs go in one transaction each burst: one
                # sync for many lines, so a fast typist's queue drains instead of growing.
                jobs = [job]
                while len(jobs) < MAX_BATCH:
                    try:
                        following = self._queue.get_nowait()
                    except queue.Empty:
                        following = None
                        break
                    if not isinstance(following, Job) or following.label != BATCHED:
                        break
                    jobs.append(following)
                    following = None
                self._run_batch(jobs)
                if following is None and self._queue.empty():
                    self._fold_wal()
                    self._idle.set()
                continue
            try:
                result = job.operation(self.room)
                self._tell()
                if job.on_done:
                    job.on_done(result)
            except (UsageError, ConfigError, StoreError) as exc:
                self._tell()
                if job.on_error:
                    job.on_error(str(exc))
                self.on_error(str(exc), job)
            except Exception as exc:  # noqa: BLE001 - a bug must not kill the writer thread: say it, keep going
                self.on_error(f"internal error in {job.label or 'an operation'}: {exc!r}", job)
            finally:
                if self._queue.empty():
                    if job.label not in ("reload", "older entries"):
                        self._fold_wal()
                    self._idle.set()

    def _run_batch(self, jobs: list[Job]) -> None:
        """Typed lines in one durable transaction. A line the rules refuse fails alone; a disk
        that fails undoes the batch and every line in it fails (each keeps its text)."""
        outcomes: list[tuple[Job, Any, str | None]] = []
        try:
            with self.room.store.batch():
                for job in jobs:
                    try:
                        outcomes.append((job, job.operation(self.room), None))
                    except (UsageError, ConfigError, InvalidEvent) as exc:
                        outcomes.append((job, None, str(exc)))
        except StoreError as exc:
            outcomes = [(job, None, str(exc)) for job in jobs]
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the writer thread: say it, keep going
            outcomes = [(job, None, f"internal error in {job.label}: {exc!r}") for job in jobs]
        self._tell()
        said: set[str] = set()
        for job, result, error in outcomes:
            if error is None:
                if job.on_done:
                    job.on_done(result)
            else:
                if job.on_error:
                    job.on_error(error)
                if error not in said:  # one toast for a burst failing the same way
                    said.add(error)
                    self.on_error(error, job)

    def _tell(self) -> None:
        """Read what changed since the last look (by anyone) and hand the UI its delta."""
        try:
            changes = self.room.reload()
            if changes:
                delta = self.delta(changes)
                if delta:
                    self.on_delta(delta)
        except StoreError as exc:
            self.on_error(str(exc), Job(lambda room: None, label="reload"))

    def delta(self, changes: Changes) -> Delta:
        room = self.room
        delta = Delta(incident_id=self.shown)
        if changes.heads or changes.rebuilt:  # entries change no summary: a keystroke reads no list
            delta.summaries = tuple(room.summaries())
            if self.shown is None or all(s.id != self.shown for s in delta.summaries):
                return self.first(switched=True)
        shown = self.shown
        if shown is None:
            return delta
        if shown in changes.rebuilt:
            return self.first(switched=False)
        rows: list[tuple[Any, ...]] = []
        if shown in changes.heads:
            delta.incident = room.head(shown)
            rows += room.store.head_rows(shown)
        if changes.entries:
            rows += [row for row in room.store.timeline_rows(changes.entries) if row[1] == shown]
        if rows:
            delta.rows = {row[0]: entry_from_row(row) for row in rows}
        return delta

    def _fold_wal(self) -> None:
        """Keep the WAL small while idle."""
        try:
            self.room.store.checkpoint()
        except Exception:  # noqa: BLE001 - busy or read-only: the next idle moment tries again
            pass
