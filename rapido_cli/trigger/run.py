"""Sending a planned scenario, step by step, stopping at the first step that fails.

The senders are given by the caller (one callable for server events, one for PWA events), so
this module knows nothing of profiles or HTTP clients and prints nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from rapido_cli.errors import ExitCode
from rapido_cli.trigger.plan import PlannedStep

__all__ = ["PWA_PATH", "PwaPoster", "ServerOutcome", "StepResult", "run_steps"]

PWA_PATH = "/pwa/events"

Outcome = Literal["sent", "skipped", "rejected", "unauthorized", "untrusted", "failed"]

#: What each outcome means for the exit status (the same classes as `rapido send`).
EXIT_CODES: dict[str, ExitCode] = {
    "sent": ExitCode.OK,
    "skipped": ExitCode.OK,
    "rejected": ExitCode.DATA,
    "unauthorized": ExitCode.CONFIG,
    "untrusted": ExitCode.CONFIG,
    "failed": ExitCode.TEMPFAIL,
}


class ServerOutcome(Protocol):
    """What a server sender returns (``rapido_cli.transport.SendResult`` has these)."""

    @property
    def outcome(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def attempts(self) -> Sequence[Any]: ...
    @property
    def message(self) -> str | None: ...
    @property
    def elapsed_ms(self) -> float: ...
    @property
    def response(self) -> Any: ...
    @property
    def request_id(self) -> str | None: ...


@dataclass
class StepResult:
    """What happened to one step."""

    step: PlannedStep
    outcome: Outcome
    status: int | None = None
    attempts: int = 0
    request_id: str | None = None
    message: str | None = None
    elapsed_ms: float = 0.0
    verdict: str | None = None
    response: Any = None

    @property
    def exit_code(self) -> ExitCode:
        """The exit status this step's outcome calls for."""
        return EXIT_CODES[self.outcome]

    @property
    def ok(self) -> bool:
        """True when the step was delivered or deliberately skipped."""
        return self.outcome in ("sent", "skipped")

    def to_json(self) -> dict[str, Any]:
        """One JSON Lines record of ``trigger --json``."""
        out: dict[str, Any] = {
            "step": self.step.name,
            "flow": self.step.flow,
            "type": self.step.event_type,
            "event_id": self.step.event_id,
            "order_id": self.step.order_id,
            "outcome": self.outcome,
            "status": self.status,
            "attempts": self.attempts,
            "request_id": self.request_id,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }
        if self.verdict is not None:
            out["verdict"] = self.verdict
        if self.message:
            out["message"] = self.message
        if self.step.warnings:
            out["warnings"] = self.step.warnings
        out["event"] = self.step.body
        return out


class PwaPoster:
    """Posts PWA events to a sandbox's ``POST /pwa/events`` (loopback only; no credentials)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        import httpx

        self.url = base_url.rstrip("/") + PWA_PATH
        # The sandbox is on loopback: no proxy may stand in between.
        self._http = httpx.Client(timeout=timeout, trust_env=False)

    def preview(self, body: dict[str, Any]) -> dict[str, Any]:
        """The request that would be sent (same shape as a server event's preview)."""
        return {"method": "POST", "url": self.url, "headers": {"Content-Type": "application/json"}, "body": body}

    def post(self, step: PlannedStep) -> StepResult:
        """Send one PWA event; never raises for network problems."""
        import json

        import httpx

        body = json.dumps(step.body, separators=(",", ":"), ensure_ascii=False).encode()
        start = time.perf_counter()
        try:
            resp = self._http.post(self.url, content=body, headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - start) * 1000
            return StepResult(step, "failed", None, 1, message=f"{type(exc).__name__}: {exc}", elapsed_ms=elapsed)
        elapsed = (time.perf_counter() - start) * 1000
        try:
            answer: Any = resp.json()
        except ValueError:
            answer = None
        request_id = answer.get("requestId") if isinstance(answer, dict) else None
        verdict = answer.get("verdict") if isinstance(answer, dict) else None
        result = StepResult(
            step,
            "sent",
            resp.status_code,
            1,
            request_id=request_id if isinstance(request_id, str) else None,
            elapsed_ms=elapsed,
            verdict=verdict if isinstance(verdict, str) else None,
            response=answer,
        )
        if resp.status_code == 200 and isinstance(answer, dict) and answer.get("success") is True:
            return result
        error = answer.get("error") if isinstance(answer, dict) else None
        detail = error.get("message") if isinstance(error, dict) else None
        result.message = f"HTTP {resp.status_code}" + (f": {detail}" if isinstance(detail, str) else "")
        if resp.status_code in (401, 403):
            result.outcome = "unauthorized"
        elif resp.status_code in (408, 429) or resp.status_code >= 500:
            result.outcome = "failed"
        else:
            result.outcome = "rejected"
        return result

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


def run_steps(
    steps: Sequence[PlannedStep],
    *,
    send_server: Callable[[dict[str, Any]], ServerOutcome],
    send_pwa: Callable[[PlannedStep], StepResult] | None,
    on_step: Callable[[StepResult], None] | None = None,
) -> list[StepResult]:
    """Send ``steps`` in order; stop after the first that fails. PWA steps run only with ``send_pwa``.

    Returns the results of the steps that ran or were skipped (a PWA step without ``send_pwa``
    is left out: the caller says how many were not emitted).
    """
    results: list[StepResult] = []
    for step in steps:
        if step.skip_reason is not None:
            result = StepResult(step, "skipped", message=step.skip_reason)
        elif step.flow == "pwa":
            if send_pwa is None:
                continue
            result = send_pwa(step)
        else:
            sent = send_server(step.body)
            outcome: Outcome = sent.outcome if sent.outcome in EXIT_CODES else "failed"  # type: ignore[assignment]
            result = StepResult(
                step,
                outcome,
                sent.status,
                len(sent.attempts),
                request_id=sent.request_id,
                message=sent.message,
                elapsed_ms=sent.elapsed_ms,
                response=sent.response,
            )
        results.append(result)
        if on_step is not None:
            on_step(result)
        if not result.ok:
            break
    return results
