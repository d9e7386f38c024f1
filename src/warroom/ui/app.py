"""The console: wires the record and the live sources to the panes. Wiring only.

Data flows one way: keys -> Room operation on the recorder thread -> new State
-> ConsoleView -> panes (data-bound). Another writer changes the file ->
watchfiles (or the 1 s poll) -> reload -> the same path.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Iterable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from warroom import templates
from warroom.clock import Clock, SystemClock
from warroom.events import STATUSES, format_time
from warroom.room import Room
from warroom.state import Incident, State
from warroom.ui.panes.countdown import CountdownPane
from warroom.ui.panes.header import IncidentHeader
from warroom.ui.panes.health import HealthPane
from warroom.ui.panes.logs import LogsPane
from warroom.ui.panes.logview import LogView
from warroom.ui.panes.roster import RosterPane
from warroom.ui.panes.timeline import TimelinePane
from warroom.ui.recorder import Job, Recorder
from warroom.ui.screens.checklist import ChecklistScreen
from warroom.ui.screens.composer import ComposerScreen
from warroom.ui.screens.declare import DeclareScreen
from warroom.ui.screens.entry import EntryScreen
from warroom.ui.screens.help import HelpScreen
from warroom.ui.screens.pick import PickScreen
from warroom.ui.screens.prompt import ConfirmScreen, PromptScreen
from warroom.ui.themes import DEFAULT_THEME, load_themes, save_theme, saved_theme, variable_defaults
from warroom.ui.view import ConsoleView

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
    ("Moving", [("tab / shift+tab", "next / previous pane"), ("L T H R", "jump to logs, timeline, health, roster"),
                ("?", "this help"), ("q", "quit")]),
]


class WarroomApp(App[int]):
    CSS_PATH = "warroom.tcss"
    TITLE = "warroom"

    BINDINGS = [
        Binding("D", "declare", "Declare"),
        Binding("n,i", "focus_input", "Log entry"),
        Binding("u", "update", "Update"),
        Binding("t", "advance_status", "Status"),
        Binding("S", "severity", "Severity"),
        Binding("r", "role", "Role"),
        Binding("A", "acknowledge", "Ack", show=False),
        Binding("a", "add_action", "Action item", show=False),
        Binding("z", "snooze", "Snooze", show=False),
        Binding("I", "switch_incident", "Incident", show=False),
        Binding("E", "export", "Export"),
        Binding("ctrl+z", "undo_delete", "Undo delete", show=False),
        Binding("L", "focus_pane('logs')", "Logs", show=False),
        Binding("T", "focus_pane('timeline')", "Timeline", show=False),
        Binding("H", "focus_pane('health')", "Health", show=False),
        Binding("R", "focus_pane('roster')", "Roster", show=False),
        Binding("question_mark", "help", "Keys"),
        Binding("q", "quit", "Quit"),
    ]

    view: reactive[ConsoleView | None] = reactive(None, always_update=True)

    def __init__(self, room: Room, *, clock: Clock | None = None, start_sources: bool = True,
                 watch: bool = True) -> None:
        super().__init__()
        self.room = room
        self.config = room.config
        self.clock = clock or room.clock or SystemClock()
        self.start_sources = start_sources
        self.watch_file = watch
        self.incident_id: str | None = None
        self.state: State | None = None
        self.last_deleted: str | None = None
        self.recorder = Recorder(room, self._state_from_thread, self._error_from_thread)
        self.health_monitor = None
        self.log_sources: list = []

    # --- layout --------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return variable_defaults()

    def compose(self) -> ComposeResult:
        yield IncidentHeader(self.clock, id="header").data_bind(WarroomApp.view)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield HealthPane(self.config.checks, id="health")
                yield RosterPane(id="roster").data_bind(WarroomApp.view)
                yield CountdownPane(self.clock, id="countdown").data_bind(WarroomApp.view)
            with Vertical(id="right"):
                yield LogsPane(self.config.logs, id="logs")
                yield TimelinePane(id="timeline").data_bind(WarroomApp.view)
        yield Footer()

    def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)
        chosen = saved_theme()
        self.theme = chosen if chosen in self.available_themes else DEFAULT_THEME
        self.theme_changed_signal.subscribe(self, lambda theme: save_theme(theme.name))
        self.recorder.start()
        self.recorder.reload()
        self.set_interval(1.0, self.recorder.reload)  # a cheap poll backs up the file watcher
        if self.watch_file:
            self.watch_record()
        if self.start_sources:
            self.start_live_sources()
        self.query_one("#timeline-table", DataTable).focus()

    def on_resize(self, event) -> None:
        # 80x24 must still show every pane: drop borders, narrow the left column.
        self.screen.set_class(event.size.width < 110 or event.size.height < 32, "compact")

    def on_unmount(self) -> None:
        self.recorder.stop()

    # --- state ---------------------------------------------------------------

    def _state_from_thread(self, state: State) -> None:
        try:
            self.call_from_thread(self.show_state, state)
        except RuntimeError:
            pass  # the app is shutting down

    def _error_from_thread(self, message: str, job: Job) -> None:
        try:
            self.call_from_thread(self.notify, message, severity="error", timeout=8, markup=False)
        except RuntimeError:
            pass

    def show_state(self, state: State) -> None:
        self.state = state
        incident = state.incidents.get(self.incident_id) if self.incident_id else None
        if incident is None:
            incident = self.pick_default(state)
            self.incident_id = incident.id if incident else None
        self.view = ConsoleView(state, incident, self.config)
        self.sub_title = f"{incident.short_id} {incident.title}" if incident else "no open incident"

    def pick_default(self, state: State) -> Incident | None:
        candidates = state.open_incidents
        if not candidates:
            return None
        rank = self.config.severity.rank
        return sorted(candidates, key=lambda i: (rank(i.severity), -_ts(i.declared_at)))[0]

    @property
    def incident(self) -> Incident | None:
        return self.view.incident if self.view else None

    def record(self, operation: Callable[[Room], Any], *, done: str = "",
               on_error: Callable[[str], None] | None = None, label: str = "") -> None:
        """Run a Room operation on the recorder thread; say `done` when it is durable."""
        def on_done(_result: Any) -> None:
            if done:
                self.call_from_thread(self.notify, done, timeout=3, markup=False)

        def failed(message: str) -> None:
            if on_error:
                self.call_from_thread(on_error, message)

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

        db = Path(self.room.store.path).resolve()
        names = {db.name, db.name + "-wal"}
        async for changes in awatch(db.parent, debounce=50, step=25, recursive=False,
                                    watch_filter=lambda _change, path: Path(path).name in names):
            self.recorder.reload()

    # --- timeline ------------------------------------------------------------

    @on(TimelinePane.EntrySubmitted)
    def log_entry(self, event: TimelinePane.EntrySubmitted) -> None:
        incident = self.need_incident()
        timeline = self.query_one(TimelinePane)
        if incident is None:
            timeline.restore_input(event.text)
            return
        text = event.text
        self.record(lambda room: room.log_typed(incident, text), label="log entry",
                    on_error=lambda _message: timeline.restore_input(text))

    @on(TimelinePane.EntryAction)
    def entry_action(self, event: TimelinePane.EntryAction) -> None:
        incident = self.incident
        if incident is None:
            return
        entry = next((e for e in incident.entries if e.id == event.entry_id), None)
        if entry is None:
            return
        if event.action == "details":
            self.push_screen(EntryScreen(entry))
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
                                          [("text", "Text:", entry.text, "")]), apply)
        elif event.action == "delete":
            self.last_deleted = entry.id
            self.record(lambda room: room.delete(entry.id), done="Entry deleted. ctrl+z undoes.")

    def action_undo_delete(self) -> None:
        if self.last_deleted:
            target, self.last_deleted = self.last_deleted, None
            self.record(lambda room: room.delete(target, restore=True), done="Entry restored.")

    def action_focus_pane(self, pane: str) -> None:
        targets = {"logs": LogsPane, "timeline": "#timeline-table", "health": "#health", "roster": "#roster"}
        target = targets[pane]
        if target is LogsPane:
            self.query_one(LogsPane).active_view().focus()
        else:
            self.query_one(target).focus()

    def action_focus_input(self) -> None:
        self.query_one(TimelinePane).focus_input()

    # --- incident actions --------------------------------------------------------

    def action_declare(self) -> None:
        def declared(values: dict[str, str] | None) -> None:
            if not values:
                return

            def operation(room: Room):
                event = room.declare(values["title"], values["severity"], values["impact"])
                self.incident_id = event.id
                return event

            self.record(operation, done=f"Declared {values['severity']}: {values['title']}")

        self.push_screen(DeclareScreen(self.config.severity), declared)

    def action_severity(self) -> None:
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
        incident = self.need_incident()
        if incident is None:
            return
        roster = self.query_one(RosterPane)
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

        self.push_screen(PickScreen("Assign or hand over a role", options, roster.selected_role()), chosen_role)

    def action_snooze(self) -> None:
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
        incident = self.need_incident()
        if incident is None:
            return
        timeline = self.query_one(TimelinePane)
        entry_id = timeline.selected_entry_id() if self.focused is self.query_one("#timeline-table") else None
        entry = next((e for e in incident.entries if e.id == entry_id), None)

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
        incident = self.need_incident()
        if incident is None:
            return
        now = self.clock.now()
        filled: dict[str, str] = {}
        for name in templates.available(self.config):
            try:
                filled[name] = templates.render(name, incident, self.config, now, self.room.store.author)
            except OSError:
                continue
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
        return str(path.relative_to(self.config.root))

    def action_switch_incident(self) -> None:
        if self.state is None or not self.state.incidents:
            self.notify("No incidents yet: press D to declare one.", markup=False)
            return
        options = [(i.id, f"{i.short_id}  {i.severity}  {i.status:<13} {i.title[:60]}")
                   for i in reversed(self.state.ordered)]

        def chosen(incident_id: str | None) -> None:
            if incident_id and self.state:
                self.incident_id = incident_id
                self.show_state(self.state)

        self.push_screen(PickScreen("Switch incident", options, self.incident_id), chosen)

    def action_export(self) -> None:
        incident = self.need_incident()
        if incident is None:
            return
        self.export_postmortem(incident)

    @work(thread=True, group="export", exit_on_error=False)
    def export_postmortem(self, incident: Incident) -> None:
        from warroom import export

        path = export.default_export_path(incident, self.config)
        try:
            export.write_atomic(path, export.postmortem(incident, self.config, self.clock.now()))
        except OSError as exc:
            self.call_from_thread(self.notify, f"Export failed: {path}: {exc.strerror}", severity="error",
                                  markup=False)
            return
        self.call_from_thread(self.notify, f"Post-mortem written to {path}", timeout=10, markup=False)

    def action_help(self) -> None:
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
            ("Close incident", "Through the closure checklist", lambda: self.incident and self.close_incident(self.incident)),
            ("Show keys", "Every key of the console", self.action_help),
        ]
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)

    # --- live sources (health checks, logs) ---------------------------------------------

    def start_live_sources(self) -> None:
        try:
            from warroom.sources import health, logs  # noqa: F401
        except ImportError:
            return
        if self.config.checks:
            self.run_health_checks()
        for source in self.config.logs:
            self.run_log_source(source)

    @work(group="health", exit_on_error=False)
    async def run_health_checks(self) -> None:
        from warroom.sources.health import HealthMonitor

        monitor = HealthMonitor(self.config.checks, clock=self.clock, secrets=self.config.secrets,
                                cwd=str(self.config.root))
        self.health_monitor = monitor
        pane = self.query_one(HealthPane)

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
        if incident is None or not incident.open:
            return
        incident_id = incident.id

        def operation(room: Room):
            current = room.state.incidents.get(incident_id)
            if current is None:
                return False
            # Once per flip: a second console watching the same check records nothing new.
            flips = [e for e in current.timeline if e.auto == "check" and e.text.startswith(f"Check {result.name}:")]
            if flips and flips[-1].text.split(" → ")[-1].split(" ")[0] == result.state:
                return False
            return room.record_flip(current, result.name, previous, result.state, result.detail)

        self.record(operation, label="check flip")

    @work(group="logs", exit_on_error=False)
    async def run_log_source(self, source) -> None:
        from warroom.sources.logs import LogSource

        pane = self.query_one(LogsPane)
        log_source = LogSource(source, on_lines=lambda lines: pane.add_lines(source.name, lines),
                               on_status=lambda status: pane.set_status(source.name, status),
                               secrets=self.config.secrets, clock=self.clock, cwd=str(self.config.root))
        self.log_sources.append(log_source)
        try:
            await log_source.start()
            await asyncio.Event().wait()  # runs until the app exits and cancels this worker
        finally:
            await log_source.stop()

    @on(LogView.Pinned)
    def pin_line(self, event: LogView.Pinned) -> None:
        incident = self.need_incident()
        if incident is None:
            return
        line = event.line
        at = line.at if getattr(line, "at", None) else None
        self.record(lambda room: room.log(incident, line.text, "finding", at=at, source=f"log:{line.source}"),
                    done=f"Pinned to the timeline from {line.source}.")


def _ts(at: str) -> float:
    from warroom.events import parse_time

    return parse_time(at).timestamp()


def make_app(room: Room, clock: Clock | None = None, *, start_sources: bool = True, watch: bool = True) -> WarroomApp:
    return WarroomApp(room, clock=clock, start_sources=start_sources, watch=watch)


def run_console(room: Room) -> int:
    app = make_app(room)
    try:
        result = app.run()
    finally:
        room.close()
    return result or 0
