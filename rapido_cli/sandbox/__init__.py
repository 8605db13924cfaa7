"""The embedded sandbox receiver: the API contract on loopback, with fault injection, a PWA bridge
stand-in and PWA/server booking correlation. A library; it never prints.

    from rapido_cli.sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(port=0)) as sb:
        ...  # send events to sb.url
"""

from rapido_cli.net import is_loopback_origin
from rapido_cli.sandbox.config import Fault, SandboxConfig, SandboxEvent, parse_faults
from rapido_cli.sandbox.server import Sandbox

__all__ = ["Fault", "Sandbox", "SandboxConfig", "SandboxEvent", "is_loopback_origin", "parse_faults"]
