"""The per-event rules: messages, the fast path, and agreement with the pydantic models."""

from __future__ import annotations

import copy
import json
import zoneinfo
from typing import Any

import pytest
from conftest import fuzz_examples, seed_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rapido_cli.models import (
    BOOKING_ATTRIBUTES,
    EVENT_TYPES,
    MAX_AMOUNT,
    MAX_EVENT_BYTES,
    MAX_PWA_PROPERTIES_BYTES,
    BookingAttributes,
    Envelope,
    PaymentAttributes,
)
from rapido_cli.rules import (
    Problem,
    _clean_booking,
    check_pwa_event,
    check_server_event,
    encoded_size,
    normalize_server_event,
)

FLIGHT: dict[str, Any] = seed_event("flight")
PWA: dict[str, Any] = {
    "eventType": "page_view",
    "properties": {"page_name": "Flights", "timestamp": "2024-01-15T10:30:00.000Z", "session_id": "s1"},
}


def with_attrs(**attrs: Any) -> dict[str, Any]:
    e = copy.deepcopy(FLIGHT)
    e["attributes"].update(attrs)
    return e


def errors(problems: list[Problem]) -> dict[str, str]:
    return {p.path: p.message for p in problems if p.severity == "error"}


def warnings(problems: list[Problem]) -> dict[str, str]:
    return {p.path: p.message for p in problems if p.severity == "warning"}


# ---------------------------------------------------------------------------------------------
# server rules, one by one


def test_seed_examples_are_clean() -> None:
    assert check_server_event(FLIGHT) == []
    assert check_server_event(FLIGHT, size=len(json.dumps(FLIGHT))) == []
    payment = {
        "userId": "u",
        "event": {"type": "payment.failed", "id": "p1"},
        "attributes": {"orderId": "FL_1"},
        "schemaVersion": 1,
    }
    assert check_server_event(payment) == []


@pytest.mark.parametrize(
    ("attrs", "path", "needle"),
    [
        ({"location_origin_lat": 90.5}, "attributes.location_origin_lat", "±90"),
        ({"location_dest_lat": -91}, "attributes.location_dest_lat", "±90"),
        ({"location_origin_long": 180.01}, "attributes.location_origin_long", "±180"),
        ({"location_dest_long": float("nan")}, "attributes.location_dest_long", "finite"),
        ({"start_time": 1708156800000}, "attributes.start_time", "milliseconds"),
        ({"start_time": 1708156800000000}, "attributes.start_time", "microseconds"),
        ({"start_time": "2024-02-17T08:00:00Z"}, "attributes.start_time", "ISO 8601"),
        ({"start_time": "1708156800"}, "attributes.start_time", "without quotes"),
        ({"start_time": 1708156800.5}, "attributes.start_time", "whole Unix seconds"),
        ({"end_time": 1708163000.25}, "attributes.end_time", "whole Unix seconds"),
        ({"start_time": True}, "attributes.start_time", "Unix seconds"),
        ({"end_time": -5}, "attributes.end_time", "negative"),
        ({"end_time": 1708156799}, "attributes.end_time", "before start_time"),
        ({"amount_total": -1}, "attributes.amount_total", "negative"),
        ({"amount_total": float("inf")}, "attributes.amount_total", "finite"),
        ({"amount_total": MAX_AMOUNT + 1}, "attributes.amount_total", "ceiling"),
        ({"amount_total": 10**500}, "attributes.amount_total", "501 digits"),
        ({"amount_total": "8500"}, "attributes.amount_total", "without quotes"),
        ({"amount_total": None}, "attributes.amount_total", "null"),
        ({"tz": "IST"}, "attributes.tz", "IANA"),
        ({"tz": "+05:30"}, "attributes.tz", "IANA"),
        ({"tz": ""}, "attributes.tz", "empty"),
        ({"orderStatus": "PENDING"}, "attributes.orderStatus", "unknown orderStatus"),
        ({"orderStatus": "cancelled"}, "attributes.orderStatus", "'CANCELLED'"),
        ({"hostStatus": 1}, "attributes.hostStatus", "must be a string"),
        ({"orderId": ""}, "attributes.orderId", "empty"),
        ({"orderId": " \t\u3000"}, "attributes.orderId", "blank"),
        ({"orderId": 12345}, "attributes.orderId", "must be a string"),
    ],
)
def test_attribute_rules(attrs: dict[str, Any], path: str, needle: str) -> None:
    errs = errors(check_server_event(with_attrs(**attrs)))
    assert list(errs) == [path], errs
    assert needle in errs[path]


def test_missing_order_id_and_other_required_attributes() -> None:
    e = copy.deepcopy(FLIGHT)
    del e["attributes"]["orderId"]
    del e["attributes"]["tz"]
    errs = errors(check_server_event(e))
    assert errs == {"attributes.orderId": "missing orderId", "attributes.tz": "missing tz"}
    pay = {"userId": "u", "event": {"type": "payment.completed", "id": "p"}, "attributes": {}, "schemaVersion": 1}
    assert errors(check_server_event(pay)) == {"attributes.orderId": "missing orderId"}


@pytest.mark.parametrize(
    ("mutate", "path", "needle"),
    [
        (lambda e: e.update(userId=""), "userId", "empty"),
        (lambda e: e.update(userId="   "), "userId", "blank"),
        (lambda e: e.update(userId=42), "userId", "must be a string"),
        (lambda e: e.pop("userId"), "userId", "missing"),
        (lambda e: e.update(schemaVersion=2), "schemaVersion", "must be 1"),
        (lambda e: e.update(schemaVersion="1"), "schemaVersion", "must be 1"),
        (lambda e: e.update(schemaVersion=True), "schemaVersion", "must be 1"),
        (lambda e: e["event"].update(type="order.shipped"), "event.type", "unknown event type"),
        (lambda e: e["event"].update(type="order.confirm"), "event.type", "did you mean 'order.confirmed'"),
        (lambda e: e["event"].update(id=""), "event.id", "empty"),
        (lambda e: e["event"].update(id="   "), "event.id", "blank"),
        (lambda e: e.update(userId="\u3000\xa0"), "userId", "blank"),
        (lambda e: e.update(schemaVersion=1.5), "schemaVersion", "must be 1"),
        (lambda e: e["event"].update(id="x" * 129), "event.id", "limit is 128"),
        (lambda e: e["event"].update(id=7), "event.id", "must be a string"),
        (lambda e: e["event"].update(extra=1), "event.extra", "unknown field"),
        (lambda e: e.update(orderId="x"), "orderId", "unknown top-level field"),
        (lambda e: e.update(attributes=[]), "attributes", "must be an object"),
        (lambda e: e.update(event="order.confirmed"), "event", "must be an object"),
    ],
)
def test_envelope_rules(mutate: Any, path: str, needle: str) -> None:
    e = copy.deepcopy(FLIGHT)
    mutate(e)
    errs = errors(check_server_event(e))
    assert path in errs, errs
    assert needle in errs[path]


def test_warnings_for_what_may_be_intended() -> None:
    e = with_attrs(orderStatus="CANCELLED", hostStatus="CANCELLED", seat="12A", amount=3)
    problems = check_server_event(e)
    assert errors(problems) == {}
    warns = warnings(problems)
    assert "disagrees with orderStatus" in warns["event.type"]
    assert "unknown attribute 'seat'" in warns["attributes.seat"]
    assert "Rapido events specification" in warns["attributes.seat"]
    assert "did you mean 'amount_total'" in warns["attributes.amount"]
    assert (
        "before the year 2000"
        in warnings(check_server_event(with_attrs(start_time=5, end_time=6)))["attributes.start_time"]
    )
    warns = warnings(check_server_event(with_attrs(location_dest_lat=0, location_dest_long=0.0)))
    assert "Gulf of Guinea" in warns["attributes.location_dest_lat"]
    warns = warnings(check_server_event(with_attrs(hostStatus="CANCELLED")))
    assert "has not confirmed" in warns["attributes.hostStatus"]
    # the seed's own helper sends hostStatus CANCELLED for a MODIFIED order: no warning
    e = with_attrs(orderStatus="MODIFIED", hostStatus="CANCELLED")
    e["event"]["type"] = "order.modified"
    assert check_server_event(e) == []
    e = copy.deepcopy(FLIGHT)
    e["event"]["id"] = " evt "
    assert "spaces" in warnings(check_server_event(e))["event.id"]


def test_integral_floats_are_integers_everywhere_and_sent_as_ints() -> None:
    e = with_attrs(start_time=1708156800.0, end_time=1708163000.0)
    e["schemaVersion"] = 1.0
    assert check_server_event(e) == []
    sent = normalize_server_event(e)
    assert sent["schemaVersion"] == 1 and type(sent["schemaVersion"]) is int
    assert type(sent["attributes"]["start_time"]) is int and type(sent["attributes"]["end_time"]) is int
    assert json.dumps(sent, separators=(",", ":")).count(".0,") == 0
    assert e["attributes"]["start_time"] == 1708156800.0 and type(e["attributes"]["start_time"]) is float  # untouched
    assert normalize_server_event(FLIGHT) is FLIGHT  # nothing to change: the same object
    assert normalize_server_event([1.0]) == [1.0]
    # the models (hence the schema) say the same, and normalise the same way
    attrs = BookingAttributes.model_validate(e["attributes"], strict=True)
    assert type(attrs.start_time) is int
    assert Envelope.model_validate(e, strict=True).schemaVersion == 1
    # amount_total is a number, not an integer: left as it is
    assert normalize_server_event(with_attrs(amount_total=8500.0))["attributes"]["amount_total"] == 8500.0


def test_blank_means_the_same_in_the_models_pattern_and_the_rules() -> None:
    import re

    from rapido_cli.models import NON_BLANK_PATTERN

    spaces = [c for c in map(chr, range(0x110000)) if c.isspace()]
    assert max(map(ord, spaces)) < 0x3100
    non_blank = re.compile(NON_BLANK_PATTERN)
    for c in map(chr, range(0x3100)):  # every white-space character is below U+3100
        assert (non_blank.search(c) is None) == c.isspace(), hex(ord(c))


def test_size_limit() -> None:
    e = with_attrs(note="x" * MAX_EVENT_BYTES)
    assert "limit is 32768 bytes" in errors(check_server_event(e))[""]
    assert errors(check_server_event(FLIGHT, size=MAX_EVENT_BYTES + 1))[""].startswith("the event is 32769 bytes")
    assert encoded_size(FLIGHT) == len(json.dumps(FLIGHT, separators=(",", ":")))


@pytest.mark.parametrize("value", [None, [], [FLIGHT], "event", 3, 2.5, True, b"raw", {1, 2}, object()])
def test_non_objects_are_one_problem(value: Any) -> None:
    problems = check_server_event(value)
    assert len(problems) == 1 and problems[0].path == "" and "JSON object" in problems[0].message
    assert len(check_pwa_event(value)) == 1


def test_never_raises_on_deep_or_odd_values() -> None:
    deep: Any = {}
    cur = deep
    for _ in range(100_000):
        cur["a"] = {}
        cur = cur["a"]
    e = with_attrs(note=deep)
    assert check_server_event(e)  # too big / too deep: reported, not raised
    huge = 10**5000  # beyond Python's int-to-str limit
    assert (
        "digits"
        in errors(check_server_event(with_attrs(amount_total=huge, start_time=huge)))["attributes.amount_total"]
    )
    assert "too large" in errors(check_server_event(with_attrs(start_time=huge)))["attributes.start_time"]
    odd = {1: 2, None: [], ("t",): 1.5}
    assert check_server_event(odd)
    assert check_server_event({"userId": "u", "event": {"type": ["x"], "id": {}}, "attributes": {}, "schemaVersion": 1})
    # an unhashable status next to a confirmed order: a type error for that field, not an internal error
    assert errors(check_server_event(with_attrs(hostStatus=[]))) == {
        "attributes.hostStatus": "hostStatus must be a string, got an array"
    }


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=5))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20), _containers, max_leaves=30
)


@given(st.dictionaries(st.sampled_from(["userId", "event", "attributes", "schemaVersion", "x"]), json_values))
@settings(max_examples=fuzz_examples(200), deadline=None)
def test_never_raises_property(obj: dict[str, Any]) -> None:
    for problem in check_server_event(obj) + check_pwa_event(obj):
        assert "internal validator error" not in problem.message


# ---------------------------------------------------------------------------------------------
# agreement with the models (the schema's single definition)

ZONES = sorted(zoneinfo.available_timezones())
STATUS_FOR = {"order.confirmed": "CONFIRMED", "order.cancelled": "CANCELLED", "order.modified": "MODIFIED"}


@st.composite
def valid_events(draw: st.DrawFn, clean: bool = False) -> dict[str, Any]:
    """Events the rules and the models both accept (with ``clean``: order events without warnings)."""
    etype = draw(st.sampled_from(EVENT_TYPES[:3] if clean else EVENT_TYPES))
    start = draw(st.integers(946_684_800 if clean else 0, 9_999_999_999))
    number = st.integers(0, MAX_AMOUNT) | st.floats(0, MAX_AMOUNT, allow_nan=False)
    attrs: dict[str, Any] = {
        "orderId": draw(st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != "")),
        "orderStatus": draw(st.sampled_from(["CONFIRMED", "CANCELLED", "MODIFIED"])),
        "amount_total": draw(number),
        "location_origin_lat": draw(st.floats(-90, 90) | st.integers(-90, 90)),
        "location_origin_long": draw(st.floats(-180, 180)),
        "location_dest_lat": draw(st.floats(-90, 90)),
        "location_dest_long": draw(st.floats(-180, 180) | st.integers(-180, 180)),
        "start_time": draw(st.sampled_from([start, float(start)])),
        "end_time": draw(st.integers(start, 9_999_999_999).flatmap(lambda t: st.sampled_from([t, float(t)]))),
        "hostStatus": draw(st.sampled_from(["CONFIRMED", "CANCELLED", "MODIFIED"])),
        "tz": draw(st.sampled_from(ZONES)),
    }
    if etype.startswith("payment."):
        keep = draw(st.sets(st.sampled_from(BOOKING_ATTRIBUTES[1:])))
        attrs = {k: v for k, v in attrs.items() if k == "orderId" or k in keep}
    elif clean or draw(st.booleans()):
        attrs["orderStatus"] = STATUS_FOR[etype]
    if not clean and draw(st.booleans()):
        attrs[draw(st.sampled_from(["seat", "pnr", "notes"]))] = draw(st.text(max_size=10))
    event_id = draw(st.text(min_size=1, max_size=128).filter(lambda s: not s.isspace()))
    if clean:
        event_id = event_id.strip() or "evt"
    return {
        "userId": draw(st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != "")),
        "event": {"type": etype, "id": event_id},
        "attributes": attrs,
        "schemaVersion": draw(st.sampled_from([1, 1.0])),
    }


NASTY: list[Any] = [
    None,
    False,
    True,
    0,
    -1,
    1,
    1.5,
    -0.5,
    91,
    -181,
    1e10,
    10**30,
    float("nan"),
    float("inf"),
    -float("inf"),
    "",
    " ",
    "x",
    "1",
    "CONFIRMED",
    "confirmed",
    "PENDING",
    "order.confirmed",
    "payment.failed",
    "Asia/Kolkata",
    "IST",
    "1708156800",
    1708156800,
    1708156800.5,
    "\t\u3000",
    "\u2003x",
    1708156800000,
    1708156800.0,
    946684799,
    [],
    {},
    ["CONFIRMED"],
    {"a": 1},
    "x" * 129,
]
PATHS = [
    ("userId",),
    ("event",),
    ("event", "type"),
    ("event", "id"),
    ("attributes",),
    ("schemaVersion",),
    *[("attributes", a) for a in BOOKING_ATTRIBUTES],
]


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    # From clean order events too, so mutations reach every check of the fast path.
    e = copy.deepcopy(draw(st.one_of(valid_events(), valid_events(clean=True))))
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(PATHS))
        parent: Any = e
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        action = draw(st.sampled_from(["set", "set", "set", "delete", "extra"]))
        if action == "set":
            parent[path[-1]] = draw(st.sampled_from(NASTY))
        elif action == "delete":
            parent.pop(path[-1], None)
        else:
            parent[draw(st.sampled_from(["extra", "orderId", "Type"]))] = 1
    return e


def model_accepts(e: Any) -> bool:
    """The models (strict: no type coercion but integral floats) plus the rules beyond the schema."""
    try:
        env = Envelope.model_validate(e, strict=True)
        model = BookingAttributes if env.event.type.startswith("order.") else PaymentAttributes
        attrs = model.model_validate(env.attributes, strict=True)
    except ValidationError:
        return False
    # BEYOND_SCHEMA, written out independently: end not before start, IANA zone, size.
    start, end = getattr(attrs, "start_time", None), getattr(attrs, "end_time", None)
    if start is not None and end is not None and end < start:
        return False
    tz = getattr(attrs, "tz", None)
    if tz is not None and tz not in ZONES:
        return False
    return encoded_size(e) <= MAX_EVENT_BYTES


@given(valid_events())
@settings(max_examples=fuzz_examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_valid_events_are_accepted_by_rules_and_models(e: dict[str, Any]) -> None:
    assert errors(check_server_event(e)) == {}
    assert model_accepts(e)


@given(mutated_events())
@settings(
    max_examples=fuzz_examples(800),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_rules_and_models_agree(e: dict[str, Any]) -> None:
    rules_ok = not errors(check_server_event(e))
    assert rules_ok == model_accepts(e), check_server_event(e)


@given(st.one_of(valid_events(clean=True), mutated_events()))
@settings(max_examples=fuzz_examples(500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fast_path_never_hides_a_problem(e: dict[str, Any]) -> None:
    from rapido_cli.rules import _check_server

    size = encoded_size(e)
    full = _check_server(e, size)
    if _clean_booking(e, size):
        assert full == []
        assert model_accepts(e)  # the fast path's verdict is the models' (plus the rules beyond them)
    elif (
        full == []
        and isinstance(e.get("event"), dict)
        and e["event"].get("type") in STATUS_FOR
        and normalize_server_event(e) is e  # integral floats take the full check (rare)
    ):
        pytest.fail("a flawless order event missed the fast path (correct, but slow)")


@given(valid_events(clean=True))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fast_path_on_every_single_mutation(base: dict[str, Any]) -> None:
    """Each field of a clean event set to each awkward value (or removed): the fast path never
    accepts what the models and the full check reject."""
    from rapido_cli.rules import _check_server

    for path in PATHS:
        for value in [*NASTY, DELETE]:
            e = copy.deepcopy(base)
            parent = e
            for key in path[:-1]:
                parent = parent[key]
            if value is DELETE:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
            if _clean_booking(e, None):
                assert _check_server(e, None) == [], (path, value)
                assert model_accepts(e), (path, value)


DELETE = object()


def test_fast_path_takes_the_seed_example() -> None:
    assert _clean_booking(FLIGHT, 400)
    assert not _clean_booking(with_attrs(orderStatus="CANCELLED"), 400)  # a warning: full check decides
    assert _clean_booking(FLIGHT, None)  # size computed
    assert not _clean_booking(FLIGHT, MAX_EVENT_BYTES + 1)


# ---------------------------------------------------------------------------------------------
# PWA rules


def test_pwa_clean_as_object_and_as_string() -> None:
    assert check_pwa_event(PWA) == []
    assert check_pwa_event({**PWA, "properties": json.dumps(PWA["properties"])}) == []
    assert check_pwa_event(PWA, size=200) == []


@pytest.mark.parametrize(
    ("event", "path", "needle"),
    [
        ({"eventType": "", "properties": {}}, "eventType", "non-empty string"),
        ({"eventType": None, "properties": {}}, "eventType", "non-empty string"),
        ({"properties": {}}, "eventType", "missing"),
        ({"eventType": "x"}, "properties", "missing"),
        ({"eventType": "x", "properties": "{not json"}, "properties", "not valid JSON"),
        ({"eventType": "x", "properties": "[1, 2]"}, "properties", "JSON object"),
        ({"eventType": "x", "properties": 5}, "properties", "JSON object"),
        ({"eventType": "x", "properties": {"timestamp": 1705314600}}, "properties.timestamp", "ISO 8601 string"),
        ({"eventType": "x", "properties": {"timestamp": "yesterday"}}, "properties.timestamp", "not ISO 8601"),
        ({"eventType": "x", "properties": {}, "when": 1}, "when", "unknown field"),
    ],
)
def test_pwa_errors(event: dict[str, Any], path: str, needle: str) -> None:
    errs = errors(check_pwa_event(event))
    assert path in errs, errs
    assert needle in errs[path]


def test_pwa_warnings_follow_the_seed_best_practices() -> None:
    event = {
        "eventType": "searchPerformed",
        "properties": {
            "searchQuery": "flights",
            "filters": {"class": "economy"},
            "legs": [{"from": "DEL"}],
            "search_filters": ["economy", "direct_flights"],  # the seed's own example: fine
            "timestamp": "2024-01-15T10:30:00",
            "big": "y" * MAX_PWA_PROPERTIES_BYTES,
        },
    }
    problems = check_pwa_event(event)
    assert errors(problems) == {}
    warns = warnings(problems)
    assert "snake_case" in warns["eventType"]
    assert "snake_case" in warns["properties.searchQuery"]
    assert "flat" in warns["properties.filters"]
    assert "flat" in warns["properties.legs"]
    assert "properties.search_filters" not in warns
    assert "offset" in warns["properties.timestamp"]
    assert "session_id" in warns["properties.session_id"]
    assert f"under {MAX_PWA_PROPERTIES_BYTES} bytes" in warns["properties"]
