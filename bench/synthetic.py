"""A synthetic export the size of a large training organisation's history."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

PARTS_PER_COURSE = 4
PARTICIPANTS_PER_COURSE = 20


def write_export(directory: Path, courses: int, *, seed: int = 7) -> dict[str, int]:
    """`courses` courses x 4 parts x 20 participants; returns rows written per table."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    persons = max(courses * PARTICIPANTS_PER_COURSE // 4, PARTICIPANTS_PER_COURSE)
    counts: dict[str, int] = {}

    def table(name: str, header: list[str]) -> tuple[csv.Writer, object]:  # type: ignore[name-defined]
        handle = (directory / f"{name}.csv").open("w", newline="", encoding="utf-8")
        writer = csv.writer(handle)
        writer.writerow(header)
        return writer, handle

    w, h = table("course_types", ["course_type", "attendance_percentage"])
    w.writerows([["T75", 75], ["T100", 100], ["T50", 50]])
    h.close()  # type: ignore[attr-defined]
    counts["course_types"] = 3

    w, h = table("persons", ["person_id", "first_name", "infix", "last_name", "email", "language"])
    for n in range(persons):
        w.writerow(
            [
                f"P{n}",
                f"Voornaam{n}",
                "van der" if n % 5 == 0 else "",
                f"Achternaam{n}",
                f"p{n}@example.org",
                "nl",
            ]
        )
    h.close()  # type: ignore[attr-defined]
    counts["persons"] = persons

    courses_w, ch = table("courses", ["course_id", "name", "course_type", "status", "start", "end"])
    parts_w, ph = table(
        "parts", ["part_id", "course_id", "name", "attendance_required", "pass_required"]
    )
    enr_w, eh = table("enrollments", ["course_id", "person_id", "status", "enrolled_at"])
    att_w, ah = table("attendance", ["part_id", "person_id", "present", "registered_at"])
    res_w, rh = table("results", ["part_id", "person_id", "passed", "grade", "registered_at"])
    first_day = date(2020, 1, 6)
    enrollments = attendance = results = 0
    for c in range(courses):
        start = first_day + timedelta(days=(c * 2190) // max(courses, 1))
        end = start + timedelta(days=21)
        status = "final" if rng.random() < 0.9 else "planned"
        courses_w.writerow(
            [
                f"C{c}",
                f"Course {c}",
                rng.choice(["T75", "T100", "T50"]),
                status,
                start.strftime("%d-%m-%Y"),
                end.strftime("%d-%m-%Y"),
            ]
        )
        for p in range(PARTS_PER_COURSE):
            parts_w.writerow(
                [
                    f"C{c}-{p}",
                    f"C{c}",
                    f"Part {p}",
                    "ja",
                    "ja" if p == PARTS_PER_COURSE - 1 else "nee",
                ]
            )
        members = rng.sample(range(persons), PARTICIPANTS_PER_COURSE)
        for person in members:
            enr_w.writerow([f"C{c}", f"P{person}", "enrolled", start.isoformat()])
            enrollments += 1
            for p in range(PARTS_PER_COURSE):
                day = start + timedelta(days=7 * p)
                att_w.writerow(
                    [
                        f"C{c}-{p}",
                        f"P{person}",
                        "ja" if rng.random() < 0.85 else "nee",
                        f"{day.isoformat()} 17:{rng.randrange(60):02d}",
                    ]
                )
                attendance += 1
            passed = rng.random() < 0.8
            res_w.writerow(
                [
                    f"C{c}-{PARTS_PER_COURSE - 1}",
                    f"P{person}",
                    "ja" if passed else "nee",
                    "7" if passed else "4",
                    f"{end.isoformat()} 12:00",
                ]
            )
            results += 1
    for handle in (ch, ph, eh, ah, rh):
        handle.close()  # type: ignore[attr-defined]
    counts.update(
        courses=courses,
        parts=courses * PARTS_PER_COURSE,
        enrollments=enrollments,
        attendance=attendance,
        results=results,
    )
    return counts
