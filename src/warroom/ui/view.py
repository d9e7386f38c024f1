"""What the panes are given: the folded state and the incident on screen."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from warroom.config import Config
from warroom.sanitize import sanitize
from warroom.state import Incident, State


@dataclass(frozen=True, eq=False)
class ConsoleView:
    state: State
    incident: Incident | None
    config: Config

    def severity_class(self) -> str:
        """CSS class for the incident's severity colour: sev-0 is the worst level."""
        if self.incident is None:
            return "sev-none"
        return f"sev-{min(3, self.config.severity.rank(self.incident.severity))}"


def inert(text: str, style: str = "", limit: int = 2000) -> Text:
    """Untrusted text as a Text object: never parsed as markup, escapes neutralised."""
    return Text(sanitize(text, limit=limit), style=style, no_wrap=False, end="")
