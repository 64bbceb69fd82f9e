"""`make bench`: every performance target of the project, each a whole `python -m certify`
process against a floor measured in the same run, interleaved, on the same (shared, noisy)
machine. Quote ratios and medians, not single runs."""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import time

from bench import (
    bench_faults,
    bench_flat,
    bench_import,
    bench_pdf,
    bench_register,
    bench_run,
    bench_smtp,
)
from bench.common import DATA, ROOT, Broken, FloorsMissing, Result, broken_result, floors, profile

SUITES = {
    "import": lambda r: bench_import.run(r),
    "memory": lambda r: bench_import.run_memory(r),
    "flat": lambda r: bench_flat.run(r),
    "plan": lambda r: bench_run.run_plan(r),
    "plan-renewal": lambda r: bench_run.run_plan_renewal(r),
    "render": lambda r: bench_run.run_render(r),
    "write": lambda r: bench_run.run_write(r),
    "smtp": lambda r: bench_smtp.run(r),
    "tick": lambda r: bench_run.run_tick(r),
    "pdf": lambda r: bench_pdf.run(r),
    "faults": lambda r: bench_faults.run(r),
    "register-pdf": lambda r: bench_register.run_pdf(r),
    "register-site": lambda r: bench_register.run_site(r),
    "register-sign": lambda r: bench_register.run_signed(r),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds per measure")
    parser.add_argument(
        "--only", default=",".join(SUITES), help=f"comma list of {', '.join(SUITES)}"
    )
    parser.add_argument("--json", action="store_true", help="print every result as JSON")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after a missed target, cProfile one more run of certify's side (top 15)",
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    try:
        print(f"floors: {floors()}", flush=True)
    except FloorsMissing as missing:
        print(f"error: {missing}", file=sys.stderr)
        sys.exit(2)
    DATA.mkdir(parents=True, exist_ok=True)
    # as an installed package has them: with PYTHONDONTWRITEBYTECODE set (as on the shared
    # machines) every process would otherwise compile certify from source again
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "certify")], check=True)
    results: list[Result] = []
    started = time.time()
    for name in chosen:
        print(f"-- {name} ...", flush=True)
        try:
            suite_results = SUITES[name](args.repeat)
        except Broken as error:
            suite_results = [broken_result(name, error)]
        for result in suite_results:
            results.append(result)
            print(_line(result), flush=True)
            if args.profile and not result.ok and result.profile is not None:
                print(f"     profile of certify's side of '{result.name}':", flush=True)
                print("       " + profile(result.profile).replace("\n", "\n       "), flush=True)
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
    print(f"\n{platform.python_implementation()} {platform.python_version()}, medians of "
          f"{args.repeat}, {time.time() - started:.0f} s in all")  # fmt: skip
    for result in results:
        print(_line(result))
    failed = [r for r in results if not r.ok]
    print("all targets met" if not failed else f"{len(failed)} target(s) missed")


def _line(r: Result) -> str:
    mark = "ok  " if r.ok else "MISS"
    if math.isnan(r.subject):
        return f"{mark} {r.name}: {r.note}"
    if r.kind == "count":
        return f"{mark} {r.name}: {r.subject:g} {r.unit} (target {r.target}); {r.note}"
    return (
        f"{mark} {r.name}: {r.subject:.3g} {r.unit} vs {r.floor:.3g} {r.unit} "
        f"= {r.ratio:.2f}x (target {r.target}){'; ' + r.note if r.note else ''}"
    )


if __name__ == "__main__":
    main()
