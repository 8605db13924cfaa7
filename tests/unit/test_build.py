"""Unit tests of the builders: times, coordinates, airports, zones, ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapido_cli.build import (
    _parse_time,
    airport,
    booking_event,
    check_tz,
    event_id_for,
    make_event,
    parse_amount,
    parse_latlong,
    parse_scalar,
)
from rapido_cli.errors import FieldError
from rapido_cli.rules import check_server_event

FLIGHT = {
    "user_id": "u1", "order_id": "FL1", "amount": "8500", "from": "DEL", "to": "BLR",
    "depart": "2024-02-17T13:30:00+05:30", "arrive": "2024-02-17T16:15:00+05:30",
}


def parse_time(value: str, field: str, zone: str | None = None) -> int:
    return _parse_time(value, field, zone)[0]


def test_iso_with_offset_and_unix_seconds_agree():
    assert parse_time("2024-02-17T08:00:00Z", "t") == 1708156800
    assert parse_time("2024-02-17T13:30:00+05:30", "t") == 1708156800
    assert parse_time("1708156800", "t") == 1708156800


def test_naive_time_uses_zone_or_fails():
    assert parse_time("2024-02-17T13:30:00", "t", "Asia/Kolkata") == 1708156800
    with pytest.raises(FieldError, match="no UTC offset"):
        parse_time("2024-02-17T13:30:00", "t")


def test_milliseconds_are_called_out():
    with pytest.raises(FieldError, match="milliseconds") as exc:
        parse_time("1708156800000", "depart")
    assert exc.value.field == "depart"
    assert "1708156800" in (exc.value.hint or "")


def test_naive_flight_times_are_read_in_each_airports_zone():
    ev = booking_event("flight", {**FLIGHT, "from": "LHR", "to": "DEL",
                                  "depart": "2024-02-17T10:00:00", "arrive": "2024-02-18T00:30:00"})
    attrs = ev["attributes"]
    assert attrs["start_time"] == 1708164000  # 10:00 London (UTC+0)
    assert attrs["end_time"] == 1708196400  # 00:30 Delhi (UTC+5:30) = 19:00 UTC
    assert attrs["tz"] == "Europe/London"


def test_amount_rules():
    assert parse_amount("8500") == 8500 and isinstance(parse_amount("8500"), int)
    assert parse_amount("8500.50") == 8500.5
    for bad in ("-1", "nan", "inf", "abc", "1e12"):
        with pytest.raises(FieldError):
            parse_amount(bad)


def test_coordinates_and_airports():
    assert parse_latlong("28.5562, 77.1", "origin") == (28.5562, 77.1)
    with pytest.raises(FieldError, match="outside"):
        parse_latlong("91,0", "origin")
    with pytest.raises(FieldError, match="LAT,LONG"):
        parse_latlong("91", "origin")
    assert airport("blr", "to").tz == "Asia/Kolkata"
    with pytest.raises(FieldError, match="unknown airport"):
        airport("QQQ", "to")


def test_time_zones_are_checked():
    assert check_tz("Asia/Kolkata") == "Asia/Kolkata"
    for bad in ("Mars/Olympus", "", "../etc/passwd", "Asia/"):
        with pytest.raises(FieldError):
            check_tz(bad)


def test_event_type_follows_status_unless_overridden():
    assert booking_event("flight", {**FLIGHT, "status": "cancelled"})["event"]["type"] == "order.cancelled"
    assert booking_event("flight", {**FLIGHT, "status": "MODIFIED"})["event"]["type"] == "order.modified"
    ev = booking_event("flight", {**FLIGHT, "status": "CONFIRMED", "type": "payment.completed"})
    assert ev["event"]["type"] == "payment.completed"
    assert booking_event("flight", {**FLIGHT, "host_status": "CANCELLED"})["attributes"]["hostStatus"] == "CANCELLED"


def test_built_events_pass_the_rules():
    assert check_server_event(booking_event("flight", FLIGHT)) == []
    hotel = {"user_id": "u", "order_id": "H", "amount": 1, "location_lat": "12.9", "location_long": "77.5",
             "check_in": "1708156800", "check_out": "1708415200", "tz": "Asia/Kolkata"}
    assert [p for p in check_server_event(booking_event("hotel", hotel)) if p.severity == "error"] == []


def test_arrival_before_departure_is_refused():
    with pytest.raises(FieldError, match="before"):
        booking_event("flight", {**FLIGHT, "arrive": "2024-02-17T08:00:00+05:30"})


def test_scalar_typing():
    assert parse_scalar("8500") == 8500
    assert parse_scalar("-1.5") == -1.5
    assert parse_scalar("true") is True and parse_scalar("null") is None
    assert parse_scalar("007") == "007" and parse_scalar("DEL") == "DEL" and parse_scalar("1e999") == "1e999"


@given(
    user=st.text(min_size=1, max_size=20).filter(str.strip),
    amount=st.integers(min_value=0, max_value=10**7),
    other=st.integers(min_value=0, max_value=10**7),
)
def test_ids_are_stable_and_content_derived(user: str, amount: int, other: int):
    a = event_id_for(user, "order.confirmed", {"orderId": "X", "amount_total": amount})
    assert a == event_id_for(user, "order.confirmed", {"amount_total": amount, "orderId": "X"})  # key order
    b = event_id_for(user, "order.confirmed", {"orderId": "X", "amount_total": other})
    assert (a == b) == (amount == other)
    assert a != event_id_for(user, "order.cancelled", {"orderId": "X", "amount_total": amount})


def test_explicit_event_id_is_kept():
    assert make_event("u", "order.confirmed", {}, "evt_mine")["event"]["id"] == "evt_mine"
