"""Help that teaches: every command's ``--help`` works (lazy imports and all) and shows real examples.

The commands are enumerated from the app at test time, so a command module that lands later is
covered without touching this file.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
from conftest import run_rapido

from rapido_cli._version import __version__
from rapido_cli.cli import TASK_PANELS, build_app

#: Must never be imported to print help: they are what makes a Python CLI slow to start.
HEAVY = ("httpx", "pydantic", "keyring", "yaml")


def _walk(cmd: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    out = [(path, cmd)]
    for name, sub in getattr(cmd, "commands", {}).items():
        if not sub.hidden:
            out.extend(_walk(sub, (*path, name)))
    return out


ROOT_CMD = typer.main.get_command(build_app())
ALL = _walk(ROOT_CMD, ())
COMMANDS = [(path, cmd) for path, cmd in ALL if path]
#: Commands that do something (not groups): these must teach by example.
LEAVES = [(path, cmd) for path, cmd in COMMANDS if not getattr(cmd, "commands", None)]


#: Run in one fresh interpreter: import and assemble the app as every ``rapido`` run does, then fork
#: once per command so each ``--help`` starts from that state, as a real process would (a fork costs
#: ~0.1 s where a new interpreter costs ~0.5 s). Reports exit code, output and the heavy modules.
HELP_PROBE = r"""
import json, os, sys

heavy_roots, paths, outdir = sys.argv[1].split(","), json.loads(sys.argv[2]), sys.argv[3]

import rapido_cli.cli
import typer.rich_utils  # what every --help renders with (a heavy module it pulled in would show below)

rapido_cli.cli.build_app()
from rapido_cli.__main__ import main

for i, path in enumerate(paths):
    pid = os.fork()
    if pid == 0:
        for fd, name in ((1, "out"), (2, "err")):
            os.dup2(os.open(f"{outdir}/{i}.{name}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
        sys.argv = ["rapido", *path, "--help"]
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in heavy_roots or m == "rich.progress")
        with open(f"{outdir}/{i}.json", "w") as f:
            json.dump({"code": code, "heavy": heavy}, f)
        os._exit(0)
    os.waitpid(pid, 0)
"""


@dataclass
class Help:
    returncode: int
    stdout: str
    stderr: str
    heavy: list[str]  # modules of HEAVY (and rich.progress) imported to print it


def run(*args: str, importtime: bool = False) -> subprocess.CompletedProcess[str]:
    """``rapido ARGS`` (in-process unless ``importtime``: then a real process under ``-X importtime``)."""
    env = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    if not importtime:
        return run_rapido(*args, env=env).completed(list(args))
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rapido_cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@functools.cache
def _all_helps() -> dict[tuple[str, ...], Help]:
    paths = [list(p) for p, _ in ALL]
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, COLUMNS="200", NO_COLOR="1", TERM="dumb")
        proc = subprocess.run(
            [sys.executable, "-c", HELP_PROBE, ",".join(HEAVY), json.dumps(paths), out],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        found = {}
        for i, path in enumerate(paths):
            report = json.loads(Path(out, f"{i}.json").read_text())
            stdout, stderr = Path(out, f"{i}.out").read_text(), Path(out, f"{i}.err").read_text()
            found[tuple(path)] = Help(report["code"], stdout, stderr, report["heavy"])
    return found


def help_of(path: tuple[str, ...]) -> Help:
    """``rapido <path> --help`` in its own (forked) process; one probe serves all the tests."""
    return _all_helps()[path]


def imported_modules(stderr: str) -> set[str]:
    return {row.rsplit("|", 1)[-1].strip() for row in stderr.splitlines() if row.startswith("import time:")}


def examples_for(help_text: str, path: tuple[str, ...]) -> list[str]:
    """The example command lines in ``help_text`` that run ``rapido <path>`` (continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", help_text)
    head = re.escape(" ".join(("rapido", *path)))
    pattern = re.compile(rf"(?:^|[\s|;&(]){head}(?=\s|$)")
    return [line.strip() for line in joined.splitlines() if pattern.search(line)]


def option_names(cmd: Any) -> set[str]:
    names = {"--help", "-h"}
    for param in cmd.params:
        names.update(getattr(param, "opts", []))
        names.update(getattr(param, "secondary_opts", []))
    return names


def example_options(example: str, path: tuple[str, ...]) -> list[str]:
    """The options an example passes to ``rapido <path>`` (up to a pipe, redirection or `&&`)."""
    head = " ".join(("rapido", *path))
    segment = example[example.index(head) + len(head) :]
    segment = re.split(r"\s(?:\||>|&&|;|2>)", segment)[0]
    return [tok.split("=", 1)[0] for tok in segment.split() if re.match(r"^--?[A-Za-z]", tok)]


def test_the_app_has_commands() -> None:
    names = [path[0] for path, _ in COMMANDS]
    assert {"send", "send-booking"} <= set(names)


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=lambda p: " ".join(p) or "rapido")
def test_help_works_without_heavy_imports(path: tuple[str, ...]) -> None:
    proc = help_of(path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert f"Usage: rapido {' '.join(path)}".rstrip() in proc.stdout
    assert not proc.heavy, f"`rapido {' '.join(path)} --help` imported {proc.heavy[:8]}"
    assert "\x1b[" not in proc.stdout


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=lambda p: " ".join(p))
def test_help_shows_real_examples(path: tuple[str, ...]) -> None:
    cmd = dict(LEAVES)[path]
    proc = help_of(path)
    assert proc.returncode == 0, proc.stderr
    examples = examples_for(proc.stdout, path)
    assert len(examples) >= 2, f"`rapido {' '.join(path)} --help` shows {len(examples)} example(s): {examples}"
    known = option_names(cmd)
    for example in examples:
        unknown = [opt for opt in example_options(example, path) if opt not in known]
        assert not unknown, f"example {example!r} uses options the command does not have: {unknown}"


def test_rapido_alone_prints_the_overview_grouped_by_task() -> None:
    proc = run()
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert "Usage: rapido" in out
    # Which panel each command is listed under, read from the headings ("Send events:").
    panel_of: dict[str, str] = {}
    panel = None
    for line in out.splitlines():
        title = re.match(r"^(\S.*):$", line)
        if title:
            panel = title.group(1)
            continue
        row = re.match(r"^  ([a-z][a-z-]*)\s{2,}", line)
        if row and panel not in (None, "Options", "Global options", "Start here"):
            panel_of[row.group(1)] = str(panel)
    names = [path[0] for path, _ in COMMANDS if len(path) == 1]
    assert set(names) <= set(panel_of), f"not listed: {set(names) - set(panel_of)}"
    tasks = set(TASK_PANELS.values())
    misplaced = {n: p for n, p in panel_of.items() if p not in tasks}
    assert not misplaced, f"commands outside the task panels: {misplaced}"
    # Panels come in task order: sending first, local trial last.
    order = [p for p in dict.fromkeys(panel_of[n] for n in names)]
    assert order[0] == "Send events"


def test_root_help_examples_name_real_commands() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    top = {path[0] for path, _ in COMMANDS}
    mentioned = set(re.findall(r"\brapido ([a-z][a-z-]+)", proc.stdout))
    assert mentioned, "the overview shows no example"
    assert mentioned - {"command"} <= top | {"COMMAND"}, f"unknown commands in the overview: {mentioned - top}"


def test_every_command_is_in_a_task_panel() -> None:
    app = build_app()
    infos: list[Any] = [*app.registered_commands, *app.registered_groups]
    tasks = set(TASK_PANELS.values())
    for info in infos:
        assert info.rich_help_panel in tasks, f"{info.name}: panel {info.rich_help_panel!r}"


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str) -> None:
    proc = run(flag)
    assert proc.returncode == 0
    assert proc.stdout == f"rapido {__version__}\n"


def test_version_is_answered_before_the_framework_is_imported() -> None:
    proc = run("--version", importtime=True)
    assert proc.returncode == 0
    mods = imported_modules(proc.stderr)
    assert not {m for m in mods if m.split(".")[0] in {"typer", "rich", *HEAVY}}


def test_unknown_command_is_a_usage_error_on_stderr() -> None:
    proc = run("sned")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "sned" in proc.stderr
    assert "Traceback" not in proc.stderr
