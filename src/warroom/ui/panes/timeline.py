"""The timeline: the newest entries, followed, older ones paged in; the lines being saved;
the one-line input the scribe types into (panes/entry_input.py); the filter (`f`) and the
search (`/`). What a row shows, and how check flips fold, is panes/timeline_rows.py.

Each typed line shows as "saving" until the record holds it, then as its row; a line the
record refused stays listed with why, for a retry (ctrl+r).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Input

from warroom.record.model import Entry
from warroom.ui import keys
from warroom.ui.panes import timeline_rows as shown
from warroom.ui.panes.entry_input import EntryInput
from warroom.ui.panes.pending import Pending, PendingStrip
from warroom.ui.view import ConsoleView

__all__ = ["EntryInput", "TimelinePane"]

PLACEHOLDER = "n: log an entry (HH:MM backdates; ! decision  > action  ? finding)  Enter: log  Esc: leave"
# (key, header, width): the entry column takes the rest. The UTC column is 8 wide until a row
# of another day needs 11 ("12-01 14:05"); the local column only shows when the zone is not UTC.
# Compact (80 columns): no local time, narrower cells, no padding between them, so an entry
# keeps 40 characters or more.
COLUMNS = (("utc", "UTC", 8), ("local", "local", 5), ("who", "who", 10), ("icon", " ", 1), ("entry", "entry", 40))
COMPACT_COLUMNS = (("utc", "UTC", 6), ("who", "who", 6), ("icon", " ", 2), ("entry", "entry", 40))


def _order(entry: Entry) -> tuple[str, str, str]:
    return (entry.at, entry.hlc, entry.id)


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
        self._keys: list[tuple[str, str, str]] = []  # their order (time)
        self.has_older = False
        self._asked_older = False
        self.count = 0
        self.pending: dict[int, Pending] = {}
        self.held_lines = 0
        self._numbers = count(1)
        self._ready = False  # rows wait for the frame after the first (the costliest part)
        self._queued: list[Any] = []
        self._pending_shown = True  # no redraw of the saving strip is queued
        self.filter = "all"  # timeline_rows.FILTERS
        self.search = ""
        self.expanded: set[str] = set()  # the folds opened with Enter
        self.items: dict[str, shown.Item] = {}  # what each table row shows, by row key
        self._shown: list[str] = []  # the row keys, in table order
        self.compact = False
        self.columns: tuple[tuple[str, str, int], ...] = COLUMNS

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", id="timeline-table", zebra_stripes=True)
        yield Input(placeholder="search the timeline (Enter keeps it, Esc clears it)", id="timeline-search")
        yield PendingStrip("", id="timeline-pending")
        # Not deferred like the logs pane: keys typed after `n` must land in it from the start.
        yield EntryInput(placeholder=PLACEHOLDER, id="entry-input")

    def on_mount(self) -> None:
        self._title()
        self.columns = self._wanted_columns([])
        self._set_columns()
        self.query_one("#timeline-search", Input).display = False
        self.call_after_refresh(self._first_rows)

    def _wanted_columns(self, entries: list[Entry]) -> tuple[tuple[str, str, int], ...]:
        if self.compact:
            return COMPACT_COLUMNS
        now = self._now()
        today = now.strftime("%Y-%m-%d")
        other_days = any(entry.at[:10] != today for entry in entries)
        local_zone = now.astimezone().utcoffset() != now.utcoffset()
        return tuple(
            (key, header, 11 if key == "utc" and other_days else width)
            for key, header, width in COLUMNS
            if key != "local" or local_zone
        )

    def _today(self) -> str:
        return self._now().strftime("%Y-%m-%d")

    def _now(self):
        clock = getattr(self.app, "clock", None)
        return clock.now() if clock is not None else datetime.now(UTC)

    def _set_columns(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.cell_padding = 0 if self.compact else 1
        for key, header, width in self.columns:
            # Text labels: a str label is parsed as markup, which loads Rich's emoji table at start.
            table.add_column(Text(header), key=key, width=width)

    def _first_rows(self) -> None:
        self._ready = True
        queued, self._queued = self._queued, []
        for method, args in queued:
            method(*args)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_columns)

    def _fit_columns(self) -> None:
        """The entry column takes whatever width the fixed columns leave; at 80 columns the
        compact set of columns (no local time) leaves an entry 40 characters or more."""
        compact = self.screen.has_class("compact")
        if compact != self.compact:
            self.compact = compact
            self._rebuild(follow=False)
        table = self.query_one(DataTable)
        fixed = sum(c.get_render_width(table) for key, c in table.columns.items() if key.value != "entry")
        entry = table.columns.get(next(k for k in table.columns if k.value == "entry"))
        width = max(20, table.scrollable_content_region.width - fixed - 2 * table.cell_padding)
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
            was = self.rows.get(entry_id)
            if entry.deleted:
                if was is not None:
                    del self.rows[entry_id]
                    self.count -= 1
                    rebuild = True
                continue
            key = _order(entry)
            if was is not None:
                self.rows[entry_id] = entry
                if _order(was) != key or self.search or entry_id not in self.items:
                    rebuild = True  # moved, or it may now match the search (or sits in a fold)
                elif not rebuild:
                    for column, cell in zip(self._column_keys(), self._cells(entry), strict=True):
                        table.update_cell(entry_id, column, cell)
                continue
            self.count += 1  # counted from the page's total, kept here: no count per keystroke
            if self.has_older and self._keys and key < self._keys[0]:
                continue  # older than the rows loaded: it comes with its page
            self.rows[entry_id] = entry
            if rebuild or (self._keys and key < self._keys[-1]):
                rebuild = True  # a backdated entry: it goes between rows
                continue
            self._keys.append(key)
            rebuild = not self._append(entry) or (self.columns[0][2] == 8 and entry.at[:10] != self._today())
        if rebuild:
            self._rebuild(follow=at_end)
        else:
            self._settle(at_end)
        self._subtitle()

    def _visible(self, entry: Entry) -> bool:
        return shown.shown_by_filter(entry, self.filter) and shown.shown_by_search(entry, self.search)

    def _append(self, entry: Entry) -> bool:
        """A new newest entry, onto the end of the table without redrawing the rest: a plain
        row, or a flip that joins its check's fold in the stretch of flips at the end. False
        when only a rebuild can place it (its fold is open)."""
        if not self._visible(entry):
            return True
        table = self.query_one(DataTable)
        check = shown.flip_check(entry)
        if check is not None:
            for row_key in reversed(self._shown):  # the stretch of flips at the end
                item = self.items[row_key]
                first = item.entries[0] if isinstance(item, shown.Fold) else item
                if shown.flip_check(first) is None:
                    break
                if shown.flip_check(first) != check:
                    continue
                fold = item if isinstance(item, shown.Fold) else shown.Fold(check, [item])
                if fold.key in self.expanded:
                    return False
                fold.entries.append(entry)
                table.remove_row(row_key)
                self._shown.remove(row_key)
                del self.items[row_key]
                self._add(fold)
                return True
        self._add(entry)
        return True

    def _add(self, item: shown.Item) -> None:
        key = shown.item_key(item)
        self.items[key] = item
        self._shown.append(key)
        self.query_one(DataTable).add_row(*self._cells(item), key=key)

    def _column_keys(self) -> list[str]:
        return [key for key, _header, _width in self.columns]

    def _cells(self, item: shown.Item) -> list[Text]:
        cells = shown.item_cells(item, self._now().astimezone().date(), self.compact)
        if not self.compact and len(self.columns) < len(COLUMNS):
            del cells[1]  # the local time: the zone is UTC
        return cells

    def _rebuild(self, follow: bool) -> None:
        table = self.query_one(DataTable)
        selected = self.selected_entry_id()
        place = table.cursor_row
        ordered = sorted(self.rows.values(), key=_order)
        self._keys = [_order(entry) for entry in ordered]
        columns = self._wanted_columns(ordered)
        if columns != self.columns:
            self.columns = columns
            self._set_columns()
            self.call_after_refresh(self._fit_columns)
        table.clear()
        self.items, self._shown = {}, []
        for item in shown.arrange([entry for entry in ordered if self._visible(entry)], self.expanded):
            self._add(item)
        if not table.row_count:
            self._subtitle()
            return
        if follow or selected is None:
            table.move_cursor(row=table.row_count - 1, animate=False)
        elif selected in self.items:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        else:  # the selected entry went (deleted, filtered, folded): the cursor stays at its place
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
        loaded = len(self.rows)
        more = f", {loaded} loaded (PgUp at the top: older)" if self.has_older else ""
        found = f", {len(self._shown)} rows shown" if self.filter != "all" or self.search else ""
        self.border_subtitle = f"{self.count} entries{more}{found}"

    def _title(self) -> None:
        """'Timeline · people only · search: deploy' (f and /): what is hidden is said."""
        parts = ["Timeline"]
        if self.filter != "all":
            parts.append(shown.FILTER_TITLES[self.filter])
        if self.search:
            parts.append(f"search: {self.search}")
        self.border_title = Text(" · ".join(parts))  # the search is typed text: never markup

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
        """The row under the cursor: an entry's id, or a fold's key (fold:...)."""
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
        self.query_one(PendingStrip).show(list(self.pending.values()), self.held_lines)

    # --- keys --------------------------------------------------------------------------

    def focus_input(self) -> None:
        self.screen.set_focus(self.query_one(EntryInput))  # now, not after the keys queued behind it

    def on_entry_input_left(self, event: EntryInput.Left) -> None:
        event.stop()
        self.screen.set_focus(self.query_one(DataTable))

    def _entry_action(self, action: str) -> None:
        entry_id = self.selected_entry_id()
        if entry_id and entry_id.startswith(shown.FOLD_PREFIX):
            if action == "details":
                self.toggle_fold(entry_id)
            else:
                self.notify("A folded row of check flips: Enter shows them one by one.", markup=False)
            return
        if entry_id:
            self.post_message(self.EntryAction(action, entry_id))

    def toggle_fold(self, key: str) -> None:
        """Enter on a fold shows its flips one by one (Esc folds them again)."""
        self.expanded.symmetric_difference_update({key})
        self._rebuild(follow=False)
        table = self.query_one(DataTable)
        if key in self.items:  # closed again: the cursor on the fold
            table.move_cursor(row=table.get_row_index(key), animate=False)

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

    def action_cycle_filter(self) -> None:
        """all -> people only -> decisions and actions -> all."""
        self.filter = shown.FILTERS[(shown.FILTERS.index(self.filter) + 1) % len(shown.FILTERS)]
        self._title()
        self._rebuild(follow=True)

    def action_search(self) -> None:
        search = self.query_one("#timeline-search", Input)
        search.display = True
        self.screen.set_focus(search)

    def action_clear_search(self) -> None:
        """Esc: the search goes, and the folds opened with Enter close."""
        search = self.query_one("#timeline-search", Input)
        if self.expanded and not search.display and not self.search:
            self.expanded.clear()
            self._rebuild(follow=False)
            return
        search.value = ""
        search.display = False
        self._searched("")
        self.screen.set_focus(self.query_one(DataTable))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "timeline-search":
            event.stop()
            self._searched(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "timeline-search":
            event.stop()
            self.screen.set_focus(self.query_one(DataTable))

    def _searched(self, query: str) -> None:
        """Every key typed into the search narrows the rows at once (the rows loaded)."""
        if query == self.search:
            return
        self.search = query
        self._title()
        self._rebuild(follow=True)
