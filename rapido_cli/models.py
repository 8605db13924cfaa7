"""Pydantic models of the wire format (seed: "Server to Server Events" and "PWA to Native Events").

One definition serves the client, the sandbox, ``validate`` and ``schema``. Field names are the
seed's, exactly (``amount_total``, ``location_origin_lat``, ``hostStatus`` ...).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rapido_cli.contract import (
    API_PATH,
    BOOKING_ATTRIBUTES,
    CODE_INTERNAL,
    CODE_INVALID,
    CODE_NOT_FOUND,
    CODE_OK,
    CODE_RATE_LIMITED,
    CODE_UNAUTHORIZED,
    EVENT_TYPES,
    HOST_STATUSES,
    MAX_AMOUNT,
    MAX_EVENT_BYTES,
    MAX_EVENT_ID_LENGTH,
    MAX_PWA_PROPERTIES_BYTES,
    ORDER_STATUSES,
    SCHEMA_VERSION,
    SERVICES,
    STATUS_TO_TYPE,
    EventTypeName,
)


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


#: The contract's constants live in :mod:`rapido_cli.contract` (no pydantic) and are re-exported here.
__all__ = [
    "API_PATH",
    "BOOKING_ATTRIBUTES",
    "CODE_INTERNAL",
    "CODE_INVALID",
    "CODE_NOT_FOUND",
    "CODE_OK",
    "CODE_RATE_LIMITED",
    "CODE_UNAUTHORIZED",
    "EVENT_TYPES",
    "HOST_STATUSES",
    "MAX_AMOUNT",
    "MAX_EVENT_BYTES",
    "MAX_EVENT_ID_LENGTH",
    "MAX_PWA_PROPERTIES_BYTES",
    "ORDER_STATUSES",
    "SCHEMA_VERSION",
    "SERVICES",
    "STATUS_TO_TYPE",
    "ApiError",
    "ApiErrorBody",
    "ApiSuccess",
    "BookingAttributes",
    "Envelope",
    "EventRef",
    "EventTypeName",
    "PwaEvent",
]
