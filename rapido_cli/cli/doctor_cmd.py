"""``rapido doctor``: one command that says why a request fails, row by row, with a hint for each failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rapido_cli.cli.common import AppContext, common_options

if TYPE_CHECKING:
    from rapido_cli.doctor import Check, Report

DOCTOR_HELP = """Check the setup, from the profiles file to an authenticated request.

Rows, in the order a request meets them: config file, its permissions, the profile and where
each value came from, the key's source, the URL scheme, proxy (HTTPS_PROXY/NO_PROXY), DNS, TCP
connect time, TLS (version, certificate, days to expiry, which trust store), clock skew against
the server's Date header, and an authentication probe. The probe is an envelope the API must
reject as invalid, so no event is ever recorded: HTTP 400 means the credentials passed, 401/403
that they did not.

Exit status: 0 when no row failed (warnings allowed); 3 when a configuration or credential row
failed; 75 when only network rows failed (try again later).

[bold]Examples[/]

  rapido doctor
  rapido doctor --profile production --json \\
      | jq '.checks[] | select(.status == "fail")'
  HTTPS_PROXY=http://proxy.corp:3128 rapido doctor -p staging --timeout 10
"""

_LABEL = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP", "info": "INFO"}
_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim", "info": "cyan"}
_TITLE_WIDTH = 15


def _render_row(app: AppContext, check: Check) -> None:
    """One row. Summaries and hints quote the profiles file, the environment, certificates and the
    server's answers: every piece is shown inert (no terminal escapes, no markup)."""
    import json

    from rapido_cli.text import inert, inert_markup, json_inert

    if app.quiet and check.status in ("pass", "info", "skip"):
        return
    label = _LABEL[check.status]
    title = check.title.ljust(_TITLE_WIDTH)
    if app.color:
        app.out.print(
            f"  [{_STYLE[check.status]}]{label}[/]  [bold]{inert_markup(title)}[/] {inert_markup(check.summary)}",
            highlight=False,
        )
    else:
        app.out.print(f"  {label}  {inert(title)} {inert(check.summary)}", markup=False, highlight=False)
    pad = " " * (2 + 4 + 2 + _TITLE_WIDTH + 1)
    if check.hint and check.status in ("fail", "warn", "pass"):
        if app.color:
            app.out.print(f"{pad}[dim]hint:[/] {inert_markup(check.hint)}", highlight=False)
        else:
            app.out.print(f"{pad}hint: {inert(check.hint)}", markup=False, highlight=False)
    if app.verbose and check.data:
        # -v: the facts behind the row (addresses, certificate, sources), for a support ticket.
        facts = json_inert(json.dumps(check.data, ensure_ascii=False, default=str))
        app.err.print(pad + facts, markup=False, highlight=False)


def _render_summary(app: AppContext, report: Report) -> None:
    from rapido_cli.text import inert, inert_markup

    failures = report.failures
    warnings = [c for c in report.checks if c.status == "warn"]
    if not failures:
        tail = f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else ""
        line = f"All checks passed{tail}: profile '{report.profile}' is ready."
        app.out.print(f"\n[green]{inert_markup(line)}[/]" if app.color else f"\n{inert(line)}", markup=app.color)
        return
    meaning = "configuration or credentials" if int(report.exit_code) == 3 else "network: try again later"
    names = ", ".join(c.title for c in failures)
    plural = "s" if len(failures) != 1 else ""
    line = f"{len(failures)} check{plural} failed ({names}); exit {int(report.exit_code)}: {meaning}"
    app.out.print(f"\n[bold red]{inert_markup(line)}[/]" if app.color else f"\n{inert(line)}", markup=app.color)


def doctor(
    app: AppContext,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, help="Seconds to wait for each network check."),
    ] = 5.0,
) -> None:
    """Check the setup, from the profiles file to an authenticated request."""
    from rapido_cli.doctor import run_checks
    from rapido_cli.output import print_json

    sandbox_url = app.start_sandbox() if app.sandbox else None
    report = run_checks(
        app.profile,
        config_path=app.config,
        environ=app.environ,
        sandbox_url=sandbox_url,
        timeout=timeout,
        on_check=None if app.json else (lambda c: _render_row(app, c)),
    )
    if app.json:
        print_json(report.to_json())
    else:
        _render_summary(app, report)
    code = int(report.exit_code)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``doctor``."""
    app.command("doctor", help=DOCTOR_HELP, rich_help_panel="Set up")(common_options(doctor))
