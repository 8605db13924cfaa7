"""A loopback receiver that counts requests per event id and can be switched down and back up.

Used by ``bench_replay_outage.py`` and the outage, journal and cron tests. ``mode``:

* ``ok``: answers the API's success (200, code 7000) and counts the event as accepted;
* ``503``: every request answered 503 (an overloaded or failing backend);
* ``429``: every request answered 429 with ``Retry-After: 0`` (throttling, not an outage);
* ``flaky``: a third of the requests, at random (seeded), answered 503, the rest accepted.

:meth:`CountingServer.close_port` stops listening (connections are refused) and :meth:`reopen`
listens again on the same port, so a journal keyed by the URL sees one target throughout.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OK = {"success": True, "code": 7000, "timestamp": "2024-01-15T10:30:00Z", "requestId": "req_counting"}
DOWN = {"success": False, "code": 5003, "error": {"message": "service unavailable", "details": {}}}


class CountingServer:
    """Threaded HTTP/1.1 receiver on 127.0.0.1 (see the module docstring)."""

    def __init__(self, mode: str = "ok", *, port: int = 0, seed: int = 1, delay: float = 0.0) -> None:
        self.mode = mode
        self.delay = delay
        self.requests = 0
        self.by_mode: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()  # event id -> times answered 200
        self.seen: Counter[str] = Counter()  # event id -> requests
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reopen()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body are two writes: without TCP_NODELAY, Nagle holds the body until the client's
            # delayed ACK (40 ms) on every request after the first on a keep-alive connection
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    eid = str(json.loads(body)["event"]["id"])
                except (ValueError, KeyError, TypeError):
                    eid = "?"
                if outer.delay:
                    import time

                    time.sleep(outer.delay)
                with outer._lock:
                    outer.requests += 1
                    outer.seen[eid] += 1
                    mode = outer.mode
                    if mode == "flaky":
                        mode = "503" if outer._rng.random() < 1 / 3 else "ok"
                    outer.by_mode[mode] += 1
                    if mode == "ok":
                        outer.accepted[eid] += 1
                if mode == "ok":
                    status, payload, extra = 200, OK, {}
                elif mode == "429":
                    status, payload, extra = 429, DOWN, {"Retry-After": "0"}
                else:
                    status, payload, extra = 503, DOWN, {}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def reopen(self) -> CountingServer:
        """Listen (again) on the port; a no-op while listening."""
        if self._httpd is not None:
            return self
        httpd = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler())
        httpd.daemon_threads = True
        self._port = httpd.server_address[1]
        self._httpd = httpd
        # a short poll interval: shutdown() waits for the loop to notice (0.5 s per close by default)
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def close_port(self) -> CountingServer:
        """Stop listening: new connections are refused until :meth:`reopen`."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        return self

    def duplicates(self) -> int:
        """Acceptances beyond the first, over all event ids."""
        return sum(n - 1 for n in self.accepted.values() if n > 1)

    def __enter__(self) -> CountingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_port()
