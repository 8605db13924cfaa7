"""The replay's HTTP senders: one keep-alive connection per worker thread.

:class:`ConnectionSender` speaks HTTP/1.1 with the standard library's ``http.client``: on loopback
it does several times the requests per second of ``httpx`` under the GIL (measured in
``bench/bench_replay_loopback.py``), which is what lets a replay that validates and journals every
event outrun a bare ``httpx`` thread pool. TLS is verified with the same context as
:class:`rapido_cli.client.EventClient`. When a proxy is configured in the environment, replay uses
:class:`ClientSender` (the ``httpx``-based :class:`EventClient`, which honours proxies) instead.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from rapido_cli.client import (
    TLS_UNTRUSTED,
    Attempt,
    EventClient,
    RetryPolicy,
    build_ssl_context,
    headers_for,
    parse_retry_after,
)
from rapido_cli.errors import ConfigError
from rapido_cli.profiles import Target


class Sender(Protocol):
    """One POST of a body; network problems become ``Attempt.error``, never exceptions."""

    def attempt(self, body: bytes, number: int) -> Attempt: ...

    def close(self) -> None: ...


def proxy_for(url: str, environ: Mapping[str, str]) -> str | None:
    """The proxy the environment asks for ``url`` (HTTP(S)_PROXY/ALL_PROXY minus NO_PROXY), or None."""
    env = {k.lower(): v for k, v in environ.items() if k.lower().endswith("_proxy") and v}
    if not env:
        return None
    parts = urlsplit(url)
    proxy = env.get(f"{parts.scheme}_proxy") or env.get("all_proxy")
    if not proxy:
        return None
    no_proxy = env.get("no_proxy", "")
    host = parts.hostname or ""
    for entry in (e.strip().lower() for e in no_proxy.split(",") if e.strip()):
        if entry == "*" or host == entry.lstrip(".") or host.endswith("." + entry.lstrip(".")):
            return None
    return proxy


class ConnectionSender:
    """A single persistent ``http.client`` connection (use one per thread)."""

    def __init__(self, target: Target, *, ssl_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(target.event_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._https else 80)
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._timeout = target.timeout
        self._ctx = ssl_context
        headers = headers_for(target, reveal=True)
        headers["Connection"] = "keep-alive"
        self._key = target.key
        self._key_bytes = target.key.reveal().encode()
        self._headers = headers
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=self._ctx)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def attempt(self, body: bytes, number: int) -> Attempt:
        """One POST; a stale keep-alive connection is reopened once, transparently."""
        start = time.perf_counter()
        for fresh_try in (False, True):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = self._connect()
            conn = self._conn
            try:
                conn.request("POST", self._path, body=body, headers=self._headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused and not fresh_try:
                    # The server closed an idle keep-alive connection between two requests.
                    continue
                return Attempt(number, None, _ms(start), error=_error_text(exc))
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                return Attempt(number, None, _ms(start), error=_error_text(exc))
            if resp.will_close:
                self.close()
            parsed: Any
            try:
                parsed = json.loads(data) if data else None
            except ValueError:
                text = data.decode("utf-8", "replace")
                parsed = {"raw": text[:500]} if text else None
            if self._key_bytes and self._key_bytes in data:
                # A server that echoes the authorization header must not put the key in the journal.
                parsed = self._key.scrub(parsed)
            rid = parsed.get("requestId") if isinstance(parsed, dict) else None
            return Attempt(
                number,
                resp.status,
                _ms(start),
                body=parsed,
                retry_after=parse_retry_after(resp.getheader("retry-after")),
                request_id=rid if isinstance(rid, str) else None,
            )
        raise AssertionError("unreachable")


class ClientSender:
    """Adapter over :class:`EventClient` (httpx: proxies from the environment)."""

    def __init__(self, client: EventClient) -> None:
        self._client = client

    def attempt(self, body: bytes, number: int) -> Attempt:
        """One POST through the shared httpx client."""
        return self._client.attempt_once(body, number)

    def close(self) -> None:
        """Nothing per thread: the shared client is closed by its owner."""


class SenderFactory:
    """Makes one sender per worker; picks ``http.client`` unless a proxy is configured."""

    def __init__(self, target: Target, *, concurrency: int, environ: Mapping[str, str]) -> None:
        self.target = target
        self._client: EventClient | None = None
        self._ctx: ssl.SSLContext | None = None
        self.proxy = proxy_for(target.event_url, environ)
        if self.proxy:
            self._client = EventClient(
                target, retry=RetryPolicy(max_attempts=1), pool_size=concurrency, environ=dict(environ)
            )
        elif target.event_url.startswith("https"):
            try:
                self._ctx = build_ssl_context(target.ca_bundle, environ)
            except (OSError, ssl.SSLError) as exc:
                where = f"ca_bundle {target.ca_bundle}" if target.ca_bundle else "SSL_CERT_FILE/SSL_CERT_DIR"
                raise ConfigError(
                    f"cannot load the CA certificates ({where}): {exc}",
                    hint="point ca_bundle at a PEM file of trusted certificates, or remove it",
                ) from None

    @property
    def kind(self) -> str:
        """``http.client`` or ``httpx (proxy)``, for -v."""
        return "httpx (proxy)" if self._client is not None else "http.client"

    def __call__(self) -> Sender:
        if self._client is not None:
            return ClientSender(self._client)
        return ConnectionSender(self.target, ssl_context=self._ctx)

    def close(self) -> None:
        """Close the shared client, if any."""
        if self._client is not None:
            self._client.close()


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout: no answer in time"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{TLS_UNTRUSTED}: {exc.verify_message}"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed by server"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by server"
    if isinstance(exc, BrokenPipeError):
        return "connection closed while sending"
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


__all__ = ["TLS_UNTRUSTED", "ClientSender", "ConnectionSender", "Sender", "SenderFactory", "proxy_for"]
