#!/usr/bin/env python3
"""How many events per second the sandbox receiver sustains on loopback.

Starts the sandbox in its own process (so the load generator does not share its GIL), then drives
``POST /api/ota/event`` over HTTP/1.1 keep-alive connections from N threads in P worker processes,
each event with a fresh id (so every one is validated, checked for idempotency and recorded), for a
bounded time. Prints events/s, latency percentiles and the status counts. Loopback only.

    python bench/bench_sandbox.py                       # 5 s, 2 processes x 8 connections
    python bench/bench_sandbox.py --duration 10 --store /tmp/sb.jsonl
    python bench/bench_sandbox.py --latency 50 --procs 1 --threads 16   # latency must not serialize
    python bench/bench_sandbox.py --client httpx         # the same HTTP client as `rapido`
    python bench/bench_sandbox.py --url http://127.0.0.1:8787   # a running `rapido sandbox`
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import _events  # bench/_events.py: the events every benchmark sends

HEADERS = {
    "Content-Type": "application/json",
    "x-client-id": "bench-client",
    "x-client-service": "flights",
    "x-client-app-id": "bench-app",
    "authorization": "bench-key",
}


def event(tag: str) -> bytes:
    """A valid flight event whose id and orderId depend on ``tag``."""
    ev = _events.event(0)
    ev["event"]["id"] = f"evt_bench_{tag}"
    ev["attributes"]["orderId"] = f"FL_{tag}"
    return json.dumps(ev).encode()


def run_server(port_q: Any, stop_ev: Any, args: argparse.Namespace) -> None:
    from rapido_cli.sandbox import Sandbox, SandboxConfig

    cfg = SandboxConfig(
        host="127.0.0.1",
        port=0,
        latency_ms=args.latency,
        store=Path(args.store) if args.store else None,
    )
    with Sandbox(cfg) as sb:
        cpu0 = time.process_time()
        port_q.put(sb.port)
        stop_ev.wait(args.duration + 60)
        # The sandbox's own CPU per event: what it would cost a benchmark, whatever else runs.
        port_q.put((sb.stats()["total"], time.process_time() - cpu0))


def worker_http_client(port: int, deadline: float, tag: str, out: list[Any]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    statuses: Counter[int] = Counter()
    lat: list[float] = []
    n = 0
    while time.perf_counter() < deadline:
        body = event(f"{tag}_{n}")
        t = time.perf_counter()
        conn.request("POST", "/api/ota/event", body=body, headers=HEADERS)
        r = conn.getresponse()
        r.read()
        lat.append(time.perf_counter() - t)
        statuses[r.status] += 1
        n += 1
    conn.close()
    out.append((statuses, lat))


def worker_httpx(port: int, deadline: float, tag: str, out: list[Any]) -> None:
    import httpx

    statuses: Counter[int] = Counter()
    lat: list[float] = []
    n = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=30) as c:
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            r = c.post("/api/ota/event", content=event(f"{tag}_{n}"))
            lat.append(time.perf_counter() - t)
            statuses[r.status_code] += 1
            n += 1
    out.append((statuses, lat))


def load_proc(port: int, start_at: float, duration: float, threads: int, proc: int, client: str, q: Any) -> None:
    target = worker_httpx if client == "httpx" else worker_http_client
    while time.time() < start_at:
        time.sleep(0.005)
    deadline = time.perf_counter() + duration
    out: list[Any] = []
    ts = [threading.Thread(target=target, args=(port, deadline, f"p{proc}t{i}", out)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    statuses: Counter[int] = Counter()
    lat: list[float] = []
    for s, lt in out:
        statuses.update(s)
        lat.extend(lt)
    q.put((dict(statuses), lat))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of load (default 5)")
    ap.add_argument("--procs", type=int, default=2, help="load-generator processes (default 2)")
    ap.add_argument("--threads", type=int, default=8, help="keep-alive connections per process (default 8)")
    ap.add_argument("--latency", type=float, default=0.0, help="sandbox --latency in ms (default 0)")
    ap.add_argument("--store", help="sandbox --store file (default: none)")
    ap.add_argument("--client", choices=["http.client", "httpx"], default="http.client")
    ap.add_argument("--url", help="drive an already running sandbox (e.g. `rapido sandbox`) at this loopback URL")
    args = ap.parse_args()
    args.duration = min(args.duration, 120.0)  # bounded, whatever is asked

    ctx = mp.get_context("spawn")
    port_q, stop_ev, res_q = ctx.Queue(), ctx.Event(), ctx.Queue()
    server = None
    if args.url:
        parts = urlsplit(args.url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.port is None:
            ap.error("--url must be a loopback URL with a port, e.g. http://127.0.0.1:8787")
        port = parts.port
    else:
        server = ctx.Process(target=run_server, args=(port_q, stop_ev, args), daemon=True)
        server.start()
        port = port_q.get(timeout=30)
    start_at = time.time() + 1.0
    loaders = [
        ctx.Process(target=load_proc, args=(port, start_at, args.duration, args.threads, p, args.client, res_q))
        for p in range(args.procs)
    ]
    for p in loaders:
        p.start()
    statuses: Counter[int] = Counter()
    lat: list[float] = []
    for _ in loaders:
        s, lt = res_q.get(timeout=args.duration + 60)
        statuses.update(s)
        lat.extend(lt)
    for p in loaders:
        p.join()
    served, server_cpu = 0, 0.0
    if server is not None:
        stop_ev.set()
        served, server_cpu = port_q.get(timeout=30)
        server.join(timeout=10)

    total = sum(statuses.values())
    lat.sort()
    conns = args.procs * args.threads

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    print(
        f"sandbox bench: {conns} keep-alive connections ({args.procs} procs x {args.threads} threads, "
        f"{args.client}), latency={args.latency:g} ms, store={'on' if args.store else 'off'}, "
        f"{args.duration:g} s"
    )
    print(f"  events: {total}  rate: {total / args.duration:,.0f} events/s")
    print(
        f"  latency ms: p50 {pct(0.5):.2f}  p90 {pct(0.9):.2f}  p99 {pct(0.99):.2f}  "
        f"mean {statistics.fmean(lat) * 1000 if lat else float('nan'):.2f}"
    )
    print(f"  statuses: {dict(sorted(statuses.items()))}")
    if served:
        per = server_cpu / served
        print(
            f"  sandbox CPU: {per * 1e6:.0f} us/event over {served} events "
            f"= {1 / per:,.0f} events/s per fully used core"
        )
    return 0 if statuses and set(statuses) == {200} else 1


if __name__ == "__main__":
    sys.exit(main())
