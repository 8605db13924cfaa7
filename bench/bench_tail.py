#!/usr/bin/env python3
"""How fast and how promptly `rapido tail` follows a sandbox, and the SSE parser's throughput.

1. Parser: a synthetic stream of N sandbox-sized events (~1 KiB of JSON each) fed in 64 KiB
   chunks to ``SseParser`` and decoded with ``json.loads``: events/s and MB/s.
2. End to end: a sandbox in-process on loopback, ``rapido_cli.tail.follow`` in a thread, and M
   events posted one at a time; latency from "POST sent" to "record handed to the callback"
   (p50/p99), then a burst of M events as fast as one keep-alive connection can send them,
   timed until the last one is received.

    python bench/bench_tail.py                 # N=100000 parsed, M=500 posted
    python bench/bench_tail.py --parse 20000 --post 200
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import threading
import time
from typing import Any

import _events  # bench/_events.py: the events every benchmark sends
import httpx

from rapido_cli.sandbox import Sandbox, SandboxConfig
from rapido_cli.tail import SseEvent, SseParser, follow

HEADERS = {
    "Content-Type": "application/json",
    "x-client-id": "bench-client",
    "x-client-service": "flights",
    "x-client-app-id": "bench-app",
    "authorization": "bench-key",
}


def bench_parser(n: int) -> None:
    record = {"seq": 0, "at": "2024-01-15T10:30:00.123Z", "flow": "server", "type": "order.confirmed",
              "verdict": "accepted", "status": 200, "code": 7000, "problems": [], "body": _events.event(0)}
    frames = []
    for i in range(n):
        record["seq"] = i + 1
        frames.append(f"id: {i + 1}\nevent: received\ndata: {json.dumps(record)}\n\n".encode())
        if i % 100 == 0:
            frames.append(b": keepalive\n\n")
    stream = b"".join(frames)
    parser = SseParser()
    count = 0
    start = time.perf_counter()
    for off in range(0, len(stream), 65536):
        for item in parser.feed(stream[off : off + 65536]):
            if isinstance(item, SseEvent):
                json.loads(item.data)
                count += 1
    elapsed = time.perf_counter() - start
    assert count == n, count
    print(f"parser: {n:,} events ({len(stream) / 1e6:.1f} MB) in {elapsed:.2f} s = "
          f"{n / elapsed:,.0f} events/s, {len(stream) / 1e6 / elapsed:.1f} MB/s (incl. json.loads)")


def bench_end_to_end(m: int) -> None:
    with Sandbox(SandboxConfig(host="127.0.0.1", port=0, keep_events=max(10_000, 3 * m))) as sb:
        received: dict[str, float] = {}
        cond = threading.Condition()

        def on_record(rec: dict[str, Any]) -> None:
            with cond:
                received[str(rec.get("order_id"))] = time.perf_counter()
                cond.notify_all()

        def run() -> None:
            # The sandbox stops at the end: the error that ends `follow` then ends this thread.
            with contextlib.suppress(Exception):
                follow(sb.url, last=0, on_record=on_record, reconnects=0)

        threading.Thread(target=run, daemon=True).start()
        while sb.streams.clients < 1:
            time.sleep(0.01)

        def wait_for(order: str, timeout: float = 10.0) -> float:
            deadline = time.monotonic() + timeout
            with cond:
                while order not in received:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(order)
                    cond.wait(left)
                return received[order]

        latencies = []
        with httpx.Client(base_url=sb.url, headers=HEADERS, timeout=10) as http:
            for i in range(m):
                ev = _events.event(i, prefix="evt_tail_one")
                order = ev["attributes"]["orderId"] = f"ONE_{i}"
                t0 = time.perf_counter()
                http.post("/api/ota/event", content=json.dumps(ev))
                latencies.append((wait_for(order) - t0) * 1000)
            start = time.perf_counter()
            for i in range(m):
                ev = _events.event(i, prefix="evt_tail_burst")
                ev["attributes"]["orderId"] = f"BURST_{i}"
                http.post("/api/ota/event", content=json.dumps(ev))
            sent = time.perf_counter()
            last = wait_for(f"BURST_{m - 1}")
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"end to end, one at a time: {m} events, POST->tail p50 {statistics.median(latencies):.2f} ms, "
              f"p99 {p99:.2f} ms, max {latencies[-1]:.2f} ms")
        print(f"burst: {m} events posted in {(sent - start) * 1000:.0f} ms; the last one reached tail "
              f"{(last - sent) * 1000:.1f} ms after the last POST answer ({m / (last - start):,.0f} events/s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parse", type=int, default=100_000, help="events fed to the parser")
    ap.add_argument("--post", type=int, default=500, help="events posted to the sandbox")
    args = ap.parse_args()
    bench_parser(args.parse)
    bench_end_to_end(args.post)


if __name__ == "__main__":
    main()
