"""Key sources: the secret wrapper, the system keyring (with a deadline), key files and key commands."""

from __future__ import annotations

import math
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rapido_cli.deadline import call_with_timeout
from rapido_cli.errors import ConfigError, UsageError
from rapido_cli.profiles.store import file_mode, group_or_world_readable
from rapido_cli.text import inert

KEYRING_SERVICE = "rapido-cli"
KEYRING_TIMEOUT_S = 10.0
#: Overrides KEYRING_TIMEOUT_S (seconds): a locked keyring must not hang a cron job for long.
KEYRING_TIMEOUT_ENV = "RAPIDO_KEYRING_TIMEOUT"
COMMAND_TIMEOUT_S = 15.0
#: Overrides COMMAND_TIMEOUT_S (seconds) for ``key: command:...`` sources.
COMMAND_TIMEOUT_ENV = "RAPIDO_KEY_COMMAND_TIMEOUT"
KEY_ENV = "RAPIDO_CLIENT_KEY"
#: Key files are small: anything larger is refused unread.
MAX_KEY_FILE_BYTES = 64 << 10


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

        For what a server sends back; see :func:`rapido_cli.transport.answer.scrub`.
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
            hint=f"set {KEY_ENV}, or keep the key elsewhere: `rapido profile set NAME key env:VAR` (or file:PATH); "
            "or choose another backend (PYTHON_KEYRING_BACKEND, `keyring --list-backends`)",
        ) from None


def keyring_get(profile: str, timeout: float | None = None) -> str | None:
    """The key stored for ``profile`` in the system keyring, or None. Raises ConfigError on failure."""
    import keyring

    value: str | None = _keyring_call(
        "read the key",
        lambda: keyring.get_password(KEYRING_SERVICE, profile),
        timeout,
        f"set {KEY_ENV}, or keep the key elsewhere: `rapido profile set {profile} key env:VAR` (or file:PATH)",
    )
    return value


def keyring_set(profile: str, key: str, timeout: float | None = None) -> None:
    """Store ``key`` for ``profile`` in the system keyring."""
    import keyring

    _keyring_call(
        "store the key",
        lambda: keyring.set_password(KEYRING_SERVICE, profile, key),
        timeout,
        f"keep the key elsewhere: `rapido profile set {profile} key file:PATH` (chmod 600) or `... key env:VAR`",
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
                hint=f"export {var}=..., or change where the key is: `rapido profile set {profile} key keyring`",
            )
        return check_key_value(value, f"${var}"), f"env:{var}"
    if spec.startswith("command:"):
        return _read_key_command(spec[8:].strip(), profile, environ), "command"
    if spec.startswith("file:"):
        path = Path(os.path.expandvars(spec[5:].strip())).expanduser()
        if not path.is_absolute():
            path = config_path.parent / path
        try:
            if group_or_world_readable(path):
                raise ConfigError(
                    f"key file {path} is readable by group or others (mode {file_mode(path)})",
                    hint=f"chmod 600 {path}",
                )
            from rapido_cli import fs

            # A regular file only, size-capped, opened without blocking: never a FIFO or a device.
            value = fs.read_limited(path, limit=MAX_KEY_FILE_BYTES, what="key file").decode("utf-8").strip()
        except FileNotFoundError:
            raise ConfigError(
                f"key file {path} does not exist",
                hint=f"write it with `rapido profile set-key {profile}`, or point elsewhere: "
                f"`rapido profile set {profile} key file:PATH`",
            ) from None
        except UsageError as exc:
            if not path.exists():
                raise ConfigError(
                    f"key file {path} does not exist",
                    hint=f"write it with `rapido profile set-key {profile}`, or point elsewhere: "
                    f"`rapido profile set {profile} key file:PATH`",
                ) from None
            raise ConfigError(
                f"key file {exc.message}", hint=f"`key: file:` names a plain file (`rapido profile set {profile} key`)"
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


def store_in_keyring(profile: str, key: Secret, timeout: float | None = None) -> None:
    """Store ``key`` for ``profile`` in the keyring and read it back.

    Some backends accept a write and keep nothing (a misconfigured chainer): a key that does not
    come back is a ConfigError, not a silent success.
    """
    keyring_set(profile, key.reveal(), timeout)
    if keyring_get(profile, timeout) != key.reveal():
        raise ConfigError(
            "the keyring accepted the key but does not return it", hint="check the keyring backend (keyring --list)"
        )


def key_file_path(spec: str, config_path: Path) -> Path:
    """The file a ``file:PATH`` key source names (relative paths are relative to the profiles file)."""
    path = Path(os.path.expandvars(spec.strip()[5:].strip())).expanduser()
    return path if path.is_absolute() else config_path.parent / path


def write_key_file(path: Path, key: Secret) -> None:
    """Write ``key`` to ``path``: atomically, mode 0600, never through a link."""
    from rapido_cli.fs import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, key.reveal() + "\n")
