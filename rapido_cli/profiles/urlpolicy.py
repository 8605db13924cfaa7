"""The base-URL policy as the profiles see it: the rule itself lives in :mod:`rapido_cli.transport.route`."""

from __future__ import annotations

from collections.abc import Mapping


def check_base_url(url: str, allow_http: bool, environ: Mapping[str, str] | None = None) -> list[str]:
    """Refuse what cannot be a safe API address; warnings for what is allowed but risky.

    Plain http only when the whole route (proxy included, when ``environ`` is given) is loopback.
    """
    from rapido_cli.transport.route import check_base_url as check

    return check(url, allow_http, environ)


def allow_http_hint(hint: str | None, profile: str) -> str:
    """The transport's hint for plain http, naming the command that allows it for ``profile``."""
    command = f"`rapido profile set {profile} allow_http true`"
    if hint and "`allow_http: true` in the profile" in hint:
        return hint.replace("set `allow_http: true` in the profile", f"run {command}")
    return f"use https://, or if you really mean it: {command}"
