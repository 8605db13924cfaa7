"""The seed's own reference Python client works against the sandbox unchanged (but for the seed's
syntax error, see tests/data/seed_client.py)."""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

import pytest
from conftest import TESTS

from rapido_cli.sandbox import Sandbox

SEED_CLIENT = TESTS / "data" / "seed_client.py"
SEED_DOC = TESTS / "data" / "seed" / "events-tracking.md"

# The "Usage example" booking from the seed's Python section.
BOOKING = {
    "rapido_user_id": "rapido_user_12345",
    "booking_id": "FL_BOOKING_ABC123",
    "total_price": 8500,
    "origin": {"latitude": 28.5562, "longitude": 77.1000},
    "destination": {"latitude": 12.9716, "longitude": 77.5946},
    "departure_timestamp": 1708156800,
    "arrival_timestamp": 1708163000,
    "timezone": "Asia/Kolkata",
}


def load_seed() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seed_client", SEED_CLIENT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sandbox_config() -> dict[str, Any]:
    """For conftest's ``sandbox``: the credentials the reference client's usage example uses."""
    return {"client_id": "your-client-id", "client_key": "your-client-key"}


def test_vendored_client_differs_from_the_seed_by_one_line() -> None:
    if not SEED_DOC.exists():
        pytest.skip(f"seed document not found at {SEED_DOC}")
    doc = SEED_DOC.read_text()
    start = doc.index("```python\n", doc.index("#### Python Implementation")) + len("```python\n")
    seed_lines = doc[start : doc.index("```", start)].splitlines()
    lines = SEED_CLIENT.read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    vendored = lines[header:]
    assert len(seed_lines) == len(vendored)
    changed = [(a, b) for a, b in zip(seed_lines, vendored, strict=True) if a != b]
    assert changed == [
        (
            "            'baseURL: '<rapido-host-url>'",
            "            'base_url': '<rapido-host-url>'  # vendored: the only change from the seed "
            "(was: 'baseURL: '<rapido-host-url>', a syntax error)",
        )
    ]


def test_seed_client_posts_a_booking(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    seed = load_seed()
    client = seed.RapidoEventClient(
        client_id="your-client-id", client_key="your-client-key", service_type="flights", app_id="your-app-id"
    )
    client.config["base_url"] = sandbox.url
    result = client.post_booking_event(
        user_id=BOOKING["rapido_user_id"],
        order_id=BOOKING["booking_id"],
        order_status="CONFIRMED",
        service_type="flight",
        booking_details={
            "total_amount": 8500,
            "origin_lat": 28.5562,
            "origin_lng": 77.1000,
            "dest_lat": 12.9716,
            "dest_lng": 77.5946,
            "start_time": 1708156800,
            "end_time": 1708163000,
            "timezone": "Asia/Kolkata",
        },
    )
    assert result["success"] is True
    assert result["code"] == 7000
    assert result["requestId"].startswith("req_")
    [ev] = sandbox.events(flow="server")
    assert ev["verdict"] == "accepted"
    assert ev["event"]["attributes"]["orderId"] == "FL_BOOKING_ABC123"
    assert ev["headers"]["x-client-app-id"] == "your-app-id"

    # the seed's own handler, with its module-level client pointed at the sandbox
    seed.rapido_client.config["base_url"] = sandbox.url
    seed.handle_booking_confirmation(BOOKING)
    assert "Event posted successfully: req_" in capsys.readouterr().out


def test_seed_client_sees_http_errors(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    import requests

    seed = load_seed()
    client = seed.RapidoEventClient("your-client-id", "wrong-key", "flights", "your-app-id")
    client.config["base_url"] = sandbox.url
    with pytest.raises(requests.HTTPError, match="401"):
        client.post_event("rapido_user_12345", "payment.completed", "evt_1", {"orderId": "X"})
    assert "Failed to post event to Rapido" in capsys.readouterr().out
