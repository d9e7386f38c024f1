"""The console: wires the record and the live sources to the panes. Wiring only.

Data flows one way: keys -> Room operation on the recorder thread -> new State
-> ConsoleView -> panes (data-bound). Another writer changes the file ->
watchfiles (or the 1 s poll) -> reload -> the same path.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable

from warroom import templates
from warroom.clock import Clock, SystemClock
from warroom.events import STATUSES, format_time
from warroom.room import Room, Summary, UsageError
from warroom.state import Incident
from warroom.ui.panes.countdown import CountdownPane
from warroom.ui.panes.header import IncidentHeader
from warroom.ui.panes.timeline import TimelinePane
from warroom.ui.deferred import Deferred
from warroom.ui.keygate import KeyGate
from warroom.ui.recorder import Delta, Job, Recorder
# Modal screens are imported where they open: none is on screen at start, and importing
# them all (the composer's TextArea, the runbooks' Markdown) delays the first frame.
from warroom.ui.themes import DEFAULT_THEME, load_themes, save_theme, saved_theme, variable_defaults
from warroom.ui.view import ConsoleView

if TYPE_CHECKING:
    from warroom.ui.panes.actions import ActionsPane
    from warroom.ui.panes.logs import LogsPane
    from warroom.ui.panes.logview import LogView

KEYS_HELP = [
    ("Incident", [("D", "declare an incident"), ("S", "change severity"), ("t", "advance status"),
                  ("A", "acknowledge"), ("u", "post a status update (composer)"), ("z", "snooze the update reminder"),
                  ("r", "assign or hand over a role"), ("a", "add an action item"), ("I", "switch incident"),
                  ("E", "export the post-mortem"), ("ctrl+p", "command palette: every action, themes")]),
    ("Timeline", [("n / i", "type an entry (Enter logs it, the input stays open)"),
                  ("HH:MM text", "backdate the entry"), ("! > ?", "decision, action, finding"),
                  ("e", "edit the selected entry"), ("x", "delete it (ctrl+z undoes)"), ("Enter", "details and history")]),
    ("Logs", [("/", "filter (text or regex)"), ("h", "highlight matches instead of filtering"),
              ("f", "follow or pause"), ("l", "minimum level"), ("p", "pin the selected line to the timeline"),
              ("c", "clear")]),
    ("Playbook", [("b", "runbooks: search, read, Enter runs a step after confirming, U names the runbook in use"),
                  ("s", "stop the running step (on its Logs tab, or in the runbook screen)"),
                  ("d", "mark the selected action item done (Actions tab, next to the Roster)")]),
    ("Moving", [("tab / shift+tab", "next / previous pane"), ("L T H R", "jump to logs, timeline, health, roster"),
                ("?", "this help"), ("q", "quit (asks first while an incident is open)")]),
    ("Dialogs", [("Enter", "next field; on the last one it accepts"), ("ctrl+s", "accept from any field"),
                 ("Esc", "cancel")]),
]


class WarroomApp(App[int]):
    CSS_PATH = "warroom.tcss"
    TITLE = "warroom"

    BINDINGS = [
        Binding("D", "declare", "Declare"),
        # Priority: the input takes focus when the app reads `n`, before the keys typed behind
        # it are handed on (else they would reach the timeline's own keys: `e`, `x`).
        Binding("n,i", "focus_input", "Log entry", priority=True),
        Binding("u", "update", "Update"),
        Binding("t", "advance_status", "Status"),
        Binding("S", "severity", "Severity"),
        Binding("r", "role", "Role"),
        Binding("A", "acknowledge", "Ack", show=False),
        Binding("a", "add_action", "Action item", show=False),
        Binding("z", "snooze", "Snooze", show=False),
        Binding("I", "switch_incident", "Incident", show=False),
        Binding("b", "runbooks", "Runbooks"),
        Binding("E", "export", "Export"),
        Binding("ctrl+z", "undo_delete", "Undo delete", show=False),
        Binding("L", "focus_pane('logs')", "Logs", show=False),
        Binding("T", "focus_pane('timeline')", "Timeline", show=False),
        Binding("H", "focus_pane('health')", "Health", show=False),
        Binding("R", "focus_pane('roster')", "Roster", show=False),
        Binding("question_mark", "help", "Keys"),
        Binding("q", "quit_console", "Quit"),
    ]

    view: reactive[ConsoleView | None] = reactive(None, always_update=True)

    def __init__(self, room: Room, *, clock: Clock | None = None, start_sources: bool = True,
                 watch: bool = True, sync: bool = False) -> None:
        super().__init__()
        self.sync_wanted = sync
        self.live = None  # livesync.LiveSync, when the war room has a remote to sync with
        self.room = room
        self.config = room.config
        self.clock = clock or room.clock or SystemClock()
        self.start_sources = start_sources
        self.watch_file = watch
        self.summaries: tuple[Summary, ...] = ()
        self.last_deleted: str | None = None
        self.recorder = Recorder(room, self._delta_from_thread, self._error_from_thread, self.pick_default)
        self._ui_loop: asyncio.AbstractEventLoop | None = None
        self._delta_lock = threading.Lock()
        self._pending_delta: Delta | None = None
        self.health_monitor = None
        self.log_sources: list = []
        self.running_steps: dict[tuple[str, int], tuple[Any, LogView]] = {}  # (runbook, step) -> source, tab
        self.stopped_steps: set[tuple[str, int]] = set()
        self.runbook_selected: tuple[str, int] | None = None
        self.closing = False  # the terminal is gone or a signal came: see ui/terminal.py
        self._tails_started = False
        self.terminal_guard = None
        self.key_gate = KeyGate(self)
        # The theme is chosen before the stylesheet is first parsed: choosing it in on_mount
        # restyles every widget a second time, a fifth of the time to the first frame. The
        # stylesheet gets the theme's variables now, so the refresh that the change queues has
        # nothing left to do and is skipped (it would parse all the CSS again).
        for theme in load_themes():
            self.register_theme(theme)
        chosen = saved_theme()
        before = self.theme
        self.theme = chosen if chosen in self.available_themes else DEFAULT_THEME
        self.stylesheet.set_variables(self.get_css_variables())
        self._css_fresh = self.theme != before

    async def on_event(self, event: events.Event) -> None:
        # Keys one at a time, each once the one before it has landed (ui/keygate.py): typed
        # fast, a key never reaches a dialog that is closing or a screen that a dialog covers.
        if self.key_gate.admit(event):
            await super().on_event(event)

    # --- layout --------------------------------------------------------------

    def refresh_css(self, animate: bool = True) -> None:
        if self._css_fresh:  # queued by choosing the theme in __init__: already applied
            self._css_fresh = False
            return
        super().refresh_css(animate)

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
        from warroom.ui.panes.roster import RosterPane

        people = TabbedContent(id="people")
        people.compose_add_child(TabPane("Roster", RosterPane(id="roster").data_bind(WarroomApp.view),
                                         id="tab-roster"))
        people.compose_add_child(TabPane("Actions", ActionsPane(id="actions").data_bind(WarroomApp.view),
                                         id="tab-actions"))
        return people

    def make_health(self) -> Widget:
        from warroom.ui.panes.health import HealthPane

        return HealthPane(self.config.checks, id="health")

    def make_logs(self) -> Widget:
        from warroom.ui.panes.logs import LogsPane

        return LogsPane(self.config.logs, id="logs")

    def make_footer(self) -> Widget:
        from textual.widgets import Footer

        return Footer()

    def logs_pane(self) -> LogsPane:
        from warroom.ui.panes.logs import LogsPane

        return self.query_one("#logs", LogsPane)

    def on_mount(self) -> None:
        self._ui_loop = asyncio.get_running_loop()
        self.theme_changed_signal.subscribe(self, lambda theme: save_theme(theme.name))
        # The first frame shows the incident on screen and its newest rows, read from the
        # record's derived tables (a few queries, whatever its size); the recorder thread takes
        # over from here and reads only what changes.
        self.room.store.skip_to_end()
        self.show_delta(self.recorder.first())
        self.recorder.start()
        self.set_interval(1.0, self.recorder.reload)  # a cheap poll backs up the file watcher
        # Paint first; watchers and sources (httpx, subprocesses) start right after.
        self.call_after_refresh(self.start_background)
        self.query_one("#timeline-table", DataTable).focus()
        from warroom.ui.terminal import TerminalGuard, real_terminal

        if real_terminal(self):  # SIGHUP, SIGTERM or a hung-up terminal: a clean exit
            self.terminal_guard = TerminalGuard(self).install()

    def start_background(self) -> None:
        if not gc.isenabled():  # paused for start-up by `warroom` (cli.cmd_console)
            gc.freeze()
            # Collections are rarer: each full one pauses the screen for tens of milliseconds
            # (every fold of the record makes thousands of long-lived objects), and at the
            # default pace one landed on a keystroke in fifty while a scribe typed.
            gc.set_threshold(10_000, 20, 20)
            gc.enable()
        if self.start_sources and not self._tails_started:
            # the tails start reading now (a followed file's last lines take a moment); their
            # lines wait for the logs pane, which arrives just after the first frame
            self.start_log_tails()
        # the panes the sources feed arrive just after the first frame
        if not all(found and found.first().is_mounted for found in (self.query("#logs"), self.query("#health"))):
            self.set_timer(0.02, self.start_background)
            return
        if self.watch_file:
            self.watch_record()
        if self.start_sources:
            self.start_live_sources()
        if self.sync_wanted:
            self.start_sync()

    @work(thread=True, group="sync", exit_on_error=False)
    def start_sync(self) -> None:
        """Background sync when the war room is a clone with a remote (asking git is a
        subprocess: off the UI thread)."""
        from warroom.livesync import LiveSync

        if not LiveSync.wanted(self.config):
            return
        live = LiveSync(self.config, str(self.room.store.path), every=self.config.sync_every,
                        author=self.room.store.author, clock=self.clock,
                        on_status=lambda status: self.from_thread(self.show_sync, status))
        self.live = live
        live.start()

    def show_sync(self, status) -> None:
        """Offline in the header, who else is here in the roster, a failed sync as a toast."""
        self.query_one(IncidentHeader).show_sync(status)
        roster = self.query("#roster")
        if roster:
            roster.first().show_peers(status.peers, self.clock.now())
        if status.error:
            self.notify(f"Sync: {status.error}", severity="warning", timeout=8, markup=False)

    def changed_locally(self) -> None:
        """A write of ours is durable: the background sync sends it once things settle."""
        if self.live is not None:
            self.live.poke()

    def on_resize(self, event) -> None:
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
        # Coalesce: a burst of writes or reloads reaches the screen as one delta.
        with self._delta_lock:
            pending = self._pending_delta
            if pending is None:
                self._pending_delta = delta
            else:
                pending.merge(delta)
        if pending is None:
            self.from_thread(self._show_pending_delta)

    def _show_pending_delta(self) -> None:
        with self._delta_lock:
            delta, self._pending_delta = self._pending_delta, None
        if delta is not None:
            self.show_delta(delta)

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

    def pick_default(self, summaries: list[Summary]) -> str | None:
        """The incident to show when none is chosen: the most severe open one, newest first."""
        candidates = [s for s in summaries if s.open]
        if not candidates:
            return None
        rank = self.config.severity.rank
        return sorted(candidates, key=lambda i: (rank(i.severity), -_ts(i.declared_at)))[0].id

    @property
    def incident(self) -> Incident | None:
        return self.view.incident if self.view else None

    def record(self, operation: Callable[[Room], Any], *, done: str = "",
               on_error: Callable[[str], None] | None = None, label: str = "") -> None:
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
            self.notify("No incident on screen: press D to declare one, or I to pick one.",
                        severity="warning", markup=False)
        return self.incident

    # --- the live record -------------------------------------------------------

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def watch_record(self) -> None:
        from watchfiles import awatch

        record = Path(self.room.store.path).resolve()
        shared = Path(self.room.exchange).resolve()
        mine = {record, record.with_name(record.name + "-wal")}
        # The shared copy too: git (a pull, a checkout) changes it, and what it brings is taken in.
        theirs = {shared, shared.with_name(shared.name + "-wal")}
        async for changes in awatch(record.parent, shared.parent, debounce=50, step=25, recursive=False,
                                    watch_filter=lambda _change, path: Path(path) in mine | theirs):
            paths = {Path(path) for _change, path in changes}
            if paths & theirs:
                self.recorder.take_in()
            if paths & mine:
                self.recorder.reload()

    # --- timeline ------------------------------------------------------------

    @on(TimelinePane.EntrySubmitted)
    def log_entry(self, event: TimelinePane.EntrySubmitted) -> None:
        """A line the scribe typed: queued at once (the input never waits on the disk), shown
        as saving until the record holds it, as failed (kept for a retry) when it cannot."""
        incident = self.need_incident()
        timeline = self.query_one(TimelinePane)
        number, text = event.key, event.text
        if incident is None:
            timeline.line_failed(number, "no incident on screen: press D to declare one, or I to pick one")
            return
        def saved(_event) -> None:
            self.changed_locally()
            self.from_thread(timeline.line_saved, number)

        self.recorder.submit(lambda room: room.log_typed(incident, text), label="log entry", on_done=saved,
                             on_error=lambda message: self.from_thread(timeline.line_failed, number, message))

    @on(TimelinePane.OlderWanted)
    def older_entries(self, event: TimelinePane.OlderWanted) -> None:
        timeline = self.query_one(TimelinePane)
        incident_id = event.incident_id
        self.recorder.older(incident_id, event.before, lambda page: self.from_thread(
            timeline.add_older, incident_id, *page))

    @on(TimelinePane.EntryAction)
    def entry_action(self, event: TimelinePane.EntryAction) -> None:
        from warroom.ui.screens.entry import EntryScreen
        from warroom.ui.screens.prompt import PromptScreen

        incident = self.incident
        if incident is None:
            return
        entry = self.query_one(TimelinePane).entry(event.entry_id)
        if entry is None:
            return
        if event.action == "details":
            entry_id = entry.id

            self.open_after(lambda room: room.entry(entry_id), lambda whole: self.push_screen(EntryScreen(whole)),
                            label="entry details")
            return
        if entry.auto and entry.auto != "pin":
            self.notify("Automatic entries are part of the record and cannot be changed; "
                        "log a correction instead.", severity="warning", markup=False)
            return
        if event.action == "edit":
            def apply(values: dict[str, str] | None) -> None:
                if values and values["text"].strip() and values["text"].strip() != entry.text:
                    self.record(lambda room: room.edit(entry.id, values["text"]), done="Entry edited (history kept).")

            self.push_screen(PromptScreen("Edit entry (the old text stays in its history)",
                                          [("text", "Text:", entry.text, "")], required=("text",)), apply)
        elif event.action == "delete":
            self.last_deleted = entry.id
            self.record(lambda room: room.delete(entry.id), done="Entry deleted. ctrl+z undoes.")

    def action_undo_delete(self) -> None:
        if self.last_deleted:
            target, self.last_deleted = self.last_deleted, None
            self.record(lambda room: room.delete(target, restore=True), done="Entry restored.")

    def action_focus_pane(self, pane: str) -> None:
        targets = {"logs": "#logs", "timeline": "#timeline-table", "health": "#health", "roster": "#roster"}
        found = self.query(targets[pane])
        if not found:  # a key pressed within the first frame, before the pane was mounted
            return
        if pane == "logs":
            found.first().active_view().focus()
        else:
            found.first().focus()

    def action_focus_input(self) -> None:
        self.query_one(TimelinePane).focus_input()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_input":
            # `n` and `i` are text in any input, and belong to an open dialog, not the console.
            from textual.widgets import Input, TextArea

            return self.screen is self.screen_stack[0] and not isinstance(self.focused, (Input, TextArea))
        return True

    # --- incident actions --------------------------------------------------------

    def action_declare(self) -> None:
        from warroom.ui.screens.declare import DeclareScreen

        def declared(values: dict[str, str] | None) -> None:
            if not values:
                return

            def operation(room: Room):
                event = room.declare(values["title"], values["severity"], values["impact"])
                self.recorder.shown = event.id  # the new incident goes on screen
                return event

            self.record(operation, done=f"Declared {values['severity']}: {values['title']}")

        self.push_screen(DeclareScreen(self.config.severity), declared)

    def action_severity(self) -> None:
        from warroom.ui.screens.pick import PickScreen

        incident = self.need_incident()
        if incident is None:
            return
        options = [(level.id, f"{level.id}  {level.label}: {level.description[:60]}")
                   for level in self.config.severity.levels]

        def chosen(severity: str | None) -> None:
            if severity and severity != incident.severity:
                self.record(lambda room: room.set_severity(incident, severity), done=f"Severity is now {severity}.")

        self.push_screen(PickScreen(f"Severity of {incident.short_id}", options, incident.severity), chosen)

    def action_advance_status(self) -> None:
        from warroom.ui.screens.pick import PickScreen

        incident = self.need_incident()
        if incident is None:
            return
        options = [(s, s.capitalize() + ("  (current)" if s == incident.status else ""))
                   for s in STATUSES]
        following = self.room.next_status(incident) or incident.status

        def chosen(status: str | None) -> None:
            if not status or status == incident.status:
                return
            if status == "closed":
                self.close_incident(incident)
                return
            self.record(lambda room: room.set_status(incident, status), done=f"Status: {status}.")
            if status == "resolved":
                self.remind_postmortem(incident)

        self.push_screen(PickScreen(f"Status of {incident.short_id} (Enter takes the next phase)",
                                    options, following), chosen)

    def remind_postmortem(self, incident: Incident) -> None:
        level = self.config.severity.level(incident.severity)
        if level and level.postmortem != "optional":
            from warroom.config import format_duration
            within = f" within {format_duration(level.postmortem_within)}" if level.postmortem_within else ""
            self.notify(f"A post-mortem is {level.postmortem} for {incident.severity}{within}. "
                        f"E exports the draft.", timeout=10, markup=False)

    def close_incident(self, incident: Incident) -> None:
        from warroom.ui.screens.checklist import ChecklistScreen

        def closed(skipped: list[str] | None) -> None:
            if skipped is None:
                return
            self.record(lambda room: room.set_status(incident, "closed", skipped=skipped),
                        done="Incident closed." + (f" {len(skipped)} checklist item(s) recorded as skipped."
                                                   if skipped else ""))

        self.push_screen(ChecklistScreen(incident.short_id, self.config.checklist), closed)

    def action_acknowledge(self) -> None:
        incident = self.need_incident()
        if incident is None:
            return
        if incident.acknowledged_at:
            self.notify(f"Already acknowledged at {incident.acknowledged_at[11:16]} UTC.", markup=False)
            return
        self.record(lambda room: room.acknowledge(incident), done="Acknowledged.")

    def action_role(self) -> None:
        from warroom.ui.screens.pick import PickScreen
        from warroom.ui.screens.prompt import PromptScreen

        incident = self.need_incident()
        if incident is None:
            return
        roster = self.query("#roster")  # none within the first frame
        options = [(name, f"{name}: {role.person or 'unassigned'}") for name, role in incident.roles.items()]

        def chosen_role(role: str | None) -> None:
            if not role:
                return

            def chosen_person(values: dict[str, str] | None) -> None:
                if values and values["person"].strip():
                    person = values["person"].strip()
                    self.record(lambda room: room.assign(incident, role, person), done=f"{role}: {person}")

            current = incident.holder(role)
            self.push_screen(PromptScreen(f"{role}" + (f" (now {current})" if current else " (unassigned)"),
                                          [("person", "Who takes it:", "", "name")], required=("person",)),
                             chosen_person)

        self.push_screen(PickScreen("Assign or hand over a role", options,
                                    roster.first().selected_role() if roster else None), chosen_role)

    def action_snooze(self) -> None:
        from warroom.ui.screens.pick import PickScreen
        from warroom.ui.screens.prompt import PromptScreen

        incident = self.need_incident()
        if incident is None:
            return

        def chosen(minutes: str | None) -> None:
            if not minutes:
                return

            def with_reason(values: dict[str, str] | None) -> None:
                if values and values["reason"].strip():
                    reason = values["reason"].strip()
                    self.record(lambda room: room.snooze(incident, int(minutes), reason),
                                done=f"Update reminder snoozed {minutes}m.")

            self.push_screen(PromptScreen(f"Snooze {minutes}m: why? (goes on the timeline)",
                                          [("reason", "Reason:", "", "waiting for the vendor's answer")],
                                          required=("reason",)), with_reason)

        self.push_screen(PickScreen("Snooze the update reminder", [("15", "15 minutes"), ("30", "30 minutes")]),
                         chosen)

    def action_add_action(self) -> None:
        from warroom.ui.screens.prompt import PromptScreen

        incident = self.need_incident()
        if incident is None:
            return
        timeline = self.query_one(TimelinePane)
        entry_id = timeline.selected_entry_id() if self.focused is self.query_one("#timeline-table") else None
        entry = timeline.entry(entry_id)

        def added(values: dict[str, str] | None) -> None:
            if not values:
                return
            self.record(lambda room: room.add_action(incident, values["text"], values["owner"], values["due"],
                                                     values["priority"] or "medium", entry.id if entry else ""),
                        done="Action item added.")

        self.push_screen(PromptScreen("Add an action item",
                                      [("text", "Action:", entry.text if entry and not entry.auto else "", "what must be done"),
                                       ("owner", "Owner:", "", "name"), ("due", "Due (YYYY-MM-DD):", "", "2026-12-01"),
                                       ("priority", "Priority (high, medium, low):", "medium", "medium")],
                                      required=("text",)), added)

    def action_update(self) -> None:
        shown = self.need_incident()
        if shown is None:
            return

        def fill(room: Room) -> tuple[Incident, dict[str, str]]:
            # The templates read the latest actions and findings: the recorder has the record.
            incident = room.recent(shown.id)
            now = self.clock.now()
            filled: dict[str, str] = {}
            for name in templates.available(self.config):
                try:
                    filled[name] = templates.render(name, incident, self.config, now, room.store.author)
                except OSError:
                    continue
            return incident, filled

        self.open_after(fill, lambda result: self.compose_update(*result), label="fill templates")

    def open_after(self, read: Callable[[Room], Any], show: Callable[[Any], None], label: str) -> None:
        """A dialog that needs the record first (the recorder reads it): keys typed meanwhile
        wait for the dialog, as they would for one that opens at once (ui/keygate.py)."""
        release = self.key_gate.hold()

        def shown(result: Any) -> None:
            try:
                if result is not None:
                    show(result)
            finally:
                self.call_after_refresh(release)

        self.recorder.submit(read, on_done=lambda result: self.from_thread(shown, result),
                             on_error=lambda _message: self.from_thread(release), label=label)

    def compose_update(self, incident: Incident, filled: dict[str, str]) -> None:
        from warroom.ui.screens.composer import ComposerScreen

        selected = templates.for_phase(incident.status)

        def posted(values: dict[str, str] | None) -> None:
            if not values:
                return
            text, template = values["text"], values["template"]
            self.copy_to_clipboard(text)
            fallback = self.write_update_file(incident, text)
            self.record(lambda room: room.post_update(incident, text, template=template),
                        done=f"Update posted and copied (also in {fallback}). Countdown restarted.")

        self.push_screen(ComposerScreen(f"{incident.short_id} ({incident.status})", filled, selected), posted)

    def write_update_file(self, incident: Incident, text: str) -> str:
        """The clipboard fallback: the last update as a file, for terminals without OSC 52."""
        from warroom.export import write_atomic

        path = self.config.root / "exports" / f"{incident.short_id}-last-update.md"
        try:
            write_atomic(path, text + "\n")
        except OSError as exc:
            return f"not written: {exc.strerror}"
        try:  # where it really is: the demo's exports/ points to a folder that outlives the demo
            return str(path.resolve().relative_to(self.config.root.resolve()))
        except ValueError:
            return str(path.resolve())

    def action_switch_incident(self) -> None:
        from warroom.ui.screens.pick import PickScreen

        if not self.summaries:
            self.notify("No incidents yet: press D to declare one.", markup=False)
            return
        options = [(i.id, f"{i.short_id}  {i.severity}  {i.status:<13} {i.title[:60]}")
                   for i in reversed(self.summaries)]

        def chosen(incident_id: str | None) -> None:
            if incident_id:
                self.recorder.show(incident_id)

        self.push_screen(PickScreen("Switch incident", options, self.incident.id if self.incident else None),
                         chosen)

    def action_export(self) -> None:
        incident = self.need_incident()
        if incident is None:
            return
        self.export_postmortem(incident)

    @work(thread=True, group="export", exit_on_error=False)
    def export_postmortem(self, shown: Incident) -> None:
        """A whole incident folded in a thread of its own, on a connection of its own: a long
        timeline takes a second, and the recorder must stay free for the scribe's lines."""
        from warroom import export
        from warroom.store import Store

        with Store(self.room.store.path, clock=self.clock, author=self.room.store.author) as store:
            incident = Room(self.config, store, self.clock).full(shown.id)
        path = export.default_export_path(incident, self.config)
        try:
            export.write_atomic(path, export.postmortem(incident, self.config, self.clock.now()))
        except OSError as exc:
            self.call_from_thread(self.notify, f"Export failed: {path}: {exc.strerror}", severity="error",
                                  markup=False)
            return
        # resolved: the folder it really lands in (the demo's exports/ points outside its room)
        self.call_from_thread(self.notify, f"Post-mortem written to {path.resolve()}", timeout=10, markup=False)

    def action_quit_console(self) -> None:
        """q: quits at once when no incident is open; with one open it asks first (y quits,
        any other key stays). It asks the recorder, after the writes already asked for, so an
        incident declared a moment ago counts; keys typed meanwhile wait for the question."""
        from warroom.ui.screens.prompt import AskScreen

        release = self.key_gate.hold()
        shown = self.incident.id if self.incident else None

        def open_ones(room: Room) -> list[tuple[str, str, str]]:
            return [(s.id, s.short_id, s.severity) for s in room.summaries() if s.open]

        def answer(found: list[tuple[str, str, str]] | None) -> None:
            release()
            if found is None:  # the record could not be read: ask, to be safe
                found = [(s.id, s.short_id, s.severity) for s in self.summaries if s.open]
            if not found:
                self.exit(0)
                return
            found.sort(key=lambda row: row[0] != shown)  # the one on screen first
            named = "; ".join(f"{short_id}, {severity}" for _, short_id, severity in found[:3])
            more = f"; {len(found) - 3} more" if len(found) > 3 else ""
            opening = "An incident is open" if len(found) == 1 else f"{len(found)} incidents are open"
            self.push_screen(AskScreen(f"{opening} ({named}{more}). Quit? y/n"),
                             lambda yes: self.exit(0) if yes else None)

        # call_later: the question is a screen, made in the app's own context
        self.recorder.submit(open_ones, on_done=lambda found: self.from_thread(self.call_later, answer, found),
                             on_error=lambda _message: self.from_thread(self.call_later, answer, None),
                             label="quit check")

    def action_help(self) -> None:
        from warroom.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen(KEYS_HELP))

    # --- countdown ------------------------------------------------------------

    @on(CountdownPane.Overdue)
    def overdue(self, event: CountdownPane.Overdue) -> None:
        self.bell()
        self.notify("A status update is overdue: press u to write one, z to snooze.", severity="warning",
                    timeout=10, markup=False)

    # --- palette -----------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        commands = [
            ("Declare incident", "Open a new incident: title, severity, impact", self.action_declare),
            ("Change severity", "Raise or lower the severity", self.action_severity),
            ("Advance status", "Investigating, identified, monitoring, resolved, closed", self.action_advance_status),
            ("Acknowledge", "Record that the incident is acknowledged", self.action_acknowledge),
            ("Assign role", "Assign or hand over IC, tech lead, comms, scribe", self.action_role),
            ("Post status update", "Compose from the template for this phase", self.action_update),
            ("Snooze update reminder", "15 or 30 minutes, with a reason", self.action_snooze),
            ("Add action item", "With owner, due date and priority", self.action_add_action),
            ("Switch incident", "Show another incident", self.action_switch_incident),
            ("Export post-mortem", "Write the markdown post-mortem", self.action_export),
            ("Runbooks", "Read a runbook and run its steps", self.action_runbooks),
            ("Close incident", "Through the closure checklist", lambda: self.incident and self.close_incident(self.incident)),
            ("Show keys", "Every key of the console", self.action_help),
        ]
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)

    # --- live sources (health checks, logs) ---------------------------------------------

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

    def logs_ready(self) -> bool:
        try:
            return all(found and found.first().is_mounted for found in (self.query("#logs"), self.query("#log-all")))
        except Exception:  # no screen (closing)
            return False

    @work(group="health", exit_on_error=False)
    async def run_health_checks(self) -> None:
        from warroom.sources.health import HealthMonitor
        from warroom.ui.panes.health import HealthPane

        monitor = HealthMonitor(self.config.checks, clock=self.clock, secrets=self.config.secrets,
                                cwd=str(self.config.root))
        self.health_monitor = monitor
        pane = self.query_one("#health", HealthPane)

        def on_result(result, flipped_from) -> None:
            pane.show_result(result, monitor.history(result.name))
            if flipped_from:
                self.record_flip(result, flipped_from)

        try:
            await monitor.run(on_result)
        finally:
            await monitor.aclose()

    def record_flip(self, result, previous: str) -> None:
        incident = self.incident
        if incident is None or not incident.open or self.closing:
            return  # closing: a check killed on the way out has not flipped
        incident_id = incident.id

        def operation(room: Room):
            # Once per flip: a second console watching the same check records nothing new.
            if room.last_flip(incident_id, result.name) == result.state:
                return False
            return room.record_flip(incident, result.name, previous, result.state, result.detail)

        self.record(operation, label="check flip")

    def run_log_source(self, source) -> None:
        feed = LineFeed(self, lambda lines, folded: self.logs_pane().add_lines(source.name, lines, folded),
                        lambda status: self.logs_pane().set_status(source.name, status), cap=source.buffer,
                        ready=self.logs_ready)
        self.tail_in_thread(source, feed)

    @work(thread=True, group="logs", exit_on_error=False)
    def tail_in_thread(self, source, feed: "LineFeed") -> None:
        """Each tail reads and parses in its own thread and event loop, so a flooding log
        never takes the UI's loop; lines reach the pane in coalesced batches."""
        from textual.worker import get_current_worker

        from warroom.sources.logs import LogSource

        worker = get_current_worker()

        async def tail() -> None:
            log_source = LogSource(source, on_lines=feed.add, on_status=feed.status,
                                   secrets=self.config.secrets, clock=self.clock, cwd=str(self.config.root))
            self.log_sources.append(log_source)
            await log_source.start()
            try:
                while not worker.is_cancelled and self._ui_loop is not None and not self._ui_loop.is_closed():
                    await asyncio.sleep(0.2)
            finally:
                await log_source.stop()

        asyncio.run(tail())

    def on_log_view_pinned(self, event: LogView.Pinned) -> None:
        incident = self.need_incident()
        if incident is None:
            return
        line = event.line
        at = line.at if getattr(line, "at", None) else None
        self.record(lambda room: room.log(incident, line.text, "finding", at=at, source=f"log:{line.source}"),
                    done=f"Pinned to the timeline from {line.source}.")

    # --- runbooks and action items ---------------------------------------------------------

    def action_runbooks(self) -> None:
        # The screen opens at once and reads the files in a thread: the keys typed right
        # after `b` go to it, never to the console behind it.
        from functools import partial

        from warroom.runbooks import incident_fields, load_runbooks
        from warroom.ui.screens.runbook import RunbookScreen

        incident = self.incident
        self.push_screen(RunbookScreen(
            partial(load_runbooks, self.config.runbooks_dir), folder=self.config.runbooks_dir,
            cwd=self.config.root, environ=os.environ, fields=incident_fields(incident) if incident else None,
            in_use=incident.fields.get("runbook", "") if incident else "",
            running=self.running_steps, selected=self.runbook_selected))

    def on_runbook_screen_run_step(self, event) -> None:
        from warroom import runbooks

        incident = self.need_incident()
        if incident is None:
            return
        runbook, step = event.runbook, event.step
        key = (runbook.name, step.index)
        self.runbook_selected = key
        if key in self.running_steps:
            self.notify(f"{runbook.name} #{step.index} is already running.", severity="warning", markup=False)
            return
        fields = runbooks.incident_fields(incident)
        try:
            argv = runbooks.prepare(step, os.environ, fields)
        except UsageError as exc:
            self.notify(f"{runbook.name}: {exc}", severity="error", timeout=10, markup=False)
            return
        self.run_runbook_step(incident, runbook, step, argv, runbooks.child_env(os.environ, fields),
                              runbooks.step_secrets(step, os.environ))

    @work(group="steps", exit_on_error=False)
    async def run_runbook_step(self, incident: Incident, runbook, step, argv: list[str], env: dict[str, str],
                               secrets: tuple[str, ...]) -> None:
        """A step in its own Logs tab; when it ends, the timeline records it by itself."""
        from warroom.config import LogConfig
        from warroom.runbooks import output_tail
        from warroom.sources.logs import LogSource

        pane = self.logs_pane()
        name = f"{pane.STEP_PREFIX}{runbook.name} #{step.index}"
        view = pane.add_tab(name)
        self.call_after_refresh(view.focus)  # its output in front, and `s` stops it
        source = LogSource(LogConfig(name=name, command=tuple(argv), buffer=2000), on_lines=view.add_lines,
                           on_status=lambda status: pane.set_view_status(view, status),
                           secrets=(*self.config.secrets, *secrets), clock=self.clock, env=env,
                           cwd=str(self.config.root))
        key = (runbook.name, step.index)
        self.running_steps[key] = (source, view)
        self.stopped_steps.discard(key)
        self.steps_changed()
        code: int | None = None
        try:
            await source.start()
            code = await source.wait()
        finally:
            stopped = key in self.stopped_steps
            if code is None:  # the console is closing under it: the step ends with it
                stopped = True
                try:
                    await source.stop()
                except Exception:
                    pass
                code = source.exit_code if source.exit_code is not None else -1
            self.running_steps.pop(key, None)
            self.stopped_steps.discard(key)
            self.steps_changed()
            output = output_tail([line.text for line in source.lines], stopped=stopped)
            exit_code = code
            self.record(lambda room: room.record_command(incident, step.command, exit_code, output,
                                                         runbook=runbook.name),
                        done=f"{runbook.name} #{step.index} {'stopped' if stopped else 'exited'} "
                             f"(exit {exit_code}); on the timeline.", label="command ran")

    def steps_changed(self) -> None:
        from warroom.ui.screens.runbook import RunbookScreen

        try:
            screen = self.screen
        except Exception:  # shutting down: no screen left to tell
            return
        if isinstance(screen, RunbookScreen):
            screen.set_running(self.running_steps)

    def stop_step(self, key: tuple[str, int]) -> None:
        if key not in self.running_steps:
            self.notify(f"{key[0]} #{key[1]} is not running.", markup=False)
            return
        source, view = self.running_steps[key]
        self.stopped_steps.add(key)
        self.notify(f"Stopping {key[0]} #{key[1]}…", markup=False)

        async def stop() -> None:
            await source.stop()
            self.logs_pane().set_view_status(view, f"stopped (exit {source.exit_code})")

        self.run_worker(stop(), group="steps", exit_on_error=False)

    def on_runbook_screen_stop_step(self, event) -> None:
        self.stop_step((event.runbook, event.index))

    def on_logs_pane_stop_requested(self, event: LogsPane.StopRequested) -> None:
        from warroom.ui.panes.logs import LogsPane

        key = next((k for k in self.running_steps if f"{LogsPane.STEP_PREFIX}{k[0]} #{k[1]}" == event.name), None)
        if key is None:
            self.notify("This step is not running any more.", markup=False)
            return
        self.stop_step(key)

    def on_runbook_screen_use_runbook(self, event) -> None:
        incident = self.need_incident()
        if incident is None:
            return
        name = event.runbook
        self.record(lambda room: room.set_field(incident, "runbook", name),
                    done=f"{incident.short_id} follows the {name} runbook.")

    def on_actions_pane_mark_done(self, event: ActionsPane.MarkDone) -> None:
        action_id = event.action_id
        self.record(lambda room: room.action_done(action_id), done="Action item done.")


class LineFeed:
    """Lines from a tail thread to the UI: batches pile up while the screen is busy and are
    handed over as one, at most every INTERVAL, so a flood costs the UI 20 hand-overs and
    repaints a second, not one per batch (a line after a quiet spell goes at once).
    What piles up beyond the source's buffer would be folded out by the pane anyway: it is
    dropped here and counted, so memory stays bounded and the pane still says how many.
    Until `ready()` (the pane is mounted) lines and the latest status wait here."""

    INTERVAL = 0.05

    def __init__(self, app: WarroomApp, on_lines: Callable[[list, int], None], on_status: Callable[[str], None],
                 cap: int = 10_000, ready: Callable[[], bool] = lambda: True) -> None:
        self.app, self.on_lines, self.on_status, self.cap, self.ready = app, on_lines, on_status, cap, ready
        self._lock = threading.Lock()
        self._pending: list = []
        self._folded = 0
        self._last = 0.0  # when the UI last took a batch (time.monotonic)
        self._status_text: str | None = None  # a status that waits for the pane
        self._waiting = False  # a retry is scheduled for when the pane is there

    def add(self, lines: list) -> None:
        with self._lock:
            scheduled = bool(self._pending)
            self._pending.extend(lines)
            if len(self._pending) > self.cap:
                self._folded += len(self._pending) - self.cap
                del self._pending[:-self.cap]
        if not scheduled:
            from time import monotonic

            wait = self._last + self.INTERVAL - monotonic()
            if wait > 0:  # the UI took a batch moments ago: this one follows a little later
                self.app.from_thread(self._flush_later, wait)
            else:  # a line after a quiet spell is shown at once
                self.app.from_thread(self._flush)

    def _flush_later(self, wait: float) -> None:
        asyncio.get_running_loop().call_later(wait, self.app.from_thread, self._flush)

    def _flush(self) -> None:
        from time import monotonic

        if not self.ready():
            if not self._waiting:
                self._waiting = True
                asyncio.get_running_loop().call_later(0.02, self._retry)
            return
        with self._lock:
            batch, self._pending = self._pending, []
            folded, self._folded = self._folded, 0
            self._last = monotonic()
        if batch or folded:
            self.on_lines(batch, folded)
        if self._status_text is not None:
            text, self._status_text = self._status_text, None
            self.on_status(text)

    def _retry(self) -> None:
        self._waiting = False
        if self.app.is_running:
            self._flush()

    def status(self, text: str) -> None:
        self.app.from_thread(self._status, text)

    def _status(self, text: str) -> None:
        self._status_text = text
        self._flush()  # the lines that came before it first, without waiting for their turn


def _ts(at: str) -> float:
    from warroom.events import parse_time

    return parse_time(at).timestamp()


def make_app(room: Room, clock: Clock | None = None, *, start_sources: bool = True, watch: bool = True,
             sync: bool = False) -> WarroomApp:
    return WarroomApp(room, clock=clock, start_sources=start_sources, watch=watch, sync=sync)


def run_console(room: Room, *, offline: bool = False) -> int:
    from warroom import sources

    app = make_app(room, sync=not offline)
    try:
        result = app.run()
    finally:
        sources.end_all()  # a backstop: no child outlives the console, however it ended
        room.close()
    return result or 0
