"""Reading one log line: its level, its timestamp, a JSON record summarised on one line.

`LogLine` is what every log source yields: immutable, its text already inert and redacted.
Levels are error, warn, info and debug (LEVELS, most severe first); JSON lines (pino,
bunyan, structlog, wrangler tail, generic) are summarised on one line. No textual here.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

__all__ = ["LEVELS", "LEVEL_RANK", "LogLine", "level_rank"]

UTC = UTC
LEVELS = ("error", "warn", "info", "debug")
LEVEL_RANK = {"debug": 0, "info": 1, "warn": 2, "error": 3}


def level_rank(level: str | None) -> int:
    """How severe a level is, debug 0 to error 3; a line without one counts as info."""
    return LEVEL_RANK.get(level, 1) if level is not None else 1


READ_SIZE = 65536
MAX_LINE_BYTES = 65536

_SEQ = itertools.count(1)


class LogLine(NamedTuple):
    """One line, immutable. A named tuple: made in C from its five fields, so a flood of
    lines costs one tuple each (a frozen dataclass costs five descriptor calls more)."""

    source: str
    text: str  # sanitized, redacted, capped: show it as plain text
    level: str | None  # 'error' | 'warn' | 'info' | 'debug' | None
    at: datetime | None  # the line's own timestamp, aware UTC, if it has one
    seq: int  # arrival order, increasing across sources


_tuple_new = tuple.__new__


def _line(source: str, text: str, level: str | None, at: datetime | None, seq: int) -> LogLine:
    return _tuple_new(LogLine, (source, text, level, at, seq))


# --- levels ------------------------------------------------------------------------

# Searched in the upper-cased line. No leading \b: a pattern that starts with
# literal letters lets the regex engine skip ahead fast; the left edge is checked by hand.
_LEVEL_WORD = re.compile(r"(?:E(?:RROR|RR)|FATAL|CRITICAL|WARN(?:ING)?|INFO|DEBUG)\b")
_WORD_LEVEL = {
    "ERROR": "error",
    "ERR": "error",
    "FATAL": "error",
    "CRITICAL": "error",
    "WARNING": "warn",
    "WARN": "warn",
    "INFO": "info",
    "DEBUG": "debug",
}


def _plain_level(text: str) -> str | None:
    """The first level word (ERROR, ERR, FATAL, CRITICAL, WARN, WARNING, INFO, DEBUG;
    any case) standing as a word of its own."""
    upper = text.upper()
    match = _LEVEL_WORD.search(upper)
    while match is not None:
        start = match.start()
        if start == 0:
            return _WORD_LEVEL[match.group()]
        before = upper[start - 1]
        if not (before.isalnum() or before == "_"):
            return _WORD_LEVEL[match.group()]
        match = _LEVEL_WORD.search(upper, start + 1)
    return None


_NAMED_LEVELS = {
    "trace": "debug",
    "debug": "debug",
    "verbose": "debug",
    "dbg": "debug",
    "fine": "debug",
    "info": "info",
    "information": "info",
    "informational": "info",
    "notice": "info",
    "log": "info",
    "default": "info",
    "inf": "info",
    "warn": "warn",
    "warning": "warn",
    "wrn": "warn",
    "error": "error",
    "err": "error",
    "fatal": "error",
    "critical": "error",
    "crit": "error",
    "alert": "error",
    "emerg": "error",
    "emergency": "error",
    "panic": "error",
    "severe": "error",
    "exception": "error",
}


def _level_value(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        # pino and bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal
        if value >= 50:
            return "error"
        if value >= 40:
            return "warn"
        if value >= 30:
            return "info"
        return "debug"
    if isinstance(value, str):
        return _NAMED_LEVELS.get(value.strip().lower())
    return None


# --- timestamps ----------------------------------------------------------------------

_TS_PREFIX = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?)(Z|z|[+-]\d\d:?\d\d)?(?=\s|$)\s*")


def _parse_iso(text: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(text)
    except (ValueError, TypeError):
        return None
    if at.tzinfo is UTC:
        return at
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)  # a zone-less stamp is taken as UTC
    return at.astimezone(UTC)


def _stamp(match: re.Match[str]) -> datetime | None:
    """A _TS_PREFIX match -> aware UTC datetime (a missing zone is taken as UTC)."""
    stamp, zone = match.group(1), match.group(2)
    if "," in stamp:
        stamp = stamp.replace(",", ".")
    try:
        at = datetime.fromisoformat(stamp + ("Z" if zone == "z" else zone) if zone else stamp)
    except ValueError:
        return None
    if at.tzinfo is UTC:
        return at
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _from_epoch(value: float) -> datetime | None:
    try:
        if value > 1e17:
            value /= 1e9
        elif value > 1e14:
            value /= 1e6
        elif value > 1e11:
            value /= 1e3
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _time_value(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    if isinstance(value, str):
        value = value.strip()
        if value.replace(".", "", 1).isdigit():
            try:
                return _from_epoch(float(value))
            except ValueError:
                return None
        return _parse_iso(value)
    return None


# --- JSON records --------------------------------------------------------------------

_LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "loglevel", "log_level")
_MESSAGE_KEYS = ("msg", "message", "event", "text", "log")
_TIME_KEYS = ("time", "timestamp", "ts", "@timestamp", "datetime", "date", "t")
_DROPPED_KEYS = frozenset({"v", "pid", "hostname"})
_ERROR_KEYS = frozenset({"err", "error", "exception", "exc_info", "stack", "stack_trace", "traceback", "exc"})
_FIELD_LIMIT = 300


def _compact(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _FIELD_LIMIT else text[:_FIELD_LIMIT] + "…"


def _last_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return ""


def _field_value(key: str, value: Any) -> str:
    if isinstance(value, str):
        if key in _ERROR_KEYS and "\n" in value:
            return _last_line(value)  # a traceback: its last line names the exception
        if value and not any(c.isspace() for c in value) and "=" not in value and '"' not in value:
            return value
        return _compact(value)
    if isinstance(value, dict) and key in _ERROR_KEYS:
        kind = value.get("type") or value.get("name") or value.get("code")
        message = value.get("message") or value.get("msg")
        if isinstance(message, str):
            return f"{kind}: {message}" if isinstance(kind, str) and kind else message
        stack = value.get("stack")
        if isinstance(stack, str):
            return stack.strip().splitlines()[0] if stack.strip() else ""
    return _compact(value)


def _message_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(v if isinstance(v, str) else _compact(v) for v in value)
    return _compact(value)


_T = TypeVar("_T")


def _first(
    record: dict[str, Any], keys: tuple[str, ...], read: Callable[[Any], _T | None], used: set[str]
) -> _T | None:
    """The first of `keys` in `record` that `read` makes sense of; every key tried is used."""
    for key in keys:
        if key in record:
            used.add(key)
            value = read(record[key])
            if value is not None:
                return value
    return None


def _json_record(record: dict[str, Any]) -> tuple[str, str | None, datetime | None]:
    if "outcome" in record and ("logs" in record or "exceptions" in record or "eventTimestamp" in record):
        return _wrangler(record)
    used: set[str] = set()
    level = _first(record, _LEVEL_KEYS, _level_value, used)
    message = ""
    for key in _MESSAGE_KEYS:
        if key in record and record[key] not in (None, ""):
            used.add(key)
            message = _message_text(record[key])
            break
    at = _first(record, _TIME_KEYS, _time_value, used)
    fields = []
    for key, value in record.items():
        if key in used or key in _DROPPED_KEYS:
            continue
        fields.append(f"{key}={_field_value(key, value)}")
    text = " ".join([message, *fields]) if message else " ".join(fields)
    return text, level, at


def _wrangler(record: dict[str, Any]) -> tuple[str, str | None, datetime | None]:
    """`wrangler tail --format json`: one invocation, summarised on one line."""
    level = "info"
    parts: list[str] = []

    def raise_to(candidate: str | None) -> None:
        nonlocal level
        if candidate and LEVEL_RANK[candidate] > LEVEL_RANK[level]:
            level = candidate

    script = record.get("scriptName")
    raw_event = record.get("event")
    event: dict[str, Any] = raw_event if isinstance(raw_event, dict) else {}
    request = event.get("request") if isinstance(event.get("request"), dict) else None
    if request is not None:
        head = f"{request.get('method', '?')} {request.get('url', '?')}"
        response = event.get("response")
        if isinstance(response, dict) and isinstance(response.get("status"), int):
            status = response["status"]
            head += f" {status}"
            raise_to("error" if status >= 500 else "warn" if status >= 400 else None)
        parts.append(head)
    elif "cron" in event:
        parts.append(f"cron {event.get('cron')}")
    elif "queue" in event:
        parts.append(f"queue {event.get('queue')} ({event.get('batchSize', '?')} messages)")
    elif "scheduledTime" in event:
        parts.append("alarm")
    outcome = record.get("outcome")
    if outcome != "ok":
        parts.append(f"outcome={outcome}")
        raise_to("warn" if outcome == "canceled" else "error")
    for exc in record.get("exceptions") or []:
        if isinstance(exc, dict):
            parts.append(f"{exc.get('name', 'Error')}: {exc.get('message', '')}")
        else:
            parts.append(_message_text(exc))
        raise_to("error")
    for entry in record.get("logs") or []:
        if not isinstance(entry, dict):
            continue
        entry_level = _level_value(entry.get("level")) or "info"
        raise_to(entry_level)
        parts.append(f"{entry.get('level', 'log')}: {_message_text(entry.get('message', ''))}")
    text = " | ".join(parts) if parts else _compact(record)
    if isinstance(script, str) and script:
        text = f"{script}: {text}"
    return text, level, _time_value(record.get("eventTimestamp"))
