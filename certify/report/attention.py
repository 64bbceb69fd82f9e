"""What needs the administrator on the report's page: deliveries that failed, may or may
not have arrived, or keep failing, each with the command that settles it; and courses whose
status holds back what is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certify import words
from certify.decide.facts import Course
from certify.inspect.history import History, command_that_settles
from certify.report.outlook import Scope
from certify.report.roster import full_names


@dataclass(frozen=True)
class Problem:
    """A delivery that failed, may or may not have arrived, or keeps failing."""

    course_anchor: str | None
    course: str
    course_id: str
    person: str
    person_id: str
    action: str
    state: str
    attempts: int
    error: str
    settle: str


@dataclass(frozen=True)
class Blocked:
    """Deliveries that are due but held back by the course's status."""

    course_anchor: str
    course: str
    reason: str
    due: str
    actions: str
    participants: int


def problems(
    rows: list[dict[str, Any]],
    facts: dict[str, Course],
    anchors: dict[str, str],
    labels: dict[str, str],
    log: History,
) -> list[Problem]:
    """Failed, unclear and struggling deliveries, each with the command that settles it."""
    people = full_names(log.conn, [row["person"] for row in rows])
    problems = []
    for row in rows:
        action, course_id, person_id, state = (
            row["action"],
            row["course"],
            row["person"],
            row["state"],
        )
        course = facts.get(course_id)
        key = (action, course_id, person_id)
        error = row["last_error"] or _last_detail(log, key)
        if state == "unknown":
            error = error or words.silent_server()
        # a delivery that keeps failing needs a look before anything settles it
        settle = command_that_settles(state, key) if state in ("failed", "unknown") else None
        settle = settle or f"certify explain --course {course_id} --person {person_id}"
        problems.append(
            Problem(
                course_anchor=anchors.get(course_id),
                course=course.name if course else course_id,
                course_id=course_id,
                person=people.get(person_id, person_id),
                person_id=person_id,
                action=labels[action],
                state=words.problem_state(state),
                attempts=row["attempts"],
                error=error,
                settle=settle,
            )
        )
    return problems


def _last_detail(log: History, key: tuple[str, str, str]) -> str:
    """The latest note in a delivery's history (say, why it was marked failed by hand)."""
    record = log.find(key)
    details = [event["detail"] for event in log.events(record["id"])] if record else []
    return next((detail for detail in reversed(details) if detail), "")


def blocked(scope: Scope) -> list[Blocked]:
    """Courses whose status holds back deliveries that are due: one line per course."""
    anchors, labels, clock = scope.anchors, scope.labels, scope.clock
    groups: dict[str, tuple[datetime, set[str], set[str], str]] = {}
    names: dict[str, str] = {}
    for decision, kind in scope.decisions:
        if kind != "waiting" or decision.status_ok or decision.due_at is None:
            continue
        wanted = decision.action.conditions.course_status or []
        reason = words.status_blocks(decision.course.status, wanted)
        due, actions, people, _ = groups.get(
            decision.course.id, (decision.due_at, set(), set(), "")
        )
        actions.add(labels[decision.action.id])
        people.add(decision.participant.person_id)
        groups[decision.course.id] = (min(due, decision.due_at), actions, people, reason)
        names[decision.course.id] = decision.course.name
    return [
        Blocked(
            course_anchor=anchors[course_id],
            course=names[course_id],
            reason=reason,
            due=clock.moment(due),
            actions=", ".join(sorted(actions)),
            participants=len(people),
        )
        for course_id, (due, actions, people, reason) in sorted(
            groups.items(), key=lambda item: item[1][0]
        )
    ]
