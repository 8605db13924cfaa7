"""Loopback checks, written once: where plain http is allowed, which origins the sandbox trusts."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def _bare(host: str) -> str:
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and "]" in name:
        name = name[1 : name.index("]")]
    return name


def is_loopback_literal(host: str | None) -> bool:
    """True for an address in 127.0.0.0/8 or ``::1`` (brackets allowed), and for ``localhost``.

    Names other than ``localhost`` are not trusted by their spelling: ``api.localhost`` can resolve
    anywhere, so use :func:`resolves_to_loopback` for those.
    """
    if not host:
        return False
    name = _bare(host)
    if name in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def resolves_to_loopback(host: str | None, port: int | None = None) -> bool:
    """True when ``host`` is a loopback literal, or a name whose every address is loopback."""
    if not host:
        return False
    name = _bare(host)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return is_loopback_literal(name)
    if name in ("localhost", "localhost.localdomain"):
        return True
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    addrs = {info[4][0] for info in infos}
    return bool(addrs) and all(is_loopback_literal(str(a).split("%", 1)[0]) for a in addrs)


def host_of(authority: str | None) -> str | None:
    """The host of ``host[:port]`` or ``[v6]:port`` (a Host header), lower-cased; None if malformed."""
    if not authority:
        return None
    name = authority.strip().lower()
    if name.startswith("["):
        return name[1 : name.index("]")] if "]" in name else None
    if name.count(":") == 1:
        name = name.split(":", 1)[0]
    return name or None


def is_loopback_origin(origin: str) -> bool:
    """True for ``http(s)://localhost[:port]``, ``*.localhost``, ``127.0.0.0/8`` and ``[::1]`` origins.

    (Browsers resolve ``*.localhost`` to loopback themselves, so for an Origin header the name is enough.)
    """
    try:
        parts = urlsplit(origin)
        host = parts.hostname
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    return host == "localhost" or host.endswith(".localhost") or is_loopback_literal(host)


def is_loopback_url(url: str, *, resolve: bool = True) -> bool:
    """True for an ``http(s)://`` URL whose host is loopback (a literal, ``localhost``, or with
    ``resolve`` a name whose every address is loopback). For tools that must only talk to a
    local sandbox (``rapido tail``, ``trigger --sandbox-url``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    return is_loopback_literal(host) or (resolve and resolves_to_loopback(host, port))
