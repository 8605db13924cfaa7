"""The constants of the wire contract (the Rapido events specification): no pydantic here.

:mod:`rapido_cli.models` re-exports them next to the pydantic models; the fast paths (``rapido
validate``, ``rules``, start-up) import them from here so they never load pydantic.
"""

from __future__ import annotations

from typing import Literal

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
