"""The server-to-server event contract (``POST /api/ota/event``) as a pipeline of small checks.

Each check looks at one thing and returns an :class:`Answer` to stop there, or None to go on; the
order is the order a real server would refuse in: credentials, service, content type, the rate
limit, injected faults, then the payload and idempotency. The last step accepts the event.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from rapido_cli.contract import SERVICES
from rapido_cli.rules import check_server_event, get_path
from rapido_cli.sandbox.config import DROP, DROP_AFTER, SandboxConfig, SandboxEvent
from rapido_cli.sandbox.http import Headers
from rapido_cli.sandbox.responses import (
    CODE_INTERNAL,
    CODE_INVALID,
    CODE_OK,
    CODE_RATE_LIMITED,
    CODE_UNAUTHORIZED,
    Answer,
    new_request_id,
    not_json,
    problem_details,
    problem_list,
    success_body,
)
from rapido_cli.sandbox.state import (
    Correlator,
    FaultInjector,
    Ledger,
    retry_after_seconds,
)
from rapido_cli.text import iso_utc
from rapido_cli.transport.pacing import RateLimiter

REQUIRED_HEADERS: tuple[str, ...] = ("x-client-id", "x-client-service", "x-client-app-id", "authorization")


@dataclass(slots=True)
class ServerRequest:
    """One server event on its way through the checks."""

    headers: Headers
    body: bytes
    ev: SandboxEvent
    obj: Any = None
    parse_error: str | None = None
    #: Headers every later answer carries (the rate-limit state, once the bucket was asked).
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    #: An injected ``drop-after`` fault: record the outcome, then close without answering.
    drop_after: bool = False


Check = Callable[[ServerRequest], Answer | None]


def text_or_none(value: Any) -> str | None:
    """``value`` when it is a string."""
    return value if isinstance(value, str) else None


def describe(ev: SandboxEvent, obj: Any) -> None:
    """Name the event on its record (type, id, order id) from a parsed body, valid or not."""
    ev.event_type = text_or_none(get_path(obj, "event", "type"))
    ev.event_id = text_or_none(get_path(obj, "event", "id"))
    order_id = get_path(obj, "attributes", "orderId")
    ev.order_id = str(order_id) if isinstance(order_id, str | int) and not isinstance(order_id, bool) else None


def _unauthorized(message: str, details: dict[str, str]) -> Answer:
    return Answer(401, CODE_UNAUTHORIZED, message, details, verdict="unauthorized")


class ServerContract:
    """Answers server events the way the Rapido events specification describes."""

    def __init__(
        self,
        config: SandboxConfig,
        ledger: Ledger,
        correlator: Correlator,
        faults: FaultInjector,
        bucket: RateLimiter | None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.correlator = correlator
        self.faults = faults
        self.bucket = bucket
        self.checks: tuple[Check, ...] = (
            self.headers_present,
            self.client_known,
            self.key_matches,
            self.service_known,
            self.content_type_json,
            self.within_rate_limit,
            self.injected_fault,
            self.body_is_json,
            self.event_is_valid,
        )

    def answer(self, req: ServerRequest) -> Answer:
        """Run the checks in order; the first answer wins, else the event is accepted."""
        # Parsed once, early, so even a refused request's live line names its event.
        try:
            req.obj = orjson.loads(req.body)
        except orjson.JSONDecodeError as exc:
            req.parse_error = str(exc)
            req.ev.event = {"raw": req.body[:1024].decode("utf-8", "replace")}
        else:
            req.ev.event = req.obj
            describe(req.ev, req.obj)
        for check in self.checks:
            found = check(req)
            if found is not None:
                return self._finish(req, found)
        return self._finish(req, self.accept(req))

    @staticmethod
    def _finish(req: ServerRequest, answer: Answer) -> Answer:
        if req.extra_headers:
            answer.headers = [*answer.headers, *req.extra_headers]
        answer.drop = answer.drop or req.drop_after
        return answer

    # -- the checks, in order ------------------------------------------------------------------

    @staticmethod
    def headers_present(req: ServerRequest) -> Answer | None:
        """The four headers of the specification, each non-empty."""
        missing = [name for name in REQUIRED_HEADERS if not (req.headers.get(name) or "").strip()]
        if not missing:
            return None
        return _unauthorized(
            f"missing header(s): {', '.join(missing)}",
            {name: "required header is missing or empty" for name in missing},
        )

    def client_known(self, req: ServerRequest) -> Answer | None:
        """With ``client_id`` configured, ``x-client-id`` must be it."""
        client_id = req.ev.client_id or ""
        if self.config.client_id is None or client_id == self.config.client_id:
            return None
        return _unauthorized(
            f"unknown client id {client_id!r}", {"x-client-id": "not the client id this sandbox was started with"}
        )

    def key_matches(self, req: ServerRequest) -> Answer | None:
        """With ``client_key`` configured, ``authorization`` must be it, as is (compared in constant time)."""
        if self.config.client_key is None:
            return None
        given = (req.headers.get("authorization") or "").strip()
        if hmac.compare_digest(given.encode(), self.config.client_key.encode()):
            return None
        hint = "does not match the sandbox's key"
        if given.lower().startswith(("bearer ", "basic ")):
            hint += "; send the key as is, without a scheme such as 'Bearer '"
        return _unauthorized("invalid client key", {"authorization": hint})

    @staticmethod
    def service_known(req: ServerRequest) -> Answer | None:
        """``x-client-service`` is ``flights`` or ``hotels``."""
        service = (req.headers.get("x-client-service") or "").strip()
        if service in SERVICES:
            return None
        return Answer(
            400,
            CODE_INVALID,
            f"unknown service {service!r}",
            {"x-client-service": f"must be one of {', '.join(SERVICES)}"},
            verdict="invalid",
        )

    @staticmethod
    def content_type_json(req: ServerRequest) -> Answer | None:
        """``Content-Type: application/json`` (parameters such as charset allowed)."""
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/json":
            return None
        return Answer(
            415,
            CODE_INVALID,
            f"unsupported content type {ctype or '(none)'!r}",
            {"content-type": "must be application/json"},
            verdict="unsupported",
        )

    def within_rate_limit(self, req: ServerRequest) -> Answer | None:
        """With ``rate_limit``: a token from the bucket, or 429 with ``Retry-After``."""
        if self.bucket is None:
            return None
        ok, _left, wait = self.bucket.take()
        if not ok:
            retry = retry_after_seconds(wait)
            return Answer(
                429,
                CODE_RATE_LIMITED,
                f"rate limit of {self.config.rate_limit:g} requests/s exceeded",
                {"retryAfter": retry},
                verdict="rate_limited",
                headers=[("Retry-After", str(retry)), *self.ratelimit_headers()],
            )
        req.extra_headers = self.ratelimit_headers()
        return None

    def injected_fault(self, req: ServerRequest) -> Answer | None:
        """One draw from the fault plan: a dropped connection, an HTTP status, or (drop-after) go on."""
        fault = self.faults.draw()
        if fault is None:
            return None
        req.ev.fault = fault.kind
        if fault.kind == DROP_AFTER:
            req.drop_after = True
            return None
        if fault.kind == DROP:
            return Answer(0, 0, "connection dropped before processing (injected)", None, verdict="dropped", drop=True)
        status = fault.status or 500
        extra = [("Retry-After", "1")] if status in (429, 503) else []
        code = CODE_RATE_LIMITED if status == 429 else CODE_INTERNAL if status >= 499 else CODE_INVALID
        return Answer(
            status,
            code,
            f"injected fault: HTTP {status}",
            {"fault": "injected by the sandbox's --fail-rate/--faults"},
            verdict="fault",
            headers=extra,
        )

    @staticmethod
    def body_is_json(req: ServerRequest) -> Answer | None:
        """The body parses as JSON."""
        if req.parse_error is None:
            return None
        return not_json(req.body, req.parse_error)

    @staticmethod
    def event_is_valid(req: ServerRequest) -> Answer | None:
        """The payload passes the same rules as ``rapido validate`` (warnings do not reject)."""
        problems = check_server_event(req.obj, size=len(req.body))
        req.ev.problems = problem_list(problems)
        errors = [p for p in problems if p.severity == "error"]
        if not errors:
            return None
        first = errors[0]
        msg = f"invalid event: {first.path or 'body'}: {first.message}"
        if len(errors) > 1:
            msg += f" (and {len(errors) - 1} more)"
        return Answer(400, CODE_INVALID, msg, problem_details(problems), verdict="invalid")

    # -- acceptance ----------------------------------------------------------------------------

    def accept(self, req: ServerRequest) -> Answer:
        """Idempotency (a repeat gets the first answer, changed content 409), then correlation."""
        ev = req.ev
        client_id = ev.client_id or ""
        event_id = str(get_path(req.obj, "event", "id"))
        key = (client_id, event_id)
        digest = hashlib.blake2b(orjson.dumps(req.obj, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()
        known = self.ledger.lookup(key)
        verdict = "duplicate"
        if known is None:
            mine = (digest, new_request_id(), iso_utc(ev.received_at, timespec="seconds"))
            known = self.ledger.remember(key, mine)
            if known is mine:
                verdict = "accepted"
        if known[0] != digest:
            return Answer(
                409,
                CODE_INVALID,
                f"event id {event_id!r} was already accepted with different content",
                {"event.id": "reuse an id only to resend the very same event; a changed event needs a new id"},
                verdict="conflict",
            )
        ev.request_id = known[1]
        if ev.event_type and ev.event_type.startswith("order.") and ev.order_id:
            match = self.correlator.server_order(ev.order_id, ev.received_at)
            if match == "matched":
                ev.message = f"matches PWA booking_completed {ev.order_id}"
            elif match == "late":
                ev.message = f"late: PWA booking {ev.order_id} was already reported missed"
        if ev.problems:
            ev.message = (ev.message + "; " if ev.message else "") + f"{len(ev.problems)} warning(s)"
        return Answer(200, CODE_OK, verdict=verdict, body=success_body(known[2], known[1]))

    def ratelimit_headers(self) -> list[tuple[str, str]]:
        """``RateLimit-Limit``, ``-Remaining`` and ``-Reset`` for the bucket's state now."""
        if self.bucket is None:
            return []
        left = self.bucket.peek()
        return [
            ("RateLimit-Limit", f"{self.bucket.rate:g}"),
            ("RateLimit-Remaining", str(int(left))),
            ("RateLimit-Reset", str(retry_after_seconds(self.bucket.seconds_to_full()))),
        ]
