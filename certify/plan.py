"""Which deliveries are due at a given moment, and why not the others.

The facts (`facts.py`) give every participant's counts in one pass over indexed tables;
the planner applies the rules of `rules.py` to them, action by action.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Literal

from certify import rules
from certify.clock import from_utc_text, to_utc_text
from certify.config import Action, Config
from certify.deliveries import FINAL_STATES, Decided, DeliveryLog, ExistingDelivery
from certify.facts import (
    Course,
    Figures,
    Participant,
    as_moments,
    course_facts,
    enrolled_counts,
    participant_figures,
    participants,
)
from certify.store import Store

Outcome = Literal[
    "send", "waiting", "not_due", "skipped", "expired", "done", "retry_later", "manual", "cancelled"
]


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
    def key(self) -> tuple[str, str, str]:
        return (self.action.id, self.course.id, self.participant.person_id)

    def decided(self) -> Decided:
        """What the delivery log keeps of this decision: the figures that qualified it."""
        a, p = self.attendance, self.passing
        figures = {
            "course_status": self.course.status,
            "attendance": {
                "present": a.present,
                "required_parts": a.required_parts,
                "percentage": a.percentage,
                "threshold": a.threshold,
                "needed": a.needed,
                "met": a.met,
            },
            "pass": {"passed": p.passed, "required_parts": p.required_parts, "met": p.met},
            "due_at": to_utc_text(self.due_at) if self.due_at else None,
        }
        return Decided(self.key, self.due_at, figures)


_FIXED_REASONS: dict[str, list[str]] = {
    "cancelled": ["enrollment cancelled"],
    "manual": ["manual action: sent only by `certify send`"],
    "not_due": ["not yet due"],
    "retry_later": ["retry after a temporary failure"],
}


def _reasons(decision: Decision) -> list[str]:
    if decision.outcome in _FIXED_REASONS:
        return list(_FIXED_REASONS[decision.outcome])
    if decision.outcome == "waiting":
        return unmet_conditions(decision)
    return []


@dataclass
class Plan:
    now: datetime
    since: dict[str, datetime]
    decisions: list[Decision]
    # Whole courses decided at once (course_end actions): per action, the courses whose due
    # moment lies before `since` and whose participants are still to be recorded as skipped,
    # with that due moment; and how many participants wait for a due moment still to come.
    course_skips: dict[str, dict[str, datetime]] = field(default_factory=dict)
    not_due_elsewhere: int = 0
    _groups: dict[str, list[Decision]] | None = field(default=None, repr=False)

    def by_outcome(self, outcome: str) -> list[Decision]:
        if self._groups is None:
            groups: dict[str, list[Decision]] = {}
            for decision in self.decisions:
                groups.setdefault(decision.outcome, []).append(decision)
            self._groups = groups
        return self._groups.get(outcome, [])

    def waiting_summary(self) -> Counter[str]:
        """How many deliveries wait on each reason, per action."""
        counts: Counter[str] = Counter()
        for outcome in ("waiting", "not_due", "retry_later"):
            for decision in self.by_outcome(outcome):
                for reason in decision.waiting_on:
                    counts[f"{decision.action.id}: {reason}"] += 1
        return counts


def effective_since(
    config: Config, action: Action, recorded: dict[str, datetime], now: datetime
) -> datetime:
    """The explicit `since`, else the first sending run's `now` (recorded), else this `now`."""
    return config.since_moment(action) or recorded.get(action.id) or now


def _anchor(
    action: Action,
    course: Course,
    participant: Participant,
    att_text: rules.AttendanceFigures[str],
    pass_text: rules.PassFigures[str],
) -> datetime | None:
    after = action.timing.after
    if after == "course_end":
        return course.end
    if after == "participant_added":
        return participant.enrolled_at
    att, passing = as_moments((att_text, pass_text))
    return rules.requirements_met_at(
        att,
        passing,
        action.conditions.attendance,
        action.conditions.pass_,
        participant.enrolled_at,
    )


class CourseVerdicts:
    """Per course_end action and course: the due moment and everything that follows from it.

    (outcome if decided by the course alone, due moment, status ok, expired if sent now)
    """

    def __init__(self, planner: Planner, actions: list[Action]) -> None:
        self.planner = planner
        self.actions = actions
        self.fast = [a.timing.after == "course_end" for a in actions]
        self.cache: list[dict[str, tuple[Outcome | None, datetime, bool, bool]]] = [
            {} for _ in actions
        ]
        # holds[index][attendance met][pass met]: do the action's two conditions hold?
        self.holds = [
            [
                [
                    rules.condition_holds(a.conditions.attendance, att)
                    and rules.condition_holds(a.conditions.pass_, passed)
                    for passed in (False, True)
                ]
                for att in (False, True)
            ]
            for a in actions
        ]

    def get(self, index: int, course: Course) -> tuple[Outcome | None, datetime, bool, bool] | None:
        if not self.fast[index]:
            return None
        cache = self.cache[index]
        verdict = cache.get(course.id)
        if verdict is None:
            verdict = cache[course.id] = self._verdict(self.actions[index], course)
        return verdict

    def _verdict(
        self, action: Action, course: Course
    ) -> tuple[Outcome | None, datetime, bool, bool]:
        planner = self.planner
        due = planner.course_due(action, course)
        status_ok = planner._status_ok(action, course)
        expire = action.expire_after
        expired = expire is not None and rules.is_expired(
            due, planner.now, expire.amount, expire.unit, planner.tz
        )
        outcome: Outcome | None = None
        if due < planner.since[action.id]:
            outcome = "skipped"
        elif action.execution == "manual":
            outcome = "manual"
        elif due > planner.now:
            outcome = "not_due"
        return outcome, due, status_ok, expired


def _conditions_hold(action: Action, course: Course, participant: Participant) -> bool:
    """The attendance and pass conditions, from counts alone (the figures agree, see tests)."""
    conditions = action.conditions
    return rules.condition_holds(
        conditions.attendance, course.attendance_met(participant.present)
    ) and rules.condition_holds(conditions.pass_, course.pass_met(participant.passed))


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
) -> tuple[str, ...]:
    """Why a condition does not hold, from the counts alone; many participants share them."""
    reasons = []
    if not status_ok and wanted is not None:
        reasons.append(f"course status {status!r}, needs {' or '.join(wanted)}")
    if not rules.condition_holds(attendance_check, rules.attendance_met(present, required, needed)):  # type: ignore[arg-type]
        if attendance_check == "yes":
            reasons.append(f"attendance: present {present} of {required}, needs {needed}")
        else:
            reasons.append("attendance requirement met (action is for not_met)")
    if not rules.condition_holds(pass_check, rules.pass_met(passed, pass_parts)):  # type: ignore[arg-type]
        if pass_check == "yes":
            if failed:
                reasons.append(f"pass: failed {failed} of {pass_parts}")
            else:
                reasons.append(f"pass: passed {passed} of {pass_parts}, no result yet")
        else:
            reasons.append("pass requirement met (action is for not_met)")
    return tuple(reasons)


class Planner:
    """Decides, for one run's moment, what happens to each (action, participant)."""

    def __init__(self, config: Config, now: datetime, since: dict[str, datetime]) -> None:
        self.config = config
        self.tz: tzinfo = config.tz
        self.now = now
        self.since = since
        self._course_due: dict[tuple[str, str], datetime] = {}
        self._course_status: dict[tuple[str, str], bool] = {}
        self._dues: dict[tuple[int, str, str | None, datetime], datetime] = {}

    def course_due(self, action: Action, course: Course) -> datetime:
        """The due moment of a course_end action: the same for every participant."""
        key = (action.id, course.id)
        due = self._course_due.get(key)
        if due is None:
            due = self._course_due[key] = self._due(action, course.end)
        return due

    def due_at(
        self,
        action: Action,
        course: Course,
        participant: Participant,
        att: rules.AttendanceFigures[str],
        passing: rules.PassFigures[str],
    ) -> datetime | None:
        timing = action.timing
        if timing.after == "course_end":
            return self.course_due(action, course)
        anchor = _anchor(action, course, participant, att, passing)
        return None if anchor is None else self._due(action, anchor)

    def _status_ok(self, action: Action, course: Course) -> bool:
        key = (action.id, course.id)
        known = self._course_status.get(key)
        if known is None:
            wanted = action.conditions.course_status
            known = self._course_status[key] = wanted is None or course.status in wanted
        return known

    def _due(self, action: Action, anchor: datetime) -> datetime:
        t = action.timing
        key = (t.offset, t.unit, t.at, anchor)  # actions with the same timing share it
        due = self._dues.get(key)
        if due is None:
            due = self._dues[key] = rules.due_moment(
                anchor, rules.Timing(t.after, t.offset, t.unit, t.at_time), self.tz
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
        status_ok = self._status_ok(action, course)
        decision = Decision(
            action, course, participant, "waiting", None, status_ok, existing, figures
        )
        due: datetime | None
        if action.timing.after == "course_end":
            due = self.course_due(action, course)
        else:
            due = self.due_at(action, course, participant, decision.attendance, decision.passing)
        decision.due_at = due
        if existing is not None and existing.state in FINAL_STATES:
            decision.outcome = "done"
        elif participant.status == "cancelled":
            decision.outcome = "cancelled"
        elif due is None:
            decision.outcome = "waiting"  # the requirements that anchor it are not met yet
        elif due < self.since[action.id]:
            decision.outcome = "skipped"
        elif action.execution == "manual":
            decision.outcome = "manual"
        elif due > self.now:
            decision.outcome = "not_due"
        elif not (status_ok and _conditions_hold(action, course, participant)):
            decision.outcome = "waiting"
        elif action.expire_after is not None and rules.is_expired(
            due, self.now, action.expire_after.amount, action.expire_after.unit, self.tz
        ):
            decision.outcome = "expired"
        elif (
            existing is not None
            and existing.next_attempt_at
            and from_utc_text(existing.next_attempt_at) > self.now
        ):
            decision.outcome = "retry_later"
        else:
            decision.outcome = "send"
        return decision


def make_plan(
    store: Store,
    config: Config,
    now: datetime,
    *,
    actions: list[Action] | None = None,
    course_id: str | None = None,
    person_id: str | None = None,
    include_finished: bool = False,
    since_override: dict[str, datetime] | None = None,
) -> Plan:
    """Decide every (action, participant) at `now`; only reads the store."""
    conn = store.conn
    log = DeliveryLog(store, now)
    chosen = actions if actions is not None else config.actions
    action_ids = [a.id for a in chosen]
    recorded = log.recorded_since()
    since = {a.id: effective_since(config, a, recorded, now) for a in chosen}
    if since_override:
        since.update(since_override)
    courses = course_facts(conn, config)
    existing = log.in_motion(action_ids)
    # nothing logged yet for these actions (say, before switching one on): no state to read
    logged = log.any_logged(action_ids)
    finished: list[tuple[str, str | None]] | None = None
    if not include_finished and logged:
        finished = [(a.id, to_utc_text(since[a.id])) for a in chosen]
    planner = Planner(config, now, since)
    decisions: list[Decision] = []
    finals = log.of(course_id, person_id) if include_finished else {}
    plan = Plan(now, since, decisions)
    window: list[str] | None = None
    if (
        course_id is None
        and person_id is None
        and not include_finished
        and chosen
        and all(a.timing.after == "course_end" for a in chosen)
    ):
        window = _prune_courses(store, log, planner, chosen, courses, plan)
    verdicts = CourseVerdicts(planner, chosen)
    fast, cache = verdicts.fast, verdicts.cache
    look_up = bool(existing or finals)
    # registration moments only when an anchor needs them, or for one participant
    with_times = person_id is not None or any(a.timing.after == "requirements_met" for a in chosen)
    for participant in participants(
        conn,
        config,
        course_id=course_id,
        person_id=person_id,
        exclude_finished=finished,
        states_of=action_ids if logged else None,
        course_ids=window,
        with_times=with_times,
    ):
        course = courses[participant.course_id]
        attendance_met = course.attendance_met(participant.present)
        pass_met = course.pass_met(participant.passed)
        cancelled = participant.status == "cancelled"
        states = participant.delivery_states
        for index, action in enumerate(chosen):
            known = None
            if look_up:
                key = (action.id, participant.course_id, participant.person_id)
                known = existing.get(key) or finals.get(key)
            state = states[index] if states else None
            if known is None and state is not None:
                # e.g. final for this action while another action is still open for the person
                known = ExistingDelivery(0, state, None, None, 0, None)
            verdict = None
            if known is None and not cancelled and fast[index]:
                verdict = cache[index].get(course.id) or verdicts.get(index, course)
            if verdict is None:
                decisions.append(planner.decide(action, course, participant, known))
                continue
            # the same course-level checks as Planner.decide, looked up instead of redone
            outcome, due, status_ok, expired = verdict
            if outcome is None:
                if status_ok and verdicts.holds[index][attendance_met][pass_met]:
                    outcome = "expired" if expired else "send"
                else:
                    outcome = "waiting"
            decisions.append(Decision(action, course, participant, outcome, due, status_ok))
    return plan


def unmet_conditions(decision: Decision) -> list[str]:
    """The conditions of the decision's action that do not hold, in words."""
    course, participant = decision.course, decision.participant
    conditions = decision.action.conditions
    present, passed = participant.present, participant.passed
    required, pass_parts = course.attendance_parts, course.pass_parts
    # cached by every value that decides the wording; many participants share them
    return list(
        _unmet_reasons(
            conditions.attendance,
            conditions.pass_,
            tuple(conditions.course_status) if conditions.course_status else None,
            course.status,
            decision.status_ok,
            required,
            min(present, required),
            course.needed,
            pass_parts,
            min(passed, pass_parts),
            participant.failed_parts,
        )
    )


def _prune_courses(
    store: Store,
    log: DeliveryLog,
    planner: Planner,
    actions: list[Action],
    courses: dict[str, Course],
    plan: Plan,
) -> list[str]:
    """With course_end actions only, a course's due moment is its participants' due moment.

    A course whose due moment lies before an action's `since` is history for it (every
    participant skipped, recorded once per course); one whose due moment is still to come
    has nobody due. Only courses in between need their participants judged: so a cron tick
    looks at the recent courses, not at years of history.
    """
    recorded = log.course_skips()
    enrolled = enrolled_counts(store.conn)
    # The due moment never decreases as the course end grows (offsets, month ends, `at`
    # and the daylight saving rules all keep order), so courses sorted by end split into
    # history, window and future by binary search: a tick computes few due moments.
    ordered = sorted(courses.values(), key=lambda course: course.end)
    window_ids: set[str] = set()
    history: list[tuple[Action, list[Course]]] = []
    for action in actions:

        def due(course: Course, action: Action = action) -> datetime:
            return planner.course_due(action, course)

        first_covered = bisect_left(ordered, planner.since[action.id], key=due)
        first_future = bisect_right(ordered, planner.now, key=due)
        history.append((action, ordered[:first_covered]))
        window_ids.update(course.id for course in ordered[first_covered:first_future])
        plan.not_due_elsewhere += sum(enrolled.get(c.id, 0) for c in ordered[first_future:])
    # courses judged participant by participant decide their own skips
    for action, courses_before in history:
        since = to_utc_text(planner.since[action.id])
        plan.course_skips[action.id] = {
            course.id: planner.course_due(action, course)
            for course in courses_before
            if course.id not in window_ids and recorded.get((action.id, course.id)) != since
        }
    window = [course.id for course in ordered if course.id in window_ids]
    return window
