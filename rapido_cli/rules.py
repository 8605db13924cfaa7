"""Per-event rules shared by ``validate``, ``replay``, ``send`` and the sandbox.

The pydantic models in :mod:`rapido_cli.models` are the one definition of the contract: every
rule a JSON Schema can state lives there and reaches ``rapido schema``. This module checks the
same rules on plain Python values (what ``json``/``orjson``/``yaml`` give), fast enough for
multi-million-event files and every sandbox request, with messages that say what to fix. Its
limits, field names, enums and required fields are the models', read from them by
``scripts/gen_contract.py`` into :mod:`rapido_cli.contract` (so this module never imports
pydantic); tests prove that its verdict and its fast path's agree with the models'
(tests/test_rules.py, tests/test_contract_agreement.py).

The rules a schema cannot state are :data:`BEYOND_SCHEMA` (listed in docs/validate.md). Warnings
are never schema errors: the exported schema accepts every event that has only warnings.

Public interface (other modules rely on it):

* :func:`check_server_event` ``(obj, *, size=None) -> list[Problem]``: one server-to-server envelope.
* :func:`check_pwa_event` ``(obj, *, size=None) -> list[Problem]``: one captured PWA event
  ``{"eventType", "properties"}``, ``properties`` as an object or as the JSON string the bridge received.
* :func:`normalize_server_event` ``(obj) -> obj``: the form that is sent (integral floats in
  integer fields as ints: ``1.0`` -> ``1``).

Both checks accept *any* value (not only dicts), never raise, and return an empty list for a clean
event. A :class:`Problem` has a dotted ``path`` (``attributes.start_time``, ``event.type``,
``userId``; ``""`` for the whole event), a one-line ``message`` and a ``severity`` (``"error"`` for
what a server would reject, ``"warning"`` for what may be intended; ``--strict`` turns warnings
into errors).

``size`` is the encoded size of the event in bytes when the caller already knows it (the raw line
of a JSONL file, the body of a request); otherwise it is computed.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

from rapido_cli.contract import (
    BOOKING_ATTRIBUTES,
    BOOKING_REQUIRED,
    COORDINATE_RANGES,
    ENVELOPE_FIELDS,
    EVENT_FIELDS,
    EVENT_TYPES,
    INTEGER_ATTRIBUTES,
    INTEGER_ENVELOPE_FIELDS,
    MAX_AMOUNT,
    MAX_EVENT_BYTES,
    MAX_EVENT_ID_LENGTH,
    MAX_PWA_PROPERTIES_BYTES,
    MIN_AMOUNT,
    MIN_SECONDS,
    ORDER_STATUSES,
    PAYMENT_REQUIRED,
    PWA_FIELDS,
    SCHEMA_VERSION,
    SECONDS_CEILING,
    STATUS_TO_TYPE,
    UNIX_SECONDS_ATTRIBUTES,
)

Severity = Literal["error", "warning"]

__all__ = [
    "BEYOND_SCHEMA",
    "ENVELOPE_FIELDS",
    "PWA_FIELDS",
    "BeyondRule",
    "Problem",
    "Severity",
    "check_pwa_event",
    "check_server_event",
    "describe",
    "encoded_size",
    "is_iana_zone",
    "normalize_server_event",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: ``path`` is a dotted field path (``attributes.start_time``), "" for the whole event."""

    path: str
    message: str
    severity: Severity = "error"


@dataclass(frozen=True, slots=True)
class BeyondRule:
    """A rule JSON Schema cannot state: ``rule`` in words, ``message`` a regex of its error messages,
    ``example`` one such message (docs/validate.md shows it)."""

    kind: Literal["server", "pwa", "both"]
    rule: str
    message: str
    example: str


#: What ``rapido validate`` rejects beyond the exported schema: one entry per rule, listed in
#: docs/validate.md ("Beyond the schema"); an event that the schema accepts and validate rejects
#: has only errors matching these messages (tests/test_contract_agreement.py).
BEYOND_SCHEMA: tuple[BeyondRule, ...] = (
    BeyondRule(
        "server",
        "end_time is not before start_time",
        r"^end_time \(.*\) is before start_time \(.*\)$",
        "end_time (1708156799) is before start_time (1708156800)",
    ),
    BeyondRule(
        "server",
        "tz is a zone of the IANA time zone database",
        r"^tz .* is not in the IANA time zone database",
        "tz 'IST' is not in the IANA time zone database (e.g. Asia/Kolkata, not IST or +05:30)",
    ),
    BeyondRule(
        "server",
        f"an event is at most {MAX_EVENT_BYTES} bytes as compact JSON",
        r"^the event is \d+ bytes encoded; the limit is \d+ bytes",
        f"the event is 33412 bytes encoded; the limit is {MAX_EVENT_BYTES} bytes ({MAX_EVENT_BYTES // 1024} KiB)",
    ),
    BeyondRule(
        "server",
        "event ids are unique within and across the files of one run",
        r"^duplicate event id .* \(first used at .*\)$",
        "duplicate event id 'evt_1' (first used at events.jsonl:3)",
    ),
    BeyondRule(
        "both",
        "numbers are finite (YAML's .nan and .inf are no JSON numbers)",
        r"^\w+ must be a finite number, got",
        "amount_total must be a finite number, got nan",
    ),
    BeyondRule(
        "both",
        "an event is nested at most a few hundred levels deep",
        r"^the event is nested too deeply to check$",
        "the event is nested too deeply to check",
    ),
    BeyondRule(
        "pwa",
        "properties given as a string (JSON.stringify) hold a JSON object",
        r"^properties is a string but not valid JSON|^properties must be a JSON object, got",
        "properties must be a JSON object, got an array",
    ),
    BeyondRule(
        "pwa",
        "in properties given as a string, timestamp is a string",
        r"^timestamp must be an ISO 8601 string, got",
        "timestamp must be an ISO 8601 string, got the number 1705314600",
    ),
    BeyondRule(
        "pwa",
        "timestamp is an ISO 8601 date and time",
        r"^timestamp .* is not ISO 8601",
        'timestamp "yesterday" is not ISO 8601 (e.g. 2024-01-15T10:30:00.000Z)',
    ),
)


# ---------------------------------------------------------------------------------------------
# the contract: facts read from the models by scripts/gen_contract.py (rapido_cli/contract.py)

#: (field, lowest, highest, what) of the coordinates.
_COORDINATES: tuple[tuple[str, float, float, str], ...] = tuple(
    (name, lo, hi, "latitude" if name.endswith("_lat") else "longitude") for name, lo, hi in COORDINATE_RANGES
)
_RANGE = {name: (lo, hi) for name, lo, hi in COORDINATE_RANGES}
_OLAT_LO, _OLAT_HI = _RANGE["location_origin_lat"]
_OLONG_LO, _OLONG_HI = _RANGE["location_origin_long"]
_DLAT_LO, _DLAT_HI = _RANGE["location_dest_lat"]
_DLONG_LO, _DLONG_HI = _RANGE["location_dest_long"]

_ENVELOPE_SET = frozenset(ENVELOPE_FIELDS)
_EVENT_SET = frozenset(EVENT_FIELDS)
_EVENT_TYPES = frozenset(EVENT_TYPES)
_STATUSES = frozenset(ORDER_STATUSES)
_BOOKING_SET = frozenset(BOOKING_ATTRIBUTES)
_STATUS_TO_TYPE_GET = STATUS_TO_TYPE.get
_NUM = frozenset({int, float})

#: 2000-01-01T00:00:00Z: earlier booking times are almost always a unit or field mistake.
_Y2000 = 946_684_800
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*\Z")

_ERR: Severity = "error"
_WARN: Severity = "warning"


def _blank(s: str) -> bool:
    """Empty or only white space (the models' ``NON_BLANK_PATTERN`` fails exactly then)."""
    return not s or s.isspace()


def normalize_server_event(obj: Any) -> Any:
    """The event as it is sent: integral floats in integer fields as ints (``1.0`` -> ``1``).

    Integer fields are the models' (``schemaVersion``, ``start_time``, ``end_time``): JSON Schema's
    ``integer`` and ``rapido validate`` accept ``1708156800.0`` there, and the normalised form is
    what is sent, so the request carries ``1708156800``. Returns ``obj`` itself when nothing
    changes (the common case), else a copy; never mutates ``obj``. Any value is accepted.
    """
    if type(obj) is not dict:
        return obj
    out: dict[Any, Any] | None = None
    for name in INTEGER_ENVELOPE_FIELDS:
        v = obj.get(name)
        if type(v) is float and v.is_integer():
            out = out if out is not None else dict(obj)
            out[name] = int(v)
    attrs = obj.get("attributes")
    if type(attrs) is dict:
        new_attrs: dict[Any, Any] | None = None
        for name in INTEGER_ATTRIBUTES:
            v = attrs.get(name)
            if type(v) is float and v.is_integer():
                new_attrs = new_attrs if new_attrs is not None else dict(attrs)
                new_attrs[name] = int(v)
        if new_attrs is not None:
            out = out if out is not None else dict(obj)
            out["attributes"] = new_attrs
    return obj if out is None else out


def describe(value: Any) -> str:
    """The JSON type of ``value`` in words, with a short excerpt: ``a string ("abc")``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        text = str(value) if value.bit_length() < 200 else f"an integer with {_digits(value)} digits"
        return f"the number {text}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"a string ({_quote(value)})"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__} value"


def _digits(n: int) -> int:
    """Decimal digits of ``n`` (estimated beyond Python's int-to-str limit rather than raising)."""
    try:
        return len(str(abs(n)))
    except ValueError:
        return int(abs(n).bit_length() * 0.30102999566398120) + 1


def _short_number(v: int | float) -> str:
    if isinstance(v, int) and v.bit_length() >= 200:
        return f"(an integer with {_digits(v)} digits)"
    return repr(v)


def _quote(s: str) -> str:
    return json.dumps(s if len(s) <= 40 else s[:37] + "...", ensure_ascii=False)


def encoded_size(obj: Any) -> int:
    """Size of ``obj`` encoded as compact JSON, in bytes (bounded for values JSON cannot hold)."""
    try:
        return len(orjson.dumps(obj))
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:
        return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str).encode())
    except (RecursionError, ValueError, TypeError, OverflowError):
        # Nesting too deep for the encoder: certainly not a small event.
        return MAX_EVENT_BYTES + 1


_IANA: frozenset[str] | None = None


def is_iana_zone(name: str) -> bool:
    """Whether ``name`` is a time zone key of the IANA database (the bundled tzdata)."""
    global _IANA
    if _IANA is None:
        import zoneinfo

        _IANA = frozenset(zoneinfo.available_timezones())
    return name in _IANA


def _suggest(word: str, choices: tuple[str, ...] | frozenset[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# ---------------------------------------------------------------------------------------------
# server-to-server events


def check_server_event(obj: Any, *, size: int | None = None) -> list[Problem]:
    """Check one server-to-server envelope; return errors and warnings (empty when clean).

    Never raises: any value is accepted (a list, a string, ``None`` ...) and reported. ``size``
    is the event's encoded size in bytes if known (else computed with orjson).
    """
    try:
        if _clean_booking(obj, size):
            return []
        return _check_server(obj, size)
    except (RecursionError, MemoryError):
        return [Problem("", "the event is nested too deeply to check")]
    except Exception as exc:  # noqa: BLE001 - contract: never raise; a bug shows as a visible problem
        return [Problem("", f"internal validator error (please report): {type(exc).__name__}: {exc}")]


def _clean_booking(o: Any, size: int | None) -> bool:
    """True only for a flawless ``order.*`` event (the common case), in a fraction of the full check.

    Conservative: anything unusual (integral floats included) returns False and the full check
    (which produces the messages) decides. Its limits are the models'; property tests assert that
    whenever this says True the models accept the event and the full check finds nothing, and that
    it says True for flawless order events (tests/test_rules.py).
    """
    if type(o) is not dict or len(o) != 4:
        return False
    if size is None:
        size = encoded_size(o)
    if size > MAX_EVENT_BYTES:
        return False
    ev = o.get("event")
    a = o.get("attributes")
    if type(ev) is not dict or type(a) is not dict or len(ev) != 2 or len(a) != 11:
        return False
    uid = o.get("userId")
    sv = o.get("schemaVersion")
    t = ev.get("type")
    eid = ev.get("id")
    if (
        type(uid) is not str
        or not uid
        or uid.isspace()
        or type(sv) is not int
        or sv != SCHEMA_VERSION
        or type(t) is not str
        or type(eid) is not str
        or not 0 < len(eid) <= MAX_EVENT_ID_LENGTH
        or eid[0].isspace()
        or eid[-1].isspace()
        or a.keys() != _BOOKING_SET
    ):
        return False
    status = a["orderStatus"]
    host = a["hostStatus"]
    if (
        type(status) is not str
        or type(host) is not str
        or host not in _STATUSES
        or _STATUS_TO_TYPE_GET(status) != t
        or (status == "CONFIRMED" and host != "CONFIRMED")
    ):
        return False
    oid = a["orderId"]
    if type(oid) is not str or not oid or oid.isspace():
        return False
    x = a["amount_total"]
    if type(x) not in _NUM or not MIN_AMOUNT <= x <= MAX_AMOUNT:
        return False
    olat = a["location_origin_lat"]
    if type(olat) not in _NUM or not _OLAT_LO <= olat <= _OLAT_HI:
        return False
    dlat = a["location_dest_lat"]
    if type(dlat) not in _NUM or not _DLAT_LO <= dlat <= _DLAT_HI:
        return False
    x = a["location_origin_long"]
    if type(x) not in _NUM or not _OLONG_LO <= x <= _OLONG_HI or (x == 0 and olat == 0):
        return False
    x = a["location_dest_long"]
    if type(x) not in _NUM or not _DLONG_LO <= x <= _DLONG_HI or (x == 0 and dlat == 0):
        return False
    st = a["start_time"]
    et = a["end_time"]
    if type(st) is not int or type(et) is not int or not _Y2000 <= st <= et < SECONDS_CEILING:
        return False
    tz = a["tz"]
    return type(tz) is str and (tz in _IANA if _IANA is not None else is_iana_zone(tz))


def _check_server(obj: Any, size: int | None) -> list[Problem]:
    if not isinstance(obj, dict):
        return [Problem("", f"an event must be a JSON object, got {describe(obj)}")]
    out: list[Problem] = []
    add = out.append

    for key in obj:
        if key not in _ENVELOPE_SET:
            add(
                Problem(
                    str(key),
                    f"unknown top-level field {str(key)!r}{_suggest(str(key), ENVELOPE_FIELDS)}"
                    " (an event has userId, event, attributes, schemaVersion; booking fields go in attributes)",
                )
            )

    # userId
    if "userId" not in obj:
        add(Problem("userId", "missing userId (the Rapido user id)"))
    else:
        uid = obj["userId"]
        if type(uid) is not str:
            add(Problem("userId", f"userId must be a string, got {describe(uid)}"))
        elif _blank(uid):
            add(Problem("userId", "userId is empty" if not uid else "userId is blank (only white space)"))

    # event {type, id}
    etype: str | None = None
    if "event" not in obj:
        add(Problem("event", 'missing event (an object {"type", "id"})'))
    else:
        ev = obj["event"]
        if not isinstance(ev, dict):
            add(Problem("event", f'event must be an object {{"type", "id"}}, got {describe(ev)}'))
        else:
            for key in ev:
                if key not in _EVENT_SET:
                    add(Problem(f"event.{key}", f"unknown field {str(key)!r} in event (only type and id)"))
            if "type" not in ev:
                add(Problem("event.type", "missing event.type"))
            else:
                t = ev["type"]
                if type(t) is not str:
                    add(Problem("event.type", f"event.type must be a string, got {describe(t)}"))
                elif t not in _EVENT_TYPES:
                    add(
                        Problem(
                            "event.type",
                            f"unknown event type {t!r}{_suggest(t, EVENT_TYPES)} (known: {', '.join(EVENT_TYPES)})",
                        )
                    )
                else:
                    etype = t
            if "id" not in ev:
                add(Problem("event.id", "missing event.id (a unique, stable id per event)"))
            else:
                eid = ev["id"]
                if type(eid) is not str:
                    add(Problem("event.id", f"event.id must be a string, got {describe(eid)}"))
                elif not eid:
                    add(Problem("event.id", "event.id is empty"))
                elif eid.isspace():
                    add(Problem("event.id", "event.id is blank (only white space)"))
                elif len(eid) > MAX_EVENT_ID_LENGTH:
                    add(
                        Problem(
                            "event.id",
                            f"event.id is {len(eid)} characters long; the limit is {MAX_EVENT_ID_LENGTH}",
                        )
                    )
                elif eid != eid.strip():
                    add(Problem("event.id", "event.id has leading or trailing spaces", _WARN))

    # schemaVersion
    if "schemaVersion" not in obj:
        add(Problem("schemaVersion", f"missing schemaVersion (always {SCHEMA_VERSION})"))
    else:
        sv = obj["schemaVersion"]
        if type(sv) not in _NUM or sv != SCHEMA_VERSION:
            add(Problem("schemaVersion", f"schemaVersion must be {SCHEMA_VERSION}, got {describe(sv)}"))

    # attributes
    if "attributes" not in obj:
        add(Problem("attributes", "missing attributes (an object)"))
    else:
        attrs = obj["attributes"]
        if not isinstance(attrs, dict):
            add(Problem("attributes", f"attributes must be an object, got {describe(attrs)}"))
        else:
            _check_attributes(attrs, etype, add)

    if size is None:
        size = encoded_size(obj)
    if size > MAX_EVENT_BYTES:
        add(
            Problem(
                "",
                f"the event is {size} bytes encoded; the limit is {MAX_EVENT_BYTES} bytes "
                f"({MAX_EVENT_BYTES // 1024} KiB)",
            )
        )
    return out


def _check_attributes(a: dict[Any, Any], etype: str | None, add: Any) -> None:
    booking = etype is None or etype.startswith("order.")
    # Required: every booking attribute for order.* events; payment events must name their order.
    if etype is not None:
        required = BOOKING_REQUIRED if booking else PAYMENT_REQUIRED
        for name in required:
            if name not in a:
                add(Problem(f"attributes.{name}", f"missing {name}"))

    for key in a:
        if key not in _BOOKING_SET:
            k = str(key)
            add(
                Problem(
                    f"attributes.{k}",
                    f"unknown attribute {k!r}{_suggest(k, BOOKING_ATTRIBUTES)}"
                    " (not in the Rapido events specification)",
                    _WARN,
                )
            )

    if "orderId" in a:
        v = a["orderId"]
        if type(v) is not str:
            add(Problem("attributes.orderId", f"orderId must be a string, got {describe(v)}"))
        elif _blank(v):
            add(Problem("attributes.orderId", "orderId is empty" if not v else "orderId is blank (only white space)"))

    status: str | None = None
    for name in ("orderStatus", "hostStatus"):
        if name in a:
            v = a[name]
            if type(v) is not str:
                add(Problem(f"attributes.{name}", f"{name} must be a string, got {describe(v)}"))
            elif v not in _STATUSES:
                hint = (
                    f"; did you mean {v.strip().upper()!r}? (statuses are upper case)"
                    if v.strip().upper() in _STATUSES
                    else ""
                )
                add(
                    Problem(
                        f"attributes.{name}",
                        f"unknown {name} {v!r}{hint} (known: {', '.join(ORDER_STATUSES)})",
                    )
                )
            elif name == "orderStatus":
                status = v
    host = a.get("hostStatus")
    if status == "CONFIRMED" and type(host) is str and host in _STATUSES and host != "CONFIRMED":
        add(
            Problem(
                "attributes.hostStatus",
                f"hostStatus {host!r} with orderStatus 'CONFIRMED': a confirmed order the host has not confirmed?",
                _WARN,
            )
        )

    if "amount_total" in a:
        v = a["amount_total"]
        p = "attributes.amount_total"
        if not _is_number(v):
            extra = " (write the number without quotes)" if isinstance(v, str) and _numeric(v) else ""
            add(Problem(p, f"amount_total must be a number, got {describe(v)}{extra}"))
        elif isinstance(v, float) and not math.isfinite(v):
            add(Problem(p, f"amount_total must be a finite number, got {v!r}"))
        elif v < MIN_AMOUNT:
            add(Problem(p, f"amount_total is negative ({v!r})"))
        elif v > MAX_AMOUNT:
            add(
                Problem(
                    p,
                    f"amount_total {_short_number(v)} is above the ceiling of {MAX_AMOUNT:,}"
                    " (in minor units by mistake? amounts are in currency units)",
                )
            )

    for name, lo, hi, what in _COORDINATES:
        if name in a:
            v = a[name]
            p = f"attributes.{name}"
            if not _is_number(v):
                add(Problem(p, f"{name} must be a number ({what}), got {describe(v)}"))
            elif isinstance(v, float) and not math.isfinite(v):
                add(Problem(p, f"{name} must be a finite number, got {v!r}"))
            elif v < lo or v > hi:
                span = f"±{hi}" if lo == -hi else f"{lo}..{hi}"
                add(Problem(p, f"{name} {_short_number(v)} is outside {span} (not a {what})"))

    for end in ("origin", "dest"):
        lat, long = a.get(f"location_{end}_lat"), a.get(f"location_{end}_long")
        if _is_number(lat) and _is_number(long) and lat == 0 and long == 0:
            add(
                Problem(
                    f"attributes.location_{end}_lat",
                    f"location_{end} is 0,0 (in the Gulf of Guinea): coordinates missing and defaulted to 0?",
                    _WARN,
                )
            )

    times: dict[str, int] = {}
    for name in UNIX_SECONDS_ATTRIBUTES:
        if name in a:
            t = _check_time(name, a[name], add)
            if t is not None:
                times[name] = t
    if len(times) == 2 and times["end_time"] < times["start_time"]:
        add(
            Problem(
                "attributes.end_time",
                f"end_time ({times['end_time']}) is before start_time ({times['start_time']})",
            )
        )

    if "tz" in a:
        v = a["tz"]
        if type(v) is not str:
            add(Problem("attributes.tz", f"tz must be a string (IANA time zone), got {describe(v)}"))
        elif _blank(v):
            add(Problem("attributes.tz", "tz is empty (an IANA time zone such as Asia/Kolkata)"))
        elif not is_iana_zone(v):
            add(
                Problem(
                    "attributes.tz",
                    f"tz {v!r} is not in the IANA time zone database (e.g. Asia/Kolkata, not IST or +05:30)",
                )
            )

    if status is not None and etype is not None and booking and STATUS_TO_TYPE[status] != etype:
        add(
            Problem(
                "event.type",
                f"event type {etype!r} disagrees with orderStatus {status!r}"
                f" (which usually goes with {STATUS_TO_TYPE[status]!r})",
                _WARN,
            )
        )


def _numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _check_time(name: str, v: Any, add: Any) -> int | None:
    """Check a Unix-seconds field; return its value when it is a usable integer.

    Integral floats (``1708156800.0``) are integers, as for JSON Schema's ``integer``.
    """
    p = f"attributes.{name}"
    if not _is_number(v):
        if isinstance(v, str):
            if v.strip().lstrip("-").isdigit():
                add(Problem(p, f"{name} must be a number, got {describe(v)} (write it without quotes)"))
            else:
                add(
                    Problem(
                        p,
                        f"{name} must be integer Unix seconds, got {describe(v)}"
                        " (convert ISO 8601 dates to seconds since 1970)",
                    )
                )
        else:
            add(Problem(p, f"{name} must be integer Unix seconds, got {describe(v)}"))
        return None
    if isinstance(v, float) and not math.isfinite(v):
        add(Problem(p, f"{name} must be integer Unix seconds, got {v!r}"))
        return None
    if v < MIN_SECONDS:
        add(Problem(p, f"{name} is negative ({v!r}); Unix seconds count from 1970"))
        return None
    if v >= SECONDS_CEILING:
        digits = _digits(int(v))
        if digits == 13:
            add(
                Problem(
                    p,
                    f"{name} {int(v)} has 13 digits: milliseconds, not seconds (use {int(v) // 1000})",
                )
            )
        elif digits == 16:
            add(Problem(p, f"{name} {int(v)} has 16 digits: microseconds, not seconds"))
        else:
            add(Problem(p, f"{name} has {digits} digits: too large for Unix seconds"))
        return None
    if isinstance(v, float):
        if not v.is_integer():
            add(Problem(p, f"{name} must be whole Unix seconds (an integer), got {v!r}"))
            return None
        v = int(v)
    if v < _Y2000:
        add(Problem(p, f"{name} {v} is before the year 2000; is the unit right?", _WARN))
    return int(v)


# ---------------------------------------------------------------------------------------------
# PWA events


def check_pwa_event(obj: Any, *, size: int | None = None) -> list[Problem]:
    """Check one captured PWA event ``{"eventType", "properties"}``; never raises.

    ``properties`` may be an object or the JSON string ``NativeJSBridge.logEvents`` receives.
    Errors: what the specification's ``safeLogEvent`` throws on or what cannot be read (a missing or
    blank ``eventType``, properties that are not a JSON object, a timestamp that is not ISO 8601).
    Warnings: the specification's best practices (snake_case names, flat and small properties, a
    ``timestamp`` and a ``session_id``). ``size`` is unused today (kept for symmetry).
    """
    try:
        return _check_pwa(obj)
    except (RecursionError, MemoryError):
        return [Problem("", "the event is nested too deeply to check")]
    except Exception as exc:  # noqa: BLE001 - contract: never raise; a bug shows as a visible problem
        return [Problem("", f"internal validator error (please report): {type(exc).__name__}: {exc}")]


def _check_pwa(obj: Any) -> list[Problem]:
    if not isinstance(obj, dict):
        return [Problem("", f'a PWA event must be an object {{"eventType", "properties"}}, got {describe(obj)}')]
    out: list[Problem] = []
    add = out.append
    for key in obj:
        if key not in PWA_FIELDS:
            add(Problem(str(key), f"unknown field {str(key)!r} (a PWA event has eventType and properties)"))

    if "eventType" not in obj:
        add(Problem("eventType", "missing eventType"))
    else:
        et = obj["eventType"]
        if type(et) is not str or not et.strip():
            add(Problem("eventType", f"eventType must be a non-empty string, got {describe(et)}"))
        elif not _SNAKE.match(et):
            add(Problem("eventType", f"eventType {et!r} is not snake_case (e.g. page_view)", _WARN))

    if "properties" not in obj:
        add(Problem("properties", "missing properties (an object, or its JSON string)"))
        return out
    raw = obj["properties"]
    props: Any
    if isinstance(raw, str):
        nbytes = len(raw.encode("utf-8", "surrogatepass"))
        try:
            props = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            add(Problem("properties", f"properties is a string but not valid JSON: {exc}"))
            return out
    else:
        props = raw
        nbytes = -1
    if not isinstance(props, dict):
        add(Problem("properties", f"properties must be a JSON object, got {describe(props)}"))
        return out
    if nbytes < 0:
        nbytes = encoded_size(props)
    if nbytes > MAX_PWA_PROPERTIES_BYTES:
        add(
            Problem(
                "properties",
                f"properties are {nbytes} bytes as JSON; keep them under {MAX_PWA_PROPERTIES_BYTES} bytes",
                _WARN,
            )
        )

    for key, v in props.items():
        k = str(key)
        p = f"properties.{k}"
        if not _SNAKE.match(k):
            add(Problem(p, f"property name {k!r} is not snake_case", _WARN))
        if isinstance(v, dict):
            add(Problem(p, "nested object: keep properties flat", _WARN))
        elif isinstance(v, list) and any(isinstance(x, dict | list) for x in v):
            add(Problem(p, "array of objects or arrays: keep properties flat", _WARN))

    if "timestamp" not in props:
        add(Problem("properties.timestamp", "no timestamp (new Date().toISOString()) for sequencing", _WARN))
    else:
        ts = props["timestamp"]
        if type(ts) is not str:
            add(Problem("properties.timestamp", f"timestamp must be an ISO 8601 string, got {describe(ts)}"))
        else:
            try:
                parsed = datetime.fromisoformat(ts)
            except ValueError:
                add(
                    Problem(
                        "properties.timestamp",
                        f"timestamp {_quote(ts)} is not ISO 8601 (e.g. 2024-01-15T10:30:00.000Z)",
                    )
                )
            else:
                if "T" not in ts or parsed.tzinfo is None:
                    add(
                        Problem(
                            "properties.timestamp",
                            "timestamp has no time or no offset; toISOString() gives ...T10:30:00.000Z",
                            _WARN,
                        )
                    )

    if "session_id" not in props:
        add(Problem("properties.session_id", "no session_id: add session context when available", _WARN))
    else:
        sid = props["session_id"]
        if type(sid) is not str or not sid.strip():
            add(
                Problem("properties.session_id", f"session_id should be a non-empty string, got {describe(sid)}", _WARN)
            )
    return out


def get_path(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...``, or None where a step is missing or not an object."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj
