"""Turning flags and CSV rows into events: times, coordinates, airports, time zones, event ids.

``send-booking`` and ``build`` both call :func:`build_booking` with the same field names (the
option names without dashes), so a CSV row and the equivalent flags give byte-identical events.
Errors name those fields (:class:`~rapido_cli.errors.FieldError`); each command words them as
its flags or columns.

Times without a UTC offset are local times, read in the booking's zone: ``tz`` when given (the
``--tz`` flag, a ``tz`` column or the map's ``defaults: tz:``), else for a flight given by IATA
codes the zone of each airport, else :data:`DEFAULT_TZ` (Asia/Kolkata). :class:`Booking` says which
zone each such time was read in, so the commands can say it.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rapido_cli.contract import EVENT_TYPES, MAX_AMOUNT, ORDER_STATUSES, SCHEMA_VERSION, STATUS_TO_TYPE
from rapido_cli.errors import FieldError

BookingKind = Literal["flight", "hotel"]
#: The documented zone of times without an offset when none is given (the specification's default tz).
DEFAULT_TZ = "Asia/Kolkata"
#: What ISO 8601 forms look like, for hints.
TIME_FORMS = "ISO 8601 with or without an offset (2024-02-17T13:30:00+05:30, 2024-02-17 13:30) or Unix seconds"

_DIGITS = re.compile(r"^[0-9]+$")


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the form event ids are derived from."""
    import json

    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_id_for(user_id: str, event_type: str, attributes: Mapping[str, Any]) -> str:
    """A content-derived event id: the same event built twice gets the same id, any change a new one."""
    digest = hashlib.sha256(
        canonical_json({"userId": user_id, "type": event_type, "attributes": attributes})
    ).hexdigest()
    return f"evt_{digest[:32]}"


def make_event(
    user_id: str,
    event_type: str,
    attributes: Mapping[str, Any],
    event_id: str | None = None,
) -> dict[str, Any]:
    """The wire envelope, with a content-derived id unless one is given.

    Integer attributes given as integral floats (``start_time=1708156800.0``) become ints first:
    the id is derived from, and the request carries, the normalised form.
    """
    from rapido_cli.rules import normalize_server_event

    if not user_id or not user_id.strip():
        raise FieldError("user_id", "must not be empty", hint="the Rapido user id, e.g. rapido_user_12345")
    if event_type not in EVENT_TYPES:
        raise FieldError("type", f"unknown event type {event_type!r}", hint="one of: " + ", ".join(EVENT_TYPES))
    attrs = normalize_server_event({"attributes": dict(attributes)})["attributes"]
    return {
        "userId": user_id,
        "event": {"type": event_type, "id": event_id or event_id_for(user_id, event_type, attrs)},
        "attributes": attrs,
        "schemaVersion": SCHEMA_VERSION,
    }


# ---------------------------------------------------------------- values


def parse_scalar(text: str) -> Any:
    """``--attr`` typing: JSON numbers, booleans and null keep their type, the rest stays a string."""
    import json

    stripped = text.strip()
    if stripped in ("true", "false", "null") or re.fullmatch(
        r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?", stripped
    ):
        value = json.loads(stripped)
        if isinstance(value, float) and not math.isfinite(value):
            return text
        return value
    return text


def check_tz(name: str, field: str = "tz") -> str:
    """Return ``name`` if it is an IANA time zone, else raise a FieldError."""
    name = name.strip()
    if not name or name.startswith("/") or ".." in name:
        raise FieldError(field, f"{name!r} is not an IANA time zone", hint="e.g. Asia/Kolkata, Europe/London, UTC")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldError(
            field, f"{name!r} is not in the IANA time zone database", hint="e.g. Asia/Kolkata, Europe/London, UTC"
        ) from None
    return name


def _parse_time(value: str | int, field: str, zone: str | None) -> tuple[int, bool]:
    """ISO 8601 (with an offset, or local to ``zone`` without one) or Unix seconds -> Unix seconds.

    ``YYYY-MM-DD HH:MM`` is ISO 8601 too. Without ``zone``, a time without offset is an error.
    Returns ``(Unix seconds, whether the time had no offset and was read in zone)``.
    """
    if isinstance(value, bool):
        raise FieldError(field, "expected a time", hint=TIME_FORMS)
    text = str(value) if isinstance(value, int) else value.strip()
    if not text:
        raise FieldError(field, "is empty", hint=TIME_FORMS)
    if _DIGITS.match(text):
        if len(text) >= 13:
            raise FieldError(field, f"{text} looks like milliseconds", hint=f"use Unix seconds: {int(text) // 1000}")
        return int(text), False
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(field, f"{text!r} is not an ISO 8601 time or Unix seconds", hint=TIME_FORMS) from None
    if when.tzinfo is not None:
        return int(when.timestamp()), False
    if zone is None:
        raise FieldError(field, f"{text!r} has no UTC offset", hint="add one (+05:30, Z) or give a time zone")
    tz: tzinfo = ZoneInfo(zone)
    return int(when.replace(tzinfo=tz).timestamp()), True


def parse_amount(value: str | float | int, field: str = "amount") -> int | float:
    """A non-negative, finite amount; integral values stay integers (8500, not 8500.0)."""
    if isinstance(value, bool):
        raise FieldError(field, "expected a number")
    try:
        number = float(value.strip().replace("_", "")) if isinstance(value, str) else float(value)
    except ValueError:
        raise FieldError(field, f"{value!r} is not a number", hint="e.g. 8500 or 8500.50") from None
    if not math.isfinite(number):
        raise FieldError(field, f"{value!r} is not a finite number")
    if number < 0:
        raise FieldError(field, f"{value} is negative")
    if number > MAX_AMOUNT:
        raise FieldError(
            field, f"{value} is above {MAX_AMOUNT:,}", hint="amounts are in currency units, not paise/cents"
        )
    return int(number) if number.is_integer() else number


def parse_coord(value: str | float, field: str, axis: Literal["lat", "long"]) -> float:
    """One latitude or longitude, range-checked."""
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except ValueError:
        raise FieldError(field, f"{value!r} is not a number") from None
    limit = 90 if axis == "lat" else 180
    if not math.isfinite(number) or not -limit <= number <= limit:
        name = "latitude" if axis == "lat" else "longitude"
        raise FieldError(field, f"{name} {value} is outside ±{limit}")
    return number


def parse_latlong(value: str, field: str) -> tuple[float, float]:
    """``LAT,LONG`` -> (lat, long)."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 2 or not all(parts):
        raise FieldError(field, f"{value!r} is not LAT,LONG", hint="e.g. 28.5562,77.1000")
    return parse_coord(parts[0], field, "lat"), parse_coord(parts[1], field, "long")


@dataclass(frozen=True)
class Airport:
    """An airport from the offline database."""

    iata: str
    name: str
    lat: float
    long: float
    tz: str


@cache
def _airports() -> dict[str, Any]:
    import airportsdata

    table: dict[str, Any] = dict(airportsdata.load("IATA"))
    return table


def airport(code: str, field: str) -> Airport:
    """Resolve an IATA code offline (airportsdata)."""
    key = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", key):
        raise FieldError(field, f"{code!r} is not a three-letter IATA code", hint="e.g. DEL, BLR, BOM")
    row = _airports().get(key)
    if row is None:
        raise FieldError(field, f"unknown airport {key!r}", hint="check the IATA code, or pass coordinates instead")
    return Airport(key, row["name"], float(row["lat"]), float(row["lon"]), row["tz"])


# ---------------------------------------------------------------- bookings


def _get(values: Mapping[str, Any], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _need(values: Mapping[str, Any], name: str, hint: str) -> str:
    value = _get(values, name)
    if value is None:
        raise FieldError(name, "is required", hint=hint, kind="required")
    return value


def _point(values: Mapping[str, Any], name: str) -> tuple[float, float] | None:
    """``name`` as LAT,LONG, or split as ``name_lat``/``name_long``."""
    joined = _get(values, name)
    lat, long = _get(values, f"{name}_lat"), _get(values, f"{name}_long")
    if joined is not None:
        return parse_latlong(joined, name)
    if lat is not None or long is not None:
        if lat is None or long is None:
            missing, given = (f"{name}_lat", f"{name}_long") if lat is None else (f"{name}_long", f"{name}_lat")
            raise FieldError(missing, f"is required with {{{given}}}", refs=(given,), kind="required")
        return parse_coord(lat, f"{name}_lat", "lat"), parse_coord(long, f"{name}_long", "long")
    return None


ZoneSource = Literal["tz", "airport", "default"]


@dataclass(frozen=True)
class LocalTime:
    """A time given without a UTC offset, and the zone it was read in.

    ``source``: ``"tz"`` (the booking's ``tz``), ``"airport"`` (the zone of the flight's airport
    ``airport``), ``"default"`` (:data:`DEFAULT_TZ`).
    """

    field: str
    zone: str
    source: ZoneSource
    airport: str | None = None


@dataclass(frozen=True)
class Booking:
    """A built booking event and the times it read without an offset (for a note to the user)."""

    event: dict[str, Any]
    local_times: tuple[LocalTime, ...] = ()


def booking_event(kind: BookingKind, values: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope of a flight or hotel booking event (see :func:`build_booking`)."""
    return build_booking(kind, values).event


def build_booking(kind: BookingKind, values: Mapping[str, Any]) -> Booking:
    """Build a flight or hotel booking event; say in which zone times without offset were read.

    ``values`` uses the ``send-booking`` option names without dashes (``user_id``, ``order_id``,
    ``amount``, ``status``, ``from``/``to`` or ``origin``/``dest``, ``depart``/``arrive``,
    ``location``, ``check_in``/``check_out``, ``tz``, ``type``, ``host_status``, ``event_id``).
    A time without offset is read in ``tz`` when given, else (flights given by IATA code) in the
    airport's zone, else in :data:`DEFAULT_TZ`; the event's ``tz`` attribute is ``tz``, else the
    origin airport's zone, else :data:`DEFAULT_TZ`. Raises :class:`FieldError` naming the first
    bad field.
    """
    user_id = _need(values, "user_id", "the Rapido user id, e.g. rapido_user_12345")
    order_id = _need(values, "order_id", "the partner's booking id")
    amount = parse_amount(_need(values, "amount", "the total amount in currency units, e.g. 8500"))
    status = (_get(values, "status") or "CONFIRMED").upper()
    if status not in ORDER_STATUSES:
        raise FieldError("status", f"unknown status {status!r}", hint="one of: " + ", ".join(ORDER_STATUSES))
    host_status = (_get(values, "host_status") or status).upper()
    event_type = _get(values, "type") or STATUS_TO_TYPE[status]
    given_tz = _get(values, "tz")
    if given_tz is not None:
        given_tz = check_tz(given_tz)
    local: list[LocalTime] = []

    def when(name: str, zone: tuple[str, ZoneSource, str | None]) -> int:
        seconds, naive = _parse_time(_need(values, name, f"a time: {TIME_FORMS}"), name, zone[0])
        if naive:
            local.append(LocalTime(name, *zone))
        return seconds

    default: tuple[str, ZoneSource, str | None] = (given_tz, "tz", None) if given_tz else (DEFAULT_TZ, "default", None)
    if kind == "flight":
        start_zone = end_zone = default
        from_code, to_code = _get(values, "from"), _get(values, "to")
        origin, dest = _point(values, "origin"), _point(values, "dest")
        if from_code is not None:
            if origin is not None:
                raise FieldError("from", "give {from} or {origin}, not both", refs=("from", "origin"), kind="conflict")
            a = airport(from_code, "from")
            origin = (a.lat, a.long)
            start_zone = default if given_tz else (a.tz, "airport", a.iata)
        if to_code is not None:
            if dest is not None:
                raise FieldError("to", "give {to} or {dest}, not both", refs=("to", "dest"), kind="conflict")
            b = airport(to_code, "to")
            dest = (b.lat, b.long)
            end_zone = default if given_tz else (b.tz, "airport", b.iata)
        if origin is None:
            raise FieldError(
                "from", "is required", hint="{from} (IATA code) or {origin} (LAT,LONG)", refs=("from", "origin"),
                kind="required",
            )
        if dest is None:
            raise FieldError(
                "to", "is required", hint="{to} (IATA code) or {dest} (LAT,LONG)", refs=("to", "dest"), kind="required"
            )
        start = when("depart", start_zone)
        end = when("arrive", end_zone)
        if end < start:
            raise FieldError("arrive", "is before {depart}", refs=("depart",), kind="order")
        tz = start_zone[0] if start_zone[1] == "airport" else default[0]
    elif kind == "hotel":
        location = _point(values, "location")
        if location is None:
            raise FieldError("location", "is required", hint="LAT,LONG, e.g. 28.6139,77.2090", kind="required")
        origin = dest = location
        start = when("check_in", default)
        end = when("check_out", default)
        if end < start:
            raise FieldError("check_out", "is before {check_in}", refs=("check_in",), kind="order")
        tz = default[0]
    else:  # pragma: no cover - typed callers
        raise FieldError("kind", f"unknown booking kind {kind!r}")

    attributes = {
        "orderId": order_id,
        "orderStatus": status,
        "amount_total": amount,
        "location_origin_lat": origin[0],
        "location_origin_long": origin[1],
        "location_dest_lat": dest[0],
        "location_dest_long": dest[1],
        "start_time": start,
        "end_time": end,
        "hostStatus": host_status,
        "tz": tz,
    }
    return Booking(make_event(user_id, event_type, attributes, _get(values, "event_id")), tuple(local))
