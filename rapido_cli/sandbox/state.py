"""The sandbox's memory: idempotency, counters, recent events, the store file, the rate limiter,
the fault draws and the PWA/server correlation. Every class here is thread-safe; none does I/O
on the network.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

import orjson

from rapido_cli.errors import LocalIOError, UsageError
from rapido_cli.fs import open_private
from rapido_cli.sandbox.config import Fault, SandboxEvent
from rapido_cli.text import iso_utc


def retry_after_seconds(wait: float) -> int:
    """``Retry-After`` is whole seconds; never 0, so a client always waits."""
    return max(1, math.ceil(wait))


class FaultInjector:
    """One uniform draw per request, mapped onto the plan's slices; seeded for repeatable tests."""

    def __init__(self, plan: tuple[Fault, ...], seed: int | None) -> None:
        self.plan = plan
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> Fault | None:
        """The fault for this request, or None (most of the time)."""
        if not self.plan:
            return None
        with self._lock:
            u = self._rng.random()
        edge = 0.0
        for fault in self.plan:
            edge += fault.probability
            if u < edge:
                return fault
        return None


class JsonlWriter:
    """Append-only JSON Lines file, one flushed line per record (a crash loses at most one)."""

    def __init__(self, path: Path, *, option: str = "--store") -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Booking data: private (0600), never through a symbolic link, regular files only.
            self._fh: IO[bytes] | None = cast("IO[bytes]", open_private(path, "a", binary=True))
        except OSError as exc:
            raise UsageError(
                f"{option} {path}: cannot open for appending: {exc.strerror or exc}",
                hint="give a writable file path",
            ) from None
        except LocalIOError as exc:
            raise UsageError(f"{option} {exc.message}", hint="give the path of a regular file you can write") from None
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        """Append one record."""
        line = orjson.dumps(record, default=str) + b"\n"
        with self._lock:
            if self._fh is not None:
                self._fh.write(line)
                self._fh.flush()

    def close(self) -> None:
        """Close the file; later writes are ignored."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


#: How many event ids the sandbox remembers for idempotent answers (about 380 bytes each); the
#: oldest are forgotten first, like a real server's idempotency window.
MAX_ANSWERS = 1_000_000


class Ledger:
    """Idempotency answers, counters and the recent-event window."""

    def __init__(self, keep: int, store: JsonlWriter | None, max_answers: int = MAX_ANSWERS) -> None:
        self._lock = threading.Lock()
        self._max_answers = max_answers
        # (client id, event id) -> (content hash, requestId, timestamp): a repeat gets the same
        # answer, rebuilt from these (compact: a long replay keeps millions of them).
        self._answers: dict[tuple[str, str], tuple[bytes, str, str]] = {}
        self._recent: deque[SandboxEvent] = deque(maxlen=keep)
        self._seq = 0
        #: Notified on every recorded event (and by ``wake``): stream clients wait on it.
        self.changed = threading.Condition(self._lock)
        self._by_verdict: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._by_flow: Counter[str] = Counter()
        self._started = time.monotonic()
        self._started_at = datetime.now(UTC)
        self._first: float | None = None
        self._last: float | None = None
        self.store = store

    def lookup(self, key: tuple[str, str]) -> tuple[bytes, str, str] | None:
        """``(content hash, requestId, timestamp)`` of an event id already accepted, if any."""
        with self._lock:
            return self._answers.get(key)

    def remember(self, key: tuple[str, str], answer: tuple[bytes, str, str]) -> tuple[bytes, str, str]:
        """Keep the answer for ``key`` unless a concurrent request stored one first; return the winner."""
        with self._lock:
            kept = self._answers.setdefault(key, answer)
            if len(self._answers) > self._max_answers:
                del self._answers[next(iter(self._answers))]  # dicts keep insertion order: the oldest
            return kept

    def record(self, ev: SandboxEvent) -> None:
        """Count one event, keep it in the window and append it to the store."""
        with self._lock:
            self._seq += 1
            ev.seq = self._seq
            self._recent.append(ev)
            self._by_verdict[ev.verdict] += 1
            self._by_flow[ev.flow] += 1
            if ev.status is not None:
                self._by_status[str(ev.status)] += 1
            now = time.monotonic()
            if self._first is None:
                self._first = now
            self._last = now
            self.changed.notify_all()  # cheap with nobody waiting
        if self.store is not None:
            self.store.write(ev.to_dict(aliases=False))

    def events(
        self, *, flow: str | None = None, verdict: str | None = None, since: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Recent events in arrival order, filtered; ``since`` is the last ``seq`` already seen."""
        with self._lock:
            items = [
                e
                for e in self._recent
                if e.seq > since and (flow is None or e.flow == flow) and (verdict is None or e.verdict == verdict)
            ]
        return [e.to_dict() for e in items[-limit:]] if limit > 0 else []

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the newest event recorded (0 before the first)."""
        with self._lock:
            return self._seq

    def cursor_for_last(self, n: int) -> int:
        """The ``seq`` just before the last ``n`` events still kept (so ``after`` returns those)."""
        with self._lock:
            if n <= 0 or not self._recent:
                return self._seq
            kept = len(self._recent)
            return self._recent[max(0, kept - n)].seq - 1

    def after(self, cursor: int, limit: int = 1000) -> tuple[list[SandboxEvent], int]:
        """Up to ``limit`` kept events with ``seq > cursor``, oldest first, and the newest ``seq``.

        Costs the new events only. With none returned, every event up to the newest ``seq`` is
        already sent or no longer kept, so a reader can move its cursor there.
        """
        newer: list[SandboxEvent] = []
        with self._lock:
            newest = self._seq
            for e in reversed(self._recent):
                if e.seq <= cursor:
                    break
                newer.append(e)
        newer.reverse()
        return newer[:limit], newest

    def wait_after(self, cursor: int, timeout: float, stop: threading.Event | None = None) -> bool:
        """Wait until an event newer than ``cursor`` is recorded (True) or ``timeout`` passes (False)."""
        with self.changed:
            return self.changed.wait_for(
                lambda: self._seq > cursor or (stop is not None and stop.is_set()), timeout=timeout
            )

    def wake(self) -> None:
        """Wake every waiter (on stop)."""
        with self.changed:
            self.changed.notify_all()

    def stats(self) -> dict[str, Any]:
        """Counters since start (or the last reset)."""
        with self._lock:
            busy = (self._last - self._first) if self._first is not None and self._last is not None else 0.0
            total = sum(self._by_flow.values())
            return {
                "started_at": iso_utc(self._started_at),
                "uptime_s": round(time.monotonic() - self._started, 3),
                "total": total,
                "by_flow": dict(self._by_flow),
                "by_verdict": dict(self._by_verdict),
                "by_status": dict(self._by_status),
                "idempotency_keys": len(self._answers),
                "events_per_s": round(total / busy, 1) if busy > 0 else None,
                "last_seq": self._seq,
            }

    def reset(self) -> None:
        """Forget everything (the store file is kept: it is append-only)."""
        with self._lock:
            self._answers.clear()
            self._recent.clear()
            self._by_verdict.clear()
            self._by_status.clear()
            self._by_flow.clear()
            self._first = self._last = None
            self._started = time.monotonic()
            self._started_at = datetime.now(UTC)


class Correlator:
    """Matches PWA ``booking_completed`` (``booking_id``) with server ``order.*`` (``attributes.orderId``).

    A booking completed in the PWA with no accepted server event within ``window`` seconds is a
    missed booking: the partner's backend never told Rapido about it.
    """

    def __init__(self, window: float, sink: JsonlWriter | None) -> None:
        self.window = window
        self.sink = sink
        self._lock = threading.Lock()
        self._server_orders: dict[str, datetime] = {}
        # booking id -> (PWA arrival, monotonic deadline, properties)
        self._pending: dict[str, tuple[datetime, float, dict[str, Any]]] = {}
        self._matched: dict[str, dict[str, Any]] = {}
        self._missed: dict[str, dict[str, Any]] = {}

    def pwa_booking(self, booking_id: str, at: datetime, properties: dict[str, Any]) -> str:
        """A PWA ``booking_completed``; returns ``matched`` or ``pending``."""
        with self._lock:
            server_at = self._server_orders.get(booking_id)
            if server_at is not None:
                self._matched[booking_id] = {
                    "booking_id": booking_id,
                    "pwa_at": iso_utc(at),
                    "server_at": iso_utc(server_at),
                }
                return "matched"
            if booking_id not in self._pending and booking_id not in self._missed:
                self._pending[booking_id] = (at, time.monotonic() + self.window, properties)
            return "pending"

    def server_order(self, order_id: str, at: datetime) -> str | None:
        """An accepted server ``order.*``; returns ``matched``/``late`` when it closes a PWA booking."""
        with self._lock:
            self._server_orders.setdefault(order_id, at)
            pending = self._pending.pop(order_id, None)
            if pending is not None:
                self._matched[order_id] = {
                    "booking_id": order_id,
                    "pwa_at": iso_utc(pending[0]),
                    "server_at": iso_utc(at),
                }
                return "matched"
            missed = self._missed.get(order_id)
            if missed is not None and "late_server_at" not in missed:
                missed["late_server_at"] = iso_utc(at)
                return "late"
        return None

    def sweep(self, *, now: float | None = None) -> list[dict[str, Any]]:
        """Turn pending bookings past their window into missed ones; return the new ones."""
        now = time.monotonic() if now is None else now
        found: list[dict[str, Any]] = []
        with self._lock:
            for booking_id, (at, deadline, props) in list(self._pending.items()):
                if deadline > now:
                    continue
                del self._pending[booking_id]
                record = missed_record(booking_id, at, self.window, props)
                self._missed[booking_id] = record
                found.append(record)
        if self.sink is not None:
            for record in found:
                self.sink.write(record)
        return found

    def missed(self) -> list[dict[str, Any]]:
        """Every missed booking so far (a late server event is noted, not removed)."""
        with self._lock:
            return [dict(r) for r in self._missed.values()]

    def summary(self) -> dict[str, int]:
        """Counts for ``/_sandbox/stats``."""
        with self._lock:
            return {
                "pending": len(self._pending),
                "matched": len(self._matched),
                "missed": len(self._missed),
                "server_orders": len(self._server_orders),
            }

    def reset(self) -> None:
        """Forget every booking."""
        with self._lock:
            self._server_orders.clear()
            self._pending.clear()
            self._matched.clear()
            self._missed.clear()


def missed_record(booking_id: str, at: datetime, window: float, props: dict[str, Any]) -> dict[str, Any]:
    """One missed booking, with what the PWA knew, named like ``rapido build`` columns where they map."""
    amount = props.get("final_price")
    return {
        "order_id": booking_id,
        "amount": amount if isinstance(amount, int | float) and not isinstance(amount, bool) else None,
        "pwa_completed_at": iso_utc(at),
        "reported_at": iso_utc(datetime.now(UTC)),
        "window_s": window,
        "reason": f"no accepted server order.* event with attributes.orderId={booking_id!r} "
        f"within {window:g}s of the PWA booking_completed",
        "session_id": props.get("session_id"),
        "pwa_properties": props,
    }


def now_utc() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)
