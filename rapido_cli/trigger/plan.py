"""Turning a scenario and its ``--set`` values into the events to send, all built before any is sent.

Server events are built by :mod:`rapido_cli.build` (``booking_event`` as ``send-booking`` does,
``make_event`` for the others), so their ids are derived from their content: the same scenario
with the same values gives the same ids on every run, and the server drops the repeats.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from rapido_cli.errors import FieldError, UsageError
from rapido_cli.text import iso_utc
from rapido_cli.trigger.scenario import (
    BOOKING_FIELDS,
    PARAM_ALIASES,
    Scenario,
    Step,
    did_you_mean,
    resolve,
)

__all__ = ["PlannedStep", "apply_overrides", "plan"]

Flow = Literal["server", "pwa"]


@dataclass
class PlannedStep:
    """One step, built: the envelope (server) or ``{"eventType", "properties"}`` (PWA)."""

    name: str
    flow: Flow
    body: dict[str, Any]
    line: int
    skip_reason: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def event_type(self) -> str:
        """``order.confirmed``, ``payment.completed`` ... or the PWA event type."""
        if self.flow == "pwa":
            return str(self.body.get("eventType", ""))
        return str(self.body.get("event", {}).get("type", ""))

    @property
    def event_id(self) -> str | None:
        """The server event's id (PWA events have none)."""
        if self.flow == "pwa":
            return None
        ev = self.body.get("event", {}).get("id")
        return str(ev) if ev is not None else None

    @property
    def order_id(self) -> str | None:
        """``attributes.orderId``, or a PWA event's ``booking_id``."""
        inner = self.body.get("attributes" if self.flow == "server" else "properties")
        if not isinstance(inner, dict):
            return None
        value = inner.get("orderId" if self.flow == "server" else "booking_id")
        return None if value is None else str(value)


def _coerce(name: str, raw: str, default: Any) -> Any:
    """A ``--set`` value, typed like the parameter's default (numbers stay numbers)."""
    if isinstance(default, bool):
        low = raw.strip().lower()
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
        raise UsageError(f"parameter {name!r}: {raw!r} is not true or false")
    if isinstance(default, int | float):
        text = raw.strip().replace("_", "")
        try:
            number = float(text)
        except ValueError:
            raise UsageError(f"parameter {name!r}: {raw!r} is not a number", hint=f"e.g. {name}={default}") from None
        if not math.isfinite(number):
            raise UsageError(f"parameter {name!r}: {raw!r} is not a finite number")
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    return raw


def apply_overrides(sc: Scenario, overrides: Mapping[str, str]) -> dict[str, Any]:
    """The scenario's parameters with ``overrides`` applied; an unknown name is a UsageError."""
    values = dict(sc.params)
    for name, raw in overrides.items():
        if name not in sc.params:
            known = ", ".join(sc.params) or "none"
            raise UsageError(
                f"scenario {sc.name} has no parameter {name!r}{did_you_mean(name, list(sc.params))}",
                hint=f"its parameters: {known}",
            )
        values[name] = _coerce(name, raw, sc.params[name])
    return values


def plan(
    sc: Scenario,
    overrides: Mapping[str, str] | None = None,
    *,
    skip: Collection[str] = (),
    now: datetime | None = None,
) -> list[PlannedStep]:
    """Build every step of ``sc``; raises before anything is sent if one is invalid.

    ``skip`` names steps that are built (later steps may refer to them) but not sent. ``now``
    (default: the current time) is what ``${now}`` gives.
    """
    from rapido_cli.rules import check_pwa_event, check_server_event

    params = apply_overrides(sc, overrides or {})
    step_names = [s.name for s in sc.steps]
    for name in skip:
        if name not in step_names:
            raise UsageError(
                f"scenario {sc.name} has no step {name!r}{did_you_mean(name, step_names)}",
                hint="its steps: " + ", ".join(step_names),
            )
    names = {**params, "now": iso_utc(now or datetime.now(UTC)), "scenario": sc.name}
    built: dict[str, tuple[str, dict[str, Any]]] = {}
    out: list[PlannedStep] = []
    ids: dict[str, str] = {}
    for step in sc.steps:
        spec = resolve(sc, step.spec, step.path, names, built)
        flow: Flow = "pwa" if step.kind == "pwa" else "server"
        if step.kind == "booking":
            body = _booking(sc, step, spec, params)
        elif step.kind == "event":
            body = _event(sc, step, spec, params)
        else:
            body = {"eventType": spec.get("eventType"), "properties": spec.get("properties", {})}
        problems = check_pwa_event(body) if flow == "pwa" else check_server_event(body)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise sc.error(
                step.path, f"step {step.name!r} builds an invalid event: {first.path or 'event'}: {first.message}{more}"
            )
        planned = PlannedStep(step.name, flow, body, step.line)
        planned.warnings = [f"{p.path or 'event'}: {p.message}" for p in problems if p.severity == "warning"]
        if step.name in skip:
            planned.skip_reason = "skipped (--skip)"
        elif step.skip:
            planned.skip_reason = "skipped (skip: true in the scenario)"
        event_id = planned.event_id
        if event_id is not None:
            if event_id in ids:
                raise sc.error(
                    step.path,
                    f"steps {ids[event_id]!r} and {step.name!r} build the same event (id {event_id}): "
                    "the server would drop the second",
                    hint="change an attribute of one of them, or give it its own `id`/`event_id`",
                )
            ids[event_id] = step.name
        built[step.name] = (flow, body)
        out.append(planned)
    return out


def _booking(sc: Scenario, step: Step, spec: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """A booking event from the parameters (send-booking's names) overridden by the step's fields."""
    from rapido_cli.build import booking_event

    values: dict[str, Any] = {}
    origin: dict[str, tuple[Any, ...]] = {}
    for pname, value in params.items():
        fname = PARAM_ALIASES.get(pname, pname)
        if fname in BOOKING_FIELDS:
            values[fname] = value
            origin[fname] = ("params", pname)
    for key, value in spec.items():
        fname = PARAM_ALIASES.get(key, key)
        values[fname] = value
        origin[fname] = (*step.path, key)
    try:
        return booking_event(sc.kind, values)
    except FieldError as exc:
        where = origin.get(exc.field, step.path)
        via = f" (parameter {where[1]!r}; --set {where[1]}=...)" if where[0] == "params" else ""
        hint = exc.hint if exc.hint and "--" not in exc.hint else None
        raise sc.error(where, f"step {step.name!r}: {exc.field}: {exc.reason}{via}", hint=hint) from None


def _event(sc: Scenario, step: Step, spec: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Any server event: ``type``, ``attributes``, ``user`` (default: the ``user`` parameter), ``id``."""
    from rapido_cli.build import make_event

    user = spec.get("user", params.get("user"))
    event_id = spec.get("id")
    try:
        return make_event(
            "" if user is None else str(user),
            str(spec.get("type")),
            dict(spec.get("attributes") or {}),
            None if event_id is None else str(event_id),
        )
    except FieldError as exc:
        key = {"user_id": "user"}.get(exc.field, exc.field)
        raise sc.error((*step.path, key), f"step {step.name!r}: {key}: {exc.reason}", hint=exc.hint) from None
