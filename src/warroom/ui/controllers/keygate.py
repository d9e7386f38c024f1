"""Keys one at a time: a key typed ahead waits until the key before it has landed.

Textual hands each key to the focused widget as soon as the app reads it, and a key's
bindings run only when it comes back up to the app. When keys arrive together (a fast
typist, a paste, tmux, a slow frame), the next ones are handed out before the previous
one has had its effect:

- the title typed right after `D` goes to the main screen, and by the time it comes back
  up the dialog is open, which drops it;
- the severity digit, Enter and the impact typed after the title's Enter all land in the
  title field, since the focus has not moved yet;
- the keys typed right after the Enter that closes a dialog are read by the dialog.

The gate holds each key (and paste) until everything the one before it set moving has
settled: the widget it went to and that widget's ancestors have handled their messages,
the screen it opened is mounted and has its focus, and the callbacks it scheduled (a
dismissed dialog's result, an after-refresh) have run. Then the next key goes to whatever
has the focus by then, exactly as if it had been typed slowly. Nothing is dropped: a key
held longer than LIMIT (something never settles) goes on regardless.

One exception keeps bursts of text fast: a printable key that the focused field takes as
text (and the one before it did the same, into the same field) goes straight in, since it
runs no binding and cannot move anything. Enter, Tab, arrows, keys to lists and screens
all wait their turn.

This leans on Textual internals (each message pump's queue, its call_next callbacks, a
screen's after-refresh callbacks), read through ui/textual_private.py; if a Textual
upgrade renames them, tests/test_textual_private.py fails.

An action that opens its screen only once something else has answered (the recorder
thread, say) holds the gate meanwhile (`hold()`), so that the keys typed after it wait
for that screen.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual import events

from warroom.ui.textual_private import busy, has_refresh_callbacks

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump
    from textual.widget import Widget

LIMIT = 2.0  # seconds a key waits at most for the one before it
SPINS = 200  # loop turns checked back to back before waiting 2 ms between checks


def settled(app: App[Any], touched: Iterable[MessagePump] = ()) -> bool:
    """Nothing is left moving that could change where the next key goes."""
    try:
        screen = app.screen
    except Exception:  # noqa: BLE001 - no screen yet, or the app is closing
        return True
    if not screen.is_mounted or has_refresh_callbacks(screen):
        return False
    pumps: set[MessagePump] = {app, screen, *touched}
    focused = screen.focused
    if focused is not None:
        pumps.update(focused.ancestors_with_self)
    return not any(busy(pump) for pump in pumps)


class KeyGate:
    """Holds typed-ahead keys and pastes; `admit` is called by the app for every event."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.held: deque[events.Event] = deque()
        self.passing: deque[events.Event] = deque()  # held text let through at once, in order
        self.releasing: events.Event | None = None
        self.in_flight = False
        self.touched: list[MessagePump] = []
        self.task: asyncio.Task[Any] | None = None
        self.holds: set[object] = set()
        self.consumer: Widget | None = None  # the field the key in flight was typed into, if text

    def hold(self) -> Callable[[], None]:
        """Keep keys back until the returned function is called (or LIMIT has passed)."""
        token = object()
        self.holds.add(token)
        return lambda: self.holds.discard(token)

    @staticmethod
    def consumed(widget: Widget | None, event: events.Event) -> bool:
        """Does `widget` take `event` as text (a printable key into a field)? Such a key runs
        no binding (the field's ancestors' bindings for it are masked), so it moves no focus
        and opens or closes nothing."""
        return (
            widget is not None
            and isinstance(event, events.Key)
            and widget.check_consume_key(event.key, event.character)
        )

    def types_into_same_field(self, event: events.Event) -> bool:
        """Text typed right behind text into the same field needs no wait: a burst of
        characters goes in as fast as it came (only Enter, Tab and the like wait)."""
        return (
            self.in_flight
            and not self.held
            and not self.holds
            and self.consumer is not None
            and self.app.focused is self.consumer
            and self.consumed(self.consumer, event)
        )

    def admit(self, event: events.Event) -> bool:
        """True: let the app handle `event` now. False: it is held and comes back later."""
        if not isinstance(event, (events.Key, events.Paste)) or event.is_forwarded:
            return True
        if self.passing and event is self.passing[0]:
            self.passing.popleft()
            return True
        if event is self.releasing:
            self.releasing = None
        elif self.types_into_same_field(event):
            return True  # text into the field the last key went to: it cannot move anything
        elif self.in_flight or self.held or self.holds:
            self.held.append(event)
            if not self.in_flight:  # only a hold keeps it back: wait for that
                self.in_flight = True
                self.touched = []
                self.task = asyncio.get_running_loop().create_task(self.wait_then_release())
            return False
        try:
            target = self.app.focused or self.app.screen
            self.touched = list(target.ancestors_with_self)
        except Exception:  # noqa: BLE001 - no screen yet
            self.touched = []
        self.consumer = self.app.focused if self.consumed(self.app.focused, event) else None
        self.in_flight = True
        self.task = asyncio.get_running_loop().create_task(self.wait_then_release())
        return True

    async def wait_then_release(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LIMIT
        spins = 0
        while (self.holds or not settled(self.app, self.touched)) and loop.time() < deadline:
            await asyncio.sleep(0 if spins < SPINS else 0.002)
            spins += 1
        self.touched = []
        self.consumer = None
        self.holds.clear()  # past LIMIT a hold is forgotten: keys must not stay stuck
        if self.held and self.app.is_running:
            # A run of text into a field that keeps the focus whatever it is sent (the timeline's
            # input: its Enter logs and stays) goes on at once, in order: a burst typed behind a
            # key that had to wait must not crawl one key a turn. (In a dialog, Enter moves to the
            # next field, so its keys keep waiting their turn.)
            focused = self.app.focused
            while (
                len(self.held) > 1 and getattr(focused, "keeps_focus", False) and self.consumed(focused, self.held[0])
            ):
                event = self.held.popleft()
                self.passing.append(event)
                self.app.post_message(event)
            self.releasing = self.held.popleft()
            if self.app.post_message(self.releasing):
                return
            self.held.clear()  # the app is closing: nothing will read them
        self.releasing = None
        self.in_flight = False
