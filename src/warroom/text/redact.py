"""Secrets taken out: the values of ${VARS}, token shapes, credentials in URLs and headers,
private key blocks (in one text, or line by line over a stream).

`redact` for one text; a `Redactor` per set of secrets, cached; `KeyBlocks` carries a
stream's state from a key's BEGIN line to its END line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from functools import lru_cache, partial
from itertools import accumulate
from urllib.parse import quote

__all__ = ["REDACTED", "KeyBlocks", "Redactor", "redact_key_blocks", "redactor_for"]

REDACTED = "«REDACTED»"

# --- redaction -----------------------------------------------------------------

_KEY_WORDS = r"(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key)"

_PATTERNS: list[tuple[re.Pattern[str], str | None]] = [
    # private key blocks (ended or not; PGP's are "PRIVATE KEY BLOCK")
    (
        re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----.*?(?:-----END \1PRIVATE KEY\2-----|\Z)", re.S),
        r"-----BEGIN \1PRIVATE KEY\2-----" + REDACTED + r"-----END \1PRIVATE KEY\2-----",
    ),
    # Authorization / Proxy-Authorization header values, as header, JSON or kv
    (
        re.compile(
            r"""(?i)\b((?:proxy-)?authorization["']?\s*[:=]\s*)(?:"(?:[^"\\\n]|\\.){0,2000}"|'[^'\n]{0,2000}'|[^\n]+)"""
        ),
        None,
    ),
    # Bearer / token-type credentials
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*"), r"\1" + REDACTED),
    # user:password@ in URLs (the user name stays)
    (
        re.compile(r"((?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^/\s:@]{0,200}):[^/\s@]{1,500}@"),
        r"\1:" + REDACTED + "@",
    ),
    # key = value / "key": "value" for password-, secret-, token- and key-like names
    (
        re.compile(
            r"""(?i)(["']?(?<![A-Za-z0-9_.\-])[A-Za-z0-9_.\-]{0,40}?"""
            + _KEY_WORDS
            + r"""[A-Za-z0-9_\-]{0,40}["']?\s{0,10}[:=]\s{0,10})"""
            r"""(?:"(?:[^"\\\n]|\\.){0,2000}"|'[^'\n]{0,2000}'|[^\s,;&}\]"']+)"""
        ),
        None,
    ),  # replacement function below keeps the quotes
    # token shapes
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"), REDACTED),
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"), REDACTED),
]


def _kv_replace(match: re.Match[str]) -> str:
    head = match.group(1)
    value = match.group(0)[len(head) :]
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


def line_finder(text: str) -> Callable[[int], int]:
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
        self._exact = re.compile("|".join(re.escape(s) for s in self.secrets)) if self.secrets else None

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
            lines_of = line_finder(text)
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
            lines_of = lines_of or line_finder(text)
            found.update(map(lines_of, hits))
        low = text.lower()  # may differ in length from text: its own line breaks are counted
        hits = []
        seen = {}
        for needle in _WORD_TRIGGERS:
            if _may_hold(low, needle, seen):
                _every(low, needle, hits)
        if hits:
            found.update(map(line_finder(low), hits))
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
def redactor_for(secrets: tuple[str, ...]) -> Redactor:
    return Redactor(secrets)


def as_tuple(secrets: Iterable[str]) -> tuple[str, ...]:
    if isinstance(secrets, tuple):
        return secrets
    try:
        return tuple(s for s in secrets if isinstance(s, str))
    except Exception:  # noqa: BLE001 - any iterable of secrets, however odd: never raise
        return ()


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
                return line[: run.start()] + REDACTED + line[end.start() :]
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
