"""Fuzz (hypothesis): what users and teammates can feed warroom never escapes as an exception.

- config: arbitrary text as warroom.toml, and arbitrary structures (keys of the real schema
  and others, values of every TOML type) written by a tiny TOML writer: `config.load`
  returns a Config or raises ConfigError, nothing else;
- event decoder: arbitrary rows (well-formed and garbage columns, bodies of any JSON or none)
  through events.from_row (only ValueError/RecursionError, which the store quarantines),
  events.problem, state.fold, the countdown and the post-mortem export: nothing raises;
- log lines: sanitize and parse_line output holds no ESC, no C0 control (LF only when
  multiline) and no C1 control, and markup-looking text stays literal text once on screen;
- markdown export: arbitrary titles, entries and fields give CommonMark whose headings,
  tables and row counts are those of a benign export (tests/test_export.py covers the
  escaping in depth; this is the same promise over fully arbitrary text).

    make test                                          # a few seconds
    HYPOTHESIS_PROFILE=... / --hypothesis-seed=N       # as usual with hypothesis
"""

from __future__ import annotations

import json
import math
import tomllib
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.console import Console
from rich.text import Text

from warroom import config as config_mod
from warroom.errors import ConfigError
from warroom.paths import DATA_DIR
from warroom.playbook import export, report
from warroom.record.events import KINDS, SCHEMAS, Event, from_row, problem
from warroom.record.fold import fold
from warroom.record.model import update_countdown
from warroom.sources.fastpath import parse_line
from warroom.text.sanitize import sanitize

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.function_scoped_fixture])
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
CONFIG = config_mod.load(DATA_DIR / "demo" / "warroom.toml", environ={"DEMO_URL": "http://127.0.0.1:1"})

# --- config ---------------------------------------------------------------------------------

CONFIG_KEYS = ["severity_profile", "roles", "checklist", "check", "log", "escalation", "contact", "paths",
               "name", "kind", "every", "timeout", "url", "method", "headers", "expect_status", "expect_json",
               "max_latency", "sample", "down_above", "degraded_above", "command", "file", "restart", "buffer",
               "after", "to", "severities", "role", "reach", "db", "runbooks", "templates", "status", "level",
               "id", "label", "acknowledge_within", "update_every"]
WORDS = ["10s", "1m", "90s", "2h", "0s", "-5s", "1.5m", "forever", "${TOKEN}", "${}", "$", "${A", "P1", "P2", "SEV1",
         "P1-P4", "SEV1-SEV4", "P0-P3", "../warroom.toml", "/", "http", "metrics", "statuspage", "command", "nope",
         "http://127.0.0.1:1/health", "https://x.invalid", "ftp://x", "ok", "a.b", 'error_ratio{service="api"}',
         "Incident Commander", "GET", ""]
scalars = st.one_of(st.text(max_size=12), st.sampled_from(WORDS), st.integers(-2**63, 2**63 - 1),
                    st.floats(allow_nan=False), st.booleans())
keys = st.one_of(st.sampled_from(CONFIG_KEYS), st.text(max_size=6))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
                      max_leaves=16)
tables = st.dictionaries(st.sampled_from(CONFIG_KEYS), values, max_size=8)
check_tables = st.fixed_dictionaries({"name": st.sampled_from(["api", "db", "api"]),
                                      "kind": st.sampled_from(["http", "metrics", "statuspage", "command", "x"])},
                                     optional={key: values for key in CONFIG_KEYS[10:25]})
documents = st.fixed_dictionaries({}, optional={
    "severity_profile": st.one_of(st.sampled_from(["P1-P4", "SEV1-SEV4", "P0-P3", "nope", "../x.toml"]), values),
    "roles": values, "checklist": values, "paths": st.one_of(tables, values),
    "check": st.one_of(st.lists(check_tables, max_size=3), values),
    "log": st.one_of(st.lists(tables, max_size=3), values),
    "escalation": st.one_of(st.lists(tables, max_size=3), values),
    "contact": st.one_of(st.lists(tables, max_size=3), values),
}) | st.dictionaries(keys, values, max_size=6)


def toml_string(text: str) -> str:
    # JSON's escapes are TOML's (\" \\ \n \uXXXX ...); TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value) -> str:
    """A tiny TOML writer: inline tables and arrays only, which is all TOML needs."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(data: dict) -> str:
    return "".join(f"{toml_string(key)} = {toml_value(value)}\n" for key, value in data.items())


def load_only_config_errors(folder: Path, text: str) -> None:
    path = folder / "warroom.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        loaded = config_mod.load(path, environ={"TOKEN": "s3cr3t-token-value"})
    except ConfigError as exc:
        message = str(exc)
        assert "warroom.toml" in message or ".toml" in message, message  # names the file
        assert "Traceback" not in message
        return
    assert loaded.severity.levels


@FUZZ
@given(text=st.text(max_size=400))
@example(text="check = [{name = 'a', kind = 'http', url = 'http://x', headers = {A = 1}}]")
@example(text="log = [{name = 'a', command = [1, 2]}]")
@example(text="severity_profile = 3")
@example(text="[[check]]\nname = 'x'\nkind = 'metrics'\nurl = 'http://x'\nsample = 's'\ndown_above = 'x'\n")
@example(text="\x00\ufeff= =")
def test_config_text_raises_only_config_error(tmp_path_factory, text: str):
    load_only_config_errors(tmp_path_factory.mktemp("cfg"), text)


@FUZZ
@given(data=documents)
def test_config_structures_raise_only_config_error(tmp_path_factory, data: dict):
    text = toml_document(data)
    assert tomllib.loads(text) == data  # the writer is right: the parser sees exactly `data`
    load_only_config_errors(tmp_path_factory.mktemp("cfg"), text)


# --- the event decoder ----------------------------------------------------------------------

INC = "aaaaaaaa-0000-4000-8000-000000000001"
uuids = st.one_of(st.just(INC), st.uuids(version=4).map(str))
good_hlc = st.integers(10**12, 10**13 - 1).map(lambda ms: f"{ms:013d}.{0:05d}")
good_at = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)).map(
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z")
extreme_at = st.sampled_from(["9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z",
                              "8999-12-31T23:59:59.999Z", "2026-02-29T10:00:00.000Z", "2024-02-29T10:00:00.000Z"])
junk = st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=20), st.binary(max_size=10), st.booleans())
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False, allow_infinity=False),
                                     st.text(max_size=30), st.sampled_from(["note", "P1", "resolved", "title",
                                                                            "detected_at", INC])),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=3),
                           max_leaves=10)
body_keys = sorted({key for schema in SCHEMAS.values() for key in schema} | {"field", "value"})


TYPED = {str: st.one_of(st.text(max_size=30), st.sampled_from(["note", "decision", "finding", "resolved", "closed",
                                                             "P1", "Scribe", "root_cause", "detected_at", INC,
                                                             "2026-11-24T14:00:00.000Z", "9999-12-31T23:59:00.000Z"])),
         int: st.one_of(st.integers(-5, 2000), st.integers(-2**70, 2**70)), list: st.lists(json_values, max_size=3)}


@st.composite
def bodies(draw, kind: str) -> object:
    roll = draw(st.integers(0, 9))
    if roll == 0:
        return draw(junk)
    if roll == 1:
        return draw(st.text(max_size=40))  # not JSON, or not an object
    if roll == 2:
        return "[" * draw(st.integers(1, 5000)) + "]" * draw(st.integers(0, 5000))  # deep nesting
    if roll == 3:
        body = draw(st.dictionaries(st.sampled_from(body_keys), json_values, max_size=6))
    else:  # the kind's own keys, mostly of the right type: reaches the fold's every branch
        body = {}
        for key, (typ, _required) in SCHEMAS.get(kind, {}).items():
            pick = draw(st.integers(0, 9))
            if pick == 0:
                continue
            body[key] = draw(json_values) if pick == 1 else draw(TYPED[typ])
    return json.dumps(body, ensure_ascii=draw(st.booleans()), allow_nan=False)


@st.composite
def rows(draw) -> dict:
    def column(good):
        return draw(st.one_of(good, junk)) if draw(st.integers(0, 12)) == 0 else draw(good)

    kind = draw(st.sampled_from(KINDS + ("bogus.kind",)))
    return {"id": column(uuids), "incident": column(st.just(INC) | uuids), "hlc": column(good_hlc),
            "author": column(st.text(min_size=1, max_size=12)), "kind": column(st.just(kind)),
            "at": column(st.one_of(good_at, extreme_at)), "body": draw(bodies(kind))}


DECLARED = {"id": INC, "incident": INC, "hlc": "1795536000000.00000", "author": "alice", "kind": "incident.declared",
            "at": "2026-11-24T14:00:00.000Z", "body": json.dumps({"title": "t", "severity": "P1"})}


@FUZZ
@given(st.lists(rows(), max_size=25))
@example([dict(DECLARED, at="9999-12-31T23:59:00.000Z"),
          dict(DECLARED, id=str(uuid.uuid4()), hlc="1795536000001.00000", kind="update.snoozed",
               at="9999-12-31T23:59:00.000Z", body=json.dumps({"minutes": 30, "reason": "r"}))])
@example([dict(DECLARED, body=json.dumps({"title": "t", "severity": "P1", "detected_at": "9999-12-31T23:59:00.000Z"}))])
def test_event_decoder_fold_and_views_never_raise(rows: list[dict]):
    events = []
    for row in [DECLARED] + rows:
        try:
            event = from_row(row)
        except (ValueError, RecursionError):  # what the store quarantines as undecodable
            continue
        reason = problem(event)
        assert reason is None or isinstance(reason, str)
        events.append(event)
    state = fold(events, CONFIG.roles)
    assert len(state.quarantined) <= len(events)
    for incident in state.incidents.values():
        level = CONFIG.severity.level(incident.severity)
        update_countdown(incident, level.update_every if level else 900, NOW)
        export.postmortem(incident, CONFIG, NOW)
    report.report(state, CONFIG)
    report.report(state, CONFIG, by="month")


# --- log lines ------------------------------------------------------------------------------

HOSTILE = ["\x1b[31m", "\x1b]0;title\x07", "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "\x1b]52;c;aGk=\x07",
           "\x9b2J", "\x1bc", "\x07", "\r", "\r\n", "\n", "\x00", "\x7f", "\x85", "\u2028", "\u202e", "\t",
           "[bold red]", "[/]", "[@click=app.quit]x[/]", "[link=http://e]y[/link]", ":smile:", "\\[", "$name",
           "{{title}}", "\ud800", "é", "😀", "Bearer abcdefghijklmnop", "password=hunter2"]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)), max_size=12).map("".join)
hostile_bytes = st.one_of(st.binary(max_size=60), hostile_text.map(lambda s: s.encode("utf-8", "surrogatepass")))
FORBIDDEN_SINGLE = {chr(c) for c in range(0x20)} | {chr(0x7f)} | {chr(c) for c in range(0x80, 0xA0)}
FORBIDDEN_MULTI = FORBIDDEN_SINGLE - {"\n"}
CONSOLE = Console(width=400, color_system="truecolor", force_terminal=True, markup=True, emoji=True,
                  highlight=False, legacy_windows=False)


def shown_literally(text: str) -> None:
    """On screen, text wrapped in Text is exactly its characters: no markup, no emoji codes, no style."""
    assert Text(text).plain == text
    segments = list(Text(text, end="").render(CONSOLE))
    assert "".join(segment.text for segment in segments) == text
    assert all(not segment.style for segment in segments)


def assert_inert(out: str, multiline: bool) -> None:
    bad = (FORBIDDEN_MULTI if multiline else FORBIDDEN_SINGLE) & set(out)
    assert not bad, f"controls left in {out!r}: {sorted(map(hex, map(ord, bad)))}"
    assert not any("\ud800" <= ch <= "\udfff" for ch in out)
    shown_literally(out)


@FUZZ
@given(st.one_of(hostile_text, hostile_bytes), st.booleans(), st.integers(1, 200))
def test_sanitizer_output_is_inert(raw, multiline: bool, limit: int):
    out = sanitize(raw, limit=limit, multiline=multiline)
    assert isinstance(out, str)
    assert_inert(out, multiline)


@FUZZ
@given(st.one_of(hostile_text, hostile_bytes, hostile_text.map(lambda s: json.dumps({"level": s, "msg": s,
                                                                                     "time": s}))))
def test_log_lines_are_inert(raw):
    line = parse_line(raw, "api", 1)
    assert_inert(line.text, multiline=False)
    assert line.level in (None, "debug", "info", "warn", "error")
    assert line.at is None or line.at.tzinfo is not None


# --- the markdown export --------------------------------------------------------------------

MD = MarkdownIt("commonmark").enable("table")


def shape(markdown: str) -> dict:
    """Headings (level, how many), tables (rows and cells per row), list items."""
    tokens = MD.parse(markdown)
    headings, tables, items = [], [], 0
    for token in tokens:
        if token.type == "heading_open":
            headings.append(token.tag)
        elif token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            tables[-1].append(0)
        elif token.type in ("th_open", "td_open"):
            tables[-1][-1] += 1
        elif token.type == "list_item_open":
            items += 1
    return {"headings": headings, "tables": tables, "items": items}


def incident_doc(title: str, entries: list[str], field: str, update: str) -> str:
    def event(n: int, kind: str, body: dict) -> Event:
        event_id = INC if kind == "incident.declared" else str(uuid.UUID(int=n, version=4))
        return Event(event_id, INC, f"{1795536000000 + n:013d}.00000", "alice", kind,
                     f"2026-11-24T14:{n % 60:02d}:00.000Z", body)

    events = [event(0, "incident.declared", {"title": title, "severity": "P1", "impact": field})]
    events += [event(i + 1, "entry.logged", {"text": text, "type": "note"}) for i, text in enumerate(entries)]
    events += [event(50, "incident.field", {"field": "root_cause", "value": field}),
               event(51, "update.posted", {"text": update, "template": "internal-update"}),
               event(52, "action.added", {"text": field, "owner": title, "priority": "high"}),
               event(53, "incident.status", {"status": "resolved"})]
    state = fold(events, CONFIG.roles)
    assert not state.quarantined, state.quarantined
    return export.postmortem(state.incidents[INC], CONFIG, NOW)


any_text = st.text(min_size=1, max_size=60).filter(lambda s: s.strip())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text, st.lists(any_text, max_size=5), st.text(max_size=80), any_text)
def test_export_structure_cannot_be_broken_by_any_text(title, entries, field, update):
    doc = incident_doc(title, entries, field, update)
    benign = incident_doc("benign", ["benign entry"] * len(entries), "benign field", "benign update")
    assert shape(doc) == shape(benign)


def test_year_9999_from_a_pulled_record_is_quarantined_not_a_crash():
    """Regression: 9999-12-31 + a snooze or an update cadence raised OverflowError in the fold
    and the countdown, for every reader of a record a teammate had pushed."""
    snooze = dict(DECLARED, id=str(uuid.uuid4()), hlc="1795536000001.00000", kind="update.snoozed",
                  at="9999-12-31T23:59:00.000Z", body=json.dumps({"minutes": 30, "reason": "r"}))
    state = fold([from_row(DECLARED), from_row(snooze)], CONFIG.roles)
    assert [q.reason for q in state.quarantined] == ["malformed time"]
    declared = fold([from_row(dict(DECLARED, at="9999-12-31T23:59:00.000Z"))], CONFIG.roles)
    assert not declared.incidents and declared.quarantined


@pytest.mark.parametrize("text", ["[bold red]x[/]", "[@click=app.quit]click[/]", ":smile: $name",
                                  "[link=http://evil.invalid]y[/link]", "\\[b]not bold\\[/b]"])
def test_markup_looking_log_text_is_shown_as_written(text: str):
    line = parse_line(text, "api", 1)
    assert line.text == text
    shown_literally(line.text)
