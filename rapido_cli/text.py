"""Inert rendering of foreign text: one helper for every string that came from a server or a file.

Such a string may carry terminal escape sequences (set the window title, clear the screen), bidi
controls that reorder what the operator reads, or rich markup (``[link=...]``). Before display it
passes through :func:`inert`: control characters become visible escapes (``\\x1b``), so nothing is
interpreted by the terminal. :func:`inert_markup` additionally escapes rich markup for text that is
printed through a console with markup enabled. This module imports neither rich nor typer.
"""

from __future__ import annotations

import re

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
