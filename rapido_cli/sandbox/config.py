"""Settings of the sandbox receiver, its fault plan, and the record of one event it saw."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from rapido_cli.errors import SettingError
from rapido_cli.text import iso_utc

#: Fault kinds besides an HTTP status: close the connection before processing the event, or after
#: recording it without answering (so a client's retry must be answered as a duplicate).
DROP = "drop"
DROP_AFTER = "drop-after"


@dataclass(frozen=True, slots=True)
class Fault:
    """One entry of a fault plan: ``kind`` is ``"500"``-style status text, ``drop`` or ``drop-after``."""

    kind: str
    probability: float

    @property
    def status(self) -> int | None:
        """The HTTP status this fault answers with, or None for a dropped connection."""
        return int(self.kind) if self.kind.isdigit() else None


def parse_faults(spec: str | None, *, fail_rate: float = 0.0) -> tuple[Fault, ...]:
    """Parse ``500:0.1,429:0.05,499:0.05,drop:0.05,drop-after:0.02`` (plus ``fail_rate`` as 500s).

    Statuses may be any 4xx/5xx code. The probabilities are independent slices of one draw per
    request, so they must add up to at most 1.
    """
    faults: list[Fault] = []
    if fail_rate:
        faults.append(Fault("500", _probability("fail_rate", fail_rate)))
    for raw in (spec or "").split(","):
        item = raw.strip()
        if not item:
            continue
        kind, sep, prob_text = item.partition(":")
        kind = kind.strip().lower()
        if not sep:
            raise _setting(
                "faults", f"{item!r} has no probability", hint="write KIND:P, e.g. 500:0.1,429:0.05,drop:0.02"
            )
        if kind not in (DROP, DROP_AFTER) and not (kind.isdigit() and 400 <= int(kind) <= 599):
            raise _setting(
                "faults", f"unknown fault {kind!r}", hint="use an HTTP status from 400 to 599, 'drop' or 'drop-after'"
            )
        try:
            prob = float(prob_text)
        except ValueError:
            raise _setting("faults", f"{prob_text!r} is not a number", hint="e.g. 500:0.1") from None
        faults.append(Fault(kind, _probability("faults", prob, kind)))
    total = sum(f.probability for f in faults)
    if total > 1.0 + 1e-9:
        raise _setting(
            "faults",
            f"fault probabilities add up to {total:g}, more than 1",
            hint="lower {fail_rate} or the {faults} probabilities",
            refs=("fail_rate", "faults"),
        )
    return tuple(faults)


def _probability(field: str, value: float, kind: str | None = None) -> float:
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        what = f"{kind}: " if kind else ""
        raise _setting(field, f"{what}{value} is not a probability", hint="use a number from 0 to 1, e.g. 0.1")
    return float(value)


def _setting(field: str, message: str, *, hint: str | None = None, refs: tuple[str, ...] = ()) -> SettingError:
    """A bad sandbox setting, named by its field (the CLI words it as its option): exit 2."""
    return SettingError(field, message, hint=hint, refs=refs)


@dataclass(slots=True)
class SandboxEvent:
    """What the sandbox saw for one request on an event endpoint (or one correlation finding).

    Passed to ``SandboxConfig.on_event`` for the live line, kept for ``GET /_sandbox/events`` and
    written to ``--store``. ``flow`` is ``server``, ``pwa`` or ``correlation``.
    """

    flow: str
    received_at: datetime
    verdict: str
    status: int | None = None
    event_type: str | None = None
    event_id: str | None = None
    request_id: str | None = None
    client_id: str | None = None
    order_id: str | None = None
    message: str = ""
    problems: list[dict[str, str]] = field(default_factory=list)
    fault: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    event: Any = None
    seq: int = 0
    #: The ``code`` of the answer body (7000, 7001, ...); None for a dropped connection.
    code: int | None = None
    #: ``to_dict()`` as one JSON line, made once for every stream client (see :meth:`json_line`).
    _line: bytes | None = field(default=None, repr=False, compare=False)

    def to_dict(self, *, aliases: bool = True) -> dict[str, Any]:
        """The JSON form used by ``/_sandbox/events``, ``/_sandbox/stream``, ``--json`` and the store.

        ``at``, ``type`` and ``body`` repeat ``received_at``, ``event_type`` and ``event`` under the
        names ``rapido tail`` reads; the store file leaves them out (``aliases=False``), so it does
        not write every body twice.
        """
        at = iso_utc(self.received_at)
        out: dict[str, Any] = {
            "seq": self.seq,
            "flow": self.flow,
            "received_at": at,
            "client_id": self.client_id,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "order_id": self.order_id,
            "status": self.status,
            "verdict": self.verdict,
            "requestId": self.request_id,
            "message": self.message,
            "problems": self.problems,
            "fault": self.fault,
            "headers": self.headers,
            "event": self.event,
            "code": self.code,
        }
        if aliases:
            out["at"] = at
            out["type"] = self.event_type
            out["body"] = self.event
        return out

    def json_line(self) -> bytes:
        """:meth:`to_dict` as compact JSON, computed once (the record does not change after it is kept)."""
        if self._line is None:
            self._line = orjson.dumps(self.to_dict(), default=str)
        return self._line


EventCallback = Callable[[SandboxEvent], None]


@dataclass
class SandboxConfig:
    """Everything ``rapido sandbox`` can be told; every field has a safe default.

    The expected client key is given here as a value, never on a command line: the CLI reads it
    from ``RAPIDO_SANDBOX_KEY`` or ``--key-file``.
    """

    host: str = "127.0.0.1"
    port: int = 8787
    #: When set, requests must carry this x-client-id (401 otherwise).
    client_id: str | None = None
    #: When set, requests must carry this authorization value (401 otherwise).
    client_key: str | None = None
    #: Delay added before each answer on the event endpoints, in milliseconds.
    latency_ms: float = 0.0
    #: Probability of an injected 500 per server event.
    fail_rate: float = 0.0
    #: Token-bucket ceiling for server events, requests per second (None: unlimited).
    rate_limit: float | None = None
    #: Bucket size for ``rate_limit`` (default: one second's worth, at least 1).
    rate_burst: float | None = None
    #: Append one JSON line per request on the event endpoints.
    store: Path | None = None
    #: Called (from a server thread) after each answer; must be thread-safe and quick.
    on_event: EventCallback | None = None
    #: Fault plan, e.g. ``500:0.1,429:0.05,499:0.05,drop:0.05,drop-after:0.02``.
    faults: str | None = None
    #: Seed for the fault draws, so a sequential test sees the same faults every run.
    seed: int | None = None
    #: A PWA ``booking_completed`` with no accepted server ``order.*`` event this long after it
    #: is reported as a missed booking.
    missed_after_s: float = 60.0
    #: Append missed bookings as JSON Lines here (for the backfill workflow).
    missed: Path | None = None
    #: How many recent events ``GET /_sandbox/events`` can return.
    keep_events: int = 10_000
    #: Idle keep-alive connections are closed after this many seconds.
    idle_timeout_s: float = 30.0
    #: Accept ``Origin: null`` (pages opened from file://, sandboxed iframes) on ``POST /pwa/events``.
    allow_file_origin: bool = False
    #: ``GET /_sandbox/stream`` clients served at once (more get 429).
    max_stream_clients: int = 32
    #: Seconds between ``: keepalive`` comments on an idle stream.
    stream_keepalive_s: float = 15.0

    def __post_init__(self) -> None:
        if self.latency_ms < 0 or math.isnan(self.latency_ms):
            raise _setting("latency_ms", f"{self.latency_ms} must be 0 or more milliseconds")
        if self.rate_limit is not None and not self.rate_limit > 0:
            raise _setting("rate_limit", f"{self.rate_limit} must be more than 0 requests per second")
        if self.rate_burst is not None and not self.rate_burst >= 1:
            raise _setting("rate_burst", f"{self.rate_burst} must be at least 1")
        if not self.missed_after_s > 0:
            raise _setting("missed_after_s", f"{self.missed_after_s} must be more than 0 seconds")
        if not 0 <= self.port <= 65535:
            raise _setting("port", f"{self.port} is not a TCP port", hint="use 0 for any free port")
        # Parse now so a bad plan fails before anything listens.
        self.fault_plan: tuple[Fault, ...] = parse_faults(self.faults, fail_rate=self.fail_rate)
