"""What the timeline shows of its entries: each row's cells, check flips folded, the filter
and the search.

A check that flaps writes a flip every few seconds and drowns what people wrote, so the flips
of one check in a stretch of flips (nothing else between them) fold into one row that says how
many there were, over what span, and where the check stands now; Enter opens the fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from rich.text import Text

from warroom.record.events import parse_time
from warroom.record.model import Entry
from warroom.text import durations
from warroom.ui.view import inert

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
FOLD_PREFIX = "fold:"
COMPACT_WHO = 5  # who wrote it, at 80 columns ("carol", "alic…")

# The filter key cycles these; the pane's title names the one in force.
FILTERS = ("all", "people", "decisions")
FILTER_TITLES = {"all": "", "people": "people only", "decisions": "decisions and actions"}


def flip_check(entry: Entry) -> str | None:
    """The check a flip row is about ("Check checkout-api: up → down"), or None."""
    if entry.auto != "check" or not entry.text.startswith("Check "):
        return None
    name, colon, _rest = entry.text[len("Check ") :].partition(": ")
    return name if colon else None


def shown_by_filter(entry: Entry, mode: str) -> bool:
    if mode == "people":  # what someone typed or pinned, nothing the console wrote by itself
        return not entry.auto or entry.auto == "pin"
    if mode == "decisions":
        return entry.type in ("decision", "action") or entry.auto == "action"
    return True


def shown_by_search(entry: Entry, query: str) -> bool:
    if not query:
        return True
    wanted = query.casefold()
    return wanted in entry.text.casefold() or wanted in entry.author.casefold() or wanted in entry.source.casefold()


@dataclass
class Fold:
    """The flips of one check in one stretch of flips, oldest first."""

    check: str
    entries: list[Entry]

    @property
    def key(self) -> str:
        return FOLD_PREFIX + self.entries[0].id


Item = Entry | Fold


def arrange(entries: list[Entry], expanded: set[str]) -> list[Item]:
    """The rows for entries in time order: in each stretch of flips, a check's flips become
    one Fold, placed at its newest flip (an expanded fold shows its flips one by one there)."""
    items: list[Item] = []
    stretch: dict[str, int] = {}  # check -> index in items, for the current stretch of flips
    for entry in entries:
        check = flip_check(entry)
        if check is None:
            stretch.clear()
            items.append(entry)
            continue
        at = stretch.get(check)
        if at is None:
            stretch[check] = len(items)
            items.append(entry)
            continue
        earlier = items.pop(at)
        fold = earlier if isinstance(earlier, Fold) else Fold(check, [earlier])
        fold.entries.append(entry)
        for name, index in stretch.items():
            if index > at:
                stretch[name] = index - 1
        stretch[check] = len(items)
        items.append(fold)
    out: list[Item] = []
    for item in items:
        if isinstance(item, Fold) and item.key in expanded:
            out.extend(item.entries)
        else:
            out.append(item)
    return out


def _when(entry: Entry, today: date | None, compact: bool) -> str:
    at = parse_time(entry.at)
    if today is not None and at.astimezone().date() != today:
        return at.strftime("%m-%d") if compact else at.strftime("%m-%d %H:%M")
    return at.strftime("%H:%M") if compact else at.strftime("%H:%M:%S")


def _field_time(stored: str, logged: datetime) -> str:
    """A time field's value in the row: its UTC time, with the date when not the row's own day."""
    try:
        when = parse_time(stored)
    except ValueError:
        return stored
    return f"{when:%H:%M} UTC" if when.date() == logged.date() else f"{when:%Y-%m-%d %H:%M} UTC"


def entry_cells(entry: Entry, today: date | None = None, compact: bool = False) -> list[Text]:
    """A row's cells: UTC time, local time, who, icon, text (compact: no local time). A row
    not from `today` (local) carries its date: 12-01 14:05."""
    at = parse_time(entry.at)
    icon = AUTO_ICONS.get(entry.auto, "·") if entry.auto else TYPE_ICONS.get(entry.type, "·")
    lines = entry.text.splitlines() or [""]
    time_field = entry.time_field()
    if time_field is not None:  # "Impact started at: 14:40 UTC", not the stored ISO stamp
        lines = [f"{time_field[0]}: {_field_time(time_field[1], at)}"]
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
    return _row(_when(entry, today, compact), at.astimezone().strftime("%H:%M"), entry.author, icon, text, compact)


def fold_cells(fold: Fold, today: date | None = None, compact: bool = False) -> list[Text]:
    """'checkout-api: 5 flips in 14m 02s (14:02-14:16 UTC), now down (503)  Enter: each'."""
    first, last = fold.entries[0], fold.entries[-1]
    start, end = parse_time(first.at), parse_time(last.at)
    span = durations.span((end - start).total_seconds())
    text = inert(fold.check, limit=60)
    text.append(f": {len(fold.entries)} flips in {span} ({start:%H:%M}-{end:%H:%M} UTC), now ")
    now = last.text.partition("→")[2].strip() or last.text
    text.append_text(inert(now, limit=300))
    text.append("  Enter: each", style="dim")
    text.stylize("italic")
    when = _when(last, today, compact)
    return _row(when, end.astimezone().strftime("%H:%M"), last.author, AUTO_ICONS["check"], text, compact)


def _row(when: str, local: str, author: str, icon: str, text: Text, compact: bool) -> list[Text]:
    text.no_wrap = True
    text.overflow = "ellipsis"  # cut at the pane's width with "…", never silently
    who = inert(author, limit=16)
    who.no_wrap, who.overflow = True, "ellipsis"
    if compact:  # no padding between cells at 80 columns: each cell ends in its own space
        short = who.plain if len(who.plain) <= COMPACT_WHO else who.plain[: COMPACT_WHO - 1] + "…"
        return [Text(f"{when} "), Text(f"{short:<{COMPACT_WHO}} "), Text(f"{icon} "), text]
    return [Text(when), Text(local, style="dim"), who, Text(icon), text]


def item_cells(item: Item, today: date | None, compact: bool) -> list[Text]:
    return fold_cells(item, today, compact) if isinstance(item, Fold) else entry_cells(item, today, compact)


def item_key(item: Item) -> str:
    return item.key if isinstance(item, Fold) else item.id
