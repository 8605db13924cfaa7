"""The one proxy decision: which proxy (if any) a request to a URL goes through.

Read from the environment like curl and urllib read it: ``https_proxy``/``HTTPS_PROXY`` for
https URLs, ``http_proxy``/``HTTP_PROXY`` for http URLs, ``all_proxy``/``ALL_PROXY`` for both; the
lower-case spelling wins over the upper-case one (an empty lower-case value switches the variable
off). ``NO_PROXY``/``no_proxy`` lists the hosts reached directly, comma or space separated:

=====================  =====================================================================
``*``                  every host
``example.com``        that host and every name under it (``api.example.com``)
``.example.com``       the same (the leading dot is optional)
``10.0.0.0/8``         IP literals in that network (IPv4 or IPv6 CIDR, e.g. ``::1/128``)
``127.0.0.1``          that address; ``::1`` or ``[::1]`` for IPv6
``host:8443``          that host, on that port only (``[::1]:8443`` for IPv6)
=====================  =====================================================================

Only ``http://`` proxies are supported (the tunnel to an https API is TLS end to end through
them); any other scheme (``socks5://``, ``https://``) is a :class:`ConfigError` naming the variable.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from rapido_cli.errors import ConfigError

SUPPORTED_PROXY_SCHEMES = ("http",)


@dataclass(frozen=True)
class Proxy:
    """A proxy chosen from the environment: its URL, and the variable it came from."""

    url: str
    variable: str

    @property
    def display(self) -> str:
        """The proxy URL with any password masked."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
        netloc = f"{parts.username}:****@{host}" + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=netloc).geturl()

    @property
    def host(self) -> str:
        """The proxy's host name (IPv6 without brackets)."""
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        """The proxy's port (80 unless the URL names one)."""
        return urlsplit(self.url).port or 80

    def authorization(self) -> str | None:
        """A ``Proxy-Authorization`` value from the URL's user info, if any."""
        parts = urlsplit(self.url)
        if parts.username is None:
            return None
        raw = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@dataclass(frozen=True)
class ProxyChoice:
    """The decision for one URL: the proxy (or None) and, when one was set but bypassed, the NO_PROXY entry why."""

    proxy: Proxy | None
    bypass: str | None = None


def env_proxies(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """``*_proxy`` variables, lower case winning: ``{"https": (value, "HTTPS_PROXY"), "no": ...}``."""
    found: dict[str, tuple[str, str]] = {}
    for name, value in environ.items():
        if name.lower().endswith("_proxy") and value and name.upper() == name:
            found[name[:-6].lower()] = (value, name)
    for name, value in environ.items():
        if name.lower().endswith("_proxy") and name.lower() == name and name.upper() != name:
            if value:
                found[name[:-6]] = (value, name)
            else:
                found.pop(name[:-6], None)
    if "REQUEST_METHOD" in environ:  # CGI: HTTP_PROXY may come from a request header (httpoxy)
        found.pop("http", None)
    return found


def _bare(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _split_entry(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port``, ``v6`` → (host, port or None)."""
    if "://" in entry:  # tolerated: a URL where a host was meant
        entry = entry.split("://", 1)[1]
    entry = entry.split("/", 1)[0] if not _looks_cidr(entry) else entry
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


def _looks_cidr(entry: str) -> bool:
    head, sep, bits = entry.rpartition("/")
    return bool(sep) and bits.isdigit() and bool(head)


def no_proxy_matches(entry: str, host: str, port: int) -> bool:
    """True when one NO_PROXY ``entry`` covers ``host`` (a name or IP literal) on ``port``."""
    entry = entry.strip().lower()
    if not entry:
        return False
    if entry == "*":
        return True
    name = _bare(host)
    if _looks_cidr(entry):
        try:
            net = ipaddress.ip_network(entry.strip("[]"), strict=False)
            return ipaddress.ip_address(name.split("%", 1)[0]) in net
        except ValueError:
            return False
    want, want_port = _split_entry(entry)
    want = _bare(want).lstrip(".")
    if not want or (want_port is not None and want_port != port):
        return False
    try:
        return ipaddress.ip_address(want) == ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        pass
    return name == want or name.endswith("." + want)


def _entries(value: str) -> list[str]:
    return [e for e in value.replace(",", " ").split() if e]


def proxy_for(url: str, environ: Mapping[str, str]) -> ProxyChoice:
    """The proxy a request to ``url`` goes through, by the rules of this module's docstring.

    Raises ConfigError for a proxy URL this tool cannot use (unsupported scheme, bad port), naming
    the variable it came from.
    """
    parts = urlsplit(url)
    scheme, host = parts.scheme, parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    proxies = env_proxies(environ)
    chosen = proxies.get(scheme) or proxies.get("all")
    if chosen is None:
        return ProxyChoice(None)
    no_proxy = proxies.get("no", ("", ""))[0]
    for entry in _entries(no_proxy):
        if no_proxy_matches(entry, host, port):
            return ProxyChoice(None, entry)
    value, variable = chosen
    value = value.strip()
    if "://" not in value:
        value = "http://" + value
    pscheme = value.split("://", 1)[0].lower()
    if pscheme not in SUPPORTED_PROXY_SCHEMES:
        raise ConfigError(
            f"{variable}: {pscheme}:// proxies are not supported (only http:// proxies)",
            hint=f"set {variable} to an http:// proxy URL, or exclude this host with NO_PROXY={host}",
        )
    try:
        pparts = urlsplit(value)
        _ = pparts.port
    except ValueError:
        raise ConfigError(
            f"{variable}: the proxy URL has an invalid port", hint="e.g. http://proxy.corp:3128"
        ) from None
    if not pparts.hostname:
        raise ConfigError(f"{variable}: the proxy URL names no host", hint="e.g. http://proxy.corp:3128")
    return ProxyChoice(Proxy(value, variable))


__all__ = ["SUPPORTED_PROXY_SCHEMES", "Proxy", "ProxyChoice", "env_proxies", "no_proxy_matches", "proxy_for"]
