"""Who to call: the war room's [[contact]] table (role, name, how to reach), beside the roster.

Read from the local warroom.toml only, never from the record; shown inert all the same (a
shared config is text someone else wrote)."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.widgets import DataTable

from warroom.config import Contact
from warroom.ui.view import inert


class ContactsPane(DataTable):
    def __init__(self, contacts: tuple[Contact, ...], **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, show_header=False, **kwargs)
        self.contacts = contacts

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # Known before the table measures its rows, which it does only when idle: under load
        # the tabs were laid out first with this pane 0 rows high and stayed so.
        return 2 * len(self.contacts) or 1

    def on_mount(self) -> None:
        # One column, two lines a contact: the pane is narrow and an address must not be cut.
        self.border_title = "Contacts"
        self.add_column(Text("contact"), key="contact")
        if not self.contacts:
            self.add_row(Text("No contacts: add [[contact]] to warroom.toml", style="dim"))
        for index, contact in enumerate(self.contacts):
            cell = inert(contact.role, style="bold", limit=100)
            cell.append(": ")
            cell.append_text(inert(contact.name, limit=100))
            cell.append("\n  ")
            cell.append_text(inert(contact.reach or "no way to reach them given", style="" if contact.reach else "dim"))
            self.add_row(cell, key=f"contact-{index}", height=2)
