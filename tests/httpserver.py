"""A small real HTTP server on loopback for tests: answers from a script, records every request.

In the manner of httpie's tests/utils/http_server.py: a threaded stdlib server bound to port 0.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer. ``drop`` closes the connection without answering."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0


def ok_body(request_id: str = "req_test") -> dict[str, Any]:
    return {"success": True, "code": 7000, "timestamp": "2024-01-15T10:30:00Z", "requestId": request_id}


def error_body(code: int, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "success": False,
        "code": code,
        "error": {"message": message, "details": details or {}},
        "timestamp": "2024-01-15T10:30:00Z",
        "requestId": "req_err",
    }


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    wall: float = 0.0

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    """Serves ``script`` in order (the last reply repeats); ``requests`` holds what arrived."""

    def __init__(self, script: list[Reply] | None = None) -> None:
        self.script = list(script or [Reply(200, ok_body())])
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body are two writes: without TCP_NODELAY, Nagle holds the body until the client's
            # delayed ACK (40 ms) on every request after the first on a keep-alive connection
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with outer._lock:
                    outer.requests.append(
                        Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                 time.monotonic(), time.time())
                    )
                    n = len(outer.requests) - 1
                    reply = outer.script[min(n, len(outer.script) - 1)]
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                payload = b"" if reply.body is None else (
                    reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                )
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_POST = _handle
            do_GET = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # A short poll interval: shutdown() waits for the loop to notice, 0.5 s per server by default.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
