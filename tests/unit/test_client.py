"""The HTTP client as a library, against a real loopback server."""

from __future__ import annotations

import random
import time
from email.utils import formatdate

import pytest
from httpserver import Reply, ScriptedServer, error_body, ok_body
from hypothesis import given
from hypothesis import strategies as st

from rapido_cli.profiles import Secret, Target
from rapido_cli.transport import EventClient, RetryPolicy, parse_retry_after

EVENT = {"userId": "u", "event": {"type": "order.confirmed", "id": "evt_1"}, "attributes": {}, "schemaVersion": 1}


def target(url: str, **kw) -> Target:
    return Target(url, "cid", "app", "hotels", Secret("super-secret-key-42"), **kw)


def test_retry_after_both_forms():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(formatdate(time.time() + 30, usegmt=True)) == pytest.approx(30, abs=1.5)
    assert parse_retry_after(formatdate(time.time() - 30, usegmt=True)) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@given(attempt=st.integers(1, 30), base=st.floats(0.01, 5), cap=st.floats(0.01, 60))
def test_full_jitter_stays_within_bounds(attempt: int, base: float, cap: float):
    wait = RetryPolicy(base=base, cap=cap).backoff(attempt, random.Random(attempt))
    assert 0 <= wait <= min(cap, base * 2 ** (attempt - 1))


def test_library_send_retries_then_reports(tmp_path):
    sleeps: list[float] = []
    with (
        ScriptedServer([Reply(503, None, {"Retry-After": "7"}), Reply(200, ok_body("req_ok"))]) as srv,
        EventClient(target(srv.url), retry=RetryPolicy(max_attempts=3, base=0.01, cap=0.02),
                    sleep=sleeps.append) as client,
    ):
        result = client.send(EVENT)
    assert result.ok and result.request_id == "req_ok" and len(result.attempts) == 2
    assert sleeps == [7.0]  # Retry-After wins over a shorter backoff
    assert srv.requests[0].headers["authorization"] == "super-secret-key-42"
    assert srv.requests[0].headers["x-client-service"] == "hotels"


def test_retry_after_is_capped():
    sleeps: list[float] = []
    with (
        ScriptedServer([Reply(429, None, {"Retry-After": "100000"}), Reply(200, ok_body())]) as srv,
        EventClient(target(srv.url), retry=RetryPolicy(max_attempts=2, retry_after_cap=5),
                    sleep=sleeps.append) as client,
    ):
        assert client.send(EVENT).ok
    assert sleeps == [5]


def test_2xx_with_success_false_is_unconfirmed_not_sent():
    # Only 200 + {"success": true, "code": 7000} is an acknowledgement; any other 2xx is configuration.
    with (
        ScriptedServer([Reply(200, error_body(7001, "nope", {"userId": "unknown user"}))]) as srv,
        EventClient(target(srv.url)) as client,
    ):
        result = client.send(EVENT)
    assert result.outcome == "config" and result.failure == "unconfirmed" and not result.ok
    assert result.exit_code == 3 and len(result.attempts) == 1
    assert "not an acknowledgement" in (result.message or "") and result.details == {"userId": "unknown user"}


def test_secret_never_shows_itself():
    s = Secret("super-secret-key-42")
    assert "super" not in repr(s) and "super" not in str(s) and "super" not in f"{s}"
    assert str(s) == "****y-42"
    assert Secret("short").masked() == "****"
    t = target("http://127.0.0.1:1")
    assert "super-secret" not in repr(t)
