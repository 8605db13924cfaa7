"""Human (rich) and machine (JSON) renderings of core results. The core never imports this."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from rapido_cli.text import inert, json_inert

if TYPE_CHECKING:
    from rich.console import Console

    from rapido_cli.client import Attempt, SendResult


def print_json(obj: Any, *, stream: Any = None) -> None:
    """One JSON document on stdout (pretty on a terminal, compact otherwise).

    Values stay raw (JSON escapes C0 controls itself); the C1 and bidi controls JSON would leave
    literal are written as ``\\uXXXX``, the same value for any reader but inert on a terminal.
    """
    out = stream or sys.stdout
    if out.isatty():
        out.write(json_inert(json.dumps(obj, indent=2, ensure_ascii=False)) + "\n")
    else:
        out.write(json_inert(json.dumps(obj, separators=(",", ":"), ensure_ascii=False)) + "\n")
    out.flush()


def print_json_line(obj: Any, *, stream: Any = None) -> None:
    """One JSON Lines record (controls inert as in :func:`print_json`)."""
    out = stream or sys.stdout
    out.write(json_inert(json.dumps(obj, separators=(",", ":"), ensure_ascii=False)) + "\n")


_STYLE = {"sent": "green", "rejected": "red", "unauthorized": "red", "untrusted": "red", "failed": "yellow"}
_TITLE = {
    "sent": "delivered",
    "rejected": "rejected: fix the data",
    "unauthorized": "credentials refused",
    "untrusted": "TLS certificate not trusted",
    "failed": "not delivered: try again later",
}


def render_send_result(console: Console, result: SendResult) -> None:
    """The compact panel: outcome, HTTP status, code, requestId, attempts, latency.

    Everything but the labels came from the event file or the server: each value is a
    :class:`rich.text.Text` of its inert form, so neither markup nor terminal escapes act.
    """
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    def cell(value: object) -> Text:
        return Text(inert(value, limit=2000))

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    event = result.event.get("event", {}) if isinstance(result.event, dict) else {}
    grid.add_row("event", cell(f"{event.get('type', '?')}  {event.get('id', '?')}"))
    grid.add_row("status", "—" if result.status is None else str(result.status))
    if result.code is not None:
        grid.add_row("code", cell(result.code))
    if result.request_id:
        grid.add_row("requestId", cell(result.request_id))
    grid.add_row("attempts", str(len(result.attempts)))
    grid.add_row("latency", f"{result.elapsed_ms:.0f} ms")
    if not result.ok and result.message:
        grid.add_row("error", cell(result.message))
        if result.details:
            details = result.details
            if isinstance(details, dict):
                for key, val in details.items():
                    grid.add_row("", cell(f"{key}: {val}"))
            else:
                grid.add_row("", cell(details))
    style = _STYLE[result.outcome]
    console.print(
        Panel(grid, title=f"[{style}]{_TITLE[result.outcome]}[/]", title_align="left", expand=False, border_style=style)
    )


def render_request(console: Console, preview: dict[str, Any]) -> None:
    """A request as it would go on the wire (key already masked by the caller)."""
    from rapido_cli.text import inert_markup

    console.print(f"[bold]{preview['method']}[/] {inert_markup(preview['url'])}")
    for key, val in preview["headers"].items():
        console.print(f"{inert_markup(key)}: {inert_markup(str(val))}", highlight=False)
    console.print()
    body = json_inert(json.dumps(preview["body"], indent=2, ensure_ascii=False))
    console.print(body, markup=False, highlight=False)


def render_attempt(console: Console, attempt: Attempt, last: bool) -> None:
    """One exchange at -v: status (or error), time, body, and the wait before the next try."""
    from rapido_cli.text import inert_markup

    if attempt.status is None:
        head = (
            f"← attempt {attempt.number}: {inert_markup(attempt.error or 'no answer')} "
            f"after {attempt.elapsed_ms:.0f} ms"
        )
    else:
        head = f"← attempt {attempt.number}: HTTP {attempt.status} in {attempt.elapsed_ms:.0f} ms"
    console.print(head, highlight=False)
    if attempt.body is not None:
        console.print("  " + json_inert(json.dumps(attempt.body, ensure_ascii=False)), markup=False, highlight=False)
    if not last and attempt.wait_s:
        why = f" (Retry-After {attempt.retry_after:g} s)" if attempt.retry_after is not None else ""
        console.print(f"  retrying in {attempt.wait_s:.2f} s{why}", highlight=False)
