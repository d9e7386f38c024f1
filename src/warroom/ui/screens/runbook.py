"""Runbooks (`b`): search the war room's runbooks/, read one, run its steps.

The list on the left filters as you type in the search field; the chosen runbook
is rendered as markdown (runbooks are local files, trusted like the config); its
steps are listed below it with their exact commands. Enter on a step shows the
command once more and asks; yes hands it to the app (`RunStep`), which runs it
in a new Logs tab and records it on the timeline. `s` stops the highlighted step
if it is running, `U` names the runbook as the incident's.

The screen is given everything through its constructor (the runbooks, or how to
load them, the environment and incident fields to check variables against, what
runs); it talks back only through its messages, posted to the app. Given a loader,
it opens at once and reads the files in a thread: the keys typed right after `b`
reach this screen, never the console behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from warroom.errors import UsageError
from warroom.playbook.runbooks import Runbook, Step, matches, prepare, variables

if TYPE_CHECKING:
    from textual.widgets import Markdown

PREVIEW_LINES = 8
HELP = "/ search   Enter: open, run   s: stop   U: use for this incident   Esc: close"


class RunbookScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("slash", "search", "Search", show=False),
        Binding("s", "stop", "Stop step"),
        Binding("U", "use", "Use for incident"),
    ]

    @dataclass
    class RunStep(Message):
        """Run this step (the user has seen the command and said yes)."""

        runbook: Runbook
        step: Step

    @dataclass
    class StopStep(Message):
        runbook: str
        index: int

    @dataclass
    class UseRunbook(Message):
        """Name this runbook as the incident's."""

        runbook: str

    def __init__(
        self,
        runbooks: list[Runbook] | Callable[[], list[Runbook]],
        *,
        folder: Path | str = "runbooks",
        cwd: Path | str = ".",
        environ: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
        in_use: str = "",
        running: Iterable[tuple[str, int]] = (),
        selected: tuple[str, int] | None = None,
    ) -> None:
        """runbooks: the list, or a function that reads them (run in a thread once the screen is up).
        fields: the incident's INCIDENT_ID, SEVERITY, STATUS, TITLE (None: no incident on screen)."""
        super().__init__()
        self.load = runbooks if callable(runbooks) else None
        self.runbooks: list[Runbook] = [] if callable(runbooks) else runbooks
        self.loaded = self.load is None
        self.folder = Path(folder)
        self.cwd = Path(cwd)
        self.environ = dict(environ or {})
        self.fields = dict(fields) if fields is not None else None
        self.in_use = in_use
        self.running: set[tuple[str, int]] = set(running)
        self.selected_runbook = selected[0] if selected else (in_use or None)
        self.selected_step = selected[1] if selected else None
        self.current: Runbook | None = None
        self.shown: list[Runbook] = []

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="runbooks"):
            yield Label(Text(f"Runbooks ({self.folder})"), classes="dialog-title", id="runbook-heading")
            with Horizontal(id="runbook-body"):
                with Vertical(id="runbook-side"):
                    yield Input(placeholder="search", id="runbook-search")
                    yield OptionList(id="runbook-list")
                with Vertical(id="runbook-main"):
                    with VerticalScroll(id="runbook-doc", can_focus=True):
                        from textual.widgets import (
                            Markdown,  # on first use: markdown-it is slow to import
                        )

                        yield Markdown(id="runbook-text")
                    yield Label("Steps", id="runbook-steps-title")
                    yield OptionList(id="runbook-steps")
            yield Static(Text(HELP), classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#runbook-list", OptionList).focus()
        if self.load is None:
            self.show_loaded()
        else:
            self.fill_list("")
            self.query_one("#runbook-text", _markdown()).update(f"Reading the runbooks in `{self.folder}`…")
            self.read_runbooks(self.load)

    @work(thread=True, exclusive=True, exit_on_error=False, group="runbooks")
    def read_runbooks(self, load: Callable[[], list[Runbook]]) -> None:
        found = load()
        self.app.call_from_thread(self.loaded_from_thread, found)

    def loaded_from_thread(self, found: list[Runbook]) -> None:
        if self.is_attached:  # not closed meanwhile
            self.runbooks = found
            self.show_loaded()

    def show_loaded(self) -> None:
        self.loaded = True
        self.fill_list(self.query_one("#runbook-search", Input).value)
        if not self.runbooks:
            self.query_one("#runbook-text", _markdown()).update(
                f"No runbooks in `{self.folder}`.\n\nAdd markdown files there: every fenced `bash`, `sh` "
                "or `shell` block becomes a step you can run from here."
            )

    # --- the list ----------------------------------------------------------------------

    def runbook_prompt(self, runbook: Runbook) -> Text:
        text = Text(runbook.title, no_wrap=True, overflow="ellipsis")
        if runbook.name == self.in_use:
            text.append(" ● in use", style="bold")
        count = len(runbook.steps)
        text.append(f" ({count})", style="dim")
        return text

    def fill_list(self, query: str) -> None:
        runbook_list = self.query_one("#runbook-list", OptionList)
        self.shown = [r for r in self.runbooks if matches(r, query)]
        runbook_list.clear_options()
        runbook_list.add_options([Option(self.runbook_prompt(r), id=r.name) for r in self.shown])
        if not self.shown:
            empty = "reading…" if not self.loaded else "no runbook matches" if self.runbooks else "no runbooks"
            runbook_list.add_option(Option(Text(empty, style="dim"), id="-none-", disabled=True))
            return
        names = [r.name for r in self.shown]
        wanted = self.selected_runbook if self.selected_runbook in names else names[0]
        runbook_list.highlighted = names.index(wanted)
        self.show(self.shown[names.index(wanted)])

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "runbook-search":
            event.stop()
            if self.loaded:
                self.fill_list(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#runbook-list", OptionList).focus()

    def on_key(self, event) -> None:
        if event.key == "down" and self.focused is self.query_one("#runbook-search"):
            event.stop()
            self.query_one("#runbook-list", OptionList).focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_list.id == "runbook-list":
            runbook = self.by_name(event.option.id)
            if runbook is not None and runbook is not self.current:
                self.selected_runbook = runbook.name
                self.selected_step = None
                self.show(runbook)
        elif event.option_list.id == "runbook-steps" and event.option.id:
            self.selected_step = int(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_list.id == "runbook-list":
            steps = self.query_one("#runbook-steps", OptionList)
            if steps.option_count and not steps.get_option_at_index(0).disabled:
                steps.focus()
            else:
                self.query_one("#runbook-doc").focus()
        elif event.option_list.id == "runbook-steps" and event.option.id and self.current:
            step = self.current.step(int(event.option.id))
            if step is not None:
                self.ask_to_run(self.current, step)

    def by_name(self, name: str | None) -> Runbook | None:
        return next((r for r in self.runbooks if r.name == name), None)

    # --- the runbook -------------------------------------------------------------------

    def show(self, runbook: Runbook) -> None:
        self.current = runbook
        self.query_one("#runbook-text", _markdown()).update(runbook.text)
        self.query_one("#runbook-doc", VerticalScroll).scroll_home(animate=False)
        self.fill_steps()

    def step_prompt(self, runbook: Runbook, step: Step) -> Text:
        text = Text()
        text.append(f"#{step.index}", style="bold")
        if step.heading:
            text.append(f"  {step.heading}", style="dim")
        if (runbook.name, step.index) in self.running:
            text.append("  ▶ running (s stops it)", style="bold green")
        unset = self.unset(step)
        if unset:
            text.append("  needs " + ", ".join(f"${{{name}}}" for name in unset) + " (not set)", style="yellow")
        lines = step.command.splitlines() or [""]
        for number, line in enumerate(lines[:PREVIEW_LINES]):
            text.append("\n  $ " if number == 0 else "\n    ", style="dim")
            text.append(line)
        if len(lines) > PREVIEW_LINES:
            text.append(f"\n    … {len(lines) - PREVIEW_LINES} more lines (all shown before it runs)", style="dim")
        return text

    def unset(self, step: Step) -> list[str]:
        known = set(self.fields or {}) | set(self.environ)
        return [name for name in variables(step.command) if name not in known]

    def fill_steps(self) -> None:
        steps = self.query_one("#runbook-steps", OptionList)
        runbook = self.current
        steps.clear_options()
        title = self.query_one("#runbook-steps-title", Label)
        if runbook is None or not runbook.steps:
            title.update(Text("Steps: none (fenced bash, sh or shell blocks become steps)"))
            steps.add_option(Option(Text("no runnable steps in this runbook", style="dim"), id=None, disabled=True))
            return
        title.update(Text(f"Steps ({len(runbook.steps)}): Enter runs one, once you confirm"))
        steps.add_options([Option(self.step_prompt(runbook, step), id=str(step.index)) for step in runbook.steps])
        indexes = [step.index for step in runbook.steps]
        if self.selected_step in indexes:
            steps.highlighted = indexes.index(self.selected_step)
        else:
            steps.highlighted = 0

    def set_running(self, running: Iterable[tuple[str, int]]) -> None:
        """The app says which steps run now (it calls this as they start and end)."""
        self.running = set(running)
        if self.current is not None and self.is_mounted:
            steps = self.query_one("#runbook-steps", OptionList)
            for step in self.current.steps:
                try:
                    steps.replace_option_prompt(str(step.index), self.step_prompt(self.current, step))
                except Exception:  # noqa: BLE001 - the list was refilled meanwhile
                    pass

    def set_in_use(self, name: str) -> None:
        self.in_use = name
        runbook_list = self.query_one("#runbook-list", OptionList)
        for runbook in self.shown:
            runbook_list.replace_option_prompt(runbook.name, self.runbook_prompt(runbook))

    # --- running -------------------------------------------------------------------------

    def ask_to_run(self, runbook: Runbook, step: Step) -> None:
        from warroom.ui.screens.prompt import ConfirmScreen

        if self.fields is None:
            self.notify(
                "No incident on screen: declare one (D) or pick one (I); a step is recorded on an incident's timeline.",
                severity="warning",
                markup=False,
            )
            return
        if (runbook.name, step.index) in self.running:
            self.notify(f"Step {step.index} is already running: s stops it.", severity="warning", markup=False)
            return
        try:
            argv = prepare(step, self.environ, self.fields)
        except UsageError as exc:
            self.notify(f"{runbook.name}: {exc}", severity="error", timeout=10, markup=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.post_message(self.RunStep(runbook, step))
                self.dismiss(None)

        question = f"Run step {step.index} of {runbook.title}? ({argv[0]} -c, in {self.cwd})"
        self.app.push_screen(ConfirmScreen(question, step.command), answered)

    def action_stop(self) -> None:
        runbook, steps = self.current, self.query_one("#runbook-steps", OptionList)
        option = steps.highlighted_option
        if runbook is None or option is None or not option.id:
            return
        index = int(option.id)
        if (runbook.name, index) not in self.running:
            others = sorted(self.running)
            hint = f" Running: {', '.join(f'{name} #{n}' for name, n in others)}." if others else ""
            self.notify(f"Step {index} of {runbook.name} is not running.{hint}", markup=False)
            return
        self.app.post_message(self.StopStep(runbook.name, index))

    def action_use(self) -> None:
        if self.current is None:
            return
        if self.fields is None:
            self.notify("No incident on screen: declare one (D) or pick one (I).", severity="warning", markup=False)
            return
        if self.current.name == self.in_use:
            self.notify(f"{self.current.name} is already this incident's runbook.", markup=False)
            return
        self.app.post_message(self.UseRunbook(self.current.name))
        self.set_in_use(self.current.name)

    def action_search(self) -> None:
        self.query_one("#runbook-search", Input).focus()

    def action_close(self) -> None:
        self.dismiss(None)


def _markdown() -> type[Markdown]:
    """The Markdown widget's class, imported on first use (markdown-it is slow to import)."""
    from textual.widgets import Markdown

    return Markdown
