"""Kept for code written against the old module: everything here now lives in :mod:`rapido_cli.transport`."""

from rapido_cli.transport import (
    TLS_UNTRUSTED,
    Attempt,
    EventClient,
    RetryPolicy,
    SendResult,
    build_ssl_context,
    classify,
    encode_event,
    explain,
    headers_for,
    masked_headers,
    parse_retry_after,
)

__all__ = [
    "TLS_UNTRUSTED",
    "Attempt",
    "EventClient",
    "RetryPolicy",
    "SendResult",
    "build_ssl_context",
    "classify",
    "encode_event",
    "explain",
    "headers_for",
    "masked_headers",
    "parse_retry_after",
]
