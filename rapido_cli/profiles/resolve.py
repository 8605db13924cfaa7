"""Resolution of the effective profile, field by field, each value with where it came from.

Order: command-line flag > environment (``RAPIDO_*``) > the profiles file > default.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rapido_cli.contract import API_PATH, SERVICES
from rapido_cli.errors import ConfigError, RapidoError
from rapido_cli.profiles.keys import KEY_ENV, Secret, check_key_value, read_key
from rapido_cli.profiles.store import DEFAULTS, default_config_path, is_key_source, load_profiles_file
from rapido_cli.profiles.urlpolicy import allow_http_hint, check_base_url
from rapido_cli.text import inert

#: field -> environment variable that overrides it.
ENV_OVERRIDES: dict[str, str] = {
    "base_url": "RAPIDO_BASE_URL",
    "client_id": "RAPIDO_CLIENT_ID",
    "app_id": "RAPIDO_APP_ID",
    "service": "RAPIDO_SERVICE",
}
SANDBOX_VALUES = {"client_id": "sandbox-client", "app_id": "sandbox-app", "service": "flights"}
SANDBOX_KEY = "sandbox-key-0000"
#: The variable `rapido sandbox` reads its expected key from.
SANDBOX_KEY_ENV = "RAPIDO_SANDBOX_KEY"
#: What a profile name may be: it names a keyring entry and appears in messages and commands.
PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Fields sent as HTTP header values (x-client-id, x-client-app-id, x-client-service).
HEADER_FIELDS = ("client_id", "app_id", "service")


@dataclass(frozen=True)
class Value:
    """A resolved setting and where it came from (flag, env:VAR, file, default, sandbox...)."""

    value: Any
    source: str


@dataclass(frozen=True)
class Target:
    """Everything needed to address the API: where and as whom."""

    base_url: str
    client_id: str
    app_id: str
    service: str
    key: Secret
    timeout: float = 30.0
    max_attempts: int = 5
    rate: float | None = None
    ca_bundle: str | None = None
    allow_http: bool = False

    @property
    def event_url(self) -> str:
        """The full URL of ``POST /api/ota/event``."""
        return self.base_url.rstrip("/") + API_PATH

    @property
    def name(self) -> str:
        """What the journal keys deliveries by: base URL + client id."""
        return f"{self.base_url.rstrip('/')}|{self.client_id}"


@dataclass
class ResolvedProfile:
    """A profile after flags, environment, file and key source were applied."""

    name: str
    name_source: str
    config_path: Path
    config_exists: bool
    in_file: bool
    values: dict[str, Value] = field(default_factory=dict)
    key_spec: Value | None = None
    key: Secret | None = None
    key_source: str | None = None
    key_error: RapidoError | None = None
    warnings: list[str] = field(default_factory=list)

    def get(self, name: str) -> Any:
        """A resolved value (None when unset)."""
        v = self.values.get(name)
        return None if v is None else v.value

    def target(self) -> Target:
        """The API target; raises ConfigError naming what is missing and how to set it."""
        missing = [f for f in ("base_url", "client_id", "app_id", "service") if self.get(f) in (None, "")]
        if missing:
            envs = ", ".join(ENV_OVERRIDES[m] for m in missing)
            if not self.in_file and len(missing) == 4:
                what = "no profiles file" if not self.config_exists else f"no profile '{self.name}'"
                raise ConfigError(
                    f"nothing is configured: {what} at {self.config_path}",
                    hint=f"run `rapido profile add {self.name} --base-url URL --client-id ID --app-id ID "
                    "--service flights`, or try any command with --sandbox",
                )
            where = f"profile '{self.name}' in {self.config_path}" if self.in_file else f"profile '{self.name}'"
            raise ConfigError(
                f"{where} has no {', '.join(missing)}",
                hint=(
                    f"run `rapido profile set {self.name} {missing[0]} VALUE`"
                    if self.in_file
                    else f"run `rapido profile add {self.name} ...`"
                )
                + f", set {envs}, or try --sandbox",
            )
        if self.key is None:
            raise self.key_error or ConfigError(
                f"no client key for profile '{self.name}'",
                hint=f"run `rapido profile set-key {self.name}` or set {KEY_ENV}",
            )
        return Target(
            base_url=str(self.get("base_url")),
            client_id=str(self.get("client_id")),
            app_id=str(self.get("app_id")),
            service=str(self.get("service")),
            key=self.key,
            timeout=float(self.get("timeout")),
            max_attempts=int(self.get("max_attempts")),
            rate=None if self.get("rate") is None else float(self.get("rate")),
            ca_bundle=self.get("ca_bundle"),
            allow_http=bool(self.get("allow_http")),
        )


def _coerce(name: str, raw: Any, where: str) -> Any:
    """``raw`` checked and converted for field ``name``; ``where`` names its origin in errors
    (``RAPIDO_CLIENT_ID``, or ``FILE: profiles.NAME``)."""
    if raw is None:
        return None
    if isinstance(raw, dict | list):
        raise ConfigError(
            f"{where}: {name} must be a single value, not a {'mapping' if isinstance(raw, dict) else 'list'}"
        )
    try:
        if name in ("timeout", "rate"):
            if isinstance(raw, bool):
                raise ValueError
            value: Any = float(raw)
            if not (0 < value < math.inf):  # nan, inf and <= 0 are refused alike
                raise ValueError
            return value
        if name == "max_attempts":
            if isinstance(raw, bool):
                raise ValueError
            value = int(raw)
            if value < 1:
                raise ValueError
            return value
        if name == "allow_http":
            if isinstance(raw, bool):
                return raw
            return str(raw).lower() in ("1", "true", "yes", "on")
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{where}: {name} must be a positive number, got '{inert(raw, limit=40)}'") from None
    if name == "service":
        value = str(raw).strip().lower()
        if value not in SERVICES:
            raise ConfigError(f"{where}: service must be one of {', '.join(SERVICES)}, got '{inert(raw, limit=40)}'")
        return value
    text = str(raw).strip()
    if name in HEADER_FIELDS:
        _check_header_text(text, name, where)
    elif name == "base_url":
        _check_url_text(text, where)
    return text


def _bad_char(text: str) -> tuple[int, str] | None:
    """Position (1-based) and kind of the first character that is not printable ASCII."""
    for pos, ch in enumerate(text, 1):
        if not (" " <= ch <= "~"):
            return pos, ("a control character" if ch < " " or ch == "\x7f" else "a non-ASCII character")
    return None


def _check_header_text(text: str, name: str, where: str) -> None:
    """An HTTP header value must be printable ASCII: a newline or NUL would split or end the header."""
    bad = _bad_char(text)
    if bad is not None:
        raise ConfigError(
            f"{where}: {name} '{inert(text, limit=60)}' contains {bad[1]} at position {bad[0]}",
            hint=f"{name} is sent as an HTTP header value, which must be visible ASCII",
        )


def _check_url_text(url: str, where: str) -> None:
    """A base URL that parses, is http(s) with a host, and holds no control, space or non-ASCII character."""
    bad = _bad_char(url)
    if bad is None and " " in url:
        bad = (url.index(" ") + 1, "a space")
    if bad is not None:
        raise ConfigError(
            f"{where}: base_url '{inert(url, limit=80)}' contains {bad[1]} at position {bad[0]}",
            hint="e.g. https://partner-staging.example.com (non-ASCII host names in their xn-- form)",
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError as exc:
        raise ConfigError(
            f"{where}: base_url {url!r} is not a valid URL: {exc}", hint="e.g. https://host:8443"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{where}: base_url {url!r} is not an http(s) URL", hint="e.g. https://partner-staging.example.com"
        )


def check_profile_name(name: str, where: str) -> str:
    """``name`` when it is a usable profile name (letters, digits, ``._-``, up to 64); ConfigError naming ``where``."""
    if not PROFILE_NAME_RE.match(name):
        raise ConfigError(
            f"{where}: '{inert(name, limit=80)}' is not a valid profile name",
            hint="use letters, digits, '.', '_' and '-' (up to 64), starting with a letter or digit",
        )
    return name


def checked_base_url(
    url: str, allow_http: bool, profile: str, environ: Mapping[str, str] | None = None
) -> list[str]:
    """:func:`check_base_url` (whole route, proxy included), the hint naming the command that changes it."""
    try:
        return check_base_url(url, allow_http, environ)
    except ConfigError as exc:
        if "plain http" in exc.message:
            exc.hint = allow_http_hint(exc.hint, profile)
        raise


def resolve_profile(
    name: str | None,
    *,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    sandbox_url: str | None = None,
    need_key: bool = True,
    check_url: bool = True,
) -> ResolvedProfile:
    """Resolve the effective profile. Key errors are raised only when ``need_key`` (else kept).

    ``check_url=False`` leaves an unsafe ``base_url`` to the caller (``rapido doctor`` reports it
    as a row of its own instead of failing the whole resolution).
    """
    env = dict(os.environ if environ is None else environ)
    path = config_path.expanduser() if config_path is not None else default_config_path(env)
    data = load_profiles_file(path)
    if name:
        prof_name, name_source = name, "flag"
    elif data["default"]:
        prof_name, name_source = data["default"], "file"
    else:
        prof_name, name_source = "default", "default"
    body = data["profiles"].get(prof_name)
    if body is None and name_source == "flag":
        # A name from --profile/RAPIDO_PROFILE that the file does not know: it becomes a keyring
        # user name and part of messages, so it must be a plain name.
        check_profile_name(prof_name, "RAPIDO_PROFILE" if env.get("RAPIDO_PROFILE") == prof_name else "--profile")
    res = ResolvedProfile(prof_name, name_source, path, path.exists(), body is not None)
    body = dict(body or {})
    flags = dict(flags or {})

    for fname in ("base_url", "client_id", "app_id", "service", *DEFAULTS):
        env_var = ENV_OVERRIDES.get(fname)
        if flags.get(fname) is not None:
            raw, source = flags[fname], "flag"
        elif env_var and env.get(env_var):
            raw, source = env[env_var], f"env:{env_var}"
        elif body.get(fname) is not None:
            raw, source = body[fname], "file"
        elif fname in DEFAULTS:
            raw, source = DEFAULTS[fname], "default"
        else:
            continue
        if source == "flag":
            where = "--" + fname.replace("_", "-")
        elif source.startswith("env"):
            where = str(env_var)
        else:
            where = f"{path}: profiles.{prof_name}.{fname}" if source == "file" else fname
        res.values[fname] = Value(_coerce(fname, raw, where), source)

    if sandbox_url is not None:
        res.values["base_url"] = Value(sandbox_url, "sandbox")
        for fname, val in SANDBOX_VALUES.items():
            if fname not in res.values:
                res.values[fname] = Value(val, "sandbox")
        # The key a sandbox expects: the client's own, else the one `rapido sandbox` itself reads
        # (RAPIDO_SANDBOX_KEY, so one exported variable serves both terminals), else any.
        key_var = next((v for v in (KEY_ENV, SANDBOX_KEY_ENV) if env.get(v, "").strip()), None)
        if key_var is not None:
            res.key, res.key_source = check_key_value(env[key_var], f"${key_var}"), f"env:{key_var}"
        else:
            res.key, res.key_source = Secret(SANDBOX_KEY), "sandbox"
        return res

    if not res.in_file and name_source == "flag" and not all(env.get(v) for v in (*ENV_OVERRIDES.values(), KEY_ENV)):
        known = ", ".join(sorted(data["profiles"])) or "none"
        raise ConfigError(
            f"profile '{prof_name}' not found in {path} (profiles: {known})",
            hint=f"run `rapido profile add {prof_name} --base-url ... --client-id ... --app-id ... --service flights`",
        )

    base = res.get("base_url")
    if base and check_url:
        res.warnings.extend(checked_base_url(base, bool(res.get("allow_http")), prof_name, env))

    if env.get(KEY_ENV, "").strip():
        res.key_spec = Value(KEY_ENV, f"env:{KEY_ENV}")
        try:
            res.key, res.key_source = check_key_value(env[KEY_ENV], f"${KEY_ENV}"), f"env:{KEY_ENV}"
        except ConfigError as exc:
            res.key_error = exc
    elif body.get("key"):
        spec = str(body["key"])
        res.key_spec = Value(spec if is_key_source(spec) else "<inline>", "file")
        try:
            res.key, res.key_source = read_key(spec, prof_name, env, path)
        except ConfigError as exc:
            res.key_error = exc
    else:
        res.key_error = ConfigError(
            f"no client key for profile '{prof_name}'" + ("" if res.in_file else " (no such profile in the file)"),
            hint=f"run `rapido profile set-key {prof_name}` or set {KEY_ENV}",
        )
    if need_key:
        res.target()
    return res
