"""Start-up tuning: every trick that makes the console's first frame come sooner, in one place.

Each is measured by benchmarks/bench_console.py (time to first frame); each has one reason,
given where it is done. Nothing here imports Textual at import time: `pause_collector` must
run before Textual is first imported.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App

    _Base = App[int]
else:
    _Base = object


def pause_collector() -> None:
    """Called before Textual is imported. Start-up makes a great many long-lived objects
    (Textual's classes, the stylesheet): hunting cycles among them costs a sixth of the time
    to the first frame, and every later full collection would scan them again."""
    gc.disable()


def share_the_interpreter() -> None:
    """Called when the console mounts. The recorder's thread commits a typed line while the UI
    thread reads keys; at Python's default switch interval (5 ms) the recorder waited up to that
    long for the interpreter lock at each of its SQLite calls, so a line took tens of
    milliseconds to be durable during a burst. A shorter interval hands the lock over sooner
    (benchmarks/bench_typing.py: Enter to durable)."""
    import sys

    sys.setswitchinterval(0.0005)


def after_first_frame() -> None:
    """Called once the first frame is painted: what start-up made is frozen out of later
    collections, and collections are rarer: each full one pauses the screen for tens of
    milliseconds (every fold of the record makes thousands of long-lived objects), and at
    the default pace one landed on a keystroke in fifty while a scribe typed."""
    if not gc.isenabled():  # paused by pause_collector (the `warroom` command; tests do not)
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)
        gc.enable()


class QuickStyles(_Base):
    """Mixed into the app: the stylesheet is parsed once, with the chosen theme."""

    _css_fresh = False

    def choose_theme_early(self) -> None:
        """Called in the app's __init__. The theme is chosen before the stylesheet is first
        parsed: choosing it in on_mount restyles every widget a second time, a fifth of the
        time to the first frame. The stylesheet gets the theme's variables now, so the
        refresh that the change queues has nothing left to do (see refresh_css)."""
        from warroom.ui.themes import DEFAULT_THEME, load_themes, saved_theme

        for theme in load_themes():
            self.register_theme(theme)
        chosen = saved_theme()
        before = self.theme
        self.theme = chosen if chosen in self.available_themes else DEFAULT_THEME
        self.stylesheet.set_variables(self.get_css_variables())
        self._css_fresh = self.theme != before

    def refresh_css(self, animate: bool = True) -> None:
        """Skips the one refresh that choosing the theme in __init__ queued: it would parse
        all the CSS again for nothing. Leans on Textual queueing exactly one refresh_css for
        a theme change made before the app runs; tests/test_snapshots.py shows the theme."""
        if self._css_fresh:
            self._css_fresh = False
            return
        super().refresh_css(animate)
