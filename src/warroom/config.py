"""warroom.toml -> frozen dataclasses.

Every error names the file, the key path (`check[2].timeout`) and what is
expected, so the CLI can print one line and exit with status 2.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warroom.errors import CONTROL
from warroom.paths import record_path
from warroom.profiles import (
    Deadline,
    SeverityLevel,
    SeverityProfile,
    bundled_profiles,
    load_profile,
)
from warroom.toml_reader import (
    MAX_DEPTH,
    MAX_ITEMS,
    Reader,
    read_toml,
    show_value,
    unset_names,
)

__all__ = ["Config", "Deadline", "SeverityLevel", "SeverityProfile", "bundled_profiles", "load", "load_profile"]

CONFIG_NAME = "warroom.toml"
DEFAULT_ROLES = ("Incident Commander", "Tech Lead", "Communications Lead", "Scribe")
ROLE_ALIASES = {
    "ic": "Incident Commander",
    "commander": "Incident Commander",
    "tl": "Tech Lead",
    "tech": "Tech Lead",
    "lead": "Tech Lead",
    "comms": "Communications Lead",
    "cl": "Communications Lead",
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


# --- the dataclasses -----------------------------------------------------


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
class Component:
    """A part of the service as customers know it (the status page's rows), made of checks."""

    name: str
    description: str = ""
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    severity: SeverityProfile
    roles: tuple[str, ...] = DEFAULT_ROLES  # the first is the lead: the declarer holds it
    optional_roles: frozenset[str] = frozenset()  # left unassigned without a warning
    checks: tuple[CheckConfig, ...] = ()
    logs: tuple[LogConfig, ...] = ()
    escalation: tuple[EscalationLevel, ...] = ()
    contacts: tuple[Contact, ...] = ()
    components: tuple[Component, ...] = ()
    checklist: tuple[str, ...] = DEFAULT_CHECKLIST
    db_path: Path = Path("warroom.db")
    runbooks_dir: Path = Path("runbooks")
    templates_dir: Path = Path("templates")
    # Values read from ${ENV}: redacted wherever they would be shown or stored.
    secrets: tuple[str, ...] = field(default=(), repr=False)
    sync_every: float = 15.0  # seconds between the console's background syncs
    max_clock_drift: float = 86400.0  # a pulled stamp further ahead of our clock is quarantined
    war_room_link: str = ""  # where responders meet (a call or chat link), for the templates

    @property
    def lead_role(self) -> str:
        """The role the one who declares holds: the first configured."""
        return self.roles[0]

    def escalation_for(self, severity: str) -> tuple[EscalationLevel, ...]:
        """The rungs of an incident of `severity`, earliest first: the [[escalation]] rungs for
        it (a rung naming no severities is for every level whose escalate_after is not
        "none"), else the level's own escalate_after. None at all when neither says so."""
        level = self.severity.level(severity)
        rungs = tuple(
            rung
            for rung in self.escalation
            if (level is not None and level.id in rung.severities)
            or (not rung.severities and not (level is not None and level.never_escalates))
        )
        if rungs or level is None or level.escalate_after is None:
            return rungs
        return (EscalationLevel(after=level.escalate_after, to=""),)

    @property
    def record_path(self) -> Path:
        """The record this war room's console and commands write: out of git's reach."""
        return record_path(self.root)

    def role_name(self, text: str) -> str | None:
        """'ic', 'IC', 'incident commander' -> 'Incident Commander'; None if unknown."""
        wanted = text.strip().lower()
        if ROLE_ALIASES.get(wanted) in self.roles:
            return ROLE_ALIASES[wanted]
        for role in self.roles:
            if role.lower() == wanted or role.lower().replace(" ", "-") == wanted:
                return role
        return None

    def contacts_for(self, to: str) -> tuple[Contact, ...]:
        """The contacts an escalation rung or a role names: by their role, else by their name
        (case and blank space ignored), in the order warroom.toml lists them."""
        wanted = " ".join(to.split()).lower()
        for attribute in ("role", "name"):
            found = tuple(c for c in self.contacts if " ".join(getattr(c, attribute).split()).lower() == wanted)
            if found:
                return found
        return ()


_CHECK_KEYS = {
    "name",
    "kind",
    "every",
    "timeout",
    "url",
    "method",
    "headers",
    "expect_status",
    "expect_json",
    "max_latency",
    "sample",
    "down_above",
    "degraded_above",
    "command",
}


def _check(reader: Reader, index: int, raw: Any) -> CheckConfig:
    k = f"check[{index}]"
    reader.table(k, raw, _CHECK_KEYS, {"name", "kind"})
    reader.missing = []
    kind = raw["kind"]
    if kind not in CHECK_KINDS:
        raise reader.fail(f"{k}.kind", f"expected one of {', '.join(CHECK_KINDS)}, got {show_value(kind)}")
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
            raise reader.fail(f"{k}.method", f"expected an HTTP method like GET or HEAD, got {show_value(method)}")
        values["method"] = method.upper()
    if "headers" in raw:
        headers = raw["headers"]
        if not isinstance(headers, dict):
            raise reader.fail(f"{k}.headers", "expected a table of header = value")
        if len(headers) > MAX_ITEMS:
            raise reader.fail(f"{k}.headers", f"has {len(headers)} headers; at most {MAX_ITEMS} are allowed")
        for name in headers:
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}", name):
                raise reader.fail(f"{k}.headers", f"{show_value(name)} is not a header name")
        for name, value in headers.items():
            if isinstance(value, str) and CONTROL.sub("", value.replace("\t", " ")) != value.replace("\t", " "):
                raise reader.fail(f"{k}.headers.{name}", "must be one line without control characters")
        values["headers"] = tuple(
            (name, reader.string(f"{k}.headers.{name}", value)) for name, value in headers.items()
        )
    if "expect_status" in raw:
        status = raw["expect_status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise reader.fail(f"{k}.expect_status", f"expected an HTTP status code, got {show_value(status)}")
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
            raise reader.fail(f"{k}.sample", "is required for a metrics check, e.g. 'error_ratio{service=\"api\"}'")
        values["sample"] = reader.string(f"{k}.sample", raw["sample"], env=False)
        if not values["sample"].strip():
            raise reader.fail(f"{k}.sample", "must not be empty")
        if "down_above" not in raw and "degraded_above" not in raw:
            raise reader.fail(f"{k}.down_above", "a metrics check needs down_above or degraded_above")
    for key in ("down_above", "degraded_above"):
        if key in raw:
            values[key] = reader.number(f"{k}.{key}", raw[key])
    if reader.missing:
        values["disabled"] = unset_names(reader.missing)
    return CheckConfig(**values)


def _flatten(
    reader: Reader, key: str, table: dict[str, Any], prefix: str = "", depth: int = 1
) -> list[tuple[str, Any]]:
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


def _log(reader: Reader, index: int, raw: Any) -> LogConfig:
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
        values["disabled"] = unset_names(reader.missing)
    return LogConfig(**values)


_TOP_KEYS = {
    "severity_profile",
    "roles",
    "role",
    "severity",
    "checklist",
    "check",
    "log",
    "escalation",
    "contact",
    "component",
    "paths",
    "sync_every",
    "max_clock_drift",
    "war_room_link",
}


def load(file: Path | str, environ: dict[str, str] | None = None) -> Config:
    file = Path(file).resolve()
    data = read_toml(file)
    reader = Reader(file, dict(os.environ) if environ is None else environ)
    reader.table("", data, _TOP_KEYS)
    root = file.parent
    profile = load_profile(
        reader.path("severity_profile", data.get("severity_profile", "P1-P4"), env=False),
        root,
        overrides=data.get("severity"),
        override_reader=reader,
    )
    roles, optional_roles = _roles(reader, data)
    checklist = reader.names("checklist", data["checklist"], limit=500) if "checklist" in data else DEFAULT_CHECKLIST
    checks = tuple(
        _check(reader, i, raw) for i, raw in enumerate(reader.array_of_tables("check", data.get("check", [])))
    )
    _unique(reader, "check", [c.name for c in checks])
    logs = tuple(_log(reader, i, raw) for i, raw in enumerate(reader.array_of_tables("log", data.get("log", []))))
    _unique(reader, "log", [s.name for s in logs])
    escalation = []
    for i, raw in enumerate(reader.array_of_tables("escalation", data.get("escalation", []))):
        k = f"escalation[{i}]"
        reader.table(k, raw, {"after", "to", "severities"}, {"after", "to"})
        severities = []
        for j, sev in enumerate(reader.names(f"{k}.severities", raw.get("severities", []))):
            level = profile.level(sev)
            if level is None:
                raise reader.fail(
                    f"{k}.severities[{j}]",
                    f"unknown severity {show_value(sev)}: the profile {profile.name} has {', '.join(profile.ids)}",
                )
            severities.append(level.id)  # as the profile spells it: "p1" means P1
        escalation.append(
            EscalationLevel(
                after=reader.duration(f"{k}.after", raw["after"]),
                to=reader.name(f"{k}.to", raw["to"]),
                severities=tuple(severities),
            )
        )
    contacts = []
    for i, raw in enumerate(reader.array_of_tables("contact", data.get("contact", []))):
        k = f"contact[{i}]"
        reader.table(k, raw, {"role", "name", "reach"}, {"role", "name"})
        contacts.append(
            Contact(
                role=reader.name(f"{k}.role", raw["role"]),
                name=reader.name(f"{k}.name", raw["name"]),
                reach=reader.string(f"{k}.reach", raw.get("reach", ""), env=False, limit=500),
            )
        )
    raw_components = enumerate(reader.array_of_tables("component", data.get("component", [])))
    components = tuple(_component(reader, i, raw, {c.name for c in checks}) for i, raw in raw_components)
    _unique(reader, "component", [c.name for c in components])
    paths = reader.table("paths", data.get("paths", {}), {"db", "runbooks", "templates"})
    return Config(
        path=file,
        root=root,
        severity=profile,
        roles=roles,
        optional_roles=optional_roles,
        checks=checks,
        logs=logs,
        escalation=tuple(sorted(escalation, key=lambda e: e.after)),
        contacts=tuple(contacts),
        components=components,
        checklist=checklist,
        db_path=root / reader.path("paths.db", paths.get("db", "warroom.db"), env=False),
        runbooks_dir=root / reader.path("paths.runbooks", paths.get("runbooks", "runbooks"), env=False),
        templates_dir=root / reader.path("paths.templates", paths.get("templates", "templates"), env=False),
        secrets=tuple(dict.fromkeys(reader.secrets)),
        sync_every=reader.duration("sync_every", data.get("sync_every", "15s")),
        max_clock_drift=reader.duration("max_clock_drift", data.get("max_clock_drift", "24h")),
        war_room_link=reader.string("war_room_link", data.get("war_room_link", ""), env=False, limit=500),
    )


def _component(reader: Reader, index: int, raw: Any, check_names: set[str]) -> Component:
    k = f"component[{index}]"
    reader.table(k, raw, {"name", "description", "checks"}, {"name"})
    checks = reader.names(f"{k}.checks", raw.get("checks", []))
    for check in checks:
        if check not in check_names:
            known = ", ".join(sorted(check_names)) or "none: add a [[check]] first"
            raise reader.fail(f"{k}.checks", f"no check named {show_value(check)}; the checks are: {known}")
    description = reader.string(f"{k}.description", raw.get("description", ""), env=False, limit=500)
    return Component(reader.name(f"{k}.name", raw["name"]), description, checks)


def _roles(reader: Reader, data: dict[str, Any]) -> tuple[tuple[str, ...], frozenset[str]]:
    """`roles = [...]` adds to the built-in four; `[[role]]` tables replace them (a solo
    on-call has just one), each optionally `optional` (no warning while unassigned)."""
    if "role" not in data:
        extra = reader.names("roles", data.get("roles", []))
        return DEFAULT_ROLES + tuple(dict.fromkeys(r for r in extra if r not in DEFAULT_ROLES)), frozenset()
    if "roles" in data:
        raise reader.fail("roles", "give either roles (added to the built-in ones) or [[role]] tables (the whole set)")
    names: list[str] = []
    optional: set[str] = set()
    for i, raw in enumerate(reader.array_of_tables("role", data["role"])):
        k = f"role[{i}]"
        reader.table(k, raw, {"name", "optional"}, {"name"})
        name = reader.name(f"{k}.name", raw["name"])
        if name.lower() in (known.lower() for known in names):
            raise reader.fail(f"{k}.name", f"duplicate role {show_value(name)}: names must be unique")
        if not isinstance(raw.get("optional", False), bool):
            raise reader.fail(f"{k}.optional", "expected true or false")
        names.append(name)
        if raw.get("optional", False):
            optional.add(name)
    if not names:
        raise reader.fail("role", "needs at least one [[role]]: the first is the one who declares")
    return tuple(names), frozenset(optional)


def _unique(reader: Reader, key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise reader.fail(f"{key}[{index}].name", f"duplicate name {show_value(name)}: names must be unique")
        seen.add(name)


def find(start: Path | str | None = None) -> Path | None:
    """warroom.toml in `start` or the nearest parent, as git finds .git."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None
