"""``rapido trigger``: parse options, plan the scenario (rapido_cli.trigger), send, render."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from rapido_cli.cli.common import AppContext, common_options
from rapido_cli.cli.dryrun_out import DryRunFormat

if TYPE_CHECKING:
    from rapido_cli.profiles import ResolvedProfile
    from rapido_cli.trigger import PlannedStep, StepResult

TRIGGER_HELP = """Send a coherent sequence of events for one booking, from a scenario.

Every event of the sequence shares the orderId, the amounts and the times; ids are derived
from the content, so running the same scenario with the same --set values again sends the
same ids (the server drops the repeats). Everything is built and checked before anything
is sent; the run stops at the first step that fails, with that step's exit status.

Scenarios: flight-booking, hotel-booking, flight-cancellation, hotel-modification,
payment-failure, missed-booking (see --list), or a YAML file of your own whose steps may
refer to earlier ones (${confirm.orderId}); see docs/toolkit.md.

PWA steps (booking_completed ...) are emitted only with --with-pwa, to a sandbox:
--sandbox, --sandbox-url, or a profile whose base_url is on loopback.

[bold]Examples[/]

  rapido trigger --list
  rapido trigger flight-booking --sandbox
  rapido trigger flight-booking --set order_id=FL_42 --set amount=9100 \\
      --set to=BOM
  rapido trigger hotel-modification --dry-run --output-format curl > replay.sh
  rapido trigger flight-booking --sandbox-url http://127.0.0.1:8787 \\
      --with-pwa --skip confirm
  rapido trigger ./my-scenario.yaml --json | jq -c 'select(.outcome)'
"""

_MARK = {"sent": "✓", "skipped": "–"}


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    from rapido_cli.errors import UsageError

    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {pair!r}: expected NAME=VALUE", hint="e.g. --set order_id=FL_42 --set amount=9100")
        out[key.strip()] = value
    return out


def _print_list(app: AppContext) -> None:
    from rapido_cli.trigger import builtin_names, load_builtin

    scenarios = [load_builtin(name) for name in builtin_names()]
    if app.json:
        from rapido_cli.output import print_json

        print_json(
            [
                {
                    "name": sc.name,
                    "description": sc.description,
                    "kind": sc.kind,
                    "params": sc.params,
                    "steps": [{"name": s.name, "kind": s.kind} for s in sc.steps],
                }
                for sc in scenarios
            ]
        )
        return
    width = max(len(sc.name) for sc in scenarios)
    write = app.out.file.write
    for sc in scenarios:
        write(f"{sc.name:<{width}}  {sc.description}\n")
    app.out.file.flush()


def _align_service(app: AppContext, profile: ResolvedProfile, service: str) -> None:
    """As `send-booking`: the sandbox's service follows the booking; another profile's gets a warning."""
    from rapido_cli.profiles import Value

    current = profile.values.get("service")
    if current is None or current.value == service:
        return
    if current.source == "sandbox":
        profile.values["service"] = Value(service, "sandbox")
    else:
        app.warn(
            f"profile '{profile.name}' declares x-client-service {current.value} ({current.source}); "
            f"this scenario is about {service}"
        )


def _resolve(app: AppContext, sandbox_url: str | None, need_key: bool) -> ResolvedProfile:
    from rapido_cli.errors import UsageError
    from rapido_cli.net import is_loopback_url
    from rapido_cli.profiles import resolve_profile

    if sandbox_url is None:
        return app.resolve_profile(need_key=need_key)
    if app.sandbox:
        raise UsageError("--sandbox starts a sandbox of its own; --sandbox-url names a running one: give one")
    if not is_loopback_url(sandbox_url):
        raise UsageError(
            f"--sandbox-url {sandbox_url}: not an http URL on this machine (loopback)",
            hint="a `rapido sandbox` listens on http://127.0.0.1:8787 by default",
        )
    return resolve_profile(
        app.profile, config_path=app.config, environ=app.environ, sandbox_url=sandbox_url.rstrip("/"), need_key=False
    )


def _line(app: AppContext, index: int, total: int, result: StepResult, width: int) -> None:
    from rapido_cli.text import inert

    step = result.step
    mark = _MARK.get(result.outcome, "✗")
    head = f"{mark} {index}/{total} {step.name:<{width}}  {step.event_type:<18}"
    if step.flow == "server":
        head += f" {step.event_id or ''}"
    else:
        head += f" {'(PWA)':<36}"
    if result.outcome == "skipped":
        tail = result.message or "skipped"
    elif result.outcome == "sent":
        parts = [f"HTTP {result.status}"]
        if result.verdict and result.verdict != "ok":
            parts.append(f"verdict {inert(result.verdict, limit=40)}")
        if result.request_id:
            parts.append(inert(result.request_id, limit=80))
        parts.append(f"{result.elapsed_ms:.0f} ms")
        tail = "  ".join(parts)
    else:
        tail = inert(result.message or result.outcome, limit=300)
    text = f"{head}  {tail}"
    if app.color:
        style = {"sent": "green", "skipped": "dim"}.get(result.outcome, "red")
        app.out.print(text, style=style, markup=False, highlight=False, soft_wrap=True)
    else:
        app.out.file.write(text + "\n")
        app.out.file.flush()


def _dry_run(
    app: AppContext,
    steps: list[PlannedStep],
    preview_server: Any,
    pwa: Any,
    output_format: str | None,
) -> None:
    from rapido_cli.cli.dryrun_out import print_dry_run
    from rapido_cli.output import print_json_line

    chosen = [s for s in steps if s.skip_reason is None and (s.flow == "server" or pwa is not None)]
    previews = [preview_server(s.body) if s.flow == "server" else pwa.preview(s.body) for s in chosen]
    if app.json:
        import sys

        for step, preview in zip(chosen, previews, strict=True):
            print_json_line({"step": step.name, "flow": step.flow, "dry_run": True, "request": preview})
        print_json_line({"summary": {"dry_run": True, "steps": len(chosen), "sent": 0}})
        sys.stdout.flush()
        return
    labels = [f"step {i}/{len(chosen)} {s.name}: {s.event_type}" for i, s in enumerate(chosen, 1)]
    print_dry_run(app, previews, output_format, labels)


def _not_emitted_hint(app: AppContext, steps: list[PlannedStep], with_pwa: bool) -> None:
    skipped_pwa = [s for s in steps if s.flow == "pwa" and s.skip_reason is None]
    if skipped_pwa and not with_pwa:
        n = len(skipped_pwa)
        app.info(
            f"{n} PWA step{'s' if n != 1 else ''} not emitted ({', '.join(s.name for s in skipped_pwa)}): "
            "add --with-pwa, with --sandbox or --sandbox-url, to rehearse the PWA side too"
        )


def _missed_hint(app: AppContext, results: list[StepResult], base_url: str, embedded: bool) -> None:
    """Say where a PWA booking with no server order event will show up as missed."""
    from rapido_cli.text import inert

    bookings = {
        r.step.order_id
        for r in results
        if r.step.flow == "pwa" and r.outcome == "sent" and r.step.event_type == "booking_completed"
    }
    ordered = {
        r.step.order_id
        for r in results
        if r.step.flow == "server" and r.outcome == "sent" and r.step.event_type.startswith("order.")
    }
    for order in sorted(o for o in bookings - ordered if o):
        where = f"GET {base_url}/_sandbox/missed"
        if embedded:
            app.info(
                f"booking {inert(order)}: the PWA reported it and no server order event was sent; this embedded "
                "sandbox stops now, so run `rapido sandbox --missed-after 5` and trigger with --sandbox-url to see "
                "it reported missed"
            )
        else:
            app.info(
                f"booking {inert(order)}: the PWA reported it and no server order event was sent; "
                f"after the sandbox's --missed-after window it is listed at {where} (and by `rapido tail`)"
            )


def trigger(
    app: AppContext,
    scenario: Annotated[
        str | None,
        typer.Argument(
            metavar="SCENARIO|FILE.yaml", help="A scenario name (see --list) or a YAML file.", show_default=False
        ),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the scenarios, one line each.")] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="NAME=VALUE", help="Change a scenario parameter (repeatable), e.g. order_id=FL_42."
        ),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option("--skip", metavar="STEP", help="Build but do not send this step (repeatable), e.g. confirm."),
    ] = None,
    with_pwa: Annotated[
        bool,
        typer.Option("--with-pwa", help="Also emit the PWA steps (POST /pwa/events) to the sandbox."),
    ] = False,
    sandbox_url: Annotated[
        str | None,
        typer.Option(
            "--sandbox-url",
            metavar="URL",
            help="Send to a running `rapido sandbox` at URL (loopback only) with its credentials.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the requests (key masked); send nothing.")
    ] = False,
    output_format: Annotated[
        DryRunFormat | None,
        typer.Option("--output-format", help="With --dry-run: runnable commands (key read from $RAPIDO_CLIENT_KEY)."),
    ] = None,
    max_attempts: Annotated[
        int | None, typer.Option("--max-attempts", min=1, help="Attempts per event including the first.")
    ] = None,
) -> None:
    """Send a coherent sequence of events for one booking."""
    import time

    from rapido_cli.cli.dryrun_out import check_output_format
    from rapido_cli.errors import UsageError
    from rapido_cli.trigger import load_scenario, plan, run_steps

    if list_:
        _print_list(app)
        return
    if scenario is None:
        from rapido_cli.trigger import builtin_names

        raise UsageError("name a scenario or a scenario file", hint="scenarios: " + ", ".join(builtin_names()))
    check_output_format(app, dry_run, output_format.value if output_format else None)
    sc = load_scenario(scenario)
    steps = plan(sc, _parse_sets(set_ or []), skip=skip or ())
    if sc.requires_pwa and not with_pwa:
        raise UsageError(
            f"scenario {sc.name} is about the PWA side: add --with-pwa (with --sandbox or --sandbox-url)",
            hint="e.g. rapido trigger missed-booking --sandbox-url http://127.0.0.1:8787 --with-pwa",
        )
    for step in steps:
        for warning in step.warnings:
            app.warn(f"step {step.name}: {warning}")

    profile = _resolve(app, sandbox_url, need_key=not dry_run)
    _align_service(app, profile, f"{sc.kind}s")
    if dry_run and profile.key is None:
        from rapido_cli.profiles import Secret

        profile.key = Secret("")  # a dry run shows the requests; the key is only needed to send them
    target = profile.target()
    embedded = app.sandbox and sandbox_url is None
    if with_pwa:
        from rapido_cli.net import is_loopback_url

        if not (app.sandbox or sandbox_url or is_loopback_url(target.base_url)):
            raise UsageError(
                "--with-pwa emits PWA events to a sandbox's /pwa/events, and the target is not one",
                hint="add --sandbox, or --sandbox-url http://127.0.0.1:8787 for a running `rapido sandbox`",
            )

    from rapido_cli.output import print_json_line, render_attempt
    from rapido_cli.transport import EventClient, RetryPolicy
    from rapido_cli.trigger import PwaPoster

    def on_attempt(_event: dict[str, Any], attempt: Any, last: bool) -> None:
        if app.verbose:
            render_attempt(app.err, attempt, last)

    retry = RetryPolicy.from_env(app.environ, max_attempts or target.max_attempts)
    pwa = PwaPoster(target.base_url, timeout=target.timeout) if with_pwa else None
    if pwa is not None:
        app.on_close(pwa.close)
    with EventClient(target, retry=retry, on_attempt=on_attempt, environ=app.environ) as client:
        if dry_run:
            _dry_run(app, steps, client.request_preview, pwa, output_format.value if output_format else None)
            return
        _not_emitted_hint(app, steps, with_pwa)
        runnable = [s for s in steps if s.flow == "server" or with_pwa]
        width = max(len(s.name) for s in runnable) if runnable else 0
        counter = iter(range(1, len(runnable) + 1))

        def on_step(result: StepResult) -> None:
            if app.json:
                import sys

                print_json_line(result.to_json())
                sys.stdout.flush()
            else:
                _line(app, next(counter), len(runnable), result, width)

        start = time.perf_counter()
        results = run_steps(
            steps, send_server=client.send, send_pwa=pwa.post if pwa is not None else None, on_step=on_step
        )
    elapsed = (time.perf_counter() - start) * 1000
    failed = next((r for r in results if not r.ok), None)
    order_id = next((s.order_id for s in steps if s.flow == "server" and s.order_id), None)
    sent = sum(1 for r in results if r.outcome == "sent")
    skipped = sum(1 for r in results if r.outcome == "skipped")
    if app.json:
        import sys

        print_json_line(
            {
                "summary": {
                    "scenario": sc.name,
                    "order_id": order_id,
                    "steps": len(runnable),
                    "sent": sent,
                    "skipped": skipped,
                    "failed": 0 if failed is None else 1,
                    "not_run": len(runnable) - len(results),
                    "failed_step": None if failed is None else failed.step.name,
                    "exit_code": 0 if failed is None else int(failed.exit_code),
                    "elapsed_ms": round(elapsed, 1),
                }
            }
        )
        sys.stdout.flush()
    else:
        from rapido_cli.text import inert

        what = f"{sent} of {len(runnable)} step{'s' if len(runnable) != 1 else ''} sent"
        if skipped:
            what += f", {skipped} skipped"
        order = f" for order {inert(order_id)}" if order_id else ""
        if failed is None:
            app.out.file.write(f"{sc.name}: {what}{order}\n")
        else:
            app.out.file.write(f"{sc.name}: stopped at step {failed.step.name} ({failed.outcome}); {what}{order}\n")
        app.out.file.flush()
    if with_pwa and failed is None:
        _missed_hint(app, results, target.base_url.rstrip("/"), embedded)
    if failed is not None:
        if failed.outcome == "unauthorized":
            app.err.print(
                f"hint: the server refused the credentials of profile '{profile.name}'; run `rapido doctor`",
                markup=False,
            )
        raise typer.Exit(int(failed.exit_code))


def register(app: typer.Typer) -> None:
    """Add ``trigger``."""
    app.command("trigger", help=TRIGGER_HELP, rich_help_panel="Try it locally")(common_options(trigger))
