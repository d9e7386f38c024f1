"""Record text in a markdown document: escaped so that no entry can change the document's
structure (a heading, a list, a table cell, a link), and stays valid CommonMark with
GitHub tables."""

from __future__ import annotations

import re

from warroom.text.sanitize import redact

_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&!#])")  # "#": a trailing " #" closes a heading
# ":" too: a line ":---" under a line holding a "|" would make a table's delimiter row.
_LINE_START = re.compile(r"^(\s*)(#|\+|-|=|>|:|\d+[.)])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# A special or a control character (LF and CR included): text md_line would change.
_CHANGES = re.compile(r"[\\`*_\[\]<>|~&!#\x00-\x1f\x7f]")


def _inert(text: str) -> bool:
    """True when md_line would give the text back as it is (most lines of a record):
    nothing to escape, no blank space at the ends, no block-opening line start."""
    first = text[:1]
    return (
        _CHANGES.search(text) is None
        and first not in ("", "+", "-", "=", ":")
        and not first.isspace()
        and not first.isdigit()
        and not text[-1].isspace()
    )


_PLAIN = re.compile(r"[\\`*_\[\]<>|~&!#\x00-\x08\x0b-\x1f\x7f]")  # anything md_line must change


def md_line(text: str) -> str:
    """One line of untrusted text, inert in CommonMark: specials escaped, no line-start syntax,
    token-shaped secrets taken out (a record written before they were redacted on the way in)."""
    text = redact(text)
    if _inert(text):
        return text
    if _PLAIN.search(text):  # most lines have nothing to escape: skip the substitutions
        text = _CONTROL.sub(" ", text).strip()
        text = _INLINE_SPECIAL.sub(_escape_special, text)
    else:
        text = text.strip()
    if text[:1] in ("+", "-", "=", ":") or text[:1].isdigit():
        return _LINE_START.sub(_escape_line_start, text)
    return text  # "#" and ">" were escaped with the specials


def _escape_special(match: re.Match[str]) -> str:
    return "\\" + match.group(1)


def _escape_line_start(match: re.Match[str]) -> str:
    mark = match.group(2)
    if mark[0].isdigit():  # "1." opens a list: escape the dot ("\1." would show the backslash)
        return mark[:-1] + "\\" + mark[-1]
    return "\\" + mark


def _md_lines(lines: list[str]) -> list[str]:
    """md_line of each line, leaving out those with nothing left (blank, or only controls:
    an empty line after a hard break would show its backslash)."""
    return [md for md in map(md_line, lines) if md]


def md_inline(text: str) -> str:
    """Untrusted text for a list item, a heading or a table cell: one line."""
    text = redact(text)  # whole, before it is split: a private key spans lines
    return " ".join(_md_lines(text.replace("\r", "\n").split("\n")))


def md_cell(text: str) -> str:
    """A table cell: line breaks kept as <br>, everything else inert."""
    text = redact(text)
    if _inert(text):
        return text
    if "\n" not in text and "\r" not in text:
        return md_line(text)
    return "<br>".join(_md_lines(text.replace("\r", "\n").split("\n")))


def md_block(text: str) -> str:
    """Paragraphs of untrusted text: line breaks kept (hard breaks), blank lines as paragraph breaks."""
    text = redact(text)
    paragraphs = re.split(r"\n\s*\n", text.replace("\r", "\n").strip())
    out = []
    for paragraph in paragraphs:
        lines = _md_lines(paragraph.split("\n"))
        if lines:
            out.append("\\\n".join(lines))
    return "\n\n".join(out)


def placeholder(what: str) -> str:
    """A section nobody has written yet: a visible prompt saying what belongs there."""
    return f"*(not written yet: {what})*"


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = [table_row(headers), "|" + "|".join("---" for _ in headers) + "|"]
    lines += [table_row(row) for row in rows]
    return "\n".join(lines)


def table_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell or " " for cell in cells) + " |"
