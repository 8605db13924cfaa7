"""A raw-socket HTTP server on loopback for misbehaving peers (no test functions here).

``RawServer(script)`` answers each request with the next *behaviour* of ``script`` (the last
repeats). A behaviour is raw bytes to write (then the connection is closed), or a callable
``behaviour(conn, request)`` that does whatever it likes with the socket (trickle, cut, sleep).
``requests`` records what arrived: method, target, headers (lower-case names), body.
"""

from __future__ import annotations

import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

Behaviour: TypeAlias = "bytes | Callable[[socket.socket, RawRequest], None]"


@dataclass
class RawRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def answer(
    status: int = 200,
    body: bytes | str = b"",
    headers: dict[str, str] | None = None,
    *,
    reason: str = "X",
    length: bool = True,
) -> bytes:
    """An HTTP/1.1 answer with ``Connection: close`` (and Content-Length unless ``length=False``)."""
    data = body.encode() if isinstance(body, str) else body
    lines = [f"HTTP/1.1 {status} {reason}"]
    hdrs = {"Connection": "close", **(headers or {})}
    if length and not any(k.lower() == "content-length" for k in hdrs):
        hdrs["Content-Length"] = str(len(data))
    lines += [f"{k}: {v}" for k, v in hdrs.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


def json_answer(status: int, text: str, headers: dict[str, str] | None = None) -> bytes:
    """``answer`` with a JSON content type and ``text`` as the body."""
    return answer(status, text, {"Content-Type": "application/json", **(headers or {})})


ACK = json_answer(200, '{"success":true,"code":7000,"timestamp":"2024-01-15T10:30:00Z","requestId":"req_ok"}')


def trickle(head: bytes, body: bytes, every: float) -> Behaviour:
    """Send ``head`` at once, then ``body`` one byte every ``every`` seconds."""

    def run(conn: socket.socket, _req: RawRequest) -> None:
        conn.sendall(head)
        for i in range(len(body)):
            time.sleep(every)
            conn.sendall(body[i : i + 1])

    return run


def gzip_bomb(inflated_mib: int = 1024) -> bytes:
    """A gzip stream of about ``inflated_mib`` KB inflating to ``inflated_mib`` MiB of zeros.

    Built from one self-contained deflate segment repeated (a full flush resets the window), so
    it costs one MiB of compression, not a GiB. The trailer's CRC only covers the first MiB: a
    client that inflated it all would notice; one that stops at its cap never gets there.
    """
    zeros = bytes(1 << 20)
    first = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = first.compress(zeros) + first.flush(zlib.Z_FULL_FLUSH)
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = raw.compress(zeros) + raw.flush(zlib.Z_FULL_FLUSH)
    return head + segment * (inflated_mib - 1) + first.flush()


class RawServer:
    """Answers each request with the next behaviour of ``script``; one thread per connection."""

    def __init__(self, script: list[Behaviour] | None = None, *, greet: bytes | None = None) -> None:
        """``greet``: instead of parsing a request, answer the first bytes a client sends with these."""
        self.greet = greet
        self.script: list[Behaviour] = list(script or [ACK])
        self.requests: list[RawRequest] = []
        self.connections = 0
        self._lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self._port = int(self.sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.sock.close()

    def set_script(self, script: list[Behaviour]) -> None:
        with self._lock:
            self.script = list(script)
            self.requests.clear()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket) -> RawRequest | None:
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        length = int(headers.get("content-length") or 0)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        return RawRequest(method, target, headers, rest[:length])

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        try:
            with conn:
                if self.greet is not None:
                    conn.recv(65536)
                    conn.sendall(self.greet)
                    return
                req = self._read_request(conn)
                if req is None:
                    return
                with self._lock:
                    self.requests.append(req)
                    n = len(self.requests) - 1
                    behaviour = self.script[min(n, len(self.script) - 1)]
                if isinstance(behaviour, bytes):
                    conn.sendall(behaviour)
                    conn.shutdown(socket.SHUT_WR)
                    # Let the client read everything before the close (a reset could drop it).
                    conn.settimeout(2)
                    try:
                        while conn.recv(65536):
                            pass
                    except OSError:
                        pass
                else:
                    behaviour(conn, req)
        except OSError:
            pass


def free_port() -> int:
    """A loopback port with nothing listening (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


__all__ = ["ACK", "RawRequest", "RawServer", "answer", "free_port", "gzip_bomb", "json_answer", "trickle"]


