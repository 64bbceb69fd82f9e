"""What the report's page reads of the courses it shows, besides the planner's facts:
their headings, the names of their participants, and per part what is registered."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from certify.clock import from_utc_text, to_utc_text
from certify.config import Config
from certify.decide.facts import by_id


class CourseListing(NamedTuple):
    """What a course's heading shows besides its facts: when it starts and where."""

    course_id: str
    start: datetime | None
    end_is_date: bool  # the export gave a day, stored as the midnight after it
    location: str


def courses_ending(
    conn: sqlite3.Connection, first_end: datetime, last_end: datetime, also: Iterable[str] = ()
) -> list[CourseListing]:
    """The courses ending in [first_end, last_end], and the ones named in `also`."""
    return [
        CourseListing(course_id, from_utc_text(start) if start else None, bool(date), location)
        for course_id, start, date, location in conn.execute(
            "SELECT course_id, start, end_is_date, coalesce(location, '') FROM courses "
            'WHERE ("end" >= :first AND "end" <= :last) '
            "OR course_id IN (SELECT value FROM json_each(:also))",
            {
                "first": to_utc_text(first_end),
                "last": to_utc_text(last_end),
                "also": json.dumps(list(also)),
            },
        )
    ]


# a person's name as the page shows it: the person_id stands in for a blank name
_NAMES_OF = (
    "SELECT p.person_id, coalesce(nullif(trim(p.full_name), ''), p.person_id) "
    "FROM persons p WHERE p.person_id IN "
)


def enrolled_names(conn: sqlite3.Connection, course_ids: list[str]) -> dict[str, str]:
    """Person id → full name of everyone enrolled in these courses (the id when blank)."""
    enrolled = (
        "SELECT e.person_id FROM enrollments e "
        "WHERE e.course_id IN (SELECT value FROM json_each(?))"
    )
    return by_id(conn, f"{_NAMES_OF}({enrolled})", course_ids)


def full_names(conn: sqlite3.Connection, person_ids: list[str]) -> dict[str, str]:
    """Person id → full name of these persons (the id when blank)."""
    return by_id(conn, f"{_NAMES_OF}(SELECT value FROM json_each(?))", person_ids)


class PartRegistration(NamedTuple):
    """One part of a participant's course: what it requires and whether anything is registered."""

    course_id: str
    person_id: str
    name: str
    start: datetime | None
    attendance_counts: bool  # a part of R under the configured attendance basis
    pass_required: bool
    attended: bool  # an attendance row, present or not
    has_result: bool


def part_registrations(
    conn: sqlite3.Connection, config: Config, who: list[tuple[str, str]]
) -> list[PartRegistration]:
    """Every part of these (course, person) participants' courses, the earliest first."""
    rows = conn.execute(
        "WITH who AS (SELECT json_extract(value, '$[0]') AS course_id, "
        "json_extract(value, '$[1]') AS person_id FROM json_each(:who)), "
        "counted AS (SELECT course_id, max(attendance_required) AS any_required FROM parts "
        "WHERE course_id IN (SELECT course_id FROM who) GROUP BY course_id) "
        "SELECT w.course_id, w.person_id, p.name, p.start, "
        "(p.attendance_required = 1 OR (:all_parts AND c.any_required = 1)), p.pass_required, "
        "EXISTS (SELECT 1 FROM attendance a WHERE a.part_id = p.part_id "
        "AND a.person_id = w.person_id), "
        "EXISTS (SELECT 1 FROM results r WHERE r.part_id = p.part_id "
        "AND r.person_id = w.person_id) "
        "FROM who w JOIN parts p ON p.course_id = w.course_id "
        "JOIN counted c ON c.course_id = w.course_id ORDER BY p.start, p.part_id",
        {
            "who": json.dumps(who),
            "all_parts": int(config.settings.attendance_basis == "all_parts"),
        },
    )
    return [
        PartRegistration(
            course_id,
            person_id,
            name,
            from_utc_text(start) if start else None,
            bool(counts),
            bool(pass_required),
            bool(attended),
            bool(has_result),
        )
        for course_id, person_id, name, start, counts, pass_required, attended, has_result in rows
    ]
