"""The handover brief: after a role changes hands (r), the composer opens with the brief
filled from the record (what is happening, what was tried, open actions, the next update
due); ctrl+s copies it as a status update is copied (OSC 52, and a file for terminals that
ignore it). It records nothing: the handover itself is already on the timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warroom.playbook import templates
from warroom.record.model import Incident
from warroom.record.room import Room

if TYPE_CHECKING:
    from warroom.ui.controllers.incident import IncidentCommands


def offer_brief(app: IncidentCommands, shown: Incident, role: str, person: str) -> None:
    """Open the brief for `person`, who now holds `role`, once the recorder has written the
    handover (it reads after the writes already asked for, so the roster in it is the new one)."""

    def fill(room: Room) -> tuple[Incident, str] | None:
        incident = room.recent(shown.id)
        try:
            text = templates.render(templates.HANDOVER_BRIEF, incident, app.config, app.clock.now(), room.store.author)
        except OSError:  # the war room's own copy unreadable: no brief, the handover stands
            return None
        return incident, text

    def show(result: tuple[Incident, str]) -> None:
        from warroom.ui.screens.composer import ComposerScreen

        incident, text = result

        def copied(values: dict[str, str] | None) -> None:
            if not values:
                return
            app.copy_to_clipboard(values["text"])
            where = app.write_update_file(incident, values["text"], suffix="handover-brief")
            app.notify(f"Handover brief copied for {person} (also in {where}).", timeout=8, markup=False)

        app.push_screen(
            ComposerScreen(
                f"{incident.short_id}: {role} to {person}",
                {templates.HANDOVER_BRIEF: text},
                templates.HANDOVER_BRIEF,
                title="Handover brief",
                help_text="ctrl+s: copy the brief (and write it to exports/)    Esc: skip it",
            ),
            copied,
        )

    app.open_after(fill, show, label="handover brief")
