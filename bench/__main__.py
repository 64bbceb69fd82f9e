"""`make bench`: every performance target of the project, each against a floor measured in
the same run on the same (shared, noisy) machine. Quote ratios and medians, not single runs."""

from __future__ import annotations

import argparse
import json
import platform
import time

from bench import bench_faults, bench_import, bench_pdf, bench_run, bench_smtp
from bench.common import DATA, Result

SUITES = {
    "import": lambda r: bench_import.run(r),
    "memory": lambda r: bench_import.run_memory(),
    "plan": lambda r: bench_run.run_plan(r),
    "write": lambda r: bench_run.run_write(r),
    "tick": lambda r: bench_run.run_tick(r),
    "smtp": lambda r: bench_smtp.run(r),
    "pdf": lambda r: bench_pdf.run(r),
    "faults": lambda r: bench_faults.run(r),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs per measurement")
    parser.add_argument(
        "--only", default=",".join(SUITES), help=f"comma list of {', '.join(SUITES)}"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    started = time.time()
    for name in args.only.split(","):
        print(f"-- {name} ...", flush=True)
        for result in SUITES[name](args.repeat):
            results.append(result)
            print(_line(result), flush=True)
    if args.json:
        print(
            json.dumps(
                [{**vars(r), "ratio": r.ratio if r.kind == "ratio" else None} for r in results],
                indent=2,
            )
        )
    print(
        f"\n{platform.python_implementation()} {platform.python_version()}, "
        f"{time.time() - started:.0f} s in all, medians of {args.repeat}"
    )
    failed = [r for r in results if not r.ok]
    print("all targets met" if not failed else f"{len(failed)} target(s) missed")


def _line(r: Result) -> str:
    mark = "ok  " if r.ok else "MISS"
    if r.kind == "count":
        return f"{mark} {r.name}: {r.subject:g} {r.unit} (target {r.target}); {r.note}"
    return (
        f"{mark} {r.name}: {r.subject:.3g} {r.unit} vs floor {r.floor:.3g} {r.unit} "
        f"= {r.ratio:.2f}x (target {r.target}){'; ' + r.note if r.note else ''}"
    )


if __name__ == "__main__":
    main()
