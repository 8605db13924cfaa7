"""A circuit breaker that ends a replay early when the endpoint is clearly down.

Every attempt of every worker feeds it (:meth:`Breaker.record`): a *failure* is an answer that says
nothing reached a working server (connection refused or reset, a timeout, HTTP 5xx, 499, 408); a
*sign of life* is any other answer (2xx, a 4xx judgement, a 429: a throttling server is up, the
adaptive rate handles it). Three states:

* **closed**: attempts flow freely.
* **suspect**: ``threshold`` failures in a row, across workers, with no sign of life. Attempts are
  then let through one at a time, one every ``probe_every_s`` (:meth:`Breaker.before_attempt`
  waits for the slot), so a dead server costs a handful of requests, not a file's worth. A sign
  of life closes it again.
* **open** (tripped): still failing ``window_s`` after the first failure of the run of failures
  (measured from when that attempt started, so a black hole that times out trips as soon as the
  timeouts come back). The run stops taking lines; the rest stays pending for the next run.

A server failing a third of its requests at random almost never shows ``threshold`` failures in a
row ((1/3)**8 ≈ 0.00015), and when it does, the next probe lives: it is not an outage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

Signal = Literal["failure", "alive"]

#: HTTP statuses that mean "no working server behind this address right now".
DOWN_STATUSES = frozenset({408, 499, 500, 502, 503, 504})


def signal_of(status: int | None, error: str | None = None, *, verdict: str | None = None) -> Signal | None:
    """What one attempt tells the breaker: ``failure``, ``alive`` or None (nothing: e.g. a TLS problem)."""
    if verdict in ("unauthorized", "untrusted", "config"):
        return None  # configuration: the run stops for that reason, not as an outage
    if status is None:
        return "failure" if error is not None or verdict == "retry" else None
    if status in DOWN_STATUSES or status >= 500:
        return "failure"
    return "alive"


class Breaker:
    """Thread-safe circuit breaker (see the module docstring). ``tripped`` is an Event."""

    def __init__(
        self,
        *,
        threshold: int = 8,
        window_s: float = 2.5,
        probe_every_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.threshold = max(1, threshold)
        self.window_s = window_s
        self.probe_every_s = probe_every_s
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._streak = 0
        self._streak_start: float | None = None  # monotonic start of the first failed attempt
        self.since: float | None = None  # wall clock of the same, for messages
        self.last_error: str | None = None
        self._next_probe = 0.0
        self.tripped = threading.Event()
        self.failures = 0
        self.probes = 0

    @property
    def suspect(self) -> bool:
        """True while enough failures in a row have been seen to hold new attempts back."""
        return self._streak >= self.threshold and not self.tripped.is_set()

    def before_attempt(self, stop: threading.Event | None = None) -> bool:
        """Wait for the right to make one attempt; False when tripped (or ``stop`` set) meanwhile."""
        if self._streak < self.threshold and not self.tripped.is_set():
            return not (stop is not None and stop.is_set())  # closed: no lock on the hot path
        while True:
            if self.tripped.is_set() or (stop is not None and stop.is_set()):
                return False
            with self._lock:
                if self._streak < self.threshold:
                    return True
                now = self._clock()
                if now >= self._next_probe:
                    self._next_probe = now + self.probe_every_s
                    self.probes += 1
                    return True
                wait = self._next_probe - now
            # Woken early by a trip or a stop; otherwise try the slot again.
            if stop is not None:
                if stop.wait(min(wait, 0.05)):
                    return False
            elif self.tripped.wait(min(wait, 0.05)):
                return False

    def record(self, signal: Signal | None, started_at: float, error: str | None = None) -> bool:
        """Feed one attempt (``started_at`` on the breaker's clock); True when this one tripped it."""
        if signal is None or (signal == "alive" and self._streak == 0):
            return False  # nothing to change: no lock on the hot path
        with self._lock:
            if signal == "alive":
                self._streak = 0
                self._streak_start = None
                self.since = None
                return False
            self.failures += 1
            self.last_error = error
            if self._streak == 0:
                self._streak_start = started_at
                self.since = self._wall() - (self._clock() - started_at)
            else:
                assert self._streak_start is not None
                if started_at < self._streak_start:
                    # Attempts finish out of order across workers: the run of failures began with
                    # the earliest one started.
                    self.since = (self.since or self._wall()) - (self._streak_start - started_at)
                    self._streak_start = started_at
            self._streak += 1
            if self._streak == self.threshold:
                self._next_probe = self._clock() + self.probe_every_s
            if self.tripped.is_set():
                return False
            assert self._streak_start is not None
            if self._streak >= self.threshold and self._clock() - self._streak_start >= self.window_s:
                self.tripped.set()
                return True
            return False


__all__ = ["DOWN_STATUSES", "Breaker", "Signal", "signal_of"]
