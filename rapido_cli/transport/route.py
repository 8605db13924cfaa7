"""How a request travels: the target, the proxy (the one decision of :mod:`.proxy`), TLS trust, and
whether plain http is allowed.

The client key is never sent in clear: plain ``http://`` is allowed only when the whole route is
loopback, the target *and* any proxy the environment picks (a literal loopback address, or a name
that resolves only to loopback addresses). Otherwise it is a :class:`ConfigError`, unless the
profile says ``allow_http: true`` (then :attr:`Route.warnings` says so, once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rapido_cli.errors import ConfigError
from rapido_cli.transport.proxy import Proxy, proxy_for
from rapido_cli.transport.tls import TrustSource, tls_trust

#: Seconds a name lookup may take when deciding whether a host is loopback.
LOOPBACK_LOOKUP_S = 5.0


@dataclass(frozen=True)
class Route:
    """The path of a request to ``url``: direct or through ``proxy``; ``trust`` for https."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    proxy: Proxy | None = None
    bypass: str | None = None  # the NO_PROXY entry that made a set proxy not apply
    trust: TrustSource | None = None
    warnings: list[str] = field(default_factory=list, compare=False)

    @property
    def https(self) -> bool:
        """True for an https target."""
        return self.scheme == "https"

    @property
    def connect_host(self) -> str:
        """The host the TCP connection goes to (the proxy's, when there is one)."""
        return self.proxy.host if self.proxy else self.host

    @property
    def connect_port(self) -> int:
        """The port the TCP connection goes to."""
        return self.proxy.port if self.proxy else self.port

    @property
    def request_target(self) -> str:
        """What follows POST on the request line: absolute form through an http proxy, else the path."""
        if self.proxy is not None and not self.https:
            return self.url
        return self.path

    def describe(self) -> str:
        """``direct`` or ``via http://proxy:3128 (from HTTPS_PROXY)``, plus the trust source for https."""
        how = f"via proxy {self.proxy.display} (from {self.proxy.variable})" if self.proxy else "direct"
        if self.bypass:
            how += f" (NO_PROXY entry '{self.bypass}')"
        if self.trust is not None:
            how += f"; TLS trust: {self.trust.describe()}"
        return how


def is_loopback_host(host: str, port: int | None = None) -> bool:
    """True for a loopback literal or a name whose every address is loopback (lookup bounded in time)."""
    from rapido_cli.deadline import call_with_timeout
    from rapido_cli.net import is_loopback_literal, resolves_to_loopback

    if is_loopback_literal(host):
        return True
    try:
        return call_with_timeout(lambda: resolves_to_loopback(host, port), LOOPBACK_LOOKUP_S, name="rapido-dns")
    except TimeoutError:
        return False


def parse_base_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path)`` of an http(s) URL; ConfigError naming ``base_url`` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"base_url {url!r} has an invalid port or address", hint="e.g. https://host:8443") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base_url {url!r} is not an http(s) URL", hint="e.g. https://partner-staging.example.com")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            "base_url must not carry a user name or password", hint="the client key goes in the profile's `key`"
        )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def plan_route(
    url: str,
    environ: Mapping[str, str],
    *,
    allow_http: bool = False,
    ca_bundle: str | None = None,
) -> Route:
    """The route to ``url`` (the event URL or a base URL), refusing plain http off loopback.

    Raises ConfigError for a malformed URL, an unusable proxy variable, or a key that would
    travel in clear without ``allow_http``.
    """
    scheme, host, port, path = parse_base_url(url)
    choice = proxy_for(url, environ)
    warnings: list[str] = []
    if scheme == "http":
        off = []
        if not is_loopback_host(host, port):
            off.append(f"the host {host}")
        if choice.proxy is not None and not is_loopback_host(choice.proxy.host, choice.proxy.port):
            off.append(f"the proxy {choice.proxy.host} (from {choice.proxy.variable})")
        if off:
            where = " and ".join(off)
            if not allow_http:
                via = choice.proxy is not None and len(off) == 1 and off[0].startswith("the proxy")
                hint = (
                    f"reach {host} directly with NO_PROXY={host} (or NO_PROXY=127.0.0.0/8), use https://, "
                    "or set `allow_http: true` in the profile if you really mean it"
                    if via
                    else "use https://, or set `allow_http: true` in the profile if you really mean it"
                )
                raise ConfigError(
                    f"base_url {url_base(url)} is plain http:// and {where} is not loopback: "
                    "the key would travel in clear",
                    hint=hint,
                )
            warnings.append(f"sending the client key over plain http:// through {where} (allow_http is set)")
    trust = tls_trust(ca_bundle, environ) if scheme == "https" else None
    return Route(url, scheme, host, port, path, choice.proxy, choice.bypass, trust, warnings)


def url_base(url: str) -> str:
    """``scheme://host:port`` of ``url`` (for messages)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_base_url(url: str, allow_http: bool, environ: Mapping[str, str] | None = None) -> list[str]:
    """Refuse what cannot be a safe API address (see :func:`plan_route`); return warnings for what is allowed but risky.

    With ``environ`` the whole route is judged (the proxy it picks too); without, only the URL.
    """
    return plan_route(url.rstrip("/") + "/api/ota/event", environ or {}, allow_http=allow_http).warnings


__all__ = ["Route", "check_base_url", "is_loopback_host", "parse_base_url", "plan_route", "url_base"]
