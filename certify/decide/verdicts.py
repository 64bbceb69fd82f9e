"""What a course alone decides for an action anchored on its end: the due moment, the
status, expiry, whether the action is linked to its type, and, from those, the outcome for
each pair of (attendance met, pass met), worked out once per course."""

from __future__ import annotations

from datetime import datetime

from certify.config import Action
from certify.decide import rules
from certify.decide.decisions import Outcome, Planner
from certify.decide.facts import Course

# A course_end action's verdict on a course: (outcome if decided by the course alone, due
# moment, course status ok, expired if sent now).
Verdict = tuple[Outcome | None, datetime, bool, bool]
# Per action: the outcome for each (attendance met, pass met), at index 2·attendance + pass;
# None for an action decided participant by participant.
Outcomes = list[tuple[Outcome, Outcome, Outcome, Outcome] | None]


class CourseVerdicts:
    """Per course_end action and course: the due moment and everything that follows from it
    (a `Verdict`); a course whose type the action is not linked to is decided by the course
    alone."""

    def __init__(self, planner: Planner, actions: list[Action], courses: dict[str, Course]) -> None:
        self.planner = planner
        self.actions = actions
        self.courses = courses
        self.fast = [a.timing.after == "course_end" for a in actions]
        self.cache: list[dict[str, Verdict]] = [{} for _ in actions]
        self._outcomes: dict[str, tuple[int, int, Outcomes]] = {}
        self._kinds: dict[str, int] = {}  # course id → its kind of course, numbered
        self._kind_numbers: dict[tuple[str, int, int, int], int] = {}
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

    def get(self, index: int, course: Course) -> Verdict | None:
        """The verdict of a course_end action on a course; None for another anchor."""
        if not self.fast[index]:
            return None
        cache = self.cache[index]
        verdict = cache.get(course.id)
        if verdict is None:
            verdict = cache[course.id] = self._verdict(self.actions[index], course)
        return verdict

    def of(self, index: int, course: Course) -> Verdict:
        """The verdict of an action known to be decided by the course."""
        verdict = self.get(index, course)
        if verdict is None:
            raise ValueError(f"action {self.actions[index].id} is not decided by the course")
        return verdict

    def outcomes(self, course: Course) -> tuple[int, int, Outcomes]:
        """Per course, worked out once: the fewest present rows and passes that meet its
        requirements, and per action the outcome for each pair of booleans that follows."""
        found = self._outcomes.get(course.id)
        if found is None:
            tables: Outcomes = []
            for index in range(len(self.actions)):
                verdict = self.get(index, course)
                if verdict is None:
                    tables.append(None)
                    continue
                outcome, _, status_ok, expired = verdict
                holds = self.holds[index]
                met: Outcome = "expired" if expired else "send"
                tables.append(
                    (outcome, outcome, outcome, outcome)
                    if outcome is not None
                    else (
                        met if status_ok and holds[0][0] else "waiting",
                        met if status_ok and holds[0][1] else "waiting",
                        met if status_ok and holds[1][0] else "waiting",
                        met if status_ok and holds[1][1] else "waiting",
                    )
                )
            found = self._outcomes[course.id] = (
                rules.attendance_minimum(course.attendance_parts, course.needed),
                rules.pass_minimum(course.pass_parts),
                tables,
            )
        return found

    def kind_of(self, course_id: str) -> int:
        """The courses whose reasons to wait read alike share a number: the same status
        (and so the same status verdict per action) and requirement counts."""
        kind = self._kinds.get(course_id)
        if kind is None:
            course = self.courses[course_id]
            alike = (course.status, course.attendance_parts, course.needed, course.pass_parts)
            kind = self._kind_numbers.setdefault(alike, len(self._kind_numbers))
            self._kinds[course_id] = kind
        return kind

    def _verdict(self, action: Action, course: Course) -> Verdict:
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
