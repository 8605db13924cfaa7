"""A minimal, fast HTTP/1.1 keep-alive receiver for loopback benchmarks (asyncio, raw protocol).

Answers every ``POST`` with the API's success body and counts deliveries per event id.
Run: ``python bench/fast_server.py PORT_FILE`` (writes the port it bound to 127.0.0.1, then serves),
or import :func:`start_in_thread`.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
from collections import Counter

_ids = itertools.count(1)
COUNTS: Counter[bytes] = Counter()


class _Proto(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].lower()
            length = 0
            i = head.find(b"content-length:")
            if i >= 0:
                length = int(head[i + 15 : head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else None])
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            j = body.find(b'"id":"')
            if j >= 0:
                COUNTS[body[j + 6 : body.find(b'"', j + 6)]] += 1
            payload = b'{"success":true,"code":7000,"timestamp":"2024-01-01T00:00:00Z","requestId":"req_%d"}' % next(
                _ids
            )
            self.t.write(  # type: ignore[attr-defined]
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(payload), payload)
            )


async def _serve(port_cb: object) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Proto, "127.0.0.1", 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    port_cb(port)  # type: ignore[operator]
    async with server:
        await server.serve_forever()


def start_in_thread() -> int:
    """Serve on a daemon thread; return the port."""
    got: list[int] = []
    ev = threading.Event()

    def cb(p: int) -> None:
        got.append(p)
        ev.set()

    threading.Thread(target=lambda: asyncio.run(_serve(cb)), daemon=True).start()
    ev.wait(5)
    return got[0]


if __name__ == "__main__":
    def _write(p: int) -> None:
        with open(sys.argv[1], "w") as fh:
            fh.write(str(p))

    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve(_write))
