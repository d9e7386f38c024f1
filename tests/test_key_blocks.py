"""Private keys in log streams are redacted whole (issue 13, item 5, the logs part).

A key that a command prints arrives line by line: only its BEGIN line looks like a secret.
Every line from BEGIN to END (or a bounded number of lines) is redacted, whichever path
reads it: the per-line parse, the bulk `parse_block` fast path, LogSource's reads of a real
subprocess (split at awkward places), the Logs pane, a runbook step's output stored on the
timeline, and a command check's detail.

The key bodies are random base64, so the assertion "no body line anywhere" is about text
nothing else could produce.
"""

from __future__ import annotations

import asyncio
import base64
import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warroom.config import CheckConfig, LogConfig
from warroom.playbook.runbooks import output_tail
from warroom.sources.fastpath import _Parser
from warroom.sources.health import HealthMonitor
from warroom.sources.supervisor import LogSource
from warroom.text.sanitize import REDACTED
from warroom.text.redact import KeyBlocks, redact_key_blocks

PY = sys.executable


def key_body(seed: int, lines: int = 6) -> list[str]:
    rng = random.Random(seed)
    raw = bytes(rng.getrandbits(8) for _ in range(48 * lines))
    text = base64.b64encode(raw).decode()
    return [text[i:i + 64] for i in range(0, len(text), 64)]


def key_block(seed: int, kind: str = "RSA ", lines: int = 6) -> list[str]:
    return [f"-----BEGIN {kind}PRIVATE KEY-----", *key_body(seed, lines), f"-----END {kind}PRIVATE KEY-----"]


def leaks(texts: list[str], body: list[str]) -> list[str]:
    """Texts that show any part of a body line (its first or second 16 characters)."""
    pieces = [piece for line in body for piece in (line[:16], line[16:32]) if len(piece) == 16]
    return [text for text in texts if any(piece in text for piece in pieces)]


# --- the state ---------------------------------------------------------------------------------


def test_every_line_from_begin_to_end_is_redacted():
    body = key_body(1)
    lines = ["INFO deploying", "2026-11-24T05:00:00Z key: -----BEGIN RSA PRIVATE KEY-----",
             "Proc-Type: 4,ENCRYPTED", "", *body, "-----END RSA PRIVATE KEY-----", "INFO done"]
    out = redact_key_blocks(lines)
    assert out[0] == "INFO deploying" and out[-1] == "INFO done"
    assert out[1] == lines[1]  # the BEGIN line: the line-wise redaction takes it
    assert out[2:-2] == [REDACTED] * (len(body) + 2)
    assert out[-2] == "-----END RSA PRIVATE KEY-----"
    assert not leaks(out, body)


def test_end_with_key_text_before_it_and_a_second_key_on_the_same_line():
    state = KeyBlocks()
    assert state.step("-----BEGIN OPENSSH PRIVATE KEY-----") is None and state.open
    assert state.step("b3BlbnNzaC1rZXktdjE=") == REDACTED
    assert state.step("QUJD==-----END OPENSSH PRIVATE KEY----- rest") == \
        f"{REDACTED}-----END OPENSSH PRIVATE KEY----- rest"
    assert not state.open
    assert state.step("x -----END EC PRIVATE KEY----- -----BEGIN EC PRIVATE KEY-----") is None
    assert state.open  # the END closed nothing, the BEGIN after it opens a key
    assert state.step("-----END EC PRIVATE KEY-----") is None and not state.open


def test_a_key_on_one_line_and_keys_of_every_kind():
    state = KeyBlocks()
    one_line = "key=-----BEGIN PRIVATE KEY-----MIIE-----END PRIVATE KEY----- ok"
    assert state.step(one_line) is None and not state.open  # the line-wise redaction takes it all
    for kind in ("", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "):
        assert redact_key_blocks([f"-----BEGIN {kind}PRIVATE KEY-----", "AAAA"])[1] == REDACTED
    pgp = redact_key_blocks(["-----BEGIN PGP PRIVATE KEY BLOCK-----", "", "lQOYBF", "=twTO",
                             "-----END PGP PRIVATE KEY BLOCK-----", "after"])
    assert pgp[1:4] == [REDACTED] * 3 and pgp[-1] == "after"
    # public keys and certificates are not secrets
    assert redact_key_blocks(["-----BEGIN PUBLIC KEY-----", "MIIB"]) == ["-----BEGIN PUBLIC KEY-----", "MIIB"]


def test_a_key_without_end_is_redacted_for_a_bounded_number_of_lines():
    state = KeyBlocks(max_lines=5)
    out = redact_key_blocks(["-----BEGIN PRIVATE KEY-----", *[f"line {i}" for i in range(8)]], state)
    assert out[1:6] == [REDACTED] * 5
    assert out[6:] == ["line 5", "line 6", "line 7"]
    assert KeyBlocks.MAX_LINES >= 200  # a 16384-bit RSA key is about 200 lines of PEM


def test_a_tail_that_starts_inside_a_key():
    body = key_body(2)
    out = redact_key_blocks([*body[3:], "-----END PRIVATE KEY-----", "ok"], tail=True)
    assert out == [REDACTED] * (len(body) - 3) + ["-----END PRIVATE KEY-----", "ok"]
    assert redact_key_blocks(["a", "b"], tail=True) == ["a", "b"]


# --- the bulk path equals the line-by-line path, wherever the blocks are cut -------------------

_OTHER = ["2026-11-24T05:32:42.123Z INFO GET /api/orders/7 200 12ms", "plain WARN line", "", "ERROR x",
          '{"level":"warn","msg":"json"}', "token=abc123", "\x1b[31mred\x1b[0m", "-----END PRIVATE KEY-----",
          "PRIVATE KEY mentioned", "2026-11-24T05:32:42Z -----BEGIN EC PRIVATE KEY-----"]


@st.composite
def streams(draw):
    """Log lines with whole keys, cut keys (no END) and stray END lines among them."""
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["other", "key", "open key", "stamped key"]))
        if kind == "other":
            lines.extend(draw(st.lists(st.sampled_from(_OTHER), max_size=20)))
        else:
            block = key_block(draw(st.integers(0, 10**6)), draw(st.sampled_from(["", "RSA ", "OPENSSH "])),
                              draw(st.integers(0, 30)))
            if kind == "open key":
                block = block[:-1]
            if kind == "stamped key":
                block = [f"2026-11-24T05:32:{i % 60:02d}Z {line}" for i, line in enumerate(block)]
            lines.extend(block)
    return lines or ["INFO quiet"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=streams(), data=st.data())
def test_blocks_cut_anywhere_equal_the_line_by_line_parse(lines, data):
    one_by_one = _Parser(())
    expected = [(l.text, l.level, l.at) for l in (one_by_one.parse(raw, "s", 0) for raw in lines)]
    assert not leaks([text for text, _level, _at in expected], [l for l in lines if not l.startswith(("-", "2"))
                                                                and l not in _OTHER])
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(lines) - 1)), max_size=6))))
    parser = _Parser(())
    got = []
    for start, end in zip([0, *cuts], [*cuts, len(lines)]):
        if start < end:
            got.extend(parser.parse_block("\n".join(lines[start:end]), "s"))
    assert [(l.text, l.level, l.at) for l in got] == expected


# --- LogSource, reads split anywhere ----------------------------------------------------------------


def stream_bytes(seed: int) -> tuple[bytes, list[str]]:
    """A stream with two keys (one with CRLF endings) among ordinary lines; -> bytes, body lines."""
    first, second = key_block(seed, "RSA ", 12), key_block(seed + 1, "", 8)
    lines = ["2026-11-24T05:00:00Z INFO starting", *first, "INFO between the keys"]
    data = ("\n".join(lines) + "\n" + "\r\n".join(second) + "\r\nWARN after the keys\n").encode()
    return data, first[1:-1] + second[1:-1]


def collect(data: bytes, cuts: list[int]) -> list:
    got: list = []
    source = LogSource(LogConfig(name="keys", command=("true",)), on_lines=got.extend,
                       on_status=lambda _text: None, flush_interval=0)
    for start, end in zip([0, *cuts], [*cuts, len(data)]):
        source._feed(source._splitter.feed(data[start:end]))
    source._feed(source._splitter.flush(), final=True)
    return got


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 10**6), data=st.data())
def test_reads_split_anywhere_never_show_a_key_line(seed, data):
    raw, body = stream_bytes(seed)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(raw) - 1), max_size=12))))
    lines = collect(raw, cuts)
    texts = [line.text for line in lines]
    assert not leaks(texts, body)
    assert texts == [line.text for line in collect(raw, [])]  # the same whatever the cuts
    assert texts[0] == "INFO starting" and texts[-1] == "WARN after the keys"
    assert texts.count(REDACTED) == len(body)


PRINT_IN_PIECES = r"""
import sys, time
data = open(sys.argv[1], "rb").read()
cuts = [int(c) for c in sys.argv[2:]]
for start, end in zip([0, *cuts], [*cuts, len(data)]):
    sys.stdout.buffer.write(data[start:end])
    sys.stdout.buffer.flush()
    time.sleep(0.03)  # each piece its own read
"""


def awkward_cuts(data: bytes) -> list[int]:
    """Inside '-----BEGIN', inside a body line, between CR and LF, just before an END."""
    cuts = [data.index(b"-----BEGIN") + 7, data.index(b"-----BEGIN") + 40, data.index(b"\r\n") + 1,
            data.index(b"-----END") - 1, data.index(b"-----END") + 3, data.rindex(b"-----BEGIN") + 20]
    return sorted(set(cuts))


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10**6), extra=st.lists(st.integers(1, 2000), max_size=4))
def test_a_real_subprocess_printing_keys_in_pieces(tmp_path_factory, seed, extra):
    raw, body = stream_bytes(seed)
    path = tmp_path_factory.mktemp("keys") / "stream.bin"
    path.write_bytes(raw)
    cuts = sorted({*awkward_cuts(raw), *(c for c in extra if c < len(raw))})
    got: list = []

    async def main() -> int:
        source = LogSource(LogConfig(name="keys", command=(PY, "-c", PRINT_IN_PIECES, str(path),
                                                           *map(str, cuts))),
                           on_lines=got.extend, on_status=lambda _text: None)
        await source.start()
        return await asyncio.wait_for(source.wait(), 30)

    assert asyncio.run(main()) == 0
    texts = [line.text for line in got]
    assert not leaks(texts, body)
    assert texts.count(REDACTED) == len(body)
    assert "INFO between the keys" in texts and texts[-1] == "WARN after the keys"


def test_a_restarted_command_starts_with_no_key_open(tmp_path):
    """A run that dies inside a key does not redact the next run's lines."""
    got: list = []
    script = tmp_path / "cut.sh"
    script.write_text("echo '-----BEGIN PRIVATE KEY-----'; echo MIIEvQIBADANBgkqhkiG; echo next-run-line\n")

    async def main() -> None:
        source = LogSource(LogConfig(name="k", command=("sh", str(script))), on_lines=got.extend,
                           on_status=lambda _text: None)
        for _ in range(2):
            script.write_text("echo '-----BEGIN PRIVATE KEY-----'; echo MIIEvQIBADANBgkqhkiG\n" if not got
                              else "echo next-run-line\n")
            await source.start()
            await asyncio.wait_for(source.wait(), 30)

    asyncio.run(main())
    texts = [line.text for line in got]
    assert "MIIEvQIBADANBgkqhkiG" not in " ".join(texts)
    assert texts[-1] == "next-run-line"


# --- where the lines end up -----------------------------------------------------------------------


def test_runbook_output_tail_keeps_no_key_line_even_from_raw_texts():
    body = key_body(3, 20)
    texts = ["connecting", "-----BEGIN RSA PRIVATE KEY-----", *body, "-----END RSA PRIVATE KEY-----", "done"]
    stored = output_tail(texts)
    assert not leaks([stored], body)
    assert stored.endswith("-----END RSA PRIVATE KEY-----\ndone")


def test_a_command_check_printing_a_key_shows_no_key_line(tmp_path):
    body = key_body(4, 20)
    (tmp_path / "key.txt").write_text("\n".join(["-----BEGIN PRIVATE KEY-----", *body]) + "\n")
    check = CheckConfig(name="cat-key", kind="command", command=("cat", str(tmp_path / "key.txt")), timeout=10.0)
    # more than the check keeps of its output: the tail it looks at starts inside the key
    long_body = key_body(6, 1500)
    (tmp_path / "long.txt").write_text("\n".join(["-----BEGIN PRIVATE KEY-----", *long_body,
                                                  "-----END PRIVATE KEY-----", ""]))
    ended = CheckConfig(name="cat-ended", kind="command", timeout=10.0,
                        command=("sh", "-c", f"cat {tmp_path / 'long.txt'}; echo '{long_body[-1]}'"))

    async def main():
        monitor = HealthMonitor([check, ended])
        try:
            return await monitor.check_once(check), await monitor.check_once(ended)
        finally:
            await monitor.aclose()

    open_key, whole_key = asyncio.run(main())
    assert (open_key.state, open_key.detail) == ("up", REDACTED)
    # a line after the END is no key line, even one that looks like it: the END closed the key
    assert (whole_key.state, whole_key.detail) == ("up", long_body[-1])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


KEY_SCRIPT = r"""
import sys, time
lines = open(sys.argv[1]).read().split("\n")
for i, line in enumerate(lines):
    sys.stdout.write(line + ("\n" if i < len(lines) - 1 else ""))
    if i % 3 == 1:
        sys.stdout.flush(); time.sleep(0.01)
sys.stdout.flush()
"""


@pytest.mark.anyio
async def test_the_logs_pane_and_a_runbook_steps_record_hold_no_key_line(room_dir, clock, tmp_path):
    from console_support import console_ready, events, open_room, story, wait_until

    from warroom.playbook.runbooks import load_runbooks
    from warroom.ui.factory import make_app
    from warroom.ui.panes.logs import LogsPane
    from warroom.ui.screens.runbook import RunbookScreen

    body = key_body(5, 30)
    printed = tmp_path / "printed.txt"
    printed.write_text("\n".join(["INFO loading credentials", "-----BEGIN OPENSSH PRIVATE KEY-----", *body,
                                  "-----END OPENSSH PRIVATE KEY-----", "INFO loaded"]))
    script = tmp_path / "print_key.py"
    script.write_text(KEY_SCRIPT)
    with (room_dir / "warroom.toml").open("a") as handle:
        handle.write(f'\n[[log]]\nname = "keys"\ncommand = ["{PY}", "{script}", "{printed}"]\n')
    (room_dir / "runbooks" / "zz-keys.md").write_text(
        f"# Print a key\n\n```bash\n{PY} {script} {printed}\n```\n")
    room = open_room(room_dir, clock)
    story(room, clock)
    app = make_app(room, clock, start_sources=True, watch=False)
    db = room.store.path
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await console_ready(pilot)
            view = app.query_one(LogsPane).view_for("keys")
            await wait_until(pilot, lambda: any(l.text == "INFO loaded" for l in view.buffer_lines), timeout=20)
            pane_texts = [line.text for line in view.buffer_lines]
            assert not leaks(pane_texts, body)
            assert pane_texts.count(REDACTED) == len(body)
            [runbook] = [r for r in load_runbooks(room_dir / "runbooks") if r.name == "zz-keys"]
            app.post_message(RunbookScreen.RunStep(runbook, runbook.step(1)))
            await wait_until(pilot, lambda: bool(events(db, "command.ran")), timeout=30)
    finally:
        room.close()
    [ran] = events(db, "command.ran")
    assert ran.body["exit_code"] == 0
    assert not leaks([ran.body["output"]], body)
    assert ran.body["output"].endswith("-----END OPENSSH PRIVATE KEY-----\nINFO loaded")
    with open(db, "rb") as handle:  # nor anywhere in the file
        raw = handle.read()
    for name in (db.name + "-wal",):
        if (db.parent / name).exists():
            raw += (db.parent / name).read_bytes()
    assert not any(line[:16].encode() in raw for line in body)
