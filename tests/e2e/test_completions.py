"""Shell completion: the committed scripts are current, and the real protocol offers the right words.

Every test here runs the real program in a subprocess with the environment a shell would set
(``_RAPIDO_COMPLETE=complete_bash`` with ``COMP_WORDS``/``COMP_CWORD``, or ``complete_zsh`` /
``complete_fish`` with ``_TYPER_COMPLETE_ARGS``), and, where the shell is installed, sources the
committed file in that shell and lets it call the program.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from conftest import PROJECT_ROOT

from rapido_cli.cli import build_app

ROOT = PROJECT_ROOT
COMPLETIONS = ROOT / "completions"
EVENT_TYPES = ["order.confirmed", "order.cancelled", "order.modified", "payment.completed", "payment.failed"]

PROFILES_YAML = """\
default: staging
profiles:
  staging:
    base_url: https://partner-staging.example.com
    client_id: acme-travel
  production:
    base_url: https://partner.example.com
  prod-eu:
    base_url: https://partner-eu.example.com
"""


def visible_commands() -> list[str]:
    """Top-level command names the app has right now (whatever modules have landed)."""
    root = typer.main.get_command(build_app())
    return [n for n, c in getattr(root, "commands", {}).items() if not c.hidden]


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_text(PROFILES_YAML, encoding="utf-8")
    return path


def complete(shell: str, line: str, env: dict[str, str] | None = None, **extra: str) -> list[str]:
    """Ask the program for completions of ``line`` the way ``shell``'s script does."""
    full = dict(os.environ)
    full.update(env or {})
    full.update(extra)
    full["_RAPIDO_COMPLETE"] = f"complete_{shell}"
    if shell == "bash":
        words = line.split(" ")
        full["COMP_WORDS"] = line
        full["COMP_CWORD"] = str(len(words) - 1)
    else:
        full["_TYPER_COMPLETE_ARGS"] = line
        if shell == "fish":
            full["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    proc = subprocess.run(
        [sys.executable, "-m", "rapido_cli"], env=full, capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


# ------------------------------------------------------------ committed files


def test_committed_scripts_are_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_completions.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stderr.strip()} (run: python scripts/gen_completions.py)"


def test_committed_scripts_name_every_command() -> None:
    for name in ("rapido.bash", "_rapido", "rapido.fish"):
        text = (COMPLETIONS / name).read_text(encoding="utf-8")
        listed = re.search(r"^# Commands: (.*(?:\n#   .*)*)", text, re.M)
        assert listed is not None, name
        words = {w.split(" {")[0] for w in re.split(r"\s+(?![^{]*\})", listed.group(1).replace("\n#", ""))}
        assert set(visible_commands()) <= words, name


def test_zsh_file_starts_with_compdef() -> None:
    assert (COMPLETIONS / "_rapido").read_text(encoding="utf-8").startswith("#compdef rapido\n")


def test_scripts_match_what_install_completion_writes(tmp_path: Path) -> None:
    """`--install-completion` keeps working and installs the same protocol as completions/."""
    env = dict(os.environ, HOME=str(tmp_path), _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    proc = subprocess.run(
        [sys.executable, "-m", "rapido_cli", "--install-completion", "bash"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    installed = (tmp_path / ".bash_completions" / "rapido.sh").read_text(encoding="utf-8")
    assert "_RAPIDO_COMPLETE=complete_bash" in installed
    assert installed.strip() in (COMPLETIONS / "rapido.bash").read_text(encoding="utf-8")
    assert "source" in (tmp_path / ".bashrc").read_text(encoding="utf-8")

    for shell, name in (("fish", "rapido.fish"), ("zsh", "_rapido")):
        shown = subprocess.run(
            [sys.executable, "-m", "rapido_cli", "--show-completion", shell],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        assert f"_RAPIDO_COMPLETE=complete_{shell}" in shown.stdout
        assert f"_RAPIDO_COMPLETE=complete_{shell}" in (COMPLETIONS / name).read_text(encoding="utf-8")


# ------------------------------------------------------------ the protocol


def test_bash_offers_every_command() -> None:
    offered = complete("bash", "rapido ")
    assert set(visible_commands()) <= set(offered)
    assert complete("bash", "rapido send-b") == ["send-booking"]


def test_bash_offers_event_types_for_type() -> None:
    assert complete("bash", "rapido send --type ") == EVENT_TYPES
    assert complete("bash", "rapido send --type pay") == ["payment.completed", "payment.failed"]
    assert complete("bash", "rapido send-booking flight --type order.c") == ["order.confirmed", "order.cancelled"]


def test_bash_offers_profile_names_from_rapido_config(profiles: Path) -> None:
    env = {"RAPIDO_CONFIG": str(profiles)}
    assert complete("bash", "rapido send --profile ", env) == ["prod-eu", "production", "staging"]
    assert complete("bash", "rapido send -p prod", env) == ["prod-eu", "production"]
    assert complete("bash", "rapido send-booking hotel --profile st", env) == ["staging"]


def test_profile_completion_honours_config_on_the_line(profiles: Path) -> None:
    # No RAPIDO_CONFIG: the file named by --config earlier on the line is the one read.
    line = f"rapido send --config {profiles} --profile p"
    assert complete("bash", line) == ["prod-eu", "production"]


def test_profile_completion_reads_xdg_default_location(tmp_path: Path) -> None:
    config_home = tmp_path / "xdg"
    (config_home / "rapido").mkdir(parents=True)
    (config_home / "rapido" / "profiles.yaml").write_text(PROFILES_YAML, encoding="utf-8")
    assert complete("bash", "rapido send --profile s", {"XDG_CONFIG_HOME": str(config_home)}) == ["staging"]


@pytest.mark.parametrize(
    "content",
    ["", "profiles: [a, b]\n", "::: not yaml :::\n  - [\n", "default: x\n", "\xff\xfe binary"],
    ids=["empty", "list", "broken-yaml", "no-profiles", "binary"],
)
def test_profile_completion_never_fails(tmp_path: Path, content: str) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_bytes(content.encode("latin-1"))
    assert complete("bash", "rapido send --profile ", {"RAPIDO_CONFIG": str(path)}) == []
    assert complete("bash", "rapido send --profile ", {"RAPIDO_CONFIG": str(tmp_path / "missing.yaml")}) == []


def test_choices_are_offered() -> None:
    assert complete("bash", "rapido send-booking ") == ["flight", "hotel"]
    assert complete("bash", "rapido send-booking flight --status ") == ["CONFIRMED", "CANCELLED", "MODIFIED"]


def test_zsh_protocol(profiles: Path) -> None:
    out = "\n".join(complete("zsh", "rapido send --profile prod", {"RAPIDO_CONFIG": str(profiles)}))
    assert out.startswith("_arguments")
    assert '"prod-eu"' in out and '"production"' in out and "staging" not in out
    commands = "\n".join(complete("zsh", "rapido send"))
    assert '"send-booking":"Send a flight or hotel booking event' in commands
    assert "[bold]" not in commands


def test_fish_protocol() -> None:
    assert complete("fish", "rapido send --type payment.") == ["payment.completed", "payment.failed"]
    lines = complete("fish", "rapido sen")
    assert any(line.startswith("send\t") for line in lines)


def test_completion_does_not_import_heavy_modules(profiles: Path) -> None:
    """The deterministic side of "answered in under 150 ms": no pydantic, httpx, keyring or rich."""
    heavy = {"pydantic", "httpx", "keyring", "rich", "orjson", "airportsdata"}
    for shell, line in (
        ("bash", "rapido send --type "),
        ("bash", "rapido send --profile "),
        ("zsh", "rapido s"),
        ("bash", "rapido send-booking flight --status "),
    ):
        env = dict(
            os.environ,
            RAPIDO_CONFIG=str(profiles),
            _RAPIDO_COMPLETE=f"complete_{shell}",
            COMP_WORDS=line,
            COMP_CWORD=str(len(line.split(" ")) - 1),
            _TYPER_COMPLETE_ARGS=line,
        )
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "rapido_cli"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.strip(), line
        imported = {row.rsplit("|", 1)[-1].strip().split(".")[0] for row in proc.stderr.splitlines() if "|" in row}
        assert not heavy & imported, f"{line!r} imported {sorted(heavy & imported)}"


# ------------------------------------------------------------ the committed scripts in real shells


@pytest.fixture
def shell_env(tmp_path: Path, profiles: Path) -> dict[str, str]:
    """A PATH whose `rapido` is this checkout's program, and a profiles file."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "rapido"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m rapido_cli "$@"\n', encoding="utf-8")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", RAPIDO_CONFIG=str(profiles))


def _run_shell(argv: list[str], env: dict[str, str]) -> list[str]:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_script_in_bash(shell_env: dict[str, str]) -> None:
    script = COMPLETIONS / "rapido.bash"
    snippet = (
        f"source '{script}'; "
        "complete -p rapido >/dev/null || exit 3; "
        "COMP_WORDS=(rapido send --profile prod); COMP_CWORD=3; _rapido_completion rapido; "
        'printf "%s\\n" "${COMPREPLY[@]}"; echo --; '
        "COMP_WORDS=(rapido send-booking flight --type order.m); COMP_CWORD=4; _rapido_completion rapido; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = _run_shell(["bash", "--norc", "--noprofile", "-c", snippet], shell_env)
    assert out == ["prod-eu", "production", "--", "order.modified"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
def test_zsh_script_in_zsh_autoloaded_and_sourced(shell_env: dict[str, str]) -> None:
    # _arguments and compdef are stubbed: they only exist inside zle's completion system.
    stubs = '_arguments() { print -r -- "$*"; }; compdef() { print -r -- "compdef $*"; }; '
    autoload = (
        f"fpath=('{COMPLETIONS}' $fpath); autoload -Uz _rapido; {stubs}"
        "words=(rapido send --type pay); CURRENT=4; _rapido; "
        "words=(rapido send --profile st); CURRENT=4; _rapido"
    )
    out = _run_shell(["zsh", "-f", "-c", autoload], shell_env)
    assert out == ['*: :(("payment.completed" "payment.failed"))', '*: :(("staging"))']
    sourced = f"{stubs} source '{COMPLETIONS / '_rapido'}'; words=(rapido send -p prod); CURRENT=4; _rapido"
    out = _run_shell(["zsh", "-f", "-c", sourced], shell_env)
    assert out == ["compdef _rapido rapido", '*: :(("prod-eu" "production"))']


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish not installed")
def test_fish_script_in_fish(shell_env: dict[str, str]) -> None:
    snippet = (
        f"source '{COMPLETIONS / 'rapido.fish'}'; "
        "complete -C 'rapido send --profile prod'; echo SEP; complete -C 'rapido send --type payment.'"
    )
    out = _run_shell(["fish", "--no-config", "-c", snippet], shell_env)
    sep = out.index("SEP")
    assert sorted(out[:sep]) == ["prod-eu", "production"]
    assert sorted(out[sep + 1 :]) == ["payment.completed", "payment.failed"]


# ------------------------------------------------------------ only the command being completed is built


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"_RAPIDO_COMPLETE": "complete_bash", "COMP_WORDS": "rapido send --type ", "COMP_CWORD": "3"}, "send"),
        ({"_RAPIDO_COMPLETE": "complete_bash", "COMP_WORDS": "rapido se", "COMP_CWORD": "1"}, None),
        ({"_RAPIDO_COMPLETE": "complete_bash", "COMP_WORDS": "rapido ", "COMP_CWORD": "1"}, None),
        ({"_RAPIDO_COMPLETE": "complete_bash", "COMP_WORDS": "rapido", "COMP_CWORD": "x"}, None),
        ({"_RAPIDO_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "rapido profile sh"}, "profile"),
        ({"_RAPIDO_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "rapido profile"}, None),
        ({"_RAPIDO_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": "rapido profile "}, "profile"),
        ({"_RAPIDO_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": "rapido --help "}, None),
    ],
)
def test_completed_command_word(environ: dict[str, str], expected: str | None) -> None:
    from rapido_cli.cli import _completed_command_word

    assert _completed_command_word(environ) == expected


def test_group_subcommands_complete() -> None:
    root = typer.main.get_command(build_app())
    groups = {n: c for n, c in getattr(root, "commands", {}).items() if hasattr(c, "commands")}
    for name, group in groups.items():
        subs = [n for n, c in group.commands.items() if not c.hidden]
        assert complete("bash", f"rapido {name} ") == subs, name


ZPTY_SCRIPT = r"""
zmodload zsh/zpty
zpty -b z zsh -f -i
zpty -w z "PS1='%% '; fpath=('COMPLETIONS' \$fpath); autoload -Uz compinit; compinit -u -D; print RE''ADY"
zpty -r z out '*READY*'
# Keystrokes queue up in the terminal: zle reads the next ones only after the completion is done.
zpty -w -n z $'rapido send --type order.m\t\C-aprint -r -- RESULT: \C-e\n'
zpty -w -n z $'rapido send --profile st\t\C-aprint -r -- RESULT: \C-e\n'
zpty -w -n z $'rapido send-bo\t\C-aprint -r -- RESULT: \C-e\n'
zpty -w z "print DO''NE"
zpty -r z all '*DONE*'
print -r -- "$all"
zpty -d z
"""


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
def test_zsh_file_with_real_compinit(shell_env: dict[str, str], tmp_path: Path) -> None:
    """The real thing: an interactive zsh on a pseudo-terminal, compinit loading _rapido from $fpath."""
    script = tmp_path / "drive.zsh"
    script.write_text(ZPTY_SCRIPT.replace("COMPLETIONS", str(COMPLETIONS)), encoding="utf-8")
    proc = subprocess.run(
        ["zsh", "-f", str(script)], env=shell_env, capture_output=True, text=True, timeout=90, check=False
    )
    assert proc.returncode == 0, proc.stderr
    results = [line.strip() for line in proc.stdout.splitlines() if line.startswith("RESULT: ")]
    assert results == [
        "RESULT: rapido send --type order.modified",
        "RESULT: rapido send --profile staging",
        "RESULT: rapido send-booking",
    ], proc.stdout[-2000:]
