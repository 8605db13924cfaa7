"""TLS trust, decided once: the profile's ``ca_bundle``, else SSL_CERT_FILE/SSL_CERT_DIR, else the OS store.

Every sender (``send``, ``replay``, ``doctor``'s handshake and probe) gets its context from
:func:`build_ssl_context`, so they verify the same way and ``rapido doctor`` can say which store
a request trusts (:func:`tls_trust`). Verification is always on; TLS 1.2 is the oldest version.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rapido_cli.errors import ConfigError

MIN_TLS = ssl.TLSVersion.TLSv1_2


@dataclass(frozen=True)
class TrustSource:
    """Which certificates verify the server: the profile's ``ca_bundle``, SSL_CERT_FILE/DIR, or the OS store."""

    kind: str  # "ca_bundle" | "SSL_CERT_FILE" | "SSL_CERT_DIR" | "system"
    cafile: str | None = None
    capath: str | None = None

    def describe(self) -> str:
        """A short phrase for messages: ``the profile's ca_bundle /x/ca.pem``."""
        if self.kind == "ca_bundle":
            return f"the profile's ca_bundle {self.cafile}"
        if self.kind == "system":
            return "the operating system's trust store"
        parts = []
        if self.cafile:
            parts.append(f"SSL_CERT_FILE={self.cafile}")
        if self.capath:
            parts.append(f"SSL_CERT_DIR={self.capath}")
        return " and ".join(parts)


def tls_trust(ca_bundle: str | None, environ: Mapping[str, str]) -> TrustSource:
    """The trust anchors a connection uses: ``ca_bundle`` replaces the others; then SSL_CERT_FILE/DIR; then the OS."""
    if ca_bundle:
        return TrustSource("ca_bundle", cafile=str(Path(ca_bundle).expanduser()))
    cafile, capath = environ.get("SSL_CERT_FILE") or None, environ.get("SSL_CERT_DIR") or None
    if cafile or capath:
        return TrustSource("SSL_CERT_FILE" if cafile else "SSL_CERT_DIR", cafile=cafile, capath=capath)
    return TrustSource("system")


def build_ssl_context(ca_bundle: str | None, environ: Mapping[str, str]) -> ssl.SSLContext:
    """A verifying client context for the trust source of ``ca_bundle`` / ``environ``.

    ``ca_bundle`` replaces the other anchors (like ``verify=PATH`` in requests): a profile that names
    its CA trusts exactly that. A missing or unreadable bundle is a ConfigError naming where it was
    configured.
    """
    trust = tls_trust(ca_bundle, environ)
    ctx: ssl.SSLContext
    if trust.kind == "system":
        import truststore

        ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        where = "ca_bundle in the profile" if trust.kind == "ca_bundle" else trust.kind
        for path, is_dir in ((trust.cafile, False), (trust.capath, True)):
            if path and not (os.path.isdir(path) if is_dir else os.path.isfile(path)):
                raise ConfigError(
                    f"{where}: {path} is not an existing {'directory' if is_dir else 'file'}",
                    hint="point it at a PEM bundle of the CA certificates to trust, or remove it",
                )
        try:
            ctx = ssl.create_default_context(cafile=trust.cafile, capath=trust.capath)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"{where}: {trust.cafile or trust.capath} holds no usable PEM certificate ({exc.reason or exc})",
                hint="it must contain -----BEGIN CERTIFICATE----- blocks",
            ) from None
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read {trust.cafile or trust.capath}: {exc.strerror}") from None
    ctx.minimum_version = MIN_TLS
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


__all__ = ["MIN_TLS", "TrustSource", "build_ssl_context", "tls_trust"]
