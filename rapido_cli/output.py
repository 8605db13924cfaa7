"""Human (rich) and machine (JSON) renderings of core results. The core never imports this.

Everything that came from a server (messages, details, bodies, headers) or from a file is shown
through :func:`rapido_cli.text.inert` inside a rich ``Text`` (never parsed as markup), or through
:func:`rapido_cli.text.inert_markup` when it is part of a markup string.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from rapido_cli.text import inert, inert_markup, json_inert

if TYPE_CHECKING:
    from rich.console import Console

    from rapido_cli.transport import Attempt, SendResult


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


_STYLE = {
    "sent": "green",
    "rejected": "red",
    "unauthorized": "red",
    "untrusted": "red",
    "config": "red",
    "failed": "yellow",
    "interrupted": "yellow",
}
_TITLE = {
    "sent": "delivered",
    "rejected": "rejected: fix the data",
    "unauthorized": "credentials refused",
    "untrusted": "TLS certificate not trusted",
    "config": "not delivered: check the configuration",
    "failed": "not delivered: try again later",
    "interrupted": "interrupted: not delivered",
}
#: Titles for the configuration failures (``SendResult.failure``).
_CONFIG_TITLE = {
    "unconfirmed": "not confirmed: the answer is not an acknowledgement",
    "redirect": "redirected: not followed",
    "endpoint": "wrong endpoint: base_url is not the API",
    "nxdomain": "no such host",
    "tls": "TLS handshake failed",
    "proxy": "the proxy refused the tunnel",
}


def _foreign(value: Any) -> Any:
    """A rich Text of a foreign value: control characters escaped, never read as markup."""
    from rich.text import Text

    return Text(inert(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)))


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
    if not isinstance(event, dict):
        event = {}
    grid.add_row("event", _foreign(f"{event.get('type', '?')}  {event.get('id', '?')}"))
    grid.add_row("status", "—" if result.status is None else str(result.status))
    if result.code is not None:
        grid.add_row("code", cell(result.code))
    if result.request_id:
        grid.add_row("requestId", _foreign(result.request_id))
    grid.add_row("attempts", str(len(result.attempts)))
    grid.add_row("latency", f"{result.elapsed_ms:.0f} ms")
    if not result.ok and result.message:
        grid.add_row("error", _foreign(result.message))
        if result.details:
            details = result.details
            if isinstance(details, dict):
                for key, val in list(details.items())[:50]:
                    grid.add_row("", _foreign(f"{inert(key, limit=100)}: {inert(val, limit=300)}"))
            else:
                grid.add_row("", _foreign(inert(details, limit=1000)))
    style = _STYLE.get(result.outcome, "red")
    title = _TITLE.get(result.outcome, result.outcome)
    if result.outcome == "config":
        title = _CONFIG_TITLE.get(result.failure or "", title)
    console.print(
        Panel(grid, title=f"[{style}]{title}[/]", title_align="left", expand=False, border_style=style)
    )


def render_request(console: Console, preview: dict[str, Any]) -> None:
    """A request as it would go on the wire (key already masked by the caller)."""
    console.print(f"[bold]{preview['method']}[/] {inert_markup(preview['url'])}")
    for key, val in preview["headers"].items():
        console.print(f"{inert(key)}: {inert(val)}", markup=False, highlight=False)
    console.print()
    console.print(
        inert(json.dumps(preview["body"], indent=2, ensure_ascii=False), keep_newlines=True),
        markup=False,
        highlight=False,
    )


def render_attempt(console: Console, attempt: Attempt, last: bool) -> None:
    """One exchange at -v: status (or error), time, body, and the wait before the next try."""
    if attempt.status is None:
        head = f"← attempt {attempt.number}: {inert(attempt.error or 'no answer')} after {attempt.elapsed_ms:.0f} ms"
    else:
        head = f"← attempt {attempt.number}: HTTP {attempt.status} in {attempt.elapsed_ms:.0f} ms"
        if attempt.content_type:
            head += f" ({inert(attempt.content_type)})"
    console.print(head, markup=False, highlight=False)
    if attempt.location:
        console.print(f"  Location: {inert(attempt.location)} (not followed)", markup=False, highlight=False)
    if attempt.body is not None:
        console.print("  " + inert(json.dumps(attempt.body, ensure_ascii=False)), markup=False, highlight=False)
    elif attempt.snippet:
        cut = " (cut)" if attempt.truncated else ""
        console.print(f"  body{cut}: {inert(attempt.snippet)}", markup=False, highlight=False)
    if not last and attempt.wait_s:
        why = f" (Retry-After {attempt.retry_after:g} s)" if attempt.retry_after is not None else ""
        console.print(f"  retrying in {attempt.wait_s:.2f} s{why}", markup=False, highlight=False)


#: Colours of the sandbox's verdicts, in its live lines and in `rapido tail`.
VERDICT_STYLES: dict[str, str] = {
    "accepted": "green",
    "ok": "green",
    "duplicate": "cyan",
    "warning": "yellow",
    "missed": "bold red",
    "invalid": "red",
    "conflict": "red",
    "unauthorized": "red",
    "forbidden": "red",
    "too_large": "red",
    "unsupported": "red",
    "rate_limited": "yellow",
    "fault": "magenta",
    "dropped": "magenta",
}
