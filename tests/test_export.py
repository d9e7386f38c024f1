"""The post-mortem and the report: valid CommonMark whose structure no entry can break."""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from test_state import random_events

from warroom import config as config_mod
from warroom.paths import DATA_DIR
from warroom.playbook import export, report
from warroom.text.markdown import md_line
from warroom.record.clock import FrozenClock
from warroom.record.events import Event
from warroom.record.fold import fold
from warroom.record.room import Room
from warroom.record.writeup import BY_NAME

MD = MarkdownIt("commonmark").enable("table")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
CONFIG = config_mod.load(DATA_DIR / "demo" / "warroom.toml", environ={"DEMO_URL": "http://127.0.0.1:1"})
SECTIONS = ["Summary", "Key times", "Responders", "Timeline", "Detection", "Impact", "Users affected",
            "Requests failed", "Business impact", "Root cause", "Contributing factors", "Resolution", "Prevention",
            "Contacts", "Status updates sent", "Action items", "Lessons learned", "What went well",
            "What could be improved", "Other lessons", "Appendix: every event", "Appendix: pinned log excerpts"]
# The written fields (record/writeup.py) each hypothesis example fills with its own text.
WRITTEN = ["summary", "detection", "requests_failed", "business_impact", "contributing_factors", "prevention",
           "could_improve", "lessons"]
LISTS = ["contributing_factors"]


def inline_text(token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "html_inline" and child.content == "<br>":
            parts.append(" ")
    return "".join(parts)


def norm(text: str) -> str:
    return " ".join(re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text).split())


def structure(markdown: str) -> dict:
    """What must not change whatever the record says: headings, tables, lists, blocks, links."""
    tokens = MD.parse(markdown)
    headings, tables, blocks, inline = [], [], Counter(), Counter()
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            headings.append((token.tag, inline_text(tokens[index + 1])))
        elif token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            tables[-1].append(0)
        elif token.type in ("th_open", "td_open"):
            tables[-1][-1] += 1
        if token.type not in ("paragraph_open", "paragraph_close", "inline"):
            blocks[token.type] += 1
        for child in token.children or []:
            if child.type in ("link_open", "image", "code_inline", "html_inline") and child.content != "<br>":
                inline[child.type] += 1
    return {"headings": headings, "tables": tables, "blocks": blocks, "inline": inline}


def section(markdown: str, title: str) -> list[str]:
    """The text of each paragraph under a heading, up to the next heading."""
    tokens = MD.parse(markdown)
    out, inside = [], False
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            inside = inline_text(tokens[index + 1]) == title
        elif inside and token.type == "inline" and tokens[index - 1].type == "paragraph_open":
            out.append(inline_text(token))
    return out


# --- one incident, made from whatever text hypothesis throws at it ---------------------

INC = "aaaaaaaa-0000-4000-8000-000000000001"


class Make:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, kind: str, body: dict, author: str = "alice", minutes: int = 0) -> Event:
        self.n += 1
        event_id = INC if kind == "incident.declared" else str(uuid.UUID(int=self.n, version=4))
        return Event(id=event_id, incident=INC, hlc=f"{1764000000000 + self.n:013d}.00000", author=author,
                     kind=kind, at=f"2026-11-24T14:{minutes + self.n:02d}:00.000Z", body=body)


def incident_with(t: dict[str, str]):
    make = Make()
    events = [
        make("incident.declared", {"title": t["title"], "severity": "P1", "impact": t["impact"]}),
        make("role.assigned", {"role": t["role"], "person": t["person"]}),
        make("role.assigned", {"role": "Scribe", "person": t["person"]}),
        make("entry.logged", {"text": t["entry"], "type": "note", "source": t["source"]}, author=t["author"]),
        make("entry.logged", {"text": t["entry"], "type": "finding"}),
        make("incident.field", {"field": "root_cause", "value": t["root_cause"]}),
        make("incident.field", {"field": "resolution", "value": t["resolution"]}),
        make("incident.field", {"field": "went_well", "value": t["went_well"]}),
        make("incident.field", {"field": "affected_users", "value": t["affected_users"]}),
        *[make("incident.field", {"field": name, "value": t[name]}) for name in WRITTEN if name not in LISTS],
        # two factors, each with visible text of its own: an empty value would clear the list
        make("incident.field", {"field": "contributing_factors", "value": "one: " + t["contributing_factors"]}),
        make("incident.field", {"field": "contributing_factors", "value": "two: " + t["contributing_factors"]}),
        make("update.posted", {"text": t["update"], "template": t["template"]}),
        make("action.added", {"text": t["action"], "owner": t["owner"], "due": t["due"],
                              "priority": t["priority"]}),
        make("check.flipped", {"check": t["entry"], "previous": "up", "current": "down", "reason": t["entry"]}),
        make("command.ran", {"command": t["entry"], "exit_code": 1, "output": t["entry"]}),
        make("incident.status", {"status": "resolved", "note": t["entry"]}),
    ]
    state = fold(events, CONFIG.roles)
    assert state.quarantined == []
    return state


KEYS = ["title", "impact", "role", "person", "entry", "source", "author", "root_cause", "resolution", "went_well",
        "affected_users", "update", "template", "action", "owner", "due", "priority", *WRITTEN]
BENIGN = {key: f"benign {key}" for key in KEYS}
BENIGN_STATE = incident_with(BENIGN)
BENIGN_DOC = export.postmortem(BENIGN_STATE.incidents[INC], CONFIG, NOW)
BENIGN_STRUCTURE = structure(BENIGN_DOC)

FRAGMENTS = ["|", "\\|", "\n", "\n\n", "\r\n", "# ", "## x", "```", "~~~", "<script>alert(1)</script>", "[x](y)",
             "![i](j)", "-->", "<!--", "- ", "* ", "1. ", "2) ", "> ", "---", "===", ":---", "    code", "\t",
             "&amp;", "&#35;", "`", "**", "_", "\\", "<br>", "{{title}}", "http://x.y", "<http://x.y>", " #",
             "[a]: /b", "+ ", "|---|---|", "\x00", "\x1b[31m", "\u2028", "é", "😀"]
nasty = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), min_size=1, max_size=8).map("".join)
nasty_required = nasty.filter(lambda s: s.strip() != "")


def test_benign_export_has_every_section_and_is_commonmark():
    headings = [text for _, text in BENIGN_STRUCTURE["headings"]]
    assert headings[0] == "Post-mortem: benign title"
    assert headings[1:] == SECTIONS
    # key times, responders, the timeline's story, contacts (the demo's warroom.toml has some),
    # action items, every event (appendix)
    assert len(BENIGN_STRUCTURE["tables"]) == 6
    assert set(BENIGN_STRUCTURE["tables"][0]) == {3}  # milestone, UTC, after detection
    assert len(BENIGN_STRUCTURE["tables"][0]) == 7  # header + six key times
    story_rows = BENIGN_STRUCTURE["tables"][2]
    # the field settings and the flip leave the story; the flip comes back as one summary row
    timeline = BENIGN_STATE.incidents[INC].timeline
    settings = sum(1 for entry in timeline if entry.auto == "field")
    assert settings >= 4
    assert len(story_rows) == 1 + len(timeline) - settings - 1 + 1
    assert set(story_rows) == {4}
    assert BENIGN_STRUCTURE["tables"][3] == [3] * (1 + len(CONFIG.contacts))
    assert BENIGN_STRUCTURE["tables"][4] == [5, 5]
    every_event = BENIGN_STRUCTURE["tables"][5]
    assert len(every_event) == 1 + len(BENIGN_STATE.incidents[INC].timeline)
    assert set(every_event) == {4}
    assert BENIGN_STRUCTURE["blocks"]["fence"] == 2  # the diagram, the pinned excerpt
    assert BENIGN_STRUCTURE["inline"] == Counter()
    assert "{{" not in BENIGN_DOC


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
@given(st.fixed_dictionaries({key: nasty_required if key in ("title", "role", "author", "template", "source")
                              else nasty for key in KEYS}))
@example(dict(BENIGN, title="Deploy #4812 broke checkout #", priority="| high |\n", role="Chef\n# x"))
@example(dict(BENIGN, root_cause="1. bad deploy\n2) no canary\n\n---\n```\n<script>x</script>\n    code",
              entry="a | b\n|---|---|\n| c | d |", action="[x](y) -->", title="#"))
@example(dict(BENIGN, root_cause="|\n\x1b", entry="a\n\x07", action="b\n\x1b"))  # a line of only controls
@example(dict(BENIGN, went_well="|\n:---"))  # a delimiter row under a line holding a "|": a table
def test_record_text_cannot_break_the_structure(texts):
    texts = {k: (v if k != "author" else v[:200]) for k, v in texts.items()}
    state = incident_with(texts)
    doc = export.postmortem(state.incidents[INC], CONFIG, NOW)
    got = structure(doc)
    assert got["headings"][1:] == BENIGN_STRUCTURE["headings"][1:]
    level, title = got["headings"][0]
    assert (level, norm(title)) == ("h1", norm("Post-mortem: " + texts["title"]))
    assert got["tables"] == BENIGN_STRUCTURE["tables"]
    assert got["blocks"] == BENIGN_STRUCTURE["blocks"]
    assert got["inline"] == Counter()
    # Free text reads back as written (whitespace aside), escapes and all.
    for heading, key in (("Root cause", "root_cause"), ("Detection", "detection"), ("Prevention", "prevention")):
        written = section(doc, heading)
        expected = norm(texts[key])
        assert norm(" ".join(written)) == (expected or norm(export.placeholder(BY_NAME[key].asks).strip("*")))


@settings(max_examples=300, deadline=None)
@given(nasty)
def test_escaped_line_reads_back_as_written(text):
    rendered = MD.parse("x " + export.md_inline(text))
    assert [t.type for t in rendered] == ["paragraph_open", "inline", "paragraph_close"]
    assert norm(inline_text(rendered[1])) == norm("x " + text)


def scenario_room(room: Room, clock: FrozenClock) -> None:
    room.declare("Checkout returns 500", "P1", impact="EU shoppers cannot pay",
                 detected_at=datetime(2026, 11, 24, 14, 50, tzinfo=timezone.utc))
    clock.advance(minutes=5)
    room.acknowledge(room.incident())
    room.log(room.incident(), "Rolled back deploy 4812", "action")
    clock.advance(minutes=20)
    room.set_status(room.incident(), "resolved")


def test_placeholders_for_unknown_fields(room: Room, clock: FrozenClock):
    scenario_room(room, clock)
    doc = export.postmortem(room.state.ordered[0], room.config, NOW)
    for what in ("why it happened", "what fixed it", "what helped the response", "how the incident was found: an "
                 "alert, a customer, a teammate", "action items, each with an owner and a due date",
                 "how many users, and which ones"):
        assert export.placeholder(what) in doc
    assert "- **Duration:** 35m" in doc  # detected 14:50, resolved 15:25
    assert "- **Time to acknowledge (MTTA):** 15m" in doc
    assert "| Detected | Tue 24 Nov 2026 14:50 |" in doc
    assert "{{" not in doc
    tokens = MD.parse(doc)
    assert any(t.type == "table_open" for t in tokens)
    room.set_field(room.state.ordered[0], "root_cause", "A config push removed the DB pool limit")
    doc = export.postmortem(room.state.ordered[0], room.config, NOW)
    assert section(doc, "Root cause")[0] == "A config push removed the DB pool limit"
    assert export.placeholder("why it happened") not in doc


def test_invisible_field_text_gets_the_placeholder():
    texts = dict(BENIGN, root_cause="\x01\x02")
    doc = export.postmortem(incident_with(texts).incidents[INC], CONFIG, NOW)
    assert export.placeholder("why it happened") in doc


def test_own_template_and_unknown_placeholder_left_visible(room: Room, clock: FrozenClock):
    scenario_room(room, clock)
    template = "# {{incident_id}}: {{title}}\n\nRoot cause: {{root_cause}}\n\nOwner: {{team_owner}}\n"
    doc = export.postmortem(room.state.ordered[0], room.config, NOW, template)
    short = room.state.ordered[0].short_id
    assert doc.startswith(f"# {short}: Checkout returns 500\n")
    assert "{{team_owner}}" in doc


def test_report_metrics_by_severity(room: Room, clock: FrozenClock):
    start = clock.now()
    # P1: acknowledged after 10 min, resolved after 60; a second P1: 20 and 120.
    for ack, resolve in ((10, 60), (20, 120)):
        room.declare(f"P1 after {resolve}", "P1")
        clock.advance(minutes=ack)
        room.acknowledge(room.incident())
        clock.advance(minutes=resolve - ack)
        room.set_status(room.incident(), "resolved")
        clock.advance(hours=5)
    room.declare("still open", "P3", detected_at=clock.now())
    # An hour before detection (now): a time in the future would be refused.
    room.set_field(room.incident(), "impact_started_at", "2026-11-25T03:00:00Z")
    text = report.report(room.heads(), room.config)  # what `warroom report` reads: heads, no timelines
    assert text == report.report(room.state, room.config)
    assert start
    lines = text.splitlines()
    metrics = lines[lines.index("## Response metrics by severity") + 4:]
    p1 = next(line for line in metrics if line.startswith("| P1 "))
    # mean, median, p90 of 10m and 20m; of 1h and 2h (p90: 90% of the way from the first to the second)
    assert [c.strip() for c in p1.strip("|").split("|")] == [
        "P1", "2", "15m · 15m · 19m", "1h 30m · 1h 30m · 1h 54m", "n/a"]
    p3 = next(line for line in metrics if line.startswith("| P3 "))
    cells = [c.strip() for c in p3.strip("|").split("|")]
    assert cells[:2] == ["P3", "1"] and cells[3] == "n/a"
    assert cells[4] != "n/a"  # impact start to detection is known
    log_rows = [line for line in lines if line.startswith("| 2026-")]
    assert len(log_rows) == 3
    assert structure(text)["tables"][0][0] == 7


def test_write_atomic_leaves_no_temp_file_and_a_shareable_mode(tmp_path: Path):
    out = tmp_path / "exports" / "pm.md"
    export.write_atomic(out, "hello\n")
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would make it, not mkstemp's 0600
    out.chmod(0o640)
    export.write_atomic(out, "again\n")
    assert out.read_text() == "again\n"
    assert out.stat().st_mode & 0o777 == 0o640  # a rewrite keeps the mode the user chose
    assert [p.name for p in out.parent.iterdir()] == ["pm.md"]


def reference_md_line(text: str) -> str:
    """The escaper written plainly, with no fast paths: the oracle for md_line and md_cell."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text).strip()
    text = re.sub(r"([\\`*_\[\]<>|~&!#])", r"\\\1", text)
    match = re.match(r"([+\-=:]|\d+[.)])", text)
    if match:
        mark = match.group(1)
        escaped = mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark
        text = escaped + text[len(mark):]
    return text


@settings(max_examples=400, deadline=None)
@given(st.one_of(nasty, st.text(max_size=40)))
@example("|\n\x08")  # a line of only controls
def test_fast_paths_agree_with_the_plain_escaper(text):
    assert md_line(text.replace("\n", " ").replace("\r", " ")) == \
        reference_md_line(text.replace("\n", " ").replace("\r", " "))
    lines = text.replace("\r", "\n").split("\n")
    # a line with nothing left once escaped (blank, or only controls) is left out
    assert export.md_cell(text) == "<br>".join(md for md in map(reference_md_line, lines) if md)


@pytest.mark.parametrize("text, expected", [("1. first", "1. first"), ("12) x", "12) x"), ("# no", "# no"),
                                            ("a | b", "a | b"), ("<b>x</b>", "<b>x</b>"), ("title #", "title #")])
def test_md_line_examples(text: str, expected: str):
    tokens = MD.parse(md_line(text))
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    assert inline_text(tokens[1]) == expected


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_events())
def test_any_record_exports_and_reports_without_crashing(events):
    """Whatever a pulled record holds, what the fold accepts can be exported, reported and announced."""
    from warroom.playbook import templates

    state = fold(events, CONFIG.roles)
    for incident in state.incidents.values():
        doc = export.postmortem(incident, CONFIG, NOW)
        assert structure(doc)["headings"][1:] == BENIGN_STRUCTURE["headings"][1:]
        values = templates.values_for(incident, CONFIG, NOW)
        for name in ("handoff", "initial-alert", "statuspage-resolved"):
            # every placeholder filled (a record's own text may hold "{{": it is shown as written)
            assert not templates.unknown_placeholders(templates.load_template(name, CONFIG), values)
            assert templates.render(name, incident, CONFIG, NOW).strip()
    text = report.report(state, CONFIG)
    assert len(structure(text)["tables"]) >= 1
    assert len(structure(report.report(state, CONFIG, by="month"))["tables"]) >= 1


def test_explicit_nulls_export():
    from test_state import null_valued_events

    state = fold(null_valued_events(), CONFIG.roles)
    (incident,) = state.incidents.values()
    doc = export.postmortem(incident, CONFIG, NOW)
    assert structure(doc)["headings"][1:] == BENIGN_STRUCTURE["headings"][1:]
    assert "| a | unassigned | not set | medium | open |" in doc
