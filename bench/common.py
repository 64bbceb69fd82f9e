"""Timing helpers: interleaved repeats, medians, ratios; fixtures shared by the benchmarks."""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.synthetic import write_export

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
COURSES_AT_1X = 10_000


@dataclass
class Result:
    name: str
    subject: float  # median seconds (or a rate, see unit)
    floor: float
    unit: str
    target: str
    ok: bool
    note: str = ""
    kind: str = "ratio"  # or "count": `subject` is a count against a target, no floor

    @property
    def ratio(self) -> float:
        return self.subject / self.floor if self.floor else float("inf")


def interleaved(
    subject: Callable[[], float], floor: Callable[[], float], repeat: int
) -> tuple[list[float], list[float]]:
    """Alternate the two so that both see the same noise on a shared machine."""
    subjects, floors = [], []
    for _ in range(repeat):
        floors.append(floor())
        subjects.append(subject())
    return subjects, floors


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def export_dir(scale: int) -> Path:
    """The synthetic export at `scale` × (10,000 courses × 4 parts × 20 participants)."""
    directory = DATA / f"export-x{scale}"
    marker = directory / ".complete"
    if not marker.exists():
        shutil.rmtree(directory, ignore_errors=True)
        write_export(directory, COURSES_AT_1X * scale)
        marker.touch()
    return directory


BENCH_ACTIONS = """version: 1
timezone: Europe/Amsterdam
templates_dir: {templates}
sender: "Opleidingsbureau <opleidingen@example.org>"
actions:
  - id: certificate
    name: "Certificate [Opleiding:Naam] - [Persoon:NaamVolledig]"
    email_template: certificate
    timing: {{after: course_end, offset: 1, unit: days, at: "09:00"}}
    since: 2000-01-01
    conditions: {{course_status: final, attendance: {attendance}, pass: {passing}}}
  - id: proof-of-participation
    name: "Proof [Opleiding:Naam] - [Persoon:NaamVolledig]"
    email_template: proof_of_participation
    timing: {{after: course_end, offset: 1, unit: days, at: "09:00"}}
    since: 2000-01-01
    conditions: {{course_status: final, attendance: {attendance}, pass: no}}
"""


def bench_actions(directory: Path, *, attendance: str = "yes", passing: str = "yes") -> Path:
    """An actions.yaml that covers all history on purpose (`since: 2000-01-01`)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "actions.yaml"
    path.write_text(
        BENCH_ACTIONS.format(templates=ROOT / "templates", attendance=attendance, passing=passing)
    )
    return path
