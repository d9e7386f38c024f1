"""Messages that cross the whole console (those of one widget are nested in its class)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class TailChanged(Message):
    """A log tail has new lines or a new status waiting for the logs pane.

    Posted from the tail's thread on every batch; the lines themselves wait in the tail's
    `PendingLines`, so a burst coalesces: while the console is busy, a newer message for the
    same tail replaces the one not yet handled (`can_replace`, as toolong's PendingLines
    does), and the one that is handled takes every line waiting (at most every 50 ms during
    a flood: see PendingLines.wait_before_taking)."""

    source: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TailChanged) and message.source == self.source
