"""Deciding one (action, participant) at a given moment, and saying why.

The planner (`plan.py`) calls this for every participant it judges one by one; explain
and the dry run read the reasons.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from certify import locale, words
from certify.clock import to_utc_text
from certify.config import Action, Config, status_key
from certify.decide import renewal, rules
from certify.decide.facts import (
    Course,
    CourseEnd,
    Figures,
    Participant,
    as_moments,
    participant_figures,
)
from certify.decide.renewal import Reminder, Renewals
from certify.decide.steps import Case, Outcome, conditions_hold, outcome_of
from certify.deliver.log import Decided
from certify.deliver.lookup import ExistingDelivery

__all__ = ["Decision", "Outcome", "Planner"]


class Decision:
    """What happens to one (action, participant) at the run's moment, and why.

    Deciding needs two booleans per participant; the figures and the reasons behind them
    are worked out only when someone reads them (explain, the log, the waiting summary).
    """

    __slots__ = (
        "_figures",
        "_waiting",
        "action",
        "course",
        "due_at",
        "existing",
        "note",
        "outcome",
        "participant",
        "status_ok",
    )

    def __init__(
        self,
        action: Action,
        course: Course,
        participant: Participant,
        outcome: Outcome,
        due_at: datetime | None,
        status_ok: bool,
        existing: ExistingDelivery | None = None,
        figures: Figures | None = None,
    ) -> None:
        self.action = action
        self.course = course
        self.participant = participant
        self.outcome: Outcome = outcome
        self.due_at = due_at
        self.status_ok = status_ok
        self.existing = existing
        self._figures = figures
        self._waiting: list[str] | None = None
        # a renewal's reason from the register or the bookings (renewal.py)
        self.note: str | None = None

    def _all_figures(self) -> Figures:
        if self._figures is None:
            self._figures = participant_figures(self.course, self.participant)
        return self._figures

    @property
    def attendance(self) -> rules.AttendanceFigures[str]:
        return self._all_figures()[0]

    @property
    def passing(self) -> rules.PassFigures[str]:
        return self._all_figures()[1]

    @property
    def waiting_on(self) -> list[str]:
        if self._waiting is None:
            self._waiting = _reasons(self)
        return self._waiting

    @property
    def qualifies(self) -> bool:
        """The course status is one the action waits for, and its conditions hold."""
        return self.status_ok and requirements_hold(self.action, self.course, self.participant)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.action.id, self.course.id, self.participant.person_id)

    def decided(self) -> Decided:
        """What the delivery log keeps of this decision: the figures that qualified it."""
        figures = {
            "course_status": self.course.status,
            "attendance": self.attendance_object(),
            "pass": self.pass_object(),
            "due_at": to_utc_text(self.due_at) if self.due_at else None,
        }
        if self.note:
            figures["reason"] = self.note
        return Decided(self.key, self.due_at, figures)

    def attendance_object(self) -> dict[str, Any]:
        """The attendance figures as the log keeps them and `explain --json` shows them."""
        a = self.attendance
        return {
            "present": a.present,
            "required_parts": a.required_parts,
            "percentage": a.percentage,
            "threshold": a.threshold,
            "needed": a.needed,
            "met": a.met,
        }

    def pass_object(self) -> dict[str, Any]:
        """The pass figures as the log keeps them and `explain --json` shows them."""
        p = self.passing
        return {"passed": p.passed, "required_parts": p.required_parts, "met": p.met}


def not_linked_reason(action: Action, course: Course) -> str:
    """Why an action does nothing for a course: its type is not one the action is linked to."""
    return words.not_linked(action.course_types, course.course_type)


def _reasons(decision: Decision) -> list[str]:
    if decision.note and decision.outcome in ("waiting", "skipped", "not_linked"):
        return [decision.note]
    fixed = words.fixed_reason(decision.outcome)
    if fixed is not None:
        return [fixed]
    if decision.outcome == "not_linked":
        return [not_linked_reason(decision.action, decision.course)]
    if decision.outcome == "waiting":
        return unmet_conditions(decision)
    return []


def effective_since(
    config: Config, action: Action, recorded: dict[str, datetime], now: datetime
) -> datetime:
    """The explicit `since`, else the first sending run's `now` (recorded), else this `now`."""
    return config.since_moment(action) or recorded.get(action.id) or now


def requirements_hold(action: Action, course: Course, participant: Participant) -> bool:
    """The attendance and pass conditions, from counts alone (the figures agree, see tests)."""
    return conditions_hold(
        action.conditions,
        course.attendance_met(participant.present),
        course.pass_met(participant.passed),
    )


@lru_cache(maxsize=16384)
def _unmet_reasons(
    attendance_check: str,
    pass_check: str,
    wanted: tuple[str, ...] | None,
    status: str,
    status_ok: bool,
    required: int,
    present: int,
    needed: int,
    pass_parts: int,
    passed: int,
    failed: int,
    language: str,  # keeps each language's words apart in the cache
) -> tuple[str, ...]:
    """Why a condition does not hold, from the counts alone; many participants share them."""
    reasons = []
    if not status_ok and wanted is not None:
        reasons.append(words.status_unmet(status, wanted))
    if not rules.condition_holds(attendance_check, rules.attendance_met(present, required, needed)):  # type: ignore[arg-type]
        if attendance_check == "yes":
            reasons.append(words.attendance_short(present, required, needed))
        else:
            reasons.append(words.attendance_met_unwanted())
    if not rules.condition_holds(pass_check, rules.pass_met(passed, pass_parts)):  # type: ignore[arg-type]
        if pass_check == "yes":
            if failed:
                reasons.append(words.pass_failed(failed, pass_parts))
            else:
                reasons.append(words.pass_no_result(passed, pass_parts))
        else:
            reasons.append(words.pass_met_unwanted())
    return tuple(reasons)


def condition_reasons(
    action: Action, course: Course, status_ok: bool, present: int, passed: int, failed: int
) -> tuple[str, ...]:
    """Why the action's course status and requirement conditions do not hold, in words.

    `present`, `passed` and `failed` are the participant's counts; many participants share
    them, so the wording is cached by every value that decides it.
    """
    conditions = action.conditions
    required, pass_parts = course.attendance_parts, course.pass_parts
    return _unmet_reasons(
        conditions.attendance,
        conditions.pass_,
        tuple(conditions.course_status) if conditions.course_status else None,
        course.status,
        status_ok,
        required,
        min(present, required),
        course.needed,
        pass_parts,
        min(passed, pass_parts),
        failed,
        locale.language(),
    )


def unmet_conditions(decision: Decision) -> list[str]:
    """The conditions of the decision's action that do not hold, in words."""
    course, participant = decision.course, decision.participant
    # not acting on the course at all comes first: `certify send` refuses it without --force
    linked = (
        []
        if decision.action.links(course.course_type)
        else [not_linked_reason(decision.action, course)]
    )
    return linked + list(
        condition_reasons(
            decision.action,
            course,
            decision.status_ok,
            participant.present,
            participant.passed,
            participant.failed_parts,
        )
    )


class Planner:
    """Decides, for one run's moment, what happens to each (action, participant)."""

    def __init__(self, config: Config, now: datetime, since: dict[str, datetime]) -> None:
        self.config = config
        self.tz: tzinfo = config.tz
        self.now = now
        self.since = since
        self._course_due: dict[tuple[str, str], datetime] = {}
        # by the status and the type as written: thousands of courses share a few
        self._course_status: dict[tuple[str, str], bool] = {}
        self._course_linked: dict[tuple[str, str | None], bool] = {}
        self._dues: dict[tuple[int, str, str | None, datetime, bool], datetime] = {}
        # per action: the wanted statuses as compared (None: any)
        self._wanted_statuses = {a.id: a.conditions.status_keys for a in config.actions}
        self.renewals: Renewals | None = None  # read by the plan when an action renews
        self._reminders: dict[str, dict[str, dict[str, Reminder]]] = {}

    def reminders(self, action: Action) -> dict[str, dict[str, Reminder]]:
        """Per course and person, every reminder of this renewal action with nothing logged
        and the enrollment standing, decided at once from the register (renewal.py)."""
        found = self._reminders.get(action.id)
        if found is None:
            assert self.renewals is not None, "the plan reads the register for renewals"
            found = self._reminders[action.id] = self.renewals.decide_all(
                action, self.since[action.id], self.now, self.tz
            )
        return found

    def course_due(self, action: Action, course: Course | CourseEnd) -> datetime:
        """The due moment of a course_end action: the same for every participant."""
        key = (action.id, course.id)
        due = self._course_due.get(key)
        if due is None:
            due = self._course_due[key] = self._due(action, course.end, course.end_is_date)
        return due

    def due_at(
        self,
        action: Action,
        course: Course,
        participant: Participant,
        att: rules.AttendanceFigures[str],
        passing: rules.PassFigures[str],
    ) -> datetime | None:
        after = action.timing.after
        if after == "course_end":
            return self.course_due(action, course)
        if after == "participant_added":
            return self._due(action, participant.enrolled_at)
        met_at = rules.requirements_met_at(
            *as_moments((att, passing)),
            action.conditions.attendance,
            action.conditions.pass_,
            participant.enrolled_at,
        )
        return None if met_at is None else self._due(action, met_at)

    def status_ok(self, action: Action, course: Course) -> bool:
        """Is the course's status one the action waits for (`course_status`; omitted: any)?"""
        key = (action.id, course.status)
        known = self._course_status.get(key)
        if known is None:
            if action.id not in self._wanted_statuses:  # an action given, not configured
                self._wanted_statuses[action.id] = action.conditions.status_keys
            wanted = self._wanted_statuses[action.id]
            known = wanted is None or status_key(course.status) in wanted
            self._course_status[key] = known
        return known

    def linked(self, action: Action, course: Course | CourseEnd) -> bool:
        """Does the action act on this course (`course_types`; omitted: every course)?"""
        key = (action.id, course.course_type)
        known = self._course_linked.get(key)
        if known is None:
            known = self._course_linked[key] = action.links(course.course_type)
        return known

    def _due(self, action: Action, anchor: datetime, anchor_is_date: bool = False) -> datetime:
        t = action.timing
        # actions with the same timing share it
        key = (t.offset, t.unit, t.at, anchor, anchor_is_date)
        due = self._dues.get(key)
        if due is None:
            due = self._dues[key] = rules.due_moment(
                anchor,
                rules.Timing(t.after or "", t.offset, t.unit, t.at_time),
                self.tz,
                anchor_is_date=anchor_is_date,
            ).astimezone(self.tz)
        return due

    def decide(
        self,
        action: Action,
        course: Course,
        participant: Participant,
        existing: ExistingDelivery | None,
        figures: Figures | None = None,
    ) -> Decision:
        if action.timing.renews is not None:
            return self._renewal(action, course, participant, existing, figures)
        status_ok = self.status_ok(action, course)
        decision = Decision(
            action, course, participant, "waiting", None, status_ok, existing, figures
        )
        due: datetime | None
        if action.timing.after == "course_end":
            due = self.course_due(action, course)
        else:
            due = self.due_at(action, course, participant, decision.attendance, decision.passing)
        decision.due_at = due
        decision.outcome = outcome_of(
            Case(
                action,
                self.now,
                self.since[action.id],
                self.tz,
                linked=self.linked(action, course),
                status_ok=status_ok,
                due=due,
                attendance_met=course.attendance_met(participant.present),
                pass_met=course.pass_met(participant.passed),
                cancelled=participant.status == "cancelled",
                existing=existing,
            )
        )
        return decision

    def _renewal(
        self,
        action: Action,
        course: Course,
        participant: Participant,
        existing: ExistingDelivery | None,
        figures: Figures | None,
    ) -> Decision:
        """A reminder before a certificate of action `of` expires: the register and the
        person's bookings first, then the same steps as every action."""
        assert self.renewals is not None, "the plan reads the register for renewals"
        renewals = self.renewals
        held, due = renewals.due(action, course.id, participant.person_id, self.tz)
        # a reminder with `course_types` is for the certificates of those courses only
        linked = self.linked(action, course)
        outcome: Outcome
        # the certificate, not the enrollment, is what a reminder follows: an enrollment of a
        # course long over that a snapshot of recent exports cancels leaves it valid
        if existing is None and held is not None and due is not None and linked:
            # the steps below without what cannot apply (nothing logged, no conditions)
            outcome = renewal.timed_outcome(action, due, self.since[action.id], self.now, self.tz)
        else:
            outcome = outcome_of(
                Case(
                    action,
                    self.now,
                    self.since[action.id],
                    self.tz,
                    linked=held is not None and linked,
                    status_ok=True,
                    due=due,
                    attendance_met=True,
                    pass_met=True,
                    existing=existing,
                )
            )
        note = None
        if not linked:
            note = not_linked_reason(action, course)
        elif held is None:
            note = renewal.no_certificate(action.timing.renews or "")
        elif outcome in ("send", "expired", "retry_later"):
            # revoked, a newer certificate, a refresher booked: asked once it is due
            objection = renewals.objection(held, self.now, self.tz, action)
            if objection is not None:
                outcome, note = objection
        decision = Decision(action, course, participant, outcome, due, True, existing, figures)
        decision.note = note
        return decision
