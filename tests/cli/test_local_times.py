"""Times without a UTC offset: read in the booking's zone, said on stderr, alike in send-booking and build.

In-process: the builder, and the CLI through Typer's runner.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from rapido_cli.build import DEFAULT_TZ, LocalTime, build_booking
from rapido_cli.cli import build_app
from rapido_cli.errors import FieldError

HOTEL = {"user_id": "u1", "order_id": "H1", "amount": "12000", "location": "15.4909,73.8278"}
FLIGHT = {"user_id": "u1", "order_id": "F1", "amount": "8500"}
ENV = {
    "RAPIDO_BASE_URL": "http://127.0.0.1:9",  # dry runs only: nothing is sent
    "RAPIDO_CLIENT_ID": "acme-travel",
    "RAPIDO_APP_ID": "acme-pwa",
    "RAPIDO_SERVICE": "hotels",
    "RAPIDO_CLIENT_KEY": "test-key-0000-1234",
    "NO_COLOR": "1",
    "COLUMNS": "200",
}


def seconds(text: str, zone: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp())


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(build_app(), list(args), env={**ENV, **(env or {})}, catch_exceptions=False)


# ---------------------------------------------------------------------------------------------
# the builder


def test_hotel_local_times_default_to_asia_kolkata() -> None:
    b = build_booking("hotel", {**HOTEL, "check_in": "2024-03-02 14:00", "check_out": "2024-03-04 11:00"})
    attrs = b.event["attributes"]
    assert DEFAULT_TZ == "Asia/Kolkata"
    assert attrs["start_time"] == seconds("2024-03-02 14:00", "Asia/Kolkata") == 1709368200
    assert attrs["end_time"] == seconds("2024-03-04 11:00", "Asia/Kolkata")
    assert attrs["tz"] == "Asia/Kolkata"
    assert b.local_times == (
        LocalTime("check_in", "Asia/Kolkata", "default"),
        LocalTime("check_out", "Asia/Kolkata", "default"),
    )


def test_the_given_zone_reads_local_times_and_becomes_the_event_zone() -> None:
    b = build_booking(
        "hotel", {**HOTEL, "tz": "Europe/London", "check_in": "2024-07-02T14:00", "check_out": "1720000000"}
    )
    assert b.event["attributes"]["start_time"] == seconds("2024-07-02 14:00", "Europe/London")
    assert b.event["attributes"]["end_time"] == 1720000000
    assert b.event["attributes"]["tz"] == "Europe/London"
    assert b.local_times == (LocalTime("check_in", "Europe/London", "tz"),)  # Unix seconds are not local


def test_times_with_an_offset_are_not_local() -> None:
    b = build_booking("hotel", {**HOTEL, "check_in": "2024-03-02T14:00+05:30", "check_out": "2024-03-04T11:00:00Z"})
    assert b.local_times == ()


def test_flights_by_iata_code_read_local_times_at_each_airport_unless_a_zone_is_given() -> None:
    values = {**FLIGHT, "from": "DEL", "to": "DXB", "depart": "2024-03-02 10:00", "arrive": "2024-03-02 12:00"}
    b = build_booking("flight", values)
    assert b.event["attributes"]["start_time"] == seconds("2024-03-02 10:00", "Asia/Kolkata")
    assert b.event["attributes"]["end_time"] == seconds("2024-03-02 12:00", "Asia/Dubai")
    assert b.event["attributes"]["tz"] == "Asia/Kolkata"
    assert [(t.field, t.zone, t.source, t.airport) for t in b.local_times] == [
        ("depart", "Asia/Kolkata", "airport", "DEL"),
        ("arrive", "Asia/Dubai", "airport", "DXB"),
    ]
    b = build_booking("flight", {**values, "tz": "UTC"})
    assert b.event["attributes"]["end_time"] == seconds("2024-03-02 12:00", "UTC")
    assert {t.source for t in b.local_times} == {"tz"}
    # by coordinates: no airport, the default zone
    b = build_booking(
        "flight",
        {
            **FLIGHT,
            "origin": "28.55,77.1",
            "dest": "12.97,77.59",
            "depart": "2024-03-02 10:00",
            "arrive": "2024-03-02 12:00",
        },
    )
    assert b.event["attributes"]["start_time"] == seconds("2024-03-02 10:00", "Asia/Kolkata")
    assert {(t.zone, t.source) for t in b.local_times} == {("Asia/Kolkata", "default")}


def test_core_errors_name_fields_and_each_cli_words_them() -> None:
    with pytest.raises(FieldError) as exc:
        build_booking("hotel", {**HOTEL, "check_in": "2024-03-04 14:00", "check_out": "2024-03-02 11:00"})
    err = exc.value
    assert (err.field, err.kind, err.refs) == ("check_out", "order", ("check_in",))
    assert str(err) == "check_out: is before check_in"
    assert err.render(lambda f: "--" + f.replace("_", "-")) == ("is before --check-in", None)
    with pytest.raises(FieldError) as exc:
        build_booking("flight", {**FLIGHT, "from": "DEL", "origin": "1,2"})
    assert exc.value.kind == "conflict" and str(exc.value) == "from: give from or origin, not both"
    # no flag in any core message or hint
    for values in ({}, {**HOTEL, "check_in": ""}, {**FLIGHT}, {**FLIGHT, "from": "DEL"}, {**HOTEL, "check_in": "x"}):
        for kind in ("flight", "hotel"):
            try:
                build_booking(kind, values)  # type: ignore[arg-type]
            except FieldError as e:
                assert "--" not in str(e) and "--" not in (e.hint or ""), e


# ---------------------------------------------------------------------------------------------
# send-booking


def test_send_booking_check_in_without_offset_works_and_says_the_zone() -> None:
    res = cli(
        "send-booking",
        "hotel",
        "--user",
        "u1",
        "--order-id",
        "H1",
        "--amount",
        "12000",
        "--location",
        "15.4909,73.8278",
        "--check-in",
        "2024-03-02 14:00",
        "--check-out",
        "2024-03-04 11:00",
        "--dry-run",
        "--json",
    )
    assert res.exit_code == 0, res.output
    attrs = json.loads(res.stdout)["request"]["body"]["attributes"]
    assert attrs["start_time"] == 1709368200 and attrs["tz"] == "Asia/Kolkata"
    note = [ln for ln in res.stderr.splitlines() if ln.startswith("note:")]
    assert len(note) == 1
    assert "--check-in, --check-out read in Asia/Kolkata (the default zone" in note[0]


def test_send_booking_tz_and_airport_zones_are_named() -> None:
    res = cli(
        "send-booking",
        "hotel",
        "--user",
        "u1",
        "--order-id",
        "H1",
        "--amount",
        "1",
        "--location",
        "51.5,-0.12",
        "--check-in",
        "2024-07-02 14:00",
        "--check-out",
        "2024-07-04 11:00",
        "--tz",
        "Europe/London",
        "--dry-run",
        "--json",
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["request"]["body"]["attributes"]["start_time"] == seconds(
        "2024-07-02 14:00", "Europe/London"
    )
    assert "read in Europe/London (--tz)" in res.stderr
    res = cli(
        "send-booking",
        "flight",
        "--user",
        "u1",
        "--order-id",
        "F1",
        "--amount",
        "1",
        "--from",
        "DEL",
        "--to",
        "DXB",
        "--depart",
        "2024-03-02 10:00",
        "--arrive",
        "2024-03-02 12:00",
        "--dry-run",
        "--json",
        env={"RAPIDO_SERVICE": "flights"},
    )
    assert res.exit_code == 0, res.output
    assert (
        "--depart read in Asia/Kolkata (the zone of DEL); --arrive read in Asia/Dubai (the zone of DXB)" in res.stderr
    )
    # offsets everywhere: no note
    res = cli(
        "send-booking",
        "hotel",
        "--user",
        "u1",
        "--order-id",
        "H1",
        "--amount",
        "1",
        "--location",
        "1,2",
        "--check-in",
        "2024-03-02T14:00+05:30",
        "--check-out",
        "1709530200",
        "--dry-run",
        "--json",
    )
    assert res.exit_code == 0 and "note:" not in res.stderr


def test_send_booking_errors_name_flags() -> None:
    res = cli(
        "send-booking",
        "hotel",
        "--user",
        "u1",
        "--order-id",
        "H1",
        "--amount",
        "1",
        "--location",
        "1,2",
        "--check-in",
        "2024-03-04 14:00",
        "--check-out",
        "2024-03-02 11:00",
        "--dry-run",
    )
    assert res.exit_code == 2
    assert "error: --check-out: is before --check-in" in res.stderr
    res = cli(
        "send-booking",
        "flight",
        "--user",
        "u1",
        "--order-id",
        "F1",
        "--amount",
        "1",
        "--depart",
        "1",
        "--arrive",
        "2",
        "--dry-run",
    )
    assert (
        "error: --from: is required" in res.stderr and "hint: --from (IATA code) or --origin (LAT,LONG)" in res.stderr
    )


def test_send_booking_help_says_how_local_times_are_read() -> None:
    text = " ".join(cli("send-booking", "--help").stdout.split())
    assert "A time without an offset is local: read in --tz" in text
    assert "else in Asia/Kolkata (the default zone)" in text
    assert "2024-03-02 14:00" in text


# ---------------------------------------------------------------------------------------------
# build


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


HOTELS = (
    "user_id,order_id,amount,location,check_in,check_out,tz\n"
    'u1,H1,100,"15.49,73.82",2024-03-02 14:00,2024-03-04 11:00,\n'
    'u2,H2,100,"51.5,-0.12",2024-07-02 14:00,2024-07-04 11:00,Europe/London\n'
    'u3,H3,100,"15.49,73.82",2024-03-02T14:00+05:30,1709530200,\n'
)


def test_build_reads_local_times_in_the_row_zone_then_tz_then_the_map_then_the_default(tmp_path: Path) -> None:
    export = write(tmp_path / "hotels.csv", HOTELS)
    res = cli("build", "hotel", "--csv", str(export))
    assert res.exit_code == 0, res.output
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert events[0]["attributes"]["start_time"] == seconds("2024-03-02 14:00", "Asia/Kolkata")
    assert events[0]["attributes"]["tz"] == "Asia/Kolkata"
    assert events[1]["attributes"]["start_time"] == seconds("2024-07-02 14:00", "Europe/London")
    notes = [ln for ln in res.stderr.splitlines() if ln.startswith("note:")]
    assert notes == [
        "note: 4 times without a UTC offset read as local time: 2 in Asia/Kolkata (the default zone; --tz ZONE "
        "or a tz column sets another), 2 in Europe/London (the row's tz)"
    ]
    # --tz fills rows without a tz cell (the cell still wins) and beats the map's default
    mapping = write(tmp_path / "map.yaml", "defaults:\n  tz: Asia/Tokyo\n")
    res = cli("build", "hotel", "--csv", str(export), "--tz", "Asia/Dubai", "--map", str(mapping))
    assert res.exit_code == 0, res.output
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert [e["attributes"]["tz"] for e in events] == ["Asia/Dubai", "Europe/London", "Asia/Dubai"]
    assert events[0]["attributes"]["start_time"] == seconds("2024-03-02 14:00", "Asia/Dubai")
    assert "2 in Asia/Dubai (--tz), 2 in Europe/London (the row's tz)" in res.stderr
    res = cli("build", "hotel", "--csv", str(export), "--map", str(mapping))
    assert [json.loads(x)["attributes"]["tz"] for x in res.stdout.splitlines()] == [
        "Asia/Tokyo",
        "Europe/London",
        "Asia/Tokyo",
    ]
    assert f"2 in Asia/Tokyo (defaults: tz: in {mapping})" in res.stderr


def test_build_rows_and_send_booking_agree_on_local_times(tmp_path: Path) -> None:
    export = write(tmp_path / "hotels.csv", HOTELS)
    built = cli("build", "hotel", "--csv", str(export), "--tz", "Asia/Dubai")
    first = json.loads(built.stdout.splitlines()[0])
    sent = cli(
        "send-booking",
        "hotel",
        "--user",
        "u1",
        "--order-id",
        "H1",
        "--amount",
        "100",
        "--location",
        "15.49,73.82",
        "--check-in",
        "2024-03-02 14:00",
        "--check-out",
        "2024-03-04 11:00",
        "--tz",
        "Asia/Dubai",
        "--dry-run",
        "--json",
    )
    assert json.loads(sent.stdout)["request"]["body"] == first


def test_build_errors_name_columns_not_flags(tmp_path: Path) -> None:
    export = write(
        tmp_path / "flights.csv",
        "user_id,order_id,amount,Origin Airport,origin,to,Arrival,depart\n"
        'u1,F1,1,DEL,"1,2",BLR,2024-03-02 11:00,2024-03-02 10:00\n'
        "u2,F2,1,,,BLR,2024-03-02 11:00,2024-03-02 10:00\n"
        "u3,F3,1,DEL,,BLR,2024-03-02 09:00,2024-03-02 10:00\n",
    )
    mapping = write(tmp_path / "m.yaml", "columns:\n  from: Origin Airport\n  arrive: Arrival\n")
    res = cli("build", "flight", "--csv", str(export), "--map", str(mapping))
    assert res.exit_code == 1, res.output
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith(("error:", "  hint:"))]
    assert "--" not in "\n".join(errors), errors
    text = "\n".join(errors)
    assert (
        "row 1 (line 2): from (column 'Origin Airport'): give from (column 'Origin Airport') or origin, not both"
        in text
    )
    assert "row 2 (line 3): from (column 'Origin Airport'): is empty" in text
    assert "row 3 (line 4): arrive (column 'Arrival'): is before depart (depart 2024-03-02 10:00," in text
    res = cli("build", "flight", "--csv", str(export), "--tz", "Mars/Olympus")
    assert res.exit_code == 2 and "--tz: 'Mars/Olympus' is not in the IANA time zone database" in res.stderr


def test_build_help_says_how_local_times_are_read() -> None:
    text = " ".join(cli("build", "--help").stdout.split())
    assert "--tz" in text
    assert "A time without an offset is local: read in the row's tz cell, else --tz" in text
    assert "else in Asia/Kolkata (the default zone)" in text
