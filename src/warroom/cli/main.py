"""The warroom command: thin calls into the core. No logic of its own.

User mistakes print one line on stderr and exit 2; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

from warroom import config as config_mod
from warroom.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, UsageError, WarroomError
from warroom.record.room import Room


def _clean(text: str) -> str:
    """Record text may come from another machine: inert before it reaches the terminal. Long
    enough for the longest entry the record takes (a pasted stack trace)."""
    from warroom.text.sanitize import sanitize

    return sanitize(text, limit=70_000, multiline=True)


def _room(args: argparse.Namespace) -> Room:
    config = None
    if args.dir:
        config = Path(args.dir) / config_mod.CONFIG_NAME
        if not config.is_file():
            raise UsageError(f"{config}: no such file; is {args.dir} a war room? (`warroom init {args.dir}`)")
    room = Room.open(config, db=args.db)
    # What git brought and could not be taken in (a damaged warroom.db): said, never fatal.
    _NOTES.extend(_clean(note) for note in room.notes)
    room.notes.clear()
    return room


def _incident(room: Room, args: argparse.Namespace, say: bool = True, latest: bool = False):
    """--incident, else the one open incident; with `latest`, else the last declared one
    (closing, post-mortem fields and action items come after resolution)."""
    ref = getattr(args, "incident", None)
    incident = room.latest() if latest and not ref else room.incident(ref)
    if say and not getattr(args, "incident", None):
        # Said once the command has worked: a failure prints its one error line only.
        _NOTES.append(f"on {incident.short_id} ({_clean(incident.title)})")
    return incident


_NOTES: list[str] = []


# --- commands ----------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from warroom.share.setup import init

    folder = Path(args.folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: is a file, not a folder; give a new or empty folder to `warroom init`")
    try:
        init(folder)
    except OSError as exc:
        raise UsageError(f"{exc.filename or folder}: cannot create the war room there ({exc.strerror or exc}); "
                         f"choose a folder you can write to") from None
    try:
        from warroom.share.git import git_setup, is_git_repo

        if is_git_repo(folder):
            git_setup(folder)
    except ImportError:
        pass
    print(f"war room created in {folder}: warroom.toml, warroom.db, runbooks/, templates/, .gitattributes")
    print(f"next: cd {folder} && warroom declare \"What is broken\" --severity P1")
    return 0


def cmd_declare(args: argparse.Namespace) -> int:
    with _room(args) as room:
        detected = room.at(args.detected, option="--detected")
        started = room.at(args.started, option="--started")
        event = room.declare(args.title, args.severity, args.impact or "", args.ic or "", detected_at=detected,
                             at=room.at(args.at))
        if started:
            room.set_field(room.head(event.id), "impact_started_at", _iso(started))
        incident = room.head(event.id)
        print(f"declared {incident.short_id}: {incident.severity} {_clean(incident.title)}; "
              f"IC {_clean(incident.holder('Incident Commander'))}")
    return 0


def _iso(at) -> str:
    from warroom.record.events import format_time

    return format_time(at)


def cmd_log(args: argparse.Namespace) -> int:
    with _room(args) as room:
        incident = _incident(room, args)
        event = room.log(incident, " ".join(args.text), args.kind, room.at(args.at, incident))
        print(f"logged {event.id[:8]} at {event.at[11:16]} UTC")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    with _room(args) as room:
        room.edit(args.entry, " ".join(args.text), args.kind)
        print(f"edited {args.entry}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with _room(args) as room:
        room.delete(args.entry, restore=args.restore)
        print(f"{'restored' if args.restore else 'deleted'} {args.entry} (the history keeps it)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with _room(args) as room:
        incident = _incident(room, args, latest=True)
        room.set_status(incident, args.status, at=room.at(args.at, incident))
        print(f"{incident.short_id} is now {args.status.lower()}")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    with _room(args) as room:
        incident = _incident(room, args)
        room.acknowledge(incident, room.at(args.at, incident))
        print(f"{incident.short_id} acknowledged")
    return 0


def cmd_severity(args: argparse.Namespace) -> int:
    with _room(args) as room:
        incident = _incident(room, args, latest=True)
        room.set_severity(incident, args.severity)
        print(f"{incident.short_id} is now {room.severity_id(args.severity)}")
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    with _room(args) as room:
        incident = _incident(room, args, latest=True)
        room.set_field(incident, args.field.replace("-", "_"), " ".join(args.value))
        print(f"{incident.short_id}: {args.field} set")
    return 0


def cmd_role(args: argparse.Namespace) -> int:
    with _room(args) as room:
        incident = _incident(room, args)
        room.assign(incident, args.role, args.person)
        print(f"{incident.short_id}: {room.config.role_name(args.role)} is {args.person}")
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from warroom.playbook import templates

    with _room(args) as room:
        incident = room.recent(_incident(room, args).id)
        name = args.template or templates.for_phase(incident.status)
        if args.template and name.endswith(".md"):  # the file's name works as well as the template's
            name = name[:-3]
        if not args.text and name not in templates.available(room.config):
            raise UsageError(f"--template {args.template}: no such template; use one of "
                             f"{', '.join(templates.available(room.config))} (in {room.config.templates_dir})")
        try:
            text = " ".join(args.text) if args.text else templates.render(
                name, incident, room.config, room.clock.now(), room.store.author)
        except OSError as exc:
            raise UsageError(f"--template {name}: cannot read ({exc.strerror or exc})") from None
        if args.dry_run:
            print(_clean(text), end="")
            return 0
        room.post_update(incident, text, template=name)
        print(f"{incident.short_id}: update recorded ({name}); the countdown restarts")
    return 0


def cmd_action(args: argparse.Namespace) -> int:
    with _room(args) as room:
        if args.action_command == "add":
            incident = _incident(room, args, latest=True)
            event = room.add_action(incident, " ".join(args.text), args.owner or "", args.due or "", args.priority)
            print(f"action item {event.id[:8]} added to {incident.short_id}")
        elif args.action_command == "done":
            room.action_done(args.id)
            print(f"action item {args.id} done")
        else:
            for summary in room.summaries():
                incident = room.head(summary.id)
                for item in incident.actions:
                    if item.done and not args.all:
                        continue
                    print(f"{item.id[:8]}  {incident.short_id}  {'done' if item.done else 'open':4}  "
                          f"{item.priority:6}  {_clean(item.owner or '-'):12}  {item.due or '-':10}  "
                          f"{_clean(item.text)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _room(args) as room:
        incidents = room.summaries()
        if not incidents:
            print("no incidents yet; `warroom declare TITLE --severity ...` starts one")
        lines = [f"{incident.short_id:10} {_clean(incident.severity):5} {incident.status:13} "
                 f"{incident.declared_at[:16].replace('T', ' ')}  {_clean(incident.title)}"
                 for incident in incidents if incident.open or not args.open]
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
        _report_quarantine(room)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _room(args) as room:
        found = room.incident(args.incident, open_only=False) if args.incident else room.latest()
        incident = room.full(found.id)
        level = room.config.severity.level(incident.severity)
        print(f"{incident.short_id}  {_clean(incident.title)}")
        print(f"severity {incident.severity}{' (' + level.label + ')' if level else ''}, "
              f"status {incident.status}, declared {incident.declared_at[:16].replace('T', ' ')} UTC")
        if incident.impact:
            print(f"impact: {_clean(incident.impact)}")
        print("roles: " + ", ".join(f"{name} {_clean(role.person) or '(unassigned)'}"
                                     for name, role in incident.roles.items()))
        print()
        today = room.clock.now().strftime("%Y-%m-%d")
        for entry in incident.timeline:
            marker = "*" if entry.auto else " "
            when = entry.at[11:19] if entry.at[:10] == today else f"{entry.at[5:10]} {entry.at[11:16]}"
            text = _clean(entry.text).replace("\n", "\n" + " " * 37)
            print(f"{when:11} {entry.id[:8]} {marker}{entry.type:8} {_clean(entry.author)[:10]:10} {text}")
        _report_quarantine(room)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from warroom.playbook import export

    with _room(args) as room:
        found = room.incident(args.incident, open_only=False) if args.incident else room.latest()
        incident = room.full(found.id)
        template = None
        if args.template:
            try:
                template = Path(args.template).read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"--template {args.template}: cannot read ({exc.strerror or exc})") from None
            except (UnicodeDecodeError, ValueError):
                raise UsageError(f"--template {args.template}: not a UTF-8 text file") from None
        text = export.postmortem(incident, room.config, room.clock.now(), template)
        if args.out == "-":
            sys.stdout.write(text)
            return 0
        out = Path(args.out) if args.out else export.default_export_path(incident, room.config)
        if args.out:
            _check_out(args.out, out, f"{incident.short_id}-postmortem.md")
        try:
            export.write_atomic(out, text)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR,
                             errno.ENOENT, errno.ENAMETOOLONG):
                raise UsageError(f"--out {out}: cannot write there ({exc.strerror}); "
                                 f"choose another file with --out") from None
            # a full disk, an I/O error: not the user's mistake, and nothing half-written is left
            print(f"warroom: {out}: could not write the post-mortem ({exc.strerror or exc}); nothing was "
                  f"written. Free some space, or give --out elsewhere (--out - prints it).", file=sys.stderr)
            return 1
        print(f"post-mortem for {incident.short_id} written to {out}")
    return 0


def _check_out(given: str, out: Path, example: str) -> None:
    """--out names a file in a folder that exists: never a folder, never a new folder."""
    if "\x00" in given:
        raise UsageError(f"--out {given!r}: not a usable file name")
    if out.is_dir():
        raise UsageError(f"--out {given}: is a folder; give a file name, e.g. --out {out / example}")
    if out.exists() and not out.is_file():  # /dev/null, a pipe: renaming over it would replace it
        raise UsageError(f"--out {given}: not a regular file; give a file name, or --out - to print it")
    if not out.parent.is_dir():
        raise UsageError(f"--out {given}: the folder {out.parent} does not exist; create it or choose another")


def cmd_report(args: argparse.Namespace) -> int:
    from warroom.playbook import export

    with _room(args) as room:
        sys.stdout.write(export.report(room.heads(), room.config))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import asyncio

    from warroom.sources import health

    with _room(args) as room:
        if not room.config.checks:
            print("no [[check]] in warroom.toml; nothing to run")
            return 0
        results = asyncio.run(health.check_all(room.config.checks, room.clock, room.config.secrets,
                                              cwd=str(room.config.root)))
        print(health.format_table(results))
        # a disabled check (a ${VAR} it needs is unset) is not a passing one
        return 1 if any(r.state in ("down", "disabled") for r in results) else 0


def cmd_console(args: argparse.Namespace) -> int:
    from warroom.ui import startup

    startup.pause_collector()  # until the first frame: see ui/startup.py
    from warroom.ui.factory import run_console

    room = _room(args)
    return run_console(room, offline=args.offline)


def cmd_demo(args: argparse.Namespace) -> int:
    from warroom.demo.run import run_demo

    return run_demo(keep=args.keep)


def _report_quarantine(room: Room) -> None:
    found = room.store.quarantine()
    if found:
        print(_clean(f"warning: {len(found)} incoming event(s) quarantined and ignored "
                     f"(first: {found[0][2]}); `warroom quarantine` lists them"), file=sys.stderr)


def cmd_quarantine(args: argparse.Namespace) -> int:
    with _room(args) as room:
        found = room.store.quarantine()
        if not found:
            print("nothing quarantined: every event that came in was taken in")
        for event_id, source, reason in found:
            print(_clean(f"{event_id[:36]:36}  {source[:40]:40}  {reason}"))
    return 0


# --- sharing --------------------------------------------------------------------------


def cmd_sync(args: argparse.Namespace) -> int:
    from warroom.errors import SyncError
    from warroom.share.sync import sync

    with _room(args) as room:
        try:
            report = sync(room, push=not args.no_push, dry_run=args.dry_run, remote=args.remote)
        except SyncError as exc:
            print(_clean(f"warroom: {exc}"), file=sys.stderr)
            return 1
        for line in report.lines():
            print(_clean(line))
        return 1 if report.offline else 0


def cmd_merge(args: argparse.Namespace) -> int:
    from warroom.share.exchange import merge_files

    added, refused = merge_files(Path(args.ours), Path(args.theirs))
    if added or refused:
        text = f"warroom merge: {added} new event(s)"
        if refused:
            text += f", {len(refused)} refused (first: {refused[0].id[:36]}: {refused[0].reason})"
        print(_clean(text), file=sys.stderr)
    return 0


def cmd_dump(args: argparse.Namespace) -> int:
    from warroom.share.dump import dump

    if args.file:
        path = Path(args.file)
    else:
        with _room(args) as room:
            path = room.store.path
    out = sys.stdout.buffer
    batch: list[str] = []
    for line in dump(path):
        batch.append(line)
        if len(batch) >= 2000:
            out.write(("\n".join(batch) + "\n").encode("utf-8", "replace"))
            batch.clear()
    if batch:
        out.write(("\n".join(batch) + "\n").encode("utf-8", "replace"))
    out.flush()
    return 0


def cmd_git_setup(args: argparse.Namespace) -> int:
    from warroom.errors import SyncError
    from warroom.share.git import git_setup, is_git_repo

    try:
        with _room(args) as room:
            folder, name = room.config.root, room.exchange.name
    except UsageError:
        folder, name = Path.cwd(), "warroom.db"
    if not is_git_repo(folder):
        raise UsageError(f"{folder}: not a git repository; run `git init` (or clone the team's war room) first")
    try:
        changed = git_setup(folder, name)
    except SyncError as exc:
        raise UsageError(str(exc)) from None
    print(f"git set up in {folder}: " + (", ".join(changed) if changed else "already up to date")
          + f"; {name} merges as a union and diffs as text")
    return 0


# --- the parser ----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warroom", description="A terminal war room for production incidents.")
    parser.add_argument("--dir", help="the war room folder (default: nearest folder with warroom.toml)")
    parser.add_argument("--db", help="the shared copy to read (default: the war room's warroom.db)")
    parser.add_argument("--offline", action="store_true",
                        help="the console does not sync in the background (it does when the war room has a remote)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func, help: str, incident: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        if incident:
            p.add_argument("--incident", "-I", help="incident id (default: the one open incident)")
        return p

    p = add("init", cmd_init, "create a war room folder")
    p.add_argument("folder", nargs="?", default=".")
    p = add("declare", cmd_declare, "declare an incident")
    p.add_argument("title")
    p.add_argument("--severity", "-s", required=True)
    p.add_argument("--impact", default="")
    p.add_argument("--ic", help="incident commander (default: you)")
    p.add_argument("--detected", help="when it was detected (HH:MM or ISO)")
    p.add_argument("--started", help="when the impact started (HH:MM or ISO)")
    p.add_argument("--at", help="when it was declared (default: now)")
    p = add("log", cmd_log, "log a timeline entry", incident=True)
    p.add_argument("text", nargs="+")
    p.add_argument("--kind", "-k", default="note", choices=["note", "action", "decision", "finding"])
    p.add_argument("--at", help="backdate: HH:MM (today, local time) or an ISO time")
    p = add("edit", cmd_edit, "edit a timeline entry (the old text stays in its history)")
    p.add_argument("entry")
    p.add_argument("text", nargs="+")
    p.add_argument("--kind", "-k", choices=["note", "action", "decision", "finding"])
    p = add("delete", cmd_delete, "delete a timeline entry (recorded; can be restored)")
    p.add_argument("entry")
    p.add_argument("--restore", action="store_true", help="undo a deletion")
    p = add("status", cmd_status, "set the status: investigating, identified, monitoring, resolved, closed",
            incident=True)
    p.add_argument("status")
    p.add_argument("--at")
    p = add("ack", cmd_ack, "record that the incident was acknowledged", incident=True)
    p.add_argument("--at")
    p = add("severity", cmd_severity, "change the severity", incident=True)
    p.add_argument("severity")
    p = add("set", cmd_set, "set a field: root_cause, resolution, eta, impact, affected_users, went_well, "
                            "could_improve, lessons, runbook, title", incident=True)
    p.add_argument("field")
    p.add_argument("value", nargs="+")
    p = add("role", cmd_role, "assign or hand over a role (ic, tl, comms, scribe, or a configured role)",
            incident=True)
    p.add_argument("role")
    p.add_argument("person")
    p = add("update", cmd_update, "record a status update (default text: the template for the phase)",
            incident=True)
    p.add_argument("text", nargs="*")
    p.add_argument("--template", "-t")
    p.add_argument("--dry-run", action="store_true", help="print the filled template, record nothing")
    p = add("action", cmd_action, "action items: add, done, list")
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
    p = add("list", cmd_list, "list incidents")
    p.add_argument("--open", action="store_true")
    p = add("show", cmd_show, "show an incident and its timeline")
    p.add_argument("incident", nargs="?")
    p = add("export", cmd_export, "write the post-mortem (markdown)")
    p.add_argument("--incident", "-I")
    p.add_argument("--out", "-o", help="output file, or - for stdout (default: exports/INC-xxxx-postmortem.md)")
    p.add_argument("--template", help="a post-mortem template of your own ({{placeholders}})")
    add("report", cmd_report, "incident log and MTTA / MTTR / MTTD by severity")
    add("check", cmd_check, "run every health check once and print a table (exit 1 if any is down)")
    p = add("demo", cmd_demo, "open the console on a demo war room (a temporary copy)")
    p.add_argument("--keep", action="store_true", help="keep the temporary war room and print where")
    add("console", cmd_console, "open the console (the default)")
    add("quarantine", cmd_quarantine, "list the incoming events that were not taken in, and why")
    p = add("sync", cmd_sync,
            "take in everyone's copies, publish yours, update the branch; prints what came in and went out")
    p.description = ("Fetch every copy's ref and take in their events (a union: nothing is ever removed or "
                     "changed), publish this copy's record on its own ref (so pushes never race), then commit, "
                     "merge and push the branch, best effort. Exit 1 when the remote cannot be reached: "
                     "nothing is lost, the next sync sends it.")
    p.add_argument("--no-push", action="store_true", help="take in and commit, but send nothing")
    p.add_argument("--dry-run", action="store_true", help="show what would be committed, received and sent")
    p.add_argument("--remote", default="origin", help="the git remote (default: origin)")
    p = add("git-setup", cmd_git_setup, "register warroom's merge driver and textconv in this clone")
    p.description = ("Write .gitattributes and .gitignore lines and register `warroom merge` and `warroom dump` "
                     "in this repository's git config. Idempotent.")
    p = add("merge", cmd_merge, "git merge driver: write into OURS the union of OURS and THEIRS")
    p.description = ("Merge two warroom databases: OURS becomes the union of their events. "
                     "Used by git as `warroom merge %%O %%A %%B`.")
    p.add_argument("base")
    p.add_argument("ours")
    p.add_argument("theirs")
    p = add("dump", cmd_dump, "print the record as canonical text, one line per event")
    p.description = ("Print a warroom database as canonical JSON lines, sorted by (hlc, author, id): "
                     "git's textconv for warroom.db.")
    p.add_argument("file", nargs="?", help="the database (default: this war room's)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args.func = cmd_console
    if args.command == "action" and not getattr(args, "action_command", None):
        args.action_command = "list"
        args.all = False
    _NOTES.clear()  # main() may run more than once in a process (tests, the console)
    try:
        code = args.func(args) or 0
        for note in _NOTES:
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
        print(f"warroom: internal error: {exc!r}. Nothing was half-written (every entry is one "
              f"transaction). Run with WARROOM_DEBUG=1 for the traceback and report it.", file=sys.stderr)
        return EXIT_INTERNAL
