"""`make bench`: run every benchmarks/bench_*.py and print one table."""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Figure  # noqa: E402


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    only = set(argv)
    figures: list[Figure] = []
    started = time.perf_counter()
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem not in only and path.stem.removeprefix("bench_") not in only:
            continue
        print(f"running {path.stem} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            figures.extend(load(path).run())
        except Exception as exc:  # one broken bench must not hide the others' figures
            traceback.print_exc()
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:60]
            figures.append(Figure(name=f"{path.stem}: did not run", value=float("nan"), unit="", against=reason,
                                  limit=float("nan"), target="runs", met=False))
        print(f"  {path.stem} took {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; suite took {time.perf_counter() - started:.0f} s\n")
    header = f"| {'benchmark':<46} | {'figure':>14} | {'against':<34} | {'limit':>14} | {'ratio':>7} | {'target':<16} | met |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for f in figures:
        print(f"| {f.name:<46} | {f.value:>10.4g} {f.unit:<3} | {f.against:<34} | {f.limit:>10.4g} {f.unit:<3} "
              f"| {f.ratio:>7.2f} | {f.target:<16} | {'yes' if f.met else 'NO':<3} |")
    return 1 if any(f.name.endswith(": did not run") for f in figures) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
