"""The test tree keeps its shape: tests in unit/, cli/ or e2e/, unique module names, one copy of each fixture.

See docs/development.md ("Tests"). A test module dropped at the top of tests/ fails here with the
folders to choose from.
"""

from __future__ import annotations

import ast
import re
from collections import Counter

from conftest import TESTS

LAYERS = ("unit", "cli", "e2e")
#: Helper modules at the top of tests/ whose names start with test_ (imported by that name elsewhere).
SUPPORT = {"test_keyring_support.py", "test_tls_support.py"}
#: Fixtures defined once in tests/conftest.py; a module adjusts them (``sandbox_config``), never redefines them.
SHARED_FIXTURES = {"rapido", "rapido_proc", "server", "profile_env", "cli", "sandbox"}
#: Modules whose fixture of a shared name is deliberately something else.
OWN_FIXTURE = {("test_replay.py", "sandbox")}  # a factory of counting sandboxes


def test_test_modules_live_in_a_layer() -> None:
    stray = [p.name for p in TESTS.glob("test_*.py") if p.name not in SUPPORT]
    assert not stray, f"move these into tests/unit, tests/cli or tests/e2e (docs/development.md): {stray}"
    unknown = [p.parent.name for p in TESTS.glob("*/test_*.py") if p.parent.name not in LAYERS]
    assert not unknown, f"test folders other than {LAYERS}: {sorted(set(unknown))}"


def test_module_names_are_unique() -> None:
    # pytest imports test modules by their plain name: two test_x.py in different folders collide.
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert not [n for n, c in names.items() if c > 1]


def test_shared_fixtures_are_not_redefined() -> None:
    redefined = []
    for path in TESTS.glob("*/test_*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (
                isinstance(node, ast.FunctionDef)
                and node.name in SHARED_FIXTURES
                and (path.name, node.name) not in OWN_FIXTURE
                and any("fixture" in ast.unparse(d) for d in node.decorator_list)
            ):
                redefined.append(f"{path.relative_to(TESTS)}:{node.lineno} {node.name}")
    assert not redefined, f"use (or adjust) the fixture in tests/conftest.py instead: {redefined}"


def test_no_path_relative_to_the_test_file() -> None:
    # A test module can move between layers: paths come from conftest's TESTS / PROJECT_ROOT / DATA.
    pattern = re.compile(r"Path\(__file__\)\.(?:resolve\(\)\.)?parents?\b")
    offenders = [str(p.relative_to(TESTS)) for p in TESTS.glob("*/test_*.py") if pattern.search(p.read_text())]
    assert not offenders, f"use TESTS / PROJECT_ROOT / DATA from conftest: {offenders}"
