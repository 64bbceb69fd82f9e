"""The planner: decisions from counts, whole courses at once, and the fast path."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from certify.config import Action, Config, load
from certify.decide.decisions import Decision, Planner, requirements_hold
from certify.decide.facts import (
    Course,
    Participant,
    course_facts,
    participant_figures,
    participants,
)
from certify.decide.plan import make_plan
from certify.decide.rules import attendance_needed, condition_holds
from certify.store.database import Store
from tests.helpers import import_into, make_config, moment, proof_action, write, write_export

WORDS = st.sampled_from(["yes", "no", "not_met"])
# statuses and course types as exports write them, and course_types as actions.yaml does
STATUSES_IN_DATA = st.sampled_from(["final", "Definitief", "DEFINITIEF", "planned", "Te starten"])
TYPES_IN_DATA = st.sampled_from(["FOUR", "four", "VCA", ""])
LINKED_TYPES = st.sampled_from([None, "FOUR", "[vca, Four]", "[VCA]"])


def with_course_types(config: Config, linked: str | None) -> Config:
    """The config's actions linked to these course types (None: to every course)."""
    if linked is None:
        return config
    text = config.path.read_text().replace(
        "    conditions:", f"    course_types: {linked}\n    conditions:"
    )
    config.path.write_text(text)
    return load(config.path)


@given(
    required=st.integers(0, 12),
    threshold=st.one_of(st.none(), st.integers(0, 100)),
    present=st.integers(0, 12),
    pass_parts=st.integers(0, 3),
    passed=st.integers(0, 3),
    attendance=WORDS,
    passing=WORDS,
)
def test_deciding_from_counts_agrees_with_the_figures(
    required: int,
    threshold: int | None,
    present: int,
    pass_parts: int,
    passed: int,
    attendance: str,
    passing: str,
) -> None:
    """The planner decides from counts; explain and the log show figures: they must agree."""
    needed = attendance_needed(required, 100 if threshold is None else threshold) if required else 0
    course = Course(
        "C", "C", "final", datetime(2026, 1, 1, tzinfo=UTC), threshold, required, pass_parts, needed
    )
    stamp = "2026-01-01T00:00:00Z"
    present_times, passed_times = (
        (stamp,) * min(present, required),
        (stamp,) * min(passed, pass_parts),
    )
    participant = Participant(
        "C",
        "P",
        "enrolled",
        datetime(2026, 1, 1, tzinfo=UTC),
        len(present_times),
        len(passed_times),
        0,
        (),
        present_times,
        passed_times,
    )
    action = Action.model_validate(
        {
            "id": "a",
            "name": "a",
            "email_template": "a",
            "timing": {"after": "course_end"},
            "conditions": {"attendance": attendance, "pass": passing},
        }
    )
    att, pas = participant_figures(course, participant)
    expected = condition_holds(attendance, att.met) and condition_holds(passing, pas.met)  # type: ignore[arg-type]
    assert requirements_hold(action, course, participant) == expected


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ends=st.lists(
        st.tuples(st.integers(0, 60 * 24 * 60), TYPES_IN_DATA, STATUSES_IN_DATA),
        min_size=1,
        max_size=6,
    ),
    since_hours=st.integers(0, 24 * 60),
    now_hours=st.integers(0, 24 * 70),
    linked=LINKED_TYPES,
)
# a `since` still to come: the course due before it is history, not "not yet due"
@example(ends=[(0, "FOUR", "final")], since_hours=34, now_hours=0, linked=None)
def test_whole_course_decisions_match_participant_by_participant_planning(
    tmp_path_factory: pytest.TempPathFactory,
    ends: list[tuple[int, str, str]],
    since_hours: int,
    now_hours: int,
    linked: str | None,
) -> None:
    tmp_path = tmp_path_factory.mktemp("prune")
    base = moment("2026-09-01 00:00")
    stamp = lambda minutes: (base + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    directory = tmp_path / "x"
    directory.mkdir()
    courses = "".join(
        f"C{i},Course {i},{course_type},{status},{stamp(m)}\n"
        for i, (m, course_type, status) in enumerate(ends)
    )
    write(directory, "courses.csv", "course_id,name,course_type,status,end\n" + courses)
    write(directory, "persons.csv", "person_id,email\nP1,p1@example.org\nP2,p2@example.org\n")
    write(
        directory,
        "enrollments.csv",
        "course_id,person_id\n" + "".join(f"C{i},P{p}\n" for i in range(len(ends)) for p in (1, 2)),
    )
    db = tmp_path / "c.db"
    import_into(db, directory)
    config = with_course_types(
        make_config(
            tmp_path,
            since=stamp(since_hours * 60),
            offset=1,
            at="09:00",
            attendance="no",
            passing="no",
        ),
        linked,
    )
    now = moment(stamp(now_hours * 60))
    store = Store.open_readonly(db)
    try:
        pruned = make_plan(store, config, now)
        expected = set()
        skipped_each = not_due_each = 0
        for i in range(len(ends)):
            # a course filter turns whole-course decisions off
            one = make_plan(store, config, now, course_id=f"C{i}")
            expected |= {d.key for d in one.decisions if d.outcome == "send"}
            skipped_each += len({d.course.id for d in one.by_outcome("skipped")})
            not_due_each += len(one.by_outcome("not_due"))
        skipped_by_course = sum(len(c) for c in pruned.course_skips.values())
    finally:
        store.close()
    assert {d.key for d in pruned.decisions if d.outcome == "send"} == expected
    assert (
        skipped_by_course + len({d.course.id for d in pruned.by_outcome("skipped")}) == skipped_each
    )
    assert len(pruned.by_outcome("not_due")) + pruned.not_due_elsewhere == not_due_each


# A second action anchored on the course end, and one anchored on the requirements (decided
# participant by participant, and making the plan read registration moments).
PROOF_ACTION = proof_action(
    template="certificate",
    timing="{after: course_end, offset: 2, unit: days}",
    since="2026-11-01",
    conditions="{attendance: yes, pass: no}",
)
# the same, sent only by `certify send`: manual comes after skipped and before not yet due
BY_HAND = PROOF_ACTION.replace("    since:", "    execution: manual\n    since:")
MET_ACTION = """
  - id: met
    name: "Met"
    email_template: certificate
    timing: {after: requirements_met, offset: 1, unit: hours}
    since: 2026-11-01
    conditions: {attendance: yes, pass: yes}
"""
REGISTERED = st.sampled_from([None, "yes", "no"])
PEOPLE = ("P1", "P2", "P3")


def registrations(present: list[list[str | None]], passed: list[str | None]) -> dict[str, str]:
    """attendance.csv and results.csv for P1..P3: per person a flag (or nothing) per part."""
    attendance = "part_id,person_id,present,registered_at\n" + "".join(
        f"C1-{part},{person},{flag},2026-11-0{part + 1} 17:00\n"
        for person, flags in zip(PEOPLE, present, strict=True)
        for part, flag in enumerate(flags, start=1)
        if flag is not None
    )
    results = "part_id,person_id,passed,registered_at\n" + "".join(
        f"C1-4,{person},{flag},2026-11-05 18:00\n"
        for person, flag in zip(PEOPLE, passed, strict=True)
        if flag is not None
    )
    return {"attendance": attendance, "results": results}


def summary_of(decisions: list[Decision]) -> list[tuple[str, int]]:
    """The waiting summary as counted decision by decision, in the order first met."""
    counts: Counter[str] = Counter()
    for outcome in ("waiting", "not_due", "retry_later"):
        for decision in decisions:
            if decision.outcome == outcome:
                for reason in decision.waiting_on:
                    counts[f"{decision.action.id}: {reason}"] += 1
    return list(counts.items())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    status=STATUSES_IN_DATA,
    course_type=TYPES_IN_DATA,
    linked=LINKED_TYPES,
    wanted=st.sampled_from(["final", "definitief", "[Final, te starten]", "planned"]),
    expire=st.sampled_from([None, "1 days", "2 weeks"]),
    since_day=st.integers(1, 7),
    now_day=st.integers(3, 28),
    attendance=st.sampled_from(["yes", "no", "not_met"]),
    passing=st.sampled_from(["yes", "no", "not_met"]),
    present=st.lists(st.lists(REGISTERED, min_size=4, max_size=4), min_size=3, max_size=3),
    passed=st.lists(REGISTERED, min_size=3, max_size=3),
    third=st.sampled_from(["enrolled", "cancelled"]),
    anchored_on_requirements=st.booleans(),
    proof_by_hand=st.booleans(),
)
# due, linked, the status wanted: the counts decide (and word the reasons)
@example(
    status="Definitief",
    course_type="four",
    linked="FOUR",
    wanted="final",
    expire=None,
    since_day=1,
    now_day=20,
    attendance="yes",
    passing="yes",
    present=[["yes", "yes", "yes", "no"], ["yes", None, "no", None], [None] * 4],
    passed=["yes", "no", None],
    third="enrolled",
    anchored_on_requirements=True,
    proof_by_hand=False,
)
@example(
    status="final",
    course_type="",
    linked=None,
    wanted="[Final, te starten]",
    expire="2 weeks",
    since_day=2,
    now_day=9,
    attendance="not_met",
    passing="yes",
    present=[["yes"] * 4, ["no", "yes", "yes", None], ["yes", "yes", None, None]],
    passed=[None, "yes", "no"],
    third="cancelled",
    anchored_on_requirements=False,
    proof_by_hand=True,
)
def test_the_planning_fast_path_decides_like_planner_decide(
    tmp_path_factory: pytest.TempPathFactory,
    status: str,
    course_type: str,
    linked: str | None,
    wanted: str,
    expire: str | None,
    since_day: int,
    now_day: int,
    attendance: str,
    passing: str,
    present: list[list[str | None]],
    passed: list[str | None],
    third: str,
    anchored_on_requirements: bool,
    proof_by_hand: bool,
) -> None:
    """Decided by the course's verdict and two booleans, or one by one by `Planner.decide`:
    the same outcome, due moment and reasons for every participant and action, and the
    same waiting summary, whatever the counts, the course and the actions."""
    tmp_path = tmp_path_factory.mktemp("fast")
    directory = write_export(
        tmp_path / "x",
        courses="course_id,name,course_type,status,end\n"
        f"C1,X,{course_type},{status},2026-11-05 17:00\n",
        persons="person_id,email\n" + "".join(f"{p},{p.lower()}@example.org\n" for p in PEOPLE),
        enrollments="course_id,person_id,status,enrolled_at\n"
        f"C1,P1,enrolled,2026-10-01\nC1,P2,enrolled,2026-10-01\nC1,P3,{third},2026-10-02\n",
        **registrations(present, passed),
    )
    db = tmp_path / "c.db"
    import_into(db, directory)
    config = with_course_types(
        make_config(
            tmp_path,
            since=f"2026-11-{since_day:02d}",
            expire=expire,
            attendance=attendance,
            passing=passing,
            status=wanted,
            extra_actions=(BY_HAND if proof_by_hand else PROOF_ACTION)
            + (MET_ACTION if anchored_on_requirements else ""),
        ),
        linked,
    )
    now = moment(f"2026-11-{now_day:02d} 12:00")
    store = Store.open_readonly(db)
    try:
        plan = make_plan(store, config, now, course_id="C1")
        one = make_plan(store, config, now, course_id="C1", person_id="P1")  # with moments
        since = {a.id: config.since_moment(a) or now for a in config.actions}
        planner = Planner(config, now, since)
        courses = course_facts(store.conn, config)
        slow = [
            planner.decide(action, courses["C1"], participant, None)
            for participant in participants(
                store.conn, config, course_id="C1", with_times=anchored_on_requirements
            )
            for action in config.actions
        ]
        alone = [
            planner.decide(action, courses["C1"], participant, None)
            for participant in participants(
                store.conn, config, course_id="C1", person_id="P1", with_times=True
            )
            for action in config.actions
        ]
    finally:
        store.close()

    def judged(decisions: list[Decision]) -> list[tuple[object, ...]]:
        return [(d.key, d.outcome, d.due_at, d.status_ok, d.waiting_on) for d in decisions]

    assert judged(plan.decisions) == judged(slow)
    assert plan.waiting_summary() == Counter(dict(summary_of(slow)))
    assert list(plan.waiting_summary().items()) == summary_of(slow)
    assert judged(one.decisions) == judged(alone)
    assert list(one.waiting_summary().items()) == summary_of(alone)
    for outcome in {d.outcome for d in slow} | {"send", "waiting"}:
        first = plan.by_outcome(outcome, 1)  # only the first made, before the whole group
        grouped = plan.by_outcome(outcome)
        assert [id(d) for d in first] == [id(d) for d in grouped[:1]]
        assert plan.count(outcome) == len(grouped)
        # the same decision objects as the whole list, in its order
        assert grouped == [d for d in plan.decisions if d.outcome == outcome]
        assert all(any(g is d for d in plan.decisions) for g in grouped)
        assert plan.listed(outcome) == [(*d.key, d.due_at) for d in grouped]
        assert plan.by_outcome(outcome, 1) == grouped[:1]


def _three_courses(
    tmp_path: Path, courses: str, *, enrolled: str, now: str = "2026-11-01 08:00"
) -> Path:
    """The courses C0, C1 and C2 imported, P1 in C0 and C1, P2 in C2, one part of C1 that
    requires nothing: a database for the order of due moments."""
    enrollments = f"""
        course_id,person_id,enrolled_at
        C0,P1,{enrolled}
        C1,P1,{enrolled}
        C2,P2,{enrolled}
    """
    parts = """
        part_id,course_id,name,attendance_required,pass_required
        C1-1,C1,Day 1,no,no
    """
    export = write_export(
        tmp_path / "export",
        courses=courses,
        enrollments=enrollments,
        parts=parts,
        attendance=None,
        results=None,
    )
    db = tmp_path / "certify.db"
    import_into(db, export, now=now)
    return db


def test_a_day_only_end_due_before_a_timed_end_that_sorts_earlier_is_sent(tmp_path: Path) -> None:
    """Offset 0 at 17:00: a course ending on 12 November (a day) is due that day at 17:00,
    one ending 12 November 20:00 only the next day; the run must not take the first for
    future because the second ends earlier in the table."""
    config = make_config(tmp_path, offset=0, unit="days", at="17:00", attendance="no", passing="no")
    courses = """
        course_id,name,course_type,status,start,end
        C0,Earlier,FOUR,final,2026-11-01,2026-11-10 12:00
        C1,Evening,FOUR,final,2026-11-01,2026-11-12 20:00
        C2,Day only,FOUR,final,2026-11-01,2026-11-12
    """
    db = _three_courses(tmp_path, courses, enrolled="2026-10-01")
    with Store.open(db) as store:
        plan = make_plan(store, config, moment("2026-11-12 18:00"))
    sent = {d.course.id for d in plan.by_outcome("send")}
    assert sent == {"C0", "C2"}
    (due,) = [d.due_at for d in plan.by_outcome("send") if d.course.id == "C2"]
    assert due == moment("2026-11-12 17:00")


def test_a_timed_end_due_earlier_by_a_month_end_is_sent(tmp_path: Path) -> None:
    """1 month, no `at`: 31 January 10:00 is due 28 February 10:00, before 28 January
    15:00's due moment (28 February 15:00) though it ends later."""
    config = make_config(tmp_path, offset=1, unit="months", attendance="no", passing="no")
    courses = """
        course_id,name,course_type,status,start,end
        C0,Earlier,FOUR,final,2025-01-01,2025-01-10 12:00
        C1,Late January,FOUR,final,2025-01-01,2025-01-28 15:00
        C2,Month end,FOUR,final,2025-01-01,2025-01-31 10:00
    """
    db = _three_courses(tmp_path, courses, enrolled="2024-10-01", now="2024-11-01 08:00")
    with Store.open(db) as store:
        plan = make_plan(store, config, moment("2025-02-28 12:00"))
    assert {d.course.id for d in plan.by_outcome("send")} == {"C0", "C2"}
