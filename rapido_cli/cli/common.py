"""Options every command accepts, the per-invocation context, and the error boundary.

A command is written as ``def cmd(app: AppContext, ...)`` and decorated with
:func:`common_options`; the decorator adds ``--profile/--config/--json/-v/-q/--no-color/--sandbox``
to its signature, builds the :class:`AppContext`, and turns a :class:`RapidoError` into one
message on stderr and the documented exit code.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from rapido_cli.errors import ExitCode, RapidoError
from rapido_cli.text import inert, inert_markup

if TYPE_CHECKING:
    from rich.console import Console

    from rapido_cli.profiles import ResolvedProfile
    from rapido_cli.sandbox import Sandbox

F = TypeVar("F", bound=Callable[..., Any])

GLOBAL_PANEL = "Global options"


def _completion_config_path(config: object) -> Path:
    """The profiles file a completion should read: ``--config`` on the line, else as ``default_config_path``.

    Kept apart from :mod:`rapido_cli.profiles` on purpose: importing that module pulls in pydantic
    (~150 ms), too slow for a key press. Same order: flag, ``RAPIDO_CONFIG``, XDG, platformdirs.
    """
    if isinstance(config, (str, Path)) and str(config):
        return Path(config).expanduser()
    if os.environ.get("RAPIDO_CONFIG"):
        return Path(os.environ["RAPIDO_CONFIG"]).expanduser()
    if os.environ.get("XDG_CONFIG_HOME"):
        return Path(os.environ["XDG_CONFIG_HOME"]) / "rapido" / "profiles.yaml"
    import platformdirs

    return Path(platformdirs.user_config_dir("rapido", appauthor=False)) / "profiles.yaml"


def _complete_profile(ctx: typer.Context, incomplete: str) -> list[str]:
    """Profile names from the profiles file, for tab completion (yaml only; never fails).

    Read like the profiles file itself (regular file, size cap, bounded YAML), so a completion
    cannot hang on a FIFO or ``/dev/zero`` nor blow up on YAML aliases.
    """
    import yaml

    from rapido_cli import fs, safeyaml
    from rapido_cli.errors import RapidoError

    path = _completion_config_path(ctx.params.get("config"))
    try:
        data = safeyaml.load(fs.read_limited(path, what="profiles file").decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, safeyaml.YamlLimitError, RapidoError):
        return []
    profiles = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(profiles, dict):
        return []
    return sorted(str(n) for n in profiles if str(n).startswith(incomplete))


_COMMON: list[inspect.Parameter] = [
    inspect.Parameter(
        "profile",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--profile",
                "-p",
                envvar="RAPIDO_PROFILE",
                help="Profile to use (default: the file's `default`, else 'default').",
                rich_help_panel=GLOBAL_PANEL,
                autocompletion=_complete_profile,
                show_default=False,
            ),
        ],
    ),
    inspect.Parameter(
        "config",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Path | None,
            typer.Option(
                "--config",
                envvar="RAPIDO_CONFIG",
                help="Profiles file (default: <user config dir>/rapido/profiles.yaml).",
                rich_help_panel=GLOBAL_PANEL,
                show_default=False,
                dir_okay=False,
            ),
        ],
    ),
    inspect.Parameter(
        "json_output",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option("--json", help="Machine output on stdout (JSON).", rich_help_panel=GLOBAL_PANEL),
        ],
    ),
    inspect.Parameter(
        "verbose",
        inspect.Parameter.KEYWORD_ONLY,
        default=0,
        annotation=Annotated[
            int,
            typer.Option(
                "--verbose",
                "-v",
                count=True,
                help="More on stderr; shows each HTTP exchange, secrets masked.",
                rich_help_panel=GLOBAL_PANEL,
            ),
        ],
    ),
    inspect.Parameter(
        "quiet",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option("--quiet", "-q", help="Less on stderr.", rich_help_panel=GLOBAL_PANEL),
        ],
    ),
    inspect.Parameter(
        "no_color",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option("--no-color", help="Plain text (also NO_COLOR).", rich_help_panel=GLOBAL_PANEL),
        ],
    ),
    inspect.Parameter(
        "sandbox",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option(
                "--sandbox",
                help="Send to an embedded local sandbox receiver; nothing reaches Rapido.",
                rich_help_panel=GLOBAL_PANEL,
            ),
        ],
    ),
]
COMMON_NAMES = tuple(p.name for p in _COMMON)


@dataclass
class AppContext:
    """What one invocation knows about its environment; commands get it as their first argument."""

    profile: str | None = None
    config: Path | None = None
    json: bool = False
    verbose: int = 0
    quiet: bool = False
    no_color: bool = False
    sandbox: bool = False
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    _out: Console | None = None
    _err: Console | None = None
    _sandbox: Sandbox | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def color(self) -> bool:
        """Colour only when asked for nowhere against it: NO_COLOR and --no-color always win."""
        return not (self.no_color or "NO_COLOR" in self.environ)

    def _console(self, stderr: bool) -> Console:
        from rich.console import Console

        stream = sys.stderr if stderr else sys.stdout
        return Console(
            file=stream,
            no_color=not self.color,
            color_system="auto" if self.color else None,
            highlight=False,
            soft_wrap=not stream.isatty(),
        )

    @property
    def out(self) -> Console:
        """Rich console on stdout (human output)."""
        if self._out is None:
            self._out = self._console(stderr=False)
        return self._out

    @property
    def err(self) -> Console:
        """Rich console on stderr (diagnostics, progress)."""
        if self._err is None:
            self._err = self._console(stderr=True)
        return self._err

    def info(self, message: str) -> None:
        """A diagnostic line on stderr unless --quiet (shown inert: it may quote foreign text)."""
        if not self.quiet:
            self.err.print(inert(message), markup=False, highlight=False)

    def debug(self, message: str) -> None:
        """A line on stderr at -v (shown inert)."""
        if self.verbose > 0:
            self.err.print(inert(message), markup=False, highlight=False)

    def warn(self, message: str) -> None:
        """A warning on stderr, even with --quiet (the message shown inert, never as markup)."""
        if self.color:
            self.err.print(f"[yellow]warning:[/] {inert_markup(message)}", highlight=False)
        else:
            self.err.print(f"warning: {inert(message)}", markup=False, highlight=False)

    def on_close(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` when the command ends (successfully or not)."""
        self._closers.append(fn)

    def close(self) -> None:
        """Release what the command opened (the embedded sandbox, clients)."""
        while self._closers:
            self._closers.pop()()

    def start_sandbox(self) -> str:
        """Start the embedded sandbox on a free loopback port; return its base URL."""
        if self._sandbox is None:
            from rapido_cli.sandbox import Sandbox, SandboxConfig

            self._sandbox = Sandbox(SandboxConfig(host="127.0.0.1", port=0))
            self._sandbox.start()
            self.on_close(self._sandbox.stop)
            self.err.print(
                f"[bold yellow]SANDBOX[/] events go to a local receiver at {self._sandbox.url}; nothing reaches Rapido."
                if self.color
                else f"SANDBOX: events go to a local receiver at {self._sandbox.url}; nothing reaches Rapido."
            )
        return self._sandbox.url

    def resolve_profile(self, *, need_key: bool = True) -> ResolvedProfile:
        """The effective profile: flags, environment, file, key source; the sandbox when --sandbox."""
        from rapido_cli.profiles import resolve_profile

        sandbox_url = self.start_sandbox() if self.sandbox else None
        resolved = resolve_profile(
            self.profile,
            config_path=self.config,
            environ=self.environ,
            sandbox_url=sandbox_url,
            need_key=need_key,
        )
        for w in resolved.warnings:
            self.warn(w)
        return resolved


def report_error(app: AppContext, err: RapidoError) -> None:
    """Print one user error (and its hint) on stderr, inert: messages quote paths, values and answers."""
    if app.color:
        app.err.print(f"[bold red]error:[/] {inert_markup(err.message)}", highlight=False)
        if err.hint:
            app.err.print(f"[dim]hint:[/] {inert_markup(err.hint)}", highlight=False)
    else:
        app.err.print(f"error: {inert(err.message)}", markup=False, highlight=False)
        if err.hint:
            app.err.print(f"hint: {inert(err.hint)}", markup=False, highlight=False)


def common_options(func: F) -> F:
    """Add the global options to ``func(app, ...)`` and be its error boundary."""
    sig = inspect.signature(func, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name != "app"]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        common = {name: kwargs.pop(name) for name in COMMON_NAMES}
        app = AppContext(
            profile=common["profile"],
            config=common["config"],
            json=common["json_output"],
            verbose=common["verbose"],
            quiet=common["quiet"],
            no_color=common["no_color"],
            sandbox=common["sandbox"],
        )
        try:
            return func(app, *args, **kwargs)
        except RapidoError as err:
            report_error(app, err)
            raise typer.Exit(int(err.exit_code)) from None
        except KeyboardInterrupt:
            app.err.print("interrupted", markup=False)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        finally:
            app.close()

    wrapper.__signature__ = sig.replace(parameters=[*own, *_COMMON])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *_COMMON]}
    if sig.return_annotation is not inspect.Signature.empty:
        wrapper.__annotations__["return"] = sig.return_annotation
    return wrapper  # type: ignore[return-value]
