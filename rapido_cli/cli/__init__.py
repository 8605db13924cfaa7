"""The Typer application: one module per command group, each exposing ``register(app)``.

Command modules import only typer at module level; everything heavy is imported inside the
command functions, so ``rapido --help`` and tab completion stay fast.
"""

from __future__ import annotations

import importlib

import typer

from rapido_cli._version import __version__

#: Modules that add commands, in the order their commands appear in help.
COMMAND_MODULES = (
    "rapido_cli.cli.send",
    "rapido_cli.cli.validate_cmd",
    "rapido_cli.cli.replay_cmd",
    "rapido_cli.cli.build_cmd",
    "rapido_cli.cli.history_cmd",
    "rapido_cli.cli.profile_cmd",
    "rapido_cli.cli.doctor_cmd",
    "rapido_cli.cli.sandbox_cmd",
)

HELP = """Send, validate and replay Rapido server-to-server booking events.

[bold]Send one event[/]        rapido send --file event.json  ·  rapido send-booking flight --from DEL --to BLR ...
[bold]Check files[/]           rapido validate events.jsonl  ·  rapido schema
[bold]Backfill / cron[/]       rapido build flight --csv export.csv > events.jsonl  ·  rapido replay events.jsonl  ·  rapido history
[bold]Set up[/]                rapido profile add staging ...  ·  rapido profile set-key staging  ·  rapido doctor
[bold]Try it locally[/]        rapido sandbox  ·  any command with --sandbox

Run [bold]rapido COMMAND --help[/] for options and examples.
"""


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"rapido {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """Assemble the app from the command modules that exist."""
    app = typer.Typer(
        name="rapido",
        help=HELP,
        no_args_is_help=True,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        add_completion=True,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", "-V", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """Send, validate and replay Rapido server-to-server booking events."""

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)
    return app


def run() -> None:
    """Entry point used by ``rapido`` and ``python -m rapido_cli``."""
    build_app()(prog_name="rapido")
