"""The warroom command: thin calls into the core. No logic of its own.

User mistakes print one line on stderr and exit 2; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module
from typing import Any

from warroom.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, WarroomError

# --- the parser ----------------------------------------------------------------


class _Skipped:
    """Stands in for the parser of a subcommand that was not asked for: every call is taken
    and does nothing (see build_parser's `only`)."""

    description = ""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `only`, the parser of that subcommand alone (argparse builds a
    parser per subcommand, a fifth of `warroom log`'s time: a command line names its one)."""
    names: list[str] = []
    parser = argparse.ArgumentParser(prog="warroom", description="A terminal war room for production incidents.")
    parser.add_argument("--dir", help="the war room folder (default: nearest folder with warroom.toml)")
    parser.add_argument("--db", help="the shared copy to read (default: the war room's warroom.db)")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="the console does not sync in the background (it does when the war room has a remote)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: str, help: str, incident: bool = False) -> Any:
        names.append(name)
        if only is not None and name != only:
            return _Skipped()
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)  # "module.function" in warroom.cli, imported only when it runs
        if incident:
            p.add_argument("--incident", "-I", help="incident id (default: the newest one not closed)")
        return p

    p = add("init", "commands.cmd_init", "create a war room folder")
    p.add_argument("folder", nargs="?", default=".")
    p.add_argument("--profile", default="P1-P4", help="the severity profile to start from (`warroom profile list`)")
    p = add("declare", "commands.cmd_declare", "declare an incident")
    p.add_argument("title")
    p.add_argument("--severity", "-s", required=True)
    p.add_argument("--impact", default="")
    p.add_argument("--ic", help="incident commander (default: you)")
    p.add_argument("--detected", help="when it was detected (HH:MM or ISO)")
    p.add_argument("--started", help="when the impact started (HH:MM or ISO)")
    p.add_argument("--at", help="when it was declared (default: now)")
    p = add("log", "commands.cmd_log", "log a timeline entry", incident=True)
    p.add_argument("text", nargs="+")
    p.add_argument("--kind", "-k", default="note", choices=["note", "action", "decision", "finding"])
    p.add_argument("--at", help="backdate: HH:MM (today, local time) or an ISO time")
    p = add("edit", "commands.cmd_edit", "edit a timeline entry (the old text stays in its history)")
    p.add_argument("entry")
    p.add_argument("text", nargs="+")
    p.add_argument("--kind", "-k", choices=["note", "action", "decision", "finding"])
    p = add("delete", "commands.cmd_delete", "delete a timeline entry (recorded; can be restored)")
    p.add_argument("entry")
    p.add_argument("--restore", action="store_true", help="undo a deletion")
    p = add(
        "status",
        "lifecycle.cmd_status",
        "set the status: investigating, identified, monitoring, resolved, closed",
        incident=True,
    )
    p.add_argument("status")
    p.add_argument("--at")
    p.add_argument(
        "--checked",
        metavar="N,N",
        help="closing: the checklist items ticked, by number (default: asked on a terminal; the rest are skipped)",
    )
    p = add(
        "escalate",
        "lifecycle.cmd_escalate",
        "record who was called in (no name: list the escalation path)",
        incident=True,
    )
    p.add_argument("to", nargs="*", help="the rung or person called in")
    p = add("profile", "lifecycle.cmd_profile", "the bundled severity profiles: list, show NAME (as TOML)")
    profile_sub = p.add_subparsers(dest="profile_command", metavar="list|show")
    profile_sub.add_parser("list", help="the bundled profiles and their levels")
    a = profile_sub.add_parser("show", help="print a bundled profile as TOML, to start your own from")
    a.add_argument("name")
    p = add("ack", "commands.cmd_ack", "record that the incident was acknowledged", incident=True)
    p.add_argument("--at")
    p = add("severity", "commands.cmd_severity", "change the severity", incident=True)
    p.add_argument("severity")
    p = add(
        "set",
        "commands.cmd_set",
        "set a field: summary, detection, users_affected, requests_failed, business_impact, root_cause, "
        "contributing_factors (one per call, adds to the list), resolution, prevention, went_well, "
        "could_improve, lessons, workaround, next_steps, help_needed, eta, impact, runbook, title",
        incident=True,
    )
    p.add_argument("field")
    p.add_argument("value", nargs="+", help='the text; "-" reads it from standard input (a stack trace)')
    p = add(
        "role",
        "commands.cmd_role",
        "assign or hand over a role (ic, tl, comms, scribe, or a configured role)",
        incident=True,
    )
    p.add_argument("role")
    p.add_argument("person")
    p = add(
        "update",
        "commands.cmd_update",
        "record a status update (default text: the template for the phase)",
        incident=True,
    )
    p.add_argument("text", nargs="*")
    p.add_argument("--template", "-t")
    p.add_argument("--dry-run", action="store_true", help="print the filled template, record nothing")
    p = add(
        "handoff",
        "commands.cmd_handoff",
        "print the on-call handoff message: incidents, open action items, watch items",
    )
    p.add_argument("--since", default="7d", help="how far back to look (default 7d; 12h, 14d, ...)")
    p = add("action", "commands.cmd_action", "action items: add, done, list")
    action_sub = p.add_subparsers(dest="action_command", metavar="add|done|list")
    a = action_sub.add_parser("add", help="add an action item")
    a.add_argument("text", nargs="+")
    a.add_argument("--owner", default="")
    a.add_argument("--due", default="", help="a date like 2026-12-01")
    a.add_argument("--priority", default="medium", choices=["high", "medium", "low"])
    a.add_argument("--incident", "-I")
    a = action_sub.add_parser("done", help="mark an action item done")
    a.add_argument("id")
    a = action_sub.add_parser("list", help="list open action items")
    a.add_argument("--all", action="store_true", help="include done items")
    p = add("list", "commands.cmd_list", "list incidents")
    p.add_argument("--open", action="store_true")
    p = add("show", "commands.cmd_show", "show an incident and its timeline")
    p.add_argument("incident", nargs="?")
    p = add("export", "commands.cmd_export", "write the post-mortem (markdown), or the record as JSON (--format json)")
    p.add_argument("--incident", "-I")
    p.add_argument("--out", "-o", help="output file, or - for stdout (default: exports/INC-xxxx-postmortem.md)")
    p.add_argument("--template", help="a post-mortem template of your own ({{placeholders}})")
    p.add_argument("--format", choices=["markdown", "json"], default="markdown")
    p.add_argument("--all", action="store_true", help="every incident (JSON only)")
    p.add_argument("--tz", help="the reader's time zone beside UTC, e.g. Europe/Berlin (default: this machine's)")
    p.add_argument("--no-diagrams", action="store_true", help="leave the timeline's Mermaid diagram out")
    p = add("runbook", "runbook.cmd_runbook", "runbooks: list, show NAME (numbered steps), run NAME STEP")
    runbook_sub = p.add_subparsers(dest="runbook_command", metavar="list|show|run")
    runbook_sub.add_parser("list", help="the war room's runbooks and how many steps each has")
    a = runbook_sub.add_parser("show", help="a runbook's numbered steps (the ones done by hand marked)")
    a.add_argument("name")
    a = runbook_sub.add_parser("run", help="run one step (asks first), or tick a step done by hand")
    a.add_argument("name")
    a.add_argument("step", help="the step's number, as `show` prints it")
    a.add_argument("--yes", "-y", action="store_true", help="do not ask before running")
    a.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a placeholder's value: <ID> is ID")
    a.add_argument("--incident", "-I", help="incident id (default: the one open incident)")
    p = add(
        "statuspage",
        "statuspage.cmd_statuspage",
        "write the public status page (HTML, Atom, status API JSON) from the record",
    )
    page_sub = p.add_subparsers(dest="statuspage_command", metavar="build", required=True)
    a = page_sub.add_parser(
        "build",
        help="build the static site into a folder",
        description=(
            "Write index.html, history.atom and api/v2/{summary,status}.json into FOLDER, whole or not at "
            "all. Only updates posted with the status-page templates (statuspage-*) or the all-clear are "
            "published. Serve the folder with any static host or `python -m http.server --directory FOLDER`."
        ),
    )
    a.add_argument("folder", help="where the site goes (a new or empty folder, or one built before)")
    a.add_argument("--watch", action="store_true", help="build again each time the record changes (Ctrl-C stops)")
    a.add_argument("--title", default="Service status", help="the page's name (default: 'Service status')")
    a.add_argument("--url", default="", help="where the page is published (absolute links in the feed and JSON)")
    add("schema", "commands.cmd_schema", "print the JSON Schema that `export --format json` follows")
    p = add(
        "report", "commands.cmd_report", "incident log; MTTA / MTTR / MTTD (mean, median, p90) by severity or month"
    )
    p.add_argument("--by", choices=["severity", "month"], default="severity", help="group the metrics by")
    add("check", "commands.cmd_check", "run every health check once and print a table (exit 1 if any is down)")
    p = add("demo", "commands.cmd_demo", "open the console on a demo war room (a temporary copy)")
    p.add_argument("--keep", action="store_true", help="keep the temporary war room and print where")
    add("console", "commands.cmd_console", "open the console (the default)")
    add("quarantine", "commands.cmd_quarantine", "list the incoming events that were not taken in, and why")
    p = add(
        "sync",
        "sharing.cmd_sync",
        "take in everyone's copies, publish yours, update the branch; prints what came in and went out",
    )
    p.description = (
        "Fetch every copy's ref and take in their events (a union: nothing is ever removed or "
        "changed), publish this copy's record on its own ref (so pushes never race), then commit, "
        "merge and push the branch, best effort. Exit 1 when the remote cannot be reached: "
        "nothing is lost, the next sync sends it."
    )
    p.add_argument("--no-push", action="store_true", help="take in and commit, but send nothing")
    p.add_argument("--dry-run", action="store_true", help="show what would be committed, received and sent")
    p.add_argument("--remote", default="origin", help="the git remote (default: origin)")
    p = add("git-setup", "sharing.cmd_git_setup", "register warroom's merge driver and textconv in this clone")
    p.description = (
        "Write .gitattributes and .gitignore lines and register `warroom merge` and `warroom dump` "
        "in this repository's git config. Idempotent."
    )
    p = add("merge", "sharing.cmd_merge", "git merge driver: write into OURS the union of OURS and THEIRS")
    p.description = (
        "Merge two warroom databases: OURS becomes the union of their events. "
        "Used by git as `warroom merge %%O %%A %%B`."
    )
    p.add_argument("base")
    p.add_argument("ours")
    p.add_argument("theirs")
    p = add("dump", "sharing.cmd_dump", "print the record as canonical text, one line per event")
    p.description = (
        "Print a warroom database as canonical JSON lines, sorted by (hlc, author, id): git's textconv for warroom.db."
    )
    p.add_argument("file", nargs="?", help="the database (default: this war room's)")
    if only is not None and only not in names:
        return build_parser()  # not a command: the whole parser says so, listing them
    return parser


def _command_named(argv: list[str]) -> str | None:
    """The subcommand a command line names: its first word that is not an option (or an
    option's value: --dir and --db take one)."""
    words = iter(argv)
    for word in words:
        if word in ("--dir", "--db"):
            next(words, None)
        elif word.startswith("-"):
            if word in ("-h", "--help"):
                return None
        else:
            return word
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(only=_command_named(argv))
    args = parser.parse_args(argv)
    if args.command is None:
        args.func = "commands.cmd_console"
    if args.command == "profile" and not getattr(args, "profile_command", None):
        args.profile_command = "list"
    if args.command == "action" and not getattr(args, "action_command", None):
        args.action_command = "list"
        args.all = False
    from warroom.cli.common import NOTES  # after parsing: `--help` and usage errors need none of it

    NOTES.clear()  # main() may run more than once in a process (tests, the console)
    try:
        module, function = args.func.split(".")
        code = getattr(import_module(f"warroom.cli.{module}"), function)(args) or 0
        for note in NOTES if code == 0 else ():  # a failure says its one line, nothing more
            print(note, file=sys.stderr)
        return code
    except WarroomError as exc:  # the user's mistake (2) or what could not be done (1): errors.py
        print(f"warroom: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug, not the user's mistake: one line, the record untouched
        if os.environ.get("WARROOM_DEBUG"):
            raise
        print(
            f"warroom: internal error: {exc!r}. Nothing was half-written (every entry is one "
            f"transaction). Run with WARROOM_DEBUG=1 for the traceback and report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
