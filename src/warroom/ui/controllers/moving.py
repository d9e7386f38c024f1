"""Moving around the console: every pane and every tab one key away.

`L T H R` jump to a pane; `[` and `]` cycle the tabs of the pane that has the focus (the Logs
sources, Roster / Actions); a digit shows a log source (1 is "all") from anywhere.
"""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane, Tabs

from warroom.ui.controllers.host import Host

PANES = {"logs": "#logs", "timeline": "#timeline-table", "health": "#health", "roster": "#roster"}
TABBED = ("#log-tabs", "#people")  # the panes with tabs, as the focus finds them


class PaneMoves(Host):
    def action_focus_pane(self, pane: str) -> None:
        found = self.query(PANES[pane])
        if not found:  # a key pressed within the first frame, before the pane was mounted
            return
        if pane == "logs":
            found.first().active_view().focus()  # type: ignore[attr-defined]
        else:
            found.first().focus()

    def focused_tabs(self) -> TabbedContent | None:
        """The tabbed pane holding the focus (the logs pane's tabs or the people's)."""
        node: Widget | None = self.focused
        while node is not None:
            if isinstance(node, TabbedContent) and f"#{node.id}" in TABBED:
                return node
            if node.id == "logs":  # the focus is on the logs pane itself, not inside a tab
                return node.query_one("#log-tabs", TabbedContent)
            parent = node.parent
            node = parent if isinstance(parent, Widget) else None
        return None

    def action_cycle_tab(self, step: int) -> None:
        tabbed = self.focused_tabs()
        if tabbed is None:
            self.notify("This pane has no tabs: L goes to the Logs, R to the Roster and its Actions tab.", markup=False)
            return
        tabs = tabbed.query_one(Tabs)
        if step > 0:
            tabs.action_next_tab()
        else:
            tabs.action_previous_tab()
        self.call_after_refresh(self._focus_tab_content, tabbed)

    def _focus_tab_content(self, tabbed: TabbedContent) -> None:
        """The keys of the tab just shown (`d` on Actions, `f` on a log) work at once."""
        pane = tabbed.active_pane
        if pane is None:
            return
        for widget in pane.query("*"):
            if widget.focusable:
                widget.focus()
                return

    def action_log_tab(self, number: int) -> None:
        found = self.query("#log-tabs")
        if not found:  # before the logs pane is mounted
            return
        tabbed = found.first(TabbedContent)
        panes = list(tabbed.query(TabPane))
        if number > len(panes):
            self.notify(f"No log tab {number}: there are {len(panes)} (1 is all).", markup=False)
            return
        tabbed.active = panes[number - 1].id or ""
        if self.focused_tabs() is tabbed:
            self.call_after_refresh(self._focus_tab_content, tabbed)
