"""``rapido validate`` / ``rapido schema``: the corpus, the readers, the report and the real CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT_ROOT, TESTS, run_rapido

from rapido_cli.models import EVENT_TYPES, MAX_AMOUNT, MAX_EVENT_BYTES, MAX_EVENT_ID_LENGTH
from rapido_cli.validate import Validator, check_jsonl_line, validate_paths
from rapido_cli.validate._idtable import IdTable
from rapido_cli.validate.schema import json_schema

DATA = TESTS / "data" / "validate"
MANIFEST: dict[str, dict[str, Any]] = json.loads((DATA / "bad" / "manifest.json").read_text())
FLIGHT = json.loads((DATA / "good" / "flight.json").read_text())


def run_cli(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    full = {"COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return run_rapido(*args, input=stdin, env=full).completed(list(args), binary=True)


# ---------------------------------------------------------------------------------------------
# the corpus


def test_corpus_is_big_enough() -> None:
    assert len(MANIFEST) >= 30
    assert {Path(n).suffix for n in MANIFEST} >= {".json", ".jsonl", ".yaml", ".yml"}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_file_caught_at_its_line(name: str) -> None:
    expected = MANIFEST[name]
    report = validate_paths([DATA / "bad" / name], expected["kind"])
    errors = [p for p in report.problems if p.severity == "error"]
    assert errors, f"{name}: nothing found"
    assert {(p.line, p.path) for p in errors} == {(expected["line"], expected["path"])}, errors
    assert any(expected["contains"] in p.message for p in errors), errors
    assert not report.valid and report.exit_code == 1


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_file_caught_at_its_line_with_crlf_line_ends(name: str, tmp_path: Path) -> None:
    expected = MANIFEST[name]
    crlf = tmp_path / name
    crlf.write_bytes((DATA / "bad" / name).read_bytes().replace(b"\n", b"\r\n"))
    report = validate_paths([crlf], expected["kind"])
    errors = [p for p in report.problems if p.severity == "error"]
    assert {(p.line, p.path) for p in errors} == {(expected["line"], expected["path"])}, errors
    assert report.events == validate_paths([DATA / "bad" / name], expected["kind"]).events


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "good").iterdir()))
def test_good_files_are_valid(name: str) -> None:
    report = validate_paths([DATA / "good" / name], "pwa" if name.startswith("pwa") else "server", strict=True)
    assert report.problems == [] and report.valid and report.exit_code == 0
    assert report.events >= 1


def test_seed_examples_in_every_format_via_cli() -> None:
    good = DATA / "good"
    res = run_cli("validate", str(good / "flight.json"), str(good / "hotel.json"))
    assert res.returncode == 0, res.stdout.decode()
    assert b"valid: 2 events in 2 files" in res.stdout
    for name in ("seed.jsonl", "seed.yaml"):
        res = run_cli("validate", str(good / name), "--strict")
        assert res.returncode == 0, res.stdout.decode()
        assert b"valid: 2 events in 1 file" in res.stdout


def test_same_events_in_two_files_are_duplicates_across_files() -> None:
    good = DATA / "good"
    report = validate_paths([good / "seed.jsonl", good / "seed.yaml"])
    dups = [p for p in report.problems if "duplicate" in p.message]
    assert [(p.file, p.line) for p in dups] == [(str(good / "seed.yaml"), 4), (str(good / "seed.yaml"), 22)]
    assert f"first used at {good / 'seed.jsonl'}:1" in dups[0].message
    assert f"first used at {good / 'seed.jsonl'}:2" in dups[1].message


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "warn").iterdir()))
def test_warnings_pass_unless_strict(name: str) -> None:
    kind = "pwa" if name.startswith("pwa") else "server"
    path = str(DATA / "warn" / name)
    res = run_cli("validate", "--kind", kind, path)
    assert res.returncode == 0, res.stdout.decode()
    assert b": warning: " in res.stdout
    res = run_cli("validate", "--kind", kind, path, "--strict")
    assert res.returncode == 1
    assert b": error: " in res.stdout and b"--strict" in res.stdout


# ---------------------------------------------------------------------------------------------
# the CLI: output forms and exit codes


def test_human_lines_and_summary_table() -> None:
    bad = DATA / "bad"
    res = run_cli("validate", str(bad / "10-tz-not-iana.json"), str(bad / "05-start-time-milliseconds.json"))
    out = res.stdout.decode()
    assert res.returncode == 1
    assert f"{bad / '10-tz-not-iana.json'}:18: attributes.tz: error: tz 'IST' is not in the IANA" in out
    assert f"{bad / '05-start-time-milliseconds.json'}:15: attributes.start_time: error: start_time" in out
    # summary: one row per file and a total
    assert "events" in out and "errors" in out and "warnings" in out
    assert "2 files" in out
    assert "invalid: 2 errors, 0 warnings in 2 events, 2 files" in out
    assert res.stderr == b""


def test_json_output_shape() -> None:
    bad = DATA / "bad" / "32-jsonl-duplicate-id.jsonl"
    res = run_cli("validate", str(bad), "--json")
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    assert {"valid", "files", "events", "problems"} <= doc.keys()
    assert doc["valid"] is False and doc["files"] == 1 and doc["events"] == 3
    assert doc["problems"] == [
        {
            "file": str(bad),
            "line": 3,
            "path": "event.id",
            "message": f"duplicate event id 'l1' (first used at {bad}:1)",
            "severity": "error",
        }
    ]


def test_missing_and_unreadable_files_exit_2(tmp_path: Path) -> None:
    res = run_cli("validate", str(DATA / "good" / "flight.json"), str(tmp_path / "nope.json"))
    assert res.returncode == 2
    assert b"nope.json: error: cannot read: No such file or directory" in res.stdout
    assert b"error: cannot read:" in res.stderr and b"nope.json" in res.stderr  # errors also on stderr
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "gone.jsonl")
    res = run_cli("validate", str(tmp_path / "link.jsonl"), "--json")
    assert res.returncode == 2
    doc = json.loads(res.stdout)
    assert doc["valid"] is False and doc["problems"][0]["line"] == 0
    assert doc["summary"][0]["readable"] is False


def test_a_directory_stands_for_its_event_files(tmp_path: Path) -> None:
    good = DATA / "good"
    (tmp_path / "a").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "a" / "flight.json").write_bytes((good / "flight.json").read_bytes())
    (tmp_path / "hotel.yaml").write_bytes((good / "hotel.json").read_bytes())
    (tmp_path / ".git" / "x.json").write_text("not json")
    (tmp_path / "notes.txt").write_text("not events")
    report = validate_paths([tmp_path])
    assert [f.file for f in report.files] == [str(tmp_path / "a" / "flight.json"), str(tmp_path / "hotel.yaml")]
    assert report.valid and report.events == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    report = validate_paths([empty])
    assert report.valid and report.warnings == 1 and "no .json" in report.problems[0].message


def test_stdin_is_sniffed() -> None:
    jsonl = (DATA / "good" / "seed.jsonl").read_bytes()
    res = run_cli("validate", "-", stdin=jsonl)
    assert res.returncode == 0 and b"-  " in res.stdout and b"jsonl" in res.stdout
    res = run_cli("validate", "-", "--json", stdin=(DATA / "good" / "seed.yaml").read_bytes())
    doc = json.loads(res.stdout)
    assert doc["valid"] and doc["events"] == 2 and doc["summary"][0]["format"] == "yaml"
    res = run_cli("validate", "-", "--json", stdin=(DATA / "good" / "seed-array.json").read_bytes())
    assert json.loads(res.stdout)["events"] == 2
    res = run_cli("validate", "-", "--json", stdin=(DATA / "bad" / "10-tz-not-iana.json").read_bytes())
    assert json.loads(res.stdout)["problems"][0]["line"] == 18


def test_garbage_on_stdin_is_a_problem_not_a_traceback() -> None:
    res = run_cli("validate", "-", "--format", "jsonl", stdin=os.urandom(4096) + b"\n\x00\xff{[\n")
    assert res.returncode == 1
    assert b"Traceback" not in res.stderr and b"Traceback" not in res.stdout
    res = run_cli("validate", "-", stdin=b"\xef\xbb\xbf: : :\n- [\n")
    assert res.returncode == 1 and b"not valid YAML" in res.stdout


def test_kind_pwa_and_help_examples() -> None:
    res = run_cli("validate", "--kind", "pwa", str(DATA / "bad" / "44-pwa-timestamp-not-iso.jsonl"))
    assert res.returncode == 1 and b":2: properties.timestamp: error:" in res.stdout
    res = run_cli("validate", "--help")
    assert res.returncode == 0
    assert res.stdout.count(b"rapido validate ") >= 3


def test_max_problems_keeps_counts() -> None:
    lines = b"".join(b'"x"\n' for _ in range(50))
    report = Validator("server", max_problems=10)
    report.validate_stream("s", io.BytesIO(lines), "jsonl")
    assert len(report.report.problems) == 10 and report.report.omitted == 40 and report.report.errors == 50


# ---------------------------------------------------------------------------------------------
# readers


def test_check_jsonl_line_contract() -> None:
    line = json.dumps(FLIGHT)
    for raw in (line, line + "\n", line + "\r\n", line.encode(), b"\xef\xbb\xbf" + line.encode() + b"\r\n"):
        obj, problems = check_jsonl_line(raw)
        assert obj == FLIGHT and problems == []
    assert check_jsonl_line(b"\n") == (None, [])
    assert check_jsonl_line("  \r\n") == (None, [])
    obj, problems = check_jsonl_line(b"[1, 2]\n")
    assert obj is None and "JSON object" in problems[0].message
    obj, problems = check_jsonl_line(b'{"a": NaN}')
    assert obj is None and problems[0].message.startswith("NaN is not valid JSON")
    obj, problems = check_jsonl_line(b'{"userId": "\xff"}')
    assert obj is None and "UTF-8" in problems[0].message
    obj, problems = check_jsonl_line(b'{"userId": "u", "x": ' + b"7" * 300 + b"}")
    assert obj is not None and obj["x"] > 7e299  # parsed (as a float, like JavaScript), then judged
    obj, problems = check_jsonl_line(b'{"eventType": "page_view", "properties": {}}', kind="pwa")
    assert obj is not None and all(p.severity == "warning" for p in problems)
    wide = dict(FLIGHT, attributes=dict(FLIGHT["attributes"], note="\u20ac" * 11_000))  # 33 kB in UTF-8
    _, problems = check_jsonl_line(json.dumps(wide, ensure_ascii=False))
    assert any("limit is 32768 bytes" in p.message for p in problems)
    big = dict(FLIGHT, attributes=dict(FLIGHT["attributes"], note="n" * MAX_EVENT_BYTES))
    _, problems = check_jsonl_line(json.dumps(big) + "\n")
    assert any("limit is 32768 bytes" in p.message for p in problems)


def test_json_array_recovers_after_a_broken_element() -> None:
    events = [dict(FLIGHT, event={"type": "order.confirmed", "id": f"r{i}"}) for i in range(3)]
    text = json.dumps(events, indent=2)
    second = text.index('"r1"')
    broken = text[:second] + '"r1" "oops",' + text[second + 4 :]
    report = Validator()
    report.validate_stream("a.json", io.BytesIO(broken.encode()), "json")
    r = report.report
    assert r.events == 2  # the first and the third are still checked
    assert [p.line for p in r.problems] == [text[:second].count("\n") + 1]


def test_yaml_several_documents_and_lists_with_field_lines() -> None:
    import yaml

    docs = [dict(FLIGHT, event={"type": "order.confirmed", "id": f"y{i}"}) for i in range(3)]
    docs[2] = dict(docs[2], attributes=dict(FLIGHT["attributes"], tz="Mars/Olympus"))
    text = yaml.safe_dump_all([docs[0], [docs[1], docs[2]]], sort_keys=False)
    report = Validator()
    report.validate_stream("x.yaml", io.BytesIO(text.encode()), "yaml")
    (problem,) = report.report.problems
    assert report.report.events == 3
    assert text.splitlines()[problem.line - 1].strip() == "tz: Mars/Olympus"


def test_yaml_alias_bomb_is_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 8):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        bomb += f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    report = Validator()
    report.validate_stream("bomb.yaml", io.BytesIO(bomb.encode()), "yaml")
    assert "too many values" in report.report.problems[0].message


def test_idtable_grows_and_finds_duplicates() -> None:
    table = IdTable(capacity=4)
    for i in range(10_000):
        assert table.add(hash(f"id-{i}"), i) == -1
    assert len(table) == 10_000
    assert table.add(hash("id-1234"), 99) == 1234
    assert table.add(0, 5) == -1 and table.add(0, 6) == 5
    assert table.add(2**70 + 12345, 7) == -1  # folded to 64 bits, no overflow
    assert table.add(hash("far"), 2**40) == -1 and table.add(hash("far"), 1) == 0  # location unknown


def test_duplicate_locations_across_many_inputs(tmp_path: Path) -> None:
    good = DATA / "good"
    other = tmp_path / "other.jsonl"
    other.write_text("\n\n" + json.dumps(FLIGHT) + "\n")
    report = validate_paths([good / "hotel.json", tmp_path / "missing.json", good / "seed-list.yml", other], "server")
    dups = [(p.file, p.line, p.message) for p in report.problems if "duplicate" in p.message]
    assert dups == [
        (
            str(good / "seed-list.yml"),
            21,
            f"duplicate event id 'evt_hotel_confirm_456' (first used at {good / 'hotel.json'}:1)",
        ),
        (str(other), 3, f"duplicate event id 'evt_flight_confirm_789' (first used at {good / 'seed-list.yml'}:1)"),
    ]


# ---------------------------------------------------------------------------------------------
# schema


def test_schema_is_generated_from_the_models() -> None:
    s = json_schema("server")
    assert s["$schema"].endswith("2020-12/schema")
    assert set(s["required"]) == {"userId", "event", "attributes", "schemaVersion"}
    assert s["additionalProperties"] is False
    ev = s["$defs"]["EventRef"]
    assert ev["properties"]["type"]["enum"] == list(EVENT_TYPES)
    assert ev["properties"]["id"]["maxLength"] == MAX_EVENT_ID_LENGTH
    booking = s["$defs"]["BookingAttributes"]
    assert booking["properties"]["amount_total"]["maximum"] == MAX_AMOUNT
    assert booking["properties"]["location_origin_lat"]["minimum"] == -90
    assert len(booking["required"]) == 11
    assert s["$defs"]["PaymentAttributes"]["required"] == ["orderId"]
    pwa = json_schema("pwa")
    assert set(pwa["required"]) == {"eventType", "properties"}
    with pytest.raises(ValueError):
        json_schema("other")


def test_schema_command() -> None:
    res = run_cli("schema")
    assert res.returncode == 0
    assert json.loads(res.stdout)["title"] == "Rapido server-to-server event"
    res = run_cli("schema", "--kind", "pwa")
    assert json.loads(res.stdout)["properties"]["eventType"]["minLength"] == 1


def test_pre_commit_hook_definition() -> None:
    import yaml

    hooks = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text())
    ids = {h["id"]: h for h in hooks}
    assert ids["rapido-validate"]["entry"] == "rapido validate"
    assert ids["rapido-validate"]["language"] == "python"
    assert ids["rapido-validate-pwa"]["entry"] == "rapido validate --kind pwa"
    assert all(h["require_serial"] for h in hooks)  # one run sees all files: duplicate ids across them


NOT_EVENTS = [
    "package.json", "package-lock.json", ".pre-commit-config.yaml", "docker-compose.yml", "tsconfig.json",
    ".github/workflows/ci.yml", "config/settings.yaml", "app/locales/en.json", "myevents/x.json", "events.json",
    "src/events.py", "events/README.md", "events/flight.csv",
]
SERVER_EVENTS = [
    "events/flight.json", "events/2024/03/backfill.jsonl", "services/api/events/hotel.yaml", "events/x.ndjson",
    "booking.events.json", "fixtures/missed.events.jsonl", "a.events.yaml", "a.events.yml", "events/b.yml",
]
PWA_EVENTS = ["pwa-events/page.json", "web/pwa-events/run.jsonl", "capture.pwa-events.yaml", "x.pwa-events.json"]


@pytest.mark.parametrize("hook", ["rapido-validate", "rapido-validate-strict", "rapido-validate-pwa"])
def test_pre_commit_files_pattern_matches_event_files_by_convention(hook: str) -> None:
    import re

    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text())}
    files = re.compile(hooks[hook]["files"])  # pre-commit applies `files` with re.search to each path
    mine, other = (PWA_EVENTS, SERVER_EVENTS) if hook.endswith("pwa") else (SERVER_EVENTS, PWA_EVENTS)
    assert [name for name in mine if not files.search(name)] == []
    assert [name for name in NOT_EVENTS + other if files.search(name)] == []


_: Callable[..., Any] = run_cli


def test_whole_file_formats_have_a_size_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    import rapido_cli.validate as v

    monkeypatch.setattr(v, "MAX_WHOLE_FILE_BYTES", 100)
    report = validate_paths([DATA / "good" / "flight.json"])
    assert report.exit_code == 1 and "JSON Lines" in report.problems[0].message
    assert validate_paths([DATA / "good" / "seed.jsonl"]).valid  # streamed: no ceiling


def test_a_sandbox_store_is_validated_by_flow(tmp_path: Path) -> None:
    """`rapido validate --kind pwa store.jsonl` checks what a real sandbox recorded."""
    import httpx

    from rapido_cli.sandbox import Sandbox, SandboxConfig

    store = tmp_path / "store.jsonl"
    headers = {"x-client-id": "acme", "x-client-service": "flights", "x-client-app-id": "pwa", "authorization": "k"}
    pwa_ok = {"eventType": "page_view", "properties": {"timestamp": "2024-01-15T10:30:00.000Z", "session_id": "s"}}
    pwa_warn = {"eventType": "PageView", "properties": '{"timestamp": "2024-01-15T10:30:00.000Z", "session_id": "s"}'}
    with Sandbox(SandboxConfig(host="127.0.0.1", port=0, store=store)) as sb, httpx.Client(base_url=sb.url) as c:
        assert c.post("/api/ota/event", json=FLIGHT, headers=headers).status_code == 200
        bad = dict(FLIGHT, event={"type": "order.confirmed", "id": "x2"}, schemaVersion=2)
        assert c.post("/api/ota/event", json=bad, headers=headers).status_code == 400
        assert c.post("/pwa/events", json=pwa_ok).status_code < 300
        assert c.post("/pwa/events", json=pwa_warn).status_code < 300
    report = validate_paths([store], "pwa")
    assert report.files[0].format == "jsonl (sandbox store)"
    assert report.events == 2 and report.errors == 0
    assert [(p.line, p.path) for p in report.problems] == [(4, "eventType")]
    report = validate_paths([store], "server")
    assert report.events == 2
    assert [(p.line, p.path) for p in report.problems if p.severity == "error"] == [(2, "schemaVersion")]
