"""bridge.js in a real headless Chromium: a page on one loopback port, the sandbox on another.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``, ``/usr/bin/chromedriver``)
and the ``selenium`` package; skipped with the reason when one is missing. Never downloads a browser.
"""

from __future__ import annotations

import functools
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import booking as flight_booking
from conftest import wait_for

from rapido_cli.sandbox import Sandbox, SandboxConfig

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
HEADERS = {"x-client-id": "acme", "x-client-service": "flights", "x-client-app-id": "pwa", "authorization": "k"}

# The seed's PWA helpers ("PWA to Native Events"), as a partner's page would carry them.
SEED_HELPERS = """
function getCurrentSessionId() { return 'sess_browser_1'; }
function storeEventForLater(eventType, properties) { window.__stored = (window.__stored || 0) + 1; }
function trackUserAction(actionName, additionalData = {}) {
    const properties = {
        action_name: actionName,
        timestamp: new Date().toISOString(),
        page_url: window.location.href,
        user_agent: navigator.userAgent,
        ...additionalData
    };
    if (window.NativeJSBridge && window.NativeJSBridge.logEvents) {
        window.NativeJSBridge.logEvents('user_action', JSON.stringify(properties));
    }
}
function trackPageView() {
    const properties = {
        page_name: document.title,
        page_url: window.location.href,
        referrer: document.referrer,
        timestamp: new Date().toISOString(),
        viewport_width: window.innerWidth,
        viewport_height: window.innerHeight
    };
    window.NativeJSBridge.logEvents('page_view', JSON.stringify(properties));
}
function trackBusinessEvent(eventType, businessData) {
    const properties = {
        event_type: eventType,
        timestamp: new Date().toISOString(),
        session_id: getCurrentSessionId(),
        ...businessData
    };
    window.NativeJSBridge.logEvents('business_event', JSON.stringify(properties));
}
function safeLogEvent(eventType, properties) {
    try {
        if (!window.NativeJSBridge) {
            console.warn('Running outside Rapido app - event not logged');
            return false;
        }
        if (typeof window.NativeJSBridge.logEvents !== 'function') {
            console.error('logEvents method not available');
            return false;
        }
        if (!eventType || typeof eventType !== 'string') {
            throw new Error('eventType must be a non-empty string');
        }
        const propertiesJson = JSON.stringify(properties || {});
        window.NativeJSBridge.logEvents(eventType, propertiesJson);
        return true;
    } catch (error) {
        console.error('Failed to log event:', error);
        storeEventForLater(eventType, properties);
        return false;
    }
}
"""

APP_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Acme Flights</title>
<script src="{sandbox}/bridge.js"></script>
<script>{helpers}</script>
</head><body><h1>Acme Flights</h1>
<script>
window.__results = [];
trackPageView();
trackUserAction('search_performed', {{
    search_query: 'flights to bangalore', results_count: 45, search_filters: ['economy', 'direct_flights']
}});
trackBusinessEvent('booking_initiated', {{
    service_type: 'flight', origin: 'DEL', destination: 'BLR', departure_date: '2024-02-15', estimated_price: 5500
}});
window.__results.push(safeLogEvent('booking_completed', {{
    booking_id: 'FL_BOOKING_ABC123', final_price: 8500, payment_method: 'credit_card',
    session_id: getCurrentSessionId(), timestamp: new Date().toISOString()
}}));
window.__results.push(safeLogEvent('booking_completed', {{
    booking_id: 'FL_BOOKING_NO_SERVER', final_price: 4200, payment_method: 'upi',
    session_id: getCurrentSessionId(), timestamp: new Date().toISOString()
}}));
// mistakes a partner can make: an empty type, properties that are not JSON
window.NativeJSBridge.logEvents('', '{{}}');
window.NativeJSBridge.logEvents('page_view', 'not json');
window.__done = true;
</script></body></html>
"""

NATIVE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>In the Rapido app</title>
<script>
window.__native = [];
window.NativeJSBridge = {{ logEvents: function (t, p) {{ window.__native.push([t, p]); }} }};
window.__original = window.NativeJSBridge;
</script>
<script src="{sandbox}/bridge.js"></script>
</head><body>
<script>
window.NativeJSBridge.logEvents('page_view', JSON.stringify({{page_name: 'native'}}));
window.__done = true;
</script></body></html>
"""

BARE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>bare</title>
<script src="{sandbox}/bridge.js"></script></head><body></body></html>
"""


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    if not Path(CHROMEDRIVER).exists():
        return f"chromedriver not found at {CHROMEDRIVER} (apt-get install chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install selenium)"
    return None


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture
def sandbox_config(tmp_path: Path) -> dict[str, Any]:
    """For conftest's ``sandbox``: arrivals and missed bookings in tmp, a 1.5 s window."""
    return {"store": tmp_path / "arrived.jsonl", "missed": tmp_path / "missed.jsonl", "missed_after_s": 1.5}


@pytest.fixture
def site(tmp_path: Path, sandbox: Sandbox) -> Iterator[Callable[[str, str], str]]:
    """A partner's dev server: static pages on another loopback port."""
    root = tmp_path / "site"
    root.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def page(name: str, template: str) -> str:
        html = template.format(sandbox=sandbox.url, helpers=SEED_HELPERS)
        (root / name).write_text(html, encoding="utf-8")
        return f"{base}/{name}"

    try:
        yield page
    finally:
        server.shutdown()
        server.server_close()


def test_page_on_another_port_sends_through_bridge(driver: Any, sandbox: Sandbox, site: Any) -> None:
    url = site("app.html", APP_PAGE)
    assert sandbox.url.rsplit(":", 1)[1] not in url  # really another origin
    driver.get(url)
    assert driver.execute_script("return window.__done") is True
    assert driver.execute_script("return window.__results") == [True, True]
    assert driver.execute_script("return window.NativeJSBridge.__rapidoSandbox") == sandbox.url

    events = wait_for(lambda: len(sandbox.events(flow="pwa")) >= 7 and sandbox.events(flow="pwa"))
    by_type: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        by_type.setdefault(ev["event_type"] or "", []).append(ev)
    assert len(events) == 7
    assert {e["verdict"] for e in by_type["booking_completed"]} == {"ok"}
    assert by_type["business_event"][0]["verdict"] == "ok"
    # the seed's trackPageView/trackUserAction carry no session_id: a warning, not a rejection
    assert {e["verdict"] for e in by_type["user_action"]} == {"warning"}
    page_views = sorted(e["verdict"] for e in by_type["page_view"])
    assert page_views == ["invalid", "warning"]
    assert by_type[""][0]["verdict"] == "invalid"
    # the properties arrive as the JSON string the page passed, with the dev server's origin
    booking = json.loads(by_type["booking_completed"][0]["event"]["properties"])
    assert booking["session_id"] == "sess_browser_1"
    assert by_type["booking_completed"][0]["headers"]["origin"] == url.rsplit("/", 1)[0]

    # stored with their verdicts, beside the server events
    httpx.post(
        sandbox.url + "/api/ota/event",
        headers=HEADERS,
        json=flight_booking("FL_BOOKING_ABC123", "evt_flight_FL_BOOKING_ABC123"),
    ).raise_for_status()
    missed = wait_for(lambda: httpx.get(sandbox.url + "/_sandbox/missed").json()["missed"], timeout=6)
    assert [m["order_id"] for m in missed] == ["FL_BOOKING_NO_SERVER"]
    assert missed[0]["amount"] == 4200
    sandbox.stop()
    stored = [json.loads(line) for line in Path(sandbox.config.store or "").read_text().splitlines()]
    pwa_stored = [r for r in stored if r["flow"] == "pwa"]
    assert len(pwa_stored) == 7
    assert sorted(r["verdict"] for r in pwa_stored) == sorted(e["verdict"] for e in events)
    assert [r["flow"] for r in stored if r["flow"] != "pwa"] == ["server", "correlation"]
    assert [json.loads(x)["order_id"] for x in Path(sandbox.config.missed or "").read_text().splitlines()] == [
        "FL_BOOKING_NO_SERVER"
    ]
    # the page saw no error thrown by the bridge
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "bridge.js" in e["message"]]
    assert errors == []


def test_a_real_bridge_is_left_untouched(driver: Any, sandbox: Sandbox, site: Any) -> None:
    driver.get(site("native.html", NATIVE_PAGE))
    assert driver.execute_script("return window.__done") is True
    assert driver.execute_script("return window.NativeJSBridge === window.__original") is True
    assert driver.execute_script("return window.NativeJSBridge.__rapidoSandbox") is None
    assert driver.execute_script("return window.__native") == [["page_view", '{"page_name":"native"}']]
    # bridge.js was fetched, and did nothing else
    time.sleep(0.5)
    assert sandbox.events(flow="pwa") == []


def test_bridge_never_throws_into_the_page(driver: Any, sandbox: Sandbox, site: Any) -> None:
    driver.get(site("bare.html", BARE_PAGE))
    result = driver.execute_script(
        """
        const circular = {}; circular.self = circular;
        try {
            const r1 = window.NativeJSBridge.logEvents('odd_props', circular);
            const props = {session_id: 's', timestamp: '2024-01-01T00:00:00Z'};
            const r2 = window.NativeJSBridge.logEvents('page_view', props);
            return ['no throw', r1 === undefined, r2 === undefined];
        } catch (e) { return ['threw', String(e)]; }
        """
    )
    assert result == ["no throw", True, True]
    events = wait_for(lambda: len(sandbox.events(flow="pwa")) >= 2 and sandbox.events(flow="pwa"))
    verdicts = {e["event_type"]: e for e in events}
    # an object instead of the JSON string is sent as is and warned about
    assert verdicts["page_view"]["verdict"] == "warning"
    assert any("JSON.stringify" in p["message"] for p in verdicts["page_view"]["problems"])
    # with the sandbox gone, calls still return quietly
    sandbox.stop()
    assert driver.execute_script("try { NativeJSBridge.logEvents('x', '{}'); return 1; } catch (e) { return 0; }") == 1


FILE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>opened from a file</title>
<script src="{sandbox}/bridge.js"></script></head><body>
<script>
window.NativeJSBridge.logEvents('page_view', JSON.stringify({{session_id: 's', timestamp: '2024-01-01T00:00:00Z'}}));
</script></body></html>
"""


@pytest.mark.parametrize("allow", [False, True])
def test_a_page_opened_from_a_file_needs_allow_file_origin(driver: Any, tmp_path: Path, allow: bool) -> None:
    cfg = SandboxConfig(host="127.0.0.1", port=0, allow_file_origin=allow)
    with Sandbox(cfg) as sb:
        page = tmp_path / "page.html"
        page.write_text(FILE_PAGE.format(sandbox=sb.url), encoding="utf-8")
        driver.get(page.as_uri())
        if allow:
            events = wait_for(lambda: sb.events(flow="pwa"))
            assert events[0]["headers"].get("origin") == "null"
            assert events[0]["verdict"] == "ok" and events[0]["status"] == 200
        else:
            # the browser's preflight is refused, so the post itself never leaves the page
            wait_for(lambda: any("could not reach" in e["message"] for e in driver.get_log("browser")))
            assert sb.events(flow="pwa") == []
