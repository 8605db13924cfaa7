"""``rapido replay`` under SIGINT, SIGTERM, kill -9 and overlapping runs: nothing lost, nothing doubled."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_for
from test_replay import Counted, write_events

from rapido_cli.journal import Journal


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    full = dict(os.environ)
    full.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "rapido_cli", "replay", *args],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def setup(tmp_path: Path, profile_env: Any) -> Any:
    started: list[Counted] = []

    def make(n: int, **config: Any) -> tuple[Counted, Path, dict[str, str], Path]:
        sb = Counted(**config)
        started.append(sb)
        f = write_events(tmp_path / "e.jsonl", n)
        env = profile_env(sb.url)
        env["XDG_STATE_HOME"] = str(tmp_path / "state")
        env["RAPIDO_BACKOFF_BASE"] = "0.02"
        env["RAPIDO_BACKOFF_CAP"] = "0.1"
        return sb, f, env, tmp_path / "state" / "rapido" / "journal.sqlite3"

    yield make
    for sb in started:
        sb.stop()


def all_ids(n: int) -> set[str]:
    return {f"evt_bench_{i:08d}" for i in range(1, n + 1)}


def test_sigint_finishes_in_flight_saves_and_rerun_completes(setup: Any) -> None:
    sb, f, env, journal = setup(300, latency_ms=30)
    proc = spawn([str(f), "--concurrency", "4"], env)
    wait_for(lambda: sb.requests >= 40)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "sent" in out  # the summary table is still printed
    sb.settle()
    with Journal(journal) as j:
        sent = {r.event_id for r in j.query(outcome="sent")}
    # in-flight requests were allowed to finish and were recorded
    assert sent == set(sb.accepted) and 0 < len(sent) < 300
    proc = spawn([str(f), "--concurrency", "4"], env)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert set(sb.settle().accepted) == all_ids(300)
    assert not sb.duplicates  # a graceful stop repeats nothing


def test_second_sigint_aborts_at_once(setup: Any) -> None:
    sb, f, env, journal = setup(100, latency_ms=3000)
    proc = spawn([str(f), "--concurrency", "4", "--json"], env)
    # the sandbox records a request before waiting out its latency: 4 are then in flight
    wait_for(lambda: sb.sandbox.stats()["total"] >= 4)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 2.0  # did not wait for the 3 s answers
    assert proc.returncode == 130, err
    assert '"summary"' in out.splitlines()[-1]
    with Journal(journal) as j:  # consistent and readable
        assert j.counts().get("sent", 0) == 0


def test_sigterm_exits_130(setup: Any) -> None:
    sb, f, env, _ = setup(300, latency_ms=30)
    proc = spawn([str(f), "--concurrency", "2", "--json"], env)
    wait_for(lambda: sb.requests >= 10)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert '"interrupted":true' in out.splitlines()[-1]


def test_overlapping_runs_one_waits_none_doubles(setup: Any) -> None:
    sb, f, env, _ = setup(150, latency_ms=20)
    a = spawn([str(f), "--concurrency", "2"], env)
    b = spawn([str(f), "--concurrency", "2"], env)
    _out_b, err_b = b.communicate(timeout=60)
    _out_a, err_a = a.communicate(timeout=60)
    codes = sorted([a.returncode, b.returncode])
    assert codes == [0, 75], (err_a, err_b)
    loser_err = err_a if a.returncode == 75 else err_b
    winner = b if a.returncode == 75 else a
    assert "another replay" in loser_err and f"pid {winner.pid}" in loser_err
    assert set(sb.settle().accepted) == all_ids(150) and not sb.duplicates
    # and a third run later is allowed, and sends nothing new
    c = spawn([str(f)], env)
    c.communicate(timeout=60)
    assert c.returncode == 0 and sb.settle().requests == 150


def kill_and_rerun(sb: Counted, f: Path, env: dict[str, str], rounds: int, n: int, seed: int) -> int:
    rng = random.Random(seed)
    for _ in range(rounds):
        proc = spawn([str(f), "--concurrency", "8"], env)
        target = sb.requests + rng.randint(1, 150)
        try:
            wait_for(lambda t=target: sb.requests >= t or proc.poll() is not None, 60)  # type: ignore[misc]
            time.sleep(rng.random() * 0.05)
        finally:
            proc.kill()  # SIGKILL: no handler runs, no flush
            proc.communicate(timeout=30)
    proc = spawn([str(f), "--concurrency", "8", "--max-attempts", "20"], env)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    sb.settle()
    assert set(sb.accepted) == all_ids(n)
    return sum(sb.duplicates.values())


def test_kill_9_loses_nothing(setup: Any) -> None:
    sb, f, env, journal = setup(800, latency_ms=5)
    repeats = kill_and_rerun(sb, f, env, rounds=2, n=800, seed=1)
    # only events in flight or acknowledged but not yet committed may be sent again:
    # at most 2 x --concurrency per kill
    assert repeats <= 2 * (2 * 8)
    with Journal(journal) as j:
        assert j.counts() == {"sent": 800}


@pytest.mark.slow
def test_kill_9_soak(setup: Any) -> None:
    """Bounded kill -9 loop: RAPIDO_SOAK_N rounds (default 10) against a faulty sandbox."""
    rounds = int(os.environ.get("RAPIDO_SOAK_N", "10"))
    n = 2000
    sb, f, env, journal = setup(n, latency_ms=5, faults="500:0.05,429:0.02,drop:0.02,drop-after:0.02", seed=11)
    repeats = kill_and_rerun(sb, f, env, rounds=rounds, n=n, seed=rounds)
    assert repeats <= rounds * (2 * 8) + n  # + retries of drop-after answers (same id)
    with Journal(journal) as j:
        assert j.counts() == {"sent": n}
