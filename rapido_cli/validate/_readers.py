"""Readers that turn JSON, JSON Lines and YAML text into events with line numbers.

Each reader yields :class:`Item` records: a parsed event (``parsed=True``) with the line where
it starts and a ``locate(path) -> line`` that finds the line of a field inside it, or a read
problem (``parsed=False``) at its line. Readers never raise on malformed input: every defect is
one problem at its line and reading goes on with the rest of the file where that is possible.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from json.decoder import WHITESPACE, scanstring  # type: ignore[attr-defined]
from typing import Any, Literal

import orjson

from rapido_cli.rules import Severity
from rapido_cli.safeyaml import event_loader_class

BOM = b"\xef\xbb\xbf"
_WS = WHITESPACE.match


@dataclass(slots=True)
class Item:
    """One event (``parsed``) or one read problem, at a 1-based ``line``."""

    line: int
    parsed: bool
    obj: Any = None
    message: str = ""
    severity: Severity = "error"
    size: int | None = None
    locate: Callable[[str], int] | None = None


# ---------------------------------------------------------------------------------------------
# JSON Lines: one line at a time (the hot path lives in rapido_cli.validate; this diagnoses)


class _Constant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


_STRICT = json.JSONDecoder(parse_constant=_reject_constant)


def diagnose_line(raw: bytes) -> tuple[bool, Any, str]:
    """Why orjson refused ``raw`` (one JSONL line): ``(parsed, value, message)``.

    Some values orjson refuses are still JSON (integers of hundreds of digits, nesting deeper
    than orjson's limit): then ``parsed`` is True and ``value`` is what the standard library
    made of it. A blank line gives ``(False, None, "")``.
    """
    if raw.startswith(BOM):
        raw = raw[3:]
    if not raw.strip():
        return False, None, ""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return False, None, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
    return parse_text(text)


def parse_text(text: str) -> tuple[bool, Any, str]:
    """Parse one complete JSON text strictly (no NaN/Infinity): ``(parsed, value, message)``."""
    try:
        value = _STRICT.decode(text)
    except _Constant as exc:
        return False, None, f"{exc} is not valid JSON (use a number or null)"
    except json.JSONDecodeError as exc:
        where = f" (column {exc.colno})" if exc.lineno == 1 else f" (line {exc.lineno}, column {exc.colno})"
        return False, None, f"not valid JSON: {_json_msg(exc, text)}{where}"
    except RecursionError:
        return False, None, "not accepted: nested too deeply"
    except ValueError as exc:  # e.g. integers longer than Python's digit limit
        return False, None, f"not accepted: {exc}"
    return True, value, ""


def _json_msg(exc: json.JSONDecodeError, text: str) -> str:
    if exc.pos >= len(text.rstrip()):
        return "truncated: the text ends inside a value"
    return exc.msg


# ---------------------------------------------------------------------------------------------
# JSON: an object, an array of objects (or, leniently, several objects one after the other)


class _Lines:
    """Offset → 1-based line number, for one text (and where its content ends)."""

    def __init__(self, text: str) -> None:
        self.starts = [m.end() for m in re.finditer("\n", text)]
        self.content_end = len(text.rstrip())

    def line(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) + 1


def read_json(data: bytes) -> Iterator[Item]:
    """Events of a ``.json`` file: one object, an array of them, or objects one after another."""
    text, bad = _decode(data)
    lines = _Lines(text)
    if bad is not None:
        yield Item(lines.line(bad[0]), False, message=bad[1])
    pos = _WS(text, 0).end()
    if pos >= len(text):
        yield Item(1, False, message="the file is empty: no JSON value")
        return
    if text[pos] == "[":
        yield from _read_array(text, pos, lines)
        return
    # One object. Values that follow it make the file invalid JSON: say so once (it is most
    # likely JSON Lines under a .json name), then check them as events all the same.
    values = 0
    while pos < len(text):
        values += 1
        if values == 2:
            yield Item(
                lines.line(pos),
                False,
                message="extra data after the first JSON value: a .json file holds one object or an array"
                " (JSON Lines? rename to .jsonl or pass --format jsonl)",
            )
        end, _ok = yield from _element(text, pos, lines, first_col=None)
        if end is None:
            return
        pos = _WS(text, end).end()


def _decode(data: bytes) -> tuple[str, tuple[int, str] | None]:
    """UTF-8 text (BOM dropped) and, if some bytes were not UTF-8, (offset, message) of the first."""
    if data.startswith(BOM):
        data = data[3:]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", "replace")
        # Everything before the first bad byte is valid UTF-8, so its length in characters is
        # the bad byte's offset in the decoded text.
        prefix = data[: exc.start].decode("utf-8")
        return text, (len(prefix), f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); read with replacements")


def _element(
    text: str, pos: int, lines: _Lines, first_col: int | None
) -> Generator[Item, None, tuple[int | None, bool]]:
    """Decode one value at ``pos`` and yield it (or its problem).

    Return ``(end, True)`` after a good value, ``(next_start, False)`` after a broken one
    (where reading can resume), with ``None`` meaning give up.
    """
    start_line = lines.line(pos)
    try:
        obj, end = _STRICT.raw_decode(text, pos)
    except _Constant as exc:
        m = _CONSTANT.search(text, pos)
        line = lines.line(m.start()) if m else start_line
        yield Item(line, False, message=f"{exc} is not valid JSON (use a number or null)")
        return _resync(text, pos + 1, first_col, lines), False
    except json.JSONDecodeError as exc:
        if exc.pos >= lines.content_end:
            yield Item(start_line, False, message="truncated: the file ends inside this event")
            return None, False
        yield Item(exc.lineno, False, message=f"not valid JSON: {exc.msg} (column {exc.colno})")
        return _resync(text, max(exc.pos, pos + 1), first_col, lines), False
    except RecursionError:
        yield Item(start_line, False, message="not accepted: nested too deeply")
        return _resync(text, pos + 1, first_col, lines), False
    except ValueError as exc:
        yield Item(start_line, False, message=f"not accepted: {exc}")
        return _resync(text, pos + 1, first_col, lines), False
    yield Item(start_line, True, obj=obj, locate=_json_locator(text, pos, lines))
    return end, True


_CONSTANT = re.compile(r"-?Infinity|NaN")
_LINE_OBJECT = re.compile(r"\n([ \t]*)\{")
_COMMA_OBJECT = re.compile(r",[ \t\r\n]*\{")


def _resync(text: str, pos: int, first_col: int | None, lines: _Lines) -> int | None:
    """After a broken element, the offset of the next plausible element start (an object).

    When the array's elements start on lines of their own, a candidate must start a line at
    the same column as the first element (so a nested ``"attributes": {`` is not taken for an
    event); otherwise it must follow a comma.
    """
    pattern = _LINE_OBJECT if first_col is not None else _COMMA_OBJECT
    for m in pattern.finditer(text, pos):
        brace = m.end() - 1
        if first_col is not None and len(m.group(1)) != first_col:
            continue
        try:
            _, end = _STRICT.raw_decode(text, brace)
        except (ValueError, RecursionError):
            continue
        after = _WS(text, end).end()
        if after >= len(text) or text[after] in ",]":
            return brace
    return None


def _read_array(text: str, pos: int, lines: _Lines) -> Iterator[Item]:
    pos = _WS(text, pos + 1).end()
    if pos < len(text) and text[pos] == "]":
        return
    first_col: int | None = None
    while True:
        if pos >= len(text):
            yield Item(lines.line(len(text)), False, message="truncated: the array is not closed with ]")
            return
        if first_col is None:
            line_start = text.rfind("\n", 0, pos) + 1
            first_col = pos - line_start if text[line_start:pos].strip() == "" else None
        end, ok = yield from _element(text, pos, lines, first_col)
        if end is None:
            return
        if not ok:
            pos = end  # resumed at the next element's start
            continue
        pos = _WS(text, end).end()
        if pos >= len(text):
            yield Item(lines.line(len(text)), False, message="truncated: the array is not closed with ]")
            return
        ch = text[pos]
        if ch == "]":
            rest = _WS(text, pos + 1).end()
            if rest < len(text):
                yield Item(lines.line(rest), False, message="extra data after the closing ]")
            return
        if ch != ",":
            yield Item(lines.line(pos), False, message=f"expected ',' or ']' between events, found {ch!r}")
            nxt = _resync(text, pos, first_col, lines)
            if nxt is None:
                return
            pos = nxt
            continue
        pos = _WS(text, pos + 1).end()
        if pos < len(text) and text[pos] == "]":
            yield Item(lines.line(pos), False, message="trailing comma before ] (not allowed in JSON)")
            return


def _json_locator(text: str, start: int, lines: _Lines) -> Callable[[str], int]:
    """``path -> line`` for the value that begins at ``start`` (only called when there are problems)."""

    def locate(path: str) -> int:
        pos = line_pos = start
        if path:
            for part in path.split("."):
                found = _member(text, pos, part)
                if found is None:
                    break
                line_pos, pos = found
        return lines.line(line_pos)

    return locate


def _member(text: str, pos: int, key: str) -> tuple[int, int] | None:
    """In the object at ``pos``, the offsets of the last ``key`` and its value (None if absent)."""
    if pos >= len(text) or text[pos] != "{":
        return None
    found: tuple[int, int] | None = None
    pos = _WS(text, pos + 1).end()
    try:
        while pos < len(text) and text[pos] == '"':
            key_pos = pos
            k, pos = scanstring(text, pos + 1)
            pos = _WS(text, pos).end()
            if text[pos] != ":":
                return found
            pos = _WS(text, pos + 1).end()
            if k == key:
                found = (key_pos, pos)
            _, pos = _STRICT.raw_decode(text, pos)
            pos = _WS(text, pos).end()
            if text[pos] != ",":
                break
            pos = _WS(text, pos + 1).end()
    except (ValueError, IndexError, RecursionError):
        pass
    return found


# ---------------------------------------------------------------------------------------------
# YAML: one document, a list, or several documents




_DOC_START = re.compile(r"^---(?:[ \t\r]|$)", re.M)
#: Alias-expanded nodes per event beyond which a document is refused (YAML "billion laughs").
MAX_YAML_NODES = 100_000


def read_yaml(data: bytes) -> Iterator[Item]:
    """Events of a YAML stream: documents that are an event each or a list of events."""
    import yaml

    text, bad = _decode(data)
    lines = _Lines(text)
    if bad is not None:
        yield Item(lines.line(bad[0]), False, message=bad[1])
    text = text.replace("\ufeff", "")
    offset_line = 0
    rest = text
    while True:
        loader = event_loader_class()(rest)
        try:
            while loader.check_node():
                node = loader.get_node()
                yield from _yaml_document(loader, node, offset_line)
            return
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            err_line = mark.line if mark is not None else 0
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            yield Item(offset_line + err_line + 1, False, message=f"not valid YAML: {problem}")
            # Go on with the next document after the broken one.
            nxt = _next_doc_start(rest, err_line)
            if nxt is None:
                return
            skipped_lines, rest = nxt
            offset_line += skipped_lines
        except RecursionError:
            yield Item(offset_line + 1, False, message="not accepted: nested too deeply")
            return
        finally:
            loader.dispose()


def _next_doc_start(text: str, after_line: int) -> tuple[int, str] | None:
    pos = 0
    for _ in range(after_line + 1):
        nl = text.find("\n", pos)
        if nl < 0:
            return None
        pos = nl + 1
    m = _DOC_START.search(text, pos)
    if m is None:
        return None
    return text.count("\n", 0, m.start()), text[m.start() :]


def _yaml_document(loader: Any, node: Any, offset_line: int) -> Iterator[Item]:
    import yaml

    if node is None:
        return
    children = list(node.value) if isinstance(node, yaml.SequenceNode) else [node]
    for child in children:
        line = offset_line + child.start_mark.line + 1
        if isinstance(child, yaml.ScalarNode) and child.tag.endswith(":null") and child is node:
            continue  # an empty document (e.g. a trailing ---)
        n = _count_nodes(child, MAX_YAML_NODES)
        if n > MAX_YAML_NODES:
            yield Item(line, False, message="the event expands to too many values (YAML aliases?)")
            continue
        try:
            obj = loader.construct_document(child)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = offset_line + mark.line + 1 if mark is not None else line
            yield Item(at, False, message=f"not valid YAML: {getattr(exc, 'problem', None) or exc}")
            continue
        except (TypeError, ValueError) as exc:  # e.g. an unhashable mapping key
            yield Item(line, False, message=f"not valid YAML: {exc}")
            continue
        yield Item(line, True, obj=obj, locate=_yaml_locator(child, offset_line))


def _count_nodes(node: Any, limit: int) -> int:
    """Nodes under ``node`` with aliases expanded, counting no further than ``limit + 1``."""
    import yaml

    count = 0
    stack = [node]
    while stack:
        n = stack.pop()
        count += 1
        if count > limit:
            return count
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.append(k)
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return count


def _yaml_locator(node: Any, offset_line: int) -> Callable[[str], int]:
    import yaml

    def locate(path: str) -> int:
        cur = node
        line = cur.start_mark.line
        if path:
            for part in path.split("."):
                if not isinstance(cur, yaml.MappingNode):
                    break
                for k, v in reversed(cur.value):
                    if isinstance(k, yaml.ScalarNode) and k.value == part:
                        line = k.start_mark.line
                        cur = v
                        break
                else:
                    break
        return offset_line + int(line) + 1

    return locate


# ---------------------------------------------------------------------------------------------


def sniff(head: bytes) -> Literal["json", "jsonl", "yaml"]:
    """Guess a format from the first bytes of a stream: ``json``, ``jsonl`` or ``yaml``."""
    if head.startswith(BOM):
        head = head[3:]
    stripped = head.lstrip()
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        first = stripped.split(b"\n", 1)[0]
        try:
            orjson.loads(first)
        except orjson.JSONDecodeError:
            return "json"
        return "jsonl"
    return "yaml"
