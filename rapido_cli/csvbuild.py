"""Booking exports (CSV) -> events: column maps, header planning, one result per row. Prints nothing.

Every row goes through :func:`rapido_cli.build.build_booking`, the builder ``send-booking`` uses,
with the same field names (the option names without dashes), so a row and the equivalent flags give
byte-identical events, ids included. The builder's errors name fields; here they are worded as the
export's columns.

Times without an offset are read in the row's ``tz`` cell, else ``tz`` given to
:class:`BookingCsv` (``build --tz``), else the map's ``defaults: tz:``, else as the builder does
(each airport's zone for flights given by IATA code, else Asia/Kolkata). Each good row's
:class:`RowResult` says which zone its local times were read in.

Numbering, used in every message: ``row N`` is the N-th record after the header (the header is not
counted, blank records are), ``line L`` is the line of the file where that record starts (the
header is line 1). A record with a quoted multi-line value spans several lines; its ``line`` is the
first.

Typical use::

    with open_csv("export.csv") as stream:
        reader = BookingCsv(stream, "flight", ColumnMap.load("map.yaml"), name="export.csv")
        for result in reader:
            if result.ok:
                out.write(event_line(result.event) + "\\n")
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import itertools
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from rapido_cli.build import BookingKind, LocalTime, build_booking
from rapido_cli.errors import DataError, FieldError, UsageError
from rapido_cli.rules import check_server_event

__all__ = [
    "COLUMNS",
    "COMMON_COLUMNS",
    "BadField",
    "BookingCsv",
    "ColumnMap",
    "CsvSource",
    "RowResult",
    "event_line",
    "normalize_header",
    "open_csv",
]

#: Columns every booking may have (the ``send-booking`` options without dashes).
COMMON_COLUMNS: tuple[str, ...] = (
    "user_id",
    "order_id",
    "amount",
    "status",
    "type",
    "tz",
    "host_status",
    "event_id",
)
#: The columns each kind understands, in the order ``rapido build --help`` lists them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "flight": (
        *COMMON_COLUMNS,
        "from",
        "to",
        "origin",
        "dest",
        "origin_lat",
        "origin_long",
        "dest_lat",
        "dest_long",
        "depart",
        "arrive",
    ),
    "hotel": (*COMMON_COLUMNS, "location", "location_lat", "location_long", "check_in", "check_out"),
}
ALL_COLUMNS: frozenset[str] = frozenset(itertools.chain.from_iterable(COLUMNS.values()))

#: Required columns: each entry is a list of alternatives, each alternative a set of columns.
_REQUIRED: dict[str, tuple[tuple[tuple[str, ...], ...], ...]] = {
    "flight": (
        (("user_id",),),
        (("order_id",),),
        (("amount",),),
        (("from",), ("origin",), ("origin_lat", "origin_long")),
        (("to",), ("dest",), ("dest_lat", "dest_long")),
        (("depart",),),
        (("arrive",),),
    ),
    "hotel": (
        (("user_id",),),
        (("order_id",),),
        (("amount",),),
        (("location",), ("location_lat", "location_long")),
        (("check_in",),),
        (("check_out",),),
    ),
}

#: A value that a field accepts, substituted after a field error so the builder goes on to find
#: the row's *other* bad fields (the final event is never built from these).
_STAND_IN: dict[str, str] = {
    "user_id": "x",
    "order_id": "x",
    "amount": "0",
    "status": "CONFIRMED",
    "type": "order.confirmed",
    "tz": "UTC",
    "host_status": "CONFIRMED",
    "from": "DEL",
    "to": "DEL",
    "origin": "0,0",
    "dest": "0,0",
    "origin_lat": "0",
    "origin_long": "0",
    "dest_lat": "0",
    "dest_long": "0",
    "location": "0,0",
    "location_lat": "0",
    "location_long": "0",
    "depart": "0",
    "check_in": "0",
    # 2100-01-01: after any plausible start, so "arrive is before depart" does not repeat.
    "arrive": "4102444800",
    "check_out": "4102444800",
}

_DELIMITERS = (",", ";", "\t", "|")

#: The column ``build --rejects`` adds with each bad row's errors; ignored silently when the fixed
#: rejects file is built again.
REJECTS_COLUMN = "rapido_error"


def normalize_header(text: str) -> str:
    """How headers are compared: case, surrounding spaces, and inner spaces/dashes don't matter.

    ``" Order ID "``, ``"order-id"`` and ``"ORDER_ID"`` all become ``"order_id"``.
    """
    return re.sub(r"[\s\-]+", "_", text.strip().casefold())


def event_line(event: Mapping[str, Any]) -> str:
    """One event as one JSON Lines record: the exact bytes ``send`` puts on the wire (compact, UTF-8).

    Kept equal to :func:`rapido_cli.transport.encode_event` (a test compares them byte for byte);
    defined here so ``build`` does not import the HTTP stack.
    """
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# column maps


@dataclass(frozen=True)
class ColumnMap:
    """Which export header holds each rapido column, and constant values for absent columns.

    MAP.yaml is either flat (``rapido name: export header``) or has two sections::

        columns:            # rapido name: the export's header
          user_id: Rapido UID
          order_id: Booking Ref
          amount: Total (INR)
        defaults:           # used when the export has no such column, or the cell is empty
          tz: Asia/Kolkata
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    source: str = "the column map"

    @classmethod
    def load(cls, path: str | Path) -> ColumnMap:
        """Read a MAP.yaml file (UsageError if missing or malformed).

        A regular file of at most 1 MiB, parsed with the bounded YAML loader (aliases and depth
        limited), so a FIFO, ``/dev/zero`` or a "billion laughs" map is refused at once.
        """
        import yaml

        from rapido_cli import fs, safeyaml

        p = Path(path)
        raw = fs.read_limited(p, what="column map file")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{p}: not UTF-8 text (byte {exc.start})") from None
        try:
            obj = safeyaml.load(text)
        except safeyaml.YamlLimitError as exc:
            raise UsageError(
                f"{p}:{exc.line}: not accepted: {exc}", hint="a column map needs no YAML aliases"
            ) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
            raise UsageError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
        return cls.from_obj(obj, str(p))

    @classmethod
    def from_obj(cls, obj: Any, source: str = "the column map") -> ColumnMap:
        """Check and build a map from parsed YAML (flat, or ``columns:``/``defaults:``)."""
        if obj is None:
            return cls(source=source)
        if not isinstance(obj, dict):
            raise UsageError(
                f"{source}: expected a mapping of rapido column names to your headers",
                hint="e.g.  order_id: Booking Ref",
            )
        sectioned = bool(obj) and set(obj) <= {"columns", "defaults"}
        raw_columns = obj.get("columns") if sectioned else obj
        raw_defaults = obj.get("defaults") if sectioned else None
        columns = _string_map(raw_columns, source, "columns")
        defaults = _string_map(raw_defaults, source, "defaults")
        for section, names in (("columns", columns), ("defaults", defaults)):
            for name in names:
                if name not in ALL_COLUMNS:
                    match = difflib.get_close_matches(name, sorted(ALL_COLUMNS), n=1)
                    guess = f"; did you mean {match[0]!r}?" if match else ""
                    raise UsageError(
                        f"{source}: {section}: {name!r} is not a rapido column{guess}",
                        hint="the keys are rapido names (" + ", ".join(COLUMNS["flight"] + COLUMNS["hotel"][8:]) + ")"
                        "; the values are your export's headers",
                    )
        seen: dict[str, str] = {}
        for name, header in columns.items():
            key = normalize_header(header)
            if key in seen:
                raise UsageError(f"{source}: {seen[key]!r} and {name!r} both map to the header {header!r}")
            seen[key] = name
        return cls(columns=columns, defaults=defaults, source=source)


def _string_map(obj: Any, source: str, section: str) -> dict[str, str]:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise UsageError(f"{source}: {section} must be a mapping (name: value)")
    out: dict[str, str] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not key.strip():
            raise UsageError(f"{source}: {section}: {key!r} is not a column name")
        if value is None or isinstance(value, dict | list) or (not isinstance(value, str) and section == "columns"):
            want = "a header name (a string; quote it if it looks like a number)" if section == "columns" else "a value"
            raise UsageError(f"{source}: {section}: {key}: expected {want}, got {value!r}")
        out[key.strip()] = value if isinstance(value, str) else str(value)
    return out


# ---------------------------------------------------------------------------------------------
# opening exports


class CsvSource:
    """Text lines of an export, decoded line by line so a decoding error names its line.

    Iterating yields lines with their endings (CRLF, LF, or a lone CR as old spreadsheet exports
    write), ready for :mod:`csv`. Use :func:`open_csv` to make one; it closes its file on exit.
    """

    _BREAK = re.compile(r"\r\n|\r|\n")

    def __init__(self, raw: IO[bytes], encoding: str, name: str, *, close: bool = True) -> None:
        self.raw = raw
        self.encoding = encoding
        self.name = name
        self._close = close
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self._pending: list[str] = []
        self._carry = ""  # the start of a line whose end has not been read yet
        self._lines = 0  # lines handed out so far
        self._eof = False

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying file (not standard input)."""
        if self._close:
            self.raw.close()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while not self._pending:
            if self._eof:
                raise StopIteration
            chunk = self.raw.readline()
            final = not chunk
            self._eof = final
            try:
                text = self._carry + self._decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                before = exc.object[: exc.start].decode(self.encoding, errors="replace")
                line = self._lines + 1 + len(self._BREAK.findall(before))
                byte = exc.object[exc.start : exc.start + 1].hex()
                raise DataError(
                    f"{self.name}: line {line}: not {self.encoding.removesuffix('-sig')} text (byte 0x{byte})",
                    hint="save the export as 'CSV UTF-8', or pass --encoding (e.g. cp1252, latin-1)",
                ) from None
            pieces = [p for p in _split_keep(text, self._BREAK) if p]
            self._carry = ""
            if not final and pieces and not pieces[-1].endswith("\n"):
                # No line end yet (a UTF-16 LF still half-read, or a CR that a LF may follow).
                self._carry = pieces.pop()
            pieces.reverse()
            self._pending = pieces
        self._lines += 1
        return self._pending.pop()

    def readline(self) -> str:
        """The next line ('' at the end), like a text file."""
        try:
            return next(self)
        except StopIteration:
            return ""


def _split_keep(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Split after each line break, keeping it."""
    out: list[str] = []
    pos = 0
    for m in pattern.finditer(text):
        out.append(text[pos : m.end()])
        pos = m.end()
    out.append(text[pos:])
    return out


def open_csv(path: str | Path, encoding: str | None = None) -> CsvSource:
    """Open an export (``"-"`` for standard input) as lines ready for :class:`BookingCsv`.

    Without ``encoding``: UTF-8 with or without a BOM, or UTF-16 when a UTF-16 BOM says so (what
    spreadsheet "Unicode text" exports write). Line endings are left to the CSV reader (CRLF, LF, CR).
    """
    name = "<stdin>" if str(path) == "-" else str(path)
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise UsageError(f"--encoding {encoding}: unknown encoding", hint="e.g. utf-8, cp1252, latin-1") from None
    if str(path) == "-":
        raw: IO[bytes] = sys.stdin.buffer
        close = False
    else:
        p = Path(path)
        if p.is_dir():
            raise UsageError(f"{p}: is a directory", hint="give the CSV file")
        try:
            raw = p.open("rb")
        except FileNotFoundError:
            raise UsageError(f"{p}: no such file", hint="check the path given to --csv") from None
        except OSError as exc:
            raise UsageError(f"{p}: cannot read: {exc.strerror}") from None
        close = True
    if encoding is None:
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type,type-var]
        head = buffered.peek(4)[:4]
        encoding = "utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
        raw = buffered
    return CsvSource(raw, encoding, name, close=close)


def _sniff_delimiter(line: str) -> str:
    """The most frequent of , ; TAB | outside quotes in the header line (``,`` when none)."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


# ---------------------------------------------------------------------------------------------
# rows


@dataclass(frozen=True)
class BadField:
    """One bad value in a row: the rapido ``field`` (``amount``; an event path such as
    ``attributes.start_time`` for what only the final check sees), the export's ``column``."""

    field: str
    column: str | None
    message: str
    hint: str | None = None

    def describe(self) -> str:
        """``amount (column 'Total'): 'abc' is not a number``."""
        where = self.field
        if self.column == "--tz" or (self.column or "").startswith("defaults in "):
            where += f" ({self.column})"
        elif self.column is not None and normalize_header(self.column) != self.field:
            where += f" (column {self.column!r})"
        return f"{where}: {self.message}"


#: Where a row's ``tz`` came from: its cell, ``build --tz``, or the map's ``defaults: tz:``.
TzOrigin = Literal["column", "option", "map"]


@dataclass(frozen=True)
class RowResult:
    """One data record: its event, or why it has none; ``warnings`` are for a good row.

    ``local_times``: the row's times without an offset and the zone each was read in;
    ``tz_origin``: where the row's ``tz`` came from, when it had one.
    """

    row: int
    line: int
    event: dict[str, Any] | None
    problems: tuple[BadField, ...] = ()
    warnings: tuple[str, ...] = ()
    record: tuple[str, ...] = ()  # the cells as read, for --rejects
    local_times: tuple[LocalTime, ...] = ()
    tz_origin: TzOrigin | None = None

    @property
    def ok(self) -> bool:
        """Whether the row gave an event."""
        return self.event is not None

    @property
    def where(self) -> str:
        """``row 4 (line 5)``."""
        return f"row {self.row} (line {self.line})"


class BookingCsv:
    """Read an export's header now (column errors are raised here, before any row), rows on iteration.

    Raises :class:`UsageError` (exit 2) when a required column is missing or a mapped header is
    not in the file; nothing is built then. Iterating yields one :class:`RowResult` per data
    record, blank records skipped; a record the CSV parser cannot read raises :class:`DataError`.
    """

    def __init__(
        self,
        stream: Iterable[str],
        kind: BookingKind,
        column_map: ColumnMap | None = None,
        *,
        name: str = "<stdin>",
        delimiter: str | None = None,
        tz: str | None = None,
    ) -> None:
        """``tz``: the zone of rows whose ``tz`` cell is empty or absent (before the map's default)."""
        self.kind = kind
        self.name = name
        self.map = column_map or ColumnMap()
        self.tz = tz.strip() if tz and tz.strip() else None
        # Blank lines before the header are tolerated; they still count as lines.
        self._offset = 0
        lines = iter(stream)
        first = self._read(lambda: next(lines, ""), 1)
        while first and not first.strip():
            self._offset += 1
            first = self._read(lambda: next(lines, ""), 1 + self._offset)
        if not first:
            raise UsageError(f"{name}: the file is empty (no header line)", hint="export with a header row")
        self.delimiter = delimiter or _sniff_delimiter(first)
        self._reader = csv.reader(itertools.chain([first], lines), delimiter=self.delimiter, skipinitialspace=True)
        header = self._next_record()
        if header is None:  # pragma: no cover - a non-empty first line always gives a record
            raise UsageError(f"{name}: no header line")
        self.headers: list[str] = [h.strip() for h in header]
        self.index: dict[str, int] = {}
        self.ignored: list[str] = []
        self._plan()

    # -- header -------------------------------------------------------------------------------

    def _plan(self) -> None:
        """Match headers to rapido columns (through the map), check the required ones are there."""
        wanted = COLUMNS[self.kind]
        positions: dict[str, list[int]] = {}
        for i, h in enumerate(self.headers):
            key = normalize_header(h)
            if key:
                positions.setdefault(key, []).append(i)

        def only(key: str) -> int | None:
            # A repeated header is only a problem if we would have to choose between its columns.
            found = positions.get(key)
            if not found:
                return None
            if len(found) > 1:
                raise UsageError(
                    f"{self.name}: the header {self.headers[found[0]]!r} appears {len(found)} times "
                    f"(columns {', '.join(str(i + 1) for i in found)})",
                    hint="rename all but one in the export, or map another header with --map",
                )
            return found[0]

        mapped_headers: set[int] = set()
        for name, header in self.map.columns.items():
            col = only(normalize_header(header))
            if col is None:
                close = difflib.get_close_matches(header, self.headers, n=1, cutoff=0.6)
                guess = f"; did you mean {close[0]!r}?" if close else ""
                raise UsageError(
                    f"{self.map.source}: {name}: the header {header!r} is not in {self.name}{guess}",
                    hint="headers found: " + ", ".join(repr(h) for h in self.headers if h),
                )
            mapped_headers.add(col)
            if name in wanted:
                self.index[name] = col
        for name in wanted:
            if name in self.index:
                continue
            found = positions.get(name, [])
            if any(i not in mapped_headers for i in found):
                col = only(name)
                if col is not None and col not in mapped_headers:
                    self.index[name] = col
        used = set(self.index.values())
        self.ignored = [
            h for i, h in enumerate(self.headers) if h and i not in used and normalize_header(h) != REJECTS_COLUMN
        ]
        present = set(self.index) | {k for k, v in self.map.defaults.items() if v.strip()}
        if self.tz is not None:
            present.add("tz")
        missing: list[str] = []
        for alternatives in _REQUIRED[self.kind]:
            if not any(all(c in present for c in alt) for alt in alternatives):
                missing.append(" or ".join("+".join(alt) for alt in alternatives))
        if missing:
            raise UsageError(
                f"{self.name}: missing required column{'s' if len(missing) > 1 else ''} for {self.kind} bookings: "
                + ", ".join(missing),
                hint="headers found: "
                + ", ".join(repr(h) for h in self.headers if h)
                + "; name them like the rapido columns, or map them with --map MAP.yaml",
            )

    @property
    def columns(self) -> dict[str, str]:
        """rapido column -> the export header that feeds it."""
        return {name: self.headers[i] for name, i in self.index.items()}

    # -- records ------------------------------------------------------------------------------

    def _read(self, fn: Any, line: int) -> Any:
        try:
            return fn()
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{self.name}: line {line}: not {exc.encoding} text (byte 0x{exc.object[exc.start]:02x})",
                hint="save the export as 'CSV UTF-8', or pass --encoding (e.g. cp1252)",
            ) from None

    def _next_record(self) -> list[str] | None:
        line = self._reader.line_num + 1 + self._offset
        try:
            return self._read(lambda: next(self._reader), line)  # type: ignore[no-any-return]
        except StopIteration:
            return None
        except csv.Error as exc:
            raise DataError(
                f"{self.name}: line {self._reader.line_num + self._offset}: unreadable CSV: {exc}"
            ) from None

    def __iter__(self) -> Iterator[RowResult]:
        row = 0
        width = len(self.headers)
        while True:
            line = self._reader.line_num + 1 + self._offset
            record = self._next_record()
            if record is None:
                return
            row += 1
            if not any(cell.strip() for cell in record):
                continue  # blank lines and ",,,," rows: spreadsheets leave them at the end
            if len(record) > width and any(cell.strip() for cell in record[width:]):
                yield RowResult(
                    row,
                    line,
                    None,
                    record=tuple(record),
                    problems=(
                        BadField(
                            "row",
                            None,
                            f"has {len(record)} values but the header has {width} columns",
                            hint="an unquoted delimiter inside a value? quote it, or check --delimiter",
                        ),
                    ),
                )
                continue
            yield self.build_row(row, line, record)

    def values(self, record: list[str]) -> dict[str, str | None]:
        """A record as builder values: rapido names -> stripped cells (``None`` when empty).

        Empty cells and absent columns are filled from ``tz`` (for ``tz``), then the map's defaults.
        """
        values: dict[str, str | None] = {}
        for name, i in self.index.items():
            cell = record[i].strip() if i < len(record) else ""
            values[name] = cell or None
        if values.get("tz") is None and self.tz is not None:
            values["tz"] = self.tz
        for name, default in self.map.defaults.items():
            if values.get(name) is None and name in COLUMNS[self.kind]:
                values[name] = default.strip() or None
        return values

    def _tz_origin(self, record: list[str]) -> TzOrigin | None:
        i = self.index.get("tz")
        if i is not None and i < len(record) and record[i].strip():
            return "column"
        if self.tz is not None:
            return "option"
        return "map" if self.map.defaults.get("tz", "").strip() else None

    def build_row(self, row: int, line: int, record: list[str]) -> RowResult:
        """Build one record's event with the shared builder; collect every bad field if it fails."""
        values = self.values(record)
        problems: list[BadField] = []
        trial: dict[str, Any] = dict(values)
        event: dict[str, Any] | None = None
        seen: set[str] = set()
        local_times: tuple[LocalTime, ...] = ()
        for _ in range(len(_STAND_IN) + 1):
            try:
                booking = build_booking(self.kind, trial)
                event, local_times = booking.event, booking.local_times
                break
            except FieldError as exc:
                problems.append(self._bad(exc, values))
                stand_in = _STAND_IN.get(exc.field)
                if stand_in is None or exc.field in seen:
                    break
                seen.add(exc.field)
                if exc.kind == "conflict":
                    # "from and origin both given": keep the one the builder would look at next.
                    trial[exc.field] = None
                else:
                    trial[exc.field] = stand_in
        if problems:
            return RowResult(row, line, None, tuple(problems), record=tuple(record))
        assert event is not None
        warnings: list[str] = []
        for p in check_server_event(event):
            if p.severity == "error":
                problems.append(BadField(p.path or "event", None, p.message))
            else:
                warnings.append(f"{p.path or 'event'}: {p.message}")
        if problems:
            return RowResult(row, line, None, tuple(problems), record=tuple(record))
        return RowResult(
            row, line, event, (), tuple(warnings), local_times=local_times, tz_origin=self._tz_origin(record)
        )

    def column_name(self, field: str) -> str:
        """How messages name a builder field: its rapido column, with the export's header if it differs."""
        i = self.index.get(field)
        if i is not None and normalize_header(self.headers[i]) != field:
            return f"{field} (column {self.headers[i]!r})"
        return field

    def _bad(self, exc: FieldError, values: Mapping[str, Any]) -> BadField:
        i = self.index.get(exc.field)
        column = self.headers[i] if i is not None else None
        if column is None and exc.field == "tz" and self.tz is not None and values.get("tz") == self.tz:
            column = "--tz"
        elif column is None and exc.field in self.map.defaults:
            column = f"defaults in {self.map.source}"
        reason, hint = exc.render(self.column_name)
        if exc.kind == "required" and column is not None:
            # The column is there, this row's cell is blank: say so.
            reason, hint = "is empty", None
        if exc.kind == "order" and exc.refs:
            # Show both values: times without an offset may be read in different zones.
            start = exc.refs[0]
            reason += f" ({start} {values.get(start)!s}, {exc.field} {values.get(exc.field)!s})"
            if self.kind == "flight" and not values.get("tz"):
                hint = hint or "times without an offset are read in each airport's zone (from/to); add offsets or a tz"
        return BadField(exc.field, column, reason, hint)
