"""The replay engine: send every event of a file to the API, exactly once as far as the server can tell.

Library interface (prints nothing; ``rapido_cli.cli.replay_cmd`` renders):

* :class:`ReplayOptions`: concurrency, rate (a number, ``"auto"`` or None), max attempts, dry run,
  ``max_duration_s``, ``fail_fast``, the outage breaker's settings...
* :class:`Replayer` ``(target, options, journal=None, on_result=None)``; :meth:`Replayer.run`
  ``(stream, source, size=None, fmt=None)`` → :class:`Summary`. :meth:`Replayer.stop` (first Ctrl-C)
  and :meth:`Replayer.abort` (second) may be called from a signal handler.
* :class:`LineResult`: what happened to one line (``outcome`` sent|skipped|invalid|failed, or
  ``would_send`` in a dry run); :meth:`LineResult.to_json` is the documented ``--json`` line.

Inputs: JSON Lines are streamed; a ``.json`` object or array and YAML documents are read whole
through validate's readers and sent only if all of it parses (:mod:`rapido_cli.replay.source`).
An element of a document is "line" N where it starts; its body is its compact JSON.

How it is built: a *reader* thread reads the input (bounded line length), validates each event,
drops duplicates within the file (a compact table of 64-bit id hashes) and events the journal says
were acknowledged, and feeds a bounded queue; ``concurrency`` *worker* threads send with retries
(full-jitter backoff, ``Retry-After`` honoured) through one keep-alive connection each, paced by a
token bucket (fixed, or adaptive with ``rate="auto"``) and held back by the outage
:class:`~rapido_cli.replay.breaker.Breaker`, which every attempt feeds. A worker journals its own
outcomes and waits, before sending its next event, until its previous acknowledgement is committed:
at most one unrecorded acknowledgement and one request in flight per worker, so a ``kill -9`` makes
the next run re-send at most ``2 × concurrency`` events. The *calling* thread collects results,
journals invalid lines, writes dead letters and calls ``on_result``. Memory is bounded by the queue
sizes, whatever the size of a JSON Lines file.

Stopping early: a signal (:meth:`Replayer.stop`), an outage (the breaker trips), ``max_duration_s``
or ``fail_fast``: no new event is started, requests in flight finish, events between two attempts
are abandoned (not judged: sent again by the next run). After an outage or when the time budget is
spent the rest of the input is still read (for up to ``drain_s``) to count what is left and to
write it to the dead-letter file.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from rapido_cli.contract import MAX_EVENT_BYTES
from rapido_cli.errors import LocalIOError, RapidoError
from rapido_cli.journal import Journal, JournalWriter, Record, invalid_key
from rapido_cli.profiles import Target
from rapido_cli.replay.breaker import Breaker, signal_of
from rapido_cli.replay.results import LineResult, StopReason, Summary, exit_code_for_failure
from rapido_cli.replay.source import DocumentEvent, Format, prepare, read_document
from rapido_cli.rules import Problem, get_path, normalize_server_event
from rapido_cli.transport import Attempt, RetryPolicy, Sender, SenderFactory, classify, deliver, explain
from rapido_cli.transport.pacing import AdaptiveRate, RateLimiter

#: Lines longer than this are not read into memory whole: they are reported invalid and skipped.
MAX_LINE_BYTES = max(1 << 20, MAX_EVENT_BYTES * 4)
BOM = b"\xef\xbb\xbf"

__all__ = ["MAX_LINE_BYTES", "LineResult", "ReplayOptions", "Replayer", "Summary", "expected_lines"]


@dataclass
class ReplayOptions:
    """How to replay. ``rate``: events/s ceiling, ``"auto"`` (adapt to 429s) or None (no pacing)."""

    concurrency: int = 8
    rate: float | Literal["auto"] | None = None
    rate_ceiling: float | None = None  # with "auto": never above this (the profile's rate)
    max_attempts: int = 5
    retry: RetryPolicy | None = None
    dry_run: bool = False
    dead_letter: Path | None = None
    grace_s: float = 10.0  # after a stop: how long requests in flight may take to finish
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    #: ``on_attempt(line, event_id, attempt, final)``, called from worker threads (for -v).
    on_attempt: Callable[[int, str, Attempt, bool], None] | None = None
    #: stop taking lines after this many seconds (what is left stays pending: exit 75)
    max_duration_s: float | None = None
    #: stop at the first event that fails or is invalid; exit with its class
    fail_fast: bool = False
    #: the outage breaker (see :mod:`rapido_cli.replay.breaker`); ``outage_threshold=0`` turns it off
    outage_threshold: int = 8
    outage_window_s: float = 2.5
    outage_probe_s: float = 0.25
    #: after an outage or the time budget: how long to go on reading to count what is left
    drain_s: float = 10.0


@dataclass(slots=True)
class _Work:
    line: int
    body: bytes
    raw: bytes
    event_id: str
    event_type: str | None
    order_id: str | None
    nbytes: int


_DONE = object()  # a worker finished
_READER_DONE = object()  # the reader reached the end of the input (or stopped)


def expected_lines(stream: IO[bytes], size: int | None) -> int:
    """A generous estimate of the number of lines of a seekable file (to pre-size tables), else 0."""
    if not size:
        return 0
    try:
        pos = stream.tell()
        sample = stream.read(1 << 16)
        stream.seek(pos)
    except (OSError, ValueError):
        return 0
    n = sample.count(b"\n")
    if n == 0:
        return 1
    return int(size / (len(sample) / n) * 1.1) + 1


def _describe(problems: list[Problem]) -> str:
    errors = [p for p in problems if p.severity == "error"]
    first = errors[0]
    text = f"{first.path}: {first.message}" if first.path else first.message
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text


def _ids(obj: Any) -> tuple[str | None, str | None, str | None]:
    """(event id, event type, orderId) of a parsed event, each None when absent or unusable."""
    eid = get_path(obj, "event", "id")
    etype = get_path(obj, "event", "type")
    order = get_path(obj, "attributes", "orderId")
    return (
        eid if isinstance(eid, str) and eid else None,
        etype if isinstance(etype, str) else None,
        str(order) if isinstance(order, (str, int)) and not isinstance(order, bool) else None,
    )


class Replayer:
    """Replays one stream to one target (see the module docstring). One ``run`` per instance."""

    def __init__(
        self,
        target: Target,
        options: ReplayOptions,
        *,
        journal: Journal | None = None,
        on_result: Callable[[LineResult], None] | None = None,
        sender_factory: Callable[[], Sender] | None = None,
    ) -> None:
        self.target = target
        self.options = options
        self.journal = journal
        self.on_result = on_result
        self._sender_factory = sender_factory
        self.retry = options.retry or RetryPolicy.from_env(options.environ, options.max_attempts)
        self.summary = Summary(dry_run=options.dry_run)
        self._stop = threading.Event()  # no new lines, no new retries
        self._abort = threading.Event()  # stop waiting for anything
        self._drain = threading.Event()  # stopped, but read the rest to count it (outage, time budget)
        self._reader_abort = threading.Event()  # the drain took too long
        self._signalled = threading.Event()  # stop()/abort() were called
        self._stop_lock = threading.Lock()
        self.read_error: str | None = None
        self._results: queue.Queue[Any] = queue.Queue(maxsize=max(256, options.concurrency * 64))
        self._work: queue.Queue[Any] = queue.Queue(maxsize=max(16, options.concurrency * 4))
        fixed = None if options.rate in (None, "auto") else float(options.rate)  # type: ignore[arg-type]
        self.limiter = RateLimiter(fixed, burst=1.0)
        self.adaptive: AdaptiveRate | None = None
        if options.rate == "auto":
            self.adaptive = AdaptiveRate(self.limiter, ceiling=options.rate_ceiling)
        self.breaker: Breaker | None = None
        if options.outage_threshold > 0 and not options.dry_run:
            self.breaker = Breaker(
                threshold=options.outage_threshold,
                window_s=options.outage_window_s,
                probe_every_s=options.outage_probe_s,
            )
        self.bytes_read = 0
        self.in_flight = 0
        self._lock = threading.Lock()
        self.started = 0.0
        self._expected = 0
        self._bug: BaseException | None = None
        self._writer: JournalWriter | None = None
        self._source = "<stdin>"
        self.format: Format = "jsonl"
        #: events the input holds, when known before the end (a whole document); else None
        self.known_total: int | None = None

    # ------------------------------------------------------------ control (signal-safe)

    def stop(self) -> None:
        """Stop reading and retrying; in-flight requests finish (first Ctrl-C / SIGTERM)."""
        self._signalled.set()
        self._drain.clear()
        self._halt("signal")

    def abort(self) -> None:
        """Stop waiting at once (second Ctrl-C); what was already answered is still recorded."""
        self._signalled.set()
        self._drain.clear()
        self._halt("signal")
        self._abort.set()

    def _halt(self, reason: StopReason, *, drain: bool = False) -> None:
        """Stop taking lines; the first reason given is the one reported."""
        with self._stop_lock:
            if self.summary.stopped is None or reason == "signal":
                self.summary.stopped = reason
            if drain and not self._signalled.is_set():
                self._drain.set()
            self._stop.set()

    @property
    def stopping(self) -> bool:
        """True once the run was asked to stop (a signal, an outage, a refusal...)."""
        return self._stop.is_set()

    def _io_failed(self, exc: RapidoError | OSError, what: str = "") -> None:
        """The journal or the dead-letter file failed: stop, and exit 74 at the end."""
        if self.summary.io_error is None:
            if isinstance(exc, RapidoError):
                self.summary.io_error = exc.message
                self.summary.io_hint = exc.hint
            else:
                self.summary.io_error = f"{what}: cannot write: {exc.strerror or exc}"
        self._halt("io_error")

    # ------------------------------------------------------------ the run

    def run(
        self, stream: IO[bytes], source: str = "<stdin>", *, size: int | None = None, fmt: Format | None = None
    ) -> Summary:
        """Replay ``stream`` (binary); ``source`` names it in messages and the journal.

        ``fmt`` is the input's format (default: by ``source``'s extension, else sniffed). ``size``
        (bytes, for a regular file) only pre-sizes the duplicate-id table. A JSON or YAML document
        that does not parse raises :class:`~rapido_cli.errors.DataError` before anything is sent.
        """
        self.format, stream = prepare(stream, source, fmt)
        document: list[DocumentEvent] | None = None
        if self.format != "jsonl":
            document = read_document(stream, self.format, source)
            self.known_total = len(document)
            self._expected = len(document)
        else:
            self._expected = expected_lines(stream, size)
        opts = self.options
        s = self.summary
        s.run_id = uuid.uuid4().hex[:12]
        self._source = source
        self.started = time.monotonic()
        writer: JournalWriter | None = None
        dead: IO[bytes] | None = None
        factory: SenderFactory | None = None
        sender_factory = self._sender_factory
        if sender_factory is None and not opts.dry_run:
            factory = SenderFactory(self.target, concurrency=opts.concurrency, environ=opts.environ)
            sender_factory = factory
        if opts.dead_letter is not None and not opts.dry_run:
            from rapido_cli.fs import open_private

            dead = open_private(opts.dead_letter, "w", binary=True)  # type: ignore[assignment]
        try:
            if self.journal is not None and not opts.dry_run:
                try:
                    self.journal.start_run(s.run_id, self.target.name, source)
                except sqlite3.Error as exc:
                    raise LocalIOError(f"{self.journal.path}: cannot write to the journal: {exc}") from None
                writer = self.journal.writer(self.target.name, s.run_id)
                self._writer = writer
            workers: list[threading.Thread] = []
            if document is not None:
                items = document
                reader = threading.Thread(target=self._read_document, args=(items,), name="rapido-reader", daemon=True)
            else:
                reader = threading.Thread(target=self._read, args=(stream, source), name="rapido-reader", daemon=True)
            reader.start()
            if not opts.dry_run:
                assert sender_factory is not None
                for i in range(opts.concurrency):
                    t = threading.Thread(
                        target=self._worker, args=(sender_factory,), name=f"rapido-send-{i}", daemon=True
                    )
                    t.start()
                    workers.append(t)
            self._collect(dead, n_workers=len(workers))
        finally:
            s.elapsed_s = time.monotonic() - self.started
            s.final_rate = self.limiter.rate
            if writer is not None:
                try:
                    writer.close()
                except LocalIOError as exc:
                    self._io_failed(exc)
            if dead is not None:
                try:
                    dead.close()
                except OSError as exc:
                    self._io_failed(exc, str(opts.dead_letter))
            if factory is not None and not self._abort.is_set():
                factory.close()
        if self._bug is not None:
            raise self._bug
        if self.breaker is not None and s.stopped == "outage":
            s.outage_since = self.breaker.since
            s.outage_error = self.breaker.last_error
        if self.journal is not None and not opts.dry_run and not s.io_error:
            try:
                self.journal.end_run(s.run_id, int(s.exit_code), s.to_json())
            except sqlite3.Error as exc:
                self._io_failed(LocalIOError(f"{self.journal.path}: cannot write to the journal: {exc}"))
        return s

    def _collect(self, dead: IO[bytes] | None, n_workers: int) -> None:
        s = self.summary
        opts = self.options
        done = 0
        reader_done = False
        stop_at: float | None = None
        deadline = None if opts.max_duration_s is None else self.started + opts.max_duration_s
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline and not self._stop.is_set():
                self._halt("max_duration", drain=True)
            stopped = self._stop.is_set()
            if stopped and stop_at is None:
                stop_at = now
            workers_done = done >= n_workers
            # Once stopped, the reader may sit in a blocking read (a quiet stdin): unless it is
            # counting what is left (drain), only the workers matter.
            if workers_done and (reader_done or (stopped and not self._drain.is_set())):
                break
            if self._abort.is_set() or (stop_at is not None and not workers_done and now > stop_at + opts.grace_s):
                self._stop.set()
                self._abort.set()
                # Whatever is still queued was answered: record it, then leave the rest.
                while True:
                    try:
                        item = self._results.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(item, LineResult):
                        self._account(item, dead)
                break
            if stop_at is not None and workers_done and now > stop_at + max(opts.drain_s, opts.grace_s):
                # Counting the rest takes too long (a huge file, a slow pipe): report a lower bound.
                self._reader_abort.set()
                s.unread = True
                while True:
                    try:
                        item = self._results.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(item, LineResult):
                        self._account(item, dead)
                break
            try:
                item = self._results.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _DONE:
                done += 1
                continue
            if item is _READER_DONE:
                reader_done = True
                continue
            self._account(item, dead)
        if self._stop.is_set():
            # Lines that were read but never attempted: a re-run sends them.
            while True:
                try:
                    w = self._work.get_nowait()
                except queue.Empty:
                    break
                if isinstance(w, _Work):
                    self._account(self._pending(w), dead)
        s.interrupted = self._signalled.is_set()

    @staticmethod
    def _pending(w: _Work) -> LineResult:
        return LineResult(w.line, w.event_id, "pending", event_type=w.event_type, order_id=w.order_id, raw=w.raw,
                          nbytes=w.nbytes)

    def _record(self, r: LineResult) -> Record:
        raw_text: str | None = None
        if r.outcome != "sent":
            # The line as read, without its line end (history --export adds one back).
            line = r.raw[:-1] if r.raw.endswith(b"\n") else r.raw
            line = line[:-1] if line.endswith(b"\r") else line
            # Not UTF-8 (never valid JSON anyway): U+FFFD in the journal; the dead-letter
            # file keeps the exact bytes.
            raw_text = line.decode("utf-8", "replace")
        assert r.event_id is not None
        return Record(
            event_id=r.event_id,
            outcome=r.outcome,  # type: ignore[arg-type]
            failure=r.failure,
            status=r.status,
            attempts=r.attempts,
            request_id=r.request_id,
            error=r.error,
            order_id=r.order_id,
            event_type=r.event_type,
            raw=raw_text,
            source=f"{self._source}:{r.line}",
            at=time.time(),
        )

    def _journal(self, r: LineResult) -> int:
        """Queue ``r``'s journal record (sent, failed or invalid); its sequence number, or 0."""
        writer = self._writer
        if writer is None or r.event_id is None or r.outcome not in ("sent", "failed", "invalid"):
            return 0
        try:
            return writer.put(self._record(r))
        except RapidoError as exc:
            self._io_failed(exc)
            return 0

    def _account(self, r: LineResult, dead: IO[bytes] | None) -> None:
        s = self.summary
        s.retries += r.retries
        s.throttled += r.throttled
        if r.outcome == "sent":
            s.sent += 1
        elif r.outcome == "skipped":
            s.skipped += 1
            if r.reason == "already sent":
                s.already_sent += 1
            else:
                s.duplicates += 1
        elif r.outcome == "would_send":
            s.would_send += 1
        elif r.outcome == "pending":
            s.pending += 1
        elif r.outcome == "invalid":
            s.invalid += 1
            self._journal(r)  # workers journal their own results; invalid lines come from the reader
        elif r.outcome == "failed":
            if r.failure == "interrupted":
                s.interrupted_events += 1
            else:
                s.failed += 1
            if r.failure == "rejected":
                s.rejected += 1
            elif r.failure == "temporary":
                s.temporary += 1
            elif r.failure == "unauthorized":
                s.unauthorized += 1
            elif r.failure == "tls":
                s.tls += 1
            elif r.failure not in ("interrupted", None):
                s.config += 1  # unconfirmed 2xx, redirect, 404/405, unknown host, proxy: see LineResult.failure
        if dead is not None and self._dead_letter_worthy(r):
            line = r.raw if r.raw.endswith(b"\n") else r.raw + b"\n"
            try:
                dead.write(line)
                dead.flush()
            except OSError as exc:
                self._io_failed(exc, str(self.options.dead_letter))
        if self.on_result is not None and r.outcome != "pending":
            self.on_result(r)

    def _dead_letter_worthy(self, r: LineResult) -> bool:
        if r.outcome == "invalid" or r.failure in ("temporary", "rejected"):
            return True
        # Left for the next run because the server was down or the time was up: kept too, so that
        # the dead-letter file alone holds everything this run did not deliver.
        left = r.outcome == "pending" or r.failure == "interrupted"
        return left and self.summary.stopped in ("outage", "max_duration")

    # ------------------------------------------------------------ reader

    def _reading(self) -> bool:
        if self._reader_abort.is_set() or self._abort.is_set():
            return False
        return not self._stop.is_set() or self._drain.is_set()

    def _read(self, stream: IO[bytes], source: str) -> None:
        from rapido_cli.validate import check_jsonl_line
        from rapido_cli.validate._idtable import IdTable

        s = self.summary
        # In-file duplicates in bounded memory: 64-bit id hashes, pre-sized from the file so the
        # table never grows (which would briefly hold the old and the new table together).
        ids = IdTable(max(1 << 10, self._expected * 10 // 7 + 1))
        checker = None
        if self.journal is not None:
            checker = self.journal.sent_checker(self.target.name)
        n = 0
        try:
            while self._reading():
                raw = stream.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    break
                n += 1
                size = len(raw)
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    # Too long to hold: skip to the end of the line without keeping it.
                    while True:
                        chunk = stream.readline(1 << 16)
                        size += len(chunk)
                        if not chunk or chunk.endswith(b"\n"):
                            break
                    with self._lock:
                        self.bytes_read += size
                    s.total += 1
                    self._emit(
                        LineResult(
                            n,
                            invalid_key(raw[:4096]),
                            "invalid",
                            error=f"line longer than {MAX_LINE_BYTES} bytes (events are at most {MAX_EVENT_BYTES})",
                            problems=[Problem("", f"line longer than {MAX_LINE_BYTES} bytes")],
                            raw=raw[:4096],
                            nbytes=size,
                        )
                    )
                    continue
                with self._lock:
                    self.bytes_read += size
                body = raw.strip()
                if n == 1 and body.startswith(BOM):
                    body = body[len(BOM) :].strip()
                if not body:
                    continue  # blank lines are not events
                s.total += 1
                obj, problems = check_jsonl_line(body)
                errors = [p for p in problems if p.severity == "error"]
                eid, etype, order = _ids(obj)
                if obj is None or errors:
                    if not errors:
                        errors = [Problem("", "not a JSON object")]
                    self._emit(
                        LineResult(
                            n,
                            eid or invalid_key(body),
                            "invalid",
                            error=_describe(errors),
                            problems=errors,
                            event_type=etype,
                            order_id=order,
                            raw=raw,
                            nbytes=size,
                        )
                    )
                    continue
                assert eid is not None  # a valid event has an id
                sent = normalize_server_event(obj)
                if sent is not obj:  # 1.0 in an integer field: the normalised form is what is sent
                    body = orjson.dumps(sent)
                self._route(ids, checker, n, eid, etype, order, body, raw, size)
        except OSError as exc:
            self.read_error = f"{source}: read error: {exc.strerror or exc}"
        except BaseException as exc:  # noqa: BLE001 - a bug: stop everything; run() re-raises it
            self._bug = exc
            self._stop.set()
        finally:
            if checker is not None:
                checker.close()
            self._reader_finished()

    def _read_document(self, items: list[DocumentEvent]) -> None:
        """The reader for a JSON/YAML document, already parsed: check, then route each element."""
        from rapido_cli.rules import check_server_event
        from rapido_cli.validate._idtable import IdTable

        s = self.summary
        ids = IdTable(max(1 << 10, len(items) * 10 // 7 + 1))
        checker = None
        if self.journal is not None:
            checker = self.journal.sent_checker(self.target.name)
        try:
            for item in items:
                if not self._reading():
                    break
                n = item.line
                obj = item.obj
                s.total += 1
                problems: list[Problem]
                try:
                    body = orjson.dumps(obj)
                except (TypeError, orjson.JSONEncodeError) as exc:
                    body = orjson.dumps(obj, default=str, option=orjson.OPT_NON_STR_KEYS)
                    problems = [Problem("", f"cannot be sent as JSON: {exc}")]
                else:
                    problems = check_server_event(obj, size=len(body))
                with self._lock:
                    self.bytes_read += len(body)
                errors = [p for p in problems if p.severity == "error"]
                eid, etype, order = _ids(obj)
                if errors or not isinstance(obj, dict):
                    if not errors:
                        errors = [Problem("", "not a JSON object")]
                    key_body = orjson.dumps(obj, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS)
                    self._emit(
                        LineResult(
                            n,
                            eid or invalid_key(key_body),
                            "invalid",
                            error=_describe(errors),
                            problems=errors,
                            problem_lines=[item.line_of(p.path) for p in errors],
                            event_type=etype,
                            order_id=order,
                            raw=body,
                            nbytes=len(body),
                        )
                    )
                    continue
                assert eid is not None
                sent = normalize_server_event(obj)
                if sent is not obj:  # 1.0 in an integer field: the normalised form is what is sent
                    body = orjson.dumps(sent)
                self._route(ids, checker, n, eid, etype, order, body, body, len(body))
        except BaseException as exc:  # noqa: BLE001 - a bug: stop everything; run() re-raises it
            self._bug = exc
            self._stop.set()
        finally:
            if checker is not None:
                checker.close()
            self._reader_finished()

    def _route(
        self,
        ids: Any,
        checker: Callable[[str], bool] | None,
        n: int,
        eid: str,
        etype: str | None,
        order: str | None,
        body: bytes,
        raw: bytes,
        size: int,
    ) -> None:
        """A valid event: a duplicate, already sent, listed (dry run), left pending, or queued to send."""
        first = ids.add(hash(eid), n)
        if first >= 0:
            self._emit(
                LineResult(n, eid, "skipped", reason=f"duplicate of line {first}", event_type=etype, order_id=order,
                           nbytes=size)
            )
            return
        if checker is not None and checker(eid):
            self._emit(LineResult(n, eid, "skipped", reason="already sent", event_type=etype, order_id=order,
                                  nbytes=size))
            return
        if self.options.dry_run:
            self._emit(LineResult(n, eid, "would_send", event_type=etype, order_id=order, raw=body, nbytes=size))
            return
        work = _Work(n, body, raw, eid, etype, order, size)
        while True:
            if self._stop.is_set():
                self._emit(self._pending(work))
                return
            try:
                self._work.put(work, timeout=0.1)
                return
            except queue.Full:
                continue

    def _reader_finished(self) -> None:
        for _ in range(self.options.concurrency if not self.options.dry_run else 0):
            self._put_work_sentinel()
        self._emit(_READER_DONE)

    def _put_work_sentinel(self) -> None:
        while True:
            try:
                self._work.put(_DONE, timeout=0.1)
                return
            except queue.Full:
                if self._abort.is_set() or self._stop.is_set():
                    # Workers drain on stop; make room by dropping an unstarted item (left pending).
                    try:
                        w = self._work.get_nowait()
                        if isinstance(w, _Work):
                            self._emit(self._pending(w))
                    except queue.Empty:
                        pass

    def _fail_fast(self, r: LineResult) -> None:
        """With ``fail_fast``: the first failed or invalid event stops the run, where it is found."""
        if r.outcome == "invalid" or (r.outcome == "failed" and r.failure != "interrupted"):
            with self._stop_lock:
                if self.summary.fail_fast_code is None:
                    self.summary.fail_fast_code = int(exit_code_for_failure(r.outcome, r.failure))
            self._halt("fail_fast")

    def _emit(self, r: Any) -> None:
        if self.options.fail_fast and isinstance(r, LineResult):
            self._fail_fast(r)
        while True:
            try:
                self._results.put(r, timeout=0.1)
                return
            except queue.Full:
                if self._abort.is_set() or self._reader_abort.is_set():
                    return

    # ------------------------------------------------------------ workers

    def _worker(self, make_sender: Callable[[], Sender]) -> None:
        sender = make_sender()
        writer = self._writer
        previous = 0  # journal sequence number of this worker's acknowledgement before the last
        last = 0
        try:
            while True:
                try:
                    item = self._work.get(timeout=0.1)
                except queue.Empty:
                    if self._stop.is_set():
                        return
                    continue
                if item is _DONE:
                    return
                if self._stop.is_set():
                    self._emit(self._pending(item))  # read, never attempted: a re-run sends it
                    continue
                if writer is not None and previous:
                    # At most one unrecorded acknowledgement (and one request) in flight per worker.
                    try:
                        writer.wait_committed(previous, stop=self._abort)
                    except RapidoError as exc:
                        self._io_failed(exc)
                        self._emit(self._pending(item))
                        continue
                with self._lock:
                    self.in_flight += 1
                try:
                    result = self._deliver(sender, item)
                finally:
                    with self._lock:
                        self.in_flight -= 1
                seq = self._journal(result)
                if seq and result.outcome == "sent":
                    previous, last = last, seq
                self._emit(result)
        except BaseException as exc:  # noqa: BLE001 - a bug: stop everything; run() re-raises it
            self._bug = exc
            self._stop.set()
        finally:
            with contextlib.suppress(OSError):
                sender.close()
            self._emit_done()

    def _emit_done(self) -> None:
        while True:
            try:
                self._results.put(_DONE, timeout=0.1)
                return
            except queue.Full:
                if self._abort.is_set():
                    return

    def _before_attempt(self) -> bool:
        """Wait for the breaker (outage probing) and the pacing; False when the run stopped meanwhile."""
        if self.breaker is not None and not self.breaker.before_attempt(self._stop):
            return False
        return self.limiter.acquire(self._stop)

    def _after_attempt(self, att: Attempt) -> None:
        """Feed the outage breaker; stop the run when it trips."""
        if self.breaker is None:
            return
        signal = signal_of(att.status, att.error, verdict=classify(att))
        if self.breaker.record(signal, att.started, explain(att)[0] if signal == "failure" else None):
            self._halt("outage", drain=True)

    def _deliver(self, sender: Sender, w: _Work) -> LineResult:
        """One event through the transport's retry loop, with this run's hooks: pacing and the
        outage breaker before each attempt, adaptive rate and breaker after it, and ``stop``."""
        r = LineResult(w.line, w.event_id, "failed", event_type=w.event_type, order_id=w.order_id, raw=w.raw,
                       nbytes=w.nbytes)
        on_attempt = self.options.on_attempt
        adaptive = self.adaptive

        def seen(att: Attempt, final: bool) -> None:
            r.attempts = att.number
            r.status = att.status
            if att.request_id:
                r.request_id = att.request_id
            self._after_attempt(att)
            if att.status == 429:
                r.throttled += 1
                if adaptive is not None:
                    adaptive.on_throttle(att.started)
            elif att.failure is None and adaptive is not None:
                adaptive.on_success(att.started)
            if on_attempt is not None:
                on_attempt(w.line, w.event_id, att, final)

        done = deliver(
            sender, w.body, self.retry, max_attempts=self.options.max_attempts, stop=self._stop,
            before_attempt=self._before_attempt, on_attempt=seen,
        )
        last = done.last
        if done.outcome == "sent":
            r.outcome = "sent"
            return r
        if done.outcome == "interrupted":
            # Stopped before an attempt or between two: not judged; a re-run sends it.
            r.failure = "interrupted"
        elif done.outcome == "failed":
            r.failure = "temporary"
        elif done.outcome == "rejected":
            r.failure = "rejected"
        else:
            # Credentials, TLS trust, or an endpoint that is not the API (an unconfirmed 2xx, a redirect,
            # 404/405, no such host): every request would fail the same way, so the run stops.
            r.failure = {"unauthorized": "unauthorized", "untrusted": "tls"}.get(
                done.outcome, (last.failure if last is not None else None) or "config"
            )
            self._halt("unauthorized" if r.failure == "unauthorized" else "config")
        r.error = explain(last)[0] if last is not None else "stopped before the first attempt"
        return r

    # ------------------------------------------------------------ progress

    def snapshot(self) -> dict[str, Any]:
        """Live counters for progress displays (safe to call from the collecting thread)."""
        s = self.summary
        elapsed = max(1e-9, time.monotonic() - self.started)
        return {
            "done": s.sent + s.skipped + s.invalid + s.failed + s.would_send + s.interrupted_events + s.pending,
            "total": s.total,
            "known_total": self.known_total,
            "sent": s.sent,
            "skipped": s.skipped,
            "invalid": s.invalid,
            "failed": s.failed,
            "retries": s.retries,
            "throttled": s.throttled,
            "in_flight": self.in_flight,
            "bytes": self.bytes_read,
            "rate": s.sent / elapsed,
            "limit": self.limiter.rate,
            "elapsed": elapsed,
            "suspect": self.breaker.suspect if self.breaker is not None else False,
        }
