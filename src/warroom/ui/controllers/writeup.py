"""The post-mortem's written fields from the console (P): the screen edits one field at a
time and each save is one incident.field event, written on the recorder thread."""

from __future__ import annotations

from warroom.record.writeup import BY_NAME, WRITTEN_FIELDS
from warroom.ui.controllers.host import Host


class WriteupCommands(Host):
    """Mixed into the app: the post-mortem screen."""

    def action_postmortem(self) -> None:
        from warroom.ui.screens.postmortem import PostmortemScreen

        incident = self.need_incident()
        if incident is None:
            return

        def save(name: str, text: str) -> None:
            label = BY_NAME[name].label
            self.record(
                lambda room: room.set_field(incident, name, text),
                done=f"{label}: {'added' if BY_NAME[name].is_list else 'saved'}.",
                label=f"save {name}",
            )

        values = {f.name: incident.field(f.name) for f in WRITTEN_FIELDS if not f.is_list}
        items = {f.name: incident.items(f.name) for f in WRITTEN_FIELDS if f.is_list}
        self.push_screen(PostmortemScreen(f"{incident.short_id} ({incident.status})", values, items, save))
