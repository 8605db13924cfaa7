"""Replay (and ``send --file``) read every form ``validate`` reads, through validate's readers."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from _counting import CountingServer
from _events import event

from rapido_cli.errors import DataError, ExitCode, UsageError
from rapido_cli.journal import Journal
from rapido_cli.profiles import Secret, Target
from rapido_cli.replay import LineResult, Replayer, ReplayOptions, Summary
from rapido_cli.replay.source import read_event_file
from rapido_cli.transport import RetryPolicy

KEY = "sk_test_SECRET_abcd1234WXYZ"
FAST = RetryPolicy(max_attempts=3, base=0.01, cap=0.05, retry_after_cap=0.05)


def run_stream(url: str, data: bytes, source: str, journal: Journal | None = None,
               results: list[LineResult] | None = None, **opts: Any) -> Summary:
    opts.setdefault("retry", FAST)
    t = Target(url, "acme-travel", "acme-pwa", "flights", Secret(KEY), timeout=5.0)
    replayer = Replayer(t, ReplayOptions(**opts), journal=journal,
                        on_result=None if results is None else results.append)
    return replayer.run(io.BytesIO(data), source)


def events(n: int, start: int = 1) -> list[dict[str, Any]]:
    return [event(i) for i in range(start, start + n)]


@pytest.fixture
def srv() -> Any:
    with CountingServer("ok") as s:
        yield s


def as_yaml_list(evs: list[dict[str, Any]]) -> bytes:
    return yaml.safe_dump(evs, sort_keys=False).encode()


def as_yaml_docs(evs: list[dict[str, Any]]) -> bytes:
    return yaml.safe_dump_all(evs, sort_keys=False, explicit_start=True).encode()


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("e.json", lambda evs: json.dumps(evs, indent=2).encode()),
        ("e.yaml", as_yaml_list),
        ("e.yml", as_yaml_docs),
        ("<stdin>", lambda evs: json.dumps(evs, indent=2).encode()),  # sniffed: a JSON array
        ("<stdin>", as_yaml_docs),  # sniffed: YAML
        ("<stdin>", lambda evs: b"".join(orjson.dumps(e) + b"\n" for e in evs)),  # sniffed: JSON Lines
        ("events.txt", as_yaml_list),  # unknown extension: sniffed
    ],
)
def test_every_form_is_sent_once_and_resumes(tmp_path: Path, srv: Any, name: str, make: Any) -> None:
    evs = events(12)
    data = make(evs)
    results: list[LineResult] = []
    with Journal(tmp_path / "j.sqlite3") as j:
        s = run_stream(srv.url, data, name, j, results)
        assert (s.total, s.sent, s.exit_code) == (12, 12, ExitCode.OK), s.to_json()
        assert set(srv.accepted) == {e["event"]["id"] for e in evs} and srv.duplicates() == 0
        # the journal keys an element by its event id, like a line
        assert {r.event_id for r in j.query(outcome="sent")} == set(srv.accepted)
        again = run_stream(srv.url, data, name, j)
        assert (again.sent, again.already_sent) == (0, 12)
    assert srv.requests == 12
    lines = sorted(r.line for r in results)
    assert len(set(lines)) == 12 and lines[0] >= 1  # each element has its own starting line


def test_a_single_json_object(srv: Any) -> None:
    s = run_stream(srv.url, json.dumps(event(1), indent=2).encode(), "one.json")
    assert (s.total, s.sent) == (1, 1)
    assert list(srv.accepted) == [event(1)["event"]["id"]]


def test_elements_are_sent_as_compact_json(tmp_path: Path) -> None:
    from httpserver import Reply, ScriptedServer, ok_body

    ev = event(3)
    with ScriptedServer([Reply(200, ok_body())]) as s:
        run_stream(s.url, yaml.safe_dump([ev]).encode(), "e.yaml")
        assert json.loads(s.requests[0].body) == ev
        assert b"\n" not in s.requests[0].body and b", " not in s.requests[0].body


@pytest.mark.parametrize(
    ("name", "data", "line"),
    [
        ("bad.json", b'[\n  {"a": 1},\n  {"b": 2},\n  {"c": \n', 4),
        ("bad.json", b'[\n  {"a": 1},\n  {"b": 2}\n  {"c": 3}\n]\n', 4),
        ("bad.yaml", b"- a: 1\n- b: [1, 2\n- c: 3\n", 3),
        ("bad.yml", b"a: 1\n---\nb: {\n", 4),
    ],
)
def test_a_document_that_does_not_parse_sends_nothing(srv: Any, name: str, data: bytes, line: int) -> None:
    good = json.dumps(events(3), indent=2).encode()
    assert good  # the reader is all or nothing: even the elements before the error are not sent
    with pytest.raises(DataError) as err:
        run_stream(srv.url, data, name)
    assert err.value.message.startswith(f"{name}:{line}: ")
    assert "nothing was sent" in (err.value.hint or "")
    assert srv.requests == 0


def test_invalid_elements_are_reported_at_their_field_line_and_the_rest_sent(tmp_path: Path, srv: Any) -> None:
    evs = events(4)
    evs[2]["attributes"]["start_time"] = "yesterday"
    evs[3] = dict(evs[1])  # a duplicate id
    text = yaml.safe_dump_all(evs, sort_keys=False, explicit_start=True)
    dead = tmp_path / "dead.jsonl"
    results: list[LineResult] = []
    with Journal(tmp_path / "j.sqlite3") as j:
        s = run_stream(srv.url, text.encode(), "e.yaml", j, results, dead_letter=dead)
        assert (s.sent, s.invalid, s.duplicates, s.exit_code) == (2, 1, 1, ExitCode.DATA)
        (bad,) = [r for r in results if r.outcome == "invalid"]
        lines = text.splitlines()
        assert bad.problem_lines and lines[bad.problem_lines[0] - 1].strip().startswith("start_time:")
        assert bad.line < bad.problem_lines[0]
        # the dead letter is JSON Lines (the element as sent), ready for `rapido replay`
        assert [json.loads(x) for x in dead.read_bytes().splitlines()] == [evs[2]]
        (row,) = j.query(outcome="invalid")
        assert row.event_id == evs[2]["event"]["id"] and json.loads(row.raw or "") == evs[2]


def test_elements_without_an_id_get_a_stable_content_key(tmp_path: Path, srv: Any) -> None:
    ev = event(9)
    del ev["event"]["id"]
    data = json.dumps([event(1), ev]).encode()
    with Journal(tmp_path / "j.sqlite3") as j:
        run_stream(srv.url, data, "e.json", j)
        run_stream(srv.url, json.dumps([event(1), ev], indent=4).encode(), "e.json", j)  # reformatted
        rows = j.query(outcome="invalid")
        assert len(rows) == 1 and rows[0].event_id.startswith("line-sha256:")


def test_hostile_documents_are_refused_cleanly(srv: Any) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(DataError, match="nested"):
        run_stream(srv.url, deep, "deep.json")
    deep_obj = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    with pytest.raises(DataError, match="nested"):
        run_stream(srv.url, deep_obj, "<stdin>")
    bomb = b'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + b"".join(
        f'{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},'
        f'*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n'.encode()
        for i in range(8)
    )
    with pytest.raises(DataError, match=r"too many values|expands"):
        run_stream(srv.url, bomb, "bomb.yaml")
    assert srv.requests == 0


# ---------------------------------------------------------------- send --file


def test_send_file_reads_through_the_same_reader(tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    one.write_text(yaml.safe_dump(event(1)))
    assert read_event_file(str(one)) == event(1)
    js = tmp_path / "one.json"
    js.write_text(json.dumps(event(2), indent=2))
    assert read_event_file(str(js)) == event(2)
    assert read_event_file("-", stdin=io.BytesIO(json.dumps(event(3)).encode())) == event(3)
    many = tmp_path / "many.json"
    many.write_text(json.dumps(events(3)))
    with pytest.raises(UsageError, match=r"holds 3 events: use `rapido replay "):
        read_event_file(str(many))
    docs = tmp_path / "docs.yaml"
    docs.write_bytes(as_yaml_docs(events(2)))
    with pytest.raises(UsageError, match="holds 2 events"):
        read_event_file(str(docs))
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(DataError, match="nested"):
        read_event_file(str(deep))
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "userId": "u",\n  "event": \n')
    with pytest.raises(DataError, match=r"^.*broken.json:\d+: "):
        read_event_file(str(broken))
    with pytest.raises(UsageError, match="no such"):
        read_event_file(str(tmp_path / "missing.json"))


def test_cli_send_file_with_several_events_exits_2(tmp_path: Path, rapido: Any, profile_env: Any) -> None:
    many = tmp_path / "many.jsonl"
    many.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events(3)))
    r = rapido("send", "--file", str(many), "--dry-run", env=profile_env("http://127.0.0.1:9"))
    assert r.code == 2 and "holds 3 events: use `rapido replay" in r.stderr and "Traceback" not in r.stderr
    deep = tmp_path / "deep.json"
    deep.write_bytes(b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
    r = rapido("send", "--file", str(deep), "--dry-run", env=profile_env("http://127.0.0.1:9"))
    assert r.code == 1 and "nested" in r.stderr and "Traceback" not in r.stderr


def test_cli_replay_broken_document_exit_1_with_file_line(tmp_path: Path, rapido: Any, profile_env: Any) -> None:
    f = tmp_path / "bad.json"
    f.write_text('[\n  {"a": 1},\n  {"b": 2\n  {"c": 3}\n]\n')
    with CountingServer("ok") as s:
        env = profile_env(s.url)
        env["XDG_STATE_HOME"] = str(tmp_path / "state")
        r = rapido("replay", str(f), env=env)
        assert r.code == 1, r.stderr
        assert f"{f}:4: " in r.stderr and "nothing was sent" in r.stderr and "Traceback" not in r.stderr
        assert s.requests == 0
