"""Pacing: a fixed ceiling (token bucket) and an adaptive rate in the manner of botocore's adaptive mode.

:class:`RateLimiter` is the one token bucket of the program: replay's workers wait on it
(:meth:`~RateLimiter.acquire`) and the sandbox refuses with 429 when it is empty
(:meth:`~RateLimiter.take`). It paces at ``rate`` per second (``None`` = unlimited). The adaptive
controller (:class:`AdaptiveRate`) changes that rate: on a 429 it cuts it to ``beta`` times the
goodput of the last second, then grows it back along a cubic curve (CUBIC congestion control,
as botocore does), so it spends most of its time just under the server's limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Paces callers to ``rate`` per second (thread-safe); a small burst lets threads start together."""

    def __init__(
        self,
        rate: float | None,
        *,
        burst: float = 1.0,
        full: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._rate = rate
        self._burst = max(1.0, burst)
        # The theoretical time of the next free slot (GCRA); ``full`` starts with the whole burst saved up.
        self._next = clock() - ((self._burst - 1) / rate if full and rate else 0.0)

    @property
    def burst(self) -> float:
        """Slots that can be saved up while idle."""
        return self._burst

    def _start(self, now: float, interval: float) -> float:
        # Unused slots are kept for at most `burst` intervals: idle time is not a licence to flood.
        return max(self._next, now - (self._burst - 1) * interval)

    def take(self) -> tuple[bool, float, float]:
        """Take a slot without waiting: ``(allowed, slots_left, seconds_until_the_next_one)``."""
        with self._lock:
            rate = self._rate
            if rate is None or rate <= 0:
                return True, self._burst, 0.0
            now = self._clock()
            interval = 1.0 / rate
            start = self._start(now, interval)
            if start > now:
                return False, max(0.0, 1.0 - (start - now) / interval), start - now
            self._next = start + interval
            return True, max(0.0, min(self._burst, (now - self._next) / interval + 1.0)), 0.0

    def peek(self) -> float:
        """Slots available now, without taking one."""
        with self._lock:
            rate = self._rate
            if rate is None or rate <= 0:
                return self._burst
            now = self._clock()
            interval = 1.0 / rate
            return max(0.0, min(self._burst, (now - self._start(now, interval)) / interval + 1.0))

    def seconds_to_full(self) -> float:
        """How long until the whole burst is saved up again (for ``RateLimit-Reset``)."""
        with self._lock:
            rate = self._rate
            if rate is None or rate <= 0:
                return 0.0
            return max(0.0, self._next + (self._burst - 1) / rate - self._clock())

    @property
    def rate(self) -> float | None:
        """The current rate (None: unlimited)."""
        return self._rate

    def set_rate(self, rate: float | None) -> None:
        """Change the rate; takes effect for the next caller."""
        with self._lock:
            self._rate = rate

    def reserve(self) -> float:
        """Take a slot; return how long the caller must wait before using it (0 when free)."""
        with self._lock:
            rate = self._rate
            if rate is None or rate <= 0:
                return 0.0
            now = self._clock()
            interval = 1.0 / rate
            start = self._start(now, interval)
            self._next = start + interval
            return max(0.0, start - now)

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait for a slot; False when ``stop`` was set while waiting."""
        wait = self.reserve()
        if wait <= 0:
            return not (stop is not None and stop.is_set())
        if stop is None:
            time.sleep(wait)
            return True
        return not stop.wait(wait)


class AdaptiveRate:
    """Adjusts a :class:`RateLimiter` from what the server says.

    * Unlimited (or at ``ceiling``) until the first 429.
    * On a 429 to a request sent more than ``settle_s`` after the last cut: ``w_max`` = min(current
      rate, acknowledged requests in the last second); the rate becomes ``beta * w_max``. Throttles
      of requests sent before (or just after) the cut were caused by the old rate and are not
      punished twice.
    * Otherwise the rate grows as ``C * (t - K)**3 + w_max`` (``t`` since the cut,
      ``K = cbrt(w_max * (1 - beta) / C)``): quick recovery, a plateau near the old maximum,
      then probing beyond it.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        ceiling: float | None = None,
        beta: float = 0.9,
        c: float = 0.4,
        min_rate: float = 0.5,
        settle_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limiter = limiter
        self.ceiling = ceiling
        self.beta = beta
        self.c = c
        self.min_rate = min_rate
        self.settle_s = settle_s
        self._clock = clock
        self._lock = threading.Lock()
        self._acks: deque[float] = deque()
        self._w_max = 0.0
        self._cut_at: float | None = None
        self._k = 0.0
        self.cuts = 0
        limiter.set_rate(ceiling)

    def _goodput(self, now: float) -> float:
        while self._acks and self._acks[0] < now - 1.0:
            self._acks.popleft()
        return float(len(self._acks))

    def on_success(self, sent_at: float) -> None:
        """An acknowledged request (``sent_at`` from the same clock)."""
        with self._lock:
            now = self._clock()
            self._acks.append(now)
            self._goodput(now)
            if self._cut_at is not None:
                t = now - self._cut_at
                rate = self.c * (t - self._k) ** 3 + self._w_max
                if self.ceiling is not None:
                    rate = min(rate, self.ceiling)
                self.limiter.set_rate(max(self.min_rate, rate))

    def on_throttle(self, sent_at: float) -> None:
        """A 429 to a request started at ``sent_at``."""
        with self._lock:
            now = self._clock()
            # Requests sent just after a cut were paced (or queued) at the old rate: give the cut
            # time to show before judging it, so one overload episode costs one cut.
            if self._cut_at is not None and sent_at < self._cut_at + self.settle_s:
                return
            current = self.limiter.rate
            measured = max(self.min_rate, self._goodput(now))
            w_max = measured if current is None else min(current, measured)
            self._w_max = w_max
            self._cut_at = now
            self._k = math.copysign(abs(w_max * (1 - self.beta) / self.c) ** (1 / 3), w_max * (1 - self.beta))
            self.limiter.set_rate(max(self.min_rate, w_max * self.beta))
            self.cuts += 1
