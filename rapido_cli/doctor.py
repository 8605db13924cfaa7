"""The onboarding checks behind ``rapido doctor``: one :class:`Check` per row, nothing printed.

A partner's first hour fails for a handful of reasons: the wrong URL, DNS, a corporate proxy,
TLS trust, a clock far off, or a refused key. :func:`run_checks` walks them in the order a
request meets them and says, for each failure, what to do. It never sends a business event:
the authentication probe is an envelope every server must reject as invalid, so HTTP 400
means the credentials passed and 401/403 that they did not.

Exit codes (see :attr:`Report.exit_code`): 0 when nothing failed (warnings allowed); 3 when a
configuration or credential check failed (the file, the profile, the key, the URL, TLS trust,
the clock, a 401/403); else 75 when only network checks failed (DNS, TCP, a TLS handshake,
the server not answering), since trying again later may pass.
"""

from __future__ import annotations

import base64
import email.utils
import os
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from rapido_cli.deadline import call_with_timeout
from rapido_cli.errors import ConfigError, ExitCode, RapidoError
from rapido_cli.profiles import (
    KEY_ENV,
    ResolvedProfile,
    Target,
    TrustSource,
    check_base_url,
    default_config_path,
    file_mode,
    group_or_world_readable,
    inline_key_profiles,
    keyring_backend_name,
    load_profiles_file,
    resolve_profile,
    tls_trust,
)

Status = Literal["pass", "warn", "fail", "skip", "info"]

TIMEOUT_S = 5.0
CLOCK_WARN_S = 30.0
CLOCK_FAIL_S = 300.0
EXPIRY_WARN_DAYS = 14
PROBE_HEADER = "x-rapido-probe"

#: The authentication probe: every field wrong on purpose, so no server can record it as an event.
PROBE_EVENT: dict[str, Any] = {
    "userId": "",
    "event": {"type": "rapido.doctor.probe", "id": ""},
    "attributes": {"_probe": "rapido doctor: deliberately invalid, must be rejected with HTTP 400"},
    "schemaVersion": 0,
}

CONFIG = ExitCode.CONFIG
NETWORK = ExitCode.TEMPFAIL

#: Every row, in order: (name, title). ``--json`` always lists all of them (skipped ones too).
ROWS: tuple[tuple[str, str], ...] = (
    ("config", "config file"),
    ("permissions", "permissions"),
    ("profile", "profile"),
    ("key", "client key"),
    ("url", "base URL"),
    ("proxy", "proxy"),
    ("dns", "DNS"),
    ("tcp", "TCP connect"),
    ("tls", "TLS"),
    ("clock", "clock"),
    ("auth", "authentication"),
)


@dataclass
class Check:
    """One row of the report: a stable ``name``, a status, a one-line summary and a hint on failure."""

    name: str
    title: str
    status: Status
    summary: str
    hint: str | None = None
    #: What a failure of this row means for the exit code: CONFIG (3) or TEMPFAIL (75).
    kind: ExitCode = CONFIG
    data: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float | None = None

    @property
    def failed(self) -> bool:
        """True for a failed row."""
        return self.status == "fail"

    def to_json(self) -> dict[str, Any]:
        """The row as ``rapido doctor --json`` prints it."""
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
            "hint": self.hint,
            "category": "config" if self.kind == CONFIG else "network",
            "elapsed_ms": None if self.elapsed_ms is None else round(self.elapsed_ms, 1),
            "data": self.data,
        }


@dataclass
class Report:
    """All rows of one ``rapido doctor`` run."""

    profile: str | None
    config_path: Path
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        """The failed rows."""
        return [c for c in self.checks if c.failed]

    @property
    def ok(self) -> bool:
        """True when no row failed."""
        return not self.failures

    @property
    def exit_code(self) -> ExitCode:
        """0 if nothing failed; 3 if a configuration/credential row failed; else 75."""
        kinds = {c.kind for c in self.failures}
        if not kinds:
            return ExitCode.OK
        return CONFIG if CONFIG in kinds else NETWORK

    def get(self, name: str) -> Check | None:
        """The row called ``name``."""
        return next((c for c in self.checks if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The whole report as ``--json`` prints it."""
        return {
            "ok": self.ok,
            "exit_code": int(self.exit_code),
            "profile": self.profile,
            "config": str(self.config_path),
            "checks": [c.to_json() for c in self.checks],
        }


# ---------------------------------------------------------------- proxies


@dataclass(frozen=True)
class Proxy:
    """The proxy a request to the API goes through, as httpx picks it from the environment."""

    url: str
    variable: str

    @property
    def display(self) -> str:
        """The proxy URL with any password masked."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = f"{parts.username}:****@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=netloc).geturl()

    @property
    def host(self) -> str:
        """The proxy's host name."""
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        """The proxy's port (default 80, 443 for an https:// proxy, 1080 for socks)."""
        parts = urlsplit(self.url)
        default = {"https": 443, "socks5": 1080, "socks5h": 1080}.get(parts.scheme, 80)
        return parts.port or default

    def authorization(self) -> str | None:
        """A ``Proxy-Authorization`` value from the URL's user info, if any."""
        parts = urlsplit(self.url)
        if parts.username is None:
            return None
        raw = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def _env_proxies(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """``*_proxy`` variables like urllib reads them: lower case wins; scheme -> (value, variable)."""
    found: dict[str, tuple[str, str]] = {}
    for name, value in environ.items():
        if name.lower().endswith("_proxy") and value and name.upper() == name:
            found[name[:-6].lower()] = (value, name)
    for name, value in environ.items():
        if name.lower().endswith("_proxy") and name.lower() == name:
            if value:
                found[name[:-6]] = (value, name)
            else:
                found.pop(name[:-6], None)
    if "REQUEST_METHOD" in environ:  # CGI: HTTP_PROXY may come from a request header (httpoxy)
        found.pop("http", None)
    return found


def _no_proxy_matches(entry: str, scheme: str, host: str, port: int) -> bool:
    """One NO_PROXY entry against a host, with httpx's rules (``example.com`` covers subdomains)."""
    entry = entry.strip().lower()
    host = host.lower()
    if not entry:
        return False
    if "://" in entry:
        parts = urlsplit(entry)
        if parts.scheme not in ("all", scheme):
            return False
        entry_host, entry_port = parts.hostname or "", parts.port
        if entry_port is not None and entry_port != port:
            return False
        return entry_host in ("", "*", host)
    if entry.startswith("[") or ":" in entry:  # an IPv6 address
        return entry.strip("[]") == host.strip("[]")
    if entry.startswith("."):
        return host.endswith(entry)
    return host == entry or host.endswith("." + entry)


def proxy_for(url: str, environ: Mapping[str, str]) -> tuple[Proxy | None, str | None]:
    """The proxy for ``url`` (or None) and, when one is set but bypassed, the NO_PROXY entry why."""
    parts = urlsplit(url)
    scheme, host = parts.scheme, parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    proxies = _env_proxies(environ)
    chosen = proxies.get(scheme) or proxies.get("all")
    if chosen is None:
        return None, None
    no_proxy = proxies.get("no", ("", ""))[0]
    for entry in no_proxy.split(","):
        if entry.strip() == "*" or _no_proxy_matches(entry, scheme, host, port):
            return None, entry.strip()
    value, variable = chosen
    if "://" not in value:
        value = "http://" + value
    return Proxy(value, variable), None


# ---------------------------------------------------------------- the checks


def check_config_file(path: Path) -> tuple[Check, dict[str, Any] | None]:
    """Does the profiles file exist and parse? Returns the row and the parsed file (None if unusable)."""
    title = "config file"
    if not path.exists():
        return (
            Check(
                "config",
                title,
                "warn",
                f"{path} does not exist (values must come from the environment)",
                hint="create it: `rapido profile add NAME --base-url ... --client-id ... --app-id ... --service ...`",
                data={"path": str(path), "exists": False},
            ),
            {"default": None, "profiles": {}},
        )
    try:
        data = load_profiles_file(path)
    except ConfigError as exc:
        return Check("config", title, "fail", exc.message, hint=exc.hint, data={"path": str(path)}), None
    names = sorted(data["profiles"])
    summary = f"{path}: {len(names)} profile(s)" + (f", default '{data['default']}'" if data["default"] else "")
    return Check("config", title, "pass", summary, data={"path": str(path), "exists": True, "profiles": names}), data


def check_permissions(path: Path, data: dict[str, Any] | None) -> Check:
    """Is the profiles file private? A file holding a key must be (it is refused otherwise)."""
    title = "permissions"
    if not path.exists():
        return Check("permissions", title, "skip", "no file")
    if os.name == "nt":
        return Check("permissions", title, "skip", "not checked on Windows (no Unix permission bits)")
    mode = file_mode(path)
    owner_ok = path.stat().st_uid == os.getuid()
    inline = inline_key_profiles(data or {})
    info = {"mode": mode, "owned_by_you": owner_ok, "inline_keys": inline}
    if group_or_world_readable(path):
        if inline:
            return Check(
                "permissions",
                title,
                "fail",
                f"mode {mode}: readable by group or others, and it holds the key of {', '.join(inline)}",
                hint=f"chmod 600 {path} (rapido refuses to use a key others can read)",
                data=info,
            )
        return Check(
            "permissions",
            title,
            "warn",
            f"mode {mode}: readable by group or others (it names no key itself)",
            hint=f"chmod 600 {path}",
            data=info,
        )
    if not owner_ok:
        return Check("permissions", title, "warn", f"mode {mode}, but owned by another user", data=info)
    summary = f"mode {mode}" + (f"; holds the key of {', '.join(inline)} inline" if inline else "")
    hint = "move inline keys to the keyring: `rapido profile set-key NAME`" if inline else None
    return Check("permissions", title, "pass", summary, hint=hint, data=info)


def _sources_line(res: ResolvedProfile) -> str:
    groups: dict[str, list[str]] = {}
    for name, value in res.values.items():
        if value.value is None:
            continue
        groups.setdefault(value.source, []).append(name)
    order = ["flag", "sandbox", *sorted(s for s in groups if s.startswith("env:")), "file", "default"]
    return "; ".join(f"{src}: {', '.join(groups[src])}" for src in order if src in groups)


def check_profile(res: ResolvedProfile) -> Check:
    """Which profile, where its name came from, and where each value came from."""
    name_from = {"flag": "--profile / RAPIDO_PROFILE", "file": "the file's default", "default": "the default name"}
    data = {
        "name": res.name,
        "name_source": res.name_source,
        "in_file": res.in_file,
        "values": {k: {"value": v.value, "source": v.source} for k, v in res.values.items()},
    }
    missing = [f for f in ("base_url", "client_id", "app_id", "service") if res.get(f) in (None, "")]
    head = f"'{res.name}' (from {name_from.get(res.name_source, res.name_source)})"
    if missing:
        try:
            res.target()
        except ConfigError as exc:
            return Check("profile", "profile", "fail", f"{head}: {exc.message}", hint=exc.hint, data=data)
    summary = (
        f"{head}: client {res.get('client_id')}, app {res.get('app_id')}, {res.get('service')}"
        f" — sources: {_sources_line(res)}"
    )
    return Check("profile", "profile", "pass", summary, data=data)


def check_key(res: ResolvedProfile) -> Check:
    """Where the key comes from and whether it could be read (shown masked)."""
    spec = res.key_spec.value if res.key_spec else None
    data: dict[str, Any] = {"spec": spec, "source": res.key_source}
    backend = ""
    if spec == "keyring":
        # Already initialised by the read above, so this costs nothing and tells which store answered.
        data["keyring_backend"] = keyring_backend_name()
        if not data["keyring_backend"].startswith("fail "):
            backend = f" ({data['keyring_backend']})"
    if res.key is not None:
        data["masked"] = res.key.masked()
        summary = f"{res.key.masked()} from {res.key_source}{backend}"
        hint = None
        status: Status = "pass"
        if res.key_source == "file (inline)":
            hint = f"an inline key is easy to leak; prefer `rapido profile set-key {res.name}`"
        return Check("key", "client key", status, summary, hint=hint, data=data)
    err = res.key_error or ConfigError(f"no client key for profile '{res.name}'")
    data["error"] = err.message
    return Check("key", "client key", "fail", err.message + backend, hint=err.hint, data=data)


def check_url(url: str | None, allow_http: bool, profile: str = "NAME") -> Check:
    """Is ``base_url`` an https URL (or http to loopback, or http with ``allow_http``)?"""
    if not url:
        return Check("url", "base URL", "skip", "no base_url")
    try:
        warnings = check_base_url(url, allow_http)
    except ConfigError as exc:
        hint = exc.hint
        if "plain http" in exc.message:
            hint = f"use https://, or if you really mean it: `rapido profile set {profile} allow_http true`"
        return Check("url", "base URL", "fail", exc.message, hint=hint, data={"url": url})
    parts = urlsplit(url)
    data = {"url": url, "scheme": parts.scheme, "host": parts.hostname, "port": _port(url)}
    if warnings:
        return Check("url", "base URL", "warn", warnings[0], hint="use https:// outside your own machine", data=data)
    path = parts.path.rstrip("/")
    if path.endswith("/api/ota/event"):
        return Check(
            "url",
            "base URL",
            "warn",
            f"{url} already ends in /api/ota/event; rapido appends that path itself",
            hint=f"set base_url to {parts.scheme}://{parts.netloc}{path[: -len('/api/ota/event')]}",
            data=data,
        )
    if parts.scheme == "http":
        return Check("url", "base URL", "pass", f"{url} (plain http to loopback)", data=data)
    return Check("url", "base URL", "pass", url, data=data)


def check_proxy(url: str, environ: Mapping[str, str]) -> tuple[Check, Proxy | None]:
    """Does the request go through a proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY)?"""
    proxy, bypass = proxy_for(url, environ)
    if proxy is not None:
        scheme = urlsplit(proxy.url).scheme
        if scheme not in ("http", "https"):
            return (
                Check(
                    "proxy",
                    "proxy",
                    "warn",
                    f"{proxy.display} (from {proxy.variable}): a {scheme} proxy; the checks below connect directly",
                    hint="httpx needs `pip install httpx[socks]` for socks proxies",
                    data={"proxy": proxy.display, "variable": proxy.variable},
                ),
                None,
            )
        return (
            Check(
                "proxy",
                "proxy",
                "info",
                f"via {proxy.display} (from {proxy.variable})",
                hint=f"if the proxy is the problem, exclude the host with NO_PROXY={urlsplit(url).hostname}",
                data={"proxy": proxy.display, "variable": proxy.variable},
            ),
            proxy,
        )
    if bypass:
        return Check(
            "proxy",
            "proxy",
            "info",
            f"none: NO_PROXY entry '{bypass}' covers this host",
            data={"proxy": None, "no_proxy": bypass},
        ), None
    return Check("proxy", "proxy", "info", "none (direct connection)", data={"proxy": None}), None


def _port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


Resolver = Callable[[str, int], list[tuple[Any, ...]]]


def _default_resolver(host: str, port: int) -> list[tuple[Any, ...]]:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def check_dns(
    host: str, port: int, *, via_proxy: bool, timeout: float, resolver: Resolver | None = None
) -> tuple[Check, list[tuple[Any, ...]]]:
    """Resolve the host we connect to (the proxy's, when there is one)."""
    what = f"proxy {host}" if via_proxy else host
    start = time.perf_counter()
    try:
        infos = call_with_timeout(lambda: (resolver or _default_resolver)(host, port), timeout, name="rapido-dns")
    except TimeoutError:
        return Check(
            "dns",
            "DNS",
            "fail",
            f"{what}: no answer within {timeout:g} s",
            kind=NETWORK,
            hint="check the network and /etc/resolv.conf (or the VPN)",
        ), []
    except socket.gaierror as exc:
        hint = (
            "check the proxy host in "
            + ("HTTPS_PROXY" if via_proxy else "base_url")
            + "; on a corporate network the API may only be reachable through HTTPS_PROXY"
        )
        return Check(
            "dns",
            "DNS",
            "fail",
            f"{what}: cannot resolve ({exc.strerror})",
            kind=NETWORK,
            hint=hint,
            data={"host": host},
        ), []
    except OSError as exc:
        return Check("dns", "DNS", "fail", f"{what}: {exc.strerror or exc}", kind=NETWORK), []
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


def _connect(infos: list[tuple[Any, ...]], timeout: float) -> tuple[socket.socket, str]:
    """Connect to the first address that answers; raise the last error."""
    last: OSError = OSError("no addresses")
    for family, socktype, proto, _canon, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock, str(sockaddr[0])
    raise last


def check_tcp(infos: list[tuple[Any, ...]], host: str, port: int, *, via_proxy: bool, timeout: float) -> Check:
    """Open a TCP connection (to the proxy when there is one) and time it."""
    what = f"proxy {host}:{port}" if via_proxy else f"{host}:{port}"
    start = time.perf_counter()
    try:
        sock, addr = _connect(infos, timeout)
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


def _tunnel(sock: socket.socket, proxy: Proxy, host: str, port: int) -> None:
    """Ask an HTTP proxy for a CONNECT tunnel to host:port on ``sock``."""
    lines = [f"CONNECT {host}:{port} HTTP/1.1", f"Host: {host}:{port}"]
    auth = proxy.authorization()
    if auth:
        lines.append(f"Proxy-Authorization: {auth}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the proxy closed the connection")
        buf += chunk
        if len(buf) > 65536:
            raise ConnectionError("the proxy's answer is too long")
    status_line = buf.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].startswith("2"):
        raise ConnectionError(f"the proxy refused the tunnel: {status_line}")


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
    host: str,
    port: int,
    infos: list[tuple[Any, ...]],
    *,
    ca_bundle: str | None,
    environ: Mapping[str, str],
    proxy: Proxy | None,
    timeout: float,
    now: float | None = None,
) -> Check:
    """Handshake as the client would: version, certificate subject, days to expiry, which trust store."""
    from rapido_cli.client import build_ssl_context

    trust: TrustSource = tls_trust(ca_bundle, environ)
    data: dict[str, Any] = {"trust": trust.kind, "trust_file": trust.cafile, "trust_dir": trust.capath}
    try:
        ctx = build_ssl_context(ca_bundle, environ)
    except ConfigError as exc:
        return Check("tls", "TLS", "fail", exc.message, hint=exc.hint, data=data)
    start = time.perf_counter()
    try:
        sock, _addr = _connect(infos, timeout)
    except OSError as exc:
        return Check("tls", "TLS", "fail", f"cannot connect: {exc.strerror or exc}", kind=NETWORK, data=data)
    try:
        if proxy is not None:
            _tunnel(sock, proxy, host, port)
        with ctx.wrap_socket(sock, server_hostname=host) as tls:
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
    except ssl.SSLError as exc:
        reason = exc.reason or str(exc)
        return Check(
            "tls",
            "TLS",
            "fail",
            f"handshake failed: {reason}",
            kind=NETWORK,
            hint="is the server speaking https on this port? (a proxy or firewall may interfere)",
            data={**data, "error": str(reason)},
        )
    except TimeoutError:
        return Check("tls", "TLS", "fail", f"handshake: no answer within {timeout:g} s", kind=NETWORK, data=data)
    except OSError as exc:
        text = str(exc) if isinstance(exc, ConnectionError) and exc.args else (exc.strerror or str(exc))
        return Check(
            "tls",
            "TLS",
            "fail",
            f"handshake failed: {text}",
            kind=NETWORK,
            hint="check the proxy settings" if proxy else None,
            data=data,
        )
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
    if not date_header:
        return Check("clock", "clock", "skip", "the server sent no Date header")
    try:
        server = email.utils.parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError, IndexError):
        return Check("clock", "clock", "skip", f"the server's Date header is unreadable: {date_header[:60]!r}")
    local = (sent_at + received_at) / 2
    skew = server - local
    data = {"server_date": date_header, "skew_s": round(skew, 1)}
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


@dataclass
class ProbeAnswer:
    """What came back for the probe: status, parsed body, Date header and timings (or an error)."""

    status: int | None = None
    body: Any = None
    date: str | None = None
    sent_at: float = 0.0
    received_at: float = 0.0
    error: str | None = None


def send_probe(target: Target, environ: Mapping[str, str], timeout: float) -> ProbeAnswer:
    """POST the deliberately invalid probe with the profile's credentials, the way ``send`` would."""
    import httpx

    from rapido_cli.client import build_ssl_context, encode_event, headers_for

    verify: ssl.SSLContext | bool = (
        build_ssl_context(target.ca_bundle, environ) if target.event_url.startswith("https") else True
    )
    headers = {**headers_for(target, reveal=True), PROBE_HEADER: "doctor"}
    answer = ProbeAnswer()
    # The proxy is chosen from ``environ`` by the same rules httpx applies to os.environ, so the probe
    # takes the path the proxy row reported (and a library caller's environ is honoured).
    proxy, _bypass = proxy_for(target.event_url, environ)
    with httpx.Client(
        timeout=httpx.Timeout(timeout), verify=verify, trust_env=False, proxy=proxy.url if proxy else None
    ) as http:
        answer.sent_at = time.time()
        try:
            resp = http.post(target.event_url, content=encode_event(PROBE_EVENT), headers=headers)
        except httpx.HTTPError as exc:
            answer.received_at = time.time()
            # The class only: some transport errors quote request headers, and one is the key.
            answer.error = type(exc).__name__
            return answer
        answer.received_at = time.time()
    answer.status = resp.status_code
    answer.date = resp.headers.get("date")
    try:
        # A server may echo the authorization header in its error message: never show it.
        answer.body = target.key.scrub(resp.json())
    except ValueError:
        answer.body = None
    return answer


def _server_message(body: Any) -> str | None:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:160]
        if isinstance(err, str):
            return err[:160]
    return None


def check_auth(answer: ProbeAnswer, target: Target, profile: str) -> Check:
    """Read the probe's answer: 400 = credentials passed, 401/403 = refused, else inconclusive."""
    title = "authentication"
    msg = _server_message(answer.body)
    rid = answer.body.get("requestId") if isinstance(answer.body, dict) else None
    data = {"status": answer.status, "message": msg, "request_id": rid, "url": target.event_url}
    said = f" ({msg})" if msg else ""
    if answer.status is None:
        return Check(
            "auth",
            title,
            "fail",
            f"no answer from {target.event_url}: {answer.error}",
            kind=NETWORK,
            hint="see the rows above; try again later",
            data=data,
        )
    st = answer.status
    if st in (400, 422):
        return Check(
            "auth",
            title,
            "pass",
            f"credentials accepted: HTTP {st} for the deliberately invalid probe; nothing was recorded",
            data=data,
        )
    if st in (401, 403):
        return Check(
            "auth",
            title,
            "fail",
            f"credentials refused: HTTP {st}{said}",
            hint=f"check client_id, app_id and service (`rapido profile show {profile}`) and the key "
            f"(`rapido profile set-key {profile}`, or {KEY_ENV})",
            data=data,
        )
    if 200 <= st < 300:
        return Check(
            "auth",
            title,
            "warn",
            f"inconclusive: HTTP {st} — the server accepted a deliberately invalid probe",
            hint="is base_url really the Rapido API? report this to Rapido",
            data=data,
        )
    if st in (404, 405):
        return Check(
            "auth",
            title,
            "fail",
            f"inconclusive: HTTP {st} at {target.event_url}{said}",
            hint="base_url looks wrong: it should be the API's root (rapido appends /api/ota/event)",
            data=data,
        )
    if st in (408, 429, 499) or st >= 500:
        return Check(
            "auth",
            title,
            "fail",
            f"inconclusive: HTTP {st}{said}: the server is busy or failing",
            kind=NETWORK,
            hint="try again later",
            data=data,
        )
    return Check("auth", title, "warn", f"inconclusive: HTTP {st}{said}", data=data)


# ---------------------------------------------------------------- the run


def run_checks(
    profile: str | None = None,
    *,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    sandbox_url: str | None = None,
    timeout: float = TIMEOUT_S,
    on_check: Callable[[Check], None] | None = None,
    resolver: Resolver | None = None,
) -> Report:
    """Run every check in the order a request meets them; ``on_check`` sees each row as it is done."""
    env = dict(os.environ if environ is None else environ)
    path = config_path.expanduser() if config_path is not None else default_config_path(env)
    report = Report(profile, path)

    def add(check: Check) -> Check:
        report.checks.append(check)
        if on_check is not None:
            on_check(check)
        return check

    def skip(name: str, title: str, why: str) -> None:
        add(Check(name, title, "skip", why))

    def skip_rest(why: str) -> Report:
        done = {c.name for c in report.checks}
        for name, title in ROWS:
            if name not in done:
                skip(name, title, why)
        return report

    config_row, data = check_config_file(path)
    if sandbox_url is not None and config_row.status == "warn":
        config_row.status, config_row.hint = "info", None
        config_row.summary = f"{path} does not exist (not needed with --sandbox)"
    add(config_row)
    add(check_permissions(path, data))

    resolved: ResolvedProfile | None = None
    if data is None:
        skip("profile", "profile", "the profiles file is unusable")
    else:
        try:
            resolved = resolve_profile(
                profile, config_path=path, environ=env, sandbox_url=sandbox_url, need_key=False, check_url=False
            )
        except RapidoError as exc:
            add(Check("profile", "profile", "fail", exc.message, hint=exc.hint))
    if resolved is None:
        return skip_rest("no profile")
    report.profile = resolved.name
    add(check_profile(resolved))
    add(check_key(resolved))

    url = resolved.get("base_url")
    url_row = add(check_url(url, bool(resolved.get("allow_http")), resolved.name))
    if url_row.failed or not url:
        return skip_rest("no usable base_url")

    host, port = urlsplit(url).hostname or "", _port(url)
    proxy_row, proxy = check_proxy(url, env)
    add(proxy_row)
    via_proxy = proxy is not None
    conn_host, conn_port = (proxy.host, proxy.port) if proxy else (host, port)

    dns_row, infos = check_dns(conn_host, conn_port, via_proxy=via_proxy, timeout=timeout, resolver=resolver)
    add(dns_row)
    network_ok = not dns_row.failed
    if network_ok:
        network_ok = not add(check_tcp(infos, conn_host, conn_port, via_proxy=via_proxy, timeout=timeout)).failed
    else:
        skip("tcp", "TCP connect", "DNS failed")

    if urlsplit(url).scheme == "https":
        if network_ok:
            network_ok = not add(
                check_tls(
                    host, port, infos, ca_bundle=resolved.get("ca_bundle"), environ=env, proxy=proxy, timeout=timeout
                )
            ).failed
        else:
            skip("tls", "TLS", "not connected")
    else:
        skip("tls", "TLS", "plain http")

    if not network_ok:
        return skip_rest("not connected")
    if resolved.key is None:
        return skip_rest("no key to test with")
    try:
        target = resolved.target()
    except ConfigError:
        return skip_rest("the profile is incomplete")
    answer = send_probe(target, env, timeout)
    if answer.status is None:
        skip("clock", "clock", "no answer")
    else:
        add(check_clock(answer.date, answer.sent_at, answer.received_at))
    add(check_auth(answer, target, resolved.name))
    return report
