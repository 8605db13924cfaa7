"""`rapido validate --output-format text|json|github|junit`: documents on stdout, the summary on stderr."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import DATA as TEST_DATA

from rapido_cli.validate import FileProblem, FileSummary, Report
from rapido_cli.validate.report import GithubFormat, JunitFormat, github_data, github_property

DATA = TEST_DATA / "validate"
BAD_TZ = DATA / "bad" / "10-tz-not-iana.json"
BAD_MS = DATA / "bad" / "05-start-time-milliseconds.json"
GOOD = DATA / "good" / "seed.jsonl"


def _unescape(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def test_json_output_format_is_the_json_flag(invoke) -> None:
    a = invoke("validate", str(BAD_TZ), str(GOOD), "--json")
    b = invoke("validate", str(BAD_TZ), str(GOOD), "--output-format", "json")
    assert a.code == b.code == 1
    assert a.stdout == b.stdout
    doc = json.loads(b.stdout)
    assert doc["valid"] is False and doc["files"] == 2
    assert "invalid: 1 error" in b.stderr  # the human summary, on stderr only


def test_github_annotations_point_at_file_and_line(invoke) -> None:
    res = invoke("validate", str(BAD_TZ), str(BAD_MS), str(GOOD), "--output-format", "github")
    assert res.code == 1
    lines = res.stdout.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("::error file=") for line in lines)
    first = lines[0]
    props, message = first[len("::error ") :].split("::", 1)
    fields = dict(item.split("=", 1) for item in props.split(","))
    assert _unescape(fields["file"]) == str(BAD_TZ)
    assert fields["line"] == "18"
    assert fields["title"] == "attributes.tz"
    assert "IST" in message and "\n" not in message
    assert "invalid:" in res.stderr and "invalid:" not in res.stdout


def test_github_warnings_and_a_valid_run(invoke, tmp_path: Path) -> None:
    event = json.loads((DATA / "good" / "flight.json").read_text())
    event["attributes"]["note,with:colon"] = "x"
    f = tmp_path / "warn.json"
    f.write_text(json.dumps(event, indent=2))
    res = invoke("validate", str(f), "--output-format", "github")
    assert res.code == 0
    (line,) = res.stdout.splitlines()
    assert line.startswith("::warning file=") and "title=attributes.note%2Cwith%3Acolon::" in line
    res = invoke("validate", str(GOOD), "--output-format", "github")
    assert res.code == 0 and res.stdout == "" and "valid:" in res.stderr


def test_github_escaping_rules() -> None:
    assert github_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert github_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    report = Report(files=[FileSummary("-", "json", 1, 1, 0)])
    report.problems.append(FileProblem("-", 3, "userId", "bad\x1b[31m\nvalue 100%", "error"))
    out = GithubFormat().render(report)
    assert out == "::error line=3,title=userId::bad\\x1b[31m\\x0avalue 100%25\n"


def test_junit_is_valid_xml_with_one_suite_per_file(invoke) -> None:
    res = invoke("validate", str(BAD_TZ), str(BAD_MS), str(GOOD), "--output-format", "junit")
    assert res.code == 1
    root = ET.fromstring(res.stdout)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(BAD_TZ), str(BAD_MS), str(GOOD)]
    assert root.get("failures") == "2" and root.get("tests") == "3"
    tz_case = suites[0].find("testcase")
    assert tz_case is not None and tz_case.get("line") == "18"
    failure = tz_case.find("failure")
    assert failure is not None and "IST" in (failure.get("message") or "")
    good_cases = suites[2].findall("testcase")
    assert len(good_cases) == 1 and good_cases[0].find("failure") is None
    assert "invalid:" in res.stderr


def test_junit_survives_hostile_text_and_unreadable_files(invoke, tmp_path: Path) -> None:
    report = Report(files=[FileSummary("a\x00b.json", "json", 1, 1, 1), FileSummary("gone.json", readable=False)])
    report.problems += [
        FileProblem("a\x00b.json", 2, "userId", 'x\x01y <&> "\ud800" \ufffe', "error"),
        FileProblem("a\x00b.json", 3, "attributes.note", "just a warning", "warning"),
        FileProblem("gone.json", 0, "", "cannot read: no such file", "error"),
    ]
    report.omitted = 4
    root = ET.fromstring(JunitFormat().render(report))
    suites = root.findall("testsuite")
    assert suites[0].get("name") == "a\\x00b.json"
    assert suites[0].get("failures") == "1" and suites[0].get("tests") == "2"
    assert suites[1].find("testcase/error") is not None and suites[1].get("errors") == "1"
    assert suites[-1].find("testcase/failure") is not None  # the omitted problems are not lost
    message = suites[0].find("testcase/failure").get("message")  # type: ignore[union-attr]
    assert message == 'x\\x01y <&> "\\ud800" \\ufffe'
    # through the CLI, with a missing file: exit 2, the document still parses
    res = invoke("validate", str(tmp_path / "nope.json"), "--output-format", "junit")
    assert res.code == 2
    assert ET.fromstring(res.stdout).find("testsuite/testcase/error") is not None


@pytest.mark.parametrize("fmt", ["github", "junit"])
def test_json_flag_and_another_format_conflict(invoke, fmt: str) -> None:
    res = invoke("validate", str(GOOD), "--json", "--output-format", fmt)
    assert res.code == 2 and "give one" in res.stderr


def test_input_format_flag_still_names_the_input(invoke) -> None:
    res = invoke("validate", "-", "--format", "jsonl", "--output-format", "github", input=GOOD.read_text())
    assert res.code == 0, res.output
    assert res.stdout == ""
