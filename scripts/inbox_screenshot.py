#!/usr/bin/env python3
"""Take ``docs/inbox.png``: the sandbox's inbox page in headless Chromium, with a few sample events.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package (the test extra).
Loopback only; the sandbox runs in this process on a free port.

    python scripts/inbox_screenshot.py [--out docs/inbox.png]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from rapido_cli.sandbox import Sandbox, SandboxConfig

HEADERS = {
    "x-client-id": "acme-travel",
    "x-client-service": "flights",
    "x-client-app-id": "acme-pwa",
    "authorization": "sk_demo_key_1234",
}
FLIGHT: dict[str, Any] = {
    "userId": "rapido_user_12345",
    "event": {"type": "order.confirmed", "id": "evt_flight_confirm_789"},
    "attributes": {
        "orderId": "FL_BOOKING_ABC123",
        "orderStatus": "CONFIRMED",
        "amount_total": 8500,
        "location_origin_lat": 28.5562,
        "location_origin_long": 77.1,
        "location_dest_lat": 12.9716,
        "location_dest_long": 77.5946,
        "start_time": 1708156800,
        "end_time": 1708163000,
        "hostStatus": "CONFIRMED",
        "tz": "Asia/Kolkata",
    },
    "schemaVersion": 1,
}


def props(**extra: Any) -> str:
    return json.dumps({"session_id": "sess_42", "timestamp": "2024-02-15T10:30:00.000Z", **extra})


def post_samples(url: str) -> None:
    with httpx.Client(base_url=url, timeout=10) as c:
        c.post(
            "/pwa/events", json={"eventType": "search_initiated", "properties": props(origin="DEL", destination="BLR")}
        )
        c.post("/pwa/events", json={"eventType": "pageView", "properties": json.dumps({"page": "results"})})
        c.post("/api/ota/event", json=FLIGHT, headers=HEADERS)
        bad = copy.deepcopy(FLIGHT)
        bad["event"]["id"] = "evt_flight_confirm_790"
        bad["attributes"]["orderId"] = "FL_BOOKING_DEF456"
        del bad["userId"]
        bad["attributes"]["location_dest_lat"] = 123.4
        bad["attributes"]["start_time"] = "2024-02-17T13:30:00+05:30"
        c.post("/api/ota/event", json=bad, headers=HEADERS)
        c.post(
            "/pwa/events",
            json={
                "eventType": "booking_completed",
                "properties": props(booking_id="FL_BOOKING_NO_SERVER", final_price=4200),
            },
        )
        c.post("/api/ota/event", json=FLIGHT, headers=HEADERS)  # a retry: the same answer


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="docs/inbox.png")
    args = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    cfg = SandboxConfig(host="127.0.0.1", port=0, missed_after_s=1.0)
    with Sandbox(cfg) as sb, tempfile.TemporaryDirectory() as profile:
        post_samples(sb.url)
        time.sleep(1.5)  # the PWA booking without a server event is now missed
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,860", "--hide-scrollbars"):
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={profile}")
        drv = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=opts)
        try:
            drv.get(sb.url + "/")
            deadline = time.monotonic() + 10
            while len(drv.find_elements(By.CSS_SELECTOR, "#events > li")) < 7 and time.monotonic() < deadline:
                time.sleep(0.1)
            # open the accepted flight event's body
            for li in drv.find_elements(By.CSS_SELECTOR, "#events > li"):
                if "evt_flight_confirm_789" in li.text and "accepted" in li.text:
                    li.find_element(By.CSS_SELECTOR, ".head").click()
                    break
            time.sleep(0.3)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            drv.save_screenshot(args.out)
        finally:
            drv.quit()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
