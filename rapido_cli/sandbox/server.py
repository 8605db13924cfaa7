"""The HTTP side of the sandbox: a threaded HTTP/1.1 keep-alive server on the standard library.

One thread per connection, so ``--latency`` sleeps never serialize concurrent clients; answers are
written in one ``send`` with ``TCP_NODELAY`` so keep-alive exchanges do not stall on Nagle.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import ipaddress
import socket
import sys
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from rapido_cli.errors import UsageError
from rapido_cli.models import (
    API_PATH,
    CODE_INTERNAL,
    CODE_INVALID,
    CODE_NOT_FOUND,
    CODE_OK,
    CODE_RATE_LIMITED,
    CODE_UNAUTHORIZED,
    MAX_EVENT_BYTES,
    SERVICES,
)
from rapido_cli.rules import Problem, check_pwa_event, check_server_event
from rapido_cli.sandbox.config import DROP, DROP_AFTER, SandboxConfig, SandboxEvent
from rapido_cli.sandbox.state import (
    Correlator,
    FaultInjector,
    JsonlWriter,
    Ledger,
    TokenBucket,
    iso_seconds,
    now_utc,
    retry_after_seconds,
)

PWA_PATH = "/pwa/events"
BRIDGE_PATH = "/bridge.js"
REQUIRED_HEADERS: tuple[str, ...] = ("x-client-id", "x-client-service", "x-client-app-id", "authorization")
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
}
_REASONS = {499: "Client Closed Request"}
_CORS_HEADERS = "content-type, x-rapido-bridge, x-rapido-bridge-seq"


def is_loopback_origin(origin: str) -> bool:
    """True for ``http(s)://localhost[:port]``, ``127.0.0.0/8`` and ``[::1]`` origins."""
    try:
        parts = urlsplit(origin)
        host = parts.hostname
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, ``*.localhost``, ``127.0.0.0/8`` and ``::1``, with or without a port."""
    if not host:
        return False
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _problems(problems: list[Problem]) -> list[dict[str, str]]:
    return [{"path": p.path, "message": p.message, "severity": p.severity} for p in problems]


def _details(problems: list[Problem]) -> dict[str, str]:
    """``error.details``: each field path mapped to its message(s); the whole body is ``body``."""
    out: dict[str, str] = {}
    for p in problems:
        if p.severity != "error":
            continue
        key = p.path or "body"
        out[key] = f"{out[key]}; {p.message}" if key in out else p.message
    return out


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _short(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _js_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, int | float) else "a non-string value"


def new_request_id() -> str:
    """``req_<hex>``, fresh for every answer."""
    return "req_" + uuid.uuid4().hex[:20]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, sandbox: Sandbox, address: tuple[str, int]) -> None:
        self.sandbox = sandbox
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every keep-alive thread so it ends now rather than at its idle timeout."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by its own thread
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        # A client hanging up mid-exchange, or our own shutdown, is not a bug worth a traceback.
        if isinstance(exc, ConnectionError | TimeoutError) or (isinstance(exc, OSError) and self.sandbox.stopping):
            return
        super().handle_error(request, client_address)


class _Headers:
    """Request headers, case-insensitive: the part of ``email.message.Message`` the handler uses.

    The standard library parses headers with the ``email`` package, which costs more than the
    rest of a sandbox request together; this keeps the sandbox far from limiting a benchmark.
    """

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        key = name.lower()
        self._items[key] = f"{self._items[key]}, {value}" if key in self._items else value

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._items.get(name.lower(), default)

    def __getitem__(self, name: str) -> str | None:
        return self._items.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def items(self) -> list[tuple[str, str]]:
        return list(self._items.items())


_MAX_HEADER_LINE = 65536
_MAX_HEADERS = 100


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rapido-sandbox"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Idle keep-alive connections end after this, so their threads do not linger.
        self.connection.settimeout(self.server.sandbox.config.idle_timeout_s)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def parse_request(self) -> bool:
        """Request line and headers (HTTP/1.0 and 1.1), as the stdlib does but without ``email``."""
        self.command = None  # type: ignore[assignment]
        # Errors before the version is known still get a status line (the stdlib's 0.9 default would not).
        self.request_version = "HTTP/1.0"
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")  # type: ignore[attr-defined]
        self.requestline = requestline
        words = requestline.split()
        if len(words) != 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
            return False
        command, path, version = words
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Unsupported HTTP version ({version!r})")
            return False
        self.command, self.path, self.request_version = command, path, version
        headers = _Headers()
        last: str | None = None
        for _ in range(_MAX_HEADERS + 1):
            line = self.rfile.readline(_MAX_HEADER_LINE + 1)
            if len(line) > _MAX_HEADER_LINE:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Header line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            text = line.decode("iso-8859-1")
            if text[0] in " \t" and last is not None:  # obsolete line folding
                headers.add(last, text.strip())
                continue
            name, sep, value = text.partition(":")
            if not sep or not name or name != name.strip():
                self.send_error(HTTPStatus.BAD_REQUEST, "Malformed header line")
                return False
            headers.add(name, value.strip())
            last = name
        else:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False
        self.headers = headers  # type: ignore[assignment]
        conntype = (headers.get("Connection") or "").lower()
        self.close_connection = conntype == "close" if version == "HTTP/1.1" else conntype != "keep-alive"
        if (headers.get("Expect") or "").lower() == "100-continue" and version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib access log: the live lines come through ``on_event``."""

    def do_GET(self) -> None:
        self.server.sandbox.dispatch(self, "GET")

    def do_HEAD(self) -> None:
        self.server.sandbox.dispatch(self, "HEAD")

    def do_POST(self) -> None:
        self.server.sandbox.dispatch(self, "POST")

    def do_OPTIONS(self) -> None:
        self.server.sandbox.dispatch(self, "OPTIONS")

    def do_PUT(self) -> None:
        self.server.sandbox.dispatch(self, "PUT")

    def do_PATCH(self) -> None:
        self.server.sandbox.dispatch(self, "PATCH")

    def do_DELETE(self) -> None:
        self.server.sandbox.dispatch(self, "DELETE")

    # -- writing -------------------------------------------------------------------------------

    def answer(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: list[tuple[str, str]] | None = None,
        head_only: bool = False,
    ) -> None:
        """Write status line, headers and body in one send."""
        reason = _REASONS.get(status) or HTTPStatus(status).phrase
        lines = [
            f"HTTP/1.1 {status} {reason}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
        ]
        origin = self.headers.get("Origin")
        if origin and is_loopback_origin(origin):
            lines += [
                f"Access-Control-Allow-Origin: {origin}",
                "Vary: Origin",
                "Access-Control-Expose-Headers: Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset",
            ]
        if headers:
            lines += [f"{k}: {v}" for k, v in headers]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if head_only else head + body)

    def drop(self) -> None:
        """Close the connection without answering (an injected network fault)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _error_body(code: int, message: str, details: dict[str, Any] | None, request_id: str, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "success": False,
        "code": code,
        "error": {"message": message, "details": details or {}},
        "timestamp": iso_seconds(now_utc()),
        "requestId": request_id,
    }
    body.update(extra)
    return orjson.dumps(body)


def _bridge_source() -> str:
    return resources.files("rapido_cli").joinpath("static/bridge.js").read_text(encoding="utf-8")


class Sandbox:
    """The local receiver implementing the API contract, plus the PWA bridge and inspection endpoints.

    ``start()`` serves in background threads; ``serve_forever()`` blocks until Ctrl-C or ``stop()``.
    Also a context manager.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.stopping = False
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stop_lock = threading.Lock()
        self._stopped = threading.Event()
        self._idle = threading.Condition()
        self._active = 0
        self._store = JsonlWriter(self.config.store) if self.config.store else None
        self._missed_sink = JsonlWriter(self.config.missed, option="--missed") if self.config.missed else None
        self.ledger = Ledger(self.config.keep_events, self._store)
        self.correlator = Correlator(self.config.missed_after_s, self._missed_sink)
        self._faults = FaultInjector(self.config.fault_plan, self.config.seed)
        self._bucket = TokenBucket(self.config.rate_limit, self.config.rate_burst) if self.config.rate_limit else None
        self._bridge: bytes | None = None
        self._latency = self.config.latency_ms / 1000.0
        self._loopback_only = _is_loopback_host(self.config.host)

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
        # Warm the validators (first pydantic/zoneinfo use is slow) before the first request.
        check_server_event({})
        check_pwa_event({})
        try:
            self._server = _Server(self, (self.config.host, self.config.port))
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
            if self._server is not None:
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

    def dispatch(self, h: _Handler, method: str) -> None:
        """Route one request, counted as in flight so ``stop()`` can let it finish."""
        with self._idle:
            self._active += 1
        try:
            self._route(h, method)
        finally:
            with self._idle:
                self._active -= 1
                if self._active == 0:
                    self._idle.notify_all()

    def _route(self, h: _Handler, method: str) -> None:
        path, _, query = h.path.partition("?")
        allowed = _ROUTES.get(path)
        if path not in (API_PATH, PWA_PATH) or method != "POST":
            self._discard_body(h)
        host_header = h.headers.get("Host")
        if self._loopback_only and host_header is not None and not _is_loopback_host(host_header):
            # DNS rebinding: a web page whose name now points at 127.0.0.1 must not read the
            # sandbox's events or post to it; loopback clients always send a loopback Host.
            h.close_connection = True
            self._discard_body(h)
            self._plain_error(
                h,
                403,
                CODE_UNAUTHORIZED,
                f"Host {h.headers.get('Host')!r} is not a loopback name",
                {"host": "the sandbox listens on loopback; use localhost or 127.0.0.1"},
            )
            return
        if method == "OPTIONS":
            self._preflight(h, allowed)
            return
        if allowed is None:
            self._plain_error(
                h,
                404,
                CODE_NOT_FOUND,
                f"no such endpoint: {method} {path}",
                {"path": f"try POST {API_PATH}, POST {PWA_PATH} or GET /"},
            )
            return
        if method not in allowed:
            self._plain_error(
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
                self._plain_error(h, 400, CODE_INVALID, "since and limit must be integers", None)
                return
            events = self.ledger.events(
                flow=q.get("flow", [None])[0], verdict=q.get("verdict", [None])[0], since=since, limit=limit
            )
            self._json(h, {"events": events, "last_seq": events[-1]["seq"] if events else since}, head)
        elif path == "/_sandbox/stats":
            self._json(h, self.stats(), head)
        elif path == "/_sandbox/missed":
            self._json(h, {"window_s": self.config.missed_after_s, "missed": self.missed()}, head)
        elif path == "/_sandbox/reset":
            self.reset()
            self._json(h, {"reset": True}, head)
        else:  # "/"
            self._json(h, self._index(), head)

    @staticmethod
    def _discard_body(h: _Handler) -> None:
        """Consume a body nobody reads, so the next request on the connection parses cleanly."""
        raw = h.headers.get("Content-Length")
        if h.headers.get("Transfer-Encoding"):
            h.close_connection = True
            return
        try:
            length = int(raw) if raw else 0
        except ValueError:
            length = -1
        if 0 < length <= MAX_EVENT_BYTES:
            h.rfile.read(length)
        elif length != 0:
            h.close_connection = True

    def _index(self) -> dict[str, Any]:
        return {
            "service": "rapido sandbox: a local receiver; nothing reaches Rapido",
            "endpoints": {
                f"POST {API_PATH}": "server-to-server events (the API contract)",
                f"POST {PWA_PATH}": 'PWA events {"eventType", "properties"} (what bridge.js sends)',
                f"GET {BRIDGE_PATH}": "a window.NativeJSBridge.logEvents stand-in for a PWA in a normal browser",
                "GET /_sandbox/events?flow=&verdict=&since=&limit=": "recent events with their verdicts",
                "GET /_sandbox/stats": "counters by flow, verdict and status; booking correlation",
                "GET /_sandbox/missed": "PWA bookings with no server order.* event in time",
                "POST /_sandbox/reset": "forget events, idempotency answers and bookings",
            },
            "client_id_enforced": self.config.client_id is not None,
            "key_enforced": self.config.client_key is not None,
        }

    def _bridge_bytes(self) -> bytes:
        if self._bridge is None:
            self._bridge = _bridge_source().replace("__RAPIDO_SANDBOX_URL__", self.url).encode("utf-8")
        return self._bridge

    def _json(self, h: _Handler, obj: Any, head: bool = False) -> None:
        h.answer(200, orjson.dumps(obj, default=str), head_only=head)

    def _plain_error(
        self,
        h: _Handler,
        status: int,
        code: int,
        message: str,
        details: dict[str, Any] | None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        h.answer(status, _error_body(code, message, details, new_request_id()), headers=headers)

    def _preflight(self, h: _Handler, allowed: tuple[str, ...] | None) -> None:
        origin = h.headers.get("Origin") or ""
        if allowed is None:
            self._plain_error(h, 404, CODE_NOT_FOUND, f"no such endpoint: {h.path}", None)
            return
        if not is_loopback_origin(origin):
            # No CORS headers: the browser refuses the cross-origin request.
            self._plain_error(
                h,
                403,
                CODE_UNAUTHORIZED,
                f"origin {origin!r} is not a loopback origin",
                {"origin": "the sandbox accepts pages served from localhost, 127.0.0.0/8 or [::1]"},
            )
            return
        headers = [
            ("Access-Control-Allow-Methods", ", ".join((*allowed, "OPTIONS"))),
            ("Access-Control-Allow-Headers", h.headers.get("Access-Control-Request-Headers") or _CORS_HEADERS),
            ("Access-Control-Max-Age", "600"),
        ]
        if h.headers.get("Access-Control-Request-Private-Network"):
            headers.append(("Access-Control-Allow-Private-Network", "true"))
        h.answer(204, b"", headers=headers)

    def _wait_latency(self, t0: float) -> None:
        """Hold the answer until ``latency`` after arrival (the sleep is per connection thread)."""
        wait = t0 + self._latency - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def _read_body(self, h: _Handler, ev: SandboxEvent, t0: float) -> bytes | None:
        """The request body, or None after answering 411/413/400 for it."""
        if h.headers.get("Transfer-Encoding"):
            h.close_connection = True
            self._finish(
                h,
                ev,
                t0,
                411,
                CODE_INVALID,
                "send the body with a Content-Length",
                {"transfer-encoding": "chunked bodies are not accepted"},
                verdict="invalid",
            )
            return None
        raw = h.headers.get("Content-Length")
        try:
            length = int(raw) if raw is not None else -1
        except ValueError:
            length = -1
        if length < 0:
            h.close_connection = True
            self._finish(
                h,
                ev,
                t0,
                411,
                CODE_INVALID,
                "a Content-Length header is required",
                {"content-length": "missing or not a number"},
                verdict="invalid",
            )
            return None
        if length > MAX_EVENT_BYTES:
            h.close_connection = True  # the body is left unread
            self._finish(
                h,
                ev,
                t0,
                413,
                CODE_INVALID,
                f"the body is {length} bytes; the limit is {MAX_EVENT_BYTES} bytes per event",
                {"body": f"at most {MAX_EVENT_BYTES} bytes"},
                verdict="too_large",
            )
            return None
        return h.rfile.read(length) if length else b""

    def _finish(
        self,
        h: _Handler,
        ev: SandboxEvent,
        t0: float,
        status: int,
        code: int,
        message: str,
        details: dict[str, Any] | None,
        *,
        verdict: str,
        headers: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
        drop: bool = False,
    ) -> None:
        """Record ``ev``, wait out the latency, answer (or drop), then tell ``on_event``."""
        ev.status = None if drop and ev.fault == DROP else status
        ev.verdict = verdict
        if not ev.message:
            ev.message = message
        if body is None:
            ev.request_id = ev.request_id or new_request_id()
            body = _error_body(code, message, details, ev.request_id)
        self.ledger.record(ev)
        if ev.flow == "server" and self._latency:
            self._wait_latency(t0)
        if drop:
            h.drop()
        else:
            h.answer(status, body, headers=headers)
        self._notify(ev)

    def _stored_headers(self, h: _Handler) -> dict[str, str]:
        out = {name: value for name in STORED_HEADERS if (value := h.headers.get(name)) is not None}
        if h.headers.get("authorization") is not None:
            out["authorization"] = "[redacted]"
        return out

    # -- the server-to-server flow -------------------------------------------------------------

    def _server_event(self, h: _Handler) -> None:
        t0 = time.monotonic()
        ev = SandboxEvent(flow="server", received_at=now_utc(), verdict="")
        hdr = h.headers
        ev.headers = self._stored_headers(h)
        ev.client_id = (hdr.get("x-client-id") or "").strip() or None
        body = self._read_body(h, ev, t0)
        if body is None:
            return
        # Parsed once, early, so even a refused request's live line names its event.
        obj: Any = None
        parse_error: str | None = None
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            parse_error = str(exc)
            ev.event = {"raw": body[:1024].decode("utf-8", "replace")}
        else:
            ev.event = obj
            self._describe(ev, obj)

        missing = [name for name in REQUIRED_HEADERS if not (hdr.get(name) or "").strip()]
        if missing:
            self._finish(
                h,
                ev,
                t0,
                401,
                CODE_UNAUTHORIZED,
                f"missing header(s): {', '.join(missing)}",
                {name: "required header is missing or empty" for name in missing},
                verdict="unauthorized",
            )
            return
        client_id = ev.client_id or ""
        if self.config.client_id is not None and client_id != self.config.client_id:
            self._finish(
                h,
                ev,
                t0,
                401,
                CODE_UNAUTHORIZED,
                f"unknown client id {client_id!r}",
                {"x-client-id": "not the client id this sandbox was started with"},
                verdict="unauthorized",
            )
            return
        if self.config.client_key is not None:
            given = (hdr.get("authorization") or "").strip()
            if not hmac.compare_digest(given.encode(), self.config.client_key.encode()):
                hint = "does not match the sandbox's key"
                if given.lower().startswith(("bearer ", "basic ")):
                    hint += "; send the key as is, without a scheme such as 'Bearer '"
                self._finish(
                    h,
                    ev,
                    t0,
                    401,
                    CODE_UNAUTHORIZED,
                    "invalid client key",
                    {"authorization": hint},
                    verdict="unauthorized",
                )
                return
        service = (hdr.get("x-client-service") or "").strip()
        if service not in SERVICES:
            self._finish(
                h,
                ev,
                t0,
                400,
                CODE_INVALID,
                f"unknown service {service!r}",
                {"x-client-service": f"must be one of {', '.join(SERVICES)}"},
                verdict="invalid",
            )
            return
        ctype = (hdr.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self._finish(
                h,
                ev,
                t0,
                415,
                CODE_INVALID,
                f"unsupported content type {ctype or '(none)'!r}",
                {"content-type": "must be application/json"},
                verdict="unsupported",
            )
            return

        if self._bucket is not None:
            ok, _left, wait = self._bucket.take()
            if not ok:
                retry = retry_after_seconds(wait)
                self._finish(
                    h,
                    ev,
                    t0,
                    429,
                    CODE_RATE_LIMITED,
                    f"rate limit of {self.config.rate_limit:g} requests/s exceeded",
                    {"retryAfter": retry},
                    verdict="rate_limited",
                    headers=[("Retry-After", str(retry)), *self._ratelimit_headers()],
                )
                return
        rl_headers = self._ratelimit_headers()

        fault = self._faults.draw()
        if fault is not None and fault.kind != DROP_AFTER:
            ev.fault = fault.kind
            if fault.kind == DROP:
                self._finish(
                    h,
                    ev,
                    t0,
                    0,
                    0,
                    "connection dropped before processing (injected)",
                    None,
                    verdict="dropped",
                    drop=True,
                )
                return
            status = fault.status or 500
            extra = [("Retry-After", "1")] if status in (429, 503) else []
            code = CODE_RATE_LIMITED if status == 429 else CODE_INTERNAL if status >= 499 else CODE_INVALID
            self._finish(
                h,
                ev,
                t0,
                status,
                code,
                f"injected fault: HTTP {status}",
                {"fault": "injected by the sandbox's --fail-rate/--faults"},
                verdict="fault",
                headers=extra,
            )
            return
        drop_after = fault is not None
        if drop_after:
            ev.fault = DROP_AFTER

        if parse_error is not None:
            self._finish(
                h,
                ev,
                t0,
                400,
                CODE_INVALID,
                "the body is not valid JSON",
                {"body": parse_error},
                verdict="invalid",
                headers=rl_headers,
                drop=drop_after,
            )
            return
        problems = check_server_event(obj, size=len(body))
        ev.problems = _problems(problems)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            first = errors[0]
            msg = f"invalid event: {first.path or 'body'}: {first.message}"
            if len(errors) > 1:
                msg += f" (and {len(errors) - 1} more)"
            self._finish(
                h,
                ev,
                t0,
                400,
                CODE_INVALID,
                msg,
                _details(problems),
                verdict="invalid",
                headers=rl_headers,
                drop=drop_after,
            )
            return

        event_id = str(_get(obj, "event", "id"))
        key = (client_id, event_id)
        digest = hashlib.blake2b(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()
        known = self.ledger.lookup(key)
        verdict = "duplicate"
        if known is None:
            mine = (digest, new_request_id(), iso_seconds(ev.received_at))
            known = self.ledger.remember(key, mine)
            if known is mine:
                verdict = "accepted"
        if known[0] != digest:
            self._finish(
                h,
                ev,
                t0,
                409,
                CODE_INVALID,
                f"event id {event_id!r} was already accepted with different content",
                {"event.id": "reuse an id only to resend the very same event; a changed event needs a new id"},
                verdict="conflict",
                headers=rl_headers,
                drop=drop_after,
            )
            return
        ev.request_id = known[1]
        success = orjson.dumps({"success": True, "code": CODE_OK, "timestamp": known[2], "requestId": known[1]})
        if ev.event_type and ev.event_type.startswith("order.") and ev.order_id:
            match = self.correlator.server_order(ev.order_id, ev.received_at)
            if match == "matched":
                ev.message = f"matches PWA booking_completed {ev.order_id}"
            elif match == "late":
                ev.message = f"late: PWA booking {ev.order_id} was already reported missed"
        if problems:
            ev.message = (ev.message + "; " if ev.message else "") + f"{len(problems)} warning(s)"
        self._finish(
            h, ev, t0, 200, CODE_OK, "", None, verdict=verdict, body=success, headers=rl_headers, drop=drop_after
        )

    @staticmethod
    def _describe(ev: SandboxEvent, obj: Any) -> None:
        ev.event_type = _short(_get(obj, "event", "type"))
        ev.event_id = _short(_get(obj, "event", "id"))
        order_id = _get(obj, "attributes", "orderId")
        ev.order_id = str(order_id) if isinstance(order_id, str | int) and not isinstance(order_id, bool) else None

    def _ratelimit_headers(self) -> list[tuple[str, str]]:
        if self._bucket is None:
            return []
        left = self._bucket.peek()
        return [
            ("RateLimit-Limit", f"{self._bucket.rate:g}"),
            ("RateLimit-Remaining", str(int(left))),
            ("RateLimit-Reset", str(retry_after_seconds(self._bucket.seconds_to_full()))),
        ]

    # -- the PWA flow ----------------------------------------------------------------------------

    def _pwa_event(self, h: _Handler) -> None:
        t0 = time.monotonic()
        ev = SandboxEvent(flow="pwa", received_at=now_utc(), verdict="")
        ev.headers = self._stored_headers(h)
        origin = h.headers.get("Origin")
        if origin and not is_loopback_origin(origin):
            h.close_connection = True
            self._finish(
                h,
                ev,
                t0,
                403,
                CODE_UNAUTHORIZED,
                f"origin {origin!r} is not a loopback origin",
                {"origin": "the sandbox accepts pages served from localhost, 127.0.0.0/8 or [::1]"},
                verdict="forbidden",
            )
            return
        body = self._read_body(h, ev, t0)
        if body is None:
            return
        ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in ("application/json", "text/plain"):
            self._finish(
                h,
                ev,
                t0,
                415,
                CODE_INVALID,
                f"unsupported content type {ctype or '(none)'!r}",
                {"content-type": "must be application/json"},
                verdict="unsupported",
            )
            return
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            ev.event = {"raw": body[:1024].decode("utf-8", "replace")}
            self._finish(
                h, ev, t0, 400, CODE_INVALID, "the body is not valid JSON", {"body": str(exc)}, verdict="invalid"
            )
            return
        ev.event = obj
        ev.event_type = _short(_get(obj, "eventType"))
        ev.request_id = new_request_id()
        problems = check_pwa_event(obj, size=len(body))
        raw_props = _get(obj, "properties")
        if h.headers.get("x-rapido-bridge-seq") and raw_props is not None and not isinstance(raw_props, str):
            # Through bridge.js the properties arrive exactly as the page passed them: the real
            # bridge takes a JSON string, as in the seed's logEvents(type, JSON.stringify(props)).
            problems.append(
                Problem(
                    "properties",
                    f"logEvents got {_js_kind(raw_props)}, "
                    "not a JSON string: call logEvents(eventType, JSON.stringify(properties))",
                    "warning",
                )
            )
        ev.problems = _problems(problems)
        errors = [p for p in problems if p.severity == "error"]
        props = _get(obj, "properties")
        if isinstance(props, str):
            try:
                props = orjson.loads(props)
            except orjson.JSONDecodeError:
                props = None
        if not errors and ev.event_type == "booking_completed" and isinstance(props, dict):
            booking = props.get("booking_id")
            if isinstance(booking, str | int) and not isinstance(booking, bool) and str(booking):
                ev.order_id = str(booking)
                state = self.correlator.pwa_booking(ev.order_id, ev.received_at, props)
                ev.message = (
                    f"booking {ev.order_id}: server order event already received"
                    if state == "matched"
                    else f"booking {ev.order_id}: waiting up to {self.config.missed_after_s:g}s "
                    "for the server order event"
                )
        verdict = "invalid" if errors else "warning" if problems else "ok"
        if errors:
            first = errors[0]
            self._finish(
                h,
                ev,
                t0,
                400,
                CODE_INVALID,
                f"invalid PWA event: {first.path or 'body'}: {first.message}",
                _details(problems),
                verdict=verdict,
                body=_error_body(
                    CODE_INVALID,
                    f"invalid PWA event: {first.path or 'body'}: {first.message}",
                    _details(problems),
                    ev.request_id,
                    verdict=verdict,
                    problems=ev.problems,
                ),
            )
            return
        answer = orjson.dumps(
            {
                "success": True,
                "code": CODE_OK,
                "timestamp": iso_seconds(ev.received_at),
                "requestId": ev.request_id,
                "verdict": verdict,
                "problems": ev.problems,
            }
        )
        self._finish(h, ev, t0, 200, CODE_OK, "", None, verdict=verdict, body=answer)
