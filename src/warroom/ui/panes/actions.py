"""Action items of the incident on screen: open ones first (by priority), done ones dimmed.

`d` marks the selected item done; the app records it (room.action_done).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, TabbedContent, TabPane

from warroom.record.model import ActionItem
from warroom.text.sanitize import sanitize
from warroom.ui import keys
from warroom.ui.view import ConsoleView, inert

PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}
PRIORITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}
PRIORITY_SHORT = {"high": "high", "medium": "med", "low": "low"}
MIN_TEXT = 16


def ordered(actions: list[ActionItem]) -> list[ActionItem]:
    """Open items first, most urgent first (priority, then due date, then as added); done ones after."""
    indexed = list(enumerate(actions))
    indexed.sort(
        key=lambda pair: (pair[1].done, PRIORITY_RANK.get(pair[1].priority, 1), pair[1].due or "9999", pair[0])
    )
    return [item for _, item in indexed]


class ActionsPane(DataTable):
    BINDINGS = keys.bindings("actions")  # the key table: ui/keys.py

    view: reactive[ConsoleView | None] = reactive(None, always_update=True)

    @dataclass
    class MarkDone(Message):
        """The user wants this action item marked done."""

        action_id: str
        text: str

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, show_header=True, **kwargs)
        self.items: list[ActionItem] = []

    def on_mount(self) -> None:
        self.border_title = "Action items"
        self.add_column(Text("✓"), key="status", width=1)
        self.add_column(Text("action"), key="text", width=MIN_TEXT)
        self.add_column(Text("owner"), key="owner")
        self.add_column(Text("due"), key="due")
        self.add_column(Text("pri"), key="priority")

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_columns)

    def _fit_columns(self) -> None:
        """The action text takes what the other columns leave; in a narrow pane it takes the
        whole width and owner, due and priority are a scroll to the right."""
        visible = self.scrollable_content_region.width
        if visible <= 0:
            return
        padding = 2 * self.cell_padding
        others = sum(c.get_render_width(self) for key, c in self.columns.items() if key.value != "text")
        status = self.columns[next(k for k in self.columns if k.value == "status")].get_render_width(self)
        remaining = visible - others - padding
        width = remaining if remaining >= MIN_TEXT else max(MIN_TEXT, visible - status - padding)
        column = self.columns[next(k for k in self.columns if k.value == "text")]
        if column.width != width:
            column.auto_width = False
            column.width = width
            self.refresh()

    def watch_view(self, view: ConsoleView | None) -> None:
        if not self.is_mounted:
            return
        selected = self.selected_id()
        self.clear()
        incident = view.incident if view else None
        self.items = ordered(incident.actions) if incident else []
        for item in self.items:
            style = "dim" if item.done else ""
            self.add_row(
                Text("☑" if item.done else "☐", style=style),
                inert(item.text, style="dim strike" if item.done else "", limit=200),
                inert(item.owner or "-", style=style or ("" if item.owner else "dim"), limit=12),
                inert(item.due or "-", style=style or ("" if item.due else "dim"), limit=20),
                Text(
                    PRIORITY_SHORT.get(item.priority, item.priority),
                    style=style or PRIORITY_STYLE.get(item.priority, ""),
                ),
                key=item.id,
            )
        if not self.items:
            hint = "none yet: a adds one" if incident else "no incident"
            self.add_row(Text(""), Text(hint, style="dim"), Text(""), Text(""), Text(""), key="-none-")
        self.call_after_refresh(self._fit_columns)
        open_count = sum(1 for item in self.items if not item.done)
        self.border_subtitle = f"{open_count} open" if self.items else ""
        self._label_tab(f"Actions ({open_count})" if open_count else "Actions")
        if self.row_count:
            ids = [item.id for item in self.items]
            row = ids.index(selected) if selected in ids else min(self.cursor_row, self.row_count - 1)
            self.move_cursor(row=max(0, row), animate=False)

    def _label_tab(self, label: str) -> None:
        """When the pane sits in a tab, the tab's label carries the open count."""
        try:
            tabs = self.query_ancestor(TabbedContent)
            tab = tabs.get_tab(self.query_ancestor(TabPane))
        except Exception:  # noqa: BLE001 - not in a tab (or not mounted yet): nothing to label
            return
        if tab.label.plain != label:
            tab.label = Content(label)

    def selected_id(self) -> str | None:
        if not self.items or not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return str(key) if key != "-none-" else None

    def selected_item(self) -> ActionItem | None:
        selected = self.selected_id()
        return next((item for item in self.items if item.id == selected), None)

    def action_mark_done(self) -> None:
        item = self.selected_item()
        if item is None:
            self.notify("No action item selected: a adds one.", markup=False)
            return
        if item.done:
            self.notify(f"Already done: {sanitize(item.text, limit=100)}", markup=False)
            return
        self.post_message(self.MarkDone(item.id, item.text))
