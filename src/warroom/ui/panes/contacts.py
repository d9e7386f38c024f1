"""Who to call: the war room's [[contact]] table (role, name, how to reach), beside the roster.

Read from the local warroom.toml only, never from the record; shown inert all the same (a
shared config is text someone else wrote)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from warroom.config import Contact
from warroom.ui.view import inert


class ContactsPane(DataTable):
    def __init__(self, contacts: tuple[Contact, ...], **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, show_header=False, **kwargs)
        self.contacts = contacts

    def on_mount(self) -> None:
        self.border_title = "Contacts"
        self.add_column(Text("role"), key="role")
        self.add_column(Text("name"), key="name")
        self.add_column(Text("reach"), key="reach")
        if not self.contacts:
            self.add_row(Text("none", style="dim"), Text("add [[contact]] to warroom.toml", style="dim"), Text(""))
        for index, contact in enumerate(self.contacts):
            self.add_row(
                inert(contact.role, limit=100),
                inert(contact.name, limit=100),
                inert(contact.reach or "-", style="" if contact.reach else "dim", limit=200),
                key=f"contact-{index}",
            )
