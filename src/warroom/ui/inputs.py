"""An Input that does what was typed, in the order it was typed, at any speed.

Textual hands a key to the focused widget through its message queue, and runs the key's
bindings (backspace, cursor moves, Enter's submit) only when the key has bubbled back up to
the app, through more queues. A fast typist or a paste is quicker than that trip: the
characters typed after Enter were already in the input when Enter submitted it, and a
backspace deleted a character typed after it. This input runs its own bindings and Enter
the moment it reads the key, before the next one.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from warroom.ui import textual_private

# Enter, and a line feed read as ctrl+j: keys typed before the console has the terminal in raw
# mode (the moment it starts) pass the tty's cooked mode, which turns Enter's CR into LF.
# Typed ahead that way, "one⏎two⏎" ran together as "onetwo" in the input.
ENTER = ("enter", "ctrl+j")


class ExactInput(Input):
    """Input whose editing keys and Enter act in key order."""

    async def _on_key(self, event: events.Key) -> None:  # Input's own handler: textual_private.py
        if event.key in ENTER:
            event.stop()
            event.prevent_default()
            self.submit_now()
            return
        for binding in textual_private.key_bindings(self, event.key):
            if getattr(self, f"action_{binding.action.split('(')[0]}", None) is not None:
                event.stop()
                event.prevent_default()
                textual_private.restart_blink(self)
                await self.run_action(binding.action)
                return
        await super()._on_key(event)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """The keys this input acts on itself (its editing keys) are its own, like text: no
        binding above it runs for them, and the key gate need not wait for them to land."""
        if any(
            getattr(self, f"action_{binding.action.split('(')[0]}", None) is not None
            for binding in textual_private.key_bindings(self, key)
        ):
            return key not in ("enter", "tab", "shift+tab")  # Enter may move on, in a dialog
        return super().check_consume_key(key, character)

    def submit_now(self) -> None:
        """What Enter does: the value as it is now, sent on (the app binding would come late)."""
        validation = self.validate(self.value) if "submitted" in self.validate_on else None
        self.post_message(self.Submitted(self, self.value, validation))
