"""Reading warroom.toml: the TOML itself, durations, and every value checked as it is read.

Every error names the file, the key path (`check[2].timeout`) and what is expected, in
one line (ConfigError); a value from the file is quoted bounded, a secret never.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
import tomllib
from pathlib import Path
from typing import Any

from warroom.errors import CONTROL, ConfigError
from warroom.text import durations


def show_value(value: Any) -> str:
    """A value from the TOML file as an error quotes it: bounded in depth and length."""
    return _SHOW.repr(value)


_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother, _SHOW.maxlist, _SHOW.maxdict = 3, 80, 80, 6, 6


# --- durations -----------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
DAY = 86400.0
MAX_DURATION = 365 * DAY  # no duration in a war room's configuration is longer than a year

# The range each duration key may take, (shortest, longest), in seconds.
DURATION_RANGES = {
    "every": (0.1, DAY),  # a check's interval
    "timeout": (0.01, 3600.0),  # a check's deadline
    "max_latency": (0.001, 3600.0),
    "after": (0.0, MAX_DURATION),  # an escalation level; 0s escalates at once
    "acknowledge_within": (60.0, MAX_DURATION),
    "update_every": (60.0, MAX_DURATION),
    "escalate_after": (60.0, MAX_DURATION),
    "postmortem_within": (3600.0, MAX_DURATION),
}


def parse_duration(text: Any) -> float:
    """'90s', '15m', '1h', '500ms', '3d' -> seconds. Raises ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"expected a duration like 90s, 15m or 1h, got {show_value(text)}")
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration like 90s, 15m or 1h, got {show_value(text)}")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"{show_value(text)} is too long a duration")
    return seconds


# --- loading -------------------------------------------------------------

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _plain_url(key: str, value: str) -> bool:
    """A base URL without credentials, put in a `url` key, is an address, not a secret:
    redacting it would hide which endpoint is down."""
    return key.endswith(".url") and value.startswith(("http://", "https://")) and "@" not in value and "?" not in value


MAX_NAME = 100  # characters of a name: a check, a log source, a role, a level
MAX_TEXT = 10_000  # characters of any other string, as written in the file
MAX_ITEMS = 1_000  # entries in a list of strings (roles, checklist, a command's argv)
MAX_DEPTH = 16  # nesting of expect_json


def unset_names(names: list[str]) -> str:
    """["A"] -> "A is not set"; ["A", "B"] -> "A and B are not set"."""
    names = list(dict.fromkeys(names))
    if len(names) == 1:
        return f"{names[0]} is not set"
    return f"{', '.join(names[:-1])} and {names[-1]} are not set"


class Reader:
    """Walks the parsed TOML, checking types, keys and ranges, interpolating ${ENV}.

    An unset variable is not an error: it is noted in `missing`, the `${NAME}` stays as
    written, and the check or log source that uses it is disabled (see `_check`, `_log`).
    """

    def __init__(self, file: Path, environ: dict[str, str]) -> None:
        self.file = file
        self.environ = environ
        self.secrets: list[str] = []
        self.missing: list[str] = []  # unset variables met by the item being read
        self._from_env: dict[str, str] = {}  # each value interpolated -> its variable's name

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.file, key, self.hide(message))

    def hide(self, text: str) -> str:
        """The one rule for every error this reader raises: a value that came from the
        environment is never quoted; `${NAME}` stands in its place. Its escaped forms
        (repr, ascii, JSON) are caught too, so quoting with !r cannot slip one through."""
        if not self._from_env:
            return text
        forms: dict[str, str] = {}
        for value, name in self._from_env.items():
            for form in (
                value,
                repr(value)[1:-1],
                ascii(value)[1:-1],
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
            ):
                if form:
                    forms.setdefault(form, "${" + name + "}")
        pattern = re.compile("|".join(map(re.escape, sorted(forms, key=len, reverse=True))))
        return pattern.sub(lambda match: forms[match.group()], text)

    def interpolate(self, key: str, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            value = self.environ.get(name)
            if value is None:
                self.missing.append(name)
                return match.group()
            if value:
                self._from_env[value] = name
            if value and len(value) >= 4 and not _plain_url(key, value):
                self.secrets.append(value)
            return value

        return _ENV.sub(replace, text)

    def table(
        self, key: str, value: Any, allowed: set[str], required: frozenset[str] | set[str] = frozenset()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {type(value).__name__}")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(
                key,
                f"unknown key{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)} (known: {', '.join(sorted(allowed))})",
            )
        missing = sorted(required - set(value))
        if missing:
            prefix = f"{key}." if key else ""
            raise self.fail(prefix + missing[0], "is required")
        return value

    def string(self, key: str, value: Any, env: bool = True, limit: int = MAX_TEXT) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {show_value(value)}")
        if len(value) > limit:
            raise self.fail(key, f"is {len(value)} characters long; at most {limit} are allowed")
        return self.interpolate(key, value) if env else value

    def name(self, key: str, value: Any, limit: int = MAX_NAME) -> str:
        """A name shown on screen: not empty, one line, not too long."""
        text = self.string(key, value, env=False, limit=limit)
        if not text.strip():
            raise self.fail(key, "must not be empty")
        if CONTROL.search(text):
            raise self.fail(key, "must be one line without control characters")
        return text

    def path(self, key: str, value: Any, env: bool = True) -> str:
        """A file or folder name: not empty, no control characters (a NUL names no file)."""
        text = self.string(key, value, env=False)
        if not text.strip():
            raise self.fail(key, "must not be empty")
        if CONTROL.search(text):
            raise self.fail(key, "must not contain control characters")
        return self.interpolate(key, text) if env else text

    def strings(self, key: str, value: Any, env: bool = True) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "expected a list of strings")
        if len(value) > MAX_ITEMS:
            raise self.fail(key, f"has {len(value)} entries; at most {MAX_ITEMS} are allowed")
        return tuple(self.string(f"{key}[{i}]", v, env) for i, v in enumerate(value))

    def names(self, key: str, value: Any, limit: int = MAX_NAME) -> tuple[str, ...]:
        items = self.strings(key, value, env=False)
        return tuple(self.name(f"{key}[{i}]", v, limit) for i, v in enumerate(items))

    def argv(self, key: str, value: Any) -> tuple[str, ...]:
        """A command: a non-empty list of strings, none with a NUL byte (no program takes one)."""
        argv = self.strings(key, value, env=False)
        if not argv:
            raise self.fail(key, "must not be empty")
        for i, arg in enumerate(argv):
            if "\x00" in arg:
                raise self.fail(f"{key}[{i}]", "must not contain a NUL character")
        if not argv[0].strip():
            raise self.fail(f"{key}[0]", "must name a program")
        return tuple(self.interpolate(f"{key}[{i}]", arg) for i, arg in enumerate(argv))

    def duration(self, key: str, value: Any) -> float:
        """A duration within the range its key allows (DURATION_RANGES, by the key's last part)."""
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None
        low, high = DURATION_RANGES.get(key.rsplit(".", 1)[-1], (0.0, MAX_DURATION))
        if not low <= seconds <= high:
            raise self.fail(
                key,
                f"{show_value(value)} is out of range: expected from "
                f"{durations.config_form(low)} to {durations.config_form(high)}",
            )
        return seconds

    def number(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a number, got {show_value(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(key, f"expected a finite number, got {show_value(value)}")
        return number

    def array_of_tables(self, key: str, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"expected [[{key}]] tables")
        return value


def read_toml(file: Path) -> dict[str, Any]:
    try:
        with open(file, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(file, "", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(file, "", "not valid TOML for warroom: arrays or tables nested too deeply") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "", f"cannot read: {exc}") from None
    except ValueError as exc:  # an integer of thousands of digits, a NUL in the name
        raise ConfigError(file, "", f"not valid TOML for warroom: {exc}") from None
    except MemoryError:
        raise ConfigError(file, "", "too large to read") from None
