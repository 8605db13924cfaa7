"""Request bodies as real clients send them: chunked (Node, Java), gzip and deflate, bombs and garbage."""

from __future__ import annotations

import gzip
import json
import socket
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest
from conftest import booking

from rapido_cli.models import MAX_EVENT_BYTES
from rapido_cli.sandbox import Sandbox, SandboxConfig

HEADERS = {"x-client-id": "acme", "x-client-service": "flights", "x-client-app-id": "pwa", "authorization": "k"}


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Sandbox]:
    """One sandbox (no credentials) for the whole module: these tests only add events, and a start and
    stop per test would cost 0.1 s each (the conftest ``sandbox`` is per test)."""
    with Sandbox(SandboxConfig(host="127.0.0.1", port=0)) as sb:
        yield sb


def body_of(order: str) -> bytes:
    return json.dumps(booking(order)).encode()


def raw(port: int, head: str, body: bytes = b"", *, close: bool = True) -> bytes:
    """Send one request as bytes; the whole reply (the server closes, or we stop after one answer)."""
    hdrs = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
    extra = "Connection: close\r\n" if close else ""
    data = (
        f"POST /api/ota/event HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{hdrs}{extra}{head}\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # a body cut short ends here, as when a client dies
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def status_and_json(reply: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def chunked(data: bytes, size: int = 100, ext: str = "", trailer: str = "") -> bytes:
    parts = [
        b"%x%s\r\n%s\r\n" % (len(data[i : i + size]), ext.encode(), data[i : i + size])
        for i in range(0, len(data), size)
    ]
    return b"".join(parts) + b"0\r\n" + trailer.encode() + b"\r\n"


# -- Transfer-Encoding: chunked ------------------------------------------------------------------


def test_chunked_body_is_accepted(shared_sandbox: Sandbox) -> None:
    reply = raw(shared_sandbox.port, "Transfer-Encoding: chunked\r\n", chunked(body_of("FL_CH1")))
    status, body = status_and_json(reply)
    assert status == 200 and body["code"] == 7000
    assert shared_sandbox.events()[-1]["order_id"] == "FL_CH1"


def test_chunked_with_extensions_and_trailers(shared_sandbox: Sandbox) -> None:
    data = chunked(body_of("FL_CH2"), size=7, ext=";name=value", trailer="X-Checksum: abc\r\n")
    status, _ = status_and_json(raw(shared_sandbox.port, "Transfer-Encoding: chunked\r\n", data))
    assert status == 200


def test_httpx_streaming_upload_is_chunked_and_accepted(shared_sandbox: Sandbox) -> None:
    def gen() -> Iterator[bytes]:
        data = body_of("FL_CH3")
        yield data[:50]
        yield data[50:]

    r = httpx.post(
        shared_sandbox.url + "/api/ota/event", content=gen(), headers={**HEADERS, "content-type": "application/json"}
    )
    assert r.status_code == 200, r.text


def test_keep_alive_goes_on_after_a_chunked_request(shared_sandbox: Sandbox) -> None:
    hdrs = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
    first = (
        f"POST /api/ota/event HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{hdrs}"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode() + chunked(body_of("FL_KA1"))
    second = b"GET /_sandbox/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", shared_sandbox.port), timeout=10) as s:
        s.sendall(first + second)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert reply.count(b"HTTP/1.1 200 OK") == 2


def test_chunked_over_the_limit_is_413(shared_sandbox: Sandbox) -> None:
    ev = booking("FL_BIG")
    ev["attributes"]["note"] = "x" * (MAX_EVENT_BYTES + 100)
    status, body = status_and_json(
        raw(shared_sandbox.port, "Transfer-Encoding: chunked\r\n", chunked(json.dumps(ev).encode(), 4096))
    )
    assert status == 413 and body["code"] == 7001


@pytest.mark.parametrize(
    "data",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # not hex
        b"10\r\n{}\r\n0\r\n\r\n",  # cut short
        b"2\r\n{}XX0\r\n\r\n",  # no CRLF after the data
        b"-2\r\n{}\r\n0\r\n\r\n",  # negative
    ],
)
def test_malformed_chunked_is_400(shared_sandbox: Sandbox, data: bytes) -> None:
    status, body = status_and_json(raw(shared_sandbox.port, "Transfer-Encoding: chunked\r\n", data))
    assert status == 400 and "chunked" in str(body["error"])


def test_other_transfer_codings_are_501(shared_sandbox: Sandbox) -> None:
    status, body = status_and_json(raw(shared_sandbox.port, "Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"))
    assert status == 501 and body["code"] == 7001


def test_content_length_and_chunked_together_use_chunked_and_close(shared_sandbox: Sandbox) -> None:
    reply = raw(
        shared_sandbox.port,
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        chunked(body_of("FL_BOTH")),
        close=False,
    )
    assert reply.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in reply


# -- Content-Encoding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw deflate, as some clients send it
        ("identity", lambda d: d),
    ],
)
def test_compressed_bodies_are_decoded(shared_sandbox: Sandbox, coding: str, encode: object) -> None:
    order = f"FL_{coding}_{len(shared_sandbox.events())}"
    data = encode(body_of(order))  # type: ignore[operator]
    r = httpx.post(
        shared_sandbox.url + "/api/ota/event",
        content=data,
        headers={**HEADERS, "content-type": "application/json", "content-encoding": coding},
    )
    assert r.status_code == 200, r.text
    assert shared_sandbox.events()[-1]["body"]["attributes"]["orderId"] == order


def test_chunked_and_gzip_together(shared_sandbox: Sandbox) -> None:
    data = chunked(gzip.compress(body_of("FL_GZCH")), size=64)
    head = "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"
    status, _ = status_and_json(raw(shared_sandbox.port, head, data))
    assert status == 200


def test_a_gzip_bomb_is_refused_at_the_decoded_limit(shared_sandbox: Sandbox) -> None:
    bomb = gzip.compress(b"{" + b" " * (50 * 1024 * 1024) + b"}", compresslevel=9)  # 50 MiB in ~50 KiB
    assert len(bomb) < 64 * 1024
    t0 = time.monotonic()
    for framing in ("chunked", "length"):
        head = "Content-Encoding: gzip\r\n"
        if framing == "chunked":
            reply = raw(shared_sandbox.port, head + "Transfer-Encoding: chunked\r\n", chunked(bomb[:30_000], 8192))
        else:
            reply = raw(shared_sandbox.port, head + f"Content-Length: {len(bomb[:30_000])}\r\n", bomb[:30_000])
        status, body = status_and_json(reply)
        assert status == 413 and "decoded" in str(body["error"]), body
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"this is not gzip at all", "not valid gzip"),
        (gzip.compress(b'{"a": 1}')[:-6], "cut short"),
        (gzip.compress(b'{"a": 1}') + b"junk", "after the end"),
        (b"", "empty"),
    ],
)
def test_bad_gzip_is_a_clear_400(shared_sandbox: Sandbox, data: bytes, words: str) -> None:
    r = httpx.post(
        shared_sandbox.url + "/api/ota/event",
        content=data,
        headers={**HEADERS, "content-type": "application/json", "content-encoding": "gzip"},
    )
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert words in message and "surrogate" not in message and "UTF-8" not in message


def test_gzip_without_its_header_is_named(shared_sandbox: Sandbox) -> None:
    r = httpx.post(
        shared_sandbox.url + "/api/ota/event",
        content=gzip.compress(body_of("FL_NOHDR")),
        headers={**HEADERS, "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert "Content-Encoding: gzip" in r.json()["error"]["details"]["body"]


def test_unknown_content_encoding_is_415(shared_sandbox: Sandbox) -> None:
    r = httpx.post(
        shared_sandbox.url + "/api/ota/event",
        content=b"{}",
        headers={**HEADERS, "content-type": "application/json", "content-encoding": "br"},
    )
    assert r.status_code == 415 and "content-encoding" in r.json()["error"]["details"]


def test_pwa_bodies_may_be_chunked_and_gzipped(shared_sandbox: Sandbox) -> None:
    props = json.dumps({"session_id": "s", "timestamp": "2024-01-01T00:00:00Z"})
    data = gzip.compress(json.dumps({"eventType": "page_view", "properties": props}).encode())
    r = httpx.post(
        shared_sandbox.url + "/pwa/events",
        content=iter([data[:10], data[10:]]),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert r.status_code == 200 and r.json()["verdict"] == "ok"
