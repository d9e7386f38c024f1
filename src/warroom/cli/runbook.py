"""`warroom runbook list | show NAME | run NAME STEP`: the runbook screen from a shell.

`run` asks before it runs (y/N) on a terminal, `--yes` skips the question; placeholders are
asked for on a terminal, or given with `--set KEY=VALUE` (refused, exit 2, when missing and
nothing can be asked). The run is recorded on the incident's timeline as one from the
console is: who ran what, its exit status and the last lines of its output, redacted. A
manual step is ticked, not run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections import deque
from pathlib import Path

from warroom import config as config_mod
from warroom.cli.common import clean, incident_meant, open_room
from warroom.errors import UsageError
from warroom.playbook.runbooks import Runbook, Step, find_runbook, load_runbooks, output_tail
from warroom.playbook.step_run import Need, exit_words, incident_fields, needs, prepare, tick_source, tick_text


def cmd_runbook(args: argparse.Namespace) -> int:
    command = getattr(args, "runbook_command", None) or "list"
    if command == "run":
        return _run(args)
    runbooks = load_runbooks(_config(args).runbooks_dir)
    if command == "show":
        return _show(_find(runbooks, args.name, _config(args).runbooks_dir))
    return _list(runbooks, _config(args).runbooks_dir)


def _config(args: argparse.Namespace) -> config_mod.Config:
    path = Path(args.dir) / config_mod.CONFIG_NAME if args.dir else config_mod.find()
    if path is None or not path.is_file():
        raise UsageError(
            f"{path}: no such file; is {args.dir} a war room?"
            if args.dir
            else "no warroom.toml here or in any parent folder; run `warroom init DIR` or cd into a war room"
        )
    return config_mod.load(path)


def _find(runbooks: list[Runbook], name: str, folder: Path) -> Runbook:
    found = find_runbook(runbooks, name)
    if found is None:
        names = ", ".join(r.name for r in runbooks) or "none"
        raise UsageError(f"no runbook {name!r} in {folder} (there: {names}); `warroom runbook list` shows them")
    return found


def _list(runbooks: list[Runbook], folder: Path) -> int:
    if not runbooks:
        print(f"no runbooks in {folder}: add markdown files there (see the README's Runbooks section)")
        return 0
    width = max(len(r.name) for r in runbooks)
    for runbook in runbooks:
        manual = sum(step.manual for step in runbook.steps)
        count = f"{len(runbook.steps)} steps" + (f" ({manual} by hand)" if manual else "")
        print(f"{clean(runbook.name):<{width}}  {count:<22}  {clean(runbook.title)}")
    return 0


def _show(runbook: Runbook) -> int:
    manual = sum(step.manual for step in runbook.steps)
    print(f"{clean(runbook.title)} ({runbook.path}): {len(runbook.steps)} steps, {manual} by hand")
    heading = None
    for step in runbook.steps:
        if step.heading != heading:
            heading = step.heading
            print(f"\n## {clean(heading)}" if heading else "")
        print(_describe(step))
    if runbook.steps:
        print(f"\nrun one with: warroom runbook run {runbook.name} N")
    return 0


def _describe(step: Step) -> str:
    mark = "[by hand] " if step.manual else ""
    lines = clean(step.command).splitlines() or [""]
    head = f"{step.index:>3}. {mark}{clean(step.label)}" if step.label else f"{step.index:>3}. {mark}{lines[0]}"
    body = lines if step.label else lines[1:]
    wanted = [need.shown for need in needs(step, os.environ, dict.fromkeys(_FIELDS, ""))]
    if wanted:
        head += f"  (asks for {', '.join(clean(w) for w in wanted)})"
    prefix = "       " if step.manual else "     $ "
    return "\n".join([head, *(prefix + line if n == 0 else "       " + line for n, line in enumerate(body))])


_FIELDS = ("INCIDENT_ID", "SEVERITY", "STATUS", "TITLE")


# --- run ----------------------------------------------------------------------------------


def _values(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise UsageError(f"--set {pair!r}: write KEY=VALUE, e.g. --set ID=42 for <ID>")
        values[key.strip()] = value
    return values


def _ask(question: str) -> bool:
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _ask_values(missing: list[Need], step: Step, given: dict[str, str], terminal: bool) -> dict[str, str]:
    if missing and not terminal:
        sets = " ".join(f"--set '{need.key}=...'" for need in missing)
        raise UsageError(
            f"step {step.index} needs {', '.join(need.shown for need in missing)} and this is not a terminal "
            f"to ask on: give {'it' if len(missing) == 1 else 'them'} with {sets}"
        )
    for need in missing:
        try:
            given[need.key] = input(f"value for {need.shown}: ")
        except EOFError:
            raise UsageError(f"no value for {need.shown}: nothing was run") from None
    return given


def _run(args: argparse.Namespace) -> int:
    terminal = sys.stdin.isatty()
    with open_room(args) as room:
        runbook = _find(load_runbooks(room.config.runbooks_dir), args.name, room.config.runbooks_dir)
        step = runbook.step(int(args.step)) if args.step.isdigit() else None
        if step is None:
            raise UsageError(
                f"{runbook.name} has no step {args.step!r}; its steps are 1 to {len(runbook.steps)} "
                f"(`warroom runbook show {runbook.name}`)"
            )
        incident = incident_meant(room, args)
        if step.manual:
            if not args.yes and not terminal:
                raise UsageError(f"not a terminal to ask on: add --yes to tick step {step.index} as done")
            if not args.yes and not _ask(f"Step {step.index} is done by hand: {clean(step.title)}. Tick it as done?"):
                print("not ticked")
                return 0
            room.log(incident, tick_text(step), "action", source=tick_source(runbook.name, step))
            print(f"ticked step {step.index} of {runbook.name} on {incident.short_id}")
            return 0
        fields = incident_fields(incident)
        values = _values(args.set)
        missing = [need for need in needs(step, os.environ, fields) if need.key not in values]
        values = _ask_values(missing, step, values, terminal)
        prepared = prepare(step, os.environ, fields, values)
        print(f"step {step.index} of {runbook.name}, in {room.config.root}:\n  $ {clean(prepared.command)}")
        for name, _value in prepared.given:
            print(f"  with ${{{name}}} set for this run only")
        if not args.yes:
            if not terminal:
                raise UsageError(f"not a terminal to ask on: add --yes to run step {step.index}")
            if not _ask("Run it?"):
                print("not run")
                return 0
        code, output = _execute(
            prepared.argv, prepared.env, room.config.root, (*room.config.secrets, *prepared.secrets)
        )
        room.record_command(incident, prepared.command, code, output, runbook=runbook.name)
        print(f"{runbook.name} #{step.index}: {exit_words(code)}; on {incident.short_id}'s timeline")
        return 0 if code == 0 else 1


def _execute(argv: list[str], env: dict[str, str], cwd: Path, secrets: tuple[str, ...]) -> tuple[int, str]:
    """Run, printing each line made inert and redacted; -> exit status (negative: a signal)
    and the tail of the output for the record. Ctrl-C stops the step, not the recording."""
    from warroom.text.sanitize import sanitize

    lines: deque[str] = deque(maxlen=2000)
    stopped = False
    with subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as child:
        assert child.stdout is not None
        try:
            for raw in child.stdout:
                line = sanitize(raw.rstrip(b"\r\n"), limit=2000, secrets=secrets)
                lines.append(line)
                print(line, flush=True)
            code = child.wait()
        except KeyboardInterrupt:
            stopped = True
            child.terminate()
            code = child.wait()
    return code, output_tail(lines, stopped=stopped)
