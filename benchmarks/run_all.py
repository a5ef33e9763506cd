"""Run every benchmark in ``benchmarks/`` in turn; results go to ``benchmarks/results/``.

Each script runs in its own process (never two at once: they would disturb each
other's timings) with ``--out benchmarks/results/<name>.json`` when it takes that
flag, and ``--quick`` when asked and supported. A summary of what ran, how long it
took and whether it succeeded is written to ``benchmarks/results/run_all.json``.

    python benchmarks/run_all.py                 # every benchmark, default sizes
    python benchmarks/run_all.py --quick         # smoke run of every benchmark
    python benchmarks/run_all.py engine_turn memory
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import ROOT, machine_info, parser, print_table, write_json

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"common", "run_all"}


def discover() -> list[str]:
    """Names of the benchmark scripts next to this one."""
    return sorted(p.stem for p in HERE.glob("*.py")
                  if p.stem not in NOT_BENCHMARKS and not p.stem.startswith("_"))


def command(name: str, quick: bool, results: Path) -> list[str]:
    """The command line of one benchmark, with the flags it understands."""
    path = HERE / f"{name}.py"
    flags = accepted_flags(path)
    args = [sys.executable, str(path)]
    if "--out" in flags:
        args += ["--out", str(results / f"{name}.json")]
    if quick and "--quick" in flags:
        args.append("--quick")
    return args


def accepted_flags(path: Path) -> set[str]:
    """The flags among ``--out`` and ``--quick`` a script accepts (asked through --help)."""
    source = path.read_text()
    if "argparse" not in source and "parser(" not in source:
        return set()  # no command line: --help would run the benchmark itself
    shown = subprocess.run([sys.executable, str(path), "--help"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120, check=False).stdout
    return {flag for flag in ("--out", "--quick") if flag in shown}


def run_one(name: str, quick: bool, results: Path, timeout: float) -> dict[str, Any]:
    """Run one benchmark; its output streams through; returns its outcome."""
    args = command(name, quick, results)
    print(f"\n=== {name}: {' '.join(args[1:])}", flush=True)
    start = time.perf_counter()
    try:
        code = subprocess.run(args, cwd=ROOT, timeout=timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        code = -1
    return {"name": name, "seconds": round(time.perf_counter() - start, 1),
            "returncode": code, "ok": code == 0,
            "quick": quick and "--quick" in args}


def main(argv: Sequence[str] | None = None) -> None:
    """Run the chosen (default: all) benchmarks and write the summary."""
    p = parser(__doc__ or "", "run_all")
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per benchmark")
    args = p.parse_args(argv)
    available = discover()
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}")
    results_dir = args.out.parent
    outcomes = [run_one(name, args.quick, results_dir, args.timeout)
                for name in (args.names or available)]
    print()
    print_table(["benchmark", "seconds", "ok"],
                [[o["name"], o["seconds"], "yes" if o["ok"] else f"no ({o['returncode']})"]
                 for o in outcomes])
    write_json(args.out, {"benchmark": "run_all", "machine": machine_info(),
                          "quick": args.quick, "runs": outcomes})
    if not all(o["ok"] for o in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
