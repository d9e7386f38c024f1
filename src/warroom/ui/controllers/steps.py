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

    def action_runbooks(self) -> None:
        # The screen opens at once and reads the files in a thread: the keys typed right
        # after `b` go to it, never to the console behind it.
        from functools import partial

        from warroom.playbook.runbooks import incident_fields, load_runbooks
        from warroom.ui.screens.runbook import RunbookScreen

        incident = self.incident
        self.push_screen(
            RunbookScreen(
                partial(load_runbooks, self.config.runbooks_dir),
                folder=self.config.runbooks_dir,
                cwd=self.config.root,
                environ=os.environ,
                fields=incident_fields(incident) if incident else None,
                in_use=incident.fields.get("runbook", "") if incident else "",
                running=self.running_steps,
                selected=self.runbook_selected,
            )
        )

    def on_runbook_screen_run_step(self, event: RunbookScreen.RunStep) -> None:
        from warroom.playbook import runbooks

        incident = self.need_incident()
        if incident is None:
            return
        runbook, step = event.runbook, event.step
        key = (runbook.name, step.index)
        self.runbook_selected = key
        if key in self.running_steps:
            self.notify(f"{runbook.name} #{step.index} is already running.", severity="warning", markup=False)
            return
        fields = runbooks.incident_fields(incident)
        try:
            argv = runbooks.prepare(step, os.environ, fields)
        except UsageError as exc:
            self.notify(f"{runbook.name}: {exc}", severity="error", timeout=10, markup=False)
            return
        self.run_runbook_step(
            incident,
            runbook,
            step,
            argv,
            runbooks.child_env(os.environ, fields),
            runbooks.step_secrets(step, os.environ),
        )

    @work(group="steps", exit_on_error=False)
    async def run_runbook_step(
        self,
        incident: Incident,
        runbook: Runbook,
        step: Step,
        argv: list[str],
        env: dict[str, str],
        secrets: tuple[str, ...],
    ) -> None:
        """A step in its own Logs tab; when it ends, the timeline records it by itself."""
        from warroom.config import LogConfig
        from warroom.playbook.runbooks import output_tail
        from warroom.sources.supervisor import LogSource

        pane = self.logs_pane()
        name = f"{pane.STEP_PREFIX}{runbook.name} #{step.index}"
        view = pane.add_tab(name)
        self.call_after_refresh(view.focus)  # its output in front, and `s` stops it
        source = LogSource(
            LogConfig(name=name, command=tuple(argv), buffer=2000),
            on_lines=view.add_lines,
            on_status=lambda status: pane.set_view_status(view, status),
            secrets=(*self.config.secrets, *secrets),
            clock=self.clock,
            env=env,
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
                lambda room: room.record_command(incident, step.command, exit_code, output, runbook=runbook.name),
                done=f"{runbook.name} #{step.index} {'stopped' if stopped else 'exited'} "
                f"(exit {exit_code}); on the timeline.",
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

        async def stop() -> None:
            await source.stop()
            self.logs_pane().set_view_status(view, f"stopped (exit {source.exit_code})")

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
