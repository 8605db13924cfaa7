"""``--rate auto`` against a rate-limited sandbox: goodput, share of 429 answers, nothing lost.

Starts the sandbox with ``rate_limit=100`` (as ``rapido sandbox --rate-limit 100``) in its own
process and replays ``--events`` events with ``rapido replay --rate auto --concurrency 16``.
Pass criteria (issue 4): goodput >= 90 events/s, <= 5% of requests answered 429, every event sent.
Usage: ``python bench/bench_replay_auto_rate.py [--events 3000] [--limit 100]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _events import write_events
from _servers import run_replay, sandbox_process, write_profile


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--limit", type=float, default=100.0)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        f = write_events(tmp / "events.jsonl", args.events)
        with sandbox_process(rate_limit=args.limit) as sb:
            env = write_profile(tmp, sb.url)
            env["RAPIDO_BACKOFF_BASE"] = "0.1"
            summary, _, _, _ = run_replay(
                [str(f), "--rate", "auto", "--concurrency", str(args.concurrency), "--max-attempts", "30"], env
            )
        stats = sb.final_stats or {}
    requests = summary["sent"] + summary["failed"] + summary["retries"]
    share = summary["throttled"] / requests if requests else 0.0
    goodput = summary["rate"]
    accepted = (stats.get("by_verdict") or {}).get("accepted")
    print(f"sandbox rate limit {args.limit:g}/s, {args.events} events, --rate auto, {args.concurrency} in flight")
    print(f"goodput            {goodput:7.1f} events/s (need >= {0.9 * args.limit:g})")
    print(f"requests           {requests:7d}  (429 answers: {summary['throttled']}, {share:.2%}; need <= 5%)")
    print(f"sent / failed      {summary['sent']} / {summary['failed']}  (sandbox accepted: {accepted})")
    print(f"elapsed            {summary['elapsed_s']:.1f} s")
    ok = summary["sent"] == args.events and goodput >= 0.9 * args.limit and share <= 0.05
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
