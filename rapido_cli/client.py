"""One event, one HTTP exchange done right: timeouts, classification, retries, backoff.

:class:`EventClient` sends an envelope to ``POST {base_url}/api/ota/event`` and returns a
:class:`SendResult`; it never prints. Retries reuse the same body, so the same event id.
"""

from __future__ import annotations

import email.utils
import json
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rapido_cli.profiles import Target, mask

if TYPE_CHECKING:
    import httpx

Outcome = Literal["sent", "rejected", "unauthorized", "untrusted", "failed"]

#: The start of ``Attempt.error`` when the server's certificate failed verification (never retried).
TLS_UNTRUSTED = "TLS certificate not trusted"

RETRY_STATUSES = frozenset({408, 429, 499, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
USER_AGENT_PREFIX = "rapido-cli"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Backoff is full jitter: uniform(0, min(cap, base * 2**n))."""

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    retry_after_cap: float = 120.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str], max_attempts: int) -> RetryPolicy:
        """The policy for ``max_attempts``, with ``RAPIDO_BACKOFF_BASE``/``_CAP`` (seconds) when set."""
        base = _env_seconds(environ, "RAPIDO_BACKOFF_BASE", cls.base)
        cap = _env_seconds(environ, "RAPIDO_BACKOFF_CAP", cls.cap)
        return cls(max_attempts=max_attempts, base=base, cap=cap)

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        r = rng or random
        return r.uniform(0, min(self.cap, self.base * (2 ** (attempt - 1))))


def _env_seconds(environ: Mapping[str, str], var: str, default: float) -> float:
    """``var`` as a finite number of seconds >= 0 (``default`` when unset); ConfigError naming it otherwise."""
    import math

    raw = environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (0 <= value < math.inf):  # nan/inf would make a wait fail or last forever
        from rapido_cli.errors import ConfigError
        from rapido_cli.text import inert

        raise ConfigError(
            f"{var}='{inert(raw, limit=40)}' is not a number of seconds", hint=f"e.g. {var}={default:g}, or unset it"
        )
    return value


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds, from either form (delta-seconds or HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        seconds = float(value)
        return max(0.0, seconds)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class Attempt:
    """One try: what came back (status or transport error) and how long it took."""

    number: int
    status: int | None
    elapsed_ms: float
    error: str | None = None
    body: Any = None
    retry_after: float | None = None
    wait_s: float = 0.0
    request_id: str | None = None


@dataclass
class SendResult:
    """What happened to one event, over all attempts."""

    event: dict[str, Any]
    outcome: Outcome
    status: int | None
    attempts: list[Attempt] = field(default_factory=list)
    response: Any = None
    message: str | None = None
    details: Any = None
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the server acknowledged the event."""
        return self.outcome == "sent"

    @property
    def request_id(self) -> str | None:
        """The server's requestId, when it gave one."""
        if isinstance(self.response, dict):
            rid = self.response.get("requestId")
            return rid if isinstance(rid, str) else None
        return None

    @property
    def code(self) -> int | None:
        """The API's own code (7000 on success)."""
        if isinstance(self.response, dict) and isinstance(self.response.get("code"), int):
            return int(self.response["code"])
        return None

    @property
    def temporary(self) -> bool:
        """True when retrying later may succeed."""
        return self.outcome == "failed"

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` object of send / send-booking."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "status": self.status,
            "attempts": len(self.attempts),
            "event": self.event,
            "response": self.response,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "outcome": self.outcome,
        }
        if not self.ok:
            out["error"] = {"message": self.message, "details": self.details}
        return out


def build_ssl_context(ca_bundle: str | None, environ: Mapping[str, str]) -> ssl.SSLContext:
    """TLS verification is always on: the profile's CA bundle, else SSL_CERT_FILE/DIR, else the OS store.

    ``ca_bundle`` replaces the other anchors (like ``verify=PATH`` in requests): a profile that names
    its CA trusts exactly that. TLS 1.2 is the oldest version offered. A missing or unreadable bundle
    is a ConfigError naming where it was configured.
    """
    import os

    from rapido_cli.errors import ConfigError
    from rapido_cli.profiles import tls_trust

    trust = tls_trust(ca_bundle, environ)
    ctx: ssl.SSLContext
    if trust.kind == "system":
        import truststore

        ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        where = "ca_bundle in the profile" if trust.kind == "ca_bundle" else trust.kind
        for path, is_dir in ((trust.cafile, False), (trust.capath, True)):
            if path and not (os.path.isdir(path) if is_dir else os.path.isfile(path)):
                raise ConfigError(
                    f"{where}: {path} is not an existing {'directory' if is_dir else 'file'}",
                    hint="point it at a PEM bundle of the CA certificates to trust, or remove it",
                )
        try:
            ctx = ssl.create_default_context(cafile=trust.cafile, capath=trust.capath)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"{where}: {trust.cafile or trust.capath} holds no usable PEM certificate ({exc.reason or exc})",
                hint="it must contain -----BEGIN CERTIFICATE----- blocks",
            ) from None
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read {trust.cafile or trust.capath}: {exc.strerror}") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def headers_for(target: Target, *, reveal: bool) -> dict[str, str]:
    """The four credential headers (+ content type); the key masked unless ``reveal``."""
    from rapido_cli import __version__

    return {
        "Content-Type": "application/json",
        "x-client-id": target.client_id,
        "x-client-service": target.service,
        "x-client-app-id": target.app_id,
        "authorization": target.key.reveal() if reveal else target.key.masked(),
        "User-Agent": f"{USER_AGENT_PREFIX}/{__version__}",
    }


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The exact body sent: compact JSON, key order as given, UTF-8."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def _error_text(exc: BaseException) -> str:
    import httpx

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"{TLS_UNTRUSTED}: {cause.verify_message}"
        cause = cause.__cause__ or cause.__context__

    kinds = [
        (httpx.ConnectTimeout, "connect timeout"),
        (httpx.ReadTimeout, "read timeout"),
        (httpx.WriteTimeout, "write timeout"),
        (httpx.PoolTimeout, "pool timeout"),
        (httpx.ConnectError, "connection failed"),
        (httpx.RemoteProtocolError, "connection closed by server"),
        (httpx.ReadError, "read error"),
        (httpx.WriteError, "write error"),
    ]
    for cls, label in kinds:
        if isinstance(exc, cls):
            detail = str(exc).strip()
            return f"{label}: {detail}" if detail else label
    return f"{type(exc).__name__}: {exc}"


class EventClient:
    """Sends envelopes to one target over a keep-alive pool; thread-safe (one client, many threads)."""

    def __init__(
        self,
        target: Target,
        *,
        retry: RetryPolicy | None = None,
        pool_size: int = 4,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        on_attempt: Callable[[dict[str, Any], Attempt, bool], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        import os

        import httpx

        self.target = target
        self.retry = retry or RetryPolicy(max_attempts=target.max_attempts)
        self.on_attempt = on_attempt
        self.sleep = sleep
        self.rng = rng or random.Random()
        env = os.environ if environ is None else environ
        self._headers = headers_for(target, reveal=True)
        self._key_bytes = target.key.reveal().encode()
        verify: ssl.SSLContext | bool = (
            build_ssl_context(target.ca_bundle, env) if target.event_url.startswith("https") else True
        )
        self._http = httpx.Client(
            timeout=httpx.Timeout(target.timeout, connect=min(10.0, target.timeout)),
            limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
            verify=verify,
            transport=transport,
            trust_env=True,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> EventClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request_preview(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The exact request that would be sent, key masked (for --dry-run and -v)."""
        return {
            "method": "POST",
            "url": self.target.event_url,
            "headers": headers_for(self.target, reveal=False),
            "body": dict(event),
        }

    def attempt_once(self, body: bytes, number: int) -> Attempt:
        """One POST; never raises for network problems (they become ``Attempt.error``)."""
        import httpx

        start = time.perf_counter()
        try:
            resp = self._http.post(self.target.event_url, content=body, headers=self._headers)
        except httpx.HTTPError as exc:
            return Attempt(number, None, (time.perf_counter() - start) * 1000, error=_error_text(exc))
        elapsed = (time.perf_counter() - start) * 1000
        parsed: Any
        try:
            parsed = resp.json()
        except ValueError:
            text = resp.text
            parsed = {"raw": text[:500]} if text else None
        if self._key_bytes and self._key_bytes in resp.content:
            # A server that echoes the authorization header must not make the key show up anywhere.
            parsed = self.target.key.scrub(parsed)
        rid = parsed.get("requestId") if isinstance(parsed, dict) else None
        return Attempt(
            number,
            resp.status_code,
            elapsed,
            body=parsed,
            retry_after=parse_retry_after(resp.headers.get("retry-after")),
            request_id=rid if isinstance(rid, str) else None,
        )

    def send(self, event: dict[str, Any], *, max_attempts: int | None = None) -> SendResult:
        """Deliver one event, retrying what may pass later; the result says what happened."""
        body = encode_event(event)
        limit = max_attempts or self.retry.max_attempts
        result = SendResult(event=event, outcome="failed", status=None)
        start = time.perf_counter()
        for number in range(1, limit + 1):
            att = self.attempt_once(body, number)
            result.attempts.append(att)
            result.status = att.status
            result.response = att.body
            verdict = classify(att)
            last = number == limit or verdict != "retry"
            if verdict == "retry" and not last:
                wait = self.retry.backoff(number, self.rng)
                if att.retry_after is not None:
                    wait = max(wait, min(att.retry_after, self.retry.retry_after_cap))
                att.wait_s = wait
            if self.on_attempt is not None:
                self.on_attempt(event, att, last)
            if verdict == "ok":
                result.outcome = "sent"
                break
            if verdict != "retry":
                result.outcome = verdict
                break
            if last:
                result.outcome = "failed"
                break
            self.sleep(att.wait_s)
        result.elapsed_ms = (time.perf_counter() - start) * 1000
        if not result.ok:
            result.message, result.details = explain(result.attempts[-1])
        return result


def classify(att: Attempt) -> Literal["ok", "retry", "rejected", "unauthorized", "untrusted"]:
    """What one attempt means: delivered, worth retrying, or final."""
    if att.status is None:
        # An untrusted certificate is configuration, not weather: every retry would fail the same way.
        return "untrusted" if (att.error or "").startswith(TLS_UNTRUSTED) else "retry"
    if 200 <= att.status < 300:
        if isinstance(att.body, dict) and att.body.get("success") is False:
            return "rejected"
        return "ok"
    if att.status in RETRY_STATUSES:
        return "retry"
    if att.status in AUTH_STATUSES:
        return "unauthorized"
    return "rejected"


def explain(att: Attempt) -> tuple[str, Any]:
    """A one-line message and the server's details for a failed attempt."""
    if att.status is None:
        return att.error or "no answer", None
    message = None
    details = None
    if isinstance(att.body, dict):
        err = att.body.get("error")
        if isinstance(err, dict):
            message = err.get("message")
            details = err.get("details")
        elif isinstance(err, str):
            message = err
        if message is None and "raw" in att.body:
            message = str(att.body["raw"])[:200]
    reason = _REASONS.get(att.status, "")
    head = f"HTTP {att.status}" + (f" {reason}" if reason else "")
    return (f"{head}: {message}" if message else head), details


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
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


def masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with the authorization value masked."""
    return {k: (mask(v) if k.lower() == "authorization" else v) for k, v in headers.items()}
