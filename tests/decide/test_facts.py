"""The readers of courses, persons and parts that the report's page is built from."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from certify.decide.facts import ParticipantReader, course_ends, course_facts, participant_rows
from certify.report.roster import (
    CourseListing,
    PartRegistration,
    courses_ending,
    enrolled_names,
    full_names,
    part_registrations,
)
from certify.store.database import Store
from tests.helpers import import_into, make_config, moment

WORLD = {
    "courses": """
        course_id,name,course_type,status,start,end,location
        C1,Display training,FOUR,final,2026-11-01,2026-11-05 17:00,Utrecht
        C2,Forklift training,FOUR,final,2026-11-20 09:00,2026-12-01,
        C3,Old training,FOUR,final,2026-03-01,2026-03-02 17:00,Zwolle
    """,
    "parts": """
        part_id,course_id,name,start,end,attendance_required,pass_required
        C1-2,C1,Day 2,2026-11-03 09:00,2026-11-03 17:00,no,no
        C1-1,C1,Day 1,2026-11-02 09:00,2026-11-02 17:00,yes,no
        C1-3,C1,Exam,2026-11-05 09:00,2026-11-05 17:00,yes,yes
        C2-1,C2,Day 1,2026-11-20 09:00,2026-11-20 17:00,yes,no
    """,
    "persons": """
        person_id,first_name,infix,last_name,email
        P1,Bram,van der,Berg,bram@example.org
        P2,Zoë,,Öztürk,zoe@example.org
        P3,,,,nameless@example.org
    """,
    "enrollments": """
        course_id,person_id,enrolled_at
        C1,P1,2026-10-01
        C1,P2,2026-10-01
        C2,P3,2026-10-01
    """,
    "attendance": """
        part_id,person_id,present,registered_at
        C1-1,P1,yes,2026-11-02 17:00
        C1-3,P1,yes,2026-11-05 17:00
        C1-1,P2,no,2026-11-02 17:00
    """,
    "results": """
        part_id,person_id,passed,registered_at
        C1-3,P1,no,2026-11-05 18:00
    """,
}


@pytest.fixture
def conn(tmp_path: Path, export: Callable[..., Path]) -> Iterator[sqlite3.Connection]:
    db = tmp_path / "certify.db"
    import_into(db, export(**WORLD))
    with Store.open_readonly(db) as store:
        yield store.conn


def test_courses_ending_gives_the_window_and_the_named_courses(conn: sqlite3.Connection) -> None:
    first, last = moment("2026-11-05 17:00"), moment("2026-12-31 00:00")
    window = sorted(courses_ending(conn, first, last))
    assert window == [
        CourseListing("C1", moment("2026-11-01 00:00"), False, "Utrecht"),
        CourseListing("C2", moment("2026-11-20 09:00"), True, ""),  # a day, and no place
    ]
    assert [c.course_id for c in courses_ending(conn, moment("2026-11-05 17:01"), last)] == ["C2"]
    also = sorted(c.course_id for c in courses_ending(conn, first, last, also=["C3", "nope"]))
    assert also == ["C1", "C2", "C3"]


def test_enrolled_names_are_of_the_courses_participants(conn: sqlite3.Connection) -> None:
    assert enrolled_names(conn, ["C1"]) == {"P1": "Bram van der Berg", "P2": "Zoë Öztürk"}
    assert enrolled_names(conn, ["C2"]) == {"P3": "P3"}  # no name: the id stands in
    assert enrolled_names(conn, []) == {}


def test_full_names_of_persons_by_id(conn: sqlite3.Connection) -> None:
    assert full_names(conn, ["P2", "P3", "P9"]) == {"P2": "Zoë Öztürk", "P3": "P3"}


def test_part_registrations_say_what_each_part_requires_and_what_is_registered(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    config = make_config(tmp_path)
    rows = part_registrations(conn, config, [("C1", "P2"), ("C1", "P1")])
    by_person = {
        person: [row for row in rows if row.person_id == person] for person in ("P1", "P2")
    }
    # the earliest part first; under `required_parts` the optional Day 2 does not count
    assert by_person["P2"][0] == PartRegistration(
        course_id="C1",
        person_id="P2",
        name="Day 1",
        start=moment("2026-11-02 09:00"),
        attendance_counts=True,
        pass_required=False,
        attended=True,  # registered absent is registered
        has_result=False,
    )
    assert [
        (r.name, r.attendance_counts, r.pass_required, r.attended, r.has_result)
        for r in by_person["P2"]
    ] == [
        ("Day 1", True, False, True, False),
        ("Day 2", False, False, False, False),
        ("Exam", True, True, False, False),
    ]
    assert [(r.name, r.attended, r.has_result) for r in by_person["P1"]] == [
        ("Day 1", True, False),
        ("Day 2", False, False),
        ("Exam", True, True),  # a result that says `failed` is still a result
    ]
    (tmp_path / "all").mkdir()
    all_parts = make_config(tmp_path / "all", top="attendance_basis: all_parts\n")
    counted = part_registrations(conn, all_parts, [("C1", "P2")])
    assert [row.attendance_counts for row in counted] == [True, True, True]
    assert part_registrations(conn, config, []) == []


def test_course_ends_are_the_earliest_first_and_facts_read_the_courses_asked(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    ends = course_ends(conn)
    assert [(c.id, c.end, c.course_type) for c in ends] == [
        ("C3", moment("2026-03-02 17:00"), "FOUR"),
        ("C1", moment("2026-11-05 17:00"), "FOUR"),
        ("C2", moment("2026-12-02 00:00"), "FOUR"),  # a day: the midnight after it
    ]
    config = make_config(tmp_path)
    every = course_facts(conn, config)
    assert course_facts(conn, config, ["C2", "nope"]) == {"C2": every["C2"]}
    assert course_facts(conn, config, []) == {}
    # C1: Day 1 and the exam count for attendance, the exam for the pass
    assert (every["C1"].attendance_parts, every["C1"].pass_parts) == (2, 1)


def test_participant_rows_are_what_participants_are_read_from(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    config = make_config(tmp_path)
    rows = sorted(participant_rows(conn, config, course_ids=["C1", "C2"]))
    # the usual status is left out (None), the results are their flags
    assert rows == [
        ("C1", "P1", None, "2026-09-30T22:00:00Z", 2, "0", None),
        ("C1", "P2", None, "2026-09-30T22:00:00Z", 0, None, None),
        ("C2", "P3", None, "2026-09-30T22:00:00Z", 0, None, None),
    ]
    assert (rows[0].course_id, rows[0].present, rows[0].results) == ("C1", 2, "0")
    assert rows[0].logged_states() == ()  # no action's state asked for
    (asked,) = participant_rows(conn, config, person_id="P1", states_of=["certificate", "proof"])
    assert asked.logged_states() == (None, None)  # per action: nothing logged
    read = ParticipantReader()
    first = read(rows[0])
    assert (first.status, first.present, first.passed, first.failed_parts) == ("enrolled", 2, 0, 1)
    assert first.enrolled_at == moment("2026-10-01 00:00")
    assert read(rows[1]).enrolled_at is first.enrolled_at  # one moment read once
