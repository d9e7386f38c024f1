"""Runbooks: markdown files in the war room's runbooks/ folder whose fenced shell
blocks are runnable steps.

- `load_runbooks(folder)` reads every `*.md` there (sorted by name); the title is
  the first `# ` heading outside code blocks.
- `extract_steps(markdown)` finds the fenced blocks in markdown-it's tokens (the
  parser the runbook screen renders with: ``` or ~~~, any fence length, also inside
  list items) whose info string is bash, sh or shell (the whole block is one step) or
  console (only the `$ ` lines, without the prompt, with their continuation
  lines). Other blocks (python, text, none) are not steps; neither is a block
  whose fence is never closed (what would run is unclear) nor one holding only
  comments.
- `variables(command)` lists the `${NAME}`s a step uses; `prepare()` refuses a
  step that uses an unset one, naming it, and returns the argv to run. Incident
  fields reach the child as environment variables (`child_env`), never by
  pasting text into the command, so a title with quotes cannot inject shell.

Principle 4: runbooks come from the local folder only (config.runbooks_dir),
never from the record. Core module: imports neither textual nor httpx.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.errors import UsageError
from warroom.text.redact import redact_key_blocks
from warroom.text.sanitize import sanitize

if TYPE_CHECKING:
    from warroom.record.model import Incident

__all__ = [
    "Runbook",
    "Step",
    "load_runbooks",
    "parse_runbook",
    "extract_steps",
    "variables",
    "prepare",
    "child_env",
    "incident_fields",
    "step_secrets",
    "output_tail",
    "matches",
    "SHELL_LANGUAGES",
    "CONSOLE_LANGUAGES",
    "INCIDENT_VARIABLES",
]

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell"})
CONSOLE_LANGUAGES = frozenset({"console", "shell-session"})
INCIDENT_VARIABLES = ("INCIDENT_ID", "SEVERITY", "STATUS", "TITLE")
MAX_RUNBOOK_BYTES = 1 << 20


@dataclass(frozen=True)
class Step:
    index: int  # 1-based, in the order of the file
    language: str  # bash | sh | shell | console | shell-session
    command: str  # exactly what runs (`bash -c command`)
    line: int  # 1-based line of the opening fence
    heading: str = ""  # the nearest heading above it ("Check", "Mitigate")


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


@dataclass
class _Block:
    line: int  # 1-based line of the opening fence
    info: str
    lines: list[str]
    closed: bool
    heading: str


def _scan(markdown: str) -> tuple[list[_Block], list[tuple[int, int, str]]]:
    """-> the fenced code blocks and the headings (line, level, text) outside them, read from
    markdown-it's tokens: the parser the runbook screen renders with (Textual's Markdown), so
    what shows as a code block is what runs. (The CommonMark preset: the screen's GFM extras,
    tables and autolinks, change no fence.)"""
    from markdown_it import MarkdownIt  # on first use: it takes a while to import

    source = markdown.splitlines()
    tokens = MarkdownIt("commonmark").parse(markdown)
    blocks: list[_Block] = []
    headings: list[tuple[int, int, str]] = []
    heading = ""
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map is not None:
            text = tokens[index + 1].content.strip() if index + 1 < len(tokens) else ""
            # a setext heading's line is its text's (its underline is the last line of its map)
            line = token.map[0] + 1 if token.markup.startswith("#") else token.map[1] - 1
            heading = text
            headings.append((line, int(token.tag[1:]), text))
        elif token.type == "fence" and token.map is not None:
            start, end = token.map
            closing = source[end - 1].strip() if end - 1 > start and end - 1 < len(source) else ""
            # markdown-it ends a fence that is never closed where its container ends: the
            # last line of its map is then content, not a fence of the same kind
            closed = bool(closing) and set(closing) == {token.markup[0]} and len(closing) >= len(token.markup)
            body = token.content.split("\n")[:-1] if token.content else []
            blocks.append(_Block(start + 1, token.info.strip(), body, closed, heading))
    return blocks, headings


def _language(info: str) -> str:
    match = _LANGUAGE.match(info.strip())
    return match["lang"].lower() if match else ""


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _console_commands(lines: list[str]) -> list[str]:
    """`$ ` lines without the prompt; a line ending in a backslash, or a line starting
    with the `> ` continuation prompt, continues the command above. Output is dropped."""
    commands: list[list[str]] = []
    continuing = False
    for raw in lines:
        if raw.startswith("$ ") or raw.rstrip() == "$":
            text = raw[2:] if raw.startswith("$ ") else ""
            if not text.strip():
                continuing = False
                continue
            commands.append([text])
        elif commands and (continuing or raw.startswith("> ") or raw.rstrip() == ">"):
            text = raw[2:] if raw.startswith("> ") else ("" if raw.rstrip() == ">" else raw)
            commands[-1].append(text)
        else:
            continuing = False
            continue
        continuing = _ends_with_backslash(commands[-1][-1])
    return ["\n".join(parts) for parts in commands]


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


def extract_steps(markdown: str) -> list[Step]:
    """The runnable steps of a runbook, in order (see the module's docstring)."""
    steps: list[Step] = []
    blocks, _ = _scan(markdown)
    for block in blocks:
        if not block.closed:
            continue
        language = _language(block.info)
        if language in SHELL_LANGUAGES:
            body = _trim_blank(block.lines)
            if all(_is_comment_or_blank(line) for line in body):
                continue
            command = "\n".join(body)
        elif language in CONSOLE_LANGUAGES:
            commands = _console_commands(block.lines)
            if not commands:
                continue
            command = "\n".join(commands)
        else:
            continue
        steps.append(Step(len(steps) + 1, language, command, block.line, block.heading))
    return steps


def title_of(markdown: str, fallback: str) -> str:
    _, headings = _scan(markdown)
    for _line, level, text in headings:
        if level == 1 and text:
            return text
    return fallback.replace("-", " ").replace("_", " ").strip().capitalize() or fallback


def parse_runbook(name: str, text: str, path: Path | str = "") -> Runbook:
    return Runbook(name=name, title=title_of(text, name), path=Path(path), text=text, steps=tuple(extract_steps(text)))


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


def matches(runbook: Runbook, query: str) -> bool:
    """Search: every word of `query` appears in the title, the name or the text."""
    words = query.casefold().split()
    if not words:
        return True
    haystack = f"{runbook.title}\n{runbook.name}\n{runbook.text}".casefold()
    return all(word in haystack for word in words)


# --- running a step ----------------------------------------------------------------

_VARIABLE = re.compile(r"(?<!\\)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HEREDOC = re.compile(r"""(?<!<)<<(-?)[ \t]*(?:'([^'\n]+)'|"([^"\n]+)"|\\?([A-Za-z0-9_.-]+))""")


def variables(command: str) -> list[str]:
    """The `${NAME}`s a command uses, once each, in order.

    Only the braced form: `$NAME`, `$(...)`, `%{...}` (curl -w) and `{...}` (jsonpath)
    are not variables, and `${NAME:-default}` carries its own fallback. Whole-line
    comments are skipped (a commented-out alternative must not block the step), but
    not inside heredoc bodies, where a `#` line is data.
    """
    found: dict[str, None] = {}
    pending: list[tuple[str, bool]] = []  # heredoc terminators still to come
    for line in command.splitlines():
        if pending:
            delimiter, strip_tabs = pending[0]
            if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                pending.pop(0)
            else:
                found.update(dict.fromkeys(_VARIABLE.findall(line)))
            continue
        if line.lstrip().startswith("#"):
            continue
        found.update(dict.fromkeys(_VARIABLE.findall(line)))
        pending.extend(_heredocs(line))
    return list(found)


_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")


def _heredocs(line: str) -> list[tuple[str, bool]]:
    """The heredocs a command line opens: (terminator, strip leading tabs). A `<<`
    inside a quoted string is not one; `<<<` (a here-string) is not one."""
    quoted = [m.span() for m in _QUOTED.finditer(line)]
    found = []
    for match in _HEREDOC.finditer(line):
        if any(start <= match.start() < end for start, end in quoted):
            continue
        dash, single, double, bare = match.groups()
        found.append((single or double or bare, dash == "-"))
    return found


def prepare(step: Step, environ: Mapping[str, str], incident_fields: Mapping[str, str]) -> list[str]:
    """The argv that runs `step`, once every `${NAME}` it uses is an incident field
    (INCIDENT_ID, SEVERITY, STATUS, TITLE) or set in `environ`; else UsageError naming
    the unset ones. Run it with `child_env(environ, incident_fields)`."""
    missing = [name for name in variables(step.command) if name not in incident_fields and name not in environ]
    if missing:
        names = (
            " and ".join(f"${{{name}}}" for name in missing)
            if len(missing) <= 2
            else ", ".join(f"${{{name}}}" for name in missing[:-1]) + f" and ${{{missing[-1]}}}"
        )
        which, them = ("which is", "it") if len(missing) == 1 else ("which are", "them")
        raise UsageError(f"step {step.index} uses {names}, {which} not set; export {them} and restart warroom")
    shell = "bash" if shutil.which("bash", path=environ.get("PATH")) else "sh"
    return [shell, "-c", step.command]


def incident_fields(incident: Incident) -> dict[str, str]:
    """What a step may use of the incident: INCIDENT_ID (short id), SEVERITY, STATUS, TITLE."""
    return {
        "INCIDENT_ID": incident.short_id,
        "SEVERITY": incident.severity,
        "STATUS": incident.status,
        "TITLE": incident.title,
    }


def child_env(environ: Mapping[str, str], fields: Mapping[str, str]) -> dict[str, str]:
    """The step's environment: ours plus the incident fields (made inert: a title from a
    synced record carries no control characters into the child)."""
    env = {str(k): str(v) for k, v in environ.items()}
    for name, value in fields.items():
        env[name] = sanitize(str(value), limit=1000)
    return env


def step_secrets(step: Step, environ: Mapping[str, str]) -> tuple[str, ...]:
    """Values of the environment variables a step uses, to redact from its output (as
    the config treats `${NAME}`s): all but plain URLs without credentials."""
    values = []
    for name in variables(step.command):
        value = environ.get(name)
        if name in INCIDENT_VARIABLES or not value or len(value) < 4:
            continue
        if value.startswith(("http://", "https://")) and "@" not in value and "?" not in value:
            continue
        values.append(value)
    return tuple(values)


def output_tail(texts: Iterable[str], lines: int = 10, line_limit: int = 300, stopped: bool = False) -> str:
    """The last `lines` lines of a step's output (already sanitized), for the record. The
    lines of a private key stay out, even given raw: `texts` is the whole output, in order."""
    kept = [sanitize(text, limit=line_limit) for text in redact_key_blocks(texts)[-lines:]]
    while kept and not kept[-1].strip():
        kept.pop()
    if stopped:
        kept.append("(stopped)")
    return "\n".join(kept)
