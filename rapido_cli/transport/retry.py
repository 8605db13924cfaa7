"""The one retry loop: full-jitter backoff, ``Retry-After`` honoured (capped), hooks for the replay engine.

:func:`deliver` sends one body through a :class:`Sender` until it is delivered, fails for good, runs
out of attempts, or is stopped. ``rapido send`` calls it with no hooks; the replay engine passes its
stop event, its rate limiter (``before_attempt``) and a callback per attempt.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rapido_cli.transport.answer import Attempt, classify

Outcome = Literal["sent", "rejected", "unauthorized", "untrusted", "config", "failed", "interrupted"]

#: ``Retry-After`` is honoured up to this many seconds by default.
RETRY_AFTER_CAP_S = 120.0

_DELTA = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,6})?", re.ASCII)


class Sender(Protocol):
    """One POST of a body; network problems become ``Attempt.error``/``failure``, never exceptions."""

    def attempt(self, body: bytes, number: int) -> Attempt: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Backoff is full jitter: uniform(0, min(cap, base * 2**(n-1)))."""

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    retry_after_cap: float = RETRY_AFTER_CAP_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str], max_attempts: int) -> RetryPolicy:
        """The policy for ``max_attempts``, with ``RAPIDO_BACKOFF_BASE``/``_CAP`` (seconds) when set."""
        base = _env_seconds(environ, "RAPIDO_BACKOFF_BASE", cls.base)
        cap = _env_seconds(environ, "RAPIDO_BACKOFF_CAP", cls.cap)
        return cls(max_attempts=max_attempts, base=base, cap=cap)

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        r = rng or random
        exp = min(attempt - 1, 60)
        return r.uniform(0, min(self.cap, self.base * (2**exp)))

    def wait_after(self, att: Attempt, rng: random.Random | None = None) -> float:
        """The wait before the next attempt: the backoff, or the server's Retry-After when longer (capped)."""
        wait = self.backoff(att.number, rng)
        if att.retry_after is not None:
            wait = max(wait, min(att.retry_after, self.retry_after_cap))
        return wait



def _env_seconds(environ: Mapping[str, str], var: str, default: float) -> float:
    """``var`` as a finite number of seconds >= 0 (``default`` when unset); ConfigError naming it otherwise."""
    raw = environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (0 <= value < math.inf):  # nan/inf would make a wait fail or last forever
        from rapido_cli.errors import ConfigError
        from rapido_cli.text import inert

        raise ConfigError(
            f"{var}='{inert(raw, limit=40)}' is not a number of seconds", hint=f"e.g. {var}={default:g}, or unset it"
        )
    return value

def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds, from either form (delta-seconds or HTTP-date); None when absent or unusable.

    Anything odd (``²``, a negative number, garbage, a date that cannot be) is ignored rather than
    trusted; a date in the past means 0. The caller caps what it honours.
    """
    if not value or len(value) > 100:
        return None
    value = value.strip()
    if _DELTA.fullmatch(value):
        return float(value)
    if not any(c.isalpha() for c in value):
        return None  # "-5", "1e9", "²": not a delta-seconds, not a date
    try:
        when = email.utils.parsedate_to_datetime(value)
        stamp = when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, AttributeError):
        return None
    return max(0.0, stamp - (time.time() if now is None else now))


@dataclass
class Delivery:
    """What happened to one body over all its attempts."""

    outcome: Outcome
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def last(self) -> Attempt | None:
        """The last attempt made (None when stopped before the first)."""
        return self.attempts[-1] if self.attempts else None

    @property
    def failure(self) -> str | None:
        """The precise reason of a final failure (``Attempt.failure``), ``interrupted``, or None when sent."""
        if self.outcome == "sent":
            return None
        if self.outcome == "interrupted":
            return "interrupted"
        return self.last.failure if self.last is not None else None


def deliver(
    sender: Sender,
    body: bytes,
    policy: RetryPolicy,
    *,
    max_attempts: int | None = None,
    stop: threading.Event | None = None,
    before_attempt: Callable[[], bool] | None = None,
    on_attempt: Callable[[Attempt, bool], None] | None = None,
    sleep: Callable[[float], None] | None = None,
    rng: random.Random | None = None,
) -> Delivery:
    """Send ``body`` until delivered, refused for good, out of attempts, or stopped.

    ``stop`` (set from another thread or a signal handler) ends the loop before the next attempt
    and cuts a wait short. ``before_attempt()`` is called before every attempt (a rate limiter);
    returning False stops. ``on_attempt(att, final)`` sees each attempt, with ``att.wait_s`` set
    when another follows. The outcome is ``interrupted`` when stopped before the event was judged.
    """
    limit = max_attempts or policy.max_attempts
    result = Delivery("interrupted")
    for number in range(1, limit + 1):
        if stop is not None and stop.is_set():
            break
        if before_attempt is not None and not before_attempt():
            break
        att = sender.attempt(body, number)
        result.attempts.append(att)
        verdict = classify(att)
        final = verdict != "retry" or number == limit
        if not final:
            att.wait_s = policy.wait_after(att, rng)
        if on_attempt is not None:
            on_attempt(att, final)
        if verdict == "ok":
            result.outcome = "sent"
            return result
        if verdict != "retry":
            result.outcome = verdict
            return result
        if number == limit:
            result.outcome = "failed"
            return result
        if stop is not None:
            if stop.wait(att.wait_s):
                break
        else:
            (sleep or time.sleep)(att.wait_s)
    return result


__all__ = ["RETRY_AFTER_CAP_S", "Delivery", "Outcome", "RetryPolicy", "Sender", "deliver", "parse_retry_after"]
