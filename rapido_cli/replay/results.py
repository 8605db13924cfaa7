"""What a replay reports: one :class:`LineResult` per line and the run's :class:`Summary`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rapido_cli.errors import ExitCode
from rapido_cli.rules import Problem

LineOutcome = Literal["sent", "skipped", "invalid", "failed", "would_send"]

__all__ = ["LineOutcome", "LineResult", "Summary"]


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
