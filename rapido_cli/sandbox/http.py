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
import time
import zlib
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rapido_cli.sandbox.responses import reason_phrase

#: ``dispatch(handler, method)``: answer one parsed request.
Dispatch = Callable[["Handler", str], None]

_MAX_HEADER_LINE = 65536
_MAX_HEADERS = 100
_MAX_CHUNK_LINE = 1024
_HEX = frozenset(b"0123456789abcdefABCDEF")


class _Decoder:
    """Incremental ``Content-Encoding`` decoding, stopping as soon as the output passes ``limit``."""

    def __init__(self, coding: str, limit: int) -> None:
        self.coding = coding
        self.limit = limit
        self._wbits = 16 + zlib.MAX_WBITS if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z: Any = None
        self._out: list[bytes] = []
        self._size = 0

    @classmethod
    def for_coding(cls, header: str | None, limit: int) -> _Decoder | None:
        """The decoder for a ``Content-Encoding`` value; None for none or ``identity``."""
        codings = [c.strip().lower() for c in (header or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if not codings:
            return None
        if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
            return cls(codings[0], limit)
        raise BodyError(
            415,
            f"unsupported Content-Encoding {header!r}",
            {"content-encoding": "use gzip, deflate or none"},
            "unsupported",
        )

    def _bad(self, why: str) -> BodyError:
        return BodyError(400, f"the body is not valid {self.coding} data: {why}", {"content-encoding": why})

    def feed(self, data: bytes) -> None:
        """Decode one piece of the body."""
        if self._z is None:
            if not data:
                return
            wbits = self._wbits
            # "deflate" means zlib-wrapped (RFC 9110), but some clients send a raw deflate stream.
            if self.coding == "deflate" and not (
                len(data) >= 2 and (data[0] & 0x0F) == 8 and int.from_bytes(data[:2], "big") % 31 == 0
            ):
                wbits = -zlib.MAX_WBITS
            self._z = zlib.decompressobj(wbits)
        if self._z.eof:
            if data:
                raise self._bad("data after the end of the compressed stream")
            return
        pending = data
        while pending:
            try:
                out = self._z.decompress(pending, self.limit - self._size + 1)
            except zlib.error as exc:
                raise self._bad(str(exc).removeprefix("Error -3 while decompressing data: ")) from None
            self._size += len(out)
            if self._size > self.limit:
                raise BodyError(
                    413,
                    f"the body is over {self.limit} bytes once decoded; the limit is {self.limit} bytes per event",
                    {"body": f"at most {self.limit} bytes (decoded)"},
                    "too_large",
                )
            self._out.append(out)
            if self._z.eof:
                if self._z.unused_data:
                    raise self._bad("data after the end of the compressed stream")
                return
            pending = self._z.unconsumed_tail

    def finish(self) -> bytes:
        """The decoded body; the compressed stream must be complete."""
        if self._z is None:
            raise self._bad("the body is empty")
        if not self._z.eof:
            try:
                tail = self._z.flush()
            except zlib.error as exc:
                raise self._bad(str(exc)) from None
            self._size += len(tail)
            self._out.append(tail)
            if not self._z.eof:
                raise self._bad("the compressed stream is cut short")
        return b"".join(self._out)


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
        """The request body, decoded, at most ``limit`` bytes once decoded; :class:`BodyError` otherwise.

        Framing: ``Content-Length`` or ``Transfer-Encoding: chunked`` (Node's and Java's clients
        stream bodies that way). Coding: ``Content-Encoding`` ``gzip``, ``deflate`` or ``identity``,
        decoded incrementally so a small compressed body that inflates past ``limit`` is refused
        after reading at most ``limit`` decoded bytes (a zip bomb costs nothing). The whole body
        must arrive within the connection's idle timeout. After an error the connection closes.
        """
        try:
            decoder = _Decoder.for_coding(self.headers.get("Content-Encoding"), limit)
            # The wire may carry a little more than the decoded limit (gzip's header, stored blocks).
            wire_limit = limit if decoder is None else limit + limit // 8 + 1024
            te = self.headers.get("Transfer-Encoding")
            pieces = self._chunked(te, wire_limit) if te is not None else self._sized(wire_limit, limit)
            if decoder is None:
                return b"".join(pieces)
            for piece in pieces:
                decoder.feed(piece)
            return decoder.finish()
        except BodyError:
            self.close_connection = True
            raise

    def _sized(self, wire_limit: int, limit: int) -> list[bytes]:
        raw = self.headers.get("Content-Length")
        try:
            length = int(raw) if raw is not None and raw.strip().isdigit() else -1
        except ValueError:
            length = -1
        if length < 0:
            raise BodyError(
                411,
                "a Content-Length header (or Transfer-Encoding: chunked) is required",
                {"content-length": "missing or not a number"},
            )
        if length > wire_limit:
            raise BodyError(
                413,
                f"the body is {length} bytes; the limit is {limit} bytes per event",
                {"body": f"at most {limit} bytes"},
                "too_large",
            )
        return [self.rfile.read(length)] if length else []

    def _chunked(self, te: str, wire_limit: int) -> list[bytes]:
        codings = [c.strip().lower() for c in te.split(",") if c.strip()]
        if codings != ["chunked"]:
            raise BodyError(
                501,
                f"unsupported Transfer-Encoding {te!r}",
                {"transfer-encoding": "only chunked is accepted"},
                "unsupported",
            )
        if self.headers.get("Content-Length") is not None:
            # Both framings: Transfer-Encoding wins (RFC 9112 6.3), and the connection closes after.
            self.close_connection = True
        deadline = time.monotonic() + self.server.idle_timeout
        pieces: list[bytes] = []
        total = 0
        while True:
            if time.monotonic() > deadline:
                raise BodyError(408, "the chunked body did not arrive in time", {"body": "send it at once"})
            line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
            if not line.endswith(b"\n") or len(line) > _MAX_CHUNK_LINE:
                raise BodyError(400, "malformed chunked body: bad chunk size line", {"body": "chunked framing"})
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16) if size_text and all(c in _HEX for c in size_text) else -1
            except ValueError:
                size = -1
            if size < 0:
                raise BodyError(400, "malformed chunked body: chunk size is not hex", {"body": "chunked framing"})
            if size == 0:
                break
            total += size
            if total > wire_limit:
                raise BodyError(
                    413,
                    f"the chunked body is over {wire_limit} bytes; the limit is per event",
                    {"body": f"at most {wire_limit} bytes"},
                    "too_large",
                )
            data = self.rfile.read(size)
            if len(data) != size or self.rfile.read(2) != b"\r\n":
                raise BodyError(400, "malformed chunked body: a chunk is cut short", {"body": "chunked framing"})
            pieces.append(data)
        for _ in range(_MAX_HEADERS + 1):  # trailer fields, ignored
            trailer = self.rfile.readline(_MAX_HEADER_LINE + 1)
            if trailer in (b"\r\n", b"\n"):
                return pieces
            if not trailer or len(trailer) > _MAX_HEADER_LINE:
                break
        raise BodyError(400, "malformed chunked body: no end after the last chunk", {"body": "chunked framing"})

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
