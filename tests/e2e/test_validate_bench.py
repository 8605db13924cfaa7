"""The benchmark's bounds that do not depend on machine load: streaming memory, and a sanity ratio."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

BENCH = PROJECT_ROOT / "bench"
sys.path.insert(0, str(BENCH))

from bench_validate import BASELINE, VALIDATE, generate  # noqa: E402


def run(code: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.slow
def test_200k_events_stream_within_100_mb(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    size = generate(path, 200_000)
    assert 80e6 < size < 110e6
    result = run(VALIDATE, path)
    assert result["events"] == 200_000
    assert result["maxrss_kb"] / 1024 < 100
    base = run(BASELINE, path)
    # CPU time is less sensitive to other processes than wall time; generous bound against noise.
    assert result["cpu"] < 2.0 * base["cpu"]


def test_small_file_same_code_paths(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    generate(path, 2_000)
    result = run(VALIDATE, path)  # VALIDATE asserts the report is valid
    assert result["events"] == 2_000
