"""Replay over a 50 ms round trip vs the seed's sequential reference client.

Starts the project's sandbox with ``latency_ms=50`` (as ``rapido sandbox --latency 50``) in its own
process, then:

1. the seed's Python ``RapidoEventClient`` (tests/data/seed_client.py: the seed code with its one
   syntax error fixed), one ``post_event`` at a time, over ``--seed-events`` events;
2. ``rapido replay`` at ``--concurrency 16`` over ``--events`` events (a real subprocess).

Pass criteria (issue 4): replay reaches >= 90% of the 16 / 0.050 = 320 events/s bound, and >= 15x
the seed client. Usage: ``python bench/bench_replay_latency.py [--events 2000] [--seed-events 100]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _events import event, write_events
from _servers import run_replay, sandbox_process, write_profile

ROOT = Path(__file__).resolve().parent.parent


def seed_client_rate(url: str, n: int) -> float:
    spec = importlib.util.spec_from_file_location("seed_client", ROOT / "tests" / "data" / "seed_client.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    client = mod.RapidoEventClient("bench-client", "sk_bench_0000000000", "flights", "bench-app")
    client.config["base_url"] = url
    t0 = time.perf_counter()
    for i in range(n):
        ev = event(i, "evt_seed")
        client.post_event(ev["userId"], ev["event"]["type"], ev["event"]["id"], ev["attributes"])
    return n / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--seed-events", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    args = ap.parse_args()
    bound = args.concurrency / (args.latency_ms / 1000)
    with tempfile.TemporaryDirectory() as d, sandbox_process(latency_ms=args.latency_ms) as sb:
        tmp = Path(d)
        seed = seed_client_rate(sb.url, args.seed_events)
        print(f"seed client (sequential, requests): {seed:7.1f} events/s over {args.seed_events} events")
        f = write_events(tmp / "events.jsonl", args.events)
        env = write_profile(tmp, sb.url)
        summary, wall, _, _ = run_replay([str(f), "--concurrency", str(args.concurrency)], env)
        rate = summary["rate"]
        print(
            f"rapido replay -c {args.concurrency}:          {rate:7.1f} events/s over {summary['sent']} events "
            f"(run {summary['elapsed_s']:.2f} s, process wall {wall:.2f} s incl. start-up)"
        )
        print(f"bound {args.concurrency}/{args.latency_ms / 1000:g}s = {bound:.0f} events/s")
        print(f"replay / bound = {rate / bound:.1%}  (need >= 90%)")
        print(f"replay / seed  = {rate / seed:.1f}x  (need >= 15x)")
        ok = summary["sent"] == args.events and rate >= 0.9 * bound and rate >= 15 * seed
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
