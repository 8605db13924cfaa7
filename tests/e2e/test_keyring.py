"""Keys in the keyring: set-key / delete-key, timeouts, no backend, and a real Secret Service round trip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import pytest
import yaml
from conftest import PAYMENT_SEND, PROJECT_ROOT, TEST_KEY
from test_keyring_support import HangingKeyring, LockedKeyring, MemoryKeyring, subprocess_env

from rapido_cli.errors import ConfigError
from rapido_cli.profiles import KEYRING_SERVICE, keyring_delete, keyring_get, keyring_set
from rapido_cli.sandbox import Sandbox

SEND = PAYMENT_SEND


@pytest.fixture
def use_backend() -> Iterator[Any]:
    before = keyring.get_keyring()

    def use(backend: Any) -> Any:
        keyring.set_keyring(backend)
        return backend

    yield use
    keyring.set_keyring(before)


def write_cfg(
    path: Path, base_url: str = "https://partner-staging.example.com", name: str = "staging", **body: Any
) -> Path:
    profile = {
        "base_url": base_url,
        "client_id": "acme-travel",
        "app_id": "acme-pwa",
        "service": "flights",
        "key": "keyring",
        **body,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"default": name, "profiles": {name: profile}}))
    path.chmod(0o600)
    return path


def accepted(sb: Sandbox) -> list[dict[str, Any]]:
    with urllib.request.urlopen(sb.url + "/_sandbox/events") as resp:
        return [e for e in json.loads(resp.read())["events"] if e["verdict"] == "accepted"]


# ---------------------------------------------------------------- in-memory backend


def test_core_round_trip(use_backend) -> None:
    kr = use_backend(MemoryKeyring())
    keyring_set("p", TEST_KEY, 2)
    assert kr.store[(KEYRING_SERVICE, "p")] == TEST_KEY
    assert keyring_get("p", 2) == TEST_KEY
    assert keyring_delete("p", 2) is True
    assert keyring_delete("p", 2) is False
    assert keyring_get("p", 2) is None


def test_set_key_from_stdin_show_and_delete(cli, use_backend) -> None:
    kr = use_backend(MemoryKeyring())
    write_cfg(cli.cfg)
    res = cli("profile", "set-key", input=TEST_KEY + "\n")
    assert res.exit_code == 0, res.output
    assert kr.store[(KEYRING_SERVICE, "staging")] == TEST_KEY
    assert "****WXYZ" in res.output and TEST_KEY not in res.output
    doc = json.loads(cli("profile", "show", "--json").stdout)
    assert doc["key"]["source"] == "keyring" and doc["key"]["masked"] == "****WXYZ"
    res = cli("profile", "delete-key", "staging")
    assert res.exit_code == 0 and "deleted" in res.output
    assert (KEYRING_SERVICE, "staging") not in kr.store
    res = cli("profile", "delete-key", "staging")
    assert res.exit_code == 0 and "no key stored" in res.output


def test_set_key_moves_an_inline_key_to_the_keyring(cli, use_backend) -> None:
    kr = use_backend(MemoryKeyring())
    write_cfg(cli.cfg, key="sk_old_inline_key_1234")
    res = cli("profile", "set-key", "staging", input=TEST_KEY)
    assert res.exit_code == 0, res.output
    assert yaml.safe_load(cli.cfg.read_text())["profiles"]["staging"]["key"] == "keyring"
    assert "sk_old_inline_key_1234" not in cli.cfg.read_text()
    assert kr.store[(KEYRING_SERVICE, "staging")] == TEST_KEY


def test_set_key_writes_a_key_file_0600(cli, tmp_path: Path, use_backend) -> None:
    use_backend(keyring.backends.fail.Keyring())
    key_file = tmp_path / "secrets" / "staging.key"
    write_cfg(cli.cfg, key=f"file:{key_file}")
    res = cli("profile", "set-key", input=TEST_KEY + "\n")
    assert res.exit_code == 0, res.output
    assert key_file.read_text() == TEST_KEY + "\n"
    assert (key_file.stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize(("spec", "where"), [("env:MY_KEY", "$MY_KEY"), ("command:pass show x", "a command")])
def test_set_key_cannot_store_into_env_or_command(cli, use_backend, spec: str, where: str) -> None:
    use_backend(MemoryKeyring())
    write_cfg(cli.cfg, key=spec)
    res = cli("profile", "set-key", input=TEST_KEY)
    assert res.exit_code == 3
    assert where in res.output


@pytest.mark.parametrize(("stdin", "message"), [("", "no key given"), ("a\nb\n", "more than one line")])
def test_set_key_input_checks(cli, use_backend, stdin: str, message: str) -> None:
    use_backend(MemoryKeyring())
    write_cfg(cli.cfg)
    res = cli("profile", "set-key", input=stdin)
    assert res.exit_code == 2 and message in res.output


def test_set_key_unknown_profile(cli, use_backend) -> None:
    use_backend(MemoryKeyring())
    write_cfg(cli.cfg)
    res = cli("profile", "set-key", "nope", input=TEST_KEY)
    assert res.exit_code == 3 and "profile add nope" in res.output


def test_no_backend_is_a_config_error_with_a_hint(cli, use_backend) -> None:
    use_backend(keyring.backends.fail.Keyring())
    with pytest.raises(ConfigError, match="no keyring backend"):
        keyring_get("staging", 2)
    write_cfg(cli.cfg)
    res = cli("profile", "set-key", input=TEST_KEY)
    assert res.exit_code == 3
    assert "no keyring backend" in res.output and "rapido profile set staging key file:PATH" in res.output
    res = cli(*SEND)
    assert res.exit_code == 3
    assert "RAPIDO_CLIENT_KEY" in res.output


def test_a_locked_keyring_times_out(cli, use_backend) -> None:
    use_backend(HangingKeyring())
    write_cfg(cli.cfg)
    start = time.monotonic()
    res = cli("profile", "set-key", input=TEST_KEY, env={"RAPIDO_KEYRING_TIMEOUT": "0.3"})
    assert res.exit_code == 3
    assert "did not answer within 0.3 s" in res.output
    assert time.monotonic() - start < 3


def test_a_locked_keyring_does_not_hang_a_cron_send(tmp_path: Path, rapido) -> None:
    cfg = write_cfg(tmp_path / "profiles.yaml", "http://127.0.0.1:9")
    env = {**subprocess_env("HangingKeyring", tmp_path), "RAPIDO_CONFIG": str(cfg), "RAPIDO_KEYRING_TIMEOUT": "0.5"}
    start = time.monotonic()
    res = rapido(*SEND, env=env, timeout=20)
    assert res.code == 3, res.output
    assert "did not answer" in res.stderr and "RAPIDO_CLIENT_KEY" in res.stderr
    assert time.monotonic() - start < 10


def test_a_locked_keyring_that_cannot_prompt_says_so(cli, use_backend) -> None:
    use_backend(LockedKeyring())
    write_cfg(cli.cfg)
    res = cli(*SEND)
    assert res.exit_code == 3
    assert "the keyring is locked" in res.output and "RAPIDO_CLIENT_KEY" in res.output


def test_bad_timeout_value(cli, use_backend) -> None:
    use_backend(MemoryKeyring())
    write_cfg(cli.cfg)
    res = cli("profile", "set-key", input=TEST_KEY, env={"RAPIDO_KEYRING_TIMEOUT": "soon"})
    assert res.exit_code == 3 and "RAPIDO_KEYRING_TIMEOUT" in res.output


# ---------------------------------------------------------------- across processes


def test_set_key_then_send_across_processes(tmp_path: Path, rapido, sandbox: Sandbox) -> None:
    cfg = write_cfg(tmp_path / "profiles.yaml", sandbox.url)
    env = {**subprocess_env("FileKeyring", tmp_path), "RAPIDO_CONFIG": str(cfg)}
    res = rapido("profile", "set-key", "staging", env=env, input=TEST_KEY + "\n")
    assert res.code == 0, res.output
    assert TEST_KEY not in res.output
    res = rapido(*SEND, env=env)
    assert res.code == 0, res.output
    assert len(accepted(sandbox)) == 1
    assert rapido("profile", "delete-key", "staging", env=env).code == 0
    res = rapido(*SEND, env=env)
    assert res.code == 3 and "set-key staging" in res.stderr


@pytest.mark.slow  # a pseudo-terminal
def test_set_key_prompts_hidden_on_a_terminal(tmp_path: Path) -> None:
    import pty

    cfg = write_cfg(tmp_path / "profiles.yaml")
    env = {**os.environ, **subprocess_env("FileKeyring", tmp_path), "RAPIDO_CONFIG": str(cfg), "NO_COLOR": "1"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        os.execve(sys.executable, [sys.executable, "-m", "rapido_cli", "profile", "set-key", "staging"], env)
    out = b""
    deadline = time.monotonic() + 20
    sent = False
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not sent and b"input hidden" in out:
            os.write(fd, TEST_KEY.encode() + b"\n")
            sent = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = out.decode(errors="replace")
    assert sent, text
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert TEST_KEY not in text  # not echoed by the terminal, not printed back
    assert "****WXYZ" in text
    stored = json.loads((tmp_path / "keyring.json").read_text())
    assert stored == {f"{KEYRING_SERVICE}/staging": TEST_KEY}


# ---------------------------------------------------------------- a real Secret Service


def _secret_service_reason() -> str | None:
    # Only inside scripts/with-keyring.sh (a throwaway keyring): never write to a developer's own keyring.
    if os.environ.get("RAPIDO_KEYRING_SESSION") != "1":
        return "needs the throwaway keyring of scripts/with-keyring.sh"
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "no D-Bus session"
    try:
        from keyring.backends import SecretService

        if SecretService.Keyring.priority <= 0:  # type: ignore[operator]
            return "Secret Service backend not usable"
    except Exception as exc:  # any failure here just means "not available"
        return f"no Secret Service reachable: {type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="module")
def secret_service() -> None:
    reason = _secret_service_reason()
    if reason:
        pytest.skip(reason)


@pytest.mark.keyring_real
def test_real_keyring_set_key_then_send(secret_service: None, tmp_path: Path, rapido, sandbox: Sandbox) -> None:
    name = f"ci-{uuid.uuid4().hex[:8]}"
    cfg = write_cfg(tmp_path / "profiles.yaml", sandbox.url, name=name)
    env = {
        "RAPIDO_CONFIG": str(cfg),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
        "RAPIDO_KEYRING_TIMEOUT": "20",
    }
    try:
        res = rapido("profile", "set-key", name, env=env, input=TEST_KEY + "\n")
        assert res.code == 0, res.output
        if shutil.which("secret-tool"):
            look = subprocess.run(
                ["secret-tool", "lookup", "service", KEYRING_SERVICE, "username", name],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
            assert look.stdout.strip() == TEST_KEY  # it really is in the Secret Service
        res = rapido("profile", "show", "--json", env=env)
        assert json.loads(res.stdout)["key"] == {
            "masked": "****WXYZ",
            "source": "keyring",
            "spec": "keyring",
            "error": None,
        }
        res = rapido(*SEND, "-v", env=env)
        assert res.code == 0, res.output
        assert TEST_KEY not in res.output
        assert len(accepted(sandbox)) == 1
        res = rapido("doctor", env=env)
        assert res.code == 0, res.output
    finally:
        res = rapido("profile", "delete-key", name, env=env)
    assert res.code == 0 and "deleted" in res.stdout
    assert rapido(*SEND, env=env).code == 3


LOCKED_SCRIPT = r"""
import json, os, subprocess, sys, time
import secretstorage

def rapido(*args, stdin=None):
    p = subprocess.run([sys.executable, "-m", "rapido_cli", *args], input=stdin, capture_output=True, text=True,
                       timeout=60)
    return {"code": p.returncode, "out": p.stdout, "err": p.stderr}

out = {"set": rapido("profile", "set-key", "locked", stdin=os.environ["KEY"] + "\n")}
conn = secretstorage.dbus_init()
collection = secretstorage.get_default_collection(conn)
collection.lock()
out["locked"] = collection.is_locked()
start = time.monotonic()
out["send"] = rapido("send", "--user", "u1", "--type", "payment.completed", "--attr", "orderId=FL_1",
                     "--attr", "amount_total=1", "--max-attempts", "1")
out["send_s"] = time.monotonic() - start
print(json.dumps(out))
"""


@pytest.mark.keyring_real
def test_real_locked_keyring_fails_fast_with_exit_3(secret_service: None, tmp_path: Path, sandbox: Sandbox) -> None:
    # A nested throwaway session: locking it must not disturb the keyring other tests use.
    script = tmp_path / "locked.py"
    script.write_text(LOCKED_SCRIPT)
    cfg = write_cfg(tmp_path / "profiles.yaml", sandbox.url, name="locked")
    env = {k: v for k, v in os.environ.items() if k != "RAPIDO_KEYRING_SESSION"}
    env.update(
        {
            "RAPIDO_CONFIG": str(cfg),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
            "RAPIDO_KEYRING_TIMEOUT": "5",
            "KEY": TEST_KEY,
        }
    )
    wrapper = PROJECT_ROOT / "scripts" / "with-keyring.sh"
    proc = subprocess.run(
        [str(wrapper), sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["set"]["code"] == 0, out
    assert out["locked"] is True
    assert out["send"]["code"] == 3, out
    assert "locked" in out["send"]["err"] and "RAPIDO_CLIENT_KEY" in out["send"]["err"]
    assert out["send_s"] < 30  # fails (or times out) instead of waiting for an unlock nobody answers
    assert TEST_KEY not in proc.stdout + proc.stderr
    assert accepted(sandbox) == []
