"""Who holds each role and since when; an unclaimed role is flagged, unless it is optional."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import DataTable

from warroom.ui.view import ConsoleView, inert

SHORT_ROLE = {"Incident Commander": "IC", "Tech Lead": "Tech lead", "Communications Lead": "Comms"}


class RosterPane(DataTable):
    view: reactive[ConsoleView | None] = reactive(None, always_update=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, show_header=False, **kwargs)
        self.peers: list[tuple[str, str]] = []  # (who, how long ago) of the copies that synced lately

    def show_peers(self, peers, now) -> None:
        """Who else is in the war room: the copies whose refs say they synced lately."""
        from warroom.text import durations

        recent = [p for p in peers if now.timestamp() - p.at < 3600]
        self.peers = [(p.author, durations.human(max(0.0, now.timestamp() - p.at)) + " ago") for p in recent[:6]]
        self.watch_view(self.view)

    def on_mount(self) -> None:
        self.border_title = "Roster"
        self.add_column(Text("role"), key="role")
        self.add_column(Text("who"), key="who")
        self.add_column(Text("since"), key="since")

    def watch_view(self, view: ConsoleView | None) -> None:
        if not self.is_mounted:
            return
        cursor = self.cursor_row
        self.clear()
        if view is None or view.incident is None:
            for role_name in view.config.roles if view else ():
                self.add_row(Text(role_name), Text("-", style="dim"), Text(""), key=role_name)
            return
        for name, role in view.incident.roles.items():
            if role.person:
                who = inert(role.person, limit=60)
                compact = self.screen.has_class("compact")  # 26 columns: no room for the time
                since = Text("" if compact else f"{role.since[11:16]} UTC", style="dim")
                if len(role.history) > 1:
                    since.append(f" ({len(role.history) - 1} handover{'s' if len(role.history) > 2 else ''})")
            elif name in view.config.optional_roles:
                who, since = Text("(optional)", style="dim"), Text("")
            else:
                who = Text("⚠ unassigned", style=f"bold {self.app.current_theme.warning or 'yellow'}")
                since = Text("")
            label = SHORT_ROLE.get(name, name) if self.screen.has_class("compact") else name
            self.add_row(Text(label), who, since, key=name)
        for index, (person, ago) in enumerate(self.peers):
            self.add_row(
                Text("here" if index == 0 else "", style="dim"),
                inert(person, limit=60),
                Text(ago, style="dim"),
                key=f"peer-{index}",
            )
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1))

    def selected_role(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
