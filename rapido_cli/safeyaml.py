"""The one YAML loader: safe tags only, aliases and nesting bounded ("billion laughs" refused).

Used for every YAML the program reads: profiles, ``send --file``, ``--attrs``, column maps,
scenarios and validate's documents. A document is composed into nodes first; before anything is
constructed, the nodes are counted with aliases expanded, and a document past ``max_nodes`` or
``max_depth`` is refused with a :class:`YamlLimitError`, so a 700-byte file cannot grow to gigabytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: Alias-expanded nodes per document beyond which it is refused.
MAX_NODES = 100_000
#: Nesting depth beyond which a document (YAML or JSON) is refused.
MAX_DEPTH = 64


class YamlLimitError(ValueError):
    """A document that expands past the node or depth limit. ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def loader_class() -> Any:
    """The fastest safe loader available (libyaml's when built with it)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_EVENT_LOADER: Any = None


def event_loader_class() -> Any:
    """The safe loader, with YAML timestamps read as the strings they are written as.

    JSON has no dates: an unquoted ``2024-01-15T10:30:00Z`` in an event file stands for that
    string (check-jsonschema reads it so too), not for a date object no request could carry.
    """
    global _EVENT_LOADER
    if _EVENT_LOADER is None:
        base = loader_class()
        _EVENT_LOADER = type("EventLoader", (base,), {})
        _EVENT_LOADER.add_constructor("tag:yaml.org,2002:timestamp", base.construct_yaml_str)
    return _EVENT_LOADER


def check_node(node: Any, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`YamlLimitError` when ``node`` expands past ``max_nodes`` nodes or ``max_depth`` levels."""
    import yaml

    count = 0
    stack: list[tuple[Any, int]] = [(node, 1)]
    while stack:
        n, depth = stack.pop()
        count += 1
        line = int(n.start_mark.line) + 1
        if count > max_nodes:
            raise YamlLimitError(f"expands to more than {max_nodes:,} values (YAML aliases?)", line)
        if depth > max_depth:
            raise YamlLimitError(f"nested more than {max_depth} levels deep", line)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.append((k, depth + 1))
                stack.append((v, depth + 1))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend((c, depth + 1) for c in n.value)


def load_all(
    text: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH, dates_as_strings: bool = False
) -> Iterator[Any]:
    """Each document of ``text``, constructed only after its size and depth are checked.

    ``dates_as_strings`` reads YAML timestamps as written (for events: see :func:`event_loader_class`).
    Raises ``yaml.YAMLError`` for bad syntax and :class:`YamlLimitError` past a limit.
    """
    loader = (event_loader_class() if dates_as_strings else loader_class())(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            check_node(node, max_nodes=max_nodes, max_depth=max_depth)
            yield loader.construct_document(node)
    finally:
        loader.dispose()


def load(text: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> Any:
    """The single document of ``text`` (None when empty); see :func:`load_all` for the limits."""
    docs = list(load_all(text, max_nodes=max_nodes, max_depth=max_depth))
    if len(docs) > 1:
        import yaml

        raise yaml.YAMLError("expected one YAML document, found several")
    return docs[0] if docs else None


def json_depth_ok(obj: Any, max_depth: int = MAX_DEPTH) -> bool:
    """True when a parsed JSON value nests at most ``max_depth`` levels (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        o, depth = stack.pop()
        if depth > max_depth:
            return False
        if isinstance(o, dict):
            stack.extend((v, depth + 1) for v in o.values())
        elif isinstance(o, list):
            stack.extend((v, depth + 1) for v in o)
    return True
