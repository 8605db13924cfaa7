"""``GET /_sandbox/stream``: the server-sent events ``rapido tail`` and the inbox page follow."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest
from conftest import booking

from rapido_cli.sandbox import Sandbox, SandboxConfig

HEADERS = {"x-client-id": "acme", "x-client-service": "flights", "x-client-app-id": "pwa", "authorization": "k"}
REQUIRED = {"seq", "at", "flow", "type", "event_id", "order_id", "verdict", "status", "code", "problems", "body"}


class SSE:
    """A raw-socket SSE reader: the exact bytes, so the wire format itself is tested."""

    def __init__(self, port: int, path: str = "/_sandbox/stream", headers: dict[str, str] | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        self.status_line, *lines = head.decode("latin-1").split("\r\n")
        self.headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines)}

    def _until(self, sep: bytes, timeout: float = 5.0) -> bytes:
        end = time.monotonic() + timeout
        while sep not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {sep!r} within {timeout}s; have {self.buf[-200:]!r}")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf[-200:])
            self.buf += chunk
        block, self.buf = self.buf.split(sep, 1)
        return block

    def frame(self, timeout: float = 5.0) -> str:
        """The next block (event or comment), without its blank line."""
        return self._until(b"\n\n", timeout).decode("utf-8")

    def event(self, timeout: float = 5.0) -> tuple[int, str, dict[str, Any]]:
        """The next event (comments skipped): ``(id, event name, data)``."""
        while True:
            block = self.frame(timeout)
            if block.startswith(":"):
                continue
            fields = dict(line.split(": ", 1) for line in block.split("\n"))
            assert set(fields) == {"id", "event", "data"}, block
            return int(fields["id"]), fields["event"], json.loads(fields["data"])

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def sandbox_config() -> dict[str, Any]:
    """The conftest ``sandbox`` without credentials: these requests carry placeholder headers; short keep-alive and
    missed-booking delays, at most three stream clients."""
    return {"stream_keepalive_s": 0.3, "missed_after_s": 0.3, "max_stream_clients": 3}


_CLIENTS: dict[str, httpx.Client] = {}


def post(sb: Sandbox, order: str) -> httpx.Response:
    """A server event for ``order`` (one keep-alive client per sandbox: a new client costs 0.1 s)."""
    c = _CLIENTS.get(sb.url)
    if c is None:
        c = _CLIENTS[sb.url] = httpx.Client(base_url=sb.url, headers=HEADERS, timeout=10)
    return c.post("/api/ota/event", json=booking(order))


def test_last_events_then_live_ones_in_the_documented_format(sandbox: Sandbox) -> None:
    for n in range(4):
        assert post(sandbox, f"FL_{n}").status_code == 200
    bad = booking("FL_BAD")
    del bad["userId"]
    assert httpx.post(sandbox.url + "/api/ota/event", json=bad, headers=HEADERS).status_code == 400

    s = SSE(sandbox.port, "/_sandbox/stream?last=3")
    try:
        assert s.status_line == "HTTP/1.1 200 OK"
        assert s.headers["content-type"].startswith("text/event-stream")
        assert s.headers["cache-control"] == "no-store"
        got = [s.event() for _ in range(3)]
        assert [g[0] for g in got] == [3, 4, 5]  # the last three, oldest first
        assert [g[2]["order_id"] for g in got] == ["FL_2", "FL_3", "FL_BAD"]
        ident, name, data = got[-1]
        assert name == "received" and ident == data["seq"]
        assert set(data) >= REQUIRED
        assert data["flow"] == "server" and data["type"] == "order.confirmed"
        assert data["verdict"] == "invalid" and data["status"] == 400 and data["code"] == 7001
        assert {"path": "userId"}.items() <= data["problems"][0].items() and data["problems"][0]["message"]
        assert data["body"]["attributes"]["orderId"] == "FL_BAD"
        assert "authorization" not in json.dumps(data["body"])
        assert data["at"].endswith("Z")
        ok = got[0][2]
        assert ok["verdict"] == "accepted" and ok["code"] == 7000 and ok["event_id"] == "evt_FL_2"

        # a new event arrives on the open stream, at once
        t0 = time.monotonic()
        httpx.post(
            sandbox.url + "/pwa/events",
            json={
                "eventType": "page_view",
                "properties": json.dumps({"session_id": "s", "timestamp": "2024-01-01T00:00:00Z"}),
            },
        )
        ident, name, data = s.event()
        assert time.monotonic() - t0 < 2
        assert (ident, name, data["flow"], data["type"], data["verdict"]) == (6, "received", "pwa", "page_view", "ok")
        # the same object as /_sandbox/events
        listed = httpx.get(sandbox.url + "/_sandbox/events?since=5").json()["events"]
        assert listed == [data]
    finally:
        s.close()


def test_refusals_carry_their_reasons_as_problems(sandbox: Sandbox) -> None:
    s = SSE(sandbox.port, "/_sandbox/stream?last=0")
    try:
        headers = {k: v for k, v in HEADERS.items() if k != "authorization"}
        httpx.post(sandbox.url + "/api/ota/event", json=booking("FL_NOKEY"), headers=headers)
        _, _, data = s.event()
        assert (data["status"], data["code"], data["verdict"]) == (401, 7002, "unauthorized")
        assert [p["path"] for p in data["problems"]] == ["authorization"]
        assert data["problems"][0]["message"]
    finally:
        s.close()


def test_default_is_ten_and_zero_means_only_new(sandbox: Sandbox) -> None:
    for n in range(12):
        post(sandbox, f"FL_{n}")
    s = SSE(sandbox.port)
    try:
        assert [s.event()[0] for _ in range(10)] == list(range(3, 13))
    finally:
        s.close()
    s = SSE(sandbox.port, "/_sandbox/stream?last=0")
    try:
        post(sandbox, "FL_NEW")
        assert s.event()[2]["order_id"] == "FL_NEW"
    finally:
        s.close()


def test_keepalive_comment_when_idle(sandbox: Sandbox) -> None:
    s = SSE(sandbox.port, "/_sandbox/stream?last=0")
    try:
        assert s.frame(timeout=3) == ": keepalive"
    finally:
        s.close()


def test_last_event_id_resumes(sandbox: Sandbox) -> None:
    for n in range(5):
        post(sandbox, f"FL_{n}")
    s = SSE(sandbox.port, "/_sandbox/stream?last=1", headers={"Last-Event-ID": "2"})
    try:
        assert [s.event()[0] for _ in range(3)] == [3, 4, 5]
    finally:
        s.close()
    # an id from an earlier run (beyond this sandbox's numbering) replays what is kept
    s = SSE(sandbox.port, headers={"Last-Event-ID": "999"})
    try:
        assert s.event()[0] == 1
    finally:
        s.close()


@pytest.mark.parametrize("query", ["last=-1", "last=1001", "last=ten"])
def test_bad_last_is_400(sandbox: Sandbox, query: str) -> None:
    r = httpx.get(f"{sandbox.url}/_sandbox/stream?{query}")
    assert r.status_code == 400
    assert r.json()["code"] == 7001 and "last" in r.json()["error"]["message"]
    r = httpx.get(f"{sandbox.url}/_sandbox/stream", headers={"Last-Event-ID": "x"})
    assert r.status_code == 400


def test_loopback_guards(sandbox: Sandbox) -> None:
    r = httpx.get(sandbox.url + "/_sandbox/stream", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    s = SSE(sandbox.port, headers={"Host": "evil.example"})
    try:
        assert s.status_line.startswith("HTTP/1.1 403")
    finally:
        s.close()
    s = SSE(sandbox.port, headers={"Origin": "http://localhost:5173"})
    try:
        assert s.status_line.startswith("HTTP/1.1 200")
        assert s.headers["access-control-allow-origin"] == "http://localhost:5173"
    finally:
        s.close()


def test_clients_are_bounded_and_slots_come_back(sandbox: Sandbox) -> None:
    clients = [SSE(sandbox.port) for _ in range(3)]
    try:
        r = httpx.get(sandbox.url + "/_sandbox/stream")
        assert r.status_code == 429 and r.headers["retry-after"] and r.json()["code"] == 7003
    finally:
        for c in clients:
            c.close()
    deadline = time.monotonic() + 5
    while sandbox.streams.clients and time.monotonic() < deadline:
        post(sandbox, "FL_WAKE")  # a write to a closed socket ends its thread
        time.sleep(0.05)
    assert sandbox.streams.clients == 0
    s = SSE(sandbox.port)
    assert s.status_line.startswith("HTTP/1.1 200")
    s.close()


def test_a_client_that_never_reads_does_not_slow_intake(sandbox: Sandbox) -> None:
    stuck = socket.create_connection(("127.0.0.1", sandbox.port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(b"GET /_sandbox/stream?last=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    big = "x" * 20_000
    try:
        t0 = time.monotonic()
        with httpx.Client(base_url=sandbox.url, headers=HEADERS) as c:
            for n in range(150):
                body = booking(f"FL_{n}")
                body["attributes"]["note"] = big
                assert c.post("/api/ota/event", json=body).status_code == 200
        assert time.monotonic() - t0 < 15
        assert sandbox.stats()["total"] == 150
    finally:
        stuck.close()


def test_missed_booking_is_its_own_event_name(sandbox: Sandbox) -> None:
    s = SSE(sandbox.port, "/_sandbox/stream?last=0")
    try:
        props = json.dumps({"session_id": "s", "timestamp": "2024-01-01T00:00:00Z", "booking_id": "FL_LOST"})
        httpx.post(sandbox.url + "/pwa/events", json={"eventType": "booking_completed", "properties": props})
        assert s.event()[1] == "received"
        _, name, data = s.event(timeout=5)
        assert name == "missed"
        assert (data["flow"], data["verdict"], data["order_id"]) == ("correlation", "missed", "FL_LOST")
    finally:
        s.close()


def test_stop_ends_open_streams_quickly() -> None:
    sb = Sandbox(SandboxConfig(host="127.0.0.1", port=0)).start()
    s = SSE(sb.port)
    # and one that stopped reading, its socket buffers full: its writer is blocked in send()
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    stuck.connect(("127.0.0.1", sb.port))
    stuck.sendall(b"GET /_sandbox/stream?last=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    with httpx.Client(base_url=sb.url, headers=HEADERS) as c:
        for n in range(150):
            body = booking(f"FL_{n}")
            body["attributes"]["note"] = "x" * 20_000
            c.post("/api/ota/event", json=body)
    t0 = time.monotonic()
    done = threading.Event()
    threading.Thread(target=lambda: (sb.stop(), done.set()), daemon=True).start()
    assert done.wait(5)
    assert time.monotonic() - t0 < 3
    with pytest.raises((EOFError, OSError)):
        while True:  # what was already sent, then the end
            s.frame(timeout=2)
    s.close()
    stuck.close()
