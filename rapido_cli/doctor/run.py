"""``run_checks``: every row of ``rapido doctor``, in the order a request meets them."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from rapido_cli.doctor.local import check_config_file, check_key, check_permissions, check_profile, check_url
from rapido_cli.doctor.network import check_clock, check_dns, check_route, check_tcp, check_tls
from rapido_cli.doctor.probe import check_auth, send_probe
from rapido_cli.doctor.report import ROWS, Check, Report
from rapido_cli.errors import ConfigError, RapidoError
from rapido_cli.profiles import ResolvedProfile, default_config_path, resolve_profile
from rapido_cli.transport.client import Lookup

TIMEOUT_S = 5.0


def run_checks(
    profile: str | None = None,
    *,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    sandbox_url: str | None = None,
    timeout: float = TIMEOUT_S,
    on_check: Callable[[Check], None] | None = None,
    resolver: Lookup | None = None,
) -> Report:
    """Run every check in the order a request meets them; ``on_check`` sees each row as it is done.

    ``resolver(host, port)`` replaces ``getaddrinfo`` for the DNS row (tests).
    """
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
    allow_http = bool(resolved.get("allow_http"))
    url_row = add(check_url(url, allow_http, resolved.name))
    if url_row.failed or not url:
        return skip_rest("no usable base_url")

    event_url = str(url).rstrip("/") + "/api/ota/event"
    ca_bundle = resolved.get("ca_bundle")
    proxy_row, route = check_route(event_url, env, allow_http=allow_http, ca_bundle=ca_bundle)
    add(proxy_row)
    if route is None:
        return skip_rest("no usable route")
    via_proxy = route.proxy is not None
    conn_host, conn_port = route.connect_host, route.connect_port

    dns_row, infos = check_dns(conn_host, conn_port, via_proxy=via_proxy, timeout=timeout, resolver=resolver)
    add(dns_row)
    network_ok = not dns_row.failed
    if network_ok:
        network_ok = not add(check_tcp(infos, conn_host, conn_port, via_proxy=via_proxy, timeout=timeout)).failed
    else:
        skip("tcp", "TCP connect", "DNS failed")

    if route.https:
        if network_ok:
            network_ok = not add(check_tls(route, infos, ca_bundle=ca_bundle, environ=env, timeout=timeout)).failed
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


__all__ = ["TIMEOUT_S", "run_checks"]
