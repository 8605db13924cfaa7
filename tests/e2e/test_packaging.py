"""Packaging: one version, typed, a wheel and sdist that carry what the program needs, `pipx install .`.

The quick checks read the source tree. Building (``python -m build``, isolated, ~20 s) and
``pipx install`` (a fresh venv with every dependency, ~30-60 s) are marked slow; they build a copy
of the working tree so nothing is written into the checkout.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

from rapido_cli._version import __version__

ROOT = PROJECT_ROOT
PACKAGE = ROOT / "rapido_cli"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SKIP_COPY = shutil.ignore_patterns(
    ".git", "__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".venv", "venv", ".*_cache", ".hypothesis", "out"
)


# ---------------------------------------------------------------- the source tree


def test_version_is_single_sourced() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:[.-]?(?:a|b|rc|dev|post)\d+)?", __version__)
    assert "version" in PYPROJECT["project"]["dynamic"]
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "rapido_cli._version.__version__"}
    # No other module spells the version out.
    spelled = [
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if p.name != "_version.py" and re.search(rf"['\"]{re.escape(__version__)}['\"]", p.read_text(encoding="utf-8"))
    ]
    assert not spelled, f"the version is hard-coded in {spelled}; import it from rapido_cli._version"
    import rapido_cli

    assert rapido_cli.__version__ == __version__


def test_py_typed_and_static_files_are_declared() -> None:
    assert (PACKAGE / "py.typed").is_file()
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]["rapido_cli"]
    assert "py.typed" in package_data
    static = [p for p in (PACKAGE / "static").glob("*") if p.is_file()] if (PACKAGE / "static").is_dir() else []
    if static:
        assert any(pattern.startswith("static/") for pattern in package_data)


def test_console_script_points_at_main() -> None:
    assert PYPROJECT["project"]["scripts"] == {"rapido": "rapido_cli.__main__:main"}
    from rapido_cli.__main__ import main

    assert callable(main)


def test_python_m_and_console_script_are_the_same_program() -> None:
    via_m = subprocess.run(
        [sys.executable, "-m", "rapido_cli", "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    script = Path(sys.executable).parent / "rapido"
    if not script.exists():
        pytest.skip("no `rapido` console script next to this interpreter")
    via_script = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True, timeout=30)
    assert via_m.stdout == via_script.stdout == f"rapido {__version__}\n"


# ---------------------------------------------------------------- built artefacts


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as it is on disk, minus VCS and build leftovers."""
    dest = tmp_path_factory.mktemp("src") / "rapido-cli"
    shutil.copytree(ROOT, dest, ignore=SKIP_COPY)
    return dest


@pytest.fixture(scope="module")
def dists(source_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    if importlib.util.find_spec("build") is None:
        pytest.skip("`build` is not installed (pip install build)")
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source_copy)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheels = list(out.glob("*.whl"))
    sdists = list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    yield {"wheel": wheels[0], "sdist": sdists[0], "log": out}


@pytest.mark.slow
def test_wheel_contents(dists: dict[str, Path]) -> None:
    wheel = dists["wheel"]
    assert wheel.name == f"rapido_cli-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = zf.read(f"rapido_cli-{__version__}.dist-info/METADATA").decode()
        entry_points = zf.read(f"rapido_cli-{__version__}.dist-info/entry_points.txt").decode()
    assert "rapido_cli/py.typed" in names
    for path in (PACKAGE / "static").glob("*"):
        assert f"rapido_cli/static/{path.name}" in names
    for path in (PACKAGE / "trigger" / "scenarios").glob("*.yaml"):
        assert f"rapido_cli/trigger/scenarios/{path.name}" in names
    sources = {str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    missing = sources - names
    assert not missing, f"modules missing from the wheel: {sorted(missing)}"
    assert not [n for n in names if n.startswith(("tests/", "bench/", "scripts/"))]
    assert f"Version: {__version__}" in meta
    assert "Requires-Python: >=3.11" in meta
    assert "rapido = rapido_cli.__main__:main" in entry_points


@pytest.mark.slow
def test_sdist_contents(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert "pyproject.toml" in names
    assert "rapido_cli/py.typed" in names
    assert "rapido_cli/_version.py" in names
    for path in (PACKAGE / "static").glob("*"):
        assert f"rapido_cli/static/{path.name}" in names
    if (ROOT / "MANIFEST.in").exists():
        for name in ("rapido.bash", "_rapido", "rapido.fish"):
            assert f"completions/{name}" in names


@pytest.mark.slow
def test_pipx_install_dot(source_copy: Path, tmp_path: Path) -> None:
    """`pipx install .` in a throw-away PIPX_HOME gives a working `rapido` with its data files."""
    if importlib.util.find_spec("pipx") is None:
        pytest.skip("pipx is not installed (pip install pipx)")
    env = dict(
        os.environ,
        PIPX_HOME=str(tmp_path / "pipx"),
        PIPX_BIN_DIR=str(tmp_path / "bin"),
        PIPX_MAN_DIR=str(tmp_path / "man"),
        PIPX_DEFAULT_PYTHON=sys.executable,
    )
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pipx", "install", "."],
        cwd=source_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rapido = tmp_path / "bin" / "rapido"
    assert rapido.exists()

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(rapido), *args], env={**env, **extra}, capture_output=True, text=True, timeout=120, check=False
        )

    assert run("--version").stdout == f"rapido {__version__}\n"
    assert run("--help").returncode == 0
    dry = run(
        "send-booking", "flight", "--user", "u1", "--order-id", "FL_1", "--amount", "8500", "--from", "DEL",
        "--to", "BLR", "--depart", "2024-02-17T13:30+05:30", "--arrive", "2024-02-17T16:15+05:30",
        "--sandbox", "--dry-run", "--json",
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["request"]["body"]["event"]["type"] == "order.confirmed"
    completion = run(_RAPIDO_COMPLETE="complete_bash", COMP_WORDS="rapido send --type pay", COMP_CWORD="3")
    assert completion.stdout.split() == ["payment.completed", "payment.failed"]
    # Data files and the typing marker are installed, not only packed.
    venv_python = next((tmp_path / "pipx" / "venvs" / "rapido-cli").glob("bin/python"))
    check = subprocess.run(
        [
            str(venv_python),
            "-c",
            "import importlib.resources as r, rapido_cli;"
            "p = r.files('rapido_cli');"
            "print(p.joinpath('py.typed').is_file(), sorted(x.name for x in p.joinpath('static').iterdir()))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    typed, static = check.stdout.strip().split(" ", 1)
    assert typed == "True"
    for path in (PACKAGE / "static").glob("*"):
        assert path.name in static
