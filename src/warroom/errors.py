"""The errors users see, and the exit status each one gives.

Every one prints as a single line (`warroom: ...`) naming the file, key or command and
what to do; none prints a traceback. The command line maps them to exit statuses here,
in one place; the console shows the same line as a notification.
"""

from __future__ import annotations

import re
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1  # it could not be done: a write, a sync, a check that is down
EXIT_USAGE = 2  # the user's mistake: arguments, configuration, a file that is refused
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE): one line, the record untouched
EXIT_INTERRUPTED = 130  # Ctrl-C

MESSAGE_LIMIT = 400  # characters of an error message: one readable line, even quoting a huge value
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """Inert and short: control characters (a newline, an escape) shown as \\xNN, long text cut."""
    text = CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


class WarroomError(Exception):
    """An error the user can act on: one line, and the exit status of its kind."""

    exit_code = EXIT_FAILED


class UsageError(WarroomError):
    """The user asked for something that cannot be done as asked: one line, exit 2."""

    exit_code = EXIT_USAGE


class ConfigError(WarroomError):
    """A user's configuration mistake: printed as one line, exit status 2."""

    exit_code = EXIT_USAGE

    def __init__(self, file: Path | str, key: str, message: str) -> None:
        self.file, self.key, self.message = str(file), one_line(key), one_line(message)
        where = f"{self.file}: {self.key}: " if key else f"{self.file}: "
        super().__init__(where + self.message)


class StoreError(WarroomError):
    """A database problem the user can act on (exit 1, as every WarroomError)."""


class RefusedFile(StoreError):
    """The file given is not a warroom database this version can use: a usage error."""

    exit_code = EXIT_USAGE


class InvalidEvent(StoreError):
    """A value the fold would refuse: refused before it is written, never reported as logged."""

    exit_code = EXIT_USAGE


class SyncError(WarroomError):
    """A sync that could not finish: one line naming the remote or file and what to do.

    The local record is intact when this is raised.
    """

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report
