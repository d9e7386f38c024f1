"""Runbook steps run from the console: each in a Logs tab of its own, stopped with `s`, and
recorded on the timeline by itself when it ends (its command, exit status and output)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from textual import work

from warroom.errors import UsageError
from warroom.ui.controllers.host import Host

if TYPE_CHECKING:
    from warroom.playbook.runbooks import Runbook, Step
    from warroom.playbook.step_run import Prepared
    from warroom.record.model import Incident
    from warroom.sources.supervisor import LogSource
    from warroom.ui.panes.actions import ActionsPane
    from warroom.ui.panes.logs import LogsPane
    from warroom.ui.panes.logview import LogView
    from warroom.ui.screens.runbook import RunbookScreen

StepKey = tuple[str, int]  # (runbook, step number)


class StepRunner(Host):
    """Mixed into the app: the runbooks screen, the steps it runs, the action items' `d`."""

    def init_steps(self) -> None:
        self.running_steps: dict[StepKey, tuple[LogSource, LogView]] = {}
        self.stopped_steps: set[StepKey] = set()
        self.runbook_selected: StepKey | None = None
        # The runbooks as last read, and the folder's stamp then: a second `b` shows them at once.
        self.runbook_cache: tuple[tuple[tuple[str, int, int], ...], list[Runbook]] | None = None

    def on_ready(self) -> None:
        # Read the runbooks once the console is up, so that even the first `b` shows one at once.
        self.set_timer(
            1.0, lambda: self.run_worker(self.read_runbooks, thread=True, group="runbooks", exit_on_error=False)
        )

    def read_runbooks(self) -> list[Runbook]:
        """In a thread: the runbooks folder read, parsed and kept for the next `b`."""
        from warroom.playbook.runbooks import folder_stamp, load_runbooks

        folder = self.config.runbooks_dir
        stamp = folder_stamp(folder)
        runbooks = load_runbooks(folder)
        self.runbook_cache = (stamp, runbooks)
        return runbooks

    def action_runbooks(self) -> None:
        # The screen opens at once with the runbooks read before (when the folder has not
        # changed since), else it reads them in a thread: either way the keys typed right
        # after `b` go to it, never to the console behind it. Which manual steps are ticked
        # comes from the record (the recorder reads it) a moment later.
        from warroom.playbook.runbooks import folder_stamp
        from warroom.playbook.step_run import incident_fields, ticks
        from warroom.record.events import format_time
        from warroom.ui.screens.runbook import RunbookScreen

        incident = self.incident
        cached = self.runbook_cache
        fresh = cached is not None and cached[0] == folder_stamp(self.config.runbooks_dir)
        screen = RunbookScreen(
            cached[1] if cached is not None and fresh else self.read_runbooks,
            folder=self.config.runbooks_dir,
            cwd=self.config.root,
            environ=os.environ,
            fields=incident_fields(incident) if incident else None,
            in_use=incident.fields.get("runbook", "") if incident else "",
            running=self.running_steps,
            selected=self.runbook_selected,
            author=self.room.store.author,
            now=lambda: format_time(self.clock.now()),
        )
        self.push_screen(screen)
        if incident is not None:
            incident_id = incident.id
            self.recorder.submit(
                lambda room: ticks(room, incident_id),
                on_done=lambda found: self.from_thread(screen.set_ticked, found),
                label="reading ticked steps",
            )

    def on_runbook_screen_run_step(self, event: RunbookScreen.RunStep) -> None:
        from warroom.playbook import step_run

        incident = self.need_incident()
        if incident is None:
            return
        runbook, step = event.runbook, event.step
        key = (runbook.name, step.index)
        self.runbook_selected = key
        if key in self.running_steps:
            self.notify(f"{runbook.name} #{step.index} is already running.", severity="warning", markup=False)
            return
        try:
            prepared = step_run.prepare(step, os.environ, step_run.incident_fields(incident), event.values)
        except UsageError as exc:
            self.notify(f"{runbook.name}: {exc}", severity="error", timeout=10, markup=False)
            return
        self.run_runbook_step(incident, runbook, step, prepared)

    def on_runbook_screen_tick_step(self, event: RunbookScreen.TickStep) -> None:
        """A manual step done: an entry on the timeline says which, by whom and when."""
        from warroom.playbook.step_run import tick_source, tick_text

        incident = self.need_incident()
        if incident is None:
            return
        runbook, step = event.runbook, event.step
        self.runbook_selected = (runbook.name, step.index)
        self.record(
            lambda room: room.log(incident, tick_text(step), "action", source=tick_source(runbook.name, step)),
            done=f"{runbook.name} #{step.index} ticked as done; on the timeline.",
        )

    @work(group="steps", exit_on_error=False)
    async def run_runbook_step(self, incident: Incident, runbook: Runbook, step: Step, prepared: Prepared) -> None:
        """A step in its own Logs tab; when it ends, the timeline records it by itself."""
        from warroom.config import LogConfig
        from warroom.playbook.runbooks import output_tail
        from warroom.playbook.step_run import exit_words
        from warroom.sources.supervisor import LogSource

        # A step run in the first instants (b, a step, y, typed at once) comes before the logs
        # pane, which is mounted just after the first frame: it waits for it, not fails.
        await self.panes_ready.wait()
        pane = self.logs_pane()
        name = f"{pane.STEP_PREFIX}{runbook.name} #{step.index}"
        view = pane.add_tab(name)
        self.call_after_refresh(view.focus)  # its output in front, and `s` stops it
        source = LogSource(
            LogConfig(name=name, command=tuple(prepared.argv), buffer=2000),
            on_lines=view.add_lines,
            on_status=lambda status: pane.set_view_status(view, status),
            secrets=(*self.config.secrets, *prepared.secrets),
            clock=self.clock,
            env=prepared.env,
            cwd=str(self.config.root),
        )
        key = (runbook.name, step.index)
        self.running_steps[key] = (source, view)
        self.stopped_steps.discard(key)
        self.steps_changed()
        code: int | None = None
        try:
            await source.start()
            code = await source.wait()
        finally:
            stopped = key in self.stopped_steps
            if code is None:  # the console is closing under it: the step ends with it
                stopped = True
                try:
                    await source.stop()
                except Exception:  # noqa: BLE001 - closing: the step is recorded as stopped whatever happens
                    pass
                code = source.exit_code if source.exit_code is not None else -1
            self.running_steps.pop(key, None)
            self.stopped_steps.discard(key)
            self.steps_changed()
            output = output_tail([line.text for line in source.lines], stopped=stopped)
            exit_code = code
            self.record(
                lambda room: room.record_command(incident, prepared.command, exit_code, output, runbook=runbook.name),
                done=f"{runbook.name} #{step.index}: {exit_words(exit_code)}; on the timeline.",
                label="command ran",
            )

    def steps_changed(self) -> None:
        from warroom.ui.screens.runbook import RunbookScreen

        try:
            screen = self.screen
        except Exception:  # noqa: BLE001 - shutting down: no screen left to tell
            return
        if isinstance(screen, RunbookScreen):
            screen.set_running(self.running_steps)

    def stop_step(self, key: StepKey) -> None:
        if key not in self.running_steps:
            self.notify(f"{key[0]} #{key[1]} is not running.", markup=False)
            return
        source, view = self.running_steps[key]
        self.stopped_steps.add(key)
        self.notify(f"Stopping {key[0]} #{key[1]}…", markup=False)

        from warroom.playbook.step_run import exit_words

        async def stop() -> None:
            await source.stop()
            code = source.exit_code
            self.logs_pane().set_view_status(view, exit_words(code) if code is not None and code < 0 else "stopped")

        self.run_worker(stop(), group="steps", exit_on_error=False)

    def on_runbook_screen_stop_step(self, event: RunbookScreen.StopStep) -> None:
        self.stop_step((event.runbook, event.index))

    def on_logs_pane_stop_requested(self, event: LogsPane.StopRequested) -> None:
        from warroom.ui.panes.logs import LogsPane

        key = next((k for k in self.running_steps if f"{LogsPane.STEP_PREFIX}{k[0]} #{k[1]}" == event.name), None)
        if key is None:
            self.notify("This step is not running any more.", markup=False)
            return
        self.stop_step(key)

    def on_runbook_screen_use_runbook(self, event: RunbookScreen.UseRunbook) -> None:
        incident = self.need_incident()
        if incident is None:
            return
        name = event.runbook
        self.record(
            lambda room: room.set_field(incident, "runbook", name),
            done=f"{incident.short_id} follows the {name} runbook.",
        )

    def on_actions_pane_mark_done(self, event: ActionsPane.MarkDone) -> None:
        action_id = event.action_id
        self.record(lambda room: room.action_done(action_id), done="Action item done.")
