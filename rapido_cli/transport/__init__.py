"""The transport: every command that talks to the API goes through this package.

One place for each concern (``rapido send``, ``send-booking``, ``replay``, ``doctor`` and
``trigger`` share them):

* :mod:`.tls` — trust: the profile's ``ca_bundle``, SSL_CERT_FILE/DIR, or the OS store;
* :mod:`.proxy` — the one proxy decision (HTTP(S)_PROXY, ALL_PROXY, full NO_PROXY);
* :mod:`.route` — target + proxy + trust, and the rule that the key never travels in clear;
* :mod:`.answer` — :class:`Attempt`, :func:`classify`, :func:`explain`, :func:`hint_for`, the key scrubber;
* :mod:`.retry` — :class:`RetryPolicy`, ``Retry-After``, the one retry loop :func:`deliver`;
* :mod:`.client` — the ``http.client`` senders, bounded in time and size, and :class:`EventClient`.

No typer or rich here: the CLI renders what these return.
"""

from rapido_cli.transport.answer import (
    FAILURE_EXIT,
    MAX_ANSWER_BYTES,
    TLS_UNTRUSTED,
    Attempt,
    Scrubber,
    Verdict,
    classify,
    exit_code_for,
    explain,
    hint_for,
    is_acknowledgement,
    mask,
    scrub,
)
from rapido_cli.transport.client import (
    ConnectionSender,
    EventClient,
    SenderFactory,
    SendPlan,
    SendResult,
    encode_event,
    headers_for,
    request_preview,
)
from rapido_cli.transport.proxy import Proxy, ProxyChoice, proxy_for
from rapido_cli.transport.retry import Delivery, Outcome, RetryPolicy, Sender, deliver, parse_retry_after
from rapido_cli.transport.route import Route, check_base_url, plan_route
from rapido_cli.transport.tls import TrustSource, build_ssl_context, tls_trust

__all__ = [
    "FAILURE_EXIT",
    "MAX_ANSWER_BYTES",
    "TLS_UNTRUSTED",
    "Attempt",
    "ConnectionSender",
    "Delivery",
    "EventClient",
    "Outcome",
    "Proxy",
    "ProxyChoice",
    "RetryPolicy",
    "Route",
    "Scrubber",
    "SendPlan",
    "SendResult",
    "Sender",
    "SenderFactory",
    "TrustSource",
    "Verdict",
    "build_ssl_context",
    "check_base_url",
    "classify",
    "deliver",
    "encode_event",
    "exit_code_for",
    "explain",
    "headers_for",
    "hint_for",
    "is_acknowledgement",
    "mask",
    "parse_retry_after",
    "plan_route",
    "proxy_for",
    "request_preview",
    "scrub",
    "tls_trust",
]
