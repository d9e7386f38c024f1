"""The post-mortem's Mermaid gantt (issue 18 item 2): every line one of the grammar's forms,
dates in order, and record text unable to break a line, open a section or end the block."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_export import CONFIG, FRAGMENTS, MD

from warroom.playbook import export
from warroom.playbook.mermaid import mermaid_text
from warroom.record.events import Event
from warroom.record.fold import fold

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
INC = "bbbbbbbb-0000-4000-8000-000000000001"
DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
NAME = r"[^:#;`\n\r]+"
FORMS = {
    "gantt": re.compile(r"gantt"),
    "title": re.compile(rf"    title {NAME}"),
    "dateFormat": re.compile(r"    dateFormat YYYY-MM-DD HH:mm:ss"),
    "axisFormat": re.compile(r"    axisFormat %H:%M"),
    "section": re.compile(rf"    section {NAME}"),
    "bar": re.compile(rf"    (?P<name>{NAME}) :(?P<tag>done|active|crit), (?P<id>[a-z][a-z0-9]*), "
                      rf"(?P<start>{DATE}), (?P<end>{DATE})"),
    "milestone": re.compile(rf"    (?P<name>{NAME}) :milestone, (?P<id>[a-z][a-z0-9]*), (?P<start>{DATE}), 0m"),
}


def gantt_lines(doc: str) -> list[str]:
    """The lines of the one ```mermaid block, checked to be its only fence of that kind."""
    fences = [t for t in MD.parse(doc) if t.type == "fence" and t.info == "mermaid"]
    assert len(fences) == 1
    return fences[0].content.rstrip("\n").split("\n")


def check_grammar(lines: list[str]) -> dict[str, list[re.Match[str]]]:
    """Each line matches exactly one form; the header comes first; ids are unique; a bar ends
    no earlier than it starts; phases and key moments come in time order."""
    assert lines[0] == "gantt"
    found: dict[str, list[re.Match[str]]] = {form: [] for form in FORMS}
    sections: list[tuple[str, list[re.Match[str]]]] = []
    for line in lines[1:]:
        forms = [(name, m) for name, pattern in FORMS.items() if (m := pattern.fullmatch(line))]
        assert len(forms) == 1, f"{line!r} matches {[name for name, _ in forms]}"
        name, match = forms[0]
        found[name].append(match)
        if name == "section":
            sections.append((line[len("    section "):], []))
        elif name in ("bar", "milestone"):
            assert sections, f"{line!r} before any section"
            sections[-1][1].append(match)
    assert [len(found[f]) for f in ("title", "dateFormat", "axisFormat")] == [1, 1, 1]
    tasks = found["bar"] + found["milestone"]
    assert len({m["id"] for m in tasks}) == len(tasks), "task ids must be unique"
    for bar in found["bar"]:
        assert bar["start"] <= bar["end"], bar.group(0)
    for title, members in sections:
        if title in ("Phases", "Key moments"):
            starts = [m["start"] for m in members]
            assert starts == sorted(starts), title
    assert [title for title, _ in sections[:2]] == ["Phases", "Key moments"]
    return found


class Make:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, kind: str, body: dict, minute: int) -> Event:
        self.n += 1
        event_id = INC if kind == "incident.declared" else str(uuid.UUID(int=self.n, version=4))
        return Event(id=event_id, incident=INC, hlc=f"{1764000000000 + self.n:013d}.00000", author="alice",
                     kind=kind, at=f"2026-11-24T14:{minute:02d}:00.000Z", body=body)


def incident(title: str, check: str, severity: str, state: str, resolved: bool = True):
    make = Make()
    events = [
        make("incident.declared", {"title": title, "severity": "P2", "detected_at": "2026-11-24T14:00:00.000Z"}, 1),
        make("incident.acknowledged", {}, 2),
        make("check.flipped", {"check": check, "previous": "up", "current": state}, 3),
        make("incident.severity", {"severity": severity}, 4),
        make("check.flipped", {"check": check, "previous": state, "current": "up"}, 6),
        make("incident.status", {"status": "identified"}, 7),
        make("check.flipped", {"check": check, "previous": "up", "current": "down"}, 8),
        make("incident.status", {"status": "monitoring"}, 9),
    ]
    if resolved:
        events.append(make("incident.status", {"status": "resolved"}, 12))
    state_ = fold(events, CONFIG.roles)
    assert state_.quarantined == []
    return state_.incidents[INC]


def test_a_flapping_incident_draws_phases_moments_and_down_spans():
    found = check_grammar(gantt_lines(export.postmortem(incident("Checkout 500", "checkout-api", "P1", "degraded"),
                                                       CONFIG, NOW)))
    phases = [(m["name"], m["start"][11:16]) for m in found["bar"] if m["id"].startswith("p")]
    assert phases == [("Investigating", "14:01"), ("Identified", "14:07"), ("Monitoring", "14:09")]
    # the resolution ends the phases; the key moments follow in their own section
    assert [m["name"] for m in found["milestone"]] == ["Resolved", "Detected", "Declared", "Acknowledged",
                                                        "Severity P1", "Mitigated"]
    spans = [(m["name"], m["start"][11:16], m["end"][11:16]) for m in found["bar"] if m["id"].startswith("c")]
    # degraded 14:03-14:06, then down from 14:08 until the resolution (14:12): still down when resolved
    assert spans == [("Degraded", "14:03", "14:06"), ("Down", "14:08", "14:12")]
    assert [m.group(0) for m in found["section"]][2] == "    section Check checkout-api"


def test_an_open_incident_runs_to_now_and_its_last_phase_is_active():
    found = check_grammar(gantt_lines(export.postmortem(incident("x", "api", "P1", "down", resolved=False),
                                                       CONFIG, NOW)))
    last = [m for m in found["bar"] if m["id"].startswith("p")][-1]
    assert (last["name"], last["tag"], last["end"]) == ("Monitoring", "active", "2026-11-25 09:00:00")


NASTY = FRAGMENTS + [":", "#", ";", "`", "```", "section x", "\ntitle y", "%%", "#quot;", "click a href", "-->",
                     "dateFormat", "\u2028", "\u0085", "<b>", "&lt;"]
hostile = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=6)), min_size=1, max_size=8).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.text())
@example("a:b#c;d\ne`f")
def test_mermaid_text_keeps_nothing_that_could_break_a_line(text):
    cleaned = mermaid_text(text)
    assert cleaned and cleaned == cleaned.strip() and len(cleaned) <= 60
    assert not set(cleaned) & set(":#;`\n\r<>&%\"'[]{}|\\")
    assert "\u2028" not in cleaned and "\u0085" not in cleaned and "\x1b" not in cleaned


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile.filter(str.strip), hostile.filter(str.strip), hostile.filter(str.strip), hostile.filter(str.strip))
@example("section Evil\n    x :crit, a, 2026", "title t", "P1 :milestone", "down : crit")
def test_record_text_cannot_change_the_gantt(title, check, severity, state):
    if severity == "P2" or state == "up":
        return  # no change to draw, or the check never left up
    doc = export.postmortem(incident(title, check, severity, state), CONFIG, NOW)
    found = check_grammar(gantt_lines(doc))
    assert [m.group(0) for m in found["section"]][:2] == ["    section Phases", "    section Key moments"]
    assert len(found["section"]) == 3 and found["section"][2].group(0).startswith("    section Check ")
    assert len(found["bar"]) == 3 + 2 and len(found["milestone"]) == 6
