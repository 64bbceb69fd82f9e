"""`certify import` of the synthetic export against csv.reader → executemany into the same tables."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import DATA, Result, export_dir, interleaved, median, timed
from certify.importer import import_files
from certify.store import Store

FLOOR_COLUMNS = {
    "course_types": ("course_type", "attendance_percentage"),
    "persons": ("person_id", "first_name", "infix", "last_name", "email", "language"),
    "courses": ("course_id", "name", "course_type", "status", "start", "end"),
    "parts": ("part_id", "course_id", "name", "attendance_required", "pass_required"),
    "enrollments": ("course_id", "person_id", "status", "enrolled_at"),
    "attendance": ("part_id", "person_id", "present", "registered_at"),
    "results": ("part_id", "person_id", "passed", "grade", "registered_at"),
}


def fresh_store(path: Path) -> Store:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Store.open(path)


def floor_import(export: Path, db: Path) -> None:
    """No validation, no coercion, no bookkeeping: the least any import must do."""
    store = fresh_store(db)
    conn = store.conn
    conn.execute("BEGIN")
    for table, columns in FLOOR_COLUMNS.items():
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" * len(columns))
        if table == "enrollments":
            names, marks = names + ", first_seen_at", marks + ", '2026-11-01T00:00:00Z'"
        with (export / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader)
            conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", reader)
    conn.execute("COMMIT")
    store.close()


def certify_import(export: Path, db: Path) -> None:
    store = fresh_store(db)
    import_files(
        store, [export], tz=ZoneInfo("Europe/Amsterdam"), now=datetime(2026, 11, 1, tzinfo=UTC)
    )
    store.close()


def run(repeat: int) -> list[Result]:
    export = export_dir(1)
    db = DATA / "import.db"
    subjects, floors = interleaved(
        lambda: timed(lambda: certify_import(export, db)),
        lambda: timed(lambda: floor_import(export, db)),
        repeat,
    )
    subject, floor = median(subjects), median(floors)
    return [
        Result(
            "import 200k enrollments / 800k attendance rows",
            subject,
            floor,
            "s",
            "<= 2.0x floor",
            subject / floor <= 2.0,
            f"runs {', '.join(f'{s:.1f}' for s in subjects)} vs {', '.join(f'{f:.1f}' for f in floors)}",
        )
    ]


def peak_memory(scale: int) -> float:
    """Peak resident memory (MiB) of a separate process importing the export at `scale`."""
    export = export_dir(scale)
    db = DATA / f"memory-x{scale}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    code = (
        "import resource, sys\n"
        "from bench.bench_import import certify_import\n"
        "from pathlib import Path\n"
        f"certify_import(Path({str(export)!r}), Path({str(db)!r}))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def run_memory() -> list[Result]:
    one, four = peak_memory(1), peak_memory(4)
    return [
        Result(
            "peak memory of import, 4x vs 1x the export",
            four,
            one,
            "MiB",
            "flat (<= 1.25x)",
            four / one <= 1.25,
            f"1x {one:.0f} MiB, 4x {four:.0f} MiB",
        )
    ]


if __name__ == "__main__":
    print(json.dumps([vars(r) for r in run(1)], indent=2))
