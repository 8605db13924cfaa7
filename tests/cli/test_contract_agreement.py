"""One contract: the exported schema, `rapido validate` and the rules agree.

* A corpus (tests/data/contract/{server,pwa}/{valid,invalid}/, one event per file) goes through
  `rapido validate` (in-process) and through `rapido schema`'s output with the real
  check-jsonschema CLI (one process per kind, both at once). Every event validate accepts, the
  schema accepts (warnings are never schema errors); every event the schema accepts and validate
  rejects is explained by a rule of BEYOND_SCHEMA, each listed in docs/validate.md.
* The same property on generated events, with the jsonschema library in-process.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import DATA, PROJECT_ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rules import mutated_events, valid_events
from typer.testing import CliRunner

from rapido_cli.cli import build_app
from rapido_cli.rules import BEYOND_SCHEMA, check_pwa_event, check_server_event

CORPUS = DATA / "contract"
DOCS = PROJECT_ROOT / "docs" / "validate.md"
KINDS = ("server", "pwa")


def corpus(kind: str, verdict: str) -> list[Path]:
    return sorted(p for p in (CORPUS / kind / verdict).iterdir() if p.suffix in (".json", ".yaml"))


def beyond_patterns(kind: str) -> list[re.Pattern[str]]:
    return [re.compile(r.message) for r in BEYOND_SCHEMA if r.kind in (kind, "both")]


def exported_schema(kind: str) -> dict[str, Any]:
    res = CliRunner().invoke(build_app(), ["schema", "--kind", kind], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    schema: dict[str, Any] = json.loads(res.stdout)
    return schema


def validate_in_process(kind: str, files: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """`rapido validate --kind KIND --json FILES...` in-process: the errors of each file."""
    res = CliRunner().invoke(
        build_app(), ["validate", "--kind", kind, "--json", *map(str, files)], catch_exceptions=False
    )
    assert res.exit_code in (0, 1), res.output
    report = json.loads(res.stdout)
    assert report["events"] >= len(files)
    errors: dict[str, list[dict[str, Any]]] = {str(f): [] for f in files}
    for p in report["problems"]:
        assert "duplicate event id" not in p["message"], p  # the corpus ids are unique
        if p["severity"] == "error":
            errors[p["file"]].append(p)
    return errors


@pytest.fixture(scope="module")
def schema_verdicts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, set[str]]]:
    """check-jsonschema (the real CLI) over each corpus: the files the exported schema rejects."""
    tmp = tmp_path_factory.mktemp("schemas")
    procs = {}
    for kind in KINDS:
        schema_file = tmp / f"{kind}.schema.json"
        schema_file.write_text(json.dumps(exported_schema(kind)))
        files = corpus(kind, "valid") + corpus(kind, "invalid")
        procs[kind] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "check_jsonschema",
                "--schemafile",
                str(schema_file),
                "-o",
                "json",
                "--color",
                "never",
                *map(str, files),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    rejected: dict[str, set[str]] = {}
    for kind, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 1), err
        result = json.loads(out)
        assert not result.get("parse_errors"), result["parse_errors"]
        rejected[kind] = {e["filename"] for e in result["errors"]}
    yield rejected


def test_corpus_is_big_and_subtle_enough() -> None:
    server = corpus("server", "valid") + corpus("server", "invalid")
    pwa = corpus("pwa", "valid") + corpus("pwa", "invalid")
    assert len(server) >= 40 and len(pwa) >= 20
    names = " ".join(p.name for p in server + pwa)
    for subtle in (
        "integral-float",
        "schema-version-float",
        "blank-userId",
        "blank-eventType",
        "extra-field",
        "order-status-lowercase",
        "lat-out-of-range",
        "amount-negative",
        "missing-",
        "nested",
        "session-id-empty",
        "timestamp-without-offset",
        "array-of-objects",
        "beyond-",
    ):
        assert subtle in names, subtle


@pytest.mark.parametrize("kind", KINDS)
def test_validate_verdicts_follow_the_folders(kind: str) -> None:
    valid, invalid = corpus(kind, "valid"), corpus(kind, "invalid")
    errors = validate_in_process(kind, valid + invalid)
    assert {f.name: errors[str(f)] for f in valid if errors[str(f)]} == {}
    assert [f.name for f in invalid if not errors[str(f)]] == []


@pytest.mark.parametrize("kind", KINDS)
def test_schema_and_validate_agree_on_the_corpus(kind: str, schema_verdicts: dict[str, set[str]]) -> None:
    rejected_by_schema = schema_verdicts[kind]
    valid, invalid = corpus(kind, "valid"), corpus(kind, "invalid")
    errors = validate_in_process(kind, valid + invalid)
    # Never stricter than validate: what validate accepts (warnings included), the schema accepts.
    assert sorted(f.name for f in valid if str(f) in rejected_by_schema) == []
    # Validate rejects what the schema rejects.
    assert sorted(f.name for f in valid + invalid if str(f) in rejected_by_schema and not errors[str(f)]) == []
    # What only validate rejects is a rule beyond the schema, and nothing else.
    patterns = beyond_patterns(kind)
    only_validate = [f for f in invalid if str(f) not in rejected_by_schema]
    for f in only_validate:
        for problem in errors[str(f)]:
            assert any(p.search(problem["message"]) for p in patterns), (f.name, problem)
    # The corpus names those files beyond-*, so the split is visible (and exercised).
    assert sorted(f.name for f in only_validate) == sorted(f.name for f in invalid if f.name.startswith("beyond-"))
    assert only_validate


def test_the_schema_takes_integral_floats_like_validate(schema_verdicts: dict[str, set[str]]) -> None:
    """JSON Schema `integer` (draft 2020-12) accepts 1.0 and 1708156800.0; check-jsonschema agrees."""
    schema = exported_schema("server")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    booking = schema["$defs"]["BookingAttributes"]["properties"]
    assert booking["start_time"]["type"] == booking["end_time"]["type"] == "integer"
    assert schema["properties"]["schemaVersion"]["type"] == "integer"
    valid = {f.name: f for f in corpus("server", "valid")}
    for name in ("integral-float-times.json", "schema-version-float.json", "yaml-unquoted-zone-and-float.yaml"):
        assert str(valid[name]) not in schema_verdicts["server"], name
    invalid = {f.name: f for f in corpus("server", "invalid")}
    for name in ("start-time-fraction.json", "schema-version-fraction.json", "schema-version-true.json"):
        assert str(invalid[name]) in schema_verdicts["server"], name


def test_every_rule_beyond_the_schema_is_documented_with_its_message() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Beyond the schema", 1)[1].split("\n## ", 1)[0]
    for rule in BEYOND_SCHEMA:
        assert re.search(rule.message, rule.example), rule
        line = next((ln for ln in section.splitlines() if rule.rule in ln), None)
        assert line is not None, f"docs/validate.md does not list: {rule.rule}"
        assert rule.example in line, f"docs/validate.md: the line of {rule.rule!r} should show {rule.example!r}"


# ---------------------------------------------------------------------------------------------
# the same on generated events, with the jsonschema library in-process

_VALIDATORS: dict[str, jsonschema.protocols.Validator] = {}


def schema_errors(kind: str, event: Any) -> list[str]:
    if kind not in _VALIDATORS:
        from rapido_cli.validate.schema import json_schema

        s = json_schema(kind)
        checker = jsonschema.Draft202012Validator.FORMAT_CHECKER  # as check-jsonschema: formats asserted
        _VALIDATORS[kind] = jsonschema.Draft202012Validator(s, format_checker=checker)
    return [e.message for e in _VALIDATORS[kind].iter_errors(event)]


def assert_agree(kind: str, event: Any) -> None:
    check = check_server_event if kind == "server" else check_pwa_event
    errors = [p for p in check(event) if p.severity == "error"]
    by_schema = schema_errors(kind, event)
    if not errors:
        assert by_schema == [], (event, by_schema)  # warnings are never schema errors
    elif not by_schema:
        patterns = beyond_patterns(kind)
        for p in errors:
            assert any(rx.search(p.message) for rx in patterns), (event, p)


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(st.one_of(valid_events(), mutated_events()))
@SETTINGS
def test_generated_server_events_agree(event: dict[str, Any]) -> None:
    assert_agree("server", event)


scalars = st.none() | st.booleans() | st.integers(-10, 10**12) | st.floats(allow_nan=False) | st.text(max_size=12)
values = st.recursive(
    scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=8
)
timestamps = st.sampled_from(
    [
        "2024-01-15T10:30:00.000Z",
        "2024-01-15T10:30:00",
        "2024-01-15",
        "yesterday",
        "",
        "2024-01-15 10:30+05:30",
        1705314600,
        None,
        ["x"],
    ]
)
property_objects = st.dictionaries(
    st.sampled_from(["page_name", "timestamp", "session_id", "searchQuery", "filters", "n", "tags"]),
    st.one_of(values, timestamps),
    max_size=6,
)


@st.composite
def pwa_events(draw: st.DrawFn) -> Any:
    event: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        event["eventType"] = draw(
            st.sampled_from(
                ["page_view", "user_action", "searchPerformed", "", "   ", "\u2003", 7, None, "booking_initiated"]
            )
        )
    if draw(st.integers(0, 9)):
        props = draw(property_objects)
        form = draw(st.sampled_from(["object", "object", "string", "odd"]))
        if form == "string":
            event["properties"] = json.dumps(props)
        elif form == "odd":
            event["properties"] = draw(st.sampled_from(["{not json", "[1, 2]", "5", "null", 5, None, [props], True]))
        else:
            event["properties"] = props
    if not draw(st.integers(0, 9)):
        event[draw(st.sampled_from(["when", "eventtype", "props"]))] = 1
    return event


@given(pwa_events())
@SETTINGS
def test_generated_pwa_events_agree(event: dict[str, Any]) -> None:
    assert_agree("pwa", event)


def test_schema_checks_what_it_says_blank_and_wrong_typed_values() -> None:
    """Validate rejects what the schema rejects: blank ids and names are errors in both."""
    flight = json.loads((CORPUS / "server" / "valid" / "flight.json").read_text())
    for path, value in ((("userId",), "   "), (("event", "id"), "\t"), (("attributes", "orderId"), "\u3000")):
        e = copy.deepcopy(flight)
        target = e
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        assert schema_errors("server", e), path
        assert [p.path for p in check_server_event(e) if p.severity == "error"] == [".".join(path)]
    page = {"eventType": "  ", "properties": {"timestamp": "2024-01-15T10:30:00Z", "session_id": "s"}}
    assert schema_errors("pwa", page)
    assert [p.path for p in check_pwa_event(page) if p.severity == "error"] == ["eventType"]


def test_every_answer_code_of_the_sandbox_is_documented() -> None:
    import rapido_cli.models as models

    used = set()
    for source in (PROJECT_ROOT / "rapido_cli" / "sandbox").glob("*.py"):
        used |= set(re.findall(r"\bCODE_[A-Z_]+\b", source.read_text(encoding="utf-8")))
    used |= {name for name in dir(models) if name.startswith("CODE_")}
    codes = {getattr(models, name) for name in used}
    assert {7000, 7001, 7002, 7005} <= codes
    section = DOCS.read_text(encoding="utf-8").split("## Answer codes", 1)[1]
    for code in sorted(codes):
        assert f"| {code} |" in section, code
