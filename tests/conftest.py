"""Shared fixtures: isolated environment, a scripted loopback server, running the real CLI."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
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
    """What one run of ``rapido`` left: its exit code and what it wrote (text, and the raw bytes)."""

    code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes = field(default=b"", repr=False)
    stderr_bytes: bytes = field(default=b"", repr=False)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def completed(self, args: list[str], *, binary: bool = False) -> subprocess.CompletedProcess[Any]:
        """The same result as a :class:`subprocess.CompletedProcess` (for helpers written against one)."""
        if binary:
            return subprocess.CompletedProcess(args, self.code, self.stdout_bytes, self.stderr_bytes)
        return subprocess.CompletedProcess(args, self.code, self.stdout, self.stderr)


#: Environment variables only a fresh interpreter reads (PYTHONPATH, PYTHON_KEYRING_BACKEND, ...) or
#: that switch the program into shell-completion mode: a run given one of them is a real process.
_PROCESS_ONLY_PREFIXES = ("PYTHON", "_RAPIDO_COMPLETE", "_TYPER_COMPLETE")

#: In-process runs swap sys.stdin/stdout/stderr, sys.argv and os.environ: one at a time, whichever thread.
_IN_PROCESS = threading.RLock()


def needs_a_process(env: Mapping[str, str | None] | None) -> bool:
    """Whether ``env`` changes a variable only a fresh interpreter reads (see ``_PROCESS_ONLY_PREFIXES``)."""
    return any(
        k.startswith(_PROCESS_ONLY_PREFIXES) and os.environ.get(k) != v for k, v in (env or {}).items()
    )


def _text(data: bytes) -> str:
    # As subprocess.run(text=True) reads it: UTF-8, universal newlines.
    return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


def _run_process(
    args: list[str], env: dict[str, str | None], input: str | bytes | None, timeout: float, cwd: Path | None
) -> Result:
    full_env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    proc = subprocess.run(
        [sys.executable, "-m", "rapido_cli", *args],
        capture_output=True,
        env=full_env,
        cwd=cwd,
        input=input.encode() if isinstance(input, str) else input,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, _text(proc.stdout), _text(proc.stderr), proc.stdout, proc.stderr)


def _run_in_process(
    args: list[str], env: dict[str, str | None], input: str | bytes | None, cwd: Path | None
) -> Result:
    """``rapido ARGS`` in this interpreter, as ``python -m rapido_cli`` would run it (same entry point).

    stdin/stdout/stderr are in-memory streams (not terminals), ``env`` overlays os.environ for the run
    (a value of None removes the variable), and an exception that escapes becomes a traceback on
    stderr and exit code 1, as the interpreter would print it.
    """
    import click.formatting
    from click.testing import CliRunner

    from rapido_cli.__main__ import main

    with _IN_PROCESS, CliRunner().isolation(input=input, env=env) as (out, err, _):
        click.formatting.FORCED_WIDTH = None  # as in a process: COLUMNS decides (isolation sets 80, restores)
        saved_argv, saved_cwd = sys.argv, os.getcwd()
        saved_handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        sandboxes_before = _sandbox_threads()
        sys.argv = ["rapido", *args]
        code = 0
        try:
            if cwd is not None:
                os.chdir(cwd)
            main()
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except Exception:  # as the interpreter: a traceback on stderr, exit status 1
            traceback.print_exc(file=sys.stderr)
            code = 1
        finally:
            sys.argv = saved_argv
            os.chdir(saved_cwd)
            if threading.current_thread() is threading.main_thread():
                for sig, handler in saved_handlers.items():  # a process would exit; this one goes on
                    if handler is not None:
                        signal.signal(sig, handler)
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = out.getvalue(), err.getvalue()
    left = _sandbox_threads() - sandboxes_before
    assert not left, f"`rapido {' '.join(args)}` left an embedded sandbox running: {sorted(t.name for t in left)}"
    return Result(code, _text(stdout), _text(stderr), stdout, stderr)


def _sandbox_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("sandbox-") and t.is_alive()}


def run_rapido(
    *args: str,
    env: Mapping[str, str | None] | None = None,
    input: str | bytes | None = None,
    timeout: float = 60,
    in_process: bool | None = None,
    exact_env: bool = False,
    cwd: Path | None = None,
) -> Result:
    """Run ``rapido ARGS``: in this process by default (fast), or as a real ``python -m rapido_cli``.

    ``env`` is added to the current environment (``exact_env=True``: it *is* the environment).
    ``in_process=False`` asks for a real process: use it where the process is the point (signals,
    exit by signal, terminals, import costs). ``in_process=None`` (the default) runs in-process
    unless ``env`` holds a variable only a fresh interpreter reads (``needs_a_process``).
    ``timeout`` applies to real processes; in-process runs are bounded by pytest-timeout.
    """
    overlay: dict[str, str | None] = {}
    if exact_env:
        overlay.update({k: None for k in os.environ if k not in (env or {})})
    overlay.update(env or {})
    overlay.setdefault("COLUMNS", "200")
    if in_process is None:
        in_process = not needs_a_process(overlay)
    if in_process:
        return _run_in_process(list(args), overlay, input, cwd)
    return _run_process(list(args), overlay, input, timeout, cwd)


@pytest.fixture
def rapido() -> Callable[..., Result]:
    """Run the CLI: ``rapido("send", "--file", f, env={...}, input="...")`` -> :class:`Result`.

    In-process by default (see :func:`run_rapido`); ``in_process=False`` for a real process.
    """
    return run_rapido


@pytest.fixture
def rapido_proc() -> Callable[..., Result]:
    """Like ``rapido`` but always a real ``python -m rapido_cli`` process (signals, terminals, start-up)."""
    return functools.partial(run_rapido, in_process=False)


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """The ``rapido`` fixture under the name the security tests use (in-process by default)."""
    return run_rapido


@pytest.fixture
def invoke() -> Callable[..., Result]:
    """The ``rapido`` fixture under the name the toolkit tests use (in-process by default)."""
    return run_rapido


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
    """Slow tests (``@pytest.mark.slow``: soak, pty, browser, packaging) run only with RAPIDO_RUN_SLOW=1 (.ci/run)."""
    if run_slow():
        return
    skip = pytest.mark.skip(reason="slow: set RAPIDO_RUN_SLOW=1 to run it")
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


# ---------------------------------------------------------------- the sandbox, the CliRunner, waiting


@pytest.fixture
def sandbox_config() -> dict[str, Any]:
    """Settings of the ``sandbox`` fixture (besides host and port): override this fixture in a module."""
    return {"client_id": "acme-travel", "client_key": TEST_KEY}


@pytest.fixture
def sandbox(sandbox_config: dict[str, Any]) -> Iterator[Any]:
    """A running :class:`rapido_cli.sandbox.Sandbox` on a free loopback port, stopped afterwards."""
    from rapido_cli.sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(host="127.0.0.1", port=0, **sandbox_config)) as sb:
        yield sb


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    """Typer's CliRunner on the app: ``cli("profile", "show", input=..., env=...)`` -> click's Result.

    ``RAPIDO_CONFIG`` points at ``cli.cfg`` (``<tmp>/cfg/profiles.yaml``, not created).
    """
    from typer.testing import CliRunner

    from rapido_cli.cli import build_app

    cfg = tmp_path / "cfg" / "profiles.yaml"
    runner = CliRunner()
    app = build_app()

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
        full = {"RAPIDO_CONFIG": str(cfg), "COLUMNS": "200", **(env or {})}
        return runner.invoke(app, list(args), input=input, env=full, catch_exceptions=False)

    run.cfg = cfg  # type: ignore[attr-defined]
    return run


def wait_for(pred: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll ``pred`` until it returns something truthy, and return that; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


# ---------------------------------------------------------------- slow tests and fuzz sizes


def run_slow() -> bool:
    """RAPIDO_RUN_SLOW=1 (as .ci/run sets it): slow tests run, fuzz runs at full size."""
    return os.environ.get("RAPIDO_RUN_SLOW") == "1"


def fuzz_examples(full: int) -> int:
    """Hypothesis ``max_examples``: ``full`` with RAPIDO_RUN_SLOW=1, a tenth (at least 25) otherwise."""
    return full if run_slow() else max(25, full // 10)
