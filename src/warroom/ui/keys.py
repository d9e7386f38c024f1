"""Every key of the console, in one table: the bindings, the `?` help and the command palette
are all read from it, so a key cannot be bound in one and forgotten in another.

The help's sections are the panes a key acts in ("Anywhere" for the whole console). A row is
bound where its `scope` says (the app, or one pane); rows without a scope are help only (the
dialogs' keys, typed text), rows without `shown` are bound but not listed (the cursor keys).
Rows with a `palette` title are also commands in ctrl+p.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class Key:
    group: str  # the help section
    shown: str  # the key as the help writes it ("n / i")
    help: str  # what it does, in the help
    keys: str = ""  # the binding's keys ("n,i"); empty: help only
    action: str = ""  # the binding's action
    label: str = ""  # the footer's label
    scope: str = ""  # where it is bound: "app", "timeline", "logs", "logview", "actions"
    show: bool = True  # in the footer
    priority: bool = False
    palette: str = ""  # the command palette's title, if it is a command there
    palette_help: str = ""
    footer_group: str = ""  # keys the footer shows together ("[] Tab")

    def binding(self) -> Binding:
        group = _FOOTER_GROUPS.get(self.footer_group)
        return Binding(self.keys, self.action, self.label, show=self.show, priority=self.priority, group=group)


_FOOTER_GROUPS = {"tabs": Binding.Group("Tab", compact=True)}


# The table reads best one row a line: the formatter leaves it as written.
# fmt: off
KEYS: tuple[Key, ...] = (
    # --- Anywhere -----------------------------------------------------------------------
    Key("Anywhere", "?", "this help: every key, by pane", "question_mark", "help", "Keys", "app",
        palette="Show keys", palette_help="Every key of the console"),
    Key("Anywhere", "q", "quit (asks first while an incident is open); ctrl+q quits at once", "q", "quit_console",
        "Quit", "app"),
    Key("Anywhere", "D", "declare an incident", "D", "declare", "Declare", "app",
        palette="Declare incident", palette_help="Open a new incident: title, severity, impact"),
    Key("Anywhere", "S", "change severity", "S", "severity", "Severity", "app",
        palette="Change severity", palette_help="Raise or lower the severity"),
    Key("Anywhere", "t", "advance status", "t", "advance_status", "Status", "app",
        palette="Advance status", palette_help="Investigating, identified, monitoring, resolved, closed"),
    Key("Anywhere", "A", "acknowledge", "A", "acknowledge", "Ack", "app", show=False,
        palette="Acknowledge", palette_help="Record that the incident is acknowledged"),
    Key("Anywhere", "u", "post a status update (composer)", "u", "update", "Update", "app",
        palette="Post status update", palette_help="Compose from the template for this phase"),
    Key("Anywhere", "z", "snooze the update reminder", "z", "snooze", "Snooze", "app", show=False,
        palette="Snooze update reminder", palette_help="15 or 30 minutes, with a reason"),
    Key("Anywhere", "r", "assign or hand over a role", "r", "role", "Role", "app",
        palette="Assign role", palette_help="Assign or hand over IC, tech lead, comms, scribe"),
    Key("Anywhere", "X", "record an escalation call (the rung due is offered)", "X", "escalate", "Escalate", "app",
        show=False, palette="Record escalation", palette_help="Who was called in: the rung due, or anyone"),
    Key("Anywhere", "a", "add an action item (from the selected entry in the timeline)", "a", "add_action",
        "Action item", "app", show=False, palette="Add action item", palette_help="With owner, due date and priority"),
    Key("Anywhere", "I", "switch incident", "I", "switch_incident", "Incident", "app", show=False,
        palette="Switch incident", palette_help="Show another incident"),
    Key("Anywhere", "P", "write the post-mortem's fields, one at a time", "P", "postmortem", "Post-mortem", "app",
        show=False, palette="Write post-mortem",
        palette_help="Summary, detection, impact, root cause, contributing factors, prevention, lessons"),
    Key("Anywhere", "E", "export the post-mortem", "E", "export", "Export", "app",
        palette="Export post-mortem", palette_help="Write the markdown post-mortem"),
    Key("Anywhere", "W", "build the public status page (exports/statuspage/)", "W", "statuspage", "Status page",
        "app", show=False, palette="Build status page",
        palette_help="HTML, Atom feed and status API JSON from the record, into exports/statuspage/"),
    Key("Anywhere", "b", "runbooks: search, read, Enter runs a step after confirming, U names the runbook in use",
        "b", "runbooks", "Runbooks", "app", palette="Runbooks", palette_help="Read a runbook and run its steps"),
    Key("Anywhere", "", "", palette="Close incident", palette_help="Through the closure checklist"),
    Key("Anywhere", "ctrl+p", "command palette: every action, themes"),
    # --- Moving -------------------------------------------------------------------------
    Key("Moving", "L T H R", "jump to the Logs, Timeline, Health or Roster pane", "L", "focus_pane('logs')", "Logs",
        "app", show=False),
    Key("Moving", "", "", "T", "focus_pane('timeline')", "Timeline", "app", show=False),
    Key("Moving", "", "", "H", "focus_pane('health')", "Health", "app", show=False),
    Key("Moving", "", "", "R", "focus_pane('roster')", "Roster", "app", show=False),
    Key("Moving", "tab / shift+tab", "next / previous pane"),
    Key("Moving", "[ ]", "previous / next tab of the focused pane (Logs sources, Roster / Actions)",
        "left_square_bracket", "cycle_tab(-1)", "Tab", "app", footer_group="tabs"),
    Key("Moving", "", "", "right_square_bracket", "cycle_tab(1)", "Tab", "app", footer_group="tabs"),
    Key("Moving", "1-9", "show a log source: 1 all, 2 the first source, and so on", "1", "log_tab(1)", "Source",
        "app", show=False),
    *(Key("Moving", "", "", str(digit), f"log_tab({digit})", "Source", "app", show=False) for digit in range(2, 10)),
    # --- Timeline -----------------------------------------------------------------------
    # Priority: the input takes focus when the app reads `n`, before the keys typed behind
    # it are handed on (else they would reach the timeline's own keys: `e`, `x`).
    Key("Timeline", "n / i", "type an entry (Enter logs it, the input stays open)", "n,i", "focus_input",
        "Log entry", "app", priority=True),
    Key("Timeline", "HH:MM text", "backdate the entry"),
    Key("Timeline", "! > ?", "decision, action, finding"),
    Key("Timeline", "e", "edit the selected entry", "e", "edit", "Edit entry", "timeline"),
    Key("Timeline", "x", "delete it", "x", "delete", "Delete entry", "timeline"),
    Key("Timeline", "ctrl+z", "undo the delete", "ctrl+z", "undo_delete", "Undo delete", "app", show=False),
    Key("Timeline", "Enter", "details and history; on a folded row, its check flips one by one", "enter",
        "details", "Details", "timeline", show=False),
    Key("Timeline", "f", "show all, people only, or decisions and actions", "f", "cycle_filter", "Filter",
        "timeline"),
    Key("Timeline", "/", "search the timeline as you type (Enter keeps it, Esc clears it)", "slash", "search",
        "Search", "timeline"),
    Key("Timeline", "Esc", "clear the search; fold the check flips opened with Enter", "escape", "clear_search",
        "Clear search", "timeline", show=False),
    Key("Timeline", "ctrl+r", "send again the lines that could not be logged", "ctrl+r", "retry",
        "Retry failed lines", "timeline", show=False),
    # --- Logs ---------------------------------------------------------------------------
    Key("Logs", "", "", "up,k", "cursor(-1)", "Up", "logview", show=False),
    Key("Logs", "", "", "down,j", "cursor(1)", "Down", "logview", show=False),
    Key("Logs", "", "", "pageup", "cursor(-20)", "Page up", "logview", show=False),
    Key("Logs", "", "", "pagedown", "cursor(20)", "Page down", "logview", show=False),
    Key("Logs", "", "", "home", "cursor_home", "Top", "logview", show=False),
    Key("Logs", "", "", "end", "cursor_end", "Bottom", "logview", show=False),
    Key("Logs", "/", "filter (text or regex)", "slash", "filter", "Filter", "logs"),
    Key("Logs", "h", "highlight matches instead of filtering", "h", "highlight", "Highlight", "logs"),
    Key("Logs", "f", "follow or pause", "f", "toggle_follow", "Follow/pause", "logview"),
    Key("Logs", "l", "minimum level", "l", "level", "Min level", "logs"),
    Key("Logs", "p", "pin the selected line to the timeline", "p", "pin", "Pin line", "logview"),
    Key("Logs", "c", "clear", "c", "clear", "Clear", "logview"),
    Key("Logs", "s", "stop the running step (on its tab, or in the runbook screen)", "s", "stop_step",
        "Stop step", "logs"),
    # --- Roster / Actions ---------------------------------------------------------------
    Key("Roster / Actions", "d", "mark the selected action item done (Actions tab)", "d", "mark_done", "Done",
        "actions"),
    # --- Dialogs ------------------------------------------------------------------------
    Key("Dialogs", "Enter", "next field; on the last one it accepts"),
    Key("Dialogs", "ctrl+s", "accept from any field"),
    Key("Dialogs", "Esc", "cancel"),
)
# fmt: on

# The footer lists the app's keys in this order (the table is ordered for the help): `?` and
# `q` first, so that they show at any width (the footer is cut at the right).
_FOOTER_ORDER = (
    "help",
    "quit_console",
    "declare",
    "focus_input",
    "update",
    "advance_status",
    "severity",
    "role",
    "acknowledge",
    "add_action",
    "snooze",
    "switch_incident",
    "runbooks",
    "export",
    "cycle_tab(-1)",
    "cycle_tab(1)",
    "undo_delete",
)


def bindings(scope: str) -> list[BindingType]:
    """The bindings of one scope, for its BINDINGS."""
    rows = [key for key in KEYS if key.scope == scope and key.keys]
    if scope == "app":
        rows.sort(
            key=lambda key: _FOOTER_ORDER.index(key.action) if key.action in _FOOTER_ORDER else len(_FOOTER_ORDER)
        )
    return [key.binding() for key in rows]


def help_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """[(section, [(key as written, what it does), ...]), ...] for the `?` screen."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for key in KEYS:
        rows = sections.setdefault(key.group, [])
        if key.shown:
            rows.append((key.shown, key.help))
    return list(sections.items())


_PALETTE_ORDER = (
    "declare",
    "severity",
    "advance_status",
    "acknowledge",
    "escalate",
    "role",
    "update",
    "snooze",
    "escalate",
    "add_action",
    "switch_incident",
    "postmortem",
    "export",
    "statuspage",
    "runbooks",
    "",
    "help",
)


def palette() -> list[tuple[str, str, str]]:
    """[(title, help, action), ...]: the console's commands in ctrl+p ("" action: the app
    supplies the callback, as for closing an incident)."""
    rows = [(key.palette, key.palette_help, key.action) for key in KEYS if key.palette]
    return sorted(rows, key=lambda row: _PALETTE_ORDER.index(row[2]))
