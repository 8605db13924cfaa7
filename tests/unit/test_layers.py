"""The layer rule, read from the source: the core never imports the CLI framework, rich, or the CLI.

The same rule as the import-linter contracts in pyproject.toml (``lint-imports`` in .ci/run), checked
here by scanning every import statement (inside functions and ``if TYPE_CHECKING:`` too), so that it
holds wherever the tests run. The layers, top to bottom (docs/development.md):

- ``rapido_cli.__main__``: the entry point;
- ``rapido_cli.cli``: parse, call the core, render; the only place that knows flags;
- ``rapido_cli.output``: renderings of core results (rich); part of the presentation side;
- everything else: the core, usable as a library.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "rapido_cli"
#: Top to bottom; a module may import only from its own layer or the ones below.
PRESENTATION = ("rapido_cli.__main__", "rapido_cli.cli", "rapido_cli.output")
FRAMEWORKS = ("typer", "click", "rich")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports, absolute
    where: str  # path:line


def module_name(path: Path, root: Path = PROJECT_ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = PROJECT_ROOT) -> list[Import]:
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, where) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append(Import(name, target, where))
            # `from rapido_cli import cli` imports the module rapido_cli.cli
            found += [Import(name, f"{target}.{alias.name}", where) for alias in node.names if alias.name != "*"]
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(name: str) -> int:
    """0, 1, 2 for the presentation layers (top first), 3 for the core."""
    return next((i for i, top in enumerate(PRESENTATION) if within(name, top)), len(PRESENTATION))


ALL_IMPORTS = [imp for path in sorted(PACKAGE.rglob("*.py")) for imp in imports_of(path)]


def test_the_scan_sees_the_package() -> None:
    modules = {imp.module for imp in ALL_IMPORTS}
    assert {"rapido_cli.cli", "rapido_cli.transport.client", "rapido_cli.sandbox.server"} <= modules
    # the scanner finds what it must refuse: the cli imports typer, the renderers rich
    assert any(within(i.target, "typer") for i in ALL_IMPORTS if within(i.module, "rapido_cli.cli"))
    assert any(within(i.target, "rich") for i in ALL_IMPORTS if i.module == "rapido_cli.output")


def test_the_core_imports_no_cli_framework_and_no_rich() -> None:
    bad = [
        f"{i.where}: {i.module} imports {i.target}"
        for i in ALL_IMPORTS
        if layer_of(i.module) == len(PRESENTATION) and any(within(i.target, f) for f in FRAMEWORKS)
    ]
    assert not bad, "the core must not depend on typer/click/rich (render in rapido_cli.cli):\n" + "\n".join(bad)


@pytest.mark.parametrize("upper", PRESENTATION)
def test_nothing_imports_a_layer_above_itself(upper: str) -> None:
    bad = [
        f"{i.where}: {i.module} imports {i.target}"
        for i in ALL_IMPORTS
        if within(i.target, upper) and layer_of(i.module) > layer_of(upper)
    ]
    assert not bad, f"only layers above {upper} may import it:\n" + "\n".join(bad)


def test_the_scanner_resolves_relative_imports(tmp_path: Path) -> None:
    sub = tmp_path / "pkg" / "sub"
    sub.mkdir(parents=True)
    (sub / "__init__.py").write_text("from .mod import x\n")
    (sub / "mod.py").write_text("from . import sibling\nfrom ..other import y\nimport typer\n")
    assert {i.target for i in imports_of(sub / "mod.py", tmp_path)} == {
        "pkg.sub", "pkg.sub.sibling", "pkg.other", "pkg.other.y", "typer"
    }
    assert {i.target for i in imports_of(sub / "__init__.py", tmp_path)} == {"pkg.sub.mod", "pkg.sub.mod.x"}
