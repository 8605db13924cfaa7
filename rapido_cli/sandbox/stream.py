"""``GET /_sandbox/stream``: what the sandbox receives, as server-sent events (``rapido tail``, the inbox page).

The contract (``docs/sandbox.md``): ``text/event-stream``; first the last ``N`` events already
received (``?last=N``, default 10, at most 1000; oldest first), then each new one as it is
recorded, each as::

    id: <seq>
    event: received            (``missed`` for a PWA booking the server never reported)
    data: <one-line JSON: the same object as an item of GET /_sandbox/events>

and a ``: keepalive`` comment every 15 s. A ``Last-Event-ID`` header resumes after that ``seq``.

Intake never waits for a stream client: the ledger's recent window is the only buffer, each client
keeps its own cursor in it and is woken by a condition. A client that falls so far behind that
events left the window is told so in a comment and carries on with the oldest still kept.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs

from rapido_cli.sandbox.config import SandboxEvent
from rapido_cli.sandbox.http import Handler
from rapido_cli.sandbox.responses import reason_phrase
from rapido_cli.sandbox.state import Ledger

STREAM_PATH = "/_sandbox/stream"
DEFAULT_LAST = 10
MAX_LAST = 1000
#: Events written per send when a client catches up.
_BATCH = 500


class StreamArgumentError(ValueError):
    """A bad ``last`` or ``Last-Event-ID``: the message names it."""


def frame(ev: SandboxEvent) -> bytes:
    """One server-sent event for ``ev``."""
    name = b"missed" if ev.flow == "correlation" else b"received"
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (ev.seq, name, ev.json_line())


class StreamHub:
    """Serves stream clients, at most ``max_clients`` at once."""

    def __init__(self, ledger: Ledger, *, max_clients: int = 32, keepalive_s: float = 15.0) -> None:
        self.ledger = ledger
        self.max_clients = max_clients
        self.keepalive_s = keepalive_s
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._clients = 0

    @property
    def clients(self) -> int:
        """Stream clients connected now."""
        with self._lock:
            return self._clients

    def start_cursor(self, query: str, last_event_id: str | None) -> int:
        """Where a new client starts: after ``Last-Event-ID``, else before the last ``N`` events."""
        if last_event_id is not None and last_event_id.strip():
            try:
                resume = int(last_event_id.strip())
            except ValueError:
                raise StreamArgumentError("Last-Event-ID must be the seq of an event (an integer)") from None
            if resume < 0:
                raise StreamArgumentError("Last-Event-ID must be 0 or more")
            newest = self.ledger.last_seq
            # An id from before a restart (beyond what this sandbox numbered): start over, bounded.
            return resume if resume <= newest else self.ledger.cursor_for_last(MAX_LAST)
        raw = parse_qs(query).get("last", [str(DEFAULT_LAST)])[0]
        try:
            n = int(raw)
        except ValueError:
            raise StreamArgumentError(f"last must be a whole number from 0 to {MAX_LAST}") from None
        if not 0 <= n <= MAX_LAST:
            raise StreamArgumentError(f"last must be a whole number from 0 to {MAX_LAST}")
        return self.ledger.cursor_for_last(n)

    def acquire(self) -> bool:
        """Take a client slot; False when ``max_clients`` are connected."""
        with self._lock:
            if self._clients >= self.max_clients or self.stopping.is_set():
                return False
            self._clients += 1
            return True

    def release(self) -> None:
        """Give a client slot back."""
        with self._lock:
            self._clients -= 1

    def stop(self) -> None:
        """End every stream (they notice within one wake-up)."""
        self.stopping.set()
        self.ledger.wake()

    def serve(self, h: Handler, cursor: int) -> None:
        """Write the stream to ``h`` until the client leaves or the sandbox stops (slot already taken)."""
        h.close_connection = True  # the body ends when the connection does
        lines = [
            f"HTTP/1.1 200 {reason_phrase(200)}",
            f"Server: {h.server_version}",
            f"Date: {h.date_time_string()}",
            "Content-Type: text/event-stream; charset=utf-8",
            "Cache-Control: no-store",
            "X-Accel-Buffering: no",
            "X-Content-Type-Options: nosniff",
            *(f"{k}: {v}" for k, v in h.answer_headers),
            "Connection: close",
        ]
        try:
            h.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            last_write = time.monotonic()
            while not self.stopping.is_set():
                events, newest = self.ledger.after(cursor, _BATCH)
                if events:
                    out = []
                    if events[0].seq > cursor + 1 and cursor > 0:
                        out.append(b": %d event(s) no longer kept were skipped\n\n" % (events[0].seq - cursor - 1))
                    out += [frame(ev) for ev in events]
                    h.wfile.write(b"".join(out))
                    cursor = events[-1].seq
                    last_write = time.monotonic()
                    continue
                # Nothing newer is kept (after a reset, say): follow the newest.
                cursor = max(cursor, newest)
                wait = last_write + self.keepalive_s - time.monotonic()
                if wait <= 0:
                    h.wfile.write(b": keepalive\n\n")
                    last_write = time.monotonic()
                    continue
                self.ledger.wait_after(cursor, wait, self.stopping)
        except OSError:
            pass  # the client went away (or a write timed out): its thread just ends
