"""Outages end a run early: the circuit breaker, --max-duration, --fail-fast and the exit precedence.

Real loopback servers (bench/_counting.py): all-503, a closed port, a flaky server, all-429.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from _counting import CountingServer
from _events import write_events
from httpserver import Reply, ScriptedServer, ok_body

from rapido_cli.errors import ExitCode
from rapido_cli.journal import Journal
from rapido_cli.profiles import Secret, Target
from rapido_cli.replay import LineResult, Replayer, ReplayOptions, Summary
from rapido_cli.replay.breaker import Breaker, signal_of
from rapido_cli.transport import RetryPolicy

KEY = "sk_test_SECRET_abcd1234WXYZ"
FAST = RetryPolicy(max_attempts=5, base=0.01, cap=0.05, retry_after_cap=0.05)


def target(url: str) -> Target:
    return Target(url, "acme-travel", "acme-pwa", "flights", Secret(KEY), timeout=5.0)


def run(url: str, path: Path, journal: Journal | None = None, results: list[LineResult] | None = None,
        **opts: Any) -> Summary:
    opts.setdefault("retry", FAST)
    opts.setdefault("max_attempts", FAST.max_attempts)
    opts.setdefault("outage_window_s", 0.8)
    replayer = Replayer(
        target(url), ReplayOptions(**opts), journal=journal, on_result=None if results is None else results.append
    )
    with open(path, "rb") as fh:
        return replayer.run(fh, str(path))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- the breaker alone


def test_breaker_trips_only_on_sustained_failure() -> None:
    now = [100.0]
    b = Breaker(threshold=3, window_s=2.0, probe_every_s=0.5, clock=lambda: now[0], wall=lambda: 1000.0 + now[0])
    assert b.before_attempt()
    for _ in range(3):
        assert not b.record("failure", now[0])
    assert b.suspect and not b.tripped.is_set()
    # suspect: one probe per interval
    now[0] += 0.5
    assert b.before_attempt() and b.probes == 1
    now[0] += 0.5
    assert not b.record("failure", now[0])  # still inside the window
    b.record("alive", now[0])  # a sign of life closes it
    assert not b.suspect
    for _ in range(3):
        b.record("failure", now[0])
    start = now[0]
    now[0] += 2.5
    assert b.record("failure", now[0])  # 2.5 s of failures in a row: an outage
    assert b.tripped.is_set() and b.since == pytest.approx(1000.0 + start)
    assert not b.before_attempt()


def test_breaker_signals() -> None:
    assert signal_of(503, None) == "failure" and signal_of(None, "connection refused") == "failure"
    assert signal_of(500, None) == "failure" and signal_of(499, None) == "failure"
    assert signal_of(429, None) == "alive"  # throttling: the adaptive rate's business
    assert signal_of(200, None) == "alive" and signal_of(422, None) == "alive"
    assert signal_of(401, None, verdict="unauthorized") is None
    assert signal_of(None, "TLS", verdict="untrusted") is None and signal_of(302, None, verdict="config") is None


def test_breaker_random_third_of_failures_is_not_an_outage() -> None:
    import random

    rng = random.Random(5)
    now = [0.0]
    b = Breaker(clock=lambda: now[0])
    for _ in range(50_000):
        now[0] += 0.002
        b.record("failure" if rng.random() < 1 / 3 else "alive", now[0])
    assert not b.tripped.is_set()


# ---------------------------------------------------------------- the engine


@pytest.mark.parametrize("down", ["503", pytest.param("closed", marks=pytest.mark.slow)])  # 2.5 s each
def test_outage_stops_early_leaves_the_rest_pending_and_the_next_run_resumes(tmp_path: Path, down: str) -> None:
    n = 1000
    f = write_events(tmp_path / "e.jsonl", n)
    dead = tmp_path / "dead.jsonl"
    srv = CountingServer("503")
    if down == "closed":
        srv.close_port()
    try:
        with Journal(tmp_path / "j.sqlite3") as j:
            t0 = time.monotonic()
            s = run(srv.url, f, j, concurrency=8, dead_letter=dead)
            took = time.monotonic() - t0
            assert s.stopped == "outage" and s.exit_code == ExitCode.TEMPFAIL
            assert took < 10
            assert srv.requests <= n // 10  # at most ~10% of the file reached the dead server
            assert s.sent == 0 and s.outage_since is not None and s.outage_error
            # every event is accounted for: failed, abandoned or never attempted
            assert s.total == n and s.failed + s.not_attempted == n and s.not_attempted >= n - 60
            # the dead-letter file holds everything this run did not deliver
            assert len(dead.read_bytes().splitlines()) == n
            srv.mode = "ok"
            srv.reopen()
            s2 = run(srv.url, f, j, concurrency=8)
            assert s2.exit_code == ExitCode.OK and s2.sent == n and s2.stopped is None
            assert len(srv.accepted) == n and srv.duplicates() == 0
            assert j.counts() == {"sent": n}
    finally:
        srv.close_port()


def test_flaky_server_is_not_an_outage(tmp_path: Path) -> None:
    n = 600
    f = write_events(tmp_path / "e.jsonl", n)
    with CountingServer("flaky", seed=3) as srv:
        # ten attempts: (1/3)**10 per event, so nothing is left undelivered by chance
        s = run(srv.url, f, concurrency=8, max_attempts=10, outage_window_s=2.5)
        assert s.stopped is None and s.exit_code == ExitCode.OK, s.to_json()
        assert s.sent == n and len(srv.accepted) == n
        assert srv.by_mode["503"] > n // 5  # it really was failing a third of the time


def test_throttling_is_not_an_outage(tmp_path: Path) -> None:
    f = write_events(tmp_path / "e.jsonl", 40)
    with CountingServer("429") as srv:
        s = run(srv.url, f, concurrency=4, max_attempts=3, outage_window_s=0.2)
        assert s.stopped is None and s.throttled == 120
        assert s.temporary == 40 and s.exit_code == ExitCode.TEMPFAIL


def test_max_duration_leaves_the_rest_pending(tmp_path: Path) -> None:
    n = 400
    f = write_events(tmp_path / "e.jsonl", n)
    dead = tmp_path / "dead.jsonl"
    with CountingServer("ok", delay=0.01) as srv, Journal(tmp_path / "j.sqlite3") as j:
        t0 = time.monotonic()
        s = run(srv.url, f, j, concurrency=2, max_duration_s=0.5, dead_letter=dead)
        assert time.monotonic() - t0 < 3
        assert s.stopped == "max_duration" and s.exit_code == ExitCode.TEMPFAIL
        assert 0 < s.sent < n and s.sent + s.not_attempted == n
        assert len(dead.read_bytes().splitlines()) == s.not_attempted
        s2 = run(srv.url, f, j, concurrency=4)
        assert s2.exit_code == ExitCode.OK and s2.already_sent == s.sent
        assert len(srv.accepted) == n and srv.duplicates() == 0


def test_max_duration_not_reached_exits_normally(tmp_path: Path) -> None:
    f = write_events(tmp_path / "e.jsonl", 5)
    with CountingServer("ok") as srv:
        s = run(srv.url, f, max_duration_s=30)
        assert s.stopped is None and s.exit_code == ExitCode.OK


@pytest.mark.parametrize(("reply", "code"), [
    (Reply(422, {"success": False, "code": 7001, "error": {"message": "orderId unknown"}}), ExitCode.DATA),
    (Reply(503, {"success": False}), ExitCode.TEMPFAIL),
    (Reply(401, {"success": False}), ExitCode.CONFIG),
])
def test_fail_fast_stops_at_the_first_failed_event(tmp_path: Path, reply: Reply, code: ExitCode) -> None:
    f = write_events(tmp_path / "e.jsonl", 50)
    with ScriptedServer([Reply(200, ok_body())] * 4 + [reply] * 10 + [Reply(200, ok_body())]) as srv:
        s = run(srv.url, f, concurrency=1, max_attempts=2, fail_fast=True, outage_threshold=0)
        assert s.exit_code == code and s.sent == 4
        assert s.stopped in ("fail_fast", "unauthorized")
        assert s.failed == 1 and s.total < 50  # stopped there: the rest was not even read
        assert s.sent + s.failed + s.not_attempted == s.total
        assert len(srv.requests) <= 6


def test_fail_fast_on_an_invalid_line(tmp_path: Path) -> None:
    f = write_events(tmp_path / "e.jsonl", 200, invalid_every=100)
    with CountingServer("ok", delay=0.005) as srv:
        s = run(srv.url, f, concurrency=1, fail_fast=True)
        assert s.exit_code == ExitCode.DATA and s.stopped == "fail_fast" and s.invalid == 1
        assert s.sent < 200 and srv.requests < 200


# ---------------------------------------------------------------- exit precedence


def test_exit_precedence() -> None:
    def code(**kw: Any) -> int:
        s = Summary()
        for k, v in kw.items():
            setattr(s, k, v)
        return int(s.exit_code)

    assert code() == 0
    assert code(invalid=1) == 1
    assert code(invalid=1, temporary=1, failed=1) == 75  # unfinished beats data: the next run reports it again
    assert code(invalid=1, pending=3) == 75
    assert code(invalid=1, temporary=1, failed=2, unauthorized=1) == 3  # config is never masked
    assert code(config=1, pending=10) == 3
    assert code(io_error="disk full", unauthorized=1, invalid=1) == 74
    assert code(io_error="disk full", interrupted=True) == 130
    assert code(fail_fast_code=1, pending=10) == 1  # --fail-fast exits with the class of its event
    assert code(fail_fast_code=1, unauthorized=1) == 3
    assert code(stopped="outage") == 75


# ---------------------------------------------------------------- the real CLI


def test_cli_outage_one_line_and_exit_75(tmp_path: Path, rapido: Any, profile_env: Any) -> None:
    f = write_events(tmp_path / "e.jsonl", 2000)
    port = closed_port()
    env = profile_env(f"http://127.0.0.1:{port}")
    env.update({"XDG_STATE_HOME": str(tmp_path / "state"), "RAPIDO_OUTAGE_WINDOW": "0.5"})
    r = rapido("replay", str(f), env=env)
    assert r.code == 75, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) <= 25, r.stderr
    outage = [x for x in lines if x.startswith("server unreachable since ")]
    assert len(outage) == 1 and "events not attempted" in outage[0] and "the next run resumes" in outage[0]
    assert "Traceback" not in r.stderr
    # -q: the summary in one line, and the outage line
    r = rapido("replay", str(f), "-q", env=env)
    assert r.code == 75
    assert len(r.stdout.splitlines()) == 1 and "(exit 75)" in r.stdout
    assert len(r.stderr.splitlines()) <= 7 and "server unreachable since" in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("down", ["closed", "503"])
def test_cli_10000_events_outage_then_resume_exactly_once(tmp_path: Path, rapido: Any, profile_env: Any,
                                                          down: str) -> None:
    n = 10_000
    f = write_events(tmp_path / "e.jsonl", n)
    srv = CountingServer("503")
    if down == "closed":
        srv.close_port()
    try:
        env = profile_env(srv.url)
        env["XDG_STATE_HOME"] = str(tmp_path / "state")
        env.pop("RAPIDO_BACKOFF_BASE", None)
        t0 = time.monotonic()
        r = rapido("replay", str(f), env={**env, "RAPIDO_BACKOFF_BASE": "0.5", "RAPIDO_BACKOFF_CAP": "30"})
        assert time.monotonic() - t0 <= 30
        assert r.code == 75 and len(r.stderr.splitlines()) <= 25, r.stderr
        assert srv.requests <= n // 10
        srv.mode = "ok"
        srv.reopen()
        r = rapido("replay", str(f), env=env, timeout=300)
        assert r.code == 0, r.stderr
        assert len(srv.accepted) == n and srv.duplicates() == 0
    finally:
        srv.close_port()


def test_cli_quiet_and_non_terminal_cap_problem_lines(tmp_path: Path, rapido: Any, profile_env: Any) -> None:
    f = write_events(tmp_path / "e.jsonl", 300, invalid_every=10)
    with CountingServer("ok") as srv:
        env = profile_env(srv.url)
        env["XDG_STATE_HOME"] = str(tmp_path / "state")
        dead = tmp_path / "dead.jsonl"
        r = rapido("replay", str(f), "-q", "--dead-letter", str(dead), env=env)
        assert r.code == 1
        (line,) = r.stdout.splitlines()
        assert line.startswith(f"replay {f}: 270 sent, 30 invalid of 300 in ") and line.endswith("(exit 1)")
        err = r.stderr.splitlines()
        assert len(err) == 6 and all(": attributes.start_time: " in x for x in err[:5])
        assert err[5].startswith("…and 25 more events with problems; see the dead-letter file ")
        assert "`rapido history --outcome invalid`" in err[5]
        r = rapido("replay", str(f), env=env)  # not a terminal: the first 10, then a count
        assert r.code == 1
        problems = [x for x in r.stderr.splitlines() if ": attributes.start_time: " in x]
        assert len(problems) == 10 and "…and 20 more events with problems" in r.stderr


def test_cli_foreign_text_is_inert(tmp_path: Path, rapido: Any, profile_env: Any) -> None:
    from httpserver import Reply, ScriptedServer

    f = write_events(tmp_path / "e.jsonl", 1)
    evil = {"success": False, "code": 7001, "error": {"message": "bad \x1b]0;pwned\x07 \x1b[2J order"}}
    with ScriptedServer([Reply(422, evil)]) as srv:
        env = profile_env(srv.url)
        env["XDG_STATE_HOME"] = str(tmp_path / "state")
        r = rapido("replay", str(f), env=env)
    assert r.code == 1 and "\x1b" not in r.stderr and "\\x1b" in r.stderr
