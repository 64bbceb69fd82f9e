"""`certify import` of a flat export (one row per participant per part, Dutch headers,
SPEC 9.2) against flat_floor.py (every row read and inserted as-is into one bare table):
the CSV of 160,000 rows and a workbook (.xlsx) of 40,000."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.common import (
    DATA,
    IMPORTED_AT,
    Broken,
    Proc,
    Result,
    Side,
    certify,
    floor_script,
    floors,
    measure,
    ratio_result,
    remove_db,
)


def flat_export(suffix: str, courses: int) -> tuple[Path, int]:
    """gen_flat.py's export as `flat.SUFFIX` in a folder of its own, made once; its rows."""
    directory = DATA / f"flat-{suffix}-{courses}"
    path = directory / f"flat.{suffix}"
    marker = directory / ".complete"
    if not marker.exists():
        directory.mkdir(parents=True, exist_ok=True)
        print(f"     generating {path} ...", flush=True)
        command = floor_script("gen_flat.py", path, "--courses", str(courses))
        subprocess.run(command, check=True, capture_output=True)
        marker.write_text(str(courses * 4 * 20))
    return path, int(marker.read_text())


def flat_actions() -> Path:
    """flat_world/actions.yaml as it is, its templates folder made absolute."""
    source = floors() / "flat_world" / "actions.yaml"
    text = source.read_text(encoding="utf-8")
    text = text.replace("templates_dir: ../", f"templates_dir: {source.parent.parent}/")
    target = DATA / "flat_world_actions.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def certify_side(path: Path, rows: int, actions: Path) -> Side:
    db = DATA / f"flat-certify-{path.suffix[1:]}.db"

    def command() -> list[str]:
        remove_db(db)
        return certify(
            "import", path.parent, "--db", db, "--actions", actions,
            "--now", IMPORTED_AT, "--json",
        )  # fmt: skip

    def check(proc: Proc) -> str:
        attendance = proc.json()["tables"]["attendance"]["inserted"]
        if attendance != rows:
            raise Broken(f"certify import inserted {attendance} attendance rows of {rows}")
        return f"{attendance} attendance rows"

    return Side("certify", command, check)


def floor_side(path: Path) -> Side:
    db = DATA / f"flat-floor-{path.suffix[1:]}.db"

    def command() -> list[str]:
        remove_db(db)
        return floor_script("flat_floor.py", db, path)

    return Side("floor", command)


def run(repeat: int) -> list[Result]:
    actions = flat_actions()
    results = []
    for suffix, courses in (("csv", 2_000), ("xlsx", 500)):
        path, rows = flat_export(suffix, courses)
        subject = certify_side(path, rows, actions)
        runs = measure([floor_side(path), subject], repeat)
        results.append(
            ratio_result(
                f"import a flat {suffix.upper()} of {rows:,} rows",
                runs,
                "certify",
                "floor",
                1.5,
                profile=subject,
            )
        )
    return results
