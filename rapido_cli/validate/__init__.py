"""Validate event files: JSON, JSON Lines and YAML readers with line numbers, plus the rules.

Library interface (prints nothing; the CLI renders the :class:`Report`):

* :func:`validate_paths` ``(paths, kind="server", strict=False) -> Report``: every file (``"-"`` is
  standard input), duplicate event ids within and across the files, problems with their lines.
* :func:`check_jsonl_line` ``(raw, kind="server") -> (event | None, problems)``: one JSON Lines
  line, for streaming consumers such as ``replay``; BOM and CRLF tolerant, a blank line gives
  ``(None, [])``, never raises.
* :class:`Validator`: the same engine, fed file by file or stream by stream.

JSON Lines are streamed line by line (constant memory); ``.json`` and YAML files are read whole.
Duplicate ids are tracked as 64-bit hashes in a compact table, not as strings.
"""

from __future__ import annotations

import bisect
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from rapido_cli.contract import MAX_EVENT_BYTES
from rapido_cli.rules import Problem, Severity, check_pwa_event, check_server_event
from rapido_cli.validate._idtable import IdTable
from rapido_cli.validate._readers import BOM, Item, diagnose_line, read_json, read_yaml, sniff

__all__ = [
    "FORMATS",
    "FileProblem",
    "FileSummary",
    "Kind",
    "Report",
    "Validator",
    "check_jsonl_line",
    "format_for",
    "validate_paths",
]

Kind = Literal["server", "pwa"]
Format = Literal["json", "jsonl", "yaml"]
FORMATS: dict[str, Format] = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
}
STDIN_NAME = "-"
_NOT_EVENTS = frozenset({".csv", ".tsv"})
#: .json and YAML inputs are read whole; beyond this size they are refused (JSON Lines stream).
MAX_WHOLE_FILE_BYTES = 512 << 20
#: Problems kept in a report; beyond this they are only counted (memory stays bounded).
DEFAULT_MAX_PROBLEMS = 100_000

_CHECKS: dict[str, Callable[..., list[Problem]]] = {"server": check_server_event, "pwa": check_pwa_event}


def _checker(kind: str) -> Callable[..., list[Problem]]:
    try:
        return _CHECKS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r} (server or pwa)") from None


def check_jsonl_line(raw: bytes | str, kind: Kind = "server") -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse and check one JSON Lines line; return ``(event or None, problems)``; never raises.

    ``raw`` may carry its line end (``\\n`` or ``\\r\\n``) and, on a first line, a UTF-8 BOM.
    A blank line gives ``(None, [])``; a line that is not JSON gives ``(None, [problem])``; a
    line that is JSON but not an object (an array, a bare string) gives ``(None, [problem])``.
    Problem paths are field paths (``attributes.start_time``); the caller knows the line.
    """
    check: Callable[..., list[Problem]] = _CHECKS.get(kind, check_server_event)
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
        parsed, obj, message = diagnose_line(data)
        if not parsed:
            return None, ([Problem("", message)] if message else [])
        raw = data
    size = len(raw)  # bytes, or characters of a str (up to 4 bytes each in UTF-8)
    if size > MAX_EVENT_BYTES or (size * 4 > MAX_EVENT_BYTES and isinstance(raw, str)):
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
        size = len(data.removeprefix(BOM).strip())
    problems = check(obj, size=size)
    return (obj if isinstance(obj, dict) else None), problems


def format_for(name: str) -> Format | None:
    """The format a file name implies (by extension), or None when it must be sniffed."""
    return FORMATS.get(Path(name).suffix.lower())


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A problem at ``file:line`` (line 0: the file as a whole, e.g. unreadable)."""

    file: str
    line: int
    path: str
    message: str
    severity: Severity

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` shape."""
        return {
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(slots=True)
class FileSummary:
    """Counts for one input."""

    file: str
    format: str = ""
    events: int = 0
    errors: int = 0
    warnings: int = 0
    readable: bool = True


@dataclass
class Report:
    """What :func:`validate_paths` found. ``valid`` follows ``strict``; nothing is printed."""

    kind: str = "server"
    strict: bool = False
    files: list[FileSummary] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    omitted: int = 0

    @property
    def events(self) -> int:
        return sum(f.events for f in self.files)

    @property
    def errors(self) -> int:
        return sum(f.errors for f in self.files)

    @property
    def warnings(self) -> int:
        return sum(f.warnings for f in self.files)

    @property
    def unreadable(self) -> list[str]:
        return [f.file for f in self.files if not f.readable]

    @property
    def valid(self) -> bool:
        """No errors (warnings count as errors under ``strict``) and every file readable."""
        return not self.unreadable and self.errors == 0

    @property
    def exit_code(self) -> int:
        """0 valid, 1 invalid data, 2 an unreadable or missing file."""
        if self.unreadable:
            return 2
        return 0 if self.valid else 1

    def to_json(self) -> dict[str, Any]:
        """``{"valid", "files", "events", "problems": [...]}`` plus counts and per-file summaries."""
        return {
            "valid": self.valid,
            "files": len(self.files),
            "events": self.events,
            "errors": self.errors,
            "warnings": self.warnings,
            "problems": [p.to_json() for p in self.problems],
            "omitted_problems": self.omitted,
            "kind": self.kind,
            "strict": self.strict,
            "summary": [
                {
                    "file": f.file,
                    "format": f.format,
                    "events": f.events,
                    "errors": f.errors,
                    "warnings": f.warnings,
                    "readable": f.readable,
                }
                for f in self.files
            ],
        }


class Validator:
    """Validates inputs one after another, remembering event ids across them."""

    def __init__(self, kind: Kind = "server", *, strict: bool = False, max_problems: int = DEFAULT_MAX_PROBLEMS):
        self.check = _checker(kind)
        self.report = Report(kind=kind, strict=strict)
        self.max_problems = max_problems
        self._ids: IdTable | None = IdTable() if kind == "server" else None
        # Duplicate-id locations are 32-bit "global lines": lines of earlier inputs plus the line.
        self._line_base = 0
        self._bases: list[int] = []

    def _add_file(self, fs: FileSummary) -> None:
        if any(f is fs for f in self.report.files):
            return
        self.report.files.append(fs)
        self._bases.append(self._line_base)

    # -- emitting ---------------------------------------------------------------------------
    def _emit(self, fs: FileSummary, line: int, path: str, message: str, severity: Severity) -> None:
        if severity == "warning" and self.report.strict:
            severity = "error"
        if severity == "error":
            fs.errors += 1
        else:
            fs.warnings += 1
        if len(self.report.problems) < self.max_problems:
            self.report.problems.append(FileProblem(fs.file, line, path, message, severity))
        else:
            self.report.omitted += 1

    def _where(self, loc: int) -> str:
        if loc <= 0:
            return "an earlier event"
        index = bisect.bisect_left(self._bases, loc) - 1
        return f"{self.report.files[index].file}:{loc - self._bases[index]}"

    def _duplicate(self, obj: Any, loc: int) -> int:
        """The earlier location of this event's id, or -1 (also -1 when it has no usable id)."""
        ev = obj.get("event") if type(obj) is dict else None
        if type(ev) is not dict:
            return -1
        eid = ev.get("id")
        if type(eid) is not str or not eid or self._ids is None:
            return -1
        return self._ids.add(hash(eid), loc)

    # -- inputs -----------------------------------------------------------------------------
    def validate_path(self, path: str | Path, *, stdin: IO[bytes] | None = None, fmt: Format | None = None) -> None:
        """Validate one file (``"-"``: ``stdin``, default the process's standard input).

        A directory stands for the event files under it (by extension, hidden ones skipped).
        """
        name = str(path)
        if name == STDIN_NAME:
            stream = stdin if stdin is not None else sys.stdin.buffer
            self.validate_stream(STDIN_NAME, stream, fmt)
            return
        if os.path.isdir(name):
            found = _event_files(Path(name))
            if not found:
                fs = FileSummary(name, format="dir")
                self._add_file(fs)
                self._emit(fs, 0, "", f"no {', '.join(FORMATS)} files in this directory", "warning")
            for child in found:
                self.validate_path(child, fmt=fmt)
            return
        fs = FileSummary(name)
        try:
            f = open(name, "rb", buffering=1 << 20)  # noqa: SIM115 - closed below
        except OSError as exc:
            self._unreadable(fs, exc)
            return
        try:
            self._run(fs, f, fmt or format_for(name))
        except OSError as exc:  # e.g. a directory, or an I/O error mid-file
            self._unreadable(fs, exc)
        finally:
            f.close()

    def validate_stream(self, name: str, stream: IO[bytes], fmt: Format | None = None) -> None:
        """Validate a binary stream; the format is sniffed from its first bytes when not given."""
        fs = FileSummary(name)
        try:
            self._run(fs, stream, fmt)
        except OSError as exc:
            self._unreadable(fs, exc)

    def _unreadable(self, fs: FileSummary, exc: OSError) -> None:
        fs.readable = False
        self._add_file(fs)
        reason = exc.strerror or str(exc)
        if isinstance(exc, IsADirectoryError):
            reason = "is a directory"
        self._emit(fs, 0, "", f"cannot read: {reason}", "error")

    def _run(self, fs: FileSummary, stream: IO[bytes], fmt: Format | None) -> None:
        self._add_file(fs)
        head = b""
        if fmt is None and Path(fs.file).suffix.lower() in _NOT_EVENTS:
            self._emit(
                fs,
                1,
                "",
                "a CSV file holds booking rows, not events: turn it into events with "
                "`rapido build flight|hotel --csv FILE`, or pass --format if it really is JSON/YAML",
                "error",
            )
            return
        if fmt is None:
            head = _read_head(stream)
            fmt = sniff(head)
        assert fmt is not None
        fs.format = fmt
        if fmt == "jsonl":
            self._run_jsonl(fs, _lines(head, stream))
            return
        # .json and YAML are read whole (their structure spans the file): refuse what would not fit.
        data = head + stream.read(MAX_WHOLE_FILE_BYTES + 1 - len(head))
        if len(data) > MAX_WHOLE_FILE_BYTES:
            self._emit(
                fs,
                1,
                "",
                f"a {fmt.upper()} file larger than {MAX_WHOLE_FILE_BYTES >> 20} MiB is not read whole: "
                "write the events as JSON Lines (.jsonl), which is streamed",
                "error",
            )
            return
        items = read_json(data) if fmt == "json" else read_yaml(data)
        self._run_items(fs, items)

    def _run_jsonl(self, fs: FileSummary, lines: Iterable[bytes]) -> None:
        # The hot loop: keep attribute look-ups out of it.
        check = self.check
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        emit = self._emit
        track = self._ids is not None
        duplicate = self._duplicate
        base = self._line_base
        limit = MAX_EVENT_BYTES
        lineno = 0
        events = 0
        store: bool | None = None  # a `rapido sandbox --store` file: check the events it recorded
        kind = self.report.kind
        try:
            for raw in lines:
                lineno += 1
                try:
                    obj = loads(raw)
                except decode_error:
                    parsed, obj, message = diagnose_line(raw)
                    if not parsed:
                        if message:
                            emit(fs, lineno, "", message, "error")
                        continue
                n = len(raw)
                size: int | None
                if store is None:
                    store = _is_store_record(obj)
                    if store:
                        fs.format = "jsonl (sandbox store)"
                if store:
                    if type(obj) is not dict or obj.get("flow") != kind:
                        continue  # the other flow, or a correlation finding
                    obj = obj.get("event")
                    size = None
                else:
                    size = n if n <= limit else len(raw.removeprefix(BOM).strip())
                events += 1
                problems = check(obj, size=size)
                if problems:
                    for p in problems:
                        emit(fs, lineno, p.path, p.message, p.severity)
                if track:
                    prev = duplicate(obj, base + lineno)
                    if prev >= 0:
                        emit(fs, lineno, "event.id", self._dup_message(obj, prev), "error")
        finally:
            # Also after a read error midway, so later inputs' locations stay apart.
            fs.events += events
            self._line_base += lineno
        if events == 0 and fs.errors == 0:
            emit(fs, max(lineno, 1), "", "no events in this file", "warning")

    def _dup_message(self, obj: Any, prev: int) -> str:
        return f"duplicate event id {obj['event']['id']!r} (first used at {self._where(prev)})"

    def _run_items(self, fs: FileSummary, items: Iterator[Item]) -> None:
        check = self.check
        track = self._ids is not None
        base = self._line_base
        last_line = 0
        for item in items:
            last_line = max(last_line, item.line)
            if not item.parsed:
                self._emit(fs, item.line, "", item.message, item.severity)
                continue
            fs.events += 1
            problems = check(item.obj, size=item.size)
            locate = item.locate
            for p in problems:
                line = locate(p.path) if (locate is not None and p.path) else item.line
                self._emit(fs, line, p.path, p.message, p.severity)
            if track:
                # The table remembers where the event starts; the id's own line is looked up
                # only for a duplicate (locating is far slower than checking).
                prev = self._duplicate(item.obj, base + item.line)
                if prev >= 0:
                    id_line = locate("event.id") if locate is not None else item.line
                    self._emit(fs, id_line, "event.id", self._dup_message(item.obj, prev), "error")
        self._line_base += last_line
        if fs.events == 0 and fs.errors == 0:
            self._emit(fs, 1, "", "no events in this file", "warning")


def _is_store_record(obj: Any) -> bool:
    """Whether ``obj`` is a record of a ``rapido sandbox --store`` file (the event wrapped)."""
    return type(obj) is dict and obj.keys() >= {"flow", "received_at", "event"}


def _event_files(root: Path) -> list[Path]:
    """Files under ``root`` with an event extension, sorted, skipping hidden files and folders."""
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if p.suffix.lower() in FORMATS and not any(part.startswith(".") for part in rel) and p.is_file():
            out.append(p)
    return sorted(out)


def _read_head(stream: IO[bytes], limit: int = 1 << 20) -> bytes:
    """The first bytes of a stream: at least one whole line (up to ``limit``), for sniffing."""
    parts: list[bytes] = []
    total = 0
    while total < limit:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
        if b"\n" in chunk:
            break
    return b"".join(parts)


def _lines(head: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of ``head`` followed by the rest of ``stream`` (``head`` may end mid-line)."""
    if not head:
        yield from stream
        return
    pieces = head.split(b"\n")
    pending = pieces.pop()  # what follows the last newline: a partial line, or b""
    for piece in pieces:
        yield piece + b"\n"
    for line in stream:
        if pending:
            yield pending + line
            pending = b""
        else:
            yield line
    if pending:
        yield pending


def validate_paths(
    paths: Iterable[str | Path],
    kind: Kind = "server",
    strict: bool = False,
    *,
    stdin: IO[bytes] | None = None,
    fmt: Format | None = None,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
) -> Report:
    """Validate files (``"-"`` for standard input) and return the :class:`Report`; prints nothing.

    Event ids are checked for duplicates within and across the files (server kind). ``fmt``
    forces a format for every input; by default it follows the extension, and inputs without a
    known one (standard input included) are sniffed.
    """
    v = Validator(kind, strict=strict, max_problems=max_problems)
    for p in paths:
        v.validate_path(p, stdin=stdin, fmt=fmt)
    return v.report
