"""What the controllers may use of the app they are mixed into, for the type checker.

The controllers are mixins of WarroomApp; at run time `Host` is `object`. For mypy it is an
App that declares the app's own attributes and the methods one controller calls on another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

    from warroom.config import Config
    from warroom.record.clock import Clock
    from warroom.record.model import Incident, Summary
    from warroom.record.room import Room
    from warroom.ui.controllers.keygate import KeyGate
    from warroom.ui.controllers.recorder import Recorder
    from warroom.ui.panes.logs import LogsPane
    from warroom.ui.view import ConsoleView

    class Host(App[int]):
        room: Room
        config: Config
        clock: Clock
        recorder: Recorder
        key_gate: KeyGate
        closing: bool
        summaries: tuple[Summary, ...]
        last_deleted: str | None
        _ui_loop: asyncio.AbstractEventLoop | None
        panes_ready: asyncio.Event
        running_steps: dict[tuple[str, int], Any]
        view: ConsoleView | None

        @property
        def incident(self) -> Incident | None: ...

        def record(
            self,
            operation: Callable[[Room], Any],
            *,
            done: str = "",
            on_error: Callable[[str], None] | None = None,
            label: str = "",
        ) -> None: ...

        def need_incident(self) -> Incident | None: ...

        def from_thread(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None: ...

        def changed_locally(self) -> None: ...

        def logs_pane(self) -> LogsPane: ...

        def close_incident(self, incident: Incident) -> None: ...

        def begin_closing(self) -> None: ...

        def open_after(self, read: Callable[[Room], Any], show: Callable[[Any], object], label: str) -> None: ...

else:
    Host = object
