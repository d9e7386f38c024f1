"""A war room: its config, its record and the operations both the CLI and the
console perform on them. One place for the rules (which incident is meant, how
a typed line becomes an entry, what --at means), so the two faces agree.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from warroom import config as config_mod
from warroom.clock import Clock, SystemClock
from warroom.config import Config, ConfigError
from warroom.events import (ENTRY_TYPES, INCIDENT_FIELDS, PRIORITIES, STATUSES, TIME_FIELDS, Event,
                             format_time, parse_time, valid_time)
from warroom.paths import DATA_DIR
from warroom.state import Entry, Incident, State, fold
from warroom.store import Store, StoreError


class UsageError(Exception):
    """The user asked for something that cannot be done as asked: one line, exit 2."""


def parse_at(text: str, now: datetime, tz=None) -> datetime:
    """'14:05' is today in the local zone (yesterday if that is still ahead); ISO times as given.

    Returns an aware UTC datetime. Raises UsageError naming the value.
    """
    text = text.strip()
    local_now = now.astimezone(tz)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if match:
        hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise UsageError(f"--at {text}: not a time of day; use HH:MM (00:00 to 23:59) or an ISO time")
        at = _local(datetime.combine(local_now.date(), time(hour, minute, second)), tz)
        if at > local_now + timedelta(minutes=1):
            at = _local(datetime.combine(local_now.date() - timedelta(days=1), time(hour, minute, second)), tz)
        return at.astimezone(now.tzinfo)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at {text}: not a time; use HH:MM or an ISO time like 2026-11-24T14:05Z") from None
    if at.tzinfo is None:
        at = _local(at, tz)
    return at.astimezone(now.tzinfo)


def _local(naive: datetime, tz=None) -> datetime:
    """A wall-clock time in `tz` (default: the local zone) with the UTC offset of that date,
    not of today: across a daylight-saving change the two differ by an hour."""
    return naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()


_PREFIX_TYPES = {"!": "decision", ">": "action", "?": "finding"}


@dataclass(frozen=True)
class TypedLine:
    text: str
    type: str
    at: datetime | None


def parse_typed_line(line: str, now: datetime, tz=None) -> TypedLine:
    """The console's one-line grammar: optional 'HH:MM ' backdate, then '!' decision,
    '>' action, '?' finding, else a note."""
    text = line.strip()
    at = None
    match = re.match(r"^(\d{1,2}:\d{2})\s+(.*)$", text, re.S)
    if match:
        try:
            at = parse_at(match.group(1), now, tz)
            text = match.group(2).strip()
        except UsageError:
            at = None  # "25:99 rebooted" is just text
    kind = "note"
    if text[:1] in _PREFIX_TYPES:
        kind = _PREFIX_TYPES[text[0]]
        text = text[1:].strip()
    return TypedLine(text=text, type=kind, at=at)


class Room:
    """An open war room. Methods append events; `state` folds the record."""

    def __init__(self, config: Config, store: Store, clock: Clock | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock or store.clock
        self._events: list[Event] = []
        self._quarantined_rows: list = []
        self._state: State | None = None
        self._generation = store.generation

    @classmethod
    def open(cls, config_path: Path | str | None = None, *, clock: Clock | None = None,
             author: str | None = None, db: Path | str | None = None) -> "Room":
        if config_path is None:
            config_path = config_mod.find()
            if config_path is None:
                raise UsageError("no warroom.toml here or in any parent folder; "
                                 "run `warroom init DIR` or cd into a war room")
        config = config_mod.load(config_path)
        clock = clock or SystemClock()
        store = Store(db or config.db_path, clock=clock, author=author)
        return cls(config, store, clock)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Room":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------

    def reload(self) -> bool:
        """Pick up events written by anyone since the last look. True when there were any."""
        if self.store.replaced():
            self.store.reopen()
        if self.store.generation != self._generation:  # a new file (git pull): read it whole
            self._generation = self.store.generation
            self._events, self._quarantined_rows = [], []
        loaded = self.store.load_new()
        if not loaded.events and not loaded.quarantined and self._state is not None:
            return False
        self._events.extend(loaded.events)
        self._quarantined_rows.extend(loaded.quarantined)
        self._state = None
        return True

    @property
    def state(self) -> State:
        if self._state is None:
            if not self._events:
                self.reload()
            state = fold(self._events, self.config.roles)
            state.quarantined.extend(self._quarantined_rows)
            self._state = state
        return self._state

    def incident(self, ref: str | None = None, *, open_only: bool = True) -> Incident:
        """The incident meant: `ref` (short id, prefix or UUID), else the one open incident."""
        state = self.state
        if ref:
            found = state.find(ref)
            if not found:
                raise UsageError(f"no incident {ref!r}; `warroom list` shows them")
            if len(found) > 1:
                names = ", ".join(f"{i.short_id} ({i.title})" for i in found)
                raise UsageError(f"{ref!r} matches several incidents: {names}; give more of the id")
            return found[0]
        candidates = state.open_incidents if open_only else state.ordered
        if not candidates:
            raise UsageError("no open incident; declare one with `warroom declare TITLE --severity "
                             f"{self.config.severity.ids[0]}`")
        if len(candidates) > 1:
            names = "; ".join(f"{i.short_id} {i.severity} {i.title}" for i in candidates)
            which = "open incidents" if open_only else "incidents"
            raise UsageError(f"several {which}, pick one with --incident: {names}")
        return candidates[0]

    # --- writing ---------------------------------------------------------

    def append(self, kind: str, incident: str | None, body: dict[str, Any],
               at: datetime | None = None) -> Event:
        event = self.store.append(kind, incident, body, at=format_time(at) if at else None)
        self.reload()  # reads our row back along with anything other writers added
        return event

    def severity_id(self, text: str) -> str:
        level = self.config.severity.level(text)
        if level is None:
            raise UsageError(f"unknown severity {text!r}; this war room's profile "
                             f"({self.config.severity.name}) has {', '.join(self.config.severity.ids)}")
        return level.id

    def declare(self, title: str, severity: str, impact: str = "", ic: str = "",
                detected_at: datetime | None = None, at: datetime | None = None) -> Event:
        title = title.strip()
        if not title:
            raise UsageError("an incident needs a title")
        body: dict[str, Any] = {"title": title, "severity": self.severity_id(severity), "impact": impact.strip()}
        if ic:
            body["ic"] = ic
        if detected_at:
            body["detected_at"] = format_time(detected_at)
        return self.append("incident.declared", None, body, at)

    def log(self, incident: Incident, text: str, type: str = "note", at: datetime | None = None,
            source: str = "") -> Event:
        text = text.strip()
        if not text:
            raise UsageError("nothing to log: the entry is empty")
        if type not in ENTRY_TYPES:
            raise UsageError(f"unknown entry kind {type!r}; use one of {', '.join(ENTRY_TYPES)}")
        body = {"text": text, "type": type}
        if source:
            body["source"] = source
        return self.append("entry.logged", incident.id, body, at)

    def log_typed(self, incident: Incident, line: str) -> Event:
        typed = parse_typed_line(line, self.clock.now())
        return self.log(incident, typed.text, typed.type, typed.at)

    def find_entry(self, ref: str) -> tuple[Incident, Entry]:
        ref = ref.strip()
        if len(ref) < 4:
            raise UsageError(f"entry id {ref!r} is too short; give at least 4 characters (`warroom show` lists them)")
        found = [(i, e) for i in self.state.incidents.values() for e in i.entries
                 if (e.id == ref or e.id.startswith(ref)) and not e.auto]
        if not found:
            raise UsageError(f"no timeline entry {ref!r} that can be edited; `warroom show` lists them")
        if len(found) > 1:
            raise UsageError(f"entry id {ref!r} is ambiguous; give more characters")
        return found[0]

    def edit(self, entry_ref: str, text: str, type: str | None = None) -> Event:
        incident, entry = self.find_entry(entry_ref)
        body: dict[str, Any] = {"target": entry.id, "text": text.strip()}
        if not body["text"]:
            raise UsageError("an edit needs the new text; to remove an entry use `warroom delete`")
        if type:
            body["type"] = type
        return self.append("entry.edited", incident.id, body)

    def delete(self, entry_ref: str, restore: bool = False) -> Event:
        incident, entry = self.find_entry(entry_ref)
        return self.append("entry.restored" if restore else "entry.deleted", incident.id, {"target": entry.id})

    def set_status(self, incident: Incident, status: str, skipped: list[str] | None = None,
                   at: datetime | None = None) -> Event:
        status = status.strip().lower()
        if status not in STATUSES:
            raise UsageError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        body: dict[str, Any] = {"status": status}
        if skipped:
            body["skipped"] = list(skipped)
        return self.append("incident.status", incident.id, body, at)

    def next_status(self, incident: Incident) -> str | None:
        index = STATUSES.index(incident.status)
        return STATUSES[index + 1] if index + 1 < len(STATUSES) else None

    def set_severity(self, incident: Incident, severity: str) -> Event:
        return self.append("incident.severity", incident.id, {"severity": self.severity_id(severity)})

    def set_field(self, incident: Incident, name: str, value: str) -> Event:
        if name not in INCIDENT_FIELDS:
            raise UsageError(f"unknown field {name!r}; use one of {', '.join(INCIDENT_FIELDS)}")
        value = value.strip()
        if name in TIME_FIELDS and not valid_time(value):
            value = format_time(parse_at(value, self.clock.now()))  # HH:MM or ISO, as --at
        return self.append("incident.field", incident.id, {"field": name, "value": value})

    def acknowledge(self, incident: Incident, at: datetime | None = None) -> Event:
        return self.append("incident.acknowledged", incident.id, {}, at)

    def assign(self, incident: Incident, role: str, person: str) -> Event:
        name = self.config.role_name(role)
        if name is None:
            raise UsageError(f"unknown role {role!r}; roles here: {', '.join(self.config.roles)} "
                             f"(short: ic, tl, comms, scribe)")
        return self.append("role.assigned", incident.id, {"role": name, "person": person.strip()})

    def post_update(self, incident: Incident, text: str, template: str = "", channel: str = "") -> Event:
        if not text.strip():
            raise UsageError("the status update is empty")
        return self.append("update.posted", incident.id,
                           {"text": text.strip(), "template": template, "channel": channel})

    def snooze(self, incident: Incident, minutes: int, reason: str) -> Event:
        if not reason.strip():
            raise UsageError("a snooze needs a reason (it goes on the timeline)")
        return self.append("update.snoozed", incident.id, {"minutes": int(minutes), "reason": reason.strip()})

    def add_action(self, incident: Incident, text: str, owner: str = "", due: str = "",
                   priority: str = "medium", entry: str = "") -> Event:
        if not text.strip():
            raise UsageError("an action item needs a description")
        if priority not in PRIORITIES:
            raise UsageError(f"unknown priority {priority!r}; use one of {', '.join(PRIORITIES)}")
        if due:
            try:
                datetime.strptime(due, "%Y-%m-%d")
            except ValueError:
                raise UsageError(f"--due {due}: expected a date like 2026-12-01") from None
        return self.append("action.added", incident.id, {"text": text.strip(), "owner": owner.strip(),
                                                          "due": due, "priority": priority, "entry": entry})

    def action_done(self, ref: str) -> Event:
        ref = ref.strip()
        found = [(i, a) for i in self.state.incidents.values() for a in i.actions
                 if len(ref) >= 4 and a.id.startswith(ref)]
        if len(found) != 1:
            raise UsageError(f"no single action item {ref!r}; `warroom action list` shows their ids")
        incident, item = found[0]
        return self.append("action.done", incident.id, {"target": item.id})

    def record_flip(self, incident: Incident, check: str, previous: str, current: str, reason: str) -> Event:
        return self.append("check.flipped", incident.id,
                           {"check": check, "previous": previous, "current": current, "reason": reason})

    def record_command(self, incident: Incident, command: str, exit_code: int, output: str,
                       runbook: str = "") -> Event:
        return self.append("command.ran", incident.id, {"command": command, "exit_code": int(exit_code),
                                                         "output": output, "runbook": runbook})


# --- creating a war room ---------------------------------------------------

STARTER_CONFIG = """\
# warroom.toml: this war room's checks, log sources, severities and roles.
# Durations are written 90s, 15m, 1h. ${NAME} is read from the environment at start
# (never stored); an unset variable is an error that names it.

# A bundled profile (P0-P3, P1-P4, SEV1-SEV4) or a path to your own profile file.
severity_profile = "P1-P4"

# Roles beyond Incident Commander, Tech Lead, Communications Lead and Scribe.
roles = []

# Health checks (kind: http, metrics, statuspage, command).
# [[check]]
# name = "api"
# kind = "http"
# url = "https://api.example.com/health"
# every = "10s"
# timeout = "3s"
# headers = { Authorization = "Bearer ${ADMIN_TOKEN}" }

# Log sources: a command to run (argv, no shell) or a file to follow.
# [[log]]
# name = "worker"
# command = ["wrangler", "tail", "--format", "json"]
# restart = true

# Escalation path: who is called in, and after how long unresolved.
# [[escalation]]
# after = "30m"
# to = "Senior engineer"
"""

GITATTRIBUTES = "warroom.db merge=warroom diff=warroom\n"
GITIGNORE = "*.db-wal\n*.db-shm\n*.db.creating\n*.warroom-tmp*\nexports/\n"


def init(folder: Path) -> list[Path]:
    """Create a war room folder; refuses to touch an existing one. Returns what it wrote."""
    folder = Path(folder)
    if (folder / config_mod.CONFIG_NAME).exists():
        raise UsageError(f"{folder / config_mod.CONFIG_NAME}: already a war room; nothing changed")
    if (folder / "warroom.db").exists():
        raise UsageError(f"{folder / 'warroom.db'}: already exists; nothing changed")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in ((config_mod.CONFIG_NAME, STARTER_CONFIG), (".gitattributes", GITATTRIBUTES)):
        path = folder / name
        path.write_text(text)
        written.append(path)
    ignore = folder / ".gitignore"
    existing = ignore.read_text() if ignore.exists() else ""
    missing = [line for line in GITIGNORE.splitlines() if line not in existing.splitlines()]
    if missing:
        ignore.write_text(existing + ("" if existing.endswith("\n") or not existing else "\n")
                          + "\n".join(missing) + "\n")
        written.append(ignore)
    for sub in ("runbooks", "templates"):
        target = folder / sub
        if not target.exists():
            shutil.copytree(DATA_DIR / sub, target)
            written.append(target)
    from warroom.store import create
    create(folder / "warroom.db")
    written.append(folder / "warroom.db")
    return written


__all__ = ["Room", "UsageError", "ConfigError", "StoreError", "init", "parse_at", "parse_typed_line"]
