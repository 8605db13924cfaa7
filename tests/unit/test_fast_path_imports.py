"""The fast paths load no pydantic, httpx or keyring: they read the contract from rapido_cli.contract.

Real processes (``python -X importtime``): what a fresh ``rapido`` imports is the point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA

HEAVY = {"pydantic", "pydantic_core", "httpx", "keyring"}


def _imported(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"},
        timeout=60,
        check=False,
    )
    modules = {row.rsplit("|", 1)[-1].strip() for row in proc.stderr.splitlines() if row.startswith("import time:")}
    return proc, modules


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY} | ({"rapido_cli.models"} & modules)


@pytest.mark.parametrize("kind", ["json", "jsonl"])
def test_validate_a_file_imports_no_pydantic(kind: str, tmp_path: Path) -> None:
    event = json.loads((DATA / "seed" / "flight.json").read_text(encoding="utf-8"))
    path = tmp_path / f"one.{kind}"
    path.write_text(json.dumps(event) + "\n", encoding="utf-8")
    proc, modules = _imported("-m", "rapido_cli", "validate", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "rapido_cli.rules" in modules and "rapido_cli.contract" in modules  # it did validate
    assert not _heavy(modules), sorted(_heavy(modules))


def test_schema_help_imports_no_pydantic() -> None:
    proc, modules = _imported("-m", "rapido_cli", "schema", "--help")
    assert proc.returncode == 0 and "schema" in proc.stdout, proc.stderr[-2000:]
    assert not _heavy(modules), sorted(_heavy(modules))


def test_pydantic_free_modules_stay_so() -> None:
    """The modules that read the contract (validate, build, sandbox, replay, profiles) load no model."""
    names = [
        "rapido_cli.contract",
        "rapido_cli.rules",
        "rapido_cli.validate",
        "rapido_cli.build",
        "rapido_cli.csvbuild",
        "rapido_cli.sandbox.server",
        "rapido_cli.replay.engine",
        "rapido_cli.profiles",
    ]
    proc, modules = _imported("-c", "; ".join(f"import {n}" for n in names))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(names) <= modules
    assert not _heavy(modules), sorted(_heavy(modules))
