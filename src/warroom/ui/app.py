"""The console: composes the panes and routes messages. Behaviour lives in the core and in
ui/controllers/ (mixed in below); the keys in ui/keys.py; start-up tricks in ui/startup.py.

Data flows one way: keys -> a Room operation on the recorder thread -> the changed rows ->
panes. Another writer changes the file -> watchfiles (or the 1 s poll) -> the recorder
reads what is new -> the same path. A log source -> PendingLines and a coalescing
TailChanged message -> the logs pane.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable
from textual.worker import Worker, WorkerState

from warroom.record.clock import Clock, SystemClock
from warroom.record.model import Incident, Summary
from warroom.record.room import Room
from warroom.ui import keys, startup
from warroom.ui.controllers.entries import EntryCommands
from warroom.ui.controllers.incident import IncidentCommands
from warroom.ui.controllers.keygate import KeyGate
from warroom.ui.controllers.live import LiveSources
from warroom.ui.controllers.moving import PaneMoves
from warroom.ui.controllers.recorder import Delta, Job, Recorder
from warroom.ui.controllers.statuspage import StatusPageCommands
from warroom.ui.controllers.steps import StepRunner
from warroom.ui.controllers.writeup import WriteupCommands
from warroom.ui.deferred import Deferred
from warroom.ui.panes.countdown import CountdownPane
from warroom.ui.panes.header import IncidentHeader
from warroom.ui.panes.timeline import TimelinePane

# Modal screens are imported where they open: none is on screen at start, and importing
# them all (the composer's TextArea, the runbooks' Markdown) delays the first frame.
from warroom.ui.themes import save_theme, variable_defaults
from warroom.ui.view import ConsoleView

if TYPE_CHECKING:
    from warroom.ui.controllers.terminal import TerminalGuard

# What a failed worker was doing, for the one line that tells the user (worker_failed).
WORKER_JOBS = {
    "health": "The health checks",
    "logs": "A log tail",
    "sync": "The background sync",
    "export": "The export",
    "steps": "A runbook step",
    "watch": "Watching the record",
    "statuspage": "The status page build",
}


@dataclass
class RecordChanged(Message):
    """The recorder thread has a delta waiting (`WarroomApp.pending_delta`): a burst of
    writes or reloads coalesces into the one that is handled, which takes them all."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RecordChanged)


class WarroomApp(
    startup.QuickStyles,
    IncidentCommands,
    WriteupCommands,
    EntryCommands,
    StatusPageCommands,
    StepRunner,
    LiveSources,
    PaneMoves,
    App[int],
):
    CSS_PATH = "warroom.tcss"
    TITLE = "warroom"
    BINDINGS = keys.bindings("app")  # the key table: ui/keys.py

    view: reactive[ConsoleView | None] = reactive(None, always_update=True)

    def __init__(
        self,
        room: Room,
        *,
        clock: Clock | None = None,
        start_sources: bool = True,
        watch: bool = True,
        sync: bool = False,
    ) -> None:
        super().__init__()
        self.sync_wanted = sync
        self.room = room
        self.config = room.config
        self.clock = clock or room.clock or SystemClock()
        self.start_sources = start_sources
        self.watch_file = watch
        self.summaries: tuple[Summary, ...] = ()
        self.last_deleted: str | None = None
        self.recorder = Recorder(room, self._delta_from_thread, self._error_from_thread, room.meant)
        self._ui_loop: asyncio.AbstractEventLoop | None = None
        self._delta_lock = threading.Lock()
        self._pending_delta: Delta | None = None
        self.init_live()
        self.init_steps()
        self.closing = False  # the terminal is gone or a signal came: see ui/controllers/terminal.py
        self.terminal_guard: TerminalGuard | None = None
        self.key_gate = KeyGate(self)
        # Keys typed while the console starts (an `n` and a line, straight after the command)
        # wait until every pane is there: read earlier, `n` found no input to focus yet and the
        # line's `b` opened the runbooks.
        self.until_panes = self.key_gate.hold()
        self.panes_ready = asyncio.Event()  # set by start_background once the panes are mounted
        self.choose_theme_early()

    async def on_event(self, event: events.Event) -> None:
        # Keys one at a time, each once the one before it has landed (controllers/keygate.py):
        # typed fast, a key never reaches a dialog that is closing or a screen a dialog covers.
        if self.key_gate.admit(event):
            await super().on_event(event)

    # --- layout --------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return variable_defaults()

    def compose(self) -> ComposeResult:
        # The logs pane, the roster tabs and the footer are made and mounted just after the
        # first frame, their places framed meanwhile: the console appears about a third sooner.
        yield IncidentHeader(self.clock, id="header").data_bind(WarroomApp.view)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Deferred(self.make_health, pane_id="health", title="Health")
                people = Deferred(self.make_people, pane_id="people")
                people.styles.height = min(len(self.config.roles), 10) + 4  # tabs, roster, frame
                yield people
                yield CountdownPane(self.clock, id="countdown").data_bind(WarroomApp.view)
            with Vertical(id="right"):
                yield Deferred(self.make_logs, pane_id="logs", title="Logs")
                yield TimelinePane(id="timeline").data_bind(WarroomApp.view)
        yield Deferred(self.make_footer, pane_id="footer")

    def make_people(self) -> Widget:
        from textual.widgets import TabbedContent, TabPane

        from warroom.ui.panes.actions import ActionsPane
        from warroom.ui.panes.contacts import ContactsPane
        from warroom.ui.panes.roster import RosterPane

        people = TabbedContent(id="people")
        people.compose_add_child(TabPane("Roster", RosterPane(id="roster").data_bind(WarroomApp.view), id="tab-roster"))
        people.compose_add_child(
            TabPane("Actions", ActionsPane(id="actions").data_bind(WarroomApp.view), id="tab-actions")
        )
        people.compose_add_child(
            TabPane("Contacts", ContactsPane(self.config.contacts, id="contacts"), id="tab-contacts")
        )
        return people

    def make_health(self) -> Widget:
        from warroom.ui.panes.health import HealthPane

        return HealthPane(self.config.checks, id="health")

    def make_logs(self) -> Widget:
        from warroom.ui.panes.logs import LogsPane

        return LogsPane(self.config.logs, id="logs")

    def make_footer(self) -> Widget:
        from warroom.ui.panes.footer import ConsoleFooter

        return ConsoleFooter()

    def on_mount(self) -> None:
        self._ui_loop = asyncio.get_running_loop()
        self.theme_changed_signal.subscribe(self, lambda theme: save_theme(theme.name))
        # The first frame shows the incident on screen and its newest rows, read from the
        # record's derived tables (a few queries, whatever its size); the recorder thread takes
        # over from here and reads only what changes.
        self.room.store.skip_to_end()
        self.show_delta(self.recorder.first())
        startup.share_the_interpreter()
        self.recorder.start()
        self.set_interval(1.0, self.recorder.reload)  # a cheap poll backs up the file watcher
        # Paint first; watchers and sources (httpx, subprocesses) start right after.
        self.call_after_refresh(self.start_background)
        self.query_one("#timeline-table", DataTable).focus()
        from warroom.ui.controllers.terminal import TerminalGuard, real_terminal

        if real_terminal(self):  # SIGHUP, SIGTERM or a hung-up terminal: a clean exit
            self.terminal_guard = TerminalGuard(self).install()

    def start_background(self) -> None:
        startup.after_first_frame()
        if self.start_sources and not self._tails_started:
            # the tails start reading now (a followed file's last lines take a moment); their
            # lines wait for the logs pane, which arrives just after the first frame
            self.start_log_tails()
        # the panes the sources feed arrive just after the first frame
        health = self.query("#health")
        if not (self.logs_ready() and health and health.first().is_mounted):
            self.set_timer(0.02, self.start_background)
            return
        self.panes_ready.set()
        self.release_keys_once_ready()
        if self.watch_file:
            self.watch_record()
        if self.start_sources:
            self.start_live_sources()
        if self.sync_wanted:
            self.start_sync()

    def release_keys_once_ready(self) -> None:
        """The keys typed while the console started go on once every pane is there, the
        footer last (the keys it shows depend on the screen the first key opens)."""
        if self.query("ConsoleFooter"):
            self.until_panes()
        else:
            self.set_timer(0.02, self.release_keys_once_ready)

    def on_resize(self, event: events.Resize) -> None:
        # 80x24 must still show every pane: drop borders, narrow the left column.
        self.screen.set_class(event.size.width < 110 or event.size.height < 32, "compact")

    def on_unmount(self) -> None:
        self.recorder.stop()
        if self.live is not None:
            self.live.stop()
        if self.terminal_guard is not None:
            self.terminal_guard.uninstall()

    def begin_closing(self) -> None:
        """The console is going (terminal lost): record no more check flips, and let the
        runbook steps about to be ended record themselves as stopped."""
        self.closing = True
        self.stopped_steps.update(self.running_steps)

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        """Every worker runs with exit_on_error=False, so that none can take the console down;
        this is where a failure is told, once, in one line."""
        if event.state is not WorkerState.ERROR:
            return
        worker = event.worker
        job = WORKER_JOBS.get(worker.group, worker.name or "A background task")
        self.notify(f"{job} stopped: {worker.error}", severity="error", timeout=10, markup=False)

    # --- state ---------------------------------------------------------------

    def from_thread(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Hand work to the UI thread without waiting for it: the recorder must never stall on
        a busy screen (call_from_thread blocks until the UI has run the callback). Messages to
        the app are thread-safe and run in order, in the app's context."""

        def run() -> None:
            try:
                callback(*args, **kwargs)
            except NoMatches:
                pass  # the pane it was for is gone (the app is closing)

        self.call_later(run)

    def _delta_from_thread(self, delta: Delta) -> None:
        with self._delta_lock:
            if self._pending_delta is None:
                self._pending_delta = delta
            else:
                self._pending_delta.merge(delta)
        self.post_message(RecordChanged())

    @on(RecordChanged)
    def _show_pending_delta(self) -> None:
        with self._delta_lock:
            delta, self._pending_delta = self._pending_delta, None
        if delta is not None:
            try:
                self.show_delta(delta)
            except NoMatches:
                pass  # the pane it was for is gone (the app is closing)

    def _error_from_thread(self, message: str, job: Job) -> None:
        self.from_thread(self.notify, message, severity="error", timeout=8, markup=False)

    def show_delta(self, delta: Delta) -> None:
        """What changed in the record, onto the screen: the incident list and head through the
        view (every pane bound to it), the rows straight into the timeline."""
        timeline = self.query_one(TimelinePane)
        current = self.view.incident if self.view else None
        if delta.summaries is not None:
            self.summaries = delta.summaries
        incident = delta.incident if (delta.switched or delta.incident is not None) else current
        if delta.switched and delta.incident_id is None:
            incident = None
        if delta.summaries is not None or delta.incident is not None or delta.switched or self.view is None:
            self.view = ConsoleView(self.summaries, incident, self.config)
            self.sub_title = f"{incident.short_id} {incident.title}" if incident else "no open incident"
        if delta.switched or delta.page is not None:
            timeline.show_page(delta.incident_id, delta.page or [], delta.has_older, delta.count or 0)
        if delta.rows:
            timeline.apply_rows(delta.incident_id, delta.rows, delta.count)

    @property
    def incident(self) -> Incident | None:
        return self.view.incident if self.view else None

    def record(
        self,
        operation: Callable[[Room], Any],
        *,
        done: str = "",
        on_error: Callable[[str], None] | None = None,
        label: str = "",
    ) -> None:
        """Run a Room operation on the recorder thread; say `done` when it is durable."""

        def on_done(_result: Any) -> None:
            self.changed_locally()
            if done:
                self.from_thread(self.notify, done, timeout=3, markup=False)

        def failed(message: str) -> None:
            if on_error:
                self.from_thread(on_error, message)

        self.recorder.submit(operation, on_done=on_done, on_error=failed, label=label)

    def need_incident(self) -> Incident | None:
        if self.incident is None:
            self.notify(
                "No incident on screen: press D to declare one, or I to pick one.", severity="warning", markup=False
            )
        return self.incident

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def watch_record(self) -> None:
        from watchfiles import awatch

        record = Path(self.room.store.path).resolve()
        shared = Path(self.room.exchange).resolve()
        mine = {record, record.with_name(record.name + "-wal")}
        # The shared copy too: git (a pull, a checkout) changes it, and what it brings is taken in.
        theirs = {shared, shared.with_name(shared.name + "-wal")}
        async for changes in awatch(
            record.parent,
            shared.parent,
            debounce=50,
            step=25,
            recursive=False,
            watch_filter=lambda _change, path: Path(path) in mine | theirs,
        ):
            paths = {Path(path) for _change, path in changes}
            if paths & theirs:
                self.recorder.take_in()
            if paths & mine:
                self.recorder.reload()

    # --- moving around -----------------------------------------------------------------

    def action_focus_input(self) -> None:
        self.query_one(TimelinePane).focus_input()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_input":
            # `n` and `i` are text in any input, and belong to an open dialog, not the console.
            from textual.widgets import Input, TextArea

            return self.screen is self.screen_stack[0] and not isinstance(self.focused, (Input, TextArea))
        return True

    def action_help(self) -> None:
        from warroom.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen(keys.help_sections()))

    @on(CountdownPane.Overdue)
    def overdue(self, event: CountdownPane.Overdue) -> None:
        self.bell()
        self.notify(
            "A status update is overdue: press u to write one, z to snooze.",
            severity="warning",
            timeout=10,
            markup=False,
        )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in keys.palette():
            if action:
                yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))
            else:  # closing: through the checklist, for the incident on screen
                yield SystemCommand(title, help_text, self.close_shown_incident)

    def close_shown_incident(self) -> None:
        if self.incident is not None:
            self.close_incident(self.incident)
