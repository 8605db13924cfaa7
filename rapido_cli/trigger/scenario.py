"""Scenario files: loading them (with line numbers), their parameters, and ``${...}`` references.

A scenario is a YAML mapping::

    name: flight-booking                 # optional in your own files (default: the file name)
    description: One line for `rapido trigger --list`.
    kind: flight                         # flight | hotel: how `booking` steps are built
    params:                              # every name here can be changed with --set NAME=VALUE
      user: rapido_user_12345
      order_id: FL_TRIGGER_1001
      amount: 8500
    steps:
      - name: confirm                    # unique; later steps refer to it
        booking: {status: CONFIRMED}     # built like `rapido send-booking KIND`
      - name: pay
        event:                           # any server event
          type: payment.completed
          attributes: {orderId: "${confirm.orderId}", amount_total: "${confirm.amount_total}"}
      - name: pwa_booking
        pwa: {eventType: booking_completed, properties: {booking_id: "${order_id}"}}

References (anywhere in a step): ``${NAME}`` is a parameter (or ``now``, the run's start as ISO
8601 UTC, or ``scenario``, its name); ``${STEP.PATH}`` (also written ``${steps.STEP.PATH}``) is a
field of what an earlier step built: ``${confirm.event.id}``, ``${confirm.attributes.orderId}``, or
for short ``${confirm.orderId}`` (a name that is not a top-level field is looked up in
``attributes``, or ``properties`` for a PWA step). A value that is only a reference keeps the
referenced type (a number stays a number); inside a longer string it is written as text.
``$${`` is a literal ``${``. Errors name the file and line.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from rapido_cli.csvbuild import COLUMNS
from rapido_cli.errors import DataError, UsageError

__all__ = [
    "BOOKING_FIELDS",
    "BUILTINS",
    "Scenario",
    "ScenarioError",
    "Step",
    "builtin_names",
    "load_builtin",
    "load_file",
    "load_scenario",
    "parse_scenario",
    "resolve",
]

StepKind = Literal["booking", "event", "pwa"]
Kind = Literal["flight", "hotel"]

SCENARIO_DIR = Path(__file__).parent / "scenarios"
#: Scenario files are small; anything bigger is refused before it is parsed.
MAX_SCENARIO_BYTES = 256 * 1024
#: Names a `booking` step (or a parameter feeding one) may set: send-booking's options without dashes.
BOOKING_FIELDS: tuple[str, ...] = tuple(dict.fromkeys((*COLUMNS["flight"], *COLUMNS["hotel"])))
#: Parameter names that feed a booking field of another name.
PARAM_ALIASES = {"user": "user_id"}
#: Names every scenario can refer to without declaring them.
BUILTINS = ("now", "scenario")
_TOP_KEYS = ("name", "description", "kind", "params", "steps", "requires_pwa")
_STEP_KINDS: tuple[StepKind, ...] = ("booking", "event", "pwa")
_STEP_KEYS = ("name", "skip", *_STEP_KINDS)
_EVENT_KEYS = ("type", "user", "id", "attributes")
_PWA_KEYS = ("eventType", "properties")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_REF = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_ENVELOPE_TOP = ("userId", "event", "attributes", "schemaVersion")
_PWA_TOP = ("eventType", "properties")


class ScenarioError(DataError):
    """A scenario that cannot be run as written; the message starts with ``FILE:LINE:``."""

    def __init__(self, source: str, line: int, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}", hint=hint)
        self.source = source
        self.line = line


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """``; did you mean 'x'?`` for the closest of ``choices``, or ``""``."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


@dataclass
class Step:
    """One step as written: what it builds (``kind``, ``spec``) and where (``line``)."""

    name: str
    kind: StepKind
    spec: Any
    line: int
    path: tuple[Any, ...]
    skip: bool = False


@dataclass
class Scenario:
    """A parsed scenario file: its parameters with their defaults, and its steps in order."""

    name: str
    description: str
    kind: Kind
    params: dict[str, Any]
    steps: list[Step]
    source: str
    requires_pwa: bool = False
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict, repr=False)

    def line_of(self, path: tuple[Any, ...]) -> int:
        """The line of ``path`` in the file (of its closest enclosing entry when it has none)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1

    def error(self, path: tuple[Any, ...], message: str, *, hint: str | None = None) -> ScenarioError:
        """A :class:`ScenarioError` at the line of ``path``."""
        return ScenarioError(self.source, self.line_of(path), message, hint=hint)

    @property
    def has_pwa_steps(self) -> bool:
        """True when a step emits a PWA event."""
        return any(s.kind == "pwa" for s in self.steps)


# ---------------------------------------------------------------- loading


def _plain(value: Any) -> Any:
    """YAML's timestamps as the ISO text they were written as (the builders read text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _line_map(node: Any) -> dict[tuple[Any, ...], int]:
    """Path (keys and indexes) -> 1-based line, for every entry of a composed YAML node."""
    import yaml

    lines: dict[tuple[Any, ...], int] = {}
    stack: list[tuple[Any, tuple[Any, ...]]] = [(node, ())]
    while stack:
        n, path = stack.pop()
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    sub = (*path, k.value)
                    lines.setdefault(sub, int(k.start_mark.line) + 1)
                    stack.append((v, sub))
        elif isinstance(n, yaml.SequenceNode):
            for i, c in enumerate(n.value):
                sub = (*path, i)
                lines.setdefault(sub, int(c.start_mark.line) + 1)
                stack.append((c, sub))
    return lines


def _compose(text: str, source: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """The document of ``text`` and its line map, through the bounded safe loader."""
    import yaml

    from rapido_cli.safeyaml import YamlLimitError, check_node, loader_class

    loader = loader_class()(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = int(mark.line) + 1 if mark is not None else 0
            raise ScenarioError(source, line, f"not valid YAML: {exc.problem or exc.context}") from None
        except yaml.YAMLError as exc:
            raise ScenarioError(source, 0, f"not valid YAML: {exc}") from None
        if node is None:
            raise ScenarioError(source, 0, "the file is empty", hint="see `rapido trigger --help` for the format")
        try:
            check_node(node)
        except YamlLimitError as exc:
            raise ScenarioError(source, exc.line, str(exc)) from None
        try:
            data = loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise ScenarioError(source, int(node.start_mark.line) + 1, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return _plain(data), _line_map(node)


def parse_scenario(text: str, source: str, *, default_name: str | None = None) -> Scenario:
    """Parse and check a scenario (structure, names, references to later steps); nothing is built yet."""
    data, lines = _compose(text, source)
    sc = Scenario(name="", description="", kind="flight", params={}, steps=[], source=source, lines=lines)
    if not isinstance(data, dict):
        raise sc.error((), "a scenario is a mapping with `kind`, `params` and `steps`")
    for key in data:
        if key not in _TOP_KEYS:
            raise sc.error((key,), f"unknown key {key!r}{did_you_mean(str(key), _TOP_KEYS)}")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise sc.error(("name",), "`name` must be a non-empty string")
    sc.name = name.strip()
    description = data.get("description", "")
    if not isinstance(description, str):
        raise sc.error(("description",), "`description` must be text")
    sc.description = " ".join(description.split())
    kind = data.get("kind", "flight")
    if kind not in ("flight", "hotel"):
        raise sc.error(("kind",), f"`kind` must be flight or hotel, not {kind!r}")
    sc.kind = kind
    sc.requires_pwa = bool(data.get("requires_pwa", False))

    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise sc.error(("params",), "`params` must be a mapping of NAME: default value")
    for pname, value in params.items():
        if not isinstance(pname, str) or not _PARAM.match(pname):
            raise sc.error(("params", pname), f"parameter name {pname!r} must be letters, digits and _")
        if pname in BUILTINS:
            raise sc.error(("params", pname), f"{pname!r} is built in (it cannot be a parameter)")
        if isinstance(value, dict | list):
            raise sc.error(("params", pname), f"parameter {pname!r} must be a single value, not a list or mapping")
    sc.params = dict(params)

    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise sc.error(("steps",), "`steps` must be a non-empty list")
    seen: dict[str, int] = {}
    for i, raw in enumerate(steps):
        path: tuple[Any, ...] = ("steps", i)
        if not isinstance(raw, dict):
            raise sc.error(path, "a step is a mapping with `name` and one of: booking, event, pwa")
        for key in raw:
            if key not in _STEP_KEYS:
                raise sc.error((*path, key), f"unknown step key {key!r}{did_you_mean(str(key), _STEP_KEYS)}")
        sname = raw.get("name", f"step{i + 1}")
        if not isinstance(sname, str) or not _NAME.match(sname):
            raise sc.error((*path, "name"), f"step name {sname!r} must be letters, digits, _ and -")
        if sname in seen:
            raise sc.error((*path, "name"), f"step name {sname!r} is already used at line {seen[sname]}")
        if sname in sc.params or sname in BUILTINS or sname == "steps":
            raise sc.error((*path, "name"), f"step name {sname!r} is also a parameter or built-in name")
        seen[sname] = sc.line_of(path)
        kinds = [k for k in _STEP_KINDS if k in raw]
        if len(kinds) != 1:
            raise sc.error(path, f"step {sname!r} needs exactly one of: booking, event, pwa")
        kind_ = kinds[0]
        spec = raw[kind_]
        _check_spec(sc, (*path, kind_), kind_, spec if spec is not None else {})
        body = spec if spec is not None else {}
        sc.steps.append(Step(sname, kind_, body, sc.line_of(path), (*path, kind_), bool(raw.get("skip"))))
    for step in sc.steps:
        _check_references(sc, step)
    if sc.requires_pwa and not sc.has_pwa_steps:
        raise sc.error(("requires_pwa",), "`requires_pwa` is set but no step is a pwa step")
    return sc


def _check_spec(sc: Scenario, path: tuple[Any, ...], kind: StepKind, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise sc.error(path, f"`{kind}` must be a mapping")
    allowed: Sequence[str] = {"booking": (*BOOKING_FIELDS, "user"), "event": _EVENT_KEYS, "pwa": _PWA_KEYS}[kind]
    for key in spec:
        if key not in allowed:
            raise sc.error((*path, key), f"unknown {kind} field {key!r}{did_you_mean(str(key), allowed)}")
    if kind == "event":
        if "type" not in spec:
            raise sc.error(path, "an event step needs `type` (e.g. payment.completed)")
        if not isinstance(spec.get("attributes", {}), dict):
            raise sc.error((*path, "attributes"), "`attributes` must be a mapping")
        if "user" not in spec and "user" not in sc.params:
            raise sc.error(path, "an event step needs `user`, or a `user` parameter")
    if kind == "pwa":
        if "eventType" not in spec:
            raise sc.error(path, "a pwa step needs `eventType` (e.g. booking_completed)")
        if not isinstance(spec.get("properties", {}), dict):
            raise sc.error((*path, "properties"), "`properties` must be a mapping")
    if kind == "booking" and "user" in spec and "user_id" in spec:
        raise sc.error((*path, "user"), "give `user` or `user_id`, not both")


# ---------------------------------------------------------------- references


def _walk(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every string in ``value`` with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*path, i))


def _split_ref(expr: str) -> list[str]:
    parts = expr.strip().split(".")
    if parts and parts[0] == "steps" and len(parts) > 1:
        parts = parts[1:]
    return parts


def _check_references(sc: Scenario, step: Step) -> None:
    """Every ``${...}`` names a parameter, a built-in, or a field of an *earlier* step."""
    earlier = [s.name for s in sc.steps[: sc.steps.index(step)]]
    later = {s.name for s in sc.steps[sc.steps.index(step) :]}
    for path, text in _walk(step.spec, step.path):
        for m in _REF.finditer(text):
            expr = m.group(1)
            if expr is None:
                continue  # $${ escape
            parts = _split_ref(expr)
            head = parts[0] if parts else ""
            if not head or any(not p for p in parts):
                raise sc.error(path, f"empty or malformed reference ${{{expr}}}")
            if len(parts) == 1 and (head in sc.params or head in BUILTINS):
                continue
            if head in earlier:
                if len(parts) == 1:
                    raise sc.error(path, f"${{{expr}}} names a step: add a field, e.g. ${{{head}.event.id}}")
                continue
            if head in later:
                raise sc.error(path, f"${{{expr}}} refers to step {head!r}, which has not run yet at this step")
            known = [*sc.params, *BUILTINS, *earlier]
            raise sc.error(
                path,
                f"unknown reference ${{{expr}}}: no parameter or earlier step {head!r}{did_you_mean(head, known)}",
                hint=f"parameters: {', '.join(sc.params) or 'none'}; earlier steps: {', '.join(earlier) or 'none'}",
            )


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return str(value)


def _lookup(built: Mapping[str, Any], parts: list[str], flow: str) -> tuple[bool, Any]:
    """Follow ``parts`` into a built event (with the attributes/properties short form)."""
    top = _ENVELOPE_TOP if flow == "server" else _PWA_TOP
    inner = "attributes" if flow == "server" else "properties"
    if parts[0] not in top:
        parts = [inner, *parts]
    cur: Any = built
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            return False, None
    return True, cur


def resolve(
    sc: Scenario,
    value: Any,
    path: tuple[Any, ...],
    names: Mapping[str, Any],
    built: Mapping[str, tuple[str, Mapping[str, Any]]],
) -> Any:
    """``value`` with every reference replaced: ``names`` are parameters and built-ins, ``built`` the
    earlier steps (name -> (flow, what was built))."""
    if isinstance(value, dict):
        return {k: resolve(sc, v, (*path, k), names, built) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(sc, v, (*path, i), names, built) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def one(expr: str) -> Any:
        parts = _split_ref(expr)
        if len(parts) == 1 and parts[0] in names:
            return names[parts[0]]
        flow, obj = built[parts[0]]
        found, result = _lookup(obj, parts[1:], flow)
        if not found:
            raise sc.error(path, f"${{{expr}}}: step {parts[0]!r} built no such field", hint=_fields_hint(obj))
        return result

    whole = _REF.fullmatch(value)
    if whole is not None and whole.group(1) is not None:
        return one(whole.group(1))

    def sub(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return "${"
        got = one(m.group(1))
        if isinstance(got, dict | list):
            raise sc.error(path, f"${{{m.group(1)}}} is a {type(got).__name__}: it cannot be part of a text")
        return _as_text(got)

    return _REF.sub(sub, value)


def _fields_hint(obj: Mapping[str, Any]) -> str:
    names: list[str] = []
    for k, v in obj.items():
        if isinstance(v, dict):
            names.extend(f"{k}.{kk}" for kk in v)
        else:
            names.append(str(k))
    return "fields: " + ", ".join(names)


# ---------------------------------------------------------------- finding scenarios


def builtin_names() -> list[str]:
    """The scenarios shipped with rapido, by name."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load_builtin(name: str) -> Scenario:
    """A shipped scenario by name (UsageError with a suggestion when unknown)."""
    names = builtin_names()
    if name not in names:
        raise UsageError(
            f"unknown scenario {name!r}{did_you_mean(name, names)}",
            hint="`rapido trigger --list` shows them; a file of your own is given as a path (./my-scenario.yaml)",
        )
    path = SCENARIO_DIR / f"{name}.yaml"
    return parse_scenario(path.read_text(encoding="utf-8"), f"{name}.yaml", default_name=name)


def load_file(path: str | Path) -> Scenario:
    """A scenario from a file of the user's (size-capped, regular files only)."""
    from rapido_cli.fs import read_limited

    p = Path(path)
    data = read_limited(p, limit=MAX_SCENARIO_BYTES, what="scenario file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(p), 0, f"not UTF-8 text (byte {exc.start})") from None
    return parse_scenario(text, str(p), default_name=p.stem)


def load_scenario(spec: str) -> Scenario:
    """A scenario name (shipped) or a path to a YAML file (anything with a / or a .yaml/.yml ending)."""
    looks_like_path = spec.endswith((".yaml", ".yml")) or "/" in spec
    if looks_like_path or (spec not in builtin_names() and Path(spec).is_file()):
        return load_file(spec)
    return load_builtin(spec)
