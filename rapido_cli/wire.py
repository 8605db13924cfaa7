"""Facts of the Rapido events specification that the pydantic models cannot state (hand-written).

Everything a JSON Schema can express (fields, enums, ranges, lengths, patterns) lives in the
models (:mod:`rapido_cli.models`); this module holds the rest: the endpoint's path, the answer
codes, the services a client declares in a header, the size limits checked beyond the schema and
the event type each order status implies. No imports, so anything may import it.

Do not import it directly: :mod:`rapido_cli.contract` (generated from the models, pydantic-free)
re-exports these next to the facts read from the models, and :mod:`rapido_cli.models` re-exports
them too. ``scripts/gen_contract.py`` checks them against the models (the statuses and event types
of :data:`STATUS_TO_TYPE`, say).
"""

from __future__ import annotations

__all__ = [
    "API_PATH",
    "CODE_INTERNAL",
    "CODE_INVALID",
    "CODE_NOT_FOUND",
    "CODE_OK",
    "CODE_RATE_LIMITED",
    "CODE_UNAUTHORIZED",
    "MAX_EVENT_BYTES",
    "MAX_PWA_PROPERTIES_BYTES",
    "SERVICES",
    "STATUS_TO_TYPE",
]

#: The endpoint of server-to-server events, below the API's base URL.
API_PATH = "/api/ota/event"

#: Services a client may declare in ``x-client-service``.
SERVICES: tuple[str, ...] = ("flights", "hotels")

#: Documented limits: an encoded event above this is rejected.
MAX_EVENT_BYTES = 32 * 1024
#: PWA events: the specification asks to keep properties flat and small.
MAX_PWA_PROPERTIES_BYTES = 8 * 1024

#: The event type each order status implies (``rapido validate`` warns when they disagree).
STATUS_TO_TYPE: dict[str, str] = {
    "CONFIRMED": "order.confirmed",
    "CANCELLED": "order.cancelled",
    "MODIFIED": "order.modified",
}

#: Success and error codes in the body of the API's answers (docs/validate.md, "Answer codes").
CODE_OK = 7000
CODE_INVALID = 7001
CODE_UNAUTHORIZED = 7002
CODE_RATE_LIMITED = 7003
CODE_INTERNAL = 7004
CODE_NOT_FOUND = 7005
