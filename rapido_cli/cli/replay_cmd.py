"""``rapido replay``: stream a JSON Lines file to the API with a journal, for backfills and cron."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rapido_cli.cli.common import AppContext, common_options

if TYPE_CHECKING:
    from rapido_cli.client import Attempt
    from rapido_cli.replay import LineResult, Replayer, Summary

REPLAY_HELP = """Send every valid event of a JSON Lines file (or - for standard input), exactly once.

Each line is checked before it is sent; invalid lines are reported with their line number and never sent. \
A journal (SQLite, in the user state directory) records each event's outcome per profile target, so running \
the same file again only sends what was not acknowledged: safe for cron, and after a crash, a kill -9 or an \
outage. One run per journal and target at a time. Ctrl-C stops reading, lets requests in flight finish and \
saves progress; a second Ctrl-C aborts.

Exit codes: 0 all delivered or already delivered · 1 invalid or rejected events · 3 credentials refused \
(the run stops at once) · 75 temporary failures, or the journal is busy: run again later · 130 interrupted.

[bold]Examples[/]

  rapido replay events.jsonl --concurrency 16 --dead-letter failed.jsonl

  rapido build flight --csv export.csv \\
      | rapido replay - --rate auto --json > replay.log

  rapido replay backfill.jsonl --dry-run --sandbox
"""

#: Seconds between one-line status reports when stderr is not a terminal (cron logs);
#: ``RAPIDO_STATUS_EVERY`` overrides it.
STATUS_EVERY_S = 5.0


def _status_every(environ: dict[str, str]) -> float:
    try:
        return max(0.1, float(environ.get("RAPIDO_STATUS_EVERY", STATUS_EVERY_S)))
    except ValueError:
        return STATUS_EVERY_S


def _parse_rate(text: str | None) -> float | str | None:
    from rapido_cli.errors import UsageError

    if text is None:
        return None
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--rate {text!r}: expected a number of events per second or 'auto'") from None
    if not value > 0:
        raise UsageError("--rate must be greater than 0", hint="omit it for no ceiling, or use --rate auto")
    return value


def _open_input(file: str) -> tuple[Any, str, int | None]:
    """(binary stream, name for messages, size in bytes when known)."""
    import os

    from rapido_cli.errors import UsageError

    if file == "-":
        return sys.stdin.buffer, "<stdin>", None
    path = Path(file)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        raise UsageError(f"{file}: no such file", hint="give a .jsonl file, or - for standard input") from None
    except IsADirectoryError:
        raise UsageError(f"{file}: is a directory") from None
    except OSError as exc:
        raise UsageError(f"{file}: cannot read: {exc.strerror}") from None
    try:
        st = os.fstat(fh.fileno())
        size = st.st_size if path.is_file() else None
    except OSError:
        size = None
    return fh, file, size


class _Reporter:
    """Per-line output (JSON lines or human messages) and progress (bar or periodic status)."""

    def __init__(self, app: AppContext, source: str, size: int | None, dry_run: bool) -> None:
        self.app = app
        self.source = source
        self.size = size
        self.dry_run = dry_run
        self.replayer: Replayer | None = None
        self.tty = sys.stderr.isatty() and not app.quiet
        self.progress: Any = None
        self.task: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._out = sys.stdout
        self.broken = False
        import orjson

        self._dumps = orjson.dumps

    # ---- per line (called on the collecting thread)

    def on_result(self, r: LineResult) -> None:
        try:
            self._on_result(r)
        except BrokenPipeError:
            self._stdout_closed()

    def _stdout_closed(self) -> None:
        """The reader of our stdout went away (``| head``): stop the run cleanly, output nowhere."""
        import os

        if self.broken:
            return
        self.broken = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        if self.replayer is not None:
            self.replayer.stop()
        print("stdout was closed: stopping (progress is saved)", file=sys.stderr, flush=True)

    def _on_result(self, r: LineResult) -> None:
        app = self.app
        if self.broken:
            return
        if app.json:
            self._out.write(self._dumps(r.to_json()).decode() + "\n")
            return
        where = f"{self.source}:{r.line}"
        if r.outcome == "invalid":
            if not app.quiet:
                for p in r.problems or []:
                    self._err(f"{where}: {p.path or 'line'}: {p.message}", "red")
        elif r.outcome == "failed":
            if r.failure != "interrupted" or app.verbose:
                self._err(f"{where}: {r.event_id}: not delivered ({r.failure}): {r.error}", "yellow")
        elif r.outcome == "skipped":
            if r.reason != "already sent" and not app.quiet:
                self._err(f"{where}: {r.event_id}: {r.reason}, skipped", "dim")
            elif app.verbose:
                self._err(f"{where}: {r.event_id}: already sent, skipped", "dim")
        elif r.outcome == "would_send":
            self._out.write(f"{r.line}\t{r.event_id}\t{r.event_type or ''}\t{r.order_id or ''}\n")
        elif r.outcome == "sent" and app.verbose:
            self._err(f"{where}: {r.event_id}: sent (HTTP {r.status}, {r.request_id or 'no requestId'})", "green")

    def on_attempt(self, line: int, event_id: str, att: Attempt, final: bool) -> None:
        if not self.app.verbose:
            return
        what = f"HTTP {att.status}" if att.status is not None else (att.error or "no answer")
        msg = f"{self.source}:{line}: {event_id}: attempt {att.number}: {what} in {att.elapsed_ms:.0f} ms"
        if not final and att.wait_s:
            msg += f", retrying in {att.wait_s:.2f} s"
        self._err(msg, None)

    def _err(self, message: str, style: str | None) -> None:
        console = self.progress.console if self.progress is not None else self.app.err
        if self.app.color and style:
            from rich.markup import escape

            console.print(f"[{style}]{escape(message)}[/]", highlight=False, emoji=False)
        else:
            console.print(message, markup=False, highlight=False, emoji=False)

    # ---- progress

    def start(self, replayer: Replayer) -> None:
        self.replayer = replayer
        if self.app.quiet:
            return
        if self.tty:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("[bold]replay[/]" if not self.dry_run else "[bold]dry run[/]"),
                BarColumn(bar_width=16),
                TextColumn("{task.percentage:>3.0f}%" if self.size else ""),
                TextColumn("{task.fields[counts]}"),
                TimeRemainingColumn(),
                console=self.app.err,
                transient=True,
                refresh_per_second=8,
            )
            self.progress.start()
            self.task = self.progress.add_task("replay", total=self.size or None, counts="")
        self._thread = threading.Thread(target=self._tick, name="rapido-progress", daemon=True)
        self._thread.start()

    def _tick(self) -> None:
        assert self.replayer is not None
        interval = 0.25 if self.tty else _status_every(self.app.environ)
        while not self._stop.wait(interval):
            snap = self.replayer.snapshot()
            if self.tty:
                self.progress.update(self.task, completed=snap["bytes"], counts=self._counts(snap))
            else:
                print(f"replay {self.source}: {self._counts(snap)}", file=sys.stderr, flush=True)

    def _counts(self, snap: dict[str, Any]) -> str:
        if self.dry_run:
            return f"{snap['done']} checked · {snap['invalid']} invalid · {snap['skipped']} skipped"
        parts = [f"{snap['sent']} sent"]
        for key in ("skipped", "invalid", "failed", "retries", "throttled"):
            if snap[key] or not self.tty:
                parts.append(f"{snap[key]} {key}")
        wide = not self.tty or self.app.err.width >= 120
        if wide:
            parts.append(f"{snap['in_flight']} in flight")
        limit = f" (limit {snap['limit']:.0f})" if snap["limit"] and wide else ""
        parts.append(f"{snap['rate']:.0f}/s{limit}")
        return " · ".join(parts)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        if self.app.json and not self.broken:
            try:
                self._out.flush()
            except BrokenPipeError:
                self._stdout_closed()


def _render_summary(app: AppContext, s: Summary, *, dead_letter: Path | None, journal: Path | None) -> None:
    from rich.table import Table

    table = Table(title="dry run: nothing was sent" if s.dry_run else None, show_header=True, box=None)
    table.add_column("events", style="bold")
    table.add_column("count", justify="right")
    table.add_column("")
    table.add_row("total", str(s.total), "non-blank lines read")
    if s.dry_run:
        table.add_row("would send", str(s.would_send), "")
    else:
        table.add_row("sent", str(s.sent), "acknowledged by the server")
    if s.skipped:
        parts = []
        if s.already_sent:
            parts.append(f"{s.already_sent} already sent")
        if s.duplicates:
            parts.append(f"{s.duplicates} duplicate ids in the file")
        table.add_row("skipped", str(s.skipped), ", ".join(parts))
    else:
        table.add_row("skipped", "0", "")
    table.add_row("invalid", str(s.invalid), "never sent: fix the lines" if s.invalid else "")
    if not s.dry_run:
        detail = []
        if s.temporary:
            detail.append(f"{s.temporary} temporary")
        if s.rejected:
            detail.append(f"{s.rejected} rejected")
        if s.unauthorized:
            detail.append(f"{s.unauthorized} unauthorized")
        if s.tls:
            detail.append(f"{s.tls} TLS certificate not trusted")
        table.add_row("failed", str(s.failed), ", ".join(detail))
        if s.pending or s.interrupted_events:
            table.add_row("not sent", str(s.pending + s.interrupted_events), "stopped before sending: run again")
        table.add_row("retries", str(s.retries), "")
        table.add_row("throttled", str(s.throttled), "HTTP 429 answers")
    table.add_row("elapsed", f"{s.elapsed_s:.1f} s", f"{s.rate:.1f} events/s")
    app.out.print(table)
    notes = []
    if dead_letter is not None and not s.dry_run and (s.invalid or s.temporary or s.rejected):
        notes.append(f"dead letters: {dead_letter}")
    if journal is not None and not s.dry_run:
        notes.append(f"journal: {journal}")
    for note in notes:
        if not app.quiet:
            app.err.print(note, markup=False, emoji=False, highlight=False)


def replay(
    app: AppContext,
    file: Annotated[str, typer.Argument(help="JSON Lines file of server events, or - for standard input.")],
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=256, help="Requests in flight (keep-alive connections).")
    ] = 8,
    rate: Annotated[
        str | None,
        typer.Option(
            "--rate",
            help="Ceiling in events/s, or 'auto' to adapt to the server's 429s (default: the profile's rate).",
            show_default=False,
        ),
    ] = None,
    journal: Annotated[
        Path | None,
        typer.Option(
            "--journal",
            help="Journal file (default: <user state dir>/rapido/journal.sqlite3).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    no_journal: Annotated[
        bool, typer.Option("--no-journal", help="One-off: no journal, no lock, nothing skipped from earlier runs.")
    ] = False,
    dead_letter: Annotated[
        Path | None,
        typer.Option(
            "--dead-letter",
            help="Write invalid and undeliverable lines here, verbatim (rewritten each run).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option("--max-attempts", min=1, help="Attempts per event, including the first (default: profile, 5)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and list what would be sent; send nothing.")
    ] = False,
) -> None:
    """Send every valid event of a JSON Lines file, exactly once."""
    import signal

    from rapido_cli.errors import ConfigError, UsageError
    from rapido_cli.journal import Journal, default_journal_path
    from rapido_cli.output import print_json_line
    from rapido_cli.profiles import Secret, Target
    from rapido_cli.replay import Replayer, ReplayOptions

    if no_journal and journal is not None:
        raise UsageError("--journal and --no-journal cannot be combined")
    parsed_rate = _parse_rate(rate)
    if dead_letter is not None and file != "-" and Path(file).resolve() == dead_letter.resolve():
        raise UsageError("--dead-letter must not be the input file", hint="write dead letters to another file")

    profile = app.resolve_profile(need_key=not dry_run)
    try:
        target = profile.target()
    except ConfigError:
        if not dry_run:
            raise
        # A dry run can check a file without credentials; it just cannot consult the journal.
        target = Target(
            str(profile.get("base_url") or "http://unconfigured.invalid"),
            str(profile.get("client_id") or "-"),
            "-",
            "flights",
            Secret(""),
        )
        no_journal = True
        app.warn(f"profile '{profile.name}' is incomplete: not checking the journal for already-sent events")

    if app.sandbox and journal is None and not no_journal:
        # The embedded sandbox lives on a new port each run (a new target) and forgets what it
        # received when it stops: a default journal would only collect dead targets.
        no_journal = True
    if parsed_rate is None and target.rate:
        parsed_rate = target.rate
    journal_path = None if no_journal else (journal or default_journal_path(app.environ))

    stream, source, size = _open_input(file)
    if file == "-" and sys.stdin.isatty() and not app.quiet:
        app.err.print("reading events from the terminal, one JSON object per line; end with Ctrl-D", markup=False)
    reporter = _Reporter(app, source, size, dry_run)
    options = ReplayOptions(
        concurrency=concurrency,
        rate=parsed_rate,  # type: ignore[arg-type]
        rate_ceiling=target.rate if parsed_rate == "auto" else None,
        max_attempts=max_attempts or target.max_attempts,
        dry_run=dry_run,
        dead_letter=dead_letter,
        environ=app.environ,
        on_attempt=reporter.on_attempt,
    )
    jr: Journal | None = None
    lock = None
    old_handlers: dict[signal.Signals, Any] = {}
    try:
        if journal_path is not None:
            jr = Journal(journal_path)
            if not dry_run:
                lock = jr.lock(target.name, source=source)
        replayer = Replayer(target, options, journal=jr, on_result=reporter.on_result)
        if not app.quiet:
            mode = "dry run of" if dry_run else "replaying"
            pace = "" if options.rate is None else (
                ", rate auto" if options.rate == "auto" else f", rate {float(options.rate):g}/s"
            )
            where = "" if dry_run else f" in flight: {concurrency}{pace}"
            app.err.print(
                f"{mode} {source} → {target.event_url} as {target.client_id}"
                + (f" ({where.strip()})" if where else "")
                + (f"; journal {journal_path}" if journal_path else "; no journal"),
                markup=False,
                emoji=False,
                highlight=False,
            )

        def on_signal(signum: int, _frame: Any) -> None:
            if replayer.stopping:
                replayer.abort()
                return
            replayer.stop()
            name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
            print(
                f"\n{name}: stopping; finishing {replayer.in_flight} request(s) in flight "
                "(Ctrl-C again to abort at once)",
                file=sys.stderr,
                flush=True,
            )

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                old_handlers[sig] = signal.signal(sig, on_signal)
        reporter.start(replayer)
        try:
            summary = replayer.run(stream, source, size=size)
        finally:
            reporter.stop()
    finally:
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        if lock is not None:
            lock.release()
        if jr is not None:
            jr.close()
        if stream is not sys.stdin.buffer:
            stream.close()

    if replayer.read_error:
        app.warn(replayer.read_error)
    try:
        if reporter.broken:
            pass
        elif app.json:
            print_json_line({"summary": summary.to_json()})
            sys.stdout.flush()
        else:
            _render_summary(app, summary, dead_letter=dead_letter, journal=journal_path)
    except BrokenPipeError:
        reporter._stdout_closed()
    code = summary.exit_code
    if summary.tls:
        app.err.print(
            "error: the server's TLS certificate is not trusted; the run stopped. hint: set ca_bundle in the "
            "profile (or SSL_CERT_FILE) to the CA that signed it, and check with `rapido doctor`",
            markup=False,
            emoji=False,
        )
    elif summary.unauthorized:
        app.err.print(
            f"error: the server refused the credentials of profile '{profile.name}' (HTTP 401/403); "
            "the run stopped. hint: run `rapido doctor`",
            markup=False,
            emoji=False,
        )
    elif summary.interrupted:
        app.err.print(
            "interrupted: progress is saved; run the same command again to continue"
            + ("" if journal_path else " (without a journal, everything is sent again)"),
            markup=False,
            emoji=False,
        )
    elif code == 75 and not app.quiet:
        app.err.print(
            "some events failed temporarily: run the same command again later (delivered events are skipped)",
            markup=False,
            emoji=False,
        )
    if code:
        raise typer.Exit(int(code))


def register(app: typer.Typer) -> None:
    """Add ``replay``."""
    app.command("replay", help=REPLAY_HELP, rich_help_panel="Backfill")(common_options(replay))
