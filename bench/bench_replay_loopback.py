"""Replay (validating + journaling) vs hand-written httpx loops (doing neither), loopback, 16 in flight.

A fast asyncio receiver (bench/fast_server.py) runs in its own process. Over the same file:

* ``httpx threads``: ``httpx.Client`` shared by a 16-thread pool, posting each raw line;
* ``httpx async``: ``httpx.AsyncClient`` with 16 tasks (encode/httpx#3215: slow under concurrency);
* ``http.client threads``: the standard library, one keep-alive connection per thread (what replay uses);
* ``rapido replay``: the real CLI in a subprocess, validating every line and journaling every outcome.

Pass criterion (issue 4): replay >= the httpx thread-pool loop.
Usage: ``python bench/bench_replay_loopback.py [--events 20000] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _events import write_events
from _servers import fast_server_process, run_replay, write_profile

HEADERS = {
    "Content-Type": "application/json",
    "x-client-id": "bench-client",
    "x-client-service": "flights",
    "x-client-app-id": "bench-app",
    "authorization": "sk_bench_0000000000",
}


def httpx_threads(url: str, path: Path, conc: int) -> float:
    client = httpx.Client(limits=httpx.Limits(max_connections=conc, max_keepalive_connections=conc))

    def post(line: bytes) -> None:
        r = client.post(url + "/api/ota/event", content=line, headers=HEADERS)
        r.json()

    t0 = time.perf_counter()
    n = 0
    with open(path, "rb") as fh, ThreadPoolExecutor(conc) as ex:
        for _ in ex.map(post, (line.rstrip(b"\n") for line in fh)):
            n += 1
    rate = n / (time.perf_counter() - t0)
    client.close()
    return rate


def httpx_async(url: str, path: Path, conc: int) -> float:
    async def main() -> float:
        lines = asyncio.Queue[bytes](maxsize=conc * 4)
        done = 0

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal done
            while True:
                line = await lines.get()
                if not line:
                    return
                r = await client.post(url + "/api/ota/event", content=line, headers=HEADERS)
                r.json()
                done += 1

        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=conc)) as client:
            t0 = time.perf_counter()
            tasks = [asyncio.create_task(worker(client)) for _ in range(conc)]
            with open(path, "rb") as fh:
                for line in fh:
                    await lines.put(line.rstrip(b"\n"))
            for _ in tasks:
                await lines.put(b"")
            await asyncio.gather(*tasks)
            return done / (time.perf_counter() - t0)

    return asyncio.run(main())


def stdlib_threads(url: str, path: Path, conc: int) -> float:
    host, port = url.removeprefix("http://").split(":")
    local = threading.local()

    def post(line: bytes) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(host, int(port))
        conn.request("POST", "/api/ota/event", body=line, headers=HEADERS)
        json.loads(conn.getresponse().read())

    t0 = time.perf_counter()
    n = 0
    with open(path, "rb") as fh, ThreadPoolExecutor(conc) as ex:
        for _ in ex.map(post, (line.rstrip(b"\n") for line in fh)):
            n += 1
    return n / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for r in range(args.rounds):
            with fast_server_process() as srv:
                f = write_events(tmp / f"events{r}.jsonl", args.events, prefix=f"evt_r{r}")
                results = {
                    "httpx threads": httpx_threads(srv.url, f, args.concurrency),
                    "httpx async": httpx_async(srv.url, f, args.concurrency),
                    "http.client threads": stdlib_threads(srv.url, f, args.concurrency),
                }
                env = write_profile(tmp, srv.url)
                env["XDG_STATE_HOME"] = str(tmp / f"state{r}")
                summary, _wall, _, _ = run_replay([str(f), "--concurrency", str(args.concurrency)], env)
                assert summary["sent"] == args.events, summary
                results["rapido replay (validate+journal)"] = summary["rate"]
                for k, v in results.items():
                    best[k] = max(best.get(k, 0.0), v)
                print(f"round {r + 1}: " + ", ".join(f"{k} {v:.0f}/s" for k, v in results.items()), flush=True)
    print(f"\nbest of {args.rounds} rounds, {args.events} events, {args.concurrency} in flight, loopback:")
    for k, v in best.items():
        print(f"  {k:34s} {v:8.0f} events/s")
    ratio = best["rapido replay (validate+journal)"] / best["httpx threads"]
    print(f"replay / httpx threads = {ratio:.2f}x (need >= 1.0)")
    print("PASS" if ratio >= 1.0 else "FAIL")
    return 0 if ratio >= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
