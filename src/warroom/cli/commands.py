"""The record's subcommands: declaring and working an incident, listing and showing,
exporting and reporting, checks, the console and the demo. Each is thin: it parses, asks
the core, prints."""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from warroom.cli.common import clean, incident_meant, open_room, whole_incident
from warroom.errors import UsageError
from warroom.record.model import Incident
from warroom.record.room import Room

# --- commands ----------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from warroom.share.setup import init

    folder = Path(args.folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: is a file, not a folder; give a new or empty folder to `warroom init`")
    try:
        init(folder, args.profile)
    except OSError as exc:
        raise UsageError(
            f"{exc.filename or folder}: cannot create the war room there ({exc.strerror or exc}); "
            f"choose a folder you can write to"
        ) from None
    try:
        from warroom.share.git import git_setup, is_git_repo

        if is_git_repo(folder):
            git_setup(folder)
    except ImportError:
        pass
    print(f"war room created in {folder}: warroom.toml, warroom.db, runbooks/, templates/, .gitattributes")
    from warroom.config import load_profile
    from warroom.paths import DATA_DIR

    profile = load_profile(args.profile, DATA_DIR)
    top = profile.ids[0]
    print(f"severity profile {profile.name}; warroom.toml holds a commented example of every key")
    print(f'next: cd {folder} && warroom declare "What is broken" --severity {top}')
    return 0


def cmd_declare(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        detected = room.at(args.detected, option="--detected")
        started = room.at(args.started, option="--started")
        event = room.declare(
            args.title, args.severity, args.impact or "", args.ic or "", detected_at=detected, at=room.at(args.at)
        )
        if started:
            room.set_field(room.head(event.id), "impact_started_at", _iso(started))
        incident = room.head(event.id)
        lead = room.config.lead_role
        print(
            f"declared {incident.short_id}: {incident.severity} {clean(incident.title)}; "
            f"{'IC' if lead == 'Incident Commander' else lead} {clean(incident.holder(lead))}"
        )
        _say_targets(room, incident.severity)
    return 0


def _say_targets(room: Room, severity: str) -> None:
    from warroom.profiles import notify_line, targets_line

    level = room.config.severity.level(severity)
    if level is not None:
        rungs = [(rung.after, rung.to) for rung in room.config.escalation_for(level.id)]
        print(f"{level.id} {clean(level.label)}: {clean(targets_line(level, rungs))}")
        if level.notify:
            print(clean(notify_line(level)))


def _iso(at) -> str:
    from warroom.record.events import format_time

    return format_time(at)


def cmd_log(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        incident = incident_meant(room, args)
        event = room.log(incident, " ".join(args.text), args.kind, room.at(args.at, incident))
        print(f"logged {event.id[:8]} at {event.at[11:16]} UTC")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        room.edit(args.entry, " ".join(args.text), args.kind)
        print(f"edited {args.entry}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        room.delete(args.entry, restore=args.restore)
        print(f"{'restored' if args.restore else 'deleted'} {args.entry} (the history keeps it)")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        incident = incident_meant(room, args)
        room.acknowledge(incident, room.at(args.at, incident))
        print(f"{incident.short_id} acknowledged")
    return 0


def cmd_severity(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        incident = incident_meant(room, args, latest=True)
        room.set_severity(incident, args.severity)
        print(f"{incident.short_id} is now {room.severity_id(args.severity)}")
        _say_targets(room, room.severity_id(args.severity))
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    from warroom.record.events import LIST_FIELDS

    name = args.field.replace("-", "_").lower()
    value = " ".join(args.value)
    if args.value == ["-"]:
        value = sys.stdin.read()
    with open_room(args) as room:
        incident = incident_meant(room, args, latest=True)
        room.set_field(incident, name, value)
        if name in LIST_FIELDS:
            count = len(room.head(incident.id).items(name))
            print(f"{incident.short_id}: {name} now holds {count} item{'s' if count != 1 else ''}")
        else:
            print(f"{incident.short_id}: {name} {'set' if value.strip() else 'cleared'}")
    return 0


def cmd_role(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        incident = incident_meant(room, args)
        room.assign(incident, args.role, args.person)
        print(f"{incident.short_id}: {room.config.role_name(args.role)} is {args.person}")
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from warroom.playbook import templates

    with open_room(args) as room:
        incident = room.recent(incident_meant(room, args).id)
        name = args.template or templates.for_phase(incident.status)
        if args.template and name.endswith(".md"):  # the file's name works as well as the template's
            name = name[:-3]
        if not args.text and name not in templates.available(room.config):
            raise UsageError(
                f"--template {args.template}: no such template; use one of "
                f"{', '.join(templates.available(room.config))} (in {room.config.templates_dir})"
            )
        try:
            text = (
                " ".join(args.text)
                if args.text
                else templates.render(name, incident, room.config, room.clock.now(), room.store.author)
            )
        except OSError as exc:
            raise UsageError(f"--template {name}: cannot read ({exc.strerror or exc})") from None
        missing = templates.unfilled(text)
        if missing:  # said before anything is recorded: a literal {{name}} must not go out unseen
            print(clean(f"warning: {templates.unfilled_hint(missing)}"), file=sys.stderr)
        if args.dry_run:
            print(clean(text), end="")
            return 0
        room.post_update(incident, text, template=name)
        print(f"{incident.short_id}: update recorded ({name}); the countdown restarts")
    return 0


def cmd_handoff(args: argparse.Namespace) -> int:
    from warroom.playbook.handoff import handoff
    from warroom.toml_reader import parse_duration

    try:
        since = parse_duration(args.since)
    except ValueError as exc:
        raise UsageError(f"--since {args.since}: {exc}") from None
    if not 0 < since <= 366 * 86400:
        raise UsageError(f"--since {args.since}: give a span from 1m to 366d, like 7d")
    with open_room(args) as room:
        sys.stdout.write(clean(handoff(room.heads(), room.config, room.clock.now(), since)))
    return 0


def cmd_action(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        if args.action_command == "add":
            incident = incident_meant(room, args, latest=True)
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
                    print(
                        f"{item.id[:8]}  {incident.short_id}  {'done' if item.done else 'open':4}  "
                        f"{item.priority:6}  {clean(item.owner or '-'):12}  {item.due or '-':10}  "
                        f"{clean(item.text)}"
                    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        incidents = room.summaries()
        if not incidents:
            print("no incidents yet; `warroom declare TITLE --severity ...` starts one")
        lines = [
            f"{incident.short_id:10} {clean(incident.severity):5} {incident.status:13} "
            f"{incident.declared_at[:16].replace('T', ' ')}  {clean(incident.title)}"
            for incident in incidents
            if incident.open or not args.open
        ]
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
        _report_quarantine(room)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        incident = whole_incident(room, args)
        level = room.config.severity.level(incident.severity)
        print(f"{incident.short_id}  {clean(incident.title)}")
        print(
            f"severity {incident.severity}{' (' + level.label + ')' if level else ''}, "
            f"status {incident.status}, declared {incident.declared_at[:16].replace('T', ' ')} UTC"
        )
        if incident.impact:
            print(f"impact: {clean(incident.impact)}")
        print(
            "roles: "
            + ", ".join(f"{name} {clean(role.person) or '(unassigned)'}" for name, role in incident.roles.items())
        )
        _show_written(incident)
        for contact in room.config.contacts:
            print(clean(f"contact: {contact.role}: {contact.name}" + (f", {contact.reach}" if contact.reach else "")))
        print()
        today = room.clock.now().strftime("%Y-%m-%d")
        for entry in incident.timeline:
            marker = "*" if entry.auto else " "
            when = entry.at[11:19] if entry.at[:10] == today else f"{entry.at[5:10]} {entry.at[11:16]}"
            text = clean(entry.text).replace("\n", "\n" + " " * 37)
            print(f"{when:11} {entry.id[:8]} {marker}{entry.type:8} {clean(entry.author)[:10]:10} {text}")
        _report_quarantine(room)
    return 0


def _show_written(incident: Incident) -> None:
    """The written fields (record/writeup.py) that hold something, then the post-mortem
    sections still to write: `show` tells the scribe what is left."""
    from warroom.record.writeup import POSTMORTEM_FIELDS, WRITTEN_FIELDS

    for written in WRITTEN_FIELDS:
        lines = [f"- {item}" for item in incident.items(written.name)] if written.is_list else []
        value = "\n".join(lines) if written.is_list else incident.field(written.name)
        if not value.strip():
            continue
        text = clean(value)
        if "\n" in text or written.is_list:
            print(f"{written.label.lower()}:\n  " + text.replace("\n", "\n  "))
        else:
            print(f"{written.label.lower()}: {text}")
    missing = [
        w.name for w in POSTMORTEM_FIELDS if not (incident.items(w.name) if w.is_list else incident.field(w.name))
    ]
    if missing:
        print(f"not written yet: {', '.join(missing)} (`warroom set FIELD VALUE`)")


def cmd_export(args: argparse.Namespace) -> int:
    from warroom.playbook import export
    from warroom.playbook.postmortem_timeline import reader_zone
    from warroom.record.events import gc_paused

    if args.all and args.format != "json":
        raise UsageError("--all exports every incident as JSON: add --format json")
    if args.format == "json" and (args.template or args.no_diagrams or args.tz):
        raise UsageError(
            "--template, --tz and --no-diagrams shape the markdown post-mortem; leave them out with --format json"
        )
    zone = reader_zone(args.tz)
    # One pause of the cycle collector for the whole batch: paused in turn while loading,
    # folding and writing, it ran over the 100k objects made so far each time in between.
    with gc_paused(), open_room(args) as room:
        if args.format == "json":
            from warroom.playbook.json_export import export_json

            if args.all:
                incidents = [room.full(summary.id) for summary in room.summaries()]
            else:
                incidents = [whole_incident(room, args)]
            text = export_json(incidents, room.config, room.clock.now())
            name = "incidents.json" if args.all else f"{incidents[0].short_id}.json"
            return _write_export(args, room.config.root / "exports" / name, name, text, "JSON")
        incident = whole_incident(room, args)
        template = None
        if args.template:
            try:
                template = Path(args.template).read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"--template {args.template}: cannot read ({exc.strerror or exc})") from None
            except (UnicodeDecodeError, ValueError):
                raise UsageError(f"--template {args.template}: not a UTF-8 text file") from None
        text = export.postmortem(
            incident, room.config, room.clock.now(), template, zone=zone, diagrams=not args.no_diagrams
        )
        default = export.default_export_path(incident, room.config)
        return _write_export(args, default, default.name, text, f"post-mortem for {incident.short_id}")


def _write_export(args: argparse.Namespace, default: Path, example: str, text: str, what: str) -> int:
    from warroom.playbook import export

    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out) if args.out else default
    if args.out:
        _check_out(args.out, out, example)
    try:
        export.write_atomic(out, text)
    except OSError as exc:
        if exc.errno in (
            errno.EACCES,
            errno.EPERM,
            errno.EROFS,
            errno.ENOTDIR,
            errno.EISDIR,
            errno.ENOENT,
            errno.ENAMETOOLONG,
        ):
            raise UsageError(
                f"--out {out}: cannot write there ({exc.strerror}); choose another file with --out"
            ) from None
        # a full disk, an I/O error: not the user's mistake, and nothing half-written is left
        print(
            f"warroom: {out}: could not write the {what} ({exc.strerror or exc}); nothing was "
            f"written. Free some space, or give --out elsewhere (--out - prints it).",
            file=sys.stderr,
        )
        return 1
    print(f"{what} written to {out}")
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
    from warroom.playbook.report import report

    with open_room(args) as room:
        sys.stdout.write(report(room.heads(), room.config, by=args.by))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from warroom.playbook.json_export import schema_text

    sys.stdout.write(schema_text())
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import asyncio

    from warroom.sources import health
    from warroom.sources.results import format_table

    with open_room(args) as room:
        if not room.config.checks:
            print("no [[check]] in warroom.toml; nothing to run")
            return 0
        results = asyncio.run(
            health.check_all(room.config.checks, room.clock, room.config.secrets, cwd=str(room.config.root))
        )
        print(format_table(results))
        # a disabled check (a ${VAR} it needs is unset) is not a passing one
        return 1 if any(r.state in ("down", "disabled") for r in results) else 0


def cmd_console(args: argparse.Namespace) -> int:
    from warroom.ui import startup

    startup.pause_collector()  # until the first frame: see ui/startup.py
    from warroom.ui.factory import run_console

    room = open_room(args)
    return run_console(room, offline=args.offline)


def cmd_demo(args: argparse.Namespace) -> int:
    from warroom.demo.run import run_demo

    return run_demo(keep=args.keep)


def _report_quarantine(room: Room) -> None:
    found = room.store.quarantine()
    if found:
        print(
            clean(
                f"warning: {len(found)} incoming event(s) quarantined and ignored "
                f"(first: {found[0][2]}); `warroom quarantine` lists them"
            ),
            file=sys.stderr,
        )


def cmd_quarantine(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        found = room.store.quarantine()
        if not found:
            print("nothing quarantined: every event that came in was taken in")
        for event_id, source, reason in found:
            print(clean(f"{event_id[:36]:36}  {source[:40]:40}  {reason}"))
    return 0
