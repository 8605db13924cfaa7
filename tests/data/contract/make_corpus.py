"""Write the contract corpus: server and PWA events, valid (maybe with warnings) and invalid.

    python tests/data/contract/make_corpus.py

Each file holds one event (JSON or YAML), so the real check-jsonschema can judge it alone; event
ids are unique across the corpus, so one `rapido validate` run over a folder sees no duplicates.
tests/test_contract_agreement.py runs both over these files. Edit here, re-run, commit the files.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent

FLIGHT: dict[str, Any] = {
    "userId": "rapido_user_12345",
    "event": {"type": "order.confirmed", "id": "evt_flight_confirm_789"},
    "attributes": {
        "orderId": "FL_BOOKING_ABC123",
        "orderStatus": "CONFIRMED",
        "amount_total": 8500,
        "location_origin_lat": 28.5562,
        "location_origin_long": 77.1,
        "location_dest_lat": 12.9716,
        "location_dest_long": 77.5946,
        "start_time": 1708156800,
        "end_time": 1708163000,
        "hostStatus": "CONFIRMED",
        "tz": "Asia/Kolkata",
    },
    "schemaVersion": 1,
}
HOTEL_ATTRS = {
    "orderId": "HTL_BOOKING_XYZ789",
    "location_origin_lat": 28.6139,
    "location_origin_long": 77.209,
    "location_dest_lat": 28.6139,
    "location_dest_long": 77.209,
    "amount_total": 12000,
    "start_time": 1708156800,
    "end_time": 1708415200,
}
DROP = object()


def server(name: str, top: dict[str, Any] | None = None, event: dict[str, Any] | None = None, **attrs: Any) -> Any:
    e = copy.deepcopy(FLIGHT)
    e["event"]["id"] = f"evt_contract_{name}"
    for target, changes in ((e, top or {}), (e["event"], event or {}), (e["attributes"], attrs)):
        for k, v in changes.items():
            if v is DROP:
                target.pop(k, None)
            else:
                target[k] = v
    return e


def payment(name: str, **attrs: Any) -> dict[str, Any]:
    return {
        "userId": "rapido_user_12345",
        "event": {"type": name.split("-")[0].replace("_", "."), "id": f"evt_contract_{name}"},
        "attributes": attrs,
        "schemaVersion": 1,
    }


SERVER_VALID: dict[str, Any] = {
    "flight.json": server("flight"),
    "hotel.json": server("hotel", **HOTEL_ATTRS),
    "flight.yaml": server("flight_yaml"),
    "order-cancelled.json": server(
        "cancelled", event={"type": "order.cancelled"}, orderStatus="CANCELLED", hostStatus="CANCELLED"
    ),
    "order-modified.json": server(
        "modified", event={"type": "order.modified"}, orderStatus="MODIFIED", hostStatus="CANCELLED"
    ),
    "payment_completed-minimal.json": payment("payment_completed-minimal", orderId="FL_1"),
    "payment_failed-with-amount.json": payment("payment_failed-with-amount", orderId="FL_1", amount_total=99.5),
    "integral-float-times.json": server("float_times", start_time=1708156800.0, end_time=1708163000.0),
    "schema-version-float.json": server("sv_float", top={"schemaVersion": 1.0}),
    "amount-float.json": server("amount_float", amount_total=8500.75),
    "amount-zero.json": server("amount_zero", amount_total=0),
    "amount-at-ceiling.json": server("amount_ceiling", amount_total=100_000_000),
    "coordinates-integers.json": server("coord_int", location_origin_lat=28, location_origin_long=77),
    "coordinates-at-bounds.json": server(
        "coord_bounds", location_origin_lat=90, location_origin_long=-180, location_dest_lat=-90, location_dest_long=180
    ),
    "coordinates-at-other-bounds.json": server(
        "coord_bounds2",
        location_origin_lat=-90.0,
        location_origin_long=180.0,
        location_dest_lat=90.0,
        location_dest_long=-180.0,
    ),
    "end-equals-start.json": server("end_eq_start", end_time=1708156800),
    "start-time-largest.json": server("start_max", start_time=9_999_999_999, end_time=9_999_999_999),
    "unicode-strings.yaml": server("unicode", top={"userId": "ユーザー_1"}, orderId="注文-1"),
    "yaml-unquoted-zone-and-float.yaml": server("yaml_float", start_time=1708156800.0),
    # warnings only: the schema must accept these
    "warn-unknown-attribute.json": server("warn_attr", seat="12A"),
    "warn-nested-unknown-attribute.json": server("warn_nested", meta={"source": {"system": "gds"}}),
    "warn-type-status-mismatch.json": server("warn_mismatch", orderStatus="CANCELLED", hostStatus="CANCELLED"),
    "warn-confirmed-host-cancelled.json": server("warn_host", hostStatus="CANCELLED"),
    "warn-gulf-of-guinea.json": server("warn_zero", location_dest_lat=0, location_dest_long=0.0),
    "warn-before-2000.json": server("warn_y2k", start_time=5, end_time=6),
    "warn-event-id-spaces.json": server("x", event={"id": " evt_contract_spaces "}),
}

LONG = "x" * 33_000
SERVER_INVALID: dict[str, Any] = {
    "not-an-object.json": "order.confirmed",
    "missing-userId.json": server("no_user", top={"userId": DROP}),
    "blank-userId.json": server("blank_user", top={"userId": "   "}),
    "blank-userId-unicode.json": server("blank_user_u", top={"userId": "\u3000\u00a0"}),
    "empty-userId.json": server("empty_user", top={"userId": ""}),
    "userId-number.json": server("user_num", top={"userId": 12345}),
    "missing-event.json": server("no_event", top={"event": DROP}),
    "event-type-unknown.json": server("type_unknown", event={"type": "order.shipped"}),
    "event-type-case.json": server("type_case", event={"type": "Order.Confirmed"}),
    "event-id-empty.json": server("id_empty", event={"id": ""}),
    "event-id-blank.json": server("id_blank", event={"id": "   "}),
    "event-id-too-long.json": server("id_long", event={"id": "e" * 129}),
    "event-extra-field.json": server("event_extra", event={"source": "gds"}),
    "top-level-extra-field.json": server("top_extra", top={"orderId": "FL_BOOKING_ABC123"}),
    "schema-version-2.json": server("sv2", top={"schemaVersion": 2}),
    "schema-version-string.json": server("sv_str", top={"schemaVersion": "1"}),
    "schema-version-true.json": server("sv_true", top={"schemaVersion": True}),
    "schema-version-fraction.json": server("sv_frac", top={"schemaVersion": 1.5}),
    "schema-version-missing.json": server("sv_missing", top={"schemaVersion": DROP}),
    "missing-attributes.json": server("no_attrs", top={"attributes": DROP}),
    "attributes-array.json": server("attrs_array", top={"attributes": []}),
    "missing-orderId.json": server("no_order", orderId=DROP),
    "blank-orderId.json": server("blank_order", orderId=" \t "),
    "orderId-number.json": server("order_num", orderId=12345),
    "order-status-lowercase.json": server("status_lower", orderStatus="confirmed"),
    "host-status-unknown.json": server("host_unknown", hostStatus="PENDING"),
    "missing-hostStatus.json": server("no_host", hostStatus=DROP),
    "amount-negative.json": server("amount_neg", amount_total=-1),
    "amount-string.json": server("amount_str", amount_total="8500"),
    "amount-too-large.json": server("amount_big", amount_total=100_000_001),
    "amount-null.json": server("amount_null", amount_total=None),
    "amount-bool.json": server("amount_bool", amount_total=True),
    "lat-out-of-range.json": server("lat_range", location_origin_lat=90.5),
    "long-out-of-range.json": server("long_range", location_dest_long=-180.01),
    "lat-string.json": server("lat_str", location_dest_lat="12.97"),
    "start-time-fraction.json": server("start_frac", start_time=1708156800.5),
    "start-time-milliseconds.json": server("start_ms", start_time=1708156800000, end_time=1708163000000),
    "start-time-iso-string.json": server("start_iso", start_time="2024-02-17T08:00:00Z"),
    "start-time-negative.json": server("start_neg", start_time=-1),
    "end-time-bool.json": server("end_bool", end_time=True),
    "missing-start-time.json": server("no_start", start_time=DROP),
    "tz-blank.json": server("tz_blank", tz="  "),
    "tz-number.json": server("tz_num", tz=530),
    "missing-tz.json": server("no_tz", tz=DROP),
    "payment-missing-orderId.json": payment("payment_completed-no-order", amount_total=10),
    "payment-negative-amount.json": payment("payment_failed-neg", orderId="FL_1", amount_total=-5),
    # beyond the schema: the schema accepts these, validate rejects them with a listed rule
    "beyond-end-before-start.json": server("end_before", end_time=1708156799),
    "beyond-tz-abbreviation.json": server("tz_abbr", tz="IST"),
    "beyond-tz-offset.json": server("tz_offset", tz="+05:30"),
    "beyond-too-large.json": server("too_large", notes=LONG),
    "beyond-amount-nan.yaml": server("amount_nan", amount_total=float("nan")),
    "beyond-integral-float-end-before-start.json": server(
        "float_order", start_time=1708156800.0, end_time=1708156000.0
    ),
    "lat-infinite.yaml": server("lat_inf", location_origin_lat=float("inf")),
}

PWA_PROPS = {"page_name": "Flights", "timestamp": "2024-01-15T10:30:00.000Z", "session_id": "s_1"}


def pwa(
    event_type: Any = "page_view",
    drop: tuple[str, ...] = (),
    extra: dict[str, Any] | None = None,
    properties: Any = None,
    **props: Any,
) -> Any:
    e: dict[str, Any] = {"eventType": event_type}
    if properties is None:
        properties = {**PWA_PROPS, **props}
        for k in drop:
            properties.pop(k, None)
    e["properties"] = properties
    e.update(extra or {})
    return e


PWA_VALID: dict[str, Any] = {
    "page-view.json": pwa(),
    "page-view.yaml": pwa(),
    "user-action.json": pwa("user_action", action_name="search_performed", results_count=45),
    "properties-as-string.json": pwa(properties=json.dumps(PWA_PROPS)),
    "search-filters-array.json": pwa("search_performed", search_filters=["economy", "direct_flights"]),
    "timestamp-unquoted.yaml": pwa(),  # written below with an unquoted YAML timestamp
    # warnings only: the schema must accept these
    "warn-nested-object.json": pwa(filters={"class": "economy"}),
    "warn-array-of-objects.json": pwa(legs=[{"from": "DEL"}, {"from": "BLR"}]),
    "warn-session-id-empty.json": pwa(session_id=""),
    "warn-session-id-number.json": pwa(session_id=42),
    "warn-no-session-id.json": pwa(drop=("session_id",)),
    "warn-timestamp-without-offset.json": pwa(timestamp="2024-01-15T10:30:00"),
    "warn-timestamp-date-only.json": pwa(timestamp="2024-01-15"),
    "warn-no-timestamp.json": pwa(drop=("timestamp",)),
    "warn-camel-case.json": pwa("searchPerformed", searchQuery="flights to bangalore"),
    "warn-big-properties.json": pwa(blob="y" * 9000),
    "warn-empty-properties.json": pwa(properties={}),
    "warn-nested-in-string.json": pwa(properties=json.dumps({**PWA_PROPS, "filters": {"a": 1}})),
}
PWA_INVALID: dict[str, Any] = {
    "not-an-object.json": ["page_view", {}],
    "missing-eventType.json": {"properties": PWA_PROPS},
    "empty-eventType.json": pwa(""),
    "blank-eventType.json": pwa("   "),
    "blank-eventType-unicode.json": pwa("\u2003"),
    "eventType-number.json": pwa(7),
    "missing-properties.json": {"eventType": "page_view"},
    "properties-number.json": pwa(properties=5),
    "properties-array.json": pwa(properties=[PWA_PROPS]),
    "properties-null.json": {"eventType": "page_view", "properties": None},
    "extra-field.json": pwa(extra={"when": 1}),
    "timestamp-number.json": pwa(timestamp=1705314600),
    "timestamp-null.json": pwa(timestamp=None),
    # beyond the schema
    "beyond-timestamp-not-iso.json": pwa(timestamp="yesterday"),
    "beyond-properties-string-not-json.json": pwa(properties="{not json"),
    "beyond-properties-string-array.json": pwa(properties="[1, 2]"),
    "beyond-properties-string-timestamp-number.json": pwa(properties=json.dumps({"timestamp": 1705314600})),
    "beyond-properties-string-timestamp-not-iso.json": pwa(properties=json.dumps({"timestamp": "soon"})),
}


def write(folder: Path, files: dict[str, Any]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, event in files.items():
        path = folder / name
        if name.endswith(".yaml"):
            text = yaml.safe_dump(event, sort_keys=False, allow_unicode=True)
            if name == "timestamp-unquoted.yaml":
                text = text.replace("'2024-01-15T10:30:00.000Z'", "2024-01-15T10:30:00.000Z")
                assert "timestamp: 2024-01-15T10:30:00.000Z" in text
            path.write_text(text, encoding="utf-8")
        else:
            path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write(HERE / "server" / "valid", SERVER_VALID)
    write(HERE / "server" / "invalid", SERVER_INVALID)
    write(HERE / "pwa" / "valid", PWA_VALID)
    write(HERE / "pwa" / "invalid", PWA_INVALID)
    print(
        f"server: {len(SERVER_VALID)} valid, {len(SERVER_INVALID)} invalid; "
        f"pwa: {len(PWA_VALID)} valid, {len(PWA_INVALID)} invalid"
    )
