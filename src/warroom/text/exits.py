"""How a command ended, in words: `exit 3`, or `stopped (SIGTERM)` when a signal ended it
(a child's status is then the negated signal number, which reads like an error code)."""

from __future__ import annotations

import signal

__all__ = ["exit_words"]


def exit_words(code: int) -> str:
    if code >= 0:
        return f"exit {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    return f"stopped ({name})"
