"""Help pages that read as a manual, rendered without rich.

Layout (a leaf command)::

    Usage: rapido replay [OPTIONS] FILE

      Send every valid event of a JSON Lines file ...      (the description, wrapped)

    Arguments:
      FILE  ...
    Options:
      -c, --concurrency N   Requests in flight ...  [1 to 256; default: 8]
    Global options:
      -v, --verbose         More detail on stderr; repeat (-vv) for ...

    Examples:
      rapido replay events.jsonl ...                       (never wrapped)

A group lists its commands by panel after its description. The help strings of the command
modules keep their conventions: paragraphs separated by blank lines; an indented paragraph is
preformatted (examples, YAML) and never wrapped; a ``[bold]Title[/]`` paragraph is a heading.
Bold (headings, the usage word) only on a terminal, never with ``NO_COLOR`` or ``--no-color``.
"""

from __future__ import annotations

import inspect
import re
import shutil
import sys
import textwrap
from enum import Enum
from typing import Any

from rapido_cli.cli.framework import color_allowed, is_argument, metavar_for, usage_pieces

#: Help is wrapped to the terminal, but not wider than this (long lines are hard to read).
MAX_WIDTH = 100
MIN_WIDTH = 50
#: The option column is at most this wide; a longer option puts its help on the next line.
MAX_OPTION_COLUMN = 30
GLOBAL_PANEL = "Global options"

_BOLD, _RESET = "\x1b[1m", "\x1b[0m"
_NBSP = "\u00a0"
_TAG = re.compile(r"\\?\[(/?)([a-z][a-z0-9 #._=-]*|)\]")
_STYLE_WORDS = {
    "bold", "b", "dim", "italic", "i", "underline", "u", "reverse", "strike",
    "red", "green", "yellow", "blue", "cyan", "magenta", "white", "black", "default",
}  # fmt: skip


def _is_style_tag(body: str) -> bool:
    return all(word in _STYLE_WORDS for word in body.split())


def markup(text: str, bold: bool) -> str:
    """Rich-style markup of a help string made plain, or bold (only bold) on a styled terminal."""

    def swap(match: re.Match[str]) -> str:
        whole, closing, body = match.group(0), match.group(1), match.group(2)
        if whole.startswith("\\"):
            return whole[1:]  # an escaped bracket is a literal one
        if not _is_style_tag(body) or (body == "" and not closing):
            return whole  # not markup: `[OPTIONS]`, jq's `.[]`
        if not bold:
            return ""
        if closing:
            return _RESET
        return _BOLD if "bold" in body.split() or body == "b" else ""

    return _TAG.sub(swap, text)


def help_width() -> int:
    """Columns to wrap prose at: the terminal's (COLUMNS when set), within MIN..MAX_WIDTH."""
    columns = shutil.get_terminal_size((80, 24)).columns
    return max(MIN_WIDTH, min(columns, MAX_WIDTH))


class _Page:
    def __init__(self, width: int, bold: bool) -> None:
        self.width = width
        self.bold = bold
        self.lines: list[str] = []

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def heading(self, title: str) -> None:
        self.blank()
        self.lines.append(f"{_BOLD}{title}{_RESET}" if self.bold else title)

    def wrap(self, text: str, indent: str = "  ", hanging: str | None = None) -> None:
        self.lines.extend(
            textwrap.wrap(
                text,
                width=self.width,
                initial_indent=indent,
                subsequent_indent=indent if hanging is None else hanging,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [indent.rstrip()]
        )


def _paragraphs(text: str) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip():
            current.append(line.rstrip())
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _is_heading(paragraph: list[str]) -> bool:
    return len(paragraph) == 1 and paragraph[0].startswith("[bold]")


def _split_help(help_text: str | None) -> tuple[list[list[str]], list[list[str]]]:
    """(description paragraphs, the sections from the first heading on)."""
    text = inspect.cleandoc(help_text or "").partition("\f")[0]
    paragraphs = _paragraphs(text)
    for i, paragraph in enumerate(paragraphs):
        if _is_heading(paragraph):
            return paragraphs[:i], paragraphs[i:]
    return paragraphs, []


def _render_paragraphs(page: _Page, paragraphs: list[list[str]]) -> None:
    after_heading = False
    for paragraph in paragraphs:
        if _is_heading(paragraph):
            line = paragraph[0]
            title = markup(line, page.bold)
            if re.fullmatch(r"\[bold\][^\[]*\[/(bold)?\]", line):
                title += ":"
            page.blank()
            page.lines.append(title)
            after_heading = True
            continue
        if not after_heading:
            page.blank()
        after_heading = False
        if all(line[:1].isspace() for line in paragraph):
            # Preformatted (examples, file formats): as written, never wrapped.
            page.lines.extend(markup(line, page.bold) for line in paragraph)
        elif all(re.match(r"^[-*] ", line) or line[:1].isspace() for line in paragraph):
            items: list[str] = []
            for line in paragraph:
                if re.match(r"^[-*] ", line):
                    items.append(line[2:].strip())
                else:
                    items[-1] += " " + line.strip()
            for item in items:
                page.wrap(markup(item, False), indent="  - ", hanging="    ")
        else:
            page.wrap(markup(" ".join(line.strip() for line in paragraph), False))


# ---------------------------------------------------------------- parameters


def _option_label(param: Any) -> str:
    short = [o for o in param.opts if not o.startswith("--")]
    longs = [o for o in param.opts if o.startswith("--")]
    secondary = list(getattr(param, "secondary_opts", []) or [])
    names = ", ".join([*short, *longs, *secondary])
    if not short:
        names = "    " + names
    word = metavar_for(param)
    return f"{names} {word}" if word else names


def _default_text(param: Any, ctx: Any) -> str | None:
    show = getattr(param, "show_default", None)
    if isinstance(show, str):
        return show
    if show is False or getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    try:
        default = param.get_default(ctx, call=False)
    except Exception:  # noqa: BLE001 - a default that cannot be shown is simply not shown
        return None
    if default is None or default == () or default == [] or callable(default):
        return None
    if isinstance(default, Enum):
        return str(default.value)
    if isinstance(default, (list, tuple)):
        return ", ".join(str(d.value if isinstance(d, Enum) else d) for d in default) or None
    return str(default)


def _range_text(param: Any) -> str | None:
    if getattr(param, "count", False):
        return None
    info = getattr(getattr(param, "type_descriptor", None), "parameter_info", None)
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if low is not None and high is not None:
        return f"{low:g} to {high:g}"
    if low is not None:
        return f"at least {low:g}"
    if high is not None:
        return f"at most {high:g}"
    return None


def _param_help(param: Any, ctx: Any) -> str:
    text = " ".join(markup(param.help or "", False).split())
    if getattr(param, "name", None) == "help" and not getattr(param, "expose_value", True):
        text = "Show this help and exit."
    extras: list[str] = []
    if is_argument(param):
        desc = getattr(param, "type_descriptor", None)
        annotation = getattr(desc, "annotation", None)
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            names = [str(m.value) for m in annotation]
            if not all(n in text for n in names):
                extras.append("one of " + ", ".join(names))
        if not param.required:
            extras.append("optional")
    else:
        rng = _range_text(param)
        if rng:
            extras.append(rng)
        default = _default_text(param, ctx)
        if default:
            extras.append(f"default: {default}")
        envvar = getattr(param, "envvar", None)
        if envvar and getattr(param, "show_envvar", True):
            extras.append("env: " + (envvar if isinstance(envvar, str) else ", ".join(envvar)))
        if param.required:
            extras.append("required")
        if getattr(param, "multiple", False) and "repeat" not in text.lower():
            extras.append("repeatable")
    if extras:
        # No-break spaces keep the bracket on one line when wrapped (put back by _table).
        tail = "[" + "; ".join(extras).replace(" ", _NBSP) + "]"
        text = f"{text}  {tail}" if text else tail
    return text


def _table(page: _Page, rows: list[tuple[str, str]], column: int) -> None:
    help_width = max(20, page.width - column - 4)
    for left, right in rows:
        cell = "  " + left
        wrapped = textwrap.wrap(right, width=help_width, break_long_words=False, break_on_hyphens=False) or [""]
        wrapped = [part.replace(_NBSP, " ") for part in wrapped]
        if len(cell) > column + 2:
            page.lines.append(cell)
            page.lines.extend(" " * (column + 4) + part for part in wrapped)
            continue
        page.lines.append(f"{cell:<{column + 4}}{wrapped[0]}".rstrip())
        page.lines.extend(" " * (column + 4) + part for part in wrapped[1:])


def _panels(command: Any, ctx: Any) -> tuple[list[Any], dict[str, list[Any]]]:
    arguments: list[Any] = []
    panels: dict[str, list[Any]] = {"Options": []}
    help_option = command.get_help_option(ctx)
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        if is_argument(param):
            arguments.append(param)
            continue
        panel = getattr(param, "rich_help_panel", None) or "Options"
        if param is help_option and any(getattr(p, "rich_help_panel", None) == GLOBAL_PANEL for p in command.params):
            panel = GLOBAL_PANEL
        panels.setdefault(panel, []).append(param)
    if GLOBAL_PANEL in panels:
        panels[GLOBAL_PANEL] = panels.pop(GLOBAL_PANEL)  # last
    return arguments, {name: params for name, params in panels.items() if params}


def _command_rows(group: Any, ctx: Any) -> dict[str, list[tuple[str, str]]]:
    panels: dict[str, list[tuple[str, str]]] = {}
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        description, _ = _split_help(sub.short_help or sub.help or "")
        first = " ".join(line.strip() for line in description[0]) if description else ""
        first = re.split(r"(?<=[.:;])\s", first, maxsplit=1)[0].rstrip(":;")  # its first sentence
        panel = getattr(sub, "rich_help_panel", None) or "Commands"
        panels.setdefault(panel, []).append((name, markup(first, False)))
    return panels


def render_help(command: Any, ctx: Any, *, width: int | None = None, bold: bool | None = None) -> str:
    """The whole help page of ``command`` (a Click command built by Typer)."""
    from typer.core import TyperGroup

    page = _Page(width or help_width(), color_allowed(sys.stdout) if bold is None else bold)
    usage = " ".join([ctx.command_path, *usage_pieces(command, ctx)])
    page.lines.append(f"{_BOLD}Usage:{_RESET} {usage}" if page.bold else f"Usage: {usage}")

    description, sections = _split_help(command.help)
    is_group = isinstance(command, TyperGroup)
    if is_group:
        description, sections = description + sections, []  # a group's guide reads before its commands
    _render_paragraphs(page, description)

    arguments, panels = _panels(command, ctx)
    option_rows = {name: [(_option_label(p), _param_help(p, ctx)) for p in params] for name, params in panels.items()}
    argument_rows = [(metavar_for(p) or str(p.name).upper(), _param_help(p, ctx)) for p in arguments]
    command_rows = _command_rows(command, ctx) if is_group else {}
    lefts = [left for rows in (*option_rows.values(), argument_rows) for left, _ in rows]
    column = max((len(left) for left in lefts if len(left) <= MAX_OPTION_COLUMN), default=10)
    command_column = max((len(name) for rows in command_rows.values() for name, _ in rows), default=10)

    for panel, rows in command_rows.items():
        page.heading(f"{panel}:")
        _table(page, rows, command_column)
    if argument_rows:
        page.heading("Arguments:")
        _table(page, argument_rows, column)
    for panel, rows in option_rows.items():
        page.heading(f"{panel}:")
        _table(page, rows, column)

    _render_paragraphs(page, sections)
    return "\n".join(page.lines) + "\n"
