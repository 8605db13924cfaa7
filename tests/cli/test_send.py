"""Acceptance tests of `rapido send` / `send-booking` through the real CLI and a real loopback server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TEST_KEY, Reply
from httpserver import error_body, ok_body

FOUR_HEADERS = {
    "x-client-id": "acme-travel",
    "x-client-service": "flights",
    "x-client-app-id": "acme-pwa",
    "authorization": TEST_KEY,
}


@pytest.mark.parametrize("name", ["flight.json", "hotel.json"])
def test_seed_examples_arrive_equal_with_the_four_headers(rapido, server, profile_env, seed_dir: Path, name: str):
    srv = server()
    res = rapido("send", "--file", str(seed_dir / name), env=profile_env(srv.url))
    assert res.code == 0, res.output
    assert len(srv.requests) == 1
    req = srv.requests[0]
    assert req.method == "POST" and req.path == "/api/ota/event"
    assert req.json() == json.loads((seed_dir / name).read_text())
    for header, value in FOUR_HEADERS.items():
        assert req.headers[header] == value
    assert req.headers["content-type"] == "application/json"
    assert "delivered" in res.stdout and "req_test" in res.stdout


def test_send_booking_flight_sends_all_eleven_attributes_with_airport_coordinates(rapido, server, profile_env):
    srv = server()
    res = rapido(
        "send-booking", "flight", "--user", "rapido_user_12345", "--order-id", "FL_BOOKING_ABC123",
        "--amount", "8500", "--from", "DEL", "--to", "BLR",
        "--depart", "2024-02-17T13:30:00+05:30", "--arrive", "2024-02-17T16:15:00+05:30",
        env=profile_env(srv.url),
    )
    assert res.code == 0, res.output
    body = srv.requests[0].json()
    attrs = body["attributes"]
    assert list(attrs) == [
        "orderId", "orderStatus", "amount_total", "location_origin_lat", "location_origin_long",
        "location_dest_lat", "location_dest_long", "start_time", "end_time", "hostStatus", "tz",
    ]
    assert body["event"]["type"] == "order.confirmed"
    assert attrs["location_origin_lat"] == pytest.approx(28.5665, abs=0.01)  # DEL
    assert attrs["location_origin_long"] == pytest.approx(77.1031, abs=0.01)
    assert attrs["location_dest_lat"] == pytest.approx(13.1979, abs=0.01)  # BLR
    assert attrs["location_dest_long"] == pytest.approx(77.7063, abs=0.01)
    assert attrs["start_time"] == 1708156800
    assert attrs["end_time"] == 1708166700
    assert attrs["amount_total"] == 8500 and isinstance(attrs["amount_total"], int)
    assert attrs["hostStatus"] == "CONFIRMED" and attrs["tz"] == "Asia/Kolkata"
    assert body["schemaVersion"] == 1


def test_send_booking_hotel_cancelled_sends_order_cancelled(rapido, server, profile_env):
    srv = server()
    res = rapido(
        "send-booking", "hotel", "--user", "u1", "--order-id", "HTL_1", "--amount", "12000",
        "--status", "CANCELLED", "--location", "28.6139,77.2090",
        "--check-in", "1708156800", "--check-out", "1708415200",
        env=profile_env(srv.url),
    )
    assert res.code == 0, res.output
    body = srv.requests[0].json()
    assert body["event"]["type"] == "order.cancelled"
    assert body["attributes"]["orderStatus"] == "CANCELLED"
    assert body["attributes"]["hostStatus"] == "CANCELLED"
    assert body["attributes"]["location_origin_lat"] == body["attributes"]["location_dest_lat"] == 28.6139


def _dry_run_id(rapido, env, amount: str) -> str:
    res = rapido(
        "send-booking", "hotel", "--user", "u1", "--order-id", "HTL_1", "--amount", amount,
        "--location", "28.6,77.2", "--check-in", "1708156800", "--check-out", "1708415200",
        "--dry-run", "--json", env=env,
    )
    assert res.code == 0, res.output
    return json.loads(res.stdout)["request"]["body"]["event"]["id"]


def test_same_booking_same_id_changed_amount_new_id(rapido, profile_env):
    env = profile_env("https://partner.example.com")
    first, again, changed = (_dry_run_id(rapido, env, a) for a in ("12000", "12000", "12001"))
    assert first == again
    assert first != changed
    assert first.startswith("evt_")


def test_500_500_200_retries_with_one_event_id(rapido, server, profile_env, seed_dir):
    srv = server([Reply(500, error_body(7004, "boom")), Reply(500), Reply(200, ok_body("req_3"))])
    res = rapido("send", "--file", str(seed_dir / "flight.json"), "--json", env=profile_env(srv.url))
    assert res.code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ok"] is True and out["attempts"] == 3 and out["status"] == 200
    assert out["response"]["requestId"] == "req_3"
    ids = {r.json()["event"]["id"] for r in srv.requests}
    assert len(srv.requests) == 3 and ids == {"evt_flight_confirm_789"}


def test_429_retry_after_is_honoured(rapido, server, profile_env, seed_dir):
    srv = server([Reply(429, error_body(7003, "slow down"), {"Retry-After": "2"}), Reply(200, ok_body())])
    res = rapido("send", "--file", str(seed_dir / "flight.json"), env=profile_env(srv.url))
    assert res.code == 0, res.output
    assert len(srv.requests) == 2
    assert srv.requests[1].at - srv.requests[0].at >= 2.0


@pytest.mark.slow  # waits 2-3 s; parse_retry_after's HTTP-date is tested fast in tests/unit/test_client.py
def test_retry_after_as_http_date(rapido, server, profile_env, seed_dir):
    import time
    from email.utils import formatdate

    not_before = time.time() + 3  # an HTTP-date: whole seconds; far above the test backoff cap (0.2 s)
    srv = server([Reply(503, None, {"Retry-After": formatdate(not_before, usegmt=True)}), Reply(200, ok_body())])
    res = rapido("send", "--file", str(seed_dir / "flight.json"), env=profile_env(srv.url))
    assert res.code == 0, res.output
    assert len(srv.requests) == 2
    assert srv.requests[1].wall >= not_before - 1.0  # an HTTP-date has 1 s resolution


@pytest.mark.parametrize("status", [400, 422, 409, 413])  # 404/405: wrong base_url, exit 3 (test_delivery)
def test_rejections_are_not_retried_exit_1(rapido, server, profile_env, seed_dir, status):
    details = {"attributes.amount_total": "must be >= 0"}
    srv = server([Reply(status, error_body(7001, "Invalid amount", details))])
    res = rapido("send", "--file", str(seed_dir / "flight.json"), env=profile_env(srv.url))
    assert res.code == 1, res.output
    assert len(srv.requests) == 1
    assert "Invalid amount" in res.stdout and "attributes.amount_total" in res.stdout
    assert "Traceback" not in res.output


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_exit_3_after_one_attempt(rapido, server, profile_env, seed_dir, status):
    srv = server([Reply(status, error_body(7002, "bad key"))])
    res = rapido("send", "--file", str(seed_dir / "flight.json"), env=profile_env(srv.url))
    assert res.code == 3, res.output
    assert len(srv.requests) == 1


def test_persistent_503_uses_max_attempts_then_exit_75(rapido, server, profile_env, seed_dir):
    srv = server([Reply(503, error_body(7004, "down"))])
    res = rapido("send", "--file", str(seed_dir / "flight.json"), env=profile_env(srv.url, max_attempts=4))
    assert res.code == 75, res.output
    assert len(srv.requests) == 4
    assert "try again later" in res.stdout


@pytest.mark.parametrize("status", [408, 499, 502, 504])
def test_other_temporary_statuses_are_retried(rapido, server, profile_env, seed_dir, status):
    srv = server([Reply(status), Reply(200, ok_body())])
    res = rapido("send", "--file", str(seed_dir / "flight.json"), env=profile_env(srv.url))
    assert res.code == 0, res.output
    assert len(srv.requests) == 2


def test_dropped_connection_is_retried(rapido, server, profile_env, seed_dir):
    srv = server([Reply(drop=True), Reply(200, ok_body())])
    res = rapido("send", "--file", str(seed_dir / "flight.json"), env=profile_env(srv.url))
    assert res.code == 0, res.output
    assert len(srv.requests) == 2


def test_nothing_listening_exit_75_without_traceback(rapido, profile_env, seed_dir):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    res = rapido("send", "--file", str(seed_dir / "flight.json"),
                 env=profile_env(f"http://127.0.0.1:{port}", max_attempts=2))
    assert res.code == 75, res.output
    assert "Traceback" not in res.output
    assert "connection refused" in res.stdout


def test_key_never_appears_in_any_output(rapido, server, profile_env, seed_dir):
    srv = server([Reply(500, error_body(7004, "boom")), Reply(401, error_body(7002, "bad key"))])
    env = profile_env(srv.url)
    runs = [
        rapido("send", "--file", str(seed_dir / "flight.json"), "-v", "-v", env=env),
        rapido("send", "--file", str(seed_dir / "flight.json"), "--dry-run", env=env),
        rapido("send", "--file", str(seed_dir / "flight.json"), "--dry-run", "--json", env=env),
        rapido("send", "--file", str(seed_dir / "flight.json"), "--json", "-v", env=env),
    ]
    for res in runs:
        assert TEST_KEY not in res.output
        assert TEST_KEY[-8:] not in res.output
    assert "****WXYZ" in runs[1].stdout  # masked to the last 4
    assert "attempt 1: HTTP 500" in runs[0].stderr  # -v shows each exchange


def test_env_overrides_base_url_and_key(rapido, server, tmp_path, seed_dir):
    from conftest import write_profiles

    good = server()
    cfg = write_profiles(tmp_path / "p.yaml", "http://127.0.0.1:9", key="from-file-key-1234")
    env = {"RAPIDO_CONFIG": str(cfg), "RAPIDO_BASE_URL": good.url, "RAPIDO_CLIENT_KEY": "env-key-override-9876"}
    res = rapido("send", "--file", str(seed_dir / "hotel.json"), env=env)
    assert res.code == 0, res.output
    assert good.requests[0].headers["authorization"] == "env-key-override-9876"
    assert good.requests[0].headers["x-client-id"] == "acme-travel"  # the rest still from the file


def test_attr_typing_and_flags(rapido, server, profile_env):
    srv = server()
    res = rapido("send", "--user", "u1", "--type", "payment.completed", "--attr", "orderId=FL_1",
                 "--attr", "amount_total=8500", "--attr", "refund=false", "--attr", "note=null",
                 "--attr", "code=007", "--attr", "ratio=1.5", env=profile_env(srv.url))
    assert res.code == 0, res.output
    attrs = srv.requests[0].json()["attributes"]
    assert attrs == {"orderId": "FL_1", "amount_total": 8500, "refund": False, "note": None, "code": "007",
                     "ratio": 1.5}


def test_send_yaml_from_stdin(rapido, server, profile_env, seed_dir):
    import yaml

    srv = server()
    text = yaml.safe_dump(json.loads((seed_dir / "hotel.json").read_text()))
    res = rapido("send", "--file", "-", input=text, env=profile_env(srv.url))
    assert res.code == 0, res.output
    assert srv.requests[0].json()["event"]["id"] == "evt_hotel_confirm_456"


def test_invalid_event_is_not_sent(rapido, server, profile_env, seed_dir, tmp_path):
    srv = server()
    bad = json.loads((seed_dir / "flight.json").read_text())
    bad["attributes"]["location_origin_lat"] = 128.5
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    res = rapido("send", "--file", str(f), env=profile_env(srv.url))
    assert res.code == 1
    assert srv.requests == []
    assert "location_origin_lat" in res.stderr


def test_missing_profile_and_missing_key_exit_3(rapido, tmp_path, seed_dir):
    res = rapido("send", "--file", str(seed_dir / "flight.json"), "--profile", "nope",
                 env={"RAPIDO_CONFIG": str(tmp_path / "none.yaml")})
    assert res.code == 3 and "profile 'nope' not found" in res.stderr and "Traceback" not in res.output
    from conftest import write_profiles

    cfg = write_profiles(tmp_path / "p.yaml", "https://x.example.com")
    res = rapido("send", "--file", str(seed_dir / "flight.json"), env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 3 and "no client key" in res.stderr and "set-key" in res.stderr


def test_group_readable_key_file_is_refused(rapido, tmp_path, seed_dir):
    from conftest import write_profiles

    cfg = write_profiles(tmp_path / "p.yaml", "https://x.example.com", key="abcdefgh12345678")
    (tmp_path / "test.key").chmod(0o640)
    res = rapido("send", "--file", str(seed_dir / "flight.json"), env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 3 and "chmod 600" in res.stderr


def test_unknown_airport_and_bad_time_are_usage_errors(rapido, profile_env):
    env = profile_env("https://x.example.com")
    common = ["send-booking", "flight", "--user", "u", "--order-id", "o", "--amount", "1", "--dry-run"]
    res = rapido(*common, "--from", "XXX", "--to", "BLR", "--depart", "1708156800", "--arrive", "1708163000", env=env)
    assert res.code == 2 and "unknown airport 'XXX'" in res.stderr
    res = rapido(*common, "--from", "DEL", "--to", "BLR", "--depart", "1708156800000", "--arrive", "1708163000",
                 env=env)
    assert res.code == 2 and "milliseconds" in res.stderr
    res = rapido(*common, "--from", "DEL", "--to", "BLR", "--depart", "1708156800", "--arrive", "1708163000",
                 "--tz", "Mars/Olympus", env=env)
    assert res.code == 2 and "IANA" in res.stderr


def test_send_with_sandbox_needs_no_configuration(rapido, tmp_path, seed_dir):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "nothing-here")}
    res = rapido("send", "--file", str(seed_dir / "flight.json"), "--sandbox", "--json", env=env)
    assert res.code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ok"] is True and out["response"]["code"] == 7000
    assert out["response"]["requestId"].startswith("req_")
    assert "nothing reaches Rapido" in res.stderr


def test_hotel_booking_on_the_sandbox_declares_hotels(rapido, tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "nothing-here")}
    res = rapido("send-booking", "hotel", "--user", "u1", "--order-id", "H1", "--amount", "1",
                 "--location", "28.6,77.2", "--check-in", "1708156800", "--check-out", "1708415200",
                 "--sandbox", "--dry-run", "--json", env=env)
    assert res.code == 0, res.output
    assert json.loads(res.stdout)["request"]["headers"]["x-client-service"] == "hotels"


def test_booking_for_the_other_service_warns(rapido, profile_env):
    env = profile_env("https://partner.example.com")  # a flights profile
    res = rapido("send-booking", "hotel", "--user", "u1", "--order-id", "H1", "--amount", "1",
                 "--location", "28.6,77.2", "--check-in", "1708156800", "--check-out", "1708415200",
                 "--dry-run", "--json", env=env)
    assert res.code == 0, res.output
    assert "declares x-client-service flights" in res.stderr
    assert json.loads(res.stdout)["request"]["headers"]["x-client-service"] == "flights"


def test_no_configuration_at_all_says_how_to_start(rapido, tmp_path, seed_dir):
    res = rapido("send", "--file", str(seed_dir / "flight.json"), env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert res.code == 3
    assert "nothing is configured: no profiles file at" in res.stderr
    assert "rapido profile add" in res.stderr and "--sandbox" in res.stderr
    assert res.stdout == ""
