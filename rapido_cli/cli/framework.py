"""The command classes every ``rapido`` command is built with, and the conventions they carry.

- Help that reads as a manual (:mod:`rapido_cli.cli.helptext`): values named with words
  (``FILE``, ``N``, ``ZONE``), none for flags, usage lines such as ``rapido replay [OPTIONS] FILE``,
  examples never broken, no colour when ``NO_COLOR``/``--no-color`` say so.
- One style for usage errors: ``error: ...`` and ``hint: ...`` lines on stderr, exit 2, with
  "did you mean" for commands, options and choices (:func:`describe_usage_error`).
- ``--sandbox`` only on the commands where it means something (:data:`SANDBOX_COMMANDS`).
- Values coerced without pydantic (:func:`install_light_coercion`), so ``--help``, completion and
  the fast commands start quickly, with messages in our words.

Typer builds the Click commands; :func:`rapido_cli.cli.build_app` makes it use these classes.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

try:  # Typer >= 0.20 carries its own copy of Click
    from typer._click import exceptions as _errors
    from typer._click.globals import get_current_context as get_current_context
except ImportError:  # pragma: no cover - older Typer uses Click itself
    from click import exceptions as _errors  # type: ignore[no-redef]
    from click.globals import get_current_context as get_current_context  # type: ignore[no-redef]

UsageError = _errors.UsageError
BadParameter = _errors.BadParameter
MissingParameter = _errors.MissingParameter
NoSuchOption = _errors.NoSuchOption
BadOptionUsage = _errors.BadOptionUsage
Abort: type[BaseException] = getattr(typer, "Abort", RuntimeError)


class _NeverRaised(Exception):
    pass


#: A group called without a command (``rapido profile``): its help, not an error.
NoArgsIsHelp: type[BaseException] = getattr(_errors, "NoArgsIsHelpError", _NeverRaised)


def is_argument(param: Any) -> bool:
    """A positional argument (as opposed to an option)."""
    return getattr(param, "param_type_name", "") == "argument"


#: Commands on which ``--sandbox`` means something (it starts an embedded receiver to send to).
SANDBOX_COMMANDS = frozenset({"send", "send-booking", "replay", "doctor", "trigger"})

#: The word shown for an option's value, by its long name (or an argument's name). Commands may
#: still set ``metavar=`` themselves; that wins.
METAVARS: dict[str, str] = {
    "profile": "NAME",
    "name": "NAME",
    "config": "FILE",
    "file": "FILE",
    "files": "FILE...",
    "journal": "FILE",
    "dead-letter": "FILE",
    "export": "FILE",
    "attrs": "FILE",
    "csv": "FILE",
    "map": "FILE",
    "output": "FILE",
    "rejects": "FILE",
    "store": "FILE",
    "missed": "FILE",
    "key-file": "FILE",
    "ca-bundle": "FILE",
    "concurrency": "N",
    "max-attempts": "N",
    "limit": "N",
    "max-problems": "N",
    "rate-limit": "N",
    "seed": "N",
    "amount": "N",
    "port": "PORT",
    "timeout": "SECONDS",
    "max-duration": "SECONDS",
    "missed-after": "SECONDS",
    "latency": "MS",
    "tz": "ZONE",
    "since": "WHEN",
    "depart": "TIME",
    "arrive": "TIME",
    "check-in": "TIME",
    "check-out": "TIME",
    "user": "ID",
    "order-id": "ID",
    "event-id": "ID",
    "client-id": "ID",
    "app-id": "ID",
    "host-status": "STATUS",
    "base-url": "URL",
    "url": "URL",
    "host": "HOST",
    "attr": "KEY=VALUE",
    "set": "KEY=VALUE",
    "type": "TYPE",
    "from": "IATA",
    "to": "IATA",
    "origin": "LAT,LONG",
    "dest": "LAT,LONG",
    "location": "LAT,LONG",
    "key": "SOURCE",
    "delimiter": "CHAR",
    "encoding": "ENCODING",
    "faults": "SPEC",
    "scenario": "SCENARIO",
    "field": "KEY",
    "value": "VALUE",
}

#: Set by :func:`rapido_cli.cli.run` from the command line: ``--no-color`` anywhere before ``--``.
#: Help is printed while the command line is parsed, before the option itself is processed.
NO_COLOR_FLAG = False


def color_allowed(stream: Any, environ: Any = None) -> bool:
    """Colour and bold on ``stream``: a terminal, and neither ``NO_COLOR`` (non-empty) nor ``--no-color``.

    An empty ``NO_COLOR=`` is ignored, as no-color.org says; ``TERM=dumb`` means no escapes either.
    """
    env = os.environ if environ is None else environ
    if NO_COLOR_FLAG or env.get("NO_COLOR", "") != "" or env.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# ---------------------------------------------------------------- names shown for values


def _long_name(param: Any) -> str:
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    if opts:
        return str(opts[0][2:])
    return str(param.name or "").rstrip("_").replace("_", "-")


def _choices(param: Any) -> tuple[str, ...] | None:
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return None
    annotation = desc.annotation
    if get_list_item(annotation) is not None:
        annotation = get_list_item(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return tuple(str(m.value) for m in annotation)
    return None


def get_list_item(annotation: Any) -> Any:
    """``X`` for ``list[X]``, else None."""
    origin = getattr(annotation, "__origin__", None)
    if origin is list:
        args: tuple[Any, ...] = tuple(getattr(annotation, "__args__", ()))
        return args[0] if len(args) == 1 else None
    return None


def metavar_for(param: Any) -> str | None:
    """The word for a parameter's value: None for flags (nothing to show)."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    if param.metavar is not None:
        return str(param.metavar)
    name = _long_name(param)
    choices = _choices(param)
    if choices is not None:
        return "|".join(choices)
    desc = getattr(param, "type_descriptor", None)
    annotation = getattr(desc, "annotation", str)
    item = get_list_item(annotation)
    if item is not None:
        annotation = item
    if name == "rate":
        return "N" if annotation in (int, float) else "N|auto"
    if name in METAVARS:
        word = METAVARS[name]
        if is_argument(param) and param.nargs != 1 and not word.endswith("..."):
            word += "..."
        return word
    if annotation in (int, float):
        return "N"
    if isinstance(annotation, type) and issubclass(annotation, Path):
        info = getattr(desc, "parameter_info", None)
        if info is not None and info.dir_okay and not info.file_okay:
            return "DIR"
        return "FILE"
    return name.rsplit("-", 1)[-1].upper() or "VALUE"


def _assign_metavars(params: Sequence[Any]) -> None:
    for param in params:
        if param.metavar is None:
            word = metavar_for(param)
            if word is not None:
                param.metavar = word


# ---------------------------------------------------------------- the command classes


def usage_pieces(command: Any, ctx: Any) -> list[str]:
    """``[OPTIONS] FILE`` / ``[OPTIONS] [NAME]`` / ``[OPTIONS] COMMAND [ARGS]...``."""
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if is_argument(param) and not getattr(param, "hidden", False):
            word = param.metavar or metavar_for(param) or str(param.name).upper()
            if param.nargs != 1 and not word.endswith("..."):
                word += "..."
            pieces.append(word if param.required else f"[{word}]")
    if isinstance(command, TyperGroup):
        pieces.append(command.subcommand_metavar or "COMMAND [ARGS]...")
    return pieces


class RapidoCommand(TyperCommand):
    """A leaf command: manual-style help, words for values, ``--sandbox`` only where it applies."""

    def __init__(self, name: str | None, **kwargs: Any) -> None:
        params = kwargs.get("params")
        if params is not None and name not in SANDBOX_COMMANDS:
            kwargs["params"] = [p for p in params if p.name != "sandbox"]
        super().__init__(name, **kwargs)
        _assign_metavars(self.params)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return usage_pieces(self, ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from rapido_cli.cli.helptext import render_help

        formatter.write(render_help(self, ctx))


class RapidoGroup(TyperGroup):
    """A group (the root, ``profile``): the same help, commands listed in :attr:`command_order`.

    An unknown command is a usage error that suggests the closest name (``sned`` → ``send``).
    """

    #: Commands listed first, in this order (the rest after, in registration order).
    command_order: Sequence[str] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _assign_metavars(self.params)

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        order = {name: i for i, name in enumerate(self.command_order)}
        return sorted(names, key=lambda n: order.get(n, len(order)))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return usage_pieces(self, ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from rapido_cli.cli.helptext import render_help

        formatter.write(render_help(self, ctx))

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run, being the boundary for what the framework reports itself.

        A usage error (unknown command or option, bad value, missing argument) is printed as
        ``error:``/``hint:`` lines on stderr, exit 2, the same on a terminal or in a pipe; with
        ``--json`` the same error also goes to stdout as ``{"ok": false, "error": {...}}``. Errors
        raised by commands are handled by their own boundary (``common_options``).
        """
        global NO_COLOR_FLAG
        from rapido_cli.cli.common import write_error, write_json_error

        argv = list(sys.argv[1:] if args is None else args)
        options = argv[: argv.index("--")] if "--" in argv else argv
        NO_COLOR_FLAG = "--no-color" in options
        code: int
        try:
            result = super().main(
                args=argv, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
            code = result if isinstance(result, int) else 0
        except NoArgsIsHelp as exc:
            # `rapido profile`: the group's help, like `rapido` alone; not an error.
            sys.stdout.write(getattr(exc, "ctx").get_help() + "\n")  # noqa: B009 - typed as BaseException
            code = 0
        except UsageError as exc:
            message, hint = describe_usage_error(exc, self, argv)
            write_error(message, hint)
            if "--json" in options:
                write_json_error(message, hint, 2)
            code = 2
        except Abort:
            write_error("interrupted", None)
            code = 130
        if standalone_mode:
            sys.exit(code)
        return code

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name = args[0]
        command = self.get_command(ctx, name)
        if command is None and not ctx.resilient_parsing:
            if name.startswith("-"):
                self.parse_args(ctx, args)  # an option after the command's options: say which
            raise UnknownCommand(name, [n for n in self.list_commands(ctx) if not self.commands[n].hidden], ctx)
        return (name if command else None), command, args[1:]


class UnknownCommand(UsageError):
    """``rapido sned``: carries the names it could have been."""

    def __init__(self, name: str, known: list[str], ctx: Any) -> None:
        super().__init__(f"unknown command {name!r}", ctx)
        self.name = name
        self.known = known


class HintedBadParameter(BadParameter):
    """A bad value, with a hint of our own (e.g. the choice it is closest to)."""

    def __init__(self, message: str, *, hint: str | None = None, ctx: Any = None, param: Any = None) -> None:
        super().__init__(message, ctx=ctx, param=param)
        self.hint = hint


# ---------------------------------------------------------------- usage errors, one style


def did_you_mean(word: str, candidates: Sequence[str], *, quote: bool = True) -> str | None:
    """``did you mean 'send'?`` for the closest candidate(s), or None."""
    matches = difflib.get_close_matches(word, list(candidates), n=2, cutoff=0.6)
    if not matches and word:
        low = word.lower()
        matches = [c for c in candidates if c.lower() == low or c.lower().startswith(low)][:2]
    if not matches:
        return None
    shown = [f"'{m}'" if quote else m for m in matches]
    return f"did you mean {' or '.join(shown)}?"


def param_label(param: Any) -> str:
    """How an error names a parameter: ``--service``, or an argument's word (``FILE``)."""
    if param is None:
        return "value"
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")] or list(getattr(param, "opts", []))
    if is_argument(param) or not opts:
        word = str(param.metavar or metavar_for(param) or "")
        return word if word and "|" not in word else str(param.name).upper()
    return str(opts[0])


def _help_hint(ctx: Any) -> str | None:
    if ctx is None:
        return None
    return f"see `{ctx.command_path} --help`"


def _all_options(command: Any, ctx: Any) -> list[str]:
    names: list[str] = []
    for param in command.get_params(ctx):
        names.extend(o for o in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])] if o)
    return names


def _misplaced_option_hint(option: str, ctx: Any) -> str | None:
    """For an option given to a group (``rapido --sandbox send``) that one of its commands takes."""
    command = getattr(ctx, "command", None)
    if not isinstance(command, TyperGroup):
        return None
    owners = []
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden or isinstance(sub, TyperGroup):
            continue
        if option in _all_options(sub, ctx):
            owners.append(name)
    if not owners:
        return None
    return f"{option} goes after the command name, e.g. `{ctx.command_path} {owners[0]} ... {option}`"


def _similar(word: str, candidates: Sequence[str]) -> list[str]:
    """Candidates close to ``word``, compared without their leading dashes (``--`` would make
    every option look alike)."""
    bare = {c.lstrip("-"): c for c in candidates}
    close = difflib.get_close_matches(word.lstrip("-"), list(bare), n=2, cutoff=0.7)
    return [bare[c] for c in close]


def describe_usage_error(exc: Any, root: Any = None, argv: Sequence[str] = ()) -> tuple[str, str | None]:
    """A Click usage error as our ``(message, hint)``: lower case, no library wording.

    ``root`` and ``argv`` (the whole command and its arguments) let an error raised without a
    context (a missing option value) still name the command it was given to.
    """
    ctx = getattr(exc, "ctx", None)
    if ctx is None and root is not None:
        ctx = _context_for(root, argv)
    if isinstance(exc, UnknownCommand):
        hint = did_you_mean(exc.name, exc.known)
        where = ctx.command_path if ctx is not None else "rapido"
        return f"unknown command '{exc.name}' for '{where}'", hint or _help_hint(ctx)
    if isinstance(exc, NoSuchOption):
        option = exc.option_name
        command = getattr(ctx, "command", None)
        known = _all_options(command, ctx) if command is not None else list(exc.possibilities or [])
        matches = _similar(option, [k for k in known if k.startswith("--")] if option.startswith("--") else known)
        hint = f"did you mean {' or '.join(matches)}?" if matches else None
        hint = hint or _misplaced_option_hint(option, ctx) or _help_hint(ctx)
        return f"unknown option {option}", hint
    if isinstance(exc, MissingParameter):
        param = exc.param
        kind = "argument" if is_argument(param) else "option"
        label = param_label(param)
        return f"missing {kind} {label}", _usage_hint(ctx)
    if isinstance(exc, HintedBadParameter):
        return f"{param_label(exc.param)}: {exc.message}", exc.hint or _help_hint(ctx)
    if isinstance(exc, BadParameter):
        label = param_label(exc.param) if exc.param is not None else "value"
        return f"{label}: {_plain(exc.message)}", _help_hint(ctx)
    if isinstance(exc, BadOptionUsage):
        if "requires an argument" in exc.message:
            param = _find_option(ctx, exc.option_name)
            word = metavar_for(param) if param is not None else None
            example = f"e.g. {exc.option_name} {word}" if word else None
            return f"option {exc.option_name} needs a value", example or _help_hint(ctx)
        return _plain(exc.message), _help_hint(ctx)
    message = str(exc.message)
    extra = re.match(r"Got unexpected extra arguments?(?:\(s\))? \((.*)\)", message)
    if extra:
        words = extra.group(1)
        return f"unexpected argument{'s' if ' ' in words else ''}: {words}", _usage_hint(ctx)
    if message.startswith("Missing command"):
        return "missing command", _help_hint(ctx)
    return _plain(message), _help_hint(ctx)


def _usage_hint(ctx: Any) -> str | None:
    if ctx is None:
        return None
    return f"usage: {ctx.command_path} {' '.join(usage_pieces(ctx.command, ctx))}"


def _context_for(root: Any, argv: Sequence[str]) -> Any:
    """A context for the (sub)command ``argv`` names, built without parsing its options."""
    command, path = root, ["rapido"]
    ctx = None
    try:
        ctx = root.make_context("rapido", [], resilient_parsing=True)
        for word in argv:
            if not isinstance(command, TyperGroup):
                break
            if word.startswith("-"):
                continue
            sub = command.get_command(ctx, word)
            if sub is None:
                continue
            command = sub
            path.append(word)
            ctx = command.make_context(word, [], parent=ctx, resilient_parsing=True)
    except Exception:  # noqa: BLE001 - only used to word a message better; never fail on it
        return ctx
    return ctx


def _find_option(ctx: Any, name: str) -> Any:
    command = getattr(ctx, "command", None)
    if command is None:
        return None
    for param in command.get_params(ctx):
        if name in getattr(param, "opts", []) or name in getattr(param, "secondary_opts", []):
            return param
    return None


def _plain(message: str) -> str:
    """Library wording made ours: first letter lower case, no final period, no 'Value error, '."""
    text = message.strip()
    text = re.sub(r"^(Value error|Assertion failed), ", "", text)
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    if text[:1].isupper() and not text[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text


# ---------------------------------------------------------------- coercion without pydantic


class _LightCoercer:
    """Coerces a parameter's raw value for the plain types the commands use, in our words.

    Typer coerces through a pydantic ``TypeAdapter`` built on first use: importing pydantic costs
    ~150 ms, and its messages read "Value error, ...". Everything else still goes to Typer.
    """

    def __init__(self, annotation: Any, info: Any) -> None:
        self.item = get_list_item(annotation)
        self.annotation = self.item if self.item is not None else annotation
        self.info = info

    @staticmethod
    def supports(annotation: Any, info: Any) -> bool:
        item = get_list_item(annotation)
        leaf = item if item is not None else annotation
        if getattr(annotation, "__origin__", None) not in (None, list):
            return False
        if info is None or info.parser is not None or getattr(info, "clamp", False):
            return False
        if leaf in (str, int, float, bool):
            return True
        if isinstance(leaf, type) and issubclass(leaf, Enum):
            return True
        return leaf is Path and not info.allow_dash and info.path_type is None and not info.resolve_path

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None
        if multi:
            if isinstance(value, str):
                raise HintedBadParameter("expected several values", ctx=ctx, param=param)
            return [self._one(v, param, ctx) for v in value]
        return self._one(value, param, ctx)

    def _one(self, value: Any, param: Any, ctx: Any) -> Any:
        kind = self.annotation
        if isinstance(kind, type) and issubclass(kind, Enum):
            return self._choice(kind, value, param, ctx)
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "y", "on"):
                return True
            if text in ("", "0", "false", "no", "n", "off"):
                return False
            raise HintedBadParameter(f"{value!r} is not true or false", ctx=ctx, param=param)
        if kind is int or kind is float:
            return self._number(kind, value, param, ctx)
        if kind is Path:
            return self._path(value, param, ctx)
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)

    def _choice(self, enum: type[Enum], value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, enum):
            return value
        text = str(value)
        members = list(enum)
        for member in members:
            if str(member.value) == text:
                return member
        if not self.info.case_sensitive:
            for member in members:
                if str(member.value).casefold() == text.casefold():
                    return member
        names = [str(m.value) for m in members]
        raise HintedBadParameter(
            f"{text!r} is not one of {', '.join(names)}", hint=did_you_mean(text, names), ctx=ctx, param=param
        )

    def _number(self, kind: type, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise HintedBadParameter(f"{value!r} is not a number", ctx=ctx, param=param)
        try:
            number = kind(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            what = "a whole number" if kind is int else "a number"
            raise HintedBadParameter(f"{value!r} is not {what}", ctx=ctx, param=param) from None
        if kind is float and number != number:  # NaN passes every comparison below
            raise HintedBadParameter(f"{value!r} is not a number", ctx=ctx, param=param)
        low, high = self.info.min, self.info.max
        if (low is not None and number < low) or (high is not None and number > high):
            if low is not None and high is not None:
                rule = f"between {low:g} and {high:g}"
            elif low is not None:
                rule = f"at least {low:g}"
            else:
                rule = f"at most {high:g}"
            raise HintedBadParameter(f"must be {rule}, got {value}", ctx=ctx, param=param)
        return number

    def _path(self, value: Any, param: Any, ctx: Any) -> Any:
        from typer._param_types import coerce_cli_path

        path = value if isinstance(value, Path) else Path(os.fsdecode(value))
        try:
            return coerce_cli_path(path, self.info, path_type=Path, param=param, ctx=ctx)
        except BadParameter as exc:
            raise HintedBadParameter(_plain(exc.message), ctx=ctx, param=param) from None


_installed = False


def install_light_coercion(completing: bool) -> None:
    """Make Typer coerce the plain types with :class:`_LightCoercer` (pydantic only for the rest).

    During tab completion values stay raw strings: completion needs only the words, and Click
    skips parameter callbacks in that mode anyway. zsh/fish completion hints are stripped of
    markup with a regular expression instead of rich. If Typer's internals move, this does
    nothing and the program is only slower.
    """
    global _installed
    if _installed:
        return
    from typer import core

    param_cls = getattr(core, "_TyperParameter", None)
    original = getattr(param_cls, "get_runtime_param", None)
    if param_cls is None or original is None:
        return
    _installed = True

    def get_runtime_param(self: Any) -> Any:
        if getattr(self, "_runtime_param", None) is None:
            desc = self.type_descriptor
            info = desc.parameter_info
            if _LightCoercer.supports(desc.annotation, info) and desc.file_annotation is None:
                self._runtime_param = _LightCoercer(desc.annotation, info)
        return original(self)

    param_cls.get_runtime_param = get_runtime_param

    if completing:
        process = param_cls.process_value

        def process_value(self: Any, ctx: Any, value: Any) -> Any:
            if ctx.resilient_parsing:
                return value
            return process(self, ctx, value)

        param_cls.process_value = process_value
        try:
            from typer import _completion_classes

            if hasattr(_completion_classes, "_sanitize_help_text"):
                _completion_classes._sanitize_help_text = plain_markup
        except ImportError:  # pragma: no cover
            pass


_MARKUP = re.compile(r"\[/?[a-z #0-9_.=-]*\]")


def plain_markup(text: str) -> str:
    """Rich markup stripped from a help text, without importing rich."""
    return _MARKUP.sub("", text)
