"""``GET /`` without a browser: HTML for browsers, JSON for scripts, and the page's guarantees."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from typing import Any

import httpx
import pytest

from rapido_cli.sandbox import Sandbox
from rapido_cli.sandbox.inbox import wants_html

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
PAGE = resources.files("rapido_cli").joinpath("static/inbox.html").read_text(encoding="utf-8")


@pytest.fixture
def sandbox_config() -> dict[str, Any]:
    """The conftest ``sandbox`` without credentials (as ``rapido sandbox`` starts by default)."""
    return {}


def test_a_browser_gets_the_page_with_a_strict_policy(sandbox: Sandbox) -> None:
    r = httpx.get(sandbox.url + "/", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.text == PAGE
    csp = dict(part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert csp["connect-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    # exactly the page's own inline script and style are allowed, by hash
    for kind in ("script", "style"):
        blocks = re.findall(rf"<{kind}>(.*?)</{kind}>", PAGE, re.DOTALL)
        assert len(blocks) == 1
        digest = base64.b64encode(hashlib.sha256(blocks[0].encode()).digest()).decode()
        assert csp[f"{kind}-src"] == f"'sha256-{digest}'"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert httpx.head(sandbox.url + "/", headers={"Accept": "text/html"}).status_code == 200


def test_scripts_keep_the_json_index(sandbox: Sandbox) -> None:
    for accept in (None, "*/*", "application/json"):
        headers = {"Accept": accept} if accept else {}
        r = httpx.get(sandbox.url + "/", headers=headers)
        assert r.headers["content-type"] == "application/json"
        assert "GET /_sandbox/stream?last=N" in r.json()["endpoints"]
    assert httpx.get(sandbox.url + "/?format=json", headers={"Accept": "text/html"}).json()["endpoints"]


def test_the_page_loads_nothing_from_elsewhere_and_inserts_text_only() -> None:
    assert "innerHTML" not in PAGE and "outerHTML" not in PAGE and "insertAdjacentHTML" not in PAGE
    assert "document.write" not in PAGE and "eval(" not in PAGE
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", PAGE)
    assert "@import" not in PAGE and "url(" not in PAGE
    assert "style=" not in PAGE  # inline style attributes would need 'unsafe-inline'
    assert 'EventSource("/_sandbox/stream' in PAGE
    # the page's one state change is a non-simple request
    assert '"x-rapido-sandbox": "1"' in PAGE and '"Content-Type": "application/json"' in PAGE


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER_ACCEPT, True),
        ("text/html", True),
        ("application/json", False),
        ("*/*", False),
        ("", False),
        (None, False),
        ("text/html;q=0, application/json", False),
    ],
)
def test_wants_html(accept: str | None, html: bool) -> None:
    assert wants_html(accept) is html


def test_other_origins_cannot_read_the_page(sandbox: Sandbox) -> None:
    r = httpx.get(sandbox.url + "/", headers={"Accept": "text/html", "Origin": "https://evil.example"})
    assert r.status_code == 403
