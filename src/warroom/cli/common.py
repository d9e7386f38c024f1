"""What every subcommand shares: opening the war room, the incident meant, the notes said
once the command has worked, text cleaned for the terminal."""

from __future__ import annotations

import argparse
from pathlib import Path

from warroom import config as config_mod
from warroom.errors import UsageError
from warroom.record.model import Incident
from warroom.record.room import Room


def clean(text: str) -> str:
    """Record text may come from another machine: inert before it reaches the terminal. Long
    enough for the longest entry the record takes (a pasted stack trace)."""
    from warroom.text.sanitize import sanitize

    return sanitize(text, limit=70_000, multiline=True)


def open_room(args: argparse.Namespace) -> Room:
    config = None
    if args.dir:
        config = Path(args.dir) / config_mod.CONFIG_NAME
        if not config.is_file():
            raise UsageError(f"{config}: no such file; is {args.dir} a war room? (`warroom init {args.dir}`)")
    room = Room.open(config, db=args.db)
    # What git brought and could not be taken in (a damaged warroom.db): said, never fatal.
    NOTES.extend(clean(note) for note in room.notes)
    room.notes.clear()
    return room


def incident_meant(room: Room, args: argparse.Namespace, say: bool = True, latest: bool = False):
    """--incident, else the newest incident not closed (Room.meant: the one rule). Says which
    it took, and which others are still open, once the command has worked. (`latest` is
    kept for callers that still pass it: the rule already covers resolved incidents.)"""
    ref = getattr(args, "incident", None)
    incident = room.incident(ref)
    if say and not ref:
        _say_meant(room, incident)
    return incident


def _say_meant(room: Room, incident: Incident) -> None:
    # Said once the command has worked: a failure prints its one error line only.
    note = f"on {incident.short_id} ({clean(incident.title)})"
    others = room.others_open(incident.id)
    if others:
        named = "; ".join(f"{s.short_id} {clean(s.severity)} {clean(s.title)}" for s in others[-3:])
        more = f" and {len(others) - 3} more" if len(others) > 3 else ""
        note += f"; also not closed: {named}{more} (--incident picks another)"
    NOTES.append(note)


NOTES: list[str] = []


def whole_incident(room: Room, args: argparse.Namespace) -> Incident:
    """--incident (open or not), else the incident meant, else the newest closed one;
    folded whole, timeline included (show, export)."""
    found = room.incident(args.incident, or_closed=True)
    if not args.incident:
        _say_meant(room, found)
    return room.full(found.id)
