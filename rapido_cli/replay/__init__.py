"""The replay engine: stream a JSON Lines file to the API, exactly once as far as the server can tell.

Library interface (prints nothing; ``rapido_cli.cli.replay_cmd`` renders):

* :class:`ReplayOptions`: concurrency, rate (a number, ``"auto"`` or None), max attempts, dry run...
* :class:`Replayer` ``(target, options, journal=None, on_result=None)``; :meth:`Replayer.run`
  ``(stream, source)`` → :class:`Summary`. :meth:`Replayer.stop` (first Ctrl-C) and
  :meth:`Replayer.abort` (second) may be called from a signal handler.
* :class:`LineResult`: what happened to one line (``outcome`` sent|skipped|invalid|failed, or
  ``would_send`` in a dry run); :meth:`LineResult.to_json` is the documented ``--json`` line.

How it is built: a *reader* thread reads the stream line by line (bounded line length), validates
each line, drops duplicates within the file (a compact table of 64-bit id hashes) and events the
journal says were acknowledged, and feeds a bounded queue; ``concurrency`` *worker* threads send
with retries (full-jitter backoff, ``Retry-After`` honoured) through one keep-alive connection each,
paced by a token bucket (fixed, or adaptive with ``rate="auto"``); the *calling* thread collects
results, hands them to the journal writer (batched transactions on its own thread), writes dead
letters and calls ``on_result``. Memory is bounded by the queue sizes, whatever the file size.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from rapido_cli.client import Attempt, RetryPolicy, classify, encode_event, explain
from rapido_cli.errors import ExitCode, UsageError
from rapido_cli.journal import Journal, JournalWriter, Record, invalid_key
from rapido_cli.models import MAX_EVENT_BYTES
from rapido_cli.profiles import Target
from rapido_cli.replay._http import TLS_UNTRUSTED, Sender, SenderFactory
from rapido_cli.replay._rate import AdaptiveRate, RateLimiter
from rapido_cli.rules import Problem, normalize_server_event

LineOutcome = Literal["sent", "skipped", "invalid", "failed", "would_send"]

#: Lines longer than this are not read into memory whole: they are reported invalid and skipped.
MAX_LINE_BYTES = max(1 << 20, MAX_EVENT_BYTES * 4)
BOM = b"\xef\xbb\xbf"

__all__ = ["LineResult", "ReplayOptions", "Replayer", "Summary"]


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
    grace_s: float = 10.0
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    #: ``on_attempt(line, event_id, attempt, final)``, called from worker threads (for -v).
    on_attempt: Callable[[int, str, Attempt, bool], None] | None = None


@dataclass(slots=True)
class LineResult:
    """What happened to one line of the input."""

    line: int
    event_id: str | None
    outcome: LineOutcome
    status: int | None = None
    attempts: int = 0
    request_id: str | None = None
    error: str | None = None
    failure: str | None = None  # failed: temporary | rejected | unauthorized | tls | interrupted
    reason: str | None = None  # skipped: "already sent" | "duplicate of line N"
    problems: list[Problem] | None = None
    throttled: int = 0
    event_type: str | None = None
    order_id: str | None = None
    raw: bytes = b""
    nbytes: int = 0

    @property
    def retries(self) -> int:
        """Attempts beyond the first."""
        return max(0, self.attempts - 1)

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` line of ``rapido replay``."""
        out: dict[str, Any] = {
            "line": self.line,
            "event_id": self.event_id,
            "outcome": self.outcome,
            "status": self.status,
            "attempts": self.attempts,
        }
        if self.request_id:
            out["request_id"] = self.request_id
        if self.order_id:
            out["order_id"] = self.order_id
        if self.reason:
            out["reason"] = self.reason
        if self.failure:
            out["failure"] = self.failure
        if self.error:
            out["error"] = self.error
        if self.problems:
            out["problems"] = [{"path": p.path, "message": p.message, "severity": p.severity} for p in self.problems]
        return out


@dataclass
class Summary:
    """Counts for one run; ``total`` = sent + skipped + invalid + failed + pending (+ would_send)."""

    total: int = 0
    sent: int = 0
    skipped: int = 0
    invalid: int = 0
    failed: int = 0
    retries: int = 0
    throttled: int = 0
    elapsed_s: float = 0.0
    would_send: int = 0
    duplicates: int = 0
    already_sent: int = 0
    rejected: int = 0
    temporary: int = 0
    unauthorized: int = 0
    tls: int = 0  # the server's TLS certificate was not trusted
    interrupted_events: int = 0
    pending: int = 0  # read but never attempted (the run was stopped)
    interrupted: bool = False
    aborted: bool = False
    dry_run: bool = False
    run_id: str = ""
    final_rate: float | None = None

    @property
    def rate(self) -> float:
        """Events acknowledged (or, in a dry run, checked) per second."""
        n = self.would_send + self.skipped + self.invalid if self.dry_run else self.sent
        return n / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def exit_code(self) -> ExitCode:
        """130 interrupted, 3 credentials refused, 1 any invalid/rejected, 75 temporary failures, else 0."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.unauthorized or self.tls:
            return ExitCode.CONFIG
        if self.invalid or self.rejected:
            return ExitCode.DATA
        if self.failed or self.pending:
            return ExitCode.TEMPFAIL
        return ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        """The documented ``{"summary": {...}}`` object (plus a few additive details)."""
        s: dict[str, Any] = {
            "total": self.total,
            "sent": self.sent,
            "skipped": self.skipped,
            "invalid": self.invalid,
            "failed": self.failed,
            "retries": self.retries,
            "throttled": self.throttled,
            "elapsed_s": round(self.elapsed_s, 3),
            "rate": round(self.rate, 1),
            "duplicates": self.duplicates,
            "already_sent": self.already_sent,
            "rejected": self.rejected,
            "temporary": self.temporary,
            "unauthorized": self.unauthorized,
            "tls": self.tls,
            "pending": self.pending + self.interrupted_events,
            "interrupted": self.interrupted,
            "exit_code": int(self.exit_code),
        }
        if self.final_rate is not None:
            s["rate_limit"] = round(self.final_rate, 1)  # the pacing at the end (--rate N, or auto's estimate)
        if self.dry_run:
            s["dry_run"] = True
            s["would_send"] = self.would_send
        return s


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


def _field(obj: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


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
        self._unauthorized = threading.Event()
        self._signalled = threading.Event()  # stop()/abort() were called (not a 401)
        self.read_error: str | None = None
        self._results: queue.Queue[Any] = queue.Queue(maxsize=max(256, options.concurrency * 64))
        self._work: queue.Queue[Any] = queue.Queue(maxsize=max(16, options.concurrency * 4))
        fixed = None if options.rate in (None, "auto") else float(options.rate)  # type: ignore[arg-type]
        self.limiter = RateLimiter(fixed, burst=1.0)
        self.adaptive: AdaptiveRate | None = None
        if options.rate == "auto":
            self.adaptive = AdaptiveRate(self.limiter, ceiling=options.rate_ceiling)
        self.bytes_read = 0
        self.in_flight = 0
        self._lock = threading.Lock()
        self.sender_kind = ""
        self.started = 0.0
        self._expected = 0
        self._bug: BaseException | None = None

    # ------------------------------------------------------------ control (signal-safe)

    def stop(self) -> None:
        """Stop reading and retrying; in-flight requests finish (first Ctrl-C / SIGTERM)."""
        self._signalled.set()
        self._stop.set()

    def abort(self) -> None:
        """Stop waiting at once (second Ctrl-C); what was already answered is still recorded."""
        self._signalled.set()
        self._stop.set()
        self._abort.set()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called or the credentials were refused."""
        return self._stop.is_set()

    # ------------------------------------------------------------ the run

    def run(self, stream: IO[bytes], source: str = "<stdin>", *, size: int | None = None) -> Summary:
        """Replay ``stream`` (binary, line by line); ``source`` names it in messages and the journal.

        ``size`` (bytes, for a regular file) only pre-sizes the duplicate-id table.
        """
        self._expected = expected_lines(stream, size)
        opts = self.options
        s = self.summary
        s.run_id = uuid.uuid4().hex[:12]
        self.started = time.monotonic()
        writer: JournalWriter | None = None
        dead: IO[bytes] | None = None
        factory: SenderFactory | None = None
        sender_factory = self._sender_factory
        if sender_factory is None and not opts.dry_run:
            factory = SenderFactory(self.target, concurrency=opts.concurrency, environ=opts.environ)
            sender_factory = factory
            self.sender_kind = factory.kind
        if opts.dead_letter is not None and not opts.dry_run:
            try:
                dead = open(opts.dead_letter, "wb")  # noqa: SIM115 - closed in finally
            except OSError as exc:
                raise UsageError(f"--dead-letter {opts.dead_letter}: cannot write: {exc.strerror}") from None
        if self.journal is not None and not opts.dry_run:
            self.journal.start_run(s.run_id, self.target.name, source)
            writer = self.journal.writer(self.target.name, s.run_id)
        workers: list[threading.Thread] = []
        reader = threading.Thread(target=self._read, args=(stream, source), name="rapido-reader", daemon=True)
        try:
            reader.start()
            if not opts.dry_run:
                assert sender_factory is not None
                for i in range(opts.concurrency):
                    t = threading.Thread(
                        target=self._worker, args=(sender_factory,), name=f"rapido-send-{i}", daemon=True
                    )
                    t.start()
                    workers.append(t)
            self._collect(source, writer, dead, n_workers=len(workers))
        finally:
            s.elapsed_s = time.monotonic() - self.started
            s.final_rate = self.limiter.rate
            if writer is not None:
                writer.close()
            if dead is not None:
                dead.close()
            if factory is not None and not self._abort.is_set():
                factory.close()
        if self._bug is not None:
            raise self._bug
        if self.journal is not None and not opts.dry_run:
            self.journal.end_run(s.run_id, int(s.exit_code), s.to_json())
        return s

    def _collect(self, source: str, writer: JournalWriter | None, dead: IO[bytes] | None, n_workers: int) -> None:
        s = self.summary
        done = 0
        reader_done = False
        grace_until: float | None = None
        # Once stopped, the reader may sit in a blocking read (a quiet stdin): only the workers matter.
        while done < n_workers or not (reader_done or (self._stop.is_set() and n_workers)):
            if self._stop.is_set() and grace_until is None:
                grace_until = time.monotonic() + self.options.grace_s
            if self._abort.is_set() or (grace_until is not None and time.monotonic() > grace_until):
                self._stop.set()
                self._abort.set()
                # Whatever is still queued was answered: record it, then leave the rest.
                while True:
                    try:
                        item = self._results.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(item, LineResult):
                        self._account(item, source, writer, dead)
                s.aborted = True
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
            self._account(item, source, writer, dead)
        if self._stop.is_set():
            # Lines that were read but never attempted: a re-run sends them.
            while True:
                try:
                    w = self._work.get_nowait()
                except queue.Empty:
                    break
                if isinstance(w, _Work):
                    self._add_pending()
        s.interrupted = self._signalled.is_set()

    def _add_pending(self) -> None:
        with self._lock:
            self.summary.pending += 1

    def _account(self, r: LineResult, source: str, writer: JournalWriter | None, dead: IO[bytes] | None) -> None:
        s = self.summary
        s.retries += r.retries
        s.throttled += r.throttled
        now = time.time()
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
        elif r.outcome == "invalid":
            s.invalid += 1
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
        if writer is not None and r.outcome in ("sent", "failed", "invalid") and r.event_id is not None:
            raw_text: str | None = None
            if r.outcome != "sent":
                # The line as read, without its line end (history --export adds one back).
                line = r.raw[:-1] if r.raw.endswith(b"\n") else r.raw
                line = line[:-1] if line.endswith(b"\r") else line
                # Not UTF-8 (never valid JSON anyway): U+FFFD in the journal; the dead-letter
                # file keeps the exact bytes.
                raw_text = line.decode("utf-8", "replace")
            writer.put(
                Record(
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
                    source=f"{source}:{r.line}",
                    at=now,
                )
            )
        if dead is not None and (r.outcome == "invalid" or r.failure in ("temporary", "rejected")):
            line = r.raw if r.raw.endswith(b"\n") else r.raw + b"\n"
            dead.write(line)
            dead.flush()
        if self.on_result is not None:
            self.on_result(r)

    # ------------------------------------------------------------ reader

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
        dry = self.options.dry_run
        n = 0
        try:
            while not self._stop.is_set():
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
                eid = _field(obj, "event", "id")
                eid = eid if isinstance(eid, str) and eid else None
                etype = _field(obj, "event", "type")
                etype = etype if isinstance(etype, str) else None
                order = _field(obj, "attributes", "orderId")
                order = str(order) if isinstance(order, (str, int)) and not isinstance(order, bool) else None
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
                    body = encode_event(sent)
                first = ids.add(hash(eid), n)
                if first >= 0:
                    self._emit(
                        LineResult(
                            n, eid, "skipped", reason=f"duplicate of line {first}", event_type=etype,
                            order_id=order, nbytes=size,
                        )
                    )
                    continue
                if checker is not None and checker(eid):
                    self._emit(
                        LineResult(
                            n, eid, "skipped", reason="already sent", event_type=etype, order_id=order, nbytes=size
                        )
                    )
                    continue
                if dry:
                    self._emit(
                        LineResult(n, eid, "would_send", event_type=etype, order_id=order, raw=body, nbytes=size)
                    )
                    continue
                work = _Work(n, body, raw, eid, etype, order, size)
                while True:
                    if self._stop.is_set():
                        self._add_pending()
                        break
                    try:
                        self._work.put(work, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except OSError as exc:
            self.read_error = f"{source}: read error: {exc.strerror or exc}"
        except BaseException as exc:  # noqa: BLE001 - a bug: stop everything; run() re-raises it
            self._bug = exc
            self._stop.set()
        finally:
            if checker is not None:
                checker.close()
            for _ in range(self.options.concurrency if not dry else 0):
                self._put_work_sentinel()
            self._emit(_READER_DONE)

    def _put_work_sentinel(self) -> None:
        while True:
            try:
                self._work.put(_DONE, timeout=0.1)
                return
            except queue.Full:
                if self._abort.is_set() or self._stop.is_set():
                    # Workers drain on stop; make room by dropping an unstarted item (counted pending).
                    try:
                        w = self._work.get_nowait()
                        if isinstance(w, _Work):
                            self._add_pending()
                    except queue.Empty:
                        pass

    def _emit(self, r: Any) -> None:
        while True:
            try:
                self._results.put(r, timeout=0.1)
                return
            except queue.Full:
                if self._abort.is_set():
                    return

    # ------------------------------------------------------------ workers

    def _worker(self, make_sender: Callable[[], Sender]) -> None:
        sender = make_sender()
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
                    self._add_pending()  # read, never attempted: a re-run sends it
                    continue
                with self._lock:
                    self.in_flight += 1
                try:
                    result = self._deliver(sender, item)
                finally:
                    with self._lock:
                        self.in_flight -= 1
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

    def _deliver(self, sender: Sender, w: _Work) -> LineResult:
        r = LineResult(w.line, w.event_id, "failed", event_type=w.event_type, order_id=w.order_id, raw=w.raw,
                       nbytes=w.nbytes)
        last: Attempt | None = None
        limit = self.options.max_attempts
        on_attempt = self.options.on_attempt
        for number in range(1, limit + 1):
            if not self.limiter.acquire(self._stop):
                break
            sent_at = time.monotonic()
            att = sender.attempt(w.body, number)
            last = att
            r.attempts = number
            r.status = att.status
            if att.request_id:
                r.request_id = att.request_id
            verdict = classify(att)
            if att.status == 429:
                r.throttled += 1
                if self.adaptive is not None:
                    self.adaptive.on_throttle(sent_at)
            elif verdict == "ok" and self.adaptive is not None:
                self.adaptive.on_success(sent_at)
            final = verdict != "retry" or number == limit
            if not final:
                wait = self.retry.backoff(number)
                if att.retry_after is not None:
                    wait = max(wait, min(att.retry_after, self.retry.retry_after_cap))
                att.wait_s = wait
            if on_attempt is not None:
                on_attempt(w.line, w.event_id, att, final)
            if verdict == "ok":
                r.outcome = "sent"
                r.error = None
                return r
            if att.status is None and (att.error or "").startswith(TLS_UNTRUSTED):
                # Configuration, not weather: every request would fail the same way.
                r.failure = "tls"
                self._unauthorized.set()
                self._stop.set()
                break
            if verdict == "unauthorized":
                r.failure = "unauthorized"
                self._unauthorized.set()
                self._stop.set()
                break
            if verdict == "rejected":
                r.failure = "rejected"
                break
            if number == limit:
                r.failure = "temporary"
                break
            if self._stop.wait(att.wait_s):
                break
        if r.failure is None:
            # Stopped before an attempt or between two: not judged; a re-run sends it.
            r.failure = "interrupted"
        if last is not None:
            r.error = explain(last)[0]
        else:
            r.error = "stopped before the first attempt"
        return r

    # ------------------------------------------------------------ progress

    def snapshot(self) -> dict[str, Any]:
        """Live counters for progress displays (safe to call from the collecting thread)."""
        s = self.summary
        elapsed = max(1e-9, time.monotonic() - self.started)
        return {
            "done": s.sent + s.skipped + s.invalid + s.failed + s.would_send + s.interrupted_events,
            "total": s.total,
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
        }
