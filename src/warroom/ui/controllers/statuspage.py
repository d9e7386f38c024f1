"""W: build the public status page from the record into the war room's exports/statuspage/
and say where it is (the same site `warroom statuspage build` writes)."""

from __future__ import annotations

from textual import work

from warroom.ui.controllers.host import Host

PAGE_TITLE = "Service status"


class StatusPageCommands(Host):
    """Mixed into the app: the status page key."""

    def action_statuspage(self) -> None:
        self.notify("Building the status page...", timeout=2, markup=False)
        self.build_statuspage()

    @work(thread=True, group="statuspage", exclusive=True, exit_on_error=False)
    def build_statuspage(self) -> None:
        """On a connection of its own, in a thread: the recorder stays free for the scribe."""
        from warroom.errors import WarroomError
        from warroom.playbook import statuspage_site
        from warroom.record.room import Room
        from warroom.record.store import Store

        target = self.config.root / "exports" / "statuspage"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with Store(self.room.store.path, clock=self.clock, author=self.room.store.author) as store:
                room = Room(self.config, store, self.clock)
                page = statuspage_site.build(room, target, self.clock.now(), PAGE_TITLE)
        except (WarroomError, OSError) as exc:
            message = f"Status page not built: {exc}"
            self.call_from_thread(self.notify, message, severity="error", timeout=10, markup=False)
            return
        where = target.resolve() / "index.html"
        self.call_from_thread(
            self.notify,
            f"Status page written to {where} ({page.description}; {len(page.updates)} published update(s))",
            timeout=12,
            markup=False,
        )
