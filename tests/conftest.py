"""Shared fixtures: isolated environment, a scripted loopback server, running the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: The tests folder, and the project around it: use these instead of ``Path(__file__).parent``, so a
#: test file can move between tests/unit, tests/cli and tests/e2e without its paths changing.
TESTS = Path(__file__).resolve().parent
PROJECT_ROOT = TESTS.parent
DATA = TESTS / "data"

# Helpers (httpserver, test_keyring_support, ...) sit in tests/; a few test modules import from each
# other across the layers (``from test_replay import Counted``): all importable by their plain name.
for _dir in (TESTS / "e2e", TESTS / "cli", TESTS / "unit", TESTS):
    if str(_dir) not in sys.path:
        sys.path.insert(0, str(_dir))

from httpserver import Reply, ScriptedServer  # noqa: E402

TEST_KEY = "sk_test_SECRET_abcd1234WXYZ"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real config, state or keyring of whoever runs the tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    for var in ("RAPIDO_PROFILE", "RAPIDO_CONFIG", "RAPIDO_BASE_URL", "RAPIDO_CLIENT_ID", "RAPIDO_APP_ID",
                "RAPIDO_SERVICE", "RAPIDO_CLIENT_KEY", "NO_COLOR", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RAPIDO_BACKOFF_BASE", "0.05")
    monkeypatch.setenv("RAPIDO_BACKOFF_CAP", "0.2")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def rapido() -> Callable[..., Result]:
    """Run the real CLI in a subprocess: ``rapido("send", "--file", f, env={...}, input="...")``."""

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60) -> Result:
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env.setdefault("COLUMNS", "200")
        proc = subprocess.run(
            [sys.executable, "-m", "rapido_cli", *args],
            capture_output=True,
            text=True,
            env=full_env,
            input=input,
            timeout=timeout,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def server() -> Iterator[Callable[..., ScriptedServer]]:
    """Start a scripted loopback server: ``srv = server([Reply(500), Reply(200, ok_body())])``."""
    started: list[ScriptedServer] = []

    def start(script: list[Reply] | None = None) -> ScriptedServer:
        srv = ScriptedServer(script).__enter__()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.__exit__(None, None, None)


def write_profiles(path: Path, base_url: str, *, key: str | None = None, name: str = "test", **extra: Any) -> Path:
    """A profiles.yaml with one profile (mode 0600) whose key comes from a 0600 key file."""
    import yaml

    body: dict[str, Any] = {
        "base_url": base_url,
        "client_id": "acme-travel",
        "app_id": "acme-pwa",
        "service": "flights",
        **extra,
    }
    if key is not None:
        key_file = path.parent / f"{name}.key"
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
        body["key"] = f"file:{key_file}"
    path.write_text(yaml.safe_dump({"default": name, "profiles": {name: body}}))
    path.chmod(0o600)
    return path


@pytest.fixture
def profile_env(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """Env for a subprocess using a profile that points at ``base_url`` with the test key."""

    def make(base_url: str, **extra: Any) -> dict[str, str]:
        cfg = write_profiles(tmp_path / "profiles.yaml", base_url, key=TEST_KEY, **extra)
        return {"RAPIDO_CONFIG": str(cfg)}

    return make


@pytest.fixture
def seed_dir() -> Path:
    return DATA / "seed"


__all__ = ["DATA", "PROJECT_ROOT", "TESTS", "TEST_KEY", "Reply", "Result", "ScriptedServer", "write_profiles"]



def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Soak tests (``@pytest.mark.slow``) run only with RAPIDO_RUN_SLOW=1 (set by .ci/run, bounded)."""
    if os.environ.get("RAPIDO_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow soak test: set RAPIDO_RUN_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def seed_event(name: str) -> dict[str, Any]:
    """A fresh copy of the seed's ``flight`` or ``hotel`` example (tests/data/seed/NAME.json)."""
    import json

    event: dict[str, Any] = json.loads((DATA / "seed" / f"{name}.json").read_text())
    return event


def booking(order_id: str, event_id: str | None = None, etype: str = "order.confirmed") -> dict[str, Any]:
    """The seed's flight example for another order (id ``evt_<order_id>`` unless given)."""
    event = seed_event("flight")
    event["event"] = {"type": etype, "id": event_id or f"evt_{order_id}"}
    event["attributes"]["orderId"] = order_id
    return event


#: A one-attempt `rapido send` of a small payment event, for credential and transport tests.
PAYMENT_SEND = [
    "send", "--user", "rapido_user_1", "--type", "payment.completed",
    "--attr", "orderId=FL_1", "--attr", "amount_total=100", "--max-attempts", "1",
]
