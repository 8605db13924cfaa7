"""Runnable dry-runs: a request preview as a ``curl`` or ``httpie`` command to paste into bash.

A preview is the dict ``send --dry-run --json`` prints under ``request``: ``{"method", "url",
"headers", "body"}`` (the key masked). The commands built here never contain the key: the
``authorization`` header is read from ``$RAPIDO_CLIENT_KEY`` when the command runs, and the shell
stops with a message if it is unset. The body is passed as one single-quoted shell word, so the
bytes that leave are exactly the bytes ``rapido send`` would send (no trailing newline added).

    from rapido_cli.dryrun import as_curl
    print(as_curl({"method": "POST", "url": url, "headers": {...}, "body": event}))
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

__all__ = ["KEY_ENV", "KEY_HEADER", "DryRunFormat", "as_curl", "as_httpie", "body_bytes", "render"]

#: Where the runnable commands read the client key from, at run time.
KEY_ENV = "RAPIDO_CLIENT_KEY"
#: The header whose value is the key (never printed, never taken from the preview).
KEY_HEADER = "authorization"
#: The shell expansion of the key: double-quoted (kept as one word), failing loudly when unset.
_KEY_EXPANSION = f"${{{KEY_ENV}:?set {KEY_ENV} to the client key}}"
#: Headers the HTTP client computes itself; passing them would only risk disagreeing.
_COMPUTED = frozenset({"content-length", "host", "connection", "transfer-encoding"})
_CONTINUE = " \\\n  "
#: Characters httpie reads as item separators (``:``, ``==``, ``=``, ``:=``, ``@``, ``;``) or escapes.
_HTTPIE_SPECIAL = frozenset("\\:=@;")


class DryRunFormat(StrEnum):
    """The runnable forms of a dry run (``--output-format``)."""

    curl = "curl"
    httpie = "httpie"


def body_bytes(request: Mapping[str, Any]) -> bytes:
    """The exact body of ``request``: bytes as given, text as UTF-8, a JSON value as the client encodes it."""
    body = request.get("body")
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    from rapido_cli.transport import encode_event

    return encode_event(body)


def _headers(request: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The headers to pass on the command line, the key header last (it is spelled differently)."""
    out: list[tuple[str, str]] = []
    has_key = False
    for name, value in (request.get("headers") or {}).items():
        low = str(name).lower()
        if low == KEY_HEADER:
            has_key = True
        elif low not in _COMPUTED:
            out.append((str(name), str(value)))
    if has_key:
        out.append((KEY_HEADER, ""))
    return out


def _body_word(body: bytes) -> str:
    """``body`` as one shell word; the body must be text (JSON always is)."""
    return shlex.quote(body.decode("utf-8"))


def as_curl(request: Mapping[str, Any]) -> str:
    """A ``curl`` command that sends ``request`` byte for byte, the key from ``$RAPIDO_CLIENT_KEY``."""
    method = str(request.get("method") or "POST").upper()
    body = body_bytes(request)
    parts = [f"curl -sS -X {shlex.quote(method)} {shlex.quote(str(request['url']))}"]
    for name, value in _headers(request):
        if name == KEY_HEADER:
            parts.append(f'-H "{KEY_HEADER}: {_KEY_EXPANSION}"')
        else:
            parts.append("-H " + shlex.quote(f"{name}: {value}"))
    if body or method in ("POST", "PUT", "PATCH"):
        # --data-binary sends the word as is; a body starting with @ would name a file there.
        flag = "--data-raw" if body.startswith(b"@") else "--data-binary"
        parts.append(f"{flag} {_body_word(body)}")
    return _CONTINUE.join(parts)


def _httpie_escape(value: str) -> str:
    """``value`` with httpie's item separators backslash-escaped, so it is read as header text only."""
    return "".join("\\" + c if c in _HTTPIE_SPECIAL else c for c in value)


def as_httpie(request: Mapping[str, Any]) -> str:
    """An ``http`` (httpie) command that sends ``request``, the body on standard input, as is."""
    method = str(request.get("method") or "POST").upper()
    body = body_bytes(request)
    parts = [f"http {shlex.quote(method)} {shlex.quote(str(request['url']))}"]
    for name, value in _headers(request):
        if name == KEY_HEADER:
            parts.append(f'"{KEY_HEADER}:{_KEY_EXPANSION}"')
        else:
            parts.append(shlex.quote(f"{name}:{_httpie_escape(value)}"))
    command = _CONTINUE.join(parts)
    if body or method in ("POST", "PUT", "PATCH"):
        # printf '%s' adds no newline (a here-string would), so the body arrives byte for byte.
        command = f"printf '%s' {_body_word(body)} | {command}"
    return command


def render(request: Mapping[str, Any], fmt: DryRunFormat | str) -> str:
    """``request`` as the command of format ``fmt`` (``curl`` or ``httpie``)."""
    return as_httpie(request) if DryRunFormat(fmt) is DryRunFormat.httpie else as_curl(request)
