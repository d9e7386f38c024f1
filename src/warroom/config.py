"""warroom.toml -> frozen dataclasses.

Every error names the file, the key path (`check[2].timeout`) and what is
expected, so the CLI can print one line and exit with status 2.
"""

from __future__ import annotations

import json
import math
import os
import re
import reprlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warroom.paths import DATA_DIR

CONFIG_NAME = "warroom.toml"
DEFAULT_ROLES = ("Incident Commander", "Tech Lead", "Communications Lead", "Scribe")
ROLE_ALIASES = {
    "ic": "Incident Commander", "commander": "Incident Commander",
    "tl": "Tech Lead", "tech": "Tech Lead", "lead": "Tech Lead",
    "comms": "Communications Lead", "cl": "Communications Lead",
    "scribe": "Scribe",
}
DEFAULT_CHECKLIST = (
    "Service restored and verified",
    "Metrics back to normal",
    "No related alerts firing",
    "Status page updated",
    "Stakeholders notified",
    "Timeline documented",
    "Post-mortem scheduled",
)
CHECK_KINDS = ("http", "metrics", "statuspage", "command")


MESSAGE_LIMIT = 400  # characters of an error message: one readable line, even quoting a huge value
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _one_line(text: str) -> str:
    """Inert and short: control characters (a newline, an escape) shown as \\xNN, long text cut."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"


class ConfigError(Exception):
    """A user's configuration mistake: printed as one line, exit status 2."""

    def __init__(self, file: Path | str, key: str, message: str) -> None:
        self.file, self.key, self.message = str(file), _one_line(key), _one_line(message)
        where = f"{self.file}: {self.key}: " if key else f"{self.file}: "
        super().__init__(where + self.message)


def _show(value: Any) -> str:
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
    "every": (0.1, DAY),                 # a check's interval
    "timeout": (0.01, 3600.0),           # a check's deadline
    "max_latency": (0.001, 3600.0),
    "after": (0.0, MAX_DURATION),        # an escalation level; 0s escalates at once
    "acknowledge_within": (60.0, MAX_DURATION),
    "update_every": (60.0, MAX_DURATION),
    "escalate_after": (60.0, MAX_DURATION),
    "postmortem_within": (3600.0, MAX_DURATION),
    "sync_every": (1.0, 3600.0),         # the console's background sync
    "max_clock_drift": (60.0, 30 * DAY), # how far ahead of our clock a pulled stamp is believed
}


def parse_duration(text: Any) -> float:
    """'90s', '15m', '1h', '500ms', '3d' -> seconds. Raises ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"expected a duration like 90s, 15m or 1h, got {_show(text)}")
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration like 90s, 15m or 1h, got {_show(text)}")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"{_show(text)} is too long a duration")
    return seconds


def format_duration(seconds: float) -> str:
    if 0 < seconds < 1:
        return f"{seconds * 1000:g}ms"
    seconds = int(round(seconds))
    if seconds % 86400 == 0 and seconds >= 86400:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"


# --- the dataclasses -----------------------------------------------------


@dataclass(frozen=True)
class SeverityLevel:
    id: str
    label: str
    description: str
    examples: str
    acknowledge_within: float
    update_every: float
    escalate_after: float
    postmortem: str  # required | recommended | optional
    postmortem_within: float | None


@dataclass(frozen=True)
class SeverityProfile:
    name: str
    description: str
    levels: tuple[SeverityLevel, ...]

    def level(self, severity_id: str) -> SeverityLevel | None:
        for level in self.levels:
            if level.id.lower() == severity_id.lower():
                return level
        return None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(level.id for level in self.levels)

    def rank(self, severity_id: str) -> int:
        """0 for the most severe level; unknown ids sort last."""
        for index, level in enumerate(self.levels):
            if level.id.lower() == severity_id.lower():
                return index
        return len(self.levels)


@dataclass(frozen=True)
class CheckConfig:
    name: str
    kind: str
    every: float = 10.0
    timeout: float = 5.0
    url: str = ""
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may hold ${TOKEN}s
    expect_status: int | None = None
    expect_json: tuple[tuple[str, Any], ...] = ()
    max_latency: float | None = None
    sample: str = ""
    down_above: float | None = None
    degraded_above: float | None = None
    command: tuple[str, ...] = ()
    # Why the check never runs, e.g. "ADMIN_TOKEN is not set"; empty when it runs.
    disabled: str = ""


@dataclass(frozen=True)
class LogConfig:
    name: str
    command: tuple[str, ...] = ()
    file: str = ""
    restart: bool = False
    buffer: int = 10_000
    # Why the source is never started, e.g. "LOG_HOST is not set"; empty when it runs.
    disabled: str = ""


@dataclass(frozen=True)
class EscalationLevel:
    after: float
    to: str
    severities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    role: str
    name: str
    reach: str = ""


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    severity: SeverityProfile
    roles: tuple[str, ...] = DEFAULT_ROLES
    checks: tuple[CheckConfig, ...] = ()
    logs: tuple[LogConfig, ...] = ()
    escalation: tuple[EscalationLevel, ...] = ()
    contacts: tuple[Contact, ...] = ()
    checklist: tuple[str, ...] = DEFAULT_CHECKLIST
    db_path: Path = Path("warroom.db")
    runbooks_dir: Path = Path("runbooks")
    templates_dir: Path = Path("templates")
    # Values read from ${ENV}: redacted wherever they would be shown or stored.
    secrets: tuple[str, ...] = field(default=(), repr=False)
    sync_every: float = 15.0          # seconds between the console's background syncs
    max_clock_drift: float = 86400.0  # a pulled stamp further ahead of our clock is quarantined

    @property
    def record_path(self) -> Path:
        """The record this war room's console and commands write: out of git's reach."""
        return self.root / ".warroom" / "record.db"

    def role_name(self, text: str) -> str | None:
        """'ic', 'IC', 'incident commander' -> 'Incident Commander'; None if unknown."""
        wanted = text.strip().lower()
        if wanted in ROLE_ALIASES:
            return ROLE_ALIASES[wanted]
        for role in self.roles:
            if role.lower() == wanted or role.lower().replace(" ", "-") == wanted:
                return role
        return None


# --- loading -------------------------------------------------------------

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _plain_url(key: str, value: str) -> bool:
    """A base URL without credentials, put in a `url` key, is an address, not a secret:
    redacting it would hide which endpoint is down."""
    return key.endswith(".url") and value.startswith(("http://", "https://")) and "@" not in value \
        and "?" not in value


MAX_NAME = 100        # characters of a name: a check, a log source, a role, a level
MAX_TEXT = 10_000     # characters of any other string, as written in the file
MAX_ITEMS = 1_000     # entries in a list of strings (roles, checklist, a command's argv)
MAX_DEPTH = 16        # nesting of expect_json


def _unset(names: list[str]) -> str:
    """["A"] -> "A is not set"; ["A", "B"] -> "A and B are not set"."""
    names = list(dict.fromkeys(names))
    if len(names) == 1:
        return f"{names[0]} is not set"
    return f"{', '.join(names[:-1])} and {names[-1]} are not set"


class _Reader:
    """Walks the parsed TOML, checking types, keys and ranges, interpolating ${ENV}.

    An unset variable is not an error: it is noted in `missing`, the `${NAME}` stays as
    written, and the check or log source that uses it is disabled (see `_check`, `_log`).
    """

    def __init__(self, file: Path, environ: dict[str, str]) -> None:
        self.file = file
        self.environ = environ
        self.secrets: list[str] = []
        self.missing: list[str] = []          # unset variables met by the item being read
        self._from_env: dict[str, str] = {}   # each value interpolated -> its variable's name

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
            for form in (value, repr(value)[1:-1], ascii(value)[1:-1], json.dumps(value)[1:-1],
                         json.dumps(value, ensure_ascii=False)[1:-1]):
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

    def table(self, key: str, value: Any, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {type(value).__name__}")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(key, f"unknown key{'s' if len(unknown) > 1 else ''} "
                                 f"{', '.join(unknown)} (known: {', '.join(sorted(allowed))})")
        missing = sorted(required - set(value))
        if missing:
            prefix = f"{key}." if key else ""
            raise self.fail(prefix + missing[0], "is required")
        return value

    def string(self, key: str, value: Any, env: bool = True, limit: int = MAX_TEXT) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_show(value)}")
        if len(value) > limit:
            raise self.fail(key, f"is {len(value)} characters long; at most {limit} are allowed")
        return self.interpolate(key, value) if env else value

    def name(self, key: str, value: Any, limit: int = MAX_NAME) -> str:
        """A name shown on screen: not empty, one line, not too long."""
        text = self.string(key, value, env=False, limit=limit)
        if not text.strip():
            raise self.fail(key, "must not be empty")
        if _CONTROL.search(text):
            raise self.fail(key, "must be one line without control characters")
        return text

    def path(self, key: str, value: Any, env: bool = True) -> str:
        """A file or folder name: not empty, no control characters (a NUL names no file)."""
        text = self.string(key, value, env=False)
        if not text.strip():
            raise self.fail(key, "must not be empty")
        if _CONTROL.search(text):
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
            raise self.fail(key, f"{_show(value)} is out of range: expected from "
                                 f"{format_duration(low)} to {format_duration(high)}")
        return seconds

    def number(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a number, got {_show(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(key, f"expected a finite number, got {_show(value)}")
        return number

    def array_of_tables(self, key: str, value: Any) -> list[dict]:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"expected [[{key}]] tables")
        return value


def _read_toml(file: Path) -> dict[str, Any]:
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


def bundled_profiles() -> list[str]:
    return sorted(p.stem for p in (DATA_DIR / "severity").glob("*.toml"))


def load_profile(name_or_path: str, relative_to: Path, key: str = "severity_profile") -> SeverityProfile:
    bundled = DATA_DIR / "severity" / f"{name_or_path}.toml"
    try:
        file = bundled if bundled.is_file() else (relative_to / name_or_path).resolve()
        found = file.is_file()
    except (OSError, ValueError):  # a name no path can have: too long, a NUL byte
        found = False
    if not found:
        raise ConfigError(relative_to / "warroom.toml", key,
                          f"no severity profile {_show(name_or_path)}: use one of "
                          f"{', '.join(bundled_profiles())} or a path to a profile file")
    data = _read_toml(file)
    reader = _Reader(file, {})
    reader.table("", data, {"name", "description", "level"}, {"level"})
    levels = []
    for index, raw in enumerate(reader.array_of_tables("level", data["level"])):
        k = f"level[{index}]"
        reader.table(k, raw, {"id", "label", "description", "examples", "acknowledge_within",
                              "update_every", "escalate_after", "postmortem", "postmortem_within"},
                     {"id", "label", "acknowledge_within", "update_every"})
        postmortem = raw.get("postmortem", "optional")
        if postmortem not in ("required", "recommended", "optional"):
            raise reader.fail(f"{k}.postmortem", "expected required, recommended or optional")
        level_id = reader.name(f"{k}.id", raw["id"], limit=20)
        if any(level.id.lower() == level_id.lower() for level in levels):
            raise reader.fail(f"{k}.id", f"duplicate level {level_id!r}: ids must be unique")
        levels.append(SeverityLevel(
            id=level_id,
            label=reader.name(f"{k}.label", raw["label"]),
            description=reader.string(f"{k}.description", raw.get("description", ""), env=False),
            examples=reader.string(f"{k}.examples", raw.get("examples", ""), env=False),
            acknowledge_within=reader.duration(f"{k}.acknowledge_within", raw["acknowledge_within"]),
            update_every=reader.duration(f"{k}.update_every", raw["update_every"]),
            escalate_after=reader.duration(f"{k}.escalate_after", raw.get("escalate_after", "1h")),
            postmortem=postmortem,
            postmortem_within=(reader.duration(f"{k}.postmortem_within", raw["postmortem_within"])
                               if "postmortem_within" in raw else None),
        ))
    if not levels:
        raise reader.fail("level", "a profile needs at least one [[level]]")
    return SeverityProfile(name=reader.string("name", data.get("name", file.stem), env=False),
                           description=reader.string("description", data.get("description", ""), env=False),
                           levels=tuple(levels))


_CHECK_KEYS = {"name", "kind", "every", "timeout", "url", "method", "headers", "expect_status",
               "expect_json", "max_latency", "sample", "down_above", "degraded_above", "command"}


def _check(reader: _Reader, index: int, raw: Any) -> CheckConfig:
    k = f"check[{index}]"
    reader.table(k, raw, _CHECK_KEYS, {"name", "kind"})
    reader.missing = []
    kind = raw["kind"]
    if kind not in CHECK_KINDS:
        raise reader.fail(f"{k}.kind", f"expected one of {', '.join(CHECK_KINDS)}, got {_show(kind)}")
    values: dict[str, Any] = {"name": reader.name(f"{k}.name", raw["name"]), "kind": kind}
    if "every" in raw:
        values["every"] = reader.duration(f"{k}.every", raw["every"])
    if "timeout" in raw:
        values["timeout"] = reader.duration(f"{k}.timeout", raw["timeout"])
    if kind == "command":
        if "command" not in raw:
            raise reader.fail(f"{k}.command", "is required for a command check (an argv list)")
        values["command"] = reader.argv(f"{k}.command", raw["command"])
    else:
        if "url" not in raw:
            raise reader.fail(f"{k}.url", f"is required for a {kind} check")
        unset = len(reader.missing)
        url = reader.string(f"{k}.url", raw["url"])
        # With a variable unset the check is disabled; what it would have been is unknowable.
        if len(reader.missing) == unset and not url.startswith(("http://", "https://")):
            raise reader.fail(f"{k}.url", f"expected an http:// or https:// URL, got {url!r}")
        values["url"] = url
    if "method" in raw:
        method = reader.string(f"{k}.method", raw["method"], env=False)
        if not re.fullmatch(r"[A-Za-z]{1,20}", method):
            raise reader.fail(f"{k}.method", f"expected an HTTP method like GET or HEAD, got {_show(method)}")
        values["method"] = method.upper()
    if "headers" in raw:
        headers = raw["headers"]
        if not isinstance(headers, dict):
            raise reader.fail(f"{k}.headers", "expected a table of header = value")
        if len(headers) > MAX_ITEMS:
            raise reader.fail(f"{k}.headers", f"has {len(headers)} headers; at most {MAX_ITEMS} are allowed")
        for name in headers:
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}", name):
                raise reader.fail(f"{k}.headers", f"{_show(name)} is not a header name")
        for name, value in headers.items():
            if isinstance(value, str) and _CONTROL.sub("", value.replace("\t", " ")) != value.replace("\t", " "):
                raise reader.fail(f"{k}.headers.{name}", "must be one line without control characters")
        values["headers"] = tuple((name, reader.string(f"{k}.headers.{name}", value))
                                  for name, value in headers.items())
    if "expect_status" in raw:
        status = raw["expect_status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise reader.fail(f"{k}.expect_status", f"expected an HTTP status code, got {_show(status)}")
        values["expect_status"] = status
    if "expect_json" in raw:
        expect = raw["expect_json"]
        if not isinstance(expect, dict):
            raise reader.fail(f"{k}.expect_json", 'expected a table like { status = "ok" }')
        values["expect_json"] = tuple(_flatten(reader, f"{k}.expect_json", expect))
    if "max_latency" in raw:
        values["max_latency"] = reader.duration(f"{k}.max_latency", raw["max_latency"])
    if kind == "metrics":
        if "sample" not in raw:
            raise reader.fail(f"{k}.sample", 'is required for a metrics check, e.g. \'error_ratio{service="api"}\'')
        values["sample"] = reader.string(f"{k}.sample", raw["sample"], env=False)
        if not values["sample"].strip():
            raise reader.fail(f"{k}.sample", "must not be empty")
        if "down_above" not in raw and "degraded_above" not in raw:
            raise reader.fail(f"{k}.down_above", "a metrics check needs down_above or degraded_above")
    for key in ("down_above", "degraded_above"):
        if key in raw:
            values[key] = reader.number(f"{k}.{key}", raw[key])
    if reader.missing:
        values["disabled"] = _unset(reader.missing)
    return CheckConfig(**values)


def _flatten(reader: _Reader, key: str, table: dict, prefix: str = "", depth: int = 1) -> list[tuple[str, Any]]:
    """{a = {b = 1}} -> [("a.b", 1)]: dotted paths, as written in TOML."""
    if depth > MAX_DEPTH:
        raise reader.fail(key, f"nested more than {MAX_DEPTH} tables deep")
    out: list[tuple[str, Any]] = []
    for name, value in table.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            out.extend(_flatten(reader, key, value, path + ".", depth + 1))
        else:
            out.append((path, value))
    return out


def _log(reader: _Reader, index: int, raw: Any) -> LogConfig:
    k = f"log[{index}]"
    reader.table(k, raw, {"name", "command", "file", "restart", "buffer"}, {"name"})
    has_command, has_file = "command" in raw, "file" in raw
    if has_command == has_file:
        raise reader.fail(k, "give exactly one of command (an argv list) or file (a path to follow)")
    reader.missing = []
    values: dict[str, Any] = {"name": reader.name(f"{k}.name", raw["name"])}
    if has_command:
        values["command"] = reader.argv(f"{k}.command", raw["command"])
    else:
        values["file"] = reader.path(f"{k}.file", raw["file"])
    if "restart" in raw:
        if not isinstance(raw["restart"], bool):
            raise reader.fail(f"{k}.restart", "expected true or false")
        values["restart"] = raw["restart"]
    if "buffer" in raw:
        buffer = raw["buffer"]
        if isinstance(buffer, bool) or not isinstance(buffer, int) or not 100 <= buffer <= 1_000_000:
            raise reader.fail(f"{k}.buffer", "expected a number of lines from 100 to 1000000")
        values["buffer"] = buffer
    if reader.missing:
        values["disabled"] = _unset(reader.missing)
    return LogConfig(**values)


_TOP_KEYS = {"severity_profile", "roles", "checklist", "check", "log", "escalation", "contact", "paths",
             "sync_every", "max_clock_drift"}


def load(file: Path | str, environ: dict[str, str] | None = None) -> Config:
    file = Path(file).resolve()
    data = _read_toml(file)
    reader = _Reader(file, dict(os.environ) if environ is None else environ)
    reader.table("", data, _TOP_KEYS)
    root = file.parent
    profile = load_profile(reader.path("severity_profile", data.get("severity_profile", "P1-P4"), env=False), root)
    extra_roles = reader.names("roles", data.get("roles", []))
    roles = DEFAULT_ROLES + tuple(dict.fromkeys(r for r in extra_roles if r not in DEFAULT_ROLES))
    checklist = (reader.names("checklist", data["checklist"], limit=500)
                 if "checklist" in data else DEFAULT_CHECKLIST)
    checks = tuple(_check(reader, i, raw)
                   for i, raw in enumerate(reader.array_of_tables("check", data.get("check", []))))
    _unique(reader, "check", [c.name for c in checks])
    logs = tuple(_log(reader, i, raw)
                 for i, raw in enumerate(reader.array_of_tables("log", data.get("log", []))))
    _unique(reader, "log", [s.name for s in logs])
    escalation = []
    for i, raw in enumerate(reader.array_of_tables("escalation", data.get("escalation", []))):
        k = f"escalation[{i}]"
        reader.table(k, raw, {"after", "to", "severities"}, {"after", "to"})
        severities = reader.names(f"{k}.severities", raw.get("severities", []))
        for sev in severities:
            if profile.level(sev) is None:
                raise reader.fail(f"{k}.severities", f"unknown severity {sev!r} "
                                                     f"(the profile has {', '.join(profile.ids)})")
        escalation.append(EscalationLevel(after=reader.duration(f"{k}.after", raw["after"]),
                                          to=reader.name(f"{k}.to", raw["to"]),
                                          severities=severities))
    contacts = []
    for i, raw in enumerate(reader.array_of_tables("contact", data.get("contact", []))):
        k = f"contact[{i}]"
        reader.table(k, raw, {"role", "name", "reach"}, {"role", "name"})
        contacts.append(Contact(role=reader.name(f"{k}.role", raw["role"]),
                                name=reader.name(f"{k}.name", raw["name"]),
                                reach=reader.string(f"{k}.reach", raw.get("reach", ""), env=False, limit=500)))
    paths = reader.table("paths", data.get("paths", {}), {"db", "runbooks", "templates"})
    return Config(
        path=file, root=root, severity=profile, roles=roles, checks=checks, logs=logs,
        escalation=tuple(sorted(escalation, key=lambda e: e.after)), contacts=tuple(contacts),
        checklist=checklist,
        db_path=root / reader.path("paths.db", paths.get("db", "warroom.db"), env=False),
        runbooks_dir=root / reader.path("paths.runbooks", paths.get("runbooks", "runbooks"), env=False),
        templates_dir=root / reader.path("paths.templates", paths.get("templates", "templates"), env=False),
        secrets=tuple(dict.fromkeys(reader.secrets)),
        sync_every=reader.duration("sync_every", data.get("sync_every", "15s")),
        max_clock_drift=reader.duration("max_clock_drift", data.get("max_clock_drift", "24h")),
    )


def _unique(reader: _Reader, key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise reader.fail(f"{key}[{index}].name", f"duplicate name {_show(name)}: names must be unique")
        seen.add(name)


def find(start: Path | str | None = None) -> Path | None:
    """warroom.toml in `start` or the nearest parent, as git finds .git."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None
