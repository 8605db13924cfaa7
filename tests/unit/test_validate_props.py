"""Properties: valid events stay valid through every format; arbitrary bytes never raise."""

from __future__ import annotations

import io
import json
from typing import Any

import yaml
from conftest import fuzz_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rules import valid_events

from rapido_cli.validate import Validator, check_jsonl_line

SETTINGS = settings(max_examples=fuzz_examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def unique_ids(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, e in enumerate(events):
        e["event"]["id"] = f"{e['event']['id'][:100]}#{i}"
    return events


def validate_bytes(data: bytes, fmt: str | None, kind: str = "server") -> Any:
    v = Validator(kind)  # type: ignore[arg-type]
    v.validate_stream("x", io.BytesIO(data), fmt)  # type: ignore[arg-type]
    return v.report


def errors(report: Any) -> list[Any]:
    return [p for p in report.problems if p.severity == "error"]


@given(st.lists(valid_events(), min_size=1, max_size=4))
@SETTINGS
def test_valid_events_stay_valid_in_every_format(events: list[dict[str, Any]]) -> None:
    events = unique_ids(events)
    forms = {
        "json-object": (json.dumps(events[0], indent=2, ensure_ascii=False), "json", 1),
        "json-array": (json.dumps(events, indent=1), "json", len(events)),
        "jsonl": ("".join(json.dumps(e) + "\n" for e in events), "jsonl", len(events)),
        "jsonl-crlf-bom": ("\ufeff" + "".join(json.dumps(e) + "\r\n\r\n" for e in events), "jsonl", len(events)),
        "yaml-docs": (yaml.safe_dump_all(events, sort_keys=False, allow_unicode=True), "yaml", len(events)),
        "yaml-list": (yaml.safe_dump(events, sort_keys=False), "yaml", len(events)),
    }
    for name, (text, fmt, count) in forms.items():
        for given_fmt in (fmt, None):  # by extension, and sniffed as on standard input
            if given_fmt is None and name == "yaml-list":
                continue  # a YAML list starting with "- " sniffs as YAML anyway; keep the run short
            report = validate_bytes(text.encode("utf-8"), given_fmt)
            assert errors(report) == [], (name, errors(report))
            assert report.events == count, name


@given(st.binary(max_size=600))
@settings(max_examples=fuzz_examples(400), deadline=None)
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for fmt in ("json", "jsonl", "yaml", None):
        for kind in ("server", "pwa"):
            report = validate_bytes(data, fmt, kind)
            assert isinstance(report.events, int)
            for p in report.problems:
                assert "internal validator error" not in p.message
    check_jsonl_line(data)
    check_jsonl_line(data, kind="pwa")


json_ish = st.text(alphabet='{}[]":,0123456789.-eE truefalsnNaIiy\\\n\r\t\ufeff\xff', max_size=300)


@given(json_ish)
@settings(max_examples=fuzz_examples(400), deadline=None)
def test_json_shaped_garbage_never_raises(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    for fmt in ("json", "jsonl", "yaml"):
        report = validate_bytes(data, fmt)
        for p in report.problems:
            assert p.line >= 1
            assert "internal validator error" not in p.message


@given(valid_events(), st.sampled_from(["json", "yaml"]))
@SETTINGS
def test_a_defect_is_reported_at_its_field_line(event: dict[str, Any], fmt: str) -> None:
    event["attributes"]["tz"] = "Nowhere/Atlantis"
    text = json.dumps(event, indent=2) if fmt == "json" else yaml.safe_dump(event, sort_keys=False)
    report = validate_bytes(text.encode(), fmt)
    (problem,) = errors(report)
    assert problem.path == "attributes.tz"
    assert "Nowhere/Atlantis" in text.splitlines()[problem.line - 1]
