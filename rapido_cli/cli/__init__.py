"""The Typer application: one module per command group, each exposing ``register(app)``.

Command modules import only typer at module level; everything heavy is imported inside the
command functions, so ``rapido --help`` and tab completion stay fast (``tests/test_cli_help.py``
checks that no ``--help`` imports httpx, pydantic, keyring, yaml or rich.progress, and
``tests/test_completions.py`` that a completion imports none of them, nor rich).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from rapido_cli._version import __version__
from rapido_cli.cli.common import takes_globals
from rapido_cli.cli.framework import RapidoCommand, RapidoGroup

#: Modules that add commands. The root listing orders and groups the
#: commands by TASK_PANELS below, whatever the order here.
COMMAND_MODULES = (
    "rapido_cli.cli.send_cmd",
    "rapido_cli.cli.validate_cmd",
    "rapido_cli.cli.replay_cmd",
    "rapido_cli.cli.build_cmd",
    "rapido_cli.cli.history_cmd",
    "rapido_cli.cli.profile_cmd",
    "rapido_cli.cli.doctor_cmd",
    "rapido_cli.cli.sandbox_cmd",
    "rapido_cli.cli.trigger_cmd",
    "rapido_cli.cli.tail_cmd",
)

#: The module of each known command: a run of one command imports and builds only that module
#: (a command not listed here makes every module load, so a new module only costs start-up time).
MODULE_OF: dict[str, str] = {
    "send": "rapido_cli.cli.send_cmd",
    "send-booking": "rapido_cli.cli.send_cmd",
    "validate": "rapido_cli.cli.validate_cmd",
    "schema": "rapido_cli.cli.validate_cmd",
    "replay": "rapido_cli.cli.replay_cmd",
    "build": "rapido_cli.cli.build_cmd",
    "history": "rapido_cli.cli.history_cmd",
    "profile": "rapido_cli.cli.profile_cmd",
    "doctor": "rapido_cli.cli.doctor_cmd",
    "sandbox": "rapido_cli.cli.sandbox_cmd",
    "trigger": "rapido_cli.cli.trigger_cmd",
    "tail": "rapido_cli.cli.tail_cmd",
}

#: The root listing groups commands by task, in this order; this table is the one place that says
#: which. A command not named here keeps the panel its module gave it, after the known ones.
PANEL_SEND = "Send events"
PANEL_CHECK = "Check data"
PANEL_BULK = "Bulk: backfill and cron"
PANEL_SETUP = "Set up"
PANEL_LOCAL = "Try it locally"
TASK_PANELS: dict[str, str] = {
    "send": PANEL_SEND,
    "send-booking": PANEL_SEND,
    "validate": PANEL_CHECK,
    "schema": PANEL_CHECK,
    "build": PANEL_BULK,
    "replay": PANEL_BULK,
    "history": PANEL_BULK,
    "profile": PANEL_SETUP,
    "doctor": PANEL_SETUP,
    "sandbox": PANEL_LOCAL,
    "trigger": PANEL_LOCAL,
    "tail": PANEL_LOCAL,
}

#: Environment variable of the shell-completion protocol (Typer derives it from the program name).
COMPLETE_VAR = "_RAPIDO_COMPLETE"

HELP = """Send, validate and replay Rapido server-to-server booking events.

[bold]Start here[/]

  rapido profile add staging --base-url https://partner-staging.example.com \\
      --client-id acme-travel --app-id acme-pwa --service flights
  rapido profile set-key staging && rapido doctor
  rapido send-booking flight --user rapido_user_12345 --order-id FL_1 \\
      --amount 8500 --from DEL --to BLR \\
      --depart 2024-02-17T13:30+05:30 --arrive 2024-02-17T16:15+05:30
  rapido build flight --csv export.csv > events.jsonl
  rapido replay events.jsonl

Run [bold]rapido COMMAND --help[/] for options and examples. Global options go before or after
the command name (the later one wins). Add [bold]--sandbox[/] to a sending command to try it
against a local receiver: nothing reaches Rapido. Tab completion: [bold]rapido --install-completion[/],
or see completions/ in the project.
"""


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"rapido {__version__}")
        raise typer.Exit()


def _command_name(info: Any) -> str | None:
    """The name a registered command or group shows in the listing."""
    name = info.name if isinstance(info.name, str) else None
    if name:
        return name
    callback = getattr(info, "callback", None)
    if callback is not None:
        return str(callback.__name__).replace("_", "-")
    return None


def _apply_task_panels(app: typer.Typer) -> None:
    """Put each known command in its task panel of the root listing."""
    infos: list[Any] = [*app.registered_commands, *app.registered_groups]
    for info in infos:
        name = _command_name(info)
        if name in TASK_PANELS:
            info.rich_help_panel = TASK_PANELS[name]


def _use_rapido_classes(app: typer.Typer) -> None:
    """Every command and group is built with the classes of :mod:`rapido_cli.cli.framework`."""
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):
            command.cls = RapidoCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            _use_rapido_classes(group.typer_instance)
        if not isinstance(group.cls, type) or group.cls is TyperGroup:
            group.cls = RapidoGroup


class _RootGroup(RapidoGroup):
    """Lists commands in TASK_PANELS order, so panels read as a workflow."""

    command_order = tuple(TASK_PANELS)


def build_app(only: str | None = None) -> typer.Typer:
    """Assemble the app from the command modules that exist (only the one of command ``only``, if known)."""
    from rapido_cli.cli.framework import install_light_coercion

    install_light_coercion(completing=False)  # no-op when main() installed it for a completion
    app = typer.Typer(
        name="rapido",
        cls=_RootGroup,
        help=HELP,
        invoke_without_command=True,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        add_completion=True,
    )

    @app.callback()
    @takes_globals
    def _root(
        ctx: typer.Context,
        version: bool = typer.Option(
            False, "--version", "-V", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """Send, validate and replay Rapido server-to-server booking events."""
        # `rapido` alone is a request for the overview, not a usage error: print it, exit 0.
        if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())
            raise typer.Exit()

    modules = [MODULE_OF[only]] if only in MODULE_OF else COMMAND_MODULES
    for name in modules:
        # No ModuleNotFoundError is swallowed: a missing module is a packaging error and must show.
        importlib.import_module(name).register(app)
    _apply_task_panels(app)
    _use_rapido_classes(app)
    return app


#: Options of the root and of groups that take a value (so the word after them is not a command).
_VALUE_OPTIONS = frozenset({"-p", "--profile", "--config"})


def _command_words(done: Sequence[str]) -> list[str]:
    """The command words among completed words, skipping options and their values."""
    words: list[str] = []
    skip = False
    for word in done:
        if skip:
            skip = False
        elif word in _VALUE_OPTIONS:
            skip = True
        elif not word.startswith("-"):
            words.append(word)
    return words


def _completed_command_word(environ: Mapping[str, str]) -> str | None:
    """The command a completion request is inside of (``send`` in ``rapido -p x send --type <TAB>``).

    None while the command word itself is being completed. Reads the protocol's variables:
    ``COMP_WORDS``/``COMP_CWORD`` (bash) or ``_TYPER_COMPLETE_ARGS`` (zsh, fish, PowerShell).
    Values of ``-p``/``--config`` before the command are not commands.
    """
    if environ.get(COMPLETE_VAR, "").endswith("_bash"):
        words = environ.get("COMP_WORDS", "").split()
        try:
            done = words[1 : int(environ.get("COMP_CWORD", "0"))]
        except ValueError:
            return None
    else:
        line = environ.get("_TYPER_COMPLETE_ARGS", "")
        done = line.split()[1:]
        if done and not line.endswith(" "):
            done = done[:-1]
    commands = _command_words(done)
    return commands[0] if commands else None


def _first_command(argv: Sequence[str]) -> str | None:
    """The command word of a command line, when it names a command (else None: build them all)."""
    words = _command_words(argv[: argv.index("--")] if "--" in argv else argv)
    return words[0] if words and words[0] in MODULE_OF else None


def _keep_only(app: typer.Typer, name: str) -> None:
    """Drop every command but ``name`` (if the app has it): a completion inside one command needs no other."""
    commands = [c for c in app.registered_commands if _command_name(c) == name]
    groups = [g for g in app.registered_groups if _command_name(g) == name]
    if commands or groups:
        app.registered_commands = commands
        app.registered_groups = groups


def main(args: Sequence[str] | None = None) -> int:
    """Run the command line with ``args`` (default: ``sys.argv[1:]``); return the exit code."""
    completing = bool(os.environ.get(COMPLETE_VAR))
    from rapido_cli.cli import framework

    framework.install_light_coercion(completing=completing)
    argv = list(sys.argv[1:] if args is None else args)
    # Building Click commands for all the others is most of what is left of a start-up's cost.
    command = _completed_command_word(os.environ) if completing else _first_command(argv)
    app = build_app(only=command)
    if command is not None:
        _keep_only(app, command)
    result = typer.main.get_command(app).main(args=argv, prog_name="rapido", standalone_mode=False)
    return result if isinstance(result, int) else 0


def run() -> None:
    """Entry point used by ``rapido`` and ``python -m rapido_cli``."""
    sys.exit(main())
