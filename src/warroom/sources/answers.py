"""What a check got back, read: Prometheus samples, JSON paths, failures said in words.

Pure functions (no I/O): the monitor in health.py fetches, these read what came.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpx

from warroom.text import durations


def number_text(value: float) -> str:
    return f"{value:g}"


# --- Prometheus text format ------------------------------------------------------

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,?)')
_UNESCAPE = re.compile(r"\\(.)")


def _unescape(value: str) -> str:
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def _parse_labels(text: str, pos: int) -> tuple[dict[str, str], int] | None:
    """Labels from `text[pos]` == '{' -> (labels, index after '}'), None if malformed."""
    labels: dict[str, str] = {}
    pos += 1
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        match = _LABEL.match(text, pos)
        if match is None:
            return None
        labels[match.group(1)] = _unescape(match.group(2))
        pos = match.end()
        if not match.group(3):
            while pos < len(text) and text[pos] in " \t":
                pos += 1
            if pos < len(text) and text[pos] == "}":
                return labels, pos + 1
            return None


def parse_sample_spec(spec: str) -> tuple[str, dict[str, str]] | None:
    """'error_ratio{service="api"}' -> ('error_ratio', {'service': 'api'}); None if malformed."""
    spec = spec.strip()
    match = _NAME.match(spec)
    if match is None:
        return None
    name, rest = match.group(), spec[match.end() :].strip()
    if not rest:
        return name, {}
    parsed = _parse_labels(rest, 0) if rest.startswith("{") else None
    if parsed is None or rest[parsed[1] :].strip():
        return None
    return name, parsed[0]


def parse_prometheus(text: str, only: str | None = None) -> Iterable[tuple[str, dict[str, str], float]]:
    """Samples of the Prometheus (or OpenMetrics) text format: (name, labels, value).
    Comments and malformed lines are skipped. `only` restricts to one metric name."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if only is not None and not line.startswith(only):
            continue
        match = _NAME.match(line)
        if match is None:
            continue
        name, pos = match.group(), match.end()
        if only is not None and name != only:
            continue
        labels: dict[str, str] = {}
        if pos < len(line) and line[pos] == "{":
            parsed = _parse_labels(line, pos)
            if parsed is None:
                continue
            labels, pos = parsed
        fields = line[pos:].split()
        if not fields:
            continue
        try:
            value = float(fields[0])
        except ValueError:
            continue
        yield name, labels, value


def find_sample(text: str, name: str, labels: dict[str, str]) -> float | None:
    """The value of the sample with exactly this name and label set, or None."""
    for sample_name, sample_labels, value in parse_prometheus(text, only=name):
        if sample_name == name and sample_labels == labels:
            return value
    return None


# --- JSON paths -------------------------------------------------------------------

MISSING = object()


def json_lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict):
            if part not in data:
                return MISSING
            data = data[part]
        elif isinstance(data, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(data) <= index < len(data):
                return MISSING
            data = data[index]
        else:
            return MISSING
    return data


def same_value(got: Any, want: Any) -> bool:
    if isinstance(got, bool) or isinstance(want, bool):
        return isinstance(got, bool) and isinstance(want, bool) and got == want
    if isinstance(got, (int, float)) and isinstance(want, (int, float)):
        return got == want
    return type(got) is type(want) and got == want


def shown_value(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


# --- errors -----------------------------------------------------------------------


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 20:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    return seen


def describe_error(exc: BaseException, timeout: float) -> str:
    chain = _chain(exc)
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return f"TLS error: {item.verify_message or item.reason or 'certificate verify failed'}"
        if isinstance(item, ssl.SSLError):
            return f"TLS error: {item.reason or item.__class__.__name__}"
    for item in chain:
        if isinstance(item, socket.gaierror):
            return "DNS lookup failed"
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout after {durations.measured(timeout)}"
    text = str(exc)
    lower = text.lower()
    if isinstance(exc, httpx.ConnectError):
        if "refused" in lower or "all connection attempts failed" in lower:
            return "connection refused"
        if (
            "name or service not known" in lower
            or "nodename nor servname" in lower
            or "name resolution" in lower
            or "getaddrinfo" in lower
        ):
            return "DNS lookup failed"
        if "ssl" in lower or "certificate" in lower or "tls" in lower:
            return f"TLS error: {text}"
        return f"cannot connect: {text or type(exc).__name__}"
    if isinstance(exc, httpx.RemoteProtocolError):
        if "without sending" in lower or "disconnected" in lower:
            return "connection closed without a response"
        return f"protocol error: {text}"
    if isinstance(exc, httpx.ReadError):
        return f"connection reset: {text}" if text else "connection reset"
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return f"invalid URL: {text}"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {text}"
    return f"check failed: {type(exc).__name__}: {text}"
