"""Options every command accepts, the per-invocation context, and the error boundary.

The global options (``-p/--profile``, ``--config``, ``--json``, ``-v``, ``-q``, ``--no-color``) are
accepted before the command name (by the root, and by a group such as ``profile``) and after it
(by the command); the later one wins: ``rapido -p a send -p b`` uses ``b``. Each level stores what
it was given in :class:`GlobalOptions` (``ctx.meta``), so the command sees the merged result.
``--sandbox`` is a command option, kept only where it means something
(:data:`rapido_cli.cli.framework.SANDBOX_COMMANDS`).

A command is written as ``def cmd(app: AppContext, ...)`` and decorated with
:func:`common_options`; the decorator adds the options to its signature, builds the
:class:`AppContext`, and is the error boundary: a :class:`RapidoError` becomes ``error:`` and
``hint:`` lines on stderr (and, with ``--json``, ``{"ok": false, "error": {...}}`` on stdout) and the
documented exit code.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
from collections.abc import Callable, Mapping
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
#: Where each level (root, group, command) leaves the global options it was given.
META_KEY = "rapido.globals"


def _completion_config_path(config: object) -> Path:
    """The profiles file a completion should read: ``--config`` on the line, else as ``default_config_path``.

    Kept apart from :mod:`rapido_cli.profiles` on purpose: importing that package pulls in pydantic
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


def _config_on_the_line(ctx: Any) -> object:
    """``--config`` as given on the command line being completed: the innermost level wins."""
    while ctx is not None:
        value = (getattr(ctx, "params", None) or {}).get("config")
        if value:
            return value
        ctx = ctx.parent
    return None


def complete_profile(ctx: typer.Context, incomplete: str) -> list[str]:
    """Profile names from the profiles file, for tab completion (yaml only; never fails).

    Read like the profiles file itself (regular file, size cap, bounded YAML), so a completion
    cannot hang on a FIFO or ``/dev/zero`` nor blow up on YAML aliases.
    """
    import yaml

    from rapido_cli import fs, safeyaml
    from rapido_cli.errors import RapidoError

    path = _completion_config_path(_config_on_the_line(ctx))
    try:
        data = safeyaml.load(fs.read_limited(path, what="profiles file").decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, safeyaml.YamlLimitError, RapidoError):
        return []
    profiles = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(profiles, dict):
        return []
    return sorted(str(n) for n in profiles if str(n).startswith(incomplete))


PROFILE_HELP = "Profile to use (default: the file's `default`, else 'default'); env RAPIDO_PROFILE."
CONFIG_HELP = "Profiles file (default: <user config dir>/rapido/profiles.yaml); env RAPIDO_CONFIG."
JSON_HELP = "Machine output on stdout: one JSON document (JSON Lines when streaming); errors too."
VERBOSE_HELP = "More detail on stderr; repeat (-vv) for more. -v shows each HTTP exchange, secrets masked."
QUIET_HELP = "Less on stderr: only errors and warnings."
NO_COLOR_HELP = "Plain text: no colour, no bold (also NO_COLOR=1)."
SANDBOX_HELP = "Send to an embedded local sandbox receiver; nothing reaches Rapido."


def _global_parameters(*, root: bool) -> list[inspect.Parameter]:
    """The global options as keyword parameters. Only the root reads RAPIDO_PROFILE/RAPIDO_CONFIG:
    an environment variable read again by the command would override a flag given before it."""

    def option(name: str, default: Any, annotation: Any, *decls: str, **kw: Any) -> inspect.Parameter:
        info = typer.Option(*decls, rich_help_panel=GLOBAL_PANEL, show_default=False, **kw)
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                 annotation=Annotated[annotation, info])  # fmt: skip

    env = {"envvar": "RAPIDO_PROFILE", "show_envvar": False} if root else {}
    cenv = {"envvar": "RAPIDO_CONFIG", "show_envvar": False} if root else {}
    params = [
        option(
            "profile",
            None,
            str | None,
            "--profile",
            "-p",
            help=PROFILE_HELP,
            autocompletion=complete_profile,
            metavar="NAME",
            **env,
        ),
        option("config", None, Path | None, "--config", help=CONFIG_HELP, dir_okay=False, metavar="FILE", **cenv),
        option("json_output", False, bool, "--json", help=JSON_HELP),
        option("verbose", 0, int, "--verbose", "-v", count=True, help=VERBOSE_HELP),
        option("quiet", False, bool, "--quiet", "-q", help=QUIET_HELP),
        option("no_color", False, bool, "--no-color", help=NO_COLOR_HELP),
    ]
    if not root:
        params.append(option("sandbox", False, bool, "--sandbox", help=SANDBOX_HELP))
    return params


_COMMON = _global_parameters(root=False)
COMMON_NAMES = tuple(p.name for p in _COMMON)
ROOT_GLOBALS = _global_parameters(root=True)


@dataclass
class GlobalOptions:
    """The global options after every level of the command line had its say (the later wins)."""

    profile: str | None = None
    config: Path | None = None
    json: bool = False
    verbose: int = 0
    quiet: bool = False
    no_color: bool = False

    def merge(self, given: Mapping[str, Any]) -> None:
        """Apply one level's values: what it was given replaces what an earlier level said."""
        if given.get("profile") is not None:
            self.profile = given["profile"]
        if given.get("config") is not None:
            self.config = given["config"]
        self.json = self.json or bool(given.get("json_output"))
        self.no_color = self.no_color or bool(given.get("no_color"))
        verbose, quiet = int(given.get("verbose") or 0), bool(given.get("quiet"))
        if verbose and not quiet:
            self.verbose, self.quiet = self.verbose + verbose, False
        elif quiet and not verbose:
            self.verbose, self.quiet = 0, True
        elif verbose and quiet:
            self.verbose, self.quiet = verbose, True


def merge_globals(ctx: Any, given: Mapping[str, Any]) -> GlobalOptions:
    """Record one level's global options in the invocation's :class:`GlobalOptions` and return it."""
    from rapido_cli.cli import framework

    options: GlobalOptions = GlobalOptions() if ctx is None else ctx.meta.setdefault(META_KEY, GlobalOptions())
    options.merge(given)
    if options.no_color:
        framework.NO_COLOR_FLAG = True
    return options


def _recording(func: F, params: list[inspect.Parameter]) -> F:
    """``func`` with the global options ``params`` added to its signature; their values are recorded
    in the invocation's :class:`GlobalOptions` instead of being passed on."""
    sig = inspect.signature(func, eval_str=True)
    own = list(sig.parameters.values())
    names = tuple(p.name for p in params)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from rapido_cli.cli.framework import get_current_context

        merge_globals(get_current_context(silent=True), {name: kwargs.pop(name, None) for name in names})
        return func(*args, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=[*own, *params])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *params]}
    if sig.return_annotation is not inspect.Signature.empty:
        wrapper.__annotations__["return"] = sig.return_annotation
    return wrapper  # type: ignore[return-value]


def takes_globals(func: F) -> F:
    """For the root callback ``func(ctx, ...)``: accept the global options (with their environment
    variables) before the command name, and record them for the command that follows."""
    return _recording(func, ROOT_GLOBALS)


def group_globals(func: F) -> F:
    """Like :func:`takes_globals` for a group (``rapido profile -p x list``): no environment variables."""
    return _recording(func, [p for p in _COMMON if p.name != "sandbox"])


_complete_profile = complete_profile  # the name modules used before


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
        """Colour unless asked against: ``--no-color`` or a non-empty ``NO_COLOR`` always win.

        An empty ``NO_COLOR=`` is ignored (no-color.org). Colour is also off on any stream that
        is not a terminal (the consoles see to that).
        """
        return not (self.no_color or self.environ.get("NO_COLOR", "") != "")

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


# ---------------------------------------------------------------- errors, one style


def error_text(message: str, hint: str | None, *, color: bool) -> str:
    """``error: ...`` (and ``hint: ...``) lines; foreign text made inert; colour only when asked."""
    from rapido_cli.text import inert

    head, tip = ("\x1b[1;31merror:\x1b[0m", "\x1b[2mhint:\x1b[0m") if color else ("error:", "hint:")
    text = f"{head} {inert(message, keep_newlines=True)}\n"
    if hint:
        text += f"{tip} {inert(hint, keep_newlines=True)}\n"
    return text


def write_error(
    message: str, hint: str | None, *, no_color: bool = False, environ: Mapping[str, str] | None = None
) -> None:
    """Print one user error on stderr: the same words on a terminal or in a pipe."""
    from rapido_cli.cli.framework import color_allowed

    color = not no_color and color_allowed(sys.stderr, environ)
    try:
        sys.stderr.write(error_text(message, hint, color=color))
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed: nothing more can be said
        pass


def json_error(message: str, hint: str | None, exit_code: int) -> dict[str, Any]:
    """What ``--json`` prints on stdout for a failure."""
    return {"ok": False, "error": {"message": message, "hint": hint, "exit_code": int(exit_code)}}


def write_json_error(message: str, hint: str | None, exit_code: int) -> None:
    """The failure as one JSON document on stdout (the error line still goes to stderr)."""
    from rapido_cli.output import print_json

    with contextlib.suppress(OSError, ValueError):  # stdout closed: nothing more can be said
        print_json(json_error(message, hint, exit_code))


def report_error(app: AppContext, err: RapidoError) -> None:
    """Print one user error (and its hint) on stderr."""
    write_error(err.message, err.hint, no_color=not app.color, environ=app.environ)


def common_options(func: F) -> F:
    """Add the global options to ``func(app, ...)`` and be its error boundary."""
    sig = inspect.signature(func, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name != "app"]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from rapido_cli.cli.framework import get_current_context

        given = {name: kwargs.pop(name, None) for name in COMMON_NAMES}
        merged = merge_globals(get_current_context(silent=True), given)
        app = AppContext(
            profile=merged.profile,
            config=merged.config,
            json=merged.json,
            verbose=merged.verbose,
            quiet=merged.quiet,
            no_color=merged.no_color,
            sandbox=bool(given.get("sandbox")),
        )
        try:
            return func(app, *args, **kwargs)
        except RapidoError as err:
            report_error(app, err)
            if app.json:
                write_json_error(err.message, err.hint, err.exit_code)
            raise typer.Exit(int(err.exit_code)) from None
        except KeyboardInterrupt:
            write_error("interrupted", None, no_color=not app.color, environ=app.environ)
            if app.json:
                write_json_error("interrupted", None, ExitCode.INTERRUPTED)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        finally:
            app.close()

    wrapper.__signature__ = sig.replace(parameters=[*own, *_COMMON])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *_COMMON]}
    if sig.return_annotation is not inspect.Signature.empty:
        wrapper.__annotations__["return"] = sig.return_annotation
    return wrapper  # type: ignore[return-value]


def silence_stdout() -> None:
    """The reader of our stdout went away (``| head``): point stdout at nothing.

    Later writes and the interpreter's final flush then cannot raise BrokenPipeError again; the
    one place that does this for ``build``, ``replay`` and ``tail``.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
