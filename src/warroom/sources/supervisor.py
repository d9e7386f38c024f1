"""Log sources: a local command's output or a followed file, as inert `LogLine`s.

- Lines are split here from 64 KiB reads (no StreamReader.readline limit): LF,
  CRLF and CR-only endings all end a line; a line of megabytes is capped (its
  first part kept, the rest counted in a ' …[+N chars]' marker), never fatal.
- Every line is decoded with replacement, made inert and redacted by
  `warroom.text.sanitize`; a private key that comes line by line is redacted whole, from
  its BEGIN line to its END line (each source keeps a `KeyBlocks` state); JSON lines (pino, bunyan, structlog, wrangler tail, generic)
  are summarised on one line; levels and timestamps are recognised.
- Lines reach `on_lines` in batches (at most one call per `flush_interval`, or
  every `max_batch` lines), so a flood costs the UI few calls; `lines` is a
  bounded deque, `total` counts every line received.
- Commands run with stdin from /dev/null in their own session (process group),
  so `stop()` ends the whole group and reaps it; with `restart = true` they come
  back with exponential backoff.
- Nothing here raises into the caller's loop: problems become status strings.

No textual here: plain callbacks only (the UI turns them into messages).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import time
from collections import deque
from datetime import datetime, timezone
from functools import partial
from itertools import islice, repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

from warroom.config import LogConfig
from warroom.record.clock import Clock, SystemClock
from warroom.sources.process import Spawned, spawn
from warroom.text.sanitize import (
    DEFAULT_LIMIT,
    KeyBlocks,
    Redactor,
    Sanitizer,
    _line_finder,
    sanitize,
)

__all__ = ["LogLine", "LogSource", "ErrorRate", "parse_line", "next_seq", "LEVELS"]

UTC = timezone.utc
LEVELS = ("error", "warn", "info", "debug")
_LEVEL_RANK = {"debug": 0, "info": 1, "warn": 2, "error": 3}
READ_SIZE = 65536
MAX_LINE_BYTES = 65536

_SEQ = itertools.count(1)


def next_seq() -> int:
    """The next arrival number: global, increasing across all sources."""
    return next(_SEQ)


class LogLine(NamedTuple):
    """One line, immutable. A named tuple: made in C from its five fields, so a flood of
    lines costs one tuple each (a frozen dataclass costs five descriptor calls more)."""

    source: str
    text: str            # sanitized, redacted, capped: show it as plain text
    level: str | None    # 'error' | 'warn' | 'info' | 'debug' | None
    at: datetime | None  # the line's own timestamp, aware UTC, if it has one
    seq: int             # arrival order, increasing across sources


_tuple_new = tuple.__new__


def _line(source: str, text: str, level: str | None, at: datetime | None, seq: int) -> LogLine:
    return _tuple_new(LogLine, (source, text, level, at, seq))


# --- levels ------------------------------------------------------------------------

# Searched in the upper-cased line. No leading \b: a pattern that starts with
# literal letters lets the regex engine skip ahead fast; the left edge is checked by hand.
_LEVEL_WORD = re.compile(r"(?:E(?:RROR|RR)|FATAL|CRITICAL|WARN(?:ING)?|INFO|DEBUG)\b")
_WORD_LEVEL = {"ERROR": "error", "ERR": "error", "FATAL": "error", "CRITICAL": "error",
               "WARNING": "warn", "WARN": "warn", "INFO": "info", "DEBUG": "debug"}


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
    "trace": "debug", "debug": "debug", "verbose": "debug", "dbg": "debug", "fine": "debug",
    "info": "info", "information": "info", "informational": "info", "notice": "info", "log": "info",
    "default": "info", "inf": "info",
    "warn": "warn", "warning": "warn", "wrn": "warn",
    "error": "error", "err": "error", "fatal": "error", "critical": "error", "crit": "error",
    "alert": "error", "emerg": "error", "emergency": "error", "panic": "error", "severe": "error",
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

_TS_PREFIX = re.compile(
    r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?)(Z|z|[+-]\d\d:?\d\d)?(?=\s|$)\s*")


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
_ERROR_KEYS = frozenset({"err", "error", "exception", "exc_info", "stack", "stack_trace",
                         "traceback", "exc"})
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


def _json_record(record: dict[str, Any]) -> tuple[str, str | None, datetime | None]:
    if "outcome" in record and ("logs" in record or "exceptions" in record or "eventTimestamp" in record):
        return _wrangler(record)
    used: set[str] = set()
    level = None
    for key in _LEVEL_KEYS:
        if key in record:
            used.add(key)
            level = _level_value(record[key])
            if level is not None:
                break
    message = ""
    for key in _MESSAGE_KEYS:
        if key in record and record[key] not in (None, ""):
            used.add(key)
            message = _message_text(record[key])
            break
    at = None
    for key in _TIME_KEYS:
        if key in record:
            used.add(key)
            at = _time_value(record[key])
            if at is not None:
                break
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
        if candidate and _LEVEL_RANK[candidate] > _LEVEL_RANK[level]:
            level = candidate

    script = record.get("scriptName")
    event = record.get("event") if isinstance(record.get("event"), dict) else {}
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


# --- the parser ----------------------------------------------------------------------


class _Parser:
    """Turns decoded lines into LogLines with one sanitizer (secrets, limit) fixed.

    A parser belongs to one stream: `parse` and `parse_block` take the stream's lines in
    order and keep its private-key state (`keys`), so the lines of a key that arrives line
    by line are all redacted, whichever of the two reads them. `parse_one` is one line on
    its own, with no state."""

    def __init__(self, secrets: Iterable[str] | Redactor = (), limit: int = DEFAULT_LIMIT) -> None:
        self.sanitizer = Sanitizer(secrets, limit=limit)
        self.redactor = self.sanitizer.redactor
        self.limit = self.sanitizer.limit
        self.keys = KeyBlocks()

    def parse(self, line: str, source: str, seq: int, hidden: int = 0) -> LogLine:
        """The stream's next line."""
        parsed = self.parse_one(line, source, seq, hidden)
        if self.keys.left > 0 or "PRIVATE KEY" in line:
            parsed = self._through_keys(line, parsed)
        return parsed

    def parse_one(self, line: str, source: str, seq: int, hidden: int = 0) -> LogLine:
        """One line on its own (no stream state)."""
        try:
            return self._parse(line, source, seq, hidden, True)
        except Exception:  # pragma: no cover - defensive: a line never takes the source down
            return _line(source, sanitize(line, secrets=self.redactor.secrets), None, None, seq)

    def _through_keys(self, raw: str, parsed: LogLine) -> LogLine:
        """`parsed` (from `raw`), or what shows instead when it is part of a private key."""
        replaced = self.keys.step(raw)
        if replaced is None:
            return parsed
        return self.parse_one(replaced, parsed.source, parsed.seq)

    def _parse(self, line: str, source: str, seq: int, hidden: int, check: bool) -> LogLine:
        at = None
        first = line[:1]
        if first.isdigit():
            match = _TS_PREFIX.match(line)
            if match is not None:
                at = _stamp(match)
                if at is not None and match.group(2):
                    line = line[match.end():]  # docker -t / zoned stamp: now in `at`
                    inner = _TS_PREFIX.match(line) if line[:1].isdigit() else None
                    if inner is not None and inner.group(2):
                        at = _stamp(inner) or at
                        line = line[inner.end():]
                first = line[:1]
        if first == "{" or (first in (" ", "\t") and line.lstrip()[:1] == "{"):
            try:
                record = json.loads(line) if len(line) <= MAX_LINE_BYTES else None
            except ValueError:
                record = None
            if isinstance(record, dict):
                text, level, json_at = _json_record(record)
                return _line(source, self.sanitizer(text, hidden), level, json_at or at, seq)
        if check or hidden or len(line) > self.limit:
            text = self.sanitizer(line, hidden)
        else:
            text = line  # the caller checked the whole block: nothing to clean or redact
        return _line(source, text, _plain_level(text), at, seq)

    def parse_block(self, text: str, source: str, clean: bool | None = None) -> list[LogLine]:
        """Many LF-separated lines at once (the stream's next ones), each parsed exactly as
        `parse` would parse it.
        The checks for controls and secrets run over the whole block, one search per kind,
        and only the lines they point at get the full per-line treatment; the others, plain
        lines (maybe after a timestamp), take a short path that has nothing to clean.
        `clean=True`: the caller knows the block has no control or non-ASCII character."""
        lines = text.split("\n")
        suspects = self.redactor.suspect_lines(text)
        if not clean:
            search = _UNSAFE_NO_LF.search
            unsafe = search(text)
            if unsafe is not None:
                lines_of = _line_finder(text)
                while unsafe is not None:
                    pos = unsafe.start()
                    suspects.add(lines_of(pos))
                    end = text.find("\n", pos)
                    unsafe = search(text, end + 1) if end >= 0 else None
        out: list[LogLine] = []
        if not suspects:
            self._short(lines, source, out)
        else:
            parse = self.parse_one
            start = 0
            for index in sorted(suspects):
                if index > start:
                    self._short(lines[start:index], source, out)
                out.append(parse(lines[index], source, next(_SEQ)))
                start = index + 1
            if start < len(lines):
                self._short(lines[start:], source, out)
        if self.keys.left > 0 or "PRIVATE KEY" in text:
            # a private key's lines: the BEGIN line is a suspect (redacted already), the lines
            # after it look like any other line; the stream's key state says which they are
            keys, through = self.keys, self._through_keys
            for index, raw in enumerate(lines):
                if keys.left > 0 or "PRIVATE KEY" in raw:
                    out[index] = through(raw, out[index])
        return out

    def _short(self, lines: list[str], source: str, out: list[LogLine]) -> None:
        """The short path, for lines with no control, nothing to redact: `parse` without the
        checks (parse_block has made them), its common cases inline."""
        if len(lines) >= 16:
            try:
                if self._columns(lines, source, out):  # adds to `out` only as its last step
                    return
            except Exception:  # pragma: no cover - defensive: the loop below takes them
                pass
        append = out.append
        parse = self._parse
        limit = self.limit
        special = _SPECIAL_FIRST
        digits = _DIGITS
        fromiso = datetime.fromisoformat
        search = _LEVEL_WORD.search
        levels = _WORD_LEVEL
        first_words = _FIRST_WORD_LEVEL
        seqs = _SEQ
        new, cls = _tuple_new, LogLine
        for raw in lines:
            try:
                line = raw
                at = None
                first = line[:1]
                if first in digits and line[10:11] == "T" and line[4:5] == "-":
                    # an RFC 3339 stamp and a space (docker -t): the common case, without
                    # the regex; anything else goes to the full parse below
                    end = line.find(" ", 19, 48)
                    if end > 0:
                        try:
                            at = fromiso(line[:end])
                        except ValueError:
                            at = None
                        if at is not None:
                            zone = at.tzinfo
                            if zone is None or not _rfc3339(line, end):
                                at = None  # zone-less (the full parse keeps it in the text) or
                                # a form fromisoformat takes and _TS_PREFIX does not: the full parse
                            else:
                                if zone is not UTC:
                                    at = at.astimezone(UTC)
                                line = line[end + 1:]
                                if line[:1].isspace():
                                    line = line.lstrip()
                                first = line[:1]
                if first in special or len(line) > limit:
                    append(parse(raw, source, next(seqs), 0, False))
                    continue
                # the level: most lines start with it ("INFO ..."); else the first level word
                space = line.find(" ", 1, 9)
                level = first_words.get(line[:space]) if space > 0 else None
                if level is None:
                    upper = line.upper()
                    match = search(upper)
                    while match is not None:
                        start = match.start()
                        if start == 0 or not (upper[start - 1].isalnum() or upper[start - 1] == "_"):
                            level = levels[match.group()]
                            break
                        match = search(upper, start + 1)
                append(new(cls, (source, line, level, at, next(seqs))))
            except Exception:  # pragma: no cover - defensive
                append(_line(source, sanitize(raw, secrets=self.redactor.secrets), None, None, next(seqs)))

    def _columns(self, lines: list[str], source: str, out: list[LogLine]) -> bool:
        """The short path for a whole run of lines of one shape, a column at a time (mostly C
        loops: map, set, zip): every line starts with an RFC 3339 stamp with a zone and a
        space, or none starts with a digit (no stamp). False, having done nothing, when the
        run is not all of one shape: the loop in `_short` takes it line by line."""
        first = lines[0][:1]
        if first in _DIGITS:
            width = lines[0].find(" ")
            heads = None
            if 19 <= width < 48 and min(map(len, lines)) > width and set(map(itemgetter(width), lines)) == {" "}:
                # stamps of one width (the usual case): slices, no tuple per line
                heads = list(map(itemgetter(slice(0, width)), lines))
                if " " in "".join(heads):
                    heads = None
            if heads is not None:
                rests = list(map(itemgetter(slice(width + 1, None)), lines))
            else:
                parts = [line.partition(" ") for line in lines]
                if set(map(_AT_1, parts)) != {" "}:
                    return False  # a line without a space
                heads = list(map(_AT_0, parts))
                widths = set(map(len, heads))
                if min(widths) < 19 or max(widths) >= 48:
                    return False
                rests = list(map(_AT_2, parts))
            if set(map(_SEPARATORS, heads)) != {("-", "-", "T", ":", ":")} or not set(map(_AT_0, heads)) <= _DIGITS:
                return False
            if not set(map(_LAST, heads)) <= {"Z", "z"} or not set(map(_BEFORE_LAST, heads)).isdisjoint(".,"):
                return False  # an offset, no zone, "42.Z": the line by line path checks its form
            try:
                ats = list(map(_FROMISO, heads))
            except ValueError:
                return False
            if set(map(_TZINFO, ats)) != {UTC}:
                return False
            starts = set(map(_FIRST_CHAR, rests))
            if any(map(str.isspace, starts)):
                return False  # more space after the stamp: the line by line path strips it
        elif first in _SPECIAL_FIRST:
            return False
        else:
            rests = lines
            ats = repeat(None)
            starts = set(map(_FIRST_CHAR, rests))
        if not starts.isdisjoint(_SPECIAL_FIRST) or max(map(len, rests)) > self.limit:
            return False  # a stamp or JSON after the stamp, a space first, a long line
        levels = list(map(_FIRST_WORD_LEVEL.get, [rest.partition(" ")[0] for rest in rests]))
        if None in levels:  # no level word first: the first one anywhere, as _plain_level finds it
            levels = [level if level is not None else _plain_level(rest) for level, rest in zip(levels, rests)]
        out.extend(map(_make_line, zip(repeat(source), rests, levels, ats, islice(_SEQ, len(rests)))))
        return True


_AT_0, _AT_1, _AT_2, _LAST, _BEFORE_LAST = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(-1), itemgetter(-2)
_SEPARATORS = itemgetter(4, 7, 10, 13, 16)
_FIRST_CHAR = itemgetter(slice(0, 1))
_FROMISO = datetime.fromisoformat
_TZINFO = attrgetter("tzinfo")
_make_line = partial(_tuple_new, LogLine)


def _rfc3339(line: str, end: int) -> bool:
    """line[:end], which fromisoformat has read with a zone, is a stamp as _TS_PREFIX reads it:
    YYYY-MM-DDTHH:MM:SS, a fraction maybe, and Z, z, +HH:MM or +HHMM (fromisoformat also takes
    +HH, +HH:MM:SS, "12:00:00.Z" and week dates, which the full parse leaves in the text)."""
    if line[7] != "-" or line[13] != ":" or line[16] != ":":
        return False
    last = line[end - 1]
    if last == "Z" or last == "z":
        zone = end - 1
    elif line[end - 6] in "+-" and line[end - 3] == ":":
        zone = end - 6
    elif line[end - 5] in "+-":
        zone = end - 5
    else:
        return False
    return line[zone - 1] not in ".,"  # fromisoformat takes a "." with no digit after it


# A level word standing first, followed by a space: what _plain_level finds at once.
_FIRST_WORD_LEVEL = {form: level for word, level in _WORD_LEVEL.items()
                     for form in (word, word.lower(), word.capitalize())}


_DIGITS = frozenset("0123456789")
_CONTROL_BYTES = bytes(range(0x00, 0x0A)) + bytes(range(0x0B, 0x20)) + b"\x7f"


def _ascii_clean(block: bytes) -> bool:
    """True when the bytes are ASCII without controls (LF aside): nothing to neutralise.
    (Much faster than a regex over the decoded text; False just means "look closer".)"""
    return block.isascii() and len(block.translate(None, _CONTROL_BYTES)) == len(block)


# Lines starting with one of these may hold a timestamp or JSON: the full parse.
_SPECIAL_FIRST = frozenset("0123456789{ \t")
_UNSAFE_NO_LF = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c"
                           "\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


_PARSERS: dict[tuple[str, ...], _Parser] = {}


def parse_line(raw: bytes | str, source: str, seq: int, secrets: Iterable[str] = ()) -> LogLine:
    """One raw line (without or with its line ending) -> LogLine. Never raises."""
    try:
        key = tuple(s for s in secrets if isinstance(s, str))
        parser = _PARSERS.get(key)
        if parser is None:
            if len(_PARSERS) > 32:
                _PARSERS.clear()
            parser = _PARSERS[key] = _Parser(key)
        if isinstance(raw, (bytes, bytearray, memoryview)):
            raw = bytes(raw)
            hidden = 0
            if len(raw) > MAX_LINE_BYTES:
                hidden, raw = len(raw) - MAX_LINE_BYTES, raw[:MAX_LINE_BYTES]
            text = raw.decode("utf-8", "replace")
        else:
            text, hidden = str(raw), 0
        text = text.rstrip("\r\n")
        return parser.parse_one(text, str(source), int(seq), hidden)
    except Exception:  # pragma: no cover - defensive
        return _line(str(source), sanitize(raw if isinstance(raw, (str, bytes)) else ""), None, None, seq)


# --- splitting a byte stream into lines -----------------------------------------------


class _Splitter:
    """Bytes in, complete lines out. LF, CRLF and CR end a line; a line longer than
    `cap` bytes keeps its first `cap` bytes and counts the rest."""

    def __init__(self, cap: int = MAX_LINE_BYTES) -> None:
        self.cap = cap
        self.tail = b""
        self.dropped = 0
        self.after_cr = False

    def feed(self, data: bytes) -> list[tuple[bytes, int]]:
        """-> [(block, hidden)]: a block is LF-joined lines; hidden > 0 only for a capped line."""
        if not data:
            return []
        if self.after_cr and data[:1] == b"\n":
            data = data[1:]  # the LF of a CRLF cut in two by the reads
        self.after_cr = False
        if not data:
            return []
        self.after_cr = data[-1:] == b"\r"
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        out: list[tuple[bytes, int]] = []
        if self.dropped:
            index = data.find(b"\n")
            if index < 0:
                self.dropped += len(data)
                return out
            out.append((self.tail, self.dropped + index))
            self.tail, self.dropped = b"", 0
            data = data[index + 1:]
        if self.tail:
            data = self.tail + data
            self.tail = b""
        last = data.rfind(b"\n")
        if last >= 0:
            out.append((data[:last], 0))
            rest = data[last + 1:]
        else:
            rest = data
        if len(rest) > self.cap:
            self.tail, self.dropped = rest[: self.cap], len(rest) - self.cap
        else:
            self.tail = rest
        return out

    def flush(self) -> list[tuple[bytes, int]]:
        """End of stream: a last line without a line ending is still a line."""
        out = [(self.tail, self.dropped)] if self.tail or self.dropped else []
        self.tail, self.dropped, self.after_cr = b"", 0, False
        return out


# --- the source ------------------------------------------------------------------------

StatusCallback = Callable[[str], None]
LinesCallback = Callable[[list[LogLine]], None]


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class LogSource:
    """A log source from the local config: a command's output, or a followed file.

    `on_lines(batch)` and `on_status(text)` are plain callbacks called on the
    event loop that runs the source; the UI turns them into messages.
    """

    def __init__(self, config: LogConfig, *, on_lines: LinesCallback, on_status: StatusCallback,
                 secrets: Iterable[str] = (), clock: Clock | None = None,
                 env: dict[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
                 backoff_base: float = 1.0, backoff_max: float = 30.0, stable_after: float = 60.0,
                 flush_interval: float = 0.05, max_batch: int = 5000, poll_interval: float = 0.25,
                 initial_lines: int | None = None, stop_grace: float = 1.0, drain_timeout: float = 1.0,
                 limit: int = DEFAULT_LIMIT) -> None:
        self.config = config
        self.name = config.name
        self.lines: deque[LogLine] = deque(maxlen=max(1, config.buffer))
        self.total = 0
        self.status = "not started"
        self.pid: int | None = None
        self.clock = clock or SystemClock()
        self.env = env
        self.cwd = os.fspath(cwd) if cwd is not None else None
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self.poll_interval = poll_interval
        # a followed file starts with its last lines, as many as the buffer keeps
        self.initial_lines = config.buffer if initial_lines is None else initial_lines
        self.partial_after = 2.0  # a followed file's unfinished last line shows after this quiet
        self.stop_grace = stop_grace
        self.drain_timeout = drain_timeout
        self.restarts = 0
        self._on_lines = on_lines
        self._on_status = on_status
        self._parser = _Parser(secrets, limit=limit)
        self._splitter = _Splitter()
        self._json_block: list[str] | None = None
        self._json_block_size = 0
        self._pending: list[LogLine] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush = 0.0
        self._last_text = ""
        self._exit_code: int | None = None
        self._spawned: Spawned | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop_event: asyncio.Event | None = None
        self._finished: asyncio.Event | None = None
        self._started: asyncio.Event | None = None
        self._stopping = False
        self._following = False
        self._callback_failed = False
        self._holding = False  # lines pile up in _pending, for one batch (a file's first tail)

    # --- public ---------------------------------------------------------------------

    @property
    def exit_code(self) -> int | None:
        """The last exit code (negative: killed by that signal; 127: command not found)."""
        return self._exit_code

    @property
    def running(self) -> bool:
        if self._following:
            return True
        spawned = self._spawned
        return spawned is not None and not spawned.exited.done()

    async def start(self) -> None:
        """Start the command (or the follow) in a task; returns once it has started or failed.
        After stop() (or a one-shot's end), start() runs it again; `lines` and `total` carry on."""
        if self._task is not None and not self._task.done():
            return
        self._splitter = _Splitter()
        self._parser.keys = KeyBlocks()
        self._json_block, self._json_block_size = None, 0
        self._stop_event = asyncio.Event()
        self._finished = asyncio.Event()
        self._started = asyncio.Event()
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._main(), name=f"log source {self.name}")
        waiter = asyncio.ensure_future(self._started.wait())
        try:
            await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async def wait(self) -> int:
        """Wait until the source is done (a one-shot command exited, or stop()); -> exit code.

        127 when the command was not found, 126 when it could not be run, -1 for a file.
        """
        if self._finished is None:
            await self.start()
        assert self._finished is not None
        await self._finished.wait()
        return self._exit_code if self._exit_code is not None else -1

    async def stop(self) -> None:
        """Stop: end the process group (TERM, then KILL after `stop_grace`), reap it, flush."""
        self._stopping = True
        if self._stop_event is not None:
            self._stop_event.set()
        try:
            await self._terminate()
        except Exception:  # pragma: no cover - defensive
            pass
        task = self._task
        if task is not None and not task.done():
            done, _ = await asyncio.wait({task}, timeout=self.stop_grace + 5)
            if not done:  # pragma: no cover - the task ends once its process is gone
                task.cancel()
                await asyncio.wait({task}, timeout=5)
        self._flush()
        self._following = False
        self._set_status("stopped")
        if self._finished is not None:
            self._finished.set()

    # --- plumbing ---------------------------------------------------------------------

    def _set_status(self, text: str) -> None:
        if self._pending:  # the lines before the news that follows them ("exited with code 0")
            self._flush()
        self.status = text
        try:
            self._on_status(text)
        except Exception:
            pass

    async def _main(self) -> None:
        try:
            if self.config.command:
                await self._run_command()
            elif self.config.file:
                await self._follow_file()
            else:
                self._set_status("nothing to run: give a command or a file")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never a traceback into the UI's loop
            self._set_status(f"error: {type(exc).__name__}: {sanitize(str(exc), limit=200)}")
        finally:
            self._flush()
            self._following = False
            if self._started is not None:
                self._started.set()
            if self._finished is not None:
                self._finished.set()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped; True when stop() was called."""
        assert self._stop_event is not None
        try:
            await asyncio.wait_for(self._stop_event.wait(), timeout=seconds)
            return True
        except asyncio.TimeoutError:
            return self._stopping

    # --- commands ---------------------------------------------------------------------

    async def _run_command(self) -> None:
        attempt = 0
        while not self._stopping:
            began = time.monotonic()
            await self._run_once()
            if self._stopping or not self.config.restart:
                return
            if time.monotonic() - began >= self.stable_after:
                attempt = 0
            delay = min(self.backoff_base * (2 ** attempt), self.backoff_max)
            attempt += 1
            self._set_status(f"restarting in {_seconds(delay)}")
            if await self._sleep(delay):
                return
            self.restarts += 1

    async def _run_once(self) -> None:
        argv = self.config.command
        name = sanitize(argv[0], limit=200)
        try:
            spawned = await spawn(argv, env=self.env, cwd=self.cwd)
        except FileNotFoundError:
            self._exit_code = 127
            if self.cwd is not None and not os.path.isdir(self.cwd):
                self._set_status(f"working folder not found: {sanitize(self.cwd, limit=200)}")
            else:
                self._set_status(f"command not found: {name}")
            return
        except PermissionError:
            self._exit_code = 126
            self._set_status(f"permission denied: {name}")
            return
        except OSError as exc:
            self._exit_code = 126
            self._set_status(f"cannot start {name}: {sanitize(exc.strerror or str(exc), limit=200)}")
            return
        finally:
            if self._started is not None:
                self._started.set()
        self._spawned = spawned
        self.pid = spawned.pid
        self._parser.keys = KeyBlocks()  # a new run is a new stream: no key left open from the last
        self._exit_code = None
        self._last_text = ""
        self._set_status(f"running (pid {spawned.pid})")
        reader = asyncio.ensure_future(self._read_stream(spawned.stdout))
        try:
            await asyncio.shield(spawned.exited)
            try:
                # the output ends when every writer has closed the pipe
                await asyncio.wait_for(asyncio.shield(reader), timeout=self.drain_timeout)
            except asyncio.TimeoutError:
                spawned.kill_group()  # a background child still holds the pipe: it goes too
                try:
                    await asyncio.wait_for(asyncio.shield(reader), timeout=1.0)
                except asyncio.TimeoutError:  # held by something outside the group
                    pass
        finally:
            if not reader.done():
                reader.cancel()
                self._feed(self._splitter.flush(), final=True)
            spawned.kill_group()  # no leftovers from this run
            if spawned.exited.done():
                spawned.close()
        code = spawned.returncode
        self._exit_code = code
        if self._stopping or code is None:
            return
        message = f"exited with code {code}" if code >= 0 else f"killed by {_signal_name(-code)}"
        if self._last_text:
            message += f": {self._last_text}"
        self._set_status(message)

    async def _read_stream(self, reader: asyncio.StreamReader) -> None:
        read = reader.read
        while True:
            data = await read(READ_SIZE)
            if not data:
                break
            self._feed(self._splitter.feed(data))
        self._feed(self._splitter.flush(), final=True)

    async def _terminate(self) -> None:
        spawned = self._spawned
        if spawned is None:
            return
        if not spawned.exited.done():
            spawned.kill_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(spawned.exited), timeout=self.stop_grace)
            except asyncio.TimeoutError:
                pass
        spawned.kill_group(signal.SIGKILL)
        try:
            await asyncio.wait_for(asyncio.shield(spawned.exited), timeout=5.0)
        except asyncio.TimeoutError:  # pragma: no cover - SIGKILL is not ignorable
            pass

    # --- lines ------------------------------------------------------------------------

    def _feed(self, blocks: list[tuple[bytes, int]], final: bool = False) -> None:
        batch: list[LogLine] = []
        for block, hidden in blocks:
            if hidden:
                text = block.decode("utf-8", "replace")
                if self._json_block is not None:
                    batch.extend(self._end_json_block(False))
                batch.append(self._parser.parse(text, self.name, next(_SEQ), hidden))
                continue
            text = block.decode("utf-8", "replace")
            if self._json_block is not None or _may_open_json_block(text):
                batch.extend(self._with_json_blocks(text))
            else:
                batch.extend(self._parser.parse_block(text, self.name, _ascii_clean(block) or None))
        if final and self._json_block is not None:
            batch.extend(self._end_json_block(False))
        if batch:
            self._deliver(batch)

    def _with_json_blocks(self, text: str) -> list[LogLine]:
        """wrangler tail --format json pretty-prints each event over many lines:
        a '{' line to a '}' line is put together and parsed as one record."""
        out: list[LogLine] = []
        plain: list[str] = []

        def flush_plain() -> None:
            if plain:
                out.extend(self._parser.parse_block("\n".join(plain), self.name))
                plain.clear()

        for line in text.split("\n"):
            if self._json_block is not None:
                self._json_block.append(line)
                self._json_block_size += len(line) + 1
                if line.rstrip() == "}":
                    flush_plain()
                    out.extend(self._end_json_block(True))
                elif self._json_block_size > MAX_LINE_BYTES or len(self._json_block) > 5000:
                    flush_plain()
                    out.extend(self._end_json_block(False))
            elif line.rstrip() == "{":
                flush_plain()
                self._json_block = [line]
                self._json_block_size = len(line) + 1
            else:
                plain.append(line)
        flush_plain()
        return out

    def _end_json_block(self, complete: bool) -> list[LogLine]:
        lines, self._json_block, self._json_block_size = self._json_block or [], None, 0
        if complete:
            joined = "\n".join(lines)
            try:
                record = json.loads(joined)
            except ValueError:
                record = None
            if isinstance(record, dict):
                return [self._parser.parse(joined.replace("\n", " "), self.name, next(_SEQ))]
        return self._parser.parse_block("\n".join(lines), self.name) if lines else []

    def _deliver(self, batch: list[LogLine]) -> None:
        self.lines.extend(batch)
        self.total += len(batch)
        for line in reversed(batch):
            if line.text.strip():
                self._last_text = line.text.strip()
                break
        self._pending.extend(batch)
        if self._holding:
            return
        now = time.monotonic()
        if len(self._pending) >= self.max_batch or now - self._last_flush >= self.flush_interval:
            self._flush()
        elif self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # pragma: no cover
                self._flush()
                return
            delay = max(0.0, self.flush_interval - (now - self._last_flush))
            self._flush_handle = loop.call_later(delay, self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        try:
            self._on_lines(batch)
        except Exception as exc:
            if not self._callback_failed:
                self._callback_failed = True
                self._set_status(f"on_lines callback failed: {type(exc).__name__}")

    # --- files ------------------------------------------------------------------------

    async def _follow_file(self) -> None:
        path = Path(os.path.expanduser(self.config.file))
        if not path.is_absolute() and self.cwd is not None:
            path = Path(self.cwd) / path
        follower = _FileFollower(path, self.initial_lines, self._parser.limit)
        shown = sanitize(str(path), limit=300)
        self._following = True
        first = True
        last_data = time.monotonic()
        partial_shown = False  # an unfinished line was shown: the newline that ends it ends no other
        try:
            while not self._stopping:
                items = await asyncio.to_thread(follower.poll)
                got_data = False
                # the first tail (up to `buffer` lines) goes out as one batch: the last line
                # reaches the pane with the others, not a batch or two later
                self._holding = first
                for kind, value in items:
                    if kind == "data":
                        got_data = True
                        last_data = time.monotonic()
                        if partial_shown and value:
                            partial_shown = False
                            value = value[2:] if value[:2] == b"\r\n" else \
                                value[1:] if value[:1] in (b"\n", b"\r") else value
                        self._feed(self._splitter.feed(value))
                        await asyncio.sleep(0)  # let keypresses through between 64 KiB pieces
                    elif kind == "reset":
                        partial_shown = False
                        self._feed(self._splitter.flush(), final=True)
                        self._parser.keys = KeyBlocks()  # a new file (rotated) or read again
                    elif kind == "end":  # the file's last line, unfinished: shown, as tail shows it
                        partial_shown = bool(self._splitter.tail or self._splitter.dropped)
                        self._feed(self._splitter.flush(), final=True)
                    else:
                        self._set_status(value.replace("{path}", shown))
                if self._holding:
                    self._holding = False
                    self._flush()
                if first:
                    first = False
                    if self._started is not None:
                        self._started.set()
                if not got_data:
                    if (self._splitter.tail or self._splitter.dropped) and \
                            time.monotonic() - last_data >= self.partial_after:
                        # a line left unfinished (a writer that crashed mid-line): show it;
                        # what may still come after it shows as a line of its own
                        partial_shown = True
                        self._feed(self._splitter.flush(), final=True)
                    if await self._sleep(self.poll_interval):
                        break
        finally:
            self._holding = False
            self._following = False
            follower.close()


class _FileFollower:
    """Poll-based `tail -F`: reopens on rotation (inode changed), rereads on truncation.
    Runs in a worker thread; one poll at a time.

    The first open starts at the end, as `tail -n` does: the file is searched backwards,
    a block at a time, for the start of its last `initial_lines` lines, and only those are
    read (a file of a million lines costs what its last lines cost). The search gives up
    after SCAN_LIMIT bytes (lines that long are few), and a last line longer than that
    shows its end (as much as a line shows, `shown` characters), after a '…'. A file that
    appears later, or a new file after a rotation, is new: it is read whole."""

    MAX_PER_POLL = 4 << 20
    SCAN_BLOCK = 1 << 16
    SCAN_LIMIT = 32 << 20

    def __init__(self, path: Path, initial_lines: int, shown: int = DEFAULT_LIMIT) -> None:
        self.path = path
        self.initial_lines = initial_lines
        self.shown = max(64, shown - 16)
        self.handle: Any = None
        self.ident: tuple[int, int] | None = None
        self.position = 0
        self.first_open = True
        self.waiting = False

    def close(self) -> None:
        """Close the handle; the next poll opens the path again (reading it from its start)."""
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError:
                pass
            self.handle = None

    def _read(self, limit: int) -> list[bytes]:
        chunks = []
        total = 0
        while total < limit:
            data = self.handle.read(READ_SIZE)
            if not data:
                break
            chunks.append(data)
            total += len(data)
        self.position += total
        return chunks

    def _open(self, stat: os.stat_result) -> list[bytes]:
        self.handle = open(self.path, "rb")  # noqa: SIM115 - kept open while following
        self.ident = (stat.st_dev, stat.st_ino)
        self.position = 0
        if self.first_open:
            self.first_open = False
            start, cut = self._tail_start(os.fstat(self.handle.fileno()).st_size)
            self.handle.seek(start)
            self.position = start
            chunks = self._read(self.MAX_PER_POLL)
            if cut and chunks:
                chunks.insert(0, "…".encode())  # the line's start is not shown
            return chunks
        return self._read(self.MAX_PER_POLL)

    def _tail_start(self, size: int) -> tuple[int, bool]:
        """Where the last `initial_lines` lines of the file start; and whether that is in the
        middle of a line (the last line alone is longer than the search goes)."""
        wanted = self.initial_lines
        if wanted <= 0 or size == 0:
            return size, False
        handle = self.handle
        handle.seek(size - 1)
        end = size - 1 if handle.read(1) == b"\n" else size  # the final newline starts no line
        found = 0
        block_end = end
        while block_end > 0:
            block_start = max(0, block_end - self.SCAN_BLOCK)
            handle.seek(block_start)
            block = handle.read(block_end - block_start)
            index = len(block)
            while True:
                index = block.rfind(b"\n", 0, index)
                if index < 0:
                    break
                found += 1
                if found == wanted:
                    return block_start + index + 1, False
            block_end = block_start
            if block_end > 0 and size - block_end >= self.SCAN_LIMIT:
                if not found:  # the last line alone is longer than the search: its end only
                    return max(0, size - self.shown), True
                # searched far enough: the lines that start in what was searched
                handle.seek(block_end)
                searched = handle.read(end - block_end)
                return block_end + searched.index(b"\n") + 1, False
        return 0, False

    def poll(self) -> list[tuple[str, Any]]:
        """-> items in order: ("data", bytes), ("reset", None) (a partial line ends
        here), ("status", text with {path})."""
        items: list[tuple[str, Any]] = []
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            if self.handle is not None:  # renamed away: drain what is left, wait for the new file
                return [("data", chunk) for chunk in self._read(self.MAX_PER_POLL)]
            if not self.waiting:
                self.waiting = True
                items.append(("status", "waiting for {path} (not found)"))
            return items
        except OSError as exc:
            return [("status", f"cannot read {{path}}: {exc.strerror}")]
        try:
            if self.handle is None:
                self.waiting = False
                rotated = not self.first_open
                chunks = self._open(stat)
                items.append(("status", "reopened {path} (rotated)" if rotated else "following {path}"))
                if not rotated and chunks and not chunks[-1].endswith(b"\n") and \
                        self.position >= os.fstat(self.handle.fileno()).st_size:
                    items.extend(("data", chunk) for chunk in chunks)
                    items.append(("end", None))  # the last line has no newline (yet): show it
                    return items
            elif (stat.st_dev, stat.st_ino) != self.ident:
                # rotated: first what the old file got before the rename, then the new file
                items.extend(("data", chunk) for chunk in self._read(16 << 20))
                self.close()
                items.append(("reset", None))
                chunks = self._open(stat)
                items.append(("status", "reopened {path} (rotated)"))
            elif stat.st_size < self.position:
                self.handle.seek(0)
                self.position = 0
                items.extend([("reset", None), ("status", "{path} was truncated: reading from its start")])
                chunks = self._read(self.MAX_PER_POLL)
            else:
                chunks = self._read(self.MAX_PER_POLL)
            items.extend(("data", chunk) for chunk in chunks)
            return items
        except OSError as exc:
            self.close()
            return items + [("status", f"cannot read {{path}}: {exc.strerror}")]


def _may_open_json_block(text: str) -> bool:
    return text == "{" or text.startswith(("{\n", "{ \n")) or "\n{\n" in text or text.endswith("\n{") \
        or "\n{ \n" in text


# --- error rate ----------------------------------------------------------------------


class ErrorRate:
    """Errors per minute, per source, for a sparkline. Bounded: old minutes are dropped."""

    def __init__(self, clock: Clock | None = None, keep_minutes: int = 240) -> None:
        self.clock = clock or SystemClock()
        self.keep_minutes = keep_minutes
        self._buckets: dict[str, dict[int, int]] = {}

    @staticmethod
    def _minute(at: datetime) -> int:
        return int(at.timestamp() // 60)

    def add(self, line: LogLine, now: datetime | None = None) -> None:
        """Count `line` if it is an error, in the minute it arrived (`now`, else the clock)."""
        if line.level != "error":
            return
        minute = self._minute(now or self.clock.now())
        buckets = self._buckets.setdefault(line.source, {})
        buckets[minute] = buckets.get(minute, 0) + 1
        if len(buckets) > self.keep_minutes + 16:
            cutoff = minute - self.keep_minutes
            for old in [m for m in buckets if m < cutoff]:
                del buckets[old]

    def add_lines(self, lines: Iterable[LogLine], now: datetime | None = None) -> None:
        now = now or self.clock.now()
        for line in lines:
            if line.level == "error":
                self.add(line, now)

    def per_minute(self, now: datetime | None = None, minutes: int = 30,
                   source: str | None = None) -> list[int]:
        """Counts for the last `minutes` minutes, oldest first; the last is the current minute.
        `source=None` sums every source."""
        current = self._minute(now or self.clock.now())
        first = current - minutes + 1
        sources = [self._buckets.get(source, {})] if source is not None else list(self._buckets.values())
        return [sum(b.get(m, 0) for b in sources) for m in range(first, current + 1)]

    def sources(self) -> list[str]:
        return list(self._buckets)
