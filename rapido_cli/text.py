"""Inert rendering of foreign text: one helper for every string that came from a server or a file.

Such a string may carry terminal escape sequences (set the window title, clear the screen), bidi
controls that reorder what the operator reads, or rich markup (``[link=...]``). Before display it
passes through :func:`inert`: control characters become visible escapes (``\\x1b``), so nothing is
interpreted by the terminal. :func:`inert_markup` additionally escapes rich markup for text that is
printed through a console with markup enabled. This module imports neither rich nor typer.
"""

from __future__ import annotations

import re
from datetime import datetime

#: C0 and C1 controls (tab and newline included: foreign text is shown on one line), DEL, and the
#: Unicode line separators and bidi overrides/isolates that can make a line read differently.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_NL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: What rich would read as a markup tag (same pattern as ``rich.markup.escape``).
_MARKUP_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def _visible(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: object, *, keep_newlines: bool = False, limit: int | None = None) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), safe for any terminal.

    ``keep_newlines`` keeps ``\\n`` (for multi-line bodies shown at ``-v``); ``limit`` cuts the result
    to that many characters, marking the cut with ``…``.
    """
    s = text if isinstance(text, str) else str(text)
    if limit is not None and len(s) > limit:
        s = s[:limit] + "…"
    return (_CONTROL_KEEP_NL if keep_newlines else _CONTROL).sub(_visible, s)


def inert_markup(text: object, *, keep_newlines: bool = False, limit: int | None = None) -> str:
    """:func:`inert`, and rich markup escaped, for a console that prints with ``markup=True``."""
    s = inert(text, keep_newlines=keep_newlines, limit=limit)

    def escape(m: re.Match[str]) -> str:
        backslashes, tag = m.group(1), m.group(2)
        return f"{backslashes}{backslashes}\\{tag}"

    s = _MARKUP_TAG.sub(escape, s)
    if s.endswith("\\") and not s.endswith("\\\\"):
        s += "\\"
    return s


def inert_bytes(data: bytes, *, limit: int = 200) -> str:
    """The first ``limit`` bytes of a foreign body as inert text (undecodable bytes as ``\\xNN``)."""
    head = data[:limit].decode("utf-8", errors="backslashreplace")
    return inert(head) + ("…" if len(data) > limit else "")


#: What ``json.dumps(..., ensure_ascii=False)`` leaves literal although a terminal may act on it:
#: DEL, C1 controls (U+009B is a one-character CSI), line separators and bidi controls.
_JSON_LITERAL_CONTROL = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_inert(json_text: str) -> str:
    """Serialized JSON with the controls JSON leaves literal written as ``\\uXXXX`` escapes.

    The value is unchanged for any JSON reader (``"\\u009b"`` and a literal U+009B are the same
    string); only the bytes a terminal would interpret are gone. Such characters occur only inside
    JSON strings, so the replacement cannot break the document.
    """
    return _JSON_LITERAL_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)


#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A plain decimal number (``-12.5``, ``+3``, ``1e5``): a spreadsheet reads it as a number, not a formula.
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def csv_safe(cell: object) -> str:
    """A CSV cell that a spreadsheet will not run: a leading ``'`` when it starts like a formula.

    For CSV meant to be opened in a spreadsheet (``build --rejects``, ``history --output-format
    csv``); TSV, JSON and tables keep raw values. A cell starting with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return gets the ``'`` prefix OWASP recommends, except a plain number such
    as ``-12.5``, which a spreadsheet reads as a number and which must stay one. None is empty.
    """
    if cell is None:
        return ""
    s = cell if isinstance(cell, str) else str(cell)
    if s.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(s):
        return "'" + s
    return s


def iso_utc(when: datetime | float, *, timespec: str = "milliseconds") -> str:
    """A moment as ISO 8601 in UTC with a ``Z``: ``2026-11-30T02:14:07.123Z`` (or ``timespec="seconds"``).

    ``when`` is an aware datetime (a naive one is taken as UTC) or Unix seconds. The one time
    formatter for journals, answers, the sandbox's records and the trigger's timestamps.
    """
    from datetime import UTC
    from datetime import datetime as _datetime

    dt = when if isinstance(when, _datetime) else _datetime.fromtimestamp(when, UTC)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def mask(value: str) -> str:
    """A secret shown by its last 4 characters (``****abcd``; all stars when too short to show any)."""
    if len(value) < 8:
        return "****"
    return "****" + value[-4:]
