"""``rapido build flight|hotel --csv FILE``: a booking export turned into events (JSON Lines)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from rapido_cli.cli.common import AppContext, common_options
from rapido_cli.cli.send_cmd import Kind

if TYPE_CHECKING:
    from rapido_cli.csvbuild import BookingCsv, RowResult

BUILD_HELP = (
    "Turn a booking export (CSV) into events, one JSON object per line.\n\n"
    "Each row becomes the event `send-booking` would send for the same values (same builder, same event ids), "
    "so building the same export twice gives the same ids and `replay` sends each once.\n\n"
    "Columns are named like the send-booking options without dashes: user_id, order_id, amount, status, type, "
    "tz, host_status, event_id; flights: from, to (IATA) or origin, dest (LAT,LONG, or split origin_lat/origin_long, "
    "dest_lat/dest_long), depart, arrive; hotels: location (or location_lat/location_long), check_in, check_out. "
    "Header case and spaces don't matter; other columns are ignored with one warning; --map renames your "
    "export's headers.\n\n"
    "Times are ISO 8601 with or without an offset (2024-03-02T14:00:00+05:30, 2024-03-02 14:00) or Unix seconds. "
    "A time without an offset is local: read in the row's tz cell, else --tz, else the map's defaults: tz:, else "
    "in each airport's zone for flights given by from/to, else in Asia/Kolkata (the default zone). "
    "A note on stderr names the zones used, once per run.\n\n"
    'A bad row is reported on stderr as "row N (line L)": N counts data rows (the header is not a row), L is the '
    "line in the file. The other rows still come out. Exit 0: every row built; 1: some rows bad (the good ones "
    "were written); 2: the file or map cannot be used (a required column missing, a mapped header not in the "
    "file): nothing written.\n\n"
    "[bold]Examples[/]\n\n"
    "  rapido build flight --csv missed-flights.csv -o events.jsonl\n"
    "  rapido build hotel --csv export.csv --map hotel-map.yaml | rapido validate -\n"
    "  rapido build hotel --csv goa-hotels.csv --tz Asia/Kolkata -o events.jsonl\n"
    "  psql -c '\\copy (select * from missed) to stdout csv header' \\\n"
    "      | rapido build flight --csv - > events.jsonl\n\n"
    "[bold]MAP.yaml[/] (rapido name: your header; defaults fill absent columns, empty cells)\n\n"
    "  columns:\n"
    "    user_id: Rapido UID\n"
    "    order_id: PNR\n"
    "    amount: Total (INR)\n"
    "  defaults:\n"
    "    tz: Asia/Kolkata\n"
)

#: Beyond this many, per-row warnings are counted, not printed.
MAX_WARNINGS_SHOWN = 20
#: Beyond this many, bad rows are counted, not printed (unless -v; --rejects keeps them all).
MAX_BAD_ROWS_SHOWN = 100


def build(
    app: AppContext,
    kind: Annotated[Kind, typer.Argument(help="flight or hotel.", case_sensitive=False)],
    csv_path: Annotated[
        str,
        typer.Option("--csv", help="The export (CSV with a header line), or - for standard input.", show_default=False),
    ],
    map_path: Annotated[
        Path | None,
        typer.Option(
            "--map", help="YAML: rapido column name -> your export's header.", dir_okay=False, show_default=False
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the events to FILE (replaced only once the whole export is read) instead of stdout.",
            show_default=False,
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            "--delimiter", help="Field separator (default: guessed from the header: , ; TAB |).", show_default=False
        ),
    ] = None,
    rejects: Annotated[
        str | None,
        typer.Option(
            "--rejects",
            help="Also write the bad rows, as read plus a rapido_error column, to this CSV: fix it and build it again.",
            show_default=False,
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="Text encoding (default: UTF-8 with or without BOM; UTF-16 by its BOM).",
            show_default=False,
        ),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option(
            "--tz",
            help="IANA zone of rows without a tz cell (attribute tz, and times without an offset); "
            "beats the map's defaults: tz:.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Turn a booking export (CSV) into events, one JSON object per line."""
    import csv

    from rapido_cli.build import check_tz
    from rapido_cli.csvbuild import REJECTS_COLUMN, BookingCsv, ColumnMap, open_csv
    from rapido_cli.errors import ExitCode, FieldError, UsageError
    from rapido_cli.text import csv_safe

    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise UsageError(f"--delimiter {delimiter!r}: expected one character", hint="e.g. --delimiter ';'")
    if tz is not None:
        try:
            tz = check_tz(tz)
        except FieldError as exc:
            raise UsageError(f"--tz: {exc.reason}", hint=exc.hint) from None
    column_map = ColumnMap.load(map_path) if map_path is not None else None
    name = "<stdin>" if csv_path == "-" else csv_path
    with open_csv(csv_path, encoding) as stream:
        reader = BookingCsv(
            stream,
            kind.value,  # type: ignore[arg-type]
            column_map,
            name=name,
            delimiter=delimiter,
            tz=tz,
        )
        if reader.ignored:
            app.warn(
                f"{name}: ignoring column{'s' if len(reader.ignored) > 1 else ''} "
                + ", ".join(repr(h) for h in reader.ignored)
                + (
                    f" (not {kind.value} booking fields)"
                    if len(reader.ignored) > 1
                    else f" (not a {kind.value} booking field)"
                )
            )
        if app.verbose:
            app.debug(
                f"{name}: delimiter {reader.delimiter!r}; columns: "
                + ", ".join(f"{k} <- {v!r}" for k, v in reader.columns.items())
            )
        with contextlib.ExitStack() as stack:
            # Output files hold booking data: private (0600), written to a temporary file and renamed
            # into place at the end, so a link planted at the path is replaced, never followed.
            out = sys.stdout if output in (None, "-") else stack.enter_context(_atomic_text(str(output)))
            on_bad = None
            if rejects is not None:
                writer = csv.writer(
                    stack.enter_context(_atomic_text(rejects)), delimiter=reader.delimiter, lineterminator="\n"
                )
                writer.writerow([csv_safe(h) for h in [*reader.headers, REJECTS_COLUMN]])

                def on_bad(result: RowResult) -> None:
                    # Meant for a spreadsheet: a cell that starts like a formula is neutralised.
                    cells = list(result.record) + [""] * (len(reader.headers) - len(result.record))
                    why = "; ".join(p.describe() for p in result.problems)
                    writer.writerow([csv_safe(c) for c in [*cells, f"{result.where}: {why}"]])

            local = LocalTimes()
            counts = _emit(app, reader, out, on_bad, local)
    built, bad, rows = counts
    if local and not app.quiet:
        app.err.print(local.note(column_map.source if column_map is not None else None), markup=False)
    where = f" to {output}" if output not in (None, "-") else ""
    if rows == 0:
        app.warn(f"{name}: no data rows after the header")
    else:
        events = f"{built} event{'s' if built != 1 else ''}"
        summary = f"built {events}{where} from {rows} row{'s' if rows != 1 else ''} of {name}"
        if bad:
            summary += f"; {bad} bad row{'s' if bad != 1 else ''} skipped"
            summary += f" (written to {rejects})" if rejects else ": fix the export and build again"
        app.info(summary)
    if bad:
        raise typer.Exit(int(ExitCode.DATA))


class LocalTimes:
    """Counts of times read without an offset, by zone and by where the zone came from (for one note)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def __bool__(self) -> bool:
        return bool(self.counts)

    def add(self, result: RowResult) -> None:
        for t in result.local_times:
            origin: str
            if t.source == "tz":
                origin = result.tz_origin or "column"
            elif t.source == "airport":
                origin = "airport"
            else:
                origin = "default"
            key = (t.zone, origin)
            self.counts[key] = self.counts.get(key, 0) + 1

    def note(self, map_source: str | None) -> str:
        """``note: 12 times without a UTC offset read in Asia/Kolkata (the default zone; ...)``."""
        why = {
            "column": "the row's tz",
            "option": "--tz",
            "map": f"defaults: tz: in {map_source or 'the map'}",
            "airport": "the airport's zone",
            "default": "the default zone; --tz ZONE or a tz column sets another",
        }
        parts = [
            f"{n} in {zone} ({why[origin]})"
            for (zone, origin), n in sorted(self.counts.items(), key=lambda kv: -kv[1])
        ]
        total = sum(self.counts.values())
        return f"note: {total} time{'s' if total != 1 else ''} without a UTC offset read as local time: " + ", ".join(
            parts
        )


def _emit(
    app: AppContext,
    reader: BookingCsv,
    out: IO[str],
    on_bad: Callable[[RowResult], None] | None = None,
    local: LocalTimes | None = None,
) -> tuple[int, int, int]:
    """Write each good row's event to ``out``, report bad rows; return (built, bad, rows)."""
    from rapido_cli.csvbuild import event_line

    built = bad = rows = warned = 0
    hints_shown: set[tuple[str, str]] = set()
    seen: set[int] = set()
    try:
        for result in reader:
            rows += 1
            if not result.ok:
                bad += 1
                if on_bad is not None:
                    on_bad(result)
                if bad <= MAX_BAD_ROWS_SHOWN or app.verbose:
                    _report_bad(app, reader.name, result, hints_shown)
                continue
            assert result.event is not None
            if local is not None:
                local.add(result)
            line = event_line(result.event)
            key = hash(result.event["event"]["id"])
            notes = list(result.warnings)
            if key in seen:
                notes.append(
                    f"builds the same event as an earlier row (id {result.event['event']['id']}); replay sends it once"
                )
            seen.add(key)
            for note in notes:
                warned += 1
                if warned <= MAX_WARNINGS_SHOWN:
                    app.warn(f"{reader.name}: {result.where}: {note}")
            out.write(line + "\n")
            built += 1
        out.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly; point stdout at nothing so the final
        # flush at exit cannot fail again.
        from rapido_cli.cli.common import silence_stdout

        silence_stdout()
        raise typer.Exit(1) from None
    if warned > MAX_WARNINGS_SHOWN:
        app.warn(f"... and {warned - MAX_WARNINGS_SHOWN} more warnings (not shown)")
    if bad > MAX_BAD_ROWS_SHOWN and not app.verbose:
        app.err.print(
            f"... and {bad - MAX_BAD_ROWS_SHOWN} more bad rows (-v shows them all; --rejects FILE writes them as CSV)",
            markup=False,
        )
    return built, bad, rows


@contextlib.contextmanager
def _atomic_text(path: str) -> Iterator[IO[str]]:
    """:func:`rapido_cli.fs.atomic_writer` in text mode (private, replaces ``path`` at the end)."""
    from rapido_cli.fs import atomic_writer

    with atomic_writer(path) as fh:
        yield fh  # type: ignore[misc]


def _report_bad(app: AppContext, name: str, result: RowResult, hints_shown: set[tuple[str, str]]) -> None:
    """Every bad field of a row, one line each, ``error: FILE: row N (line L): FIELD: message``.

    The message quotes the row's cells: shown inert (no terminal escapes, no markup).
    """
    from rapido_cli.text import inert, inert_markup

    for problem in result.problems:
        text = f"{name}: {result.where}: {problem.describe()}"
        if app.color:
            app.err.print(f"[bold red]error:[/] {inert_markup(text)}", highlight=False)
        else:
            app.err.print(f"error: {inert(text)}", markup=False, highlight=False)
        if problem.hint and (problem.field, problem.hint) not in hints_shown and not app.quiet:
            hints_shown.add((problem.field, problem.hint))
            app.err.print(f"  hint: {inert(problem.hint)}", markup=False, style="dim" if app.color else None)


def register(app: typer.Typer) -> None:
    """Add ``build``."""
    app.command("build", help=BUILD_HELP, rich_help_panel="Backfill")(common_options(build))
