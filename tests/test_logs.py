"""Log sources: real subprocesses and real files (no mocks)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.config import LogConfig
from warroom.record.clock import FrozenClock
from warroom.sources.fastpath import _Splitter, parse_line
from warroom.sources.parse import LogLine
from warroom.sources.rate import ErrorRate
from warroom.sources.supervisor import LogSource
from warroom.text.sanitize import REDACTED

SCRIPTS = Path(__file__).parent / "scripts"
PY = sys.executable
UTC = timezone.utc
BAD = re.compile("[\x00-\x1f\x7f-\x9f]")


def run(coro, timeout: float = 60):
    """Run on a fresh loop; `timeout` only bounds a hung test."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def script(name: str, *args: str) -> tuple[str, ...]:
    return (PY, str(SCRIPTS / name), *args)


class Collector:
    def __init__(self) -> None:
        self.batches: list[list[LogLine]] = []
        self.statuses: list[str] = []

    def on_lines(self, batch: list[LogLine]) -> None:
        self.batches.append(batch)

    def on_status(self, text: str) -> None:
        self.statuses.append(text)

    @property
    def lines(self) -> list[LogLine]:
        return [line for batch in self.batches for line in batch]

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]


def source(config: LogConfig, collector: Collector, **kwargs) -> LogSource:
    return LogSource(config, on_lines=collector.on_lines, on_status=collector.on_status, **kwargs)


async def wait_until(predicate, timeout: float = 15.0) -> None:
    """Poll a condition; the timeout is only an upper bound for a broken test."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def run_to_end(config: LogConfig, **kwargs) -> tuple[Collector, LogSource, int]:
    collector = Collector()
    src = source(config, collector, **kwargs)
    await src.start()
    code = await src.wait()
    return collector, src, code


# --- parse_line -----------------------------------------------------------------------


def test_parse_pino():
    raw = json.dumps({"level": 50, "time": 1795930362123, "pid": 1, "hostname": "h",
                      "msg": "db down", "err": {"type": "Error", "message": "ECONNREFUSED", "stack": "..."}})
    line = parse_line(raw.encode(), "api", 7)
    assert (line.source, line.level, line.seq) == ("api", "error", 7)
    assert line.text == "db down err=Error: ECONNREFUSED"
    assert line.at == datetime.fromtimestamp(1795930362.123, UTC)


@pytest.mark.parametrize("number, level", [(10, "debug"), (20, "debug"), (30, "info"), (40, "warn"),
                                           (50, "error"), (60, "error")])
def test_pino_levels(number, level):
    assert parse_line(json.dumps({"level": number, "msg": "m"}).encode(), "s", 1).level == level


def test_parse_bunyan():
    raw = json.dumps({"name": "billing", "hostname": "h", "pid": 2, "level": 40, "msg": "slow charge",
                      "time": "2026-11-24T05:32:42.123Z", "v": 0, "ms": 812})
    line = parse_line(raw.encode(), "billing", 1)
    assert line.level == "warn"
    assert line.text == "slow charge name=billing ms=812"
    assert line.at == datetime(2026, 11, 24, 5, 32, 42, 123000, tzinfo=UTC)


def test_parse_structlog():
    raw = json.dumps({"event": "payment failed", "level": "error", "timestamp": "2026-11-24T05:32:42+01:00",
                      "order_id": "A-1", "exception": "Traceback (most recent call last):\n  File x\nValueError: bad"})
    line = parse_line(raw.encode(), "s", 1)
    assert line.level == "error"
    assert line.text == "payment failed order_id=A-1 exception=ValueError: bad"
    assert line.at == datetime(2026, 11, 24, 4, 32, 42, tzinfo=UTC)


def test_parse_wrangler_event():
    raw = json.dumps({
        "outcome": "ok", "scriptName": "edge", "eventTimestamp": 1795930366000,
        "event": {"request": {"url": "https://x.test/a", "method": "GET"}, "response": {"status": 200}},
        "logs": [{"message": ["hello", 1], "level": "log", "timestamp": 1}], "exceptions": []})
    line = parse_line(raw.encode(), "edge", 1)
    assert line.level == "info"
    assert line.text == "edge: GET https://x.test/a 200 | log: hello 1"
    assert line.at == datetime.fromtimestamp(1795930366, UTC)
    warn = parse_line(json.dumps({"outcome": "ok", "logs": [{"level": "warn", "message": ["careful"]}],
                                  "exceptions": [], "eventTimestamp": 1}).encode(), "edge", 2)
    assert warn.level == "warn"
    cpu = parse_line(json.dumps({"outcome": "exceededCpu", "logs": [], "exceptions": [],
                                 "event": {"cron": "*/5 * * * *"}, "eventTimestamp": 1}).encode(), "e", 3)
    assert cpu.level == "error" and cpu.text == "cron */5 * * * * | outcome=exceededCpu"


def test_parse_generic_json():
    line = parse_line(b'{"severity": "WARNING", "message": "quota at 91%", "ts": 1795930362.5}', "g", 1)
    assert (line.level, line.text) == ("warn", "quota at 91%")
    assert line.at == datetime.fromtimestamp(1795930362.5, UTC)
    nomsg = parse_line(b'{"lvl": "info", "user": "bob", "n": 3, "tags": ["a", "b"]}', "g", 2)
    assert nomsg.text == 'user=bob n=3 tags=["a","b"]'
    assert parse_line(b'["not", "an", "object"]', "g", 3).text == '["not", "an", "object"]'
    assert parse_line(b'{"broken": ', "g", 4).text == '{"broken": '


def test_parse_json_escapes_are_neutralised():
    raw = json.dumps({"level": 30, "msg": "\x1b]52;c;cGF5bG9hZA==\x07copied \x1b[2J\u202eevil\nnext"})
    line = parse_line(raw.encode(), "s", 1)
    assert line.text == "copied evil␤next"


@pytest.mark.parametrize("text, level", [
    ("ERROR connection lost", "error"), ("[error] nginx", "error"), ("E: err: x", "error"),
    ("FATAL out of memory", "error"), ("Critical: disk", "error"),
    ("WARN slow", "warn"), ("Warning: deprecated", "warn"), ("level=info msg=ok", "info"),
    ("debug: x", "debug"), ("no level here", None), ("errors=0 terror", None), ("INFORMATION", None),
    ("INFO retrying after error", "info"),
])
def test_plain_levels(text, level):
    assert parse_line(text.encode(), "p", 1).level == level


def test_plain_timestamps():
    docker = parse_line(b"2026-11-24T05:32:42.123456789Z ERROR upstream timed out\n", "d", 1)
    assert docker.text == "ERROR upstream timed out"
    assert docker.at == datetime(2026, 11, 24, 5, 32, 42, 123456, tzinfo=UTC)
    assert docker.level == "error"
    both = parse_line(b'2026-11-24T05:32:42.5Z {"level":30,"msg":"json inside docker","time":1795930362000}', "d", 2)
    assert both.text == "json inside docker" and both.level == "info"
    assert both.at == datetime.fromtimestamp(1795930362, UTC)
    # a zone-less stamp is read as UTC and stays in the text
    naive = parse_line(b"2026-11-24 05:32:44,001 WARNING disk", "p", 3)
    assert naive.text == "2026-11-24 05:32:44,001 WARNING disk"
    assert naive.at == datetime(2026, 11, 24, 5, 32, 44, 1000, tzinfo=UTC)
    offset = parse_line(b"2026-11-24T07:32:44+02:00 INFO hi", "p", 4)
    assert offset.text == "INFO hi" and offset.at == datetime(2026, 11, 24, 5, 32, 44, tzinfo=UTC)
    assert parse_line(b"2026-13-45T99:99:99Z x", "p", 5).at is None
    assert parse_line(b"12345 not a date", "p", 6).at is None


@pytest.mark.parametrize("text", [
    "2026-11-24T05:32:42.123456789Z ERROR x", "2026-11-24T05:32:42Z  INFO  two spaces",
    "2026-11-24T07:32:42+02:00 WARN offset", "2026-11-24T05:32:42,5Z info comma",
    "2026-11-24T05:32:42 naive debug", "2026-11-24 05:32:42 space sep", "2026-11-24T05:32:42Z",
    '2026-11-24T05:32:42.5Z {"level":30,"msg":"json"}', "2026-11-24T99:32:42Z bad hour",
    "12345 digits", "2026-11-24T05:32:42z lower zone", "2026-11-24T05:32:42.5Z 2026-11-24T05:32:43Z twice",
    "plain INFO line", "  indented ERROR", '{"msg":"x","level":"warn"}',
])
def test_block_fast_path_matches_the_full_parse(text):
    from warroom.sources.fastpath import _Parser

    fast = _Parser(()).parse_block(text, "s", clean=True)[0]
    full = parse_line(text.encode(), "s", fast.seq)
    assert (fast.text, fast.level, fast.at) == (full.text, full.level, full.at)


# --- the block fast paths give exactly what the line by line parse gives ---------------------

_STAMPS = ["", "2026-11-24T05:32:42.123Z ", "2026-11-24T05:32:42Z ", "2026-11-24T07:32:42+02:00 ",
           "2026-11-24T05:32:42.123456789Z ", "2026-11-24T05:32:42,5Z ", "2026-11-24T05:32:42 ",
           "2026-11-24 05:32:42 ", "2026-11-24T05:32:42Z  ", "2026-11-24T05:32:42z ", "2026-11-24T05:32:42Z\t",
           "2026-11-24T99:32:42Z ", "2026-11-24T05:32:42-02 ", "2026-11-24T05:32:42+0200 ", "20261124T053242Z ",
           "2026-11-24T05:32Z ", "2026-11-24T05:32:42.5Z 2026-11-24T05:32:43Z ", "2026-11-24T05:32:42.5Z\u3000",
           "2026-11-24T05:32:42.5+00:00 ", "2026-11-24T05:32:42.123Z", "12345 ", "2026-11-24T05:32:42.5Zjunk "]
_LEVELS = ["", "INFO ", "info ", "Info ", "iNfO ", "WARNING ", "ERR ", "Error ", "[ERROR] ", "level=warn ",
           "\u0131nfo ", "INFO", "DEBUG:", "CRITICAL ", "FATALITY ", "GET /x 200 ", "x_INFO ", " INFO "]
_BODIES = ["GET /api/orders/7 200 12ms", "", "retrying after error", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07x",
           "nul\x00 del\x7f", "c1 \x9b31m \x85", "tab\tsep", "cr\rin the middle", "bidi \u202eevil",
           "line\u2028sep", "surrogate \ud800", "Authorization: Basic dXNlcjpw", "Bearer abcdefghijklmnop",
           'password="hunter2hunter2"', "token=abc123", "postgres://u:pw@db/x", "AKIAIOSFODNN7EXAMPLE",
           "ghp_0123456789abcdefghijABCDEFGHIJ", "github_pat_0123456789abcdefghij_x", "xoxb-1234567890-abc",
           "sk_live_0123456789abcdef", "eyJhbGciOiJ9.eyJzdWIiOiIxIn0.sig", "-----BEGIN RSA PRIVATE KEY-----",
           "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo", "-----END RSA PRIVATE KEY-----",
           "the s3cr3t-value here", "\u212aey=v", "K\u0130Y", "caf\u00e9 \u00df", '{"level":"warn","msg":"json"}',
           "{not json", "x" * 90, "  lead", "\ufeffbom", "@ and :// apart", "high through length"]


def _block_lines(draw_line):
    return st.lists(draw_line, min_size=1, max_size=40)


_mixed_line = st.builds(lambda a, b, c: a + b + c, st.sampled_from(_STAMPS), st.sampled_from(_LEVELS),
                        st.one_of(st.sampled_from(_BODIES), st.text(max_size=12)))


@st.composite
def _uniform_block(draw):
    """16 to 40 lines of one shape (what the column path takes), some bodies hostile."""
    stamp, level = draw(st.sampled_from(_STAMPS)), draw(st.sampled_from(_LEVELS))
    bodies = draw(st.lists(st.one_of(st.sampled_from(_BODIES[:1] * 8 + _BODIES), st.text(max_size=8)),
                           min_size=16, max_size=40))
    return [stamp + level + body for body in bodies]


@st.composite
def _stamped_block(draw):
    """16 to 40 stamped lines whose stamps differ in width (fractions trimmed, as Go writes them)."""
    count = draw(st.integers(16, 40))
    fraction = st.sampled_from(["", ".5", ".12", ".123", ".123456", ".123456789", ",5", ".", ",", ".5z"])
    zone = st.sampled_from(["Z"] * 6 + ["z", "+00:00", "+02:00", "-05:30", "+0200", "-02", "+02:00:30", ""])
    level = st.sampled_from(["INFO ", "error ", "WARN ", "", "GET "])
    body = st.one_of(st.sampled_from(_BODIES[:1] * 6 + _BODIES), st.text(max_size=8))
    return [f"2026-11-24T05:32:{draw(st.integers(0, 59)):02d}{draw(fraction)}{draw(zone)} {draw(level)}{draw(body)}"
            for _ in range(count)]


@settings(max_examples=400, deadline=None)
@given(lines=st.one_of(_block_lines(_mixed_line), _uniform_block(), _stamped_block()),
       limit=st.sampled_from([4000, 60]))
def test_block_parse_equals_the_line_by_line_parse(lines, limit):
    from warroom.sources.fastpath import _Parser

    parser = _Parser(("s3cr3t-value",), limit=limit)
    text = "\n".join(lines)
    expected = [(l.text, l.level, l.at) for l in (parser.parse(raw, "s", 0) for raw in text.split("\n"))]
    ascii_clean = text.isascii() and not re.search("[\x00-\x09\x0b-\x1f\x7f]", text)
    for clean in {None, ascii_clean or None}:
        block = _Parser(("s3cr3t-value",), limit=limit).parse_block(text, "s", clean)  # a stream of its own
        assert [(l.text, l.level, l.at) for l in block] == expected
        seqs = [l.seq for l in block]
        assert seqs == sorted(set(seqs))


def test_stream_through_a_subprocess_equals_parse_line(tmp_path):
    """Runs of stamped and plain lines (the column path), hostile lines among them, through
    a real process and LogSource's reads: each line as parse_line makes it on its own."""
    lines = []
    for i in range(3000):
        lines.append(f"2026-11-24T05:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z INFO GET /orders/{i} 200")
        if i % 250 == 0:
            lines.append(f"plain WARN line {i} \x1b[2J with token=abc{i} and caf\u00e9")
        if i % 400 == 7:
            lines.extend(f"{['DEBUG', 'ERROR', 'notice'][j % 3]} run line {j}" for j in range(40))
        if i % 333 == 5:
            lines.append(f"2026-11-24T07:00:0{i % 10}+02:00 ERROR offset ghp_0123456789abcdefghijABCDEFGHIJ")
    corpus = tmp_path / "corpus.log"
    corpus.write_bytes(("\n".join(lines) + "\n").encode())
    collector, src, code = run(run_to_end(LogConfig(name="c", command=("cat", str(corpus)))), timeout=120)
    assert code == 0 and src.total == len(lines)
    got = [(l.text, l.level, l.at) for l in collector.lines]
    want = [(l.text, l.level, l.at) for l in (parse_line(raw.encode(), "c", 0) for raw in lines)]
    assert got == want


def test_parse_line_is_inert_capped_and_redacted():
    line = parse_line(b"\x1b[31mERROR\x1b[0m token=abcdef \xff " + b"x" * 10_000 + b"\r\n", "p", 1,
                      secrets=["abcdef"])
    assert "\x1b" not in line.text and not BAD.search(line.text)
    assert line.text.startswith(f"ERROR token={REDACTED} \ufffd ")
    assert re.search(r" …\[\+\d+ chars\]$", line.text)
    assert line.level == "error"
    huge = parse_line(b"y" * 5_000_000, "p", 2)
    assert len(huge.text) < 4100


def test_loglines_are_frozen():
    line = parse_line(b"x", "s", 1)
    with pytest.raises(Exception):
        line.text = "changed"  # type: ignore[misc]
    assert line == LogLine("s", "x", None, None, 1)
    assert not hasattr(line, "__dict__")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_parse_line_never_raises(raw):
    line = parse_line(raw, "fuzz", 1)
    assert "\x1b" not in line.text and not BAD.search(line.text)
    assert line.level in (None, "error", "warn", "info", "debug")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(['{"level":', '"msg":', '"time":', "1e400", "-1", "[", "]", "{", "}",
                                 '"x"', ",", "null", "true", '"outcome":"ok"', '"logs":', '"eventTimestamp":',
                                 '"exceptions":', '"event":', "9" * 30]), max_size=20).map("".join))
def test_parse_json_shapes_never_raise(text):
    parse_line(text.encode(), "fuzz", 1)


# --- the splitter -------------------------------------------------------------------------


def split_all(pieces: list[bytes], cap: int = 64) -> list[tuple[bytes, int]]:
    """Lines as (first `cap` bytes, bytes hidden): the splitter caps a line that is still
    open at the end of a read; a long line inside one read is capped later by the
    sanitizer, with the same result."""
    splitter = _Splitter(cap)
    out = []

    def add(block: bytes, hidden: int) -> None:
        if hidden:
            out.append((block, hidden))
            return
        for line in block.split(b"\n"):
            out.append((line[:cap], max(0, len(line) - cap)))

    for piece in pieces:
        for block, hidden in splitter.feed(piece):
            add(block, hidden)
    for block, hidden in splitter.flush():
        add(block, hidden)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"bc", b"\r", b"\n", b"\r\n", b"x" * 50, b"\xff"]), max_size=40),
       st.data())
def test_splitter_is_independent_of_read_boundaries(parts, data):
    whole = b"".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(whole)), max_size=8)))
    pieces, last = [], 0
    for cut in cuts:
        pieces.append(whole[last:cut])
        last = cut
    pieces.append(whole[last:])
    assert split_all(pieces) == split_all([whole])


def test_splitter_line_endings_and_cap():
    assert split_all([b"one\rtwo\r\nthree\nfour"]) == [(b"one", 0), (b"two", 0), (b"three", 0), (b"four", 0)]
    assert split_all([b"a\r", b"\nb\n"]) == [(b"a", 0), (b"b", 0)]
    assert split_all([b"z" * 100 + b"\nok\n"], cap=10) == [(b"z" * 10, 90), (b"ok", 0)]


# --- command sources ------------------------------------------------------------------------


def test_formats_through_a_subprocess():
    collector, src, code = run(run_to_end(LogConfig(name="app", command=script("formats.py"))))
    assert code == 0 and src.exit_code == 0
    lines = collector.lines
    assert [line.level for line in lines] == ["info", "error", "warn", "warn", "error", "error", "debug"]
    pino, bunyan, structlog, plain, docker, wrangler, last = lines
    assert pino.text == 'request completed req={"method":"GET","url":"/api"} responseTime=12'
    assert bunyan.text == "charge failed name=billing err=PaymentError: card declined"
    assert structlog.text == "cache miss ratio high ratio=0.4"
    assert plain.text == "2026-11-24 05:32:44,001 WARNING disk almost full"
    assert docker.text == "ERROR upstream timed out"
    assert docker.at == datetime(2026, 11, 24, 5, 32, 45, 123456, tzinfo=UTC)
    # a pretty-printed wrangler event spread over 30 lines becomes one line
    assert wrangler.text.startswith("edge-api: POST https://api.example.test/orders 500 | outcome=exception"
                                    " | TypeError: cannot read properties of undefined")
    assert "warn: upstream slow" in wrangler.text
    assert last.text == "DEBUG last line"
    assert all(line.source == "app" for line in lines)
    seqs = [line.seq for line in lines]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert collector.statuses[0].startswith("running (pid ")
    assert collector.statuses[-1] == "exited with code 0: DEBUG last line"
    assert src.total == 7 and list(src.lines) == lines


def test_exit_code_and_last_line():
    collector, src, code = run(run_to_end(LogConfig(name="job", command=script("exit_with.py", "3", "working"))))
    assert code == 3 and src.exit_code == 3 and not src.running
    assert collector.texts == ["working", "giving up: 3"]
    assert collector.statuses[-1] == "exited with code 3: giving up: 3"


def test_crash_status_has_no_traceback_frames():
    collector, _, code = run(run_to_end(LogConfig(name="job", command=script("crash.py"))))
    assert code == 1
    assert collector.statuses[-1] == "exited with code 1: RuntimeError: kaboom"
    assert "Traceback (most recent call last):" in collector.texts  # the output itself is shown


def test_command_not_found():
    collector, src, code = run(run_to_end(LogConfig(name="x", command=("warroom-no-such-cmd", "-f"))))
    assert code == 127 and src.exit_code == 127
    assert collector.statuses == ["command not found: warroom-no-such-cmd"]


def test_runbook_step_one_shot():
    config = LogConfig(name="step", command=("sh", "-c", "echo one; echo two >&2; echo three; exit 0"))
    collector, _, code = run(run_to_end(config))
    assert code == 0
    assert collector.texts == ["one", "two", "three"]


def test_flood_loses_nothing_and_batches():
    produced = 200_000
    config = LogConfig(name="flood", command=script("flood.py", str(produced)), buffer=1000)
    collector, src, code = run(run_to_end(config), timeout=120)
    assert code == 0
    assert src.total == produced
    assert sum(len(batch) for batch in collector.batches) == produced
    assert len(collector.batches) < 1000  # a flood becomes few callbacks
    assert len(src.lines) == 1000  # bounded buffer holds the newest lines
    assert src.lines[-1].text == f"line {produced - 1} INFO"
    assert src.lines[0].text == f"line {produced - 1000} INFO"
    assert collector.lines[12345].text == "line 12345 INFO"
    seqs = [line.seq for line in collector.lines]
    assert all(a < b for a, b in zip(seqs, seqs[1:]))


def test_huge_line_is_capped_not_fatal():
    collector, src, code = run(run_to_end(LogConfig(name="big", command=script("bigline.py", "5"))))
    assert code == 0
    start, big, end = collector.lines
    assert (start.text, end.text) == ("start", "end")
    assert big.text.startswith("A" * 100)
    assert len(big.text) < 4100
    hidden = int(re.search(r" …\[\+(\d+) chars\]$", big.text).group(1))
    assert len(big.text) - len(re.search(r" …\[\+\d+ chars\]$", big.text).group()) + hidden == 5 << 20


def test_cr_only_and_crlf_lines():
    collector, _, _ = run(run_to_end(LogConfig(name="cr", command=script("cr_lines.py"))))
    assert collector.texts == ["one", "two", "three", "four", "five", "six", "", "seven"]


def test_invalid_utf8_and_escapes_are_inert():
    collector, _, code = run(run_to_end(LogConfig(name="evil", command=script("hostile_corpus.py"))))
    assert code == 0
    for line in collector.lines:
        assert "\x1b" not in line.text and not BAD.search(line.text), repr(line.text)
        assert len(line.text) < 4100
    texts = collector.texts
    assert "invalid \ufffd\ufffd utf-8 \ufffd" in texts
    assert "copied to your clipboard" in texts
    assert "[@click=app.quit]x[/] [bold red]not markup[/bold red] [link=https://x]y[/link]" in texts
    assert not any("hunter2" in t or "AKIAIOSFODNN7EXAMPLE" in t or "s3cr3t-pass" in t for t in texts)


def test_secrets_redacted_in_lines_and_status():
    secret = "env-secret-value-42"
    config = LogConfig(name="s", command=("sh", "-c", f"echo connecting with {secret}; exit 9"))
    collector, _, code = run(run_to_end(config, secrets=[secret]))
    assert code == 9
    assert collector.texts == [f"connecting with {REDACTED}"]
    assert collector.statuses[-1] == f"exited with code 9: connecting with {REDACTED}"


def test_restart_with_backoff():
    collector = Collector()
    config = LogConfig(name="flaky", command=script("exit_with.py", "2"), restart=True)

    async def go():
        src = source(config, collector, backoff_base=0.01, backoff_max=0.04)
        await src.start()
        await wait_until(lambda: sum(s.startswith("restarting") for s in collector.statuses) >= 5)
        await src.stop()
        return src

    src = run(go())
    restarts = [s for s in collector.statuses if s.startswith("restarting")]
    assert restarts[:5] == ["restarting in 0.01s", "restarting in 0.02s", "restarting in 0.04s",
                            "restarting in 0.04s", "restarting in 0.04s"]
    assert any(s == "exited with code 2: giving up: 2" for s in collector.statuses)
    assert collector.statuses[-1] == "stopped"
    assert src.restarts >= 4 and not src.running


def test_restart_of_a_missing_command_keeps_trying():
    collector = Collector()
    config = LogConfig(name="later", command=("warroom-no-such-cmd",), restart=True)

    async def go():
        src = source(config, collector, backoff_base=0.01, backoff_max=0.02)
        await src.start()
        await wait_until(lambda: collector.statuses.count("command not found: warroom-no-such-cmd") >= 3)
        await src.stop()

    run(go())
    assert "restarting in 0.01s" in collector.statuses


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("ignore_term", [False, True])
def test_stop_kills_the_process_group(tmp_path, ignore_term):
    pidfile = tmp_path / "pids"
    args = [str(pidfile)] + (["--ignore-term"] if ignore_term else [])
    collector = Collector()

    async def go():
        src = source(LogConfig(name="kids", command=script("children.py", *args)), collector, stop_grace=0.2)
        await src.start()
        assert src.running and src.pid
        await wait_until(pidfile.exists)
        pids = [int(p) for p in pidfile.read_text().split()]
        assert all(alive(pid) for pid in pids)
        await src.stop()
        assert not src.running
        leader = src.pid
        assert src.exit_code is not None
        # reaped: the leader is gone from the process table, not a zombie of ours
        await wait_until(lambda: not Path(f"/proc/{leader}").exists(), timeout=10)
        await wait_until(lambda: not any(alive(pid) for pid in pids), timeout=10)
        return src

    src = run(go())
    assert collector.statuses[-1] == "stopped"
    assert src.exit_code is not None and src.exit_code < 0


def test_background_child_holding_the_pipe_does_not_hang():
    collector, _, code = run(run_to_end(LogConfig(name="bg", command=script("background.py"))))
    assert code == 0
    assert collector.texts == ["parent done"]


def test_trickle_is_delivered_promptly_and_stop_is_clean():
    collector = Collector()

    async def go():
        src = source(LogConfig(name="tick", command=script("ticker.py", "0.01")), collector)
        await src.start()
        await wait_until(lambda: len(collector.lines) >= 5)
        await src.stop()
        return src

    src = run(go())
    assert [line.text for line in collector.lines[:5]] == [f"tick {i}" for i in range(5)]
    assert src.total == len(collector.lines)


def test_callback_exceptions_do_not_escape():
    statuses = []

    def bad_lines(batch):
        raise RuntimeError("UI bug")

    def bad_status(text):
        statuses.append(text)
        raise RuntimeError("UI bug too")

    async def go():
        src = LogSource(LogConfig(name="x", command=("sh", "-c", "echo a; echo b")), on_lines=bad_lines,
                        on_status=bad_status)
        await src.start()
        return await src.wait(), src

    code, src = run(go())
    assert code == 0 and src.total == 2
    assert "on_lines callback failed: RuntimeError" in statuses


def test_env_and_cwd(tmp_path):
    config = LogConfig(name="env", command=("sh", "-c", 'echo "$WARROOM_TEST_VAR in $(pwd)"'))
    collector, _, _ = run(run_to_end(config, env={"WARROOM_TEST_VAR": "hello", "PATH": os.environ["PATH"]},
                                     cwd=tmp_path))
    assert collector.texts == [f"hello in {tmp_path}"]


# --- file sources ---------------------------------------------------------------------------


def test_follow_file_rotation_and_truncation(tmp_path):
    path = tmp_path / "app.log"
    path.write_text("old 1\nold 2\nold 3\n")
    collector = Collector()

    async def go():
        src = source(LogConfig(name="file", file=str(path)), collector, poll_interval=0.01, initial_lines=2)
        await src.start()
        assert src.running
        await wait_until(lambda: collector.texts == ["old 2", "old 3"])
        with open(path, "a") as handle:
            handle.write("new 1\nERROR new 2\npartial")
        await wait_until(lambda: collector.texts[-2:] == ["new 1", "ERROR new 2"])
        with open(path, "a") as handle:
            handle.write(" line\n")
        await wait_until(lambda: collector.texts[-1:] == ["partial line"])
        # rotation: the old file is renamed (and still gets a last line), a new file appears
        with open(path, "a") as handle:
            handle.write("last of old\n")
        os.rename(path, tmp_path / "app.log.1")
        path.write_text("first of new\n")
        await wait_until(lambda: "first of new" in collector.texts)
        assert collector.texts.index("last of old") < collector.texts.index("first of new")
        assert any("(rotated)" in s for s in collector.statuses)
        # truncation (copytruncate): the file shrinks, reading starts over
        with open(path, "a") as handle:
            handle.write("a much longer line so that the truncated file is smaller\n")
        await wait_until(lambda: collector.texts[-1].startswith("a much longer"))
        with open(path, "w") as handle:
            handle.write("after truncate\n")
        await wait_until(lambda: collector.texts[-1] == "after truncate")
        assert any("truncated" in s for s in collector.statuses)
        await src.stop()
        return src

    src = run(go())
    assert collector.texts.count("first of new") == 1
    levels = {line.text: line.level for line in collector.lines}
    assert levels["ERROR new 2"] == "error"
    assert src.total == len(collector.lines)
    assert collector.statuses[-1] == "stopped"


def test_follow_missing_file_waits_for_it(tmp_path):
    path = tmp_path / "later.log"
    collector = Collector()

    async def go():
        src = source(LogConfig(name="later", file="later.log"), collector, poll_interval=0.01, cwd=tmp_path)
        await src.start()
        await wait_until(lambda: any(s.startswith("waiting for") for s in collector.statuses))
        path.write_text("hello\n")
        await wait_until(lambda: collector.texts == ["hello"])
        await src.stop()

    run(go())
    assert collector.statuses[0] == f"waiting for {path} (not found)"


def test_follow_file_start_shows_the_tail_only(tmp_path):
    path = tmp_path / "big.log"
    path.write_text("".join(f"line {i}\n" for i in range(100_000)))
    collector = Collector()

    async def go():
        src = source(LogConfig(name="big", file=str(path)), collector, poll_interval=0.01, initial_lines=3)
        await src.start()
        await wait_until(lambda: len(collector.lines) >= 3)
        await src.stop()

    run(go())
    assert collector.texts == ["line 99997", "line 99998", "line 99999"]


def test_logs_import_neither_textual_nor_httpx():
    import subprocess

    code = ("import sys, warroom.sources.supervisor; "
            "sys.exit(any(m in sys.modules for m in ('textual', 'httpx')))")
    assert subprocess.run([PY, "-c", code], timeout=60).returncode == 0


# --- error rate -------------------------------------------------------------------------------


def test_error_rate_per_minute():
    clock = FrozenClock("2026-11-24T05:00:10+00:00")
    rate = ErrorRate(clock)
    err = LogLine("api", "ERROR x", "error", None, 1)
    warn = LogLine("api", "WARN x", "warn", None, 2)
    other = LogLine("db", "ERROR y", "error", None, 3)
    rate.add(err)
    rate.add(warn)
    clock.advance(60)
    rate.add_lines([err, err, other])
    clock.advance(120)
    rate.add(err)
    assert rate.per_minute(clock.now(), minutes=4, source="api") == [1, 2, 0, 1]
    assert rate.per_minute(clock.now(), minutes=4) == [1, 3, 0, 1]
    assert rate.per_minute(minutes=2, source="db") == [0, 0]
    assert sorted(rate.sources()) == ["api", "db"]
    for _ in range(400):  # bounded memory
        clock.advance(60)
        rate.add(err)
    assert len(rate._buckets["api"]) <= rate.keep_minutes + 16
