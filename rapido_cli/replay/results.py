"""What a replay reports: one :class:`LineResult` per line and the run's :class:`Summary`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rapido_cli.errors import ExitCode
from rapido_cli.rules import Problem

#: ``pending`` is internal: a line read but never attempted (the run stopped first); it is counted
#: in the summary and written to the dead-letter file after an outage, not shown as a line.
LineOutcome = Literal["sent", "skipped", "invalid", "failed", "would_send", "pending"]
StopReason = Literal["signal", "outage", "max_duration", "fail_fast", "unauthorized", "config", "io_error"]

__all__ = ["LineOutcome", "LineResult", "StopReason", "Summary", "exit_code_for_failure"]


def exit_code_for_failure(outcome: str, failure: str | None) -> ExitCode:
    """The exit code one failed or invalid event stands for (``--fail-fast`` exits with it)."""
    if outcome == "invalid":
        return ExitCode.DATA
    if failure == "config":
        return ExitCode.CONFIG
    from rapido_cli.transport import FAILURE_EXIT

    return FAILURE_EXIT.get(failure or "temporary", ExitCode.TEMPFAIL)


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
    #: failed: temporary | rejected | unauthorized | tls | interrupted, or what made the endpoint a
    #: configuration problem (the transport's ``Attempt.failure``: unconfirmed, redirect, endpoint, nxdomain...)
    failure: str | None = None
    reason: str | None = None  # skipped: "already sent" | "duplicate of line N"
    problems: list[Problem] | None = None
    throttled: int = 0
    event_type: str | None = None
    order_id: str | None = None
    raw: bytes = b""
    nbytes: int = 0
    #: for events of a JSON/YAML document: the line of each problem's field (same order as problems)
    problem_lines: list[int] | None = None

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
    config: int = 0  # the endpoint answered in a way only a configuration change fixes
    interrupted_events: int = 0  # attempted, then abandoned when the run stopped: not judged
    pending: int = 0  # read but never attempted (the run was stopped)
    interrupted: bool = False  # stopped by a signal
    dry_run: bool = False
    run_id: str = ""
    final_rate: float | None = None
    #: why the run stopped before the end of its input (None: it read everything)
    stopped: StopReason | None = None
    outage_since: float | None = None  # Unix time of the first failure of the outage
    outage_error: str | None = None  # what the last failed attempt said
    io_error: str | None = None  # the journal or dead-letter file failed (exit 74)
    io_hint: str | None = None
    unread: bool = False  # after the stop, the rest of the input could not all be counted in time
    fail_fast_code: int | None = None  # --fail-fast: the class of the first failed event

    @property
    def rate(self) -> float:
        """Events acknowledged (or, in a dry run, checked) per second."""
        n = self.would_send + self.skipped + self.invalid if self.dry_run else self.sent
        return n / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def not_attempted(self) -> int:
        """Events left for the next run: never attempted, or abandoned before a verdict."""
        return self.pending + self.interrupted_events

    @property
    def exit_code(self) -> ExitCode:
        """One code for a run with several outcomes: the first that applies of

        * 130 interrupted by a signal: the operator asked to stop and knows why;
        * 74 the journal or dead-letter file failed: nothing else this run says can be trusted
          to have been recorded, and re-running blindly may send events again;
        * 3 configuration or credentials (401/403, TLS, wrong endpoint): every later run would fail
          the same way until a person acts, so it must not hide behind a data or temporary code;
        * with ``--fail-fast``, the class of the event that stopped the run (1, 3 or 75);
        * 75 the run did not finish (outage, ``--max-duration``, temporary failures, events left
          pending): run again; invalid lines in the same file are reported again by that run,
          so a data error is not lost, whereas exit 1 here would tell a cron wrapper not to retry
          and leave deliverable events behind;
        * 1 invalid or rejected events: fix the data, retrying will not help;
        * 0 everything delivered or already delivered.
        """
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.io_error:
            return ExitCode.IOERR
        if self.unauthorized or self.tls or self.config:
            return ExitCode.CONFIG
        if self.fail_fast_code is not None:
            return ExitCode(self.fail_fast_code)
        if self.temporary or self.not_attempted or self.unread or self.stopped == "outage":
            return ExitCode.TEMPFAIL
        if self.invalid or self.rejected:
            return ExitCode.DATA
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
            "config": self.config,
            "pending": self.not_attempted,
            "interrupted": self.interrupted,
            "stopped": self.stopped,
            "exit_code": int(self.exit_code),
        }
        if self.stopped == "outage":
            from rapido_cli.journal import iso

            s["outage"] = {"since": iso(self.outage_since), "error": self.outage_error}
        if self.io_error:
            s["io_error"] = self.io_error
        if self.unread:
            s["unread"] = True  # the rest of the input was not all read: "pending" is a lower bound
        if self.final_rate is not None:
            s["rate_limit"] = round(self.final_rate, 1)  # the pacing at the end (--rate N, or auto's estimate)
        if self.dry_run:
            s["dry_run"] = True
            s["would_send"] = self.would_send
        return s
