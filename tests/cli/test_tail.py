"""`rapido tail`: the SSE parser, filters and lines, a tiny SSE server, and the real sandbox end to end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapido_cli.errors import ConfigError, TemporaryError
from rapido_cli.sandbox import Sandbox, SandboxConfig
from rapido_cli.tail import Filters, SseComment, SseEvent, SseParser, StreamError, describe, follow, plain_line

# ---------------------------------------------------------------------------------------------
# the parser

STREAM = (
    b"\xef\xbb\xbf: hello\r\n"
    b"retry: 3000\r\n"
    b"id: 1\r\nevent: received\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n"
    b": keepalive\n\n"
    b"data:no space\rid: 2\r\r"
    b"id\nevent: missed\ndata\ndata:  two spaces\n\n"
    b"event: empty\n\n"
    b"id: bad\x00id\ndata: x\nunknown: y\n\n"
)
EXPECTED = [
    SseComment("hello"),
    SseEvent("received", '{"a":\n1}', "1"),
    SseComment("keepalive"),
    SseEvent("message", "no space", "2"),
    SseEvent("missed", "\n two spaces", ""),
    SseEvent("message", "x", ""),
]


def _parse(chunks: list[bytes]) -> list[Any]:
    parser = SseParser()
    out: list[Any] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    return out


def test_parser_follows_the_specification() -> None:
    parser = SseParser()
    assert parser.feed(STREAM) == EXPECTED
    assert parser.retry_ms == 3000


def test_parser_gives_the_same_events_for_any_split() -> None:
    assert _parse([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED
    for cut in range(len(STREAM)):
        assert _parse([STREAM[:cut], STREAM[cut:]]) == EXPECTED, cut


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM)), max_size=12))
def test_parser_any_chunking(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert _parse(chunks) == EXPECTED


def test_parser_a_cr_then_lf_in_separate_chunks_is_one_line_end() -> None:
    assert _parse([b"data: a\r", b"\n", b"\n"]) == [SseEvent("message", "a", None)]
    assert _parse([b"data: a\r", b"", b"\n", b"data: b\n\n"]) == [SseEvent("message", "a\nb", None)]


def test_parser_bounds_lines_and_events() -> None:
    with pytest.raises(StreamError):
        SseParser(max_line=100).feed(b"data: " + b"x" * 200)  # no line end yet, already too long
    with pytest.raises(StreamError):
        SseParser(max_event=100).feed(b"data: " + b"x" * 60 + b"\ndata: " + b"y" * 60 + b"\n")
    assert SseParser().feed(b"data: \xff\xfe\n\n") == [SseEvent("message", "\ufffd\ufffd", None)]


# ---------------------------------------------------------------------------------------------
# filters and lines

REC = {
    "seq": 7, "at": "2024-01-15T10:30:00.123Z", "flow": "server", "type": "order.confirmed",
    "event_id": "evt_1", "order_id": "FL_1", "verdict": "invalid", "status": 400, "code": 7001,
    "problems": [{"path": "attributes.tz", "message": "tz 'IST' is not in the IANA database", "severity": "error"}],
}


def test_filters() -> None:
    assert Filters.of().match(REC)
    assert Filters.of(type_="order.*").match(REC)
    assert not Filters.of(type_="payment.*").match(REC)
    assert Filters.of(type_="payment.*,order.confirmed").match(REC)
    assert Filters.of(order_id="FL_1", verdict="accepted,invalid").match(REC)
    assert not Filters.of(order_id="FL_2").match(REC)
    assert not Filters.of(verdict="accepted").match(REC)


def test_line_has_every_column_and_problems() -> None:
    line = plain_line(REC)
    for part in ("server", "order.confirmed", "evt_1", "FL_1", "400", "invalid", "attributes.tz: tz 'IST'"):
        assert part in line
    assert line[:12].count(":") == 2 and line[8] == "."  # HH:MM:SS.mmm


def test_foreign_text_is_inert() -> None:
    hostile = dict(REC, type="order.\x1b]0;pwned\x07", order_id="\x1b[2J",
                   problems=[{"path": "\u202e", "message": "\r"}])
    line = plain_line(hostile)
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line and "\r" not in line
    assert "\\x1b" in line
    missed = describe({"flow": "correlation", "order_id": "FL_9", "verdict": "missed", "message": "no order\x1b"})
    assert missed.text.split("  ")[1:4] == ["booking", "FL_9", "missed"] and "\\x1b" in missed.text


# ---------------------------------------------------------------------------------------------
# a tiny SSE server (raw sockets): split writes, CRLF, comments, then it closes


class TinySse:
    """Answers each connection with the next script (a list of byte chunks), then closes it."""

    def __init__(self, scripts: list[list[bytes]], status: bytes = b"200 OK",
                 ctype: bytes = b"text/event-stream") -> None:
        self.scripts = scripts
        self.status = status
        self.ctype = ctype
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for script in self.scripts:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096)
                self.requests.append(data)
                conn.sendall(b"HTTP/1.1 " + self.status + b"\r\nContent-Type: " + self.ctype
                             + b"\r\nConnection: close\r\n\r\n")
                for chunk in script:
                    conn.sendall(chunk)
                    time.sleep(0.01)
        self.sock.close()  # then nobody answers: connection refused

    def close(self) -> None:
        self.sock.close()


def _frame(seq: int, **fields: Any) -> bytes:
    return f"id: {seq}\r\nevent: received\r\ndata: {json.dumps({'seq': seq, **fields})}\r\n\r\n".encode()


def test_follow_resumes_once_with_last_event_id_then_reports_the_sandbox_gone() -> None:
    first = _frame(1, type="order.confirmed", flow="server", verdict="accepted")
    server = TinySse([
        [first[:5], first[5:23], first[23:], b": keepalive\r\n\r\n", b": 3 event(s) no longer kept were skipped\n\n"],
        [_frame(2, type="payment.completed", flow="server", verdict="accepted"), b"event: other\ndata: {}\n\n",
         b"data: [1, 2]\n\n"],
    ])
    records: list[dict[str, Any]] = []
    notices: list[str] = []
    with pytest.raises(TemporaryError, match=r"connection refused|went away|closed"):
        follow(server.url, last=5, on_record=records.append, on_notice=notices.append, connect_timeout=2)
    assert [r["seq"] for r in records] == [1, 2]
    assert notices[0] == "3 event(s) no longer kept were skipped"
    assert "not a JSON object" in notices[1]
    assert b"GET /_sandbox/stream?last=5 " in server.requests[0]
    assert b"last-event-id: 1" in server.requests[1].lower() and b"last=" not in server.requests[1]


@pytest.mark.parametrize(
    ("status", "ctype", "error", "needle"),
    [
        (b"404 Not Found", b"application/json", ConfigError, "no event stream here"),
        (b"200 OK", b"text/html", ConfigError, "not an event stream"),
        (b"429 Too Many Requests", b"application/json", TemporaryError, "HTTP 429"),
    ],
)
def test_follow_refuses_what_is_not_a_sandbox_stream(status: bytes, ctype: bytes, error: type, needle: str) -> None:
    server = TinySse([[b'{"success": false, "error": {"message": "nope"}}']], status=status, ctype=ctype)
    with pytest.raises(error, match=needle):
        follow(server.url, on_record=lambda r: None, connect_timeout=2)


def test_cli_filters_and_json_lines(invoke) -> None:
    events = [_frame(1, type="order.confirmed", order_id="A", verdict="accepted", flow="server"),
              _frame(2, type="payment.completed", order_id="A", verdict="accepted", flow="server"),
              _frame(3, type="order.cancelled", order_id="B", verdict="invalid", flow="server")]
    server = TinySse([events])
    res = invoke("tail", "--url", server.url, "--type", "order.*", "--json")
    assert res.code == 75 and "sandbox" in res.stderr  # the server closed: gone
    *records, last = (json.loads(line) for line in res.stdout.splitlines())
    assert [r["seq"] for r in records] == [1, 3]
    assert last["ok"] is False and last["error"]["exit_code"] == 75  # --json: the failure as JSON too
    server = TinySse([events])
    res = invoke("tail", "--url", server.url, "--order-id", "A", "--verdict", "accepted")
    assert [line.split()[2] for line in res.stdout.splitlines()] == ["order.confirmed", "payment.completed"]


def test_cli_refuses_remote_urls_and_reports_no_sandbox(invoke) -> None:
    res = invoke("tail", "--url", "http://192.0.2.1:8787")
    assert res.code == 2 and "loopback" in res.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    res = invoke("tail", "--url", f"http://127.0.0.1:{port}")
    assert res.code == 75 and "no sandbox answers" in res.stderr and "Traceback" not in res.output
    assert invoke("tail", "--sandbox").code == 2


# ---------------------------------------------------------------------------------------------
# end to end: the real sandbox, the real process


@pytest.fixture
def sandbox_config() -> dict[str, Any]:
    """The conftest ``sandbox`` without credentials: these requests carry placeholder headers."""
    return {}


def _post(sb: Sandbox, order_id: str) -> None:
    event = {
        "userId": "u1", "event": {"type": "payment.completed", "id": f"evt_{order_id}"},
        "attributes": {"orderId": order_id, "amount_total": 100}, "schemaVersion": 1,
    }
    headers = {"x-client-id": "c", "x-client-service": "flights", "x-client-app-id": "a", "authorization": "k"}
    assert httpx.post(f"{sb.url}/api/ota/event", json=event, headers=headers, timeout=5).status_code == 200


def _start_tail(sb: Sandbox, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "rapido_cli", "tail", "--url", sb.url, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _readline(proc: subprocess.Popen[str], timeout: float = 10) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    assert box, "no line from rapido tail in time"
    return box[0]


def _wait_for_client(sb: Sandbox, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while sb.streams.clients < 1:
        assert time.monotonic() < deadline, "rapido tail never connected"
        time.sleep(0.02)


def test_tail_shows_history_then_a_live_event_and_stops_quietly_on_ctrl_c(sandbox: Sandbox) -> None:
    _post(sandbox, "BEFORE")
    proc = _start_tail(sandbox, "--json")
    try:
        assert json.loads(_readline(proc))["order_id"] == "BEFORE"  # the history comes first
        _wait_for_client(sandbox)
        _post(sandbox, "AFTER")
        live = json.loads(_readline(proc))  # through a pipe: each line is flushed as written
        assert live["order_id"] == "AFTER" and live["verdict"] == "accepted" and live["flow"] == "server"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err and "interrupted" not in err
    assert out == ""


@pytest.mark.slow  # a real process and a sandbox shutdown; the in-process test above covers the exit code
def test_tail_exits_75_when_the_sandbox_goes_away() -> None:
    sb = Sandbox(SandboxConfig(host="127.0.0.1", port=0)).start()
    proc = _start_tail(sb, "--last", "0")
    try:
        _wait_for_client(sb)
        _post(sb, "LIVE")
        assert "LIVE" in _readline(proc)
        sb.stop()
        _, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
        sb.stop()
    assert proc.returncode == 75
    assert "error:" in err and "Traceback" not in err
