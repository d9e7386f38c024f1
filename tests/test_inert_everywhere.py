"""Every byte from the record is inert everywhere (DESIGN principle 3; issue 13, "Tests").

A hostile teammate controls every field of every event kind in the copy of the record they
push: titles, severities, impacts, role names and people, entry and edit text, status updates
and their template names, snooze reasons, action items, check flips, commands and their
output, incident fields, authors. Here those fields hold hostile strings (OSC 52 clipboard
writes, OSC 0 titles, CSI, 8-bit C1, bidi overrides, lone surrogates, NUL, BEL, CR, Rich and
Textual markup), written straight into a war room with sqlite3, never through Room.append:

- into the shared exchange copy (warroom.db), as a teammate's pushed file arrives, which the
  next command or the console takes in;
- or into the war room's record itself (.warroom/record.db), as an older warroom stored what
  it imported before every value was made inert there.

Then no ESC, no C0 control but LF and TAB, and no C1 control (U+0080..U+009F) (nor DEL, nor a
bidi control) may reach the output of any CLI command that reads the record (run as
`python -m warroom` subprocesses), any file the project writes (post-mortems, the last status
update, warroom.db as sync and git's merge driver write it), or the console (every pane and
modal as the compositor renders it, the cells of every table and list, toasts, the terminal
title, the clipboard); and markup in record text is shown as written, never interpreted.

Hypothesis draws the strings (a few examples per run: each runs the real CLI or console for
seconds); an explicit example puts every trick at once into every field.

The last tests show that the checks can fail: with the one inert step (events.from_values)
bypassed, a raw ESC reaches a decoded title and the console, and both checks say where; and
Textual draws a raw ESC or C1 it is given and turns a markup string into a click, so a clean
screen is warroom's doing, not Textual's.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from conftest import NOW, Result, run_cli
from console_support import FrozenClock, console_ready, open_room, wait_until
from git_support import git, git_identity, origin  # noqa: F401 (fixtures)
from warroom.record.events import INCIDENT_FIELDS, SCHEMAS, TIME_FIELDS, format_time
from warroom.share.setup import init
from warroom.paths import record_path
from warroom.record.store import Store

# --- what a hostile teammate writes --------------------------------------------------------

HOSTILE = (
    "\x1b]52;c;cm0gLXJmIH4=\x07",                        # OSC 52: the clipboard becomes `rm -rf ~`
    "\x1b]52;c;?\x1b\\",                                 # OSC 52 read request, ended by ST
    "\x1b]0;PWNED-TITLE\x07",                            # OSC 0: the window title
    "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b]2;unterminated title",                         # an OSC never ended
    "\x1b[2J\x1b[H",                                     # clear the screen, cursor home
    "\x1b[31mred\x1b[0m",                                # SGR colours
    "\x1b[6n",                                           # a device status report (the terminal answers)
    "\x1bP+q544e\x1b\\",                                 # DCS
    "\x1b(0", "\x1bc", "\x1b",                           # charset, RIS, a lone ESC
    "\x9b2J", "\x9b31m",                                 # 8-bit CSI
    "\x9d0;c1-title\x9c", "\x9d52;c;cm0gLXJmIH4=\x07",   # 8-bit OSC, ended by ST and by BEL
    "\x90dcs\x9c", "\x85", "\x9f",                       # DCS, NEL, APC
    "\u202eevil.exe\u202c", "\u2066iso\u2069", "\u200f", "\u061c",  # bidi overrides and isolates
    "\ud800", "\udfff",                                  # lone surrogates (JSON can carry them)
    "\x00", "\x07", "\r", "\r\n", "\x08", "\x7f", "\x0b\x0c", "\x1c\x1d\x1e\x1f",
    "\u2028", "\u2029", "\t", "\n",
    "[bold red]x[/]", "[@click=app.quit]click me[/]", "[@click=app.bell]", "[link=https://evil.example]l[/link]",
    "[/]", "[", "\\[b]", "$title", "{{title}}", "| a | b |", "# heading", "<!-- -->",
)
EVERYTHING = "".join(HOSTILE)  # one string carrying every trick at once

# What may not appear anywhere: C0 but LF and TAB (ESC is one), DEL, C1; and, beyond what the
# issue asks, the bidi controls that reorder what is shown (the inert step takes them out too).
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
NAMES = {"\x1b": "ESC", "\x07": "BEL", "\x00": "NUL", "\r": "CR", "\x9b": "CSI (C1)", "\x9d": "OSC (C1)",
         "\u202e": "RLO (bidi)"}


def assert_inert(text: str, where: str) -> None:
    """No ESC, no C0 control but newline and tab, no DEL, no C1 control, no bidi control."""
    found = FORBIDDEN.search(text)
    if found:
        char = found.group()
        start = max(0, found.start() - 40)
        raise AssertionError(f"{where}: {NAMES.get(char, f'U+{ord(char):04X}')} reaches it: "
                             f"{text[start:found.end() + 40]!r}")


fragments = st.sampled_from(HOSTILE)
filler = st.text(st.characters(max_codepoint=0x2FFF), max_size=6)  # controls included
hostile_text = st.tuples(fragments, st.lists(st.one_of(fragments, fragments, filler), max_size=3)).map(
    lambda parts: "".join([parts[0], *parts[1]]))


# --- a record holding it -------------------------------------------------------------------


@dataclass
class Hostile:
    rows: list[tuple] = field(default_factory=list)     # valid events, as a teammate's file holds them
    refused: list[tuple] = field(default_factory=list)  # rows the import quarantines (hostile ids, kinds...)
    covered: set[tuple[str, str]] = field(default_factory=set)  # (kind, key) set to hostile text
    open_id: str = ""     # open, every field hostile
    other_id: str = ""    # open too: "several open incidents"
    closed_id: str = ""   # resolved and closed


def _column(text: str) -> str:
    """A TEXT column cannot hold a lone surrogate (the JSON body can)."""
    return re.sub("[\ud800-\udfff]", "", text)


class _Builder:
    def __init__(self, pick: Callable[[str], str], now: datetime) -> None:
        self.pick = pick
        self.start = now - timedelta(hours=2)
        self.step = 0
        self.out = Hostile()

    def h(self, kind: str, key: str, slot: str = "") -> str:
        self.out.covered.add((kind, key))
        return self.pick(f"{kind}.{key}{slot}")

    def _next(self) -> tuple[str, str, str]:
        self.step += 1
        moment = self.start + timedelta(seconds=10 * self.step)
        event_id = f"{self.step:08x}-0000-4000-8000-{self.step:012x}"
        return event_id, f"{int(moment.timestamp() * 1000):013d}.00000", format_time(moment)

    def author(self, kind: str, slot: str) -> str:
        self.out.covered.add((kind, "author"))
        return "m" + _column(self.pick(f"{kind}.author{slot}"))[:150]  # the fold refuses an empty author

    def event(self, kind: str, incident: str | None, body: dict, slot: str = "", *, refused: bool = False,
              columns: dict[str, str] | None = None) -> str:
        event_id, hlc, at = self._next()
        surrogates = bool(re.search("[\ud800-\udfff]", json.dumps(body, ensure_ascii=False)))
        # Half the bodies carry controls as JSON escapes, half as raw characters (C1, bidi).
        encoded = json.dumps(body, ensure_ascii=surrogates or self.step % 2 == 0)
        row = {"id": event_id, "incident": incident or event_id, "hlc": hlc, "author": self.author(kind, slot),
               "kind": kind, "at": at, "body": encoded}
        row.update(columns or {})
        (self.out.refused if refused else self.out.rows).append(tuple(row.values()))
        return event_id


def hostile_record(pick: Callable[[str], str], now: datetime) -> Hostile:
    """Three incidents whose every field is `pick(slot)`, and rows the import must refuse."""
    b = _Builder(pick, now)
    h = b.h
    declared = "incident.declared"
    a = b.event(declared, None, {"title": h(declared, "title"), "severity": h(declared, "severity"),
                                 "impact": h(declared, "impact"), "ic": h(declared, "ic"), "role": h(declared, "role"),
                                 "detected_at": format_time(b.start)})
    b.out.open_id = a
    b.event("incident.acknowledged", a, {})
    skipped = [h("incident.status", "skipped"), [h("incident.status", "skipped", "#nested")]]  # a list in it too
    b.event("incident.status", a, {"status": "identified", "note": h("incident.status", "note"), "skipped": skipped})
    b.event("incident.severity", a, {"severity": h("incident.severity", "severity")})
    for name in INCIDENT_FIELDS:
        value = format_time(b.start) if name in TIME_FIELDS else h("incident.field", "value", f"#{name}")
        b.event("incident.field", a, {"field": name, "value": value}, f"#{name}")
    b.event("role.assigned", a, {"role": h("role.assigned", "role"), "person": h("role.assigned", "person")})
    b.event("role.assigned", a, {"role": "Tech Lead", "person": h("role.assigned", "person", "#tl")}, "#tl")
    b.event("role.assigned", a, {"role": "Incident Commander", "person": h("role.assigned", "person", "#ic")}, "#ic")
    logged = "entry.logged"
    note = b.event(logged, a, {"text": h(logged, "text"), "type": "note", "source": h(logged, "source"),
                               "lines_before": h(logged, "lines_before") + "\n" + h(logged, "lines_before", "#2"),
                               "lines_after": h(logged, "lines_after")})
    finding = b.event(logged, a, {"text": h(logged, "text", "#finding"), "type": "finding"}, "#finding")
    hidden = b.event(logged, a, {"text": h(logged, "text", "#hidden"), "type": "decision"}, "#hidden")
    b.event(logged, a, {"text": h(logged, "text", "#action") + "\n" + h(logged, "text", "#line2"),
                        "type": "action"}, "#action")
    b.event("entry.edited", a, {"target": finding, "text": h("entry.edited", "text"), "type": "decision"})
    b.event("entry.edited", a, {"target": h("entry.edited", "target"), "text": "an edit of nothing"}, "#nowhere")
    b.event("entry.deleted", a, {"target": note})
    b.event("entry.restored", a, {"target": note})
    b.event("entry.deleted", a, {"target": hidden}, "#hidden")
    b.event("entry.deleted", a, {"target": h("entry.deleted", "target")}, "#nowhere")
    b.event("entry.restored", a, {"target": h("entry.restored", "target")}, "#nowhere")
    b.event("update.posted", a, {"text": h("update.posted", "text"), "template": h("update.posted", "template"),
                                 "channel": h("update.posted", "channel")})
    b.event("update.snoozed", a, {"minutes": 15, "reason": h("update.snoozed", "reason")})
    b.event("incident.escalated", a, {"to": h("incident.escalated", "to")})
    added = "action.added"
    b.event(added, a, {"text": h(added, "text"), "owner": h(added, "owner"), "due": h(added, "due"),
                       "priority": h(added, "priority"), "entry": h(added, "entry")})
    done = b.event(added, a, {"text": h(added, "text", "#done"), "owner": h(added, "owner", "#done"),
                              "due": "2026-12-01", "priority": "high", "entry": note}, "#done")
    b.event("action.done", a, {"target": done})
    b.event("action.done", a, {"target": h("action.done", "target")}, "#nowhere")
    flipped = "check.flipped"
    b.event(flipped, a, {"check": h(flipped, "check"), "previous": h(flipped, "previous"),
                         "current": h(flipped, "current"), "reason": h(flipped, "reason")})
    ran = "command.ran"
    b.event(ran, a, {"command": h(ran, "command"), "exit_code": 3,
                     "output": h(ran, "output") + "\n" + h(ran, "output", "#2"), "runbook": h(ran, "runbook")})

    other = b.event(declared, None, {"title": h(declared, "title", "#B"), "severity": h(declared, "severity", "#B")},
                    "#B")
    b.out.other_id = other
    closed = b.event(declared, None, {"title": h(declared, "title", "#C"), "severity": "P2",
                                      "impact": h(declared, "impact", "#C")}, "#C")
    b.out.closed_id = closed
    b.event("incident.status", closed, {"status": "resolved"}, "#C")
    b.event(added, closed, {"text": h(added, "text", "#C"), "owner": h(added, "owner", "#C")}, "#C")
    b.event("incident.status", closed, {"status": "closed", "skipped": [h("incident.status", "skipped", "#C")]},
            "#C")

    # What the import refuses and quarantines, reason and all: values outside their sets,
    # stored times that are not times, an unknown kind, malformed columns, a body that is no JSON
    # ("x" first: what is left once made inert is still outside its set, and not blank).
    b.event("incident.status", a, {"status": "x" + h("incident.status", "status")}, "#bad", refused=True)
    b.event(logged, a, {"text": "x", "type": "x" + h(logged, "type")}, "#bad", refused=True)
    b.event("entry.edited", a, {"target": finding, "text": "x", "type": "x" + h("entry.edited", "type")}, "#bad",
            refused=True)
    b.event("incident.field", a, {"field": "x" + h("incident.field", "field"), "value": "x"}, "#bad", refused=True)
    b.event("incident.field", a, {"field": "impact_started_at", "value": "x" + h("incident.field", "value", "#time")},
            "#bad", refused=True)
    b.event(declared, None, {"title": "x", "severity": "P1", "detected_at": "x" + h(declared, "detected_at")}, "#bad",
            refused=True)
    for column in ("kind", "id", "hlc", "at", "body"):
        b.event(logged, a, {"text": "x", "type": "note"}, f"#{column}", refused=True,
                columns={column: "x" + _column(pick(f"row.{column}"))})
    return b.out


def _slots() -> tuple[str, ...]:
    seen: list[str] = []

    def pick(slot: str) -> str:
        seen.append(slot)
        return "x"

    hostile_record(pick, datetime.now(timezone.utc))
    return tuple(dict.fromkeys(seen))


SLOTS = _slots()
# Each example runs the real CLI or the real console for seconds: a few are tried, and a failing
# one is reported as drawn (shrinking it would take minutes; the slot names say where it went in).
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
SLOW_IS_FINE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                HealthCheck.large_base_example]
records = st.fixed_dictionaries({slot: hostile_text for slot in SLOTS})
EVERY_TRICK = {slot: EVERYTHING for slot in SLOTS}


def write_hostile(room: Path, hostile: Hostile, via: str) -> None:
    """Straight into the war room with sqlite3, as a teammate's file or an old record holds it."""
    if via == "exchange":  # the teammate's pushed warroom.db: the next reader takes it in
        conn = sqlite3.connect(room / "warroom.db")
        conn.executemany("insert into events (id, incident, hlc, author, kind, at, body) values (?,?,?,?,?,?,?)",
                         hostile.rows + hostile.refused)
        conn.commit()
        conn.close()
        return
    # The record itself holding raw bytes. Only valid events: the record takes in no others.
    conn = sqlite3.connect(record_path(room))
    modifiers = ("entry.edited", "entry.deleted", "entry.restored")
    conn.executemany(
        "insert into events (id, incident, hlc, author, kind, at, body, target, local) values (?,?,?,?,?,?,?,?,0)",
        [(*row, _column(json.loads(row[6])["target"]) if row[4] in modifiers else None) for row in hostile.rows])
    conn.commit()
    conn.close()
    with Store(record_path(room), author="reader") as store:
        store.rebuild_views()  # the derived rows, as the store computes them from those events


def test_every_field_of_every_event_kind_is_hostile():
    """The record below sets every text field of every kind (and every author) to hostile text."""
    wanted = {(kind, key) for kind, schema in SCHEMAS.items() for key, (typ, _) in schema.items()
              if typ in (str, list)}
    wanted |= {(kind, "author") for kind in SCHEMAS}
    covered = hostile_record(lambda slot: EVERYTHING, datetime.now(timezone.utc)).covered
    assert wanted - covered == set()


# --- every CLI command that reads the record -------------------------------------------------


def _check(result: Result, args: tuple[str, ...]) -> Result:
    where = "warroom " + " ".join(args)
    assert "Traceback" not in result.err and "internal error" not in result.err, f"{where}: {result.err}"
    assert result.code in (0, 2), f"{where}: exit {result.code}: {result.err}"
    assert_inert(result.out, f"{where}: stdout")
    assert_inert(result.err, f"{where}: stderr")
    return result


def _every_file(room: Path) -> None:
    for path in sorted((room / "exports").glob("*")):
        assert_inert(path.read_text(encoding="utf-8"), str(path.relative_to(room)))


@settings(max_examples=8, deadline=None, database=None,
          phases=NO_SHRINK, suppress_health_check=SLOW_IS_FINE)
@example(values=None, via="exchange")  # None: every field holds EVERYTHING
@example(values=None, via="record")
@given(values=records, via=st.sampled_from(["exchange", "record"]))
def test_every_cli_command_prints_only_inert_text(values: dict[str, str] | None, via: str):
    with tempfile.TemporaryDirectory(prefix="warroom-inert-") as tmp:
        room = Path(tmp) / "room"
        init(room)
        hostile = hostile_record((values or EVERY_TRICK).__getitem__, datetime.now(timezone.utc))
        write_hostile(room, hostile, via)

        def run(*args: str) -> Result:
            return _check(run_cli(*args, cwd=room), args)

        run("list")  # the first command takes the exchange copy in (and says what it refused)
        a, b, c = hostile.open_id, hostile.other_id, hostile.closed_id  # a full id works as a short one

        reading = [
            ("list",), ("list", "--open"), ("show", a), ("show", b), ("show", c),
            ("export", "--out", "-", "-I", a), ("export", "--out", "-", "-I", c), ("export", "-I", a),
            ("export", "-I", c), ("report",), ("action", "list"), ("action", "list", "--all"),
            ("update", "--dry-run", "-I", a), ("update", "--dry-run", "-I", a, "--template", "handoff"),
            ("update", "--dry-run", "-I", b), ("dump",), ("quarantine",),
            ("show",), ("escalate",), ("update", "--dry-run"),  # the newest one, naming the others not closed
            ("show", "0000"),  # a prefix of every incident's id: names them all, titles and all
        ]
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = dict(zip(reading, pool.map(lambda args: run(*args), reading)))
        for args in (("show",), ("escalate",), ("update", "--dry-run")):
            assert results[args].code == 0 and "also not closed: " in results[args].err
        assert "matches several incidents" in results[("show", "0000")].err
        assert results[("dump",)].out.count("\n") == len(hostile.rows)  # every event, one line each
        assert "roles: " in results[("show", a)].out
        if via == "exchange":
            assert hostile.refused[0][0] in results[("quarantine",)].out  # the refused rows are listed

        # The newest not closed is meant (resolved counts): the commands pick it by themselves,
        # say which, and name the other one not closed, all inert.
        run("status", "resolved", "-I", b)
        for args in (("show",), ("update", "--dry-run"), ("log", "after the storm"), ("export",)):
            assert run(*args).code == 0, args
        _every_file(room)
        assert len(list((room / "exports").glob("*-postmortem.md"))) == 3  # a's and c's above, b's now


# --- warroom.db as sync writes it, from a teammate's push on a bare origin --------------------


def _rows_inert(db: Path, where: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("select id, incident, hlc, author, kind, at, body from events").fetchall()
    finally:
        conn.close()
    for row in rows:
        for column in row:
            assert_inert(column, f"{where}: event {row[0]}")
        for key, value in json.loads(row[6]).items():  # and what any JSON reader decodes from it
            for text in _strings(value):
                assert_inert(text, f"{where}: event {row[0]} ({row[4]}) {key}")
                assert not re.search("[\ud800-\udfff]", text), f"{where}: a lone surrogate in {key}"
    return len(rows)


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, dict)):
        return [text for item in (value.values() if isinstance(value, dict) else value) for text in _strings(item)]
    return []


def test_sync_takes_in_a_hostile_push_and_writes_an_inert_warroom_db(tmp_path: Path, origin: Path):
    alice = tmp_path / "alice"
    init(alice)
    git(alice, "init", "--quiet", "-b", "main")
    git(alice, "remote", "add", "origin", str(origin))
    assert run_cli("sync", cwd=alice).code == 0
    git(tmp_path, "clone", "--quiet", str(origin), "mallory")
    mallory = tmp_path / "mallory"
    hostile = hostile_record(EVERY_TRICK.__getitem__, datetime.now(timezone.utc))
    write_hostile(mallory, hostile, "exchange")
    git(mallory, "add", "-f", "warroom.db")
    git(mallory, "commit", "--quiet", "-m", "a few events")
    git(mallory, "push", "--quiet", "origin", "main")

    # git's merge driver, as a plain `git pull` runs it: OURS holds the union, written inert.
    ours = tmp_path / "ours.db"
    ours.write_bytes((alice / "warroom.db").read_bytes())
    _check(run_cli("merge", "base", str(ours), str(mallory / "warroom.db"), cwd=alice), ("merge",))
    assert _rows_inert(ours, "OURS written by the merge driver") == len(hostile.rows)

    _check(run_cli("sync", "--dry-run", cwd=alice), ("sync", "--dry-run"))
    synced = _check(run_cli("sync", cwd=alice), ("sync",))
    assert synced.code == 0, synced
    assert f"came in from origin: {len(hostile.rows)} events" in synced.out, synced.out
    assert "quarantined" in synced.out
    assert _rows_inert(alice / "warroom.db", "warroom.db written by sync") == len(hostile.rows)
    # What went out on alice's ref and on the branch is that file; a clone reads it back inert.
    bob = tmp_path / "bob"
    git(tmp_path, "clone", "--quiet", str(origin), "bob")
    assert _rows_inert(bob / "warroom.db", "warroom.db on origin's branch") == len(hostile.rows)
    again = _check(run_cli("sync", cwd=alice), ("sync",))
    assert "quarantined" not in again.out


# --- the console: every pane, modal, toast, the title and the clipboard ------------------------


def _plain(value) -> str:
    if value is None:
        return ""
    return value.plain if hasattr(value, "plain") else str(value)


def widget_texts(screen) -> list[tuple[str, str]]:
    """(widget, text) of what each widget of `screen` holds, on screen or scrolled away."""
    from textual.widgets import DataTable, Input, OptionList, Static, TextArea

    found = []
    for widget in screen.query("*"):
        name = f"{type(widget).__name__}#{widget.id or ''}"
        found += [(f"{name} border", _plain(widget.border_title)), (f"{name} border", _plain(widget.border_subtitle))]
        if isinstance(widget, DataTable):
            found += [(f"{name} row {r}", _plain(cell)) for r in range(widget.row_count)
                      for cell in widget.get_row_at(r)]
        elif isinstance(widget, OptionList):
            found += [(f"{name} option {i}", _plain(widget.get_option_at_index(i).prompt))
                      for i in range(widget.option_count)]
        elif isinstance(widget, TextArea):
            found.append((name, widget.text))
        elif isinstance(widget, Input):
            found += [(name, widget.value), (f"{name} placeholder", widget.placeholder)]
        elif isinstance(widget, Static):
            found.append((name, _plain(widget.content)))
    return found


def check_console(app, where: str) -> list[str]:
    """Everything the console shows or holds is inert, and no markup from the record became
    a style: every screen as the compositor renders it (what the terminal is sent), every
    widget's text, the toasts, the titles and the clipboard. Returns the screen's lines."""
    lines: list[str] = []
    for screen in app.screen_stack:
        label = f"{where}, {type(screen).__name__}"
        for y, strip in enumerate(screen._compositor.render_strips()):
            text = strip.text
            assert_inert(text, f"{label}, screen line {y}")
            lines.append(text)
            for segment in strip:
                style = segment.style
                if style is not None:
                    assert "@click" not in style.meta, f"{label}, line {y}: markup became a click: {text!r}"
                    assert not style.link, f"{label}, line {y}: markup became a link: {text!r}"
        for name, text in widget_texts(screen):
            assert_inert(text, f"{label}, {name}")
        assert_inert(_plain(screen.title), f"{label} title")
        assert_inert(_plain(screen.sub_title), f"{label} sub_title")
    assert_inert(app.title, f"{where}: the terminal title")
    assert_inert(app.sub_title, f"{where}: the terminal sub-title")
    for note in list(app._notifications):
        assert_inert(f"{note.title}\n{note.message}", f"{where}: a toast")
    assert_inert(app.clipboard, f"{where}: the clipboard")
    return lines


# Screens are named, not imported: the console's modules are being moved (issue 15).
async def _opens(pilot, key: str, screen: str) -> None:
    await pilot.press(key)
    await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == screen)
    await pilot.pause()


async def _closes(pilot, key: str = "escape") -> None:
    await pilot.press(key)
    await wait_until(pilot, lambda: len(pilot.app.screen_stack) == 1)


async def walk_the_console(room, clock: FrozenClock, hostile: Hostile, folder: Path) -> None:
    """Every pane, every modal that shows record text, a posted update and an export."""
    from textual.widgets import DataTable, TabbedContent

    from warroom.ui.factory import make_app

    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await console_ready(pilot)
        for incident in (hostile.other_id, hostile.closed_id, hostile.open_id):  # each one's header
            app.recorder.show(incident)
            await wait_until(pilot, lambda: app.incident is not None and app.incident.id == incident)
            await pilot.pause()
            check_console(app, f"the console on {incident}")
        table = app.query_one("#timeline-table", DataTable)
        await wait_until(pilot, lambda: table.row_count >= 10)
        people = app.query_one("#people", TabbedContent)
        people.active = "tab-actions"
        await pilot.pause()
        check_console(app, "the Actions tab")
        people.active = "tab-roster"

        rows = {str(table.coordinate_to_cell_key((r, 0)).row_key.value): r for r in range(table.row_count)}
        pane = app.query_one("#timeline")
        typed = [row for key, row in rows.items() if not pane.entry(key).auto]  # typed by someone
        # The details of one entry of each sort (the timeline cells above hold every row): typed,
        # edited (its history), pinned, multi-line, a check flip, a command's output, a head row.
        sorts: dict[tuple, tuple[str, int]] = {}
        for key, row in rows.items():
            entry = pane.entry(key)
            if entry.auto in ("", "pin", "check", "command", "declared", "update"):
                sorts.setdefault((entry.auto, entry.edited, "\n" in entry.text), (key, row))
        for key, row in sorts.values():
            table.focus()
            table.move_cursor(row=row)
            await _opens(pilot, "enter", "EntryScreen")
            check_console(app, f"the details of {key}")
            await _closes(pilot)
        table.move_cursor(row=typed[0])
        await _opens(pilot, "e", "PromptScreen")
        check_console(app, "the edit dialog")
        await _closes(pilot)
        table.move_cursor(row=typed[0])
        await _opens(pilot, "a", "PromptScreen")
        check_console(app, "the action item dialog, from an entry")
        await _closes(pilot)
        for key, screen, what in (("question_mark", "HelpScreen", "help"), ("D", "DeclareScreen", "declaring"),
                                  ("S", "PickScreen", "the severity picker"), ("I", "PickScreen", "the switcher")):
            await _opens(pilot, key, screen)
            check_console(app, what)
            await _closes(pilot)
        await _opens(pilot, "t", "PickScreen")
        check_console(app, "the status picker")
        await pilot.press("5")  # closed: the closure checklist
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChecklistScreen")
        check_console(app, "the closure checklist")
        await _closes(pilot)
        await _opens(pilot, "q", "AskScreen")
        check_console(app, "the quit question")
        await _closes(pilot, "n")

        # The role picker lists the hostile role and person; taking the hostile role asks who.
        await _opens(pilot, "r", "PickScreen")
        check_console(app, "the role picker")
        picker = app.screen.query_one("OptionList")
        hostile_roles = [i for i in range(picker.option_count)
                         if picker.get_option_at_index(i).id not in (*room.config.roles, "")]
        if not hostile_roles:  # nothing was left of its name once made inert: nothing to take
            await _closes(pilot)
        else:
            picker.highlighted = hostile_roles[0]
            handed_over = bool(app.incident.holder(picker.get_option_at_index(hostile_roles[0]).id))
            await _opens(pilot, "enter", "PromptScreen")
            check_console(app, "who takes the hostile role")
            notes = len(app._notifications)
            await pilot.press(*"zed", "enter")
            await wait_until(pilot, lambda: len(app._notifications) > notes)
            check_console(app, "the toast after the role")
            if handed_over:  # the newcomer is offered the brief, filled from the hostile record
                await wait_until(pilot, lambda: type(app.screen).__name__ == "ComposerScreen")
                check_console(app, "the handover brief")
                await _closes(pilot)

        # The composer, its templates filled from the record; posting copies and writes the update.
        await _opens(pilot, "u", "ComposerScreen")
        composer = app.screen
        check_console(app, "the composer")
        for name, text in composer.templates.items():
            assert_inert(text, f"the composer's {name} template, filled")
        await pilot.press("ctrl+s")
        if app.screen is composer:  # it warned about what is not filled in: a second ctrl+s posts
            check_console(app, "the composer's warning")
            await pilot.press("ctrl+s")
        update = folder / "exports"
        await wait_until(pilot, lambda: app.clipboard != "" and any(update.glob("*-last-update.md")))
        await pilot.press("E")
        await wait_until(pilot, lambda: any(update.glob("*-postmortem.md")))
        await wait_until(pilot, lambda: any("Post-mortem written" in str(n.message) for n in app._notifications))
        app.recorder.wait_idle()
        await pilot.pause()
        check_console(app, "after posting an update and exporting")
        assert app.clipboard.strip()
        for path in update.glob("*"):
            assert_inert(path.read_text(encoding="utf-8"), str(path.relative_to(folder)))


def hostile_console(tmp: Path, values: dict[str, str], via: str, clock: FrozenClock):
    folder = tmp / "room"
    init(folder)
    hostile = hostile_record(values.__getitem__, clock.now())
    write_hostile(folder, hostile, via)
    room = open_room(folder, clock)
    if via == "exchange":
        room.take_in()
    return folder, room, hostile


@settings(max_examples=1, deadline=None, database=None,
          phases=NO_SHRINK, suppress_health_check=SLOW_IS_FINE)
@example(values=None, via="exchange")  # None: every field holds EVERYTHING
@given(values=records, via=st.sampled_from(["exchange", "record"]))
def test_the_console_shows_and_writes_only_inert_text(values: dict[str, str] | None, via: str):
    clock = FrozenClock(NOW)
    with tempfile.TemporaryDirectory(prefix="warroom-inert-") as tmp:
        folder, room, hostile = hostile_console(Path(tmp), values or EVERY_TRICK, via, clock)
        try:
            asyncio.run(walk_the_console(room, clock, hostile, folder))
        finally:
            room.close()


MARKUP = "[bold]B[/] [@click=app.quit]Q[/]"


def test_markup_in_the_record_is_shown_as_written():
    """`[bold]` keeps its brackets and `[@click=...]` stays text, in every pane that shows it."""
    clock = FrozenClock(NOW)

    async def look(room, hostile: Hostile) -> None:
        from warroom.ui.factory import make_app

        app = make_app(room, clock, start_sources=False, watch=False)
        async with app.run_test(size=(200, 50)) as pilot:
            await console_ready(pilot)
            app.recorder.show(hostile.open_id)
            await wait_until(pilot, lambda: app.incident is not None and app.incident.id == hostile.open_id)
            await wait_until(pilot, lambda: app.query_one("#timeline-table").row_count >= 10)
            await pilot.pause()
            lines = check_console(app, "the console")  # and no style came from the markup
            for pane in ("#header", "#timeline", "#roster"):
                region = app.query_one(pane).region
                shown = [line[region.x:region.right] for line in lines[region.y:region.bottom]]
                assert any(MARKUP in line for line in shown), (pane, shown)
            assert app.query_one("#hdr-title").content.plain == "x " + MARKUP
            await _opens(pilot, "I", "PickScreen")
            assert sum(MARKUP in line for line in check_console(app, "the switcher")) >= 3

    with tempfile.TemporaryDirectory(prefix="warroom-inert-") as tmp:
        # Escapes around the markup go; the markup itself stays, brackets and all.
        folder, room, hostile = hostile_console(Path(tmp), {slot: "x \x1b[1m" + MARKUP for slot in SLOTS},
                                                "exchange", clock)
        try:
            asyncio.run(look(room, hostile))
        finally:
            room.close()


# --- the checks can fail -------------------------------------------------------------------------


def test_the_checks_catch_a_raw_escape_when_the_inert_step_is_bypassed(monkeypatch: pytest.MonkeyPatch):
    """Without the one inert step (events.from_values), raw escapes reach what the record is
    decoded into, and both the text check and the console check say so."""
    import warroom.record.events

    monkeypatch.setattr(warroom.record.events, "inert", lambda text: text)  # the step, bypassed
    clock = FrozenClock(NOW)

    async def look(room, hostile: Hostile) -> None:
        from warroom.ui.factory import make_app

        title = room.head(hostile.open_id).title
        with pytest.raises(AssertionError, match="ESC reaches it"):
            assert_inert(title, "the decoded title")
        app = make_app(room, clock, start_sources=False, watch=False)
        async with app.run_test(size=(160, 50)) as pilot:
            await console_ready(pilot)
            app.recorder.show(hostile.open_id)
            await wait_until(pilot, lambda: app.incident is not None and app.incident.id == hostile.open_id)
            with pytest.raises(AssertionError, match="ESC reaches it"):
                check_console(app, "the console, the inert step bypassed")  # the terminal title, at least
            await _opens(pilot, "r", "PickScreen")
            with pytest.raises(AssertionError, match="ESC reaches it"):
                check_console(app, "the role picker, the inert step bypassed")

    with tempfile.TemporaryDirectory(prefix="warroom-inert-") as tmp:
        folder, room, hostile = hostile_console(Path(tmp), EVERY_TRICK, "exchange", clock)
        try:
            asyncio.run(look(room, hostile))
        finally:
            room.close()


def test_textual_draws_a_raw_escape_it_is_given():
    """The screen check reads what Textual would send the terminal, which keeps a raw ESC and
    turns markup into actions: a clean screen is warroom's doing, not Textual's."""
    from rich.text import Text
    from textual.app import App
    from textual.widgets import Static

    class Plain(App):
        def __init__(self, widget) -> None:
            super().__init__()
            self.widget = widget

        def compose(self):
            yield self.widget

    async def draw(widget, match: str) -> None:
        app = Plain(widget)
        async with app.run_test(size=(80, 5)) as pilot:
            await pilot.pause()
            with pytest.raises(AssertionError, match=match):
                check_console(app, "a bare Static")

    asyncio.run(draw(Static(Text("\x1b]52;c;cm0gLXJmIH4=\x07 pasted")), "ESC reaches it"))
    asyncio.run(draw(Static(Text("\x9b2J cleared")), "CSI \\(C1\\) reaches it"))
    asyncio.run(draw(Static("[@click=app.quit]Q[/]"), "markup became a click"))  # a str is markup
