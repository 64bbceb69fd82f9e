"""Which deliveries are due at a given moment, and why not the others.

The facts (`facts.py`) give every participant's counts in one pass over indexed tables;
each participant is decided by `decisions.py`. Actions anchored on the course end are
decided a whole course at a time: a course's due moment is every participant's, so
history and courses still to come are settled without judging anyone one by one.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from certify import rules
from certify.clock import to_utc_text
from certify.config import Action, Config
from certify.decisions import Decision, Outcome, Planner, effective_since
from certify.deliveries import DeliveryLog, ExistingDelivery
from certify.facts import Course, course_facts, enrolled_counts, participants
from certify.store import Store


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


class CourseVerdicts:
    """Per course_end action and course: the due moment and everything that follows from it.

    (outcome if decided by the course alone, due moment, status ok, expired if sent now);
    a course whose type the action is not linked to is decided by the course alone.
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
        if not planner.linked(action, course):
            outcome = "not_linked"
        elif due < planner.since[action.id]:
            outcome = "skipped"
        elif action.execution == "manual":
            outcome = "manual"
        elif due > planner.now:
            outcome = "not_due"
        return outcome, due, status_ok, expired


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
    elif course_id is None and person_id is None and not include_finished:
        window = _linked_courses(planner, chosen, courses)
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


def _linked_courses(
    planner: Planner, actions: list[Action], courses: dict[str, Course]
) -> list[str] | None:
    """The courses at least one action acts on; None when that is every course.

    A course no action is linked to gets nothing and no record: its participants are not
    read at all, so a tick does not judge them again and again.
    """
    if all(action.course_types is None for action in actions):
        return None
    return [
        course.id
        for course in courses.values()
        if any(planner.linked(action, course) for action in actions)
    ]


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

        # a course the action is not linked to is none of its history, window or future
        linked = (
            ordered
            if action.course_types is None
            else [course for course in ordered if planner.linked(action, course)]
        )
        first_covered = bisect_left(linked, planner.since[action.id], key=due)
        # with `since` still to come, a course due before it is history, not future
        first_future = max(bisect_right(linked, planner.now, key=due), first_covered)
        history.append((action, linked[:first_covered]))
        window_ids.update(course.id for course in linked[first_covered:first_future])
        plan.not_due_elsewhere += sum(enrolled.get(c.id, 0) for c in linked[first_future:])
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
