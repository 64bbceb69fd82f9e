"""The planner: decisions from counts, whole courses at once, and the fast path."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from certify.config import Action, Config, load
from certify.decisions import Planner, _conditions_hold
from certify.facts import Course, Participant, course_facts, participant_figures, participants
from certify.plan import make_plan
from certify.rules import attendance_needed, condition_holds
from certify.store import Store
from tests.conftest import import_into, make_config, moment, write, write_export

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
    assert _conditions_hold(action, course, participant) == expected


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


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    status=STATUSES_IN_DATA,
    course_type=TYPES_IN_DATA,
    linked=LINKED_TYPES,
    wanted=st.sampled_from(["final", "definitief", "[Final, te starten]", "planned"]),
    expire=st.sampled_from([None, "1 days", "2 weeks"]),
    since_day=st.integers(1, 12),
    now_day=st.integers(1, 28),
    attendance=st.sampled_from(["yes", "no", "not_met"]),
    passing=st.sampled_from(["yes", "no", "not_met"]),
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
) -> None:
    tmp_path = tmp_path_factory.mktemp("fast")
    directory = write_export(
        tmp_path / "x",
        courses="course_id,name,course_type,status,end\n"
        f"C1,X,{course_type},{status},2026-11-05 17:00\n",
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
        ),
        linked,
    )
    now = moment(f"2026-11-{now_day:02d} 12:00")
    store = Store.open_readonly(db)
    try:
        fast = {
            d.key: (d.outcome, d.due_at)
            for d in make_plan(store, config, now, course_id="C1").decisions
        }
        since = {a.id: config.since_moment(a) for a in config.actions}
        planner = Planner(config, now, since)  # type: ignore[arg-type]
        courses = course_facts(store.conn, config)
        slow = {}
        for participant in participants(store.conn, config, course_id="C1"):
            for action in config.actions:
                d = planner.decide(action, courses["C1"], participant, None)
                slow[d.key] = (d.outcome, d.due_at)
    finally:
        store.close()
    assert fast == slow
