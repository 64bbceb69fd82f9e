"""The steps of deciding one (action, participant), in the order they are taken.

Both ways of deciding follow this one list: `Planner.decide` takes each participant
through it, and `CourseVerdicts` takes a whole course through it once per pair of
(attendance met, pass met), for the participants with nothing logged and not cancelled;
so the two cannot check in a different order (a property test holds them together).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, tzinfo
from typing import Literal

from certify.clock import from_utc_text
from certify.config import Action, Conditions
from certify.decide import rules
from certify.deliver.lookup import ExistingDelivery
from certify.deliver.state import FINAL

Outcome = Literal[
    "send",
    "waiting",
    "not_due",
    "skipped",
    "expired",
    "done",
    "retry_later",
    "manual",
    "cancelled",
    "not_linked",
]


@dataclass(slots=True)
class Case:
    """What the steps ask about one (action, participant) at the run's moment.

    For a whole course, `attendance_met` and `pass_met` are assumed in turn, and nothing is
    logged and the enrollment stands.
    """

    action: Action
    now: datetime
    since: datetime
    tz: tzinfo
    _: KW_ONLY
    linked: bool
    status_ok: bool
    due: datetime | None
    attendance_met: bool
    pass_met: bool
    cancelled: bool = False
    existing: ExistingDelivery | None = None
    _expired: bool | None = field(default=None, init=False, repr=False)

    @property
    def expired(self) -> bool:
        """Due longer ago than `expire_after` (worked out once: a course asks four times)."""
        if self._expired is None:
            expire, due = self.action.expire_after, self.due
            self._expired = (
                expire is not None
                and due is not None
                and rules.is_expired(due, self.now, expire.amount, expire.unit, self.tz)
            )
        return self._expired


def conditions_hold(conditions: Conditions, attendance_met: bool, pass_met: bool) -> bool:
    """Do the action's attendance and pass conditions hold for these two requirement facts?"""
    return rules.condition_holds(conditions.attendance, attendance_met) and rules.condition_holds(
        conditions.pass_, pass_met
    )


def _finished(case: Case) -> bool:
    return case.existing is not None and case.existing.state in FINAL


def _not_linked(case: Case) -> bool:
    return not case.linked


def _cancelled(case: Case) -> bool:
    return case.cancelled


def _due_unknown(case: Case) -> bool:
    return case.due is None


def _before_since(case: Case) -> bool:
    return case.due is not None and case.due < case.since


def _manual(case: Case) -> bool:
    return case.action.execution == "manual"


def _not_yet_due(case: Case) -> bool:
    return case.due is not None and case.due > case.now


def _conditions_unmet(case: Case) -> bool:
    return not (
        case.status_ok
        and conditions_hold(case.action.conditions, case.attendance_met, case.pass_met)
    )


def _expired(case: Case) -> bool:
    return case.expired


def _retry_pending(case: Case) -> bool:
    existing = case.existing
    return (
        existing is not None
        and bool(existing.next_attempt_at)
        and from_utc_text(existing.next_attempt_at or "") > case.now
    )


# The first step that applies decides; none applies: "send".
STEPS: tuple[tuple[Outcome, Callable[[Case], bool]], ...] = (
    ("done", _finished),  # logged final: it stays so
    ("not_linked", _not_linked),  # like a cancelled enrollment: nothing, no record
    ("cancelled", _cancelled),
    ("waiting", _due_unknown),  # the requirements that anchor it are not met yet
    ("skipped", _before_since),
    ("manual", _manual),
    ("not_due", _not_yet_due),
    ("waiting", _conditions_unmet),
    ("expired", _expired),
    ("retry_later", _retry_pending),
)


def outcome_of(case: Case) -> Outcome:
    """The outcome of the first step that applies to the case."""
    for outcome, applies in STEPS:
        if applies(case):
            return outcome
    return "send"


# The steps before this one do not ask about the requirements: what they decide holds for
# every participant of a course alike.
_FIRST_ON_REQUIREMENTS = next(i for i, (_, step) in enumerate(STEPS) if step is _conditions_unmet)


def outcomes_by_requirements(case: Case) -> tuple[Outcome, Outcome, Outcome, Outcome]:
    """The outcome for each (attendance met, pass met), at index 2·attendance + pass: the
    case of a whole course taken through the steps once, and the rest four times."""
    for outcome, applies in STEPS[:_FIRST_ON_REQUIREMENTS]:
        if applies(case):
            return outcome, outcome, outcome, outcome
    found: list[Outcome] = []
    for case.attendance_met, case.pass_met in (
        (False, False),
        (False, True),
        (True, False),
        (True, True),
    ):
        found.append(
            next((o for o, applies in STEPS[_FIRST_ON_REQUIREMENTS:] if applies(case)), "send")
        )
    return found[0], found[1], found[2], found[3]
