"""JSON Schema of the payloads, generated from the pydantic models in :mod:`rapido_cli.models`.

``rapido schema`` prints it for editors and other validators. It states every rule a JSON Schema
can express and nothing stricter than ``rapido validate`` (warnings are not schema errors). The
rules a schema cannot express (``end_time`` not before ``start_time``, IANA zones, the size limit,
duplicate ids, the content of a JSON-encoded string ...) are :data:`rapido_cli.rules.BEYOND_SCHEMA`,
named in the schema's description and listed in docs/validate.md.
"""

from __future__ import annotations

from typing import Any

from rapido_cli.models import BookingAttributes, Envelope, PaymentAttributes, PwaEvent

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_REF = "#/$defs/{model}"


def _strip_defaults(schema: Any) -> Any:
    """Drop ``"default": null`` placeholders of optional fields (absent means absent, not null);
    descriptions (the models' docstrings) in plain Markdown."""
    if isinstance(schema, dict):
        if isinstance(schema.get("description"), str):
            schema["description"] = schema["description"].replace("``", "`")
        props = schema.get("properties")
        if isinstance(props, dict):
            for prop in props.values():
                if isinstance(prop, dict) and prop.get("default", ...) is None:
                    del prop["default"]
        for value in schema.values():
            _strip_defaults(value)
    elif isinstance(schema, list):
        for value in schema:
            _strip_defaults(value)
    return schema


def _beyond(kind: str) -> str:
    from rapido_cli.rules import BEYOND_SCHEMA

    rules = "; ".join(r.rule for r in BEYOND_SCHEMA if r.kind in (kind, "both"))
    return f"Checked by `rapido validate` beyond this schema (docs/validate.md, 'Beyond the schema'): {rules}."


def json_schema(kind: str = "server") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a server event (``kind="server"``) or a PWA event."""
    if kind == "pwa":
        return _pwa_schema()
    if kind != "server":
        raise ValueError(f"unknown kind {kind!r} (server or pwa)")
    schema = Envelope.model_json_schema(ref_template=_REF)
    defs = schema.setdefault("$defs", {})
    defs["BookingAttributes"] = BookingAttributes.model_json_schema(ref_template=_REF)
    defs["PaymentAttributes"] = PaymentAttributes.model_json_schema(ref_template=_REF)
    _strip_defaults(schema)
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
        "description": "The body of POST /api/ota/event. " + _beyond("server"),
    }


def _pwa_schema() -> dict[str, Any]:
    schema = _strip_defaults(PwaEvent.model_json_schema(ref_template=_REF))
    props = schema["properties"]
    props["eventType"]["examples"] = ["page_view", "user_action", "booking_initiated"]
    for branch in props["properties"]["anyOf"]:
        if branch.get("type") == "string":
            # Annotations (not assertions) in draft 2020-12: what the string holds; checked by validate.
            branch["contentMediaType"] = "application/json"
            branch["contentSchema"] = {"$ref": "#/$defs/PwaProperties"}
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": "https://rapido-cli.invalid/schema/pwa-event.json",
        **schema,
        "title": "Rapido PWA event (NativeJSBridge.logEvents)",
        "description": "One logEvents(eventType, propertiesJson) call as captured. " + _beyond("pwa"),
    }
