"""The local rows of ``rapido doctor``: the profiles file, its permissions, the profile, the key, the URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rapido_cli.doctor.report import Check, Status
from rapido_cli.errors import ConfigError
from rapido_cli.profiles import (
    ResolvedProfile,
    check_base_url,
    file_mode,
    group_or_world_readable,
    inline_key_profiles,
    keyring_backend_name,
    load_profiles_file,
)
from rapido_cli.profiles.urlpolicy import allow_http_hint


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
            hint = allow_http_hint(exc.hint, profile)
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




def _port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


__all__ = ["check_config_file", "check_key", "check_permissions", "check_profile", "check_url"]
