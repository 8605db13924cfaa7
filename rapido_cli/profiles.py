"""Profiles, environment overrides and key sources, each value with where it came from.

Resolution order, field by field: command-line flag > environment (``RAPIDO_*``) > the
profiles file > default. The key comes from ``RAPIDO_CLIENT_KEY`` or the profile's ``key``
source: ``keyring``, ``env:VAR``, ``command:<shell command>``, ``file:<path>``.
"""

from __future__ import annotations

import math
import os
import re
import signal
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rapido_cli.deadline import call_with_timeout
from rapido_cli.errors import ConfigError, RapidoError, UsageError
from rapido_cli.models import SERVICES
from rapido_cli.text import inert

KEYRING_SERVICE = "rapido-cli"
KEYRING_TIMEOUT_S = 10.0
#: Overrides KEYRING_TIMEOUT_S (seconds): a locked keyring must not hang a cron job for long.
KEYRING_TIMEOUT_ENV = "RAPIDO_KEYRING_TIMEOUT"
COMMAND_TIMEOUT_S = 15.0
#: Overrides COMMAND_TIMEOUT_S (seconds) for ``key: command:...`` sources.
COMMAND_TIMEOUT_ENV = "RAPIDO_KEY_COMMAND_TIMEOUT"

#: field -> environment variable that overrides it.
ENV_OVERRIDES: dict[str, str] = {
    "base_url": "RAPIDO_BASE_URL",
    "client_id": "RAPIDO_CLIENT_ID",
    "app_id": "RAPIDO_APP_ID",
    "service": "RAPIDO_SERVICE",
}
KEY_ENV = "RAPIDO_CLIENT_KEY"
DEFAULTS: dict[str, Any] = {"timeout": 30.0, "max_attempts": 5, "rate": None, "ca_bundle": None, "allow_http": False}
PROFILE_FIELDS = ("base_url", "client_id", "app_id", "service", "key", *DEFAULTS)
SANDBOX_VALUES = {"client_id": "sandbox-client", "app_id": "sandbox-app", "service": "flights"}
SANDBOX_KEY = "sandbox-key-0000"
#: What a profile name may be: it names a keyring entry and appears in messages and commands.
PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: The profiles file and key files are small: anything larger is refused unread.
MAX_PROFILES_BYTES = 1 << 20
MAX_KEY_FILE_BYTES = 64 << 10
#: Fields sent as HTTP header values (x-client-id, x-client-app-id, x-client-service).
HEADER_FIELDS = ("client_id", "app_id", "service")


class Secret:
    """A secret string that never shows itself in ``str``/``repr``/f-strings/tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: only for the wire."""
        return self._value

    def masked(self) -> str:
        """``****abcd``: the last 4 characters, or only stars for a short secret."""
        return mask(self._value)

    def scrub(self, obj: Any) -> Any:
        """``obj`` (text, bytes, or JSON-like data) with every copy of the secret masked, in any encoding.

        For what a server sends back; see :class:`rapido_cli.transport.answer.Scrubber`.
        """
        from rapido_cli.transport.answer import scrub

        return scrub(obj, self._value) if self._value else obj

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    __str__ = masked

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def mask(value: str) -> str:
    """Mask a secret to its last 4 characters (all stars when it is too short to show any)."""
    if len(value) < 8:
        return "****"
    return "****" + value[-4:]


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
        return self.base_url.rstrip("/") + "/api/ota/event"

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
                hint=f"run `rapido profile add {self.name} ...`, set {envs}, or try --sandbox",
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


# ---------------------------------------------------------------- the file


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
    """Read and check ``profiles.yaml``: ``{"default": name | None, "profiles": {name: {...}}}``.

    A regular file of at most 1 MiB, parsed with the bounded YAML loader: a FIFO, a device, a
    directory, a huge file or a "billion laughs" document is a ConfigError naming the file, not a
    hang or a memory blow-up. A file that does not exist is an empty one.
    """
    import yaml

    from rapido_cli import fs, safeyaml

    try:
        raw = fs.read_limited(path, limit=MAX_PROFILES_BYTES, what="profiles file")
    except UsageError as exc:
        if not path.exists() and not path.is_symlink():
            return {"default": None, "profiles": {}}
        raise ConfigError(exc.message, hint=exc.hint or "point --config / RAPIDO_CONFIG at a profiles.yaml") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})", hint="is this the profiles file?") from None
    try:
        data = safeyaml.load(text)
    except safeyaml.YamlLimitError as exc:
        raise ConfigError(
            f"{path}:{exc.line}: not accepted: {exc}", hint="a profiles file needs no YAML aliases"
        ) from None
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
    """Write ``profiles.yaml`` atomically with mode 0600 (it may name key sources); a link there is replaced."""
    import yaml

    from rapido_cli import fs

    path.parent.mkdir(parents=True, exist_ok=True)
    body: dict[str, Any] = {}
    if data.get("default"):
        body["default"] = data["default"]
    body["profiles"] = dict(data.get("profiles") or {})
    with fs.atomic_writer(path) as fh:
        yaml.safe_dump(body, fh, sort_keys=False, default_flow_style=False)


def profile_names_for_completion(environ: Mapping[str, str] | None = None) -> list[str]:
    """Profile names for tab completion; empty on any problem (completion must never fail)."""
    try:
        return sorted(load_profiles_file(default_config_path(environ))["profiles"])
    except RapidoError:
        return []


# ---------------------------------------------------------------- keys


def _timeout_from_env(var: str, default: float, environ: Mapping[str, str] | None = None) -> float:
    raw = (os.environ if environ is None else environ).get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var}='{inert(raw, limit=40)}' is not a number of seconds") from None
    if not (0 < value < math.inf):
        raise ConfigError(f"{var} must be a positive, finite number of seconds, got '{inert(raw, limit=40)}'")
    return value


def keyring_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds to wait for the keyring: ``$RAPIDO_KEYRING_TIMEOUT`` or 10."""
    return _timeout_from_env(KEYRING_TIMEOUT_ENV, KEYRING_TIMEOUT_S, environ)


def _backend_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a keyring backend may raise for an unusable keyring (not bugs of ours)."""
    from keyring.errors import KeyringError

    errors: list[type[BaseException]] = [KeyringError]
    try:  # the Secret Service backend lets some of its libraries' errors through
        from secretstorage.exceptions import SecretStorageException

        errors.append(SecretStorageException)
    except ImportError:
        pass
    try:
        from jeepney.wrappers import DBusErrorResponse  # type: ignore[import-untyped]

        errors.append(DBusErrorResponse)
    except ImportError:
        pass
    return tuple(errors)


def _keyring_call(what: str, fn: Any, timeout: float | None, no_backend_hint: str) -> Any:
    import keyring.errors

    limit = keyring_timeout() if timeout is None else timeout
    try:
        return call_with_timeout(fn, limit, name="rapido-keyring")
    except keyring.errors.NoKeyringError:
        raise ConfigError(
            "no keyring backend is available (normal on a headless server)", hint=no_backend_hint
        ) from None
    except TimeoutError:
        raise ConfigError(
            f"the keyring did not answer within {limit:g} s when asked to {what} (is it locked?)",
            hint=f"unlock it, or set {KEY_ENV} for unattended runs ({KEYRING_TIMEOUT_ENV} sets the wait)",
        ) from None
    except keyring.errors.PasswordDeleteError:
        raise
    except keyring.errors.KeyringLocked:
        raise ConfigError(
            f"the keyring is locked and could not be unlocked to {what} (no one to answer the unlock prompt)",
            hint=f"unlock it (log in to the desktop session), or set {KEY_ENV} for unattended runs",
        ) from None
    except _backend_errors() as exc:
        # The exception text is not shown: some backends put what they were given into it.
        raise ConfigError(
            f"the keyring failed to {what}: {type(exc).__name__}", hint=f"set {KEY_ENV} instead, or fix the keyring"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a broken backend is reported, not a crash (as twine does)
        # Backends raise all sorts (D-Bus, OS, their own libraries). Name the backend and the error
        # type, never the message, which may quote the key it was handed.
        import keyring

        backend = type(keyring.get_keyring())
        raise ConfigError(
            f"the keyring backend {backend.__module__}.{backend.__qualname__} failed to {what}: "
            f"{type(exc).__name__} (its message is not shown: it may hold the key)",
            hint=f"set {KEY_ENV} or use `key: env:VAR` / `key: file:PATH`; or choose another backend "
            "(PYTHON_KEYRING_BACKEND, `keyring --list-backends`)",
        ) from None


def keyring_get(profile: str, timeout: float | None = None) -> str | None:
    """The key stored for ``profile`` in the system keyring, or None. Raises ConfigError on failure."""
    import keyring

    value: str | None = _keyring_call(
        "read the key",
        lambda: keyring.get_password(KEYRING_SERVICE, profile),
        timeout,
        f"set {KEY_ENV}, or use `key: env:VAR` / `key: file:PATH` in the profile",
    )
    return value


def keyring_set(profile: str, key: str, timeout: float | None = None) -> None:
    """Store ``key`` for ``profile`` in the system keyring."""
    import keyring

    _keyring_call(
        "store the key",
        lambda: keyring.set_password(KEYRING_SERVICE, profile, key),
        timeout,
        "use `key: env:VAR` or `key: file:PATH` (chmod 600) in the profile instead",
    )


def keyring_delete(profile: str, timeout: float | None = None) -> bool:
    """Delete the stored key; False when there was none."""
    import keyring
    from keyring.errors import PasswordDeleteError

    try:
        _keyring_call(
            "delete the key",
            lambda: keyring.delete_password(KEYRING_SERVICE, profile),
            timeout,
            "nothing to delete without a keyring",
        )
    except PasswordDeleteError:
        return False
    return True


def keyring_backend_name() -> str:
    """The active keyring backend, e.g. ``SecretService Keyring`` or ``fail Keyring`` (for doctor)."""
    import keyring

    backend = keyring.get_keyring()
    return f"{type(backend).__module__.rsplit('.', 1)[-1]} {type(backend).__name__}"


def check_key_value(value: str, source: str) -> Secret:
    """Wrap a key read from ``source``; refuse characters that cannot travel in an HTTP header.

    HTTP libraries quote an illegal header value in their error message, so a key with a
    control character would otherwise end up in an error on the terminal.
    """
    value = value.strip()
    for pos, ch in enumerate(value, 1):
        if not (" " <= ch <= "~"):
            what = "a control character" if ch < " " or ch == "\x7f" else "a non-ASCII character"
            raise ConfigError(
                f"the client key from {source} contains {what} at position {pos} (not shown)",
                hint="the key is printable ASCII; check for a stray newline, quote or paste artefact",
            )
    return Secret(value)


def read_key(spec: str, profile: str, environ: Mapping[str, str], config_path: Path) -> tuple[Secret, str]:
    """Read the key named by a profile's ``key:`` setting; return it with its source."""
    spec = spec.strip()
    if spec == "keyring":
        value = keyring_get(profile, keyring_timeout(environ))
        if not value:
            raise ConfigError(
                f"no key in the keyring for profile '{profile}'",
                hint=f"run `rapido profile set-key {profile}` or set {KEY_ENV}",
            )
        return check_key_value(value, "the keyring"), "keyring"
    if spec.startswith("env:"):
        var = spec[4:].strip()
        value = environ.get(var, "")
        if not value.strip():
            raise ConfigError(
                f"profile '{profile}' reads its key from ${var}, which is not set",
                hint=f"export {var}=... (or change `key:` in {config_path})",
            )
        return check_key_value(value, f"${var}"), f"env:{var}"
    if spec.startswith("command:"):
        return _read_key_command(spec[8:].strip(), profile, environ), "command"
    if spec.startswith("file:"):
        from rapido_cli import fs

        path = Path(os.path.expandvars(spec[5:].strip())).expanduser()
        if not path.is_absolute():
            path = config_path.parent / path
        try:
            if group_or_world_readable(path):
                raise ConfigError(
                    f"key file {path} is readable by group or others (mode {file_mode(path)})",
                    hint=f"chmod 600 {path}",
                )
            # A regular file only, size-capped, opened without blocking: never a FIFO or a device.
            value = fs.read_limited(path, limit=MAX_KEY_FILE_BYTES, what="key file").decode("utf-8").strip()
        except FileNotFoundError:
            raise ConfigError(
                f"key file {path} does not exist", hint=f"create it (chmod 600) or fix `key:` in {config_path}"
            ) from None
        except UsageError as exc:
            if not path.exists():
                raise ConfigError(
                    f"key file {path} does not exist", hint=f"create it (chmod 600) or fix `key:` in {config_path}"
                ) from None
            raise ConfigError(
                f"key file {exc.message}", hint=f"`key: file:` names a plain file (in {config_path})"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read key file {path}: {exc.__class__.__name__}") from None
        if not value:
            raise ConfigError(f"key file {path} is empty")
        return check_key_value(value, f"key file {path}"), f"file:{path}"
    # A literal key in the profiles file: tolerated only if nobody else can read the file.
    if config_path.exists() and group_or_world_readable(config_path):
        raise ConfigError(
            f"{config_path} holds a client key and is readable by group or others (mode {file_mode(config_path)})",
            hint=f"chmod 600 {config_path}, or better store the key with `rapido profile set-key {profile}`",
        )
    return check_key_value(spec, str(config_path)), "file (inline)"


def _read_key_command(cmd: str, profile: str, environ: Mapping[str, str]) -> Secret:
    """Run a ``key: command:`` source. Its output is never shown: it is the key, or may hold it."""
    limit = _timeout_from_env(COMMAND_TIMEOUT_ENV, COMMAND_TIMEOUT_S, environ)
    if not cmd:
        raise ConfigError(f"profile '{profile}' has an empty `key: command:`")
    # A session of its own, so a timeout can kill the whole group (the shell and what it started).
    proc = None
    try:
        proc = subprocess.Popen(  # noqa: S602 - the user's own command, from their own config
            cmd,
            shell=True,
            stdin=subprocess.DEVNULL,  # a command waiting for input must fail, not hang a cron job
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(environ),
            start_new_session=os.name != "nt",
        )
        out, _err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ConfigError(
            f"the key command of profile '{profile}' did not finish within {limit:g} s",
            hint=f"check the command in `key: command:...` ({COMMAND_TIMEOUT_ENV} sets the limit)",
        ) from None
    except OSError as exc:
        raise ConfigError(f"the key command of profile '{profile}' could not start: {exc.strerror}") from None
    if proc.returncode != 0:
        raise ConfigError(
            f"the key command of profile '{profile}' exited with status {proc.returncode} "
            "(its output is not shown: it may hold the key)",
            hint="run the command yourself to see why",
        )
    value = out.decode("utf-8", "replace").strip()
    if not value:
        raise ConfigError(f"the key command of profile '{profile}' printed nothing")
    return check_key_value(value, "the key command")


def _kill_group(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    try:
        if os.name == "nt":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


# ---------------------------------------------------------------- resolution


def check_base_url(url: str, allow_http: bool, environ: Mapping[str, str] | None = None) -> list[str]:
    """Refuse what cannot be a safe API address; warnings for what is allowed but risky.

    The rule lives in :func:`rapido_cli.transport.route.check_base_url` (plain http only when the
    whole route, proxy included when ``environ`` is given, is loopback).
    """
    from rapido_cli.transport.route import check_base_url as check

    return check(url, allow_http, environ)


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
        res.key, res.key_source = (
            check_key_value(env[KEY_ENV], f"${KEY_ENV}") if env.get(KEY_ENV) else Secret(SANDBOX_KEY),
            "env:" + KEY_ENV if env.get(KEY_ENV) else "sandbox",
        )
        return res

    if not res.in_file and name_source == "flag" and not all(env.get(v) for v in (*ENV_OVERRIDES.values(), KEY_ENV)):
        known = ", ".join(sorted(data["profiles"])) or "none"
        raise ConfigError(
            f"profile '{prof_name}' not found in {path} (profiles: {known})",
            hint=f"run `rapido profile add {prof_name} --base-url ... --client-id ... --app-id ... --service flights`",
        )

    base = res.get("base_url")
    if base and check_url:
        res.warnings.extend(check_base_url(base, bool(res.get("allow_http")), env))

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


def parse_flag_path(value: str) -> Path:
    """A user-given path that must exist (UsageError otherwise)."""
    path = Path(value).expanduser()
    if not path.exists():
        raise UsageError(f"{value}: no such file")
    return path
