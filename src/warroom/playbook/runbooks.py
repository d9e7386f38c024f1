"""Runbooks: markdown files in the war room's runbooks/ folder, cut into numbered steps.

- `load_runbooks(folder)` reads every `*.md` there (sorted by name); the title is the
  first `# ` heading outside code blocks.
- `extract_steps(markdown)` walks markdown-it's tokens (the parser the runbook screen
  renders with: ``` or ~~~, any fence length, also inside list items):
  - a fenced `bash`, `sh`, `shell` or `zsh` block gives one step per command: lines
    joined by a trailing backslash, an open quote, a pipe at the end, a heredoc or an
    `if`/`for`/`case` not yet closed are one command; the comment line right above a
    command is its label. Several commands in one block are several steps, so one
    confirmation never runs two of them ("rollback" and, below it, "or restore");
  - a `console` block gives one step per `$ ` prompt (output lines dropped);
  - manual steps, ticked rather than run: in a shell block, a line that is a dashboard
    path (`Dashboard → Deployments → Redeploy`) or SQL (`SELECT ...;`) and a numbered
    comment (`# 2. Archive old data`) that labels no command; a numbered item of a
    markdown ordered list holding no step of its own; any other fenced block (`sql`,
    `text`, none) except documents and data (markdown, mermaid, json, yaml, ...);
  - a block whose fence is never closed is no step at all (what would run is unclear).
- `variables(command)` lists the `${NAME}`s a step uses.
- `output_tail` keeps the last lines of a step's output for the record.

Running a step (placeholders, environment, secrets) is step_run.py's job.

Principle 4: runbooks come from the local folder only (config.runbooks_dir), never
from the record. Core module: imports neither textual nor httpx.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warroom.playbook.shell import COMMENT, SINGLE, Piece, contexts, split_commands
from warroom.text.redact import redact_key_blocks
from warroom.text.sanitize import sanitize

__all__ = [
    "Runbook",
    "Step",
    "load_runbooks",
    "find_runbook",
    "folder_stamp",
    "parse_runbook",
    "extract_steps",
    "variables",
    "output_tail",
    "matches",
    "SHELL_LANGUAGES",
    "CONSOLE_LANGUAGES",
    "DOCUMENT_LANGUAGES",
]

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "zsh"})
CONSOLE_LANGUAGES = frozenset({"console", "shell-session"})
# Blocks that show something rather than ask for something: never a step.
DOCUMENT_LANGUAGES = frozenset(
    {"markdown", "md", "mermaid", "json", "yaml", "yml", "toml", "xml", "html", "csv", "diff", "output", "log"}
)
MAX_RUNBOOK_BYTES = 1 << 20
LABEL_LIMIT = 100


@dataclass(frozen=True)
class Step:
    index: int  # 1-based, in the order of the file
    language: str  # bash | sh | shell | zsh | console | shell-session; a manual step's block language or ""
    command: str  # exactly what runs (`bash -c command`); for a manual step, what to do
    line: int  # 1-based line of the file where it starts
    heading: str = ""  # the nearest heading above it ("Check", "Mitigate")
    label: str = ""  # the comment right above it, the list item or the paragraph it belongs to
    manual: bool = False  # done by hand and ticked, never run

    @property
    def title(self) -> str:
        """What to call it in one line: its label, else its first line."""
        return self.label or (self.command.strip().splitlines() or [""])[0]


@dataclass(frozen=True)
class Runbook:
    name: str  # the file's stem: site-down
    title: str  # its first `# ` heading
    path: Path
    text: str
    steps: tuple[Step, ...] = field(default=())

    def step(self, index: int) -> Step | None:
        return next((s for s in self.steps if s.index == index), None)


# --- reading the markdown ------------------------------------------------------------

_LANGUAGE = re.compile(r"^\{?\s*\.?(?P<lang>[A-Za-z0-9_+#.-]*)")
_NUMBERED_COMMENT = re.compile(r"^#+\s*\d{1,3}[.)]\s+(?P<text>\S.*)$")
_SQL = re.compile(
    r"^(SELECT|INSERT|UPDATE|DELETE|WITH|ALTER|CREATE|DROP|TRUNCATE|VACUUM|EXPLAIN|GRANT|REVOKE|SHOW|BEGIN|COMMIT)\b"
)
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)", re.S)


def _language(info: str) -> str:
    match = _LANGUAGE.match(info.strip())
    return match["lang"].lower() if match else ""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1].rstrip() + "…"


def _plain(inline: Any) -> str:
    """An inline token's text without its markup (`**x**` -> x, `` `y` `` -> y)."""
    parts = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


def _comment_text(line: str) -> str:
    """`# 2. Reset connections` -> `Reset connections`."""
    return re.sub(r"^\d{1,3}[.)]\s+", "", line.strip().lstrip("#").strip())


def _is_dashboard_path(line: str) -> bool:
    """`Railway Dashboard → Deployments → Redeploy`: clicks, not shell."""
    marks = contexts(line)
    return any(char == "→" and mark not in (COMMENT, SINGLE) for char, mark in zip(line, marks, strict=False))


@dataclass
class _Item:
    """An ordered-list item being read: it is a manual step if no step came from inside it."""

    line: int
    steps_before: int
    text: str = ""
    details: list[str] = field(default_factory=list)


class _Extractor:
    def __init__(self, markdown: str) -> None:
        self.source = markdown.splitlines()
        self.steps: list[Step] = []
        self.heading = ""

    def add(self, language: str, command: str, line: int, label: str = "", manual: bool = False) -> None:
        step = Step(len(self.steps) + 1, language, command, line, self.heading, _short(label), manual)
        self.steps.append(step)

    def run(self, tokens: list[Any]) -> list[Step]:
        lists: list[str] = []  # the kinds of the lists we are in
        items: list[_Item | None] = []  # the list items we are in (None: a bullet item)
        paragraph = ""  # the text of the paragraph right before the current token
        for index, token in enumerate(tokens):
            kind = token.type
            if kind == "heading_open" and token.map is not None:
                self.heading = _plain(tokens[index + 1]) if index + 1 < len(tokens) else ""
            elif kind in ("ordered_list_open", "bullet_list_open"):
                lists.append(kind)
            elif kind in ("ordered_list_close", "bullet_list_close"):
                lists.pop()
            elif kind == "list_item_open":
                ordered = bool(lists) and lists[-1] == "ordered_list_open"
                line = token.map[0] + 1 if token.map else 0
                items.append(_Item(line, len(self.steps)) if ordered else None)
            elif kind == "list_item_close":
                item = items.pop()
                if item is not None and len(self.steps) == item.steps_before and item.text:
                    self.add("", "\n".join([item.text, *item.details]), item.line, manual=True)
            elif kind == "inline":
                text = _plain(token)
                owner = next((i for i in reversed(items) if i is not None), None)
                if owner is not None and text:
                    if not owner.text:
                        owner.text = text
                    else:
                        owner.details.append(("- " if items[-1] is None else "") + text)
                paragraph = text if tokens[index - 1].type == "paragraph_open" else ""
                continue
            elif kind == "fence" and token.map is not None:
                item = next((i for i in reversed(items) if i is not None), None)
                label = item.text if item is not None and item.steps_before == len(self.steps) else ""
                if not label and tokens[index - 1].type == "paragraph_close" and paragraph:
                    found = _FIRST_SENTENCE.match(paragraph)
                    label = found.group(1) if found else paragraph
                self.fence(token, label)
            if kind != "paragraph_close":
                paragraph = ""
        return self.steps

    def fence(self, token: Any, label: str) -> None:
        start, end = token.map
        source = self.source
        closing = source[end - 1].strip() if end - 1 > start and end - 1 < len(source) else ""
        # markdown-it ends a fence that is never closed where its container ends: the
        # last line of its map is then content, not a fence of the same kind
        if not (closing and set(closing) == {token.markup[0]} and len(closing) >= len(token.markup)):
            return
        lines = token.content.split("\n")[:-1] if token.content else []
        first = start + 2  # the file's line of the block's first line
        language = _language(token.info)
        if language in SHELL_LANGUAGES:
            self.shell(language, lines, first, label)
        elif language in CONSOLE_LANGUAGES:
            for offset, command in _console_commands(lines):
                self.add(language, command, first + offset, label)
                label = ""
        elif language not in DOCUMENT_LANGUAGES and any(line.strip() for line in lines):
            self.add(language, "\n".join(_trim_blank(lines)), first, label, manual=True)

    def shell(self, language: str, lines: list[str], first: int, label: str) -> None:
        """One step per command; the paragraph's `label` goes to the first step without one."""
        comments: list[tuple[int, str]] = []  # the comment lines since the last blank or command

        def flush_numbered() -> None:
            for offset, comment in comments:
                found = _NUMBERED_COMMENT.match(comment.strip())
                if found:
                    self.add(language, found["text"], first + offset, manual=True)
            comments.clear()

        for piece in _sql_joined(split_commands(lines)):
            if piece.kind == "blank":
                flush_numbered()
                continue
            if piece.kind == "comment":
                comment = piece.lines[0]
                if _is_dashboard_path(comment):  # `# In the dashboard → Apps → ...`
                    comments.append((piece.start, comment))
                    flush_numbered()
                    self.add(language, _comment_text(comment), first + piece.start, manual=True)
                    continue
                comments.append((piece.start, comment))
                continue
            own = _comment_text(comments.pop()[1]) if comments else ""
            flush_numbered()
            for command, offset, manual in _commands_of(piece.lines):
                self.add(language, command, first + piece.start + offset, own or label, manual)
                own = label = ""
        flush_numbered()


def _sql_joined(pieces: list[Piece]) -> list[Piece]:
    """SQL written over several lines is one statement, up to its `;`."""
    joined: list[Piece] = []
    for piece in pieces:
        last = joined[-1] if joined else None
        if (
            piece.kind == "command"
            and last is not None
            and last.kind == "command"
            and _SQL.match(last.lines[0].strip())
            and not last.lines[-1].rstrip().endswith(";")
        ):
            joined[-1] = Piece("command", last.start, last.lines + piece.lines)
        else:
            joined.append(piece)
    return joined


def _commands_of(lines: tuple[str, ...]) -> list[tuple[str, int, bool]]:
    """A command piece as steps: itself, or manual steps when it is clicks or SQL."""
    head = lines[0].strip()
    if _SQL.match(head):
        return [("\n".join(line.strip() for line in lines), 0, True)]
    if _is_dashboard_path(lines[0]):
        return [(line.strip(), offset, True) for offset, line in enumerate(lines) if line.strip()]
    return [(textwrap.dedent("\n".join(_trim_blank(list(lines)))), 0, False)]


def _console_commands(lines: list[str]) -> list[tuple[int, str]]:
    """(offset, command) of each `$ ` line without the prompt; a line ending in a backslash,
    or a line starting with the `> ` continuation prompt, continues the command above.
    Output is dropped."""
    commands: list[tuple[int, list[str]]] = []
    continuing = False
    for offset, raw in enumerate(lines):
        if raw.startswith("$ ") or raw.rstrip() == "$":
            text = raw[2:] if raw.startswith("$ ") else ""
            if not text.strip():
                continuing = False
                continue
            commands.append((offset, [text]))
        elif commands and (continuing or raw.startswith("> ") or raw.rstrip() == ">"):
            text = raw[2:] if raw.startswith("> ") else ("" if raw.rstrip() == ">" else raw)
            commands[-1][1].append(text)
        else:
            continuing = False
            continue
        continuing = _ends_with_backslash(commands[-1][1][-1])
    return [(offset, "\n".join(parts)) for offset, parts in commands]


def _ends_with_backslash(text: str) -> bool:
    stripped = text.rstrip(" \t")
    return (len(stripped) - len(stripped.rstrip("\\"))) % 2 == 1


def _trim_blank(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _tokens(markdown: str) -> list[Any]:
    from markdown_it import MarkdownIt  # on first use: it takes a while to import

    # The CommonMark preset: the screen's GFM extras (tables, autolinks) change no fence.
    return MarkdownIt("commonmark").parse(markdown)


def extract_steps(markdown: str) -> list[Step]:
    """The steps of a runbook, in order (see the module's docstring)."""
    return _Extractor(markdown).run(_tokens(markdown))


def _title(tokens: list[Any], fallback: str) -> str:
    """The first `# ` heading (ATX or setext), else the file name in words."""
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h1" and index + 1 < len(tokens):
            text = str(tokens[index + 1].content).strip()
            if text:
                return text
    return fallback.replace("-", " ").replace("_", " ").strip().capitalize() or fallback


def parse_runbook(name: str, text: str, path: Path | str = "") -> Runbook:
    tokens = _tokens(text)  # parsed once for the title and the steps
    steps = tuple(_Extractor(text).run(tokens))
    return Runbook(name=name, title=_title(tokens, name), path=Path(path), text=text, steps=steps)


def load_runbooks(folder: Path | str) -> list[Runbook]:
    """Every `*.md` in `folder`, sorted by file name. A missing folder has none; a file
    that cannot be read is left out (the rest still load)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    runbooks = []
    for path in sorted(folder.glob("*.md"), key=lambda p: p.name):
        try:
            if not path.is_file():
                continue
            with open(path, "rb") as handle:
                data = handle.read(MAX_RUNBOOK_BYTES)
        except OSError:
            continue
        runbooks.append(parse_runbook(path.stem, data.decode("utf-8", "replace"), path))
    return runbooks


def folder_stamp(folder: Path | str) -> tuple[tuple[str, int, int], ...]:
    """What changes when a runbook is added, removed or edited: (name, mtime, size) of each
    `*.md` (a few stats, cheap enough to ask on every open)."""
    try:
        entries = [e for e in os.scandir(folder) if e.name.endswith(".md")]
        return tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in entries))
    except OSError:
        return ()


def find_runbook(runbooks: Iterable[Runbook], name: str) -> Runbook | None:
    """By file name (`site-down`, `site-down.md`), else by title, case-insensitively."""
    wanted = name.strip().removesuffix(".md").casefold()
    listed = list(runbooks)
    return next((r for r in listed if r.name.casefold() == wanted), None) or next(
        (r for r in listed if r.title.casefold() == wanted), None
    )


def matches(runbook: Runbook, query: str) -> bool:
    """Search: every word of `query` appears in the title, the name or the text."""
    words = query.casefold().split()
    if not words:
        return True
    haystack = f"{runbook.title}\n{runbook.name}\n{runbook.text}".casefold()
    return all(word in haystack for word in words)


# --- what a step uses and leaves -----------------------------------------------------------

_VARIABLE = re.compile(r"(?<!\\)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def variables(command: str) -> list[str]:
    """The `${NAME}`s a command uses, once each, in order.

    Only the braced form: `$NAME`, `$(...)`, `%{...}` (curl -w) and `{...}` (jsonpath)
    are not variables, and `${NAME:-default}` carries its own fallback. Comments and
    single-quoted text are skipped (the shell expands neither), but not heredoc bodies,
    where a `#` line is data.
    """
    marks = contexts(command)
    found: dict[str, None] = {}
    for match in _VARIABLE.finditer(command):
        if marks[match.start()] not in (COMMENT, SINGLE):
            found[match[1]] = None
    return list(found)


def output_tail(texts: Iterable[str], lines: int = 10, line_limit: int = 300, stopped: bool = False) -> str:
    """The last `lines` lines of a step's output (already sanitized), for the record. The
    lines of a private key stay out, even given raw: `texts` is the whole output, in order."""
    kept = [sanitize(text, limit=line_limit) for text in redact_key_blocks(texts)[-lines:]]
    while kept and not kept[-1].strip():
        kept.pop()
    if stopped:
        kept.append("(stopped)")
    return "\n".join(kept)
