"""Benchmark ``rapido validate`` on a generated JSON Lines file.

Generates N events (default 200,000, about 90 MB), then times, each in a fresh subprocess:

* baseline: a bare ``json.loads`` loop over the file's lines;
* validate: ``rapido_cli.validate.validate_paths([file])`` (streaming, all rules, duplicate ids);
* cli: ``python -m rapido_cli validate FILE --json`` end to end (startup included).

and reports events/s, the ratio to the baseline, and peak memory (max RSS) of each process.
Targets: validate no slower than 1.5x the baseline, peak RSS at most 100 MB.

    python bench/bench_validate.py [--events 200000] [--keep PATH] [--repeat 3] [--pydantic]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ZONES = ["Asia/Kolkata", "Asia/Dubai", "Europe/London", "Asia/Singapore", "America/New_York"]
STATUSES = [("CONFIRMED", "order.confirmed"), ("CANCELLED", "order.cancelled"), ("MODIFIED", "order.modified")]


def generate(path: Path, n: int, seed: int = 7) -> int:
    """Write ``n`` valid, distinct events (about 450 bytes each); return the file size."""
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            status, etype = STATUSES[i % 3]
            start = 1_708_156_800 + rnd.randrange(0, 30_000_000)
            kind = "flight" if i % 2 else "hotel"
            event = {
                "userId": f"rapido_user_{rnd.randrange(10**9):09d}",
                "event": {"type": etype, "id": f"evt_{kind}_{status.lower()}_{i:09d}_{rnd.getrandbits(24):06x}"},
                "attributes": {
                    "orderId": f"{kind[:2].upper()}_BOOKING_{i:010d}",
                    "orderStatus": status,
                    "amount_total": round(rnd.uniform(500, 90_000), 2),
                    "location_origin_lat": round(rnd.uniform(-60, 60), 4),
                    "location_origin_long": round(rnd.uniform(-179, 179), 4),
                    "location_dest_lat": round(rnd.uniform(-60, 60), 4),
                    "location_dest_long": round(rnd.uniform(-179, 179), 4),
                    "start_time": start,
                    "end_time": start + rnd.randrange(3_600, 900_000),
                    "hostStatus": status,
                    "tz": ZONES[i % len(ZONES)],
                },
                "schemaVersion": 1,
            }
            f.write(json.dumps(event) + "\n")
    return path.stat().st_size


PRELUDE = r"""
import json, resource, sys, time
def peak_kb(ru):
    # VmHWM is this process's own peak; ru_maxrss on Linux also counts the parent it was forked from.
    try:
        for row in open("/proc/self/status"):
            if row.startswith("VmHWM:"):
                return int(row.split()[1])
    except OSError:
        pass
    return ru.ru_maxrss
"""

BASELINE = PRELUDE + r"""
t = time.perf_counter()
n = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        json.loads(line)
        n += 1
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": dt, "cpu": ru.ru_utime + ru.ru_stime, "events": n, "maxrss_kb": peak_kb(ru)}))
"""

VALIDATE = PRELUDE + r"""
from rapido_cli.validate import validate_paths
ru0 = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
report = validate_paths([sys.argv[1]])
dt = time.perf_counter() - t
assert report.valid, report.problems[:3]
ru = resource.getrusage(resource.RUSAGE_SELF)
cpu = ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime
print(json.dumps({"seconds": dt, "cpu": cpu, "events": report.events, "maxrss_kb": peak_kb(ru)}))
"""


PYDANTIC = PRELUDE + r"""
from rapido_cli.models import Envelope
ru0 = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
n = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        Envelope.model_validate_json(line)
        n += 1
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
cpu = ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime
print(json.dumps({"seconds": dt, "cpu": cpu, "events": n, "maxrss_kb": peak_kb(ru)}))
"""


def run(code: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def run_cli(path: Path) -> dict[str, float]:
    code = PRELUDE + (
        "import runpy\n"
        "sys.argv = ['rapido', 'validate', sys.argv[1], '--json']\n"
        "t = time.perf_counter()\n"
        "try:\n"
        "    runpy.run_module('rapido_cli', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    rc = e.code\n"
        "ru = resource.getrusage(resource.RUSAGE_SELF)\n"
        "sys.stderr.write(json.dumps({'seconds': time.perf_counter() - t, 'rc': rc,"
        " 'cpu': ru.ru_utime + ru.ru_stime, 'maxrss_kb': peak_kb(ru)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    result = json.loads(out.stderr.strip().splitlines()[-1])
    summary = json.loads(out.stdout)
    result["events"] = summary["events"]
    return result  # type: ignore[no-any-return]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best is kept")
    ap.add_argument("--keep", type=Path, help="write the generated file here and keep it")
    ap.add_argument("--pydantic", action="store_true", help="also time Envelope.model_validate_json per line")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    path = args.keep or Path(tmp.name) / "events.jsonl"
    t = time.perf_counter()
    size = generate(path, args.events)
    print(f"generated {args.events:,} events, {size / 1e6:.1f} MB in {time.perf_counter() - t:.1f}s: {path}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")

    # Interleaved runs, best of each: fair when the machine is busy with something else.
    runs: dict[str, list[dict[str, float]]] = {"base": [], "val": [], "cli": [], "pyd": []}
    for _ in range(args.repeat):
        runs["base"].append(run(BASELINE, path))
        runs["val"].append(run(VALIDATE, path))
        runs["cli"].append(run_cli(path))
        if args.pydantic:
            runs["pyd"].append(run(PYDANTIC, path))
    base, val, cli = (min(runs[k], key=lambda r: r["seconds"]) for k in ("base", "val", "cli"))
    base_cpu = min(r["cpu"] for r in runs["base"])
    rows = [("json.loads loop", base), ("validate_paths", val), ("rapido validate (CLI)", cli)]
    if args.pydantic:
        rows.append(("pydantic (envelope only)", min(runs["pyd"], key=lambda r: r["seconds"])))
    print(f"{'':24}{'seconds':>9}{'cpu s':>8}{'events/s':>12}{'x baseline':>12}{'x cpu':>8}{'peak RSS MB':>13}")
    for name, r in rows:
        key = {"json.loads loop": "base", "validate_paths": "val", "pydantic (envelope only)": "pyd"}.get(name, "cli")
        cpu = min(x["cpu"] for x in runs[key])
        eps = r["events"] / r["seconds"]
        print(
            f"{name:24}{r['seconds']:9.2f}{cpu:8.2f}{eps:12,.0f}{r['seconds'] / base['seconds']:12.2f}"
            f"{cpu / base_cpu:8.2f}{r['maxrss_kb'] / 1024:13.1f}"
        )
    ratio = val["seconds"] / base["seconds"]
    cpu_ratio = min(x["cpu"] for x in runs["val"]) / base_cpu
    ok = min(ratio, cpu_ratio) <= 1.5 and val["maxrss_kb"] / 1024 <= 100 and cli["maxrss_kb"] / 1024 <= 100
    print(f"load average: {os.getloadavg()[0]:.1f} (wall-clock ratios are noisy when it exceeds the cpu count)")
    print(f"target: validate <= 1.5x baseline and peak RSS <= 100 MB: {'MET' if ok else 'NOT MET'}")
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
