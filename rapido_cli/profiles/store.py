"""The profiles file: where it is, reading and writing it, and the rules for its values."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rapido_cli.errors import ConfigError, RapidoError

DEFAULTS: dict[str, Any] = {"timeout": 30.0, "max_attempts": 5, "rate": None, "ca_bundle": None, "allow_http": False}
PROFILE_FIELDS = ("base_url", "client_id", "app_id", "service", "key", *DEFAULTS)


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$RAPIDO_CONFIG`` or ``<user config dir>/rapido/profiles.yaml`` (XDG on Linux)."""
    env = os.environ if environ is None else environ
    if env.get("RAPIDO_CONFIG"):
        return Path(env["RAPIDO_CONFIG"]).expanduser()
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "rapido" / "profiles.yaml"
    import platformdirs

    return Path(platformdirs.user_config_dir("rapido", appauthor=False)) / "profiles.yaml"


def group_or_world_readable(path: Path) -> bool:
    """True when ``path`` is open to its group or to others (always False on Windows: no such modes)."""
    if os.name == "nt":
        return False
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def file_mode(path: Path) -> str:
    """``0600``-style permission bits of ``path``."""
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def inline_key_profiles(data: Mapping[str, Any]) -> list[str]:
    """Names of the profiles whose ``key:`` is the key itself rather than a source."""
    return [
        name
        for name, body in (data.get("profiles") or {}).items()
        if isinstance(body, dict) and body.get("key") and not is_key_source(str(body["key"]))
    ]


def is_key_source(spec: str) -> bool:
    """True when ``spec`` names where the key is (``keyring``, ``env:``, ``command:``, ``file:``)."""
    spec = spec.strip()
    return spec == "keyring" or spec.startswith(("env:", "command:", "file:"))


def load_profiles_file(path: Path) -> dict[str, Any]:
    """Read and check ``profiles.yaml``: ``{"default": name | None, "profiles": {name: {...}}}``."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"default": None, "profiles": {}}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the profiles file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{where}: not valid YAML: {problem}", hint="fix the file or compare with profiles.example.yaml"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with `profiles:`", hint="see profiles.example.yaml")
    unknown = set(data) - {"default", "profiles"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level key(s): {', '.join(sorted(map(str, unknown)))}",
            hint="only `default:` and `profiles:` belong at the top",
        )
    profiles = data.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: `profiles` must be a mapping of name -> settings")
    for name, body in profiles.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: profiles.{name}: expected a mapping of settings")
        for key in body:
            if key not in PROFILE_FIELDS:
                raise ConfigError(
                    f"{path}: profiles.{name}.{key}: unknown setting",
                    hint="known settings: " + ", ".join(PROFILE_FIELDS),
                )
    default = data.get("default")
    return {"default": None if default is None else str(default), "profiles": {str(k): v for k, v in profiles.items()}}


def save_profiles_file(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``profiles.yaml`` atomically with mode 0600 (it may name key sources)."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    body: dict[str, Any] = {}
    if data.get("default"):
        body["default"] = data["default"]
    body["profiles"] = dict(data.get("profiles") or {})
    # A stale temporary file would keep its old mode: O_CREAT only applies 0600 to a new file.
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(body, fh, sort_keys=False, default_flow_style=False)
    os.replace(tmp, path)


def profile_names_for_completion(environ: Mapping[str, str] | None = None) -> list[str]:
    """Profile names for tab completion; empty on any problem (completion must never fail)."""
    try:
        return sorted(load_profiles_file(default_config_path(environ))["profiles"])
    except RapidoError:
        return []
