"""The PWA side of the sandbox over real HTTP: bridge.js, CORS, PWA checks, booking correlation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import booking, wait_for

from rapido_cli.sandbox import Sandbox, SandboxEvent, is_loopback_origin

HEADERS = {"x-client-id": "acme", "x-client-service": "flights", "x-client-app-id": "pwa", "authorization": "k"}
DEV_ORIGIN = "http://localhost:5173"


def props(**extra: Any) -> str:
    base = {"session_id": "sess_1", "timestamp": "2024-02-15T10:30:00.000Z"}
    base.update(extra)
    return json.dumps(base)


server_event = booking


@pytest.fixture
def sandbox_config(tmp_path: Path) -> dict[str, Any]:
    """For conftest's ``sandbox``: a short window for missed bookings, files in tmp."""
    return {"missed_after_s": 0.4, "missed": tmp_path / "missed.jsonl", "store": tmp_path / "s.jsonl"}


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as c:
        yield c


def pwa(c: httpx.Client, event_type: str, properties: Any, origin: str | None = DEV_ORIGIN) -> httpx.Response:
    headers = {"Origin": origin} if origin else {}
    return c.post("/pwa/events", json={"eventType": event_type, "properties": properties}, headers=headers)


def test_bridge_js_is_served(sandbox: Sandbox, client: httpx.Client) -> None:
    r = client.get("/bridge.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert r.headers["cache-control"] == "no-store"
    assert "NativeJSBridge" in r.text and "logEvents" in r.text
    assert "if (w.NativeJSBridge)" in r.text  # leaves a real bridge alone
    assert sandbox.url in r.text  # the fallback URL is this sandbox
    assert "__RAPIDO_SANDBOX_URL__" not in r.text
    assert client.head("/bridge.js").status_code == 200


def test_bridge_js_ships_as_package_data() -> None:
    from importlib import resources

    assert "logEvents" in resources.files("rapido_cli").joinpath("static/bridge.js").read_text()


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("http://localhost:5173", True),
        ("http://localhost", True),
        ("https://localhost:8443", True),
        ("http://app.localhost:3000", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.8.9.10:8080", True),
        ("http://[::1]:4200", True),
        ("https://evil.example", False),
        ("http://localhost.evil.example", False),
        ("http://128.0.0.1", False),
        ("http://192.168.1.10:3000", False),
        ("null", False),
        ("file://", False),
        ("http://localhost:notaport", False),
    ],
)
def test_loopback_origins(origin: str, ok: bool) -> None:
    assert is_loopback_origin(origin) is ok


def test_preflight_from_a_loopback_dev_server(client: httpx.Client) -> None:
    r = client.options(
        "/pwa/events",
        headers={
            "Origin": DEV_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-rapido-bridge-seq",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == DEV_ORIGIN
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "content-type" in r.headers["access-control-allow-headers"]
    assert r.headers["vary"] == "Origin"
    assert int(r.headers["access-control-max-age"]) > 0


def test_preflight_from_elsewhere_is_refused(client: httpx.Client) -> None:
    r = client.options(
        "/pwa/events", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers


def test_post_from_elsewhere_is_refused(sandbox: Sandbox, client: httpx.Client) -> None:
    r = pwa(client, "page_view", props(), origin="https://evil.example")
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    assert sandbox.stats()["by_verdict"] == {"forbidden": 1}


def test_pwa_event_ok_with_cors(sandbox: Sandbox, client: httpx.Client) -> None:
    r = pwa(client, "page_view", props(page_name="Home"))
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == DEV_ORIGIN
    body = r.json()
    assert body["success"] is True and body["verdict"] == "ok" and body["problems"] == []
    # without an Origin (curl, a test) it is accepted too
    assert pwa(client, "page_view", props(), origin=None).status_code == 200
    ev = sandbox.events(flow="pwa")[0]
    assert ev["event_type"] == "page_view"
    assert ev["event"]["properties"] == props(page_name="Home")  # kept exactly as the page sent it


def test_pwa_warnings_do_not_reject(client: httpx.Client) -> None:
    r = pwa(client, "pageView", json.dumps({"pageName": "x"}))
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"] == "warning"
    paths = {p["path"] for p in body["problems"]}
    assert {"eventType", "properties.pageName", "properties.timestamp"} <= paths


@pytest.mark.parametrize(
    ("event_type", "properties", "field"),
    [
        ("", props(), "eventType"),
        ("page_view", "{not json", "properties"),
        ("page_view", "[1, 2]", "properties"),
        ("page_view", props(timestamp="yesterday"), "properties.timestamp"),
    ],
)
def test_invalid_pwa_event_400_names_the_field(
    client: httpx.Client, event_type: str, properties: Any, field: str
) -> None:
    r = pwa(client, event_type, properties)
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False and body["verdict"] == "invalid"
    assert field in body["error"]["details"]
    assert r.headers["access-control-allow-origin"] == DEV_ORIGIN  # the page can read why


def test_pwa_bad_body(client: httpx.Client) -> None:
    r = client.post("/pwa/events", content=b"nope", headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = client.post("/pwa/events", content=b"{}", headers={"content-type": "application/xml"})
    assert r.status_code == 415
    r = client.post("/pwa/events", json={"eventType": "x", "properties": "{}", "extra": 1})
    assert r.status_code == 400
    assert "extra" in r.json()["error"]["details"]


def test_pwa_and_server_events_share_the_store(sandbox: Sandbox, client: httpx.Client) -> None:
    pwa(client, "search_initiated", props(origin="DEL"))
    client.post("/api/ota/event", json=server_event("FL_1"), headers=HEADERS)
    sandbox.stop()
    lines = [json.loads(x) for x in Path(sandbox.config.store or "").read_text().splitlines()]
    assert [(r["flow"], r["event_type"], r["verdict"]) for r in lines] == [
        ("pwa", "search_initiated", "ok"),
        ("server", "order.confirmed", "accepted"),
    ]
    assert lines[0]["headers"]["origin"] == DEV_ORIGIN


def test_booking_without_server_event_is_missed(sandbox: Sandbox, client: httpx.Client) -> None:
    seen: list[SandboxEvent] = []
    sandbox.config.on_event = seen.append
    r = pwa(client, "booking_completed", props(booking_id="FL_BOOKING_ABC123", final_price=8500))
    assert r.status_code == 200
    assert client.get("/_sandbox/missed").json()["missed"] == []  # still within the window
    wait_for(lambda: client.get("/_sandbox/missed").json()["missed"])
    missed = client.get("/_sandbox/missed").json()
    assert missed["window_s"] == 0.4
    [record] = missed["missed"]
    assert record["order_id"] == "FL_BOOKING_ABC123"
    assert record["amount"] == 8500
    assert record["session_id"] == "sess_1"
    assert "FL_BOOKING_ABC123" in record["reason"]
    # a live line for it, and the --missed file for the backfill workflow
    wait_for(lambda: any(e.flow == "correlation" for e in seen))
    corr = [e for e in seen if e.flow == "correlation"]
    assert corr[0].verdict == "missed" and corr[0].order_id == "FL_BOOKING_ABC123"
    file_lines = [json.loads(x) for x in Path(sandbox.config.missed or "").read_text().splitlines()]
    assert [x["order_id"] for x in file_lines] == ["FL_BOOKING_ABC123"]
    assert client.get("/_sandbox/stats").json()["bookings"]["missed"] == 1
    # a server event arriving later is noted as late, not silently matched
    client.post("/api/ota/event", json=server_event("FL_BOOKING_ABC123"), headers=HEADERS)
    assert client.get("/_sandbox/missed").json()["missed"][0]["late_server_at"]


def test_booking_with_server_event_is_not_missed(sandbox: Sandbox, client: httpx.Client) -> None:
    pwa(client, "booking_completed", props(booking_id="FL_OK_1"))
    r = client.post("/api/ota/event", json=server_event("FL_OK_1"), headers=HEADERS)
    assert r.status_code == 200
    assert "matches PWA booking_completed" in sandbox.events(flow="server")[-1]["message"]
    # and the other way round: the server event first
    client.post("/api/ota/event", json=server_event("FL_OK_2"), headers=HEADERS)
    pwa(client, "booking_completed", props(booking_id="FL_OK_2"))
    time.sleep(0.8)  # twice the window
    assert client.get("/_sandbox/missed").json()["missed"] == []
    assert client.get("/_sandbox/stats").json()["bookings"]["matched"] == 2
    assert not Path(sandbox.config.missed or "").read_text()


def test_rejected_server_event_does_not_count(sandbox: Sandbox, client: httpx.Client) -> None:
    pwa(client, "booking_completed", props(booking_id="FL_BAD"))
    bad = server_event("FL_BAD")
    del bad["userId"]
    assert client.post("/api/ota/event", json=bad, headers=HEADERS).status_code == 400
    wait_for(lambda: client.get("/_sandbox/missed").json()["missed"])
    assert [m["order_id"] for m in client.get("/_sandbox/missed").json()["missed"]] == ["FL_BAD"]


def test_payment_event_does_not_match_a_booking(sandbox: Sandbox, client: httpx.Client) -> None:
    pwa(client, "booking_completed", props(booking_id="FL_PAY"))
    ev = server_event("FL_PAY", etype="payment.completed")
    client.post("/api/ota/event", json=ev, headers=HEADERS)
    wait_for(lambda: client.get("/_sandbox/missed").json()["missed"])


def test_bridge_relayed_object_is_warned(client: httpx.Client) -> None:
    body = {"eventType": "page_view", "properties": {"session_id": "s", "timestamp": "2024-01-01T00:00:00Z"}}
    r = client.post("/pwa/events", json=body, headers={"x-rapido-bridge-seq": "1"})
    assert r.status_code == 200
    assert r.json()["verdict"] == "warning"
    assert "JSON.stringify" in r.json()["problems"][0]["message"]
    # posted directly (not through bridge.js) an object is fine
    assert client.post("/pwa/events", json=body).json()["verdict"] == "ok"
