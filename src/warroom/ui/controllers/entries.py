"""The timeline's entries, as the console handles them: a typed line queued for the record
at once, older rows paged in, an entry's details, edit, delete and undo, a log line pinned."""

from __future__ import annotations

from warroom.ui.controllers.host import Host
from warroom.ui.panes.logview import LogView
from warroom.ui.panes.timeline import TimelinePane


class EntryCommands(Host):
    """Mixed into the app: what the timeline and the logs pane ask of the record. (Handlers go
    by their names here: Textual's @on is only collected from the app's own class body.)"""

    def on_timeline_pane_entry_submitted(self, event: TimelinePane.EntrySubmitted) -> None:
        self.log_typed(event.key, event.text)

    def log_typed(self, number: int, text: str) -> None:
        """A line the scribe typed: queued at once (the input never waits on the disk), shown
        as saving until the record holds it, as failed (kept for a retry) when it cannot.
        The timeline calls this directly (see EntryInput._submit)."""
        incident = self.need_incident()
        timeline = self.query_one(TimelinePane)
        if incident is None:
            timeline.line_failed(number, "no incident on screen: press D to declare one, or I to pick one")
            return

        def saved(_event) -> None:
            self.changed_locally()
            self.from_thread(timeline.line_saved, number)

        self.recorder.submit(
            lambda room: room.log_typed(incident, text),
            label="log entry",
            on_done=saved,
            on_error=lambda message: self.from_thread(timeline.line_failed, number, message),
        )

    def on_timeline_pane_older_wanted(self, event: TimelinePane.OlderWanted) -> None:
        timeline = self.query_one(TimelinePane)
        incident_id = event.incident_id
        self.recorder.older(
            incident_id, event.before, lambda page: self.from_thread(timeline.add_older, incident_id, *page)
        )

    def on_timeline_pane_entry_action(self, event: TimelinePane.EntryAction) -> None:
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

            self.open_after(
                lambda room: room.entry(entry_id),
                lambda whole: self.push_screen(EntryScreen(whole)),
                label="entry details",
            )
            return
        if entry.auto and entry.auto != "pin":
            self.notify(
                "Automatic entries are part of the record and cannot be changed; log a correction instead.",
                severity="warning",
                markup=False,
            )
            return
        if event.action == "edit":

            def apply(values: dict[str, str] | None) -> None:
                if values and values["text"].strip() and values["text"].strip() != entry.text:
                    self.record(lambda room: room.edit(entry.id, values["text"]), done="Entry edited (history kept).")

            self.push_screen(
                PromptScreen(
                    "Edit entry (the old text stays in its history)",
                    [("text", "Text:", entry.text, "")],
                    required=("text",),
                ),
                apply,
            )
        elif event.action == "delete":
            self.last_deleted = entry.id
            self.record(lambda room: room.delete(entry.id), done="Entry deleted. ctrl+z undoes.")

    def action_undo_delete(self) -> None:
        if self.last_deleted:
            target, self.last_deleted = self.last_deleted, None
            self.record(lambda room: room.delete(target, restore=True), done="Entry restored.")

    def on_log_view_pinned(self, event: LogView.Pinned) -> None:
        incident = self.need_incident()
        if incident is None:
            return
        line = event.line
        at = line.at if getattr(line, "at", None) else None
        self.record(
            lambda room: room.log(
                incident,
                line.text,
                "finding",
                at=at,
                source=f"log:{line.source}",
                lines_before=event.before,
                lines_after=event.after,
            ),
            done=f"Pinned to the timeline from {line.source}.",
        )
