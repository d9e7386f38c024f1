"""One tailed log: a Line API view over a bounded buffer, with filter, level, follow and a cursor.

Lines arrive already sanitized and redacted (sources/logs.py); they are drawn as
Text, never as markup. Only the visible rows are rendered, so a flood costs the
UI a repaint per frame, not a widget per line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, NamedTuple

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from warroom.sources.parse import LogLine, level_rank
from warroom.ui import keys, textual_private

LEVEL_TAGS = {"error": "ERR", "warn": "WRN", "info": "INF", "debug": "DBG", None: "   "}
CURSOR_STYLE = Style(reverse=True)
_NULL = Style.null()
_DIM = Style.parse("dim")
_CYAN = Style.parse("cyan")
MATCH_STYLE = Style(bgcolor="dark_goldenrod", color="black")
PIN_CONTEXT = 5  # lines kept before and after a pinned line
# The level word a plain-text line starts with ("INFO job 48201 ..."): the level column says it
# already, so the text does not say it again.
_LEADING_LEVEL = re.compile(r"\[?(?:ERROR|ERR|FATAL|CRITICAL|WARN(?:ING)?|INFO|DEBUG)\]?:?(?: +|$)")
ARRIVALS_KEPT = 4096  # arrival times kept, one per batch of lines


class Palette(NamedTuple):
    """The log's colours, from the theme (a light theme gets dark reds, not the terminal's)."""

    levels: dict[str | None, Style]
    own_time: Style  # a time the line carries
    arrival: Style  # the arrival time of a line that carries none
    source: Style
    match: Style


def palette_for(theme: Any) -> Palette:
    error = Style(color=theme.error, bold=True) if theme.error else Style(color="red", bold=True)
    warn = Style(color=theme.warning) if theme.warning else Style(color="yellow")
    levels = {"error": error, "warn": warn, "info": _NULL, "debug": Style(dim=True), None: _NULL}
    source = Style(color=theme.primary) if theme.primary else Style(color="cyan")
    match = Style(bgcolor=theme.accent or "dark_goldenrod", color="black")
    return Palette(levels, _NULL, Style(dim=True, italic=True), source, match)


def shown_text(line: Any) -> str:
    """The line's text without the level word it starts with (the level column shows it)."""
    text = line.text
    if line.level is not None and text[:1] in "[EFCWID":
        leading = _LEADING_LEVEL.match(text)
        if leading is not None:
            return text[leading.end() :]
    return text


class LogView(ScrollView, can_focus=True):
    BINDINGS = keys.bindings("logview")  # the key table: ui/keys.py

    follow: reactive[bool] = reactive(True)

    @dataclass
    class Pinned(Message):
        line: LogLine
        before: list[str]  # the texts of up to PIN_CONTEXT lines of its log around it
        after: list[str]

    @dataclass
    class Changed(Message):
        """Counts changed (for the tab's status line)."""

        view: LogView

    def __init__(self, name: str, buffer: int = 10_000, show_source: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source_name = name
        self.buffer_lines: deque[Any] = deque(maxlen=buffer)
        self.show_source = show_source
        self.shown: list[Any] = []
        self.filter_text = ""
        self.pattern: re.Pattern[str] | None = None
        self.highlight_only = False
        self.min_level = "debug"
        self.cursor = -1  # index into visible; -1 = follow the end
        self.total = 0
        self.folded = 0
        self.arrived_while_paused = 0
        self.status = "not started"
        self._stale = False  # lines arrived while hidden: size and scroll catch up on show
        self._change_queued = False  # a Changed message is on its way: one is enough
        # When each batch arrived (its first line's seq, the time): the time column of a line
        # that carries no time of its own shows when it came, so the columns line up.
        self._arrival_seqs: list[int] = []
        self._arrival_times: list[str] = []
        self._palette: tuple[str, Palette] | None = None

    # --- feeding -----------------------------------------------------------

    def add_lines(self, lines: Iterable) -> None:
        lines = list(lines)
        if not lines:
            return
        self._note_arrival(lines[0].seq)
        bound = self.buffer_lines.maxlen or len(lines)
        overflow = max(0, len(self.buffer_lines) + len(lines) - bound)
        self.total += len(lines)
        self.folded += overflow
        everything = self.pattern is None and self.min_level == "debug"
        # Lines about to leave the buffer leave the view too: count the shown ones (they are
        # the first of `shown`, in order) instead of refiltering the whole buffer per batch.
        leaving = min(overflow, len(self.buffer_lines))
        if everything:
            gone = leaving
        else:
            gone = sum(1 for line in islice(self.buffer_lines, leaving) if self._passes(line))
        self.buffer_lines.extend(lines)
        if not self.follow:
            self.arrived_while_paused += len(lines)
        if gone:
            del self.shown[:gone]
            if self.cursor >= 0:
                self.cursor = max(0, self.cursor - gone)
        kept = lines[-bound:]
        self.shown.extend(kept if everything else [line for line in kept if self._passes(line)])
        if not self.is_mounted or self._hidden():
            # Not on screen (an inactive tab, or not mounted yet): no geometry to ask for and
            # nothing to repaint (asking a hidden widget for its size makes the compositor lay
            # out the whole screen again). Size and scroll catch up when it is shown.
            self._stale = True
            self._post_changed()
        else:
            self._update_size()

    def _note_arrival(self, seq: int) -> None:
        try:
            clock = getattr(self.app, "clock", None)
        except Exception:  # noqa: BLE001 - not attached to an app yet (lines before mounting)
            clock = None
        now = clock.now() if clock is not None else datetime.now(UTC)
        if len(self._arrival_seqs) >= ARRIVALS_KEPT:
            del self._arrival_seqs[: ARRIVALS_KEPT // 2], self._arrival_times[: ARRIVALS_KEPT // 2]
        self._arrival_seqs.append(seq)
        self._arrival_times.append(now.strftime("%H:%M:%S "))

    def arrived(self, line: Any) -> str:
        """'14:05:03 ': when the batch holding the line arrived (the oldest kept, if older)."""
        index = bisect_right(self._arrival_seqs, line.seq) - 1
        if not self._arrival_times:
            return " " * 9
        return self._arrival_times[max(0, index)]

    def palette(self) -> Palette:
        theme = self.app.current_theme
        if self._palette is None or self._palette[0] != theme.name:
            self._palette = (theme.name, palette_for(theme))
        return self._palette[1]

    def _hidden(self) -> bool:
        """True when this view or one of its containers is not displayed (an inactive tab)."""
        node: Any = self
        while node is not None:
            styles = getattr(node, "styles", None)
            if styles is not None and styles.display == "none":
                return True
            node = node.parent
        return False

    def on_show(self) -> None:
        if self._stale:
            self._stale = False
            self._update_size()

    def _passes(self, line) -> bool:
        if level_rank(line.level) < level_rank(self.min_level) and line.level is not None:
            return False
        if self.pattern is not None and not self.highlight_only:
            return bool(self.pattern.search(line.text))
        return True

    def _refilter(self) -> None:
        self.shown = [line for line in self.buffer_lines if self._passes(line)]
        if self.cursor >= len(self.shown):
            self.cursor = len(self.shown) - 1

    def _update_size(self) -> None:
        size = Size(self.size.width, len(self.shown))
        if size != self.virtual_size:
            # Not `self.virtual_size = size`: that reactive asks for a layout pass of the whole
            # screen (tens of ms), and this view's height is fixed by the stylesheet, whatever
            # it holds. The scrollbars follow (showing one still takes a layout pass).
            textual_private.set_virtual_size(self, size)
        if self.follow:
            self.scroll_end(animate=False, immediate=False, x_axis=False)
        self.refresh()
        self._post_changed()

    def _post_changed(self) -> None:
        if not self._change_queued:
            self._change_queued = True
            self.post_message(self.Changed(self))

    def on_log_view_changed(self, event: LogView.Changed) -> None:
        # This view sees its own message first; it then bubbles up to the pane, which reads
        # the counts as they are by then. A change after this point sends a new message.
        if event.view is self:
            self._change_queued = False

    # --- controls ------------------------------------------------------------

    def set_filter(self, text: str, highlight: bool | None = None) -> str | None:
        """Plain text or a regex. Returns an error message for an invalid regex (nothing changes)."""
        if text:
            try:
                pattern = re.compile(text, re.IGNORECASE)
            except re.error as exc:
                try:
                    pattern = re.compile(re.escape(text), re.IGNORECASE)
                except re.error:
                    return f"invalid filter {text!r}: {exc}"
                self.pattern, self.filter_text = pattern, text
                self._after_filter(highlight)
                return f"not a valid regex ({exc}); matching it as plain text"
            self.pattern = pattern
        else:
            self.pattern = None
        self.filter_text = text
        self._after_filter(highlight)
        return None

    def _after_filter(self, highlight: bool | None) -> None:
        if highlight is not None:
            self.highlight_only = highlight
        self._refilter()
        self._update_size()

    def toggle_highlight(self) -> None:
        self.highlight_only = not self.highlight_only
        self._refilter()
        self._update_size()

    def set_min_level(self, level: str) -> None:
        self.min_level = level
        self._refilter()
        self._update_size()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.arrived_while_paused = 0
            self.cursor = -1
            self.scroll_end(animate=False, immediate=False, x_axis=False)
        self.refresh()
        self._post_changed()

    def action_clear(self) -> None:
        self.buffer_lines.clear()
        self.shown = []
        self.cursor = -1
        self.folded = 0
        self._update_size()

    def action_cursor(self, delta: int) -> None:
        if not self.shown:
            return
        current = self.cursor if self.cursor >= 0 else len(self.shown) - 1
        self.cursor = max(0, min(len(self.shown) - 1, current + delta))
        if self.cursor < len(self.shown) - 1:
            self.follow = False
        self.scroll_to_region_of_cursor()
        self.refresh()

    def action_cursor_home(self) -> None:
        self.action_cursor(-len(self.shown))

    def action_cursor_end(self) -> None:
        self.follow = True

    def scroll_to_region_of_cursor(self) -> None:
        height = self.scrollable_content_region.height
        if self.cursor < self.scroll_y:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= self.scroll_y + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def selected_line(self):
        if not self.shown:
            return None
        index = self.cursor if self.cursor >= 0 else len(self.shown) - 1
        return self.shown[index]

    def action_pin(self) -> None:
        line = self.selected_line()
        if line is not None:
            before, after = self.neighbours(line)
            self.post_message(self.Pinned(line, before, after))

    def neighbours(self, line: LogLine, count: int = PIN_CONTEXT) -> tuple[list[str], list[str]]:
        """The texts of the `count` lines of the same log before and after `line` in the buffer
        (whatever the filter shows): the excerpt a post-mortem reader needs around a pinned line."""
        buffered = self.buffer_lines
        back = next((n for n, held in enumerate(reversed(buffered)) if held is line), None)
        if back is None:
            return [], []
        index = len(buffered) - 1 - back
        same = line.source
        earlier = (held.text for held in islice(reversed(buffered), back + 1, None) if held.source == same)
        later = (held.text for held in islice(buffered, index + 1, None) if held.source == same)
        return list(islice(earlier, count))[::-1], list(islice(later, count))

    # --- drawing ---------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= len(self.shown):
            return Strip.blank(width, self.rich_style)
        line = self.shown[index]
        if self.pattern is None and index != (self.cursor if self.cursor >= 0 else -2):
            segments = self.line_segments(line)
        else:
            text = self.line_text(line)
            if index == (self.cursor if self.cursor >= 0 else -2):
                text.stylize(CURSOR_STYLE)
            segments = list(text.render(self.app.console))
        # the widget's own colours (the theme's) under the line's: never the terminal's defaults
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, None).apply_style(self.rich_style)

    def line_segments(self, line) -> list[Segment]:
        """`line_text(line).render(console)` without building a Text: the same segments, split
        where Text.render splits them (at each styled span's edges; unstyled neighbours run
        together). For a row with no match to mark and no cursor: most rows, every frame."""
        colours = self.palette()
        level = line.level
        level_style = colours.levels.get(level, _NULL)
        segments = []
        if line.at is not None:
            plain = line.at.strftime("%H:%M:%S ")
        else:
            segments.append(Segment(self.arrived(line), colours.arrival))
            plain = ""
        plain += LEVEL_TAGS.get(level, "   ") + " "
        if level_style:
            if plain[:-4]:
                segments.append(Segment(plain[:-4], _NULL))
            segments.append(Segment(plain[-4:], level_style))
            plain = ""
        if self.show_source:
            if plain:
                segments.append(Segment(plain, _NULL))
                plain = ""
            segments.append(Segment(f"{line.source[:10]:<10} ", colours.source))
        body = shown_text(line)
        if level == "error" and level_style:
            if plain:
                segments.append(Segment(plain, _NULL))
                plain = ""
            if body:
                segments.append(Segment(body, level_style))
        else:
            plain += body
        if not segments:
            return [Segment(plain)]  # no styled span at all: Text.render gives one bare segment
        if plain:
            segments.append(Segment(plain, _NULL))
        return segments

    def line_text(self, line) -> Text:
        colours = self.palette()
        level_style = colours.levels.get(line.level, _NULL)
        text = Text(no_wrap=True, end="")
        if line.at is not None:
            text.append(line.at.strftime("%H:%M:%S "))
        else:
            text.append(self.arrived(line), style=colours.arrival)
        text.append(LEVEL_TAGS.get(line.level, "   ") + " ", style=level_style)
        if self.show_source:
            text.append(f"{line.source[:10]:<10} ", style=colours.source)
        shown = shown_text(line)
        body = Text(shown, style=level_style if line.level == "error" else "")
        if self.pattern is not None:
            for match in self.pattern.finditer(shown):
                if match.end() > match.start():
                    body.stylize(colours.match, match.start(), match.end())
        text.append_text(body)
        return text

    def status_line(self) -> str:
        parts = [f"{self.total:,} lines"]
        if self.folded:
            parts.append(f"{self.folded:,} folded (over the {self.buffer_lines.maxlen:,}-line buffer)")
        if not self.follow:
            parts.append(f"PAUSED, {self.arrived_while_paused:,} new")
        if self.pattern is not None:
            parts.append(("highlight " if self.highlight_only else "filter ") + f"“{self.filter_text}”")  # as typed
        if self.min_level != "debug":
            parts.append(f"level >= {self.min_level}")
        parts.append(self.status)
        return " · ".join(parts)
