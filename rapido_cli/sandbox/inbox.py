"""``GET /``: the inbox page (``static/inbox.html``) and the strict Content-Security-Policy it is served with.

The page is one packaged file with its CSS and JavaScript inline (it works offline, loads nothing
from elsewhere). The policy allows exactly that inline style and script, by their SHA-256, and
connections to this sandbox only: an event body that slipped markup into the page could run nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources

_INLINE = re.compile(rb"<(script|style)>(.*?)</\1>", re.DOTALL)


def _sha256(block: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(block).digest()).decode("ascii") + "'"


@cache
def inbox_page() -> tuple[bytes, list[tuple[str, str]]]:
    """The page's bytes and the headers to serve it with (CSP by hash, no framing, no sniffing)."""
    page = resources.files("rapido_cli").joinpath("static/inbox.html").read_bytes()
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, block in _INLINE.findall(page):
        hashes[kind.decode()].append(_sha256(block))
    scripts = " ".join(hashes["script"]) or "'none'"
    styles = " ".join(hashes["style"]) or "'none'"
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {scripts}",
            f"style-src {styles}",
            "connect-src 'self'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    headers = [
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]
    return page, headers


def wants_html(accept: str | None) -> bool:
    """True when the client asks for HTML (a browser); JSON clients and ``*/*`` keep the JSON index."""
    if not accept:
        return False
    for part in accept.lower().split(","):
        media, _, params = part.strip().partition(";")
        if media.strip() in ("text/html", "application/xhtml+xml") and "q=0" not in params.replace(" ", "").split(";"):
            return True
    return False
