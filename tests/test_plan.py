from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from certify.config import Action
from certify.plan import Course, Participant, _conditions_hold, participant_figures
from certify.rules import attendance_needed, condition_holds

WORDS = st.sampled_from(["yes", "no", "not_met"])


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
    required: int, threshold: int | None, present: int, pass_parts: int, passed: int,
    attendance: str, passing: str,
) -> None:  # fmt: skip
    """The planner decides from counts; explain and the log show figures: they must agree."""
    needed = attendance_needed(required, 100 if threshold is None else threshold) if required else 0
    course = Course("C", "C", "final", datetime(2026, 1, 1, tzinfo=UTC), threshold, required,
                    pass_parts, needed)  # fmt: skip
    stamp = "2026-01-01T00:00:00Z"
    present_times, passed_times = (
        (stamp,) * min(present, required),
        (stamp,) * min(passed, pass_parts),
    )
    participant = Participant("C", "P", "enrolled", datetime(2026, 1, 1, tzinfo=UTC),
                              len(present_times), len(passed_times), 0, (), present_times,
                              passed_times)  # fmt: skip
    action = Action.model_validate({
        "id": "a", "name": "a", "email_template": "a", "timing": {"after": "course_end"},
        "conditions": {"attendance": attendance, "pass": passing},
    })  # fmt: skip
    att, pas = participant_figures(course, participant)
    expected = condition_holds(attendance, att.met) and condition_holds(passing, pas.met)  # type: ignore[arg-type]
    assert _conditions_hold(action, course, participant) == expected
