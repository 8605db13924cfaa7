"""TLS and proxy helpers for the tests (no test functions here).

- ``tls_server(ca, script)``: the conftest's ScriptedServer behind TLS, with a certificate for
  127.0.0.1 and localhost issued by a ``trustme`` CA.
- ``ConnectProxy``: a small HTTP proxy that only does ``CONNECT`` tunnels and records them.
- ``fixed_date(server, when)``: make a ScriptedServer send a ``Date`` header of our choosing.
"""

from __future__ import annotations

import email.utils
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import trustme
from httpserver import Reply, ScriptedServer


@contextmanager
def tls_server(
    ca: trustme.CA,
    script: list[Reply] | None = None,
    *,
    identities: tuple[str, ...] = ("127.0.0.1", "localhost"),
    **cert_kwargs: Any,
) -> Iterator[ScriptedServer]:
    """A ScriptedServer speaking TLS with a certificate from ``ca``; its ``https_url`` is set."""
    cert = ca.issue_cert(*identities, **cert_kwargs)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    srv = ScriptedServer(script)
    srv.httpd.socket = ctx.wrap_socket(srv.httpd.socket, server_side=True)
    srv.__enter__()
    try:
        port = srv.httpd.server_address[1]
        srv.https_url = f"https://127.0.0.1:{port}"  # type: ignore[attr-defined]
        yield srv
    finally:
        srv.__exit__(None, None, None)


def fixed_date(srv: ScriptedServer, when: float) -> None:
    """Make ``srv`` send ``Date: <when>`` (a Unix time) instead of its own clock."""
    stamp = email.utils.formatdate(when, usegmt=True)
    srv.httpd.RequestHandlerClass.date_time_string = lambda self, timestamp=None: stamp  # type: ignore[method-assign]


class ConnectProxy:
    """An HTTP proxy for ``CONNECT host:port`` only; ``tunnels`` lists what it was asked for."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.tunnels: list[str] = []
        self.auth: list[str | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = client.recv(4096)
                if not chunk:
                    return
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            self.tunnels.append(target)
            self.auth.append(headers.get("proxy-authorization"))
            host, _, port = target.rpartition(":")
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
                pair = [client, upstream]
                while True:
                    ready, _, _ = select.select(pair, [], [], 10)
                    if not ready:
                        return
                    for s in ready:
                        try:
                            data = s.recv(65536)
                            if not data:
                                return
                            (upstream if s is client else client).sendall(data)
                        except OSError:
                            return
