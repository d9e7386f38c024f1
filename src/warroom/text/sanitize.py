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
from bisect import bisect_right
from collections.abc import Callable, Iterable
from functools import lru_cache, partial
from itertools import accumulate
from urllib.parse import quote

__all__ = ["REDACTED", "Redactor", "Sanitizer", "KeyBlocks", "redact", "redact_key_blocks", "sanitize",
           "sanitize_lines", "DEFAULT_LIMIT"]

REDACTED = "«REDACTED»"
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
_UNSAFE_CHARS = ("\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c"
                 "\u202a-\u202e\u2066-\u2069\ud800-\udfff")
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

# --- redaction -----------------------------------------------------------------

_KEY_WORDS = r"(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key)"

_PATTERNS: list[tuple[re.Pattern[str], str | None]] = [
    # private key blocks (ended or not; PGP's are "PRIVATE KEY BLOCK")
    (re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----.*?(?:-----END \1PRIVATE KEY\2-----|\Z)", re.S),
     r"-----BEGIN \1PRIVATE KEY\2-----" + REDACTED + r"-----END \1PRIVATE KEY\2-----"),
    # Authorization / Proxy-Authorization header values, as header, JSON or kv
    (re.compile(r"""(?i)\b((?:proxy-)?authorization["']?\s*[:=]\s*)(?:"(?:[^"\\\n]|\\.){0,2000}"|'[^'\n]{0,2000}'|[^\n]+)"""),
     None),
    # Bearer / token-type credentials
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*"), r"\1" + REDACTED),
    # user:password@ in URLs (the user name stays)
    (re.compile(r"((?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^/\s:@]{0,200}):[^/\s@]{1,500}@"),
     r"\1:" + REDACTED + "@"),
    # key = value / "key": "value" for password-, secret-, token- and key-like names
    (re.compile(r"""(?i)(["']?(?<![A-Za-z0-9_.\-])[A-Za-z0-9_.\-]{0,40}?""" + _KEY_WORDS +
                r"""[A-Za-z0-9_\-]{0,40}["']?\s{0,10}[:=]\s{0,10})"""
                r"""(?:"(?:[^"\\\n]|\\.){0,2000}"|'[^'\n]{0,2000}'|[^\s,;&}\]"']+)"""),
     None),  # replacement function below keeps the quotes
    # token shapes
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"), REDACTED),
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"), REDACTED),
]


def _kv_replace(match: re.Match[str]) -> str:
    head = match.group(1)
    value = match.group(0)[len(head):]
    if value[:1] in ('"', "'"):
        return f"{head}{value[0]}{REDACTED}{value[0]}"
    if value == REDACTED or value.lower() in ("null", "none", "true", "false"):
        return match.group(0)
    return head + REDACTED


# Cheap pre-checks: a text that has none of these cannot match any pattern.
# Case-insensitive words are looked for in the lowered text; token shapes, whose
# case is fixed, in the text itself (fast literal searches).
_WORD_TRIGGERS = ("key", "pass", "secret", "token", "bearer", "authorization")
_SHAPE_TRIGGERS = ("eyJ", "xox", "_live_", "_test_", "PRIVATE KEY")
_SHAPE_PREFIXES = re.compile(r"g(?:h[pousr]_|ithub_pat_)|A(?:KIA|SIA)")


def _every(text: str, needle: str, out: list[int]) -> None:
    """Append where `needle` starts in `text`: its first place on each line that has it."""
    find = text.find
    pos = find(needle)
    while pos >= 0:
        out.append(pos)
        end = find("\n", pos + len(needle))
        if end < 0:
            return
        pos = find(needle, end + 1)


def _may_hold(text: str, needle: str, seen: dict[str, bool]) -> bool:
    """False when some character of `needle` is nowhere in `text` (`seen` caches the answers)."""
    for char in needle:
        present = seen.get(char)
        if present is None:
            present = seen[char] = char in text
        if not present:
            return False
    return True


def _line_finder(text: str) -> Callable[[int], int]:
    """-> position in text -> index of the LF-separated line that holds it."""
    ends = list(accumulate(len(line) + 1 for line in text.split("\n")))
    return partial(bisect_right, ends)


class Redactor:
    """Replaces exact secret values and token-shaped strings with «REDACTED».

    Build one per set of secrets and call it; `redact()` caches them.
    """

    __slots__ = ("secrets", "_exact")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            if isinstance(secret, str) and len(secret) >= 4:
                values.add(secret)
                quoted = quote(secret, safe="")
                if quoted != secret:
                    values.add(quoted)
        self.secrets = tuple(sorted(values, key=len, reverse=True))
        self._exact = (re.compile("|".join(re.escape(s) for s in self.secrets))
                       if self.secrets else None)

    def might_match(self, text: str) -> bool:
        """False when `text` certainly holds nothing to redact (a fast pre-check)."""
        for secret in self.secrets:
            if secret in text:
                return True
        if "@" in text and "://" in text:
            return True
        for trigger in _SHAPE_TRIGGERS:
            if trigger in text:
                return True
        if _SHAPE_PREFIXES.search(text) is not None:
            return True
        low = text.lower()
        for trigger in _WORD_TRIGGERS:
            if trigger in low:
                return True
        return False

    def suspect_lines(self, text: str) -> set[int]:
        """The indices of the LF-separated lines of `text` that `might_match` could pass, with
        one search of the whole text per trigger instead of one per line. A superset: a line
        whose index is not in it holds nothing to redact (no trigger spans a line break)."""
        found: set[int] = set()
        lines_of = None
        hits: list[int] = []  # positions in text
        if "@" in text and "://" in text:  # a password in a URL: both on one line
            urls: list[int] = []
            _every(text, "@", hits)
            _every(text, "://", urls)
            lines_of = _line_finder(text)
            found = set(map(lines_of, hits)) & set(map(lines_of, urls))
            hits = []
        # A needle can only be there if each of its characters is: one memchr per character
        # (cached) skips most needles at almost no cost; the rest are searched for.
        seen: dict[str, bool] = {}
        for needle in (*self.secrets, *_SHAPE_TRIGGERS, "AKIA", "ASIA", "github_pat_"):
            if _may_hold(text, needle, seen):
                _every(text, needle, hits)
        if _may_hold(text, "gh", seen):
            match = _SHAPE_PREFIXES.match
            pos = text.find("gh")
            while pos >= 0:
                if match(text, pos) is not None:
                    hits.append(pos)
                pos = text.find("gh", pos + 1)
        if hits:
            lines_of = lines_of or _line_finder(text)
            found.update(map(lines_of, hits))
        low = text.lower()  # may differ in length from text: its own line breaks are counted
        hits = []
        seen = {}
        for needle in _WORD_TRIGGERS:
            if _may_hold(low, needle, seen):
                _every(low, needle, hits)
        if hits:
            found.update(map(_line_finder(low), hits))
        return found

    def __call__(self, text: str) -> str:
        try:
            return self._apply(text) if self.might_match(text) else text
        except Exception:  # noqa: BLE001 - defensive: never raise, never leak  # pragma: no cover
            return REDACTED

    def _apply(self, text: str) -> str:
        """Every replacement, without the pre-check."""
        if self._exact is not None:
            text = self._exact.sub(REDACTED, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement if replacement is not None else _kv_replace, text)
        return text


@lru_cache(maxsize=32)
def _redactor(secrets: tuple[str, ...]) -> Redactor:
    return Redactor(secrets)


def _as_tuple(secrets: Iterable[str]) -> tuple[str, ...]:
    if isinstance(secrets, tuple):
        return secrets
    try:
        return tuple(s for s in secrets if isinstance(s, str))
    except Exception:  # noqa: BLE001 - any iterable of secrets, however odd: never raise
        return ()


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
        return _redactor(_as_tuple(secrets))(text)
    except TypeError:  # unhashable secrets
        return Redactor(secrets)(text)


# --- private keys over many lines -------------------------------------------------

_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_KEY_BODY_BEFORE_END = re.compile(r"[A-Za-z0-9+/=]{4,}\s*$")  # key text run into its END marker


class KeyBlocks:
    """One stream's state for private keys that arrive line by line.

    Feed it every line of the stream, in order, with `step(line)`: it answers None for a
    line to show as usual (the line-wise redaction turns a BEGIN line into
    BEGIN«REDACTED»END already) or the text to show instead: «REDACTED» for each line after
    a BEGIN line, until the END line (shown, with any key text run into it redacted) or
    MAX_LINES lines, whichever comes first. A 16384-bit RSA key is about 200 lines of PEM.

    `step` only needs the lines where `self.open` or "PRIVATE KEY" is in the line: any other
    line leaves the state as it is and is answered None (the fast paths rely on it)."""

    MAX_LINES = 256
    __slots__ = ("left", "max_lines")

    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self.left = 0  # lines still taken as key text; 0: not inside a key
        self.max_lines = max(1, int(max_lines))

    @property
    def open(self) -> bool:
        return self.left > 0

    def step(self, line: str) -> str | None:
        try:
            if self.left > 0:
                end = _KEY_END.search(line)
                if end is None:
                    self.left -= 1
                    return REDACTED
                self.left = 0
                self._opens(line, end.end())
                run = _KEY_BODY_BEFORE_END.search(line, 0, end.start())
                if run is None:
                    return None
                return line[:run.start()] + REDACTED + line[end.start():]
            self._opens(line, 0)
            return None
        except Exception:  # noqa: BLE001 - defensive: never raise, never leak  # pragma: no cover
            return REDACTED

    def _opens(self, line: str, start: int) -> None:
        """A BEGIN in line[start:] with no END after it: the lines that follow are key text."""
        if "PRIVATE KEY" not in line:
            return
        begins = list(_KEY_BEGIN.finditer(line, start))
        last = begins[-1] if begins else None
        if last is not None and _KEY_END.search(line, last.end()) is None:
            self.left = self.max_lines


def redact_key_blocks(lines: Iterable[str], state: KeyBlocks | None = None, *, tail: bool = False) -> list[str]:
    """`lines` of one stream with the lines of private keys replaced (see KeyBlocks).
    `tail`: the lines are the end of a stream, which may start inside a key: when the first
    key marker is an END, every line before it is key text."""
    lines = list(lines)
    state = state or KeyBlocks()
    if tail:
        for line in lines:
            if "PRIVATE KEY" in line:
                end, begin = _KEY_END.search(line), _KEY_BEGIN.search(line)
                if end is not None and (begin is None or end.start() < begin.start()):
                    state.left = len(lines) + 1
                break
    out = []
    for line in lines:
        if state.left > 0 or "PRIVATE KEY" in line:
            replaced = state.step(line)
            out.append(line if replaced is None else replaced)
        else:
            out.append(line)
    return out


# --- the sanitizer -------------------------------------------------------------


def _marker(hidden: int) -> str:
    return f" …[+{hidden} chars]"


class Sanitizer:
    """`sanitize` with its secrets, limit and mode fixed: the fast path for streams."""

    __slots__ = ("limit", "multiline", "redactor", "_unsafe", "_window")

    def __init__(self, secrets: Iterable[str] | Redactor = (), *, limit: int = DEFAULT_LIMIT,
                 multiline: bool = False) -> None:
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
    return Sanitizer(_redactor(secrets), limit=limit, multiline=multiline)


def sanitize(text: str | bytes, *, limit: int = DEFAULT_LIMIT, secrets: Iterable[str] = (),
             multiline: bool = False) -> str:
    """Untrusted text -> inert, single-line (unless `multiline`), capped, redacted text.

    Never raises. The result holds no ESC, no C1 control and no C0 control
    (except LF when `multiline`), and is at most `limit` characters plus the
    ' …[+N chars]' marker.
    """
    try:
        limit = max(1, int(limit))
        return _sanitizer(_as_tuple(secrets), limit, bool(multiline))(text)
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
_NOT_INERT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c"
                        "\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


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
