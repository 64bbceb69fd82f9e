"""Which courses a plan reads in full: those an action acts on, and with course_end
actions only those whose due moment falls between `since` and now (history and courses
still to come are settled a whole course at a time, without reading their participants)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime

from certify.clock import to_utc_text
from certify.config import Action
from certify.decide import quiet, rules
from certify.decide.decisions import Planner
from certify.decide.facts import Course, CourseEnd, course_ends, enrolled_counts
from certify.deliver.lookup import DeliveryLookup
from certify.store.database import Store


def linked_courses(
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


def prune_courses(
    store: Store, log: DeliveryLookup, planner: Planner, actions: list[Action]
) -> tuple[list[str], dict[str, dict[str, datetime]], int]:
    """With course_end actions only, a course's due moment is its participants' due moment.

    A course whose due moment lies before an action's `since` is history for it (every
    participant skipped, recorded once per course); one whose due moment is still to come
    has nobody due. Only courses in between need their participants judged: so a cron tick
    looks at the recent courses, not at years of history.

    Returns the courses to judge (the window), per action the history still to be recorded
    skipped (course → due moment), and how many participants wait for a due moment still
    to come.
    """
    # The due moment mostly never decreases as the course end grows (offsets, `at` and the
    # daylight saving rules keep order; `rules.ends_keep_due_order` says when not, and then
    # they are sorted by due moment), so courses split into history, window and future by
    # binary search: a tick computes few due moments.
    ordered = [] if quiet.all_history_recorded(store, planner, actions) else course_ends(store.conn)
    window_ids: set[str] = set()
    history: list[tuple[Action, list[CourseEnd]]] = []
    future: list[CourseEnd] = []  # per action, the courses due after `now`
    for action in actions:

        def due(course: CourseEnd, action: Action = action) -> datetime:
            return planner.course_due(action, course)

        # a course the action is not linked to is none of its history, window or future
        linked = (
            ordered
            if action.course_types is None
            else [course for course in ordered if planner.linked(action, course)]
        )
        t = action.timing
        timing = rules.Timing(t.after or "", t.offset, t.unit, t.at_time)
        day_ends = any(c.end_is_date for c in linked)
        timed_ends = not all(c.end_is_date for c in linked)
        if not rules.ends_keep_due_order(timing, timed_ends=timed_ends, day_ends=day_ends):
            linked = sorted(linked, key=due)  # then each due moment is computed, once
        first_covered = bisect_left(linked, planner.since[action.id], key=due)
        # with `since` still to come, a course due before it is history, not future
        first_future = max(bisect_right(linked, planner.now, key=due), first_covered)
        history.append((action, linked[:first_covered]))
        window_ids.update(course.id for course in linked[first_covered:first_future])
        future.extend(linked[first_future:])
    # their participants are counted, not judged (a tick, long after the last course, asks
    # nothing)
    not_due = 0
    if future:
        enrolled = enrolled_counts(store.conn, {course.id for course in future})
        not_due = sum(enrolled.get(course.id, 0) for course in future)
    recorded = log.course_skips() if any(before for _, before in history) else {}
    # courses judged participant by participant decide their own skips
    skips: dict[str, dict[str, datetime]] = {}
    for action, courses_before in history:
        since = to_utc_text(planner.since[action.id])
        skips[action.id] = {
            course.id: planner.course_due(action, course)
            for course in courses_before
            if course.id not in window_ids and recorded.get((action.id, course.id)) != since
        }
    window = [course.id for course in ordered if course.id in window_ids]
    return window, skips, not_due
