"""``rapido sandbox``: the local receiver, in the foreground, with a live line per event on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rapido_cli.cli.common import AppContext, common_options
from rapido_cli.text import inert

if TYPE_CHECKING:
    from rich.text import Text

    from rapido_cli.sandbox import SandboxConfig, SandboxEvent

SANDBOX_HELP = """Run a local receiver that implements the Rapido event API; nothing reaches Rapido.

It checks the four headers (401 when missing; with --client-id, the client id and the key
from RAPIDO_SANDBOX_KEY or --key-file must match), checks each payload with the same rules
as `rapido validate` (400 with the failing fields), answers a repeated event id with the same
answer (409 if its content changed), and prints a line per event on stderr.

For PWAs it serves GET /bridge.js, a window.NativeJSBridge.logEvents stand-in for a normal
browser: add <script src="http://127.0.0.1:8787/bridge.js"></script> in development and
watch both flows here. A PWA booking_completed with no server order.* event for the same
booking id within --missed-after seconds is reported as a missed booking (--missed keeps them).

Open http://127.0.0.1:8787/ in a browser for the inbox: every event as it arrives, its verdict
and problems, missed bookings highlighted. Inspect with GET /_sandbox/events, /_sandbox/stats and
/_sandbox/missed (JSON); follow GET /_sandbox/stream (server-sent events) or `rapido tail`.
POST /_sandbox/reset clears it (send JSON or an x-rapido-sandbox: 1 header).

Pages opened from file:// (Origin: null) are refused unless --allow-file-origin.

[bold]Examples[/]

  rapido sandbox
  RAPIDO_SANDBOX_KEY=test-key rapido sandbox --client-id acme-travel \\
      --store arrived.jsonl
  rapido sandbox --port 0 --latency 80 \\
      --faults 500:0.05,429:0.05,drop-after:0.02 --seed 7

Then, in another terminal:

  RAPIDO_BASE_URL=http://127.0.0.1:8787 rapido send-booking flight ...
"""




#: The option of each sandbox setting, for messages (the core names fields, the CLI its options).
_OPTION_OF: dict[str, str] = {
    "latency_ms": "--latency",
    "rate_limit": "--rate-limit",
    "rate_burst": "--rate-burst",
    "missed_after_s": "--missed-after",
    "port": "--port",
    "faults": "--faults",
    "fail_rate": "--fail-rate",
}

def _short_id(value: str | None, width: int = 24) -> str:
    if not value:
        return "-"
    return inert(value) if len(value) <= width else inert(value[: width - 2]) + ".."


def event_segments(ev: SandboxEvent, *, verbose: int = 0) -> list[tuple[str, str]]:
    """One live line (plus problem lines at -v) as ``(text, rich style)`` pieces.

    Every piece that came from a client (types, ids, messages naming headers or origins, field
    paths) passes through ``text.inert``: a request cannot move the cursor or retitle the terminal.
    """
    from rapido_cli.output import VERDICT_STYLES

    style = VERDICT_STYLES.get(ev.verdict, "")
    seg: list[tuple[str, str]] = [(ev.received_at.astimezone().strftime("%H:%M:%S"), "dim"), (" ", "")]
    if ev.flow == "correlation":
        seg += [(f"booking {inert(ev.order_id, limit=80)} ", "bold"), (ev.verdict, style)]
        seg.append((f": {inert(ev.message, limit=300)}", ""))
        return seg
    seg += [(f"{ev.flow:<6} ", ""), (inert(ev.event_type, limit=80) if ev.event_type else "-", "")]
    if ev.flow == "server":
        status = "---" if ev.status is None else str(ev.status)
        seg += [(" ", ""), (_short_id(ev.event_id), "dim"), (" ", ""), (status, style)]
    verdict = ev.verdict
    if ev.fault and ev.verdict != "fault":
        verdict += f" (fault {ev.fault})"
    seg += [(" ", ""), (verdict, style)]
    if ev.client_id and verbose:
        seg.append((f" client={inert(ev.client_id, limit=80)}", "dim"))
    if ev.message:
        message = inert(ev.message, limit=300)
        seg.append((f"  {message}", "dim" if ev.verdict in ("accepted", "ok", "duplicate") else ""))
    if verbose:
        seg += [
            (
                f"\n    {p['severity']}: {inert(p['path'] or 'event', limit=120)}: {inert(p['message'], limit=300)}",
                "dim",
            )
            for p in ev.problems
        ]
    elif ev.verdict == "warning" and ev.problems:
        seg.append((f"  ({len(ev.problems)} warning(s); -v shows them)", "dim"))
    return seg


def format_event(ev: SandboxEvent, *, verbose: int = 0) -> Text:
    """The live line as rich text, for a colour terminal."""
    from rich.text import Text

    return Text.assemble(*event_segments(ev, verbose=verbose))


def plain_event(ev: SandboxEvent, *, verbose: int = 0) -> str:
    """The live line as plain text (pipes, files, NO_COLOR): cheap enough for thousands a second."""
    return "".join(text for text, _ in event_segments(ev, verbose=verbose))


def _read_key(key_file: Path | None, environ: dict[str, str]) -> str | None:
    from rapido_cli.errors import UsageError

    if key_file is not None:
        from rapido_cli.fs import read_limited

        try:
            # A regular file of at most 64 KiB: a FIFO or /dev/zero must not hang the start.
            key = read_limited(key_file, limit=64 * 1024, what="file").decode("utf-8").strip()
        except UsageError as exc:
            raise UsageError(f"--key-file {exc.message}", hint=exc.hint) from None
        except UnicodeDecodeError:
            raise UsageError(f"--key-file {key_file}: not UTF-8 text") from None
        if not key:
            raise UsageError(f"--key-file {key_file}: the file is empty", hint="put the expected client key in it")
        return key
    key = environ.get("RAPIDO_SANDBOX_KEY", "").strip()
    return key or None


def _banner(app: AppContext, cfg: SandboxConfig, url: str) -> list[str]:
    from rapido_cli.net import is_loopback_origin

    lines = [
        f"rapido sandbox listening on {url}  (nothing reaches Rapido; Ctrl-C to stop)",
        f"  server events  POST {url}/api/ota/event   e.g. RAPIDO_BASE_URL={url} rapido send ...",
        f'  PWA bridge     <script src="{url}/bridge.js"></script>',
        f"  inbox          {url}/  (open in a browser: what arrives, live)",
        f"  inspect        {url}/_sandbox/events  /_sandbox/stats  /_sandbox/missed  /_sandbox/stream",
    ]
    if cfg.client_id or cfg.client_key:
        who = f"client id {cfg.client_id!r}" if cfg.client_id else "any client id"
        key = (
            f"key ****{cfg.client_key[-4:]}"
            if cfg.client_key and len(cfg.client_key) > 4
            else ("key ****" if cfg.client_key else "any key")
        )
        lines.append(f"  credentials    {who}, {key}")
    else:
        lines.append("  credentials    any non-empty client id and key (use --client-id and RAPIDO_SANDBOX_KEY)")
    extras = []
    if cfg.latency_ms:
        extras.append(f"latency {cfg.latency_ms:g} ms")
    if cfg.rate_limit:
        extras.append(f"rate limit {cfg.rate_limit:g}/s")
    if cfg.fault_plan:
        plan = ", ".join(f"{f.kind}:{f.probability:g}" for f in cfg.fault_plan)
        extras.append(f"faults {plan}" + (f" (seed {cfg.seed})" if cfg.seed is not None else ""))
    if cfg.store:
        extras.append(f"store {cfg.store}")
    if cfg.missed:
        extras.append(f"missed bookings {cfg.missed}")
    if extras:
        lines.append("  " + "; ".join(extras))
    if cfg.allow_file_origin:
        lines.append(
            "  warning: --allow-file-origin: any local file or sandboxed iframe (Origin: null) can post PWA events"
        )
    if not is_loopback_origin(f"http://{cfg.host}" if ":" not in cfg.host else f"http://[{cfg.host}]"):
        lines.append(
            f"  warning: listening on {cfg.host}, not loopback: other machines can post events and read "
            "/_sandbox/events"
        )
    return lines


def _summary(stats: dict[str, Any]) -> str:
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(stats["by_verdict"].items(), key=lambda kv: -kv[1]))
    b = stats["bookings"]
    text = f"sandbox stopped: {stats['total']} event(s)" + (f" ({verdicts})" if verdicts else "")
    if b["matched"] or b["missed"] or b["pending"]:
        text += f"; bookings: {b['matched']} matched, {b['missed']} missed, {b['pending']} still waiting"
    return text


def register(app: typer.Typer) -> None:
    """Add ``rapido sandbox``."""

    @app.command("sandbox", help=SANDBOX_HELP, no_args_is_help=False)
    @common_options
    def sandbox(
        app: AppContext,
        host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default).")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="TCP port; 0 picks a free one.")] = 8787,
        client_id: Annotated[
            str | None,
            typer.Option(
                "--client-id",
                help="Require this x-client-id; the key comes from RAPIDO_SANDBOX_KEY or --key-file.",
                show_default=False,
            ),
        ] = None,
        key_file: Annotated[
            Path | None,
            typer.Option(
                "--key-file",
                help="File holding the expected client key (instead of RAPIDO_SANDBOX_KEY).",
                dir_okay=False,
                show_default=False,
            ),
        ] = None,
        latency: Annotated[
            float, typer.Option("--latency", help="Delay each answer by MS milliseconds.", metavar="MS")
        ] = 0.0,
        fail_rate: Annotated[
            float, typer.Option("--fail-rate", help="Answer this share of events with HTTP 500 (0-1).", metavar="P")
        ] = 0.0,
        rate_limit: Annotated[
            float | None,
            typer.Option(
                "--rate-limit", help="Allow N events/s; more get 429 with Retry-After.", metavar="N", show_default=False
            ),
        ] = None,
        store: Annotated[
            Path | None,
            typer.Option(
                "--store",
                help="Append what arrived as JSON Lines (key never stored).",
                dir_okay=False,
                show_default=False,
            ),
        ] = None,
        faults: Annotated[
            str | None,
            typer.Option(
                "--faults",
                help="Fault plan, e.g. 500:0.1,429:0.05,499:0.05,drop:0.05,drop-after:0.02.",
                metavar="SPEC",
                show_default=False,
            ),
        ] = None,
        seed: Annotated[
            int | None, typer.Option("--seed", help="Make the fault draws repeatable.", show_default=False)
        ] = None,
        missed: Annotated[
            Path | None,
            typer.Option(
                "--missed",
                help="Append missed PWA bookings as JSON Lines (for backfill).",
                dir_okay=False,
                show_default=False,
            ),
        ] = None,
        missed_after: Annotated[
            float,
            typer.Option(
                "--missed-after", help="Seconds a PWA booking_completed waits for its server event.", metavar="SECONDS"
            ),
        ] = 60.0,
        allow_file_origin: Annotated[
            bool,
            typer.Option(
                "--allow-file-origin",
                help="Accept bridge posts (POST /pwa/events) from pages opened as file:// (Origin: null). "
                "Off by default: every local file and every sandboxed iframe sends Origin: null, so this "
                "lets any such page post events.",
            ),
        ] = False,
    ) -> None:
        import signal
        import sys
        import threading

        from rapido_cli.output import print_json_line
        from rapido_cli.sandbox import Sandbox, SandboxConfig

        key = _read_key(key_file, app.environ)
        lock = threading.Lock()
        verbose = app.verbose
        # rich only for a colour terminal; plain writes elsewhere keep up with a benchmark's rate
        rich_lines = app.color and sys.stderr.isatty()

        def on_event(ev: SandboxEvent) -> None:
            with lock:
                if app.json:
                    print_json_line(ev.to_dict())
                    sys.stdout.flush()
                if app.quiet:
                    return
                if rich_lines:
                    app.err.print(format_event(ev, verbose=verbose), soft_wrap=True)
                else:
                    sys.stderr.write(plain_event(ev, verbose=verbose) + "\n")
                    sys.stderr.flush()

        from rapido_cli.errors import SettingError, UsageError

        try:
            cfg = SandboxConfig(
                host=host,
                port=port,
                client_id=client_id,
                client_key=key,
                latency_ms=latency,
                fail_rate=fail_rate,
                rate_limit=rate_limit,
                store=store,
                on_event=on_event,
                faults=faults,
                seed=seed,
                missed=missed,
                missed_after_s=missed_after,
                allow_file_origin=allow_file_origin,
            )
        except SettingError as exc:  # the core names its fields; here they are options
            reason, hint = exc.render(lambda name: _OPTION_OF.get(name, name))
            raise UsageError(f"{_OPTION_OF.get(exc.field, exc.field)}: {reason}", hint=hint) from None
        if key and not client_id:
            app.warn("RAPIDO_SANDBOX_KEY/--key-file is set without --client-id: only the key is enforced")
        sb = Sandbox(cfg)

        def _term(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, _term)
        interrupted = False
        try:
            sb.start()
            # The first line is printed even with --quiet: with --port 0 it is the only way to learn the URL.
            banner = _banner(app, cfg, sb.url)
            for text in banner if not app.quiet else banner[:1]:
                app.err.print(text, markup=False, highlight=False, soft_wrap=True)
            try:
                sb.serve_forever()
            except KeyboardInterrupt:
                interrupted = True
        finally:
            sb.stop()
            signal.signal(signal.SIGTERM, previous)
        with lock:
            if not app.quiet:
                app.err.print(_summary(sb.stats()), markup=False, highlight=False)
        if interrupted:
            # Stopped by Ctrl-C or SIGTERM after a clean shutdown: 130, as every command (CLI.md).
            from rapido_cli.errors import ExitCode

            raise typer.Exit(ExitCode.INTERRUPTED)
