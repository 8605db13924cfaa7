"""Calls that must not hang: a locked keyring, a resolver that never answers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def call_with_timeout(fn: Callable[[], T], timeout: float, *, name: str = "rapido-deadline") -> T:
    """Run ``fn()`` in a daemon thread and return its result, re-raising its exception.

    Raise :class:`TimeoutError` when it has not finished within ``timeout`` seconds; the thread is
    abandoned (it dies with the process) rather than waited for, since what it waits on (an unlock
    prompt nobody will answer in a cron job, ``getaddrinfo``) has no deadline of its own.
    """
    box: dict[str, object] = {}

    def runner() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=runner, daemon=True, name=name)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
