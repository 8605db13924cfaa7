"""Output conventions, checked on the real program in subprocesses.

- No escape codes when the stream is not a terminal, or with ``NO_COLOR`` / ``--no-color``;
  colour does appear on a terminal (a real pseudo-terminal, not a flag that pretends).
- Errors go to stderr; stdout stays empty for a failed command.
- With ``--json``, stdout holds the JSON and nothing else (banners and progress go to stderr).
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
import typer.main
from conftest import TESTS, run_rapido

from rapido_cli.cli import build_app

FLIGHT = [
    "send-booking",
    "flight",
    "--user",
    "rapido_user_12345",
    "--order-id",
    "FL_BOOKING_ABC123",
    "--amount",
    "8500",
    "--from",
    "DEL",
    "--to",
    "BLR",
    "--depart",
    "2024-02-17T13:30+05:30",
    "--arrive",
    "2024-02-17T16:15+05:30",
]
HOTEL = [
    "send-booking",
    "hotel",
    "--user",
    "rapido_user_12345",
    "--order-id",
    "HTL_BOOKING_XYZ789",
    "--amount",
    "12000",
    "--location",
    "28.6139,77.2090",
    "--check-in",
    "1708156800",
    "--check-out",
    "1708415200",
]
CSV = TESTS / "data" / "csv" / "flights.csv"
ESC = "\x1b"
SGR = re.compile(r"\x1b\[([0-9;]*)m")
_TOP = {name for name in getattr(typer.main.get_command(build_app()), "commands", {})}


def needs(*commands: str) -> pytest.MarkDecorator:
    missing = [c for c in commands if c not in _TOP]
    return pytest.mark.skipif(bool(missing), reason=f"command(s) not in the app yet: {missing}")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "CLICOLOR"}}
    env.update(COLUMNS="160", TERM="xterm-256color")
    env.update(extra)
    return env


def run(
    args: list[str], env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``rapido ARGS`` with exactly ``env``, stdout and stderr not terminals (in-process: see conftest)."""
    return run_rapido(*args, env=env or clean_env(), input=stdin, exact_env=True, timeout=90).completed(args)


def run_in_pty(
    args: list[str], env: dict[str, str], stderr_piped: bool = False, columns: int = 160
) -> tuple[int, str, str]:
    """Run with stdout (and stderr unless ``stderr_piped``) on a pseudo-terminal; return code, tty text, stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rapido_cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE if stderr_piped else slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 90
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                proc.kill()
                raise AssertionError(f"rapido {' '.join(args)} did not finish on the terminal")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        err = proc.stderr.read().decode() if proc.stderr else ""
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.stderr:
            proc.stderr.close()
    return code, b"".join(chunks).decode("utf-8", "replace"), err


def colour_codes(text: str) -> list[str]:
    """SGR sequences that set a colour (foreground or background), as opposed to bold/dim/reset."""
    found = []
    for match in SGR.finditer(text):
        params = [int(p) for p in match.group(1).split(";") if p]
        if any(30 <= p <= 49 or 90 <= p <= 107 for p in params):
            found.append(match.group(0))
    return found


# ---------------------------------------------------------------- not a terminal: no escape codes

HUMAN = [
    pytest.param([*FLIGHT, "--sandbox"], id="send-booking"),
    pytest.param([*HOTEL, "--sandbox", "--dry-run"], id="send-booking-dry-run"),
    pytest.param(
        ["send", "--sandbox", "--dry-run", "--no-validate", "--user", "u1", "--type", "payment.completed"],
        id="send-dry-run",
    ),
    pytest.param(["--help"], id="help"),
    pytest.param(["send-booking", "--help"], id="send-booking-help"),
    pytest.param(["validate", str(CSV)], id="validate-bad", marks=needs("validate")),
    pytest.param(["build", "flight", "--csv", str(CSV)], id="build", marks=needs("build")),
    pytest.param(["history"], id="history", marks=needs("history")),
    pytest.param(["profile", "list"], id="profile-list", marks=needs("profile")),
    pytest.param(["doctor", "--sandbox"], id="doctor", marks=needs("doctor")),
]


@pytest.mark.parametrize("args", HUMAN)
def test_no_escape_codes_when_piped(args: list[str]) -> None:
    proc = run(args)
    assert "Traceback" not in proc.stderr
    assert ESC not in proc.stdout, proc.stdout[:500]
    assert ESC not in proc.stderr, proc.stderr[:500]


# ---------------------------------------------------------------- --json: stdout is JSON only


def _one_document(stdout: str) -> object:
    assert stdout.strip(), "nothing on stdout"
    return json.loads(stdout)


def _json_lines(stdout: str) -> list[object]:
    lines = stdout.splitlines()
    assert lines, "nothing on stdout"
    return [json.loads(line) for line in lines]


def test_send_booking_sandbox_json() -> None:
    proc = run([*FLIGHT, "--sandbox", "--json"])
    assert proc.returncode == 0, proc.stderr
    doc = _one_document(proc.stdout)
    assert isinstance(doc, dict)
    assert doc["ok"] is True and doc["status"] == 200
    assert {"ok", "status", "attempts", "event", "response", "elapsed_ms"} <= set(doc)
    assert "SANDBOX" in proc.stderr and "SANDBOX" not in proc.stdout


def test_send_sandbox_json_with_verbose_keeps_stdout_clean() -> None:
    proc = run([*HOTEL, "--sandbox", "--json", "-v"])
    assert proc.returncode == 0, proc.stderr
    doc = _one_document(proc.stdout)
    assert isinstance(doc, dict) and doc["ok"] is True
    assert "attempt 1" in proc.stderr  # -v goes to stderr


def test_send_file_sandbox_json(tmp_path: Path) -> None:
    dry = run([*FLIGHT, "--sandbox", "--dry-run", "--json"])
    body = json.loads(dry.stdout)["request"]["body"]
    event = tmp_path / "event.json"
    event.write_text(json.dumps(body), encoding="utf-8")
    proc = run(["send", "--file", str(event), "--sandbox", "--json"])
    assert proc.returncode == 0, proc.stderr
    doc = _one_document(proc.stdout)
    assert isinstance(doc, dict) and doc["ok"] is True


@pytest.mark.parametrize("base", [FLIGHT, ["send", "--no-validate", "--user", "u1", "--type", "payment.completed"]])
def test_dry_run_json(base: list[str]) -> None:
    proc = run([*base, "--sandbox", "--dry-run", "--json"])
    assert proc.returncode == 0, proc.stderr
    doc = _one_document(proc.stdout)
    assert isinstance(doc, dict) and doc["dry_run"] is True
    headers = doc["request"]["headers"]
    assert "sandbox-key-0000" not in json.dumps(headers)  # the key is masked even for the sandbox


@needs("validate")
def test_validate_json_valid_and_invalid(tmp_path: Path) -> None:
    good = run([*FLIGHT, "--sandbox", "--dry-run", "--json"])
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(json.loads(good.stdout)["request"]["body"]) + "\n", encoding="utf-8")
    ok = run(["validate", str(events), "--json"])
    assert ok.returncode == 0, ok.stderr
    doc = _one_document(ok.stdout)
    assert isinstance(doc, dict) and doc["valid"] is True

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"userId": "u1", "event": {"type": "order.confirmed"}}\n', encoding="utf-8")
    proc = run(["validate", str(bad), "--json"])
    assert proc.returncode == 1
    doc = _one_document(proc.stdout)
    assert isinstance(doc, dict) and doc["valid"] is False and doc["problems"]


@needs("build", "replay", "history")
def test_build_replay_history_json(tmp_path: Path) -> None:
    built = run(["build", "flight", "--csv", str(CSV)])
    assert built.returncode == 0, built.stderr
    events = _json_lines(built.stdout)
    assert events and all(isinstance(e, dict) and "event" in e for e in events)
    path = tmp_path / "events.jsonl"
    path.write_text(built.stdout, encoding="utf-8")

    journal = tmp_path / "journal.sqlite3"  # a sandbox run journals only when asked to
    replay = run(["replay", str(path), "--sandbox", "--json", "--journal", str(journal)])
    assert replay.returncode == 0, replay.stderr
    lines = _json_lines(replay.stdout)
    last = lines[-1]
    assert isinstance(last, dict) and last["summary"]["sent"] == len(events)
    assert "SANDBOX" in replay.stderr

    history = run(["history", "--json", "--journal", str(journal)])
    assert history.returncode == 0, history.stderr
    rows = _one_document(history.stdout)
    assert isinstance(rows, list) and len(rows) >= len(events)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["schema"], id="schema", marks=needs("schema")),
        pytest.param(["profile", "list", "--json"], id="profile-list", marks=needs("profile")),
        pytest.param(["profile", "show", "--json"], id="profile-show", marks=needs("profile")),
        pytest.param(["doctor", "--json", "--sandbox"], id="doctor", marks=needs("doctor")),
    ],
)
def test_other_json_documents(args: list[str]) -> None:
    proc = run(args)
    assert proc.returncode == 0, proc.stderr
    _one_document(proc.stdout)


# ---------------------------------------------------------------- errors on stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["send", "--file", "does-not-exist.json"], 2, id="missing-file"),
        pytest.param(["send", "--user", "u1", "--type", "order.confirmed", "--sandbox"], 1, id="invalid-event"),
        pytest.param([*FLIGHT, "--bogus"], 2, id="unknown-option"),
        pytest.param(["send-booking", "boat", "--user", "u"], 2, id="bad-choice"),
        pytest.param(
            [*FLIGHT[:2], "--user", "u", "--order-id", "o", "--amount", "1", "--location", "1,2"],
            2,
            id="wrong-kind-option",
        ),
        pytest.param([*FLIGHT, "--profile", "nope"], 3, id="unknown-profile"),
        pytest.param(["build", "flight", "--csv", "nope.csv"], 2, id="build-missing", marks=needs("build")),
        pytest.param(["replay", "nope.jsonl", "--sandbox"], 2, id="replay-missing", marks=needs("replay")),
        pytest.param(["history", "--outcome", "bogus"], 2, id="history-bad-choice", marks=needs("history")),
        pytest.param(["profile", "show", "nope"], 3, id="profile-unknown", marks=needs("profile")),
    ],
)
def test_errors_go_to_stderr(args: list[str], code: int) -> None:
    proc = run(args)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr.strip()
    assert "Traceback" not in proc.stderr
    assert ESC not in proc.stderr


def test_error_has_a_hint_line() -> None:
    proc = run(["send", "--user", "u1", "--type", "order.confirmed", "--sandbox"])
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("error: ")
    assert any(line.startswith("hint: ") for line in lines)


# ---------------------------------------------------------------- on a terminal


@pytest.mark.slow  # a pseudo-terminal
def test_colour_on_a_terminal() -> None:
    code, out, _ = run_in_pty([*FLIGHT, "--sandbox"], clean_env())
    assert code == 0, out
    assert colour_codes(out), out[:800]
    assert "delivered" in out


@pytest.mark.slow  # a pseudo-terminal
@pytest.mark.parametrize(
    ("extra_args", "extra_env"),
    [([], {"NO_COLOR": "1"}), (["--no-color"], {}), (["--no-color"], {"NO_COLOR": ""})],
    ids=["NO_COLOR", "--no-color", "--no-color-with-empty-NO_COLOR"],
)
def test_no_escape_codes_on_a_terminal_when_asked(extra_args: list[str], extra_env: dict[str, str]) -> None:
    code, out, _ = run_in_pty([*FLIGHT, "--sandbox", *extra_args], clean_env(**extra_env))
    assert code == 0, out
    assert "delivered" in out and "SANDBOX" in out
    assert ESC not in out, repr(out[:800])


@pytest.mark.slow  # a pseudo-terminal
def test_error_colour_follows_stderr_not_stdout() -> None:
    # stdout is a terminal, stderr a pipe: the error on stderr is plain.
    code, _, err = run_in_pty(
        ["send", "--user", "u1", "--type", "order.confirmed", "--sandbox"], clean_env(), stderr_piped=True
    )
    assert code == 1
    assert err.startswith("error: ")
    assert ESC not in err
    # Both on the terminal: the error is coloured.
    code, out, _ = run_in_pty(["send", "--user", "u1", "--type", "order.confirmed", "--sandbox"], clean_env())
    assert code == 1
    assert colour_codes(out)


def test_empty_no_color_is_ignored() -> None:
    """no-color.org: NO_COLOR counts only when set to a non-empty value."""
    code, out, _ = run_in_pty([*FLIGHT, "--sandbox"], clean_env(NO_COLOR=""))
    assert code == 0, out
    assert colour_codes(out)


def test_errors_under_json_are_json_on_stdout_too() -> None:
    proc = run(["send", "--user", "u1", "--type", "order.confirmed", "--sandbox", "--json"])
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ")
    doc = _one_document(proc.stdout)
    assert isinstance(doc, dict) and doc["ok"] is False
    assert doc["error"]["exit_code"] == 1 and doc["error"]["message"] in proc.stderr


def test_help_style_on_a_terminal_and_not_with_no_color() -> None:
    code, out, _ = run_in_pty(["send-booking", "--help"], clean_env())
    assert code == 0
    assert ESC in out  # headings in bold
    code, out, _ = run_in_pty(["send-booking", "--help"], clean_env(NO_COLOR="1"))
    assert code == 0
    assert "Usage" in out
    assert ESC not in out  # not even bold


@needs("validate")
def test_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    """`rapido validate big.jsonl | head -1`: the reader goes away; no traceback, no hang."""
    events = tmp_path / "big.jsonl"
    line = '{"userId": "u1", "event": {"type": "order.confirmed", "id": "e%d"}, "attributes": {}}\n'
    events.write_text("".join(line % i for i in range(5000)), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rapido_cli", "validate", str(events)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    assert "Traceback" not in err, err[-2000:]
    assert code != 0
