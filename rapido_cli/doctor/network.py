"""The network rows of ``rapido doctor``: route (proxy), DNS, TCP, TLS and the clock.

Each row asks the transport the senders use (:mod:`rapido_cli.transport`): the same route
decision, resolver, connect, CONNECT tunnel and TLS context, and the same classification of what
went wrong. So a row fails exactly when ``rapido send`` would, with the same exit code.
"""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Mapping
from typing import Any

from rapido_cli.doctor.report import CONFIG, NETWORK, Check
from rapido_cli.errors import ConfigError
from rapido_cli.transport.answer import describe_exception
from rapido_cli.transport.client import Lookup, connect_tcp, resolve, tls_handshake, tunnel
from rapido_cli.transport.route import Route, plan_route
from rapido_cli.transport.tls import build_ssl_context, tls_trust

CLOCK_WARN_S = 30.0
CLOCK_FAIL_S = 300.0
EXPIRY_WARN_DAYS = 14


def check_route(
    event_url: str, environ: Mapping[str, str], *, allow_http: bool, ca_bundle: str | None
) -> tuple[Check, Route | None]:
    """The route the senders take: through a proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) or direct (NO_PROXY)."""
    try:
        route = plan_route(event_url, environ, allow_http=allow_http, ca_bundle=ca_bundle)
    except ConfigError as exc:
        return Check("proxy", "proxy", "fail", exc.message, hint=exc.hint), None
    data: dict[str, Any] = {"proxy": route.proxy.display if route.proxy else None, "route": route.describe()}
    if route.proxy is not None:
        data["variable"] = route.proxy.variable
        return (
            Check(
                "proxy",
                "proxy",
                "info",
                f"via {route.proxy.display} (from {route.proxy.variable})",
                hint=f"if the proxy is the problem, exclude the host with NO_PROXY={route.host}",
                data=data,
            ),
            route,
        )
    if route.bypass:
        data["no_proxy"] = route.bypass
        summary = f"none: NO_PROXY entry '{route.bypass}' covers this host"
        return Check("proxy", "proxy", "info", summary, data=data), route
    return Check("proxy", "proxy", "info", "none (direct connection)", data=data), route


def check_dns(
    host: str, port: int, *, via_proxy: bool, timeout: float, resolver: Lookup | None = None
) -> tuple[Check, list[tuple[Any, ...]]]:
    """Resolve the host we connect to (the proxy's, when there is one), as the senders do."""
    what = f"proxy {host}" if via_proxy else host
    where = "the proxy variable" if via_proxy else "base_url"
    start = time.perf_counter()
    try:
        infos = resolve(host, port, time.monotonic() + timeout, resolver)
    except TimeoutError:
        return Check(
            "dns",
            "DNS",
            "fail",
            f"{what}: no answer within {timeout:g} s",
            kind=NETWORK,
            hint="check the network and /etc/resolv.conf (or the VPN)",
        ), []
    except OSError as exc:
        error, failure = describe_exception(exc, host, timeout)
        if failure == "nxdomain":
            return Check(
                "dns",
                "DNS",
                "fail",
                f"{what}: {error}",
                kind=CONFIG,
                hint=f"check the host name in {where}; on a corporate network the API may only be reachable "
                "through HTTPS_PROXY",
                data={"host": host},
            ), []
        return Check(
            "dns", "DNS", "fail", f"{what}: {error}", kind=NETWORK, hint="try again later; check the network or VPN",
            data={"host": host},
        ), []
    elapsed = (time.perf_counter() - start) * 1000
    addrs = list(dict.fromkeys(str(info[4][0]) for info in infos))
    shown = ", ".join(addrs[:3]) + (f" (+{len(addrs) - 3})" if len(addrs) > 3 else "")
    return (
        Check(
            "dns",
            "DNS",
            "pass",
            f"{what} → {shown} in {elapsed:.0f} ms",
            kind=NETWORK,
            data={"host": host, "addresses": addrs},
            elapsed_ms=elapsed,
        ),
        infos,
    )


def check_tcp(infos: list[tuple[Any, ...]], host: str, port: int, *, via_proxy: bool, timeout: float) -> Check:
    """Open a TCP connection (to the proxy when there is one) and time it."""
    what = f"proxy {host}:{port}" if via_proxy else f"{host}:{port}"
    start = time.perf_counter()
    try:
        sock = connect_tcp(infos, time.monotonic() + timeout)
    except TimeoutError:
        return Check(
            "tcp",
            "TCP connect",
            "fail",
            f"{what}: no answer within {timeout:g} s",
            kind=NETWORK,
            hint="a firewall may drop the traffic; on a corporate network set HTTPS_PROXY",
        )
    except ConnectionRefusedError:
        return Check(
            "tcp",
            "TCP connect",
            "fail",
            f"{what}: connection refused (nothing listening)",
            kind=NETWORK,
            hint="check the port in "
            + ("the proxy URL" if via_proxy else "base_url")
            + " and that the server is running",
        )
    except OSError as exc:
        return Check(
            "tcp",
            "TCP connect",
            "fail",
            f"{what}: {exc.strerror or exc}",
            kind=NETWORK,
            hint="check the network route (VPN, firewall, proxy)",
        )
    elapsed = (time.perf_counter() - start) * 1000
    addr = str(sock.getpeername()[0])
    sock.close()
    return Check(
        "tcp",
        "TCP connect",
        "pass",
        f"{what} ({addr}) in {elapsed:.0f} ms",
        kind=NETWORK,
        data={"address": addr, "port": port},
        elapsed_ms=elapsed,
    )


def _name(rdns: Any) -> str:
    """``CN=..., O=...`` from getpeercert()'s nested tuples."""
    short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C"}
    parts = []
    for rdn in rdns or ():
        for key, value in rdn:
            if key in short:
                parts.append(f"{short[key]}={value}")
    return ", ".join(parts) or "?"


def check_tls(
    route: Route,
    infos: list[tuple[Any, ...]],
    *,
    ca_bundle: str | None,
    environ: Mapping[str, str],
    timeout: float,
    now: float | None = None,
) -> Check:
    """Handshake as the senders do (same context, same tunnel): version, certificate, days to expiry, trust store."""
    from rapido_cli.text import inert

    host = route.host
    trust = tls_trust(ca_bundle, environ)
    data: dict[str, Any] = {"trust": trust.kind, "trust_file": trust.cafile, "trust_dir": trust.capath}
    try:
        ctx = build_ssl_context(ca_bundle, environ)
    except ConfigError as exc:
        return Check("tls", "TLS", "fail", exc.message, hint=exc.hint, data=data)
    start = time.perf_counter()
    deadline = time.monotonic() + timeout
    try:
        sock = connect_tcp(infos, deadline)
    except OSError as exc:
        return Check("tls", "TLS", "fail", f"cannot connect: {exc.strerror or exc}", kind=NETWORK, data=data)
    try:
        if route.proxy is not None:
            tunnel(sock, route.proxy, host, route.port, deadline)
        with tls_handshake(sock, ctx, host, deadline) as tls:
            version = tls.version()
            cert = tls.getpeercert() or {}
            cipher = (tls.cipher() or ("?",))[0]
    except ssl.SSLCertVerificationError as exc:
        reason = str(exc.verify_message or exc.reason or exc)
        summary = f"certificate not trusted by {trust.describe()}: {reason}"
        if "mismatch" in reason.lower():
            summary = f"the certificate is not valid for {host}: {reason}"
            hint = f"the certificate is for another name: check the host in base_url ({host})"
        elif "expired" in reason:
            hint = "the server's certificate has expired: tell the server's operators (or check your clock)"
        else:
            hint = (
                "trust the CA that issued the server's certificate: `rapido profile set NAME ca_bundle "
                "/path/to/ca.pem` (or SSL_CERT_FILE); behind a TLS-inspecting corporate proxy, that is the proxy's CA"
            )
        return Check("tls", "TLS", "fail", summary, hint=hint, data={**data, "error": reason})
    except (OSError, ValueError) as exc:
        error, failure = describe_exception(exc, route.connect_host, timeout)
        error = inert(error, limit=300)
        kind = NETWORK if failure == "temporary" else CONFIG
        hint = None
        if failure == "tls":
            hint = (
                "is the server speaking https on this port, with TLS 1.2 or newer? "
                "(a proxy or firewall may interfere)"
            )
        elif route.proxy is not None:
            hint = "check the proxy settings (or exclude the host with NO_PROXY)"
        return Check("tls", "TLS", "fail", error, kind=kind, hint=hint, data={**data, "error": error})
    finally:
        sock.close()
    elapsed = (time.perf_counter() - start) * 1000
    subject = _name(cert.get("subject"))
    issuer = _name(cert.get("issuer"))
    not_after = cert.get("notAfter")
    days: int | None = None
    if isinstance(not_after, str):
        days = int((ssl.cert_time_to_seconds(not_after) - (time.time() if now is None else now)) // 86400)
    data.update(
        {
            "version": version,
            "cipher": cipher,
            "subject": subject,
            "issuer": issuer,
            "not_after": not_after,
            "days_left": days,
        }
    )
    summary = f"{version}, {subject} (issuer {issuer})"
    if days is not None:
        summary += f", expires in {days} days"
    summary += f"; trusted via {trust.describe()}"
    if days is not None and days < EXPIRY_WARN_DAYS:
        return Check(
            "tls",
            "TLS",
            "warn",
            summary,
            hint="the server's certificate expires soon: tell its operators",
            data=data,
            elapsed_ms=elapsed,
        )
    return Check("tls", "TLS", "pass", summary, data=data, elapsed_ms=elapsed)


def check_clock(date_header: str | None, sent_at: float, received_at: float) -> Check:
    """Compare the local clock with the server's ``Date`` (taken at the middle of the exchange)."""
    from rapido_cli.text import inert

    if not date_header:
        return Check("clock", "clock", "skip", "the server sent no Date header")
    try:
        server = email.utils.parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        unreadable = f"the server's Date header is unreadable: {inert(date_header, limit=60)}"
        return Check("clock", "clock", "skip", unreadable)
    local = (sent_at + received_at) / 2
    skew = server - local
    data = {"server_date": inert(date_header, limit=100), "skew_s": round(skew, 1)}
    # Date has a resolution of one second, so up to ~1 s is noise.
    if abs(skew) < 2:
        return Check("clock", "clock", "pass", "in step with the server (within 2 s)", data=data)
    direction = "behind" if skew > 0 else "ahead of"
    summary = f"the local clock is {abs(skew):.0f} s {direction} the server's"
    hint = "sync the clock (timedatectl set-ntp true; w32tm /resync on Windows): event times and TLS depend on it"
    if abs(skew) >= CLOCK_FAIL_S:
        return Check("clock", "clock", "fail", summary, hint=hint, data=data)
    if abs(skew) >= CLOCK_WARN_S:
        return Check("clock", "clock", "warn", summary, hint=hint, data=data)
    return Check("clock", "clock", "pass", summary, data=data)


__all__ = ["check_clock", "check_dns", "check_route", "check_tcp", "check_tls"]
