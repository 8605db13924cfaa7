"""What the sandbox answers: the :class:`Answer` every check returns, the API's bodies and codes.

Codes (``rapido_cli.contract``): 7000 delivered, 7001 invalid request or event, 7002 unauthorized
or forbidden, 7003 rate limited, 7004 internal (an injected 5xx), 7005 no such endpoint. Every
answer code the sandbox gives is listed in ``docs/sandbox.md`` ("Answer codes").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any

import orjson

from rapido_cli.contract import (
    CODE_INTERNAL,
    CODE_INVALID,
    CODE_NOT_FOUND,
    CODE_OK,
    CODE_RATE_LIMITED,
    CODE_UNAUTHORIZED,
)
from rapido_cli.rules import Problem
from rapido_cli.sandbox.state import now_utc
from rapido_cli.text import iso_utc

__all__ = [
    "CODE_INTERNAL",
    "CODE_INVALID",
    "CODE_NOT_FOUND",
    "CODE_OK",
    "CODE_RATE_LIMITED",
    "CODE_UNAUTHORIZED",
    "Answer",
    "error_body",
    "new_request_id",
    "not_json",
    "problem_details",
    "problem_list",
    "reason_phrase",
    "success_body",
]

_REASONS = {499: "Client Closed Request"}


@dataclass(slots=True)
class Answer:
    """The outcome of one request on an event endpoint: what to record and what to send back.

    ``body`` None means the standard error body built from ``code``, ``message`` and ``details``.
    ``drop`` closes the connection instead of answering (an injected network fault).
    """

    status: int
    code: int
    message: str = ""
    details: dict[str, Any] | None = None
    verdict: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    drop: bool = False


def new_request_id() -> str:
    """``req_<hex>``, fresh for every answer."""
    return "req_" + uuid.uuid4().hex[:20]


def reason_phrase(status: int) -> str:
    """The status line's reason for any code from 100 to 999 (unknown codes get their class's)."""
    if status in _REASONS:
        return _REASONS[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return {4: "Client Error", 5: "Server Error"}.get(status // 100, "Unknown")


def error_body(code: int, message: str, details: dict[str, Any] | None, request_id: str, **extra: Any) -> bytes:
    """``{"success": false, "code", "error": {"message", "details"}, "timestamp", "requestId"}``."""
    body: dict[str, Any] = {
        "success": False,
        "code": code,
        "error": {"message": message, "details": details or {}},
        "timestamp": iso_utc(now_utc(), timespec="seconds"),
        "requestId": request_id,
    }
    body.update(extra)
    return orjson.dumps(body)


def success_body(timestamp: datetime | str, request_id: str, **extra: Any) -> bytes:
    """``{"success": true, "code": 7000, "timestamp", "requestId"}`` (plus ``extra``)."""
    ts = timestamp if isinstance(timestamp, str) else iso_utc(timestamp, timespec="seconds")
    return orjson.dumps({"success": True, "code": CODE_OK, "timestamp": ts, "requestId": request_id, **extra})


def not_json(body: bytes, error: str) -> Answer:
    """400 for a body that does not parse, saying why in words a sender can act on."""
    if body[:2] == b"\x1f\x8b":
        why = "the body is gzip-compressed: say so with Content-Encoding: gzip"
    elif not body:
        why = "the body is empty"
    else:
        why = error
    return Answer(400, CODE_INVALID, "the body is not valid JSON", {"body": why}, verdict="invalid")


def problem_list(problems: list[Problem]) -> list[dict[str, str]]:
    """Problems as the sandbox reports them: ``[{"path", "message", "severity"}]``."""
    return [{"path": p.path, "message": p.message, "severity": p.severity} for p in problems]


def problem_details(problems: list[Problem]) -> dict[str, str]:
    """``error.details``: each field path mapped to its message(s); the whole body is ``body``."""
    out: dict[str, str] = {}
    for p in problems:
        if p.severity != "error":
            continue
        key = p.path or "body"
        out[key] = f"{out[key]}; {p.message}" if key in out else p.message
    return out
