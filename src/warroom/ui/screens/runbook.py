"""Runbooks (`b`): search the war room's runbooks/, read one, run or tick its steps.

The screen opens with the search focused (every time), so what is typed right after `b`
filters the list on the left; Down or Enter moves to the list, whose highlighted runbook
is the one shown, and Enter there moves to its steps. The chosen runbook is rendered as
markdown (runbooks are local files, trusted like the config) in one piece, so it appears
with the screen. Its steps are listed below it, one command each:

- Enter on a command step asks for its placeholders' values (if any), shows the final
  command, and asks; yes hands it to the app (`RunStep`), which runs it in a new Logs tab
  and records it on the timeline. `s` stops the highlighted step if it is running.
- Enter on a manual step (done by hand) asks to tick it; yes hands it to the app
  (`TickStep`), which records the tick on the timeline with who and when. Ticked steps
  show a checked box.

`U` names the runbook as the incident's. The screen is given everything through its
constructor (the runbooks, or how to load them, the environment and incident fields to
check variables against, what runs); it talks back only through its messages, posted to
the app. Given a loader, it opens at once and reads the files in a thread: the keys typed
right after `b` reach this screen, never the console behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Key
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from warroom.errors import UsageError
from warroom.playbook.runbooks import Runbook, Step, matches
from warroom.playbook.step_run import INCIDENT_VARIABLES, Need, needs, prepare
from warroom.text.sanitize import sanitize

PREVIEW_LINES = 8
HELP = "type to search   ↓/Enter: open, run or tick   s: stop   U: use for this incident   Esc: close"
StepKey = tuple[str, int]


class RunbookScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("slash", "search", "Search", show=False, priority=True),
        Binding("s", "stop", "Stop step"),
        Binding("U", "use", "Use for incident"),
    ]

    @dataclass
    class RunStep(Message):
        """Run this step (the user has seen the final command and said yes)."""

        runbook: Runbook
        step: Step
        values: dict[str, str] = field(default_factory=dict)  # the placeholders' values, by key

    @dataclass
    class TickStep(Message):
        """This manual step is done (the user said so)."""

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
        running: Iterable[StepKey] = (),
        selected: StepKey | None = None,
        ticked: Mapping[StepKey, tuple[str, str]] | None = None,
        author: str = "you",
        now: Callable[[], str] = lambda: "",
    ) -> None:
        """runbooks: the list, or a function that reads them (run in a thread once the screen is up).
        fields: the incident's INCIDENT_ID, SEVERITY, STATUS, TITLE (None: no incident on screen).
        ticked: the manual steps ticked on this incident -> (who, when); author and now (an ISO
        time) say who ticks one here and when."""
        super().__init__()
        self.load = runbooks if callable(runbooks) else None
        self.runbooks: list[Runbook] = [] if callable(runbooks) else runbooks
        self.loaded = self.load is None
        self.folder = Path(folder)
        self.cwd = Path(cwd)
        self.environ = dict(environ or {})
        self.fields = dict(fields) if fields is not None else None
        self.in_use = in_use
        self.running: set[StepKey] = set(running)
        self.ticked: dict[StepKey, tuple[str, str]] = dict(ticked or {})
        self.author = author
        self.now = now
        self.selected_runbook = selected[0] if selected else (in_use or None)
        self.selected_step = selected[1] if selected else None
        self.current: Runbook | None = None
        self.shown: list[Runbook] = []

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="runbooks"):
            yield Label(Text(f"Runbooks ({self.shown_folder()})"), classes="dialog-title", id="runbook-heading")
            with Horizontal(id="runbook-body"):
                with Vertical(id="runbook-side"):
                    yield Input(placeholder="search", id="runbook-search")
                    yield OptionList(id="runbook-list")
                with Vertical(id="runbook-main"):
                    with VerticalScroll(id="runbook-doc", can_focus=True):
                        yield Static(id="runbook-text")
                    yield Label("Steps", id="runbook-steps-title")
                    yield OptionList(id="runbook-steps")
            yield Static(Text(HELP), classes="dialog-help")

    def shown_folder(self) -> Path:
        """The folder as the war room knows it (`runbooks`), not a long absolute path."""
        try:
            return self.folder.relative_to(self.cwd)
        except ValueError:
            return self.folder

    def on_mount(self) -> None:
        self.query_one("#runbook-search", Input).focus()  # what is typed after `b` searches
        if self.load is None:
            self.show_loaded()
        else:
            self.fill_list("")
            self.render_text(f"Reading the runbooks in `{self.shown_folder()}`…")
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
            self.render_text(
                f"No runbooks in `{self.shown_folder()}`.\n\nAdd markdown files there: every command in a fenced "
                "`bash`, `sh` or `shell` block becomes a step you can run from here, and every numbered "
                "item a step to tick."
            )

    def render_text(self, markdown: str) -> None:
        """The runbook rendered in one piece (Rich's markdown in one widget: no widget per
        block to build, so a long runbook shows at once). Local files, trusted as the config."""
        self.source = markdown
        self.query_one("#runbook-text", Static).update(RichMarkdown(markdown, code_theme="ansi_dark"))

    # --- the list ----------------------------------------------------------------------

    def runbook_prompt(self, runbook: Runbook) -> Text:
        text = Text(runbook.title, no_wrap=True, overflow="ellipsis")
        if runbook.name == self.in_use:
            text.append(" ● in use", style="bold")
        text.append(f" ({len(runbook.steps)})", style="dim")
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

    def on_key(self, event: Key) -> None:
        if event.key == "down" and self.focused is self.query_one("#runbook-search"):
            event.stop()
            self.query_one("#runbook-list", OptionList).focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        # A highlight posted before the list was refilled (typing filters it) names an option
        # that is gone: only the list's highlight now decides what is shown.
        now = event.option_list.highlighted_option
        if now is None or now.id != event.option.id:
            return
        if event.option_list.id == "runbook-list":
            runbook = self.by_name(event.option.id)
            if runbook is not None and runbook is not self.current:
                self.show(runbook)
        elif event.option_list.id == "runbook-steps" and event.option.id:
            self.selected_step = int(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_list.id == "runbook-list":
            runbook = self.by_name(event.option.id)
            if runbook is not None and runbook is not self.current:
                self.show(runbook)
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
        if runbook.name != self.selected_runbook:
            self.selected_runbook, self.selected_step = runbook.name, None
        self.current = runbook
        self.render_text(runbook.text)
        self.query_one("#runbook-doc", VerticalScroll).scroll_home(animate=False)
        self.fill_steps()

    def step_prompt(self, runbook: Runbook, step: Step) -> Text:
        text = Text()
        key = (runbook.name, step.index)
        lines = step.command.splitlines() or [""]
        if step.manual:
            text.append("☑ " if key in self.ticked else "☐ ", style="bold")
        text.append(f"#{step.index}", style="bold")
        if step.heading:
            text.append(f"  {step.heading}", style="dim")
        if step.label or step.manual:
            text.append(f"  {step.label or lines[0]}")
            if not step.label:
                lines = lines[1:]
        who = self.ticked.get(key)
        if who:
            text.append(f"  done: {who[0]} at {who[1][11:16]} UTC", style="green")
        elif step.manual:
            text.append("  (by hand)", style="dim")
        if key in self.running:
            text.append("  ▶ running (s stops it)", style="bold green")
        wanted = self.wanted(step)
        if wanted:
            text.append("  asks for " + ", ".join(need.shown for need in wanted), style="yellow")
        for number, line in enumerate(lines[:PREVIEW_LINES]):
            text.append("\n  $ " if number == 0 and not step.manual else "\n    ", style="dim")
            text.append(line)
        if len(lines) > PREVIEW_LINES:
            text.append(f"\n    … {len(lines) - PREVIEW_LINES} more lines (all shown before it runs)", style="dim")
        return text

    def wanted(self, step: Step) -> list[Need]:
        return needs(step, self.environ, self.fields or dict.fromkeys(INCIDENT_VARIABLES, ""))

    def fill_steps(self) -> None:
        steps = self.query_one("#runbook-steps", OptionList)
        runbook = self.current
        steps.clear_options()
        title = self.query_one("#runbook-steps-title", Label)
        if runbook is None or not runbook.steps:
            title.update(Text("Steps: none (commands in shell blocks and numbered items become steps)"))
            steps.add_option(Option(Text("no steps in this runbook", style="dim"), id=None, disabled=True))
            return
        manual = sum(step.manual for step in runbook.steps)
        by_hand = f", {manual} by hand" if manual else ""
        title.update(Text(f"Steps ({len(runbook.steps)}{by_hand}): Enter runs one once you confirm, or ticks it"))
        steps.add_options([Option(self.step_prompt(runbook, step), id=str(step.index)) for step in runbook.steps])
        indexes = [step.index for step in runbook.steps]
        steps.highlighted = indexes.index(self.selected_step) if self.selected_step in indexes else 0

    def refresh_steps(self) -> None:
        if self.current is None or not self.is_mounted:
            return
        steps = self.query_one("#runbook-steps", OptionList)
        for step in self.current.steps:
            try:
                steps.replace_option_prompt(str(step.index), self.step_prompt(self.current, step))
            except Exception:  # noqa: BLE001 - the list was refilled meanwhile
                pass

    def set_running(self, running: Iterable[StepKey]) -> None:
        """The app says which steps run now (it calls this as they start and end)."""
        self.running = set(running)
        self.refresh_steps()

    def set_ticked(self, ticked: Mapping[StepKey, tuple[str, str]]) -> None:
        """The app says which manual steps are ticked on this incident (read from the record)."""
        self.ticked = {**dict(ticked), **self.ticked}
        self.refresh_steps()

    def set_in_use(self, name: str) -> None:
        self.in_use = name
        runbook_list = self.query_one("#runbook-list", OptionList)
        for runbook in self.shown:
            runbook_list.replace_option_prompt(runbook.name, self.runbook_prompt(runbook))

    # --- running and ticking -------------------------------------------------------------

    def ask_to_run(self, runbook: Runbook, step: Step) -> None:
        if self.fields is None:
            self.notify(
                "No incident on screen: declare one (D) or pick one (I); a step is recorded on an incident's timeline.",
                severity="warning",
                markup=False,
            )
            return
        if step.manual:
            self.ask_to_tick(runbook, step)
            return
        if (runbook.name, step.index) in self.running:
            self.notify(f"Step {step.index} is already running: s stops it.", severity="warning", markup=False)
            return
        wanted = self.wanted(step)
        if not wanted:
            self.confirm_run(runbook, step, {})
            return
        from warroom.ui.screens.prompt import PromptScreen

        keys = {f"v{number}": need for number, need in enumerate(wanted)}

        def given(values: dict[str, str] | None) -> None:
            if values is not None:
                self.confirm_run(runbook, step, {keys[key].key: value for key, value in values.items() if key in keys})

        fields = [(key, f"{need.shown}:", "", "its value") for key, need in keys.items()]
        note = "Typed values are put into the command quoted: they are data, never shell.\n" + step.command
        self.app.push_screen(
            PromptScreen(f"Step {step.index} of {runbook.title} asks for values", fields, note=note), given
        )

    def confirm_run(self, runbook: Runbook, step: Step, values: dict[str, str]) -> None:
        from warroom.ui.screens.prompt import ConfirmScreen

        try:
            prepared = prepare(step, self.environ, self.fields or {}, values)
        except UsageError as exc:
            self.notify(f"{runbook.name}: {exc}", severity="error", timeout=10, markup=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.post_message(self.RunStep(runbook, step, values))
                self.dismiss(None)

        detail = sanitize(prepared.command, limit=20_000, multiline=True)
        for name, value in prepared.given:
            detail += f"\nwith ${{{name}}} given for this run only ({len(value)} characters)"
        question = f"Run step {step.index} of {runbook.title}? ({prepared.argv[0]} -c, in {self.cwd})"
        self.app.push_screen(ConfirmScreen(question, detail), answered)

    def ask_to_tick(self, runbook: Runbook, step: Step) -> None:
        from warroom.ui.screens.prompt import ConfirmScreen

        key = (runbook.name, step.index)
        if key in self.ticked:
            who, when = self.ticked[key]
            self.notify(f"Step {step.index} was ticked by {who} at {when[11:16]} UTC.", markup=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.post_message(self.TickStep(runbook, step))
                self.ticked[key] = (self.author, self.now())
                self.refresh_steps()

        self.app.push_screen(
            ConfirmScreen(f"Step {step.index} is done by hand: tick it as done?", step.command), answered
        )

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
