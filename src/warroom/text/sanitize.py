"""Untrusted text made inert: one function family for log lines, HTTP bodies,
command output and pulled records (DESIGN principles 3 and 5).

`sanitize(text)` returns a string that a terminal cannot act on and that keeps
no secret:

- bytes are decoded as UTF-8 with replacement; lone surrogates become U+FFFD;
- every terminal escape sequence is removed: CSI (SGR colours, cursor moves,
  screen clears), OSC (titles, OSC 8 hyperlinks, OSC 52 clipboard) ended by
  BEL or ST or not ended at all, DCS/SOS/PM/APC strings, other ESC sequences,
  a lone ESC, and the 8-bit C1 controls U+0080..U+009F;
- other C0 controls and DEL are shown as their visible symbols (NUL -> '␀',
  BEL -> '␇', DEL -> '␡'); bidi overrides and isolates, which reorder what
  is shown, are removed; a tab becomes spaces;
- one line stays one line: CRLF and LF become '␤' inside a line and are
  dropped at its end, a lone CR becomes '␍' (a progress bar's segments are
  all kept and shown, not "last segment wins"); `multiline=True` keeps LF;
- `redact` then replaces secrets, and text beyond `limit` characters is cut
  with a visible marker ' …[+N chars]'.

A private key that arrives line by line (a log stream, a command's output) is a secret
over many lines: only its BEGIN line looks like one. `KeyBlocks` is the state a stream
keeps for it: every line from a `-----BEGIN ... PRIVATE KEY-----` line to its END line
(or `KeyBlocks.MAX_LINES` lines, when no END comes) is replaced whole.

Markup is the UI's business (it shows this text through Content/Text objects,
never as markup); sanitize keeps brackets as they are and adds nothing that
Rich or Textual would read as a tag: the redaction marker is '«REDACTED»'
('[REDACTED]' is a tag to Textual's markup parser, so it is not used).

This module is core: it imports neither textual nor httpx, and nothing in it
raises on any input.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from functools import lru_cache

from warroom.text.redact import REDACTED, Redactor, as_tuple, redactor_for

__all__ = ["DEFAULT_LIMIT", "REDACTED", "Sanitizer", "inert", "redact", "sanitize", "sanitize_lines"]

DEFAULT_LIMIT = 4000
TAB_SIZE = 4

# --- escape sequences ----------------------------------------------------------

_ESCAPES = re.compile(
    # CSI: ESC [ or 8-bit CSI, parameters, intermediates, final byte (maybe missing)
    "(?:\x1b\\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    # OSC, DCS, SOS, PM, APC strings ended by BEL or ST go whole (titles, OSC 8 links,
    # OSC 52 clipboard writes). A string that is not ended before a newline, another
    # control string or the end loses only its introducer: what follows stays visible
    # (as inert text), so an unterminated title cannot hide the rest of a line.
    "|(?:\x1b[\\]PX^_]|[\x90\x98\x9d\x9e\x9f])(?:[^\x07\x1b\x9c\x18\x1a\n\x90\x98\x9d\x9e\x9f]*(?:\x07|\x1b\\\\|\x9c))?"
    # any other ESC sequence (charset selection, DECSC, RIS, keypad modes) or a lone ESC
    "|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)

# Anything that needs the slow path: controls, DEL, C1, line/paragraph separators,
# bidi controls, surrogates. LF is in the single-line set only.
_UNSAFE_CHARS = "\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_MULTI = re.compile(f"[{_UNSAFE_CHARS}]")
_UNSAFE_SINGLE = re.compile(f"[\n{_UNSAFE_CHARS}]")


def _table(multiline: bool) -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in range(0x20):
        table[code] = chr(0x2400 + code)  # ␀ .. ␟
    table[0x7F] = "\u2421"  # ␡
    for code in range(0x80, 0xA0):
        table[code] = None  # C1: removed
    for code in (0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)):
        table[code] = None  # bidi controls: removed
    for code in range(0xD800, 0xE000):
        table[code] = "\ufffd"
    table[0x0D] = "\u240d"  # ␍
    if multiline:
        del table[0x0A]  # LF is kept
        table[0x2028] = "\n"
        table[0x2029] = "\n"
    else:
        table[0x0A] = "\u2424"  # ␤
        table[0x2028] = "\u2424"
        table[0x2029] = "\u2424"
    return table


_TABLE_SINGLE = _table(False)
_TABLE_MULTI = _table(True)


def _clean(text: str, multiline: bool) -> str:
    """Remove escapes and make controls visible. `text` is known to need it."""
    if "\x1b" in text or _HAS_C1_INTRO.search(text):
        text = _ESCAPES.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if multiline:
        if "\t" in text:
            text = text.expandtabs(TAB_SIZE)
        return text.translate(_TABLE_MULTI)
    text = text.rstrip("\r\n")
    if "\t" in text:
        text = text.expandtabs(TAB_SIZE)
    return text.translate(_TABLE_SINGLE)


_HAS_C1_INTRO = re.compile("[\x90\x98\x9b\x9d\x9e\x9f]")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace secret values and token-shaped strings with «REDACTED».

    Exact `secrets` (the values read from ${ENV} in the config, and their
    URL-encoded forms), Authorization header values, Bearer tokens,
    password/secret/token/api_key fields in JSON or key=value text, passwords
    in URLs, AWS access key ids, GitHub, Slack and Stripe tokens, JWTs and
    private key blocks. The non-secret part stays readable.
    """
    if not isinstance(text, str):
        text = sanitize(text, limit=10**9)
    try:
        return redactor_for(as_tuple(secrets))(text)
    except TypeError:  # unhashable secrets
        return Redactor(secrets)(text)


# --- the sanitizer -------------------------------------------------------------


def _marker(hidden: int) -> str:
    return f" …[+{hidden} chars]"


class Sanitizer:
    """`sanitize` with its secrets, limit and mode fixed: the fast path for streams."""

    __slots__ = ("limit", "multiline", "redactor", "_unsafe", "_window")

    def __init__(
        self, secrets: Iterable[str] | Redactor = (), *, limit: int = DEFAULT_LIMIT, multiline: bool = False
    ) -> None:
        self.redactor = secrets if isinstance(secrets, Redactor) else Redactor(secrets)
        try:
            limit = int(limit)
        except Exception:  # noqa: BLE001 - any limit, however odd: never raise
            limit = DEFAULT_LIMIT
        self.limit = max(1, limit)
        self.multiline = bool(multiline)
        self._unsafe = _UNSAFE_MULTI if multiline else _UNSAFE_SINGLE
        # How much raw input is looked at: enough to fill `limit` even when a
        # good part of it is escape sequences, and to see a secret that starts
        # just before the cut whole.
        self._window = self.limit * 4 + 1024

    def __call__(self, text: str | bytes | bytearray | memoryview, extra_hidden: int = 0) -> str:
        try:
            return self._sanitize(text, extra_hidden)
        except Exception:  # noqa: BLE001 - defensive: never raise  # pragma: no cover
            return "«unprintable»"

    def _sanitize(self, text: object, hidden: int) -> str:
        window = self._window
        if isinstance(text, (bytes, bytearray, memoryview)):
            data = bytes(text)
            if len(data) > window * 4:
                hidden += len(data) - window * 4
                # an incremental decoder leaves a character cut in half out
                text = codecs.getincrementaldecoder("utf-8")("replace").decode(data[: window * 4])
            else:
                text = data.decode("utf-8", "replace")
        elif not isinstance(text, str):
            text = str(text) if text is not None else ""
        if len(text) > window:
            hidden += len(text) - window
            text = text[:window]
        if self._unsafe.search(text) is not None:
            text = _clean(text, self.multiline)
        text = self.redactor(text)
        if len(text) > self.limit:
            hidden += len(text) - self.limit
            text = text[: self.limit]
        if hidden > 0:
            text += _marker(hidden)
        return text


@lru_cache(maxsize=64)
def _sanitizer(secrets: tuple[str, ...], limit: int, multiline: bool) -> Sanitizer:
    return Sanitizer(redactor_for(secrets), limit=limit, multiline=multiline)


def sanitize(
    text: str | bytes, *, limit: int = DEFAULT_LIMIT, secrets: Iterable[str] = (), multiline: bool = False
) -> str:
    """Untrusted text -> inert, single-line (unless `multiline`), capped, redacted text.

    Never raises. The result holds no ESC, no C1 control and no C0 control
    (except LF when `multiline`), and is at most `limit` characters plus the
    ' …[+N chars]' marker.
    """
    try:
        limit = max(1, int(limit))
        return _sanitizer(as_tuple(secrets), limit, bool(multiline))(text)
    except TypeError:
        return Sanitizer(secrets, limit=limit, multiline=multiline)(text)
    except Exception:  # noqa: BLE001 - defensive  # pragma: no cover
        return "«unprintable»"


def sanitize_lines(text: str | bytes, *, limit: int = DEFAULT_LIMIT, secrets: Iterable[str] = ()) -> str:
    """`sanitize` that keeps line breaks: for multi-line bodies such as command output tails."""
    return sanitize(text, limit=limit, secrets=secrets, multiline=True)


# --- record text -----------------------------------------------------------------

# What a record's text may not hold: C0 controls but LF and TAB, DEL, C1, the line and
# paragraph separators, bidi controls and lone surrogates.
_NOT_INERT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _inert_table() -> dict[int, str | None]:
    table = dict(_TABLE_MULTI)
    table[0x09] = "\t"  # a tab stays a tab: the record keeps what was typed
    return table


_TABLE_INERT = _inert_table()


def inert(text: str) -> str:
    """Text from the record made inert, once, where it is decoded: escape sequences go, C0
    controls (but LF and TAB) show as their symbols, C1 and bidi controls go. Nothing else
    changes, no length cap and no redaction, so clean text comes back as the same object."""
    if _NOT_INERT.search(text) is None:
        return text
    if "\x1b" in text or _HAS_C1_INTRO.search(text):
        text = _ESCAPES.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return text.translate(_TABLE_INERT)
