"""warroom.toml -> frozen dataclasses.

Every error names the file, the key path (`check[2].timeout`) and what is
expected, so the CLI can print one line and exit with status 2.
"""

from __future__ import annotations

import os
import re
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


class ConfigError(Exception):
    """A user's configuration mistake: printed as one line, exit status 2."""

    def __init__(self, file: Path | str, key: str, message: str) -> None:
        self.file, self.key, self.message = str(file), key, message
        where = f"{self.file}: {key}: " if key else f"{self.file}: "
        super().__init__(where + message)


# --- durations -----------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: Any) -> float:
    """'90s', '15m', '1h', '500ms', '3d' -> seconds. Raises ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"expected a duration like 90s, 15m or 1h, got {text!r}")
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration like 90s, 15m or 1h, got {text!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: float) -> str:
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


@dataclass(frozen=True)
class LogConfig:
    name: str
    command: tuple[str, ...] = ()
    file: str = ""
    restart: bool = False
    buffer: int = 10_000


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


class _Reader:
    """Walks the parsed TOML, checking types and keys, interpolating ${ENV}."""

    def __init__(self, file: Path, environ: dict[str, str]) -> None:
        self.file = file
        self.environ = environ
        self.secrets: list[str] = []

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.file, key, message)

    def interpolate(self, key: str, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.environ:
                raise self.fail(key, f"environment variable {name} is not set "
                                     f"(export {name}=... before starting warroom)")
            value = self.environ[name]
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

    def string(self, key: str, value: Any, env: bool = True) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {value!r}")
        return self.interpolate(key, value) if env else value

    def strings(self, key: str, value: Any, env: bool = True) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "expected a list of strings")
        return tuple(self.interpolate(f"{key}[{i}]", v) if env else v for i, v in enumerate(value))

    def duration(self, key: str, value: Any) -> float:
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None
        return seconds

    def number(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a number, got {value!r}")
        return float(value)

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
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "", f"cannot read: {exc}") from None


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
                          f"no severity profile {name_or_path!r}: use one of "
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
        levels.append(SeverityLevel(
            id=reader.string(f"{k}.id", raw["id"], env=False),
            label=reader.string(f"{k}.label", raw["label"], env=False),
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
    return SeverityProfile(name=str(data.get("name", file.stem)),
                           description=str(data.get("description", "")), levels=tuple(levels))


_CHECK_KEYS = {"name", "kind", "every", "timeout", "url", "method", "headers", "expect_status",
               "expect_json", "max_latency", "sample", "down_above", "degraded_above", "command"}


def _check(reader: _Reader, index: int, raw: Any) -> CheckConfig:
    k = f"check[{index}]"
    reader.table(k, raw, _CHECK_KEYS, {"name", "kind"})
    kind = raw["kind"]
    if kind not in CHECK_KINDS:
        raise reader.fail(f"{k}.kind", f"expected one of {', '.join(CHECK_KINDS)}, got {kind!r}")
    values: dict[str, Any] = {"name": reader.string(f"{k}.name", raw["name"], env=False), "kind": kind}
    if "every" in raw:
        values["every"] = reader.duration(f"{k}.every", raw["every"])
    if "timeout" in raw:
        values["timeout"] = reader.duration(f"{k}.timeout", raw["timeout"])
    if kind == "command":
        if "command" not in raw:
            raise reader.fail(f"{k}.command", "is required for a command check (an argv list)")
        values["command"] = reader.strings(f"{k}.command", raw["command"])
        if not values["command"]:
            raise reader.fail(f"{k}.command", "must not be empty")
    else:
        if "url" not in raw:
            raise reader.fail(f"{k}.url", f"is required for a {kind} check")
        url = reader.string(f"{k}.url", raw["url"])
        if not url.startswith(("http://", "https://")):
            raise reader.fail(f"{k}.url", f"expected an http:// or https:// URL, got {url!r}")
        values["url"] = url
    if "method" in raw:
        values["method"] = reader.string(f"{k}.method", raw["method"], env=False).upper()
    if "headers" in raw:
        headers = raw["headers"]
        if not isinstance(headers, dict):
            raise reader.fail(f"{k}.headers", "expected a table of header = value")
        values["headers"] = tuple((name, reader.string(f"{k}.headers.{name}", value))
                                  for name, value in headers.items())
    if "expect_status" in raw:
        status = raw["expect_status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise reader.fail(f"{k}.expect_status", f"expected an HTTP status code, got {status!r}")
        values["expect_status"] = status
    if "expect_json" in raw:
        expect = raw["expect_json"]
        if not isinstance(expect, dict):
            raise reader.fail(f"{k}.expect_json", 'expected a table like { status = "ok" }')
        values["expect_json"] = tuple(_flatten(expect))
    if "max_latency" in raw:
        values["max_latency"] = reader.duration(f"{k}.max_latency", raw["max_latency"])
    if kind == "metrics":
        if "sample" not in raw:
            raise reader.fail(f"{k}.sample", 'is required for a metrics check, e.g. \'error_ratio{service="api"}\'')
        values["sample"] = reader.string(f"{k}.sample", raw["sample"], env=False)
        if "down_above" not in raw and "degraded_above" not in raw:
            raise reader.fail(f"{k}.down_above", "a metrics check needs down_above or degraded_above")
    for key in ("down_above", "degraded_above"):
        if key in raw:
            values[key] = reader.number(f"{k}.{key}", raw[key])
    return CheckConfig(**values)


def _flatten(table: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """{a = {b = 1}} -> [("a.b", 1)]: dotted paths, as written in TOML."""
    out: list[tuple[str, Any]] = []
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_flatten(value, path + "."))
        else:
            out.append((path, value))
    return out


def _log(reader: _Reader, index: int, raw: Any) -> LogConfig:
    k = f"log[{index}]"
    reader.table(k, raw, {"name", "command", "file", "restart", "buffer"}, {"name"})
    has_command, has_file = "command" in raw, "file" in raw
    if has_command == has_file:
        raise reader.fail(k, "give exactly one of command (an argv list) or file (a path to follow)")
    values: dict[str, Any] = {"name": reader.string(f"{k}.name", raw["name"], env=False)}
    if has_command:
        values["command"] = reader.strings(f"{k}.command", raw["command"])
        if not values["command"]:
            raise reader.fail(f"{k}.command", "must not be empty")
    else:
        values["file"] = reader.string(f"{k}.file", raw["file"])
    if "restart" in raw:
        if not isinstance(raw["restart"], bool):
            raise reader.fail(f"{k}.restart", "expected true or false")
        values["restart"] = raw["restart"]
    if "buffer" in raw:
        buffer = raw["buffer"]
        if isinstance(buffer, bool) or not isinstance(buffer, int) or not 100 <= buffer <= 1_000_000:
            raise reader.fail(f"{k}.buffer", "expected a number of lines from 100 to 1000000")
        values["buffer"] = buffer
    return LogConfig(**values)


_TOP_KEYS = {"severity_profile", "roles", "checklist", "check", "log", "escalation", "contact", "paths"}


def load(file: Path | str, environ: dict[str, str] | None = None) -> Config:
    file = Path(file).resolve()
    data = _read_toml(file)
    reader = _Reader(file, dict(os.environ) if environ is None else environ)
    reader.table("", data, _TOP_KEYS)
    root = file.parent
    profile = load_profile(reader.string("severity_profile", data.get("severity_profile", "P1-P4"), env=False), root)
    extra_roles = reader.strings("roles", data.get("roles", []), env=False)
    roles = DEFAULT_ROLES + tuple(r for r in extra_roles if r not in DEFAULT_ROLES)
    checklist = (reader.strings("checklist", data["checklist"], env=False)
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
        severities = reader.strings(f"{k}.severities", raw.get("severities", []), env=False)
        for sev in severities:
            if profile.level(sev) is None:
                raise reader.fail(f"{k}.severities", f"unknown severity {sev!r} "
                                                     f"(the profile has {', '.join(profile.ids)})")
        escalation.append(EscalationLevel(after=reader.duration(f"{k}.after", raw["after"]),
                                          to=reader.string(f"{k}.to", raw["to"], env=False),
                                          severities=severities))
    contacts = []
    for i, raw in enumerate(reader.array_of_tables("contact", data.get("contact", []))):
        k = f"contact[{i}]"
        reader.table(k, raw, {"role", "name", "reach"}, {"role", "name"})
        contacts.append(Contact(role=reader.string(f"{k}.role", raw["role"], env=False),
                                name=reader.string(f"{k}.name", raw["name"], env=False),
                                reach=reader.string(f"{k}.reach", raw.get("reach", ""), env=False)))
    paths = reader.table("paths", data.get("paths", {}), {"db", "runbooks", "templates"})
    return Config(
        path=file, root=root, severity=profile, roles=roles, checks=checks, logs=logs,
        escalation=tuple(sorted(escalation, key=lambda e: e.after)), contacts=tuple(contacts),
        checklist=checklist,
        db_path=root / reader.string("paths.db", paths.get("db", "warroom.db"), env=False),
        runbooks_dir=root / reader.string("paths.runbooks", paths.get("runbooks", "runbooks"), env=False),
        templates_dir=root / reader.string("paths.templates", paths.get("templates", "templates"), env=False),
        secrets=tuple(dict.fromkeys(reader.secrets)),
    )


def _unique(reader: _Reader, key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise reader.fail(f"{key}[{index}].name", f"duplicate name {name!r}: names must be unique")
        seen.add(name)


def find(start: Path | str | None = None) -> Path | None:
    """warroom.toml in `start` or the nearest parent, as git finds .git."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None
