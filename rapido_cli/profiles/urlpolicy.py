"""Which API addresses are safe to send a key to, and which certificates verify the server."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rapido_cli.errors import ConfigError


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, allow_http: bool) -> list[str]:
    """Refuse what cannot be a safe API address; return warnings for what is allowed but risky."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base_url {url!r} is not an http(s) URL", hint="e.g. https://partner-staging.example.com")
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        raise ConfigError(f"base_url {url!r} has an invalid port", hint="e.g. https://host:8443") from None
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        if not allow_http:
            raise ConfigError(
                f"base_url {url} is plain http:// to a non-loopback host: the key would travel in clear",
                hint="use https://, or set `allow_http: true` in the profile if you really mean it",
            )
        return [f"sending the client key over plain http:// to {parts.hostname} (allow_http is set)"]
    return []


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``*.localhost`` and loopback addresses (where plain http is allowed)."""
    return _is_loopback(host)


@dataclass(frozen=True)
class TrustSource:
    """Which certificates verify the server: the profile's ``ca_bundle``, SSL_CERT_FILE/DIR, or the OS store."""

    kind: str  # "ca_bundle" | "SSL_CERT_FILE" | "SSL_CERT_DIR" | "system"
    cafile: str | None = None
    capath: str | None = None

    def describe(self) -> str:
        """A short phrase for messages: ``the profile's ca_bundle /x/ca.pem``."""
        if self.kind == "ca_bundle":
            return f"the profile's ca_bundle {self.cafile}"
        if self.kind == "system":
            return "the operating system's trust store"
        parts = []
        if self.cafile:
            parts.append(f"SSL_CERT_FILE={self.cafile}")
        if self.capath:
            parts.append(f"SSL_CERT_DIR={self.capath}")
        return " and ".join(parts)


def tls_trust(ca_bundle: str | None, environ: Mapping[str, str]) -> TrustSource:
    """The trust anchors a connection uses: ``ca_bundle`` replaces the others; then SSL_CERT_FILE/DIR; then the OS."""
    if ca_bundle:
        return TrustSource("ca_bundle", cafile=str(Path(ca_bundle).expanduser()))
    cafile, capath = environ.get("SSL_CERT_FILE") or None, environ.get("SSL_CERT_DIR") or None
    if cafile or capath:
        return TrustSource("SSL_CERT_FILE" if cafile else "SSL_CERT_DIR", cafile=cafile, capath=capath)
    return TrustSource("system")
