"""What came back, and what it means: one :class:`Attempt`, :func:`classify`, :func:`explain`, :func:`hint_for`.

Delivered means exactly one thing: HTTP 200 whose body is a JSON object with ``"success": true``
(the boolean) and ``"code": 7000`` (see :func:`is_acknowledgement`). Any other 2xx is
*unconfirmed*: never counted as sent, a configuration problem (``base_url`` probably points at
something that is not the Rapido API).

Every text that came from a server is scrubbed of the client key by :class:`Scrubber` after
decoding (JSON escapes, percent-encoding, HTML character references, raw bytes), so a server
echoing the ``authorization`` header in any of these forms cannot put the key on a terminal, in
``--json`` output or in the journal.
"""

from __future__ import annotations

import json
import math
import re
import socket
import ssl
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from rapido_cli.errors import ExitCode
from rapido_cli.text import inert
from rapido_cli.text import mask as mask

#: Answers are read up to this many bytes (after decompression); a longer body is cut and never an
#: acknowledgement. Documented in docs/delivery.md.
MAX_ANSWER_BYTES = 1 << 20
#: How much of a body that is not an acknowledgement is shown (bytes, made inert).
SNIPPET_BYTES = 200
#: Server messages kept in results, journal records and replay lines are cut to this many characters.
MESSAGE_CHARS = 300
#: A parsed answer nested deeper than this is kept as text only.
MAX_JSON_DEPTH = 64

ACK_CODE = 7000

Verdict = Literal["ok", "retry", "rejected", "unauthorized", "untrusted", "config"]

#: ``Attempt.failure`` values: the precise reason an attempt did not deliver.
#: temporary (retry) | rejected (1) | unauthorized (3) | untrusted (3: certificate) | tls (3: protocol,
#: version) | unconfirmed (3) | redirect (3) | endpoint (3: 404/405) | nxdomain (3) | proxy (3)
FAILURE_EXIT: dict[str, ExitCode] = {
    "temporary": ExitCode.TEMPFAIL,
    "rejected": ExitCode.DATA,
    "unauthorized": ExitCode.CONFIG,
    "untrusted": ExitCode.CONFIG,
    "tls": ExitCode.CONFIG,
    "unconfirmed": ExitCode.CONFIG,
    "redirect": ExitCode.CONFIG,
    "endpoint": ExitCode.CONFIG,
    "nxdomain": ExitCode.CONFIG,
    "proxy": ExitCode.CONFIG,
}

#: The start of ``Attempt.error`` when the server's certificate failed verification (never retried).
TLS_UNTRUSTED = "TLS certificate not trusted"

RETRY_STATUSES = frozenset({408, 425, 429, 499})
AUTH_STATUSES = frozenset({401, 403})
ENDPOINT_STATUSES = frozenset({404, 405})


@dataclass
class Attempt:
    """One try: what came back (status or transport error), what it means, and how long it took.

    ``failure`` is None for a delivered event, else one of :data:`FAILURE_EXIT`'s keys. ``body`` is
    the parsed JSON answer (scrubbed), ``snippet`` the first bytes of the answer as inert, scrubbed
    text (for answers that are not JSON or not an acknowledgement).
    """

    number: int
    status: int | None
    elapsed_ms: float
    error: str | None = None
    body: Any = None
    retry_after: float | None = None
    wait_s: float = 0.0
    request_id: str | None = None
    failure: str | None = None
    content_type: str | None = None
    snippet: str | None = None
    location: str | None = None
    truncated: bool = False
    date: str | None = None  # the server's Date header (doctor compares clocks with it)
    host: str | None = None  # the host a network failure is about (the target's, or the proxy's)
    started: float = 0.0  # time.monotonic() when the attempt began (for adaptive pacing)


def is_acknowledgement(status: int | None, body: Any) -> bool:
    """HTTP 200 with a JSON object holding ``success: true`` (the boolean) and ``code: 7000`` (an integer)."""
    return (
        status == 200
        and isinstance(body, dict)
        and body.get("success") is True
        and type(body.get("code")) is int
        and body.get("code") == ACK_CODE
    )


def failure_for_status(status: int, body: Any, truncated: bool) -> str | None:
    """The ``failure`` of an answer with HTTP ``status`` (None: delivered)."""
    if 200 <= status < 300:
        return None if (not truncated and is_acknowledgement(status, body)) else "unconfirmed"
    if 300 <= status < 400:
        return "redirect"
    if status in AUTH_STATUSES:
        return "unauthorized"
    if status in ENDPOINT_STATUSES:
        return "endpoint"
    if status in RETRY_STATUSES or 500 <= status < 600:
        return "temporary"
    if 400 <= status < 500:
        return "rejected"
    return "unconfirmed"  # 1xx as a final answer, 6xx+: not the API


def classify(att: Attempt) -> Verdict:
    """What one attempt means: ``ok`` (delivered), ``retry``, or final (``rejected``, ``unauthorized``,
    ``untrusted``, ``config``); ``att.failure`` names the precise reason."""
    f = att.failure
    if f is None:
        return "ok" if att.status is not None else "retry"
    if f == "temporary":
        return "retry"
    if f in ("rejected", "unauthorized", "untrusted"):
        return f  # type: ignore[return-value]
    return "config"


def exit_code_for(att: Attempt) -> ExitCode:
    """The documented exit code when ``att`` is the last attempt of an event."""
    if att.failure is None and att.status is not None:
        return ExitCode.OK
    return FAILURE_EXIT.get(att.failure or "temporary", ExitCode.TEMPFAIL)


# ---------------------------------------------------------------- errors without an answer


def describe_exception(exc: BaseException, host: str, timeout: float) -> tuple[str, str]:
    """``(error text, failure)`` for a transport exception while talking to ``host``."""
    if isinstance(exc, socket.gaierror):
        return _resolver_error(exc, host)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{TLS_UNTRUSTED}: {exc.verify_message or exc.reason}", "untrusted"
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return "connection closed during the TLS handshake", "temporary"
    if isinstance(exc, ssl.SSLError):
        reason = str(exc.reason or exc).replace("_", " ").lower()
        return f"TLS handshake failed: {reason}", "tls"
    if isinstance(exc, ProxyRefused):
        return str(exc), exc.failure
    if isinstance(exc, MalformedAnswer):
        return f"malformed answer: {exc}", "temporary"
    if isinstance(exc, TimeoutError):
        return f"timeout: no complete answer within {timeout:g} s", "temporary"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listening)", "temporary"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by server", "temporary"
    if isinstance(exc, BrokenPipeError):
        return "connection closed while sending", "temporary"
    import http.client

    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed by server before answering", "temporary"
    if isinstance(exc, http.client.HTTPException):
        detail = str(exc).strip()
        return f"malformed answer: {type(exc).__name__}" + (f" {detail[:120]}" if detail else ""), "temporary"
    if isinstance(exc, OSError):
        detail = exc.strerror or str(exc)
        return f"network error: {detail}".strip(), "temporary"
    return f"{type(exc).__name__}: {exc}", "temporary"


_NONAME = {getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n)}


def _resolver_error(exc: socket.gaierror, host: str) -> tuple[str, str]:
    if exc.errno in _NONAME:
        return f"host name {host} does not exist (DNS: {exc.strerror})", "nxdomain"
    return f"cannot resolve {host} now (DNS: {exc.strerror})", "temporary"


class MalformedAnswer(Exception):
    """The answer broke HTTP: a status line or headers cut off, a body shorter than announced."""


class ProxyRefused(OSError):
    """The proxy would not open a tunnel; ``failure`` says whether retrying may help."""

    def __init__(self, message: str, failure: str) -> None:
        super().__init__(message)
        self.failure = failure


# ---------------------------------------------------------------- the key, scrubbed


def _char_forms(c: str) -> str:
    code = ord(c)
    hi, lo = f"{code:02x}"[0], f"{code:02x}"[1]

    def hexd(d: str) -> str:
        return f"[{d}{d.upper()}]" if d.isalpha() else d

    two = hexd(hi) + hexd(lo)
    forms = [
        re.escape(c),
        rf"\\u00{two}",  # JSON / JavaScript escape, any hex case
        rf"\\x{two}",  # Python / C escape
        rf"%{two}",  # percent-encoding, any hex case
        rf"&#0*{code};",  # HTML decimal character reference
        rf"&#[xX]0*{two};",  # HTML hex character reference
    ]
    if c == "/":
        forms.append(r"\\/")
    elif c == '"':
        forms.append(r'\\"')
    elif c == "\\":
        forms.append(r"\\\\")
    elif c == " ":
        forms.append(r"\+")
    return "(?:" + "|".join(forms) + ")"


@lru_cache(maxsize=8)
def _pattern(secret: str) -> re.Pattern[str]:
    return re.compile("".join(_char_forms(c) for c in secret))


class Scrubber:
    """Replaces the key, in whatever encoding a server echoed it, with its masked form."""

    __slots__ = ("_masked", "_pattern", "_secret", "_triggers")

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._masked = mask(secret)
        self._pattern = _pattern(secret) if secret else None
        # Raw bytes without any of these cannot decode to the key in any form handled here: every
        # encoding needs a backslash, a percent sign, an HTML reference (or '+' for a space).
        triggers = [secret.encode(), b"\\", b"%", b"&#"]
        if " " in secret:
            triggers.append(b"+")
        self._triggers = tuple(triggers) if secret else ()

    def needed(self, data: bytes) -> bool:
        """False when ``data`` certainly holds no copy of the key (a fast path for ordinary answers)."""
        return any(t in data for t in self._triggers)

    def text(self, s: str) -> str:
        """``s`` with every copy of the key (raw or encoded, character by character) masked."""
        if self._pattern is None or not s:
            return s
        if self._secret in s:
            s = s.replace(self._secret, self._masked)
        if ("\\" in s or "%" in s or "&#" in s or "+" in s) and self._pattern.search(s):
            s = self._pattern.sub(self._masked, s)
        return s

    def tail(self, s: str) -> str:
        """:meth:`text`, and a key cut off at the end of ``s`` (a truncated body) masked too."""
        s = self.text(s)
        key = self._secret
        for n in range(len(key) - 1, 3, -1):
            if s.endswith(key[:n]):
                return s[: -n] + self._masked
        return s

    def bytes(self, data: bytes) -> bytes:
        """Raw bytes with the key masked (non-UTF-8 bytes kept as they are)."""
        if self._pattern is None:
            return data
        text = data.decode("latin-1")
        return self.tail(text).encode("latin-1")

    def value(self, obj: Any) -> Any:
        """A parsed JSON value with the key masked in every string, keys and values alike."""
        if self._pattern is None:
            return obj
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {self.text(k) if isinstance(k, str) else k: self.value(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.value(v) for v in obj]
        return obj

    __call__ = value


def scrub(obj: Any, secret: str) -> Any:
    """``obj`` (text, bytes or parsed JSON) with the key ``secret`` masked in any encoding."""
    s = Scrubber(secret)
    if isinstance(obj, bytes):
        return s.bytes(obj)
    return s.value(obj)


# ---------------------------------------------------------------- reading a body


def _finite_float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else text


def _no_constant(text: str) -> Any:
    raise ValueError(text)


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_no_constant)


def parse_json(data: bytes) -> tuple[bool, Any]:
    """``(True, value)`` when ``data`` is a UTF-8 JSON document of bounded depth, else ``(False, None)``.

    Numbers too large for a float stay text; ``NaN``/``Infinity`` are not JSON.
    """
    if not data:
        return False, None
    try:
        value = _DECODER.decode(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return False, None
    if isinstance(value, (dict, list)) and data.count(b"[") + data.count(b"{") > MAX_JSON_DEPTH:
        from rapido_cli.safeyaml import json_depth_ok

        if not json_depth_ok(value, MAX_JSON_DEPTH):
            return False, None
    return True, value


def snippet_of(data: bytes, scrubber: Scrubber) -> str:
    """The first :data:`SNIPPET_BYTES` of a body as inert text, the key masked."""
    from rapido_cli.text import inert_bytes

    return inert_bytes(scrubber.bytes(data[: SNIPPET_BYTES * 4]), limit=SNIPPET_BYTES)


def server_message(att: Attempt) -> tuple[str | None, Any]:
    """The server's own error message and details, when its answer carries them."""
    message = None
    details = None
    body = att.body
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message")
            details = err.get("details")
        elif isinstance(err, str):
            message = err
        if message is None and isinstance(body.get("message"), str):
            message = body["message"]
    if message is not None and not isinstance(message, str):
        message = json.dumps(message, ensure_ascii=False)[:MESSAGE_CHARS]
    return (inert(message, limit=MESSAGE_CHARS) if message else None), details


def explain(att: Attempt) -> tuple[str, Any]:
    """A one-line message (inert, bounded) and the server's details for an attempt that did not deliver."""
    if att.status is None:
        return inert(att.error or "no answer", limit=MESSAGE_CHARS), None
    message, details = server_message(att)
    reason = _REASONS.get(att.status, "")
    head = f"HTTP {att.status}" + (f" {reason}" if reason else "")
    if att.failure == "unconfirmed":
        what = f"content type {inert(att.content_type, limit=80)}" if att.content_type else "no content type"
        body = f"body: {att.snippet}" if att.snippet else "an empty body"
        cut = f" (cut at {MAX_ANSWER_BYTES} bytes)" if att.truncated else ""
        return f"{head}: not an acknowledgement of the Rapido API ({what}, {body}{cut})", details
    if att.failure == "redirect":
        where = f" to {att.location}" if att.location else " (no Location)"
        return f"{head}: the server redirects{where}; redirects are never followed", details
    if message is None and att.snippet and att.failure != "temporary":
        message = att.snippet
    return (f"{head}: {message}" if message else head), details


def hint_for(att: Attempt, *, profile: str | None = None) -> str | None:
    """What to do about a final attempt that did not deliver (None when retrying later is the advice)."""
    f = att.failure
    p = f" {profile}" if profile else ""
    if f == "unconfirmed":
        return (
            "base_url probably points at something that is not the Rapido API (a captive portal, a proxy's "
            "page, another service); nothing was recorded as sent. Check base_url, run `rapido doctor`"
        )
    if f == "redirect":
        return (
            "rapido never follows a redirect (the key would go along): if you trust the new address, "
            "set base_url to it (`rapido profile set" + p + " base_url URL`)"
        )
    if f == "endpoint":
        return "base_url looks wrong: it should be the API's root (rapido appends /api/ota/event); run `rapido doctor`"
    if f == "nxdomain":
        name = f"the host name {att.host}" if att.host else "the host name"
        return f"check {name} in base_url (or in the proxy variable); `rapido doctor` shows the route"
    if f == "tls":
        return (
            "the TLS handshake failed: is the server speaking https on this port, with TLS 1.2 or newer? "
            "`rapido doctor` shows the handshake"
        )
    if f == "untrusted":
        return (
            "set `ca_bundle` in the profile (or SSL_CERT_FILE) to the CA that signed the server's "
            "certificate; `rapido doctor` shows which trust store is used"
        )
    if f == "unauthorized":
        return (
            f"the server refused the credentials of profile{(' ' + repr(profile)) if profile else ''}; "
            "check client_id, app_id, service and the key; run `rapido doctor`"
        )
    if f == "proxy":
        return "the proxy refused the tunnel: check the proxy variable (and its credentials) or NO_PROXY"
    return None


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    499: "Client Closed Request",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
