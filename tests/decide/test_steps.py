"""The steps of deciding: their order, and a whole course taken through them at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certify.config import Action
from certify.decide.steps import STEPS, Case, outcome_of, outcomes_by_requirements
from certify.deliver.lookup import ExistingDelivery

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def action(
    *,
    manual: bool = False,
    expire: str | None = None,
    attendance: str = "yes",
    passing: str = "yes",
) -> Action:
    return Action.model_validate(
        {
            "id": "a",
            "name": "a",
            "email_template": "a",
            "execution": "manual" if manual else "automatic",
            "expire_after": expire,
            "timing": {"after": "course_end"},
            "conditions": {"attendance": attendance, "pass": passing},
        }
    )


def case(
    chosen: Action,
    *,
    due_hours: int | None = -1,
    since_hours: int = -100,
    linked: bool = True,
    status_ok: bool = True,
    met: tuple[bool, bool] = (True, True),
    cancelled: bool = False,
    existing: ExistingDelivery | None = None,
) -> Case:
    return Case(
        chosen,
        NOW,
        NOW + timedelta(hours=since_hours),
        UTC,
        linked=linked,
        status_ok=status_ok,
        due=None if due_hours is None else NOW + timedelta(hours=due_hours),
        attendance_met=met[0],
        pass_met=met[1],
        cancelled=cancelled,
        existing=existing,
    )


SENT = ExistingDelivery(1, "sent", None, None, 1, None)
RETRY = ExistingDelivery(1, "pending", None, "2026-11-20T10:00:00Z", 1, "busy")


@pytest.mark.parametrize(
    ("made", "outcome"),
    [
        (case(action()), "send"),
        # each step before the next: the first that applies decides
        (case(action(), existing=SENT, linked=False), "done"),
        (case(action(), linked=False, cancelled=True), "not_linked"),
        (case(action(), cancelled=True, due_hours=None), "cancelled"),
        (case(action(), due_hours=None, since_hours=10), "waiting"),
        (case(action(manual=True), since_hours=10), "skipped"),
        (case(action(manual=True), due_hours=5), "manual"),
        (case(action(), due_hours=5, status_ok=False), "not_due"),
        (case(action(expire="1 hours"), due_hours=-5, met=(False, True)), "waiting"),
        (case(action(expire="1 hours"), due_hours=-5, status_ok=False), "waiting"),
        (case(action(expire="1 hours"), due_hours=-5, existing=RETRY), "expired"),
        (case(action(), existing=RETRY), "retry_later"),
        (case(action(attendance="not_met", passing="no"), met=(False, False)), "send"),
    ],
)
def test_the_first_step_that_applies_decides(made: Case, outcome: str) -> None:
    assert outcome_of(made) == outcome


def test_the_steps_name_every_outcome_but_send() -> None:
    named = {outcome for outcome, _ in STEPS}
    assert named == {
        "done",
        "not_linked",
        "cancelled",
        "waiting",
        "skipped",
        "manual",
        "not_due",
        "expired",
        "retry_later",
    }


CHECKS = st.sampled_from(["yes", "no", "not_met"])


@given(
    manual=st.booleans(),
    expire=st.sampled_from([None, "1 hours", "2 days"]),
    attendance=CHECKS,
    passing=CHECKS,
    due_hours=st.integers(-24 * 5, 24 * 5),
    since_hours=st.integers(-24 * 5, 24 * 5),
    linked=st.booleans(),
    status_ok=st.booleans(),
)
def test_a_whole_course_at_once_decides_as_each_participant_alone(
    manual: bool,
    expire: str | None,
    attendance: str,
    passing: str,
    due_hours: int,
    since_hours: int,
    linked: bool,
    status_ok: bool,
) -> None:
    """The course's table, by the steps once, is each participant's outcome by the steps."""
    chosen = action(manual=manual, expire=expire, attendance=attendance, passing=passing)

    def made(met: tuple[bool, bool]) -> Case:
        return case(
            chosen,
            due_hours=due_hours,
            since_hours=since_hours,
            linked=linked,
            status_ok=status_ok,
            met=met,
        )

    table = outcomes_by_requirements(made((False, False)))
    for attendance_met in (False, True):
        for pass_met in (False, True):
            alone = outcome_of(made((attendance_met, pass_met)))
            assert table[2 * attendance_met + pass_met] == alone
