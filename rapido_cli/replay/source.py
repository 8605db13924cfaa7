"""The inputs replay (and ``send --file``) read, through the same readers as ``rapido validate``.

* JSON Lines (``.jsonl``/``.ndjson``) is streamed line by line by the engine (constant memory).
* A ``.json`` file (one object or an array) and YAML (``.yaml``/``.yml``: one document, a list, or
  several documents) are read whole, with :func:`rapido_cli.validate._readers.read_json` and
  :func:`~rapido_cli.validate._readers.read_yaml` (line numbers, YAML aliases bounded), and are
  sent only when the whole document parses: :func:`load_document` raises a :class:`DataError`
  naming ``FILE:LINE`` otherwise, before anything is sent.
* Standard input, or a file without one of those extensions, is sniffed from its first bytes
  (:func:`rapido_cli.validate._readers.sniff`), without losing them (:func:`prepare`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Literal

import orjson

from rapido_cli.errors import DataError, UsageError
from rapido_cli.safeyaml import MAX_DEPTH, json_depth_ok
from rapido_cli.text import inert
from rapido_cli.validate import FORMATS, format_for
from rapido_cli.validate._readers import Item, read_json, read_yaml, sniff

Format = Literal["json", "jsonl", "yaml"]

#: A .json or YAML input is parsed whole before anything is sent: beyond this size, use JSON Lines.
MAX_DOCUMENT_BYTES = 128 << 20
#: ``send --file`` reads one event: a file larger than this is refused before parsing.
MAX_SINGLE_EVENT_FILE_BYTES = 1 << 20

__all__ = [
    "FORMATS",
    "MAX_DOCUMENT_BYTES",
    "DocumentEvent",
    "Format",
    "load_document",
    "prepare",
    "read_event_file",
]


class _Prefixed(io.RawIOBase):
    """``head`` followed by the rest of ``stream``: bytes read for sniffing are given back."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._pos = 0
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._pos < len(self._head):
            n = min(len(b), len(self._head) - self._pos)
            b[:n] = self._head[self._pos : self._pos + n]
            self._pos += n
            return n
        read1 = getattr(self._stream, "read1", None)
        data = read1(len(b)) if read1 is not None else self._stream.read(len(b))
        n = len(data)
        b[:n] = data
        return n


def prepare(stream: IO[bytes], source: str, fmt: Format | None = None) -> tuple[Format, IO[bytes]]:
    """The input's format (given, else by extension, else sniffed) and a stream to read it from."""
    if fmt is None:
        fmt = format_for(source)
    if fmt is not None:
        return fmt, stream
    from rapido_cli.validate import _read_head

    head = _read_head(stream)
    sniffed: Format = sniff(head)
    return sniffed, io.BufferedReader(_Prefixed(head, stream), 1 << 16)  # type: ignore[arg-type]


@dataclass(slots=True)
class DocumentEvent:
    """One event of a JSON or YAML document: where it starts, the value, how to find a field's line."""

    line: int
    obj: Any
    item: Item

    def line_of(self, path: str) -> int:
        """The line of the field at ``path`` (the event's first line when unknown)."""
        if path and self.item.locate is not None:
            return self.item.locate(path)
        return self.line


def _items(data: bytes, fmt: Format) -> Iterator[Item]:
    if fmt == "json":
        return read_json(data)
    if fmt == "yaml":
        return read_yaml(data)
    return _jsonl_items(data)


def _jsonl_items(data: bytes) -> Iterator[Item]:
    from rapido_cli.validate._readers import diagnose_line

    for n, raw in enumerate(data.splitlines(), 1):
        if not raw.strip() or raw.strip() == b"\xef\xbb\xbf":
            continue
        try:
            obj = orjson.loads(raw.removeprefix(b"\xef\xbb\xbf") if n == 1 else raw)
        except orjson.JSONDecodeError:
            parsed, obj, message = diagnose_line(raw)
            if not parsed:
                yield Item(n, False, message=message)
                continue
        yield Item(n, True, obj=obj)


def _too_deep(obj: Any) -> bool:
    return not json_depth_ok(obj)


def load_document(data: bytes, fmt: Format, source: str) -> list[DocumentEvent]:
    """Every event of a whole JSON/YAML document, or a :class:`DataError` at the first ``FILE:LINE``
    that does not parse (nothing of such a file is sent).

    Events nested deeper than the readers' limit are read problems too: the depth is checked
    without recursion, so a hostile file cannot exhaust the stack.
    """
    events: list[DocumentEvent] = []
    problems: list[Item] = []
    for item in _items(data, fmt):
        if item.parsed and _too_deep(item.obj):
            item = Item(item.line, False, message=f"nested more than {MAX_DEPTH} levels deep")
        if not item.parsed:
            if item.severity == "error":
                problems.append(item)
            continue
        events.append(DocumentEvent(item.line, item.obj, item))
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise DataError(
            f"{inert(source)}:{first.line}: {inert(first.message, limit=300)}{more}",
            hint=f"nothing was sent: a {fmt.upper()} file is sent only when all of it parses; "
            f"`rapido validate {source}` lists every problem",
        )
    return events


def read_document(stream: IO[bytes], fmt: Format, source: str) -> list[DocumentEvent]:
    """Read a whole document from ``stream`` (at most :data:`MAX_DOCUMENT_BYTES`) and load it."""
    data = stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise UsageError(
            f"{source}: a {fmt.upper()} file larger than {MAX_DOCUMENT_BYTES >> 20} MiB is not read whole",
            hint="write the events as JSON Lines (.jsonl), which replay streams in constant memory",
        )
    return load_document(data, fmt, source)


def read_event_file(path: str, *, stdin: IO[bytes] | None = None) -> dict[str, Any]:
    """The one event of ``path`` (``-``: standard input) for ``send --file``.

    Same readers and limits as replay and validate (format by extension, else sniffed). Raises
    :class:`DataError` when it does not parse or is not an object, :class:`UsageError` when it holds
    several events (use ``rapido replay``), is missing, or is larger than 1 MiB.
    """
    if path == "-":
        import sys

        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read(MAX_SINGLE_EVENT_FILE_BYTES + 1)
        if len(data) > MAX_SINGLE_EVENT_FILE_BYTES:
            raise UsageError(f"standard input: more than {MAX_SINGLE_EVENT_FILE_BYTES:,} bytes for one event")
        name = "<stdin>"
        fmt: Format | None = None
    else:
        from rapido_cli.fs import read_limited

        data = read_limited(path, limit=MAX_SINGLE_EVENT_FILE_BYTES, what="event file")
        name = path
        fmt = format_for(path)
    if fmt is None:
        fmt = sniff(data)
    events = load_document(data, fmt, name)
    if len(events) > 1:
        raise UsageError(
            f"{name} holds {len(events)} events: use `rapido replay {name}`",
            hint="`send --file` sends exactly one event; replay sends many, with a journal",
        )
    if not events:
        raise DataError(f"{name}: no event in this file", hint="give a JSON object or a YAML mapping")
    event = events[0].obj
    if not isinstance(event, dict):
        raise DataError(
            f"{name}:{events[0].line}: expected one event object, found {type(event).__name__}",
        )
    return event
