"""Per-event rules shared by ``validate``, ``replay`` and the sandbox.

``check_server_event`` takes an already-parsed JSON value and returns every problem found;
it never raises on any input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: ``path`` is a dotted field path (``attributes.start_time``), "" for the whole event."""

    path: str
    message: str
    severity: Severity = "error"


def check_server_event(obj: Any) -> list[Problem]:
    """Check one server-to-server envelope; return errors and warnings (empty when clean)."""
    from pydantic import ValidationError

    from rapido_cli.models import BookingAttributes, Envelope

    problems: list[Problem] = []
    try:
        env = Envelope.model_validate(obj)
    except ValidationError as exc:
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"])
            problems.append(Problem(path, err["msg"]))
        return problems
    if env.event.type.startswith("order."):
        try:
            BookingAttributes.model_validate(env.attributes)
        except ValidationError as exc:
            for err in exc.errors():
                path = ".".join(["attributes", *(str(p) for p in err["loc"])])
                problems.append(Problem(path, err["msg"]))
    return problems
