"""``rapido sandbox`` as a user runs it: a real subprocess, real HTTP, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import run_rapido

KEY = "sk_sandbox_CLI_secret_7Q2w"
HEADERS = {
    "x-client-id": "acme-travel",
    "x-client-service": "hotels",
    "x-client-app-id": "acme-pwa",
    "authorization": KEY,
}
EVENT: dict[str, Any] = {
    "userId": "rapido_user_12345",
    "event": {"type": "order.confirmed", "id": "evt_hotel_confirm_456"},
    "attributes": {
        "orderId": "HTL_BOOKING_XYZ789",
        "orderStatus": "CONFIRMED",
        "amount_total": 12000,
        "location_origin_lat": 28.6139,
        "location_origin_long": 77.2090,
        "location_dest_lat": 28.6139,
        "location_dest_long": 77.2090,
        "start_time": 1708156800,
        "end_time": 1708415200,
        "hostStatus": "CONFIRMED",
        "tz": "Asia/Kolkata",
    },
    "schemaVersion": 1,
}


def _env(tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RAPIDO_SANDBOX_KEY", None)
    env.update(
        {
            "RAPIDO_CONFIG": str(tmp_path / "profiles.yaml"),
            "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "COLUMNS": "200",
        }
    )
    env.update(extra or {})
    return env


@contextmanager
def running(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rapido_cli", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path, env),
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first)
        assert m, first + proc.stderr.read()
        yield proc, m.group(1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[int, str, str]:
    time.sleep(0.2)  # let the last live lines out
    proc.send_signal(sig)
    # read through the same buffered streams `running` read the first line from (communicate()
    # would skip what that buffer already holds)
    assert proc.stderr is not None and proc.stdout is not None
    err = proc.stderr.read()
    out = proc.stdout.read()
    return proc.wait(timeout=15), out, err


def test_live_lines_store_and_ctrl_c(tmp_path: Path) -> None:
    store = tmp_path / "arrived.jsonl"
    with running(tmp_path, "--client-id", "acme-travel", "--store", str(store), env={"RAPIDO_SANDBOX_KEY": KEY}) as (
        proc,
        url,
    ):
        with httpx.Client(base_url=url) as c:
            assert c.post("/api/ota/event", json=EVENT, headers=HEADERS).status_code == 200
            assert c.post("/api/ota/event", json=EVENT, headers=HEADERS).status_code == 200
            wrong = c.post("/api/ota/event", json=EVENT, headers={**HEADERS, "authorization": "nope"})
            assert wrong.status_code == 401
            bad = dict(EVENT, schemaVersion=3)
            bad["event"] = {"type": "order.confirmed", "id": "evt_bad"}
            assert c.post("/api/ota/event", json=bad, headers=HEADERS).status_code == 400
            page = {
                "eventType": "page_view",
                "properties": json.dumps({"session_id": "s", "timestamp": "2024-01-01T00:00:00Z"}),
            }
            assert c.post("/pwa/events", json=page).status_code == 200
        code, out, err = stop(proc)
    assert code == 130, err  # stopped by Ctrl-C after a clean shutdown
    assert "Traceback" not in err
    assert "\x1b[" not in err  # plain when not a terminal
    assert KEY not in err and KEY not in out and KEY not in store.read_text()
    assert re.search(r"\d\d:\d\d:\d\d server order\.confirmed evt_hotel_confirm_456 200 accepted", err), err
    assert re.search(r"server order\.confirmed evt_hotel_confirm_456 200 duplicate", err), err
    assert re.search(r"server order\.confirmed evt_hotel_confirm_456 401 unauthorized", err), err
    assert re.search(r"server order\.confirmed evt_bad 400 invalid .*schemaVersion", err), err
    assert re.search(r"pwa\s+page_view ok", err), err
    assert "sandbox stopped: 5 event(s)" in err
    assert f"key ****{KEY[-4:]}" in err
    assert len(store.read_text().splitlines()) == 5


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    with running(tmp_path) as (proc, url):
        assert httpx.get(url + "/_sandbox/stats").status_code == 200
        code, _out, err = stop(proc, signal.SIGTERM)
    assert code == 130  # as every command: interrupted, after a clean shutdown
    assert "Traceback" not in err


def test_key_file_and_json_lines(tmp_path: Path) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY + "\n")
    with running(tmp_path, "--client-id", "acme-travel", "--key-file", str(key_file), "--json", "-q") as (proc, url):
        with httpx.Client(base_url=url) as c:
            assert c.post("/api/ota/event", json=EVENT, headers=HEADERS).status_code == 200
            other = {**HEADERS, "authorization": "other"}
            assert c.post("/api/ota/event", json=EVENT, headers=other).status_code == 401
        code, out, err = stop(proc)
    assert code == 130
    # --quiet: only the listening line, no live lines
    assert "accepted" not in err and "warning" not in err
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["status"], r["verdict"]) for r in records] == [(200, "accepted"), (401, "unauthorized")]
    assert KEY not in out


def test_fault_options_and_latency(tmp_path: Path) -> None:
    with running(tmp_path, "--faults", "503:1", "--latency", "100") as (proc, url):
        t = time.perf_counter()
        r = httpx.post(url + "/api/ota/event", json=EVENT, headers=HEADERS)
        assert time.perf_counter() - t >= 0.1
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        code, _out, err = stop(proc)
    assert code == 130
    assert "503 fault" in err


def test_rate_limit_option(tmp_path: Path) -> None:
    with running(tmp_path, "--rate-limit", "1") as (proc, url), httpx.Client(base_url=url) as c:
        codes = [c.post("/api/ota/event", json=dict(EVENT, userId=f"u{i}"), headers=HEADERS) for i in range(3)]
        assert [r.status_code for r in codes][:2] == [200, 429]
        assert int(codes[1].headers["retry-after"]) >= 1
        stop(proc)


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``rapido sandbox ARGS`` that must exit at once (errors, --help): in-process, see conftest."""
    argv = ["sandbox", *args]
    return run_rapido(*argv, env=_env(tmp_path, env), exact_env=True, timeout=30).completed(argv)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "500:2"], "not a probability"),
        (["--faults", "boom:0.1"], "unknown fault"),
        (["--fail-rate", "0.7", "--faults", "429:0.5"], "more than 1"),
        (["--latency", "-5"], "--latency"),
        (["--rate-limit", "0"], "--rate-limit"),
        (["--key-file", "/nonexistent/key"], "no such file"),
    ],
)
def test_bad_options_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    r = run(tmp_path, "--port", "0", *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_port_in_use_exit_2(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = run(tmp_path, "--port", str(s.getsockname()[1]))
    assert r.returncode == 2
    assert "already in use" in r.stderr
    assert "--port" in r.stderr


def test_unwritable_store_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = run(tmp_path, "--port", "0", "--store", str(blocker / "arrived.jsonl"))  # parent is a file
    assert r.returncode == 2
    assert "--store" in r.stderr and "cannot open" in r.stderr
    assert "Traceback" not in r.stderr


def test_empty_key_file_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    r = run(tmp_path, "--port", "0", "--client-id", "x", "--key-file", str(empty))
    assert r.returncode == 2
    assert "empty" in r.stderr


def test_help_has_examples(tmp_path: Path) -> None:
    r = run(tmp_path, "--help")
    assert r.returncode == 0
    assert "rapido sandbox --port 0" in r.stdout
    assert "RAPIDO_SANDBOX_KEY" in r.stdout
    assert "bridge.js" in r.stdout
    assert "--allow-file-origin" in r.stdout and "Origin: null" in " ".join(r.stdout.split())


def test_key_file_must_be_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    r = run(tmp_path, "--port", "0", "--client-id", "x", "--key-file", str(fifo))  # must not hang on the FIFO
    assert r.returncode == 2
    assert "--key-file" in r.stderr and "regular file" in r.stderr


def test_rich_and_plain_lines_agree() -> None:
    from datetime import UTC, datetime

    from rapido_cli.cli.sandbox_cmd import format_event, plain_event
    from rapido_cli.sandbox import SandboxEvent

    at = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    events = [
        SandboxEvent("server", at, "accepted", 200, "order.confirmed", "evt_" + "a" * 40),
        SandboxEvent("server", at, "accepted", 200, "order.confirmed", "evt_1", fault="drop-after"),
        SandboxEvent("server", at, "dropped", None, "order.confirmed", "evt_2", fault="drop"),
        SandboxEvent(
            "pwa", at, "warning", 200, "page_view", problems=[{"path": "x", "message": "m", "severity": "warning"}]
        ),
        SandboxEvent("correlation", at, "missed", order_id="FL_1", message="no server event"),
    ]
    for ev in events:
        for verbose in (0, 1):
            assert format_event(ev, verbose=verbose).plain == plain_event(ev, verbose=verbose)
    lines = [plain_event(ev)[9:] for ev in events]  # without the local time
    assert lines[0] == "server order.confirmed evt_aaaaaaaaaaaaaaaaaa.. 200 accepted"
    assert lines[1].endswith("200 accepted (fault drop-after)")
    assert lines[2].endswith("--- dropped (fault drop)")
    assert lines[3] == "pwa    page_view warning  (1 warning(s); -v shows them)"
    assert lines[4] == "booking FL_1 missed: no server event"
    assert "warning: x: m" in plain_event(events[3], verbose=1)
