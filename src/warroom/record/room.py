"""A war room: its config, its record and the operations the CLI and the console both perform:
one place for the rules (which incident is meant, a typed line, what --at means)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warroom import config as config_mod
from warroom.config import Config
from warroom.errors import StoreError, UsageError
from warroom.record.clock import Clock, SystemClock
from warroom.record.events import (
    ENTRY_TYPES,
    HEAD_KINDS,
    INCIDENT_FIELDS,
    MAX_TEXT,
    PRIORITIES,
    STATUSES,
    TIME_FIELDS,
    Event,
    format_time,
    valid_time,
)
from warroom.record.fold import fold, short_ids
from warroom.record.imports import Imported
from warroom.record.model import Entry, Incident, State, Summary, matching
from warroom.record.store import Store
from warroom.record.typed import history_start, parse_at, parse_typed_line
from warroom.text.sanitize import inert, redact

if TYPE_CHECKING:
    from warroom.record.views import Changes


class Room:
    """An open war room: its config and its record. Methods append events and read the
    record's derived tables; nothing here folds more than one incident."""

    def __init__(
        self, config: Config, store: Store, clock: Clock | None = None, *, exchange: Path | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or store.clock
        self.exchange = exchange if exchange is not None else config.db_path
        self.notes: list[str] = []  # what the caller should tell the user (an unreadable warroom.db)
        self._summaries: list[Summary] | None = None
        self._shorts: tuple[list[Summary] | None, dict[str, str]] = (None, {})  # summaries -> id: short id

    @classmethod
    def open(
        cls,
        config_path: Path | str | None = None,
        *,
        clock: Clock | None = None,
        author: str | None = None,
        db: Path | str | None = None,
    ) -> Room:
        """The war room of `config_path` (else the nearest warroom.toml), its record opened
        (and made, on first use, from the shared warroom.db), and what git brought in since
        the last look taken into it. `db` names another exchange copy to read: refused with
        RefusedFile when it is not one."""
        if config_path is None:
            config_path = config_mod.find()
            if config_path is None:
                raise UsageError(
                    "no warroom.toml here or in any parent folder; run `warroom init DIR` or cd into a war room"
                )
        config = config_mod.load(config_path)
        clock = clock or SystemClock()
        store = Store(
            config.record_path, clock=clock, author=author, create_missing=True, max_drift=config.max_clock_drift
        )
        room = cls(config, store, clock, exchange=Path(db) if db else None)
        try:
            room.take_in(strict=db is not None)
        except BaseException:
            room.close()
            raise
        return room

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Room:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what git brought -------------------------------------------------

    def take_in(self, strict: bool = False) -> Imported | None:
        """Import the exchange copy (warroom.db) when it changed since the last look: git
        (pull, checkout, a merge) or a teammate's hand may have changed it. It can only add
        events. An unreadable copy is reported in `notes` (or raised, when `strict`); the
        record stays as it was. Returns what came in, or None."""
        from warroom.record.dbfile import signature

        path = self.exchange
        if not path.exists():
            if strict:
                raise StoreError(f"{path}: no such file")
            return None
        source = f"file:{path.name}"
        stamp = signature(path)
        if self.store.imported(source) == stamp:
            return None
        try:
            result = self.store.import_file(path, source, stamp)
        except StoreError as exc:
            if strict:
                raise
            self.notes.append(f"{exc}; your record is intact and `warroom sync` writes {path.name} afresh")
            return None
        if result.added:
            self._summaries = None
        if result.quarantined:
            first = result.quarantined[0]
            self.notes.append(
                f"{path.name}: {len(result.quarantined)} event(s) not taken in "
                f"(first: {first.id[:36]}: {first.reason}); `warroom quarantine` lists them"
            )
        return result

    def reload(self) -> Changes:
        """What other writers (and this one) added since the last look: views.Changes."""
        from warroom.record import views

        loaded = self.store.load_new()
        if loaded.events:
            self._summaries = None
        return views.affected(loaded.events)

    # --- reading ---------------------------------------------------------

    def summaries(self) -> list[Summary]:
        """Every incident, oldest first, with its short id: one query, however many."""
        if self._summaries is None:
            rows = self.store.summaries()
            names = short_ids(row[0] for row in rows)
            self._summaries = [Summary(row[0], names[row[0]], *row[1:]) for row in rows]
        return self._summaries

    def find(self, ref: str) -> list[Summary]:
        """Incidents matching a full id, a short id (INC-3f2a) or a unique prefix."""
        return matching(ref, self.summaries())

    def incident(self, ref: str | None = None, *, or_closed: bool = False) -> Incident:
        """The incident meant: `ref` (short id, prefix or UUID, closed or not), else the one
        `meant` picks. Its head: everything but the timeline (see `full` and `timeline`).
        With `or_closed` (reading: show, export), the newest closed one when none is open."""
        if ref:
            found = self.find(ref)
            if not found:
                raise UsageError(f"no incident {ref!r}; `warroom list` shows them")
            if len(found) > 1:
                names = ", ".join(f"{i.short_id} ({i.title})" for i in found)
                raise UsageError(f"{ref!r} matches several incidents: {names}; give more of the id")
            return self.head(found[0].id)
        summaries = self.summaries()
        meant = self.meant(summaries)
        if meant is None and or_closed and summaries:
            meant = summaries[-1].id
        if meant is None:
            raise UsageError(
                ("every incident here is closed; " if summaries else "no incidents in this war room yet; ")
                + f"declare one with `warroom declare TITLE --severity {self.config.severity.ids[0]}` "
                "or name one with --incident"
            )
        return self.head(meant)

    @staticmethod
    def meant(summaries: list[Summary]) -> str | None:
        """The one rule for the incident meant when none is named, in the commands, the console
        and here alike: the newest incident that is not closed (a resolved one still is:
        its post-mortem fields, action items and last update come after resolution)."""
        candidates = [s for s in summaries if s.status != "closed"]
        if not candidates:
            return None
        return max(candidates, key=lambda s: (s.declared_at, s.id)).id

    def others_open(self, incident_id: str) -> list[Summary]:
        """The other incidents that are not closed: said beside the one meant, so nobody
        writes into the wrong one unawares."""
        return [s for s in self.summaries() if s.status != "closed" and s.id != incident_id]

    def head(self, incident_id: str) -> Incident:
        """One incident's head, folded from its head events: status, severity, roles, fields,
        updates, action items. Its `entries` are left empty; `timeline` reads them."""
        from warroom.record import views

        declared = self.store.declared(incident_id)
        if declared is None:
            raise UsageError(f"no incident {incident_id!r}; `warroom list` shows them")
        incident = views.head(self.store.conn, declared, self.config.roles)
        incident.entries = []
        incident.short_id = self._short_id(incident_id)
        return incident

    def full(self, incident_id: str) -> Incident:
        """One incident folded whole, timeline included (export, show): its events only."""
        state = fold(self.store.load(incident_id).events, self.config.roles)
        incident = state.incidents.get(incident_id)
        if incident is None:
            raise UsageError(f"no incident {incident_id!r}; `warroom list` shows them")
        incident.short_id = self._short_id(incident_id)
        return incident

    def _short_id(self, incident_id: str) -> str:
        """Looked up, not searched: heads() asks once per incident (10k incidents, not 10k squared)."""
        summaries = self.summaries()
        if self._shorts[0] is not summaries:
            self._shorts = (summaries, {summary.id: summary.short_id for summary in summaries})
        return self._shorts[1].get(incident_id) or short_ids([incident_id])[incident_id]

    def timeline(
        self, incident_id: str, *, before: tuple[str, str, str] | None = None, limit: int = 200
    ) -> list[Entry]:
        """The newest `limit` entries older than `before` (at, hlc, id), oldest first."""
        from warroom.record.views import entry_from_row

        return [entry_from_row(row) for row in self.store.timeline(incident_id, before=before, limit=limit)]

    def entry(self, entry_id: str) -> Entry | None:
        """One entry with its whole edit history (the details screen)."""
        from warroom.record.fold import resolve_entry, self_entry

        found = self.store.events("where id = ?", (entry_id,))
        if not found:
            return None
        event = found[0]
        if event.kind == "entry.logged":
            return resolve_entry(event, self.store.events("where target = ?", (entry_id,)))
        rows = self.store.timeline_rows([entry_id])
        if not rows:
            return None
        from warroom.record.views import entry_from_row

        entry = entry_from_row(rows[0])
        if event.kind not in ("entry.logged",):
            entry.history = self_entry(event).history if event.kind in ("check.flipped", "command.ran") else []
        return entry

    def recent(self, incident_id: str, limit: int = 200) -> Incident:
        """The head with the newest entries, and the latest actions and findings however old:
        what templates and the composer read."""
        from warroom.record.views import entry_from_row

        incident = self.head(incident_id)
        rows = {row[0]: row for row in self.store.timeline(incident_id, limit=limit)}
        for types, typed in ((("action",), True), (("finding",), False)):
            for row in self.store.latest(incident_id, types, typed, 3):
                rows.setdefault(row[0], row)
        incident.entries = [entry_from_row(row) for row in rows.values()]
        return incident

    @property
    def state(self) -> State:
        """Every incident folded whole: for tests, the demo and small records only."""
        state = fold(self.store.load().events, self.config.roles)
        return state

    def heads(self) -> State:
        """Every incident's head (no timelines): the report's input, cheap at 10k incidents."""
        state = State()
        for summary in self.summaries():
            state.incidents[summary.id] = self.head(summary.id)
        return state

    # --- writing ---------------------------------------------------------

    def append(self, kind: str, incident: str | None, body: dict[str, Any], at: datetime | None = None) -> Event:
        """The one write path of the console and the CLI: every text is made inert and has its
        secrets taken out before it is stored; the store then refuses what the fold would."""
        body = {key: self._clean(value) for key, value in body.items()}
        for key, value in body.items():
            if isinstance(value, str) and len(value) > MAX_TEXT:
                name = body.get("field", key) if key == "value" else key
                raise UsageError(
                    f"the {name} is {len(value)} characters long; the record takes at most "
                    f"{MAX_TEXT} (64 KiB): nothing was written. Shorten it, or attach the rest "
                    f"as a file and log where it is"
                )
        event = self.store.append(kind, incident, body, at=format_time(at) if at else None)
        if kind in HEAD_KINDS:
            self._summaries = None
        return event

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return redact(inert(value), self.config.secrets)
        if isinstance(value, list):
            return [self._clean(item) for item in value]
        return value

    def at(self, text: str | None, incident: Incident | None = None, option: str = "--at") -> datetime | None:
        """--at as typed, checked against the incident's start (see parse_at)."""
        if not text:
            return None
        if incident is None:
            return parse_at(text, self.clock.now(), option=option)
        return parse_at(
            text, self.clock.now(), not_before=history_start(incident), incident=incident.short_id, option=option
        )

    def severity_id(self, text: str) -> str:
        level = self.config.severity.level(text)
        if level is None:
            raise UsageError(
                f"unknown severity {text!r}; this war room's profile "
                f"({self.config.severity.name}) has {', '.join(self.config.severity.ids)}"
            )
        return level.id

    def declare(
        self,
        title: str,
        severity: str,
        impact: str = "",
        ic: str = "",
        detected_at: datetime | None = None,
        at: datetime | None = None,
    ) -> Event:
        title = title.strip()
        if not title:
            raise UsageError("an incident needs a title")
        body: dict[str, Any] = {"title": title, "severity": self.severity_id(severity), "impact": impact.strip()}
        if ic:
            body["ic"] = ic
        if self.config.lead_role != "Incident Commander":  # a team's own roles: the first is the lead
            body["role"] = self.config.lead_role
        if detected_at:
            body["detected_at"] = format_time(detected_at)
        return self.append("incident.declared", None, body, at)

    def log(
        self,
        incident: Incident,
        text: str,
        type: str = "note",
        at: datetime | None = None,
        source: str = "",
        lines_before: Sequence[str] = (),
        lines_after: Sequence[str] = (),
    ) -> Event:
        """An entry; a pinned log line (`source`) keeps the lines around it in its log."""
        text = text.strip()
        if not text:
            raise UsageError("nothing to log: the entry is empty")
        if type not in ENTRY_TYPES:
            raise UsageError(f"unknown entry kind {type!r}; use one of {', '.join(ENTRY_TYPES)}")
        body = {"text": text, "type": type}
        if source:
            body["source"] = source
            if lines_before:
                body["lines_before"] = "\n".join(lines_before)
            if lines_after:
                body["lines_after"] = "\n".join(lines_after)
        return self.append("entry.logged", incident.id, body, at)

    def log_typed(self, incident: Incident, line: str) -> Event:
        typed = parse_typed_line(line, self.clock.now(), not_before=history_start(incident), incident=incident.short_id)
        return self.log(incident, typed.text, typed.type, typed.at)

    def find_entry(self, ref: str) -> tuple[str, str]:
        """(entry id, incident id) of the typed entry `ref` names (an id or its prefix)."""
        ref = ref.strip()
        if len(ref) < 4:
            raise UsageError(f"entry id {ref!r} is too short; give at least 4 characters (`warroom show` lists them)")
        found = self.store.find_entries(ref)
        if not found:
            raise UsageError(f"no timeline entry {ref!r} that can be edited; `warroom show` lists them")
        if len(found) > 1:
            raise UsageError(f"entry id {ref!r} is ambiguous; give more characters")
        return found[0]

    def edit(self, entry_ref: str, text: str, type: str | None = None) -> Event:
        entry_id, incident_id = self.find_entry(entry_ref)
        body: dict[str, Any] = {"target": entry_id, "text": text.strip()}
        if not body["text"]:
            raise UsageError("an edit needs the new text; to remove an entry use `warroom delete`")
        if type:
            if type not in ENTRY_TYPES:
                raise UsageError(f"unknown entry kind {type!r}; use one of {', '.join(ENTRY_TYPES)}")
            body["type"] = type
        return self.append("entry.edited", incident_id, body)

    def delete(self, entry_ref: str, restore: bool = False) -> Event:
        entry_id, incident_id = self.find_entry(entry_ref)
        return self.append("entry.restored" if restore else "entry.deleted", incident_id, {"target": entry_id})

    def set_status(
        self, incident: Incident, status: str, skipped: list[str] | None = None, at: datetime | None = None
    ) -> Event:
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
            value = format_time(parse_at(value, self.clock.now(), option=name))  # HH:MM or ISO, as --at
        return self.append("incident.field", incident.id, {"field": name, "value": value})

    def escalate(self, incident: Incident, to: str, at: datetime | None = None) -> Event:
        """Record that `to` (a rung of the escalation path, or anyone) was called in: the rung
        stops being flagged as due."""
        if not to.strip():
            raise UsageError('say who was called in, e.g. `warroom escalate "Senior engineer"`')
        return self.append("incident.escalated", incident.id, {"to": to.strip()}, at)

    def acknowledge(self, incident: Incident, at: datetime | None = None) -> Event:
        return self.append("incident.acknowledged", incident.id, {}, at)

    def assign(self, incident: Incident, role: str, person: str) -> Event:
        name = self.config.role_name(role)
        if name is None:
            raise UsageError(
                f"unknown role {role!r}; roles here: {', '.join(self.config.roles)}"
                + (" (short: ic, tl, comms, scribe)" if "Tech Lead" in self.config.roles else "")
            )
        return self.append("role.assigned", incident.id, {"role": name, "person": person.strip()})

    def post_update(self, incident: Incident, text: str, template: str = "", channel: str = "") -> Event:
        if not text.strip():
            raise UsageError("the status update is empty")
        return self.append(
            "update.posted", incident.id, {"text": text.strip(), "template": template, "channel": channel}
        )

    def snooze(self, incident: Incident, minutes: int, reason: str) -> Event:
        if not reason.strip():
            raise UsageError("a snooze needs a reason (it goes on the timeline)")
        return self.append("update.snoozed", incident.id, {"minutes": int(minutes), "reason": reason.strip()})

    def add_action(
        self, incident: Incident, text: str, owner: str = "", due: str = "", priority: str = "medium", entry: str = ""
    ) -> Event:
        if not text.strip():
            raise UsageError("an action item needs a description")
        if priority not in PRIORITIES:
            raise UsageError(f"unknown priority {priority!r}; use one of {', '.join(PRIORITIES)}")
        if due:
            try:
                datetime.strptime(due, "%Y-%m-%d")
            except ValueError:
                raise UsageError(f"--due {due}: expected a date like 2026-12-01") from None
        return self.append(
            "action.added",
            incident.id,
            {"text": text.strip(), "owner": owner.strip(), "due": due, "priority": priority, "entry": entry},
        )

    def action_done(self, ref: str) -> Event:
        ref = ref.strip()
        found = (
            []
            if len(ref) < 4
            else self.store.events("where kind = 'action.added' and id >= ? and id < ? limit 2", (ref, ref + "\uffff"))
        )
        if len(found) != 1:
            raise UsageError(f"no single action item {ref!r}; `warroom action list` shows their ids")
        return self.append("action.done", found[0].incident, {"target": found[0].id})

    def record_flip(self, incident: Incident, check: str, previous: str, current: str, reason: str) -> Event:
        return self.append(
            "check.flipped", incident.id, {"check": check, "previous": previous, "current": current, "reason": reason}
        )

    def last_flip(self, incident_id: str, check: str) -> str | None:
        """The state the last recorded flip of `check` left it in, if any."""
        return self.store.last_flip(incident_id, check)

    def record_command(self, incident: Incident, command: str, exit_code: int, output: str, runbook: str = "") -> Event:
        return self.append(
            "command.ran",
            incident.id,
            {"command": command, "exit_code": int(exit_code), "output": output, "runbook": runbook},
        )


__all__ = ["Room", "parse_at", "parse_typed_line"]
