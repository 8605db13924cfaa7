"""The sandbox's HTTP transport: a threaded HTTP/1.1 keep-alive server on the standard library.

It knows nothing of events: it parses requests, reads bodies within a limit, writes answers, and
hands every request to the ``dispatch`` callable it was given. One thread per connection, so
``--latency`` sleeps never serialize concurrent clients; answers are written in one ``send`` with
``TCP_NODELAY`` so keep-alive exchanges do not stall on Nagle. Open connections are tracked so a
stop ends idle keep-alive threads at once.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rapido_cli.sandbox.responses import reason_phrase

#: ``dispatch(handler, method)``: answer one parsed request.
Dispatch = Callable[["Handler", str], None]

_MAX_HEADER_LINE = 65536
_MAX_HEADERS = 100


class BodyError(Exception):
    """A request body that cannot be read: the answer's status, message, details and verdict."""

    def __init__(self, status: int, message: str, details: dict[str, str], verdict: str = "invalid") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.verdict = verdict


class Headers:
    """Request headers, case-insensitive: the part of ``email.message.Message`` the handlers use.

    The standard library parses headers with the ``email`` package, which costs more than the
    rest of a sandbox request together; this keeps the sandbox far from limiting a benchmark.
    """

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        """Add a header; a repeated name is joined with ``, `` as RFC 9110 allows."""
        key = name.lower()
        self._items[key] = f"{self._items[key]}, {value}" if key in self._items else value

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of ``name`` (any case), or ``default``."""
        return self._items.get(name.lower(), default)

    def __getitem__(self, name: str) -> str | None:
        return self._items.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def items(self) -> list[tuple[str, str]]:
        """``(lower-case name, value)`` pairs."""
        return list(self._items.items())


class HttpServer(ThreadingHTTPServer):
    """Listens, tracks open connections, and calls ``dispatch`` for each request."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], dispatch: Dispatch, *, idle_timeout: float = 30.0) -> None:
        self.dispatch = dispatch
        self.idle_timeout = idle_timeout
        #: Set when the owner stops: socket errors then are expected, not worth a traceback.
        self.stopping = False
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

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
        if isinstance(exc, ConnectionError | TimeoutError) or (isinstance(exc, OSError) and self.stopping):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """One connection: parses each request and passes it to the server's ``dispatch``."""

    protocol_version = "HTTP/1.1"
    server_version = "rapido-sandbox"
    sys_version = ""
    server: HttpServer
    headers: Headers  # type: ignore[assignment]

    def setup(self) -> None:
        super().setup()
        # Idle keep-alive connections end after this, so their threads do not linger.
        self.connection.settimeout(self.server.idle_timeout)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        #: Headers added to every answer of the current request (the owner's CORS headers).
        self.answer_headers: list[tuple[str, str]] = []

    def parse_request(self) -> bool:
        """Request line and headers (HTTP/1.0 and 1.1), as the stdlib does but without ``email``."""
        self.command = None  # type: ignore[assignment]
        # Errors before the version is known still get a status line (the stdlib's 0.9 default would not).
        self.request_version = "HTTP/1.0"
        self.close_connection = True
        self.answer_headers = []
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
        headers = Headers()
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
        self.headers = headers
        conntype = (headers.get("Connection") or "").lower()
        self.close_connection = conntype == "close" if version == "HTTP/1.1" else conntype != "keep-alive"
        if (headers.get("Expect") or "").lower() == "100-continue" and version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib access log: the owner reports what matters."""

    def do_GET(self) -> None:
        self.server.dispatch(self, "GET")

    def do_HEAD(self) -> None:
        self.server.dispatch(self, "HEAD")

    def do_POST(self) -> None:
        self.server.dispatch(self, "POST")

    def do_OPTIONS(self) -> None:
        self.server.dispatch(self, "OPTIONS")

    def do_PUT(self) -> None:
        self.server.dispatch(self, "PUT")

    def do_PATCH(self) -> None:
        self.server.dispatch(self, "PATCH")

    def do_DELETE(self) -> None:
        self.server.dispatch(self, "DELETE")

    # -- reading -------------------------------------------------------------------------------

    def read_body(self, limit: int) -> bytes:
        """The request body (``Content-Length``), at most ``limit`` bytes; :class:`BodyError` otherwise.

        After an error the body is left unread and the connection marked to close.
        """
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise BodyError(
                411, "send the body with a Content-Length", {"transfer-encoding": "chunked bodies are not accepted"}
            )
        raw = self.headers.get("Content-Length")
        try:
            length = int(raw) if raw is not None else -1
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise BodyError(411, "a Content-Length header is required", {"content-length": "missing or not a number"})
        if length > limit:
            self.close_connection = True  # the body is left unread
            raise BodyError(
                413,
                f"the body is {length} bytes; the limit is {limit} bytes per event",
                {"body": f"at most {limit} bytes"},
                "too_large",
            )
        return self.rfile.read(length) if length else b""

    def discard_body(self, limit: int) -> None:
        """Consume a body nobody reads, so the next request on the connection parses cleanly."""
        raw = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return
        try:
            length = int(raw) if raw else 0
        except ValueError:
            length = -1
        if 0 < length <= limit:
            self.rfile.read(length)
        elif length != 0:
            self.close_connection = True

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
        lines = [
            f"HTTP/1.1 {status} {reason_phrase(status)}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in self.answer_headers]
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
