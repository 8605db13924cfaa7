"""Pydantic models of the wire format (seed: "Server to Server Events" and "PWA to Native Events").

One definition serves the client, the sandbox, ``validate`` and ``schema``. Field names are the
seed's, exactly (``amount_total``, ``location_origin_lat``, ``hostStatus`` ...).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
API_PATH = "/api/ota/event"

#: The five documented event types.
EVENT_TYPES: tuple[str, ...] = (
    "order.confirmed",
    "order.cancelled",
    "order.modified",
    "payment.completed",
    "payment.failed",
)
EventTypeName = Literal["order.confirmed", "order.cancelled", "order.modified", "payment.completed", "payment.failed"]

#: Order statuses the seed uses, and the event type each one implies.
ORDER_STATUSES: tuple[str, ...] = ("CONFIRMED", "CANCELLED", "MODIFIED")
STATUS_TO_TYPE: dict[str, str] = {
    "CONFIRMED": "order.confirmed",
    "CANCELLED": "order.cancelled",
    "MODIFIED": "order.modified",
}
HOST_STATUSES: tuple[str, ...] = ORDER_STATUSES

#: Services a client may declare in ``x-client-service``.
SERVICES: tuple[str, ...] = ("flights", "hotels")

#: The attributes the seed names for booking events, in the seed's order.
BOOKING_ATTRIBUTES: tuple[str, ...] = (
    "orderId",
    "orderStatus",
    "amount_total",
    "location_origin_lat",
    "location_origin_long",
    "location_dest_lat",
    "location_dest_long",
    "start_time",
    "end_time",
    "hostStatus",
    "tz",
)

#: Documented limits (README "Limits"): an encoded event above this is rejected.
MAX_EVENT_BYTES = 32 * 1024
MAX_EVENT_ID_LENGTH = 128
#: Amounts above this are treated as a unit mistake (paise for rupees, say).
MAX_AMOUNT = 100_000_000
#: PWA events: the seed asks to keep properties flat and small.
MAX_PWA_PROPERTIES_BYTES = 8 * 1024

#: Success and error codes in the body of the API's answers.
CODE_OK = 7000
CODE_INVALID = 7001
CODE_UNAUTHORIZED = 7002
CODE_RATE_LIMITED = 7003
CODE_INTERNAL = 7004
CODE_NOT_FOUND = 7005


class EventRef(BaseModel):
    """``event``: what happened, and the id that makes re-sending it idempotent."""

    model_config = ConfigDict(extra="forbid")

    type: EventTypeName = Field(description="One of the five documented event types.")
    id: str = Field(min_length=1, max_length=MAX_EVENT_ID_LENGTH, description="Unique, stable event id.")


class BookingAttributes(BaseModel):
    """The attributes of a flight or hotel booking event, with the seed's exact names."""

    model_config = ConfigDict(extra="allow")

    orderId: str = Field(min_length=1, description="The partner's booking id.")
    orderStatus: Literal["CONFIRMED", "CANCELLED", "MODIFIED"]
    amount_total: float = Field(ge=0, le=MAX_AMOUNT, description="Total amount, in currency units.")
    location_origin_lat: float = Field(ge=-90, le=90)
    location_origin_long: float = Field(ge=-180, le=180)
    location_dest_lat: float = Field(ge=-90, le=90)
    location_dest_long: float = Field(ge=-180, le=180)
    start_time: int = Field(ge=0, lt=10_000_000_000, description="Unix seconds (not milliseconds).")
    end_time: int = Field(ge=0, lt=10_000_000_000, description="Unix seconds (not milliseconds).")
    hostStatus: Literal["CONFIRMED", "CANCELLED", "MODIFIED"]
    tz: str = Field(min_length=1, description="IANA time zone, e.g. Asia/Kolkata.")


class Envelope(BaseModel):
    """The body of ``POST /api/ota/event``."""

    model_config = ConfigDict(extra="forbid")

    userId: str = Field(min_length=1, description="The Rapido user id.")
    event: EventRef
    attributes: dict[str, Any] = Field(description="Service-specific attributes (see BookingAttributes).")
    schemaVersion: Literal[1] = Field(description="Always 1.")


class ApiErrorBody(BaseModel):
    """``error`` in an error answer."""

    message: str
    details: dict[str, Any] | None = None


class ApiSuccess(BaseModel):
    """HTTP 200 ``{"success": true, "code": 7000, ...}``."""

    success: Literal[True]
    code: int
    timestamp: str
    requestId: str


class ApiError(BaseModel):
    """An error answer ``{"success": false, "code", "error": {...}, ...}``."""

    success: Literal[False]
    code: int
    error: ApiErrorBody
    timestamp: str | None = None
    requestId: str | None = None


class PwaEvent(BaseModel):
    """One ``NativeJSBridge.logEvents(eventType, propertiesJson)`` call as captured."""

    model_config = ConfigDict(extra="forbid")

    eventType: str = Field(min_length=1, description="snake_case event name.")
    properties: dict[str, Any] | str = Field(
        description="The properties object, or the JSON string the bridge received."
    )
