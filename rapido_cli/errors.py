"""Exit codes and the domain errors that carry them.

Every error a user can cause is a :class:`RapidoError` with an exit code and a hint; one
boundary (``rapido_cli.cli.common.common_options``) turns it into a message on stderr. Anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit codes (README, "Exit codes"): scripts and cron jobs act on them."""

    OK = 0
    DATA = 1  # rejected or invalid data: retrying will not help
    USAGE = 2  # unknown option, missing file
    CONFIG = 3  # missing profile or key, HTTP 401/403, wrong endpoint, TLS, unconfirmed 2xx
    IOERR = 74  # local I/O failure: disk full, journal or output file unwritable, damaged or removed
    TEMPFAIL = 75  # network, timeouts, 429/5xx after retries, journal locked
    INTERRUPTED = 130  # Ctrl-C / SIGTERM after saving progress


class RapidoError(Exception):
    """Base of every error a user can cause. ``str(err)`` is the one-line message."""

    exit_code: ExitCode = ExitCode.DATA

    def __init__(self, message: str, *, hint: str | None = None, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class DataError(RapidoError):
    """The data is wrong: fix it, retrying will not help (exit 1)."""

    exit_code = ExitCode.DATA


class UsageError(RapidoError):
    """A bad flag, a missing or unreadable file (exit 2)."""

    exit_code = ExitCode.USAGE


class ConfigError(RapidoError):
    """Profile, configuration or credentials problem (exit 3)."""

    exit_code = ExitCode.CONFIG


class TemporaryError(RapidoError):
    """Try again later: network, timeouts, overload, a held lock (exit 75)."""

    exit_code = ExitCode.TEMPFAIL


class LocalIOError(RapidoError):
    """A local file could not be read or written as needed: disk full, damaged journal (exit 74)."""

    exit_code = ExitCode.IOERR


class FieldError(DataError):
    """A value for one named field is wrong (used by the builders; ``field`` names it).

    Core code names fields, never flags or columns: ``field`` is the builder's name for the value
    (``check_in``, ``amount``), and other fields a message mentions are written ``{name}`` and
    listed in ``refs``. The CLI renders them in its own words with :meth:`render` (``--check-in``
    for ``send-booking``, the export's header for ``build``); ``str(err)`` uses the field names.
    ``kind`` says what went wrong for callers that react to it: ``"invalid"`` (a bad value),
    ``"required"`` (absent), ``"conflict"`` (given together with one of ``refs``), ``"order"``
    (before or after one of ``refs``).
    """

    def __init__(
        self,
        field: str,
        message: str,
        *,
        hint: str | None = None,
        refs: tuple[str, ...] = (),
        kind: str = "invalid",
    ) -> None:
        self.field = field
        self.template = message
        self.hint_template = hint
        self.refs = refs
        self.kind = kind
        reason, plain_hint = self.render(lambda name: name)
        super().__init__(f"{field}: {reason}", hint=plain_hint)
        self.reason = reason

    def render(self, name: Callable[[str], str]) -> tuple[str, str | None]:
        """``(reason, hint)`` with each ``{field}`` of ``refs`` written as ``name(field)``."""

        def fill(text: str) -> str:
            for ref in self.refs:
                text = text.replace("{" + ref + "}", name(ref))
            return text

        return fill(self.template), (fill(self.hint_template) if self.hint_template is not None else None)


class SettingError(UsageError):
    """A bad setting named by its field (``latency_ms``), not by a flag: exit 2.

    The CLI words it as its option with :meth:`render`, as for :class:`FieldError`.
    """

    def __init__(self, field: str, message: str, *, hint: str | None = None, refs: tuple[str, ...] = ()) -> None:
        self._words = FieldError(field, message, hint=hint, refs=refs)
        super().__init__(self._words.message, hint=self._words.hint)
        self.field = field
        self.reason = self._words.reason

    def render(self, name: Callable[[str], str]) -> tuple[str, str | None]:
        """The reason and hint with each field written by ``name`` (see :meth:`FieldError.render`)."""
        return self._words.render(name)
