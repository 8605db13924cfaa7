"""The senders: one HTTP/1.1 exchange done right, on the standard library's ``http.client``.

* :class:`ConnectionSender`: one keep-alive connection (one per thread); ``attempt(body, n)``
  returns an :class:`Attempt` and never raises for network problems. Used by replay's workers,
  by ``send`` (through :class:`EventClient`) and by ``doctor``'s probe.
* :class:`EventClient`: ``send(event)`` with the one retry loop (:func:`.retry.deliver`).
* :func:`open_socket`: DNS, TCP, the proxy's CONNECT tunnel and the TLS handshake, each bounded
  by the attempt's deadline; ``rapido doctor`` calls the same pieces (:func:`resolve`,
  :func:`connect_tcp`, :func:`tunnel`, :func:`tls_handshake`).

Every attempt has one total deadline, the profile's ``timeout``: connecting, sending and reading
the whole answer. Reads go through :class:`_DeadlineRaw`, which sets the socket timeout to the time
left before each ``recv``, so a server trickling one byte a second cannot hold an attempt longer.
Answers are read up to :data:`MAX_ANSWER_BYTES` (after gzip/deflate decompression, done
incrementally), so memory never depends on what a server sends.
"""

from __future__ import annotations

import http.client
import io
import json
import select
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapido_cli.profiles import Target
from rapido_cli.text import inert
from rapido_cli.transport.answer import (
    MAX_ANSWER_BYTES,
    Attempt,
    MalformedAnswer,
    ProxyRefused,
    Scrubber,
    describe_exception,
    explain,
    failure_for_status,
    hint_for,
    parse_json,
    snippet_of,
)
from rapido_cli.transport.proxy import Proxy
from rapido_cli.transport.retry import Outcome, RetryPolicy, deliver, parse_retry_after
from rapido_cli.transport.route import Route, plan_route

USER_AGENT_PREFIX = "rapido-cli"
#: Proxy CONNECT answers longer than this are refused.
MAX_PROXY_HEAD = 64 * 1024
_READ_CHUNK = 64 * 1024


# ---------------------------------------------------------------- request parts


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


def request_preview(target: Target, event: Mapping[str, Any]) -> dict[str, Any]:
    """The exact request that would be sent, key masked (for --dry-run and -v); touches no network."""
    headers = headers_for(target, reveal=False)
    return {"method": "POST", "url": target.event_url, "headers": headers, "body": dict(event)}


# ---------------------------------------------------------------- connecting, bounded


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline reached")
    return left


Lookup = Callable[[str, int], list[tuple[Any, ...]]]


def _getaddrinfo(host: str, port: int) -> list[tuple[Any, ...]]:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def resolve(host: str, port: int, deadline: float, lookup: Lookup | None = None) -> list[tuple[Any, ...]]:
    """The addresses of ``host``, the lookup bounded by ``deadline`` (names under ``.invalid`` never exist, RFC 6761).

    Raises ``socket.gaierror`` (``EAI_NONAME``: no such host; ``EAI_AGAIN``: try later) or TimeoutError.
    """
    import ipaddress

    from rapido_cli.deadline import call_with_timeout

    name = host.strip("[]")
    bare = name.lower().rstrip(".")
    if lookup is None and (bare == "invalid" or bare.endswith(".invalid")):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    if lookup is None:
        try:
            ipaddress.ip_address(name.split("%", 1)[0])
        except ValueError:
            pass
        else:  # an address: nothing to look up, no thread needed
            return _getaddrinfo(name, port)
    fn = lookup or _getaddrinfo
    return call_with_timeout(lambda: fn(name, port), _remaining(deadline), name="rapido-dns")


def connect_tcp(infos: list[tuple[Any, ...]], deadline: float) -> socket.socket:
    """Connect to the first address that answers before ``deadline``; raise the last error."""
    last: OSError = OSError("no addresses")
    for family, socktype, proto, _canon, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last = exc
            if isinstance(exc, TimeoutError):
                break
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise last


def tunnel(sock: socket.socket, proxy: Proxy, host: str, port: int, deadline: float) -> None:
    """Ask an HTTP proxy for a CONNECT tunnel to ``host:port`` on ``sock``."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    auth = proxy.authorization()
    if auth:
        lines.append(f"Proxy-Authorization: {auth}")
    sock.settimeout(_remaining(deadline))
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        sock.settimeout(_remaining(deadline))
        chunk = sock.recv(4096)
        if not chunk:
            raise ProxyRefused(f"the proxy {proxy.host} closed the connection instead of opening a tunnel", "temporary")
        buf += chunk
        if len(buf) > MAX_PROXY_HEAD:
            raise ProxyRefused(f"the proxy {proxy.host} sent an answer too long to be a tunnel", "temporary")
    status_line = inert(buf.split(b"\r\n", 1)[0].decode("latin-1"), limit=120)
    parts = status_line.split(" ", 2)
    code = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0
    if not 200 <= code < 300:
        failure = "proxy" if code in (403, 407) else "temporary"
        raise ProxyRefused(f"the proxy {proxy.host} refused the tunnel to {authority}: {status_line}", failure)


def tls_handshake(sock: socket.socket, ctx: ssl.SSLContext, host: str, deadline: float) -> ssl.SSLSocket:
    """Wrap ``sock`` in TLS for ``host`` and finish the handshake before ``deadline``."""
    tls = ctx.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    try:
        tls.setblocking(False)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                ready = select.select([tls], [], [], _remaining(deadline))[0]
            except ssl.SSLWantWriteError:
                ready = select.select([], [tls], [], _remaining(deadline))[1]
            if not ready:
                raise TimeoutError("TLS handshake: no answer in time")
        tls.setblocking(True)
    except BaseException:
        tls.close()
        raise
    return tls


def open_socket(route: Route, ctx: ssl.SSLContext | None, deadline: float) -> socket.socket:
    """A connected socket for ``route``: DNS, TCP, CONNECT tunnel (https through a proxy), TLS."""
    host, port = route.connect_host, route.connect_port
    try:
        infos = resolve(host, port, deadline)
    except socket.gaierror as exc:
        exc.host = host  # type: ignore[attr-defined]
        raise
    sock = connect_tcp(infos, deadline)
    try:
        if route.https:
            if route.proxy is not None:
                tunnel(sock, route.proxy, route.host, route.port, deadline)
            assert ctx is not None
            return tls_handshake(sock, ctx, route.host, deadline)
    except BaseException:
        sock.close()
        raise
    return sock


# ---------------------------------------------------------------- reading, bounded


#: A socket timeout already set is kept while it is within this many seconds of the time left (each
#: ``settimeout`` is a system call); so a recv may end at most this much after the deadline.
_SLACK_S = 0.05


class _DeadlineRaw(io.RawIOBase):
    """A socket's input where every ``recv`` waits at most until the connection's deadline."""

    def __init__(self, sock: socket.socket, conn: _Connection) -> None:
        self._sock = sock
        # The socket's own reader: it holds a reference, so the socket stays open for this response
        # even after http.client closes the connection (``Connection: close``).
        self._io = sock.makefile("rb", buffering=0)
        self._conn = conn
        self.eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        self._conn.arm(self._sock)
        n = self._io.readinto(b)
        if not n:
            self.eof = True
        return n or 0

    def close(self) -> None:
        if not self.closed:
            self._io.close()
        super().close()


class _SockShim:
    """What ``http.client.HTTPResponse`` needs of a socket: ``makefile``."""

    def __init__(self, raw: _DeadlineRaw) -> None:
        self._raw = raw

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self._raw, 8192)


class _Connection(http.client.HTTPConnection):
    """``http.client`` with our own connect (bounded, proxies, TLS) and deadline-bound reads."""

    def __init__(self, route: Route, ctx: ssl.SSLContext | None) -> None:
        super().__init__(route.host, route.port)
        self.default_port = 443 if route.https else 80
        self.route = route
        self.ctx = ctx
        self.deadline = 0.0
        self.raw: _DeadlineRaw | None = None
        self._timeout_set: float | None = None
        self.response_class = self._response  # type: ignore[assignment]

    def arm(self, sock: socket.socket | None = None) -> None:
        """Make the next operation on ``sock`` (the connection's) wait no longer than the time left.

        Raises TimeoutError when no time is left. (A response to ``Connection: close`` keeps reading
        the socket after http.client has let go of it, hence ``sock``.)
        """
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline reached")
        current = self._timeout_set
        if current is None or not (left - _SLACK_S <= current <= left + _SLACK_S):
            target = sock or self.sock
            assert target is not None
            target.settimeout(left)
            self._timeout_set = left

    def _response(self, sock: socket.socket, debuglevel: int = 0, method: str | None = None, url: str | None = None
                  ) -> http.client.HTTPResponse:
        self.raw = _DeadlineRaw(sock, self)
        return http.client.HTTPResponse(_SockShim(self.raw), debuglevel, method=method)  # type: ignore[arg-type]

    def connect(self) -> None:
        self.sock = open_socket(self.route, self.ctx, self.deadline)
        self._timeout_set = None
        self.arm()

    def close(self) -> None:
        super().close()
        self._timeout_set = None


def _decoder(encoding: str) -> Any:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    return None


def read_body(resp: http.client.HTTPResponse, cap: int = MAX_ANSWER_BYTES) -> tuple[bytes, bool]:
    """The body, decompressed (gzip/deflate) incrementally, up to ``cap`` bytes; ``(data, cut)``.

    ``cut`` is True when the body went past the cap, or could not be decoded whole: such an answer
    is never an acknowledgement. The rest of a cut body is left unread (the caller closes).
    """
    encoding = (resp.getheader("content-encoding") or "").strip().lower()
    if encoding in ("", "identity"):
        decoder = None
    else:
        decoder = _decoder(encoding)
        if decoder is None:  # br, zstd, stacked encodings: not decoded, so not an acknowledgement
            data = resp.read1(cap + 1) if resp.length != 0 else b""
            return data[:cap], True
    out = bytearray()
    raw_total = 0
    first = True
    while True:
        piece = resp.read1(_READ_CHUNK)
        if not piece:
            break
        raw_total += len(piece)
        if decoder is None:
            out += piece
            if len(out) > cap:
                return bytes(out[:cap]), True
            continue
        if raw_total > cap:
            return bytes(out[:cap]), True
        data = piece
        while data and not decoder.eof:
            try:
                chunk = decoder.decompress(data, cap + 1 - len(out))
            except zlib.error:
                if first and encoding == "deflate":  # raw deflate without the zlib wrapper
                    decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                    first = False
                    continue
                return bytes(out[:cap]), True
            first = False
            out += chunk
            if len(out) > cap:
                return bytes(out[:cap]), True
            data = decoder.unconsumed_tail
    if resp.length:  # read1() meets an early end quietly: fewer bytes than Content-Length announced
        raise MalformedAnswer(f"the body ended {resp.length} bytes before its announced length")
    if decoder is not None and not decoder.eof:
        return bytes(out), True  # a compressed body cut short
    return bytes(out), False


# ---------------------------------------------------------------- the sender


@dataclass
class SendPlan:
    """Everything a sender needs, prepared once and shared by all threads: route, TLS context, headers."""

    target: Target
    route: Route
    ctx: ssl.SSLContext | None
    headers: dict[str, str]
    scrubber: Scrubber
    timeout: float

    @classmethod
    def for_target(cls, target: Target, environ: Mapping[str, str], extra_headers: Mapping[str, str] | None = None
                   ) -> SendPlan:
        """Plan the route (ConfigError for an unsafe or unusable one) and build the TLS context once."""
        from rapido_cli.transport.tls import build_ssl_context

        route = plan_route(target.event_url, environ, allow_http=target.allow_http, ca_bundle=target.ca_bundle)
        ctx = build_ssl_context(target.ca_bundle, environ) if route.https else None
        headers = headers_for(target, reveal=True)
        headers["Connection"] = "keep-alive"
        if route.proxy is not None and not route.https:
            auth = route.proxy.authorization()
            if auth:
                headers["Proxy-Authorization"] = auth
        headers.update(extra_headers or {})
        return cls(target, route, ctx, headers, Scrubber(target.key.reveal()), target.timeout)


class ConnectionSender:
    """A single persistent connection (use one per thread); network problems become attempts, never exceptions."""

    def __init__(self, plan: SendPlan) -> None:
        self.plan = plan
        self._conn: _Connection | None = None

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def attempt(self, body: bytes, number: int) -> Attempt:
        """One POST within one deadline; a stale keep-alive connection is reopened once, transparently."""
        plan = self.plan
        start = time.perf_counter()
        started = time.monotonic()
        deadline = started + plan.timeout
        for fresh_try in (False, True):
            conn = self._conn
            reused = conn is not None and conn.sock is not None
            if conn is None:
                conn = self._conn = _Connection(plan.route, plan.ctx)
            conn.deadline = deadline
            try:
                if conn.sock is not None:
                    conn.arm()
                conn.request("POST", plan.route.request_target, body=body, headers=plan.headers)
                resp = conn.getresponse()
                if conn.raw is not None and conn.raw.eof:
                    raise MalformedAnswer("the answer was cut off in its headers")
                data, cut = read_body(resp)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused and not fresh_try and time.monotonic() < deadline:
                    continue  # the server closed an idle keep-alive connection between two requests
                return self._failed(number, start, started, exc)
            except (OSError, http.client.HTTPException, MalformedAnswer, ValueError) as exc:
                self.close()
                return self._failed(number, start, started, exc)
            complete = resp.isclosed() or resp.length == 0
            resp.close()  # the response only: the connection stays open for the next request
            if cut or resp.will_close or not complete:
                self.close()
            return self._answer(number, start, started, resp, data, cut)
        raise AssertionError("unreachable")

    def _failed(self, number: int, start: float, started: float, exc: BaseException) -> Attempt:
        host = getattr(exc, "host", None) or self.plan.route.connect_host
        error, failure = describe_exception(exc, host, self.plan.timeout)
        if failure == "nxdomain" and self.plan.route.proxy is not None and host == self.plan.route.proxy.host:
            error += f" (the proxy in {self.plan.route.proxy.variable})"
        error = inert(self.plan.scrubber.text(error), limit=300)
        return Attempt(number, None, (time.perf_counter() - start) * 1000, error=error, failure=failure,
                       started=started, host=host)

    def _answer(self, number: int, start: float, started: float, resp: http.client.HTTPResponse, data: bytes,
                cut: bool) -> Attempt:
        scrub = self.plan.scrubber
        is_json, parsed = (False, None) if cut else parse_json(data)
        body = scrub.value(parsed) if is_json and scrub.needed(data) else parsed
        status = resp.status
        failure = failure_for_status(status, body, cut or not is_json)
        wanted = _pick_headers(resp)
        ctype = wanted.get("content-type")
        att = Attempt(
            number,
            status,
            (time.perf_counter() - start) * 1000,
            body=body,
            retry_after=parse_retry_after(wanted.get("retry-after")),
            failure=failure,
            content_type=inert(scrub.text(ctype), limit=100) if ctype else None,
            truncated=cut,
            started=started,
        )
        if failure is not None and (not is_json or failure == "unconfirmed") and data:
            att.snippet = snippet_of(data, scrub)
        if isinstance(body, dict):
            rid = body.get("requestId")
            # Shown in replay lines and kept in the journal: inert and bounded like every server text.
            att.request_id = inert(rid, limit=200) if isinstance(rid, str) else None
        if 300 <= status < 400:
            loc = wanted.get("location")
            att.location = inert(scrub.text(loc), limit=300) if loc else None
        date = wanted.get("date")
        att.date = date[:100] if date else None
        return att


_WANTED = frozenset({"content-type", "retry-after", "location", "date"})


def _pick_headers(resp: http.client.HTTPResponse) -> dict[str, str]:
    """The few response headers an attempt keeps (first of each), in one pass."""
    found: dict[str, str] = {}
    raw = getattr(resp.msg, "_headers", None)  # (name, value) pairs: skips email's per-call policy work
    for name, value in raw if raw is not None else resp.msg.items():
        key = name.lower()
        if key in _WANTED and key not in found:
            found[key] = str(value)
    return found


class SenderFactory:
    """Makes one :class:`ConnectionSender` per worker over a shared :class:`SendPlan`."""

    def __init__(self, target: Target, *, concurrency: int = 1, environ: Mapping[str, str] | None = None) -> None:
        import os

        self.target = target
        self.concurrency = concurrency
        self.plan = SendPlan.for_target(target, os.environ if environ is None else environ)

    @property
    def route(self) -> Route:
        """The route every sender takes."""
        return self.plan.route

    @property
    def kind(self) -> str:
        """``http.client``, and the route, for -v."""
        return f"http.client, {self.plan.route.describe()}"

    def __call__(self) -> ConnectionSender:
        return ConnectionSender(self.plan)

    def close(self) -> None:
        """Nothing is shared between senders (each closes its own connection)."""


# ---------------------------------------------------------------- one event, with retries


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
    hint: str | None = None
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the server acknowledged the event."""
        return self.outcome == "sent"

    @property
    def failure(self) -> str | None:
        """The precise reason it was not delivered (``Attempt.failure``), None when sent."""
        if self.ok:
            return None
        return self.attempts[-1].failure if self.attempts else "interrupted"

    @property
    def request_id(self) -> str | None:
        """The server's requestId, when it gave one."""
        return self.attempts[-1].request_id if self.attempts else None

    @property
    def code(self) -> int | None:
        """The API's own code (7000 on success)."""
        if isinstance(self.response, dict) and type(self.response.get("code")) is int:
            return int(self.response["code"])
        return None

    @property
    def temporary(self) -> bool:
        """True when retrying later may succeed."""
        return self.outcome in ("failed", "interrupted")

    @property
    def exit_code(self) -> int:
        """The documented exit code for this result."""
        from rapido_cli.errors import ExitCode
        from rapido_cli.transport.answer import exit_code_for

        if self.ok:
            return int(ExitCode.OK)
        if not self.attempts:
            return int(ExitCode.TEMPFAIL)
        return int(exit_code_for(self.attempts[-1]))

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
            out["failure"] = self.failure
            out["error"] = {"message": self.message, "details": self.details, "hint": self.hint}
        return out


def response_of(att: Attempt) -> Any:
    """What ``--json`` shows as the answer: the parsed JSON body, else what came back, inert and scrubbed."""
    if att.body is not None:
        return att.body
    if att.status is None:
        return None
    if att.snippet is None and att.content_type is None:
        return None
    return {"content_type": att.content_type, "raw": att.snippet, "truncated": att.truncated}


class EventClient:
    """Sends envelopes to one target: ``send(event)`` with retries; one connection per calling thread."""

    def __init__(
        self,
        target: Target,
        *,
        retry: RetryPolicy | None = None,
        environ: Mapping[str, str] | None = None,
        on_attempt: Callable[[dict[str, Any], Attempt, bool], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        extra_headers: Mapping[str, str] | None = None,
        **_ignored: Any,
    ) -> None:
        import os
        import random

        self.target = target
        self.retry = retry or RetryPolicy(max_attempts=target.max_attempts)
        self.on_attempt = on_attempt
        self.sleep = sleep
        self.rng = random.Random()
        self.plan = SendPlan.for_target(target, os.environ if environ is None else environ, extra_headers)
        self._local = threading.local()
        self._senders: list[ConnectionSender] = []
        self._lock = threading.Lock()

    @property
    def route(self) -> Route:
        """The route requests take (proxy or direct, TLS trust)."""
        return self.plan.route

    def _sender(self) -> ConnectionSender:
        sender: ConnectionSender | None = getattr(self._local, "sender", None)
        if sender is None:
            sender = ConnectionSender(self.plan)
            self._local.sender = sender
            with self._lock:
                self._senders.append(sender)
        return sender

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            for s in self._senders:
                s.close()
            self._senders.clear()

    def __enter__(self) -> EventClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request_preview(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The exact request that would be sent, key masked (for --dry-run and -v)."""
        return request_preview(self.target, event)

    def send(self, event: dict[str, Any], *, max_attempts: int | None = None) -> SendResult:
        """Deliver one event, retrying what may pass later; the result says what happened."""
        body = encode_event(event)
        start = time.perf_counter()

        def on_attempt(att: Attempt, final: bool) -> None:
            if self.on_attempt is not None:
                self.on_attempt(event, att, final)

        done = deliver(
            self._sender(), body, self.retry, max_attempts=max_attempts, on_attempt=on_attempt,
            sleep=self.sleep, rng=self.rng,
        )
        result = SendResult(event=event, outcome=done.outcome, status=None, attempts=done.attempts)
        last = done.last
        if last is not None:
            result.status = last.status
            result.response = response_of(last)
        result.elapsed_ms = (time.perf_counter() - start) * 1000
        if not result.ok and last is not None:
            result.message, result.details = explain(last)
            result.hint = hint_for(last)
        return result


__all__ = [
    "ConnectionSender",
    "EventClient",
    "SendPlan",
    "SendResult",
    "SenderFactory",
    "connect_tcp",
    "encode_event",
    "headers_for",
    "open_socket",
    "read_body",
    "request_preview",
    "resolve",
    "response_of",
    "tls_handshake",
    "tunnel",
]
