"""Pydantic models of the wire format: the one definition of the event contract.

They follow the Rapido events specification ("Server to Server Events" and "PWA to Native
Events"), with its field names exactly (``amount_total``, ``location_origin_lat``, ``hostStatus``
...). Every rule a JSON Schema can state lives here (types, required fields, enums, ranges,
lengths, non-blank patterns, which objects take extra fields), so ``rapido schema`` exports it.
:mod:`rapido_cli.rules` checks the same rules fast and with readable messages, plus the few a
schema cannot state (``BEYOND_SCHEMA`` there); tests prove the two agree.

The fast paths (``rapido validate``, the sandbox, start-up) never import this module: what they
need of it is read from these models by ``scripts/gen_contract.py`` into the generated, pydantic-free
:mod:`rapido_cli.contract`. Run that script after changing a model (CI and a test check it). The
facts no model can state (API path, answer codes, services, size limits beyond the schema) are
hand-written in :mod:`rapido_cli.wire` and re-exported here.

Two choices shape the models:

* **Warnings are not schema errors.** What ``rapido validate`` only warns about (an unknown
  attribute, nested PWA properties, a missing ``session_id`` ...) is accepted here, so the exported
  schema is never stricter than ``validate`` without ``--strict``.
* **Integral floats are integers.** ``1.0`` and ``1708156800.0`` are accepted in every integer
  field (as JSON Schema's ``integer`` does) and normalised to ``1`` and ``1708156800``: what is
  sent is the normalised form.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

# The facts a model cannot state, re-exported: rapido_cli.contract is where fast paths read them.
from rapido_cli.wire import API_PATH as API_PATH
from rapido_cli.wire import CODE_INTERNAL as CODE_INTERNAL
from rapido_cli.wire import CODE_INVALID as CODE_INVALID
from rapido_cli.wire import CODE_NOT_FOUND as CODE_NOT_FOUND
from rapido_cli.wire import CODE_OK as CODE_OK
from rapido_cli.wire import CODE_RATE_LIMITED as CODE_RATE_LIMITED
from rapido_cli.wire import CODE_UNAUTHORIZED as CODE_UNAUTHORIZED
from rapido_cli.wire import MAX_EVENT_BYTES as MAX_EVENT_BYTES
from rapido_cli.wire import MAX_PWA_PROPERTIES_BYTES as MAX_PWA_PROPERTIES_BYTES
from rapido_cli.wire import SERVICES as SERVICES
from rapido_cli.wire import STATUS_TO_TYPE as STATUS_TO_TYPE

SchemaVersion = Literal[1]
SCHEMA_VERSION: int = get_args(SchemaVersion)[0]

EventTypeName = Literal["order.confirmed", "order.cancelled", "order.modified", "payment.completed", "payment.failed"]
#: The five documented event types.
EVENT_TYPES: tuple[str, ...] = get_args(EventTypeName)

OrderStatus = Literal["CONFIRMED", "CANCELLED", "MODIFIED"]
#: Order statuses of the specification (:data:`STATUS_TO_TYPE` gives the event type each implies).
ORDER_STATUSES: tuple[str, ...] = get_args(OrderStatus)

#: The limits below are the models' (they reach the schema); rapido_cli.contract reads them back
#: from the fields, not from these names.
MAX_EVENT_ID_LENGTH = 128
#: Amounts above this are treated as a unit mistake (paise for rupees, say).
MAX_AMOUNT = 100_000_000
#: Unix seconds have 10 digits until the year 2286; 13 digits are milliseconds.
SECONDS_CEILING = 10_000_000_000

#: JSON Schema ``pattern`` (unanchored) of a non-blank string: one character that is not blank, where
#: blank means exactly the characters Python's ``str.isspace`` (and ``str.strip()``) treat as white
#: space. Written out so it means the same in every regex dialect (ECMA-262 for JSON Schema tools,
#: Rust for pydantic, Python's ``re``); a test compares it with ``str.isspace``.
NON_BLANK_PATTERN = (
    r"[^\t\n\u000b\f\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)


def _integral(value: Any) -> Any:
    """Integer fields: an integral float (``1.0``) is the integer; a boolean is not a number."""
    if type(value) is float and value.is_integer():
        return int(value)
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return value


#: Unix seconds: a 10-digit integer at most; JSON Schema ``integer``, which integral floats satisfy
#: too. (Constraints before the validator, so they reach the exported schema as minimum/maximum.)
UnixSeconds = Annotated[
    int,
    Field(ge=0, lt=SECONDS_CEILING),
    BeforeValidator(_integral),
    Field(description="Unix seconds (not milliseconds)."),
]
#: A number that JSON can hold (no NaN or infinity).
Number = Annotated[float, Field(allow_inf_nan=False)]
#: A string with at least one character that is not white space.
NonBlank = Annotated[str, Field(min_length=1, pattern=NON_BLANK_PATTERN)]


class EventRef(BaseModel):
    """``event``: what happened, and the id that makes re-sending it idempotent."""

    model_config = ConfigDict(extra="forbid")

    type: EventTypeName = Field(description="One of the five documented event types.")
    id: NonBlank = Field(max_length=MAX_EVENT_ID_LENGTH, description="Unique, stable event id.")


class BookingAttributes(BaseModel):
    """The attributes of a flight or hotel booking event (order.*), as the specification names them.

    Other attributes are accepted (``rapido validate`` warns about them).
    """

    model_config = ConfigDict(extra="allow")

    orderId: NonBlank = Field(description="The partner's booking id.")
    orderStatus: OrderStatus
    amount_total: Number = Field(ge=0, le=MAX_AMOUNT, description="Total amount, in currency units.")
    location_origin_lat: Number = Field(ge=-90, le=90, description="Latitude, degrees.")
    location_origin_long: Number = Field(ge=-180, le=180, description="Longitude, degrees.")
    location_dest_lat: Number = Field(ge=-90, le=90, description="Latitude, degrees.")
    location_dest_long: Number = Field(ge=-180, le=180, description="Longitude, degrees.")
    start_time: UnixSeconds
    end_time: UnixSeconds
    hostStatus: OrderStatus
    tz: NonBlank = Field(description="IANA time zone, e.g. Asia/Kolkata.")


#: The attributes the specification names for booking events, in its order.
BOOKING_ATTRIBUTES: tuple[str, ...] = tuple(BookingAttributes.model_fields)


def _optional(info: FieldInfo) -> FieldInfo:
    # The placeholder default is never validated (pydantic does not validate defaults) and is
    # dropped from the exported schema: absent means absent, not null.
    return FieldInfo.merge_field_infos(info, default=None)


#: ``payment.*`` attributes: ``orderId`` names the order; the booking attributes are optional,
#: with the same rules when present. Derived from :class:`BookingAttributes`: one definition.
PaymentAttributes: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "PaymentAttributes",
    __config__=ConfigDict(extra="allow"),
    __doc__="The attributes of a payment.completed / payment.failed event: orderId names the order.",
    **{
        name: (info.annotation, info if name == "orderId" else _optional(info))
        for name, info in BookingAttributes.model_fields.items()
    },
)


class Envelope(BaseModel):
    """The body of ``POST /api/ota/event``."""

    model_config = ConfigDict(extra="forbid")

    userId: NonBlank = Field(description="The Rapido user id.")
    event: EventRef
    attributes: dict[str, Any] = Field(
        description="Service-specific attributes: BookingAttributes for order.*, PaymentAttributes for payment.*."
    )
    schemaVersion: Annotated[SchemaVersion, BeforeValidator(_integral)] = Field(description="Always 1.")


def _is_integer(info: FieldInfo) -> bool:
    return any(isinstance(m, BeforeValidator) and m.func is _integral for m in info.metadata)


#: Integer fields (integral floats accepted there, and normalised to ints before sending).
INTEGER_ENVELOPE_FIELDS: tuple[str, ...] = tuple(n for n, i in Envelope.model_fields.items() if _is_integer(i))
INTEGER_ATTRIBUTES: tuple[str, ...] = tuple(n for n, i in BookingAttributes.model_fields.items() if _is_integer(i))


class PwaProperties(BaseModel):
    """The properties object of a PWA event: any names and values.

    Flat, snake_case, small, with a ``timestamp`` and a ``session_id``: the specification's best
    practices, which ``rapido validate`` warns about, not errors.
    """

    model_config = ConfigDict(extra="allow")

    timestamp: str = Field(
        default=None,  # type: ignore[assignment]  # absent is fine; never validated, not exported
        description="ISO 8601, as new Date().toISOString() gives: 2024-01-15T10:30:00.000Z.",
    )
    session_id: Any = Field(default=None, description="Recommended: a non-empty string.")


class PwaEvent(BaseModel):
    """One ``NativeJSBridge.logEvents(eventType, propertiesJson)`` call as captured."""

    model_config = ConfigDict(extra="forbid")

    eventType: NonBlank = Field(description="The event name, snake_case by convention (page_view).")
    properties: PwaProperties | str = Field(
        description="The properties object, or the JSON string the bridge received (JSON.stringify(properties))."
    )

