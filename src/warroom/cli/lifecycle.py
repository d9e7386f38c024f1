"""Moving an incident through its life from a shell: the status (closing walks the
checklist), the escalation path, and the severity profiles to start a war room from."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from warroom.cli.common import clean, incident_meant, open_room
from warroom.errors import UsageError


def cmd_status(args: argparse.Namespace) -> int:
    with open_room(args) as room:
        incident = incident_meant(room, args)
        status = args.status.strip().lower()
        skipped: list[str] = []
        if status == "closed":
            if incident.status == "closed":
                raise UsageError(f"{incident.short_id} is already closed")
            skipped = unticked(room.config.checklist, args.checked)
        room.set_status(incident, status, skipped=skipped, at=room.at(args.at, incident))
        print(f"{incident.short_id} is now {status}")
        if status == "closed":
            ticked = len(room.config.checklist) - len(skipped)
            print(f"checklist: {ticked} of {len(room.config.checklist)} ticked")
            for item in skipped:
                print(f"  skipped: {clean(item)}")
    return 0


def unticked(checklist: tuple[str, ...], checked: str | None, ask: Callable[[str], str] = input) -> list[str]:
    """The closure checklist's items left unticked: those not in `--checked 1,3`, or, on a
    terminal without it, each answered n. Elsewhere without --checked, all of them (they
    are recorded as skipped, never silently passed)."""
    if checked is not None:
        ticked = _numbers(checked, len(checklist))
        return [item for number, item in enumerate(checklist, 1) if number not in ticked]
    if not sys.stdin.isatty():
        return list(checklist)
    print(f"Closure checklist ({len(checklist)} items): y ticks, n leaves it unticked (recorded as skipped).")
    skipped = []
    for number, item in enumerate(checklist, 1):
        while True:
            try:
                answer = ask(f"[{number}/{len(checklist)}] {item}? [y/n] ").strip().lower()
            except EOFError:
                answer = "n"
            if answer in ("y", "yes", "n", "no"):
                break
            print("  answer y or n")
        if answer.startswith("n"):
            skipped.append(item)
    return skipped


def _numbers(text: str, count: int) -> set[int]:
    numbers: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= count:
            raise UsageError(
                f"--checked {text!r}: {part!r} is not an item number; give the ticked items' "
                f"numbers from 1 to {count}, e.g. --checked 1,3 (--checked '' ticks none)"
            )
        numbers.add(int(part))
    return numbers


def cmd_escalate(args: argparse.Namespace) -> int:
    """Record that a rung of the escalation path was called in, or list the rungs."""
    from warroom.record.model import escalation_rungs

    with open_room(args) as room:
        incident = incident_meant(room, args)
        if args.to:
            room.escalate(incident, " ".join(args.to))
            print(f"{incident.short_id}: escalated to {clean(' '.join(args.to))}")
            return 0
        rungs = escalation_rungs(incident, room.config.escalation_for(incident.severity), room.clock.now())
        if not rungs:
            print(f"{incident.short_id}: no escalation path for {clean(incident.severity)}")
        for rung in rungs:
            print(clean(rung.describe()))
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from warroom import profiles

    if args.profile_command == "show":
        try:
            sys.stdout.write(profiles.profile_text(args.name))
        except KeyError:
            raise UsageError(
                f"no bundled profile {args.name!r}; use one of {', '.join(profiles.bundled_profiles())}"
            ) from None
        return 0
    for name in profiles.bundled_profiles():
        profile = profiles.load_profile(name, Path.cwd())
        print(f"{profile.name:10} {', '.join(profile.ids):22} {profile.description}")
    return 0
