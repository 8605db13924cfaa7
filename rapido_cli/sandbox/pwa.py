"""The PWA flow: ``POST /pwa/events`` (what bridge.js sends) and ``GET /bridge.js`` itself.

A PWA event is ``{"eventType", "properties"}`` with ``properties`` the JSON string a page passes to
``window.NativeJSBridge.logEvents``. It is checked with the PWA rules; a ``booking_completed`` opens
a booking in the correlator, which reports it as missed when no server ``order.*`` event follows.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson

from rapido_cli.rules import Problem, check_pwa_event, get_path
from rapido_cli.sandbox.config import SandboxConfig, SandboxEvent
from rapido_cli.sandbox.contract import text_or_none
from rapido_cli.sandbox.http import Headers
from rapido_cli.sandbox.responses import (
    CODE_INVALID,
    CODE_OK,
    Answer,
    error_body,
    new_request_id,
    not_json,
    problem_details,
    problem_list,
    success_body,
)
from rapido_cli.sandbox.state import Correlator

PWA_PATH = "/pwa/events"
BRIDGE_PATH = "/bridge.js"
#: Content types a PWA post may use (text/plain: what a page's ``navigator.sendBeacon`` sends).
PWA_CONTENT_TYPES = ("application/json", "text/plain")


def bridge_source(base_url: str) -> bytes:
    """``static/bridge.js`` with this sandbox's URL as the fallback endpoint."""
    text = resources.files("rapido_cli").joinpath("static/bridge.js").read_text(encoding="utf-8")
    return text.replace("__RAPIDO_SANDBOX_URL__", base_url).encode("utf-8")


def _js_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, int | float) else "a non-string value"


class PwaFlow:
    """Checks PWA events and feeds ``booking_completed`` to the correlator."""

    def __init__(self, config: SandboxConfig, correlator: Correlator) -> None:
        self.config = config
        self.correlator = correlator

    def answer(self, headers: Headers, body: bytes, ev: SandboxEvent) -> Answer:
        """Check one PWA event (the origin was already checked) and say what the page gets back."""
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in PWA_CONTENT_TYPES:
            return Answer(
                415,
                CODE_INVALID,
                f"unsupported content type {ctype or '(none)'!r}",
                {"content-type": "must be application/json"},
                verdict="unsupported",
            )
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            ev.event = {"raw": body[:1024].decode("utf-8", "replace")}
            return not_json(body, str(exc))
        ev.event = obj
        ev.event_type = text_or_none(get_path(obj, "eventType"))
        ev.request_id = new_request_id()
        problems = check_pwa_event(obj, size=len(body))
        raw_props = get_path(obj, "properties")
        if headers.get("x-rapido-bridge-seq") and raw_props is not None and not isinstance(raw_props, str):
            # Through bridge.js the properties arrive exactly as the page passed them: the real
            # bridge takes a JSON string, as in the specification's logEvents(type, JSON.stringify(props)).
            problems.append(
                Problem(
                    "properties",
                    f"logEvents got {_js_kind(raw_props)}, "
                    "not a JSON string: call logEvents(eventType, JSON.stringify(properties))",
                    "warning",
                )
            )
        ev.problems = problem_list(problems)
        errors = [p for p in problems if p.severity == "error"]
        if not errors:
            self._correlate(ev, raw_props)
        verdict = "invalid" if errors else "warning" if problems else "ok"
        if errors:
            first = errors[0]
            message = f"invalid PWA event: {first.path or 'body'}: {first.message}"
            details = problem_details(problems)
            return Answer(
                400,
                CODE_INVALID,
                message,
                details,
                verdict=verdict,
                body=error_body(CODE_INVALID, message, details, ev.request_id, verdict=verdict, problems=ev.problems),
            )
        body_out = success_body(ev.received_at, ev.request_id, verdict=verdict, problems=ev.problems)
        return Answer(200, CODE_OK, verdict=verdict, body=body_out)

    def _correlate(self, ev: SandboxEvent, raw_props: Any) -> None:
        props = raw_props
        if isinstance(props, str):
            try:
                props = orjson.loads(props)
            except orjson.JSONDecodeError:
                props = None
        if ev.event_type != "booking_completed" or not isinstance(props, dict):
            return
        booking = props.get("booking_id")
        if not (isinstance(booking, str | int) and not isinstance(booking, bool) and str(booking)):
            return
        ev.order_id = str(booking)
        state = self.correlator.pwa_booking(ev.order_id, ev.received_at, props)
        ev.message = (
            f"booking {ev.order_id}: server order event already received"
            if state == "matched"
            else f"booking {ev.order_id}: waiting up to {self.config.missed_after_s:g}s for the server order event"
        )
