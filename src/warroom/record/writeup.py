"""The written fields of an incident: the post-mortem's sections and the facts the guides'
status templates ask for. One table, read by `warroom set`, the post-mortem screen, the
templates and the export, so a field cannot be known to one and missing from another."""

from __future__ import annotations

from dataclasses import dataclass

from warroom.record.events import INCIDENT_FIELDS, LIST_FIELDS


@dataclass(frozen=True)
class WrittenField:
    name: str  # as `warroom set` and `{{placeholders}}` spell it
    label: str  # the post-mortem's heading, the screen's row
    asks: str  # what to write, shown while it is not written yet

    @property
    def is_list(self) -> bool:
        return self.name in LIST_FIELDS


# The post-mortem's sections, in the order the document and the screen show them.
POSTMORTEM_FIELDS: tuple[WrittenField, ...] = (
    WrittenField("summary", "Summary", "what happened, in two or three sentences"),
    WrittenField("detection", "Detection", "how the incident was found: an alert, a customer, a teammate"),
    WrittenField("users_affected", "Users affected", "how many users, and which ones"),
    WrittenField("requests_failed", "Requests failed", "how many requests failed, and over what time"),
    WrittenField("business_impact", "Business impact", "orders, revenue, support tickets, promises missed"),
    WrittenField("root_cause", "Root cause", "why it happened"),
    WrittenField(
        "contributing_factors",
        "Contributing factors",
        "what made it likelier, harder to see or slower to fix (one per entry)",
    ),
    WrittenField("resolution", "Resolution", "what fixed it"),
    WrittenField("prevention", "Prevention", "what will keep it from happening again"),
    WrittenField("went_well", "What went well", "what helped the response"),
    WrittenField("could_improve", "What could be improved", "what slowed the response down"),
)
# What status updates ask for while the incident runs (not sections of the post-mortem).
UPDATE_FIELDS: tuple[WrittenField, ...] = (
    WrittenField("workaround", "Workaround", "what users can do meanwhile"),
    WrittenField("next_steps", "Next steps", "what the responders do next"),
    WrittenField("help_needed", "Help needed", "who or what the responders need"),
)
WRITTEN_FIELDS = POSTMORTEM_FIELDS + UPDATE_FIELDS
BY_NAME = {f.name: f for f in WRITTEN_FIELDS}
assert set(BY_NAME) <= set(INCIDENT_FIELDS), "every written field must be a field the record takes"


def not_written(field: WrittenField) -> str:
    """What a message shows for a field nobody has written yet: a prompt, never `{{name}}`
    (the export's markdown form of it is text/markdown.placeholder)."""
    return f"(not written yet: {field.asks})"
