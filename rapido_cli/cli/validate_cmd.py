"""``rapido validate`` and ``rapido schema``: parse options, call rapido_cli.validate, render."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from rapido_cli.cli.common import AppContext, common_options

if TYPE_CHECKING:
    from rich.console import Console

    from rapido_cli.validate import Report


class Kind(StrEnum):
    """Which payloads: server-to-server envelopes or captured PWA events."""

    server = "server"
    pwa = "pwa"


class OutputFormat(StrEnum):
    """What the report looks like (``rapido_cli.validate.report``); --json is the same as json."""

    text = "text"
    json = "json"
    github = "github"
    junit = "junit"


class Format(StrEnum):
    """Input format, when the extension does not say (standard input is sniffed)."""

    json = "json"
    jsonl = "jsonl"
    yaml = "yaml"


VALIDATE_HELP = """Check event files for everything a server would reject, at its line.

Reads .json (an object or an array), .jsonl/.ndjson (one event per line),
.yaml/.yml (one document, a list, or several documents), - for stdin;
a directory means the event files under it.
Each problem: FILE:LINE: FIELD.PATH: error|warning: message.
Event ids must be unique within and across the files.
Exit status: 0 valid, 1 invalid, 2 a file is missing or unreadable.

[bold]Examples[/]

  rapido validate events.jsonl
  rapido validate flight.json hotel.yaml --strict
  rapido build flight --csv export.csv \\
      | rapido validate - --json | jq '.problems[]'
  rapido validate --kind pwa captured-pwa-events.jsonl
  rapido validate events/ --output-format github   # GitHub Actions annotations
  rapido validate events/ --output-format junit > validate.xml
"""

SCHEMA_HELP = """Print the JSON Schema of the payloads (generated from the models).

For editors (VS Code "json.schemas", the YAML language server) and other
validators. What a schema cannot state (end_time after start_time, IANA
zones, the size limit, duplicate ids) is checked by `rapido validate`.

[bold]Examples[/]

  rapido schema > rapido-event.schema.json
  rapido schema --kind pwa
"""


def validate(
    app: AppContext,
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE...", help="Files or directories to check (- for standard input).", show_default=False
        ),
    ],
    kind: Annotated[Kind, typer.Option("--kind", help="Server events or captured PWA events.")] = Kind.server,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings count as errors (exit 1).")] = False,
    fmt: Annotated[
        Format | None,
        typer.Option("--format", help="Read every input as this format (default: by extension, else sniffed)."),
    ] = None,
    max_problems: Annotated[
        int,
        typer.Option("--max-problems", min=1, help="Report at most this many problems (the rest are counted)."),
    ] = 100_000,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--output-format",
            help="Report as text, json, github (Actions annotations) or junit (XML); default text.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check event files."""
    import sys

    from rapido_cli.validate import validate_paths

    if "-" in files and sys.stdin.isatty():
        app.info("reading events from standard input (end with Ctrl-D)")
    report = validate_paths(
        files,
        kind.value,  # type: ignore[arg-type]
        strict,
        fmt=fmt.value if fmt is not None else None,  # type: ignore[arg-type]
        max_problems=max_problems,
    )
    if output_format is not None and output_format is not OutputFormat.json and app.json:
        from rapido_cli.errors import UsageError

        raise UsageError(f"--json and --output-format {output_format.value} both choose the report: give one")
    chosen = OutputFormat.json if app.json else (output_format or OutputFormat.text)
    if chosen is OutputFormat.text:
        render_report(app.out, report, color=app.color, quiet=app.quiet)
    else:
        from rapido_cli.validate.report import formatter

        # The document alone on stdout (so `| jq` or a report file works); the summary on stderr.
        out = app.out.file
        out.write(formatter(chosen.value, pretty=chosen is OutputFormat.json and out.isatty()).render(report))
        out.flush()
        if not app.quiet:
            app.err.print(_verdict(report), markup=False, highlight=False)
    if report.unreadable:
        # The report says it too, but a missing file is a usage error: say it where errors go.
        from rapido_cli.cli.common import report_error
        from rapido_cli.errors import UsageError

        report_error(app, UsageError(f"cannot read: {', '.join(report.unreadable)}", hint="check the path(s)"))
    raise typer.Exit(report.exit_code)


def render_report(console: Console, report: Report, *, color: bool, quiet: bool = False) -> None:
    """Problems grouped by file (``FILE:LINE: PATH: severity: message``), then a summary table.

    File names, paths and messages quote the files' content: shown inert.
    """
    from rich.table import Table

    from rapido_cli.text import inert, inert_markup

    write = console.file.write
    color = color and console.is_terminal
    by_file: dict[str, list[tuple[int, int]]] = {}
    for i, p in enumerate(report.problems):
        by_file.setdefault(p.file, []).append((p.line, i))
    for name, entries in by_file.items():
        entries.sort()
        if color and len(by_file) > 1:
            console.print(f"[bold underline]{inert_markup(name)}[/]")
        for _, i in entries:
            p = report.problems[i]
            where = f"{p.file}:{p.line}:" if p.line else f"{p.file}:"
            path = f" {p.path or '(event)'}:" if p.line else ""
            if color:
                sev = "[bold red]error[/]" if p.severity == "error" else "[yellow]warning[/]"
                console.print(f"{inert_markup(where + path)} {sev}: {inert_markup(p.message)}", soft_wrap=True)
            else:
                write(f"{inert(where)}{inert(path)} {p.severity}: {inert(p.message)}\n")
    if report.omitted:
        write(f"... and {report.omitted} more problems not shown (raise --max-problems)\n")

    if not quiet:
        table = Table(show_edge=False, pad_edge=False, box=None)
        table.add_column("file", overflow="fold")
        table.add_column("format")
        table.add_column("events", justify="right")
        table.add_column("errors", justify="right")
        table.add_column("warnings", justify="right")
        for f in report.files:
            table.add_row(
                inert_markup(f.file),
                f.format or "-",
                f"{f.events:,}" if f.readable else "unreadable",
                _count(f.errors, "red", color),
                _count(f.warnings, "yellow", color),
            )
        if len(report.files) > 1:
            table.add_row(
                f"[bold]{len(report.files)} files[/]" if color else f"{len(report.files)} files",
                "",
                f"{report.events:,}",
                _count(report.errors, "red", color),
                _count(report.warnings, "yellow", color),
            )
        if report.problems or report.omitted:
            console.print()
        console.print(table)
    verdict = _verdict(report)
    if color:
        style = "green" if report.valid else "red"
        console.print(f"[bold {style}]{inert_markup(verdict)}[/]")
    else:
        write(inert(verdict) + "\n")


def _count(n: int, style: str, color: bool) -> str:
    return f"[{style}]{n:,}[/]" if (color and n) else f"{n:,}"


def _verdict(report: Report) -> str:
    files = f"{len(report.files)} file{'s' if len(report.files) != 1 else ''}"
    events = f"{report.events:,} event{'s' if report.events != 1 else ''}"
    if report.unreadable:
        return f"cannot read: {', '.join(report.unreadable)}"
    if report.valid:
        warn = f", {report.warnings} warning{'s' if report.warnings != 1 else ''}" if report.warnings else ""
        return f"valid: {events} in {files}{warn}"
    strict = " (--strict: warnings count as errors)" if report.strict else ""
    return (
        f"invalid: {report.errors:,} error{'s' if report.errors != 1 else ''}, "
        f"{report.warnings:,} warning{'s' if report.warnings != 1 else ''} in {events}, {files}{strict}"
    )


def schema(
    app: AppContext,
    kind: Annotated[Kind, typer.Option("--kind", help="Server events or captured PWA events.")] = Kind.server,
) -> None:
    """Print the JSON Schema."""
    import json

    from rapido_cli.validate.schema import json_schema

    app.out.file.write(json.dumps(json_schema(kind.value), indent=2, ensure_ascii=False) + "\n")


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``schema``."""
    app.command("validate", help=VALIDATE_HELP, rich_help_panel="Check")(common_options(validate))
    app.command("schema", help=SCHEMA_HELP, rich_help_panel="Check")(common_options(schema))
