"""JSON events pretty-printed over many lines (wrangler tail --format json): a '{' line to a
'}' line is put together and parsed as one record, so it shows as one summarised line."""

from __future__ import annotations

import json

from warroom.sources.fastpath import _Parser
from warroom.sources.parse import _SEQ, MAX_LINE_BYTES, LogLine

MAX_BLOCK_LINES = 5000  # a '{' that is never closed stops being held here


class JsonBlocks:
    """One source's half-read block, across reads."""

    def __init__(self) -> None:
        self.lines: list[str] | None = None  # the open block, from its '{' line
        self.size = 0

    def wanted(self, text: str) -> bool:
        """Whether `text` (a read's decoded lines) needs this: a block is open, or may open."""
        return self.lines is not None or (
            text == "{"
            or text.startswith(("{\n", "{ \n"))
            or "\n{\n" in text
            or text.endswith("\n{")
            or "\n{ \n" in text
        )

    def feed(self, text: str, parser: _Parser, source: str) -> list[LogLine]:
        out: list[LogLine] = []
        plain: list[str] = []

        def flush_plain() -> None:
            if plain:
                out.extend(parser.parse_block("\n".join(plain), source))
                plain.clear()

        for line in text.split("\n"):
            if self.lines is not None:
                self.lines.append(line)
                self.size += len(line) + 1
                if line.rstrip() == "}":
                    flush_plain()
                    out.extend(self.end(parser, source, complete=True))
                elif self.size > MAX_LINE_BYTES or len(self.lines) > MAX_BLOCK_LINES:
                    flush_plain()
                    out.extend(self.end(parser, source, complete=False))
            elif line.rstrip() == "{":
                flush_plain()
                self.lines = [line]
                self.size = len(line) + 1
            else:
                plain.append(line)
        flush_plain()
        return out

    def end(self, parser: _Parser, source: str, *, complete: bool) -> list[LogLine]:
        """The open block, if any, as lines: one summarised record when it is a whole JSON
        object, else each of its lines as they came."""
        lines, self.lines, self.size = self.lines or [], None, 0
        if complete:
            joined = "\n".join(lines)
            try:
                record = json.loads(joined)
            except ValueError:
                record = None
            if isinstance(record, dict):
                return [parser.parse(joined.replace("\n", " "), source, next(_SEQ))]
        return parser.parse_block("\n".join(lines), source) if lines else []
