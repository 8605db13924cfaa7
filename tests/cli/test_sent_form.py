"""What is sent is what was validated: integral floats in integer fields go out as integers.

In-process CLI (Typer's runner) against a real loopback HTTP server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import TEST_KEY, Reply, seed_event
from httpserver import ok_body
from typer.testing import CliRunner

from rapido_cli.cli import build_app


def env_for(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "RAPIDO_BASE_URL": url,
        "RAPIDO_CLIENT_ID": "acme-travel",
        "RAPIDO_APP_ID": "acme-pwa",
        "RAPIDO_SERVICE": "flights",
        "RAPIDO_CLIENT_KEY": TEST_KEY,
        "NO_COLOR": "1",
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }


def float_event(event_id: str = "evt_float_1") -> dict[str, Any]:
    e = seed_event("flight")
    e["event"]["id"] = event_id
    e["attributes"]["start_time"] = 1708156800.0
    e["attributes"]["end_time"] = 1708163000.0
    e["schemaVersion"] = 1.0
    return e


def assert_integers(body: bytes) -> None:
    text = body.decode()
    assert '"start_time":1708156800,' in text and '"end_time":1708163000,' in text, text
    assert text.endswith('"schemaVersion":1}'), text
    assert ".0," not in text and ".0}" not in text


def test_send_file_transmits_integers(server: Any, tmp_path: Path) -> None:
    srv = server([Reply(200, ok_body())])
    path = tmp_path / "event.json"
    path.write_text(json.dumps(float_event()))
    res = CliRunner().invoke(
        build_app(), ["send", "--file", str(path)], env=env_for(srv.url, tmp_path), catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    (request,) = srv.requests
    assert_integers(request.body)
    # and the same event written with integers gets the same derived id
    e = float_event()
    del e["event"]["id"]
    path.write_text(json.dumps(e))
    ints = float_event()
    del ints["event"]["id"]
    ints["attributes"].update(start_time=1708156800, end_time=1708163000)
    ints["schemaVersion"] = 1
    other = tmp_path / "ints.json"
    other.write_text(json.dumps(ints))
    ids = []
    for p in (path, other):
        res = CliRunner().invoke(
            build_app(), ["send", "--file", str(p), "--dry-run", "--json"], env=env_for(srv.url, tmp_path)
        )
        assert res.exit_code == 0, res.output
        ids.append(json.loads(res.stdout)["request"]["body"]["event"]["id"])
    assert ids[0] == ids[1]


def test_send_attr_float_is_sent_as_integer(server: Any, tmp_path: Path) -> None:
    srv = server([Reply(200, ok_body())])
    res = CliRunner().invoke(
        build_app(),
        [
            "send",
            "--user",
            "u1",
            "--type",
            "payment.completed",
            "--attr",
            "orderId=FL_1",
            "--attr",
            "start_time=1708156800.0",
        ],
        env=env_for(srv.url, tmp_path),
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert '"start_time":1708156800}' in srv.requests[0].body.decode()


def test_replay_transmits_integers(server: Any, tmp_path: Path) -> None:
    srv = server([Reply(200, ok_body()), Reply(200, ok_body())])
    path = tmp_path / "events.jsonl"
    plain = seed_event("flight")
    plain["event"]["id"] = "evt_plain"
    path.write_text(json.dumps(float_event()) + "\n" + json.dumps(plain) + "\n")
    res = CliRunner().invoke(
        build_app(), ["replay", str(path), "--no-journal"], env=env_for(srv.url, tmp_path), catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    bodies = {json.loads(r.body)["event"]["id"]: r.body for r in srv.requests}
    assert_integers(bodies["evt_float_1"])
    assert bodies["evt_plain"] == json.dumps(plain).encode()  # an event without floats goes out as written


def test_send_reads_yaml_as_validate_does_dates_stay_strings(tmp_path: Path) -> None:
    import yaml

    e = float_event()
    text = yaml.safe_dump(e, sort_keys=False).replace(
        "  tz: Asia/Kolkata", "  tz: Asia/Kolkata\n  booked_at: 2024-01-01T10:00:00Z"
    )
    path = tmp_path / "event.yaml"
    path.write_text(text)
    res = CliRunner().invoke(
        build_app(), ["send", "--file", str(path), "--dry-run", "--json"], env=env_for("http://127.0.0.1:9", tmp_path)
    )
    assert res.exit_code == 0, res.output
    attrs = json.loads(res.stdout)["request"]["body"]["attributes"]
    assert attrs["booked_at"] == "2024-01-01T10:00:00Z"
    assert attrs["start_time"] == 1708156800 and type(attrs["start_time"]) is int
