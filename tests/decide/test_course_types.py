"""Actions belong to course types, and statuses compare as exports write them (SPEC 8.1, 8.2)."""

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from certify.config import load, status_key, type_key
from certify.decide.facts import unmatched_settings
from certify.decide.plan import make_plan
from certify.store.database import Store
from tests.helpers import TEXT_TEMPLATE, cli, import_into, moment, rows

COURSES = """
    course_id,name,course_type,status,end
    C1,VCA course,VCA,Definitief,2026-11-05 17:00
    C2,BHV course,BHV,DEFINITIEF,2026-11-05 17:00
    C3,Workshop,WORKSHOP,final,2026-11-05 17:00
    C4,Untyped,,final,2026-11-05 17:00
    C5,Old VCA,VCA,final,2025-01-10 17:00
    C6,Old workshop,WORKSHOP,final,2025-01-10 17:00
    C7,VCA to come,VCA,te starten,2026-11-05 17:00
"""
COURSE_TYPES = """
    course_type,attendance_percentage
    FOUR,75
    VCA,75
    BHV,100
    WORKSHOP,67
"""
ENROLLMENTS = "course_id,person_id,enrolled_at\n" + "".join(
    f"C{course},P{person},2026-10-01\n" for course in range(1, 8) for person in (1, 2)
)

ACTIONS = """
version: 1
timezone: Europe/Amsterdam
sender: "Training office <training@example.org>"
actions:
  - id: certificate
    name: "Certificate"
    email_template: certificate
    course_types: [VCA, " bhv "]
    timing: {after: course_end}
    since: 2026-01-01
    conditions:
      course_status: final
      attendance: yes
      pass: yes
  - id: proof
    name: "Proof of participation"
    email_template: certificate
    course_types: BHV
    timing: {after: PROOF_ANCHOR}
    since: 2026-01-01
    conditions:
      course_status: definitief
"""


@pytest.fixture
def typed_courses(tmp_path: Path, export: Callable[..., Path]) -> Path:
    """Seven courses: VCA, BHV, WORKSHOP, untyped, VCA and WORKSHOP history, VCA planned."""
    import_into(
        tmp_path / "c.db",
        export(courses=COURSES, course_types=COURSE_TYPES, enrollments=ENROLLMENTS),
    )
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "certificate.txt.j2").write_text(TEXT_TEMPLATE)
    write_actions(tmp_path, "course_end")
    return tmp_path


def write_actions(directory: Path, proof_anchor: str, text: str = ACTIONS) -> Path:
    path = directory / "actions.yaml"
    path.write_text(text.replace("PROOF_ANCHOR", proof_anchor))
    return path


def run_due(directory: Path, now: str, *options: str) -> str:
    result = cli(
        "run-due",
        "--db",
        str(directory / "c.db"),
        "--actions",
        str(directory / "actions.yaml"),
        "--now",
        now,
        "--transport",
        "dir",
        "--out",
        str(directory / "outbox"),
        *options,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    ("written", "compared"),
    [
        ("final", "final"),
        ("Definitief", "final"),
        ("DEFINITIEF", "final"),
        (" final ", "final"),
        ("Te  Starten", "planned"),
        ("te starten", "planned"),
        ("Afgerond", "completed"),
        ("geannuleerd", "cancelled"),
        ("Open", "open"),
    ],
)
def test_a_status_is_compared_trimmed_in_any_case_and_dutch_as_english(
    written: str, compared: str
) -> None:
    assert status_key(written) == compared


def test_a_course_type_is_compared_trimmed_in_any_case() -> None:
    assert type_key(" vca ") == type_key("VCA") != type_key("VCA2")


@pytest.mark.parametrize("proof_anchor", ["course_end", "participant_added"])
def test_a_type_linked_to_no_action_gets_nothing_and_no_record(
    typed_courses: Path, proof_anchor: str
) -> None:
    """WORKSHOP and untyped courses are linked to neither action; BHV only to both."""
    write_actions(typed_courses, proof_anchor)
    run_due(typed_courses, "2026-11-06T09:00")
    run_due(typed_courses, "2026-11-07T09:00")  # a later tick records nothing more either
    logged = set(
        rows(typed_courses / "c.db", "SELECT action, course_id, person_id, state FROM deliveries")
    )
    assert logged == {
        # P2 misses the attendance of C1; C2 has no requirements
        ("certificate", "C1", "P1", "sent"),
        ("certificate", "C2", "P1", "sent"),
        ("certificate", "C2", "P2", "sent"),
        ("proof", "C2", "P1", "sent"),
        ("proof", "C2", "P2", "sent"),
        # history of a linked course is recorded; of WORKSHOP (C6) nothing
        ("certificate", "C5", "P1", "skipped"),
        ("certificate", "C5", "P2", "skipped"),
    }
    assert {
        row[0] for row in rows(typed_courses / "c.db", "SELECT course_id FROM course_skips")
    } <= {"C5"}
    assert sorted(p.name for p in (typed_courses / "outbox").iterdir()) == sorted(
        f"{action}--C{course}--P{person}.eml"
        for action, course, person in [
            ("certificate", 1, 1),
            ("certificate", 2, 1),
            ("certificate", 2, 2),
            ("proof", 2, 1),
            ("proof", 2, 2),
        ]
    )


@pytest.mark.parametrize("proof_anchor", ["course_end", "participant_added"])
def test_a_course_not_linked_is_not_counted_as_waiting(
    typed_courses: Path, proof_anchor: str
) -> None:
    config = load(write_actions(typed_courses, proof_anchor))
    store = Store.open_readonly(typed_courses / "c.db")
    try:
        before = make_plan(store, config, moment("2026-11-05 12:00"))
        after = make_plan(store, config, moment("2026-11-06 09:00"))
    finally:
        store.close()
    linked = {"C1", "C2", "C5", "C7"}
    assert not [
        d
        for d in before.decisions + after.decisions
        if d.course.id not in linked and d.outcome != "not_linked"
    ]
    # before the due moment: certificate for C1, C2, C7 and (course_end) proof for C2
    waiting_for_due = len(before.by_outcome("not_due")) + before.not_due_elsewhere
    assert waiting_for_due == (8 if proof_anchor == "course_end" else 6)
    assert after.waiting_summary() == {
        "certificate: attendance: present 1 of 4, needs 3": 1,
        # the status as the data writes it
        "certificate: course status 'te starten', needs final": 2,
    }


def test_explain_says_in_one_line_that_a_type_is_not_linked(typed_courses: Path) -> None:
    common = ("--db", str(typed_courses / "c.db"), "--actions", str(typed_courses / "actions.yaml"))
    result = cli(
        "explain", "--course", "C3", "--person", "P1", "--now", "2026-11-06T09:00", *common
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    at = lines.index("Certificate: not_linked — nothing is sent for courses of this type")
    assert lines[at + 1].strip() == (
        "course type WORKSHOP is not linked to this action (linked: VCA, bhv)"
    )
    at = lines.index(
        "Proof of participation: not_linked — nothing is sent for courses of this type"
    )
    assert lines[at + 1].strip() == (
        "course type WORKSHOP is not linked to this action (linked: BHV)"
    )
    untyped = cli(
        "explain",
        "--course",
        "C4",
        "--person",
        "P1",
        "--now",
        "2026-11-06T09:00",
        "--json",
        *common,
    )
    by_action = {a["action"]: a for a in json.loads(untyped.stdout)["actions"]}
    certificate = by_action["certificate"]
    assert certificate["state"] == "not_linked"
    assert certificate["conditions"]["course_type"] == {
        "value": None,
        "linked_types": ["VCA", "bhv"],
        "linked": False,
    }
    assert certificate["lines"] == [
        "the course has no course type; this action is linked to VCA, bhv only"
    ]
    linked = cli(
        "explain",
        "--course",
        "C2",
        "--person",
        "P1",
        "--now",
        "2026-11-06T09:00",
        "--json",
        *common,
    )
    proof = {a["action"]: a for a in json.loads(linked.stdout)["actions"]}["proof"]
    assert proof["conditions"]["course_type"] == {
        "value": "BHV",
        "linked_types": ["BHV"],
        "linked": True,
    }
    assert proof["conditions"]["course_status"]["ok"] is True  # DEFINITIEF is definitief


def test_statuses_as_the_export_writes_them_all_match(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    """`Definitief`, `DEFINITIEF`, `final` and `Final` in one export all match `final`."""
    courses = "course_id,name,status,end\n" + "".join(
        f"C{i},Course {i},{status},2026-11-05 17:00\n"
        for i, status in enumerate(["Definitief", "DEFINITIEF", "final", "Final", "planned"])
    )
    enrollments = "course_id,person_id\n" + "".join(f"C{i},P1\n" for i in range(5))
    import_into(tmp_path / "c.db", export(courses=courses, enrollments=enrollments))
    text = ACTIONS.replace('    course_types: [VCA, " bhv "]\n', "")
    text = text.replace("    course_types: BHV\n", "").replace("      attendance: yes\n", "")
    text = text.replace("      pass: yes\n", "")
    config = load(write_actions(tmp_path, "course_end", text))
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "certificate.txt.j2").write_text(TEXT_TEMPLATE)
    store = Store.open_readonly(tmp_path / "c.db")
    try:
        plan = make_plan(store, config, moment("2026-11-06 09:00"))
    finally:
        store.close()
    sent = {(d.action.id, d.course.id) for d in plan.by_outcome("send")}
    assert sent == {(action, f"C{i}") for action in ("certificate", "proof") for i in range(4)}
    assert {d.course.id for d in plan.by_outcome("waiting")} == {"C4"}


def test_settings_that_match_nothing_in_the_database_are_located_warnings(
    typed_courses: Path,
) -> None:
    text = ACTIONS.replace("course_status: final", "course_status: [final, finall, Open]").replace(
        'course_types: [VCA, " bhv "]', "course_types: [VCA, VCAA, workshop]"
    )
    path = write_actions(typed_courses, "course_end", text)
    config = load(path)
    conn = sqlite3.connect(typed_courses / "c.db")
    try:
        warnings = unmatched_settings(conn, config)
        conn.execute("DELETE FROM enrollments")
        conn.execute("DELETE FROM parts")
        conn.execute("DELETE FROM courses")
        assert unmatched_settings(conn, config) == []  # nothing imported yet: nothing to say
    finally:
        conn.close()
    assert warnings == [
        f"{path}:13:30: course_status 'finall' matches no course in the database "
        "(statuses there: final, planned; did you mean 'final'?)",
        f"{path}:13:38: course_status 'Open' matches no course in the database "
        "(statuses there: final, planned)",
        f"{path}:9:25: course type 'VCAA' is not a known course type "
        "(known: BHV, FOUR, VCA, WORKSHOP; did you mean 'VCA'?); remove it from "
        "course_types if no course has it, or import the course type",
    ]


def test_a_type_only_a_course_uses_is_known(typed_courses: Path) -> None:
    """Known types are those of course_types.csv and those courses use."""
    conn = sqlite3.connect(typed_courses / "c.db")
    try:
        conn.execute("DELETE FROM course_types WHERE course_type = 'BHV'")
        conn.commit()
        assert unmatched_settings(conn, load(typed_courses / "actions.yaml")) == []
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("course_types: []", "course_types is an empty list; leave it out to mean any"),
        ('course_types: [VCA, " "]', "course_types holds an empty value"),
        ("course_types: {VCA: 1}", "course_types is a word or a list of words, not a mapping"),
    ],
)
def test_course_types_mistakes_are_located(typed_courses: Path, written: str, problem: str) -> None:
    path = write_actions(
        typed_courses, "course_end", ACTIONS.replace('course_types: [VCA, " bhv "]', written)
    )
    result = cli("validate", "--actions", str(path))
    assert result.returncode == 1
    assert f"{path}:9:" in result.stderr and problem in result.stderr, result.stderr


def test_course_type_codes_may_be_numbers(typed_courses: Path) -> None:
    path = write_actions(
        typed_courses, "course_end", ACTIONS.replace('[VCA, " bhv "]', "[101, VCA]")
    )
    assert load(path).actions[0].course_types == ["101", "VCA"]


def test_sending_by_hand_to_a_course_not_linked_needs_force(typed_courses: Path) -> None:
    common = ("--db", str(typed_courses / "c.db"), "--actions", str(typed_courses / "actions.yaml"))
    transport = ("--transport", "dir", "--out", str(typed_courses / "outbox"))
    send = ("send", "certificate", "--course", "C3", "--person", "P1", "--now", "2026-11-06T09:00")
    refused = cli(*send, *common, *transport)
    assert refused.returncode == 1
    assert "course type WORKSHOP is not linked to this action" in refused.stderr, refused.stderr
    forced = cli(*send, "--force", "--reason", "a one-off", *common, *transport)
    assert forced.returncode == 0, forced.stderr
    assert rows(typed_courses / "c.db", "SELECT state FROM deliveries WHERE course_id = 'C3'") == [
        ("sent",)
    ]
