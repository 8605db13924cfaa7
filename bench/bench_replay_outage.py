"""Replay against a dead endpoint, then again once it is back.

For each kind of outage (a closed port: connection refused; a server answering 503 to everything),
over ``--events`` events (default 10,000), with the default retry policy and concurrency:

1. ``rapido replay FILE`` (the real CLI, stderr not a terminal, as under cron) while the endpoint is
   down: wall time, exit code, stderr lines, requests the server received;
2. the server comes back on the same port: the next run must deliver every event exactly once
   (counted per event id by the receiver).

Pass criteria (issue "Delivery you can trust"): the first run ends in <= 30 s with exit 75, <= 25
stderr lines and at most 10% of the events sent as requests; the second delivers all, none twice.
Usage: ``python bench/bench_replay_outage.py [--events 10000]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _counting import CountingServer
from _events import write_events
from _servers import write_profile


def rapido(args: list[str], env: dict[str, str]) -> tuple[int, float, str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("RAPIDO_")}
    full.update(env)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "rapido_cli", "replay", *args], env=full, capture_output=True, text=True, check=False
    )
    return proc.returncode, time.perf_counter() - t0, proc.stdout, proc.stderr


def scenario(kind: str, n: int, tmp: Path) -> bool:
    f = write_events(tmp / f"{kind}.jsonl", n, prefix=f"evt_{kind}")
    srv = CountingServer("503")
    if kind == "closed":
        srv.close_port()
    ok = True
    try:
        env = write_profile(tmp, srv.url)
        env["XDG_STATE_HOME"] = str(tmp / f"state-{kind}")
        code, wall, _out, err = rapido([str(f)], env)
        lines = err.splitlines()
        outage = next((x for x in lines if x.startswith("server unreachable")), "(no outage line)")
        print(f"{kind:>6} down: exit {code}, {wall:5.1f} s, {len(lines)} stderr lines, "
              f"{srv.requests} requests received ({100 * srv.requests / n:.1f}% of {n:,})")
        print(f"        {outage}")
        ok &= code == 75 and wall <= 30 and len(lines) <= 25 and srv.requests <= n // 10
        srv.mode = "ok"
        srv.reopen()
        before = srv.requests
        code, wall, _out, err = rapido([str(f), "-q"], env)
        dupes = srv.duplicates()
        print(f"{kind:>6} back: exit {code}, {wall:5.1f} s, {len(srv.accepted):,} of {n:,} ids delivered, "
              f"{dupes} delivered twice, {srv.requests - before:,} requests")
        ok &= code == 0 and len(srv.accepted) == n and dupes == 0
    finally:
        srv.close_port()
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=10_000)
    args = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as d:
        for kind in ("closed", "503"):
            ok &= scenario(kind, args.events, Path(d))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
