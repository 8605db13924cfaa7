#!/usr/bin/env python3
"""Start-up time of the `rapido` command: version, help, and a tab completion.

    python bench/bench_startup.py                 # hyperfine if installed, else a timing loop
    python bench/bench_startup.py --runs 40 --strict

Targets (issue 6): `rapido --version` at most half of httpie's `http --version` on the same
machine in the same run (skipped, with a message, when `http` is absent); a tab completion
answered in under 150 ms. Medians are what count; `--strict` exits 1 when a target is missed.
Everything runs locally: no network, a throw-away profiles file in a temporary directory.
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
VERSION_RATIO = 0.5


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

    out = [Case("rapido --version", [rapido, "--version"], env)]
    if http:
        out.append(Case("http --version", [http, "--version"], env))
    out += [
        Case("complete: rapido send --type <TAB>", [rapido], complete("rapido send --type ")),
        Case("complete: rapido send --profile <TAB>", [rapido], complete("rapido send --profile ")),
        Case("complete: rapido <TAB>", [rapido], complete("rapido ")),
        Case("rapido --help", [rapido, "--help"], env),
        Case("rapido send-booking --help", [rapido, "send-booking", "--help"], env),
    ]
    return out


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


def run_loop(all_cases: list[Case], runs: int, warmup: int) -> list[Timing]:
    """Without hyperfine: interleave the cases, `runs` rounds, after `warmup` rounds."""
    import resource

    samples: dict[str, list[float]] = {c.name: [] for c in all_cases}
    cpu: dict[str, list[float]] = {c.name: [] for c in all_cases}
    for round_no in range(warmup + runs):
        for case in all_cases:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(case.argv, env=case.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            elapsed = (time.perf_counter() - start) * 1000
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if round_no >= warmup:
                samples[case.name].append(elapsed)
                cpu[case.name].append(1000 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime))
    return [
        Timing(name, statistics.median(s), statistics.fmean(s), min(s), max(s), len(s), statistics.fmean(cpu[name]))
        for name, s in samples.items()
    ]


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


def main(argv: list[str] | None = None) -> int:
    """Measure, print a table and the verdicts."""
    parser = argparse.ArgumentParser(description="Start-up time of rapido (version, help, completion).")
    parser.add_argument("--runs", type=int, default=20, help="measured runs per case (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured runs first (default 3)")
    parser.add_argument("--no-hyperfine", action="store_true", help="use the built-in loop even if hyperfine exists")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--rapido", help="the `rapido` to measure (default: next to this Python, else on PATH)")
    parser.add_argument("--http", help="httpie's `http` to compare with (default: next to this Python, else on PATH)")
    args = parser.parse_args(argv)

    rapido = args.rapido or find_tool("rapido")
    if rapido is None:
        print("bench_startup: no `rapido` found (pip install -e .)", file=sys.stderr)
        return 2
    http = args.http or find_tool("http")
    if http is None:
        print(
            "bench_startup: httpie's `http` not found: skipping the comparison with `http --version`", file=sys.stderr
        )

    load = os.getloadavg()
    if load[0] > (os.cpu_count() or 1):
        print(
            f"bench_startup: load average {load[0]:.1f} on {os.cpu_count()} CPU(s): wall times will be inflated;"
            " the cpu column is less sensitive",
            file=sys.stderr,
        )
    with tempfile.TemporaryDirectory(prefix="rapido-bench-") as tmpdir:
        tmp = Path(tmpdir)
        all_cases = cases(rapido, http, tmp)
        verify(all_cases)
        use_hyperfine = shutil.which("hyperfine") is not None and not args.no_hyperfine
        tool = "hyperfine" if use_hyperfine else "loop"
        timings = (
            run_hyperfine(all_cases, args.runs, args.warmup, tmp)
            if use_hyperfine
            else run_loop(all_cases, args.runs, args.warmup)
        )

    by_name = {t.name: t for t in timings}
    verdicts: list[tuple[str, bool | None, str]] = []
    version = by_name["rapido --version"].median_ms
    if "http --version" in by_name:
        httpie = by_name["http --version"].median_ms
        verdicts.append(
            (
                f"rapido --version <= {VERSION_RATIO:g} x http --version",
                version <= VERSION_RATIO * httpie,
                f"{version:.1f} ms vs {httpie:.1f} ms (ratio {version / httpie:.2f})",
            )
        )
    else:
        verdicts.append(("rapido --version <= 0.5 x http --version", None, "skipped: `http` not installed"))
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
                    "verdicts": [{"target": n, "ok": ok, "detail": d} for n, ok, d in verdicts],
                }
            )
        )
    else:
        print(f"start-up of {rapido} ({tool}, {timings[0].runs} runs each, Python {sys.version.split()[0]})")
        print(f"load average before: {load[0]:.2f} on {os.cpu_count()} CPU(s)")
        print(f"{'case':<42} {'median':>9} {'mean':>9} {'min':>9} {'max':>9} {'cpu':>9}")
        for t in timings:
            print(
                f"{t.name:<42} {t.median_ms:>7.1f}ms {t.mean_ms:>7.1f}ms {t.min_ms:>7.1f}ms {t.max_ms:>7.1f}ms"
                f" {t.cpu_ms:>7.1f}ms"
            )
        print()
        for name, ok, detail in verdicts:
            mark = "skip" if ok is None else ("ok" if ok else "MISSED")
            print(f"[{mark:^6}] {name}: {detail}")
    missed = any(ok is False for _, ok, _ in verdicts)
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
