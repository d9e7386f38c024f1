"""The incident's commands, as the console's keys and palette run them: declare, severity,
status (and closing through the checklist), acknowledge, roles, snooze, action items, the
status update composer, switching incident, the post-mortem export and quitting.

Each asks what it needs in a dialog and hands the write to the recorder thread
(`record`); none writes on the UI's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from textual import work

from warroom.playbook import templates
from warroom.record.events import STATUSES
from warroom.record.model import Incident
from warroom.record.room import Room
from warroom.ui.controllers.host import Host
from warroom.ui.panes.timeline import TimelinePane
from warroom.ui.view import ConsoleView


class IncidentCommands(Host):
    """Mixed into the app: the incident's commands."""

    def action_declare(self) -> None:
        from warroom.ui.screens.declare import DeclareScreen

        def declared(values: dict[str, str] | None) -> None:
            if not values:
                return

            def operation(room: Room):
                event = room.declare(values["title"], values["severity"], values["impact"])
                self.recorder.shown = event.id  # the new incident goes on screen
                return event

            from warroom.profiles import notify_line

            level = self.config.severity.level(values["severity"])
            notify = f" Now {notify_line(level)}." if level is not None and level.notify else ""
            self.record(operation, done=f"Declared {values['severity']}: {values['title']}.{notify}")

        self.push_screen(DeclareScreen(self.config.severity), declared)

    def action_severity(self) -> None:
        from warroom.ui.screens.pick import PickScreen

        incident = self.need_incident()
        if incident is None:
            return
        options = [
            (level.id, f"{level.id}  {level.label}: {level.description[:60]}") for level in self.config.severity.levels
        ]

        def chosen(severity: str | None) -> None:
            if severity and severity != incident.severity:
                undo = self.show_at_once(replace(incident, severity=severity))
                self.record(
                    lambda room: room.set_severity(incident, severity),
                    done=f"Severity is now {severity}.",
                    on_error=undo,
                )

        self.push_screen(PickScreen(f"Severity of {incident.short_id}", options, incident.severity), chosen)

    def show_at_once(self, changed: Incident) -> Callable[[str], None]:
        """The header and the countdown show a severity or status change the moment it is
        picked, not once the write is durable and read back (a busy screen made that take up
        to a second and a half); the record's own head replaces this when it comes. Returns
        what puts the incident back as it was, should the write fail."""
        before = self.incident
        self.view = ConsoleView(self.summaries, changed, self.config)

        def undo(_message: str) -> None:
            if before is not None and self.incident is changed:
                self.view = ConsoleView(self.summaries, before, self.config)

        return undo

    def action_advance_status(self) -> None:
        from warroom.ui.screens.pick import PickScreen

        incident = self.need_incident()
        if incident is None:
            return
        options = [(s, s.capitalize() + ("  (current)" if s == incident.status else "")) for s in STATUSES]
        following = self.room.next_status(incident) or incident.status

        def chosen(status: str | None) -> None:
            if not status or status == incident.status:
                return
            if status == "closed":
                self.close_incident(incident)
                return
            undo = self.show_at_once(replace(incident, status=status))
            self.record(lambda room: room.set_status(incident, status), done=f"Status: {status}.", on_error=undo)
            if status == "resolved":
                self.remind_postmortem(incident)

        self.push_screen(
            PickScreen(f"Status of {incident.short_id} (Enter takes the next phase)", options, following), chosen
        )

    def remind_postmortem(self, incident: Incident) -> None:
        level = self.config.severity.level(incident.severity)
        if level and level.postmortem != "optional":
            from warroom.text import durations

            within = f" within {durations.config_form(level.postmortem_within)}" if level.postmortem_within else ""
            self.notify(
                f"A post-mortem is {level.postmortem} for {incident.severity}{within}. E exports the draft.",
                timeout=10,
                markup=False,
            )

    def close_incident(self, incident: Incident) -> None:
        from warroom.ui.screens.checklist import ChecklistScreen

        def closed(skipped: list[str] | None) -> None:
            if skipped is None:
                return
            self.record(
                lambda room: room.set_status(incident, "closed", skipped=skipped),
                done="Incident closed."
                + (f" {len(skipped)} checklist item(s) recorded as skipped." if skipped else ""),
            )

        self.push_screen(ChecklistScreen(incident.short_id, self.config.checklist), closed)

    def action_acknowledge(self) -> None:
        incident = self.need_incident()
        if incident is None:
            return
        if incident.acknowledged_at:
            self.notify(f"Already acknowledged at {incident.acknowledged_at[11:16]} UTC.", markup=False)
            return
        self.record(lambda room: room.acknowledge(incident), done="Acknowledged.")

    def ask_one(self, title: str, field: tuple[str, str, str, str], act: Callable[[str], None]) -> None:
        """A dialog with one required field (name, label, value, placeholder); `act` gets what
        was typed, stripped, unless the dialog was cancelled or left empty."""
        from warroom.ui.screens.prompt import PromptScreen

        def answered(values: dict[str, str] | None) -> None:
            if values and values[field[0]].strip():
                act(values[field[0]].strip())

        self.push_screen(PromptScreen(title, [field], required=(field[0],)), answered)

    def action_role(self) -> None:
        from warroom.ui.panes.roster import RosterPane
        from warroom.ui.screens.pick import PickScreen

        incident = self.need_incident()
        if incident is None:
            return
        roster = self.query("#roster")  # none within the first frame
        options = [(name, f"{name}: {role.person or 'unassigned'}") for name, role in incident.roles.items()]

        def chosen_role(role: str | None) -> None:
            if not role:
                return
            current = incident.holder(role)

            def assign(person: str) -> None:
                self.record(lambda room: room.assign(incident, role, person), done=f"{role}: {person}")
                if current and current != person:  # a handover: the newcomer gets a brief
                    from warroom.ui.controllers.handover import offer_brief

                    offer_brief(self, incident, role, person)

            self.ask_one(
                f"{role}" + (f" (now {current})" if current else " (unassigned)"),
                ("person", "Who takes it:", "", "name"),
                assign,
            )

        self.push_screen(
            PickScreen(
                "Assign or hand over a role", options, roster.first(RosterPane).selected_role() if roster else None
            ),
            chosen_role,
        )

    def action_snooze(self) -> None:
        from warroom.ui.screens.pick import PickScreen

        incident = self.need_incident()
        if incident is None:
            return

        def chosen(minutes: str | None) -> None:
            if not minutes:
                return
            self.ask_one(
                f"Snooze {minutes}m: why? (goes on the timeline)",
                ("reason", "Reason:", "", "waiting for the vendor's answer"),
                lambda reason: self.record(
                    lambda room: room.snooze(incident, int(minutes), reason),
                    done=f"Update reminder snoozed {minutes}m.",
                ),
            )

        self.push_screen(PickScreen("Snooze the update reminder", [("15", "15 minutes"), ("30", "30 minutes")]), chosen)

    def action_escalate(self) -> None:
        """Record who was called in: the first rung due is offered, anyone can be typed."""
        from warroom.record.model import escalation_rungs

        incident = self.need_incident()
        if incident is None:
            return
        rungs = escalation_rungs(incident, self.config.escalation_for(incident.severity), self.clock.now())
        due = [rung.to for rung in rungs if rung.state == "due" and rung.to]
        self.ask_one(
            f"Escalation of {incident.short_id}: who was called in? (goes on the timeline)",
            ("to", "Called in:", due[0] if due else "", "e.g. Senior engineer"),
            lambda to: self.record(lambda room: room.escalate(incident, to), done=f"Escalated to {to}."),
        )

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
            self.record(
                lambda room: room.add_action(
                    incident,
                    values["text"],
                    values["owner"],
                    values["due"],
                    values["priority"] or "medium",
                    entry.id if entry else "",
                ),
                done="Action item added.",
            )

        self.push_screen(
            PromptScreen(
                "Add an action item",
                [
                    ("text", "Action:", entry.text if entry and not entry.auto else "", "what must be done"),
                    ("owner", "Owner:", "", "name"),
                    ("due", "Due (YYYY-MM-DD):", "", (self.clock.now() + timedelta(days=7)).strftime("%Y-%m-%d")),
                    ("priority", "Priority (high, medium, low):", "medium", "medium"),
                ],
                required=("text",),
            ),
            added,
        )

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
                if name == templates.HANDOVER_BRIEF:  # offered on a handover (r), not an update
                    continue
                try:
                    filled[name] = templates.render(name, incident, self.config, now, room.store.author)
                except OSError:
                    continue
            return incident, filled

        self.open_after(fill, lambda result: self.compose_update(*result), label="fill templates")

    def open_after(self, read: Callable[[Room], Any], show: Callable[[Any], object], label: str) -> None:
        """A dialog that needs the record first (the recorder reads it): keys typed meanwhile
        wait for the dialog, as they would for one that opens at once (ui/keygate.py)."""
        release = self.key_gate.hold()

        def shown(result: Any) -> None:
            try:
                if result is not None:
                    show(result)
            finally:
                self.call_after_refresh(release)

        self.recorder.submit(
            read,
            on_done=lambda result: self.from_thread(shown, result),
            on_error=lambda _message: self.from_thread(release),
            label=label,
        )

    def compose_update(self, incident: Incident, filled: dict[str, str]) -> None:
        from warroom.ui.screens.composer import ComposerScreen

        selected = templates.for_phase(incident.status)

        def posted(values: dict[str, str] | None) -> None:
            if not values:
                return
            text, template = values["text"], values["template"]
            self.copy_to_clipboard(text)
            fallback = self.write_update_file(incident, text)
            self.record(
                lambda room: room.post_update(incident, text, template=template),
                done=f"Update posted and copied (also in {fallback}). Countdown restarted.",
            )

        self.push_screen(ComposerScreen(f"{incident.short_id} ({incident.status})", filled, selected), posted)

    def write_update_file(self, incident: Incident, text: str, suffix: str = "last-update") -> str:
        """The clipboard fallback: the last update (or brief) as a file, for terminals without OSC 52."""
        from warroom.playbook.export import write_atomic

        path = self.config.root / "exports" / f"{incident.short_id}-{suffix}.md"
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
        options = [
            (i.id, f"{i.short_id}  {i.severity}  {i.status:<13} {i.title[:60]}") for i in reversed(self.summaries)
        ]

        def chosen(incident_id: str | None) -> None:
            if incident_id:
                self.recorder.show(incident_id)

        self.push_screen(PickScreen("Switch incident", options, self.incident.id if self.incident else None), chosen)

    def action_export(self) -> None:
        incident = self.need_incident()
        if incident is None:
            return
        self.export_postmortem(incident)

    @work(thread=True, group="export", exit_on_error=False)
    def export_postmortem(self, shown: Incident) -> None:
        """A whole incident folded in a thread of its own, on a connection of its own: a long
        timeline takes a second, and the recorder must stay free for the scribe's lines."""
        from warroom.playbook import export
        from warroom.playbook.json_export import export_json
        from warroom.playbook.postmortem_timeline import reader_zone
        from warroom.record.store import Store

        with Store(self.room.store.path, clock=self.clock, author=self.room.store.author) as store:
            incident = Room(self.config, store, self.clock).full(shown.id)
        path = export.default_export_path(incident, self.config)
        data = path.with_name(f"{incident.short_id}.json")  # the record as data, for other tools
        now = self.clock.now()
        try:
            # The responder reading it is at this machine: its zone beside UTC.
            export.write_atomic(path, export.postmortem(incident, self.config, now, zone=reader_zone(None)))
            export.write_atomic(data, export_json([incident], self.config, now))
        except OSError as exc:
            self.call_from_thread(self.notify, f"Export failed: {path}: {exc.strerror}", severity="error", markup=False)
            return
        # resolved: the folder it really lands in (the demo's exports/ points outside its room)
        said = f"Post-mortem written to {path.resolve()} (and the incident as JSON: {data.name})"
        self.call_from_thread(self.notify, said, timeout=10, markup=False)

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
            self.push_screen(
                AskScreen(f"{opening} ({named}{more}). Quit? y/n"), lambda yes: self.exit(0) if yes else None
            )

        # call_later: the question is a screen, made in the app's own context
        self.recorder.submit(
            open_ones,
            on_done=lambda found: self.from_thread(self.call_later, answer, found),
            on_error=lambda _message: self.from_thread(self.call_later, answer, None),
            label="quit check",
        )
