"""JSON Schema of the payloads, generated from the pydantic models in :mod:`rapido_cli.models`.

``rapido schema`` prints it for editors and other validators. What JSON Schema cannot say
(``end_time`` not before ``start_time``, the IANA zone list, the 32 KiB size limit, duplicate
ids) is checked by ``rapido validate`` and stated in the descriptions.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model
from pydantic.fields import FieldInfo

from rapido_cli.models import (
    MAX_EVENT_BYTES,
    MAX_PWA_PROPERTIES_BYTES,
    BookingAttributes,
    Envelope,
    PwaEvent,
)

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@functools.cache
def payment_attributes_model() -> type[BaseModel]:
    """``payment.*`` attributes: ``orderId`` required, the booking fields optional with the same rules.

    Derived from :class:`~rapido_cli.models.BookingAttributes` so the constraints have one
    definition. An optional field has a placeholder default that is never validated; it is
    dropped from the generated schema.
    """
    fields: dict[str, Any] = {}
    for name, info in BookingAttributes.model_fields.items():
        if name == "orderId":
            fields[name] = (info.annotation, info)
        else:
            copy = FieldInfo.merge_field_infos(info, default=None)
            fields[name] = (info.annotation, copy)
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        "PaymentAttributes",
        __config__=ConfigDict(extra="allow"),
        __doc__="The attributes of a payment.completed / payment.failed event: orderId names the order.",
        **fields,
    )
    return model


def _strip_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
    return schema


def json_schema(kind: str = "server") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a server event (``kind="server"``) or a PWA event."""
    if kind == "pwa":
        return _pwa_schema()
    if kind != "server":
        raise ValueError(f"unknown kind {kind!r} (server or pwa)")
    schema = Envelope.model_json_schema(ref_template="#/$defs/{model}")
    defs = schema.setdefault("$defs", {})
    booking = BookingAttributes.model_json_schema(ref_template="#/$defs/{model}")
    booking["description"] = (
        (booking.get("description") or "").strip()
        + " Also checked by `rapido validate`: end_time not before start_time; tz in the IANA database."
    ).strip()
    defs["BookingAttributes"] = booking
    defs["PaymentAttributes"] = _strip_defaults(
        payment_attributes_model().model_json_schema(ref_template="#/$defs/{model}")
    )
    schema["allOf"] = [
        {
            "if": {"properties": {"event": {"properties": {"type": {"pattern": "^order\\."}}}}},
            "then": {"properties": {"attributes": {"$ref": "#/$defs/BookingAttributes"}}},
        },
        {
            "if": {"properties": {"event": {"properties": {"type": {"pattern": "^payment\\."}}}}},
            "then": {"properties": {"attributes": {"$ref": "#/$defs/PaymentAttributes"}}},
        },
    ]
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": "https://rapido-cli.invalid/schema/server-event.json",
        **schema,
        "title": "Rapido server-to-server event",
        "description": (
            "The body of POST /api/ota/event. Limits beyond this schema (checked by `rapido validate`): "
            f"an encoded event is at most {MAX_EVENT_BYTES} bytes; event ids are unique."
        ),
    }


def _pwa_schema() -> dict[str, Any]:
    schema = PwaEvent.model_json_schema(ref_template="#/$defs/{model}")
    props = schema["properties"]
    props["eventType"]["examples"] = ["page_view", "user_action", "booking_initiated"]
    props["properties"] = {
        "description": PwaEvent.model_fields["properties"].description,
        "anyOf": [
            {
                "type": "object",
                "description": (
                    "Flat properties (no nested objects), snake_case names, "
                    f"at most {MAX_PWA_PROPERTIES_BYTES} bytes as JSON."
                ),
                "properties": {
                    "timestamp": {"type": "string", "format": "date-time", "description": "ISO 8601."},
                    "session_id": {"type": "string", "minLength": 1},
                },
                "additionalProperties": {
                    "anyOf": [
                        {"type": ["string", "number", "boolean", "null"]},
                        {"type": "array", "items": {"type": ["string", "number", "boolean", "null"]}},
                    ]
                },
            },
            {"type": "string", "contentMediaType": "application/json", "description": "JSON.stringify(properties)"},
        ],
    }
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": "https://rapido-cli.invalid/schema/pwa-event.json",
        **schema,
        "title": "Rapido PWA event (NativeJSBridge.logEvents)",
    }
