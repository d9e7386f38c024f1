"""The fast path: blocks of lines parsed at once, as `parse_line` would parse each.

A whole read chunk is scanned once for control characters and anything secret-shaped;
only the lines those point at take the full per-line path, plain lines a short one, and
clean runs of RFC 3339-stamped lines are parsed a column at a time. Property tests prove
the three paths agree. Also: splitting a byte stream into lines (`_Splitter`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from itertools import islice, repeat
from operator import attrgetter, itemgetter

from warroom.sources.parse import (
    _LEVEL_WORD,
    _SEQ,
    _TS_PREFIX,
    _WORD_LEVEL,
    MAX_LINE_BYTES,
    UTC,
    LogLine,
    _json_record,
    _line,
    _plain_level,
    _stamp,
    _tuple_new,
)
from warroom.text.redact import KeyBlocks, Redactor, line_finder
from warroom.text.sanitize import DEFAULT_LIMIT, Sanitizer, sanitize

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
        except Exception:  # noqa: BLE001 - defensive: a line never takes the source down  # pragma: no cover
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
                    line = line[match.end() :]  # docker -t / zoned stamp: now in `at`
                    inner = _TS_PREFIX.match(line) if line[:1].isdigit() else None
                    if inner is not None and inner.group(2):
                        at = _stamp(inner) or at
                        line = line[inner.end() :]
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
                lines_of = line_finder(text)
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
            except Exception:  # noqa: BLE001 - defensive: the loop below takes them  # pragma: no cover
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
                                line = line[end + 1 :]
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
            except Exception:  # noqa: BLE001 - defensive  # pragma: no cover
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
            ats = repeat(None)  # type: ignore[assignment]  # an endless run of None: zip takes what it needs
            starts = set(map(_FIRST_CHAR, rests))
        if not starts.isdisjoint(_SPECIAL_FIRST) or max(map(len, rests)) > self.limit:
            return False  # a stamp or JSON after the stamp, a space first, a long line
        levels = list(map(_FIRST_WORD_LEVEL.get, [rest.partition(" ")[0] for rest in rests]))
        if None in levels:  # no level word first: the first one anywhere, as _plain_level finds it
            levels = [
                level if level is not None else _plain_level(rest) for level, rest in zip(levels, rests, strict=False)
            ]
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
_FIRST_WORD_LEVEL = {
    form: level for word, level in _WORD_LEVEL.items() for form in (word, word.lower(), word.capitalize())
}


_DIGITS = frozenset("0123456789")
_CONTROL_BYTES = bytes(range(0x00, 0x0A)) + bytes(range(0x0B, 0x20)) + b"\x7f"


def _ascii_clean(block: bytes) -> bool:
    """True when the bytes are ASCII without controls (LF aside): nothing to neutralise.
    (Much faster than a regex over the decoded text; False just means "look closer".)"""
    return block.isascii() and len(block.translate(None, _CONTROL_BYTES)) == len(block)


# Lines starting with one of these may hold a timestamp or JSON: the full parse.
_SPECIAL_FIRST = frozenset("0123456789{ \t")
_UNSAFE_NO_LF = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


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
    except Exception:  # noqa: BLE001 - defensive  # pragma: no cover
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
            data = data[index + 1 :]
        if self.tail:
            data = self.tail + data
            self.tail = b""
        last = data.rfind(b"\n")
        if last >= 0:
            out.append((data[:last], 0))
            rest = data[last + 1 :]
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
