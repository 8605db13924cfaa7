"""Runnable dry-runs: the curl command sends the same bytes as `rapido send`; httpie's form parses."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, write_profiles

from rapido_cli.dryrun import as_curl, as_httpie, body_bytes

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed (CI installs it)")

#: An event whose body holds everything a shell could mangle: quotes, $, backticks, !, %, \, unicode.
TRICKY = {
    "userId": "u'1\"$HOME`id`!x",
    "event": {"type": "payment.completed", "id": "evt_tricky_1"},
    "attributes": {"orderId": "FL_'\\n%s%%\\\\ ₹ \u2028 😀", "amount_total": 100},
    "schemaVersion": 1,
}
SENT_HEADERS = ("content-type", "x-client-id", "x-client-service", "x-client-app-id", "authorization", "user-agent")


def _bash(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "RAPIDO_CLIENT_KEY"}
    full.update(env)
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=full, timeout=30, check=False)


def _same_request(a: Any, b: Any) -> None:
    assert a.method == b.method == "POST"
    assert a.path == b.path == "/api/ota/event"
    for name in SENT_HEADERS:
        assert a.headers.get(name) == b.headers.get(name), name
    assert a.body == b.body


@needs_curl
def test_curl_command_sends_exactly_what_send_sends(invoke, server, tmp_path: Path) -> None:
    srv = server()
    cfg = write_profiles(tmp_path / "profiles.yaml", srv.url, key=TEST_KEY)
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(TRICKY, ensure_ascii=False), encoding="utf-8")
    env = {"RAPIDO_CONFIG": str(cfg)}

    dry = invoke("send", "--file", str(event_file), "--dry-run", "--output-format", "curl", "--no-validate", env=env)
    assert dry.code == 0, dry.output
    assert TEST_KEY not in dry.output and TEST_KEY[-4:] not in dry.stdout
    assert srv.requests == []
    assert "RAPIDO_CLIENT_KEY" in dry.stderr

    ran = _bash(dry.stdout, {"RAPIDO_CLIENT_KEY": TEST_KEY})
    assert ran.returncode == 0, ran.stderr
    assert '"success": true' in ran.stdout or '"success":true' in ran.stdout

    real = invoke("send", "--file", str(event_file), "--no-validate", env=env)
    assert real.code == 0, real.output
    assert len(srv.requests) == 2
    by_curl, by_send = srv.requests
    _same_request(by_curl, by_send)
    assert by_curl.headers["authorization"] == TEST_KEY
    assert json.loads(by_curl.body) == TRICKY


@needs_curl
def test_curl_command_refuses_to_run_without_the_key(invoke, server, tmp_path: Path) -> None:
    srv = server()
    cfg = write_profiles(tmp_path / "profiles.yaml", srv.url, key=TEST_KEY)
    dry = invoke(
        "send-booking", "hotel", "--user", "u1", "--order-id", "HTL_1", "--amount", "12000",
        "--location", "28.6139,77.2090", "--check-in", "1708156800", "--check-out", "1708415200",
        "--dry-run", "--output-format", "curl", env={"RAPIDO_CONFIG": str(cfg)},
    )
    assert dry.code == 0, dry.output
    ran = _bash(dry.stdout, {})
    assert ran.returncode != 0
    assert "set RAPIDO_CLIENT_KEY" in ran.stderr
    assert srv.requests == []


@needs_curl
def test_send_booking_curl_matches_send_booking(invoke, server, tmp_path: Path) -> None:
    srv = server()
    cfg = write_profiles(tmp_path / "profiles.yaml", srv.url, key=TEST_KEY)
    args = [
        "send-booking", "flight", "--user", "rapido_user_12345", "--order-id", "FL_BOOKING_ABC123",
        "--amount", "8500", "--from", "DEL", "--to", "BLR",
        "--depart", "2024-02-17T13:30:00+05:30", "--arrive", "2024-02-17T16:15:00+05:30",
    ]
    env = {"RAPIDO_CONFIG": str(cfg)}
    dry = invoke(*args, "--dry-run", "--output-format", "curl", env=env)
    assert dry.code == 0, dry.output
    assert _bash(dry.stdout, {"RAPIDO_CLIENT_KEY": TEST_KEY}).returncode == 0
    assert invoke(*args, env=env).code == 0
    _same_request(*srv.requests)


def test_dry_run_needs_no_key(invoke, tmp_path: Path) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", "https://partner.example.com")  # no key at all
    args = ["send", "--user", "u1", "--type", "payment.completed", "--attr", "orderId=FL_1", "--dry-run"]
    for extra in ([], ["--json"], ["--output-format", "curl"], ["--output-format", "httpie"]):
        res = invoke(*args, *extra, env={"RAPIDO_CONFIG": str(cfg)})
        assert res.code == 0, (extra, res.output)
    res = invoke(*args, "--json", env={"RAPIDO_CONFIG": str(cfg)})
    doc = json.loads(res.stdout)
    assert doc["dry_run"] is True and doc["request"]["url"] == "https://partner.example.com/api/ota/event"
    # sending for real still needs the key
    res = invoke(*args[:-1], env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 3 and "key" in res.stderr


def test_output_format_needs_dry_run_and_excludes_json(invoke, tmp_path: Path) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", "https://partner.example.com", key=TEST_KEY)
    args = ["send", "--user", "u1", "--type", "payment.completed", "--attr", "orderId=FL_1"]
    res = invoke(*args, "--output-format", "curl", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 2 and "add --dry-run" in res.stderr
    res = invoke(*args, "--dry-run", "--json", "--output-format", "curl", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 2 and "--json" in res.stderr
    res = invoke(*args, "--dry-run", "--output-format", "wget", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 2


def _request(body: Any = TRICKY) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": "https://partner.example.com/api/ota/event?a=1&b=2",
        "headers": {
            "Content-Type": "application/json",
            "x-client-id": "acme;travel=1@x",
            "x-client-service": "flights",
            "x-client-app-id": "app:1\\2",
            "authorization": "****WXYZ",
            "User-Agent": "rapido-cli/0.1.0",
        },
        "body": body,
    }


def test_httpie_form_parses_as_one_pipeline() -> None:
    command = as_httpie(_request())
    words = shlex.split(command)
    bar = words.index("|")
    assert words[:2] == ["printf", "%s"] and words[2].encode() == body_bytes(_request())
    http = words[bar + 1 :]
    assert http[:3] == ["http", "POST", "https://partner.example.com/api/ota/event?a=1&b=2"]
    items = http[3:]
    assert "Content-Type:application/json" in items
    assert "x-client-id:acme\\;travel\\=1\\@x" in items  # httpie's separators escaped
    assert "x-client-app-id:app\\:1\\\\2" in items
    assert items[-1] == "authorization:${RAPIDO_CLIENT_KEY:?set RAPIDO_CLIENT_KEY to the client key}"
    assert "WXYZ" not in command


def test_curl_form_never_carries_the_preview_key_and_quotes_everything() -> None:
    command = as_curl(_request())
    assert "****WXYZ" not in command and "WXYZ" not in command
    words = shlex.split(command)
    assert words[:5] == ["curl", "-sS", "-X", "POST", "https://partner.example.com/api/ota/event?a=1&b=2"]
    assert words[-2] == "--data-binary" and words[-1].encode() == body_bytes(_request())
    assert "x-client-id: acme;travel=1@x" in words


def test_a_body_starting_with_at_is_not_read_as_a_file() -> None:
    command = as_curl(_request(body=b"@/etc/passwd"))
    assert shlex.split(command)[-2:] == ["--data-raw", "@/etc/passwd"]


@pytest.mark.skipif(shutil.which("http") is None, reason="httpie is not installed")
def test_httpie_command_sends_the_same_bytes(invoke, server, tmp_path: Path) -> None:  # pragma: no cover - optional
    srv = server()
    cfg = write_profiles(tmp_path / "profiles.yaml", srv.url, key=TEST_KEY)
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(TRICKY, ensure_ascii=False), encoding="utf-8")
    env = {"RAPIDO_CONFIG": str(cfg)}
    dry = invoke("send", "--file", str(event_file), "--dry-run", "--output-format", "httpie", "--no-validate", env=env)
    ran = _bash(dry.stdout, {"RAPIDO_CLIENT_KEY": TEST_KEY})
    assert ran.returncode == 0, ran.stderr
    assert invoke("send", "--file", str(event_file), "--no-validate", env=env).code == 0
    _same_request(*srv.requests)
