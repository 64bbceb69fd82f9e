"""A tick long after the last course learns from a few counts that no course needs reading,
and plans exactly what reading every course would plan."""

import json
from pathlib import Path
from typing import Any

import pytest

from certify.config import Config
from certify.decide import quiet
from certify.decide.plan import make_plan
from certify.store.database import Store
from tests.helpers import (
    cli,
    import_into,
    make_config,
    moment,
    proof_action,
    write,
    write_export,
)

COURSES = """
    course_id,name,course_type,status,start,end
    C0,Earlier,FOUR,final,2026-11-01,2026-11-10 12:00
    C1,Evening,FOUR,final,2026-11-01,2026-11-12 20:00
    C2,Afternoon,FOUR,final,2026-11-01,2026-11-12 16:00
"""
ENROLLMENTS = """
    course_id,person_id,enrolled_at
    C0,P1,2026-10-01
    C1,P1,2026-10-01
    C2,P2,2026-10-01
"""


def _imported(tmp_path: Path, since: str, courses: str = COURSES) -> Config:
    """Three courses of November 2026, and two actions counting from `since`."""
    config = make_config(
        tmp_path,
        offset=1,
        unit="days",
        at="09:00",
        attendance="no",
        passing="no",
        since=since,
        extra_actions=proof_action(since=since),
    )
    write(tmp_path / "templates", "proof.txt.j2", "---\nsubject: Proof\n---\nHello\n")
    export = write_export(
        tmp_path / "export",
        courses=courses,
        enrollments=ENROLLMENTS,
        attendance=None,
        results=None,
    )
    import_into(tmp_path / "certify.db", export)
    return config


def _run(tmp_path: Path, now: str) -> dict[str, Any]:
    """A real run (to .eml files), its JSON report."""
    ran = cli(
        "run-due", "--now", now, "--transport", "dir", "--out", "outbox", "--json", cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    report: dict[str, Any] = json.loads(ran.stdout)
    return report


def _plans(
    tmp_path: Path, config: Config, now: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[bool, Any, Any]:
    """Whether the counts answered, the plan made with them, and the plan made reading
    every course."""
    answers: list[bool] = []
    counted = quiet.all_history_recorded

    def heard(*args: Any) -> bool:
        answers.append(counted(*args))
        return answers[-1]

    with Store.open(tmp_path / "certify.db") as store, monkeypatch.context() as patched:
        patched.setattr(quiet, "all_history_recorded", heard)
        fast = make_plan(store, config, moment(now))
        patched.setattr(quiet, "all_history_recorded", lambda *args: False)
        full = make_plan(store, config, moment(now))
    assert len(answers) == 1
    return answers[0], _seen(fast), _seen(full)


def _seen(plan: Any) -> tuple[Any, ...]:
    decided = [(d.key, d.outcome, d.due_at) for d in plan.decisions]
    return plan.course_skips, plan.not_due_elsewhere, decided


def test_a_tick_after_the_history_is_recorded_reads_no_course(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _imported(tmp_path, since="2026-12-01")
    before, fast, full = _plans(tmp_path, config, "2026-12-02 10:00", monkeypatch)
    assert not before  # nothing recorded yet: the courses are read, and skipped
    assert fast == full
    assert set(fast[0]["certificate"]) == {"C0", "C1", "C2"}
    first = _run(tmp_path, "2026-12-02T10:00")
    assert first["skipped"] == 6  # three enrollments, two actions
    after, fast, full = _plans(tmp_path, config, "2026-12-02 10:05", monkeypatch)
    assert after
    assert fast == full == ({"certificate": {}, "proof": {}}, 0, [])
    assert _run(tmp_path, "2026-12-02T10:05")["skipped"] == 0


def test_a_course_imported_into_recorded_history_is_read_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _imported(tmp_path, since="2026-12-01")
    _run(tmp_path, "2026-12-02T10:00")
    late = COURSES + "    C3,Entered late,FOUR,final,2026-11-01,2026-11-08 12:00\n"
    export = write_export(
        tmp_path / "export",
        courses=late,
        enrollments=ENROLLMENTS + "    C3,P2,2026-10-01\n",
        attendance=None,
        results=None,
    )
    import_into(tmp_path / "certify.db", export, now="2026-12-03 08:00")
    answered, fast, full = _plans(tmp_path, config, "2026-12-03 10:00", monkeypatch)
    assert not answered
    assert fast == full
    assert {action: set(courses) for action, courses in fast[0].items()} == {
        "certificate": {"C3"},
        "proof": {"C3"},
    }
    assert _run(tmp_path, "2026-12-03T10:00")["skipped"] == 2
    answered, fast, full = _plans(tmp_path, config, "2026-12-03 10:05", monkeypatch)
    assert answered
    assert fast == full


@pytest.mark.parametrize(
    ("since", "day_only"),
    [
        ("2026-11-12", False),  # C1 and C2 are due on 13 November at 09:00, after `since`
        ("2026-12-01", True),  # a day-only end among timed ones: the end order may not hold
    ],
)
def test_courses_are_read_when_the_counts_cannot_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, since: str, day_only: bool
) -> None:
    courses = COURSES.replace("2026-11-12 16:00", "2026-11-12") if day_only else COURSES
    config = _imported(tmp_path, since=since, courses=courses)
    _run(tmp_path, "2026-12-02T10:00")
    answered, fast, full = _plans(tmp_path, config, "2026-12-02 10:05", monkeypatch)
    assert not answered
    assert fast == full
