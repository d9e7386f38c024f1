"""Runbooks: markdown files in the war room's runbooks/ folder whose fenced shell
blocks are runnable steps.

- `load_runbooks(folder)` reads every `*.md` there (sorted by name); the title is
  the first `# ` heading outside code blocks.
- `extract_steps(markdown)` finds the fenced blocks (``` or ~~~, any fence
  length, indented up to three spaces as CommonMark says, also inside list
  items) whose info string is bash, sh or shell (the whole block is one step) or
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

__all__ = ["Runbook", "Step", "load_runbooks", "parse_runbook", "extract_steps", "variables", "prepare",
           "child_env", "incident_fields", "step_secrets", "output_tail", "matches", "SHELL_LANGUAGES",
           "CONSOLE_LANGUAGES", "INCIDENT_VARIABLES"]

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell"})
CONSOLE_LANGUAGES = frozenset({"console", "shell-session"})
INCIDENT_VARIABLES = ("INCIDENT_ID", "SEVERITY", "STATUS", "TITLE")
MAX_RUNBOOK_BYTES = 1 << 20


@dataclass(frozen=True)
class Step:
    index: int          # 1-based, in the order of the file
    language: str       # bash | sh | shell | console | shell-session
    command: str        # exactly what runs (`bash -c command`)
    line: int           # 1-based line of the opening fence
    heading: str = ""   # the nearest heading above it ("Check", "Mitigate")


@dataclass(frozen=True)
class Runbook:
    name: str           # the file's stem: site-down
    title: str          # its first `# ` heading
    path: Path
    text: str
    steps: tuple[Step, ...] = field(default=())

    def step(self, index: int) -> Step | None:
        return next((s for s in self.steps if s.index == index), None)


# --- reading the markdown ------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_LIST_ITEM = re.compile(r"^(?P<indent> *)(?P<marker>[-+*]|\d{1,9}[.)])(?P<space> +|$)")
_ATX = re.compile(r"^ {0,3}(?P<level>#{1,6})(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")
_LANGUAGE = re.compile(r"^\{?\s*\.?(?P<lang>[A-Za-z0-9_+#.-]*)")


@dataclass
class _Block:
    line: int                 # 1-based line of the opening fence
    info: str
    lines: list[str]
    closed: bool
    heading: str


def _indent_of(line: str) -> int:
    stripped = line.lstrip(" \t")
    return len(line[: len(line) - len(stripped)].expandtabs(4))


def _scan(markdown: str) -> tuple[list[_Block], list[tuple[int, int, str]]]:
    """-> the fenced code blocks and the headings (line, level, text) outside them."""
    lines = markdown.splitlines()
    blocks: list[_Block] = []
    headings: list[tuple[int, int, str]] = []
    lists: list[int] = []            # content indents of the list items we are in
    heading = ""
    i = 0
    previous_text: str | None = None  # for setext headings: the paragraph line above
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            previous_text = None
            i += 1
            continue
        indent = _indent_of(line)
        while lists and indent < lists[-1] and not _LIST_ITEM.match(line.expandtabs(4)):
            lists.pop()
        expanded = line.expandtabs(4)
        opening = _FENCE_OPEN.match(expanded)
        base = _container(indent, lists)
        if opening and base is not None and not (opening["fence"][0] == "`" and "`" in opening["info"]):
            fence, info = opening["fence"], opening["info"].strip()
            body: list[str] = []
            closed = False
            j = i + 1
            while j < len(lines):
                candidate = lines[j].expandtabs(4)
                close_indent = _indent_of(candidate)
                stripped = candidate.strip()
                if (close_indent - base <= 3 and stripped and set(stripped) == {fence[0]}
                        and len(stripped) >= len(fence)):
                    closed = True
                    break
                body.append(_dedent(lines[j], indent))
                j += 1
            blocks.append(_Block(i + 1, info, body, closed, heading))
            previous_text = None
            i = j + 1
            continue
        atx = _ATX.match(expanded)
        if atx and (atx["text"] is not None or expanded.strip().strip("#") == ""):
            text = (atx["text"] or "").strip()
            heading = text
            headings.append((i + 1, len(atx["level"]), text))
            previous_text = None
            i += 1
            continue
        if previous_text is not None and _SETEXT_H1.match(expanded):
            heading = previous_text.strip()
            headings.append((i, 1, heading))
            previous_text = None
            i += 1
            continue
        item = _LIST_ITEM.match(expanded)
        if item:
            width = len(item["indent"]) + len(item["marker"])
            space = len(item["space"])
            content = width + (space if 1 <= space <= 4 else 1)
            while lists and lists[-1] > len(item["indent"]):
                lists.pop()
            lists.append(content)
        previous_text = line
        i += 1
    return blocks, headings


def _container(indent: int, lists: list[int]) -> int | None:
    """The indent a fence at `indent` is measured from (0 or a list item's content
    indent), or None when it is too deep to be a fence (an indented code block)."""
    for base in reversed(lists):
        if 0 <= indent - base <= 3:
            return base
    return 0 if indent <= 3 else None


def _dedent(line: str, count: int) -> str:
    """Remove up to `count` leading spaces (a fence's indent comes off its content)."""
    n = 0
    while n < count and n < len(line) and line[n] == " ":
        n += 1
    return line[n:]


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
    return Runbook(name=name, title=title_of(text, name), path=Path(path), text=text,
                   steps=tuple(extract_steps(text)))


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
    pending: list[tuple[str, bool]] = []   # heredoc terminators still to come
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
        names = " and ".join(f"${{{name}}}" for name in missing) if len(missing) <= 2 else \
            ", ".join(f"${{{name}}}" for name in missing[:-1]) + f" and ${{{missing[-1]}}}"
        which, them = ("which is", "it") if len(missing) == 1 else ("which are", "them")
        raise UsageError(f"step {step.index} uses {names}, {which} not set; export {them} and restart warroom")
    shell = "bash" if shutil.which("bash", path=environ.get("PATH")) else "sh"
    return [shell, "-c", step.command]


def incident_fields(incident: Incident) -> dict[str, str]:
    """What a step may use of the incident: INCIDENT_ID (short id), SEVERITY, STATUS, TITLE."""
    return {"INCIDENT_ID": incident.short_id, "SEVERITY": incident.severity, "STATUS": incident.status,
            "TITLE": incident.title}


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
