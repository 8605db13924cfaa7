"""The inbox page (``GET /``) in a real headless Chromium: live rows, problems, filter, body, missed bookings.

Skipped with the reason when Debian's chromium/chromium-driver or selenium is missing (see
test_pwa_browser.py, whose driver fixture this reuses). Never downloads a browser.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import booking
from test_pwa_browser import driver  # noqa: F401  (the module-scoped Chromium fixture)

from rapido_cli.sandbox import Sandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HEADERS = {"x-client-id": "acme", "x-client-service": "flights", "x-client-app-id": "pwa", "authorization": "k"}
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def props(**extra: Any) -> str:
    return json.dumps({"session_id": "s1", "timestamp": "2024-02-15T10:30:00.000Z", **extra})


@pytest.fixture
def sandbox_config() -> dict[str, Any]:
    """The conftest ``sandbox`` without credentials: these requests carry placeholder headers; a missed
    booking shows after 1 s."""
    return {"missed_after_s": 1.0}


def wait_for(pred: Callable[[], Any], timeout: float = 10.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def rows(drv: Any) -> list[dict[str, Any]]:
    """The visible rows, newest first, as the page shows them."""
    return list(
        drv.execute_script(
            """
            return Array.from(document.querySelectorAll('#events > li')).map(li => ({
                seq: Number(li.dataset.seq), hidden: li.hidden, verdict: li.dataset.verdict,
                cls: li.className, text: li.innerText,
                problems: Array.from(li.querySelectorAll('.problem')).map(p => p.innerText),
                type: li.querySelector('.type').textContent,
            }));
            """
        )
    )


def test_inbox_shows_events_live_with_problems_filter_body_and_missed(
    driver: Any,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    with httpx.Client(base_url=sandbox.url, headers=HEADERS, timeout=10) as c:
        assert c.post("/api/ota/event", json=booking("FL_GOOD")).status_code == 200
        bad = booking("FL_BAD")
        del bad["userId"]
        assert c.post("/api/ota/event", json=bad).status_code == 400

        driver.get(sandbox.url + "/")
        assert driver.title.startswith("rapido sandbox")
        got = wait_for(lambda: len(rows(driver)) >= 2 and rows(driver))
        good = next(r for r in got if "FL_GOOD" in r["text"])
        rejected = next(r for r in got if "FL_BAD" in r["text"])
        assert good["verdict"] == "accepted" and "good" in good["cls"]
        assert rejected["verdict"] == "invalid" and "bad" in rejected["cls"]
        assert any("userId" in p and "missing userId" in p for p in rejected["problems"]), rejected["problems"]
        assert got[0]["seq"] > got[1]["seq"]  # newest first
        assert driver.execute_script("return document.getElementById('state').textContent") == "live"

        # a new event appears without a reload
        driver.execute_script("window.__marker = 42;")
        c.post("/pwa/events", json={"eventType": "page_view", "properties": props(page_name="Home")})
        newest = wait_for(lambda: (r := rows(driver)) and r[0]["type"] == "page_view" and r[0])
        assert newest["verdict"] == "ok"
        assert driver.execute_script("return window.__marker") == 42

        # foreign text is text: markup in an event type is shown, never run
        c.post("/pwa/events", json={"eventType": XSS, "properties": props()})
        wait_for(lambda: rows(driver)[0]["type"] == XSS)
        assert driver.execute_script("return window.__xss === undefined && !document.querySelector('#events img')")

        # the filter box
        box = driver.find_element("id", "filter")
        box.send_keys("invalid")
        shown = wait_for(
            lambda: (
                [r for r in rows(driver) if not r["hidden"]]
                if sum(not r["hidden"] for r in rows(driver)) == 1
                else None
            )
        )
        assert "FL_BAD" in shown[0]["text"]
        box.clear()
        box.send_keys("fl_good accepted")
        wait_for(
            lambda: (
                [r["text"] for r in rows(driver) if not r["hidden"]]
                and all("FL_GOOD" in r["text"] for r in rows(driver) if not r["hidden"])
            )
        )
        box.clear()
        driver.execute_script("document.getElementById('filter').dispatchEvent(new Event('input'))")

        # the full body on click
        head = next(
            li for li in driver.find_elements("css selector", "#events > li") if "FL_GOOD" in li.text
        ).find_element("css selector", ".head")
        head.click()
        body_text = wait_for(
            lambda: driver.execute_script(
                "const li = Array.from(document.querySelectorAll('#events > li'))"
                ".find(l => l.innerText.includes('FL_GOOD'));"
                "const pre = li.querySelector('pre.body'); return pre.hidden ? '' : pre.textContent;"
            )
        )
        assert json.loads(body_text)["attributes"]["orderId"] == "FL_GOOD"
        assert "authorization" not in body_text

        # a PWA booking with no server order.* event in time is highlighted
        c.post(
            "/pwa/events",
            json={"eventType": "booking_completed", "properties": props(booking_id="FL_LOST", final_price=4200)},
        )
        wait_for(
            lambda: any(
                "missed-booking" in r["cls"] and r["type"] == "booking_completed" and "PWA" in r["text"].upper()
                for r in rows(driver)
            ),
            timeout=8,
        )
        panel = driver.find_element("id", "missed")
        assert panel.is_displayed() and "FL_LOST" in panel.text

    driver.save_screenshot(str(tmp_path / "inbox.png"))
    assert (tmp_path / "inbox.png").stat().st_size > 10_000
    # the strict policy let the page's own script and style run, and nothing complained
    problems = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert problems == [], problems


FORM = """<!doctype html><html><body>
<form method=post action="{url}/_sandbox/reset" enctype="{enctype}"><input name=x value=1></form>
<script>document.forms[0].submit()</script></body></html>"""


@pytest.mark.parametrize("enctype", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_simple_cross_origin_post_cannot_wipe_the_inbox(
    driver: Any,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
    enctype: str,
) -> None:
    """A page on another (loopback) origin submits a form: the browser sends it without asking first."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    with httpx.Client(base_url=sandbox.url, headers=HEADERS) as c:
        c.post("/api/ota/event", json=booking("FL_KEEP"))
    (tmp_path / "attack.html").write_text(FORM.format(url=sandbox.url, enctype=enctype))

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        driver.get(f"http://127.0.0.1:{site.server_address[1]}/attack.html")
        # the form's answer is now the page: the sandbox's refusal
        wait_for(lambda: "/_sandbox/reset" in driver.current_url and "x-rapido-sandbox" in driver.page_source)
    finally:
        site.shutdown()
        site.server_close()
    assert sandbox.stats()["total"] == 1
