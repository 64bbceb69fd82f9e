"""What a course alone decides for an action anchored on its end: the due moment, the
status, and, from the steps of deciding (`steps.py`), the outcome for each pair of
(attendance met, pass met), worked out once per course."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from certify.config import Action
from certify.decide import rules
from certify.decide.decisions import Planner
from certify.decide.facts import Course
from certify.decide.steps import Case, Outcome, outcomes_by_requirements


class Verdict(NamedTuple):
    """A course_end action's verdict on a course: what every participant shares."""

    due: datetime
    status_ok: bool


# Per action: the outcome for each (attendance met, pass met), at index 2·attendance + pass;
# None for an action decided participant by participant.
Table = tuple[Outcome, Outcome, Outcome, Outcome]
Outcomes = list[Table | None]


class CourseVerdicts:
    """Per course_end action and course: the due moment and the status verdict, and the
    outcome table of a participant with nothing logged and not cancelled."""

    def __init__(self, planner: Planner, actions: list[Action], courses: dict[str, Course]) -> None:
        self.planner = planner
        self.actions = actions
        self.courses = courses
        self.fast = [a.timing.after == "course_end" for a in actions]
        self.cache: list[dict[str, Verdict]] = [{} for _ in actions]
        self._outcomes: dict[str, tuple[int, int, Outcomes]] = {}
        # the table of a case: its action, linked, status verdict and due moment are all
        # that tell two courses' cases apart, and thousands of courses share few of them
        self._tables: dict[tuple[int, bool, bool, datetime], Table] = {}
        self._kinds: dict[str, int] = {}  # course id → its kind of course, numbered
        self._kind_numbers: dict[tuple[str, int, int, int], int] = {}

    def get(self, index: int, course: Course) -> Verdict | None:
        """The verdict of a course_end action on a course; None for another anchor."""
        if not self.fast[index]:
            return None
        cache = self.cache[index]
        verdict = cache.get(course.id)
        if verdict is None:
            action, planner = self.actions[index], self.planner
            verdict = cache[course.id] = Verdict(
                planner.course_due(action, course), planner.status_ok(action, course)
            )
        return verdict

    def of(self, index: int, course: Course) -> Verdict:
        """The verdict of an action known to be decided by the course."""
        verdict = self.get(index, course)
        if verdict is None:
            raise ValueError(f"action {self.actions[index].id} is not decided by the course")
        return verdict

    def outcomes(self, course: Course) -> tuple[int, int, Outcomes]:
        """Per course, worked out once: the fewest present rows and passes that meet its
        requirements, and per action the outcome for each pair of booleans, by the steps
        `Planner.decide` takes for one participant."""
        found = self._outcomes.get(course.id)
        if found is None:
            planner = self.planner
            tables: Outcomes = []
            for index, action in enumerate(self.actions):
                verdict = self.get(index, course)
                if verdict is None:
                    tables.append(None)
                    continue
                linked = planner.linked(action, course)
                key = (index, linked, verdict.status_ok, verdict.due)
                table = self._tables.get(key)
                if table is None:
                    case = Case(
                        action,
                        planner.now,
                        planner.since[action.id],
                        planner.tz,
                        linked=linked,
                        status_ok=verdict.status_ok,
                        due=verdict.due,
                        attendance_met=False,  # each pair in turn
                        pass_met=False,
                    )
                    table = self._tables[key] = outcomes_by_requirements(case)
                tables.append(table)
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
