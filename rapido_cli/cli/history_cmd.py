"""``rapido history``: what the delivery journal knows, newest first; ``--export`` failed events to replay."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rapido_cli.cli.common import AppContext, common_options

if TYPE_CHECKING:
    from rapido_cli.journal import JournalRow

HISTORY_HELP = (
    "Show what the delivery journal holds: one row per event id with its last outcome, HTTP status, "
    "attempts, requestId and time, newest first.\n\n"
    "The journal is the one `rapido replay` writes (default: $XDG_STATE_HOME/rapido/journal.sqlite3; "
    "--journal PATH like replay). Without --profile/--sandbox every target (base URL and client id) is shown; "
    "with --profile only that profile's target.\n\n"
    "--since takes ISO 8601 (2024-02-17, 2024-02-17T09:00+05:30; without an offset: local time), "
    "Unix seconds, today, yesterday, or an age: 90s, 30m, 2h, 3d, 1w.\n\n"
    "--export FILE writes the matching events that were not delivered (outcome failed unless --outcome says "
    "otherwise) back to a JSON Lines file, exactly as they were read, oldest first, ready for `rapido replay`.\n\n"
    "--output-format: table (default), tsv (for scripts), csv (for spreadsheets: a cell that starts like a "
    "formula, = + - @, gets a leading ' so it is not run), json (same as --json).\n\n"
    "[bold]Examples[/]\n\n"
    "  rapido history --since 2h\n"
    "  rapido history --outcome failed --json | jq -r '.[].event_id'\n"
    "  rapido history --outcome failed --since 1d --export retry.jsonl && rapido replay retry.jsonl\n"
    "  rapido history --order-id FL_BOOKING_ABC123\n"
)

#: Rows the table shows unless --limit says otherwise (--json and --export are not limited).
DEFAULT_TABLE_LIMIT = 50

_AGE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)(\s+ago)?\s*$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Outcome(StrEnum):
    sent = "sent"
    failed = "failed"
    invalid = "invalid"


class OutputFormat(StrEnum):
    table = "table"
    tsv = "tsv"
    csv = "csv"
    json = "json"


#: The columns of tsv/csv output: the keys of ``history --json``.
EXPORT_COLUMNS = (
    "event_id",
    "outcome",
    "status",
    "attempts",
    "request_id",
    "order_id",
    "at",
    "failure",
    "error",
    "event_type",
    "target",
)


class Failure(StrEnum):
    temporary = "temporary"
    rejected = "rejected"
    unauthorized = "unauthorized"
    tls = "tls"
    unconfirmed = "unconfirmed"
    redirect = "redirect"
    endpoint = "endpoint"
    nxdomain = "nxdomain"
    proxy = "proxy"
    interrupted = "interrupted"


def parse_since(text: str, now: float | None = None) -> float:
    """``--since`` as Unix seconds: ISO 8601 (naive = local time), Unix seconds, today/yesterday, or an age."""
    from rapido_cli.errors import UsageError

    now = time.time() if now is None else now
    value = text.strip()
    m = _AGE.match(value)
    if m:
        unit = m.group(2).lower()
        # "m"/"min"/"minutes" are minutes (months are not offered: their length is ambiguous).
        seconds = _UNIT_SECONDS["m" if unit.startswith("mi") or unit == "m" else unit[0]]
        return now - float(m.group(1)) * seconds
    lowered = value.lower()
    if lowered in ("today", "yesterday"):
        midnight = datetime.fromtimestamp(now).astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        if lowered == "yesterday":
            midnight -= timedelta(days=1)
        return midnight.timestamp()
    if value.isdigit() and 9 <= len(value) <= 10:
        return float(value)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--since {text!r}: not a time or an age",
            hint="e.g. --since 2h, --since 3d, --since 2024-02-17, --since 2024-02-17T09:00:00Z",
        ) from None
    if when.tzinfo is None:
        when = when.astimezone()  # naive: local time, like `date` and journalctl
    return when.timestamp()


def history(
    app: AppContext,
    outcome: Annotated[
        Outcome | None, typer.Option("--outcome", help="Only this last outcome.", show_default=False)
    ] = None,
    failure: Annotated[
        Failure | None,
        typer.Option("--failure", help="Only failed events that failed this way.", show_default=False),
    ] = None,
    order_id: Annotated[
        str | None, typer.Option("--order-id", help="Only events of this orderId.", show_default=False)
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only events recorded since WHEN (ISO 8601, or an age: 2h, 3d).", show_default=False
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=0,
            help=f"At most N rows (default: {DEFAULT_TABLE_LIMIT} in the table, all with --json/--export; 0 = all).",
            show_default=False,
        ),
    ] = None,
    journal: Annotated[
        Path | None,
        typer.Option("--journal", help="The journal file (default: the one replay uses).", show_default=False),
    ] = None,
    export: Annotated[
        str | None,
        typer.Option(
            "--export",
            help="Write the matching undelivered events to FILE (JSON Lines, - for stdout) for `rapido replay`.",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--output-format",
            help="table, tsv, csv (formula cells neutralised for spreadsheets) or json (= --json).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Show what the delivery journal holds, newest first."""
    from rapido_cli.errors import UsageError
    from rapido_cli.journal import Journal, default_journal_path

    fmt = output_format or (OutputFormat.json if app.json else OutputFormat.table)
    since_ts = parse_since(since) if since is not None else None
    if export is not None and outcome is Outcome.sent:
        raise UsageError(
            "--export writes undelivered events; sent events are not kept", hint="use --outcome failed or invalid"
        )
    if failure is not None and outcome not in (None, Outcome.failed):
        raise UsageError(f"--failure applies to failed events, not --outcome {outcome}")
    effective_outcome = outcome.value if outcome else ("failed" if export is not None or failure else None)

    target = _target_filter(app)
    path = journal if journal is not None else default_journal_path(app.environ)
    if not path.exists():
        if journal is not None:
            raise UsageError(f"{path}: no such journal", hint="check --journal PATH (replay creates it)")
        # The default journal appears with the first replay: nothing has happened yet.
        app.info(f"no journal yet at {path}: nothing has been replayed from this account")
        rows: list[JournalRow] = []
    else:
        if limit is None and fmt is OutputFormat.table and export is None:
            limit = DEFAULT_TABLE_LIMIT
        with Journal(path, readonly=True) as j:
            rows = j.query(
                target=target,
                outcome=effective_outcome,
                order_id=order_id,
                since=since_ts,
                limit=(limit + 1) if limit else None,
                failure=failure.value if failure else None,
            )
    more = bool(limit) and len(rows) > (limit or 0)
    if limit:
        rows = rows[:limit]

    if export is not None:
        _export(app, rows, export)
        return
    if fmt is OutputFormat.json:
        from rapido_cli.output import print_json

        print_json([r.to_json() for r in rows])
        return
    if fmt in (OutputFormat.tsv, OutputFormat.csv):
        _delimited(rows, fmt)
        return
    _table(app, rows)
    if more:
        app.info(f"showing the newest {limit}; --limit 0 shows all, --since narrows")


def _target_filter(app: AppContext) -> str | None:
    """The journal target of --profile (or RAPIDO_PROFILE) when given; None means every target."""
    if app.profile is None:
        return None
    from rapido_cli.profiles import resolve_profile

    # Not app.resolve_profile(): --sandbox must not start a receiver just to read the journal.
    resolved = resolve_profile(app.profile, config_path=app.config, environ=app.environ, need_key=False)
    for w in resolved.warnings:
        app.warn(w)
    base, client = resolved.get("base_url"), resolved.get("client_id")
    if not base or not client:
        from rapido_cli.errors import ConfigError

        raise ConfigError(
            f"profile '{resolved.name}' has no base_url/client_id, so its journal target is unknown",
            hint="drop --profile to see every target",
        )
    from rapido_cli.journal import normalise_target

    return normalise_target(f"{base}|{client}")


def _export(app: AppContext, rows: list[JournalRow], dest: str) -> None:
    """Write the raw lines of ``rows`` (oldest first, one per event id) to ``dest``."""
    import sys

    from rapido_cli.fs import atomic_writer

    seen: set[str] = set()
    lines: list[str] = []
    without_raw = 0
    for r in reversed(rows):
        if r.event_id in seen:
            continue  # the same event failed for two targets: replay it once
        seen.add(r.event_id)
        if not r.raw:
            without_raw += 1
            continue
        lines.append(r.raw.rstrip("\r\n") + "\n")
    if dest == "-":
        sys.stdout.writelines(lines)
        sys.stdout.flush()
    else:
        # The events hold booking data: a private file (0600), renamed into place, never through a link.
        with atomic_writer(dest) as out:
            out.writelines(lines)  # type: ignore[arg-type]
    n = len(lines)
    where = "standard output" if dest == "-" else dest
    msg = f"exported {n} event{'s' if n != 1 else ''} to {where}"
    if n and dest != "-":
        msg += f"; send them again with: rapido replay {dest}"
    app.info(msg)
    if without_raw:
        app.warn(f"{without_raw} matching event{'s' if without_raw != 1 else ''} had no stored line (skipped)")


def _delimited(rows: list[JournalRow], fmt: OutputFormat) -> None:
    """tsv or csv on stdout, a header line first, the columns of ``--json``.

    Values are shown inert (a tab, newline or escape from a server message cannot break a line or
    reach the terminal); csv cells that start like a formula also get a leading ``'``.
    """
    import csv
    import sys

    from rapido_cli.text import csv_safe, inert

    def cell(value: object) -> str:
        return "" if value is None else inert(value)

    records = [r.to_json() for r in rows]
    if fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for rec in records:
            writer.writerow([csv_safe(cell(rec[c])) for c in EXPORT_COLUMNS])
    else:
        sys.stdout.write("\t".join(EXPORT_COLUMNS) + "\n")
        for rec in records:
            sys.stdout.write("\t".join(cell(rec[c]) for c in EXPORT_COLUMNS) + "\n")
    sys.stdout.flush()


_OUTCOME_STYLE = {"sent": "green", "failed": "red", "invalid": "yellow"}


def _table(app: AppContext, rows: list[JournalRow]) -> None:
    """The human table on stdout; counts on stderr."""
    from rich import box
    from rich.table import Table

    from rapido_cli.text import inert_markup  # ids and messages come from files and servers

    if not rows:
        app.info("no events match")
        return
    several_targets = len({r.target for r in rows}) > 1
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("at (UTC)", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("status", justify="right", no_wrap=True)
    table.add_column("tries", justify="right", no_wrap=True)
    table.add_column("event id", no_wrap=True)
    table.add_column("order id", no_wrap=True)
    table.add_column("request id", no_wrap=True)
    if several_targets:
        table.add_column("target", no_wrap=True)
    with_errors = any(r.error for r in rows)
    if with_errors:
        table.add_column("error", overflow="ellipsis", no_wrap=True, max_width=60)
    for r in rows:
        outcome = r.outcome + (f" ({r.failure})" if r.failure and r.outcome == "failed" else "")
        style = _OUTCOME_STYLE.get(r.outcome)
        cells: list[Any] = [
            _short_time(r.at),
            f"[{style}]{inert_markup(outcome)}[/]" if style and app.color else inert_markup(outcome),
            "—" if r.status is None else str(r.status),
            str(r.attempts),
            inert_markup(r.event_id),
            inert_markup(r.order_id or "—"),
            inert_markup(r.request_id or "—"),
        ]
        if several_targets:
            cells.append(inert_markup(r.target))
        if with_errors:
            cells.append(inert_markup(_one_line(r.error)))
        table.add_row(*cells)
    console = app.out
    if not console.file.isatty():
        from rich.console import Console

        # In a pipe or a file, don't squeeze the table to 80 columns: lines are as long as they need.
        console = Console(file=console.file, width=1000, no_color=True, color_system=None, highlight=False)
    console.print(table)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    summary = ", ".join(f"{counts[o]} {o}" for o in ("sent", "failed", "invalid") if o in counts)
    app.info(f"{len(rows)} event{'s' if len(rows) != 1 else ''}: {summary}")


def _short_time(at: str) -> str:
    """``2024-02-17T08:00:00.123Z`` -> ``2024-02-17 08:00:00``."""
    return at[:19].replace("T", " ") if at else "—"


def _one_line(text: str | None) -> str:
    if not text:
        return ""
    return " ".join(text.split())


def register(app: typer.Typer) -> None:
    """Add ``history``."""
    app.command("history", help=HISTORY_HELP, rich_help_panel="Backfill")(common_options(history))
