"""Start local receivers in their own processes (so they do not share the benchmark's GIL)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

_SANDBOX = """
import json, sys, threading
from rapido_cli.sandbox import Sandbox, SandboxConfig
cfg = json.loads(sys.argv[1])
sb = Sandbox(SandboxConfig(host="127.0.0.1", port=0, **cfg)).start()
print(sb.url, flush=True)
sys.stdin.read()  # until the parent closes our stdin
print(json.dumps(sb.stats()), flush=True)
sb.stop()
"""


class Server:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url
        self.final_stats: dict[str, Any] | None = None


@contextmanager
def sandbox_process(**config: Any) -> Iterator[Server]:
    """The project's sandbox (``rapido sandbox --latency ... --rate-limit ...``) in a child process."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SANDBOX, json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    url = proc.stdout.readline().strip()
    server = Server(proc, url)
    try:
        yield server
    finally:
        proc.stdin.close()
        line = proc.stdout.readline()
        if line.strip():
            server.final_stats = json.loads(line)
        proc.wait(30)


@contextmanager
def fast_server_process() -> Iterator[Server]:
    """bench/fast_server.py (asyncio, minimal HTTP/1.1) in a child process."""
    with tempfile.TemporaryDirectory() as d:
        port_file = Path(d) / "port"
        proc = subprocess.Popen([sys.executable, str(HERE / "fast_server.py"), str(port_file)])
        deadline = time.monotonic() + 10
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("fast server did not start")
            time.sleep(0.02)
        try:
            yield Server(proc, f"http://127.0.0.1:{port_file.read_text().strip()}")
        finally:
            proc.terminate()
            proc.wait(10)


def write_profile(directory: Path, url: str) -> dict[str, str]:
    """A profiles.yaml for ``url`` and the environment that selects it (key via RAPIDO_CLIENT_KEY)."""
    cfg = directory / "profiles.yaml"
    cfg.write_text(
        "default: bench\nprofiles:\n  bench:\n"
        f"    base_url: {url}\n    client_id: bench-client\n    app_id: bench-app\n    service: flights\n"
    )
    cfg.chmod(0o600)
    return {
        "RAPIDO_CONFIG": str(cfg),
        "RAPIDO_CLIENT_KEY": "sk_bench_0000000000",
        "XDG_STATE_HOME": str(directory / "state"),
        "XDG_CONFIG_HOME": str(directory / "config"),
    }


def run_replay(args: list[str], env: dict[str, str]) -> tuple[dict[str, Any], float, int, str]:
    """Run ``rapido replay ... --json --quiet``; return (summary, wall seconds, peak RSS in KiB, stderr)."""
    import os

    full = dict(os.environ)
    full.update(env)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rapido_cli", "replay", *args, "--json", "--quiet"],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    last = b""
    for line in proc.stdout:  # stream: the per-event lines are not kept
        last = line
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if not last.startswith(b'{"summary"'):
        raise RuntimeError(f"replay failed ({proc.returncode}): {err}")
    return json.loads(last)["summary"], wall, usage.ru_maxrss, err
