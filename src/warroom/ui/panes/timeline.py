"""The timeline: the newest entries, followed, older ones paged in; the lines being saved;
and the one-line input the scribe types into.

Nothing typed is lost: the input handles Enter itself, in the order keys arrive, and is
empty again before the next key is read, so a fast typist or a paste never merges, splits,
repeats or drops a line. Each line shows as "saving" until the record holds it, then as its
row; a line the record refused stays listed with why, for a retry (ctrl+r).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import count
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from warroom.record.events import parse_time
from warroom.record.model import Entry
from warroom.ui import keys
from warroom.ui.inputs import ExactInput
from warroom.ui.view import ConsoleView, inert

TYPE_ICONS = {"note": "·", "action": "»", "decision": "◆", "finding": "?"}
AUTO_ICONS = {
    "declared": "★",
    "status": "⇄",
    "severity": "‼",
    "role": "@",
    "update": "✉",
    "check": "♥",
    "command": "$",
    "pin": "⌖",
    "snooze": "z",
    "action": "☐",
    "field": "≡",
    "ack": "✓",
}
PLACEHOLDER = "n: log an entry (HH:MM backdates; ! decision  > action  ? finding)  Enter: log  Esc: leave"
PASTE_HINT = (
    "{lines} lines pasted: Enter logs them as one entry, ctrl+l as {lines} entries (one per line), Esc drops them"
)
COLUMNS = ("utc", "local", "who", "icon", "entry")
SHOWN_PENDING = 5  # lines listed under the table; more are counted


def _order(entry: Entry) -> tuple[str, str, str]:
    return (entry.at, entry.hlc, entry.id)


def entry_cells(entry: Entry, local_tz=None, today: date | None = None) -> tuple[Text, Text, Text, Text, Text]:
    """A row's cells. A row not from `today` (local) carries its date: 12-01 14:05."""
    at = parse_time(entry.at)
    local = at.astimezone(local_tz)
    when = at.strftime("%H:%M:%S") if today is None or local.date() == today else at.strftime("%m-%d %H:%M")
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
    return (Text(when), Text(local.strftime("%H:%M"), style="dim"), inert(entry.author, limit=16), Text(icon), text)


class EntryInput(ExactInput):
    """The scribe's input: Enter logs the line and empties the input before the next key is
    read. A paste of several lines is held whole (never cut to its first line): Enter logs it
    as one entry that keeps its line breaks, ctrl+l as one entry per line, Esc drops it."""

    @dataclass
    class Lines(Message):
        """Lines to log, in order: one entry each."""

        input: EntryInput
        texts: list[str]

    @dataclass
    class Left(Message):
        input: EntryInput

    @dataclass
    class Held(Message):
        """A multi-line paste is held (lines > 0) or was let go (0)."""

        input: EntryInput
        lines: int

    keeps_focus = True  # Enter logs and stays: the key gate lets a typed burst through (ui/keygate.py)
    held: str | None = None  # a multi-line paste waiting for Enter, ctrl+l or Esc
    _typed: str = ""  # what the input held before the paste

    async def _on_key(self, event: events.Key) -> None:  # Input's own handler: textual_private.py
        key = event.key
        if key == "escape" or (key == "ctrl+l" and self.held is not None):
            event.stop()
            event.prevent_default()
            if key == "ctrl+l":
                self._submit(split=True)
            elif self.held is not None:
                self._let_go(self._typed)
            else:
                self.post_message(self.Left(self))
            return
        if self.held is not None and key != "enter":
            event.stop()
            event.prevent_default()
            self.app.bell()  # a held paste is logged or dropped whole, not edited
            return
        await super()._on_key(event)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Enter and ctrl+l log here and move nothing: the key gate lets them through at the
        typist's pace (Esc leaves the input, so it waits its turn)."""
        if key in ("enter", "ctrl+l"):
            return True
        return super().check_consume_key(key, character)

    def submit_now(self) -> None:
        self._submit(split=False)

    def _submit(self, split: bool) -> None:
        text = self.held if self.held is not None else self.value
        self._let_go("")
        if split:
            texts = [line.strip() for line in text.splitlines() if line.strip()]
        else:
            texts = [text.strip()] if text.strip() else []
        if not texts:
            return
        pane = self.parent
        if isinstance(pane, TimelinePane):
            # Handed on by a call, not a message: a message would queue behind every key of a
            # fast burst already in this input's queue, and the line would wait for all of them
            # before reaching the record (benchmarks/bench_typing.py).
            for text in texts:
                pane.submit_line(text)
        else:
            self.post_message(self.Lines(self, texts))

    def _on_paste(self, event: events.Paste) -> None:  # Input's own handler: textual_private.py
        text = event.text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        if "\n" not in text and self.held is None:
            return  # one line: Input's own handler (next in the MRO) inserts it
        event.stop()
        event.prevent_default()  # and not Input's, which keeps the first line only
        if self.held is not None:
            self.app.bell()
            return
        self._typed = self.value
        before, after = self.value[: self.cursor_position], self.value[self.cursor_position :]
        self.held = before + text + after
        self.value = self.held.replace("\n", " ⏎ ")[:1000]
        self.add_class("held")
        self.post_message(self.Held(self, self.held.count("\n") + 1))

    def _let_go(self, value: str) -> None:
        """Drop the held paste (Esc: back to what was typed before it)."""
        if self.held is not None:
            self.held = None
            self.remove_class("held")
            self.post_message(self.Held(self, 0))
        self.value = value


@dataclass
class Pending:
    key: int
    incident_id: str
    text: str
    error: str = ""


class TimelinePane(Vertical):
    view: reactive[ConsoleView | None] = reactive(None, always_update=True)

    BINDINGS = keys.bindings("timeline")  # the key table: ui/keys.py

    @dataclass
    class EntrySubmitted(Message):
        text: str
        key: int = 0  # the pending line it is shown as

    @dataclass
    class EntryAction(Message):
        action: str  # edit | delete | details | action
        entry_id: str

    @dataclass
    class OlderWanted(Message):
        incident_id: str
        before: tuple[str, str, str]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.incident_id: str | None = None
        self.rows: dict[str, Entry] = {}  # the rows loaded, by id
        self._keys: list[tuple[str, str, str]] = []  # their order, as shown
        self.has_older = False
        self._asked_older = False
        self.count = 0
        self.pending: dict[int, Pending] = {}
        self.held_lines = 0
        self._numbers = count(1)
        self._ready = False  # rows wait for the frame after the first (the costliest part)
        self._queued: list[Any] = []
        self._pending_shown = True  # no redraw of the saving strip is queued

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", id="timeline-table", zebra_stripes=True)
        yield Static("", id="timeline-pending")
        # Not deferred like the logs pane: keys typed after `n` must land in it from the start.
        yield EntryInput(placeholder=PLACEHOLDER, id="entry-input")

    def on_mount(self) -> None:
        self.border_title = "Timeline"
        table = self.query_one(DataTable)
        # Text labels: a str label is parsed as markup, which loads Rich's emoji table at start.
        table.add_column(Text("UTC"), key="utc", width=11)  # "12-01 14:05" for a row of another day
        table.add_column(Text("local"), key="local", width=5)
        table.add_column(Text("who"), key="who", width=10)
        table.add_column(Text(" "), key="icon", width=1)
        table.add_column(Text("entry"), key="entry", width=40)
        self.query_one("#timeline-pending", Static).display = False
        self.call_after_refresh(self._first_rows)

    def _first_rows(self) -> None:
        self._ready = True
        queued, self._queued = self._queued, []
        for method, args in queued:
            method(*args)

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

    # --- rows from the record ---------------------------------------------------------

    def show_page(self, incident_id: str | None, entries: list[Entry], has_older: bool, total: int) -> None:
        """Another incident (or a fresh look at this one): its newest rows, followed."""
        if not self._ready:
            self._queued.append((self.show_page, (incident_id, entries, has_older, total)))
            return
        self.incident_id = incident_id
        self.rows = {entry.id: entry for entry in entries}
        self.has_older = has_older
        self._asked_older = False
        self.count = total
        self._rebuild(follow=True)

    def add_older(self, incident_id: str, entries: list[Entry], has_older: bool) -> None:
        """A page of older rows, put above the ones shown; the cursor stays on its entry."""
        if incident_id != self.incident_id:
            return
        self._asked_older = False
        self.has_older = has_older
        for entry in entries:
            self.rows.setdefault(entry.id, entry)
        self._rebuild(follow=False)

    def apply_rows(self, incident_id: str | None, changed: dict[str, Entry], total: int | None) -> None:
        """Rows that changed: new ones go where their time puts them, edited ones are redrawn,
        deleted ones go. The cursor follows the newest row when it was on it, and otherwise
        stays where it was (on the same entry, or at the same place when that one went)."""
        if not self._ready:
            self._queued.append((self.apply_rows, (incident_id, changed, total)))
            return
        if incident_id != self.incident_id:
            return
        if total is not None:
            self.count = total
        table = self.query_one(DataTable)
        at_end = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        rebuild = False
        for entry_id, entry in sorted(changed.items(), key=lambda item: _order(item[1])):  # time order: no rebuild
            shown = self.rows.get(entry_id)
            if entry.deleted:
                if shown is not None:
                    del self.rows[entry_id]
                    self.count -= 1
                    rebuild = True
                continue
            key = _order(entry)
            if shown is not None:
                self.rows[entry_id] = entry
                if _order(shown) != key:
                    rebuild = True
                elif not rebuild:
                    for column, cell in zip(COLUMNS, self._cells(entry), strict=False):
                        table.update_cell(entry_id, column, cell)
                continue
            self.count += 1  # counted from the page's total, kept here: no count per keystroke
            if self.has_older and self._keys and key < self._keys[0]:
                continue  # older than the rows loaded: it comes with its page
            self.rows[entry_id] = entry
            if rebuild or (self._keys and key < self._keys[-1]):
                rebuild = True  # a backdated entry: it goes between rows
            else:
                table.add_row(*self._cells(entry), key=entry_id)
                self._keys.append(key)
        if rebuild:
            self._rebuild(follow=at_end)
        else:
            self._settle(at_end)
        self._subtitle()

    def _cells(self, entry: Entry) -> tuple[Text, ...]:
        clock = getattr(self.app, "clock", None)
        return entry_cells(entry, today=clock.now().astimezone().date() if clock else None)

    def _rebuild(self, follow: bool) -> None:
        table = self.query_one(DataTable)
        selected = self.selected_entry_id()
        place = table.cursor_row
        ordered = sorted(self.rows.values(), key=_order)
        table.clear()
        for entry in ordered:
            table.add_row(*self._cells(entry), key=entry.id)
        self._keys = [_order(entry) for entry in ordered]
        if not table.row_count:
            self._subtitle()
            return
        if follow or selected is None:
            table.move_cursor(row=table.row_count - 1, animate=False)
        elif selected in self.rows:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        else:  # the selected entry went (deleted): the cursor stays at its place
            table.move_cursor(row=min(place, table.row_count - 1), animate=False)
        self._subtitle()

    def _settle(self, at_end: bool) -> None:
        table = self.query_one(DataTable)
        if table.row_count and at_end:
            table.move_cursor(row=table.row_count - 1, animate=False)

    def _subtitle(self) -> None:
        if self.incident_id is None:
            self.border_subtitle = ""
            return
        shown = len(self.rows)
        more = f", {shown} loaded (PgUp at the top: older)" if self.has_older else ""
        self.border_subtitle = f"{self.count} entries{more}"

    def on_key(self, event: events.Key) -> None:
        """At the top of the rows loaded, Up, PgUp or Home asks for the page before them."""
        table = self.query_one(DataTable)
        if (
            event.key in ("up", "pageup", "home")
            and self.screen.focused is table
            and self.has_older
            and table.cursor_row == 0
            and self._keys
            and not self._asked_older
            and self.incident_id
        ):
            self._asked_older = True
            self.post_message(self.OlderWanted(self.incident_id, self._keys[0]))

    def entry(self, entry_id: str | None) -> Entry | None:
        return self.rows.get(entry_id) if entry_id else None

    def selected_entry_id(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    # --- the lines being saved -------------------------------------------------------

    def on_entry_input_held(self, event: EntryInput.Held) -> None:
        event.stop()
        self.held_lines = event.lines
        self._show_pending()

    def on_entry_input_lines(self, event: EntryInput.Lines) -> None:
        event.stop()
        for text in event.texts:
            self.submit_line(text)

    def submit_line(self, text: str) -> None:
        number = next(self._numbers)
        self.pending[number] = Pending(number, self.incident_id or "", text)
        self._show_pending()
        log_typed = getattr(self.app, "log_typed", None)
        if log_typed is not None:
            log_typed(number, text)  # at once, for the reason EntryInput._submit gives
        else:
            self.post_message(self.EntrySubmitted(text, number))

    def line_saved(self, number: int) -> None:
        if self.pending.pop(number, None) is not None:
            self._show_pending()

    def line_failed(self, number: int, message: str) -> None:
        """The record refused the line: it stays listed with why; ctrl+r sends it again. When
        the input is empty, the text goes back into it too."""
        line = self.pending.get(number)
        if line is None:
            return
        line.error = message
        entry_input = self.query_one(EntryInput)
        if (
            not entry_input.value.strip()
            and entry_input.held is None
            and sum(1 for p in self.pending.values() if p.error) == 1
        ):
            entry_input.value = line.text if "\n" not in line.text else ""
            if entry_input.value:
                del self.pending[number]
        self._show_pending()

    def retry_failed(self) -> int:
        failed = [line for line in self.pending.values() if line.error]
        for line in failed:
            del self.pending[line.key]
        for line in failed:
            self.submit_line(line.text)
        return len(failed)

    def restore_input(self, text: str) -> None:
        """Put text back so nothing typed is lost (no incident to log it on)."""
        entry_input = self.query_one(EntryInput)
        entry_input.value = text if not entry_input.value.strip() else f"{entry_input.value} {text}"

    def _show_pending(self) -> None:
        """Redrawn once per batch of changes, after the keys and saves already queued: a burst
        of lines changed it per line, and each change laid the screen out again."""
        if not self._pending_shown:
            return
        self._pending_shown = False
        self.call_later(self._draw_pending)

    def _draw_pending(self) -> None:
        self._pending_shown = True
        strip = self.query_one("#timeline-pending", Static)
        lines = list(self.pending.values())
        strip.display = bool(lines) or bool(self.held_lines)
        if not strip.display:
            return
        text = Text()
        if self.held_lines:
            text.append(PASTE_HINT.format(lines=self.held_lines) + "\n", style="bold")
        for line in lines[:SHOWN_PENDING]:
            first = (line.text.splitlines() or [""])[0]
            more = line.text.count("\n")
            body = inert(first, limit=300)
            if more:
                body.append(f" (+{more} lines)", style="dim")
            if line.error:
                text.append("✗ not logged: ", style="bold red")
                text.append_text(body)
                text.append(f"  ({line.error[:200]}; ctrl+r retries)\n", style="red")
            else:
                text.append("… saving: ", style="dim")
                text.append_text(body)
                text.append("\n")
        if len(lines) > SHOWN_PENDING:
            text.append(f"and {len(lines) - SHOWN_PENDING} more\n", style="dim")
        text.rstrip()
        strip.update(text)

    # --- keys --------------------------------------------------------------------------

    def focus_input(self) -> None:
        self.screen.set_focus(self.query_one(EntryInput))  # now, not after the keys queued behind it

    def on_entry_input_left(self, event: EntryInput.Left) -> None:
        event.stop()
        self.screen.set_focus(self.query_one(DataTable))

    def _entry_action(self, action: str) -> None:
        entry_id = self.selected_entry_id()
        if entry_id:
            self.post_message(self.EntryAction(action, entry_id))

    def action_edit(self) -> None:
        self._entry_action("edit")

    def action_delete(self) -> None:
        self._entry_action("delete")

    def action_retry(self) -> None:
        if not self.retry_failed():
            self.notify("No failed lines to retry.", markup=False)

    def action_details(self) -> None:
        self._entry_action("details")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._entry_action("details")
