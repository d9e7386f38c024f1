"""The scribe's one-line input under the timeline.

Nothing typed is lost: the input handles Enter itself, in the order keys arrive, and is
empty again before the next key is read, so a fast typist or a paste never merges, splits,
repeats or drops a line.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message

from warroom.ui.inputs import ENTER, ExactInput


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
        if self.held is not None and key not in ENTER:
            event.stop()
            event.prevent_default()
            self.app.bell()  # a held paste is logged or dropped whole, not edited
            return
        await super()._on_key(event)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Enter and ctrl+l log here and move nothing: the key gate lets them through at the
        typist's pace (Esc leaves the input, so it waits its turn)."""
        if key in (*ENTER, "ctrl+l"):
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
        submit_line = getattr(self.parent, "submit_line", None)  # the timeline pane's
        if submit_line is not None:
            # Handed on by a call, not a message: a message would queue behind every key of a
            # fast burst already in this input's queue, and the line would wait for all of them
            # before reaching the record (benchmarks/bench_typing.py).
            for line in texts:
                submit_line(line)
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
