"""``rapido tail``: follow a running sandbox's event stream (rapido_cli.tail), one line per event."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from rapido_cli.cli.common import AppContext, common_options

TAIL_HELP = """Follow what a running sandbox receives, one line per event, as it arrives.

Starts with the last few events already received (--last, default 10), then each new one:
time, flow (server/pwa), type, event id, order, HTTP status, verdict and problems. A PWA
booking the server never reported shows as a `booking ... missed` line. Filters apply to
what is shown: --type takes shell patterns (order.*), and each filter a comma list.
--json writes the sandbox's records as JSON Lines, each flushed as it comes, so a pipe
into jq is live. Ctrl-C stops (exit 130); a sandbox that goes away ends it with exit 75.

[bold]Examples[/]

  rapido tail
  rapido tail --type 'order.*' --verdict invalid,unauthorized
  rapido tail --order-id FL_TRIGGER_1001 --last 0
  rapido tail --json | jq -c '{type, order_id, verdict}'
  rapido tail --url http://127.0.0.1:9000
"""

_ROLE_STYLES = {"time": "dim", "id": "dim", "problems": "yellow", "message": "dim"}


def _write(app: AppContext, rec: dict[str, Any]) -> None:
    from rapido_cli.tail import describe

    out = sys.stdout
    if app.json:
        # ASCII-only JSON: safe on any terminal even before jq sees it.
        out.write(json_line(rec))
    elif app.color and out.isatty():
        from rich.text import Text

        line = describe(rec)
        from rapido_cli.output import VERDICT_STYLES

        verdict_style = VERDICT_STYLES.get(line.verdict, "red" if line.verdict else "")
        text = Text()
        for i, (piece, role) in enumerate(line.pieces):
            if i:
                text.append("  ")
            style = verdict_style if role in ("verdict", "status") else _ROLE_STYLES.get(role, "")
            text.append(piece, style=style)
        app.out.print(text, soft_wrap=True, highlight=False)
    else:
        out.write(describe(rec).text + "\n")
    out.flush()


def json_line(rec: dict[str, Any]) -> str:
    """One JSON Lines record, ASCII-only (control and non-ASCII characters escaped)."""
    import json

    return json.dumps(rec, ensure_ascii=True, separators=(",", ":")) + "\n"


def tail(
    app: AppContext,
    url: Annotated[
        str, typer.Option("--url", help="The sandbox's base URL (loopback only).", metavar="URL")
    ] = "http://127.0.0.1:8787",
    type_: Annotated[
        str | None,
        typer.Option("--type", help="Only these event types (shell patterns, comma list).", show_default=False),
    ] = None,
    order_id: Annotated[
        str | None, typer.Option("--order-id", help="Only these orders (comma list).", show_default=False)
    ] = None,
    verdict: Annotated[
        str | None,
        typer.Option("--verdict", help="Only these verdicts, e.g. invalid,unauthorized,missed.", show_default=False),
    ] = None,
    last: Annotated[
        int, typer.Option("--last", min=0, max=1000, help="Events already received to show first.", metavar="N")
    ] = 10,
) -> None:
    """Follow what a running sandbox receives."""
    from rapido_cli.errors import ExitCode, UsageError
    from rapido_cli.net import is_loopback_url
    from rapido_cli.tail import Filters, follow

    if app.sandbox:
        raise UsageError(
            "--sandbox starts a sandbox of its own, which nothing would send to",
            hint="start `rapido sandbox` in another terminal and run `rapido tail` (or --url URL)",
        )
    if not is_loopback_url(url):
        raise UsageError(
            f"--url {url}: not an http URL on this machine (loopback)",
            hint="rapido tail follows a local `rapido sandbox`, e.g. http://127.0.0.1:8787",
        )
    filters = Filters.of(type_, order_id, verdict)

    def on_record(rec: dict[str, Any]) -> None:
        if filters.match(rec):
            _write(app, rec)

    def on_notice(text: str) -> None:
        app.warn(text)

    app.info(f"following {url.rstrip('/')}/_sandbox/stream (Ctrl-C to stop)")
    try:
        follow(url, last=last, on_record=on_record, on_notice=on_notice)
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        # The reader left (`rapido tail | head`): stop quietly, and keep Python from complaining at exit.
        from rapido_cli.cli.common import silence_stdout

        silence_stdout()
        raise typer.Exit(0) from None


def register(app: typer.Typer) -> None:
    """Add ``tail``."""
    app.command("tail", help=TAIL_HELP, rich_help_panel="Try it locally")(common_options(tail))
