"""``rapido replay``: send a file of events to the API with a journal, for backfills and cron."""

from __future__ import annotations

import sys
import threading
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rapido_cli.cli.common import AppContext, common_options

if TYPE_CHECKING:
    from rapido_cli.replay import LineResult, Replayer, Summary
    from rapido_cli.transport import Attempt

REPLAY_HELP = """Send every valid event of a file (or - for standard input), exactly once.

Reads every form `rapido validate` reads: JSON Lines (.jsonl/.ndjson, streamed), a .json object or array, \
YAML (.yaml/.yml: one document, a list, or several documents); standard input and other names are sniffed. \
A .json or YAML file is sent only if all of it parses. Each event is checked before it is sent; invalid ones \
are reported with their line number and never sent. A journal (SQLite, in the user state directory) records \
each event's outcome per target, so running the same file again only sends what was not acknowledged: safe \
for cron, and after a crash, a kill -9 or an outage. One run per journal and target at a time.

When the server is clearly down (failures in a row, across workers, for a few seconds) the run stops taking \
events, prints one line, leaves the rest for the next run and exits 75. Ctrl-C or SIGTERM stops reading, lets \
requests in flight finish and saves progress (a second Ctrl-C aborts).

Exit codes, the first that applies: 130 interrupted · 74 journal or dead-letter file failed · 3 configuration \
or credentials refused (the run stops at once) · 75 not finished (outage, --max-duration, temporary failures, \
journal busy): run again later · 1 invalid or rejected events · 0 all delivered or already delivered.

[bold]Examples[/]

  rapido replay events.jsonl --concurrency 16 --dead-letter failed.jsonl

  rapido build flight --csv export.csv \\
      | rapido replay - --rate auto --json > replay.log

  rapido replay backfill.yaml --max-duration 3000 -q   # cron: quiet unless bad

  rapido replay backfill.json --dry-run --sandbox
"""

#: Seconds between one-line status reports when stderr is not a terminal (cron logs);
#: ``RAPIDO_STATUS_EVERY`` overrides it.
STATUS_EVERY_S = 5.0
#: Per-event problem lines shown before the rest are only counted: with -q, and without a terminal.
QUIET_PROBLEMS = 5
PIPE_PROBLEMS = 10
#: The recent rate in status lines is measured over this many seconds.
RECENT_S = 30.0


def _status_every(environ: dict[str, str]) -> float:
    """``RAPIDO_STATUS_EVERY`` seconds (at least 0.1); ConfigError naming it when not a finite number."""
    import math

    raw = environ.get("RAPIDO_STATUS_EVERY", "").strip()
    if not raw:
        return STATUS_EVERY_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        from rapido_cli.errors import ConfigError
        from rapido_cli.text import inert

        raise ConfigError(
            f"RAPIDO_STATUS_EVERY='{inert(raw, limit=40)}' is not a number of seconds",
            hint="e.g. RAPIDO_STATUS_EVERY=5",
        )
    return max(0.1, value)


def _outage_window(environ: dict[str, str]) -> float:
    """Seconds of failures in a row before a run stops as an outage (``RAPIDO_OUTAGE_WINDOW``)."""
    from rapido_cli.replay import ReplayOptions

    try:
        return max(0.1, float(environ.get("RAPIDO_OUTAGE_WINDOW", ReplayOptions.outage_window_s)))
    except ValueError:
        return ReplayOptions.outage_window_s


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
        raise UsageError(
            f"{file}: no such file", hint="give a .jsonl, .json or .yaml file, or - for standard input"
        ) from None
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


def _now_iso() -> str:
    from datetime import datetime

    return datetime.now().astimezone().isoformat(timespec="seconds")


def _count_lines(path: str) -> int | None:
    """Lines of a JSON Lines file, counted fast in chunks (the total of done/total); None on error."""
    try:
        with open(path, "rb") as fh:
            n = 0
            last = b"\n"
            while chunk := fh.read(1 << 20):
                n += chunk.count(b"\n")  # blank lines are counted too: rare, and only an estimate
                last = chunk[-1:]
            return n + (0 if last == b"\n" else 1)
    except OSError:
        return None


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class _Reporter:
    """Per-line output (JSON lines or human messages) and progress (bar or periodic status).

    On a terminal every problem is shown. Without one (cron, a pipe) the first ``PIPE_PROBLEMS``
    events with a problem are shown, then only counted; with ``-q`` the first ``QUIET_PROBLEMS``.
    ``-v`` shows everything. Foreign text (server messages, file contents) passes through
    :func:`rapido_cli.text.inert`.
    """

    def __init__(self, app: AppContext, source: str, size: int | None, dry_run: bool, path: str | None) -> None:
        self.app = app
        self.source = source
        self.size = size
        self.path = path
        self.dry_run = dry_run
        self.replayer: Replayer | None = None
        self.tty = sys.stderr.isatty() and not app.quiet
        self.interval = 0.25 if self.tty else _status_every(app.environ)  # a bad value fails here, not in a thread
        self.progress: Any = None
        self.task: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._out = sys.stdout
        self.broken = False
        if app.verbose:
            self.cap: int | None = None
        elif app.quiet:
            self.cap = QUIET_PROBLEMS
        elif not sys.stderr.isatty():
            self.cap = PIPE_PROBLEMS
        else:
            self.cap = None
        self.shown = 0  # events with a problem shown
        self.hidden = 0  # ... and only counted
        self.hidden_kinds: set[str] = set()  # journal outcomes of the hidden ones (for the hint)
        self.total: int | None = None
        self._samples: list[tuple[float, int]] = []
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
        from rapido_cli.cli.common import silence_stdout

        if self.broken:
            return
        self.broken = True
        silence_stdout()
        if self.replayer is not None:
            self.replayer.stop()
        print("stdout was closed: stopping (progress is saved)", file=sys.stderr, flush=True)

    def _problem(self, lines: list[tuple[str, str | None]], kind: str = "") -> None:
        """Show one event's problem lines, or count them once the cap is reached."""
        if self.cap is not None and self.shown >= self.cap:
            self.hidden += 1
            if kind:
                self.hidden_kinds.add(kind)
            return
        self.shown += 1
        for message, style in lines:
            self._err(message, style)

    def _on_result(self, r: LineResult) -> None:
        from rapido_cli.text import inert

        app = self.app
        if self.broken:
            return
        if app.json:
            self._out.write(self._dumps(r.to_json()).decode() + "\n")
            return
        where = f"{inert(self.source)}:{r.line}"
        eid = inert(r.event_id or "", limit=200)
        if r.outcome == "invalid":
            lines: list[tuple[str, str | None]] = []
            problems = r.problems or []
            for i, p in enumerate(problems[:3]):
                line = r.problem_lines[i] if r.problem_lines and i < len(r.problem_lines) else r.line
                lines.append((f"{inert(self.source)}:{line}: {inert(p.path or 'line')}: {inert(p.message)}", "red"))
            if len(problems) > 3:
                lines.append((f"{where}: (and {len(problems) - 3} more problems in this event)", "red"))
            self._problem(lines, "invalid")
        elif r.outcome == "failed":
            if r.failure != "interrupted" or app.verbose:
                self._problem([(f"{where}: {eid}: not delivered ({r.failure}): {inert(r.error or '', limit=300)}",
                                "yellow")], "failed")
        elif r.outcome == "skipped":
            if r.reason != "already sent":
                if not app.quiet:
                    self._problem([(f"{where}: {eid}: {inert(r.reason or '')}, skipped", "dim")])
            elif app.verbose:
                self._err(f"{where}: {eid}: already sent, skipped", "dim")
        elif r.outcome == "would_send":
            self._out.write(f"{r.line}\t{eid}\t{inert(r.event_type or '')}\t{inert(r.order_id or '')}\n")
        elif r.outcome == "sent" and app.verbose:
            rid = inert(r.request_id or "no requestId", limit=200)
            self._err(f"{where}: {eid}: sent (HTTP {r.status}, {rid})", "green")

    def on_attempt(self, line: int, event_id: str, att: Attempt, final: bool) -> None:
        from rapido_cli.text import inert

        if not self.app.verbose:
            return
        what = f"HTTP {att.status}" if att.status is not None else inert(att.error or "no answer", limit=300)
        msg = f"{inert(self.source)}:{line}: {inert(event_id)}: attempt {att.number}: {what} in {att.elapsed_ms:.0f} ms"
        if not final and att.wait_s:
            msg += f", retrying in {att.wait_s:.2f} s"
        self._err(msg, None)

    def _err(self, message: str, style: str | None) -> None:
        from rapido_cli.text import inert_markup

        # Messages quote the file's ids and the server's answers: shown inert.
        console = self.progress.console if self.progress is not None else self.app.err
        if self.app.color and style:
            console.print(f"[{style}]{inert_markup(message)}[/]", highlight=False, emoji=False)
        else:
            console.print(message, markup=False, highlight=False, emoji=False, soft_wrap=True)

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
        interval = self.interval
        counted = False
        while not self._stop.wait(interval):
            snap = self.replayer.snapshot()
            if self.tty:
                if snap["known_total"] is not None:  # a whole document: progress in events
                    self.progress.update(self.task, total=snap["known_total"], completed=snap["done"],
                                         counts=self._counts(snap))
                else:
                    self.progress.update(self.task, completed=snap["bytes"], counts=self._counts(snap))
                continue
            if not counted:
                counted = True
                if snap["known_total"] is None and self.path is not None and self.replayer.format == "jsonl":
                    self.total = _count_lines(self.path)
            print(self._status_line(snap), file=sys.stderr, flush=True)

    def _recent_rate(self, now: float, done: int) -> float:
        """Events per second over the last ``RECENT_S`` seconds (not since the start)."""
        self._samples.append((now, done))
        while len(self._samples) > 2 and self._samples[1][0] <= now - RECENT_S:
            self._samples.pop(0)
        t0, d0 = self._samples[0]
        if now - t0 <= 0:
            return 0.0
        return (done - d0) / (now - t0)

    def _status_line(self, snap: dict[str, Any]) -> str:
        """``<ISO time> replay FILE: done/total (pct) · counts · recent rate · ETA`` for logs."""
        import time

        from rapido_cli.text import inert

        done = snap["done"]
        total = snap["known_total"] if snap["known_total"] is not None else self.total
        rate = self._recent_rate(time.monotonic(), done)
        if total:
            total = max(total, snap["total"])
            pct = min(100.0, 100.0 * done / total) if total else 100.0
            head = f"{done:,}/{total:,} ({pct:.0f}%)"
            left = max(0, total - done)
            eta = f"ETA {_duration(left / rate)}" if rate > 0 else "ETA unknown"
        else:
            head = f"{done:,}/?"
            eta = "ETA unknown"
        parts = [head, self._counts(snap, with_rate=False), f"{rate:,.0f}/s recent"]
        if not self.dry_run:
            parts.append(eta)
        if snap.get("suspect"):
            parts.append("server not answering: probing")
        return f"{_now_iso()} replay {inert(self.source)}: " + " · ".join(parts)

    def _counts(self, snap: dict[str, Any], *, with_rate: bool = True) -> str:
        if self.dry_run:
            return f"{snap['done']} checked · {snap['invalid']} invalid · {snap['skipped']} skipped"
        parts = [f"{snap['sent']:,} sent"]
        for key in ("skipped", "invalid", "failed", "retries", "throttled"):
            if snap[key] or not self.tty:
                parts.append(f"{snap[key]:,} {key}")
        wide = not self.tty or self.app.err.width >= 120
        if wide:
            parts.append(f"{snap['in_flight']} in flight")
        if with_rate:
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


def _one_line_summary(s: Summary, source: str) -> str:
    """The whole run in one line (``-q``): what cron mails when something needs a look."""
    from rapido_cli.text import inert

    parts = []
    if s.dry_run:
        parts.append(f"{s.would_send:,} would send")
    else:
        parts.append(f"{s.sent:,} sent")
    for n, label in (
        (s.already_sent, "already sent"),
        (s.duplicates, "duplicates"),
        (s.invalid, "invalid"),
        (s.failed, "failed"),
        (s.not_attempted, "not attempted"),
    ):
        if n:
            parts.append(f"{n:,} {label}")
    tail = f" of {s.total:,} in {s.elapsed_s:.1f} s (exit {int(s.exit_code)})"
    return f"replay {inert(source)}: " + ", ".join(parts) + tail


def _render_summary(app: AppContext, s: Summary, *, dead_letter: Path | None, journal: Path | None) -> None:
    from rich.table import Table

    table = Table(title="dry run: nothing was sent" if s.dry_run else None, show_header=True, box=None)
    table.add_column("events", style="bold")
    table.add_column("count", justify="right")
    table.add_column("")
    table.add_row("total", str(s.total), "events read")
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
    table.add_row("invalid", str(s.invalid), "never sent: fix them" if s.invalid else "")
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
        if s.config:
            detail.append(f"{s.config} endpoint misconfigured")
        table.add_row("failed", str(s.failed), ", ".join(detail))
        if s.not_attempted:
            more = " (at least: the rest was not read)" if s.unread else ""
            table.add_row("not sent", str(s.not_attempted), f"left for the next run{more}")
        table.add_row("retries", str(s.retries), "")
        table.add_row("throttled", str(s.throttled), "HTTP 429 answers")
    table.add_row("elapsed", f"{s.elapsed_s:.1f} s", f"{s.rate:.1f} events/s")
    app.out.print(table)
    notes = []
    if dead_letter is not None and not s.dry_run and (s.invalid or s.temporary or s.rejected or s.not_attempted):
        notes.append(f"dead letters: {dead_letter}")
    if journal is not None and not s.dry_run:
        notes.append(f"journal: {journal}")
    for note in notes:
        if not app.quiet:
            app.err.print(note, markup=False, emoji=False, highlight=False)


def _outage_line(s: Summary) -> str:
    """``server unreachable since 02:14:07 (...): 9,184 events not attempted; the next run resumes``."""
    import time

    from rapido_cli.text import inert

    since = time.strftime("%H:%M:%S", time.localtime(s.outage_since)) if s.outage_since else "the start"
    why = f" ({inert(s.outage_error, limit=120)})" if s.outage_error else ""
    left = f"{'at least ' if s.unread else ''}{s.pending:,} event{'s' if s.pending != 1 else ''} not attempted"
    if s.interrupted_events:
        left += f", {s.interrupted_events:,} abandoned between retries"
    if s.temporary:
        left += f", {s.temporary:,} failed"
    return f"server unreachable since {since}{why}: {left}; the next run resumes"


def _final_message(
    app: AppContext, s: Summary, *, profile_name: str, journal: Path | None, dead_letter: Path | None,
    hidden: int, max_duration: float | None, hidden_kinds: set[str] | None = None,
) -> None:
    """The one closing line on stderr that says what the exit code means (and where to look)."""
    code = int(s.exit_code)

    def say(text: str) -> None:
        app.err.print(text, markup=False, emoji=False, highlight=False, soft_wrap=True)

    if hidden:
        where = []
        if dead_letter is not None and not s.dry_run:
            where.append(f"the dead-letter file {dead_letter}")
        if journal is not None and not s.dry_run:
            for kind in sorted(hidden_kinds or ()):
                where.append(f"`rapido history --outcome {kind}`")
        more = f"…and {hidden:,} more event{'s' if hidden != 1 else ''} with problems; "
        say(more + ("see " + " or ".join(where) if where else "run with -v to see them all"))
    if s.io_error:
        from rapido_cli.text import inert

        say(f"error: {inert(s.io_error)}")
        say("hint: " + (s.io_hint or "fix the journal's or dead-letter file's location (disk space, permissions), "
                        "then run the same command again; acknowledged events recorded before the failure are skipped"))
    elif s.tls:
        say(
            "error: the server's TLS certificate is not trusted; the run stopped. hint: set ca_bundle in the "
            "profile (or SSL_CERT_FILE) to the CA that signed it, and check with `rapido doctor`"
        )
    elif s.unauthorized:
        say(
            f"error: the server refused the credentials of profile '{profile_name}' (HTTP 401/403); "
            "the run stopped. hint: run `rapido doctor`"
        )
    elif s.config:
        say("error: the endpoint answered in a way only a configuration change fixes; the run stopped. "
            "hint: check base_url with `rapido doctor`")
    elif s.interrupted:
        say(
            "interrupted: progress is saved; run the same command again to continue"
            + ("" if journal else " (without a journal, everything is sent again)")
        )
    elif s.stopped == "outage":
        say(_outage_line(s))
    elif s.stopped == "max_duration" and code == 75:
        left = f"{'at least ' if s.unread else ''}{s.not_attempted:,}"
        say(f"time budget of {max_duration:g} s spent: {left} events not attempted; the next run resumes")
    elif s.stopped == "fail_fast":
        say(f"--fail-fast: stopped at the first failed event (exit {code}); {s.not_attempted:,} events not attempted")
    elif code == 75 and not app.quiet:
        say("some events failed temporarily: run the same command again later (delivered events are skipped)")


class InputFormat(StrEnum):
    json = "json"
    jsonl = "jsonl"
    yaml = "yaml"


def replay(
    app: AppContext,
    file: Annotated[
        str,
        typer.Argument(help="Events: .jsonl/.ndjson, .json (object or array), .yaml/.yml, or - for standard input."),
    ],
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
            help="Write what was not delivered here as JSON Lines: invalid, failed, and after an outage or "
            "--max-duration the events left for the next run (rewritten each run, mode 0600).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option("--max-attempts", min=1, help="Attempts per event, including the first (default: profile, 5)."),
    ] = None,
    max_duration: Annotated[
        float | None,
        typer.Option(
            "--max-duration",
            min=0.001,
            help="Stop taking events after SECONDS; what is left stays for the next run (exit 75).",
            show_default=False,
        ),
    ] = None,
    fail_fast: Annotated[
        bool,
        typer.Option("--fail-fast", help="Stop at the first failed or invalid event; exit with its class (1, 3, 75)."),
    ] = False,
    input_format: Annotated[
        InputFormat | None,
        typer.Option(
            "--format", help="Input format when the name does not say (default: sniffed).", show_default=False
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and list what would be sent; send nothing.")
    ] = False,
) -> None:
    """Send every valid event of a file, exactly once."""
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
    reporter = _Reporter(app, source, size, dry_run, None if file == "-" else file)
    options = ReplayOptions(
        concurrency=concurrency,
        rate=parsed_rate,  # type: ignore[arg-type]
        rate_ceiling=target.rate if parsed_rate == "auto" else None,
        max_attempts=max_attempts or target.max_attempts,
        dry_run=dry_run,
        dead_letter=dead_letter,
        environ=app.environ,
        on_attempt=reporter.on_attempt,
        max_duration_s=max_duration,
        fail_fast=fail_fast,
        outage_window_s=_outage_window(app.environ),
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
            from rapido_cli.text import inert

            mode = "dry run of" if dry_run else "replaying"
            pace = (
                ""
                if options.rate is None
                else (", rate auto" if options.rate == "auto" else f", rate {float(options.rate):g}/s")
            )
            where = "" if dry_run else f" in flight: {concurrency}{pace}"
            app.err.print(
                inert(
                    f"{mode} {source} → {target.event_url} as {target.client_id}"
                    + (f" ({where.strip()})" if where else "")
                    + (f"; journal {journal_path}" if journal_path else "; no journal")
                ),
                markup=False,
                emoji=False,
                highlight=False,
                soft_wrap=True,
            )

        def on_signal(signum: int, _frame: Any) -> None:
            if replayer.stopping and replayer.summary.stopped == "signal":
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
            summary = replayer.run(stream, source, size=size, fmt=input_format.value if input_format else None)
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
        elif app.quiet:
            print(_one_line_summary(summary, source), flush=True)
        else:
            _render_summary(app, summary, dead_letter=dead_letter, journal=journal_path)
    except BrokenPipeError:
        reporter._stdout_closed()
    _final_message(
        app, summary, profile_name=profile.name, journal=journal_path, dead_letter=dead_letter,
        hidden=reporter.hidden, max_duration=max_duration, hidden_kinds=reporter.hidden_kinds,
    )
    code = summary.exit_code
    if code:
        raise typer.Exit(int(code))


def register(app: typer.Typer) -> None:
    """Add ``replay``."""
    app.command("replay", help=REPLAY_HELP, rich_help_panel="Backfill")(common_options(replay))
