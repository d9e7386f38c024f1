"""Reading shell text the way a shell would, just enough to cut a fenced block into
commands and to put a typed value into one safely.

- `split_commands(lines)` cuts a block's lines into pieces: one command each (lines
  joined by a trailing backslash, an open quote, a trailing `|`/`&&`/`||`, an open
  `(`/`$(`/`{`, an `if`/`case`/`do` not yet closed, a heredoc up to its terminator),
  the comment lines between them, and blank lines.
- `contexts(command)` says, for every character of a command, where it stands: plain
  command text, inside single or double quotes, backticks, `${...}`, a comment or a
  heredoc body.
- `quote_for(value, context)` writes a value so that, at that place, the shell reads
  back exactly the value: nothing in it (quotes, `$(...)`, `;`, newlines) is ever code.

Core module: pure functions over strings.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

__all__ = ["Piece", "split_commands", "contexts", "quote_for", "PLAIN", "SINGLE", "DOUBLE", "BACKTICK"]

PLAIN, SINGLE, DOUBLE, BACKTICK, ANSI, PARAM, COMMENT, HEREDOC = "plain sq dq bt ansi param comment heredoc".split()
BACKTICK_IN_DOUBLE = "btdq"  # "...`here`...": a backslash before " is taken away too

_HEREDOC = re.compile(r"""<<(-?)[ \t]*(?:'([^'\n]+)'|"([^"\n]+)"|\\?([A-Za-z0-9_.-]+))""")
_KEYWORDS = {"if": "fi", "case": "esac", "do": "done", "{": "}"}
_CLOSERS = frozenset(_KEYWORDS.values())
_AFTER_WORD_COMMAND = frozenset({"then", "do", "else", "elif", "{", "!", "if", "while", "until", "time"})


@dataclass(frozen=True)
class Piece:
    kind: str  # "command" | "comment" | "blank"
    start: int  # index of its first line in the block
    lines: tuple[str, ...]


@dataclass
class _State:
    stack: list[str]  # contexts opened and not yet closed (the bottom one is PLAIN)
    depth: int = 0  # if/case/do/{ not yet closed
    heredocs: list[tuple[str, bool, bool]] | None = None  # (terminator, strip tabs, quoted) to read
    at_command: bool = True  # the next word is a command name (where keywords count)
    continued: bool = False  # the line ended inside a word or after |, &&, ||


def _scan_line(line: str, state: _State, marks: list[str] | None = None) -> None:
    """Walk one line (without its newline), updating `state`; `marks` gets each character's context."""
    stack = state.stack
    i, n = 0, len(line)
    word = ""
    state.continued = False

    def end_word() -> None:
        nonlocal word
        if word:
            if state.at_command and word in _KEYWORDS:
                state.depth += 1
            elif state.at_command and word in _CLOSERS:
                state.depth = max(0, state.depth - 1)
            state.at_command = word in _AFTER_WORD_COMMAND
            word = ""

    def mark(count: int, context: str) -> None:
        if marks is not None:
            marks.extend([context] * count)

    while i < n:
        char = line[i]
        top = stack[-1]
        if top == SINGLE:
            mark(1, SINGLE)
            if char == "'":
                stack.pop()
            i += 1
            continue
        if top == ANSI:
            if char == "\\" and i + 1 < n:
                mark(2, ANSI)
                i += 2
                continue
            mark(1, ANSI)
            if char == "'":
                stack.pop()
            i += 1
            continue
        if top in (DOUBLE, PARAM):
            if char == "\\":
                mark(min(2, n - i), top)
                if i + 1 >= n:
                    state.continued = True
                i += 2
                continue
            if (top == DOUBLE and char == '"') or (top == PARAM and char == "}"):
                mark(1, top)
                stack.pop()
                i += 1
                continue
            if char == "$" and line.startswith("$(", i):
                mark(2, top)
                stack.append("sub")
                i += 2
                continue
            if char == "$" and line.startswith("${", i):
                mark(2, top)
                stack.append(PARAM)
                i += 2
                continue
            if char == "`":
                mark(1, top)
                stack.append(BACKTICK)
                i += 1
                continue
            mark(1, top)
            i += 1
            continue
        # plain command text: the block's level, inside $(...) or (...), or inside backticks
        here = PLAIN if top != BACKTICK else BACKTICK_IN_DOUBLE if DOUBLE in stack else BACKTICK
        if char == "\\":
            mark(min(2, n - i), here)
            if i + 1 >= n:
                state.continued = True
                word += "\\"
            else:
                word += line[i : i + 2]
            i += 2
            continue
        if char == "#" and not word:
            mark(n - i, COMMENT)
            break
        if char in " \t":
            end_word()
            mark(1, here)
            i += 1
            continue
        if top == BACKTICK and char == "`":
            end_word()
            mark(1, here)
            stack.pop()
            i += 1
            continue
        opener = _opener(line, i)
        if opener is not None:
            text, context, marked = opener
            mark(len(text), marked or here)
            stack.append(context)
            word += text
            i += len(text)
            continue
        if char == "(":
            end_word()
            mark(1, here)
            stack.append("sub")
            state.at_command = True
            i += 1
            continue
        if char == ")":
            end_word()
            mark(1, here)
            if top == "sub":
                stack.pop()
            state.at_command = True  # after a subshell, or a case pattern
            i += 1
            continue
        if char == "<" and line.startswith("<<", i) and not line.startswith("<<<", i):
            end_word()
            found = _HEREDOC.match(line, i)
            if found:
                dash, single, double, bare = found.groups()
                if state.heredocs is None:
                    state.heredocs = []
                state.heredocs.append((single or double or bare, dash == "-", bool(single or double)))
                mark(found.end() - i, here)
                i = found.end()
                continue
        if char in ";&|":
            end_word()
            mark(1, here)
            state.at_command = True
            i += 1
            continue
        if char in "<>":
            end_word()
            mark(1, here)
            i += 1
            continue
        word += char
        mark(1, here)
        i += 1
    end_word()
    if stack == [PLAIN] and marks is None and _ends_with_operator(line):
        state.continued = True  # a pipe or and/or at the end (a comment may follow it)
    if not state.continued:
        state.at_command = True  # a newline ends a command like `;`


# What opens a context in plain command text: (text, context, how its own characters are marked;
# "" marks them as the text around them).
_OPENERS = (("$'", ANSI, ANSI), ("${", PARAM, PARAM), ("$(", "sub", ""), ("'", SINGLE, SINGLE), ('"', DOUBLE, DOUBLE))


def _opener(line: str, i: int) -> tuple[str, str, str] | None:
    if line[i] == "`":
        return ("`", BACKTICK, "")
    return next((opener for opener in _OPENERS if line.startswith(opener[0], i)), None)


def _ends_with_operator(line: str) -> bool:
    """A pipe or and/or before a trailing comment: `cmd |  # then`."""
    marks: list[str] = []
    _scan_line(line, _State([PLAIN]), marks)
    code = "".join(char for char, where in zip(line, marks, strict=False) if where != COMMENT).rstrip()
    return code.endswith(("|", "&&", "||"))


def _open(state: _State) -> bool:
    return state.continued or len(state.stack) > 1 or state.depth > 0 or bool(state.heredocs)


def _heredoc_ends(line: str, heredoc: tuple[str, bool, bool]) -> bool:
    terminator, strip_tabs, _quoted = heredoc
    return (line.lstrip("\t") if strip_tabs else line) == terminator


def split_commands(lines: list[str]) -> list[Piece]:
    """A shell block's lines as commands, comment lines and blank lines, in order."""
    pieces: list[Piece] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if not stripped:
            pieces.append(Piece("blank", index, (line,)))
            index += 1
            continue
        if stripped.startswith("#"):
            pieces.append(Piece("comment", index, (line,)))
            index += 1
            continue
        start = index
        state = _State([PLAIN])
        while index < len(lines):
            line = lines[index]
            index += 1
            if state.heredocs:
                if _heredoc_ends(line, state.heredocs[0]):
                    state.heredocs.pop(0)
                if not _open(state):
                    break
                continue
            _scan_line(line, state)
            if not _open(state):
                break
        pieces.append(Piece("command", start, tuple(lines[start:index])))
    return pieces


def contexts(command: str) -> list[str]:
    """The context of every character of `command` (newlines included, as PLAIN or the open context)."""
    marks: list[str] = []
    state = _State([PLAIN])
    for line in command.split("\n"):
        if state.heredocs:
            marks.extend([HEREDOC] * len(line))
            if _heredoc_ends(line, state.heredocs[0]):
                state.heredocs.pop(0)
        else:
            _scan_line(line, state, marks)
        marks.append(state.stack[-1] if state.stack[-1] != "sub" else PLAIN)
    del marks[len(command) :]
    return [PLAIN if mark == "sub" else mark for mark in marks]


def quote_for(value: str, context: str) -> str:
    """`value` written so that the shell, at `context`, reads back exactly `value`."""
    if context == SINGLE:
        return value.replace("'", "'\\''")
    if context == DOUBLE:
        return re.sub(r'([\\"$`])', r"\\\1", value)
    if context in (BACKTICK, BACKTICK_IN_DOUBLE):
        # backticks take one level of backslashes away (before \\, ` and $, and " when they
        # stand in double quotes) before the inner command is read
        special = r'([\\`$"])' if context == BACKTICK_IN_DOUBLE else r"([\\`$])"
        return re.sub(special, r"\\\1", shlex.quote(value))
    return shlex.quote(value)
