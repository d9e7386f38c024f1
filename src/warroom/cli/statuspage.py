"""`warroom statuspage build DIR`: the static status page, once or on every change."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from warroom.cli.common import clean, open_room
from warroom.errors import UsageError, WarroomError


def cmd_statuspage(args: argparse.Namespace) -> int:
    from warroom.playbook import statuspage_site

    title = clean(args.title).strip()
    if not title or "\n" in title or len(title) > 200:
        raise UsageError(f"--title {args.title!r}: give one line of 1 to 200 characters")
    if args.url and not args.url.startswith(("http://", "https://")):
        raise UsageError(f"--url {args.url!r}: expected an http:// or https:// address")
    target = Path(args.folder)
    statuspage_site.check_target(Path(target.absolute()))  # before the record is opened

    def build() -> list[Path]:
        with open_room(args) as room:
            page = statuspage_site.build(room, target, room.clock.now(), title, args.url)
            watched = statuspage_site.watched_files(room)
        print(
            f"status page written to {target.resolve() / 'index.html'}: {page.description}; "
            f"{len(page.incidents)} open incident(s), {len(page.updates)} published update(s), "
            f"{len(page.components)} component(s)",
            flush=True,
        )
        return watched

    watched = build()
    if not args.watch:
        return 0

    def rebuild() -> None:
        try:
            build()
        except WarroomError as exc:  # said, and the next change tries again: a watch keeps going
            print(f"warroom: {exc}", file=sys.stderr, flush=True)

    print("watching the record for changes; Ctrl-C stops", file=sys.stderr, flush=True)
    statuspage_site.watch(rebuild, watched)
    return 0
