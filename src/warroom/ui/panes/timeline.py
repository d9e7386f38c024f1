"""The timeline: every entry, newest at the bottom and followed, and the one-line input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Input

from warroom.events import parse_time
from warroom.state import Entry
from warroom.ui.view import ConsoleView, inert

TYPE_ICONS = {"note": "·", "action": "»", "decision": "◆", "finding": "?"}
AUTO_ICONS = {"declared": "★", "status": "⇄", "severity": "‼", "role": "@", "update": "✉",
              "check": "♥", "command": "$", "pin": "⌖", "snooze": "z", "action": "☐", "field": "≡", "ack": "✓"}
PLACEHOLDER = "n: log an entry (HH:MM backdates; ! decision  > action  ? finding)  Enter: log  Esc: leave"


COLUMNS = ("utc", "local", "who", "icon", "entry")


def _signature(entry: Entry) -> tuple:
    return (entry.at, entry.author, entry.type, entry.text, entry.auto, entry.source, len(entry.history))


def entry_cells(entry: Entry, local_tz=None) -> tuple[Text, Text, Text, Text, Text]:
    at = parse_time(entry.at)
    icon = AUTO_ICONS.get(entry.auto, "·") if entry.auto else TYPE_ICONS.get(entry.type, "·")
    lines = entry.text.splitlines() or [""]
    text = inert(lines[0], limit=500)
    if len(lines) > 1:
        text.append(f"  (+{len(lines) - 1} lines)", style="dim")
    if entry.source:
        text = Text.assemble(inert(f"[{entry.source}] ", limit=60), text)
    if entry.edited:
        text.append("  (edited)", style="dim")
    style = "italic dim" if entry.auto and entry.auto != "pin" else ""
    if entry.type == "decision" and not entry.auto:
        style = "bold"
    text.stylize(style)
    return (Text(at.strftime("%H:%M:%S")), Text(at.astimezone(local_tz).strftime("%H:%M"), style="dim"),
            inert(entry.author, limit=16), Text(icon), text)


class TimelinePane(Vertical):
    view: reactive[ConsoleView | None] = reactive(None, always_update=True)

    BINDINGS = [
        Binding("e", "edit", "Edit entry"),
        Binding("x", "delete", "Delete entry"),
        Binding("enter", "details", "Details", show=False),
    ]

    @dataclass
    class EntrySubmitted(Message):
        text: str

    @dataclass
    class EntryAction(Message):
        action: str       # edit | delete | details | action
        entry_id: str

    _shown: list[tuple[str, tuple]] = []
    _rows_ready = False  # the rows are the costliest part of the screen: they skip the first frame

    def compose(self) -> ComposeResult:
        table = DataTable(cursor_type="row", id="timeline-table", zebra_stripes=True)
        yield table
        # Not deferred like the logs pane: keys typed after `n` must land in it from the start.
        yield Input(placeholder=PLACEHOLDER, id="entry-input")

    def on_mount(self) -> None:
        self.border_title = "Timeline"
        self.call_after_refresh(self._first_rows)
        table = self.query_one(DataTable)
        # Text labels: a str label is parsed as markup, which loads Rich's emoji table at start.
        table.add_column(Text("UTC"), key="utc", width=8)
        table.add_column(Text("local"), key="local", width=5)
        table.add_column(Text("who"), key="who", width=10)
        table.add_column(Text(" "), key="icon", width=1)
        table.add_column(Text("entry"), key="entry", width=40)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_columns)

    def _fit_columns(self) -> None:
        """The entry column takes whatever width the fixed columns leave."""
        table = self.query_one(DataTable)
        fixed = sum(c.get_render_width(table) for key, c in table.columns.items() if key.value != "entry")
        entry = table.columns.get(next(k for k in table.columns if k.value == "entry"))
        width = max(20, table.scrollable_content_region.width - fixed - 2 * table.cell_padding - 1)
        if entry is not None and entry.width != width:
            entry.auto_width = False
            entry.width = width
            table.refresh()

    def watch_view(self, view: ConsoleView | None) -> None:
        if not self.is_mounted:
            return
        if not self._rows_ready:  # _first_rows fills them after the first frame
            return
        table = self.query_one(DataTable)
        at_end = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        selected = self.selected_entry_id()
        timeline = view.incident.timeline if view is not None and view.incident is not None else []
        rows = [(entry.id, _signature(entry), entry) for entry in timeline]
        shown = self._shown
        if [key for key, _, _ in rows[:len(shown)]] == [key for key, _ in shown]:
            # The usual case: entries were added at the end, perhaps one edited. Touch only those
            # rows; rebuilding a table of thousands of rows per keystroke would stall the screen.
            for (key, signature, entry), (_, old) in zip(rows, shown):
                if signature != old:
                    for column, cell in zip(COLUMNS, entry_cells(entry)):
                        table.update_cell(key, column, cell)
            for key, _, entry in rows[len(shown):]:
                table.add_row(*entry_cells(entry), key=key)
        else:
            table.clear()
            for key, _, entry in rows:
                table.add_row(*entry_cells(entry), key=key)
        self._shown = [(key, signature) for key, signature, _ in rows]
        self.border_subtitle = f"{len(timeline)} entries" if view is not None and view.incident else ""
        if not table.row_count:
            return
        if at_end or selected is None:
            table.move_cursor(row=table.row_count - 1, animate=False)
        else:
            try:
                table.move_cursor(row=table.get_row_index(selected), animate=False)
            except Exception:  # the selected entry was deleted elsewhere
                table.move_cursor(row=table.row_count - 1, animate=False)

    def _first_rows(self) -> None:
        self._rows_ready = True
        self.watch_view(self.view)

    def selected_entry_id(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def focus_input(self) -> None:
        self.query_one("#entry-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            event.input.value = ""
            self.post_message(self.EntrySubmitted(text))

    def restore_input(self, text: str) -> None:
        """After a failed write: put the text back so nothing typed is lost."""
        entry_input = self.query_one("#entry-input", Input)
        if entry_input.value.strip():
            entry_input.value = text + " " + entry_input.value
        else:
            entry_input.value = text

    def on_key(self, event) -> None:
        if event.key == "escape" and self.screen.focused is self.query_one("#entry-input"):
            event.stop()
            self.query_one(DataTable).focus()

    def _entry_action(self, action: str) -> None:
        entry_id = self.selected_entry_id()
        if entry_id:
            self.post_message(self.EntryAction(action, entry_id))

    def action_edit(self) -> None:
        self._entry_action("edit")

    def action_delete(self) -> None:
        self._entry_action("delete")

    def action_details(self) -> None:
        self._entry_action("details")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._entry_action("details")
