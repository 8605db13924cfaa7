"""Conventions users of gh, aws and httpie expect: global options anywhere, help that reads as a
manual, one style for usage errors, NO_COLOR, and ``--json`` honoured for failures too.

In-process through Typer's runner, except where a terminal is the point (a real pseudo-terminal).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from conftest import DATA
from test_output_conventions import clean_env, run_in_pty

from rapido_cli.cli import build_app
from rapido_cli.cli.common import GlobalOptions
from rapido_cli.cli.framework import SANDBOX_COMMANDS

ESC = "\x1b"
PROFILES = """\
default: a
profiles:
  a: {base_url: 'https://a.example', client_id: ca, app_id: aa, service: flights, key: 'env:KEY_A'}
  b: {base_url: 'https://b.example', client_id: cb, app_id: ab, service: hotels, key: 'env:KEY_B'}
"""


def _walk(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out = [(path, cmd)]
    for name, sub in getattr(cmd, "commands", {}).items():
        if not sub.hidden:
            out.extend(_walk(sub, (*path, name)))
    return out


ALL = _walk(typer.main.get_command(build_app()))
LEAVES = [(p, c) for p, c in ALL if p and not getattr(c, "commands", None)]


@pytest.fixture(autouse=True)
def _profiles(cli: Any) -> None:
    """PROFILES at ``cli.cfg``, where the conftest ``cli`` points RAPIDO_CONFIG."""
    cli.cfg.parent.mkdir()
    cli.cfg.write_text(PROFILES, encoding="utf-8")
    cli.cfg.chmod(0o600)


def shown_profile(res: Any) -> str:
    assert res.exit_code == 0, res.output
    return str(json.loads(res.stdout)["profile"])


# ---------------------------------------------------------------- global options, before or after


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-p", "b", "profile", "show", "--json"], "b"),
        (["profile", "show", "-p", "b", "--json"], "b"),
        (["--json", "-p", "b", "profile", "show"], "b"),
        (["-p", "a", "profile", "show", "-p", "b", "--json"], "b"),
        (["-p", "b", "profile", "show", "-p", "a", "--json"], "a"),
        (["profile", "-p", "b", "show", "--json"], "b"),
        (["-p", "a", "profile", "-p", "b", "show", "--json"], "b"),
        (["--profile=b", "profile", "show", "--json"], "b"),
    ],
)
def test_global_options_before_or_after_the_command_later_wins(cli, args: list[str], expected: str) -> None:
    assert shown_profile(cli(*args)) == expected


def test_environment_is_the_earliest_level(cli) -> None:
    assert shown_profile(cli("profile", "show", "--json", env={"RAPIDO_PROFILE": "b"})) == "b"
    assert shown_profile(cli("-p", "a", "profile", "show", "--json", env={"RAPIDO_PROFILE": "b"})) == "a"
    assert shown_profile(cli("profile", "show", "--json", "-p", "a", env={"RAPIDO_PROFILE": "b"})) == "a"


def test_config_before_the_command(cli, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("profiles:\n  zz: {base_url: 'https://z.example'}\n", encoding="utf-8")
    res = cli("--config", str(other), "profile", "list", "--json")
    assert [p["name"] for p in json.loads(res.stdout)["profiles"]] == ["zz"]


def test_json_before_the_command(cli) -> None:
    res = cli("--json", "profile", "list")
    assert json.loads(res.stdout)["default"] == "a"


def test_verbosity_adds_up_and_the_later_of_v_and_q_wins() -> None:
    g = GlobalOptions()
    g.merge({"verbose": 1})
    g.merge({"verbose": 2})
    assert (g.verbose, g.quiet) == (3, False)
    g.merge({"quiet": True})
    assert (g.verbose, g.quiet) == (0, True)
    g.merge({"verbose": 1})
    assert (g.verbose, g.quiet) == (1, False)


@pytest.mark.parametrize(("path", "cmd"), LEAVES, ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_sandbox_only_where_it_means_something(path: tuple[str, ...], cmd: Any) -> None:
    names = {o for p in cmd.params for o in getattr(p, "opts", [])}
    assert ("--sandbox" in names) == (path[-1] in SANDBOX_COMMANDS and len(path) == 1), path


def test_sandbox_on_a_command_without_it_is_a_usage_error(cli) -> None:
    res = cli("validate", "x.json", "--sandbox")
    assert res.exit_code == 2 and "unknown option --sandbox" in res.stderr
    res = cli("--sandbox", "send", "--user", "u")
    assert res.exit_code == 2 and "goes after the command name" in res.stderr


# ---------------------------------------------------------------- help that reads as a manual


LIBRARY_WORDS = re.compile(r"<(bool|str|int|float|list|file|path|dir)\b|\[x[<>]=|x[<>]=\d|\{[a-z_]+\}|Value error")


@pytest.mark.parametrize(("path", "cmd"), ALL, ids=lambda v: " ".join(v) or "rapido" if isinstance(v, tuple) else "")
def test_help_reads_as_a_manual(cli, path: tuple[str, ...], cmd: Any) -> None:
    res = cli(*path, "--help", env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert not LIBRARY_WORDS.search(out), LIBRARY_WORDS.search(out)
    assert "╭" not in out and ESC not in out
    usage = out.splitlines()[0]
    assert usage.startswith(f"Usage: {' '.join(('rapido', *path))} [OPTIONS]")
    verbose = [line for line in out.splitlines() if "-v, --verbose" in line]
    assert verbose and "repeat (-vv)" in verbose[0] + out[out.index(verbose[0]) :][:200]
    for line in out.splitlines():
        option = re.match(r"^\s+(-\w, )?--[\w-]+(?: ([^\s]+))?\s{2}", line)
        if option and option.group(2):
            word = option.group(2)
            assert re.fullmatch(r"[A-Z0-9=,.|_-]+(\.\.\.)?|[a-z]+(\|[a-z]+)+|[A-Z]+(\|[a-z]+)+", word), line


@pytest.mark.parametrize(
    ("path", "usage"),
    [
        (("replay",), "rapido replay [OPTIONS] FILE"),
        (("validate",), "rapido validate [OPTIONS] FILE..."),
        (("send-booking",), "rapido send-booking [OPTIONS] flight|hotel"),
        (("profile", "set"), "rapido profile set [OPTIONS] NAME KEY VALUE"),
        (("profile", "show"), "rapido profile show [OPTIONS] [NAME]"),
        ((), "rapido [OPTIONS] COMMAND [ARGS]..."),
    ],
)
def test_usage_lines(cli, path: tuple[str, ...], usage: str) -> None:
    assert cli(*path, "--help").stdout.splitlines()[0] == f"Usage: {usage}"


def _examples(help_text: str) -> list[str]:
    """The preformatted lines of a command's help source that run rapido (as written)."""
    text = inspect.cleandoc(help_text or "")
    return [line.rstrip() for line in text.splitlines() if line.startswith("  ") and "rapido" in line]


@pytest.mark.parametrize(("path", "cmd"), ALL, ids=lambda v: " ".join(v) or "rapido" if isinstance(v, tuple) else "")
def test_examples_are_intact_at_80_columns(cli, path: tuple[str, ...], cmd: Any) -> None:
    out = cli(*path, "--help", env={"COLUMNS": "80"}).stdout.splitlines()
    examples = _examples(cmd.help)
    if path and not getattr(cmd, "commands", None):
        assert examples, f"`rapido {' '.join(path)} --help` has no example"
    for example in examples:
        assert example in out, f"example broken at 80 columns: {example!r}"


@pytest.mark.parametrize(("path", "cmd"), ALL, ids=lambda v: " ".join(v) or "rapido" if isinstance(v, tuple) else "")
def test_examples_fit_80_columns(path: tuple[str, ...], cmd: Any) -> None:
    """So an 80-column terminal shows each example line as written (continued with a backslash)."""
    for example in _examples(cmd.help):
        assert len(example) <= 80, f"{len(example)} columns: {example!r}"


def test_examples_are_intact_on_an_80_column_terminal() -> None:
    env = clean_env()
    code, out, _ = run_in_pty(["send-booking", "--help"], env, columns=80)
    assert code == 0
    lines = [line.rstrip("\r") for line in out.split("\n")]
    for example in _examples(dict(ALL)[("send-booking",)].help):
        assert any(example in re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines), example


def test_prose_is_wrapped_to_the_terminal(cli) -> None:
    out = cli("replay", "--help", env={"COLUMNS": "80"}).stdout
    prose = [line for line in out.splitlines() if line.startswith("  ") and "rapido " not in line]
    assert prose and max(len(line) for line in prose) <= 80


# ---------------------------------------------------------------- one error style


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (["sned"], "unknown command 'sned'", "did you mean 'send'?"),
        (["profile", "lst"], "unknown command 'lst'", "did you mean 'list'"),
        (["profile", "add", "x", "--sevice", "hotels"], "unknown option --sevice", "did you mean --service?"),
        (["profile", "add", "x", "--service", "hotel"], "--service: 'hotel' is not one of flights, hotels",
         "did you mean 'hotels'?"),
        (["history", "--outcome", "sen"], "--outcome: 'sen' is not one of", "did you mean 'sent'?"),
        (["replay", "-c", "many", "f.jsonl"], "--concurrency: 'many' is not a whole number", None),
        (["replay", "-c", "0", "f.jsonl"], "--concurrency: must be between 1 and 256", None),
        (["replay"], "missing argument FILE", "usage: rapido replay [OPTIONS] FILE"),
        (["send", "--user"], "option --user needs a value", "e.g. --user ID"),
        (["send-booking", "boat"], "KIND: 'boat' is not one of flight, hotel", "rapido send-booking --help"),
    ],
)  # fmt: skip
def test_usage_errors_one_style(cli, args: list[str], error: str, hint: str | None) -> None:
    res = cli(*args)
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert lines[0].startswith("error: ") and error in lines[0], lines
    if hint is not None:
        assert lines[1].startswith("hint: ") and hint in lines[1], lines
    assert not re.search(r"Value error|Invalid value for|Usage:|Try '|╭|Error", res.stderr)


def test_usage_error_under_json_is_json_on_stdout(cli) -> None:
    res = cli("--json", "sned")
    assert res.exit_code == 2
    assert json.loads(res.stdout) == {
        "ok": False,
        "error": {"message": "unknown command 'sned' for 'rapido'", "hint": "did you mean 'send'?", "exit_code": 2},
    }


def test_send_json_on_a_locally_invalid_event(cli) -> None:
    res = cli("send", "--user", "u1", "--type", "order.confirmed", "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["error"]["exit_code"] == 1
    assert doc["error"]["message"].startswith("the event is invalid")
    assert res.stderr.startswith("error: the event is invalid")


def test_group_without_a_command_prints_its_help(cli) -> None:
    res = cli("profile")
    assert res.exit_code == 0 and res.stdout.startswith("Usage: rapido profile [OPTIONS] COMMAND")


# ---------------------------------------------------------------- colour: NO_COLOR and --no-color, on a terminal


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--help"], {"NO_COLOR": "1"}),
        (["send", "--help"], {"NO_COLOR": "yes"}),
        (["send", "--help", "--no-color"], {}),
        (["--no-color", "history", "--help"], {}),
        (["sned"], {"NO_COLOR": "1"}),
        (["sned", "--no-color"], {}),
    ],
    ids=["root-help", "help", "help-flag", "flag-before", "error", "error-flag"],
)
def test_no_escape_at_all_on_a_terminal(args: list[str], env: dict[str, str]) -> None:
    _, out, _ = run_in_pty(args, clean_env(**env))
    assert ESC not in out, repr(out[:300])
    assert ("error: " in out) == (args[0] == "sned")


def test_empty_no_color_is_ignored_for_help_and_errors() -> None:
    code, out, _ = run_in_pty(["send", "--help"], clean_env(NO_COLOR=""))
    assert code == 0 and "\x1b[1m" in out
    code, out, _ = run_in_pty(["sned"], clean_env(NO_COLOR=""))
    assert code == 2 and ESC in out


def test_same_words_on_a_terminal_and_in_a_pipe() -> None:
    piped = subprocess.run(
        [sys.executable, "-m", "rapido_cli", "sned"], capture_output=True, text=True, env=clean_env(), check=False
    )
    code, out, _ = run_in_pty(["sned"], clean_env(NO_COLOR="1"))
    assert code == piped.returncode == 2
    assert out.replace("\r\n", "\n") == piped.stderr


# ---------------------------------------------------------------- start-up: no heavy imports


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["validate", "ONE"], ["send", "--help"], ["sned"]],
    ids=["help", "version", "validate", "send-help", "usage-error"],
)
def test_fast_paths_import_no_pydantic_httpx_keyring(args: list[str], tmp_path: Path) -> None:
    event = json.loads((DATA / "seed" / "flight.json").read_text())
    one = tmp_path / "one.json"
    one.write_text(json.dumps(event), encoding="utf-8")
    argv = [str(one) if a == "ONE" else a for a in args]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rapido_cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )
    assert "Traceback" not in proc.stderr
    if args[0] == "validate":
        assert proc.returncode == 0, proc.stdout
    modules = {row.rsplit("|", 1)[-1].strip().split(".")[0] for row in proc.stderr.splitlines() if "|" in row}
    assert not modules & {"pydantic", "pydantic_core", "httpx", "keyring"}, sorted(
        modules & {"pydantic", "pydantic_core", "httpx", "keyring"}
    )
