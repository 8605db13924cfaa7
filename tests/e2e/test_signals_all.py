"""SIGINT and SIGTERM exit 130 in every command, never die by the signal or with a traceback.

The process is the point here: real ``rapido`` subprocesses, blocked where a user would stop them
(a slow server, a quiet standard input), then signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from httpserver import Reply, ScriptedServer, ok_body


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    full = dict(os.environ)
    full.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "rapido_cli", *args],
        env=full,
        stdin=subprocess.PIPE,  # kept open and quiet: commands reading it block
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(pred: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def stop(proc: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=20)
    return proc.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_send_waiting_for_a_slow_server(sig: int, profile_env: Any) -> None:
    with ScriptedServer([Reply(200, ok_body(), delay=20)]) as srv:
        proc = spawn(["send", "--user", "u1", "--type", "payment.completed", "--attr", "orderId=FL_1",
                      "--attr", "amount_total=1"], profile_env(srv.url))
        wait_until(lambda: len(srv.requests) >= 1)
        code, err = stop(proc, sig)
    assert code == 130, err  # not -15: the signal is handled, not fatal
    assert "interrupted" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "-"],
        pytest.param(["build", "flight", "--csv", "-"], marks=pytest.mark.slow),  # 1.5 s each: two stay fast
        ["replay", "-", "--no-journal"],
        pytest.param(["send", "--file", "-", "--dry-run"], marks=pytest.mark.slow),
    ],
)
def test_commands_reading_a_quiet_stdin(args: list[str], profile_env: Any, tmp_path: Path) -> None:
    env = profile_env("http://127.0.0.1:9")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    proc = spawn(args, env)
    time.sleep(1.5)  # started (a loaded machine starts Python slowly) and blocked reading
    assert proc.poll() is None
    code, err = stop(proc, signal.SIGTERM)
    assert code == 130, (args, err)
    assert "Traceback" not in err
