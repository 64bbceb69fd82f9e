"""`certify import` of the floors' export against import_floor.py (csv.reader → executemany),
and the peak memory of the import at 1x and 4x the export."""

from __future__ import annotations

from bench.common import (
    DATA,
    IMPORTED_AT,
    Broken,
    Proc,
    Result,
    Side,
    certify,
    export_dir,
    export_rows,
    floor_script,
    measure,
    perf_actions,
    ratio_result,
    remove_db,
    run_process,
)


def certify_import(scale: int) -> Side:
    """`certify import` of the export at `scale` into an empty database."""
    db = DATA / f"import-certify-x{scale}.db"
    expected = sum(export_rows(scale).values())

    def command() -> list[str]:
        remove_db(db)
        return certify(
            "import", export_dir(scale), "--db", db, "--actions", perf_actions(),
            "--now", IMPORTED_AT, "--json",
        )  # fmt: skip

    def check(proc: Proc) -> str:
        inserted = sum(t["inserted"] for t in proc.json()["tables"].values())
        if inserted != expected:
            raise Broken(f"certify import inserted {inserted} rows of {expected}")
        return f"{inserted} rows"

    return Side("certify", command, check)


def floor_import() -> Side:
    db = DATA / "import-floor-x1.db"

    def command() -> list[str]:
        remove_db(db)
        return floor_script("import_floor.py", db, export_dir(1))

    return Side("floor", command)


def run(repeat: int) -> list[Result]:
    rows = sum(export_rows(1).values())
    subject = certify_import(1)
    runs = measure([floor_import(), subject], repeat)
    return [
        ratio_result(
            f"import {rows / 1e6:.2f} M rows (200k enrollments, 800k attendance)",
            runs,
            "certify",
            "floor",
            1.5,
            profile=subject,
            note=f"peak RSS {max(p.rss_mib for p in runs['certify']):.0f} MiB",
        )
    ]


def peak_memory(scale: int) -> Proc:
    """One `certify import` of the export at `scale`, checked; its peak RSS is in the Proc."""
    side = certify_import(scale)
    proc = run_process(side.command())
    if proc.code != 0:
        raise Broken(f"certify import at {scale}x exited {proc.code}: {proc.stderr[-300:]}")
    side.check(proc)
    print(f"     {scale}x: {proc.rss_mib:.0f} MiB peak, {proc.wall:.1f} s", flush=True)
    remove_db(DATA / f"import-certify-x{scale}.db")
    return proc


def run_memory(repeat: int) -> list[Result]:
    one, four = peak_memory(1).rss_mib, peak_memory(4).rss_mib
    return [
        Result(
            "peak memory of certify import, 4x vs 1x the export",
            four,
            one,
            "MiB",
            "flat (<= 1.25x)",
            four / one <= 1.25,
            f"1x {one:.0f} MiB, 4x {four:.0f} MiB (ru_maxrss of the whole process)",
        )
    ]
