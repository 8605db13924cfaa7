"""The sandbox against hostile input: cross-site requests, odd fault codes, terminal escapes, files, its key."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import booking, wait_for

from rapido_cli.cli.sandbox_cmd import plain_event
from rapido_cli.errors import UsageError
from rapido_cli.sandbox import Sandbox, SandboxConfig, SandboxEvent

HEADERS = {"x-client-id": "acme", "x-client-service": "flights", "x-client-app-id": "pwa", "authorization": "k"}
EVIL = "https://evil.example"
PROPS = json.dumps({"session_id": "s", "timestamp": "2024-01-01T00:00:00Z"})


@pytest.fixture
def sandbox_config() -> dict[str, Any]:
    """The conftest ``sandbox`` without credentials: these requests carry placeholder headers."""
    return {}


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as c:
        yield c


# -- state-changing endpoints take non-simple requests only ---------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "multipart/form-data; boundary=x"},
        {"content-type": "text/plain", "x-rapido-sandbox": "0"},
    ],
)
def test_a_simple_post_cannot_reset(sandbox: Sandbox, client: httpx.Client, headers: dict[str, str]) -> None:
    assert client.post("/api/ota/event", json=booking("FL_1"), headers=HEADERS).status_code == 200
    r = client.post("/_sandbox/reset", content=b"x=1", headers=headers)
    assert r.status_code == 403
    assert r.json()["code"] == 7002 and "x-rapido-sandbox" in r.json()["error"]["message"]
    assert sandbox.stats()["total"] == 1  # nothing wiped


@pytest.mark.parametrize("headers", [{"content-type": "application/json"}, {"x-rapido-sandbox": "1"}])
def test_a_non_simple_post_resets(sandbox: Sandbox, client: httpx.Client, headers: dict[str, str]) -> None:
    client.post("/api/ota/event", json=booking("FL_1"), headers=HEADERS)
    r = client.post("/_sandbox/reset", content=b"{}", headers={**headers, "Origin": "http://localhost:3000"})
    assert r.status_code == 200 and r.json() == {"reset": True}
    assert sandbox.stats()["total"] == 0


def test_a_cross_site_page_cannot_reset_even_with_json(sandbox: Sandbox, client: httpx.Client) -> None:
    client.post("/api/ota/event", json=booking("FL_1"), headers=HEADERS)
    r = client.post("/_sandbox/reset", json={}, headers={"Origin": EVIL})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    pre = client.options(
        "/_sandbox/reset",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-rapido-sandbox",
        },
    )
    assert pre.status_code == 403
    assert sandbox.stats()["total"] == 1


def test_a_cross_site_page_cannot_post_server_events(sandbox: Sandbox, client: httpx.Client) -> None:
    r = client.post("/api/ota/event", content=json.dumps(booking("FL_X")), headers={**HEADERS, "Origin": EVIL})
    assert r.status_code == 403 and r.json()["code"] == 7002
    assert "access-control-allow-origin" not in r.headers
    assert sandbox.events()[-1]["verdict"] == "forbidden"


# -- --allow-file-origin ------------------------------------------------------------------------


def _pwa(c: httpx.Client, origin: str) -> httpx.Response:
    return c.post("/pwa/events", json={"eventType": "page_view", "properties": PROPS}, headers={"Origin": origin})


def test_file_pages_are_refused_by_default_with_the_way_out(client: httpx.Client) -> None:
    r = _pwa(client, "null")
    assert r.status_code == 403
    assert "--allow-file-origin" in r.json()["error"]["details"]["origin"]
    pre = client.options("/pwa/events", headers={"Origin": "null", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403


def test_allow_file_origin_opens_the_bridge_only() -> None:
    with (
        Sandbox(SandboxConfig(host="127.0.0.1", port=0, allow_file_origin=True)) as sb,
        httpx.Client(base_url=sb.url) as c,
    ):
        r = _pwa(c, "null")
        assert r.status_code == 200 and r.json()["verdict"] == "ok"
        assert r.headers["access-control-allow-origin"] == "null"
        pre = c.options(
            "/pwa/events",
            headers={
                "Origin": "null",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-rapido-bridge-seq",
            },
        )
        assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "null"
        # nothing else: not the inspection endpoints, not the server-event endpoint
        assert c.get("/_sandbox/events", headers={"Origin": "null"}).status_code == 403
        assert c.post("/_sandbox/reset", json={}, headers={"Origin": "null"}).status_code == 403
        srv = c.post("/api/ota/event", json=booking("FL_N"), headers={**HEADERS, "Origin": "null"})
        assert srv.status_code == 403
        assert _pwa(c, EVIL).status_code == 403


# -- any fault code: a clean answer or a clean usage error ---------------------------------------


@pytest.mark.parametrize("status", [599, 420, 418, 499, 451, 503, 400])
def test_unusual_fault_codes_answer_cleanly(status: int) -> None:
    with Sandbox(SandboxConfig(host="127.0.0.1", port=0, faults=f"{status}:1")) as sb:
        r = httpx.post(sb.url + "/api/ota/event", json=booking("FL_F"), headers=HEADERS)
        assert r.status_code == status
        body = r.json()
        assert body["success"] is False and body["code"] in (7001, 7003, 7004)
        assert sb.events()[-1]["verdict"] == "fault"


@pytest.mark.parametrize("spec", ["100:1", "204:1", "700:1", "600:1", "399:1", "99999999999999999999:1", "-500:1"])
def test_fault_codes_outside_4xx_5xx_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError, match="unknown fault"):
        SandboxConfig(faults=spec)


# -- foreign text on the terminal ----------------------------------------------------------------

NASTY = "\x1b]0;owned\x07\x1b[2J\u202ecod.exe\r\n[bold]x[/]"


def _no_controls(text: str) -> None:
    assert not any(ch in text for ch in "\x1b\x07\r\u202e"), repr(text)
    assert "\n" not in text.split("\n    ", 1)[0]  # the first line is one line


def test_live_lines_make_foreign_text_inert() -> None:
    ev = SandboxEvent(
        flow="server",
        received_at=datetime.now(UTC),
        verdict="invalid",
        status=400,
        event_type=NASTY,
        event_id=NASTY,
        client_id=NASTY,
        order_id=NASTY,
        message=f"unknown client id {NASTY}",
        problems=[{"path": NASTY, "message": NASTY, "severity": "error"}],
    )
    for verbose in (0, 1):
        line = plain_event(ev, verbose=verbose)
        for part in line.split("\n    "):
            _no_controls(part)
        assert "\\x1b" in line
    corr = SandboxEvent(
        flow="correlation", received_at=datetime.now(UTC), verdict="missed", order_id=NASTY, message=NASTY
    )
    _no_controls(plain_event(corr))


def test_a_pages_text_plain_post_prints_inert(sandbox: Sandbox, client: httpx.Client) -> None:
    seen: list[SandboxEvent] = []
    sandbox.config.on_event = seen.append
    body = json.dumps({"eventType": NASTY, "properties": PROPS})
    client.post("/pwa/events", content=body, headers={"content-type": "text/plain", "Origin": "http://localhost:1"})
    raw = NASTY.replace("\r\n", "").encode()  # header bytes as a raw client sends them
    client.post("/api/ota/event", json=booking("FL_1"), headers={**HEADERS, "x-client-id": raw, "Origin": raw})
    wait_for(lambda: len(seen) == 2, timeout=5)  # on_event runs after the answer is sent
    for ev in seen:
        for part in plain_event(ev, verbose=1).split("\n    "):
            _no_controls(part)


# -- files: private, never through a link --------------------------------------------------------


def test_store_and_missed_files_are_private(tmp_path: Path) -> None:
    old = tmp_path / "old.jsonl"
    old.write_text("")
    old.chmod(0o644)
    cfg = SandboxConfig(host="127.0.0.1", port=0, store=old, missed=tmp_path / "new" / "missed.jsonl")
    with Sandbox(cfg) as sb:
        httpx.post(sb.url + "/api/ota/event", json=booking("FL_1"), headers=HEADERS)
    for path in (old, tmp_path / "new" / "missed.jsonl"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert json.loads(old.read_text())["order_id"] == "FL_1"


@pytest.mark.parametrize("option", ["store", "missed"])
def test_a_symlink_is_never_written_through(tmp_path: Path, option: str) -> None:
    target = tmp_path / "victim"
    target.write_text("precious\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    with pytest.raises(UsageError, match="symbolic link") as info:
        Sandbox(SandboxConfig(host="127.0.0.1", port=0, **{option: link}))
    assert f"--{option}" in str(info.value)
    assert target.read_text() == "precious\n"


def test_a_fifo_store_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match=r"regular file|cannot"):
        Sandbox(SandboxConfig(host="127.0.0.1", port=0, store=fifo))


# -- the sandbox's own key is never shown --------------------------------------------------------

KEY = "sk_sandbox_OWN_key_5566"


def test_its_own_key_echoed_by_a_client_is_redacted(tmp_path: Path) -> None:
    store = tmp_path / "s.jsonl"
    cfg = SandboxConfig(host="127.0.0.1", port=0, client_id="acme", client_key=KEY, store=store)
    seen: list[str] = []
    cfg.on_event = lambda ev: seen.append(plain_event(ev, verbose=1))
    with Sandbox(cfg) as sb, httpx.Client(base_url=sb.url) as c:
        leaky = booking("FL_LEAK")
        leaky["attributes"]["note"] = f"our key is {KEY}"
        assert c.post("/api/ota/event", json=leaky, headers={**HEADERS, "authorization": KEY}).status_code == 200
        leaky[KEY] = 1  # an unknown field named like the key: the 400 names the field
        bad = c.post("/api/ota/event", json=leaky, headers={**HEADERS, "authorization": KEY})
        assert bad.status_code == 400 and "[redacted]" in bad.text and KEY not in bad.text
        wrong = c.post("/api/ota/event", json=booking("FL_2"), headers={**HEADERS, "x-client-id": KEY})
        assert wrong.status_code == 401 and KEY not in wrong.text
        events = c.get("/_sandbox/events").text
        assert "[redacted]" in events
    everything = events + store.read_text() + "\n".join(seen)
    assert KEY not in everything


# -- malformed HTTP gets the API's JSON error too -------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"FROB / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 501),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nx-long: " + b"v" * 70_000 + b"\r\n\r\n", 431),
    ],
)
def test_malformed_http_gets_a_json_error(sandbox: Sandbox, data: bytes, status: int) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status), head[:80]
    assert b"Connection: close" in head
    parsed = json.loads(body)
    assert parsed["success"] is False and parsed["code"] == 7001 and parsed["requestId"].startswith("req_")


def test_a_bug_in_a_check_still_gets_an_answer(
    sandbox: Sandbox, client: httpx.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    def broken(req: object) -> None:
        raise TypeError("unhashable type: 'list'")

    sandbox.contract.checks = (*sandbox.contract.checks, broken)
    r = client.post("/api/ota/event", json=booking("FL_BUG"), headers=HEADERS)
    assert r.status_code == 500
    assert r.json()["code"] == 7004 and "bug" in r.json()["error"]["message"]
    # the traceback is shown on the sandbox's own stderr, and the sandbox goes on
    client.get("/_sandbox/stats")
    # (the handler thread prints the traceback after it has answered: wait for it, briefly)
    import time

    err, deadline = "", time.monotonic() + 5
    while "TypeError" not in err and time.monotonic() < deadline:
        err += capfd.readouterr().err
        time.sleep(0.02)
    assert "TypeError" in err
