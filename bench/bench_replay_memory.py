"""Peak memory of ``rapido replay`` over a 1,000,000-line file: it must stay under 100 MB.

Writes ``--lines`` events (1% invalid, some duplicates) to a temporary file, then runs the real CLI
in a subprocess and reads its peak RSS from ``wait4``:

* ``--dry-run`` over all lines (validation, duplicate detection, journal look-ups);
* a real replay (validation, sending at 16 in flight, journaling) to a fast local receiver over
  ``--send-lines`` lines (default 200,000; 0 to skip; the full million takes ~5 minutes).

Usage: ``python bench/bench_replay_memory.py [--lines 1000000] [--send-lines 200000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))

from _events import event
from _servers import fast_server_process, run_replay, write_profile

LIMIT_MB = 100


def write_file(path: Path, n: int) -> None:
    with open(path, "wb", buffering=1 << 20) as fh:
        for i in range(1, n + 1):
            if i % 100 == 0:
                fh.write(b'{"userId": "u", "event": {"type": "order.confirmed"}}\n')  # invalid: no id
            elif i % 1000 == 1 and i > 1:
                fh.write(orjson.dumps(event(i - 2)) + b"\n")  # a duplicate of an earlier line
            else:
                fh.write(orjson.dumps(event(i)) + b"\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--send-lines", type=int, default=200_000)
    args = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        big = tmp / "big.jsonl"
        write_file(big, args.lines)
        print(f"file: {args.lines} lines, {big.stat().st_size / 1e6:.0f} MB")
        with fast_server_process() as srv:
            env = write_profile(tmp, srv.url)
            summary, wall, rss_kib, _ = run_replay([str(big), "--dry-run"], env)
            mb = rss_kib / 1024
            print(
                f"dry run:  {summary['total']} lines ({summary['would_send']} would send, {summary['invalid']} invalid,"
                f" {summary['skipped']} duplicates) in {wall:.1f} s; peak RSS {mb:.1f} MB (limit {LIMIT_MB})"
            )
            ok &= mb <= LIMIT_MB and summary["total"] == args.lines
            if args.send_lines:
                part = tmp / "part.jsonl"
                with open(big, "rb") as src, open(part, "wb") as dst:
                    for i, line in enumerate(src):
                        if i >= args.send_lines:
                            break
                        dst.write(line)
                summary, wall, rss_kib, _ = run_replay([str(part), "--concurrency", "16"], env)
                mb = rss_kib / 1024
                print(
                    f"replay:   {summary['total']} lines ({summary['sent']} sent, {summary['invalid']} invalid,"
                    f" {summary['skipped']} duplicates) in {wall:.1f} s ({summary['rate']:.0f}/s);"
                    f" peak RSS {mb:.1f} MB (limit {LIMIT_MB})"
                )
                ok &= mb <= LIMIT_MB and summary["failed"] == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
