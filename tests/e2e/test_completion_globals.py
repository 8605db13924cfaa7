"""Completion after global options and of positional profile names, in bash, zsh and fish.

The protocol is asked the way the shell scripts of ``completions/`` ask it (see
tests/test_completions.py); where the shell is installed, the committed script runs in it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_completions import COMPLETIONS, PROFILES_YAML, _run_shell, complete, profiles, shell_env  # noqa: F401 - fixtures

from rapido_cli.cli import _completed_command_word

NAMES = ["prod-eu", "production", "staging"]
POSITIONAL = ["use", "show", "set", "unset", "remove", "set-key", "delete-key"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "profiles.yaml"
    path.write_text(PROFILES_YAML, encoding="utf-8")
    return {"RAPIDO_CONFIG": str(path)}


@pytest.mark.parametrize("sub", POSITIONAL)
def test_bash_completes_positional_profile_names(sub: str, env: dict[str, str]) -> None:
    assert complete("bash", f"rapido profile {sub} ", env) == NAMES
    assert complete("bash", f"rapido profile {sub} prod", env) == ["prod-eu", "production"]


def test_profile_set_completes_settings_and_values(env: dict[str, str]) -> None:
    settings = complete("bash", "rapido profile set staging ", env)
    assert {"base_url", "timeout", "allow_http", "key"} <= set(settings)
    assert complete("bash", "rapido profile set staging ti", env) == ["timeout"]
    assert complete("bash", "rapido profile set staging service ", env) == ["flights", "hotels"]
    assert complete("bash", "rapido profile unset staging allow", env) == ["allow_http"]


def test_global_options_before_the_command(env: dict[str, str]) -> None:
    assert complete("bash", "rapido -p ", env) == NAMES
    assert complete("bash", "rapido --profile st", env) == ["staging"]
    commands = complete("bash", "rapido -p staging ", env)
    assert {"send", "replay", "profile"} <= set(commands)
    assert complete("bash", "rapido -p staging send --type pay", env) == ["payment.completed", "payment.failed"]
    assert complete("bash", "rapido --json -v profile use s", env) == ["staging"]


def test_config_before_the_command_is_read(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("profiles:\n  alpha: {}\n  beta: {}\n", encoding="utf-8")
    assert complete("bash", f"rapido --config {other} -p ", {}) == ["alpha", "beta"]
    assert complete("bash", f"rapido --config {other} profile show ", {}) == ["alpha", "beta"]


def test_zsh_and_fish_protocols_complete_positional_names(env: dict[str, str]) -> None:
    out = "\n".join(complete("zsh", "rapido profile use prod", env))
    assert '"prod-eu"' in out and '"production"' in out and "staging" not in out
    assert sorted(complete("fish", "rapido profile remove prod", env)) == ["prod-eu", "production"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("rapido -p send ", None),  # `send` is the profile name here, not a command
        ("rapido -p x send --type ", "send"),
        ("rapido --config f.yaml profile use ", "profile"),
        ("rapido --json -v replay ", "replay"),
    ],
)
def test_command_word_skips_option_values(line: str, expected: str | None) -> None:
    environ = {"_RAPIDO_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(line.split(" ")) - 1)}
    assert _completed_command_word(environ) == expected


# ---------------------------------------------------------------- the committed scripts in real shells


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_script_positional_and_after_globals(shell_env: dict[str, str]) -> None:  # noqa: F811
    script = COMPLETIONS / "rapido.bash"
    snippet = (
        f"source '{script}'; "
        "COMP_WORDS=(rapido profile use prod); COMP_CWORD=3; _rapido_completion rapido; "
        'printf "%s\\n" "${COMPREPLY[@]}"; echo --; '
        "COMP_WORDS=(rapido -p ''); COMP_CWORD=2; _rapido_completion rapido; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = _run_shell(["bash", "--norc", "--noprofile", "-c", snippet], shell_env)
    assert out == ["prod-eu", "production", "--", *NAMES]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
def test_zsh_script_positional(shell_env: dict[str, str]) -> None:  # noqa: F811
    stubs = '_arguments() { print -r -- "$*"; }; compdef() { :; }; '
    snippet = (
        f"fpath=('{COMPLETIONS}' $fpath); autoload -Uz _rapido; {stubs}"
        "words=(rapido profile set-key st); CURRENT=4; _rapido; "
        "words=(rapido -p staging profile show pro); CURRENT=6; _rapido"
    )
    out = _run_shell(["zsh", "-f", "-c", snippet], shell_env)
    assert out == ['*: :(("staging"))', '*: :(("prod-eu" "production"))']


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish not installed")
def test_fish_script_positional(shell_env: dict[str, str]) -> None:  # noqa: F811
    snippet = (
        f"source '{COMPLETIONS / 'rapido.fish'}'; "
        "complete -C 'rapido profile delete-key prod'; echo SEP; complete -C 'rapido -p st'"
    )
    out = _run_shell(["fish", "--no-config", "-c", snippet], shell_env)
    sep = out.index("SEP")
    assert sorted(out[:sep]) == ["prod-eu", "production"]
    assert out[sep + 1 :] == ["staging"]


def test_committed_scripts_mention_positional_names() -> None:
    for name in ("rapido.bash", "_rapido", "rapido.fish"):
        text = (COMPLETIONS / name).read_text(encoding="utf-8")
        assert "profile {list,show,add,set,unset,remove,use,set-key,delete-key}" in text
