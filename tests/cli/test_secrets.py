"""The client key never shows: not in output at any verbosity, --dry-run, --json, tracebacks, journal or dead letters.

Also: key sources that others can read are refused (exit 3, "chmod 600"); ``command:`` sources time out
and fail without echoing what they printed.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PAYMENT_SEND, TEST_KEY, write_profiles
from httpserver import Reply, error_body, ok_body
from test_keyring_support import subprocess_env

from rapido_cli.errors import ConfigError
from rapido_cli.profiles import Secret, mask, read_key, resolve_profile

SEND = PAYMENT_SEND[:-2]  # without --max-attempts
#: What must never appear: the key, and its tail beyond the 4 characters masking may show.
NEEDLES = (TEST_KEY, TEST_KEY[:-4], TEST_KEY[4:])


def assert_clean(*texts: str | bytes) -> None:
    for text in texts:
        blob = text if isinstance(text, bytes) else text.encode()
        for needle in NEEDLES:
            assert needle.encode() not in blob, f"the key leaked: ...{blob[:400]!r}"


def event_lines(n: int) -> str:
    lines = []
    for i in range(n):
        lines.append(
            json.dumps(
                {
                    "userId": f"u{i}",
                    "event": {"type": "payment.completed", "id": f"evt_s_{i}"},
                    "attributes": {"orderId": f"FL_{i}", "amount_total": 100 + i},
                    "schemaVersion": 1,
                }
            )
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the grep test


def test_no_output_of_a_verbose_failing_run_holds_the_key(tmp_path: Path, server, rapido) -> None:
    srv = server([Reply(500, error_body(7500, "internal"), headers={"Retry-After": "0"})])
    env = {"RAPIDO_CONFIG": str(write_profiles(tmp_path / "p.yaml", srv.url, key=TEST_KEY))}
    runs = (
        [*SEND, "-v", "--max-attempts", "2"],
        [*SEND, "-vv", "--json", "--max-attempts", "2"],
        [*SEND, "--dry-run"],
        [*SEND, "--dry-run", "--json"],
        [*SEND, "--dry-run", "-v"],
        ["doctor", "-v"],
        ["doctor", "--json"],
        ["profile", "show", "-v"],
        ["profile", "show", "--json"],
        ["profile", "list", "--json"],
    )
    # Independent processes: run them side by side to keep the suite quick.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda args: rapido(*args, env=env), runs))
    outputs: list[str] = []
    for args, res in zip(runs, results, strict=True):
        assert res.code != 2, (args, res.stderr)  # the command ran
        outputs += [res.stdout, res.stderr]
        assert_clean(res.stdout, res.stderr)
    assert srv.requests and srv.requests[0].headers["authorization"] == TEST_KEY  # it was really sent
    assert any("****WXYZ" in o for o in outputs)  # ...and shown masked


def test_unauthorized_verbose_run_and_env_key(tmp_path: Path, server, rapido) -> None:
    srv = server([Reply(401, error_body(7401, "invalid client key"))])
    cfg = write_profiles(tmp_path / "p.yaml", srv.url)
    res = rapido(*SEND, "-v", env={"RAPIDO_CONFIG": str(cfg), "RAPIDO_CLIENT_KEY": TEST_KEY})
    assert res.code == 3
    assert_clean(res.stdout, res.stderr)


def test_replay_journal_and_dead_letters_hold_no_key(tmp_path: Path, server, rapido) -> None:
    srv = server([Reply(200, ok_body()), Reply(400, error_body(7001, "bad")), Reply(500, error_body(7500, "x"))])
    cfg = write_profiles(tmp_path / "p.yaml", srv.url, key=TEST_KEY)
    events = tmp_path / "events.jsonl"
    events.write_text(event_lines(4) + "{not json\n")
    journal, dead = tmp_path / "journal.sqlite", tmp_path / "dead.jsonl"
    res = rapido(
        "replay",
        str(events),
        "-v",
        "--concurrency",
        "1",
        "--max-attempts",
        "2",
        "--journal",
        str(journal),
        "--dead-letter",
        str(dead),
        env={"RAPIDO_CONFIG": str(cfg)},
    )
    assert res.code in (1, 75), res.output
    assert journal.exists() and dead.exists()
    assert_clean(res.stdout, res.stderr)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name not in ("test.key",):
            assert_clean(path.read_bytes())


def test_a_crashing_keyring_backend_is_reported_without_the_key(tmp_path: Path, rapido) -> None:
    cfg = tmp_path / "p.yaml"
    body = {"base_url": "http://127.0.0.1:9", "client_id": "c", "app_id": "a", "service": "flights", "key": "keyring"}
    cfg.write_text(yaml.safe_dump({"default": "s", "profiles": {"s": body}}))
    cfg.chmod(0o600)
    env = {**subprocess_env("LeakyKeyring", tmp_path), "RAPIDO_CONFIG": str(cfg)}
    res = rapido("profile", "set-key", "s", "-vv", env=env, input=TEST_KEY)
    assert res.code == 3  # a broken backend is a configuration problem with a hint, not a crash (as in twine)
    assert "LeakyKeyring failed to store the key: RuntimeError" in res.stderr
    assert "Traceback" not in res.stderr
    assert_clean(res.stdout, res.stderr)  # the backend's message quoted the key: it is not shown


def test_a_traceback_from_a_deliberate_bug_holds_no_key(
    tmp_path: Path, server, rapido, monkeypatch: pytest.MonkeyPatch
) -> None:
    import http.client

    def _bug(self: object, *args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a deliberate bug deep in the HTTP exchange")

    # In-process runs print an escaping exception as the interpreter would (see conftest.run_rapido);
    # the transport's senders are built on http.client.
    monkeypatch.setattr(http.client.HTTPConnection, "request", _bug)
    srv = server()
    cfg = write_profiles(tmp_path / "p.yaml", srv.url, key=TEST_KEY)
    env = {"RAPIDO_CONFIG": str(cfg)}
    for extra in ([], ["-vv"], ["--json"]):
        res = rapido(*SEND, *extra, env=env)
        assert res.code == 1
        assert "Traceback" in res.stderr and "ZeroDivisionError: a deliberate bug" in res.stderr
        assert_clean(res.stdout, res.stderr)
    res = rapido("doctor", "-v", env=env)
    assert "Traceback" in res.stderr
    assert_clean(res.stdout, res.stderr)


def test_key_with_control_characters_is_refused_without_echo(tmp_path: Path, server, rapido) -> None:
    srv = server()
    cfg = write_profiles(tmp_path / "p.yaml", srv.url)
    res = rapido(*SEND, "-v", env={"RAPIDO_CONFIG": str(cfg), "RAPIDO_CLIENT_KEY": TEST_KEY[:10] + "\x01" + TEST_KEY})
    assert res.code == 3
    assert "control character at position 11" in res.stderr
    assert_clean(res.stdout, res.stderr)
    assert srv.requests == []


def test_secret_never_renders_itself() -> None:
    s = Secret(TEST_KEY)
    for text in (str(s), repr(s), f"{s}", f"{s!r}", str([s]), str({"k": s})):
        assert_clean(text)
        assert "WXYZ" in text
    assert mask("short") == "****"
    assert s.reveal() == TEST_KEY


# ---------------------------------------------------------------- permissions


def test_group_readable_key_file_is_refused(tmp_path: Path, server, rapido) -> None:
    srv = server()
    cfg = write_profiles(tmp_path / "p.yaml", srv.url, key=TEST_KEY)
    key_file = tmp_path / "test.key"
    key_file.chmod(0o640)
    res = rapido(*SEND, env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 3
    assert f"chmod 600 {key_file}" in res.stderr
    assert "mode 0640" in res.stderr
    assert srv.requests == []


def test_world_readable_config_with_inline_key_is_refused(tmp_path: Path, server, rapido) -> None:
    srv = server()
    cfg = write_profiles(tmp_path / "p.yaml", srv.url)
    data = yaml.safe_load(cfg.read_text())
    data["profiles"]["test"]["key"] = TEST_KEY
    cfg.write_text(yaml.safe_dump(data))
    cfg.chmod(0o604)
    res = rapido(*SEND, env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 3
    assert f"chmod 600 {cfg}" in res.stderr
    assert_clean(res.stdout, res.stderr)
    cfg.chmod(0o600)
    assert rapido(*SEND, env={"RAPIDO_CONFIG": str(cfg)}).code == 0


# ---------------------------------------------------------------- command: sources


def _cmd_profile(tmp_path: Path, command: str) -> Path:
    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "profiles": {
                    "default": {
                        "base_url": "http://127.0.0.1:9",
                        "client_id": "c",
                        "app_id": "a",
                        "service": "flights",
                        "key": f"command:{command}",
                    }
                }
            }
        )
    )
    cfg.chmod(0o600)
    return cfg


def test_command_source_reads_stdout(tmp_path: Path) -> None:
    secret, source = read_key(f"command:printf '%s\\n' {TEST_KEY}", "p", {"PATH": "/usr/bin:/bin"}, tmp_path / "x")
    assert secret.reveal() == TEST_KEY and source == "command"


def test_failing_command_output_is_not_echoed(tmp_path: Path, rapido) -> None:
    key_file = tmp_path / "k"
    key_file.write_text(TEST_KEY)
    key_file.chmod(0o600)
    cfg = _cmd_profile(tmp_path, f"cat {key_file}; cat {key_file} >&2; exit 4")
    res = rapido(*SEND, "-vv", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 3
    assert "exited with status 4" in res.stderr and "not shown" in res.stderr
    assert_clean(res.stdout, res.stderr)
    res = rapido("doctor", "--json", env={"RAPIDO_CONFIG": str(cfg)})
    assert_clean(res.stdout, res.stderr)
    assert "exited with status 4" in res.stdout


def test_command_times_out_and_is_killed(tmp_path: Path) -> None:
    marker = tmp_path / "still-running"
    cfg = _cmd_profile(tmp_path, f"sleep 1; touch {marker}")
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"did not finish within 0\.3 s"):
        resolve_profile(None, config_path=cfg, environ={"PATH": "/usr/bin:/bin", "RAPIDO_KEY_COMMAND_TIMEOUT": "0.3"})
    assert time.monotonic() - start < 1
    time.sleep(max(0.0, start + 1.6 - time.monotonic()))  # the touch would have happened at 1 s
    assert not marker.exists()  # the whole process group was killed, not only the shell


def test_command_cannot_wait_for_input(tmp_path: Path) -> None:
    cfg = _cmd_profile(tmp_path, "read line; echo $line")
    start = time.monotonic()
    with pytest.raises(ConfigError, match="printed nothing"):
        resolve_profile(None, config_path=cfg, environ={"PATH": "/usr/bin:/bin"})
    assert time.monotonic() - start < 5


def test_key_errors_never_quote_the_key(tmp_path: Path) -> None:
    env: dict[str, Any] = {"RAPIDO_CLIENT_KEY": TEST_KEY + "\u00e9"}
    res = resolve_profile(None, config_path=tmp_path / "none.yaml", environ=env, need_key=False)
    assert res.key is None and res.key_error is not None
    assert "non-ASCII character" in res.key_error.message
    assert_clean(res.key_error.message, res.key_error.hint or "")


# ---------------------------------------------------------------- a server that echoes the key back


def _echo_server(server) -> Any:  # type: ignore[no-untyped-def]
    body = error_body(7401, f"invalid client key {TEST_KEY}", {"authorization": TEST_KEY})
    return server([Reply(401, body)])


def test_doctor_scrubs_a_server_that_echoes_the_key(tmp_path: Path, server, rapido) -> None:
    srv = _echo_server(server)
    env = {"RAPIDO_CONFIG": str(write_profiles(tmp_path / "p.yaml", srv.url, key=TEST_KEY))}
    for args in (["doctor", "-v"], ["doctor", "--json"]):
        res = rapido(*args, env=env)
        assert res.code == 3
        assert "invalid client key ****WXYZ" in res.stdout
        assert_clean(res.stdout, res.stderr)


def test_scrub_replaces_every_copy() -> None:
    s = Secret(TEST_KEY)
    data = {"error": {"message": f"bad key {TEST_KEY}!", "details": [TEST_KEY, 1, None]}, TEST_KEY: True}
    assert s.scrub(data) == {
        "error": {"message": "bad key ****WXYZ!", "details": ["****WXYZ", 1, None]},
        "****WXYZ": True,
    }
    assert s.scrub("nothing here") == "nothing here"


def test_send_scrubs_a_server_that_echoes_the_key(tmp_path: Path, server, rapido) -> None:
    srv = _echo_server(server)
    env = {"RAPIDO_CONFIG": str(write_profiles(tmp_path / "p.yaml", srv.url, key=TEST_KEY))}
    for args in ([*SEND, "-v"], [*SEND, "--json"]):
        res = rapido(*args, env=env)
        assert res.code == 3
        assert_clean(res.stdout, res.stderr)
