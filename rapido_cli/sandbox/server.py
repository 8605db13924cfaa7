"""The sandbox application: lifecycle, routing, and the guards in front of every endpoint.

The concerns live in their own modules: ``http`` (the transport, given :meth:`Sandbox.dispatch`),
``contract`` (the server-event checks), ``pwa`` (the PWA flow and bridge.js), ``responses``
(answers and codes), ``state`` (idempotency, counters, correlation). This module decides which
request goes where, and refuses what must not get through: a non-loopback ``Host`` (DNS
rebinding), a non-loopback ``Origin`` (CORS), an unknown path or method.
"""

from __future__ import annotations

import contextlib
import errno
import threading
import time
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import orjson

from rapido_cli.contract import API_PATH, MAX_EVENT_BYTES
from rapido_cli.errors import UsageError
from rapido_cli.net import host_of, is_loopback_literal, is_loopback_origin
from rapido_cli.rules import check_pwa_event, check_server_event
from rapido_cli.sandbox.config import DROP, SandboxConfig, SandboxEvent
from rapido_cli.sandbox.contract import ServerContract, ServerRequest
from rapido_cli.sandbox.http import BodyError, Handler, HttpServer
from rapido_cli.sandbox.inbox import inbox_page, wants_html
from rapido_cli.sandbox.pwa import BRIDGE_PATH, PWA_PATH, PwaFlow, bridge_source
from rapido_cli.sandbox.responses import (
    CODE_INTERNAL,
    CODE_INVALID,
    CODE_NOT_FOUND,
    CODE_RATE_LIMITED,
    CODE_UNAUTHORIZED,
    Answer,
    error_body,
    new_request_id,
)
from rapido_cli.sandbox.state import (
    Correlator,
    FaultInjector,
    JsonlWriter,
    Ledger,
    now_utc,
)
from rapido_cli.sandbox.stream import MAX_LAST, STREAM_PATH, StreamArgumentError, StreamHub
from rapido_cli.transport.pacing import RateLimiter

__all__ = ["BRIDGE_PATH", "PWA_PATH", "Sandbox", "is_loopback_origin", "new_request_id"]

#: Request headers kept in the store (the authorization value never is).
STORED_HEADERS: tuple[str, ...] = (
    "content-type",
    "x-client-id",
    "x-client-service",
    "x-client-app-id",
    "user-agent",
    "origin",
    "referer",
    "x-rapido-bridge-seq",
)
_ROUTES: dict[str, tuple[str, ...]] = {
    "/": ("GET", "HEAD"),
    API_PATH: ("POST",),
    PWA_PATH: ("POST",),
    BRIDGE_PATH: ("GET", "HEAD"),
    "/_sandbox/events": ("GET", "HEAD"),
    "/_sandbox/stats": ("GET", "HEAD"),
    "/_sandbox/missed": ("GET", "HEAD"),
    "/_sandbox/reset": ("POST",),
    STREAM_PATH: ("GET",),
}
_CORS_HEADERS = "content-type, x-rapido-bridge, x-rapido-bridge-seq"
_EXPOSED = "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
_NOT_LOOPBACK = {"origin": "the sandbox accepts pages served from localhost, 127.0.0.0/8 or [::1]"}
#: Endpoints that change the sandbox's state beyond recording an event: a browser may reach them
#: only with a request it would preflight (JSON, or the custom header), never a "simple" one.
_STATE_CHANGING = frozenset({"/_sandbox/reset"})
NON_SIMPLE_HEADER = "x-rapido-sandbox"


def _scrubbed(obj: Any, key: str) -> Any:
    if isinstance(obj, str):
        return obj.replace(key, "[redacted]")
    if isinstance(obj, dict):
        return {_scrubbed(k, key): _scrubbed(v, key) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_scrubbed(v, key) for v in obj]
    return obj


def scrub_key(ev: SandboxEvent, key: str) -> None:
    """Replace the sandbox's own expected key wherever a client echoed it (body, headers, ids)."""
    line = orjson.dumps(ev.to_dict(), default=str)
    if key.encode() not in line and orjson.dumps(key)[1:-1] not in line:
        return
    for name in ("event", "headers", "problems", "message", "client_id", "event_id", "event_type", "order_id"):
        setattr(ev, name, _scrubbed(getattr(ev, name), key))


def _is_loopback_host(authority: str | None) -> bool:
    """A ``Host`` header (or listen address) naming loopback: a literal, ``localhost`` or ``*.localhost``.

    Browsers resolve ``*.localhost`` to loopback themselves, so no DNS answer can rebind such a name.
    """
    host = host_of(authority)
    return host is not None and (is_loopback_literal(host) or host.endswith(".localhost"))


class Sandbox:
    """The local receiver implementing the API contract, plus the PWA bridge and inspection endpoints.

    ``start()`` serves in background threads; ``serve_forever()`` blocks until Ctrl-C or ``stop()``.
    Also a context manager.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.stopping = False
        self._server: HttpServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop_lock = threading.Lock()
        self._stopped = threading.Event()
        self._idle = threading.Condition()
        self._active = 0
        self._store = JsonlWriter(self.config.store) if self.config.store else None
        self._missed_sink = JsonlWriter(self.config.missed, option="--missed") if self.config.missed else None
        self.ledger = Ledger(self.config.keep_events, self._store)
        self.correlator = Correlator(self.config.missed_after_s, self._missed_sink)
        faults = FaultInjector(self.config.fault_plan, self.config.seed)
        bucket = (
            RateLimiter(self.config.rate_limit, burst=self.config.rate_burst or self.config.rate_limit, full=True)
            if self.config.rate_limit
            else None
        )
        self.contract = ServerContract(self.config, self.ledger, self.correlator, faults, bucket)
        self.pwa = PwaFlow(self.config, self.correlator)
        self.streams = StreamHub(
            self.ledger, max_clients=self.config.max_stream_clients, keepalive_s=self.config.stream_keepalive_s
        )
        self._bridge: bytes | None = None
        self._latency = self.config.latency_ms / 1000.0
        self._loopback_only = _is_loopback_host(self.config.host)
        self._key = self.config.client_key or None
        self._key_json = orjson.dumps(self._key)[1:-1] if self._key else b""

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port actually listened on (useful with ``port=0``)."""
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8787``."""
        host = self.config.host
        if host in ("0.0.0.0", ""):  # noqa: S104 - only to print a reachable URL
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> Sandbox:
        """Bind, listen and serve in background threads; returns once connections are accepted."""
        if self._server is not None:
            return self
        # Warm the validators (their first use is slow) before the first request.
        check_server_event({})
        check_pwa_event({})
        try:
            self._server = HttpServer(
                (self.config.host, self.config.port), self.dispatch, idle_timeout=self.config.idle_timeout_s
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"port {self.config.port} on {self.config.host} is already in use",
                    hint="stop the other process, or pick another with --port (0 = any free port)",
                ) from None
            raise UsageError(
                f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}",
                hint="check --host and --port",
            ) from None
        serve = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-http", daemon=True
        )
        sweep = threading.Thread(target=self._sweep_loop, name="sandbox-correlation", daemon=True)
        self._threads = [serve, sweep]
        for t in self._threads:
            t.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the foreground until ``stop()`` or Ctrl-C (which propagates after a clean stop)."""
        self.start()
        try:
            while not self._stopped.wait(0.25):
                pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop listening, end open connections, close files. Safe to call twice."""
        with self._stop_lock:
            if self.stopping:
                return
            self.stopping = True
            self._stopped.set()
            self.streams.stop()
            if self._server is not None:
                self._server.stopping = True
                self._server.shutdown()
                self._server.server_close()
                # Let requests already being handled finish (and report), then end idle connections.
                with self._idle:
                    self._idle.wait_for(lambda: self._active == 0, timeout=5 + self._latency)
                self._server.close_connections()
            for t in self._threads:
                if t is not threading.current_thread():
                    t.join(timeout=5)
            if self._store is not None:
                self._store.close()
            if self._missed_sink is not None:
                self._missed_sink.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- inspection ----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters since start: totals by flow, verdict and status, and the booking correlation."""
        out = self.ledger.stats()
        out["bookings"] = self.correlator.summary()
        return out

    def events(self, **filters: Any) -> list[dict[str, Any]]:
        """Recent events (see :meth:`Ledger.events`)."""
        return self.ledger.events(**filters)

    def missed(self) -> list[dict[str, Any]]:
        """Missed bookings so far (after sweeping the pending ones past their window)."""
        self._sweep()
        return self.correlator.missed()

    def reset(self) -> None:
        """Forget events, idempotency answers and bookings."""
        self.ledger.reset()
        self.correlator.reset()

    def _sweep_loop(self) -> None:
        period = min(0.25, self.config.missed_after_s / 4)
        while not self._stopped.wait(period):
            self._sweep()

    def _sweep(self) -> None:
        for record in self.correlator.sweep():
            ev = SandboxEvent(
                flow="correlation",
                received_at=now_utc(),
                verdict="missed",
                event_type="booking_completed",
                order_id=record["order_id"],
                message=record["reason"],
                event=record,
            )
            self.ledger.record(ev)
            self._notify(ev)

    def _notify(self, ev: SandboxEvent) -> None:
        if self.config.on_event is not None:
            self.config.on_event(ev)

    # -- routing -------------------------------------------------------------------------------

    def dispatch(self, h: Handler, method: str) -> None:
        """Route one request, counted as in flight so ``stop()`` can let it finish."""
        with self._idle:
            self._active += 1
        try:
            self._route(h, method)
        except Exception as exc:
            # A bug (in a check, say): the client still gets an answer, and the traceback shows
            # on the sandbox's terminal (the transport reports what is raised).
            if not h.answered:
                h.close_connection = True
                message = f"the sandbox hit a bug: {type(exc).__name__}: {exc}"
                with contextlib.suppress(OSError):
                    self._error(h, 500, CODE_INTERNAL, message, {"sandbox": "please report it with the request"})
            raise
        finally:
            with self._idle:
                self._active -= 1
                if self._active == 0:
                    self._idle.notify_all()

    def _route(self, h: Handler, method: str) -> None:
        path, _, query = h.path.partition("?")
        allowed = _ROUTES.get(path)
        origin = h.headers.get("Origin")
        if origin and self._origin_allowed(origin, path):
            h.answer_headers = [
                ("Access-Control-Allow-Origin", origin),
                ("Vary", "Origin"),
                ("Access-Control-Expose-Headers", _EXPOSED),
            ]
        if path not in (API_PATH, PWA_PATH) or method != "POST":
            h.discard_body(MAX_EVENT_BYTES)
        host_header = h.headers.get("Host")
        if self._loopback_only and host_header is not None and not _is_loopback_host(host_header):
            # DNS rebinding: a web page whose name now points at 127.0.0.1 must not read the
            # sandbox's events or post to it; loopback clients always send a loopback Host.
            h.close_connection = True
            h.discard_body(MAX_EVENT_BYTES)
            self._error(
                h,
                403,
                CODE_UNAUTHORIZED,
                f"Host {host_header!r} is not a loopback name",
                {"host": "the sandbox listens on loopback; use localhost or 127.0.0.1"},
            )
            return
        if method == "OPTIONS":
            self._preflight(h, allowed)
            return
        if origin and path not in (API_PATH, PWA_PATH) and not self._origin_allowed(origin, path):
            # The inspection endpoints and the inbox are for this machine's pages only (the two
            # event endpoints record the refusal, so they check for themselves).
            h.close_connection = True
            self._error(h, 403, CODE_UNAUTHORIZED, f"origin {origin!r} is not a loopback origin", _NOT_LOOPBACK)
            return
        if allowed is None:
            self._error(
                h,
                404,
                CODE_NOT_FOUND,
                f"no such endpoint: {method} {path}",
                {"path": f"try POST {API_PATH}, POST {PWA_PATH} or GET /"},
            )
            return
        if method not in allowed:
            self._error(
                h,
                405,
                CODE_INVALID,
                f"{method} is not allowed on {path}",
                {"method": f"use {' or '.join(allowed)}"},
                headers=[("Allow", ", ".join((*allowed, "OPTIONS")))],
            )
            return
        head = method == "HEAD"
        if path == API_PATH:
            self._server_event(h)
        elif path == PWA_PATH:
            self._pwa_event(h)
        elif path == BRIDGE_PATH:
            h.answer(
                200,
                self._bridge_bytes(),
                content_type="application/javascript; charset=utf-8",
                headers=[("Cache-Control", "no-store")],
                head_only=head,
            )
        elif path == "/_sandbox/events":
            q = parse_qs(query)
            try:
                since = int(q.get("since", ["0"])[0])
                limit = int(q.get("limit", ["1000"])[0])
            except ValueError:
                self._error(h, 400, CODE_INVALID, "since and limit must be integers", None)
                return
            events = self.ledger.events(
                flow=q.get("flow", [None])[0], verdict=q.get("verdict", [None])[0], since=since, limit=limit
            )
            self._json(h, {"events": events, "last_seq": events[-1]["seq"] if events else since}, head)
        elif path == "/_sandbox/stats":
            self._json(h, self.stats(), head)
        elif path == "/_sandbox/missed":
            self._json(h, {"window_s": self.config.missed_after_s, "missed": self.missed()}, head)
        elif path == STREAM_PATH:
            self._stream(h, query)
        elif path in _STATE_CHANGING and not self._non_simple(h):
            # A cross-site page can send a "simple" text/plain or form POST without asking; only
            # a request that needs a CORS preflight (refused for non-loopback origins) gets through.
            self._error(
                h,
                403,
                CODE_UNAUTHORIZED,
                f"{path} changes the sandbox's state: send the request as JSON or with {NON_SIMPLE_HEADER}: 1",
                {"content-type": "application/json", NON_SIMPLE_HEADER: "1"},
            )
        elif path == "/_sandbox/reset":
            self.reset()
            self._json(h, {"reset": True}, head)
        elif wants_html(h.headers.get("Accept")) and "format=json" not in query:  # "/" in a browser
            page, headers = inbox_page()
            h.answer(200, page, content_type="text/html; charset=utf-8", headers=headers, head_only=head)
        else:  # "/" for curl, scripts, Accept: application/json
            self._json(h, self._index(), head)

    def _origin_allowed(self, origin: str, path: str) -> bool:
        """Loopback pages everywhere; ``null`` (file:// pages) on the PWA bridge with ``allow_file_origin``."""
        if is_loopback_origin(origin):
            return True
        return origin == "null" and path == PWA_PATH and self.config.allow_file_origin

    @staticmethod
    def _non_simple(h: Handler) -> bool:
        """A request a browser sends cross-origin only after a preflight: JSON, or the custom header."""
        ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        return ctype == "application/json" or (h.headers.get(NON_SIMPLE_HEADER) or "").strip() == "1"

    def _stream(self, h: Handler, query: str) -> None:
        try:
            cursor = self.streams.start_cursor(query, h.headers.get("Last-Event-ID"))
        except StreamArgumentError as exc:
            self._error(h, 400, CODE_INVALID, str(exc), {"last": f"0 to {MAX_LAST}; Last-Event-ID: a seq"})
            return
        if not self.streams.acquire():
            self._error(
                h,
                429,
                CODE_RATE_LIMITED,
                f"{self.streams.max_clients} stream clients are connected already",
                {"stream": "close another tail or inbox page, or try again later"},
                headers=[("Retry-After", "5")],
            )
            return
        try:
            self.streams.serve(h, cursor)
        finally:
            self.streams.release()

    def _index(self) -> dict[str, Any]:
        return {
            "service": "rapido sandbox: a local receiver; nothing reaches Rapido",
            "inbox": "open this address in a browser: received events, live",
            "endpoints": {
                f"POST {API_PATH}": "server-to-server events (the API contract)",
                f"POST {PWA_PATH}": 'PWA events {"eventType", "properties"} (what bridge.js sends)',
                f"GET {BRIDGE_PATH}": "a window.NativeJSBridge.logEvents stand-in for a PWA in a normal browser",
                "GET /_sandbox/events?flow=&verdict=&since=&limit=": "recent events with their verdicts",
                "GET /_sandbox/stats": "counters by flow, verdict and status; booking correlation",
                "GET /_sandbox/missed": "PWA bookings with no server order.* event in time",
                f"GET {STREAM_PATH}?last=N": "server-sent events: the last N events, then each new one",
                "POST /_sandbox/reset": "forget events, idempotency answers and bookings",
            },
            "client_id_enforced": self.config.client_id is not None,
            "key_enforced": self.config.client_key is not None,
        }

    def _bridge_bytes(self) -> bytes:
        if self._bridge is None:
            self._bridge = bridge_source(self.url)
        return self._bridge

    @staticmethod
    def _json(h: Handler, obj: Any, head: bool = False) -> None:
        h.answer(200, orjson.dumps(obj, default=str), head_only=head)

    @staticmethod
    def _error(
        h: Handler,
        status: int,
        code: int,
        message: str,
        details: dict[str, Any] | None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        h.answer(status, error_body(code, message, details, new_request_id()), headers=headers)

    def _preflight(self, h: Handler, allowed: tuple[str, ...] | None) -> None:
        origin = h.headers.get("Origin") or ""
        if allowed is None:
            self._error(h, 404, CODE_NOT_FOUND, f"no such endpoint: {h.path}", None)
            return
        if not self._origin_allowed(origin, h.path.partition("?")[0]):
            # No CORS headers: the browser refuses the cross-origin request.
            self._error(h, 403, CODE_UNAUTHORIZED, f"origin {origin!r} is not a loopback origin", _NOT_LOOPBACK)
            return
        headers = [
            ("Access-Control-Allow-Methods", ", ".join((*allowed, "OPTIONS"))),
            ("Access-Control-Allow-Headers", h.headers.get("Access-Control-Request-Headers") or _CORS_HEADERS),
            ("Access-Control-Max-Age", "600"),
        ]
        if h.headers.get("Access-Control-Request-Private-Network"):
            headers.append(("Access-Control-Allow-Private-Network", "true"))
        h.answer(204, b"", headers=headers)

    # -- the two event flows -------------------------------------------------------------------

    def _new_event(self, h: Handler, flow: str) -> SandboxEvent:
        ev = SandboxEvent(flow=flow, received_at=now_utc(), verdict="")
        ev.headers = {name: value for name in STORED_HEADERS if (value := h.headers.get(name)) is not None}
        if h.headers.get("authorization") is not None:
            ev.headers["authorization"] = "[redacted]"
        return ev

    def _refuse_origin(self, h: Handler, ev: SandboxEvent, t0: float, path: str) -> bool:
        """403 (recorded) for a page of another origin; True when refused."""
        origin = h.headers.get("Origin")
        if not origin or self._origin_allowed(origin, path):
            return False
        h.close_connection = True  # the body is left unread
        message = f"origin {origin!r} is not a loopback origin"
        details = dict(_NOT_LOOPBACK)
        if origin == "null" and path == PWA_PATH:
            details["origin"] = "a page opened from a file (Origin: null): start the sandbox with --allow-file-origin"
        self._deliver(h, ev, t0, Answer(403, CODE_UNAUTHORIZED, message, details, verdict="forbidden"))
        return True

    def _server_event(self, h: Handler) -> None:
        t0 = time.monotonic()
        ev = self._new_event(h, "server")
        ev.client_id = (h.headers.get("x-client-id") or "").strip() or None
        if self._refuse_origin(h, ev, t0, API_PATH):
            return
        try:
            body = h.read_body(MAX_EVENT_BYTES)
        except BodyError as exc:
            self._deliver(h, ev, t0, Answer(exc.status, CODE_INVALID, exc.message, exc.details, verdict=exc.verdict))
            return
        self._deliver(h, ev, t0, self.contract.answer(ServerRequest(h.headers, body, ev)))

    def _pwa_event(self, h: Handler) -> None:
        t0 = time.monotonic()
        ev = self._new_event(h, "pwa")
        if self._refuse_origin(h, ev, t0, PWA_PATH):
            return
        try:
            body = h.read_body(MAX_EVENT_BYTES)
        except BodyError as exc:
            self._deliver(h, ev, t0, Answer(exc.status, CODE_INVALID, exc.message, exc.details, verdict=exc.verdict))
            return
        self._deliver(h, ev, t0, self.pwa.answer(h.headers, body, ev))

    def _deliver(self, h: Handler, ev: SandboxEvent, t0: float, answer: Answer) -> None:
        """Record ``ev``, wait out the latency, answer (or drop), then tell ``on_event``."""
        ev.status = None if answer.drop and ev.fault == DROP else answer.status
        ev.code = None if ev.status is None else answer.code
        ev.verdict = answer.verdict
        if not ev.message:
            ev.message = answer.message
        if answer.status >= 400 and not ev.problems and answer.details:
            # A refusal before the payload was checked (a header, the key, the framing): its reasons
            # are the problems, so the inbox and `rapido tail` can show them like field problems.
            ev.problems = [{"path": k, "message": str(v), "severity": "error"} for k, v in answer.details.items()]
        body = answer.body
        if body is None:
            ev.request_id = ev.request_id or new_request_id()
            body = error_body(answer.code, answer.message, answer.details, ev.request_id)
        if self._key is not None:
            scrub_key(ev, self._key)
            body = body.replace(self._key_json, b"[redacted]")
        self.ledger.record(ev)
        if ev.flow == "server" and self._latency:
            wait = t0 + self._latency - time.monotonic()  # the sleep is per connection thread
            if wait > 0:
                time.sleep(wait)
        if answer.drop:
            h.drop()
        else:
            h.answer(answer.status, body, headers=answer.headers)
        self._notify(ev)
