"""What running one runbook step takes: the values it asks for, the final command, the argv,
the child's environment and the secrets to keep out of its output.

- `needs(step, environ, fields)` lists what must be given before a step runs: each
  placeholder written in it (`<ID>`, `[SQL QUERY]`) and each `${NAME}` that is neither
  an incident field nor set in the environment.
- `prepare(step, environ, fields, values)` -> `Prepared`: a placeholder's value is
  written into the command quoted for where it stands (plain, in single or double
  quotes, in backticks: see shell.quote_for), so no value can ever be read as shell;
  a `${NAME}` given here reaches the child as an environment variable and is never
  pasted into the text. Anything still missing is a UsageError naming it.
- Incident fields (INCIDENT_ID, SEVERITY, STATUS, TITLE) reach the child as environment
  variables too (`child_env`), so a title with quotes cannot inject shell.

Core module: imports neither textual nor httpx.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warroom.errors import UsageError
from warroom.playbook.runbooks import Step, variables
from warroom.playbook.shell import BACKTICK, BACKTICK_IN_DOUBLE, DOUBLE, PLAIN, SINGLE, contexts, quote_for
from warroom.text.exits import exit_words
from warroom.text.sanitize import sanitize

if TYPE_CHECKING:
    from warroom.record.model import Incident
    from warroom.record.room import Room

__all__ = [
    "Need",
    "Prepared",
    "needs",
    "placeholders",
    "prepare",
    "child_env",
    "incident_fields",
    "step_secrets",
    "exit_words",
    "tick_source",
    "tick_text",
    "ticks",
    "INCIDENT_VARIABLES",
]

INCIDENT_VARIABLES = ("INCIDENT_ID", "SEVERITY", "STATUS", "TITLE")
# `<pod name>`, `<ID>`: starts with a letter; not `<<EOF`, `<(cmd)`, `< file >`.
# `[SQL QUERY]`, `FEATURE_[FLAG]`: upper case; not `[A-Z]`, `[[ -f x ]]`.
_PLACEHOLDER = re.compile(
    r"(?<!<)<(?P<angle>[A-Za-z](?:[\w .:/-]*[\w.])?)>|(?<!\[)\[(?P<square>[A-Z][A-Z0-9_ ]*[A-Z0-9])\](?!\])"
)
_FILLABLE = frozenset({PLAIN, SINGLE, DOUBLE, BACKTICK, BACKTICK_IN_DOUBLE})


@dataclass(frozen=True)
class Need:
    """One value a step asks for: `key` is what `--set KEY=VALUE` names."""

    key: str  # ID, SQL QUERY, DATABASE_URL
    shown: str  # <ID>, [SQL QUERY], ${DATABASE_URL}
    variable: bool  # a ${NAME}: given through the environment


@dataclass(frozen=True)
class Prepared:
    command: str  # the final command, placeholders filled: what is shown, run and recorded
    argv: list[str]
    env: dict[str, str]
    secrets: tuple[str, ...]  # values to redact from its output
    given: tuple[tuple[str, str], ...]  # ${NAME}s given for this run only, to show beside the command


def placeholders(command: str) -> list[tuple[int, int, str, str]]:
    """(start, end, key, context) of each placeholder outside comments, heredoc bodies and `${...}`."""
    marks = contexts(command)
    found = []
    for match in _PLACEHOLDER.finditer(command):
        start, end = match.span()
        where = set(marks[start:end])
        if len(where) == 1 and where <= _FILLABLE:
            found.append((start, end, match["angle"] or match["square"], marks[start]))
    return found


def needs(step: Step, environ: Mapping[str, str], fields: Mapping[str, str]) -> list[Need]:
    """What must be given before `step` runs, once each, in order of first use."""
    if step.manual:
        return []
    found: dict[str, Need] = {}
    for start, end, key, _context in placeholders(step.command):
        found.setdefault(key, Need(key, step.command[start:end], False))
    for name in variables(step.command):
        if name not in fields and name not in environ and name not in found:
            found[name] = Need(name, f"${{{name}}}", True)
    return list(found.values())


def _named(shown: list[str]) -> str:
    return " and ".join(shown) if len(shown) <= 2 else ", ".join(shown[:-1]) + f" and {shown[-1]}"


def prepare(
    step: Step,
    environ: Mapping[str, str],
    fields: Mapping[str, str],
    values: Mapping[str, str] | None = None,
) -> Prepared:
    """The command, argv and environment that run `step` with `values` (keys of `needs`)."""
    if step.manual:
        raise UsageError(f"step {step.index} is done by hand, not run: tick it when it is done")
    values = dict(values or {})
    missing = [need.shown for need in needs(step, environ, fields) if need.key not in values]
    if missing:
        raise UsageError(f"step {step.index} needs {_named(missing)}: give a value for each")
    for key, value in values.items():
        if "\x00" in value:
            raise UsageError(f"the value for {key} holds a NUL byte, which no command can take; type it again")
    command = step.command
    for start, end, key, context in reversed(placeholders(command)):
        command = command[:start] + quote_for(values[key], context) + command[end:]
    given = tuple((name, values[name]) for name in variables(step.command) if name in values and name not in fields)
    environ = {**environ, **dict(given)}
    shell = "bash" if shutil.which("bash", path=environ.get("PATH")) else "sh"
    return Prepared(command, [shell, "-c", command], child_env(environ, fields), step_secrets(step, environ), given)


def incident_fields(incident: Incident) -> dict[str, str]:
    """What a step may use of the incident: INCIDENT_ID (short id), SEVERITY, STATUS, TITLE."""
    return {
        "INCIDENT_ID": incident.short_id,
        "SEVERITY": incident.severity,
        "STATUS": incident.status,
        "TITLE": incident.title,
    }


def child_env(environ: Mapping[str, str], fields: Mapping[str, str]) -> dict[str, str]:
    """The step's environment: ours plus the incident fields (made inert: a title from a
    synced record carries no control characters into the child)."""
    env = {str(k): str(v) for k, v in environ.items()}
    for name, value in fields.items():
        env[name] = sanitize(str(value), limit=1000)
    return env


def step_secrets(step: Step, environ: Mapping[str, str]) -> tuple[str, ...]:
    """Values of the environment variables a step uses, to redact from its output (as
    the config treats `${NAME}`s): all but plain URLs without credentials."""
    values = []
    for name in variables(step.command):
        value = environ.get(name)
        if name in INCIDENT_VARIABLES or not value or len(value) < 4:
            continue
        if value.startswith(("http://", "https://")) and "@" not in value and "?" not in value:
            continue
        values.append(value)
    return tuple(values)


# --- manual steps: ticked on the timeline ---------------------------------------------------
# A tick is an ordinary timeline entry (what the fold, the views and the export already
# show) whose source names the step: `runbook:site-down #3`. Its author and time say who
# ticked it and when.

_TICK_SOURCE = re.compile(r"^runbook:(?P<name>.+) #(?P<index>[0-9]{1,6})$")


def tick_source(runbook: str, step: Step) -> str:
    return f"runbook:{runbook} #{step.index}"


def tick_text(step: Step) -> str:
    return f"Done by hand: {step.title}"


def ticks(room: Room, incident_id: str) -> dict[tuple[str, int], tuple[str, str]]:
    """(runbook, step) -> (who, when) of every step ticked on this incident, the first tick of each."""
    found: dict[tuple[str, int], tuple[str, str]] = {}
    events = room.store.events(
        "where incident = ? and kind = 'entry.logged' and json_extract(body, '$.source') like 'runbook:%'",
        (incident_id,),
    )
    for event in sorted(events, key=lambda e: (e.at, e.hlc)):
        match = _TICK_SOURCE.match(str(event.body.get("source", "")))
        if match:
            found.setdefault((match["name"], int(match["index"])), (event.author, event.at))
    return found
