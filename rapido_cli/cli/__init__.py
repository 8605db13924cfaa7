"""The Typer application: one module per command group, each exposing ``register(app)``.

Command modules import only typer at module level; everything heavy is imported inside the
command functions, so ``rapido --help`` and tab completion stay fast (``tests/test_cli_help.py``
checks that no ``--help`` imports httpx, pydantic, keyring, yaml or rich.progress, and
``tests/test_completions.py`` that a completion imports none of them, nor rich).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from typing import Any

import typer
from typer.core import TyperGroup

from rapido_cli._version import __version__

#: Modules that add commands (a missing one is skipped). The root listing orders and groups the
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
  rapido send-booking flight --user rapido_user_12345 --order-id FL_1 --amount 8500 \\
      --from DEL --to BLR --depart 2024-02-17T13:30+05:30 --arrive 2024-02-17T16:15+05:30
  rapido build flight --csv export.csv > events.jsonl && rapido replay events.jsonl

Run [bold]rapido COMMAND --help[/] for options and examples. Add [bold]--sandbox[/] to try any
sending command against a local receiver: nothing reaches Rapido.
Tab completion: [bold]rapido --install-completion[/], or see completions/ in the project.
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


class _TaskOrderedGroup(TyperGroup):
    """Lists commands in TASK_PANELS order (commands before groups otherwise), so panels read as a workflow."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        order = {name: i for i, name in enumerate(TASK_PANELS)}
        return sorted(names, key=lambda n: order.get(n, len(order)))


def build_app() -> typer.Typer:
    """Assemble the app from the command modules that exist."""
    app = typer.Typer(
        name="rapido",
        cls=_TaskOrderedGroup,
        help=HELP,
        invoke_without_command=True,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        add_completion=True,
    )

    @app.callback()
    def _root(
        ctx: typer.Context,
        version: bool = typer.Option(
            False, "--version", "-V", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """Send, validate and replay Rapido server-to-server booking events."""
        # `rapido` alone is a request for the overview, not a usage error: print it, exit 0.
        if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
            text = ctx.get_help()  # the rich formatter prints it and returns ""
            if text:
                typer.echo(text)
            raise typer.Exit()

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)
    _apply_task_panels(app)
    return app


_MARKUP = re.compile(r"\[/?[a-z #0-9_.=-]*\]")


def _plain_help(text: str) -> str:
    """Rich markup stripped from a completion hint, without importing rich."""
    return _MARKUP.sub("", text)


class _NothingToCoerce:
    """Stands in for Typer's per-parameter coercer when the value is None (see ``_lazy_coercion``)."""

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        # Same as Typer's RuntimeParam.coerce for None.
        return () if (param.multiple or param.nargs == -1) else None


_NOTHING = _NothingToCoerce()
_patched = False


def _lazy_coercion(completing: bool) -> None:
    """Keep pydantic out of runs that do not need it (``COMMAND --help``, tab completion).

    Typer 0.29 coerces every parameter value through a pydantic ``TypeAdapter`` that it builds
    on first use, even for an absent option (value None, where the result is just None/()).
    Building the first adapter imports pydantic: ~50 ms on ``rapido send --help`` (the root's
    ``--install-completion`` option is processed before the subcommand's ``--help``) and ~150 ms
    on a completion. So: an absent value goes through a trivial coercer with Typer's own None
    rule, and during completion (``ctx.resilient_parsing``) values stay raw strings: completion
    needs only the words, and Click skips parameter callbacks in that mode anyway. zsh/fish
    completion hints are stripped of markup with a regular expression instead of rich.
    If Typer's internals move, this does nothing and the CLI is only slower.
    """
    global _patched
    if _patched:
        return
    _patched = True
    from typer import _completion_classes, core

    param_cls = getattr(core, "_TyperParameter", None)
    original = getattr(param_cls, "process_value", None)
    if param_cls is None or original is None or not hasattr(param_cls, "get_runtime_param"):
        return

    def process_value(self: Any, ctx: Any, value: Any) -> Any:
        if completing and ctx.resilient_parsing:
            return value
        if value is None and getattr(self, "_runtime_param", _NOTHING) is None:
            self._runtime_param = _NOTHING
            try:
                return original(self, ctx, value)
            finally:
                self._runtime_param = None
        return original(self, ctx, value)

    param_cls.process_value = process_value
    if completing and hasattr(_completion_classes, "_sanitize_help_text"):
        _completion_classes._sanitize_help_text = _plain_help


def _completed_command_word(environ: Mapping[str, str]) -> str | None:
    """The command a completion request is inside of (``send`` in ``rapido send --type <TAB>``).

    None while the command word itself is being completed. Reads the protocol's variables:
    ``COMP_WORDS``/``COMP_CWORD`` (bash) or ``_TYPER_COMPLETE_ARGS`` (zsh, fish, PowerShell).
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
    return next((w for w in done if not w.startswith("-")), None)


def _keep_only(app: typer.Typer, name: str) -> None:
    """Drop every command but ``name`` (if the app has it): a completion inside one command needs no other."""
    commands = [c for c in app.registered_commands if _command_name(c) == name]
    groups = [g for g in app.registered_groups if _command_name(g) == name]
    if commands or groups:
        app.registered_commands = commands
        app.registered_groups = groups


def run() -> None:
    """Entry point used by ``rapido`` and ``python -m rapido_cli``."""
    completing = bool(os.environ.get(COMPLETE_VAR))
    _lazy_coercion(completing=completing)
    app = build_app()
    if completing:
        # Building Click commands for all the others is most of what is left of a completion's cost.
        command = _completed_command_word(os.environ)
        if command is not None:
            _keep_only(app, command)
    app(prog_name="rapido")
