"""The authentication probe: a request every server must refuse, read by the same code as ``send``.

The probe is an envelope with every field wrong on purpose, so no server can record it as an
event: HTTP 400 means the credentials passed, 401/403 that they did not. It is sent by the
transport's own sender (same route, TLS context, deadline and answer cap), and its answer is
classified as ``rapido send`` classifies answers, so both agree on what is configuration
(exit 3) and what is weather (exit 75).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapido_cli.doctor.report import CONFIG, NETWORK, Check
from rapido_cli.profiles import KEY_ENV, Target
from rapido_cli.transport.answer import Attempt, explain, hint_for, server_message
from rapido_cli.transport.client import ConnectionSender, SendPlan, encode_event

PROBE_HEADER = "x-rapido-probe"

#: The authentication probe: every field wrong on purpose, so no server can record it as an event.
PROBE_EVENT: dict[str, Any] = {
    "userId": "",
    "event": {"type": "rapido.doctor.probe", "id": ""},
    "attributes": {"_probe": "rapido doctor: deliberately invalid, must be rejected with HTTP 400"},
    "schemaVersion": 0,
}


@dataclass
class ProbeAnswer:
    """The probe's attempt, and the wall-clock times around it (for the clock row)."""

    attempt: Attempt
    sent_at: float
    received_at: float

    @property
    def status(self) -> int | None:
        """The HTTP status (None without an answer)."""
        return self.attempt.status

    @property
    def date(self) -> str | None:
        """The server's Date header."""
        return self.attempt.date


def send_probe(target: Target, environ: Mapping[str, str], timeout: float) -> ProbeAnswer:
    """POST the deliberately invalid probe with the profile's credentials, exactly the way ``send`` would."""
    plan = SendPlan.for_target(dataclasses.replace(target, timeout=timeout), environ, {PROBE_HEADER: "doctor"})
    sender = ConnectionSender(plan)
    try:
        sent_at = time.time()
        att = sender.attempt(encode_event(PROBE_EVENT), 1)
        received_at = time.time()
    finally:
        sender.close()
    return ProbeAnswer(att, sent_at, received_at)


def check_auth(answer: ProbeAnswer, target: Target, profile: str) -> Check:
    """Read the probe's answer: 400 = credentials passed, 401/403 = refused, else what ``send`` would conclude."""
    title = "authentication"
    att = answer.attempt
    msg, _details = server_message(att)
    data = {"status": att.status, "message": msg, "request_id": att.request_id, "url": target.event_url,
            "failure": att.failure}
    said = f" ({msg})" if msg else ""
    st = att.status
    f = att.failure
    if st is None:
        kind = NETWORK if f == "temporary" else CONFIG
        return Check(
            "auth",
            title,
            "fail",
            f"no answer from {target.event_url}: {explain(att)[0]}",
            kind=kind,
            hint=hint_for(att) or "see the rows above; try again later",
            data=data,
        )
    if f is None:
        return Check(
            "auth",
            title,
            "warn",
            f"inconclusive: HTTP {st} — the server acknowledged a deliberately invalid probe",
            hint="is base_url really the Rapido API? report this to Rapido",
            data=data,
        )
    if f == "rejected":
        if st in (400, 422):
            return Check(
                "auth",
                title,
                "pass",
                f"credentials accepted: HTTP {st} for the deliberately invalid probe; nothing was recorded",
                data=data,
            )
        return Check("auth", title, "warn", f"inconclusive: HTTP {st}{said}", data=data)
    if f == "unauthorized":
        return Check(
            "auth",
            title,
            "fail",
            f"credentials refused: HTTP {st}{said}",
            hint=f"check client_id, app_id and service (`rapido profile show {profile}`) and the key "
            f"(`rapido profile set-key {profile}`, or {KEY_ENV})",
            data=data,
        )
    if f == "endpoint":
        return Check(
            "auth",
            title,
            "fail",
            f"inconclusive: HTTP {st} at {target.event_url}{said}",
            hint="base_url looks wrong: it should be the API's root (rapido appends /api/ota/event)",
            data=data,
        )
    if f == "temporary":
        return Check(
            "auth",
            title,
            "fail",
            f"inconclusive: HTTP {st}{said}: the server is busy or failing",
            kind=NETWORK,
            hint="try again later",
            data=data,
        )
    # unconfirmed, redirect: configuration, as for `rapido send`
    return Check("auth", title, "fail", f"inconclusive: {explain(att)[0]}", hint=hint_for(att), data=data)


__all__ = ["PROBE_EVENT", "PROBE_HEADER", "ProbeAnswer", "check_auth", "send_probe"]
