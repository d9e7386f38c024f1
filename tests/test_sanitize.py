"""sanitize: untrusted text made inert, capped and redacted (DESIGN principles 3 and 5)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warroom.text.sanitize import REDACTED, Sanitizer, redact, sanitize, sanitize_lines
from warroom.text.redact import Redactor

SCRIPTS = Path(__file__).parent / "scripts"


def _load_corpus() -> list[str]:
    spec = importlib.util.spec_from_file_location("hostile_corpus", SCRIPTS / "hostile_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.HOSTILE


HOSTILE = _load_corpus()
BAD_SINGLE = re.compile("[\x00-\x1f\x7f-\x9f]")
BAD_MULTI = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
MARKER = re.compile(r" …\[\+\d+ chars\]$")


def assert_inert(text: str, multiline: bool = False) -> None:
    assert "\x1b" not in text
    assert (BAD_MULTI if multiline else BAD_SINGLE).search(text) is None, repr(text)
    for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029":
        assert char not in text
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    text.encode("utf-8")  # always encodable for the terminal


# --- the core stays free of the UI and of httpx -----------------------------------


def test_sanitize_imports_neither_textual_nor_httpx():
    code = ("import sys, warroom.text.sanitize; "
            "bad = [m for m in ('textual', 'httpx', 'rich') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# --- escape sequences and controls ----------------------------------------------------


@pytest.mark.parametrize("item", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_hostile_corpus_is_inert(item):
    out = sanitize(item)
    assert_inert(out)
    assert len(out) <= 4000 + len(" …[+1000000 chars]")
    multi = sanitize_lines(item)
    assert_inert(multi, multiline=True)


@pytest.mark.parametrize("raw, expected", [
    ("\x1b]52;c;ZWNobyBwd25lZA==\x07copied", "copied"),
    ("\x1b]52;c;ZWNobyBwd25lZA==\x1b\\after", "after"),
    ("\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\", "link"),
    ("\x1b]0;title\x07text", "text"),
    ("\x1b[2J\x1b[Hcleared", "cleared"),
    ("\x1b[31;1mred\x1b[0m", "red"),
    ("\x1b[?1049halt", "alt"),
    ("\x1bPq#0;2;0\x1b\\after", "after"),
    ("\x1b_apc\x1b\\ \x1b^pm\x1b\\ \x1bXsos\x1b\\.", "  ."),
    ("a\x1bcb", "ab"),
    # an unterminated string loses its introducer only: it cannot hide the rest of the line
    ("\x1b]2;no terminator, still shown", "2;no terminator, still shown"),
    ("\x1b]0;x\nnext", "0;x␤next"),
    ("lone\x1b", "lone"),
    ("c1\x9b31m csi", "c1 csi"),
    ("osc8bit\x9d0;title\x9c!", "osc8bit!"),
    ("nel\x85x", "nelx"),
])
def test_escape_sequences_are_removed(raw, expected):
    assert sanitize(raw) == expected


def test_c0_controls_and_del_become_visible_symbols():
    # ESC h is a two-byte escape sequence: both go, as a terminal would consume them
    assert sanitize("a\x00b\x07c\x08d\x0be\x0cf\x7fg\x1bh") == "a␀b␇c␈d␋e␌f␡g"
    assert sanitize("nul\x00") == "nul␀"
    assert sanitize("del\x7f") == "del␡"
    assert sanitize("bell\x07!") == "bell␇!"
    assert sanitize("bs\x08") == "bs␈"


def test_tabs_become_spaces():
    assert sanitize("a\tb") == "a   b"
    assert "\t" not in sanitize("\t\t")


def test_line_endings_single_line():
    assert sanitize("crlf\r\n") == "crlf"
    assert sanitize("lf\n") == "lf"
    # a CR-only line keeps every segment, visibly joined (not "last segment wins")
    assert sanitize("10%\r20%\r30%") == "10%␍20%␍30%"
    assert sanitize("one\ntwo") == "one␤two"
    assert sanitize("one\r\ntwo") == "one␤two"
    assert sanitize("a\u2028b\u2029c") == "a␤b␤c"


def test_multiline_keeps_newlines_only():
    out = sanitize_lines("one\r\ntwo\x1b[31m\nthree\x00\n")
    assert out == "one\ntwo\nthree␀\n"
    assert sanitize("a\nb", multiline=True) == "a\nb"


def test_bytes_are_decoded_with_replacement():
    assert sanitize(b"bad \xff\xfe ok") == "bad \ufffd\ufffd ok"
    assert sanitize(b"cut \xe2\x82") == "cut \ufffd"
    assert sanitize(bytearray(b"ok")) == "ok"
    assert sanitize("lone \ud800 surrogate") == "lone \ufffd surrogate"


def test_bidi_controls_are_removed():
    assert sanitize("a\u202eb\u202cc\u2066d\u2069") == "abcd"


def test_markup_looking_text_is_kept_literally():
    text = "[@click=app.quit]x[/] [bold red]alert[/bold red] $var {x} \\[y]"
    assert sanitize(text) == text


def test_sanitize_adds_nothing_markup_like():
    # what sanitize adds (the redaction and truncation markers) is not a tag to Rich or Textual
    from rich.text import Text
    from textual.content import Content

    out = sanitize("token=abc123 " + "x" * 50, limit=30)
    assert REDACTED in out and "…[+" in out
    assert Content.from_markup(out).plain == out
    assert Text.from_markup(out).plain == out


# --- length -----------------------------------------------------------------------------


def test_long_text_is_truncated_with_a_marker():
    out = sanitize("x" * 12_345 + "y", limit=100)
    assert out.startswith("x" * 100)
    assert MARKER.search(out)
    assert out.endswith("…[+12246 chars]")


def test_huge_input_costs_little():
    out = sanitize("A" * 50_000_000)
    assert len(out) < 4100
    assert out.endswith("…[+49996000 chars]")
    out = sanitize(b"B" * 20_000_000, limit=10)
    assert out.startswith("B" * 10) and MARKER.search(out)


def test_escape_flood_before_text():
    out = sanitize("\x1b[31m" * 10_000 + "visible", limit=50)
    assert_inert(out)


def test_exact_limit_is_not_marked():
    assert sanitize("x" * 10, limit=10) == "x" * 10


# --- redaction ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw, kept, gone", [
    ("Authorization: Bearer abc.def.ghi", "Authorization: ", "abc.def"),
    ("authorization=Basic dXNlcjpwYXNz", "authorization=", "dXNlcjpwYXNz"),
    ('{"Authorization": "Token 12345abcdef"}', '"Authorization": ', "12345abcdef"),
    ("curl -H 'Bearer abcdefghijklmnop'", "Bearer ", "abcdefghijklmnop"),
    ('{"password": "hunter2hunter2", "user": "bob"}', '"user": "bob"', "hunter2"),
    ("passwd=letmein123 next=1", "next=1", "letmein123"),
    ("db_password: swordfish", "db_password: ", "swordfish"),
    ('{"client_secret":"s3cr3t"}', "client_secret", "s3cr3t"),
    ("access_token=abc.def&x=1", "&x=1", "abc.def"),
    ("API_KEY=0123456789", "API_KEY=", "0123456789"),
    ("postgres://admin:s3cret@db:5432/x", "postgres://admin:", "s3cret"),
    ("https://user:pa55@example.test/path", "@example.test/path", "pa55"),
    ("key id AKIAIOSFODNN7EXAMPLE here", "key id ", "AKIAIOSFODNN7EXAMPLE"),
    ("ASIAABCDEFGHIJKLMNOP", "", "ASIAABCDEFGHIJKLMNOP"),
    ("ghp_0123456789abcdefghijABCDEFGHIJ012345", "", "ghp_0123"),
    ("gho_0123456789abcdefghijABCDEFGHIJ012345", "", "gho_0123"),
    ("ghs_0123456789abcdefghijABCDEFGHIJ012345", "", "ghs_0123"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "", "github_pat_11"),
    ("xoxb-123456789012-abcdefghij", "", "xoxb-1234"),
    ("xoxp-123456789012-abcdefghij", "", "xoxp-1234"),
    ("sk_live_0123456789abcdefABCD", "", "sk_live_0123"),
    ("rk_live_0123456789abcdef", "", "rk_live_0123"),
    ("sk_test_0123456789abcdef", "", "sk_test_0123"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end", "jwt ", "eyJzdWIi"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
     "-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA"),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq (cut short)", "BEGIN PRIVATE KEY", "MIIEvQ"),
])
def test_token_shapes_are_redacted(raw, kept, gone):
    for out in (redact(raw), sanitize(raw), sanitize_lines(raw)):
        assert gone not in out, out
        assert kept in out
        assert REDACTED in out


def test_exact_secrets_are_redacted():
    secret = "correct-horse-battery-staple"
    out = sanitize(f"connecting with {secret} to db", secrets=[secret])
    assert out == f"connecting with {REDACTED} to db"
    # also URL-encoded, and when an escape sequence was hiding it
    assert "p@ss w0rd" not in sanitize("q=p%40ss%20w0rd", secrets=["p@ss w0rd"])
    assert secret not in sanitize("correct-horse\x1b[0m-battery-staple", secrets=[secret])
    # a secret cut by the limit leaks no prefix: redaction happens before truncation
    out = sanitize("x" * 95 + secret, limit=100, secrets=[secret])
    assert "corre" not in out


def test_short_or_empty_secrets_are_ignored():
    assert redact("a b c", ["", "a"]) == "a b c"


def test_prose_stays_readable():
    for text in ("the bearer of bad news", "token count is low", "secret sauce recipe",
                 "GET /api/keys 200", "user@example.com wrote", "password reset email sent"):
        assert redact(text) == text


def test_redaction_is_idempotent():
    once = redact("password=abc token: xyz Authorization: Bearer 123456789")
    assert redact(once) == once


def test_redactor_and_sanitizer_objects():
    sanitizer = Sanitizer(Redactor(["s3cr3t-value"]), limit=20)
    assert sanitizer("has s3cr3t-value") == f"has {REDACTED}"
    assert sanitizer("y" * 30).endswith("…[+10 chars]")


# --- properties ---------------------------------------------------------------------------

_alphabet = st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF)
_interesting = st.sampled_from(["\x1b", "[", "]", "\x07", "\x9b", "\x9d", "\x9c", "\\", "\r", "\n", "\t",
                                "\x00", "\x7f", "P", "52;c;", "8;;", "\u202e", "\ud800", "Bearer ",
                                "password=", "AKIA", "eyJ", ".", "-----BEGIN PRIVATE KEY-----"])
_texts = st.lists(st.one_of(st.text(alphabet=_alphabet, max_size=20), _interesting), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_texts, limit=st.integers(min_value=1, max_value=200), multiline=st.booleans())
def test_property_inert_and_bounded(text, limit, multiline):
    out = sanitize(text, limit=limit, multiline=multiline, secrets=["hunter22"])
    assert_inert(out, multiline=multiline)
    body = MARKER.sub("", out)
    assert len(body) <= limit
    assert "hunter22" not in out


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), limit=st.integers(min_value=1, max_value=500))
def test_property_bytes_never_raise(data, limit):
    out = sanitize(data, limit=limit)
    assert_inert(out)
    assert len(MARKER.sub("", out)) <= limit


@settings(max_examples=200, deadline=None)
@given(text=_texts)
def test_property_redact_never_raises(text):
    out = redact(text, ["secret-value"])
    assert isinstance(out, str)
    assert "secret-value" not in out


_secretish = st.sampled_from(["Authorization", "authorization: ", "Bearer ", "bearer abcdefghij", "PASSWORD=",
                              "passwd: x", '"api-key":"v"', "secret=", "Token ", "ghp_", "github_pat_",
                              "gho_" + "a" * 20, "AKIA" + "B" * 16, "ASIA", "xoxb-", "xoxp-1234567890",
                              "sk_live_", "rk_test_", "eyJ", "eyJabcd.eyJabcd.x", "://u:p@h", "@", "://",
                              "-----BEGIN RSA PRIVATE KEY-----", "PRIVATE KEY", "private key", "s3cr3t-value",
                              "=", ":", '"', " ", "\n", "x", "Ab0_-."])
_redactables = st.lists(st.one_of(_secretish, st.text(max_size=8)), max_size=25).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=_redactables)
def test_property_precheck_never_skips_a_redaction(text):
    redactor = Redactor(["s3cr3t-value"])
    if not redactor.might_match(text):
        assert redactor._apply(text) == text


_lowered_apart = st.sampled_from(["\u212a", "\u0130", "\u00df", "\u03a3", "K\u0130Y", "\u212aEY"])


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(st.one_of(_redactables, _lowered_apart), min_size=1, max_size=12))
def test_property_suspect_lines_cover_every_line_the_precheck_passes(lines):
    """The block check (one search per trigger over many lines) names every line that the
    per-line pre-check would look at: the lines it leaves out need no redaction."""
    redactor = Redactor(["s3cr3t-value"])
    text = "\n".join(lines)
    suspects = redactor.suspect_lines(text)
    for index, line in enumerate(text.split("\n")):
        if redactor.might_match(line):
            assert index in suspects, (index, line)


def test_odd_arguments_do_not_raise():
    assert sanitize(None) == ""  # type: ignore[arg-type]
    assert sanitize(12345) == "12345"  # type: ignore[arg-type]
    assert sanitize("x", limit=0) == "x"
    assert sanitize("abc", secrets=None) == "abc"  # type: ignore[arg-type]
    assert sanitize("abc", secrets=[None, 5]) == "abc"  # type: ignore[list-item]
    assert redact(b"token=abc") == f"token={REDACTED}"  # type: ignore[arg-type]
