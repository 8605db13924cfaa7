#!/usr/bin/env python3
"""Start-up time of the `rapido` command: version, help, validate, and a tab completion.

    python bench/bench_startup.py                 # hyperfine if installed, else a timing loop
    python bench/bench_startup.py --runs 40 --strict
    python bench/bench_startup.py --install-httpie /tmp/httpie-venv   # httpie for the comparison

Targets, against httpie's `http --version` on the same machine in the same run (skipped, with a
message, when `http` is absent; `--install-httpie DIR` puts httpie in a throw-away venv, it is
never a dependency of rapido):
- `rapido --version` at most 0.5 x;
- `rapido --help` and `rapido validate one.json` at most 0.8 x (they import neither pydantic nor
  httpx nor keyring: tests/test_cli_conventions.py checks that);
- a tab completion answered in under 150 ms.
The built-in loop interleaves the commands round by round and takes each ratio pair by pair
(the machine's speed drifts less within a round); medians are what count. `--strict` exits 1
when a target is missed. Everything runs locally: no network, a throw-away profiles file and
event file in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

COMPLETION_BUDGET_MS = 150.0
#: case -> the largest allowed ratio to `http --version`.
RATIO_TARGETS = {"rapido --version": 0.5, "rapido --help": 0.8, "rapido validate one.json": 0.8}
HTTP_CASE = "http --version"


@dataclass
class Case:
    name: str
    argv: list[str]
    env: dict[str, str]


@dataclass
class Timing:
    name: str
    median_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    runs: int
    cpu_ms: float  # mean user+system CPU of the process: what the machine's load does not inflate


def find_tool(name: str) -> str | None:
    """The console script next to this interpreter (the venv under test), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    return shutil.which(name)


def base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPIDO_", "_RAPIDO_", "COMP_", "_TYPER_"))}
    # An installed package has its bytecode compiled; let the warm-up runs write it for a checkout too.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_STATE_HOME=str(tmp / "state"),
        RAPIDO_CONFIG=str(tmp / "profiles.yaml"),
        COLUMNS="100",
    )
    return env


def cases(rapido: str, http: str | None, tmp: Path) -> list[Case]:
    env = base_env(tmp)
    (tmp / "profiles.yaml").write_text(
        "default: staging\nprofiles:\n  staging: {base_url: 'https://partner-staging.example.com'}\n"
        "  production: {base_url: 'https://partner.example.com'}\n  prod-eu: {}\n",
        encoding="utf-8",
    )

    def complete(line: str) -> dict[str, str]:
        return {
            **env,
            "_RAPIDO_COMPLETE": "complete_bash",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(line.split(" ")) - 1),
        }

    one = tmp / "one.json"
    one.write_text(json.dumps(ONE_EVENT), encoding="utf-8")
    out = [Case("rapido --version", [rapido, "--version"], env)]
    if http:
        out.append(Case(HTTP_CASE, [http, "--version"], env))
    out += [
        Case("rapido --help", [rapido, "--help"], env),
        Case("rapido validate one.json", [rapido, "validate", str(one)], env),
        Case("complete: rapido send --type <TAB>", [rapido], complete("rapido send --type ")),
        Case("complete: rapido send --profile <TAB>", [rapido], complete("rapido send --profile ")),
        Case("complete: rapido -p <TAB>", [rapido], complete("rapido -p ")),
        Case("complete: rapido <TAB>", [rapido], complete("rapido ")),
        Case("rapido send-booking --help", [rapido, "send-booking", "--help"], env),
    ]
    return out


#: A valid booking event (the Rapido events specification's flight example).
ONE_EVENT = {
    "userId": "rapido_user_12345",
    "event": {"type": "order.confirmed", "id": "evt_bench_startup_1"},
    "attributes": {
        "orderId": "FL_BOOKING_ABC123",
        "orderStatus": "CONFIRMED",
        "amount_total": 8500,
        "location_origin_lat": 28.5562,
        "location_origin_long": 77.1,
        "location_dest_lat": 13.1986,
        "location_dest_long": 77.7066,
        "start_time": 1708156800,
        "end_time": 1708166700,
        "hostStatus": "CONFIRMED",
        "tz": "Asia/Kolkata",
    },
    "schemaVersion": 1,
}


def _shell_quote(argv: list[str], env: dict[str, str], base: dict[str, str]) -> str:
    import shlex

    extra = [f"{k}={shlex.quote(v)}" for k, v in env.items() if base.get(k) != v]
    prefix = "env " + " ".join(extra) + " " if extra else ""
    return prefix + " ".join(shlex.quote(a) for a in argv)


def run_hyperfine(all_cases: list[Case], runs: int, warmup: int, tmp: Path) -> list[Timing]:
    """One hyperfine call for all cases, so they share the same machine state."""
    base = all_cases[0].env
    export = tmp / "hyperfine.json"
    # -N: no intermediate shell (hyperfine splits the words itself), so nothing to subtract.
    cmd = ["hyperfine", "--style", "none", "-N", "--warmup", str(warmup), "--runs", str(runs)]
    cmd += ["--export-json", str(export)]
    for case in all_cases:
        cmd += ["-n", case.name, _shell_quote(case.argv, case.env, base)]
    subprocess.run(cmd, env=base, check=True, stdout=subprocess.DEVNULL)
    data = json.loads(export.read_text(encoding="utf-8"))
    return [
        Timing(
            r["command"],
            statistics.median(r["times"]) * 1000,
            r["mean"] * 1000,
            r["min"] * 1000,
            r["max"] * 1000,
            len(r["times"]),
            (r["user"] + r["system"]) * 1000,
        )
        for r in data["results"]
    ]


def run_loop(all_cases: list[Case], runs: int, warmup: int) -> tuple[list[Timing], dict[str, float]]:
    """Without hyperfine: interleave the cases, `runs` rounds, after `warmup` rounds.

    Also returns, for each case, the median over rounds of its wall time divided by that round's
    `http --version` (pairing keeps the ratio meaningful when the machine's speed drifts).
    """
    import resource

    samples: dict[str, list[float]] = {c.name: [] for c in all_cases}
    cpu: dict[str, list[float]] = {c.name: [] for c in all_cases}
    ratios: dict[str, list[float]] = {c.name: [] for c in all_cases}
    for round_no in range(warmup + runs):
        this_round: dict[str, float] = {}
        for case in all_cases:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(case.argv, env=case.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            elapsed = (time.perf_counter() - start) * 1000
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if round_no >= warmup:
                samples[case.name].append(elapsed)
                cpu[case.name].append(1000 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime))
                this_round[case.name] = elapsed
        if HTTP_CASE in this_round:
            for name, elapsed in this_round.items():
                ratios[name].append(elapsed / this_round[HTTP_CASE])
    timings = [
        Timing(name, statistics.median(s), statistics.fmean(s), min(s), max(s), len(s), statistics.fmean(cpu[name]))
        for name, s in samples.items()
    ]
    return timings, {name: statistics.median(r) for name, r in ratios.items() if r}


def verify(all_cases: list[Case]) -> None:
    """Each case must work (a benchmark of an error message would flatter us)."""
    for case in all_cases:
        proc = subprocess.run(case.argv, env=case.env, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0 or not proc.stdout.strip():
            raise SystemExit(f"bench_startup: `{case.name}` failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
    complete_type = next(c for c in all_cases if c.name.startswith("complete: rapido send --type"))
    out = subprocess.run(complete_type.argv, env=complete_type.env, capture_output=True, text=True, check=True).stdout
    if "order.confirmed" not in out:
        raise SystemExit(f"bench_startup: completion answered {out!r}, expected event types")


def install_httpie(directory: Path) -> str:
    """httpie in a throw-away virtual environment at ``directory`` (only for this comparison)."""
    http = directory / "bin" / "http"
    if not http.exists():
        print(f"bench_startup: installing httpie into {directory} (for the comparison only)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True)
        subprocess.run([str(directory / "bin" / "pip"), "install", "-q", "httpie"], check=True)
    return str(http)


def main(argv: list[str] | None = None) -> int:
    """Measure, print a table and the verdicts."""
    parser = argparse.ArgumentParser(description="Start-up time of rapido (version, help, validate, completion).")
    parser.add_argument("--runs", type=int, default=20, help="measured runs per case (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured runs first (default 3)")
    parser.add_argument("--no-hyperfine", action="store_true", help="use the built-in loop even if hyperfine exists")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--rapido", help="the `rapido` to measure (default: next to this Python, else on PATH)")
    parser.add_argument("--http", help="httpie's `http` to compare with (default: next to this Python, else on PATH)")
    parser.add_argument("--install-httpie", metavar="DIR", help="without `http`: install httpie into a venv at DIR")
    args = parser.parse_args(argv)

    rapido = args.rapido or find_tool("rapido")
    if rapido is None:
        print("bench_startup: no `rapido` found (pip install -e .)", file=sys.stderr)
        return 2
    http = args.http or find_tool("http")
    if http is None and args.install_httpie:
        http = install_httpie(Path(args.install_httpie))
    if http is None:
        print(
            "bench_startup: httpie's `http` not found: skipping the comparisons with `http --version`"
            " (--install-httpie DIR puts it in a throw-away venv)",
            file=sys.stderr,
        )

    load = os.getloadavg()
    if load[0] > (os.cpu_count() or 1):
        print(
            f"bench_startup: load average {load[0]:.1f} on {os.cpu_count()} CPU(s): wall times will be inflated;"
            " the cpu column and the paired ratios are less sensitive",
            file=sys.stderr,
        )
    with tempfile.TemporaryDirectory(prefix="rapido-bench-") as tmpdir:
        tmp = Path(tmpdir)
        all_cases = cases(rapido, http, tmp)
        verify(all_cases)
        use_hyperfine = shutil.which("hyperfine") is not None and not args.no_hyperfine
        tool = "hyperfine" if use_hyperfine else "loop"
        if use_hyperfine:
            timings = run_hyperfine(all_cases, args.runs, args.warmup, tmp)
            by_name = {t.name: t for t in timings}
            paired = {
                t.name: t.median_ms / by_name[HTTP_CASE].median_ms for t in timings if HTTP_CASE in by_name
            }  # fmt: skip
        else:
            timings, paired = run_loop(all_cases, args.runs, args.warmup)

    by_name = {t.name: t for t in timings}
    verdicts: list[tuple[str, bool | None, str]] = []
    for name, target in RATIO_TARGETS.items():
        label = f"{name} <= {target:g} x {HTTP_CASE}"
        if HTTP_CASE not in by_name:
            verdicts.append((label, None, "skipped: `http` not installed"))
            continue
        ratio = paired[name]
        mine, theirs = by_name[name], by_name[HTTP_CASE]
        cpu_ratio = mine.cpu_ms / theirs.cpu_ms if theirs.cpu_ms else float("nan")
        verdicts.append(
            (
                label,
                ratio <= target,
                f"{mine.median_ms:.1f} ms vs {theirs.median_ms:.1f} ms"
                f" (wall ratio {ratio:.2f}, cpu ratio {cpu_ratio:.2f})",
            )
        )
    worst = max(t.median_ms for t in timings if t.name.startswith("complete:"))
    verdicts.append(
        (
            f"tab completion < {COMPLETION_BUDGET_MS:g} ms",
            worst < COMPLETION_BUDGET_MS,
            f"slowest median {worst:.1f} ms",
        )
    )

    if args.json:
        print(
            json.dumps(
                {
                    "tool": tool,
                    "python": sys.version.split()[0],
                    "cpus": os.cpu_count(),
                    "load_average": load[0],
                    "timings": [t.__dict__ for t in timings],
                    "ratios_to_http_version": paired,
                    "verdicts": [{"target": n, "ok": ok, "detail": d} for n, ok, d in verdicts],
                }
            )
        )
    else:
        print(f"start-up of {rapido} ({tool}, {timings[0].runs} runs each, Python {sys.version.split()[0]})")
        print(f"load average before: {load[0]:.2f} on {os.cpu_count()} CPU(s)")
        print(f"{'case':<42} {'median':>9} {'mean':>9} {'min':>9} {'max':>9} {'cpu':>9} {'vs http':>8}")
        for t in timings:
            ratio = f"{paired[t.name]:.2f}x" if t.name in paired else "-"
            print(
                f"{t.name:<42} {t.median_ms:>7.1f}ms {t.mean_ms:>7.1f}ms {t.min_ms:>7.1f}ms {t.max_ms:>7.1f}ms"
                f" {t.cpu_ms:>7.1f}ms {ratio:>8}"
            )
        print()
        for name, ok, detail in verdicts:
            mark = "skip" if ok is None else ("ok" if ok else "MISSED")
            print(f"[{mark:^6}] {name}: {detail}")
    missed = any(ok is False for _, ok, _ in verdicts)
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
